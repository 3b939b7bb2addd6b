"""Reading a SpreadsheetBench-format directory.

``dataset.json`` lists tasks (``id``, ``instruction``, ``instruction_type``, ``answer_position``,
``spreadsheet_path``); each task folder holds its test cases, in one of two layouts:

- original: ``<k>_<id>_input.xlsx`` + ``<k>_<id>_answer.xlsx`` for k = 1..n
- Verified: ``<k>_<id>_init.xlsx`` + ``<k>_<id>_golden.xlsx``

The layout and the number of cases are detected per task, and every case's two workbooks are checked
when the dataset is loaded; problems name the task and the file.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl

from evalharness.adapters.spreadsheet.compare import parse_answer_position
from evalharness.datasets import read_json
from evalharness.errors import DataError

LAYOUTS = (("input", "answer"), ("init", "golden"))
MAX_WORKBOOK_BYTES = 2 << 30  # uncompressed; far beyond any benchmark workbook, short of exhausting memory


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
    """The test cases of a task folder; a case with only one of its two files is an error naming the
    missing file (all such files, not just the first)."""
    cases, problems = _case_files(folder, task_id)
    if problems:
        raise DataError("\n".join(problems))
    return cases


def _case_files(folder: Path, task_id: str) -> tuple[list[TestCase], list[str]]:
    """The complete test cases, and a problem for each file missing from the others."""
    names = [p.name for p in folder.glob("*.xlsx") if p.is_file()]
    for input_tag, answer_tag in LAYOUTS:
        inputs = _case_indexes(names, task_id, input_tag)
        answers = _case_indexes(names, task_id, answer_tag)
        if not inputs and not answers:
            continue
        problems = [f"task {task_id}: {folder / f'{k}_{task_id}_{answer_tag}.xlsx'} is missing "
                    f"(test case {k} has an input but no answer)" for k in sorted(inputs - answers)]
        problems += [f"task {task_id}: {folder / f'{k}_{task_id}_{input_tag}.xlsx'} is missing "
                     f"(test case {k} has an answer but no input)" for k in sorted(answers - inputs)]
        cases = [TestCase(k, folder / f"{k}_{task_id}_{input_tag}.xlsx",
                          folder / f"{k}_{task_id}_{answer_tag}.xlsx") for k in sorted(inputs & answers)]
        return cases, problems
    raise DataError(f"task {task_id}: no test cases in {folder} "
                    f"(expected <k>_{task_id}_input.xlsx/_answer.xlsx or _init.xlsx/_golden.xlsx)")


def _case_indexes(names: list[str], task_id: str, tag: str) -> set[int]:
    """The k of every ``<k>_<id>_<tag>.xlsx`` among ``names``."""
    pattern = re.compile(rf"^(\d+)_{re.escape(task_id)}_{tag}\.xlsx$")
    return {int(m.group(1)) for name in names if (m := pattern.match(name))}


def workbook_problem(path: Path) -> str | None:
    """Why ``path`` cannot serve as a workbook, or None. Cheap (a few ms): the zip's directory and
    checksums, then openpyxl's read-only open, which reads the workbook's parts and styles but no cells.
    Bounded: an archive that would expand beyond MAX_WORKBOOK_BYTES is not unpacked."""
    try:
        with zipfile.ZipFile(path) as archive:
            size = sum(info.file_size for info in archive.infolist())
            if size > MAX_WORKBOOK_BYTES:
                return (f"expands to {size:,} bytes, more than the {MAX_WORKBOOK_BYTES:,} "
                        "a workbook may hold here")
            damaged = archive.testzip()
    except (zipfile.BadZipFile, zlib.error, EOFError) as e:
        return f"not an .xlsx workbook ({e})"
    except OSError as e:
        return f"cannot be read ({e.strerror})"
    if damaged is not None:
        return f"its part {damaged} is damaged (checksum mismatch)"
    try:
        book = openpyxl.load_workbook(path, read_only=True)
    except Exception as e:  # openpyxl reports a malformed part with whatever its parser raised
        return f"cannot be opened as a workbook ({type(e).__name__}: {e})"
    book.close()
    return None


def _case_problems(task_id: str, cases: list[TestCase]) -> list[str]:
    return [f"task {task_id}: {path}: {problem}" for case in cases for path in (case.input, case.answer)
            if (problem := workbook_problem(path))]


def _load_task(root: Path, manifest: Path, i: int, entry: Any) -> SheetTask:
    """One entry of dataset.json with its checked test cases; DataError lists everything wrong with it."""
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
    cases, problems = _case_files(folder, task_id)
    if problems := problems + _case_problems(task_id, cases):
        raise DataError("\n".join(problems))
    return SheetTask(
        id=task_id,
        instruction=str(entry["instruction"]).strip(),
        instruction_type=str(entry.get("instruction_type", "")),
        answer_position=str(entry["answer_position"]),
        cases=cases,
        solution_code=entry.get("solution_code"),
    )


def load_dataset_dir(root: Path) -> list[SheetTask]:
    """Every task of a dataset, its files checked before any sample runs: a missing or unreadable input
    would otherwise be blamed on the model, and an unreadable answer found only when scoring. All problems
    of all tasks are reported together, one per line."""
    manifest = root / "dataset.json"
    if not manifest.is_file():
        raise DataError(f"{root} is not a SpreadsheetBench directory: no dataset.json")
    entries = read_json(manifest)
    if not isinstance(entries, list):
        raise DataError(f"{manifest}: expected a list of tasks")
    tasks, problems = [], []
    for i, entry in enumerate(entries):
        try:
            tasks.append(_load_task(root, manifest, i, entry))
        except DataError as e:
            problems.append(str(e))
    if problems:
        raise DataError("\n".join(problems))
    if not tasks:
        raise DataError(f"{manifest} lists no tasks")
    return tasks
