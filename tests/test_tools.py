"""Argument validation and tool execution: every failure comes back as a tool error message."""

from __future__ import annotations

import pytest

from evalharness.tools import (
    MAX_ARGUMENT_CHARS,
    MAX_TOOL_OUTPUT_CHARS,
    TAIL_CHARS,
    Tool,
    ToolError,
    ToolResult,
    execute_tool_call,
    validate_arguments,
)
from evalharness.types import ToolCall, ToolSpec

STRICT = ToolSpec(
    name="lookup",
    description="look something up",
    parameters={
        "type": "object",
        "properties": {
            "query": {"type": "string"},
            "limit": {"type": "integer"},
            "ratio": {"type": "number"},
            "exact": {"type": "boolean"},
            "tags": {"type": "array"},
            "maybe": {"type": ["string", "null"]},
        },
        "required": ["query"],
        "additionalProperties": False,
    },
)

LOOSE = ToolSpec(
    name="loose",
    description="accepts anything extra",
    parameters={"type": "object", "properties": {"a": {"type": "integer"}}, "required": []},
)


# --- validate_arguments -------------------------------------------------------------------------------


def test_valid_arguments_pass() -> None:
    args = {"query": "x", "limit": 3, "ratio": 0.5, "exact": True, "tags": ["a"], "maybe": None}
    assert validate_arguments(STRICT, args) is None
    assert validate_arguments(STRICT, {"query": "x", "ratio": 2}) is None  # an int is a number
    assert validate_arguments(STRICT, {"query": "x", "maybe": "s"}) is None


def test_missing_required_argument() -> None:
    problem = validate_arguments(STRICT, {"limit": 3})
    assert problem is not None
    assert "missing required" in problem and "query" in problem


def test_unknown_argument_rejected_when_additional_properties_false() -> None:
    problem = validate_arguments(STRICT, {"query": "x", "qeury": "y"})
    assert problem is not None
    assert "unknown argument" in problem and "qeury" in problem
    # the message lists what the tool does accept
    assert "query" in problem.split("expected:")[1] and "limit" in problem.split("expected:")[1]


def test_unknown_argument_allowed_without_additional_properties_false() -> None:
    assert validate_arguments(LOOSE, {"a": 1, "whatever": object()}) is None


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("query", 5, "string"),
        ("limit", "3", "integer"),
        ("limit", 2.5, "integer"),
        ("ratio", "0.5", "number"),
        ("exact", "yes", "boolean"),
        ("exact", 1, "boolean"),
        ("tags", "a,b", "array"),
        ("maybe", 3, "string/null"),
    ],
)
def test_wrong_type_rejected(key: str, value: object, expected: str) -> None:
    args = {"query": "x", key: value}
    problem = validate_arguments(STRICT, args)
    assert problem is not None
    assert repr(key) in problem and expected in problem
    assert type(value).__name__ in problem


@pytest.mark.parametrize("key", ["limit", "ratio"])
@pytest.mark.parametrize("value", [True, False])
def test_bool_is_not_a_number(key: str, value: bool) -> None:
    problem = validate_arguments(STRICT, {"query": "x", key: value})
    assert problem is not None and "bool" in problem


# --- execute_tool_call --------------------------------------------------------------------------------


def _tools(*tools: Tool) -> dict[str, Tool]:
    return {t.name: t for t in tools}


async def _echo(query: str, limit: int = 1, **_: object) -> str:
    return f"{query}:{limit}"


ECHO = Tool(STRICT, _echo)


async def test_successful_call_returns_tool_message_and_record() -> None:
    call = ToolCall(id="call_7", name="lookup", arguments={"query": "cats", "limit": 2})
    message, record = await execute_tool_call(call, _tools(ECHO))
    assert message.role == "tool"
    assert message.content == "cats:2"
    assert message.tool_call_id == "call_7"
    assert message.name == "lookup"
    assert message.is_error is False
    assert record.name == "lookup" and record.arguments == {"query": "cats", "limit": 2}
    assert record.output == "cats:2" and record.is_error is False
    assert record.duration >= 0


