"""Reading SpreadsheetBench-format directories: both file layouts, any number of test cases, every data
problem as a DataError that names the task and the file, and the real 40-task dataset."""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import subprocess
import zipfile
from pathlib import Path

import pytest

from evalharness.adapters.spreadsheet import layout
from evalharness.adapters.spreadsheet.layout import SheetTask, find_cases, load_dataset_dir
from evalharness.errors import DataError
from tests.adapters.spreadsheet.support import (
    REAL_DATASET,
    entry,
    real_entries,
    run_dirs,
    to_bytes,
    workbook,
    write_cases,
    write_dataset,
)
from tests.support.cli import evalharness


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


@pytest.mark.parametrize("files", [[], ["notes.xlsx", "1_t_output.xlsx", "1_other_input.xlsx"]],
                         ids=["empty-folder", "no-case-files"])
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


def test_a_bad_byte_in_the_manifest_is_named_by_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "dataset.json").write_bytes(b'[\n  {"id": "t",\n   "instruction": "caf\xe9"}\n]\n')
    with pytest.raises(DataError) as info:
        load_dataset_dir(tmp_path)
    assert str(info.value) == (f"{tmp_path / 'dataset.json'}:3: not UTF-8 text (byte 0xe9 at column 23); "
                               "save the file as UTF-8")


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


# --- every case's files present and readable, checked before the run ----------------------------------------


def test_an_answer_without_its_input_names_the_task_and_the_file(tmp_path: Path) -> None:
    folder = write_cases(tmp_path, "t-4", {1: pair(1), 2: pair(2), 3: pair(3)})
    (folder / "1_t-4_input.xlsx").unlink()
    write_dataset(tmp_path, [entry("t-4", "B1")])
    with pytest.raises(DataError) as info:
        load_dataset_dir(tmp_path)
    assert str(info.value) == (f"task t-4: {folder / '1_t-4_input.xlsx'} is missing "
                               "(test case 1 has an answer but no input)")


