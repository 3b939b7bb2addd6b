"""The spreadsheet task end to end through the real Docker sandbox and the real `evalharness run` command.

Small datasets in SpreadsheetBench format are built in a temporary folder: one task, "double B from A",
with 3 test cases of different sizes. Each task's ``solution_code`` becomes the gold trajectory that
``--model scripted:gold`` plays in case 1; cases 2 and 3 are made by replaying it on their inputs.

Docker runs are expensive (containers from the office image, ~2 s per LibreOffice recalculation), so
each run is made once per test session and shared: the first test (on any xdist worker) that needs it
makes it under a file lock, the others read its run directory.
"""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from evalharness.store import load_run
from evalharness.types import SampleResult
from tests.adapters.spreadsheet.support import (
    assert_one_line_error,
    docker_lock,
    entry,
    file_lock,
    only_run_dir,
    run_dirs,
    workbook,
    write_cases,
    write_dataset,
    write_many_cells,
)
from tests.support.cli import evalharness
from tests.support.openai_server import ScriptedOpenAIServer

DATA = {1: [1, 2, 3], 2: [10, 20, 30, 40], 3: [7, 8, 9]}  # column A of each case; the answer is B = 2 * A
POSITION = "'Sheet1'!B2:B5"

_PROLOGUE = "from openpyxl import load_workbook\nwb = load_workbook('input.xlsx')\nws = wb['Sheet1']\n"
SOLUTIONS = {
    # values computed from the data: right on every case
    "values": _PROLOGUE + "for r in range(2, ws.max_row + 1):\n"
                          "    ws.cell(r, 2).value = ws.cell(r, 1).value * 2\n"
                          "wb.save('output.xlsx')\n",
    # formulas: right once something computes them
    "formulas": _PROLOGUE + "for r in range(2, ws.max_row + 1):\n    ws.cell(r, 2).value = f'=A{r}*2'\n"
                            "wb.save('output.xlsx')\n",
    # case 1's answers typed in: right on case 1 only
    "hardcoded": _PROLOGUE + "for r, v in zip(range(2, 5), [2, 4, 6]):\n    ws.cell(r, 2).value = v\n"
                             "wb.save('output.xlsx')\n",
}


def case_books(xs: list[int]) -> tuple[Any, Any]:
    rows = {"A1": "x", "B1": "y"}
    inputs = rows | {f"A{i}": x for i, x in enumerate(xs, start=2)}
    answers = inputs | {f"B{i}": 2 * x for i, x in enumerate(xs, start=2)}
    return workbook({"Sheet1": inputs}), workbook({"Sheet1": answers})


def make_dataset(root: Path, solutions: list[str]) -> Path:
    for name in solutions:
        write_cases(root, name, {k: case_books(xs) for k, xs in DATA.items()})
    return write_dataset(root, [entry(name, POSITION, solution_code=SOLUTIONS[name]) for name in solutions])


# --- runs shared across tests and xdist workers ----------------------------------------------------------


@pytest.fixture(scope="session")
def shared_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.getbasetemp()
    # Under xdist each worker has its own basetemp below one folder per session: share that folder.
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "spreadsheet-adapter-runs"


def shared_run(root: Path, name: str, solutions: list[str], *args: str) -> Path:
    """Make (once per session) a run over a dataset of the given solutions; return its run directory."""
    where = root / name
    with file_lock(root / f"{name}.lock"):
        if not (where / "done").exists():
            data, out = make_dataset(where / "data", solutions), where / "runs"
            with docker_lock():
                proc = evalharness("run", "--task", "spreadsheet", "--dataset", str(data),
                                   "--sandbox", "docker", "--out", str(out), "--no-progress", *args)
            (where / "done").write_text(json.dumps({"rc": proc.returncode, "out": proc.stdout + proc.stderr}))
        record = json.loads((where / "done").read_text())
    assert record["rc"] == 0, record["out"]
    assert "Traceback" not in record["out"]
    [run_dir] = run_dirs(where / "runs")
    return run_dir


def results_of(run_dir: Path) -> dict[str, SampleResult]:
    run = load_run(run_dir)
    assert run.manifest["status"] == "complete"
    return {r.sample_id: r for r in run.results}


def scores(result: SampleResult) -> dict[str, float]:
    assert result.error is None, result.error
    return {s.name: s.value for s in result.scores}


def cases(result: SampleResult) -> list[dict[str, Any]]:
    return result.scores[0].details["cases"]


def outputs_of(run_dir: Path, sample: str) -> dict[int, Path]:
    folder = run_dir / "artifacts" / "spreadsheet" / sample / "epoch-1"
    return {k: folder / f"{k}_{sample}_output.xlsx" for k in DATA}


