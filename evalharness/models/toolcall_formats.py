"""Tool calling for models that only produce text: render tools into the prompt, parse calls back out.

A local checkpoint has no ``tools`` API: its chat template (or, when the template knows nothing of tools, a
system prompt we add) tells it which tools exist, and the calls come back as text in one of three formats:

``hermes``   (Hermes, Qwen 2/2.5/3, SmolLM2 and many fine-tunes)::

    <tool_call>
    {"name": "add", "arguments": {"a": 1, "b": 2}}
    </tool_call>

  one tag per call, or a JSON list of calls inside one tag. Results go back as ``<tool_response>`` blocks.

``llama3``   (Llama 3.1/3.3 JSON tool calling)::

    <|python_tag|>{"name": "add", "parameters": {"a": 1, "b": 2}}

  ``parameters`` or ``arguments``; the tag is optional; several objects may follow each other (separated by
  ``;`` or new lines) or come as a JSON list.

``pythonic`` (Llama 3.2/4 and others)::

    [add(a=1, b=2), greet(name='x')]

  parsed with :mod:`ast` (only literals are accepted as values; nothing is ever evaluated).

The format is chosen with ``--model-args tool_format=...`` or detected from the chat template's text
(:func:`detect_format`; SmolLM2's template knows no tools and gets ``hermes``).

A call the parser cannot read (broken JSON, a non-literal value, an unterminated tag) becomes a
:class:`~evalharness.types.ToolCall` with ``parse_error`` and ``raw_arguments`` set: the agent loop returns it
to the model as a tool error, and the message keeps the model's raw text as its content. Well-formed calls
are taken out of the content (as with a native ``tools`` API): what is left is the prose around them.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from evalharness.types import Message, ToolCall, ToolSpec

FORMATS = ("hermes", "llama3", "pythonic")

# --------------------------------------------------------------------------------------------- detection


def detect_format(chat_template: str | None) -> str:
    """The tool-call format a chat template was written for; ``hermes`` when it shows none."""
    text = chat_template or ""
    if "<tool_call>" in text:
        return "hermes"
    if "<|python_start|>" in text or "func_name1(" in text or re.search(r"python\s*list\s*of\s*function", text, re.IGNORECASE):
        return "pythonic"
    if "<|python_tag|>" in text or "ipython" in text or '"parameters"' in text:
        return "llama3"
    return "hermes"


# ------------------------------------------------------------------------------------------------ parsing


@dataclass(slots=True)
class ParsedReply:
    """What the model said: prose (``None`` when there is none) and its tool calls, in order."""

    content: str | None
    tool_calls: list[ToolCall]


def parse_reply(text: str, fmt: str, *, id_prefix: str = "call") -> ParsedReply:
    """Split generated text into prose and tool calls, in the given format."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown tool format {fmt!r}; known: {', '.join(FORMATS)}")
    parser: Callable[[str], tuple[list[_Span], list[_Call]]] = _PARSERS[fmt]
    spans, calls = parser(text)
    tool_calls = [
        ToolCall(
            id=f"{id_prefix}_{i}",
            name=c.name,
            arguments=c.arguments if c.error is None else {},
            raw_arguments=c.raw if c.error is not None else None,
            parse_error=c.error,
        )
        for i, c in enumerate(calls)
    ]
    if any(c.parse_error is not None for c in tool_calls):
        content: str | None = text.strip()  # the model should see (and the transcript keep) what it wrote
    else:
        content = _remove_spans(text, spans).strip()
    return ParsedReply(content or None, tool_calls)


@dataclass(slots=True)
class _Call:
    name: str
    arguments: dict[str, Any]
    raw: str
    error: str | None = None


_Span = tuple[int, int]  # [start, end) of the text that a call (or a block of calls) occupied


def _remove_spans(text: str, spans: list[_Span]) -> str:
    out, pos = [], 0
    for start, end in sorted(spans):
        piece = text[pos:start] if start > pos else ""
        out.append(piece.lstrip(" \t") if pos else piece)  # spaces that only separated calls go with them
        out[-1] = out[-1].rstrip(" \t")
        pos = max(pos, end)
    out.append(text[pos:].lstrip(" \t") if pos else text[pos:])
    # two prose fragments joined where a call was: keep one blank line, not a pile of them
    return re.sub(r"\n{3,}", "\n\n", "".join(out))


