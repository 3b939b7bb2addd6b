"""Tool calls written as text: parsing every format, and rendering conversations back into chat templates."""

from __future__ import annotations

from typing import Any

import jinja2
import pytest

from evalharness.models.toolcall_formats import (
    FORMATS,
    TemplateTraits,
    detect_format,
    parse_reply,
    probe_template,
    render_calls,
    to_template_messages,
    tools_system_prompt,
)
from evalharness.types import Message, ToolCall, ToolSpec

OK = None  # no parse error

# (format, generated text, expected content, expected calls as (name, arguments, error fragment or None))
PARSE_TABLE: list[tuple[str, str, str | None, list[tuple[str, dict[str, Any], str | None]]]] = [
    # --- hermes / qwen
    ("hermes", '<tool_call>\n{"name": "add", "arguments": {"a": 1, "b": 2}}\n</tool_call>', None,
     [("add", {"a": 1, "b": 2}, OK)]),
    ("hermes", 'Let me add.\n<tool_call>{"name": "add", "arguments": {"a": 1}}</tool_call>\n'
               '<tool_call>{"name": "mul", "arguments": {"x": 3}}</tool_call>\nThen I answer.',
     "Let me add.\n\nThen I answer.", [("add", {"a": 1}, OK), ("mul", {"x": 3}, OK)]),
    ("hermes", '<tool_call>[{"name": "a", "arguments": {}}, {"name": "b", "arguments": {"q": 1}}]</tool_call>', None,
     [("a", {}, OK), ("b", {"q": 1}, OK)]),
    ("hermes", '<tool_call>{"name": "search", "arguments": {"filter": {"tags": ["x", {"deep": [1, 2.5, null]}]}, '
               '"flag": true}}</tool_call>', None,
     [("search", {"filter": {"tags": ["x", {"deep": [1, 2.5, None]}]}, "flag": True}, OK)]),
    ("hermes", '<tool_call>{"name": "greet", "arguments": {"name": "Zoë 東京 🚲"}}</tool_call>', None,
     [("greet", {"name": "Zoë 東京 🚲"}, OK)]),
    ("hermes", '<tool_call>{"name": "add", "arguments": "{\\"a\\": 1}"}</tool_call>', None,
     [("add", {"a": 1}, OK)]),  # arguments sent as a JSON string
    ("hermes", '<tool_call>\n```json\n{"name": "add", "arguments": {"a": 1}}\n```\n</tool_call>', None,
     [("add", {"a": 1}, OK)]),
    ("hermes", '<tool_call>{"name": "add", "arguments": {"a": 1}}', None, [("add", {"a": 1}, OK)]),  # stopped at EOS
    ("hermes", "The answer is 42.", "The answer is 42.", []),
    # --- llama 3 JSON
    ("llama3", '<|python_tag|>{"name": "add", "parameters": {"a": 1}}', None, [("add", {"a": 1}, OK)]),
    ("llama3", '{"name": "add", "arguments": {"a": 1}}', None, [("add", {"a": 1}, OK)]),
    ("llama3", 'Sure.\n{"name": "add", "parameters": {"a": 1}}; {"name": "neg", "parameters": {"x": -2}}\nDone.',
     "Sure.\n\nDone.", [("add", {"a": 1}, OK), ("neg", {"x": -2}, OK)]),
    ("llama3", '[{"name": "a", "parameters": {}}, {"name": "b", "parameters": {"s": "ü"}}]', None,
     [("a", {}, OK), ("b", {"s": "ü"}, OK)]),
    ("llama3", '{"type": "function", "name": "add", "parameters": {"a": {"b": [1]}}}', None,
     [("add", {"a": {"b": [1]}}, OK)]),
    ("llama3", 'The config is {"x": 1}, nothing to call.', 'The config is {"x": 1}, nothing to call.', []),
    # --- pythonic
    ("pythonic", "[add(a=1, b=2), greet(name='x')]", None, [("add", {"a": 1, "b": 2}, OK), ("greet", {"name": "x"}, OK)]),
    ("pythonic", "I will call the tool.\n[add(a=-1.5, flags=[True, None], opts={'k': 'ü'}, j=true)]",
     "I will call the tool.", [("add", {"a": -1.5, "flags": [True, None], "opts": {"k": "ü"}, "j": True}, OK)]),
    ("pythonic", "<|python_start|>[weather.get(city='東京')]<|python_end|>", None, [("weather.get", {"city": "東京"}, OK)]),
    ("pythonic", "add(a=1)", None, [("add", {"a": 1}, OK)]),
    ("pythonic", "see the list [a(b)] in this sentence", "see the list [a(b)] in this sentence", []),
]