def column_b(path: Path) -> list[Any]:
    ws = openpyxl.load_workbook(path, data_only=True)["Sheet1"]
    return [ws.cell(r, 2).value for r in range(2, 6)]


def doubled(k: int) -> list[Any]:
    return ([2 * x for x in DATA[k]] + [None] * 4)[:4]


@pytest.fixture(scope="session")
def gold_run(shared_root: Path) -> Path:
    return shared_run(shared_root, "gold", ["values", "formulas", "hardcoded"], "--model", "scripted:gold")


# --- the tests --------------------------------------------------------------------------------------------


def test_a_gold_solution_scores_one_and_later_cases_are_replayed(gold_run: Path) -> None:
    result = results_of(gold_run)["values"]
    assert scores(result) == {"soft_restriction": 1.0, "hard_restriction": 1.0}
    assert [(c["case"], c["made_by"], c["passed"], c["recalculated"]) for c in cases(result)] == [
        (1, "episode", True, False), (2, "replay", True, False), (3, "replay", True, False)]
    for c in cases(result):
        assert c["checked_cells"] == 4 and c["error"] is None and "replay_errors" not in c
    assert result.scores[0].details["replayed_cells"] == 1
    # The outputs are kept in the run directory, and each was computed from its own case's input.
    for k, path in outputs_of(gold_run, "values").items():
        assert path.is_file(), path
        assert column_b(path) == doubled(k)
    # The episode itself is recorded: the one python call succeeded in the sandbox.
    [call] = result.episode.tool_log
    assert call.name == "python" and not call.is_error


def test_formulas_count_once_recalculated(gold_run: Path) -> None:
    result = results_of(gold_run)["formulas"]
    assert scores(result) == {"soft_restriction": 1.0, "hard_restriction": 1.0}
    assert [(c["made_by"], c["recalculated"], c["passed"]) for c in cases(result)] == [
        ("episode", True, True), ("replay", True, True), ("replay", True, True)]
    for k, path in outputs_of(gold_run, "formulas").items():  # the kept outputs are the recalculated ones
        assert column_b(path) == doubled(k)


def test_formulas_without_recalculation_score_zero(shared_root: Path) -> None:
    run_dir = shared_run(shared_root, "no-recalc", ["formulas"], "--model", "scripted:gold",
                         "--opt", "recalculate=false")
    result = results_of(run_dir)["formulas"]
    assert scores(result) == {"soft_restriction": 0.0, "hard_restriction": 0.0}
    for c in cases(result):
        assert not c["passed"] and not c["recalculated"] and c["error"] is None
        # the formulas were written, but no cached values: the reference reading sees empty cells
        assert c["mismatch_count"] == len(DATA[c["case"]])
        assert all(m["got"] is None for m in c["mismatches"])
    path = outputs_of(run_dir, "formulas")[2]
    assert openpyxl.load_workbook(path)["Sheet1"]["B3"].value == "=A3*2"


def test_a_hardcoded_solution_passes_case_1_only(gold_run: Path) -> None:
    result = results_of(gold_run)["hardcoded"]
    assert scores(result) == {"soft_restriction": pytest.approx(1 / 3), "hard_restriction": 0.0}
    first, second, third = cases(result)
    assert first["passed"] and not second["passed"] and not third["passed"]
    assert [(m["cell"], m["expected"], m["got"]) for m in second["mismatches"]] == [
        ("B2", 20, 2), ("B3", 40, 4), ("B4", 60, 6), ("B5", 80, None)]
    assert [(m["cell"], m["expected"], m["got"]) for m in third["mismatches"]] == [
        ("B2", 14, 2), ("B3", 16, 4), ("B4", 18, 6)]


def test_scripted_wrong_copies_the_input_and_scores_what_the_input_matches(shared_root: Path) -> None:
    run_dir = shared_run(shared_root, "wrong", ["values"], "--model", "scripted:wrong")
    result = results_of(run_dir)["values"]
    assert scores(result) == {"soft_restriction": 0.0, "hard_restriction": 0.0}
    data = shared_root / "wrong" / "data" / "spreadsheet" / "values"
    for c in cases(result):
        k = c["case"]
        # the output is the input, byte for byte, and the input has nothing in column B
        assert outputs_of(run_dir, "values")[k].read_bytes() == (data / f"{k}_values_input.xlsx").read_bytes()
        assert not c["passed"] and c["error"] is None
        assert [(m["cell"], m["got"]) for m in c["mismatches"]] == [
            (f"B{r}", None) for r in range(2, 2 + len(DATA[k]))]


def never_writes(body: dict[str, Any]) -> dict[str, Any]:
    """A model that looks at the workbook with the python tool, then stops without writing output.xlsx."""
    if body["messages"][-1]["role"] == "tool":
        return {"role": "assistant", "content": "I had a look; nothing to write."}
    code = "import openpyxl\nprint('sheets:', openpyxl.load_workbook('input.xlsx').sheetnames)"
    return {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_0", "type": "function",
         "function": {"name": "python", "arguments": json.dumps({"code": code})}}]}