def _name_hint(raw: str) -> str:
    """A best guess at the called tool's name in text that is not valid JSON (for the error message)."""
    m = re.search(r'"(?:name|function)"\s*:\s*"([^"]{1,100})"', raw)
    if m:
        return m.group(1)
    m = re.match(r"\s*\[?\s*([A-Za-z_][\w.]*)\s*\(", raw)
    return m.group(1) if m else ""


def _call_from_object(obj: Any, raw: str, arg_keys: Sequence[str] = ("arguments", "parameters")) -> _Call:
    """One call from a decoded JSON value: ``{"name": ..., "arguments"|"parameters": {...}}``."""
    if not isinstance(obj, dict):
        return _Call(_name_hint(raw), {}, raw, f"expected a JSON object with a name, got {type(obj).__name__}")
    if isinstance(obj.get("function"), dict):  # {"type": "function", "function": {...}} (OpenAI style)
        obj = obj["function"]
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        return _Call(_name_hint(raw), {}, raw, 'the call has no "name" string')
    key = next((k for k in arg_keys if k in obj), None)
    args = obj.get(key) if key else {}
    if isinstance(args, str):  # some models encode the arguments object as a string
        try:
            args = json.loads(args) if args.strip() else {}
        except json.JSONDecodeError as e:
            return _Call(name, {}, args, f"arguments string is not valid JSON: {e}")
    if args is None:
        args = {}
    if not isinstance(args, dict):
        return _Call(name, {}, json.dumps(args, ensure_ascii=False), f"expected an object of arguments, got {type(args).__name__}")
    return _Call(name, args, raw)


def _calls_from_json_text(body: str) -> list[_Call]:
    """Calls from one JSON text: an object or a list of objects; broken JSON is one malformed call."""
    try:
        value = json.loads(body)
    except json.JSONDecodeError as e:
        return [_Call(_name_hint(body), {}, body, f"invalid JSON: {e}")]
    if isinstance(value, list):
        if not value:
            return [_Call("", {}, body, "empty list of calls")]
        return [_call_from_object(v, json.dumps(v, ensure_ascii=False)) for v in value]
    return [_call_from_object(value, body)]


_HERMES_BLOCK = re.compile(r"<tool_call>(.*?)(?:</tool_call>|(?=<tool_call>)|$)", re.DOTALL)


def _parse_hermes(text: str) -> tuple[list[_Span], list[_Call]]:
    spans: list[_Span] = []
    calls: list[_Call] = []
    for m in _HERMES_BLOCK.finditer(text):
        body = m.group(1).strip()
        closed = m.group(0).endswith("</tool_call>")
        spans.append((m.start(), m.end()))
        if not body:
            calls.append(_Call("", {}, m.group(0), "empty <tool_call> block"))
            continue
        body = _strip_code_fence(body)
        found = _calls_from_json_text(body)
        if not closed:  # complete JSON without the closing tag is accepted: the model stopped right after it
            for c in found:
                if c.error is not None:
                    c.error += " (the <tool_call> block was never closed)"
        calls.extend(found)
    return spans, calls


def _strip_code_fence(body: str) -> str:
    m = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", body, re.DOTALL)
    return m.group(1) if m else body


_DECODER = json.JSONDecoder()
_LLAMA_START = re.compile(r'[\[{]\s*(?:\{\s*)?"(?:name|type)"\s*:')


def _parse_llama3(text: str) -> tuple[list[_Span], list[_Call]]:
    spans: list[_Span] = []
    calls: list[_Call] = []
    tag = text.find("<|python_tag|>")
    if tag >= 0:
        body_start = tag + len("<|python_tag|>")
        spans.append((tag, body_start))
        region_start = body_start
    else:
        region_start = 0
    pos = region_start
    while True:
        m = _LLAMA_START.search(text, pos)
        if m is None:
            break
        start = m.start()
        try:
            value, end = _DECODER.raw_decode(text, start)
        except json.JSONDecodeError as e:
            raw = text[start:].strip()
            nxt = _LLAMA_START.search(text, start + 1)
            if nxt is not None and nxt.start() > start:
                raw = text[start:nxt.start()].strip().rstrip(";").strip()
            calls.append(_Call(_name_hint(raw), {}, raw, f"invalid JSON: {e}"))
            end = start + len(raw) if nxt is None else nxt.start()
            spans.append((start, end))
            pos = end
            continue
        objects = value if isinstance(value, list) else [value]
        if not all(isinstance(v, dict) and ("name" in v or isinstance(v.get("function"), dict)) for v in objects):
            pos = start + 1  # JSON that is not a call (e.g. an example in the prose)
            continue
        raw = text[start:end]
        for v in objects:
            calls.append(_call_from_object(v, raw if len(objects) == 1 else json.dumps(v, ensure_ascii=False),
                                           ("parameters", "arguments")))
        # swallow a separator after the call so the prose left over reads cleanly
        sep = re.match(r"\s*;", text[end:])
        spans.append((start, end + (sep.end() if sep else 0)))
        pos = end
    if tag >= 0 and not calls:
        raw = text[tag + len("<|python_tag|>"):].strip()
        calls.append(_Call(_name_hint(raw), {}, raw, "no JSON call after <|python_tag|>"))
        spans.append((tag, len(text)))
    return spans, calls


