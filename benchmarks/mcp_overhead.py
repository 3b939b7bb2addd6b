"""Measure what an MCP tool costs the harness: one call over stdio, and a server's start for each sample.

Why: a run offers an MCP server's tools next to the task's own and, by default, starts a fresh server for
every sample so that no state leaks between samples. A call must cost next to nothing beside a model call
(target: at most 2 ms at the median, the tool's own work left out), and a server's start must not dominate a
short sample (target: at most 300 ms for a Python stdio server, as the sample sees it).

How: the path a run takes (``ToolServers`` → the SDK's client session → a server process over stdio →
``execute_tool_call``'s checks and logging) with a tool that does nothing but echo its argument. A call's
overhead is its time minus the same echo called in process through the same ``execute_tool_call``. A
sample's wait for its server is timed from asking for its tools to having them, for three Python servers:
the SDK's low-level ``Server``, the SDK's ``FastMCP`` (which imports a web stack it does not need over stdio)
and one written with the standard library alone. Twice: cold (each server started when its sample asks: the
start itself, process up, session initialised, tools listed), and as a run sees it, with servers started
ahead (``--concurrency`` samples at once, as ``--max-samples``, each holding its server for
``--sample-seconds``, standing in for its model calls).

Run by hand:  python benchmarks/mcp_overhead.py [--calls N] [--starts N] [--concurrency N]
              [--sample-seconds S]
Exit status: 0 both targets met (starts: the low-level server's, started ahead), 1 one is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time

from evalharness.mcp.spec import McpServerSpec
from evalharness.mcp.toolbox import ToolServers
from evalharness.tools import Tool, ToolResult, execute_tool_call
from evalharness.types import ToolCall, ToolSpec

TARGET_CALL_MS = 2.0
TARGET_START_MS = 300.0
ECHO_SCHEMA = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}

LOWLEVEL_SERVER = f"""
import anyio, mcp.types as t
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
server = Server("echo")
@server.list_tools()
async def tools():
    return [t.Tool(name="echo", description="echo", inputSchema={ECHO_SCHEMA!r})]
@server.call_tool(validate_input=False)
async def call(name, arguments):
    return [t.TextContent(type="text", text=arguments["text"])]
async def main():
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())
anyio.run(main)
"""

FASTMCP_SERVER = """
from mcp.server.fastmcp import FastMCP
server = FastMCP("echo")
@server.tool()
def echo(text: str) -> str:
    return text
server.run("stdio")
"""

STDLIB_SERVER = f"""
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    if "id" not in r: continue
    m, p = r["method"], r.get("params") or {{}}
    if m == "initialize":
        res = {{"protocolVersion": p["protocolVersion"], "capabilities": {{"tools": {{}}}},
               "serverInfo": {{"name": "echo", "version": "1"}}}}
    elif m == "tools/list":
        res = {{"tools": [{{"name": "echo", "description": "echo", "inputSchema": {ECHO_SCHEMA!r}}}]}}
    elif m == "tools/call":
        res = {{"content": [{{"type": "text", "text": p["arguments"]["text"]}}]}}
    else:
        res = {{}}
    print(json.dumps({{"jsonrpc": "2.0", "id": r["id"], "result": res}}), flush=True)
"""

SERVERS = {"sdk low-level": LOWLEVEL_SERVER, "sdk FastMCP": FASTMCP_SERVER, "standard library": STDLIB_SERVER}


def spec(source: str) -> McpServerSpec:
    return McpServerSpec(name="echo", command=sys.executable, args=["-c", source])


async def call_ms(tools: dict[str, Tool], calls: int) -> list[float]:
    timings = []
    for i in range(calls):
        start = time.perf_counter()
        call = ToolCall(id=str(i), name="echo", arguments={"text": f"x{i}"})
        message, _ = await execute_tool_call(call, tools)
        timings.append((time.perf_counter() - start) * 1000)
        if message.is_error or message.content != f"x{i}":
            raise SystemExit(f"the echo tool answered {message.content!r}")
    return timings


async def in_process_ms(calls: int) -> list[float]:
    async def echo(text: str) -> ToolResult:
        return ToolResult(text)

    return await call_ms({"echo": Tool(ToolSpec("echo", "echo", ECHO_SCHEMA), echo)}, calls)


async def stdio_call_ms(calls: int) -> list[float]:
    async with ToolServers("bench", [spec(LOWLEVEL_SERVER)]).for_sample(None) as tools:
        by_name = {t.name: t for t in tools}
        await call_ms(by_name, 20)  # warm-up: first calls pay for imports and caches
        return await call_ms(by_name, calls)


async def cold_start_ms(source: str, starts: int) -> list[float]:
    return await sample_waits_ms(ToolServers("bench", [spec(source)]), starts, 1, 0.0)


async def warm_start_ms(source: str, starts: int, concurrency: int, sample_seconds: float) -> list[float]:
    servers = ToolServers("bench", [spec(source)])
    servers.start_ahead(concurrency, starts)
    try:
        return await sample_waits_ms(servers, starts, concurrency, sample_seconds)
    finally:
        await servers.close()


async def sample_waits_ms(servers: ToolServers, starts: int, concurrency: int,
                          sample_seconds: float) -> list[float]:
    """What each of ``starts`` samples waits for its server, ``concurrency`` at a time."""
    timings: list[float] = []

    async def worker(samples: int) -> None:
        for _ in range(samples):
            start = time.perf_counter()
            async with servers.for_sample(None) as tools:
                timings.append((time.perf_counter() - start) * 1000)
                assert [t.name for t in tools] == ["echo"]
                await asyncio.sleep(sample_seconds)

    share, extra = divmod(starts, concurrency)
    await asyncio.gather(*(worker(share + (i < extra)) for i in range(concurrency)))
    return timings


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


async def main(calls: int, starts: int, concurrency: int, sample_seconds: float) -> int:
    local = statistics.median(await in_process_ms(calls))
    remote = await stdio_call_ms(calls)
    overhead = [t - local for t in remote]
    p50 = statistics.median(overhead)
    print(f"one MCP tool call over stdio ({calls} calls, sdk low-level server, in-process call of "
          f"{local:.3f} ms taken off):")
    print(f"  overhead p50 {p50:.2f} ms, p90 {percentile(overhead, 90):.2f} ms "
          f"(target p50 <= {TARGET_CALL_MS:g} ms)")
    print(f"a sample's wait for its server ({starts} samples each; cold: started when the sample asks; "
          f"ahead: {concurrency} samples at once, {sample_seconds:g} s each):")
    warm_p50 = {}
    for name, source in SERVERS.items():
        cold = await cold_start_ms(source, starts)
        warm = await warm_start_ms(source, starts, concurrency, sample_seconds)
        warm_p50[name] = statistics.median(warm)
        print(f"  {name:17} cold p50 {statistics.median(cold):7.1f} ms, max {max(cold):7.1f} ms;"
              f"  ahead p50 {warm_p50[name]:7.1f} ms, max {max(warm):7.1f} ms")
    print(f"  (target p50 <= {TARGET_START_MS:g} ms for a Python stdio server)")
    met = p50 <= TARGET_CALL_MS and warm_p50["sdk low-level"] <= TARGET_START_MS
    print("targets met" if met else "a target is missed")
    return 0 if met else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--sample-seconds", type=float, default=2.0)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.calls, args.starts, args.concurrency, args.sample_seconds)))
