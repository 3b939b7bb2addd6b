"""``--max-connections`` across a Ray cluster: one limiter actor, and the slots each worker leases from it."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter, deque
from typing import Any

from ray.exceptions import RayError

from evalharness.models.base import CallContext, GenerateConfig, ModelBackend, WrappedBackend
from evalharness.types import Message, ModelOutput, ToolSpec

SLOT_CHECK_SECONDS = 0.5  # how often a worker hands back connection slots it leased and no longer uses


class ConnectionLimiter:
    """``--max-connections`` for the whole cluster. Workers lease slots in blocks and keep them while they use
    them (``LeasedSlots``), so that a request rarely costs a round trip to this actor; the slots leased never
    add up to more than the limit. Leases are counted per worker, so a worker that dies holding some (or
    waiting for some) gives them back instead of shrinking the cluster's limit for good."""

    def __init__(self, limit: int) -> None:
        self._free = limit
        self._waiting: deque[tuple[int, int, asyncio.Future[int]]] = deque()  # (holder, wanted, grant)
        self._held: Counter[int] = Counter()
        self._gone: set[int] = set()

    async def lease(self, holder: int, wanted: int) -> int:
        """Up to ``wanted`` slots, as soon as one is free (first come, first served)."""
        grant: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.append((holder, max(wanted, 1), grant))
        self._grant()
        return await grant

    def give_back(self, holder: int, count: int) -> bool:
        """Return ``count`` slots; says whether other workers are waiting for slots, in which case the holder
        returns each slot as it finishes with it instead of keeping it."""
        count = min(count, self._held[holder])
        self._held[holder] -= count
        self._free += count
        self._grant()
        return bool(self._waiting)

    def release_all(self, holder: int) -> None:
        self._gone.add(holder)
        self._free += self._held.pop(holder, 0)
        self._grant()

    def _grant(self) -> None:
        while self._free and self._waiting:
            holder, wanted, grant = self._waiting.popleft()
            if holder in self._gone or grant.done():
                continue
            count = min(wanted, self._free)
            self._free -= count
            self._held[holder] += count
            grant.set_result(count)


class LeasedSlots:
    """A worker's share of the cluster's connection limit. A request takes a slot this worker already leased
    when one is idle, else waits for a lease (one request to the limiter for every request waiting here).
    Every ``SLOT_CHECK_SECONDS`` the slots that stayed idle all that time go back (one call, which also tells
    whether other workers are waiting); while others wait, each slot goes back as soon as its request ends,
    so that no worker keeps the limit to itself."""

    def __init__(self, limiter: Any, holder: int) -> None:
        self._limiter = limiter
        self._holder = holder
        self._idle = 0
        self._idle_throughout = 0  # the fewest slots idle since the last check: those nothing here wanted
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._leasing: asyncio.Task[None] | None = None
        self._contended = False
        self._checker: asyncio.Task[None] | None = None

    async def acquire(self) -> None:
        if self._checker is None:
            self._checker = asyncio.create_task(self._check_idle())
        if self._idle and not self._waiters:
            self._idle -= 1
            self._idle_throughout = min(self._idle_throughout, self._idle)
            return
        slot: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(slot)
        if self._leasing is None or self._leasing.done():
            self._leasing = asyncio.create_task(self._lease())
        try:
            await slot
        except asyncio.CancelledError:
            if slot.done() and not slot.cancelled():
                self.release()  # granted as it was cancelled: the slot is still ours
            raise

    def release(self) -> None:
        """A request is done with its slot. While other workers wait for slots, it goes back to the limiter,
        which serves whoever asked first (this worker's own waiting requests too): a worker busy enough to
        reuse every slot it holds would otherwise keep the cluster's limit from the others for good."""
        if self._contended:
            self._limiter.give_back.remote(self._holder, 1)
        else:
            self._hand_over()

    def _hand_over(self) -> None:
        """A slot held here and used by no request: to the first request waiting here, else idle."""
        while self._waiters:
            slot = self._waiters.popleft()
            if not slot.done():
                slot.set_result(None)
                return
        self._idle += 1

    async def _lease(self) -> None:
        try:
            while any(not w.done() for w in self._waiters):
                granted = await self._limiter.lease.remote(self._holder, len(self._waiters))
                for _ in range(granted):
                    self._hand_over()
        except RayError as e:  # the limiter is gone: the requests waiting here fail, as their samples do
            while self._waiters:
                if not (slot := self._waiters.popleft()).done():
                    slot.set_exception(e)

    async def _check_idle(self) -> None:
        with contextlib.suppress(RayError):  # the limiter goes when the driver does: the run is over
            while True:
                await asyncio.sleep(SLOT_CHECK_SECONDS)
                unused = self._idle_throughout
                self._idle -= unused
                self._idle_throughout = self._idle
                self._contended = await self._limiter.give_back.remote(self._holder, unused)

    async def close(self) -> None:
        if self._checker is not None:
            self._checker.cancel()
            await asyncio.gather(self._checker, return_exceptions=True)


class ClusterLimitedBackend(WrappedBackend):
    """A worker's model client that holds a slot of the cluster's connection limit around each request."""

    def __init__(self, inner: ModelBackend, slots: LeasedSlots) -> None:
        super().__init__(inner)
        self._slots = slots

    async def generate(self, messages: list[Message], tools: list[ToolSpec], config: GenerateConfig,
                       context: CallContext | None = None) -> ModelOutput:
        await self._slots.acquire()
        try:
            return await self._inner.generate(messages, tools, config, context)
        finally:
            self._slots.release()
