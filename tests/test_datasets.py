"""Loading task data from JSONL, JSON, CSV and Parquet files, and mapping its fields to a task's fields."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest

from evalharness.datasets import Record, load_records, map_fields
from evalharness.errors import DataError

REQUIRED = ("problem", "answer")
OPTIONAL = ("id", "solution_code")


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- JSONL ---------------------------------------------------------------------------------------------


def test_jsonl_records_and_line_numbers(tmp_path: Path) -> None:
    path = write(tmp_path / "d.jsonl",
                 '{"problem": "1+1", "answer": "2"}\n\n{"problem": "2+2", "answer": 4}\n')
    records = load_records(path)
    assert [r.values for r in records] == [{"problem": "1+1", "answer": "2"}, {"problem": "2+2", "answer": 4}]
    assert [r.where for r in records] == [f"{path}:1", f"{path}:3"]  # the blank line 2 is skipped
    assert load_records(str(path)) == records  # str and Path alike


def test_jsonl_invalid_json_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "d.jsonl",
                 '{"problem": "a", "answer": "1"}\n{"problem": "b", "answer": "2"}\n{oops\n')
    with pytest.raises(DataError) as e:
        load_records(path)
    assert str(e.value).startswith(f"{path}:3: not valid JSON")


@pytest.mark.parametrize(("line", "kind"), [('["a", 1]', "list"), ("17", "int"), ('"text"', "str"),
                                              ("null", "NoneType")])
def test_jsonl_line_that_is_not_an_object(tmp_path: Path, line: str, kind: str) -> None:
    path = write(tmp_path / "d.jsonl", '{"problem": "a", "answer": "1"}\n' + line + "\n")
    with pytest.raises(DataError) as e:
        load_records(path)
    assert str(e.value) == f"{path}:2: expected a JSON object, got {kind}"


# --- JSON ----------------------------------------------------------------------------------------------

ROWS = [{"problem": "p1", "answer": "1"}, {"problem": "p2", "answer": "2"}]


def test_json_list(tmp_path: Path) -> None:
    path = write(tmp_path / "d.json", json.dumps(ROWS))
    records = load_records(path)
    assert [r.values for r in records] == ROWS
    assert [r.where for r in records] == [f"{path} record 0", f"{path} record 1"]


def test_json_object_with_data_list(tmp_path: Path) -> None:
    path = write(tmp_path / "d.json", json.dumps({"data": ROWS, "version": 3}))
    assert [r.values for r in load_records(path)] == ROWS


def test_json_object_with_splits(tmp_path: Path) -> None:
    other = [{"problem": "t", "answer": "9"}]
    path = write(tmp_path / "d.json", json.dumps({"train": other, "test": ROWS}))
    assert [r.values for r in load_records(path, "test")] == ROWS
    assert [r.values for r in load_records(path, split="train")] == other
    with pytest.raises(DataError, match="'validation' list"):
        load_records(path, "validation")
    with pytest.raises(DataError, match="'data' list"):
        load_records(path)  # no split given and no "data" key


def test_json_split_that_is_not_a_list(tmp_path: Path) -> None:
    path = write(tmp_path / "d.json", json.dumps({"test": {"problem": "p"}}))
    with pytest.raises(DataError, match="expected a list of objects"):
        load_records(path, "test")


def test_json_invalid_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "d.json",
                 '[\n  {"problem": "a", "answer": "1"},\n  {"problem": "b" "answer": "2"}\n]\n')
    with pytest.raises(DataError) as e:
        load_records(path)
    assert str(e.value).startswith(f"{path}:3: not valid JSON")


def test_json_non_object_record_is_named(tmp_path: Path) -> None:
    path = write(tmp_path / "d.json", json.dumps([ROWS[0], "oops"]))
    with pytest.raises(DataError) as e:
        load_records(path)
    assert str(e.value) == f"{path}: record 1: expected an object, got str"


def test_json_scalar_top_level(tmp_path: Path) -> None:
    path = write(tmp_path / "d.json", "42")
    with pytest.raises(DataError, match="expected a list of objects"):
        load_records(path)


# --- CSV -----------------------------------------------------------------------------------------------


def test_csv_records_with_line_numbers(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "id,question,answer\na,What is 1+1?,2\nb,\"Say \"\"hi\"\", then 3\",3\n")
    records = load_records(path)
    assert [r.values for r in records] == [
        {"id": "a", "question": "What is 1+1?", "answer": "2"},
        {"id": "b", "question": 'Say "hi", then 3', "answer": "3"},
    ]
    assert [r.where for r in records] == [f"{path}:2", f"{path}:3"]  # the header is line 1


def test_csv_bad_row_is_named_by_line(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "id,problem,answer\na,p1,1\nb,p2,2\nc,p3\nd,p4,4\n")
    with pytest.raises(DataError) as e:
        map_fields(load_records(path), {}, REQUIRED, OPTIONAL)
    assert str(e.value).startswith(f"{path}:4: empty value for 'answer'")


def test_csv_line_numbers_count_multiline_fields_and_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", 'id,problem,answer\na,"three\nline\nproblem",1\n\nb,p2,\n')
    with pytest.raises(DataError) as e:
        map_fields(load_records(path), {}, REQUIRED, OPTIONAL)
    assert str(e.value).startswith(f"{path}:6: empty value for 'answer'")


def test_blank_and_nan_values_are_empty() -> None:
    for value in ("", "   ", float("nan")):
        with pytest.raises(DataError, match="empty value for 'answer'"):
            map_fields(records({"problem": "p", "answer": value}), {}, REQUIRED, OPTIONAL)


# --- Parquet -------------------------------------------------------------------------------------------


def test_parquet(tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    pd.DataFrame({"id": ["x", "y"], "question": ["p1", "p2"], "answer": [25, 7]}).to_parquet(path)
    records = load_records(path)
    assert [r.values for r in records] == [{"id": "x", "question": "p1", "answer": 25},
                                           {"id": "y", "question": "p2", "answer": 7}]
    assert [r.where for r in records] == [f"{path} row 0", f"{path} row 1"]
    rows = map_fields(records, {"problem": "question"}, REQUIRED, OPTIONAL)
    assert rows == [{"problem": "p1", "answer": 25, "id": "x"}, {"problem": "p2", "answer": 7, "id": "y"}]


def test_file_with_parquet_suffix_that_is_not_parquet(tmp_path: Path) -> None:
    path = write(tmp_path / "d.parquet", "id,problem\n1,2\n")
    with pytest.raises(DataError) as e:
        load_records(path)
    assert str(e.value).startswith(f"{path}: cannot read as Parquet")


# --- sources that are not usable files -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["missing.jsonl", "sub/missing.csv", "missing.parquet", "missing.json"])
def test_missing_file_is_named(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    with pytest.raises(DataError) as e:
        load_records(path)
    assert str(e.value) == f"dataset file {path} does not exist"


def test_missing_relative_path_without_suffix(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"dataset file \./no-such-data does not exist"):
        load_records("./no-such-data")


def test_unsupported_suffix_and_directory(tmp_path: Path) -> None:
    txt = write(tmp_path / "d.txt", "hello\n")
    with pytest.raises(DataError, match=r"expected a \.jsonl, \.json, \.csv, \.parquet file"):
        load_records(txt)
    with pytest.raises(DataError, match=r"expected a \.jsonl, \.json, \.csv, \.parquet file"):
        load_records(tmp_path)


def test_hub_name_without_datasets_package_says_how_to_install() -> None:
    assert importlib.util.find_spec("datasets") is None, "checks the message shown without `datasets`"
    with pytest.raises(DataError) as e:
        load_records("someorg/some-benchmark", "test")
    message = str(e.value)
    assert "'someorg/some-benchmark' is not a local file" in message
    assert "pip install 'evalharness[data]'" in message


# --- map_fields ----------------------------------------------------------------------------------------


def records(*values: dict, where: str = "data.jsonl") -> list[Record]:
    return [Record(v, f"{where}:{i + 1}") for i, v in enumerate(values)]


def test_map_fields_renames_and_keeps_optional_fields() -> None:
    rows = map_fields(
        records({"question": "q1", "solution": "4", "id": "a", "extra": 1},
                {"question": "q2", "solution": 5}),
        {"problem": "question", "answer": "solution"}, REQUIRED, OPTIONAL,
    )
    assert rows == [{"problem": "q1", "answer": "4", "id": "a"}, {"problem": "q2", "answer": 5}]


def test_map_fields_unmapped_names_are_used_as_they_are() -> None:
    data = records({"problem": "p", "answer": "1", "solution_code": "print(1)"})
    rows = map_fields(data, {}, REQUIRED, OPTIONAL)
    assert rows == [{"problem": "p", "answer": "1", "solution_code": "print(1)"}]


def test_missing_required_field_names_record_source_field_and_mapping() -> None:
    data = records({"question": "q1", "answer": "1"}, {"answer": "2", "id": "b"})
    with pytest.raises(DataError) as e:
        map_fields(data, {"problem": "question"}, REQUIRED, OPTIONAL)
    assert str(e.value) == (
        "data.jsonl:2: no field 'question' (mapped by --field problem=question); fields present: answer, id"
    )


def test_missing_required_field_without_mapping() -> None:
    with pytest.raises(DataError) as e:
        map_fields(records({"problem": "p"}), {}, REQUIRED, OPTIONAL)
    message = str(e.value)
    assert message == "data.jsonl:1: no field 'answer'; fields present: problem"
    assert "--field" not in message


def test_null_required_value_counts_as_missing() -> None:
    with pytest.raises(DataError, match=r"^data\.jsonl:1: empty value for 'answer'"):
        map_fields(records({"problem": "p", "answer": None}), {}, REQUIRED, OPTIONAL)


def test_record_with_no_fields_at_all() -> None:
    with pytest.raises(DataError, match="fields present: none"):
        map_fields(records({}), {}, REQUIRED, OPTIONAL)


def test_unknown_task_field_lists_the_tasks_fields() -> None:
    with pytest.raises(DataError) as e:
        map_fields(records({"problem": "p", "answer": "1"}), {"question": "problem"}, REQUIRED, OPTIONAL)
    assert str(e.value) == (
        "--field question=...: this task has no field 'question'; "
        "its fields are: answer, id, problem, solution_code"
    )


def test_empty_dataset_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="the dataset has no records"):
        map_fields([], {}, REQUIRED, OPTIONAL)
    path = write(tmp_path / "empty.jsonl", "\n\n")
    with pytest.raises(DataError, match="the dataset has no records"):
        map_fields(load_records(path), {}, REQUIRED, OPTIONAL)
    path = write(tmp_path / "empty.json", "[]")
    with pytest.raises(DataError, match="the dataset has no records"):
        map_fields(load_records(path), {}, REQUIRED, OPTIONAL)
    path = write(tmp_path / "empty.csv", "problem,answer\n")
    with pytest.raises(DataError, match="the dataset has no records"):
        map_fields(load_records(path), {}, REQUIRED, OPTIONAL)