MALFORMED_TABLE: list[tuple[str, str, str, str]] = [
    # (format, text, expected name, error fragment)
    ("hermes", '<tool_call>{"name": "add", "arguments": {"a": 1,}}</tool_call>', "add", "invalid JSON"),
    ("hermes", '<tool_call>{"name": "add", "arguments": {"a": ', "add", "never closed"),
    ("hermes", '<tool_call>{"arguments": {"a": 1}}</tool_call>', "", 'no "name"'),
    ("hermes", '<tool_call>{"name": "add", "arguments": [1, 2]}</tool_call>', "add", "expected an object"),
    ("hermes", "<tool_call></tool_call>", "", "empty"),
    ("llama3", '<|python_tag|>{"name": "add", "parameters": {"a": 1', "add", "invalid JSON"),
    ("llama3", "<|python_tag|>add(1, 2)", "add", "no JSON call"),
    ("pythonic", "[add(a=1, b=foo)]", "add", "not a literal"),
    ("pythonic", "[add(1, 2)]", "add", "positional"),
    ("pythonic", "[add(a=1, b=2]", "add", "invalid Python syntax"),
    ("pythonic", "[__import__('os').system(cmd='ls')]", "", "not a plain name"),
    ("pythonic", "[f(a=__import__('os').getcwd())]", "f", "not a literal"),
]


@pytest.mark.parametrize(("fmt", "text", "content", "calls"), PARSE_TABLE,
                         ids=[f"{row[0]}-{i}" for i, row in enumerate(PARSE_TABLE)])
def test_parse_table(fmt: str, text: str, content: str | None, calls: list[tuple[str, dict[str, Any], Any]]) -> None:
    reply = parse_reply(text, fmt, id_prefix="t")
    assert reply.content == content
    assert [(c.name, c.arguments, c.parse_error) for c in reply.tool_calls] == calls
    assert [c.id for c in reply.tool_calls] == [f"t_{i}" for i in range(len(calls))]


@pytest.mark.parametrize(("fmt", "text", "name", "fragment"), MALFORMED_TABLE,
                         ids=[f"{row[0]}-{i}" for i, row in enumerate(MALFORMED_TABLE)])
def test_malformed_calls_keep_raw_text(fmt: str, text: str, name: str, fragment: str) -> None:
    reply = parse_reply(text, fmt)
    assert len(reply.tool_calls) == 1
    call = reply.tool_calls[0]
    assert call.name == name
    assert call.arguments == {}
    assert call.parse_error is not None and fragment in call.parse_error
    assert call.raw_arguments  # what the model wrote, for the error message and the transcript
    assert reply.content == text.strip()  # the raw text stays in the message
    assert call.to_dict()["raw_arguments"] == call.raw_arguments  # and survives the run directory


def test_good_and_malformed_calls_together() -> None:
    text = ('<tool_call>{"name": "add", "arguments": {"a": 1}}</tool_call>\n'
            '<tool_call>{"name": "mul", "arguments": {"a": 1</tool_call>')
    reply = parse_reply(text, "hermes")
    assert [(c.name, c.parse_error is None) for c in reply.tool_calls] == [("add", True), ("mul", False)]
    assert reply.content == text


