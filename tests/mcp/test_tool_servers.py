"""MCP servers' tools through the SDK client, over stdio and streamable HTTP: listed, called, tool errors
returned to the model, crashes and hangs ending the sample as a tool server's failure."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from evalharness.errors import ToolServerError
from evalharness.mcp.spec import McpServerSpec
from evalharness.mcp.toolbox import ToolServers
from evalharness.tools import Tool, execute_tool_call
from evalharness.types import ToolCall
from tests.mcp.support import START_GUARD_SECONDS, http_toy, toy_spec


@pytest.fixture(params=["stdio", "http"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@contextlib.contextmanager
def toy(transport: str, **fields: object) -> Iterator[McpServerSpec]:
    """The toy server's spec on ``transport`` (the HTTP one running for the ``with`` block)."""
    if transport == "stdio":
        yield toy_spec(**fields)
        return
    with http_toy() as url:
        yield McpServerSpec(name="toy", url=url, **fields)


async def call(tools: list[Tool], name: str, **arguments: object):  # type: ignore[no-untyped-def]
    return await execute_tool_call(ToolCall(id="c1", name=name, arguments=arguments), {t.name: t for t in tools})


async def test_tools_are_listed_and_called_with_the_server_named(transport: str) -> None:
    with toy(transport, prefix="toy_") as spec:
        servers = ToolServers("calc", [spec])
        async with servers.for_sample(None) as tools:
            assert {t.name for t in tools} == {"toy_evaluate", "toy_fail", "toy_crash", "toy_hang",
                                             "toy_count", "toy_pid"}
            schema = next(t for t in tools if t.name == "toy_evaluate").spec.parameters
            assert schema["properties"]["expression"]["type"] == "string"
            message, record = await call(tools, "toy_evaluate", expression="(1 + 2) * 3")
    assert (message.content, message.is_error, message.server) == ("9", False, "toy")
    assert (record.name, record.server, record.label, record.is_error) == ("toy_evaluate", "toy", "toy/toy_evaluate", False)
    assert record.to_dict()["server"] == "toy" and message.to_dict()["server"] == "toy"


async def test_a_tool_error_goes_back_to_the_model_as_a_tool_error(transport: str) -> None:
    with toy(transport) as spec:
        async with ToolServers("calc", [spec]).for_sample(None) as tools:
            message, record = await call(tools, "fail", message="the disk is full")
            bad_arguments, _ = await call(tools, "evaluate", expression=7)
    assert message.is_error and record.is_error and "the disk is full" in (message.content or "")
    assert bad_arguments.is_error and "must be of type string" in (bad_arguments.content or "")


async def test_an_allow_list_offers_only_the_tools_it_names(transport: str) -> None:
    with toy(transport, tools=["evaluate", "count"]) as spec:
        async with ToolServers("calc", [spec]).for_sample(None) as tools:
            assert sorted(t.name for t in tools) == ["count", "evaluate"]


async def test_a_server_that_dies_during_a_call_raises_a_tool_server_error(transport: str) -> None:
    # a call may take an hour: only noticing the server's death, not the call's time limit, ends it in time
    with toy(transport, call_timeout=3600.0) as spec:
        async with ToolServers("calc", [spec]).for_sample(None) as tools:
            with pytest.raises(ToolServerError, match="MCP server 'toy'") as crashed:
                async with asyncio.timeout(START_GUARD_SECONDS):  # a hang guard
                    await call(tools, "crash")
            with pytest.raises(ToolServerError):  # the next call on the dead server too
                await call(tools, "count")
    if transport == "stdio":
        assert "crashing on purpose" in str(crashed.value)  # the server's own last words


async def test_a_server_that_hangs_raises_a_tool_server_error(transport: str) -> None:
    with toy(transport, call_timeout=10.0) as spec:  # a hang guard wide enough for a busy machine
        async with ToolServers("calc", [spec]).for_sample(None) as tools:
            with pytest.raises(ToolServerError, match="did not answer a call to 'hang' within 10s"):
                await call(tools, "hang")


async def test_per_sample_servers_start_fresh_and_a_shared_one_keeps_its_state() -> None:
    fresh, shared = ToolServers("t", [toy_spec()]), ToolServers("t", [toy_spec(lifecycle="run")])
    try:
        counts = {}
        for name, servers in (("fresh", fresh), ("shared", shared)):
            counts[name] = []
            for _ in range(3):
                async with servers.for_sample(None) as tools:
                    counts[name].append((await call(tools, "count"))[0].content)
        assert counts == {"fresh": ["1", "1", "1"], "shared": ["1", "2", "3"]}
    finally:
        await shared.close()


async def test_a_shared_server_that_died_is_started_again_for_the_next_sample(tmp_path: Path) -> None:
    servers = ToolServers("t", [toy_spec("toy", "--marker", str(tmp_path / "tripped"), lifecycle="run")])
    try:
        async with servers.for_sample(None) as tools:
            with pytest.raises(ToolServerError):
                await call(tools, "evaluate", expression="1 + 1")
        async with servers.for_sample(None) as tools:
            assert (await call(tools, "evaluate", expression="1 + 1"))[0].content == "2"
    finally:
        await servers.close()
