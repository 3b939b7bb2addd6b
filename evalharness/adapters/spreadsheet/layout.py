"""Reading a SpreadsheetBench-format directory.

``dataset.json`` lists tasks (``id``, ``instruction``, ``instruction_type``, ``answer_position``,
``spreadsheet_path``); each task folder holds its test cases, in one of two layouts:

- original: ``<k>_<id>_input.xlsx`` + ``<k>_<id>_answer.xlsx`` for k = 1..n
- Verified: ``<k>_<id>_init.xlsx`` + ``<k>_<id>_golden.xlsx``

The layout and the number of cases are detected per task; problems name the task and the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalharness.adapters.spreadsheet.compare import parse_answer_position
from evalharness.datasets import read_json
from evalharness.errors import DataError

LAYOUTS = (("input", "answer"), ("init", "golden"))


@dataclass(frozen=True)
class TestCase:
    index: int  # k, from 1
    input: Path
    answer: Path


@dataclass(frozen=True)
class SheetTask:
    id: str
    instruction: str
    instruction_type: str
    answer_position: str
    cases: list[TestCase]
    solution_code: str | None = None

    def to_metadata(self) -> dict[str, Any]:
        return {
            "instruction_type": self.instruction_type,
            "answer_position": self.answer_position,
            "cases": [{"index": c.index, "input": str(c.input), "answer": str(c.answer)} for c in self.cases],
        }

    @classmethod
    def from_metadata(cls, sample_id: str, instruction: str, meta: dict[str, Any]) -> SheetTask:
        cases = [TestCase(c["index"], Path(c["input"]), Path(c["answer"])) for c in meta["cases"]]
        return cls(sample_id, instruction, meta["instruction_type"], meta["answer_position"], cases)


def find_cases(folder: Path, task_id: str) -> list[TestCase]:
    for input_tag, answer_tag in LAYOUTS:
        pattern = re.compile(rf"^(\d+)_{re.escape(task_id)}_{input_tag}\.xlsx$")
        indexes = sorted(int(m.group(1)) for p in folder.glob("*.xlsx") if (m := pattern.match(p.name)))
        if not indexes:
            continue
        cases = []
        for k in indexes:
            answer = folder / f"{k}_{task_id}_{answer_tag}.xlsx"
            if not answer.is_file():
                raise DataError(f"task {task_id}: {answer} is missing (test case {k} has an input but no answer)")
            cases.append(TestCase(k, folder / f"{k}_{task_id}_{input_tag}.xlsx", answer))
        return cases
    raise DataError(f"task {task_id}: no test cases in {folder} "
                    f"(expected <k>_{task_id}_input.xlsx/_answer.xlsx or _init.xlsx/_golden.xlsx)")


def load_dataset_dir(root: Path) -> list[SheetTask]:
    manifest = root / "dataset.json"
    if not manifest.is_file():
        raise DataError(f"{root} is not a SpreadsheetBench directory: no dataset.json")
    entries = read_json(manifest)
    if not isinstance(entries, list):
        raise DataError(f"{manifest}: expected a list of tasks")
    tasks = []
    for i, entry in enumerate(entries):
        where = f"{manifest} task {i}"
        if not isinstance(entry, dict):
            raise DataError(f"{where}: expected an object")
        for key in ("id", "instruction", "answer_position"):
            if not entry.get(key):
                raise DataError(f"{where} ({entry.get('id', 'no id')}): missing field {key!r}")
            if not isinstance(entry[key], (str, int)) or isinstance(entry[key], bool):
                raise DataError(f"{where} ({entry.get('id')}): field {key!r} must be text, "
                                f"got {type(entry[key]).__name__}")
        task_id = str(entry["id"])
        try:
            parse_answer_position(str(entry["answer_position"]))
        except DataError as e:
            raise DataError(f"task {task_id}: {e}") from None
        folder = root / entry.get("spreadsheet_path", f"spreadsheet/{task_id}")
        if not folder.is_dir():
            raise DataError(f"task {task_id}: folder {folder} does not exist")
        tasks.append(SheetTask(
            id=task_id,
            instruction=str(entry["instruction"]).strip(),
            instruction_type=str(entry.get("instruction_type", "")),
            answer_position=str(entry["answer_position"]),
            cases=find_cases(folder, task_id),
            solution_code=entry.get("solution_code"),
        ))
    if not tasks:
        raise DataError(f"{manifest} lists no tasks")
    return tasks
