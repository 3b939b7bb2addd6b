"""One running MCP server and the official SDK's client session to it.

The SDK's transports are anyio context managers that must be left by the task that entered them, so each
connection holds its transport and session open in a task of its own; tool calls from any sample's task go
through the session, which multiplexes them. A server that exits, stops answering or cannot be reached
raises ``ToolServerError``: the sample ends as ``tool_server_error``, and the connection is marked dead so
that whoever needs the server next starts a new one.

Over streamable HTTP the SDK drops an answer whose stream breaks off without a resumption point, and the call
would wait for its time limit: a response body that breaks off makes the connection ask the server for a
ping, and a server that does not answer it is gone, which ends the calls in flight at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from datetime import timedelta
from collections.abc import AsyncIterator, Callable
from typing import IO, Any

import httpx
import mcp.types as mcp_types
from mcp import ClientSession, McpError, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from evalharness.errors import ToolServerError
from evalharness.mcp.spec import McpServerSpec

log = logging.getLogger(__name__)

STDERR_TAIL_CHARS = 300  # of a dead server's stderr, quoted in the sample's error
CLOSE_SECONDS = 10.0  # what closing may take before the holding task is cancelled


class ServerConnection:
    """A started server: its tools as listed at start, and calls to them. ``argv_prefix`` runs a stdio
    server through another command (``docker exec -i CONTAINER``: inside a sandbox), ``cwd`` where it runs."""

    def __init__(self, spec: McpServerSpec, argv_prefix: list[str] | None = None,
                 cwd: str | None = None) -> None:
        self.spec = spec
        self._argv_prefix = argv_prefix or []
        self._cwd = cwd
        self._session: ClientSession | None = None
        self._holder: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self._stderr: IO[str] | None = None
        self._broken = asyncio.Event()  # the transport failed: calls in flight will never be answered
        self._failure = ""
        self._probes: set[asyncio.Task[None]] = set()
        self.tools: list[mcp_types.Tool] = []
        self.dead = False

    async def start(self) -> None:
        """Start the server, initialise the session and list its tools, within ``spec.start_timeout``.
        A command that cannot be run raises ``FileNotFoundError``/``PermissionError``; anything else that goes
        wrong raises ``ToolServerError``."""
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._holder = asyncio.create_task(self._hold(ready), name=f"mcp-server-{self.spec.name}")
        try:
            await asyncio.wait_for(asyncio.shield(ready), self.spec.start_timeout)
        except TimeoutError:
            await self.close()
            raise ToolServerError(f"{self.spec.describe()} did not start within {self.spec.start_timeout:g}s"
                                  f"{self._stderr_tail()}") from None
        except (OSError, ToolServerError):
            await self.close()
            raise
        except Exception as e:
            await self.close()
            raise ToolServerError(f"{self.spec.describe()} did not start: {_reason(e)}"
                                  f"{self._stderr_tail()}") from None
        except BaseException:  # cancelled: the half-started server must not outlive the start
            await self.close()
            raise

    async def _hold(self, ready: asyncio.Future[None]) -> None:
        try:
            async with contextlib.AsyncExitStack() as stack:
                read, write = await stack.enter_async_context(self._transport())
                session = await stack.enter_async_context(ClientSession(read, write,
                                                                        message_handler=self._on_message))
                await session.initialize()
                self.tools = await _list_tools(session)
                self._session = session
                ready.set_result(None)
                await self._closing.wait()
        except BaseException as e:  # noqa: BLE001 - reported to whoever waits for the start, or logged
            if not ready.done():
                ready.set_exception(e if isinstance(e, Exception) else ToolServerError(_reason(e)))
            elif not self._closing.is_set():
                log.debug("%s ended: %s", self.spec.describe(), _reason(e))
                self._failure = f"failed: {_reason(e)}"
                self._broken.set()
            if isinstance(e, asyncio.CancelledError):
                raise
        finally:
            self.dead = True
            self._session = None

    async def _on_message(self, message: Any) -> None:
        """The session hands over what it cannot route; an exception is the transport failing (a request the
        server no longer takes, a line that is not JSON-RPC), after which no call in flight is answered."""
        if isinstance(message, Exception):
            self._failure = f"failed: {_reason(message)}"
            self._broken.set()

    def _on_dropped(self, error: Exception) -> None:
        """A response from an HTTP server broke off: ask the server whether it is still there."""
        if self._closing.is_set() or self._session is None:
            return
        probe = asyncio.create_task(self._probe(_reason(error)), name=f"mcp-probe-{self.spec.name}")
        self._probes.add(probe)
        probe.add_done_callback(self._probes.discard)

    async def _probe(self, dropped: str) -> None:
        session = self._session
        if session is None:
            return
        try:
            await asyncio.wait_for(session.send_ping(), self.spec.start_timeout)
        except Exception as e:  # noqa: BLE001 - any failure to answer a ping is the server's absence
            if not self._closing.is_set():
                self._failure = f"dropped the connection ({dropped}) and does not answer ({_reason(e)})"
                self._broken.set()

    def _transport(self) -> contextlib.AbstractAsyncContextManager[tuple[Any, ...]]:
        spec = self.spec
        if spec.url is not None:
            return _http_transport(spec, self._on_dropped)
        self._stderr = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115
        argv = [*self._argv_prefix, spec.command or "", *spec.args]
        env = spec.resolved_env() if not self._argv_prefix else {}  # in a sandbox, env goes with the prefix
        params = StdioServerParameters(command=argv[0], args=argv[1:], env=env or None, cwd=self._cwd)
        return stdio_client(params, errlog=self._stderr)

    async def call(self, name: str, arguments: dict[str, Any]) -> mcp_types.CallToolResult:
        """Call tool ``name`` (the server's own name for it). A JSON-RPC error the server answers with is the
        call's failure and comes back as an error result; a server that is gone or silent raises."""
        session = self._session
        if session is None or self.dead:
            raise ToolServerError(f"{self.spec.describe()} is not running{self._stderr_tail()}")
        timeout = self.spec.call_timeout
        try:
            return await asyncio.wait_for(self._answer(session.call_tool(
                name, arguments, read_timeout_seconds=timedelta(seconds=timeout))), timeout + 5)
        except McpError as e:
            if e.error.code == mcp_types.CONNECTION_CLOSED or _timed_out(e):
                self.dead = True
                what = (f"did not answer a call to {name!r} within {timeout:g}s" if _timed_out(e)
                        else "closed the connection")
                raise ToolServerError(f"{self.spec.describe()} {what}{self._stderr_tail()}") from None
            text = mcp_types.TextContent(type="text", text=e.error.message)
            return mcp_types.CallToolResult(content=[text], isError=True)
        except TimeoutError:
            self.dead = True
            raise ToolServerError(f"{self.spec.describe()} did not answer a call to {name!r} "
                                  f"within {timeout:g}s") from None
        except (OSError, RuntimeError, ExceptionGroup) as e:  # the transport broke under the call
            self.dead = True
            raise ToolServerError(f"{self.spec.describe()} failed during a call to {name!r}: {_reason(e)}"
                                  f"{self._stderr_tail()}") from None

    async def _answer(self, call: Any) -> mcp_types.CallToolResult:
        """The call's result, or ``ToolServerError`` as soon as the transport fails under it."""
        answer = asyncio.ensure_future(call)
        broken = asyncio.ensure_future(self._broken.wait())
        try:
            await asyncio.wait({answer, broken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            broken.cancel()
        if answer.done():
            return answer.result()
        answer.cancel()
        self.dead = True
        raise ToolServerError(f"{self.spec.describe()} {self._failure}{self._stderr_tail()}")

    async def close(self) -> None:
        """Stop the server (stdio: stdin closed, then SIGTERM, then SIGKILL, as the SDK does). Idempotent."""
        self._closing.set()
        for probe in list(self._probes):
            probe.cancel()
        holder, self._holder = self._holder, None
        if holder is not None and not holder.done():
            try:
                await asyncio.wait_for(asyncio.shield(holder), CLOSE_SECONDS)
            except (TimeoutError, Exception):
                holder.cancel()
                with contextlib.suppress(BaseException):
                    await holder
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        self.dead = True

    def _stderr_tail(self) -> str:
        """The end of what a stdio server wrote to stderr, which usually says why it failed."""
        if self._stderr is None or self._stderr.closed:
            return ""
        with contextlib.suppress(OSError, ValueError):
            self._stderr.flush()
            self._stderr.seek(0)
            lines = [line.strip() for line in self._stderr.read().splitlines() if line.strip()]
            if lines:
                return f"; its stderr ends: {lines[-1][-STDERR_TAIL_CHARS:]}"
        return ""


async def _list_tools(session: ClientSession) -> list[mcp_types.Tool]:
    tools: list[mcp_types.Tool] = []
    cursor: str | None = None
    while True:
        page = await session.list_tools(cursor=cursor) if cursor else await session.list_tools()
        tools += page.tools
        cursor = page.nextCursor
        if not cursor:
            return tools


@contextlib.asynccontextmanager
async def _http_transport(spec: McpServerSpec, on_dropped: Callable[[Exception], None]
                          ) -> AsyncIterator[tuple[Any, Any]]:
    """Streamable HTTP with the spec's headers; a read waits as long as a call may take."""
    timeout = httpx.Timeout(spec.start_timeout, read=spec.call_timeout + 5)
    async with (httpx.AsyncClient(headers=spec.resolved_headers(), timeout=timeout, follow_redirects=True,
                                  transport=_WatchedTransport(on_dropped)) as http,
                streamable_http_client(spec.url or "", http_client=http) as streams):
        yield streams[0], streams[1]  # the third, a session-id getter, is not the session's


class _WatchedTransport(httpx.AsyncBaseTransport):
    """httpx's own transport, telling ``on_dropped`` when a response body breaks off (the SDK keeps that to
    itself when the stream cannot be resumed)."""

    def __init__(self, on_dropped: Callable[[Exception], None]) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._on_dropped = on_dropped

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        response.stream = _WatchedBody(response.stream, self._on_dropped)  # type: ignore[arg-type]
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class _WatchedBody(httpx.AsyncByteStream):
    def __init__(self, inner: Any, on_dropped: Callable[[Exception], None]) -> None:
        self._inner = inner
        self._on_dropped = on_dropped

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                yield chunk
        except httpx.TransportError as e:
            self._on_dropped(e)
            raise

    async def aclose(self) -> None:
        await self._inner.aclose()


def _timed_out(error: McpError) -> bool:
    return error.error.code == 408 or error.error.message.startswith("Timed out")


def _reason(error: BaseException) -> str:
    """The innermost useful message of an error (anyio wraps transport failures in exception groups)."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
