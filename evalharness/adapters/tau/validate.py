"""`evalharness tau validate`: replay every task's gold actions (or a split's) and report the ones that fail.

With ``--dump-states OUT`` each task's final databases after the replay are written as canonical JSON
(``<task_id>.json``, keys sorted), so they can be diffed against another implementation's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalharness.adapters.tau.data import TauDomain, load_domain
from evalharness.adapters.tau.evaluator import assertion_checks, gold_toolkit
from evalharness.errors import DataError


@dataclass
class TaskCheck:
    task_id: str
    actions: int
    errors: list[str]
    failed_assertions: list[str]

    @property
    def ok(self) -> bool:
        return not self.errors and not self.failed_assertions


def validate_domain(directory: Path, dump_states: Path | None = None,
                    split: str | None = None) -> list[TaskCheck]:
    domain = load_domain(directory)
    tasks = domain.tasks_in(split)  # an unknown split is an error before anything is written
    if dump_states is not None:
        dump_states.mkdir(parents=True, exist_ok=True)
    checks = []
    for task in tasks:
        try:
            toolkit, errors = gold_toolkit(domain, task)
        except DataError as e:
            checks.append(TaskCheck(str(task["id"]), 0, [str(e)], []))
            continue
        failed = [name for name, held in assertion_checks(task, toolkit).items() if not held]
        actions = len((task.get("evaluation_criteria") or {}).get("actions") or [])
        checks.append(TaskCheck(str(task["id"]), actions, errors, failed))
        if dump_states is not None:
            safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(task["id"]))
            (dump_states / f"{safe}.json").write_text(json.dumps(toolkit.state(), sort_keys=True, indent=1))
    return checks