def test_a_model_that_never_writes_the_output_scores_zero(tmp_path: Path) -> None:
    data = make_dataset(tmp_path / "data", ["values"])
    with ScriptedOpenAIServer(policy=never_writes) as server, docker_lock():
        proc = evalharness("run", "--task", "spreadsheet", "--dataset", str(data), "--sandbox", "docker",
                           "--model", "openai:scripted-model", "--base-url", server.base_url,
                           "--out", str(tmp_path / "runs"), "--no-progress")
        bodies = list(server.log.bodies)
    run_dir = only_run_dir(proc, tmp_path / "runs")
    result = results_of(run_dir)["values"]
    assert scores(result) == {"soft_restriction": 0.0, "hard_restriction": 0.0}
    assert [(c["case"], c["made_by"], c["passed"], c["error"]) for c in cases(result)] == [
        (1, "episode", False, "no output workbook"), (2, "replay", False, "no output workbook"),
        (3, "replay", False, "no output workbook")]
    assert result.scores[0].details["replayed_cells"] == 1
    assert not any(p.exists() for p in outputs_of(run_dir, "values").values())
    # the model's code really ran in the sandbox, on case 1's input
    assert len(bodies) == 2
    tool_message = bodies[1]["messages"][-1]
    assert tool_message["role"] == "tool" and "sheets: ['Sheet1']" in tool_message["content"]


def test_an_output_past_the_bounds_scores_zero_with_the_reason(tmp_path: Path) -> None:
    """A million-cell output is the model's doing: every case fails, saying why, and nothing errors."""
    solution = inspect.getsource(write_many_cells) + "\nwrite_many_cells('output.xlsx', rows=100_000)\n"
    write_cases(tmp_path / "data", "million", {k: case_books(xs) for k, xs in DATA.items()})
    data = write_dataset(tmp_path / "data", [entry("million", POSITION, solution_code=solution)])
    with docker_lock():
        proc = evalharness("run", "--task", "spreadsheet", "--dataset", str(data), "--sandbox", "docker",
                           "--model", "scripted:gold", "--out", str(tmp_path / "runs"), "--no-progress")
    run_dir = only_run_dir(proc, tmp_path / "runs")
    result = results_of(run_dir)["million"]
    assert scores(result) == {"soft_restriction": 0.0, "hard_restriction": 0.0}
    refused = "output workbook refused: it has more than the 250,000 cells allowed"
    assert [(c["case"], c["passed"], c["error"], c["refused"], c["recalculated"]) for c in cases(result)] == [
        (k, False, refused, refused, False) for k in DATA]
    assert all(p.stat().st_size > 1 << 20 for p in outputs_of(run_dir, "million").values())  # kept as made


# --- bad input: one line, exit 2, nothing created ---------------------------------------------------------


def _folder_without_xlsx(root: Path) -> list[str]:
    (root / "spreadsheet" / "empty-7").mkdir(parents=True)
    (root / "spreadsheet" / "empty-7" / "readme.txt").write_text("no workbooks here")
    write_dataset(root, [entry("empty-7", POSITION)])
    return ["task empty-7", "no test cases", "spreadsheet/empty-7"]


def _corrupt_manifest(root: Path) -> list[str]:
    root.mkdir(parents=True)
    (root / "dataset.json").write_text('[\n {"id": "t",\n  "instruction": "x",,\n}]\n', encoding="utf-8")
    return [f"{root / 'dataset.json'}:3:", "not valid JSON"]


def _bad_position(root: Path) -> list[str]:
    write_cases(root, "values", {k: case_books(xs) for k, xs in DATA.items()})
    write_cases(root, "pos-3", {k: case_books(xs) for k, xs in DATA.items()})
    write_dataset(root, [entry("values", POSITION), entry("pos-3", "'Sheet1'!B2 to B5")])
    return ["task pos-3", "answer_position", "B2 to B5"]


@pytest.mark.parametrize("make", [_folder_without_xlsx, _corrupt_manifest, _bad_position],
                         ids=["folder-without-xlsx", "corrupt-dataset-json", "bad-answer-position"])
def test_bad_data_is_one_line_and_exit_2(tmp_path: Path, make: Callable[[Path], list[str]]) -> None:
    fragments = make(tmp_path / "data")
    proc = evalharness("run", "--model", "scripted:gold", "--task", "spreadsheet", "--dataset",
                       str(tmp_path / "data"), "--sandbox", "docker", "--out", str(tmp_path / "runs"))
    assert_one_line_error(proc, *fragments)
    assert run_dirs(tmp_path / "runs") == []