def test_pythonic_never_evaluates(tmp_path: Any) -> None:
    marker = tmp_path / "pwned"
    reply = parse_reply(f"[f(a=open({str(marker)!r}, 'w').write('x'))]", "pythonic")
    assert reply.tool_calls[0].parse_error is not None
    assert not marker.exists()


@pytest.mark.parametrize(("template", "fmt"), [
    ("{% for m in messages %}<tool_call>{% endfor %}", "hermes"),
    ("<|start_header_id|>ipython<|end_header_id|>{{ '<|python_tag|>' }}", "llama3"),
    ("[func_name1(params_name1=params_value1, params_name2=params_value2...)]", "pythonic"),
    ("<|python_start|>", "pythonic"),
    ("{% for m in messages %}<|im_start|>{{ m['role'] }}{% endfor %}", "hermes"),  # knows no tools: default
    (None, "hermes"),
])
def test_detect_format(template: str | None, fmt: str) -> None:
    assert detect_format(template) == fmt


CALLS = [
    ToolCall("c0", "add", {"a": 1, "b": -2.5}),
    ToolCall("c1", "search", {"query": "Zoë 東京 \"quoted\" \\ back", "filters": {"tags": ["a", "b"], "n": None},
                              "exact": False}),
    ToolCall("c2", "noop", {}),
]


@pytest.mark.parametrize("fmt", FORMATS)
def test_render_then_parse_round_trip(fmt: str) -> None:
    text = render_calls(CALLS, fmt)
    reply = parse_reply(f"Working on it.\n{text}", fmt)
    assert [(c.name, c.arguments) for c in reply.tool_calls] == [(c.name, c.arguments) for c in CALLS]
    assert all(c.parse_error is None for c in reply.tool_calls)
    assert reply.content == "Working on it."


def test_malformed_calls_are_not_rendered_twice() -> None:
    bad = ToolCall("c9", "add", {}, raw_arguments='{"a": ', parse_error="invalid JSON")
    assert render_calls([bad], "hermes") == ""
    assert render_calls([CALLS[0], bad], "hermes").count("<tool_call>") == 1


# --- chat templates: a SmolLM2-like one that knows no tools, and a Qwen-like one that renders them

PLAIN_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant<|im_end|>\n' }}{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

