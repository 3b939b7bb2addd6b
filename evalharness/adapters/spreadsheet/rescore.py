"""Scoring existing output workbooks (``<k>_<id>_output.xlsx``) without running a model.

For outputs produced elsewhere (another harness, SpreadsheetBench's own inference scripts). The results
go to an ordinary run directory, so the reporter can compare them with any other run.
"""

from __future__ import annotations

import time
from pathlib import Path

from evalharness.adapters.spreadsheet.bounded import Comparison, WorkbookBounds, compare_outputs
from evalharness.adapters.spreadsheet.layout import SheetTask, load_dataset_dir
from evalharness.errors import DataError
from evalharness.types import Episode, SampleResult, Score

DOMAIN = "spreadsheet"


def find_output(outputs: Path, task: SheetTask, index: int) -> Path | None:
    name = f"{index}_{task.id}_output.xlsx"
    for candidate in (outputs / name, outputs / task.id / name):
        if candidate.is_file():
            return candidate
    return None


def rescore(dataset: Path, outputs: Path) -> list[SampleResult]:
    """One reader process for all outputs (see bounded.py); a task's duration is its outputs' reading time."""
    if not outputs.is_dir():
        raise DataError(f"--outputs {outputs} is not a directory")
    tasks = load_dataset_dir(dataset)
    paths = {(task.id, case.index): find_output(outputs, task, case.index)
             for task in tasks for case in task.cases}
    started = time.time()
    compared = iter(compare_outputs([Comparison(case.answer, paths[task.id, case.index], task.answer_position)
                                     for task in tasks for case in task.cases], WorkbookBounds()))
    results = []
    for task in tasks:
        cases, duration = [], 0.0
        for case in task.cases:
            result, seconds = next(compared)
            path = paths[task.id, case.index]
            cases.append({"case": case.index, "output": str(path) if path else None, **result.to_dict()})
            duration += seconds
        passed = sum(1 for c in cases if c["passed"])
        details = {"cases": cases, "instruction_type": task.instruction_type}
        results.append(SampleResult(
            task="spreadsheet", sample_id=task.id, epoch=1, domain=DOMAIN, target=task.answer_position,
            episode=Episode(), error=None, started_at=started, duration=duration,
            scores=[Score(passed / len(cases), DOMAIN, "soft_restriction", details),
                    Score(1.0 if passed == len(cases) else 0.0, DOMAIN, "hard_restriction", {})],
        ))
    return results
