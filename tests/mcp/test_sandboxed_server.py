"""A stdio MCP server inside the sample's Docker sandbox (real engine): its side effects stay in the
container, which goes with the sample. The server speaks MCP with the standard library alone, as a server
in an image without the SDK must."""

from __future__ import annotations

from pathlib import Path

from evalharness.mcp.spec import McpServerSpec
from evalharness.mcp.toolbox import ToolServers
from evalharness.sandboxes.base import SandboxLimits
from evalharness.sandboxes.manager import SandboxManager
from evalharness.tools import execute_tool_call
from evalharness.types import ToolCall
from tests.mcp.support import STDLIB_SERVER


async def test_a_stdio_server_runs_inside_a_docker_sandbox(tmp_path: Path) -> None:
    spec = McpServerSpec(name="inside", command="python3", args=["-c", STDLIB_SERVER.read_text()], sandbox="python")
    servers = ToolServers("t", [spec])
    manager = SandboxManager("docker", SandboxLimits(), max_sandboxes=1)
    await manager.prepare(servers.sandbox_images())
    try:
        await servers.check(set(), manager)
        async with servers.for_sample(manager) as tools:
            (tool,) = tools
            message, record = await execute_tool_call(
                ToolCall(id="c", name="where", arguments={"name": "left-behind.txt"}), {tool.name: tool})
    finally:
        await servers.close()
        await manager.close()
    assert not message.is_error and record.server == "inside"
    assert message.content == "cwd=/work container=True wrote=/work/left-behind.txt"
    assert not Path("/work/left-behind.txt").exists()
