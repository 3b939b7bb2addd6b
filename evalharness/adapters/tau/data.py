"""Loading a τ²-bench-format domain directory: database, policy, tasks and splits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalharness.adapters.tau.toolkit import Toolkit, fresh_copy, load_data_file
from evalharness.datasets import read_json
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

    def new_toolkit(self, task: dict[str, Any] | None = None) -> Toolkit:
        """A toolkit over fresh copies of the databases, with the task's initial state applied."""
        toolkit = self.toolkit_cls(fresh_copy(self.db) or {}, fresh_copy(self.user_db))
        if task is not None:
            apply_initial_state(toolkit, task)
        return toolkit

    def tasks_in(self, split: str | None) -> list[dict[str, Any]]:
        if split is None:
            return self.tasks
        if split not in self.splits:
            raise DataError(f"domain {self.name}: no split {split!r}; splits: {', '.join(sorted(self.splits))}")
        wanted = set(self.splits[split])
        return [t for t in self.tasks if str(t["id"]) in wanted]


def apply_initial_state(toolkit: Toolkit, task: dict[str, Any]) -> None:
    """τ²-bench's ``initial_state``: data merged into the databases, then actions run on them. A toolkit
    that knows its domain's own initialisation (helpers that are not tools, message history) does it."""
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


def _check_task(task: Any, where: str) -> None:
    if not isinstance(task, dict):
        raise DataError(f"{where}: expected a task object")
    if "id" not in task:
        raise DataError(f"{where}: task has no 'id'")
    if not isinstance(task.get("user_scenario"), dict):
        raise DataError(f"{where} (task {task['id']}): missing 'user_scenario'")
    criteria = task.get("evaluation_criteria") or {}
    if not isinstance(criteria, dict):
        raise DataError(f"{where} (task {task['id']}): 'evaluation_criteria' must be an object")
    unknown = set(criteria.get("reward_basis") or ()) - REWARD_TYPES
    if unknown:
        raise DataError(f"{where} (task {task['id']}): unknown reward_basis {sorted(unknown)}; "
                        f"known: {sorted(REWARD_TYPES)}")
    for i, action in enumerate(criteria.get("actions") or ()):
        if not isinstance(action, dict) or "name" not in action:
            raise DataError(f"{where} (task {task['id']}): action {i} has no 'name'")


def load_domain(directory: Path, name: str | None = None) -> TauDomain:
    from evalharness.adapters.tau.domains import toolkit_for

    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"domain directory {directory} does not exist")
    domain = name or directory.name
    toolkit_cls = toolkit_for(domain)
    tasks_path = directory / "tasks.json"
    if not tasks_path.is_file():
        raise DataError(f"{directory}: no tasks.json")
    tasks = read_json(tasks_path)
    if not isinstance(tasks, list) or not tasks:
        raise DataError(f"{tasks_path}: expected a non-empty list of tasks")
    for i, task in enumerate(tasks):
        _check_task(task, f"{tasks_path} task {i}")
    policy_path = directory / "policy.md"
    if not policy_path.is_file():
        raise DataError(f"{directory}: no policy.md")
    splits_path = directory / "split_tasks.json"
    splits = read_json(splits_path) if splits_path.is_file() else {}
    if not isinstance(splits, dict) or not all(isinstance(v, list) for v in splits.values()):
        raise DataError(f"{splits_path}: expected an object mapping each split name to a list of task ids")
    return TauDomain(
        name=domain, directory=directory, toolkit_cls=toolkit_cls,
        db=load_data_file(directory, "db") or {}, user_db=load_data_file(directory, "user_db", required=False),
        policy=policy_path.read_text(encoding="utf-8"), tasks=tasks,
        splits={k: [str(x) for x in v] for k, v in splits.items()},
    )
