"""τ²-bench's own wording for the two models, read at run time from the user's copy of τ²-bench.

A τ²-bench score is a score under τ²-bench's prompts: the agent's system prompt (an instruction block
around the domain's policy), the user simulator's (the simulation guidelines, then the task's scenario),
the fixed greeting, and the tools' descriptions, JSON schemas and order. The project ships none of that
text. It comes from, in this order:

1. **Recorded requests** (``--opt tau2_requests=DIR``): files like ``<domain>.json`` holding the first
   request τ²-bench's runner sent to each model. Templates are learned by locating what the data already
   holds (the domain's policy, the guidelines file, the recorded task's scenario values); what is left is
   the template. The scenario's labels are learned the same way, from the values of the recorded tasks
   (other domains' recordings in DIR fill in labels a domain's own task does not show). Tools are taken as
   recorded, by name; a tool the recording lacks keeps the project's own spec, and the manifest says which.
2. **A τ²-bench checkout** (the domain directory is ``<root>/data/tau2/domains/<name>`` with
   ``<root>/src/tau2/``): the prompt constants, the greeting, the scenario's labels and the tools'
   docstrings are read from its source files with ``ast``. Nothing of it is imported or run.
3. **Neither**: the project's own prompts (``orchestrator.OWN_TEXT``); reports say so.

Both τ²-bench layouts keep the simulation guidelines as data files (``user_simulator/`` beside the domain
directories, or one level further up in a checkout).
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import json
import re
import string
import subprocess
import textwrap
import tomllib
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalharness.adapters.tau.orchestrator import ConversationText
from evalharness.adapters.tau.toolkit import Toolkit
from evalharness.errors import DataError
from evalharness.types import ToolSpec

SOURCE_RECORDED = "tau2_requests"
SOURCE_CHECKOUT = "tau2_checkout"

GUIDELINES_FILES = {False: "simulation_guidelines.md", True: "simulation_guidelines_tools.md"}
# the fields of a structured scenario, in the order τ²-bench renders them
STRUCTURED_FIELDS = ("domain", "reason_for_call", "known_info", "unknown_info", "task_instructions")
TOP_FIELDS = ("persona", "instructions")


# --- templates ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """A text with named holes: ``parts[0] + values[slots[0]] + parts[1] + ...``."""

    parts: tuple[str, ...]
    slots: tuple[str, ...]

    @classmethod
    def learn(cls, text: str, known: list[tuple[str, str]], where: str) -> Template:
        """The template of ``text`` around the known values, found in the order given."""
        parts, slots, cursor = [], [], 0
        for slot, value in known:
            at = text.find(value, cursor)
            if at < 0 or not value:
                raise DataError(f"{where}: the {slot.replace('_', ' ')} is not in it; the recording does not "
                                "belong to this data")
            parts.append(text[cursor:at])
            slots.append(slot)
            cursor = at + len(value)
        parts.append(text[cursor:])
        return cls(tuple(parts), tuple(slots))

    def render(self, values: dict[str, str]) -> str:
        out = [self.parts[0]]
        for slot, part in zip(self.slots, self.parts[1:], strict=True):
            out += [values[slot], part]
        return "".join(out)


@dataclass
class ScenarioLabels:
    """How τ²-bench writes a task's ``user_scenario``: each part under its label, joined by newlines, a
    part's text indented by a tab (a structured scenario's fields indented once more). A label ending in a
    newline is a heading over its indented value; any other stands on the value's own line."""

    labels: dict[str, str] = field(default_factory=dict)  # field -> label
    learned_from: str = ""

    def render(self, scenario: dict[str, Any]) -> str:
        lines = []
        if scenario.get("persona") is not None:
            lines += [self._label("persona"), textwrap.indent(str(scenario["persona"]), "\t")]
        lines += [self._label("instructions"), textwrap.indent(self._instructions(scenario.get("instructions")), "\t")]
        return "\n".join(lines)

    def _instructions(self, instructions: Any) -> str:
        if not isinstance(instructions, dict):
            return str(instructions)
        lines = []
        for name in STRUCTURED_FIELDS:
            value = instructions.get(name)
            if value is None and name in ("known_info", "unknown_info"):
                continue
            label = self._label(name)
            text = str(value)
            lines.append(label + (textwrap.indent(text, "\t") if label.endswith("\n") else text))
        return "\n".join(lines)

    def _label(self, name: str) -> str:
        if name not in self.labels:
            raise DataError(f"{self.learned_from}: no recorded scenario shows a {name!r}, so its label is "
                            "unknown; add a recording of a task that has one")
        return self.labels[name]

    def missing(self) -> set[str]:
        return set(TOP_FIELDS + STRUCTURED_FIELDS) - set(self.labels)

    def learn(self, text: str, scenario: dict[str, Any]) -> tuple[int, int]:
        """Learn the labels ``text`` shows for ``scenario``; the span of the rendered scenario in ``text``."""
        persona, instructions = scenario.get("persona"), scenario.get("instructions")
        if persona is None:
            start, cursor = self._first_indented_block(text)
        else:
            persona_value = textwrap.indent(str(persona), "\t")
            at = text.find("\n" + persona_value)
            if at < 0:
                raise DataError(f"{self.learned_from}: the task's persona is not in the user's system prompt")
            start = text.rfind("\n", 0, at) + 1
            self._keep("persona", text[start:at])
            cursor = at + 1 + len(persona_value) + 1
            end_of_label = text.index("\n", cursor)
            self._keep("instructions", text[cursor:end_of_label])
            cursor = end_of_label + 1
        if isinstance(instructions, dict):
            cursor = self._learn_fields(text, cursor, instructions)
        else:
            value = textwrap.indent(str(instructions), "\t")
            if not text.startswith(value, cursor):
                raise DataError(f"{self.learned_from}: the task's instructions are not where expected")
            cursor += len(value)
        return start, cursor

    def _first_indented_block(self, text: str) -> tuple[int, int]:
        """(start of the instructions' label line, start of its value) when no persona comes first."""
        at = text.find("\n\t")
        if at < 0:
            raise DataError(f"{self.learned_from}: no scenario in the user's system prompt")
        start = text.rfind("\n", 0, at) + 1
        self._keep("instructions", text[start:at])
        return start, at + 1

    def _learn_fields(self, text: str, cursor: int, instructions: dict[str, Any]) -> int:
        for name in STRUCTURED_FIELDS:
            value = instructions.get(name)
            if value is None and name in ("known_info", "unknown_info"):
                continue
            value = str(value)
            line_end = text.find("\n", cursor)
            line = text[cursor + 1:line_end if line_end >= 0 else len(text)]  # past the outer tab
            first_line = value.split("\n", 1)[0]
            if "\n" not in value and first_line and line.endswith(first_line):  # label and value on one line
                self._keep(name, line[:len(line) - len(first_line)])
                cursor = cursor + 1 + len(line)
            else:
                self._keep(name, line + "\n")
                block = textwrap.indent(textwrap.indent(value, "\t"), "\t")
                if not text.startswith(block, line_end + 1):
                    raise DataError(f"{self.learned_from}: the task's {name} is not where expected")
                cursor = line_end + 1 + len(block)
            if text.startswith("\n", cursor) and name != "task_instructions":
                cursor += 1
        return cursor

    def _keep(self, name: str, label: str) -> None:
        self.labels.setdefault(name, label)


