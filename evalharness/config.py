"""Run configuration and suite files.

A suite is a YAML file listing tasks with their options (the same options ``--task NAME --opt k=v``
takes). Everything is validated before the run starts, and every error names the file, the line and the
key, because a typo found after an hour of evaluation is an hour lost.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from evalharness.adapters import AdapterOptions, TaskAdapter, adapter_names, get_adapter_class
from evalharness.agent import Limits
from evalharness.datasets import decode_utf8
from evalharness.errors import ConfigError
from evalharness.mcp.spec import McpServerSpec
from evalharness.resources import builtin_suites_dir
from evalharness.suggest import did_you_mean


class TaskSpec(BaseModel):
    """One entry of a suite: which adapter, under which name, with which options."""

    model_config = ConfigDict(extra="forbid")

    task: str = Field(description="adapter name, see `evalharness list`")
    name: str | None = Field(default=None, description="unique name in the run; defaults to the adapter name")
    options: dict[str, Any] = Field(default_factory=dict)
    limit: int | None = Field(default=None, ge=1)
    epochs: int | None = Field(default=None, ge=1)
    mcp_servers: list[McpServerSpec] = Field(default_factory=list, description="MCP servers whose tools the "
                                             "model is offered next to the task's own")

    @field_validator("mcp_servers")
    @classmethod
    def _unique_servers(cls, servers: list[McpServerSpec]) -> list[McpServerSpec]:
        names = [s.name for s in servers]
        if len(set(names)) != len(names):
            raise ValueError(f"two MCP servers are named {next(n for n in names if names.count(n) > 1)!r}; "
                             "give each a distinct `name`")
        return servers

    @property
    def run_name(self) -> str:
        return self.name or self.task


class SuiteFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    description: str = ""
    limit: int | None = Field(default=None, ge=1)
    epochs: int | None = Field(default=None, ge=1)
    tasks: list[TaskSpec] = Field(min_length=1)


class Suite(BaseModel):
    name: str
    description: str
    path: str | None
    tasks: list[TaskSpec]


class RunConfig(BaseModel):
    """Everything that determines what a run evaluates. Recorded in the manifest; resume rebuilds the
    run from it. Secrets (API keys) are never part of it."""

    model_config = ConfigDict(extra="forbid")

    model: str
    model_args: str | None = None
    base_url: str | None = None
    suite: str
    tasks: list[TaskSpec]
    limit: int | None = Field(default=None, ge=1)
    epochs: int | None = Field(default=None, ge=1, description="overrides the suite's epochs when set")
    max_samples: int = Field(default=32, ge=1)
    max_connections: int = Field(default=32, ge=1)
    seed: int | None = None
    max_turns: int | None = Field(default=None, ge=1, description="model calls per sample; default: the task's own")
    token_limit: int | None = Field(default=None, ge=1)
    time_limit: float | None = Field(default=None, gt=0)
    judge_model: str | None = Field(default=None, description="LLM judge for tasks that grade with one")
    judge_base_url: str | None = None
    user_model: str | None = Field(default=None, description="tau: the user simulator's model")
    sandbox: Literal["auto", "docker", "local"] = "auto"
    max_sandboxes: int = Field(default=8, ge=1, description="sandboxes alive at once, per image")

    @field_validator("tasks")
    @classmethod
    def _unique_names(cls, tasks: list[TaskSpec]) -> list[TaskSpec]:
        seen: set[str] = set()
        for t in tasks:
            if t.run_name in seen:
                raise ValueError(f"two tasks are named {t.run_name!r}; give each a distinct `name`")
            seen.add(t.run_name)
        return tasks

    @property
    def limits(self) -> Limits:
        return Limits(max_turns=self.max_turns, token_limit=self.token_limit, time_limit=self.time_limit)


# --- YAML with line numbers ---------------------------------------------------------------------------


def _key_lines(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = path + (key_node.value,)
            _key_lines(value_node, key, out)
            out[key] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _key_lines(item, path + (i,), out)


def _line_of(lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int:
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return 1


def _format_loc(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


Problem = tuple[int, str]  # (line, message): messages are shown in file order


def _place(where: str, lines: dict[tuple[Any, ...], int] | None, loc: tuple[Any, ...]) -> tuple[int, str]:
    """The line of ``loc`` (0 without line numbers) and the ``file:line`` prefix of its messages."""
    if lines is None:
        return 0, where
    line = _line_of(lines, loc)
    return line, f"{where}:{line}"


def _validation_problems(where: str, lines: dict[tuple[Any, ...], int] | None, err: ValidationError,
                         prefix: tuple[Any, ...] = ()) -> list[Problem]:
    problems = []
    for error in err.errors():
        loc = prefix + tuple(error["loc"])
        line, place = _place(where, lines, loc)
        message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
        problems.append((line, f"{place}: {_format_loc(loc)}: {message}"))
    return problems


def problems_error(problems: list[Problem]) -> ConfigError:
    """One error listing every problem, one per line in file order, so a user fixes them in one pass."""
    return ConfigError("\n".join(message for _, message in sorted(problems, key=lambda p: p[0])))


_UNCLOSED = ("while parsing a flow", "while scanning a quoted scalar")


def _yaml_problem(where: str, e: yaml.MarkedYAMLError) -> str:
    """PyYAML notices an unclosed bracket or quote, or a key without its colon, only lines later; the
    message points at the line where the user has to look."""
    problem = e.problem or e.context or "cannot parse"
    at, opened = e.problem_mark, e.context_mark
    if at is None:
        return f"{where}: not valid YAML: {problem}"
    if opened is not None and opened.line != at.line and e.context:
        if e.context.startswith(_UNCLOSED) and opened.buffer is not None:
            opener = opened.buffer[opened.pointer]
            return (f"{where}:{opened.line + 1}: not valid YAML: the {opener!r} at column "
                    f"{opened.column + 1} is never closed (line {at.line + 1}: {problem})")
        if e.context == "while scanning a simple key":
            return (f"{where}:{opened.line + 1}: not valid YAML: {problem} after the key at column "
                    f"{opened.column + 1}")
    return f"{where}:{at.line + 1}: not valid YAML: {problem}"


def _parse_yaml(text: str, where: str) -> tuple[yaml.Node | None, Any]:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader), yaml.safe_load(text)
    except yaml.MarkedYAMLError as e:
        raise ConfigError(_yaml_problem(where, e)) from None
    except yaml.reader.ReaderError as e:
        line = text.count("\n", 0, e.position) + 1
        column = e.position - (text.rfind("\n", 0, e.position) + 1) + 1
        raise ConfigError(f"{where}:{line}: not valid YAML: {e.reason} "
                          f"(#x{e.character:04x} at column {column})") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{where}: not valid YAML: {' '.join(str(e).split())}") from None


def _duplicate_keys(node: yaml.Node, path: tuple[Any, ...], where: str) -> list[Problem]:
    """Keys given twice in one mapping: YAML loaders keep the last value without a word, so a setting the
    user wrote would be silently ignored."""
    problems: list[Problem] = []
    if isinstance(node, yaml.MappingNode):
        first_line: dict[tuple[str, Any], int] = {}
        for key_node, value_node in node.value:
            key = path + (key_node.value,)
            line = key_node.start_mark.line + 1
            identity = (key_node.tag, key_node.value)
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                if identity in first_line:
                    problems.append((line, f"{where}:{line}: {_format_loc(key)}: duplicate key "
                                           f"(first on line {first_line[identity]}); keep one"))
                else:
                    first_line[identity] = line
            problems += _duplicate_keys(value_node, key, where)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            problems += _duplicate_keys(item, path + (i,), where)
    return problems


def _read_suite_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read suite file: {e.strerror}") from None
    return decode_utf8(data, str(path), ConfigError)


def load_suite_file(path: Path) -> Suite:
    where = str(path)
    node, data = _parse_yaml(_read_suite_text(path), where)
    if not isinstance(data, dict) or node is None:
        raise ConfigError(f"{where}:1: a suite file must be a mapping with a `tasks` list")
    lines: dict[tuple[Any, ...], int] = {}
    _key_lines(node, (), lines)
    problems = _duplicate_keys(node, (), where) + _suite_problems(data, where, lines)
    if problems:
        raise problems_error(problems)
    suite = SuiteFile.model_validate(data)
    for spec in suite.tasks:
        spec.limit = spec.limit or suite.limit
        spec.epochs = spec.epochs or suite.epochs
    return Suite(name=suite.name or path.stem, description=suite.description, path=where, tasks=suite.tasks)


def _suite_problems(data: dict[str, Any], where: str, lines: dict[tuple[Any, ...], int]) -> list[Problem]:
    """Everything wrong with a suite at once: its keys, each task entry, each task's options, its names."""
    try:
        suite: SuiteFile | None = SuiteFile.model_validate(data)
        problems: list[Problem] = []
    except ValidationError as e:
        suite, problems = None, _validation_problems(where, lines, e)
    entries = data.get("tasks")
    for i, entry in enumerate(entries if isinstance(entries, list) else []):
        try:
            spec = TaskSpec.model_validate(entry)
        except ValidationError:
            continue  # already among the suite's problems
        problems += _task_option_problems(spec, where, lines, ("tasks", i))
    if suite is not None:
        problems += _duplicate_name_problems(suite, where, lines)
    return problems


