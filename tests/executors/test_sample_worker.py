"""A Ray worker's side of the exchange with the driver, run in-process (the protocol, not Ray: the cluster
tests run it on real nodes). Samples are stand-ins the test ends one by one, so every step is an event the
test causes, never a race with the clock."""

from __future__ import annotations

import asyncio
import shutil
from typing import Any

import pytest

from evalharness.executors import ray_worker
from evalharness.executors.ray_worker import SampleKey, SampleWorker

HANG_GUARD = 30.0  # seconds: only ever reached by a hang


class ControlledWorker(SampleWorker):
    """A worker whose samples end when the test says, with the payload the test gives."""

    def __init__(self) -> None:
        super().__init__(None, {}, None, None, None, 0, None)  # type: ignore[arg-type]
        self.started: list[str] = []
        self._ends: dict[str, asyncio.Future[dict[str, Any]]] = {}

    async def _payload(self, task: str, sample_id: str, epoch: int, seed: int | None) -> dict[str, Any]:
        self.started.append(sample_id)
        return await self._end(sample_id)

    def _end(self, sample_id: str) -> asyncio.Future[dict[str, Any]]:
        return self._ends.setdefault(sample_id, asyncio.get_running_loop().create_future())

    async def finish(self, sample_id: str, payload: dict[str, Any] | None = None) -> None:
        self._end(sample_id).set_result(payload or {"result": sample_id, "artifacts": {}})
        for _ in range(3):  # let the sample's task record it and start what follows
            await asyncio.sleep(0)


def keys(*ids: str) -> list[SampleKey]:
    return [("t", i, 0, None) for i in ids]


def finished(reply: dict[str, Any]) -> list[str]:
    return [payload["key"][1] for payload in reply["results"]]


@pytest.fixture
def worker() -> Any:
    w = ControlledWorker()
    yield w
    shutil.rmtree(w._artifacts, ignore_errors=True)


async def settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


async def test_a_slot_freed_takes_a_standby_sample_and_results_wait_for_a_slot_to_idle(
        worker: ControlledWorker, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ray_worker, "RESULT_BATCH_SECONDS", HANG_GUARD)  # only an idle slot ends the wait
    call = asyncio.create_task(worker.exchange(keys("a", "b"), keys("c")))
    await settle()
    assert worker.started == ["a", "b"]  # the standby sample waits for a slot
    await worker.finish("a")
    assert worker.started == ["a", "b", "c"] and not call.done()  # a's slot took c: no slot idles
    await worker.finish("b")  # nothing left to take b's slot: the reply goes, with the slot
    reply = await asyncio.wait_for(call, HANG_GUARD)
    assert finished(reply) == ["a", "b"] and reply["released"] == 1 and reply["standby"] == 0
    await worker.finish("c")
    reply = await asyncio.wait_for(worker.exchange([], []), HANG_GUARD)
    assert finished(reply) == ["c"] and reply["released"] == 1


async def test_results_go_back_after_the_batch_window_even_when_every_slot_is_busy(
        worker: ControlledWorker, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ray_worker, "RESULT_BATCH_SECONDS", 0.0)
    call = asyncio.create_task(worker.exchange(keys("a", "b"), keys("c")))
    await settle()
    await worker.finish("a")
    reply = await asyncio.wait_for(call, HANG_GUARD)
    assert finished(reply) == ["a"] and reply["released"] == 0  # c runs in a's slot, which stays here
    assert worker.started == ["a", "b", "c"]


async def test_a_call_waits_for_a_first_result(worker: ControlledWorker) -> None:
    call = asyncio.create_task(worker.exchange(keys("a"), []))
    await settle()
    assert not call.done()
    await worker.finish("a")
    assert finished(await asyncio.wait_for(call, HANG_GUARD)) == ["a"]


async def test_a_fatal_error_goes_back_at_once_and_starts_nothing_more(
        worker: ControlledWorker, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ray_worker, "RESULT_BATCH_SECONDS", HANG_GUARD)
    call = asyncio.create_task(worker.exchange(keys("a", "b"), keys("c")))
    await settle()
    await worker.finish("a", {"fatal": ["auth", "invalid API key"]})
    reply = await asyncio.wait_for(call, HANG_GUARD)
    assert reply["results"] == [{"key": ("t", "a", 0, None), "fatal": ["auth", "invalid API key"]}]
    assert worker.started == ["a", "b"] and reply["standby"] == 1  # c was not started in a's slot


async def test_halting_stops_the_samples_and_ends_the_call_outstanding(worker: ControlledWorker) -> None:
    call = asyncio.create_task(worker.exchange(keys("a", "b"), keys("c")))
    await settle()
    running = list(worker._running.values())
    await worker.halt()
    reply = await asyncio.wait_for(call, HANG_GUARD)
    assert reply == {"results": [], "released": 0, "standby": 0}
    await settle()
    assert all(task.cancelled() for task in running) and worker.started == ["a", "b"]


async def test_a_failure_of_the_workers_own_code_goes_back_as_such(worker: ControlledWorker,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a hang: the driver hears of it at once and stops the run, naming the sample."""
    monkeypatch.setattr(ray_worker, "RESULT_BATCH_SECONDS", HANG_GUARD)
    call = asyncio.create_task(worker.exchange(keys("a", "b"), keys("c")))
    await settle()
    worker._end("a").set_exception(OSError("disk full"))
    reply = await asyncio.wait_for(call, HANG_GUARD)
    assert reply["results"] == [{"key": ("t", "a", 0, None), "crash": "OSError: disk full"}]
    assert worker.started == ["a", "b"]