# --- the benchmark's text ----------------------------------------------------------------------------------


@dataclass
class BenchmarkText(ConversationText):
    """τ²-bench's text for one domain, from recordings or a checkout."""

    source: str = SOURCE_RECORDED
    version: dict[str, Any] = field(default_factory=dict)
    agent_template: Template = Template(("",), ())
    user_template: Template = Template(("",), ())
    guidelines: dict[bool, str] = field(default_factory=dict)
    scenario: ScenarioLabels = field(default_factory=ScenarioLabels)
    greeting: str = ""
    recorded_tools: dict[str, dict[str, ToolSpec]] = field(default_factory=dict)  # side -> name -> spec
    tool_texts: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)  # name -> wording
    tool_order: dict[str, list[str]] = field(default_factory=dict)  # side -> names
    temperature: float | None = 0.0
    tool_choice: str | None = "auto"
    own_tools: list[str] = field(default_factory=list)
    is_benchmark_text: bool = True

    def agent_prompt(self, policy: str) -> str:
        return self.agent_template.render({"policy": policy})

    def user_prompt(self, scenario: dict[str, Any], user_has_tools: bool) -> str:
        values = {"scenario": self.scenario.render(scenario)}
        if "guidelines" in self.user_template.slots:
            if user_has_tools not in self.guidelines:
                raise DataError(f"no user-simulator guidelines {GUIDELINES_FILES[user_has_tools]} beside the domain")
            values["guidelines"] = self.guidelines[user_has_tools]
        return self.user_template.render(values)

    def shown_specs(self, side: str, specs: list[ToolSpec]) -> list[ToolSpec]:
        """The tools as τ²-bench shows them, in its order; a tool it does not describe keeps its own spec."""
        shown = [self._benchmark_spec(side, spec) for spec in specs]
        order = {name: i for i, name in enumerate(self.tool_order.get(side, []))}
        return sorted(shown, key=lambda s: order.get(s.name, len(order)))

    def _benchmark_spec(self, side: str, spec: ToolSpec) -> ToolSpec:
        if spec.name in self.recorded_tools.get(side, {}):
            return self.recorded_tools[side][spec.name]
        if spec.name in self.tool_texts:
            description, arguments = self.tool_texts[spec.name]
            return ToolSpec(spec.name, description, with_descriptions(spec.parameters, arguments))
        return spec

    def own_tool_names(self, toolkit_cls: type[Toolkit], extra: tuple[ToolSpec, ...] = (),
                       user_tools_shown: Collection[str] | None = None) -> list[str]:
        """The tools of a domain that keep the project's own wording under this source. ``user_tools_shown``:
        the customer's tools the run's tasks give it, where tasks choose them (None: all of them); a tool no
        task shows is shown to no model, whatever its wording."""
        names = []
        for side in ("agent", "user"):
            specs = [*extra, *toolkit_cls.tool_specs(side)] if side == "agent" else toolkit_cls.tool_specs(side)
            if side == "user" and user_tools_shown is not None:
                specs = [s for s in specs if s.name in user_tools_shown]
            names += [s.name for s in specs
                      if s.name not in self.recorded_tools.get(side, {}) and s.name not in self.tool_texts]
        return names

    def describe(self) -> dict[str, Any]:
        return {"source": self.source, **self.version, "temperature": self.temperature,
                "tool_choice": self.tool_choice, "own_tools": self.own_tools}