def _duplicate_name_problems(suite: SuiteFile, where: str,
                             lines: dict[tuple[Any, ...], int]) -> list[Problem]:
    problems = []
    names = [t.run_name for t in suite.tasks]
    for i, name in enumerate(names):
        if name in names[:i]:
            line, place = _place(where, lines, ("tasks", i))
            problems.append((line, f"{place}: tasks[{i}]: a task named {name!r} is listed twice; "
                                   "give each entry a distinct `name`"))
    return problems


def _task_option_problems(spec: TaskSpec, where: str, lines: dict[tuple[Any, ...], int] | None,
                          prefix: tuple[Any, ...] = ()) -> list[Problem]:
    try:
        adapter_cls = get_adapter_class(spec.task)
    except ConfigError as e:
        line, place = _place(where, lines, prefix + ("task",))
        return [(line, f"{place}: {_format_loc(prefix + ('task',))}: {e}")]
    try:
        adapter_cls.Options.model_validate(spec.options)
    except ValidationError as e:
        return _validation_problems(where, lines, e, prefix + ("options",) if prefix else ())
    return []


def validate_task_options(
    spec: TaskSpec, where: str, lines: dict[tuple[Any, ...], int] | None, prefix: tuple[Any, ...] = ()
) -> AdapterOptions:
    """Check ``spec.options`` against its adapter's option model; errors point at the offending keys."""
    problems = _task_option_problems(spec, where, lines, prefix)
    if problems:
        raise problems_error(problems)
    return get_adapter_class(spec.task).Options.model_validate(spec.options)


