"""A sample's budget: its clock counts only the sample's own work, and every loop is held to its limits."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from evalharness.budget import LimitReached, SampleBudget, current_budget, pause_current
from evalharness.config import RunConfig, Suite, TaskSpec
from evalharness.models import create_backend, parse_model_args
from evalharness.runner import build_plan, execute_run, new_run
from evalharness.store import load_run
from evalharness.types import SampleResult
from tests.support.openai_server import ScriptedOpenAIServer

HANG_GUARD = 120  # seconds; only a broken budget comes anywhere near it


class ManualClock:
    """A time source the test moves by hand, so the accounting is checked exactly."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def test_time_spent_paused_is_not_the_samples_own_work() -> None:
    clock = ManualClock()
    budget = SampleBudget(time_limit=3600, clock=clock)
    async with budget.running():
        clock.advance(2)
        with budget.pause():
            clock.advance(100)  # queued behind other samples
            assert budget.paused
        clock.advance(3)
        assert budget.spent == 5
    clock.advance(50)  # after the sample: nothing more is counted
    assert budget.spent == 5 and not budget.timed_out


async def test_pauses_nest_and_the_clock_runs_again_when_the_last_one_ends() -> None:
    clock = ManualClock()
    budget = SampleBudget(clock=clock)
    async with budget.running():
        outer = budget.pause()
        inner = budget.pause()
        clock.advance(10)
        inner.end()
        inner.end()  # ending twice is harmless
        clock.advance(10)
        assert budget.paused and budget.spent == 0
        outer.end()
        clock.advance(1)
        assert not budget.paused and budget.spent == 1


async def test_work_past_the_time_limit_stops_the_sample() -> None:
    budget = SampleBudget(time_limit=0.05)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(HANG_GUARD):
            async with budget.running():
                await asyncio.sleep(HANG_GUARD * 2)  # works (unpaused) until the limit ends it
    assert budget.timed_out


async def test_a_wait_many_times_the_limit_does_not_use_it_up_while_paused() -> None:
    budget = SampleBudget(time_limit=0.05)
    async with budget.running():
        with pause_current():
            await asyncio.sleep(0.5)  # ten times the limit, waiting for a shared resource
        finished = True
    assert finished and not budget.timed_out


async def test_the_limit_still_applies_after_a_pause() -> None:
    budget = SampleBudget(time_limit=0.05)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(HANG_GUARD):
            async with budget.running():
                with budget.pause():
                    await asyncio.sleep(0)
                await asyncio.sleep(HANG_GUARD * 2)
    assert budget.timed_out


async def test_another_thread_can_end_a_pause() -> None:
    budget = SampleBudget(time_limit=3600)
    async with budget.running():
        pause = budget.pause()
        thread = threading.Thread(target=pause.end_threadsafe)
        thread.start()
        thread.join()
        async with asyncio.timeout(HANG_GUARD):
            while budget.paused:
                await asyncio.sleep(0.01)
        pause.end()  # the waiting side ends it too, afterwards: no effect
        assert not budget.paused


async def test_the_budget_is_current_in_the_samples_tasks_only() -> None:
    budget = SampleBudget()
    seen: list[SampleBudget | None] = []

    async def look() -> None:
        seen.append(current_budget())

    async with budget.running():
        await asyncio.gather(look(), look())
    await look()
    assert seen == [budget, budget, None]
    with pause_current():  # outside a sample: nothing to pause
        assert current_budget() is None


def test_turns_and_tokens_are_checked_before_each_call() -> None:
    budget = SampleBudget(max_turns=2, token_limit=100)
    budget.check_model_call()
    budget.record_model_call(30)
    budget.check_model_call()
    budget.record_model_call(30)
    with pytest.raises(LimitReached) as turns:
        budget.check_model_call()
    assert turns.value.reason == "max_turns"
    tokens = SampleBudget(max_turns=10, token_limit=50)
    tokens.record_model_call(60)
    with pytest.raises(LimitReached) as used:
        tokens.check_model_call()
    assert used.value.reason == "max_tokens"


# --- the runner holds an adapter's own conversation loop (tau) to the run's limits -----------------------


def chatty(body: dict[str, Any]) -> dict[str, Any]:
    """A model that never calls a tool and never ends the conversation (nor does its simulated user)."""
    return {"role": "assistant", "content": "Could you tell me a little more?"}


async def run_tau(server: ScriptedOpenAIServer, out: Path, **limits: Any) -> SampleResult:
    config = RunConfig(model="openai:scripted-model", base_url=server.base_url, suite="budget-test",
                       model_args="max_retries=0", tasks=[TaskSpec(task="tau")], limit=1, **limits)
    plan = build_plan(config)
    backend = create_backend(config.model, parse_model_args(config.model_args), base_url=server.base_url,
                             api_key="x")
    run_dir = new_run(config, Suite(name="budget-test", description="", path=None, tasks=config.tasks), plan,
                      backend, out)
    try:
        await execute_run(config, plan, run_dir, backend)
    finally:
        await backend.aclose()
    [result] = load_run(run_dir.path).results
    return result


@pytest.mark.parametrize(("limits", "reason", "calls"), [
    ({"max_turns": 2}, "max_turns", 2),
    ({"token_limit": 1}, "max_tokens", 1),  # the first reply uses the whole budget
])
async def test_a_conversation_loop_of_its_own_stops_at_the_runs_limits(
    tmp_path: Path, limits: dict[str, int], reason: str, calls: int
) -> None:
    with ScriptedOpenAIServer(policy=chatty) as server:
        result = await run_tau(server, tmp_path, **limits)
    assert result.error is None and result.scores  # a limit ends the sample; it is scored, not errored
    assert result.episode.stop_reason == reason
    assert result.episode.model_calls == calls
    assert result.scores[0].details["user_model_calls"] >= calls  # the user simulator is not counted
