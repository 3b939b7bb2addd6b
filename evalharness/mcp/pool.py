"""Per-sample stdio servers started ahead of need.

A Python server built on the SDK spends most of a second importing it; started when a sample asks for it,
that second is the sample's wait. A pool keeps a few servers of one spec started (process up, session
initialised, tools listed) before any sample asks, so a sample takes one that is ready and the pool starts
its replacement. State still never leaks: the pool holds only servers no sample has touched, a server serves
one sample and is closed after it.

Only stdio servers on the host are pooled. A sandboxed server needs its sample's own container, and a
streamable-HTTP "start" is a session handshake with a server that is already running, which an idle
session held ahead could see expire.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections import deque
from collections.abc import Awaitable, Callable

from evalharness.mcp.client import ServerConnection
from evalharness.mcp.spec import McpServerSpec

Starter = Callable[[McpServerSpec], Awaitable[ServerConnection]]


def poolable(spec: McpServerSpec) -> bool:
    """Whether servers of ``spec`` can be started before their sample is known."""
    return spec.lifecycle == "sample" and spec.transport == "stdio" and spec.sandbox is None


class ServerPool:
    """Up to ``ahead`` never-used servers of ``spec``, for the ``samples`` samples still to come: no more
    are started than samples remain to take them."""

    def __init__(self, spec: McpServerSpec, start: Starter, ahead: int, samples: int) -> None:
        self.spec = spec
        self._start = start
        self._ahead = ahead
        self._remaining = samples
        self._starting: deque[asyncio.Task[ServerConnection]] = deque()  # oldest first, started or not
        self._fill()

    def _fill(self) -> None:
        while len(self._starting) < min(self._ahead, self._remaining):
            # a context of its own: the server outlives the sample whose take started it (and its budget)
            task = asyncio.create_task(self._start(self.spec), name=f"mcp-spare-{self.spec.name}",
                                       context=contextvars.Context())
            self._starting.append(task)

    async def take(self) -> ServerConnection:
        """A started server no sample has used (the oldest started); its replacement starts now. A spare
        that died while it waited is replaced by a fresh start."""
        self._remaining = max(self._remaining - 1, 0)
        if not self._starting:
            return await self._start(self.spec)
        spare = self._starting.popleft()
        self._fill()
        connection = await spare
        if connection.dead:
            await connection.close()
            return await self._start(self.spec)
        return connection

    async def close(self) -> None:
        """Stop the spares, started or still starting."""
        spares, self._starting = list(self._starting), deque()
        self._remaining = 0
        for spare in spares:
            spare.cancel()
        for spare in spares:
            with contextlib.suppress(BaseException):
                connection = await spare
                await connection.close()
