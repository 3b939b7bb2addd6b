"""A task's MCP servers: checked before the run, started for each sample (or once, shared), and their tools
offered to the model as ``Tool``s next to the task's own.

The check before the run starts every server once, so that a command that does not exist, a URL that does
not answer, an allow-list naming a tool the server lacks and two tools offered under one name are each one
line (exit 2) instead of an error on every sample.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any

import mcp.types as mcp_types
import orjson

from evalharness.errors import ConfigError, ToolServerError
from evalharness.mcp.client import ServerConnection
from evalharness.mcp.pool import ServerPool, poolable
from evalharness.mcp.spec import TOOL_NAME, McpServerSpec
from evalharness.tools import Tool, ToolResult
from evalharness.types import ToolSpec

if TYPE_CHECKING:
    from evalharness.sandboxes.base import Sandbox
    from evalharness.sandboxes.manager import SandboxManager


class ToolServers:
    """The MCP servers attached to one task."""

    def __init__(self, task: str, specs: Iterable[McpServerSpec]) -> None:
        self.task = task
        self.specs = list(specs)
        self._shared: dict[str, ServerConnection] = {}
        self._shared_lock = asyncio.Lock()
        self._pools: dict[str, ServerPool] = {}

    def start_ahead(self, ahead: int, samples: int) -> None:
        """Keep up to ``ahead`` per-sample stdio servers of each spec started before their samples ask, for
        the ``samples`` samples still to run (a run passes ``--max-samples`` and its pending samples), so that
        a sample does not wait for a server's start. Call it from the event loop the samples run in."""
        for spec in self.specs:
            if poolable(spec) and spec.name not in self._pools and ahead > 0:
                self._pools[spec.name] = ServerPool(spec, _start_for_sample, ahead, samples)

    def sandbox_images(self) -> set[str]:
        return {spec.sandbox for spec in self.specs if spec.sandbox is not None}

    async def check(self, task_tools: set[str], sandboxes: SandboxManager | None) -> None:
        """Start every server once and check what the run will offer; a problem raises ``ConfigError``.
        Without ``sandboxes`` (the samples run on other machines) the servers that run in one are not started
        here: their samples start them where they run."""
        offered: dict[str, str] = {name: f"task {self.task}" for name in task_tools}
        try:
            await self._check_offered(offered, sandboxes)
        except BaseException:
            await self.close()
            raise

    async def _check_offered(self, offered: dict[str, str], sandboxes: SandboxManager | None) -> None:
        specs = [spec for spec in self.specs if sandboxes is not None or spec.sandbox is None]
        async with self._started(specs, sandboxes, checking=True) as connections:
            for connection in connections:
                for tool in _allowed(connection):
                    name = connection.spec.offered_name(tool.name)
                    owner = f"MCP server {connection.spec.name!r}"
                    if name in offered:
                        raise ConfigError(f"task {self.task}: tool {name!r} of {owner} clashes with the tool "
                                          f"of {offered[name]} of that name; give the server a `prefix` or "
                                          "a `tools` allow-list without it")
                    offered[name] = owner

    @contextlib.asynccontextmanager
    async def for_sample(self, sandboxes: SandboxManager | None) -> AsyncIterator[list[Tool]]:
        """The servers' tools for one sample: per-sample servers are started for it and stopped after it."""
        async with self._started(self.specs, sandboxes, checking=False) as connections:
            yield [tool for connection in connections for tool in tools_of(connection)]

    @contextlib.asynccontextmanager
    async def _started(self, specs: list[McpServerSpec], sandboxes: SandboxManager | None, checking: bool
                       ) -> AsyncIterator[list[ServerConnection]]:
        own = [spec for spec in specs if spec.lifecycle == "sample" or spec.sandbox is not None]
        async with contextlib.AsyncExitStack() as stack:
            box = await _sandbox_for(own, sandboxes, stack)
            started = await asyncio.gather(*(self._own_connection(spec, box, checking) for spec in own),
                                           return_exceptions=True)
            for connection in started:
                if isinstance(connection, ServerConnection):
                    stack.push_async_callback(connection.close)
            failure = next((c for c in started if isinstance(c, BaseException)), None)
            if failure is not None:
                raise failure
            shared = [await self._shared_connection(spec, checking) for spec in specs if spec not in own]
            by_spec = {id(c.spec): c for c in [*started, *shared] if isinstance(c, ServerConnection)}
            yield [by_spec[id(spec)] for spec in specs]

    async def _own_connection(self, spec: McpServerSpec, box: Sandbox | None,
                              checking: bool) -> ServerConnection:
        """A server for one sample (or the check) alone: a pooled one when servers of ``spec`` start ahead."""
        pool = None if checking else self._pools.get(spec.name)
        return await pool.take() if pool is not None else await _start(spec, box, checking)

    async def _shared_connection(self, spec: McpServerSpec, checking: bool) -> ServerConnection:
        """The run's one server of ``spec`` (``lifecycle: run``), started again when it died."""
        async with self._shared_lock:
            connection = self._shared.get(spec.name)
            if connection is None or connection.dead:
                if connection is not None:
                    await connection.close()
                connection = await _start(spec, None, checking)
                self._shared[spec.name] = connection
            return connection

    async def close(self) -> None:
        """Stop the shared servers and the spares started ahead; closing again is harmless."""
        pools, self._pools = list(self._pools.values()), {}
        await asyncio.gather(*(pool.close() for pool in pools))
        for connection in self._shared.values():
            await connection.close()
        self._shared.clear()