def with_descriptions(parameters: dict[str, Any], descriptions: dict[str, str]) -> dict[str, Any]:
    """A parameters schema whose top-level properties carry the given descriptions."""
    properties = {}
    for name, schema in parameters.get("properties", {}).items():
        properties[name] = dict(schema)
        if name in descriptions:
            properties[name]["description"] = descriptions[name]
    return {**parameters, "properties": properties}


# --- 1. recorded requests ----------------------------------------------------------------------------------


def recorded_text(requests_dir: Path, domain: str, domain_dir: Path, tasks: list[dict[str, Any]],
                  policy_of: Callable[[dict[str, Any]], str], variant: str | None = None) -> BenchmarkText:
    """τ²-bench's text learned from ``<requests_dir>/<domain>.json`` (``<domain>.<variant>.json`` first);
    ``policy_of`` gives the agent's policy for a task."""
    path = _recording_path(requests_dir, domain, variant)
    recording = _read_recording(path)
    agent, user = recording["agent_first_request"], recording["user_first_request"]
    task = _task_of(recording, tasks, path)
    where = f"{path}: agent_first_request.messages[0]"
    agent_template = Template.learn(_system_content(agent, where), [("policy", policy_of(task))], where)
    guidelines = read_guidelines(domain_dir)
    user_template, scenario = _learn_user(_system_content(user, f"{path}: user_first_request.messages[0]"),
                                          task, guidelines, path)
    used = [path]
    used += _fill_labels(scenario, requests_dir, path, domain_dir)
    greeting = (recording.get("fixed_first_agent_message") or {}).get("content")
    text = BenchmarkText(
        source=SOURCE_RECORDED, version=_recordings_version(requests_dir, used),
        agent_template=agent_template, user_template=user_template, guidelines=guidelines, scenario=scenario,
        greeting=greeting if isinstance(greeting, str) else "",
        recorded_tools={"agent": _specs(agent.get("tools")), "user": _specs(user.get("tools"))},
        tool_order={"agent": [t["function"]["name"] for t in agent.get("tools") or []],
                    "user": [t["function"]["name"] for t in user.get("tools") or []]},
        temperature=agent.get("temperature"), tool_choice=agent.get("tool_choice"))
    if not text.greeting:
        raise DataError(f"{path}: fixed_first_agent_message has no content (record a task without a message history)")
    _check_reproduces(text, recording, task, path)
    return text


