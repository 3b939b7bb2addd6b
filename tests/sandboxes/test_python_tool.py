"""The `python` tool as a model calls it: through execute_tool_call with a ToolCall, into a real sandbox."""

from __future__ import annotations

from evalharness.sandboxes.base import Sandbox
from evalharness.sandboxes.python_tool import python_tool
from evalharness.tools import Tool, execute_tool_call
from evalharness.types import ToolCall
from tests.sandboxes.support import OpenSandbox


async def call(tool: Tool, code: str, n: int = 0) -> tuple[str, bool]:
    tool_call = ToolCall(f"call_{n}", "python", {"code": code})
    message, record = await execute_tool_call(tool_call, {"python": tool})
    assert message.role == "tool" and message.tool_call_id == f"call_{n}" and message.name == "python"
    assert (record.output, record.is_error) == (message.content, message.is_error)
    return message.content, message.is_error


async def test_stateful_tool_keeps_state_and_flags_errors(sandbox: Sandbox) -> None:
    tool = python_tool(sandbox, "stateful")
    assert tool.name == "python" and "persistent session" in tool.spec.description
    assert await call(tool, "total = 40") == ("(no output)", False)
    assert await call(tool, "print('adding')\ntotal + 2", 1) == ("adding\n42", False)
    text, is_error = await call(tool, "total / 0", 2)
    assert is_error
    assert text.startswith("Traceback (most recent call last):") and text.endswith("division by zero")
    assert await call(tool, "total", 3) == ("40", False)  # the error did not cost the session
    text, is_error = await call(tool, "print('x' * 5_000_000)", 4)
    assert not is_error
    assert text.startswith("xxxx") and "[output truncated" in text and len(text) < 100_000
    # a timeout is an error too, and the session goes on
    quick = python_tool(sandbox, "stateful", timeout=1)
    text, is_error = await call(quick, "while True:\n    pass", 5)
    assert is_error and "TimeoutError" in text
    assert await call(quick, "total", 6) == ("40", False)


async def test_stateless_tool_forgets_and_flags_nonzero_exit(sandbox: Sandbox) -> None:
    tool = python_tool(sandbox, "stateless")
    assert tool.name == "python" and "fresh python3 process" in tool.spec.description
    assert await call(tool, "total = 40") == ("(no output)", False)
    text, is_error = await call(tool, "print(total)", 1)  # a fresh process every call
    assert is_error
    assert "NameError" in text and text.endswith("[exit code 1]")
    both = await call(tool, "import sys\nprint('hi')\nprint('warn', file=sys.stderr)", 2)
    assert both == ("hi\nwarn", False)
    text, is_error = await call(tool, "import sys\nprint('partial')\nsys.exit(3)", 3)
    assert is_error and text == "partial\n[exit code 3]"
    assert await call(tool, "40 + 2", 4) == ("(no output)", False)  # no notebook-style result display
    quick = python_tool(sandbox, "stateless", timeout=1)
    text, is_error = await call(quick, "print('started', flush=True)\nwhile True:\n    pass", 5)
    assert is_error
    assert text == "started\n[killed: ran longer than 1s]"


async def test_bad_arguments_never_reach_the_sandbox(open_sandbox: OpenSandbox) -> None:
    box = await open_sandbox("local")
    tool = python_tool(box)
    message, _ = await execute_tool_call(ToolCall("c", "python", {"source": "1"}), {"python": tool})
    assert message.is_error and "missing required argument(s): code" in message.content
    message, _ = await execute_tool_call(ToolCall("c", "python", {"code": 12}), {"python": tool})
    assert message.is_error and "must be of type string" in message.content
    message, _ = await execute_tool_call(ToolCall("c", "python", {"code": "1", "x": 2}), {"python": tool})
    assert message.is_error and "unknown argument(s): x" in message.content
    # nothing ran: the session has not executed a single cell yet
    assert (await box.python("import sys\n'ran'")).error is None
    assert box.session.restarts == 0