class _RecordedTask(BaseModel):
    """What resume needs of each task entry of a manifest."""

    name: str
    fingerprint: str


def recorded_run(manifest: dict[str, Any], where: str, overrides: dict[str, Any]) -> tuple[RunConfig, Suite]:
    """The configuration and the suite a run recorded (``manifest`` passed ``store.check_manifest``), with
    ``overrides`` applied, for resume. Every problem names the manifest and the field: a manifest edited by
    hand or written by another tool must not end in a traceback."""
    try:
        config = RunConfig.model_validate({**manifest["config"], **overrides})
    except ValidationError as e:
        raise problems_error(_validation_problems(where, None, e, ("config",))) from None
    problems = [p for i, spec in enumerate(config.tasks)
                for p in _task_option_problems(spec, where, None, ("config", "tasks", i))]
    for i, task in enumerate(manifest["tasks"]):
        try:
            _RecordedTask.model_validate(task)
        except ValidationError as e:
            problems += _validation_problems(where, None, e, ("tasks", i))
    try:
        suite = Suite.model_validate({**manifest["suite"], "tasks": config.tasks})
    except ValidationError as e:
        problems += _validation_problems(where, None, e, ("suite",))
    if problems:
        raise problems_error(problems)
    return config, suite


def builtin_suites() -> dict[str, Path]:
    directory = builtin_suites_dir()
    return {p.stem: p for p in sorted(directory.glob("*.yaml"))} if directory.is_dir() else {}


def resolve_suite(ref: str) -> Suite:
    """A suite by built-in name (``smoke``) or by path (``my-suite.yaml``)."""
    path = Path(ref)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise ConfigError(f"suite file {ref} does not exist")
        return load_suite_file(path)
    known = builtin_suites()
    if ref not in known:
        names = ", ".join(known) or "none"
        raise ConfigError(f"--suite: unknown suite {ref!r}{did_you_mean(ref, known)}; it is not a file, and "
                          f"the built-in suites are: {names}")
    return load_suite_file(known[ref])