_PY_START = re.compile(r"\[\s*[A-Za-z_][\w.]*\s*\(")
_PY_CONSTANTS = {"true": True, "false": False, "null": None, "none": None}


def _parse_pythonic(text: str) -> tuple[list[_Span], list[_Call]]:
    spans: list[_Span] = []
    calls: list[_Call] = []
    work = text
    for marker in ("<|python_start|>", "<|python_end|>"):
        work = work.replace(marker, " " * len(marker))  # keep offsets: spans refer to ``text``
    pos = 0
    stripped = work.strip()
    if re.fullmatch(r"[A-Za-z_][\w.]*\s*\(.*\)", stripped, re.DOTALL):  # a single call without brackets
        found = _pythonic_list(f"[{stripped}]")
        if found is not None:
            return [(0, len(text))], found
    while True:
        m = _PY_START.search(work, pos)
        if m is None:
            break
        start = m.start()
        end = work.find("]", start)
        parsed: list[_Call] | None = None
        while end >= 0:
            parsed = _pythonic_list(work[start:end + 1])
            if parsed is not None:
                break
            end = work.find("]", end + 1)
        mid_sentence = bool(work[:start].strip()) and not work[:start].rstrip(" \t").endswith("\n")
        if mid_sentence and (parsed is None or any(c.error for c in parsed)):
            pos = start + 1  # brackets inside a sentence are prose unless they hold well-formed calls
            continue
        if parsed is None:
            raw = work[start:].strip()
            try:
                ast.parse(raw, mode="eval")
                error = "not a list of calls with literal keyword arguments"
            except SyntaxError as e:
                error = f"invalid Python syntax: {e.msg}"
            calls.append(_Call(_name_hint(raw), {}, raw, error))
            spans.append((start, len(work)))
            break
        calls.extend(parsed)
        spans.append((start, end + 1))
        pos = end + 1
    for marker in ("<|python_start|>", "<|python_end|>"):
        for mm in re.finditer(re.escape(marker), text):
            spans.append((mm.start(), mm.end()))
    return spans, calls


def _pythonic_list(source: str) -> list[_Call] | None:
    """Calls from ``[f(a=1), g(b='x')]``, or None when ``source`` is not a list of calls at all."""
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError:
        return None
    if not isinstance(tree.body, ast.List) or not tree.body.elts:
        return None
    if not all(isinstance(e, ast.Call) for e in tree.body.elts):
        return None
    calls = []
    for node in tree.body.elts:
        assert isinstance(node, ast.Call)
        raw = ast.get_source_segment(source, node) or ""
        name = _dotted_name(node.func)
        if name is None:
            calls.append(_Call("", {}, raw, "the called function is not a plain name"))
            continue
        if node.args:
            calls.append(_Call(name, {}, raw, "positional arguments are not allowed; use name=value"))
            continue
        args: dict[str, Any] = {}
        error = None
        for kw in node.keywords:
            if kw.arg is None:
                error = "**kwargs are not allowed"
                break
            try:
                args[kw.arg] = _literal(kw.value)
            except ValueError:
                error = f"the value of {kw.arg!r} is not a literal: {ast.get_source_segment(source, kw.value)}"
                break
        calls.append(_Call(name, args if error is None else {}, raw, error))
    return calls


