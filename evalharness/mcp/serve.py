"""``evalharness mcp serve``: a task's tools served over MCP (stdio or streamable HTTP), so that another
agent or harness works against exactly the tools a run offers.

Calls go through ``execute_tool_call``, the function the agent loop calls: the same argument checks, error
messages and output limits as in a run. A τ task's database lives as long as the server (one trajectory per
server process), as it lives for one sample in a run.
"""

from __future__ import annotations

import contextlib
import socket
import sys
from collections.abc import AsyncIterator
from typing import Any, Literal

import mcp.types as mcp_types
from mcp.server.lowlevel import Server

from evalharness.adapters import RunServices
from evalharness.config import task_from_cli
from evalharness.errors import ConfigError
from evalharness.suggest import did_you_mean
from evalharness.tools import Tool, execute_tool_call
from evalharness.types import ToolCall


SERVABLE_TASKS = ("search", "tau")
Transport = Literal["stdio", "http"]


async def task_tools(task: str, options: dict[str, Any], task_id: str | None) -> list[Tool]:
    """The tools ``task`` offers the model, built by the task's own code with ``options`` (checked as
    ``--task`` checks them)."""
    from evalharness.runner import make_adapter

    if task not in SERVABLE_TASKS:
        raise ConfigError(f"--task: {task!r} cannot be served over MCP{did_you_mean(task, SERVABLE_TASKS)}; "
                          f"tasks that can: {', '.join(SERVABLE_TASKS)}")
    if (task == "tau") != (task_id is not None):
        raise ConfigError("--task-id goes with --task tau (and --task tau needs it)")
    adapter = make_adapter(task_from_cli(task, [], options).tasks[0])
    await adapter.setup(RunServices())
    if task == "search":
        from evalharness.adapters.search.tools import SearchTrace

        if not adapter.open_book:  # type: ignore[attr-defined]
            raise ConfigError("--condition closed-book has no tools to serve")
        return adapter.open_book_tools(SearchTrace())  # type: ignore[attr-defined, no-any-return]
    return _tau_tools(adapter, str(task_id))


def _tau_tools(adapter: Any, task_id: str) -> list[Tool]:
    from evalharness.adapters.tau.orchestrator import toolkit_tools

    tasks = {str(t["id"]): t for t in adapter.domain.tasks}
    if task_id not in tasks:
        raise ConfigError(f"--task-id: domain {adapter.domain.name!r} has no task {task_id!r}"
                          f"{did_you_mean(task_id, list(tasks))}")
    retrieval = adapter.retrieval.tools() if adapter.retrieval is not None else []
    return [*toolkit_tools(adapter.domain.new_toolkit(tasks[task_id]), "agent"), *retrieval]


def mcp_server(name: str, tools: list[Tool]) -> Server[Any, Any]:
    """An MCP server offering ``tools``; a call's failure is a tool error (``isError``), as in a run."""
    server: Server[Any, Any] = Server(name)
    by_name = {tool.name: tool for tool in tools}
    listed = [mcp_types.Tool(name=t.name, description=t.spec.description, inputSchema=t.spec.parameters)
              for t in tools]

    @server.list_tools()
    async def list_tools() -> list[mcp_types.Tool]:
        return listed

    @server.call_tool(validate_input=False)  # checked by execute_tool_call, with the messages a run gives
    async def call_tool(tool: str, arguments: dict[str, Any] | None) -> mcp_types.CallToolResult:
        call = ToolCall(id="mcp", name=tool, arguments=arguments or {})
        message, _ = await execute_tool_call(call, by_name)
        text = mcp_types.TextContent(type="text", text=message.content or "")
        return mcp_types.CallToolResult(content=[text], isError=message.is_error)

    return server


async def serve(server: Server[Any, Any], transport: Transport, host: str, port: int) -> None:
    if transport == "stdio":
        from mcp.server.stdio import stdio_server

        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())
        return
    await _serve_http(server, host, port)


async def _serve_http(server: Server[Any, Any], host: str, port: int) -> None:
    import uvicorn
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
    from starlette.applications import Starlette
    from starlette.routing import Route

    manager = StreamableHTTPSessionManager(app=server)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with manager.run():
            yield

    app = Starlette(routes=[Route("/mcp", endpoint=_Endpoint(manager))], lifespan=lifespan)
    listener = _listen(host, port)
    bound_host, bound_port = listener.getsockname()[:2]
    # the one line a caller reads to find the server (port 0 picks a free port)
    print(f"serving MCP on http://{bound_host}:{bound_port}/mcp", file=sys.stderr, flush=True)
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    await uvicorn.Server(config).serve(sockets=[listener])


class _Endpoint:
    """The session manager as an ASGI app (Starlette treats a plain function as a request handler instead)."""

    def __init__(self, manager: Any) -> None:
        self._manager = manager

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._manager.handle_request(scope, receive, send)


def _listen(host: str, port: int) -> socket.socket:
    try:
        listener = socket.create_server((host, port))
    except OSError as e:
        raise ConfigError(f"cannot serve on {host}:{port}: {e.strerror or e}") from None
    return listener
