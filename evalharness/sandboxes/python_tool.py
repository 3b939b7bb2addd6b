"""The ``python`` tool adapters give models: code runs in the sample's sandbox, never in the harness.

``stateful`` keeps one Python namespace across calls (like notebook cells; the last expression's value
is shown); ``stateless`` runs each call as a fresh ``python3`` process.
"""

from __future__ import annotations

from typing import Literal

from evalharness.sandboxes.base import Sandbox
from evalharness.tools import Tool, ToolResult
from evalharness.types import ToolSpec

PythonToolMode = Literal["stateful", "stateless"]

_DESCRIPTIONS = {
    "stateful": (
        "Run Python code in a persistent session: variables, imports and functions stay defined between "
        "calls, like notebook cells. Printed output is returned, and the value of the last expression is "
        "shown. numpy, pandas, sympy, scipy and openpyxl are installed. No network access."
    ),
    "stateless": (
        "Run a Python program in a fresh python3 process and return its stdout and stderr. Nothing is kept "
        "between calls: print what you need. numpy, pandas, sympy, scipy and openpyxl are installed. "
        "No network access."
    ),
}


def python_tool(sandbox: Sandbox, mode: PythonToolMode = "stateful", timeout: float | None = None) -> Tool:
    async def run_stateful(code: str) -> ToolResult:
        result = await sandbox.python(code, timeout)
        return ToolResult(result.to_text(), is_error=result.error is not None)

    async def run_stateless(code: str) -> ToolResult:
        result = await sandbox.exec(["python3", "-"], input=code, timeout=timeout)
        parts = [p.rstrip("\n") for p in (result.stdout, result.stderr) if p]
        if result.stdout_truncated or result.stderr_truncated:
            parts.append("[output truncated]")
        if result.timed_out:
            parts.append(f"[killed: ran longer than {timeout or sandbox.limits.timeout:g}s]")
        elif result.exit_code != 0:
            parts.append(f"[exit code {result.exit_code}]")
        return ToolResult("\n".join(parts) or "(no output)", is_error=result.exit_code != 0)

    spec = ToolSpec(
        name="python",
        description=_DESCRIPTIONS[mode],
        parameters={
            "type": "object",
            "properties": {"code": {"type": "string", "description": "Python source code to run"}},
            "required": ["code"],
            "additionalProperties": False,
        },
    )
    return Tool(spec, run_stateful if mode == "stateful" else run_stateless)
