"""Measure what the harness itself costs per step of a τ³ conversation when the models cost nothing.

Why: a τ conversation is tens of steps (messages of the agent and the simulated user, and tool calls of
both) and each passes through the harness: the model call's plumbing, tool dispatch over the domain's
database, both sides' transcripts, the sample's result written to the store. Next to a model at hundreds of
milliseconds per call this must vanish: the target is at most 5 ms per step.

How: for each domain (τ³-bench's airline, retail, telecom and banking_knowledge on their base split, and
mock), a real run in this process (the runner, the tau task, the store in a temporary directory) with the
``scripted:gold`` model as both agent and user: it answers at once with the task's gold trajectory, so every
step does real work on the real data. One sample at a time, so a figure is a latency, not a share of a busy
pool. The scoring of each sample (a gold replay over the whole database) is timed apart and left out of the
per-step figures: it is paid once per sample, not per step. The run must score every conversation: a figure
from a run that went wrong is not printed.

Figures per domain: steps (as ``--max-steps`` counts them); ms per step over the samples' own time (the
conversation: model plumbing, tools, transcripts); ms per step over the whole run (also the runner and the
store's writes; the task's set-up, e.g. a retrieval index, is left out), as wall time and as the process's
CPU time (the target's figure: on a machine shared with other work, wall time also counts theirs); and
scoring ms per sample.

Run by hand:  python benchmarks/tau_step_overhead.py [--data PATH/TO/tau2] [--domain NAME ...]
Exit status: 0 the target is met in every domain, 1 it is missed, 2 a run went wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalharness.adapters.tau.adapter import TauAdapter
from evalharness.config import RunConfig, Suite, TaskSpec
from evalharness.models import create_backend, parse_model_args
from evalharness.runner import build_plan, execute_run, new_run
from evalharness.store import load_run
from evalharness.types import SampleResult

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "tau2"
DOMAINS = ("airline", "retail", "telecom", "banking_knowledge", "mock")
NO_SPLIT = ("banking_knowledge",)  # no split file: all of its tasks are the benchmark
TARGET_MS_PER_STEP = 5.0


class BenchmarkError(Exception):
    """A run went wrong: its figures would mean nothing."""


@dataclass
class Timings:
    """What the tau task spent outside the conversation, accumulated over a run (seconds)."""

    setup: float = 0.0
    setup_cpu: float = 0.0
    scoring: float = 0.0
    scoring_cpu: float = 0.0


@dataclass(frozen=True)
class Measurement:
    domain: str
    samples: int
    steps: int
    sample_time: float  # seconds: the samples' own durations, their scoring left out
    run_time: float  # seconds: the whole run, the task's set-up and the scoring left out
    run_cpu: float  # the process's CPU seconds over the same
    scoring: float  # seconds, all samples

    @property
    def sample_ms_per_step(self) -> float:
        return 1000 * self.sample_time / self.steps

    @property
    def run_ms_per_step(self) -> float:
        return 1000 * self.run_time / self.steps

    @property
    def cpu_ms_per_step(self) -> float:
        return 1000 * self.run_cpu / self.steps

    @property
    def scoring_ms_per_sample(self) -> float:
        return 1000 * self.scoring / self.samples


@contextlib.contextmanager
def timed_outside_conversation(timings: Timings) -> Iterator[None]:
    """Time the tau task's set-up and scoring (instrumentation of this benchmark only)."""
    setup, score = TauAdapter.setup, TauAdapter.score

    async def timed_setup(self: TauAdapter, *args: Any) -> None:
        start, cpu = time.perf_counter(), time.process_time()
        try:
            await setup(self, *args)
        finally:
            timings.setup += time.perf_counter() - start
            timings.setup_cpu += time.process_time() - cpu

    async def timed_score(self: TauAdapter, *args: Any) -> Any:
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return await score(self, *args)
        finally:
            timings.scoring += time.perf_counter() - start
            timings.scoring_cpu += time.process_time() - cpu

    TauAdapter.setup, TauAdapter.score = timed_setup, timed_score  # type: ignore[method-assign]
    try:
        yield
    finally:
        TauAdapter.setup, TauAdapter.score = setup, score  # type: ignore[method-assign]