def parse_opts(pairs: list[str]) -> dict[str, Any]:
    """``--opt key=value`` pairs; values are read as YAML scalars/lists (``8``, ``true``, ``[a, b]``)."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--opt {pair!r} is not of the form key=value")
        try:
            options[key.strip()] = yaml.safe_load(value) if value.strip() else ""
        except yaml.YAMLError:
            options[key.strip()] = value
    return options


def with_suite_options(suite: Suite, pairs: list[str]) -> Suite:
    """``--opt key=value`` with a suite: the option goes to every task whose adapter takes it (τ²-bench's
    data for all of a suite's τ domains, say); an option that no task takes is an error."""
    options = parse_opts(pairs)
    tasks = [spec.model_copy(deep=True) for spec in suite.tasks]
    for key, value in options.items():
        takers = [spec for spec in tasks if key in get_adapter_class(spec.task).Options.model_fields]
        if not takers:
            known = sorted({k for spec in tasks for k in get_adapter_class(spec.task).Options.model_fields})
            raise ConfigError(f"--opt: {key}: no task of suite {suite.name!r} takes it{did_you_mean(key, known)}")
        for spec in takers:
            spec.options[key] = value
    problems: list[str] = []
    for spec in tasks:  # the same value went to several tasks: each problem is said once
        try:
            get_adapter_class(spec.task).Options.model_validate(spec.options)
        except ValidationError as e:
            problems += [f"--opt: {_format_loc(tuple(error['loc']))}: {error['msg']}" for error in e.errors()]
    if problems:
        raise ConfigError("\n".join(dict.fromkeys(problems)))
    return suite.model_copy(update={"tasks": tasks})


def with_mcp_servers(suite: Suite, texts: list[str]) -> Suite:
    """``--mcp-server SPEC``: each server is attached to every task of the suite (next to its own servers)."""
    if not texts:
        return suite
    from evalharness.mcp.spec import parse_cli_server

    servers = [parse_cli_server(text) for text in texts]
    tasks = []
    for spec in suite.tasks:
        try:
            tasks.append(TaskSpec.model_validate({**spec.model_dump(), "mcp_servers": [
                *spec.model_dump()["mcp_servers"], *(s.model_dump() for s in servers)]}))
        except ValidationError as e:
            raise ConfigError("\n".join(f"--mcp-server: task {spec.run_name}: {error['msg']}"
                                         for error in e.errors())) from None
    return suite.model_copy(update={"tasks": tasks})


def option_flag(key: str) -> str:
    """The command-line flag that sets task option ``key`` (``python_tool`` -> ``--python-tool``)."""
    return "--field" if key == "fields" else f"--{key.replace('_', '-')}"


def task_from_cli(task: str, opts: list[str], named: dict[str, Any] | None = None) -> Suite:
    """A one-task suite from ``--task`` with ``--opt`` pairs and the named option flags (``--dataset``...).
    Every problem is listed, each under the flag that set the option."""
    named = named or {}
    spec = TaskSpec(task=task, options={**parse_opts(opts), **named})
    options_model = _cli_adapter_class(task).Options
    try:
        options_model.model_validate(spec.options)
    except ValidationError as e:
        known = list(options_model.model_fields)
        raise ConfigError("\n".join(_cli_option_problem(task, error, set(named), known)
                                    for error in e.errors())) from None
    return Suite(name=task, description=f"task {task} from the command line", path=None, tasks=[spec])


def _cli_adapter_class(task: str) -> type[TaskAdapter]:
    known = adapter_names()
    if task not in known:
        raise ConfigError(f"--task: unknown task {task!r}{did_you_mean(task, known)}; known tasks: {', '.join(known)}")
    return get_adapter_class(task)


def _cli_option_problem(task: str, error: Any, named: set[str], known: list[str]) -> str:
    """One problem of ``--task``'s options, under the flag that set the option."""
    key = str(error["loc"][0]) if error["loc"] else ""
    unknown = error["type"] == "extra_forbidden"
    if key in named:
        flag = option_flag(key)
        return f"{flag}: does not apply to task {task!r}" if unknown else f"{flag}: {error['msg']}"
    if unknown:
        return f"--opt: {key}: unknown key{did_you_mean(key, known)}"
    return f"--opt: {_format_loc(tuple(error['loc']))}: {error['msg']}"
