"""The `report`, `compare` and `gate` commands, and the report written at the end of `run`.

Exit codes of `gate`: 0 pass, 1 regression, 2 runs not comparable or bad input (explained in one line).
`compare` and `report` exit 0, or 2 on bad input / runs that cannot be paired.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from evalharness.cli_parsing import number_that, positive_float
from evalharness.errors import EvalHarnessError

DEFAULT_REPORTS = Path("reports")


def _alpha(text: str) -> float:
    return number_that(text, "lie between 0 and 1", lambda value: 0.0 < value < 1.0)


def _drop(text: str) -> float:
    return number_that(text, "lie in [0, 1): a drop in score points, e.g. 0.02", lambda value: 0.0 <= value < 1.0)


def require_run_dir(path: Path) -> Path:
    """``path``, if there is anything at all; what is wrong with something that is there the loaders say."""
    if not path.exists():
        raise EvalHarnessError(f"no run directory at {path}")
    return path


def _domains(text: str) -> list[str]:
    return [d.strip() for d in text.split(",") if d.strip()]


def _stat_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--alpha", type=_alpha, default=0.05, help="significance level, family-wise over domains "
                                                              "(Holm-Bonferroni; default 0.05)")
    p.add_argument("--test", choices=["auto", "t", "mcnemar", "permutation"], default="auto",
                   help="paired test: auto = exact McNemar for 0/1 scores, else paired t (default auto)")


def add_report_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    report = sub.add_parser("report", help="write the HTML report of one run or of several checkpoints in order")
    report.add_argument("runs", nargs="+", type=Path, metavar="RUN", help="run directories, oldest checkpoint first")
    report.add_argument("--out", type=Path, help="HTML file (default reports/<run-id>.html, or "
                                                 "reports/<last>-vs-<first>.html for several runs)")
    report.add_argument("--max-drop", type=_drop, default=0.02, help="drop shown as the gate line in the forest "
                                                                     "plot (default 0.02)")
    report.add_argument("--title", help="title of the report")
    report.add_argument("--max-size", type=positive_float, default=9.5, metavar="MB",
                        help="size budget of the file; long transcripts are cut to fit (default 9.5)")
    _stat_options(report)

    compare = sub.add_parser("compare", help="per-domain paired comparison of two runs (candidate minus baseline)")
    compare.add_argument("baseline", type=Path, metavar="BASELINE")
    compare.add_argument("candidate", type=Path, metavar="CANDIDATE")
    compare.add_argument("--format", choices=["table", "json", "markdown"], default="table")
    compare.add_argument("--domains", type=_domains, metavar="D1,D2", help="only these domains")
    _stat_options(compare)

    gate = sub.add_parser("gate", help="CI gate: exit 0 pass, 1 regression, 2 not comparable or bad input")
    gate.add_argument("--baseline", type=Path, required=True, metavar="RUN")
    gate.add_argument("--candidate", type=Path, required=True, metavar="RUN")
    gate.add_argument("--max-drop", type=_drop, default=0.02,
                      help="largest tolerated drop in a domain's score (default 0.02 = 2 points)")
    gate.add_argument("--mode", choices=["significant-drop", "non-inferiority"], default="significant-drop",
                      help="significant-drop (default): fail on a Holm-significant drop larger than --max-drop; "
                           "non-inferiority: fail unless the one-sided lower bound of the change is above -max-drop")
    gate.add_argument("--domains", type=_domains, metavar="D1,D2", help="gate only these domains")
    gate.add_argument("--junit", type=Path, metavar="FILE", help="write JUnit XML, one test case per domain")
    gate.add_argument("--summary", type=Path, metavar="FILE",
                      help="append a Markdown summary (e.g. $GITHUB_STEP_SUMMARY)")
    _stat_options(gate)


def report_command(args: argparse.Namespace) -> int:
    if args.command == "report":
        return _report(args)
    if args.command == "compare":
        return _compare(args)
    return _gate(args)


def _console():  # type: ignore[no-untyped-def]
    from rich.console import Console

    return Console(highlight=False, width=None if sys.stdout.isatty() else 200, soft_wrap=False)


def _report(args: argparse.Namespace) -> int:
    from evalharness.report.html import default_report_path, write_report

    runs = [require_run_dir(run) for run in args.runs]
    out = args.out or default_report_path(runs, DEFAULT_REPORTS)
    result = write_report(runs, out, alpha=args.alpha, max_drop=args.max_drop, test=args.test,
                          title=args.title, budget=int(args.max_size * 1e6))
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    if result.truncated_note:
        print(f"note: {result.truncated_note}", file=sys.stderr)
    print(f"report: {result.path} ({result.bytes / 1e6:.1f} MB, {result.samples:,} samples)")
    return 0


def _compare(args: argparse.Namespace) -> int:
    import orjson

    from evalharness.report.compare import compare_runs
    from evalharness.report.formats import (
        comparison_json,
        comparison_markdown,
        comparison_table,
        comparison_text_footer,
    )
    from evalharness.report.load import load_scores

    base = load_scores(require_run_dir(args.baseline), "baseline", with_results=False)
    cand = load_scores(require_run_dir(args.candidate), "candidate", with_results=False)
    comparison = compare_runs(base, cand, alpha=args.alpha, test=args.test, domains=args.domains)
    if args.format == "json":
        sys.stdout.write(orjson.dumps(comparison_json(comparison), option=orjson.OPT_INDENT_2).decode() + "\n")
    elif args.format == "markdown":
        sys.stdout.write(comparison_markdown(comparison))
    else:
        from evalharness.console_text import literal

        console = _console()
        console.print(comparison_table(comparison))
        for line in comparison_text_footer(comparison):
            console.print(literal(line))
    return 0


def _gate(args: argparse.Namespace) -> int:
    from evalharness.report.compare import compare_runs, gate
    from evalharness.report.formats import error_junit, error_markdown, gate_junit, gate_lines, gate_markdown
    from evalharness.report.load import load_scores

    try:
        base = load_scores(require_run_dir(args.baseline), "baseline", with_results=False)
        cand = load_scores(require_run_dir(args.candidate), "candidate", with_results=False)
        result = gate(compare_runs(base, cand, alpha=args.alpha, test=args.test, domains=args.domains),
                      args.mode, args.max_drop)
    except EvalHarnessError as e:
        if args.summary:
            _append(args.summary, error_markdown(str(e)).encode())
        if args.junit:
            _write(args.junit, error_junit(str(e)))
        raise
    for line in gate_lines(result):
        print(line)
    if args.summary:
        _append(args.summary, gate_markdown(result).encode())
    if args.junit:
        _write(args.junit, gate_junit(result))
    return result.exit_code


def _write(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as e:
        raise EvalHarnessError(f"cannot write {path}: {e.strerror}") from None


def _append(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab") as fh:
            fh.write(data)
    except OSError as e:
        raise EvalHarnessError(f"cannot write {path}: {e.strerror}") from None


def write_run_report(run_path: Path, out: Path | None = None) -> Path | None:
    """The report written at the end of `run`; prints its path as the last line. A report that cannot be
    written is a warning, not a failed run: the results are saved either way."""
    from evalharness.report.html import write_report

    target = out or DEFAULT_REPORTS / f"{Path(run_path).name}.html"
    try:
        result = write_report([run_path], target)
    except (EvalHarnessError, OSError) as e:
        print(f"warning: report not written ({e}); make it with `evalharness report {run_path}`", file=sys.stderr)
        return None
    sys.stdout.flush()
    print(f"report: {result.path}", flush=True)
    return result.path
