"""`evalharness score spreadsheet` on the real SpreadsheetBench data (40 tasks x 3 cases), as a user runs it.

The outputs folders are made of symbolic links to the real files (the data is read in place, never copied).
The untouched inputs are checked against an independent cell-by-cell reading written here from the
SpreadsheetBench rules, not from evalharness's comparator.
"""

from __future__ import annotations

import datetime as dt
import os
import warnings
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.utils.cell import range_boundaries

from evalharness.store import load_run
from evalharness.types import SampleResult
from tests.adapters.spreadsheet.support import (
    REAL_DATASET,
    assert_one_line_error,
    only_run_dir,
    real_entries,
    run_dirs,
)
from tests.support.cli import evalharness

CASES = (1, 2, 3)


def link_outputs(outputs: Path, kind: str, skip: AbstractSet[tuple[str, int]] = frozenset(),
                 in_subfolder: AbstractSet[str] = frozenset()) -> None:
    """``<k>_<id>_output.xlsx`` -> the real ``<k>_<id>_<kind>.xlsx``, for every task and case not skipped."""
    outputs.mkdir(parents=True, exist_ok=True)
    for e in real_entries():
        task_id = str(e["id"])
        for k in CASES:
            if (task_id, k) in skip:
                continue
            folder = outputs / task_id if task_id in in_subfolder else outputs
            folder.mkdir(exist_ok=True)
            os.symlink(REAL_DATASET / e["spreadsheet_path"] / f"{k}_{task_id}_{kind}.xlsx",
                       folder / f"{k}_{task_id}_output.xlsx")


def score(outputs: Path, out: Path) -> tuple[dict[str, SampleResult], str]:
    proc = evalharness("score", "spreadsheet", "--dataset", str(REAL_DATASET), "--outputs", str(outputs),
                       "--out", str(out))
    run = load_run(only_run_dir(proc, out))
    assert run.manifest["status"] == "complete"
    results = {r.sample_id: r for r in run.results}
    assert list(results) == [str(e["id"]) for e in real_entries()]
    return results, proc.stdout


def scores(result: SampleResult) -> dict[str, float]:
    return {s.name: s.value for s in result.scores}


def cases(result: SampleResult) -> dict[int, dict[str, Any]]:
    return {c["case"]: c for c in result.scores[0].details["cases"]}


def test_answers_as_outputs_score_one_on_every_task(tmp_path: Path) -> None:
    link_outputs(tmp_path / "outputs", "answer")
    results, stdout = score(tmp_path / "outputs", tmp_path / "runs")
    assert len(results) == 40
    for task_id, r in results.items():
        assert scores(r) == {"soft_restriction": 1.0, "hard_restriction": 1.0}, task_id
        assert r.error is None and r.domain == "spreadsheet"
        assert sorted(cases(r)) == list(CASES)
        for c in cases(r).values():
            assert c["passed"] and c["error"] is None and c["mismatch_count"] == 0, (task_id, c)
            assert c["checked_cells"] > 0
            assert c["output"].endswith(f"{c['case']}_{task_id}_output.xlsx")
    assert "hard restriction (all cases pass): 1.000 over 40 tasks" in stdout


# --- an independent reading of the SpreadsheetBench rules ------------------------------------------------

EXCEL_DAY_ZERO = dt.datetime(1899, 12, 30)
EMPTY = ("empty",)


def spec_value(v: Any) -> tuple:
    """A cell value as SpreadsheetBench compares it, tagged with its kind: numbers (and numeric text)
    rounded to 2 decimals, date-times as the Excel serial day rounded to a whole day, dates as the serial
    day, times as HH:MM, "" the same as an empty cell; values of different kinds never match."""
    if v is None or v == "":
        return EMPTY
    if isinstance(v, (bool, int, float)):
        return ("number", round(float(v), 2))
    if isinstance(v, dt.datetime):
        delta = v - EXCEL_DAY_ZERO
        return ("number", round(delta.days + delta.seconds / 86400, 0))
    if isinstance(v, dt.date):
        return ("number", float(v.toordinal() - EXCEL_DAY_ZERO.date().toordinal()))
    if isinstance(v, dt.time):
        return ("text", f"{v.hour:02d}:{v.minute:02d}")
    if isinstance(v, str):
        try:
            return ("number", round(float(v), 2))
        except ValueError:
            return ("text", v)
    return ("other", type(v).__name__, v)


def spec_ranges(answer_position: str) -> list[tuple[str | None, str]]:
    """(sheet or None, range) for each comma-separated part; stray quotes around either side dropped."""
    out = []
    for part in answer_position.split(","):
        sheet, bang, rng = part.strip().rpartition("!")
        out.append((sheet.strip("'") if bang else None, rng.strip("'")))
    return out


def independent_check(answer: Path, output: Path, answer_position: str) -> tuple[bool, int, int]:
    """(passed, cells compared, cells that differ)."""
    with warnings.catch_warnings():  # real files carry extensions openpyxl drops with a warning
        warnings.simplefilter("ignore", UserWarning)
        expected_wb = openpyxl.load_workbook(answer, data_only=True)
        got_wb = openpyxl.load_workbook(output, data_only=True)
    passed, compared, differ = True, 0, 0
    for sheet, rng in spec_ranges(answer_position):
        sheet = sheet or expected_wb.sheetnames[0]
        if sheet not in got_wb.sheetnames:
            passed = False
            continue
        min_col, min_row, max_col, max_row = range_boundaries(rng)
        bounds = {"min_row": min_row, "max_row": max_row, "min_col": min_col, "max_col": max_col,
                  "values_only": True}
        rows = zip(expected_wb[sheet].iter_rows(**bounds), got_wb[sheet].iter_rows(**bounds), strict=True)
        for want_row, got_row in rows:
            for want, got in zip(want_row, got_row, strict=True):
                compared += 1
                if spec_value(want) != spec_value(got):
                    differ += 1
                    passed = False
    return passed, compared, differ


