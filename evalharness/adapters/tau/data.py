"""Loading a τ²-bench-format domain directory: database, policy, tasks and splits."""

from __future__ import annotations

import functools
import inspect
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalharness.adapters.tau.toolkit import FrozenData, Toolkit, load_data_file
from evalharness.datasets import decode_utf8
from evalharness.errors import DataError
from evalharness.tools import ToolError

REWARD_TYPES = {"DB", "COMMUNICATE", "ACTION", "ENV_ASSERTION", "NL_ASSERTION"}
DEFAULT_REWARD_BASIS = ("DB", "COMMUNICATE")


@dataclass(frozen=True)
class TauDomain:
    name: str
    directory: Path
    toolkit_cls: type[Toolkit]
    db: dict[str, Any]
    user_db: dict[str, Any] | None
    policy: str
    tasks: list[dict[str, Any]]
    splits: dict[str, list[str]]

    @functools.cached_property
    def _pristine(self) -> tuple[FrozenData, FrozenData]:
        """The databases as every toolkit of the domain starts from them: shaped once, kept frozen (a task's
        toolkit is made per sample and per gold replay, and airline's database is 7 MB)."""
        db, user_db = self.toolkit_cls.shape(self.db, self.user_db)
        return FrozenData(db), FrozenData(user_db)

    def new_toolkit(self, task: dict[str, Any] | None = None) -> Toolkit:
        """A toolkit over fresh copies of the databases, with the task's initial state applied."""
        db, user_db = self._pristine
        toolkit = self.toolkit_cls.over_shaped(db.thaw(), user_db.thaw())
        if task is not None:
            apply_initial_state(toolkit, task)
        return toolkit

    def tasks_in(self, split: str | None) -> list[dict[str, Any]]:
        if split is None:
            return self.tasks
        if split not in self.splits:
            known = ", ".join(sorted(self.splits)) or "none"
            raise DataError(f"{self.directory / 'split_tasks.json'}: no split {split!r}; known splits: {known}")
        wanted = set(self.splits[split])
        return [t for t in self.tasks if str(t["id"]) in wanted]


def apply_initial_state(toolkit: Toolkit, task: dict[str, Any]) -> None:
    """τ²-bench's ``initial_state``: data merged into the databases, then actions run on them. A toolkit
    that knows its domain's own initialisation (helpers that are not tools, message history) does it."""
    prepare = getattr(toolkit, "prepare_for_task", None)
    if prepare is not None:  # a domain whose tools depend on the task itself (banking_knowledge)
        prepare(task)
    own = getattr(toolkit, "apply_initial_state", None)
    if own is not None:
        try:
            own(task.get("initial_state"))
        except (ValueError, KeyError, TypeError, ToolError) as e:
            raise DataError(f"task {task.get('id')}: its initial_state cannot be applied: {e}") from None
        return
    state = task.get("initial_state") or {}
    data = state.get("initialization_data") or {}
    for key, target in (("agent_data", toolkit.db), ("user_data", toolkit.user_db)):
        if data.get(key) and target is not None:
            _deep_update(target, data[key])
    for action in state.get("initialization_actions") or []:
        side = "user" if action.get("env_type") == "user" else "agent"
        try:
            toolkit.call(action["func_name"], action.get("arguments") or {}, side=side)
        except ToolError as e:
            raise DataError(f"task {task.get('id')}: initial_state action {action['func_name']} failed: {e}") from None