TOOLS_TEMPLATE = (
    "{% if tools %}<|im_start|>system\n# Tools\n<tools>{% for t in tools %}\n{{ t | tojson }}{% endfor %}\n</tools>"
    "<|im_end|>\n{% endif %}"
    "{% for m in messages %}"
    "{% if m.role == 'tool' %}<|im_start|>user\n<tool_response>\n{{ m.content }}\n</tool_response><|im_end|>\n"
    "{% elif m.role == 'assistant' and m.tool_calls %}<|im_start|>assistant\n{{ m.content }}"
    "{% for c in m.tool_calls %}\n<tool_call>\n{\"name\": \"{{ c.function.name }}\", \"arguments\": "
    "{{ c.function.arguments | tojson }}}\n</tool_call>{% endfor %}<|im_end|>\n"
    "{% else %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def renderer(template: str) -> Any:
    compiled = jinja2.Environment().from_string(template)

    def render(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> str:
        return compiled.render(messages=messages, tools=tools, add_generation_prompt=True)

    return render


TOOLS = [ToolSpec("add", "Add two numbers.", {"type": "object", "properties": {"a": {"type": "number"},
                                                                             "b": {"type": "number"}}})]


def conversation() -> list[Message]:
    bad = ToolCall("call_1", "add", {}, raw_arguments='{"a": 1,', parse_error="invalid JSON")
    return [
        Message("system", "Be careful."),
        Message("user", "What is 1 + 2?"),
        Message("assistant", "Adding.", tool_calls=[ToolCall("call_0", "add", {"a": 1, "b": 2})]),
        Message("tool", "3", tool_call_id="call_0", name="add"),
        Message("assistant", '<tool_call>{"a": 1,</tool_call>', tool_calls=[bad]),
        Message("tool", "Error: not valid JSON", tool_call_id="call_1", name="add", is_error=True),
        Message("tool", "second result", tool_call_id="call_2", name="add"),
    ]


def test_probe_template_traits() -> None:
    assert probe_template(renderer(PLAIN_TEMPLATE), PLAIN_TEMPLATE) == TemplateTraits(
        native_tools=False, tool_role=False, system_role=True)
    assert probe_template(renderer(TOOLS_TEMPLATE), TOOLS_TEMPLATE) == TemplateTraits(
        native_tools=True, tool_role=True, system_role=True)


@pytest.mark.parametrize("fmt", FORMATS)
def test_template_without_tools_gets_a_system_prompt_and_user_results(fmt: str) -> None:
    traits = probe_template(renderer(PLAIN_TEMPLATE), PLAIN_TEMPLATE)
    chat, tools_arg = to_template_messages(conversation(), TOOLS, fmt, traits)
    assert tools_arg is None
    assert [m["role"] for m in chat] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert chat[0]["content"].startswith("Be careful.\n\n") and tools_system_prompt(TOOLS, fmt) in chat[0]["content"]
    # the earlier call is written back in the format, and parses back to the same call
    again = parse_reply(chat[2]["content"], fmt)
    assert again.content == "Adding." and [(c.name, c.arguments) for c in again.tool_calls] == [("add", {"a": 1, "b": 2})]
    # a malformed call is shown once, as the model wrote it
    assert chat[4]["content"] == '<tool_call>{"a": 1,</tool_call>'
    # results come back as user messages in the format's convention; consecutive ones together
    if fmt == "hermes":
        assert chat[3]["content"] == "<tool_response>\n3\n</tool_response>"
        assert chat[5]["content"].count("<tool_response>") == 2
    else:
        assert chat[3]["content"] == "Output of add:\n3"
        assert "Error: not valid JSON" in chat[5]["content"] and "second result" in chat[5]["content"]
    prompt = renderer(PLAIN_TEMPLATE)(chat)
    assert '"name": "add"' in prompt and prompt.endswith("<|im_start|>assistant\n")


def test_template_with_tools_renders_them_itself() -> None:
    traits = probe_template(renderer(TOOLS_TEMPLATE), TOOLS_TEMPLATE)
    chat, tools_arg = to_template_messages(conversation(), TOOLS, "hermes", traits)
    assert tools_arg == [TOOLS[0].to_openai()]
    assert [m["role"] for m in chat] == ["system", "user", "assistant", "tool", "assistant", "tool", "tool"]
    assert chat[2]["tool_calls"][0]["function"] == {"name": "add", "arguments": {"a": 1, "b": 2}}
    assert "tool_calls" not in chat[4]  # the malformed call stays as raw text only
    prompt = renderer(TOOLS_TEMPLATE)(chat, tools=tools_arg)
    assert '<tool_call>\n{"name": "add", "arguments": {"a": 1, "b": 2}}\n</tool_call>' in prompt
    assert parse_reply(prompt.split("<|im_start|>assistant\n")[1].split("<|im_end|>")[0], "hermes").tool_calls[0].arguments == {"a": 1, "b": 2}


def test_no_tools_no_instructions() -> None:
    traits = TemplateTraits(native_tools=False, tool_role=False, system_role=True)
    chat, tools_arg = to_template_messages([Message("user", "hi")], [], "hermes", traits)
    assert chat == [{"role": "user", "content": "hi"}] and tools_arg is None


def test_template_without_system_role_gets_instructions_in_the_first_message() -> None:
    traits = TemplateTraits(native_tools=False, tool_role=False, system_role=False)
    chat, _ = to_template_messages([Message("user", "hi")], TOOLS, "pythonic", traits)
    assert len(chat) == 1 and chat[0]["role"] == "user"
    assert chat[0]["content"].startswith(tools_system_prompt(TOOLS, "pythonic")) and chat[0]["content"].endswith("hi")