def _dotted_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted_name(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def _literal(node: ast.expr) -> Any:
    """A literal value (strings, numbers, lists, dicts, True/False/None, JSON's true/false/null); never evaluated."""
    if isinstance(node, ast.Name) and node.id.lower() in _PY_CONSTANTS:
        return _PY_CONSTANTS[node.id.lower()]
    if isinstance(node, ast.List):
        return [_literal(e) for e in node.elts]
    if isinstance(node, ast.Tuple):
        return [_literal(e) for e in node.elts]
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise ValueError("dict unpacking")
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values)}  # type: ignore[arg-type]
    value = ast.literal_eval(node)  # constants, negative numbers, sets... (raises ValueError on anything else)
    if isinstance(value, (set, frozenset, bytes, complex)):
        raise ValueError("not a JSON value")
    return value


_PARSERS: dict[str, Callable[[str], tuple[list[_Span], list[_Call]]]] = {
    "hermes": _parse_hermes,
    "llama3": _parse_llama3,
    "pythonic": _parse_pythonic,
}

# ---------------------------------------------------------------------------------------------- rendering


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _tool_schema(spec: ToolSpec) -> dict[str, Any]:
    return spec.to_openai()


def tools_system_prompt(tools: Sequence[ToolSpec], fmt: str) -> str:
    """The tool-use instructions added to the system prompt of a template that knows no tools.

    It lists the tools as JSON schemas and shows the exact syntax of a call and of a result in ``fmt``.
    """
    schemas = "\n".join(_json(_tool_schema(t)) for t in tools)
    if fmt == "hermes":
        return (
            "You can call functions (tools) to help you. The available tools, as JSON schemas:\n"
            f"<tools>\n{schemas}\n</tools>\n\n"
            "To call a tool, write a JSON object with its name and arguments inside <tool_call></tool_call> tags:\n"
            '<tool_call>\n{"name": "tool_name", "arguments": {"argument_name": "value"}}\n</tool_call>\n'
            "Several calls may follow each other, one tag per call. Each result comes back inside "
            "<tool_response></tool_response> tags. Use only the tools listed above, with the arguments their "
            "schemas define. Once you know the answer, reply with plain text and no tool call."
        )
    if fmt == "llama3":
        return (
            "You can call functions (tools) to help you. The available functions, as JSON schemas:\n"
            f"{schemas}\n\n"
            "To call a function, reply with nothing but a JSON object of the form "
            '{"name": "function_name", "parameters": {"argument_name": "value"}}. '
            "For several calls, write one such object per line. Each result comes back in a message that starts "
            "with \"Output of function_name:\". Do not use variables. Once you know the answer, reply with plain "
            "text and no function call."
        )
    if fmt == "pythonic":
        return (
            "You can call functions (tools) to help you. The available functions, as JSON schemas:\n"
            f"{schemas}\n\n"
            "To call functions, reply with nothing but a Python list of calls with keyword arguments and literal "
            "values, e.g. [func_name1(param_a='value', param_b=2), func_name2(param=[1, 2])]. Each result comes "
            "back in a message that starts with \"Output of func_name:\". Once you know the answer, reply with "
            "plain text and no function call."
        )
    raise ValueError(f"unknown tool format {fmt!r}")


def _py_literal(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_py_literal(k)}: {_py_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_py_literal(v) for v in value) + "]"
    return repr(value)


def render_calls(calls: Sequence[ToolCall], fmt: str) -> str:
    """Well-formed calls written the way the model is told to write them (for earlier assistant turns)."""
    good = [c for c in calls if c.parse_error is None]
    if not good:
        return ""
    if fmt == "hermes":
        return "\n".join(f"<tool_call>\n{_json({'name': c.name, 'arguments': c.arguments})}\n</tool_call>" for c in good)
    if fmt == "llama3":
        return "\n".join(_json({"name": c.name, "parameters": c.arguments}) for c in good)
    if fmt == "pythonic":
        inner = ", ".join(f"{c.name}(" + ", ".join(f"{k}={_py_literal(v)}" for k, v in c.arguments.items()) + ")"
                          for c in good)
        return f"[{inner}]"
    raise ValueError(f"unknown tool format {fmt!r}")


def render_results(results: Sequence[Message], fmt: str) -> str:
    """Tool results as one user message, in the format's convention (templates without a tool role)."""
    if fmt == "hermes":
        return "\n".join(f"<tool_response>\n{m.content or ''}\n</tool_response>" for m in results)
    return "\n\n".join(f"Output of {m.name or 'the tool'}:\n{m.content or ''}" for m in results)


