"""The `report`, `compare` and `gate` commands, and the report written at the end of `run`.

Exit codes of `gate`: 0 pass, 1 regression, 2 runs not comparable or bad input (explained in one line).
`compare` and `report` exit 0, or 2 on bad input / runs that cannot be paired.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from evalharness.cli_parsing import number_that, positive_float
from evalharness.errors import EvalHarnessError

if TYPE_CHECKING:
    from evalharness.arena.gate import ArenaGateResult
    from evalharness.report.compare import GateResult
    from evalharness.report.cost import CostGate
    from evalharness.report.formats import GateCase
    from evalharness.report.html import ReportResult
    from evalharness.report.load import RunData

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


def _increase(text: str) -> float:
    """``20%`` or ``0.2``: a relative increase."""
    raw = text.strip()
    value = raw[:-1] if raw.endswith("%") else raw
    number = number_that(value, "be a non-negative increase, e.g. 20% or 0.2", lambda v: v >= 0.0)
    return number / 100.0 if raw.endswith("%") else number


def _cost_options(p: argparse.ArgumentParser, what: str) -> None:
    from evalharness.report.cost import COST_METRICS

    p.add_argument("--cost", choices=COST_METRICS, default="tokens", help=f"{what} (default tokens)")
    p.add_argument("--prices", type=Path, metavar="FILE",
                   help="price table, TOML or JSON: {MODEL: {input: $/M tokens, output: $/M tokens}}; "
                        "a run's price_input/price_output model args take precedence")


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
    _cost_options(report, "cost axis of the score-cost frontier of several runs")

    compare = sub.add_parser("compare", help="per-domain paired comparison of two runs (candidate minus baseline)")
    compare.add_argument("baseline", type=Path, metavar="BASELINE")
    compare.add_argument("candidate", type=Path, metavar="CANDIDATE")
    compare.add_argument("--format", choices=["table", "json", "markdown"], default="table")
    compare.add_argument("--domains", type=_domains, metavar="D1,D2", help="only these domains")
    _stat_options(compare)
    _cost_options(compare, "cost compared per sample")

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
    gate.add_argument("--arena", type=Path, metavar="FILE",
                      help="also gate the arena domains of `evalharness arena`'s JSON: a domain fails when the "
                           "candidate's win rate against the baseline is significantly below 50%% (sign test, Holm)")
    gate.add_argument("--max-cost-increase", type=_increase, metavar="PCT",
                      help="also fail a domain whose paired cost per sample (--cost) grew significantly "
                           "beyond this, e.g. 20%%")
    _stat_options(gate)
    _cost_options(gate, "cost that --max-cost-increase bounds")


def report_command(args: argparse.Namespace) -> int:
    if args.command == "report":
        return _report(args)
    if args.command == "compare":
        return _compare(args)
    return _gate(args)


def _console():  # type: ignore[no-untyped-def]
    from rich.console import Console

    return Console(highlight=False, width=None if sys.stdout.isatty() else 200, soft_wrap=False)


def _prices(path: Path | None) -> dict:  # type: ignore[type-arg]
    from evalharness.report.cost import load_prices

    return load_prices(path) if path is not None else {}


def _report(args: argparse.Namespace) -> int:
    from evalharness.report.html import default_report_path, write_report
    from evalharness.sweep import SWEEP_FILE

    if len(args.runs) == 1 and (args.runs[0] / SWEEP_FILE).is_file():
        return write_sweep_report(args.runs[0], args.out, args.cost, args.prices, args)
    runs = [require_run_dir(run) for run in args.runs]
    out = args.out or default_report_path(runs, DEFAULT_REPORTS)
    result = write_report(runs, out, alpha=args.alpha, max_drop=args.max_drop, test=args.test,
                          title=args.title, budget=int(args.max_size * 1e6), cost_metric=args.cost,
                          prices=_prices(args.prices))
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    if result.truncated_note:
        print(f"note: {result.truncated_note}", file=sys.stderr)
    _print_frontier(result)
    print(f"report: {result.path} ({result.bytes / 1e6:.1f} MB, {result.samples:,} samples)")
    return 0


def _print_frontier(result: ReportResult) -> None:
    """The score-cost frontier of a report of several runs, as text."""
    from evalharness.console_text import literal
    from evalharness.report.frontier import frontier_lines

    if result.frontier is None or not result.frontier.panels:
        return
    console = _console()
    for line in frontier_lines(result.frontier):
        console.print(literal(line))


def write_sweep_report(sweep_path: Path, out: Path | None, cost: str, prices: Path | None,
                       args: argparse.Namespace | None = None) -> int:
    """A sweep's frontier: printed, and in the HTML report of its runs (labelled by configuration)."""
    from evalharness.report.html import write_report
    from evalharness.sweep import SweepDir

    sweep = SweepDir.open(sweep_path)
    named = sweep.run_dirs()
    if not named:
        raise EvalHarnessError(f"sweep {sweep_path} has no runs yet; start it with `evalharness sweep --resume "
                               f"{sweep_path}`")
    options = {} if args is None else {"alpha": args.alpha, "max_drop": args.max_drop, "test": args.test,
                                       "title": args.title, "budget": int(args.max_size * 1e6)}
    target = out or DEFAULT_REPORTS / f"{sweep.path.name}.html"
    result = write_report([path for _, path in named], target, run_names=[name for name, _ in named],
                          cost_metric=cost, prices=_prices(prices), **options)
    _print_frontier(result)
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
    from evalharness.report.cost import paired_cost_json, paired_cost_lines, paired_costs
    from evalharness.report.load import load_scores

    base = load_scores(require_run_dir(args.baseline), "baseline", with_results=False)
    cand = load_scores(require_run_dir(args.candidate), "candidate", with_results=False)
    comparison = compare_runs(base, cand, alpha=args.alpha, test=args.test, domains=args.domains)
    costs = paired_costs(base, cand, args.cost, _prices(args.prices), args.domains, overall=True)
    if args.format == "json":
        data = {**comparison_json(comparison), "cost": [paired_cost_json(c) for c in costs]}
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
    elif args.format == "markdown":
        sys.stdout.write(comparison_markdown(comparison))
        sys.stdout.write("".join(f"- {line}\n" for line in paired_cost_lines(costs)))
    else:
        from evalharness.console_text import literal

        console = _console()
        console.print(comparison_table(comparison))
        for line in comparison_text_footer(comparison):
            console.print(literal(line))
        for line in paired_cost_lines(costs):
            console.print(literal(line))
    return 0