def steps_of(result: SampleResult) -> int:
    """The conversation's steps as ``--max-steps`` counts them: every message of either side after the
    system prompts (a user message that calls the user's tools included) and every tool call."""
    details = result.scores[0].details
    agent_side = sum(1 for m in result.episode.messages if m.role != "system")
    user_side = len(details.get("user_tool_calls") or ()) + details["user_model_calls"] - details["user_turns"]
    return agent_side + user_side


def check(domain: str, results: list[SampleResult]) -> None:
    errors = [r for r in results if r.error is not None]
    if errors:
        raise BenchmarkError(f"{domain}: {len(errors)} samples errored, e.g. {errors[0].sample_id}: "
                             f"{errors[0].error.message if errors[0].error else ''}")
    unfinished = [r.sample_id for r in results if r.scores[0].details.get("termination") != "user_stop"]
    if unfinished:
        raise BenchmarkError(f"{domain}: conversations that did not end by the user's stop: {unfinished[:3]}")


async def measure(data: Path, domain: str) -> Measurement:
    options: dict[str, Any] = {"tau2_data": str(data), "domain": domain}
    if domain not in NO_SPLIT:
        options["split"] = "base"
    config = RunConfig(model="scripted:gold", suite=f"tau-overhead-{domain}", max_samples=1,
                       tasks=[TaskSpec(task="tau", options=options)])
    plan = build_plan(config)
    backend = create_backend(config.model, parse_model_args(config.model_args))
    suite = Suite(name=config.suite, description="", path=None, tasks=config.tasks)
    timings = Timings()
    with tempfile.TemporaryDirectory(prefix="evalharness-tau-overhead-") as tmp:
        run_dir = new_run(config, suite, plan, backend, Path(tmp))
        with timed_outside_conversation(timings):
            start, cpu = time.perf_counter(), time.process_time()
            try:
                outcome = await execute_run(config, plan, run_dir, backend)
            finally:
                await backend.aclose()
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        if outcome.status != "complete":
            raise BenchmarkError(f"{domain}: the run ended {outcome.status}")
        results = load_run(run_dir.path).results
    check(domain, results)
    return Measurement(domain, len(results), sum(map(steps_of, results)),
                       sample_time=sum(r.duration for r in results) - timings.scoring,
                       run_time=wall - timings.setup - timings.scoring,
                       run_cpu=cpu - timings.setup_cpu - timings.scoring_cpu, scoring=timings.scoring)


def print_table(measurements: Sequence[Measurement]) -> bool:
    header = ["domain", "samples", "steps", "ms/step (samples)", "ms/step (run)", "CPU ms/step (run)",
              "scoring ms/sample"]
    rows = [[m.domain, str(m.samples), str(m.steps), f"{m.sample_ms_per_step:.2f}", f"{m.run_ms_per_step:.2f}",
             f"{m.cpu_ms_per_step:.2f}", f"{m.scoring_ms_per_sample:.1f}"] for m in measurements]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for i, row in enumerate([header, *rows]):
        cells = (cell.ljust(w) if j == 0 else cell.rjust(w) for j, (cell, w) in enumerate(zip(row, widths)))
        print("  ".join(cells))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    worst = max(measurements, key=lambda m: m.cpu_ms_per_step)
    ok = worst.cpu_ms_per_step <= TARGET_MS_PER_STEP
    print(f"\ntarget <= {TARGET_MS_PER_STEP:.0f} CPU ms per step (whole run, scoring apart): "
          f"{'met' if ok else 'MISSED'} (worst: {worst.domain}, {worst.cpu_ms_per_step:.2f} ms)")
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="τ²-bench's data: a checkout's data/tau2, or a folder with one directory per domain")
    parser.add_argument("--domain", action="append", choices=DOMAINS, help="measure only these (default: all)")
    args = parser.parse_args(argv)
    measurements = []
    try:
        for domain in args.domain or DOMAINS:
            measurements.append(m := asyncio.run(measure(args.data, domain)))
            print(f"{domain}: {m.samples} samples, {m.steps} steps, {m.cpu_ms_per_step:.2f} CPU ms/step",
                  flush=True)
    except BenchmarkError as e:
        print(f"benchmark failed: {e}", file=sys.stderr)
        return 2
    print()
    return 0 if print_table(measurements) else 1


if __name__ == "__main__":
    sys.exit(main())
