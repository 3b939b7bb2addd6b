"""The cluster-wide connection limit's bookkeeping (the limiter actor's class, run here in one event loop):
slots leased in blocks never add up to more than the limit, a waiting worker is told so, and a dead worker's
slots come back."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from evalharness.executors import ray_limits
from evalharness.executors.ray_limits import ConnectionLimiter, LeasedSlots

HANG_GUARD = 30.0  # seconds: only ever reached by a hang


def test_leases_in_blocks_never_exceed_the_limit() -> None:
    async def scenario() -> None:
        limiter = ConnectionLimiter(5)
        assert await limiter.lease(holder=0, wanted=4) == 4
        assert await limiter.lease(holder=1, wanted=4) == 1  # what is left, at once
        waits = [asyncio.create_task(limiter.lease(holder=1, wanted=2)) for _ in range(2)]
        await asyncio.sleep(0)
        assert not any(w.done() for w in waits)  # nothing free: they wait
        assert limiter.give_back(holder=0, count=1) is True  # one still waits, which holder 0 hears
        assert await waits[0] == 1
        assert limiter.give_back(holder=0, count=1) is False  # nobody waits any more
        assert await waits[1] == 1
        assert limiter.give_back(holder=1, count=0) is False

    asyncio.run(scenario())


def test_a_dead_workers_slots_come_back_and_its_wait_is_dropped() -> None:
    async def scenario() -> None:
        limiter = ConnectionLimiter(2)
        assert await limiter.lease(holder=0, wanted=2) == 2
        dead_wait = asyncio.create_task(limiter.lease(holder=0, wanted=1))
        live_wait = asyncio.create_task(limiter.lease(holder=1, wanted=3))
        await asyncio.sleep(0)
        limiter.release_all(0)
        assert await live_wait == 2  # both of the dead worker's slots, and only those
        await asyncio.sleep(0)
        assert not dead_wait.done()
        assert limiter.give_back(holder=0, count=5) is False  # a dead worker cannot add slots
        assert limiter.give_back(holder=1, count=2) is False
        assert await limiter.lease(holder=1, wanted=9) == 2
        dead_wait.cancel()

    asyncio.run(scenario())


class InProcess:
    """The limiter as a worker sees the actor (``method.remote(...)`` gives something to await), here."""

    def __init__(self, limiter: ConnectionLimiter) -> None:
        self.lease = _Remote(limiter.lease)
        self.give_back = _Remote(limiter.give_back)


class _Remote:
    def __init__(self, method: Any) -> None:
        self._method = method

    def remote(self, *args: Any) -> asyncio.Future[Any]:
        outcome = self._method(*args)
        if asyncio.iscoroutine(outcome):
            return asyncio.ensure_future(outcome)
        done = asyncio.get_running_loop().create_future()
        done.set_result(outcome)
        return done


def test_a_busy_worker_cannot_keep_the_limit_from_another(monkeypatch: pytest.MonkeyPatch) -> None:
    """Worker A never stops asking (each slot is taken again the moment it is given back); worker B, asking
    later, still gets a slot: A hears that someone waits and hands each slot back as its request ends."""
    monkeypatch.setattr(ray_limits, "SLOT_CHECK_SECONDS", 0.05)

    async def scenario() -> None:
        limiter = InProcess(ConnectionLimiter(2))
        busy, late = LeasedSlots(limiter, holder=0), LeasedSlots(limiter, holder=1)
        in_use = peak = 0

        async def request(slots: LeasedSlots) -> None:
            nonlocal in_use, peak
            await slots.acquire()
            in_use += 1
            peak = max(peak, in_use)
            await asyncio.sleep(0.01)
            in_use -= 1
            slots.release()

        async def never_stop() -> None:
            while True:
                await request(busy)

        hogs = [asyncio.create_task(never_stop()) for _ in range(3)]
        await asyncio.sleep(0.2)  # A holds both slots and keeps them busy
        try:
            async with asyncio.timeout(HANG_GUARD):
                for _ in range(5):
                    await request(late)
        finally:
            for hog in hogs:
                hog.cancel()
            await asyncio.gather(*hogs, return_exceptions=True)
            await busy.close()
            await late.close()
        assert peak <= 2

    asyncio.run(scenario())