async def _sandbox_for(specs: list[McpServerSpec], sandboxes: SandboxManager | None,
                       stack: contextlib.AsyncExitStack) -> Sandbox | None:
    """One fresh sandbox for the sample's sandboxed servers (they share it, as they share the sample)."""
    images = sorted({spec.sandbox for spec in specs if spec.sandbox is not None})
    if not images:
        return None
    if len(images) > 1:
        raise ConfigError("MCP servers of one task run in one sandbox; they name the images "
                          f"{', '.join(images)}")
    if sandboxes is None:
        raise ConfigError("an MCP server runs in a sandbox, but the run has no sandboxes")
    return await stack.enter_async_context(sandboxes.sandbox(images[0]))


async def _start(spec: McpServerSpec, sandbox: Sandbox | None, checking: bool) -> ServerConnection:
    argv_prefix, cwd = _placement(spec, sandbox)
    connection = ServerConnection(spec, argv_prefix, cwd)
    try:
        await connection.start()
    except (FileNotFoundError, PermissionError) as e:
        raise ConfigError(f"{spec.describe()}: cannot run {spec.command!r}: {e.strerror}") from None
    except ToolServerError as e:
        if checking:
            raise ConfigError(str(e)) from None
        raise
    missing = sorted(set(spec.tools or ()) - {tool.name for tool in connection.tools})
    if missing:
        await connection.close()
        listed = ", ".join(sorted(tool.name for tool in connection.tools)) or "none"
        message = f"{spec.describe()} has no tool {', '.join(map(repr, missing))} (its tools: {listed})"
        raise ConfigError(message) if checking else ToolServerError(message)
    return connection


async def _start_for_sample(spec: McpServerSpec) -> ServerConnection:
    return await _start(spec, None, checking=False)


def _placement(spec: McpServerSpec, sandbox: Sandbox | None) -> tuple[list[str] | None, str | None]:
    """How a stdio server is started: in a Docker sandbox through ``docker exec -i``, in a local sandbox's
    directory (local sandboxes isolate nothing), or on the host."""
    if spec.sandbox is None or sandbox is None:
        return None, None
    container = getattr(sandbox, "id", None)
    if container is None:
        return None, sandbox.workdir
    docker = shutil.which("docker")
    if docker is None:
        raise ConfigError(f"{spec.describe()} runs in a Docker sandbox, which needs the `docker` command "
                          "on PATH")
    env = [part for key, value in spec.resolved_env().items() for part in ("-e", f"{key}={value}")]
    return [docker, "exec", "-i", *env, container], None


def _allowed(connection: ServerConnection) -> list[mcp_types.Tool]:
    allowed = connection.spec.tools
    return [tool for tool in connection.tools if allowed is None or tool.name in allowed]


def tools_of(connection: ServerConnection) -> list[Tool]:
    """The server's allowed tools as the model is offered them."""
    spec = connection.spec
    tools = []
    for tool in _allowed(connection):
        name = spec.offered_name(tool.name)
        if not TOOL_NAME.match(name):
            raise ToolServerError(f"{spec.describe()} offers a tool named {name!r}, which models cannot call "
                                  "(letters, digits, _ and - only, at most 64)")
        tools.append(Tool(ToolSpec(name, tool.description or "", dict(tool.inputSchema)),
                          _caller(connection, tool.name), server=spec.name))
    return tools


def _caller(connection: ServerConnection, tool: str) -> Any:
    async def call(**arguments: Any) -> ToolResult:
        result = await connection.call(tool, arguments)
        return ToolResult(result_text(result), is_error=bool(result.isError))

    return call


def result_text(result: mcp_types.CallToolResult) -> str:
    """What the model reads of a result: its text blocks; other blocks are named, not inlined; structured
    content as JSON when there is nothing else."""
    parts = [_block_text(block) for block in result.content]
    if not parts and result.structuredContent is not None:
        parts.append(orjson.dumps(result.structuredContent).decode())
    return "\n".join(parts)


def _block_text(block: Any) -> str:
    if isinstance(block, mcp_types.TextContent):
        return block.text
    if isinstance(block, mcp_types.ImageContent | mcp_types.AudioContent):
        return f"[{block.type} {block.mimeType}, {len(block.data) * 3 // 4:,} bytes, not shown]"
    if isinstance(block, mcp_types.EmbeddedResource):
        resource = block.resource
        if isinstance(resource, mcp_types.TextResourceContents):
            return resource.text
        return f"[resource {resource.uri}, {resource.mimeType or 'binary'}, not shown]"
    if isinstance(block, mcp_types.ResourceLink):
        return f"[resource link {block.uri}]"
    return f"[{getattr(block, 'type', 'content')} not shown]"