def test_untouched_inputs_score_what_an_independent_reading_says(tmp_path: Path) -> None:
    """Measured on the real data (40 tasks): the untouched input already matches the answer in 14 of the
    120 cases -- all 3 cases of 207-25, 534-40, CF_4909 and CF_16840 (hard restriction 4/40 = 0.100) and
    cases 1 and 2 of 31420 -- so the mean soft score is 14/120 = 0.117."""
    link_outputs(tmp_path / "outputs", "input")
    results, stdout = score(tmp_path / "outputs", tmp_path / "runs")
    passing_cases: list[tuple[str, int]] = []
    for e in real_entries():
        task_id = str(e["id"])
        r = results[task_id]
        folder = REAL_DATASET / e["spreadsheet_path"]
        passed_here = 0
        for k in CASES:
            expected = independent_check(folder / f"{k}_{task_id}_answer.xlsx",
                                         folder / f"{k}_{task_id}_input.xlsx", e["answer_position"])
            c = cases(r)[k]
            assert (c["passed"], c["checked_cells"], c["mismatch_count"]) == expected, (task_id, k, c)
            assert c["error"] is None
            if expected[0]:
                passing_cases.append((task_id, k))
                passed_here += 1
        assert scores(r) == {"soft_restriction": passed_here / 3, "hard_restriction": float(passed_here == 3)}
    hard = {t for t, _ in passing_cases if all((t, k) in passing_cases for k in CASES)}
    assert len(passing_cases) == 14
    assert hard == {"207-25", "534-40", "CF_4909", "CF_16840"}
    assert sorted(k for t, k in passing_cases if t == "31420") == [1, 2]
    assert "hard restriction (all cases pass): 0.100 over 40 tasks" in stdout


def test_the_independent_reading_sees_real_differences() -> None:
    """The checker above is not vacuous: on real files it finds the known differences and agreements."""
    folder = REAL_DATASET / "spreadsheet" / "15829"
    answer, untouched = folder / "1_15829_answer.xlsx", folder / "1_15829_input.xlsx"
    assert independent_check(answer, untouched, "B3") == (False, 1, 1)
    assert independent_check(answer, answer, "B3") == (True, 1, 0)
    assert spec_ranges("'99250!A1:F9','99251!A1:F9'") == [("99250", "A1:F9"), ("99251", "A1:F9")]
    assert spec_ranges("'CS!'B1:B8,B2") == [("CS", "B1:B8"), (None, "B2")]
    assert spec_value("3.50") == spec_value(3.5) != spec_value("3.5x")
    morning, afternoon = dt.datetime(2024, 1, 1, 9), dt.datetime(2024, 1, 1, 15)
    assert spec_value(morning) == spec_value(45292) != spec_value(afternoon)


def test_a_missing_outputs_folder_is_one_line_and_exit_2(tmp_path: Path) -> None:
    proc = evalharness("score", "spreadsheet", "--dataset", str(REAL_DATASET), "--outputs",
                       str(tmp_path / "nowhere"), "--out", str(tmp_path / "runs"))
    assert_one_line_error(proc, "--outputs", "nowhere", "is not a directory")
    assert run_dirs(tmp_path / "runs") == []


def test_missing_outputs_fail_those_cases(tmp_path: Path) -> None:
    """No outputs at all for 15829, none for case 2 of 260-16, and 34180's outputs in a folder of its own
    (``<outputs>/<id>/``, which is also where they are looked for); every other task gets its answers."""
    skip = {("15829", k) for k in CASES} | {("260-16", 2)}
    link_outputs(tmp_path / "outputs", "answer", skip=skip, in_subfolder={"34180"})
    results, stdout = score(tmp_path / "outputs", tmp_path / "runs")
    for k, c in cases(results["15829"]).items():
        assert (c["passed"], c["error"], c["output"], c["checked_cells"]) == (
            False, "no output workbook", None, 0), k
    assert scores(results["15829"]) == {"soft_restriction": 0.0, "hard_restriction": 0.0}
    partial = cases(results["260-16"])
    assert [partial[k]["passed"] for k in CASES] == [True, False, True]
    assert partial[2]["error"] == "no output workbook"
    assert scores(results["260-16"]) == {"soft_restriction": 2 / 3, "hard_restriction": 0.0}
    for c in cases(results["34180"]).values():
        assert c["output"].endswith(f"34180/{c['case']}_34180_output.xlsx")
    others = [r for task_id, r in results.items() if task_id not in {"15829", "260-16"}]
    assert len(others) == 38
    assert all(scores(r) == {"soft_restriction": 1.0, "hard_restriction": 1.0} for r in others)
    assert "no output workbook" in stdout  # the per-task table says why
    assert "hard restriction (all cases pass): 0.950 over 40 tasks" in stdout