def _deep_update(target: dict[str, Any], update: dict[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _deep_update(target[key], value)
        else:
            target[key] = value


def _task_problems(task: Any, where: str, toolkit_cls: type[Toolkit]) -> list[str]:
    """Everything wrong with one task; its gold actions and env assertions must name what the domain has,
    or the gold replay skips them and a task that asks for nothing is scored as solved."""
    if not isinstance(task, dict):
        return [f"{where}: expected a task object"]
    if "id" not in task:
        return [f"{where}: task has no 'id'"]
    where = f"{where} (task {task['id']})"
    if not isinstance(task.get("user_scenario"), dict):
        return [f"{where}: missing 'user_scenario'"]
    criteria = task.get("evaluation_criteria") or {}
    if not isinstance(criteria, dict):
        return [f"{where}: 'evaluation_criteria' must be an object"]
    problems = []
    unknown = set(criteria.get("reward_basis") or ()) - REWARD_TYPES
    if unknown:
        problems.append(f"{where}: unknown reward_basis {sorted(unknown)}; known: {sorted(REWARD_TYPES)}")
    for i, action in enumerate(criteria.get("actions") or ()):
        problems += _action_problems(action, f"{where}: evaluation_criteria.actions[{i}]", toolkit_cls)
    for i, check in enumerate(criteria.get("env_assertions") or ()):
        problems += _assertion_problems(check, f"{where}: evaluation_criteria.env_assertions[{i}]",
                                        toolkit_cls)
    return problems


def _action_problems(action: Any, where: str, toolkit_cls: type[Toolkit]) -> list[str]:
    if not isinstance(action, dict) or "name" not in action:
        return [f"{where}: has no 'name'"]
    requestor = action.get("requestor", "assistant")
    if requestor not in ("assistant", "user"):
        return [f"{where}.requestor: {requestor!r} is neither 'assistant' nor 'user'"]
    side = "user" if requestor == "user" else "agent"
    if toolkit_cls.tool_kind(str(action["name"]), side) is not None:
        argument_problems = getattr(toolkit_cls, "action_argument_problems", None)  # e.g. discoverable tools
        return [f"{where}.{problem}" for problem in argument_problems(action)] if argument_problems else []
    tools = ", ".join(spec.name for spec in toolkit_cls.tool_specs(side))
    return [f"{where}.name: {action['name']!r} is not one of the {side}'s tools in domain "
            f"{toolkit_cls.domain} " + (f"(they are: {tools})" if tools else "(the domain has none)")]


def _assertion_problems(check: Any, where: str, toolkit_cls: type[Toolkit]) -> list[str]:
    if not isinstance(check, dict) or "func_name" not in check:
        return [f"{where}: has no 'func_name'"]
    names = _assertion_names(toolkit_cls)
    if check["func_name"] in names:
        return []
    return [f"{where}.func_name: {check['func_name']!r} is not an assertion of domain {toolkit_cls.domain} "
            f"(they are: {', '.join(names) or 'none'})"]


def _assertion_names(toolkit_cls: type[Toolkit]) -> list[str]:
    """The functions of a toolkit that tasks may name in ``env_assertions``."""
    return sorted(name for name, fn in inspect.getmembers(toolkit_cls, predicate=inspect.isfunction)
                  if getattr(fn, "__tau_assertion__", False))


def find_domain(data: Path, name: str) -> Path:
    """The directory of domain ``name`` in a copy of τ²-bench's data: ``domains/<name>`` in a checkout's
    ``data/tau2``, ``<name>`` in a folder holding one directory per domain."""
    if not data.is_dir():
        problem = "is not a directory" if data.exists() else "does not exist"
        raise DataError(f"tau2_data {data} {problem} (expected τ²-bench's data/tau2)")
    places = (data / "domains" / name, data / name)
    for place in places:
        if place.is_dir():
            return place
    raise DataError(f"tau2_data {data}: no domain {name!r} (looked for {places[0]} and {places[1]})")


def read_domain_json(path: Path) -> Any:
    """A JSON file of a domain. A syntax error names its line and column: a task file is one document of
    thousands of lines, some of them long."""
    try:
        text = decode_utf8(path.read_bytes(), str(path))
    except OSError as e:
        raise DataError(f"{path}: {e.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(f"{path}:{e.lineno}:{e.colno}: not valid JSON ({e.msg})") from None


def _read_tasks(directory: Path) -> list[tuple[Any, str]]:
    """A domain's tasks, each with where it comes from: ``tasks.json``, or else one ``tasks/task_*.json`` file
    per task in file-name order (τ²-bench's banking_knowledge)."""
    tasks_path = directory / "tasks.json"
    if tasks_path.is_file():
        tasks = read_domain_json(tasks_path)
        if not isinstance(tasks, list) or not tasks:
            raise DataError(f"{tasks_path}: expected a non-empty list of tasks")
        return [(task, f"{tasks_path} task {i}") for i, task in enumerate(tasks)]
    files = sorted((directory / "tasks").glob("task_*.json"))
    if not files:
        raise DataError(f"{directory}: no tasks.json and no tasks/task_*.json")
    return [(read_domain_json(path), str(path)) for path in files]


def load_domain(directory: Path, name: str | None = None) -> TauDomain:
    from evalharness.adapters.tau.domains import toolkit_for

    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"domain directory {directory} does not exist")
    domain = name or directory.name
    toolkit_cls = toolkit_for(domain)
    located = _read_tasks(directory)
    tasks = [task for task, _ in located]
    problems = [p for task, where in located for p in _task_problems(task, where, toolkit_cls)]
    if problems:
        raise DataError("\n".join(problems))
    splits_path = directory / "split_tasks.json"
    splits = read_domain_json(splits_path) if splits_path.is_file() else {}
    if not isinstance(splits, dict) or not all(isinstance(v, list) for v in splits.values()):
        raise DataError(f"{splits_path}: expected an object mapping each split name to a list of task ids")
    return TauDomain(
        name=domain, directory=directory, toolkit_cls=toolkit_cls,
        db=load_data_file(directory, "db") or {}, user_db=load_data_file(directory, "user_db", required=False),
        policy=toolkit_cls.read_policy(directory), tasks=tasks,
        splits={k: [str(x) for x in v] for k, v in splits.items()},
    )