def _recording_path(requests_dir: Path, domain: str, variant: str | None) -> Path:
    if not requests_dir.is_dir():
        raise DataError(f"tau2_requests: {requests_dir} is not a directory")
    candidates = ([requests_dir / f"{domain}.{variant}.json"] if variant else []) + [requests_dir / f"{domain}.json"]
    for path in candidates:
        if path.is_file():
            if variant and path.name == f"{domain}.json":
                recorded = _read_recording(path).get("retrieval_config")
                if recorded not in (None, variant):
                    raise DataError(f"{path} records retrieval configuration {recorded!r}, the run uses "
                                    f"{variant!r}; add {domain}.{variant}.json")
            return path
    raise DataError(f"tau2_requests: no {candidates[0].name} in {requests_dir}")


def _read_recording(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise DataError(f"{path}: cannot read: {e}") from None
    for key in ("agent_first_request", "user_first_request", "task_id"):
        if key not in data:
            raise DataError(f"{path}: no {key!r}")
    return data


def _system_content(request: dict[str, Any], where: str) -> str:
    messages = request.get("messages") or []
    if not messages or messages[0].get("role") != "system" or not isinstance(messages[0].get("content"), str):
        raise DataError(f"{where}: expected the system prompt")
    return messages[0]["content"]


def _task_of(recording: dict[str, Any], tasks: list[dict[str, Any]], path: Path) -> dict[str, Any]:
    task_id = str(recording["task_id"])
    for task in tasks:
        if str(task["id"]) == task_id:
            return task
    raise DataError(f"{path}: task {task_id!r} is not among the domain's tasks")


def _learn_user(text: str, task: dict[str, Any], guidelines: dict[bool, str],
                path: Path) -> tuple[Template, ScenarioLabels]:
    known: list[tuple[str, str]] = []
    cursor = 0
    for has_tools in (True, False):  # the tools variant may contain the plain one's text: try it first
        at = text.find(guidelines[has_tools]) if has_tools in guidelines else -1
        if at >= 0:
            known.append(("guidelines", guidelines[has_tools]))
            cursor = at + len(guidelines[has_tools])
            break
    scenario = ScenarioLabels(learned_from=str(path))
    start, end = scenario.learn(text[cursor:], task["user_scenario"])
    known.append(("scenario", text[cursor + start:cursor + end]))
    return Template.learn(text, known, f"{path}: user_first_request.messages[0]"), scenario


def _fill_labels(scenario: ScenarioLabels, requests_dir: Path, own: Path, domain_dir: Path) -> list[Path]:
    """Labels the domain's own recording does not show, from the other recordings beside it (smallest
    first); the recordings used."""
    used = []
    for path in sorted(requests_dir.glob("*.json"), key=lambda p: p.stat().st_size):
        if not scenario.missing() or path == own:
            continue
        try:
            recording = _read_recording(path)
            tasks_path = domain_dir.parent / str(recording.get("domain")) / "tasks.json"
            tasks = json.loads(tasks_path.read_text(encoding="utf-8")) if tasks_path.is_file() else []
            task = _task_of(recording, tasks, path)
            before = set(scenario.labels)
            content = _system_content(recording["user_first_request"], str(path))
            other = ScenarioLabels(learned_from=str(path))
            other.learn(content, task["user_scenario"])
        except (DataError, OSError, json.JSONDecodeError, KeyError):
            continue
        for name, label in other.labels.items():
            scenario.labels.setdefault(name, label)
        if set(scenario.labels) != before:
            used.append(path)
    return used


def _specs(tools: Any) -> dict[str, ToolSpec]:
    specs = {}
    for tool in tools or []:
        function = tool["function"]
        specs[function["name"]] = ToolSpec(function["name"], function.get("description") or "",
                                           function.get("parameters") or {})
    return specs


def _check_reproduces(text: BenchmarkText, recording: dict[str, Any], task: dict[str, Any], path: Path) -> None:
    """The learned templates must give back the recorded prompts for the recorded task."""
    user = recording["user_first_request"]
    has_tools = bool(user.get("tools"))
    if text.user_prompt(task["user_scenario"], has_tools) != _system_content(user, str(path)):
        raise DataError(f"{path}: the user simulator's system prompt cannot be rebuilt from the task's scenario; "
                        "the recording does not match this data")


def _recordings_version(requests_dir: Path, used: list[Path]) -> dict[str, Any]:
    version: dict[str, Any] = {"requests_dir": str(requests_dir),
                               "files": {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in used}}
    if commit := _snapshot_commit(requests_dir):
        version["snapshot_commit"] = commit
    return version


def _snapshot_commit(requests_dir: Path) -> str | None:
    """The commit a ``SOURCE.md`` beside the recordings (or in their parent) names as the snapshot."""
    for path in (requests_dir / "SOURCE.md", requests_dir.parent / "SOURCE.md"):
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            m = re.search(r"snapshot[^\n]*?\b([0-9a-f]{40})\b", text, re.I) or re.search(r"\b([0-9a-f]{40})\b", text)
            if m:
                return m.group(1)
    return None


def read_guidelines(domain_dir: Path) -> dict[bool, str]:
    """The simulation guidelines files (plain and with tools) of the data the domain belongs to."""
    for folder in (domain_dir.parent / "user_simulator", domain_dir.parent.parent / "user_simulator"):
        found = {tools: (folder / name).read_text(encoding="utf-8")
                 for tools, name in GUIDELINES_FILES.items() if (folder / name).is_file()}
        if found:
            return found
    return {}


# --- 2. a checkout, read with ast --------------------------------------------------------------------------


def checkout_root(domain_dir: Path) -> Path | None:
    """The τ²-bench checkout a domain directory belongs to (``<root>/data/tau2/domains/<name>``)."""
    root = domain_dir.resolve().parent.parent.parent.parent
    if domain_dir.resolve().parent.name == "domains" and (root / "src" / "tau2").is_dir():
        return root
    return None


def checkout_text(root: Path, domain: str, domain_dir: Path) -> BenchmarkText:
    """τ²-bench's text read from a checkout's source files, never executed."""
    src = root / "src" / "tau2"
    agent_consts = module_constants(src / "agent" / "llm_agent.py")
    user_consts = module_constants(src / "user" / "user_simulator.py")
    agent_template = _format_template(_const(agent_consts, "SYSTEM_PROMPT", src / "agent" / "llm_agent.py"),
                                      {"agent_instruction": _const(agent_consts, "AGENT_INSTRUCTION",
                                                                   src / "agent" / "llm_agent.py")},
                                      {"domain_policy": "policy"})
    user_template = _format_template(_const(user_consts, "SYSTEM_PROMPT", src / "user" / "user_simulator.py"), {},
                                     {"global_user_sim_guidelines": "guidelines", "instructions": "scenario"})
    scenario = scenario_labels_from_source(src / "data_model" / "tasks.py")
    order, texts = tool_texts_from_source(src / "domains" / domain)
    return BenchmarkText(
        source=SOURCE_CHECKOUT, version=_checkout_version(root), agent_template=agent_template,
        user_template=user_template, guidelines=read_guidelines(domain_dir), scenario=scenario,
        greeting=greeting_from_source(src / "orchestrator" / "orchestrator.py"),
        tool_texts=texts, tool_order={"agent": order, "user": order}, temperature=0.0, tool_choice="auto")


def _parse(path: Path) -> ast.Module:
    try:
        return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError) as e:
        raise DataError(f"τ²-bench checkout: cannot read {path}: {e}") from None


