"""The live progress: the plain line (logs, CI) says how long the run has taken, when it should end and what
is in progress, so a run whose model calls take minutes each visibly moves before the first one returns."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from evalharness.config import RunConfig, Suite, TaskSpec
from evalharness.display import RunProgress, progress_line
from evalharness.models import create_backend, parse_model_args
from evalharness.runner import RunStats, build_plan, execute_run, new_run
from tests.support.openai_server import ScriptedOpenAIServer, calculator_policy

HANG_GUARD = 120  # seconds


def local_model_stats(generated: list[int], **counters: Any) -> RunStats:
    stats = RunStats(total=10, started=1000.0, **counters)
    stats.generated_tokens = lambda: generated[0]
    return stats


def test_the_line_gives_elapsed_time_eta_and_the_work_in_progress() -> None:
    generated = [1234]
    stats = local_model_stats(generated, already_done=2, done=2, running=4, model_calls=5, calls_in_flight=4,
                              scored=4, score_sum=1.0)
    assert progress_line(stats, now=1100.0) == (
        "4/10 · running 4 · calls 5 done, 4 in flight · 1234 tokens generated · errors 0 · score 0.250 · "
        "1m40s elapsed · ETA 5m00s"  # 100 s for 2 samples of this session, 6 left
    )


def test_before_any_sample_finishes_the_line_still_moves() -> None:
    generated = [0]
    stats = local_model_stats(generated, running=10, calls_in_flight=10)
    first = progress_line(stats, now=1015.0)
    generated[0] = 180
    second = progress_line(stats, now=1030.0)
    assert first != second
    assert first == ("0/10 · running 10 · calls 0 done, 10 in flight · 0 tokens generated · errors 0 · "
                     "score - · 15s elapsed · ETA -")  # no sample has finished: no estimate yet
    assert "180 tokens generated" in second and "30s elapsed" in second


def test_a_remote_model_shows_its_answered_tokens() -> None:
    stats = RunStats(total=3, started=0.0, done=1, model_calls=2, calls_in_flight=1, tokens=12_345)
    assert progress_line(stats, now=4000.0) == (
        "1/3 · running 0 · calls 2 done, 1 in flight · tokens 12.3k · errors 0 · score - · 1h06m elapsed · "
        "ETA 2h13m"
    )


async def test_the_progress_log_prints_the_line(capsys: pytest.CaptureFixture[str]) -> None:
    progress = RunProgress("smoke · openai:m", log_every=0.0)  # stderr is not a terminal here
    progress.attach(RunStats(total=4, done=1))
    await asyncio.sleep(0)
    await progress.close()
    line = capsys.readouterr().err.splitlines()[0]
    assert line.startswith("smoke · openai:m: 1/4 · running 0 · calls 0 done, 0 in flight · tokens 0 ·")
    assert " elapsed · ETA " in line


async def test_the_runner_counts_calls_in_flight(tmp_path: Path) -> None:
    """Both samples' first calls are held by the server until the test has seen them in flight."""
    release = threading.Event()

    def held(body: dict[str, Any]) -> dict[str, Any]:
        release.wait(HANG_GUARD)
        return calculator_policy(body)

    seen: list[RunStats] = []
    with ScriptedOpenAIServer(policy=held) as server:
        config = RunConfig(model="openai:scripted-model", base_url=server.base_url, suite="progress-test",
                           model_args="max_retries=0", max_samples=2,
                           tasks=[TaskSpec(task="calculator", options={"count": 2})])
        plan = build_plan(config)
        backend = create_backend(config.model, parse_model_args(config.model_args), base_url=server.base_url,
                                 api_key="x", max_connections=config.max_connections)
        run_dir = new_run(config, Suite(name="progress-test", description="", path=None, tasks=config.tasks),
                          plan, backend, tmp_path)

        async def watch() -> None:
            while not seen or seen[0].calls_in_flight < 2:
                await asyncio.sleep(0.01)
            release.set()

        try:
            async with asyncio.timeout(HANG_GUARD):
                watcher = asyncio.create_task(watch())
                outcome = await execute_run(config, plan, run_dir, backend, on_start=seen.append)
                await watcher
        finally:
            release.set()
            await backend.aclose()
    stats = seen[0]
    assert outcome.ran == 2 and stats.calls_in_flight == 0 and stats.model_calls == 4
    assert stats.generated_tokens is None  # a remote model does not count tokens as they are generated