async def test_tool_result_object_is_passed_through() -> None:
    async def soft_fail(query: str) -> ToolResult:
        return ToolResult(f"nothing found for {query}", is_error=True)

    tool = Tool(ToolSpec("find", "f", {"properties": {"query": {"type": "string"}}}), soft_fail)
    message, record = await execute_tool_call(ToolCall("c", "find", {"query": "q"}), _tools(tool))
    assert message.content == "nothing found for q"
    assert message.is_error is True and record.is_error is True


async def test_unknown_tool_lists_available_tools() -> None:
    other = Tool(ToolSpec("alpha", "a", {}), _echo)
    message, record = await execute_tool_call(ToolCall("c1", "lokup", {"query": "x"}), _tools(ECHO, other))
    assert message.is_error is True and record.is_error is True
    assert "'lokup'" in message.content
    assert "Available tools: alpha, lookup." in message.content
    assert message.tool_call_id == "c1" and message.name == "lokup"


async def test_unknown_tool_with_no_tools() -> None:
    message, _ = await execute_tool_call(ToolCall("c1", "x", {}), {})
    assert message.is_error and "Available tools: none." in message.content


async def test_unparseable_arguments_give_error_without_calling_tool() -> None:
    calls = []

    async def fn(**kwargs: object) -> str:
        calls.append(kwargs)
        return "ran"

    tool = Tool(ToolSpec("t", "t", {}), fn)
    call = ToolCall("c", "t", {}, raw_arguments="{oops", parse_error="Expecting property name")
    message, record = await execute_tool_call(call, _tools(tool))
    assert calls == []
    assert message.is_error is True and record.is_error is True
    assert "not a valid JSON object" in message.content
    assert "Expecting property name" in message.content
    assert "'t'" in message.content


async def test_invalid_arguments_give_error_without_calling_tool() -> None:
    calls = []

    async def fn(**kwargs: object) -> str:
        calls.append(kwargs)
        return "ran"

    tool = Tool(STRICT, fn)
    message, _ = await execute_tool_call(ToolCall("c", "lookup", {"limit": 1}), _tools(tool))
    assert calls == []
    assert message.is_error is True
    assert message.content.startswith("Error calling lookup:")
    assert "missing required argument(s): query" in message.content


async def test_tool_error_becomes_error_message() -> None:
    async def fn(query: str) -> str:
        raise ToolError(f"no page called {query}")

    tool = Tool(STRICT, fn)
    message, record = await execute_tool_call(ToolCall("c", "lookup", {"query": "Zork"}), _tools(tool))
    assert message.is_error is True and record.is_error is True
    assert message.content == "Error: no page called Zork"
    assert "Traceback" not in message.content


async def test_crashing_tool_becomes_error_message() -> None:
    async def fn(query: str) -> str:
        return {"a": 1}[query]  # KeyError

    tool = Tool(STRICT, fn)
    message, record = await execute_tool_call(ToolCall("c", "lookup", {"query": "zzz"}), _tools(tool))
    assert message.is_error is True and record.is_error is True
    assert "lookup failed" in message.content
    assert "KeyError" in message.content and "zzz" in message.content


async def test_tool_with_wrong_signature_does_not_raise() -> None:
    async def fn() -> str:  # accepts no arguments at all
        return "x"

    tool = Tool(ToolSpec("t", "t", {"properties": {}}), fn)
    message, _ = await execute_tool_call(ToolCall("c", "t", {"unexpected": 1}), _tools(tool))
    assert message.is_error is True and "TypeError" in message.content


async def test_long_output_is_truncated_with_a_note() -> None:
    total = MAX_TOOL_OUTPUT_CHARS + 1000

    async def fn(query: str) -> str:
        return "x" * total

    tool = Tool(STRICT, fn)
    message, record = await execute_tool_call(ToolCall("c", "lookup", {"query": "q"}), _tools(tool))
    assert message.is_error is False
    assert len(message.content) < MAX_TOOL_OUTPUT_CHARS + 100
    assert message.content.startswith("x" * (MAX_TOOL_OUTPUT_CHARS - TAIL_CHARS) + "\n[... ")
    assert f"{total - MAX_TOOL_OUTPUT_CHARS:,} characters cut ...]\n" in message.content