def module_constants(path: Path) -> dict[str, str]:
    """The module-level string constants of a source file, as far as they are literal strings, their
    concatenations and ``.strip()``-like calls on them."""
    constants: dict[str, str] = {}
    for node in _parse(path).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            value = _literal_string(node.value, constants)
            if value is not None:
                constants[node.targets[0].id] = value
        elif isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add) and isinstance(node.target, ast.Name):
            value = _literal_string(node.value, constants)
            if value is not None and node.target.id in constants:
                constants[node.target.id] += value
    return constants


def _literal_string(node: ast.AST, known: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return known.get(node.id)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal_string(node.left, known), _literal_string(node.right, known)
        return None if left is None or right is None else left + right
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and not node.args and not node.keywords
            and node.func.attr in ("strip", "lstrip", "rstrip")):
        inner = _literal_string(node.func.value, known)
        return None if inner is None else getattr(inner, node.func.attr)()
    return None


def _const(constants: dict[str, str], name: str, path: Path) -> str:
    if name not in constants:
        raise DataError(f"τ²-bench checkout: {path} has no string constant {name}")
    return constants[name]


def _format_template(text: str, fixed: dict[str, str], slots: dict[str, str]) -> Template:
    """A ``str.format`` template as a Template: ``fixed`` fields filled in, ``slots`` left as holes."""
    parts, names, current = [], [], ""
    for literal, field_name, _, _ in string.Formatter().parse(text):
        current += literal
        if field_name is None:
            continue
        if field_name in fixed:
            current += fixed[field_name]
        elif field_name in slots:
            parts.append(current)
            names.append(slots[field_name])
            current = ""
        else:
            raise DataError(f"τ²-bench checkout: a prompt template has an unknown field {{{field_name}}}")
    parts.append(current)
    return Template(tuple(parts), tuple(names))


