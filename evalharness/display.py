"""What the user sees: the live progress bar and the end-of-run summary.

The progress bar polls the runner's counters a few times a second instead of being pushed an update per
event, so its cost does not grow with the model's speed.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from evalharness.console_text import literal
from evalharness.report.aggregate import ConditionDelta, DomainSummary, leaderboard_overall
from evalharness.report.cost import DomainCost, cost_by_domain, run_price
from evalharness.report.formats import leaderboard_lines
from evalharness.report.load import load_scores
from evalharness.report.stats import SCORE_INTERVAL, Estimate
from evalharness.runner import RunOutcome, RunStats

# Logs and CI consoles are not terminals; rich would wrap tables at 80 columns there.
console = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 140)
out = Console(highlight=False, width=None if sys.stdout.isatty() else 140)


def _fmt_tokens(n: int) -> str:
    return f"{n / 1e6:.2f}M" if n >= 1_000_000 else f"{n / 1e3:.1f}k" if n >= 10_000 else str(n)


def _fmt_duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def activity(stats: RunStats) -> str:
    """What is in progress. A local model on a CPU can take minutes per call: its tokens generated so far show
    the run moving before any call returns; for a remote model, the calls in flight and tokens answered."""
    mean = stats.mean_score
    generated = stats.generated_tokens() if stats.generated_tokens is not None else None
    tokens = (f"{_fmt_tokens(generated)} tokens generated" if generated is not None
              else f"tokens {_fmt_tokens(stats.tokens)}")
    return (f"running {stats.running} · calls {stats.model_calls} done, {stats.calls_in_flight} in flight · "
            f"{tokens} · errors {stats.errors} · score {'-' if mean is None else f'{mean:.3f}'}")


def progress_line(stats: RunStats, now: float) -> str:
    """The plain progress line (logs, CI): completed samples, :func:`activity`, elapsed time and the ETA once
    a sample of this session has finished (elapsed time per finished sample times the samples left)."""
    completed = stats.already_done + stats.done
    elapsed = max(0.0, now - stats.started)
    eta = _fmt_duration(elapsed / stats.done * (stats.total - completed)) if stats.done else "-"
    return f"{completed}/{stats.total} · {activity(stats)} · {_fmt_duration(elapsed)} elapsed · ETA {eta}"


class RunProgress:
    """A rich progress bar on a terminal; a plain line every ``log_every`` seconds elsewhere (CI logs)."""

    def __init__(self, title: str, log_every: float = 15.0, refresh: float = 0.25) -> None:
        self._title = title
        self._log_every = log_every
        self._refresh = refresh
        self._task: asyncio.Task[None] | None = None
        self._progress: Progress | None = None

    def attach(self, stats: RunStats) -> None:
        if console.is_terminal:
            self._progress = Progress(
                TextColumn("{task.description}", style="bold", markup=False),  # names the model: literal
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[info]}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=console,
                transient=False,
            )
            self._progress.start()
        self._task = asyncio.create_task(self._poll(stats))

    async def _poll(self, stats: RunStats) -> None:
        bar = (
            self._progress.add_task(self._title, total=stats.total, completed=stats.already_done, info="")
            if self._progress
            else None
        )
        last_log = time.monotonic()
        while True:
            completed = stats.already_done + stats.done
            if self._progress is not None and bar is not None:  # the bar has its own elapsed and ETA columns
                self._progress.update(bar, completed=completed, info=activity(stats))
            elif time.monotonic() - last_log >= self._log_every:
                last_log = time.monotonic()
                console.print(literal(f"{self._title}: {progress_line(stats, last_log)}"), soft_wrap=True)
            await asyncio.sleep(self._refresh)

    async def close(self, stats: RunStats | None = None) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._progress is not None:
            if stats is not None:
                self._progress.update(self._progress.task_ids[0], completed=stats.already_done + stats.done)
            self._progress.stop()


def _estimate(est: Estimate) -> tuple[str, str]:
    if est.n == 0:
        return "-", "-"
    score = f"{est.mean:.3f} ± {est.se:.3f}" if est.se is not None else f"{est.mean:.3f} ± n/a"
    ci = f"[{est.ci95[0]:.3f}, {est.ci95[1]:.3f}]" if est.ci95 else "-"
    return score, ci


def summary_table(summaries: list[DomainSummary]) -> Table:
    """Mean over samples of the per-sample mean over epochs (mean@K when K > 1), and pass@K."""
    with_pass = any(s.pass_at_k is not None for s in summaries)
    table = Table(title=f"Scores by domain (mean ± standard error, {SCORE_INTERVAL})", title_justify="left")
    columns = ["domain", "score", SCORE_INTERVAL, *(["pass@k ± SE"] if with_pass else []), "n", "epochs",
               "errors", "limits hit", "model calls", "tokens"]
    for name in columns:
        table.add_column(name, justify="left" if name == "domain" else "right", no_wrap=True)
    for s in summaries:
        score, ci = _estimate(s.score)
        passed = []
        if with_pass:
            passed = [f"@{s.epochs}: {_estimate(s.pass_at_k)[0]}" if s.pass_at_k is not None else "-"]
        errors = Text(str(s.errors), style="red" if s.errors else "")
        table.add_row(literal(s.domain), score, ci, *passed, str(s.score.n), str(s.epochs), errors,
                      _limits_hit(s), str(s.model_calls), _fmt_tokens(s.input_tokens + s.output_tokens))
    return table


def _limits_hit(s: DomainSummary) -> Text:
    """How many samples each limit ended (stop reasons come from the run directory: printed literally)."""
    hit = s.limits_hit
    text = ", ".join(f"{reason} {n}" for reason, n in hit.items()) or "-"
    return literal(text, style="yellow" if s.limit_warning else "")


def print_limit_warnings(summaries: list[DomainSummary]) -> None:
    """One line per domain where most samples ended at a limit, so that its score is not read as the model's,
    one per caveat of a domain's score (e.g. a τ domain run without τ²-bench's prompts), and one per setup
    its score depends on (a knowledge domain's retrieval configuration)."""
    for s in summaries:
        if s.limit_warning:
            out.print(literal(f"⚠ {s.domain}: {s.limit_warning}", style="yellow"))
        for caveat in s.caveats:
            out.print(literal(f"⚠ {s.domain}: {caveat}", style="yellow"))
        for setup in s.setups:
            out.print(literal(f"  {s.domain}: {setup}", style="dim"))


def _fmt(est: Estimate) -> str:
    return f"{est.mean:.3f} ± {est.se:.3f}" if est.se is not None else f"{est.mean:.3f} (n={est.n})"


def print_domain_metrics(summaries: list[DomainSummary], deltas: list[ConditionDelta]) -> None:
    """The lines under the table: other scores, tool use, calibration, open-minus-closed-book."""
    for s in summaries:
        parts = [f"{name} {_fmt(est)}" for name, est in s.secondary.items()]
        if s.tool_calls:
            parts.append("tool calls/sample " + ", ".join(f"{k} {v:.2f}" for k, v in s.tool_calls.items()))
        if s.pass_hat_k:
            parts.append("pass^k " + ", ".join(f"^{k} {est.mean:.3f}" for k, est in s.pass_hat_k.items()))
        if s.errors and s.domain.startswith("tau/") and s.pass_hat_k_errors_failed:
            parts.append("pass^k with errors as failures (τ²-bench's convention) "
                         + ", ".join(f"^{k} {est.mean:.3f}" for k, est in s.pass_hat_k_errors_failed.items()))
        if s.calibration_error is not None:
            parts.append(f"calibration error (ECE) {s.calibration_error:.3f}")
        if parts:
            out.print(literal(f"  {s.domain}: " + " · ".join(parts)))
    for d in deltas:
        se = f"± {d.delta.se:.3f}" if d.delta.se is not None else "± n/a"  # n = 1: no standard error
        out.print(literal(f"  {d.domain}: open-book minus closed-book {d.delta.mean:+.3f} {se} "
                          f"(paired, n={d.delta.n})"))


def _mean(est: Estimate | None, digits: str = ",.0f") -> str:
    return "-" if est is None or est.n == 0 else format(est.mean, digits)


def cost_table(costs: list[DomainCost]) -> Table:
    """What each domain's samples cost, on average per scored sample (the report adds the intervals)."""
    table = Table(title="Cost per sample by domain (means over scored samples)", title_justify="left")
    columns = ["domain", "input tokens", "output tokens", "model calls", "tool calls", "model s p50/p95", "wall s",
               "$/sample", "$/point"]
    for name in columns:
        table.add_column(name, justify="left" if name == "domain" else "right", no_wrap=True)
    for c in costs:
        latency = "-" if c.latency_p50 is None else f"{c.latency_p50:.2f}/{c.latency_p95:.2f}"
        table.add_row(literal(c.domain), _mean(c.input_tokens), _mean(c.output_tokens), _mean(c.model_calls, ".2f"),
                      _mean(c.tool_calls, ".2f"), latency, _mean(c.wall, ".2f"), _mean(c.dollars, ".4g"),
                      _mean(c.dollars_per_point, ".4g"))
    return table


def print_costs(run_path: Path) -> None:
    """The cost table of a finished run, priced by its own price_input/price_output model args if any."""
    run = load_scores(run_path)
    costs = cost_by_domain(run, run_price(run, {}))
    if costs:
        out.print(cost_table(costs))


def print_summary(outcome: RunOutcome) -> None:
    out.print(summary_table(outcome.summaries))
    print_costs(outcome.run_dir.path)
    print_limit_warnings(outcome.summaries)
    print_domain_metrics(outcome.summaries, outcome.deltas)
    overall = leaderboard_overall(outcome.summaries)
    if overall is not None:
        for text in leaderboard_lines(overall):
            out.print(literal(text))
    errors = sum(s.errors for s in outcome.summaries)
    line = Text(f"{outcome.ran} sample(s) run this session, {outcome.total} in the run, "
                f"wall time {outcome.wall_seconds:.1f}s")
    if errors:
        line.append(f" · {errors} errored sample(s) not scored", style="red")
    out.print(line)
    out.print(Text.assemble("run directory: ", literal(outcome.run_dir.path, style="bold")))
