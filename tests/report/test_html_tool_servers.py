"""The HTML report's transcript viewer names the MCP server of a tool call, of its result and of its
tool-log entry."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from evalharness.report.html import write_report
from evalharness.types import Message, ToolCall, ToolCallRecord
from tests.report.chromium import open_page
from tests.report.simulate import result, write_run


def test_the_transcript_names_the_server_of_an_mcp_tool_call(tmp_path: Path) -> None:
    sample = result("math", "s0", 1.0)
    sample.episode.messages[1:3] = [
        Message("assistant", None, [ToolCall("c1", "kb_lookup", {"q": "x"})]),
        Message("tool", "42", tool_call_id="c1", name="kb_lookup", server="kb"),
    ]
    sample.episode.tool_log = [ToolCallRecord("kb_lookup", {"q": "x"}, "42", False, 0.01, server="kb")]
    out = tmp_path / "report.html"
    write_report([write_run(tmp_path, [sample, result("math", "s1", 0.0)])], out)
    page = open_page(out, f"#domain=math&sample={quote('math/s0')}")
    assert page.console == [], page.console
    assert page.attr("detail-rendered") == "math/s0"
    assert "tool call → kb_lookup (MCP server kb)" in page.dom
    assert "tool · kb_lookup · MCP server kb" in page.dom
    assert "tool log: kb/kb_lookup 0.01s" in page.dom