def greeting_from_source(path: Path) -> str:
    """``DEFAULT_FIRST_AGENT_MESSAGE``: a string, or a message built with ``content=`` a string."""
    for node in _parse(path).body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == "DEFAULT_FIRST_AGENT_MESSAGE"):
            if (value := _literal_string(node.value, {})) is not None:
                return value
            if isinstance(node.value, ast.Call):
                for keyword in node.value.keywords:
                    if keyword.arg == "content" and (value := _literal_string(keyword.value, {})) is not None:
                        return value
    raise DataError(f"τ²-bench checkout: {path} has no DEFAULT_FIRST_AGENT_MESSAGE")


def scenario_labels_from_source(path: Path) -> ScenarioLabels:
    """The labels of the scenario's ``__str__`` methods (``UserScenario``, ``StructuredUserInstructions``)."""
    labels = ScenarioLabels(learned_from=str(path))
    classes = {node.name: node for node in _parse(path).body if isinstance(node, ast.ClassDef)}
    for class_name in ("UserScenario", "StructuredUserInstructions"):
        method = next((n for n in getattr(classes.get(class_name), "body", [])
                       if isinstance(n, ast.FunctionDef) and n.name == "__str__"), None)
        if method is None:
            raise DataError(f"τ²-bench checkout: {path} has no {class_name}.__str__")
        pending: str | None = None
        for call in _appends(method):
            literal = _literal_string(call, {})
            if literal is not None:  # a label line of its own: the next appended value is its field's
                pending = literal
                continue
            name = _self_attribute(call)
            if name is None:
                continue
            if pending is not None:
                labels.labels.setdefault(name, pending)
                pending = None
            elif isinstance(call, ast.JoinedStr) and call.values and isinstance(call.values[0], ast.Constant):
                labels.labels.setdefault(name, call.values[0].value)
    return labels


def _appends(method: ast.FunctionDef) -> list[ast.AST]:
    """The arguments of the ``lines.append(...)`` calls of a method, in order."""
    return [node.args[0] for node in ast.walk(method)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "append"
            and len(node.args) == 1]


def _self_attribute(node: ast.AST) -> str | None:
    """The ``self.<name>`` an expression renders, if it renders one."""
    for inner in ast.walk(node):
        if (isinstance(inner, ast.Attribute) and isinstance(inner.value, ast.Name) and inner.value.id == "self"):
            return inner.attr
    return None


