"""`evalharness mcp serve`: a task's tools over MCP, driven by the official SDK's client, answer as the
tools of a run answer."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from evalharness.adapters import RunServices
from evalharness.adapters.search.tools import SearchTrace
from evalharness.adapters.tau.orchestrator import toolkit_tools
from evalharness.config import TaskSpec
from evalharness.mcp.toolbox import result_text
from evalharness.runner import make_adapter
from evalharness.tools import Tool, execute_tool_call
from evalharness.types import ToolCall
from tests.support.cli import ROOT, cli_env

SERVE = [sys.executable, "-m", "evalharness", "mcp", "serve"]
SEARCH_CALLS = [("search", {"query": "river that empties into a sea", "k": 3}),
                ("get_document", {"docid": "fw-00104"}),
                ("get_document", {"docid": "no-such-doc"}),
                ("search", {"query": ""})]


async def in_process(tools: list[Tool], name: str, arguments: dict[str, object]) -> tuple[str, bool]:
    message, _ = await execute_tool_call(ToolCall(id="c", name=name, arguments=arguments), {t.name: t for t in tools})
    return message.content or "", message.is_error


async def search_tools() -> list[Tool]:
    adapter = make_adapter(TaskSpec(task="search"))
    await adapter.setup(RunServices())
    return adapter.open_book_tools(SearchTrace())  # type: ignore[attr-defined, no-any-return]


async def test_search_served_over_stdio_answers_as_the_tools_of_a_run() -> None:
    tools = await search_tools()
    params = StdioServerParameters(command=SERVE[0], args=[*SERVE[1:], "--task", "search"], env=cli_env(), cwd=ROOT)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        listed = (await session.list_tools()).tools
        assert [t.name for t in listed] == ["search", "get_document"]
        assert [t.inputSchema for t in listed] == [t.spec.parameters for t in tools]
        for name, arguments in SEARCH_CALLS:
            served = await session.call_tool(name, arguments)
            assert (result_text(served), bool(served.isError)) == await in_process(tools, name, arguments)


@pytest.fixture
def http_search() -> Iterator[str]:
    process = subprocess.Popen([*SERVE, "--task", "search", "--transport", "http", "--port", "0"],
                               stderr=subprocess.PIPE, text=True, env=cli_env(), cwd=ROOT)
    try:
        assert process.stderr is not None
        line = process.stderr.readline()  # the server says where it listens once it does
        assert line.startswith("serving MCP on http://127.0.0.1:"), line
        yield line.split()[-1]
    finally:
        process.kill()
        process.wait()


async def test_search_served_over_streamable_http(http_search: str) -> None:
    tools = await search_tools()
    async with streamable_http_client(http_search) as (read, write, _), ClientSession(read, write) as session:
        await session.initialize()
        assert [t.name for t in (await session.list_tools()).tools] == ["search", "get_document"]
        name, arguments = SEARCH_CALLS[0]
        served = await session.call_tool(name, arguments)
        assert (result_text(served), bool(served.isError)) == await in_process(tools, name, arguments)


async def test_a_tau_task_served_over_stdio_offers_its_domains_agent_tools() -> None:
    adapter = make_adapter(TaskSpec(task="tau"))
    task = next(t for t in adapter.domain.tasks if str(t["id"]) == "lookup_1")  # type: ignore[attr-defined]
    tools = toolkit_tools(adapter.domain.new_toolkit(task), "agent")  # type: ignore[attr-defined]
    params = StdioServerParameters(command=SERVE[0], args=[*SERVE[1:], "--task", "tau", "--task-id", "lookup_1"],
                                   env=cli_env(), cwd=ROOT)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        listed = (await session.list_tools()).tools
        assert [t.name for t in listed] == [t.name for t in tools] and listed
        unknown = await session.call_tool("no_such_tool", {})
        assert unknown.isError and "there is no tool named 'no_such_tool'" in result_text(unknown)
