"""The harness side of the in-sandbox server: JSON-line requests over a channel, with restarts.

A request that outlives its timeout plus a grace period means the server is stuck (the server itself
replaces a stuck Python kernel sooner, so this is the backstop); a closed channel means it died (out of
memory, killed). Both are answered by killing and restarting the server; the caller learns which happened
and tells the model. A line longer than an honest server ever sends, or one that is not JSON, means the
server is broken: it is killed and the sample ends with a SandboxError, with memory bounded all along.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from evalharness.errors import SandboxError

log = logging.getLogger(__name__)

SERVER_SOURCE = (Path(__file__).parent / "session_server.py").read_text()
SERVER_ARGV = ["python3", "-u", "-c", SERVER_SOURCE]
GRACE_SECONDS = 10.0  # well past the server's own 2 s for a stuck cell, so that the server answers first


class SessionTimeout(Exception):
    """The server did not answer in time and was restarted."""


class SessionCrashed(Exception):
    """The server's channel closed mid-request; it will be restarted on the next request."""


class OversizedLine(Exception):
    """A channel met a protocol line longer than its bound; what was read of it is discarded."""


def max_line_bytes(max_output: int) -> int:
    """The longest line an honest server sends: at most three text fields of ``max_output`` characters
    (output, result, error; or stdout and stderr), each character at most 12 bytes of JSON (an astral
    character is escaped as two six-character \\u escapes), and a few small fields."""
    return 3 * 12 * max_output + 65536


class Channel(Protocol):
    """A running server process with its protocol stream."""

    async def send(self, data: bytes) -> None: ...

    async def receive_line(self) -> bytes:
        """The next protocol line; b"" when the server is gone; OversizedLine past the channel's bound."""
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
                    if not isinstance(response, dict):
                        raise ValueError(line[:100])
                    if response.get("id") == request_id:
                        break
            except TimeoutError:
                await self._discard(channel)
                raise SessionTimeout() from None
            except OversizedLine as e:
                await self._discard(channel)
                raise SandboxError(f"the sandbox server sent a protocol line over {e} bytes; "
                                   "it was killed") from None
            except ValueError:
                await self._discard(channel)
                raise SandboxError("the sandbox server sent a protocol line that is not JSON; "
                                   "it was killed") from None
            if "protocol_error" in response:
                raise RuntimeError(f"sandbox server: {response['protocol_error']}")
            return response

    async def _discard(self, channel: Channel) -> None:
        self._channel = None
        self.restarts += 1
        await channel.kill()

    async def restart(self) -> None:
        async with self._lock:
            if self._channel is not None:
                await self._channel.kill()
                self._channel = None

    async def close(self) -> None:
        await self.restart()
