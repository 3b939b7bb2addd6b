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

from evalharness.adapters import AdapterOptions, get_adapter_class
from evalharness.agent import Limits
from evalharness.errors import ConfigError
from evalharness.resources import builtin_suites_dir


class TaskSpec(BaseModel):
    """One entry of a suite: which adapter, under which name, with which options."""

    model_config = ConfigDict(extra="forbid")

    task: str = Field(description="adapter name, see `evalharness list`")
    name: str | None = Field(default=None, description="unique name in the run; defaults to the adapter name")
    options: dict[str, Any] = Field(default_factory=dict)
    limit: int | None = Field(default=None, ge=1)
    epochs: int | None = Field(default=None, ge=1)

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
    max_turns: int = Field(default=30, ge=1)
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


def _validation_error(where: str, lines: dict[tuple[Any, ...], int] | None, err: ValidationError, prefix=()) -> str:
    first = err.errors()[0]
    loc = prefix + tuple(first["loc"])
    place = f"{where}:{_line_of(lines, loc)}" if lines is not None else where
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    more = len(err.errors()) - 1
    return f"{place}: {_format_loc(loc)}: {message}" + (f" (and {more} more problem(s))" if more else "")


def load_suite_file(path: Path) -> Suite:
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{where}: cannot read suite file: {e.strerror}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError(f"{where}{line}: not valid YAML: {problem}") from None
    lines: dict[tuple[Any, ...], int] = {}
    if node is not None:
        _key_lines(node, (), lines)
    if not isinstance(data, dict):
        raise ConfigError(f"{where}:1: a suite file must be a mapping with a `tasks` list")
    try:
        suite = SuiteFile.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_validation_error(where, lines, e)) from None
    for i, spec in enumerate(suite.tasks):
        validate_task_options(spec, where, lines, ("tasks", i))
        spec.limit = spec.limit or suite.limit
        spec.epochs = spec.epochs or suite.epochs
    names = [t.run_name for t in suite.tasks]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ConfigError(
                f"{where}:{_line_of(lines, ('tasks', i))}: tasks[{i}]: a task named {name!r} is listed twice; "
                "give each entry a distinct `name`"
            )
    return Suite(name=suite.name or path.stem, description=suite.description, path=where, tasks=suite.tasks)


def validate_task_options(
    spec: TaskSpec, where: str, lines: dict[tuple[Any, ...], int] | None, prefix: tuple[Any, ...] = ()
) -> AdapterOptions:
    """Check ``spec.options`` against its adapter's option model; errors point at the offending key."""
    try:
        adapter_cls = get_adapter_class(spec.task)
    except ConfigError as e:
        place = f"{where}:{_line_of(lines, prefix + ('task',))}" if lines is not None else where
        raise ConfigError(f"{place}: {_format_loc(prefix + ('task',))}: {e}") from None
    try:
        return adapter_cls.Options.model_validate(spec.options)
    except ValidationError as e:
        options_loc = prefix + ("options",) if lines is not None else ()
        raise ConfigError(_validation_error(where, lines, e, options_loc)) from None


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
        raise ConfigError(f"unknown suite {ref!r}: not a file, and the built-in suites are: {names}")
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


def task_from_cli(task: str, opts: list[str], named: dict[str, Any] | None = None) -> Suite:
    """A one-task suite from ``--task`` with ``--opt`` pairs and the named option flags (``--dataset``...)."""
    spec = TaskSpec(task=task, options={**parse_opts(opts), **(named or {})})
    validate_task_options(spec, "--opt", None)
    return Suite(name=task, description=f"task {task} from the command line", path=None, tasks=[spec])
