"""The ``arena`` command: judge every shared prompt of every pair of runs in both orders, then print the
ratings, the win/tie/loss matrix and the judge's position bias, and write them as JSON and HTML.

Exit codes: 0 done; 2 bad input (one line), including verdicts the judge gave in a form that could not be
read: the results are still printed and written, with those battles counted apart, and a rerun asks the
judge again for exactly those (readable verdicts are cached).
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from evalharness.cli_parsing import positive_int
from evalharness.errors import EvalHarnessError

if TYPE_CHECKING:
    from evalharness.arena.battles import ArenaRun
    from evalharness.arena.results import ArenaResult

DEFAULT_JSON = Path("reports") / "arena.json"
DEFAULT_HTML = Path("reports") / "arena.html"


class UnreadableVerdicts(EvalHarnessError):
    """Some verdicts could not be read; the results are out, with those battles counted apart."""


def add_arena_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    arena = sub.add_parser("arena", help="judge open-ended answers of several runs pairwise; Bradley–Terry ratings")
    arena.add_argument("runs", nargs="+", type=Path, metavar="RUN", help="run directories of arena-search or arena-chat")
    arena.add_argument("--judge-model", required=True, help="the judge, BACKEND:NAME: openai:NAME, or scripted:"
                                                            "prefer-longer|always-a|unparseable for tests")
    arena.add_argument("--judge-base-url", help="OpenAI-compatible endpoint of the judge (default: $OPENAI_BASE_URL)")
    arena.add_argument("--api-key", help="API key of the judge (default: $OPENAI_API_KEY)")
    arena.add_argument("--anchor", metavar="RUN", help="the run whose rating is fixed at 1000 (default: the first)")
    arena.add_argument("--max-connections", type=positive_int, default=16,
                       help="concurrent requests to the judge (default 16)")
    arena.add_argument("--seed", type=int, default=0, help="seed of the bootstrap resampling (default 0)")
    arena.add_argument("--json", type=Path, default=DEFAULT_JSON, metavar="FILE",
                       help=f"where to write the results as JSON (default {DEFAULT_JSON})")
    arena.add_argument("--html", type=Path, default=DEFAULT_HTML, metavar="FILE",
                       help=f"where to write the HTML report (default {DEFAULT_HTML})")
    arena.add_argument("--report", nargs="?", const="", metavar="FILE",
                       help="also write the standard report of the runs with the arena section in it (default "
                            "reports/<last>-vs-<first>.html, as `evalharness report`)")


def arena_command(args: argparse.Namespace) -> int:
    return asyncio.run(_arena(args))


async def _arena(args: argparse.Namespace) -> int:
    import orjson

    from evalharness.arena.battles import ArenaInputError, check_runs, load_arena_run, matchups
    from evalharness.arena.html import write_arena_html
    from evalharness.arena.judging import ArenaJudge, open_judge_backend
    from evalharness.arena.results import result_json, summarise
    from evalharness.arena.terminal import print_result
    from evalharness.report_cli import _write
    from evalharness.resources import cache_dir
    from evalharness.scoring.judge import JudgeCache

    runs = [load_arena_run(path, f"run {i}") for i, path in enumerate(args.runs, start=1)]
    notes = check_runs(runs)
    anchor = _anchor(args.anchor, runs)
    backend = open_judge_backend(args.judge_model, args.judge_base_url, args.api_key, args.max_connections)
    cache = JudgeCache(cache_dir() / "arena-verdicts.sqlite")
    try:
        await backend.check()
        judge = ArenaJudge(backend, cache)
        judgements = await judge.judge_all(matchups(runs))
    finally:
        await backend.aclose()
        cache.close()
    result = summarise(runs, backend.name, anchor, judgements, judge.calls, notes, seed=args.seed)
    print_result(result)
    _write(args.json, orjson.dumps(result_json(result), option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))
    write_arena_html(result, args.html)
    print(f"arena: {args.json} · {args.html}")
    if args.report is not None:
        _write_report(result, args.report)
    if result.unparseable:
        first = result.unparseable[0].matchup
        raise UnreadableVerdicts(
            f"the judge gave {result.unparseable_verdicts} verdict(s) that could not be read, so "
            f"{len(result.unparseable)} of {len(judgements)} battle(s) are not rated (first: "
            f"{first.key[0]}/{first.key[1]}, {runs[first.first].name} vs {runs[first.second].name}); "
            f"run again to ask again (readable verdicts are cached)")
    if result.ratings is None:
        raise ArenaInputError("no battles to rate")
    return 0


def _write_report(result: ArenaResult, out: str) -> None:
    """The runs' standard report (scores, costs, transcripts) with the arena section in it."""
    from evalharness.arena.html import arena_section
    from evalharness.report.html import default_report_path, write_report
    from evalharness.report_cli import DEFAULT_REPORTS

    paths = [run.path for run in result.runs]
    written = write_report(paths, Path(out) if out else default_report_path(paths, DEFAULT_REPORTS),
                           sections=[arena_section(result)])
    print(f"report: {written.path}")


def _anchor(anchor: str | None, runs: list[ArenaRun]) -> str:
    """The anchor's run name: given as a run id or as the path given on the command line."""
    if anchor is None:
        return runs[0].name
    for run in runs:
        if anchor in (run.name, str(run.path)) or Path(anchor).resolve() == run.path.resolve():
            return run.name
    from evalharness.arena.battles import ArenaInputError

    raise ArenaInputError(f"--anchor {anchor!r} is none of the runs ({', '.join(r.name for r in runs)})")
