"""The harness side of the in-sandbox server: JSON-line requests over a channel, with restarts.

A request that outlives its timeout plus a grace period means the server is stuck (a cell blocked in
C code ignores the interrupt); a closed channel means it died (out of memory, killed). Both are answered
by killing and restarting the server; the caller learns which happened and tells the model.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

SERVER_SOURCE = (Path(__file__).parent / "session_server.py").read_text()
SERVER_ARGV = ["python3", "-u", "-c", SERVER_SOURCE]
GRACE_SECONDS = 5.0


class SessionTimeout(Exception):
    """The server did not answer in time and was restarted."""


class SessionCrashed(Exception):
    """The server's channel closed mid-request; it will be restarted on the next request."""


class Channel(Protocol):
    """A running server process with its protocol stream."""

    async def send(self, data: bytes) -> None: ...

    async def receive_line(self) -> bytes:
        """The next protocol line; b"" when the server is gone."""
        ...

    async def kill(self) -> None: ...

    async def exit_description(self) -> str:
        """Why the server ended, for messages ("exit code 137: killed, e.g. out of memory")."""
        ...


def describe_exit(code: int | None) -> str:
    if code is None:
        return "it exited"
    if code in (137, -9):
        return f"exit code {code}: killed (SIGKILL) by the memory limit, or the code killed its own process"
    return f"exit code {code}"


class SessionClient:
    def __init__(self, spawn: Callable[[], Awaitable[Channel]], grace: float = GRACE_SECONDS) -> None:
        self._spawn = spawn
        self._grace = grace
        self._channel: Channel | None = None
        self._lock = asyncio.Lock()
        self._ids = itertools.count(1)
        self.restarts = 0

    async def start(self) -> None:
        """Start the server and check it answers."""
        await self.request({"op": "ping"}, timeout=30)

    async def request(self, payload: dict[str, Any], timeout: float | None) -> dict[str, Any]:
        async with self._lock:  # one request at a time: the server is sequential
            if self._channel is None:
                self._channel = await self._spawn()
            channel = self._channel
            request_id = next(self._ids)
            await channel.send(json.dumps({**payload, "id": request_id}).encode() + b"\n")
            limit = None if timeout is None else timeout + self._grace
            try:
                while True:
                    line = await asyncio.wait_for(channel.receive_line(), limit)
                    if not line:
                        self._channel = None
                        self.restarts += 1
                        raise SessionCrashed(await channel.exit_description())
                    response = json.loads(line)
                    if response.get("id") == request_id:
                        break
            except TimeoutError:
                self._channel = None
                self.restarts += 1
                await channel.kill()
                raise SessionTimeout() from None
            if "protocol_error" in response:
                raise RuntimeError(f"sandbox server: {response['protocol_error']}")
            return response

    async def restart(self) -> None:
        async with self._lock:
            if self._channel is not None:
                await self._channel.kill()
                self._channel = None

    async def close(self) -> None:
        await self.restart()
