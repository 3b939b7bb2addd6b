"""What the user sees: the live progress bar and the end-of-run summary.

The progress bar polls the runner's counters a few times a second instead of being pushed an update per
event, so its cost does not grow with the model's speed.
"""

from __future__ import annotations

import asyncio
import sys
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from evalharness.report.aggregate import ConditionDelta, DomainSummary
from evalharness.report.stats import Estimate
from evalharness.runner import RunOutcome, RunStats

# Logs and CI consoles are not terminals; rich would wrap tables at 80 columns there.
console = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 140)
out = Console(highlight=False, width=None if sys.stdout.isatty() else 140)


def _fmt_tokens(n: int) -> str:
    return f"{n / 1e6:.2f}M" if n >= 1_000_000 else f"{n / 1e3:.1f}k" if n >= 10_000 else str(n)


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
                TextColumn("[bold]{task.description}"),
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
            mean = stats.mean_score
            info = (
                f"running {stats.running} · errors {stats.errors} · "
                f"score {'-' if mean is None else f'{mean:.3f}'} · calls {stats.model_calls} · "
                f"tokens {_fmt_tokens(stats.tokens)}"
            )
            if self._progress is not None and bar is not None:
                self._progress.update(bar, completed=completed, info=info)
            elif time.monotonic() - last_log >= self._log_every:
                last_log = time.monotonic()
                console.print(f"{self._title}: {completed}/{stats.total} · {info}")
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
    table = Table(title="Scores by domain (mean ± standard error, 95% CI)", title_justify="left")
    columns = ["domain", "score", "95% CI", *(["pass@k ± SE"] if with_pass else []), "n", "epochs", "errors",
               "model calls", "tokens"]
    for name in columns:
        table.add_column(name, justify="left" if name == "domain" else "right", no_wrap=True)
    for s in summaries:
        score, ci = _estimate(s.score)
        passed = []
        if with_pass:
            passed = [f"@{s.epochs}: {_estimate(s.pass_at_k)[0]}" if s.pass_at_k is not None else "-"]
        errors = f"[red]{s.errors}[/red]" if s.errors else "0"
        table.add_row(s.domain, score, ci, *passed, str(s.score.n), str(s.epochs), errors, str(s.model_calls),
                      _fmt_tokens(s.input_tokens + s.output_tokens))
    return table


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
        if s.calibration_error is not None:
            parts.append(f"calibration error (ECE) {s.calibration_error:.3f}")
        if parts:
            out.print(f"  {s.domain}: " + " · ".join(parts))
    for d in deltas:
        se = f"± {d.delta.se:.3f}" if d.delta.se is not None else "± n/a"  # n = 1: no standard error
        out.print(f"  {d.domain}: open-book minus closed-book {d.delta.mean:+.3f} {se} (paired, n={d.delta.n})")


def print_summary(outcome: RunOutcome) -> None:
    out.print(summary_table(outcome.summaries))
    print_domain_metrics(outcome.summaries, outcome.deltas)
    errors = sum(s.errors for s in outcome.summaries)
    note = f" · [red]{errors} errored sample(s) not scored[/red]" if errors else ""
    out.print(
        f"{outcome.ran} sample(s) run this session, {outcome.total} in the run, "
        f"wall time {outcome.wall_seconds:.1f}s{note}"
    )
    out.print(f"run directory: [bold]{outcome.run_dir.path}[/bold]")