@dataclass(slots=True, frozen=True)
class TemplateTraits:
    """What a chat template can do, found by dry renders (see :func:`probe_template`)."""

    native_tools: bool  # renders a ``tools=`` list itself
    tool_role: bool  # has its own rendering for ``role: tool`` messages
    system_role: bool  # accepts a system message


_PROBE_TOOL = ToolSpec("zq_probe_tool", "Probe.", {"type": "object", "properties": {"zq_arg": {"type": "string"}}})
_PROBE_RESULT = "zq-probe-result-7731"


def probe_template(render: Callable[..., str], chat_template: str | None) -> TemplateTraits:
    """Find out by dry renders whether the template takes ``tools``, a tool role and a system message.

    ``render(messages, tools=None)`` must return the rendered prompt text (``apply_chat_template`` with
    ``tokenize=False``); it may raise on messages the template rejects.
    """
    user = [{"role": "user", "content": "hi"}]
    try:
        native_tools = _PROBE_TOOL.name in render(user, tools=[_PROBE_TOOL.to_openai()])
    except Exception:
        native_tools = False
    source = chat_template or ""
    mentions_tool_role = bool(re.search(r"""['"](tool|ipython)['"]""", source))
    tool_role = False
    if mentions_tool_role:
        convo = [
            *user,
            {"role": "assistant", "content": "",
             "tool_calls": [{"id": "call_0", "type": "function",
                             "function": {"name": _PROBE_TOOL.name, "arguments": {"zq_arg": "x"}}}]},
            {"role": "tool", "content": _PROBE_RESULT, "tool_call_id": "call_0", "name": _PROBE_TOOL.name},
        ]
        try:
            tool_role = _PROBE_RESULT in render(convo, tools=[_PROBE_TOOL.to_openai()] if native_tools else None)
        except Exception:
            tool_role = False
    try:
        system_role = "zq-system-probe" in render([{"role": "system", "content": "zq-system-probe"}, *user])
    except Exception:
        system_role = False
    return TemplateTraits(native_tools=native_tools, tool_role=tool_role, system_role=system_role)


def to_template_messages(
    messages: Sequence[Message], tools: Sequence[ToolSpec], fmt: str, traits: TemplateTraits
) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
    """The conversation as chat-template messages, plus the ``tools`` argument (None: tools are in the prompt).

    With a template that renders tools itself, tool calls and results go in its own fields and role. Otherwise
    the tool-use instructions are added to the system message (or sent as one), earlier calls are written back
    as text in ``fmt``, and results come back in the template's tool role, or else as a user message in the
    format's convention (consecutive results in one message).
    """
    out: list[dict[str, Any]] = []
    native = traits.native_tools and bool(tools)
    pending_results: list[Message] = []

    def flush_results() -> None:
        if pending_results:
            out.append({"role": "user", "content": render_results(pending_results, fmt)})
            pending_results.clear()

    for m in messages:
        if m.role == "tool" and not traits.tool_role:
            pending_results.append(m)
            continue
        flush_results()
        if m.role == "assistant":
            good = [c for c in m.tool_calls if c.parse_error is None]
            if native and good:
                out.append({
                    "role": "assistant",
                    "content": m.content or "",
                    "tool_calls": [{"id": c.id, "type": "function",
                                    "function": {"name": c.name, "arguments": c.arguments}} for c in good],
                })
            else:
                text = m.content or ""
                calls_text = render_calls(m.tool_calls, fmt)
                if calls_text:
                    text = f"{text}\n{calls_text}" if text else calls_text
                out.append({"role": "assistant", "content": text})
        elif m.role == "tool":
            out.append({"role": "tool", "content": m.content or "", "tool_call_id": m.tool_call_id or "",
                        "name": m.name or ""})
        else:
            out.append({"role": m.role, "content": m.content or ""})
    flush_results()

    if tools and not native:
        instructions = tools_system_prompt(tools, fmt)
        if out and out[0]["role"] == "system":
            out[0] = {"role": "system", "content": f"{out[0]['content']}\n\n{instructions}".strip()}
        elif traits.system_role:
            out.insert(0, {"role": "system", "content": instructions})
        elif out:  # no system role: the instructions open the first message
            out[0] = {**out[0], "content": f"{instructions}\n\n{out[0]['content']}"}
        else:
            out.append({"role": "user", "content": instructions})
    return out, ([t.to_openai() for t in tools] if native else None)
