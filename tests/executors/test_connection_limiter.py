"""The cluster-wide connection limit's bookkeeping (the limiter actor's class, run here in one event loop):
slots leased in blocks never add up to more than the limit, a waiting worker is told so, and a dead worker's
slots come back."""

from __future__ import annotations

import asyncio

from evalharness.executors.ray_executor import ConnectionLimiter


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
