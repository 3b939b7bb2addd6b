"""Reading SpreadsheetBench-format directories: both file layouts, any number of test cases, every data
problem as a DataError that names the task and the file, and the real 40-task dataset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalharness.adapters.spreadsheet import layout
from evalharness.adapters.spreadsheet.layout import SheetTask, find_cases, load_dataset_dir
from evalharness.errors import DataError
from tests.adapters.spreadsheet.support import (
    REAL_DATASET,
    entry,
    real_entries,
    workbook,
    write_cases,
    write_dataset,
)


def pair(value: int) -> tuple:
    return workbook({"S": {"A1": value}}), workbook({"S": {"A1": value, "B1": value * 2}})


@pytest.mark.parametrize("n", [1, 2, 4])
def test_original_layout_with_any_number_of_cases(tmp_path: Path, n: int) -> None:
    folder = write_cases(tmp_path, "t-1", {k: pair(k) for k in range(1, n + 1)})
    write_dataset(tmp_path, [entry("t-1", "B1")])
    [task] = load_dataset_dir(tmp_path)
    assert [c.index for c in task.cases] == list(range(1, n + 1))
    for c in task.cases:
        assert c.input == folder / f"{c.index}_t-1_input.xlsx" and c.input.is_file()
        assert c.answer == folder / f"{c.index}_t-1_answer.xlsx" and c.answer.is_file()


def test_cases_are_in_numeric_order(tmp_path: Path) -> None:
    write_cases(tmp_path, "t", {k: pair(k) for k in (10, 2, 1)})
    assert [c.index for c in find_cases(tmp_path / "spreadsheet" / "t", "t")] == [1, 2, 10]


def test_verified_layout(tmp_path: Path) -> None:
    folder = write_cases(tmp_path, "v-7", {1: pair(1)}, tags=("init", "golden"))
    write_dataset(tmp_path, [entry("v-7", "'S'!B1")])
    [task] = load_dataset_dir(tmp_path)
    assert task.cases == [layout.TestCase(1, folder / "1_v-7_init.xlsx", folder / "1_v-7_golden.xlsx")]


def test_unrelated_files_are_ignored(tmp_path: Path) -> None:
    folder = write_cases(tmp_path, "t", {1: pair(1), 2: pair(2)})
    for name in ("1_other_input.xlsx", "notes.xlsx", "1_t_output.xlsx", "x_t_input.xlsx"):
        (folder / name).write_bytes(b"")
    (folder / "3_t_input.xlsx.bak").write_bytes(b"")
    assert [c.index for c in find_cases(folder, "t")] == [1, 2]


def test_an_input_without_its_answer_names_the_task_and_the_file(tmp_path: Path) -> None:
    folder = write_cases(tmp_path, "t-9", {1: pair(1), 2: pair(2)})
    (folder / "2_t-9_answer.xlsx").unlink()
    write_dataset(tmp_path, [entry("t-9", "B1")])
    with pytest.raises(DataError) as info:
        load_dataset_dir(tmp_path)
    assert "task t-9" in str(info.value) and "2_t-9_answer.xlsx" in str(info.value)


def test_a_verified_init_without_golden_names_the_file(tmp_path: Path) -> None:
    folder = write_cases(tmp_path, "v", {1: pair(1)}, tags=("init", "golden"))
    (folder / "1_v_golden.xlsx").unlink()
    with pytest.raises(DataError, match="1_v_golden.xlsx"):
        find_cases(folder, "v")


@pytest.mark.parametrize("files", [[], ["notes.xlsx", "1_t_answer.xlsx", "1_other_input.xlsx"]],
                         ids=["empty-folder", "no-inputs"])
def test_no_cases_is_a_data_error_naming_the_task(tmp_path: Path, files: list[str]) -> None:
    folder = tmp_path / "spreadsheet" / "t"
    folder.mkdir(parents=True)
    for name in files:
        (folder / name).write_bytes(b"")
    write_dataset(tmp_path, [entry("t", "B1")])
    with pytest.raises(DataError, match=r"task t: no test cases in .*spreadsheet/t"):
        load_dataset_dir(tmp_path)


def test_a_missing_task_folder_names_the_task(tmp_path: Path) -> None:
    write_dataset(tmp_path, [entry("gone", "B1")])
    with pytest.raises(DataError, match=r"task gone: folder .*spreadsheet/gone does not exist"):
        load_dataset_dir(tmp_path)


def test_missing_dataset_json(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no dataset.json"):
        load_dataset_dir(tmp_path)


def test_invalid_json_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "dataset.json").write_text('[\n  {"id": "t",\n   "instruction": oops}\n]\n', encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_dataset_dir(tmp_path)
    assert f"{tmp_path / 'dataset.json'}:3:" in str(info.value) and "not valid JSON" in str(info.value)


@pytest.mark.parametrize("content", ['{"id": "t"}', '"tasks"', "[]"], ids=["object", "string", "empty"])
def test_a_manifest_that_is_not_a_list_of_tasks(tmp_path: Path, content: str) -> None:
    (tmp_path / "dataset.json").write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match="dataset.json"):
        load_dataset_dir(tmp_path)


def test_a_task_that_is_not_an_object(tmp_path: Path) -> None:
    write_cases(tmp_path, "t", {1: pair(1)})
    write_dataset(tmp_path, [entry("t", "B1"), "t2"])
    with pytest.raises(DataError, match="task 1: expected an object"):
        load_dataset_dir(tmp_path)


@pytest.mark.parametrize("field", ["id", "instruction", "answer_position"])
@pytest.mark.parametrize("how", ["absent", "empty"])
def test_missing_fields_are_named(tmp_path: Path, field: str, how: str) -> None:
    write_cases(tmp_path, "t", {1: pair(1)})
    bad = entry("t", "B1")
    if how == "absent":
        del bad[field]
    else:
        bad[field] = ""
    write_dataset(tmp_path, [entry("t", "B1"), bad])
    with pytest.raises(DataError) as info:
        load_dataset_dir(tmp_path)
    message = str(info.value)
    assert f"missing field {field!r}" in message and "task 1" in message
    if field != "id":
        assert "(t)" in message  # and the task's id when there is one


def test_an_answer_position_that_does_not_parse_names_the_task(tmp_path: Path) -> None:
    write_cases(tmp_path, "ok", {1: pair(1)})
    write_cases(tmp_path, "broken-7", {1: pair(1)})
    write_dataset(tmp_path, [entry("ok", "B1"), entry("broken-7", "'Sheet1'!the totals")])
    with pytest.raises(DataError) as info:
        load_dataset_dir(tmp_path)
    assert str(info.value).startswith("task broken-7:") and "the totals" in str(info.value)


def test_optional_fields_and_defaults(tmp_path: Path) -> None:
    write_cases(tmp_path, "12345", {1: pair(1)})
    minimal = {"id": 12345, "instruction": "  Fill B1.  \n", "answer_position": "B1"}  # numeric id, no path
    write_dataset(tmp_path, [minimal])
    [task] = load_dataset_dir(tmp_path)
    assert task.id == "12345" and task.instruction == "Fill B1."
    assert task.instruction_type == "" and task.solution_code is None
    assert task.cases[0].input == tmp_path / "spreadsheet" / "12345" / "1_12345_input.xlsx"


def test_solution_code_and_metadata_round_trip(tmp_path: Path) -> None:
    write_cases(tmp_path, "t", {1: pair(1), 2: pair(2)})
    write_dataset(tmp_path, [entry("t", "'S'!B1", solution_code="print(1)")])
    [task] = load_dataset_dir(tmp_path)
    assert task.solution_code == "print(1)"
    meta = json.loads(json.dumps(task.to_metadata()))  # what goes into the sample's metadata
    back = SheetTask.from_metadata(task.id, task.instruction, meta)
    assert back.cases == task.cases
    assert (back.answer_position, back.instruction_type) == (task.answer_position, task.instruction_type)


def test_the_real_dataset_has_40_tasks_of_3_cases() -> None:
    tasks = load_dataset_dir(REAL_DATASET)
    entries = real_entries()
    assert len(tasks) == 40
    assert [t.id for t in tasks] == [str(e["id"]) for e in entries]
    assert [t.answer_position for t in tasks] == [e["answer_position"] for e in entries]
    types = {t.instruction_type for t in tasks}
    assert types == {"Cell-Level Manipulation", "Sheet-Level Manipulation"}
    for task in tasks:
        assert [c.index for c in task.cases] == [1, 2, 3], task.id
        for c in task.cases:
            assert c.input.is_file() and c.answer.is_file()
            assert c.input.parent == REAL_DATASET / "spreadsheet" / task.id
            assert c.input.name == f"{c.index}_{task.id}_input.xlsx"
            assert c.answer.name == f"{c.index}_{task.id}_answer.xlsx"


def test_a_manifest_that_is_not_utf8_is_a_data_error(tmp_path: Path) -> None:
    (tmp_path / "dataset.json").write_text('[{"id": "t"}]', encoding="utf-16")
    with pytest.raises(DataError, match="not UTF-8 text"):
        load_dataset_dir(tmp_path)


def test_a_manifest_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    write_cases(tmp_path, "t", {1: pair(1)})
    (tmp_path / "dataset.json").write_text(json.dumps([entry("t", "B1")]), encoding="utf-8-sig")
    assert [t.id for t in load_dataset_dir(tmp_path)] == ["t"]


@pytest.mark.parametrize("value", [["A1"], {"range": "A1"}, True], ids=["list", "object", "bool"])
def test_a_field_that_is_not_text_is_named(tmp_path: Path, value: object) -> None:
    write_cases(tmp_path, "t", {1: pair(1)})
    bad = entry("t", "B1")
    bad["answer_position"] = value
    write_dataset(tmp_path, [bad])
    with pytest.raises(DataError, match="field 'answer_position' must be text"):
        load_dataset_dir(tmp_path)