async def test_truncation_keeps_the_end_of_the_output() -> None:
    async def fn(query: str) -> str:
        return "x" * (MAX_TOOL_OUTPUT_CHARS * 2) + "\nValueError: the real problem"

    message, record = await execute_tool_call(ToolCall("c", "lookup", {"query": "q"}), _tools(Tool(STRICT, fn)))
    assert message.content.endswith("ValueError: the real problem")
    assert message.content.count("x") == MAX_TOOL_OUTPUT_CHARS - len("\nValueError: the real problem")
    assert record.output == message.content


async def test_output_at_limit_is_not_truncated() -> None:
    async def fn(query: str) -> str:
        return "y" * MAX_TOOL_OUTPUT_CHARS

    tool = Tool(STRICT, fn)
    message, _ = await execute_tool_call(ToolCall("c", "lookup", {"query": "q"}), _tools(tool))
    assert message.content == "y" * MAX_TOOL_OUTPUT_CHARS


async def test_non_string_output_is_stringified() -> None:
    async def fn(query: str) -> int:
        return 42  # type: ignore[return-value]

    tool = Tool(STRICT, fn)
    message, _ = await execute_tool_call(ToolCall("c", "lookup", {"query": "q"}), _tools(tool))
    assert message.content == "42" and message.is_error is False


# --- calls a model got wrong before any tool could run ------------------------------------------------


EMPTY_TEXT_JSON = '{"text":""}'  # the JSON text of the arguments, without the string's characters


def _recording_tool(calls: list[dict[str, object]], check_arguments: bool = True) -> Tool:
    async def fn(**kwargs: object) -> str:
        calls.append(kwargs)
        return "ran"

    return Tool(ToolSpec("t", "t", {"properties": {"text": {"type": "string"}}}), fn, check_arguments)


@pytest.mark.parametrize("name", ["", None], ids=["empty", "null"])
async def test_a_call_without_a_tool_name_is_answered_as_an_error(name: str | None) -> None:
    calls: list[dict[str, object]] = []
    call = ToolCall("c", name, {"text": "x"})  # type: ignore[arg-type]
    message, record = await execute_tool_call(call, _tools(_recording_tool(calls), ECHO))
    assert calls == []
    assert message.is_error and record.is_error
    assert message.content == "Error: your tool call does not name a tool. Available tools: lookup, t."
    assert message.tool_call_id == "c"


@pytest.mark.parametrize("check_arguments", [True, False], ids=["checked", "unchecked-tool"])
async def test_oversized_parsed_arguments_are_refused_for_every_tool(check_arguments: bool) -> None:
    calls: list[dict[str, object]] = []
    tools = _tools(_recording_tool(calls, check_arguments))
    text = "x" * MAX_ARGUMENT_CHARS
    message, record = await execute_tool_call(ToolCall("c", "t", {"text": text}), tools)
    assert calls == []
    assert message.is_error and record.is_error
    assert "too large and were not read" in message.content
    json_chars = len(text) + len(EMPTY_TEXT_JSON)
    assert f"({json_chars:,} characters, more than the {MAX_ARGUMENT_CHARS:,}" in message.content


async def test_arguments_just_under_the_limit_reach_the_tool() -> None:
    calls: list[dict[str, object]] = []
    text = "x" * (MAX_ARGUMENT_CHARS - len(EMPTY_TEXT_JSON))
    message, _ = await execute_tool_call(ToolCall("c", "t", {"text": text}), _tools(_recording_tool(calls)))
    assert message.content == "ran" and calls == [{"text": text}]


async def test_oversized_raw_arguments_are_refused_as_too_large_not_as_invalid_json() -> None:
    calls: list[dict[str, object]] = []
    raw = '{"text": "' + "y" * MAX_ARGUMENT_CHARS + '"}'
    call = ToolCall("c", "t", {}, raw_arguments=raw, parse_error="not read")
    message, _ = await execute_tool_call(call, _tools(_recording_tool(calls)))
    assert calls == []
    assert "too large and were not read" in message.content and f"{len(raw):,} characters" in message.content
    assert "not a valid JSON object" not in message.content


async def test_arguments_too_deep_to_measure_are_refused() -> None:
    calls: list[dict[str, object]] = []
    nested: dict[str, object] = {}
    for _ in range(300):  # deeper than JSON can be written out again
        nested = {"a": nested}
    message, _ = await execute_tool_call(ToolCall("c", "t", {"text": nested}), _tools(_recording_tool(calls)))
    assert calls == []
    assert message.is_error and "cannot be read" in message.content
