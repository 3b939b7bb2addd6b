"""In-process workers: a fixed number of asyncio tasks, each taking the next pending sample."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from evalharness.executors.base import Dispatch

if TYPE_CHECKING:
    from evalharness.runner import WorkItem
    from evalharness.types import SampleResult


class LocalExecutor:
    name = "local"

    def __init__(self, run_sample: Callable[[WorkItem], Awaitable[SampleResult]]) -> None:
        self._run_sample = run_sample

    def describe(self) -> dict[str, Any]:
        return {"name": self.name}

    async def run(self, dispatch: Dispatch) -> None:
        workers = [asyncio.create_task(self._worker(dispatch))
                   for _ in range(min(dispatch.max_in_flight, len(dispatch.pending)))]
        try:
            # the first fatal error ends the session: the same failure awaits every other sample
            await asyncio.gather(*workers)
        finally:
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    async def _worker(self, dispatch: Dispatch) -> None:
        while dispatch.pending:
            item = dispatch.pending.popleft()
            dispatch.stats.running += 1
            try:
                await dispatch.record(await self._run_sample(item))
            finally:
                dispatch.stats.running -= 1