def _gate(args: argparse.Namespace) -> int:
    from evalharness.report.formats import error_junit, error_markdown

    try:
        return _run_gate(args)
    except EvalHarnessError as e:
        if args.summary:
            _append(args.summary, error_markdown(str(e)).encode())
        if args.junit:
            _write(args.junit, error_junit(str(e)))
        raise


def _run_gate(args: argparse.Namespace) -> int:
    """The score gate, and with ``--arena`` and ``--max-cost-increase`` the arena and cost gates; every verdict
    printed, in the summary and in the JUnit file. Runs of arena tasks alone are gated on their battles only."""
    from evalharness.report.formats import gate_junit, gate_lines, gate_markdown, verdicts_junit
    from evalharness.report.load import load_scores

    base = load_scores(require_run_dir(args.baseline), "baseline", with_results=False)
    cand = load_scores(require_run_dir(args.candidate), "candidate", with_results=False)
    arena = None
    if args.arena is not None:
        from evalharness.arena.gate import arena_gate, has_scores, report_arena_gate

        arena = arena_gate(args.arena, base.id, cand.id, args.alpha)
        if not has_scores(base, cand):
            if args.junit:
                _write(args.junit, verdicts_junit("evalharness gate (arena)", arena.junit_properties(),
                                                  arena.junit_cases()))
            return report_arena_gate(arena, args.summary)
    result, arena = _score_gate(args, base, cand, arena)
    cost_verdicts = _cost_gate(args, base, cand)
    for line in gate_lines(result):
        print(line)
    cost_lines = [f"{'PASS' if v.passed else 'FAIL'}  {v.domain} cost: {v.reason}" for v in cost_verdicts]
    cost_failed = [v.domain for v in cost_verdicts if not v.passed]
    for line in cost_lines:
        print(line)
    if cost_verdicts:
        print(f"FAIL: cost grew beyond +{args.max_cost_increase:.0%} in {', '.join(cost_failed)}" if cost_failed
              else f"PASS: no domain's cost grew significantly beyond +{args.max_cost_increase:.0%}")
    if args.summary:
        _append(args.summary, gate_markdown(result).encode() + "".join(f"- {line}\n" for line in cost_lines).encode())
    if args.junit:
        _write(args.junit, gate_junit(result, _extra_cases(cost_verdicts, arena)))
    arena_exit = 0
    if arena is not None:
        arena_exit = report_arena_gate(arena, args.summary)
    return max(result.exit_code, 1 if cost_failed else 0, arena_exit)


def _score_gate(args: argparse.Namespace, base: RunData, cand: RunData,
                arena: ArenaGateResult | None) -> tuple[GateResult, ArenaGateResult | None]:
    """The score gate's result, and the arena gate's with Holm's correction over both kinds of domain."""
    from evalharness.report.compare import compare_runs, gate

    domains = args.domains
    if arena is not None:  # the arena domains are unscored: the arena gate decides them, the comparison not
        from evalharness.arena.gate import arena_domains, join_holm

        present = args.domains or sorted({s.domain for run in (base, cand) for s in run.samples.values()})
        domains = [d for d in present if d not in arena_domains(arena)] or args.domains
    comparison = compare_runs(base, cand, alpha=args.alpha, test=args.test, domains=domains)
    if arena is not None:
        comparison, arena = join_holm(comparison, arena)
    return gate(comparison, args.mode, args.max_drop), arena


def _cost_gate(args: argparse.Namespace, base: RunData, cand: RunData) -> list[CostGate]:
    if args.max_cost_increase is None:
        return []
    from evalharness.report.cost import cost_gate, paired_costs

    return cost_gate(paired_costs(base, cand, args.cost, _prices(args.prices), args.domains),
                     args.max_cost_increase, args.alpha)


def _extra_cases(cost_verdicts: list[CostGate], arena: ArenaGateResult | None) -> list[GateCase]:
    """The cost and arena verdicts as JUnit test cases beside the score gate's."""
    from evalharness.report.formats import GateCase

    cases = [GateCase("cost", v.domain, v.passed, v.reason) for v in cost_verdicts]
    return cases + (arena.junit_cases() if arena is not None else [])


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
