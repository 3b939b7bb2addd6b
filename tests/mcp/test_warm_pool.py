"""Per-sample stdio servers started ahead of need: a sample takes a server that was started before it asked
and that no sample used, the next one starts while it runs, and every server is gone once it served."""

from __future__ import annotations

import asyncio
from pathlib import Path

from evalharness.mcp.toolbox import ToolServers
from evalharness.tools import Tool, execute_tool_call
from evalharness.types import ToolCall
from tests.mcp.support import START_GUARD_SECONDS, toy_spec


async def tool_output(tools: list[Tool], name: str) -> str:
    call = ToolCall(id="c1", name=name, arguments={})
    message, _ = await execute_tool_call(call, {t.name: t for t in tools})
    assert not message.is_error, message.content
    return message.content or ""


def started(pid_dir: Path) -> set[int]:
    return {int(path.name) for path in pid_dir.iterdir()}


async def a_new_server(pid_dir: Path, known: set[int]) -> int:
    """The pid of a server process started besides ``known`` (waits for it: a hang guard, not a limit)."""
    async with asyncio.timeout(START_GUARD_SECONDS):
        while not (new := started(pid_dir) - known):
            await asyncio.sleep(0.05)
    (pid,) = new
    return pid


def alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


async def test_each_sample_takes_a_fresh_server_started_before_it_asked(tmp_path: Path) -> None:
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    servers = ToolServers("t", [toy_spec("toy", "--pid-dir", str(pid_dir))])
    servers.start_ahead(1, samples=3)
    try:
        ahead = await a_new_server(pid_dir, set())  # started before any sample asked
        served: list[int] = []
        for sample in range(3):
            async with servers.for_sample(None) as tools:
                pid = int(await tool_output(tools, "pid"))
                assert pid == ahead  # the server started ahead, not one started for this sample
                assert await tool_output(tools, "count") == "1"  # and no sample used it before
                if sample < 2:  # the next sample's server starts while this one runs
                    ahead = await a_new_server(pid_dir, {*served, pid})
            served.append(pid)
            assert not alive(pid)  # a server serves one sample, then is closed
        assert started(pid_dir) == set(served) and len(served) == 3  # none started past the last sample
    finally:
        await servers.close()


async def test_closing_stops_the_servers_started_ahead(tmp_path: Path) -> None:
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    servers = ToolServers("t", [toy_spec("toy", "--pid-dir", str(pid_dir))])
    servers.start_ahead(2, samples=10)
    async with asyncio.timeout(START_GUARD_SECONDS):  # both start at once: wait for the two of them
        while len(spares := started(pid_dir)) < 2:
            await asyncio.sleep(0.05)
    await servers.close()
    assert spares == started(pid_dir) and not any(alive(pid) for pid in spares)