def _rezip(source: bytes, parts: dict[str, bytes | None]) -> bytes:
    """``source`` (an .xlsx) with some parts' content replaced, or left out where the new content is None."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source)) as old, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            content = parts.get(info.filename, old.read(info.filename))
            if content is not None:
                new.writestr(info, content)
    return out.getvalue()


def _flip_a_byte_of(part: str, source: bytes) -> bytes:
    """``source`` with one byte of ``part``'s compressed data changed; the zip's directory stays intact."""
    with zipfile.ZipFile(io.BytesIO(source)) as archive:
        info = archive.getinfo(part)
    at = info.header_offset
    name_length = int.from_bytes(source[at + 26:at + 28], "little")
    extra_length = int.from_bytes(source[at + 28:at + 30], "little")
    middle = at + 30 + name_length + extra_length + info.compress_size // 2
    return source[:middle] + bytes([source[middle] ^ 0xFF]) + source[middle + 1:]


GOOD = to_bytes(workbook({"S": {"A1": 1, "B1": 2}}))
DAMAGE = {
    "not-a-zip": (b"this is not a workbook", "not an .xlsx workbook"),
    "truncated": (GOOD[: len(GOOD) // 2], "not an .xlsx workbook"),
    "empty": (b"", "not an .xlsx workbook"),
    "bad-checksum": (_flip_a_byte_of("xl/worksheets/sheet1.xml", GOOD),
                     "xl/worksheets/sheet1.xml is damaged"),
    "workbook-part-not-xml": (_rezip(GOOD, {"xl/workbook.xml": b"<workbook"}),
                              "cannot be opened as a workbook"),
    "no-workbook-part": (_rezip(GOOD, {"xl/workbook.xml": None}), "cannot be opened as a workbook"),
}


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
@pytest.mark.parametrize("role", ["input", "answer"])
def test_a_workbook_that_cannot_be_opened_names_the_task_and_the_file(tmp_path: Path, damage: str,
                                                                      role: str) -> None:
    folder = write_cases(tmp_path, "t-5", {1: pair(1), 2: pair(2)})
    content, problem = DAMAGE[damage]
    broken = folder / f"2_t-5_{role}.xlsx"
    broken.write_bytes(content)
    write_dataset(tmp_path, [entry("t-5", "B1")])
    with pytest.raises(DataError) as info:
        load_dataset_dir(tmp_path)
    [line] = str(info.value).splitlines()
    assert line.startswith(f"task t-5: {broken}: ") and problem in line


def test_a_workbook_that_expands_beyond_the_bound_is_not_unpacked(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write_cases(tmp_path, "t", {1: pair(1)})
    size = sum(i.file_size for i in zipfile.ZipFile(folder / "1_t_input.xlsx").infolist())
    monkeypatch.setattr(layout, "MAX_WORKBOOK_BYTES", size - 1)
    assert layout.workbook_problem(folder / "1_t_input.xlsx") == (
        f"expands to {size:,} bytes, more than the {size - 1:,} a workbook may hold here")


def test_every_data_problem_of_every_task_is_listed(tmp_path: Path) -> None:
    write_cases(tmp_path, "fine", {1: pair(1)})
    a = write_cases(tmp_path, "a", {1: pair(1), 2: pair(2)})
    (a / "1_a_input.xlsx").unlink()
    (a / "2_a_answer.xlsx").write_bytes(b"junk")
    write_cases(tmp_path, "b", {1: pair(1)})
    write_dataset(tmp_path, [entry("fine", "B1"), entry("a", "B1"), entry("b", "B1 to B5"),
                             entry("gone", "B1")])
    with pytest.raises(DataError) as info:
        load_dataset_dir(tmp_path)
    lines = str(info.value).splitlines()
    assert [line.split(":")[0] for line in lines] == ["task a", "task a", "task b", "task gone"]
    assert "1_a_input.xlsx is missing" in lines[0] and f"{a / '2_a_answer.xlsx'}: not an .xlsx" in lines[1]
    assert "B1 to B5" in lines[2] and "does not exist" in lines[3]


# --- the same through the real command, on a copy of the real data ------------------------------------------


def writable_copy(target: Path) -> Path:
    """A copy of the real SpreadsheetBench data that the test may damage (the original is read-only)."""
    shutil.copytree(REAL_DATASET, target)
    for folder, _, files in os.walk(target):
        os.chmod(folder, stat.S_IRWXU)
        for name in files:
            os.chmod(os.path.join(folder, name), stat.S_IRUSR | stat.S_IWUSR)
    return target


@pytest.fixture
def damaged_real_data(tmp_path: Path) -> tuple[Path, list[str]]:
    """The real data with three tasks damaged: a missing input, a corrupt input, a corrupt answer; and the
    error line each must give, in dataset order."""
    data = writable_copy(tmp_path / "data")
    ids = [str(e["id"]) for e in real_entries()]
    missing, corrupt_input, corrupt_answer = ids[3], ids[10], ids[25]
    folder = data / "spreadsheet"
    (folder / missing / f"1_{missing}_input.xlsx").unlink()
    (folder / corrupt_input / f"2_{corrupt_input}_input.xlsx").write_bytes(b"PK\x03\x04 not really")
    answer = folder / corrupt_answer / f"3_{corrupt_answer}_answer.xlsx"
    answer.write_bytes(answer.read_bytes()[:1000])
    return data, [
        f"task {missing}: {folder / missing / f'1_{missing}_input.xlsx'} is missing "
        "(test case 1 has an answer but no input)",
        f"task {corrupt_input}: {folder / corrupt_input / f'2_{corrupt_input}_input.xlsx'}: "
        "not an .xlsx workbook",
        f"task {corrupt_answer}: {answer}: not an .xlsx workbook",
    ]


def _error_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert all(line.startswith("error: ") for line in lines), proc.stderr
    return [line.removeprefix("error: ") for line in lines]


def test_cli_run_lists_every_damaged_case_before_any_sample_runs(
        tmp_path: Path, damaged_real_data: tuple[Path, list[str]]) -> None:
    data, expected = damaged_real_data
    out = tmp_path / "runs"
    proc = evalharness("run", "--model", "scripted:gold", "--task", "spreadsheet", "--dataset", str(data),
                       "--sandbox", "docker", "--out", str(out))
    lines = _error_lines(proc)
    assert len(lines) == 3, lines
    for line, start in zip(lines, expected, strict=True):
        assert line.startswith(start), (line, start)
    assert run_dirs(out) == []  # no run was made, so no sample ran


def test_cli_score_lists_every_damaged_case_before_scoring(
        tmp_path: Path, damaged_real_data: tuple[Path, list[str]]) -> None:
    data, expected = damaged_real_data
    out, outputs = tmp_path / "runs", tmp_path / "outputs"
    outputs.mkdir()
    lines = _error_lines(evalharness("score", "spreadsheet", "--dataset", str(data), "--outputs",
                                     str(outputs), "--out", str(out)))
    assert [line[: len(start)] for line, start in zip(lines, expected, strict=True)] == expected
    assert run_dirs(out) == []