def tool_texts_from_source(domain_src: Path) -> tuple[list[str], dict[str, tuple[str, dict[str, str]]]]:
    """The tools of a domain's source (functions decorated ``is_tool(...)``): their order (each class's own
    in definition order, a subclass's before its bases') and their docstrings' wording."""
    if not domain_src.is_dir():
        raise DataError(f"τ²-bench checkout: no {domain_src}")
    classes: dict[str, tuple[list[str], list[ast.FunctionDef]]] = {}
    for path in sorted(domain_src.glob("*.py")):
        for node in _parse(path).body:
            if isinstance(node, ast.ClassDef):
                tools = [f for f in node.body if isinstance(f, ast.FunctionDef) and _is_tool(f)]
                classes[node.name] = ([b.id for b in node.bases if isinstance(b, ast.Name)], tools)

    def depth(name: str, seen: frozenset[str] = frozenset()) -> int:
        bases = [b for b in classes.get(name, ([], []))[0] if b in classes and b not in seen]
        return 1 + max((depth(b, seen | {name}) for b in bases), default=0)

    order: list[str] = []
    texts: dict[str, tuple[str, dict[str, str]]] = {}
    for name in sorted(classes, key=lambda n: -depth(n)):
        for function in classes[name][1]:
            if function.name not in texts:
                order.append(function.name)
                texts[function.name] = docstring_text(ast.get_docstring(function, clean=False) or "")
    return order, texts


def _is_tool(function: ast.FunctionDef) -> bool:
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Name) and target.id in ("is_tool", "is_discoverable_tool"):
            return isinstance(decorator, ast.Call) or target.id == "is_tool"
    return False


_SECTION = re.compile(r"^(Args|Arguments|Parameters|Params|Raises|Exceptions|Except|Attributes|Example|Examples"
                      r"|Returns|Yields):[ \t\r\f\v]*$", re.M)


def docstring_text(doc: str) -> tuple[str, dict[str, str]]:
    """A tool's description and its arguments' descriptions as τ²-bench takes them from a Google-style
    docstring: the first line, then the rest of the text before the sections after a blank line."""
    text = inspect.cleandoc(doc)
    match = _SECTION.search(text)
    head = text[:match.start()] if match else text
    short, _, rest = head.partition("\n")
    description = short + ("\n\n" + rest.strip() if rest.strip() else "")
    return description, _argument_texts(text, match)


def _argument_texts(text: str, first_section: re.Match[str] | None) -> dict[str, str]:
    if first_section is None:
        return {}
    sections = list(_SECTION.finditer(text))
    arguments: dict[str, str] = {}
    for i, section in enumerate(sections):
        if section.group(1) not in ("Args", "Arguments", "Parameters", "Params"):
            continue
        end = sections[i + 1].start() if i + 1 < len(sections) else len(text)
        chunk = text[section.end():end].strip("\n")
        indent = re.match(r"\s*", chunk).group()  # type: ignore[union-attr]
        starts = [m.end() for m in re.finditer("^" + re.escape(indent) + r"(?=\S)", chunk, re.M)]
        for start, stop in zip(starts, [*[s - len(indent) for s in starts[1:]], len(chunk)], strict=True):
            before, _, description = chunk[start:stop].strip("\n").partition(":")
            description = description[1:] if description.startswith(" ") else description
            if "\n" in description:
                first, rest = description.split("\n", 1)
                description = first + "\n" + inspect.cleandoc(rest)
            name = re.match(r"\s*(.+?)\s*(?:\(.*\))?\s*$", before).group(1)  # type: ignore[union-attr]
            arguments[name] = description.strip("\n")
    return arguments


def _checkout_version(root: Path) -> dict[str, Any]:
    version: dict[str, Any] = {"checkout": str(root)}
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=30, check=False)
        if head.returncode == 0 and head.stdout.strip():
            version["commit"] = head.stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        pass
    try:
        project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8")).get("project", {})
        if project.get("version"):
            version["package_version"] = str(project["version"])
    except (OSError, tomllib.TOMLDecodeError):
        pass
    return version


# --- choosing the source -----------------------------------------------------------------------------------


def benchmark_text(domain: str, domain_dir: Path, tasks: list[dict[str, Any]],
                   policy_of: Callable[[dict[str, Any]], str], requests_dir: Path | None,
                   variant: str | None = None) -> BenchmarkText | None:
    """τ²-bench's text for a domain from the first source there is; None: the project's own text."""
    if requests_dir is not None:
        return recorded_text(requests_dir, domain, domain_dir, tasks, policy_of, variant)
    if (root := checkout_root(domain_dir)) is not None:
        return checkout_text(root, domain, domain_dir)
    return None
