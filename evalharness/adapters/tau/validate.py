"""`evalharness tau validate`: replay every task's gold actions (or a split's) and report the ones that fail.

The replay is τ²-bench's evaluator's (see ``Toolkit.replay_gold``); the env assertions are checked on the state a
conversation making the gold calls reaches, which is what they are written for.
With ``--dump-states OUT`` each task's final databases after the replay are written as canonical JSON
(``<task_id>.json``: ``json.dumps(state, sort_keys=True, indent=1)``), so they can be diffed against another
implementation's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalharness.adapters.tau.data import find_domain, load_domain
from evalharness.adapters.tau.evaluator import assertion_checks, gold_toolkit
from evalharness.adapters.tau.toolkit import typed_json
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


@dataclass
class _Written:
    """A part of the initial state (an object, a database, a table, a record) and its text at its depth."""

    value: Any
    exact: bytes | None
    text: str
    parts: dict[str, _Written]


class StateWriter:
    """Writes states into a directory, each exactly as ``json.dumps(state, sort_keys=True, indent=1)``
    reads, several times faster: a task changes a few records of databases of thousands, and the text of
    every table and record still as it was in the domain's initial state is reused. (Python's encoder builds
    indented JSON in Python: about 0.2 s for one state of airline's 7 MB.)"""

    # state -> database -> table -> record: the deepest part whose text is kept
    RECORD_DEPTH = 3

    def __init__(self, directory: Path, initial: Any) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._initial = self._written(initial, 0)

    def write(self, task_id: str, state: Any) -> None:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in task_id)
        (self.directory / f"{safe}.json").write_text(self.text(state))

    def text(self, state: Any) -> str:
        return self._text(state, 0, self._initial)

    def _written(self, value: Any, depth: int) -> _Written:
        if depth >= self.RECORD_DEPTH or not _walkable(value):
            return _Written(value, typed_json(value), _indented(value, depth), {})
        parts = {key: self._written(part, depth + 1) for key, part in value.items()}
        text = _joined({key: part.text for key, part in parts.items()}, depth)
        return _Written(value, typed_json(value), text, parts)

    def _text(self, value: Any, depth: int, initial: _Written | None) -> str:
        # equal in Python and in typed_json: the same JSON (see typed_json)
        if (initial is not None and initial.exact is not None and value == initial.value
                and typed_json(value) == initial.exact):
            return initial.text
        if depth >= self.RECORD_DEPTH or not _walkable(value):
            return _indented(value, depth)
        parts = initial.parts if initial is not None else {}
        texts = {key: self._text(part, depth + 1, parts.get(key)) for key, part in value.items()}
        return _joined(texts, depth)


def _joined(texts: dict[str, str], depth: int) -> str:
    """An object ``depth`` levels deep from its members' texts, laid out as Python's encoder lays it out."""
    inner = "\n" + " " * (depth + 1)
    items = [f"{json.dumps(key)}: {text}" for key, text in sorted(texts.items())]
    return "{" + inner + ("," + inner).join(items) + "\n" + " " * depth + "}"


def _walkable(value: Any) -> bool:
    """A non-empty object with text keys only: written here item by item, the way Python's encoder would."""
    return isinstance(value, dict) and bool(value) and all(isinstance(key, str) for key in value)


def _indented(value: Any, depth: int) -> str:
    """``value`` as it reads nested ``depth`` levels deep in indented JSON (a JSON string holds no newline)."""
    return json.dumps(value, sort_keys=True, indent=1).replace("\n", "\n" + " " * depth)


def validate_domain(directory: Path, dump_states: Path | None = None,
                    split: str | None = None) -> list[TaskCheck]:
    """Each task's gold replay checked. A domain without ``split_tasks.json`` (τ³-bench's banking_knowledge)
    is checked whole whatever ``split`` says: its tasks are all one benchmark."""
    domain = load_domain(directory)
    tasks = domain.tasks_in(split if domain.splits else None)  # an unknown split: an error before any write
    writer = StateWriter(dump_states, domain.new_toolkit().state()) if dump_states is not None else None
    checks = []
    for task in tasks:
        try:
            toolkit, errors = gold_toolkit(domain, task)
        except DataError as e:
            checks.append(TaskCheck(str(task["id"]), 0, [str(e)], []))
            continue
        live = toolkit if toolkit.gold_replay_is_live else gold_toolkit(domain, task, live=True)[0]
        failed = [name for name, held in assertion_checks(task, live).items() if not held]
        actions = len((task.get("evaluation_criteria") or {}).get("actions") or [])
        checks.append(TaskCheck(str(task["id"]), actions, errors, failed))
        if writer is not None:
            writer.write(str(task["id"]), toolkit.state())
    return checks


def data_domains(data: Path) -> list[Path]:
    """The directories of every domain in a copy of τ²-bench's data that the harness has a toolkit for."""
    from evalharness.adapters.tau.domains import TOOLKITS

    found = []
    for name in sorted(TOOLKITS):
        try:
            found.append(find_domain(data, name))
        except DataError:
            if not data.is_dir():
                raise
    if not found:
        raise DataError(f"{data}: no domain directory of {', '.join(sorted(TOOLKITS))} "
                        "(expected τ²-bench's data/tau2, or a folder holding one directory per domain)")
    return found
