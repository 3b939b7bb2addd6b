"""Tools from MCP servers, and the project's own tools served over MCP.

``spec`` (what a suite says about a server) needs no SDK; everything that starts or serves a server imports
the official ``mcp`` SDK, the ``mcp`` extra, and says how to install it when it is missing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from evalharness.errors import ConfigError
from evalharness.mcp.spec import McpServerSpec

if TYPE_CHECKING:
    from evalharness.adapters.base import TaskAdapter
    from evalharness.mcp.toolbox import ToolServers

INSTALL_HINT = "pip install 'evalharness[mcp]'"


def require_sdk(what: str) -> None:
    """Say in one line that ``what`` needs the SDK, when it is not installed."""
    try:
        import mcp  # noqa: F401
    except ImportError:
        raise ConfigError(f"{what} needs the MCP SDK, which is not installed: {INSTALL_HINT}") from None


def tool_servers(task: str, adapter: TaskAdapter, specs: Iterable[McpServerSpec]) -> ToolServers:
    """The MCP servers attached to ``task``, refused for a task whose episodes offer no extra tools."""
    if not adapter.takes_extra_tools:
        raise ConfigError(f"task {task}: task {adapter.name!r} runs conversations of its own and offers the "
                          "model no tools from MCP servers; remove its `mcp_servers`")
    require_sdk(f"task {task}: `mcp_servers`")
    from evalharness.mcp.toolbox import ToolServers

    return ToolServers(task, specs)
