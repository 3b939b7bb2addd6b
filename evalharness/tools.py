"""Tools the model can call.

A tool never ends a run: bad arguments, unknown or missing names, oversized arguments and exceptions inside
the tool all come back to the model as an error message it can react to, and are logged on the episode.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from evalharness.errors import EvalHarnessError
from evalharness.types import Message, ToolCall, ToolCallRecord, ToolSpec

log = logging.getLogger(__name__)

MAX_TOOL_OUTPUT_CHARS = 64_000
TAIL_CHARS = 2_000
# The most characters a call's arguments (as JSON text) may have, for every tool. A larger call is refused
# before anything parses it: no tool needs that much, and parsing megabytes a model made up would stall the
# event loop every other sample runs on.
MAX_ARGUMENT_CHARS = 100_000


def oversize_reason(chars: int) -> str:
    """Why arguments of ``chars`` characters are refused; backends record it on a call they did not parse."""
    return f"{chars:,} characters, more than the {MAX_ARGUMENT_CHARS:,} a tool call may have"


@dataclass(slots=True)
class ToolResult:
    text: str
    is_error: bool = False


class ToolError(Exception):
    """Raised inside a tool for an error the model should read (no traceback is shown to it)."""


ToolFunction = Callable[..., Awaitable[ToolResult | str]]


@dataclass(slots=True)
class Tool:
    spec: ToolSpec
    fn: ToolFunction  # called with the arguments as keyword arguments
    # False: the arguments reach ``fn`` unchecked, for tools that must answer a bad call exactly as some
    # reference implementation does (τ²-bench's toolkits); ``fn`` then reports the problem itself
    check_arguments: bool = True
    server: str | None = None  # the MCP server that runs the tool; None: the task's own

    @property
    def name(self) -> str:
        return self.spec.name


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}


def validate_arguments(spec: ToolSpec, arguments: dict[str, Any]) -> str | None:
    """Check the top level of ``arguments`` against the tool's JSON schema; return a message or None.

    Only what models commonly get wrong is checked (missing, unknown and mistyped arguments); a tool
    that needs deeper checks does them itself and raises ToolError.
    """
    props: dict[str, Any] = spec.parameters.get("properties", {})
    missing = [k for k in spec.parameters.get("required", ()) if k not in arguments]
    if missing:
        return f"missing required argument(s): {', '.join(missing)}"
    if spec.parameters.get("additionalProperties") is False:
        unknown = [k for k in arguments if k not in props]
        if unknown:
            return f"unknown argument(s): {', '.join(unknown)}; expected: {', '.join(props) or 'none'}"
    for key, value in arguments.items():
        expected = props.get(key, {}).get("type")
        if expected is None:
            continue
        names = expected if isinstance(expected, list) else [expected]
        ok = any(
            isinstance(value, _JSON_TYPES.get(n, (object,)))
            and not (n in ("integer", "number") and isinstance(value, bool))
            for n in names
        )
        if not ok:
            return f"argument {key!r} must be of type {'/'.join(names)}, got {type(value).__name__}"
    return None


async def execute_tool_call(call: ToolCall, tools: dict[str, Tool]) -> tuple[Message, ToolCallRecord]:
    """Run one call and return the tool message for the model plus the log record."""
    start = time.perf_counter()
    result = await _run(call, tools)
    server = _server_of(call, tools)
    text = result.text
    if len(text) > MAX_TOOL_OUTPUT_CHARS:  # keep the end too: errors and truncation notes are there
        head, tail = text[: MAX_TOOL_OUTPUT_CHARS - TAIL_CHARS], text[-TAIL_CHARS:]
        text = f"{head}\n[... {len(text) - len(head) - len(tail):,} characters cut ...]\n{tail}"
    duration = time.perf_counter() - start
    message = Message(role="tool", content=text, tool_call_id=call.id, name=call.name, is_error=result.is_error,
                      server=server)
    record = ToolCallRecord(call.name, call.arguments, text, result.is_error, duration, server)
    return message, record


async def _run(call: ToolCall, tools: dict[str, Tool]) -> ToolResult:
    refusal = _refusal(call, tools)
    if refusal is not None:
        return ToolResult(refusal, is_error=True)
    tool = tools[call.name]
    try:
        out = await tool.fn(**call.arguments)
    except ToolError as e:
        return ToolResult(f"Error: {e}", is_error=True)
    except EvalHarnessError:  # the harness failed (e.g. a dead sandbox), not the model: the sample errors
        raise
    except Exception as e:  # a crashing tool is the model's problem to react to, not the run's
        log.debug("tool %s raised", call.name, exc_info=True)
        return ToolResult(f"Error: tool {call.name} failed: {type(e).__name__}: {e}", is_error=True)
    return out if isinstance(out, ToolResult) else ToolResult(str(out))


def _server_of(call: ToolCall, tools: dict[str, Tool]) -> str | None:
    """The MCP server of the called tool, which transcripts and tool logs name."""
    tool = tools.get(call.name) if isinstance(call.name, str) else None
    return tool.server if tool is not None else None


def _refusal(call: ToolCall, tools: dict[str, Tool]) -> str | None:
    """The error message for a call that must not reach its tool, or None when it may."""
    if not isinstance(call.name, str) or not call.name:
        return f"Error: your tool call does not name a tool. Available tools: {_available(tools)}."
    try:
        chars = _argument_chars(call)
    except orjson.JSONEncodeError as e:
        return f"Error: the arguments of your call to {call.name!r} cannot be read ({e})."
    if chars > MAX_ARGUMENT_CHARS:
        return (f"Error: the arguments of your call to {call.name!r} are too large and were not read "
                f"({oversize_reason(chars)}). Call the tool again with smaller arguments.")
    if call.parse_error is not None:
        return (f"Error: the arguments of your call to {call.name!r} are not a valid JSON object "
                f"({call.parse_error}). Call the tool again with a JSON object of arguments.")
    tool = tools.get(call.name)
    if tool is None:
        return f"Error: there is no tool named {call.name!r}. Available tools: {_available(tools)}."
    problem = validate_arguments(tool.spec, call.arguments) if tool.check_arguments else None
    return f"Error calling {call.name}: {problem}." if problem else None


def _available(tools: dict[str, Tool]) -> str:
    return ", ".join(sorted(tools)) or "none"


def _argument_chars(call: ToolCall) -> int:
    """The size of the arguments as the model sent them (their JSON text when only the parsed form is known)."""
    if call.raw_arguments is not None:
        return len(call.raw_arguments)
    return len(orjson.dumps(call.arguments))
