"""Loading task data from local files (JSONL, JSON, CSV, Parquet) or Hugging Face ``datasets`` names.

Users bring data whose columns are named differently; ``fields`` maps the names a task expects to the
names the data has (``{"problem": "question"}``). Every problem is reported before the run starts, with
the file, the line or record, and the field.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalharness.errors import DataError, EvalHarnessError

LOCAL_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")


@dataclass(frozen=True, slots=True)
class Record:
    """One row of data with where it came from, for error messages."""

    values: dict[str, Any]
    where: str  # "data.jsonl:12" or "org/name[test] row 12"


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-empty line; bad bytes, bad JSON and non-objects name the line."""
    try:
        fh = open(path, "rb")
    except OSError as e:
        raise DataError(f"{path}: {e.strerror}") from None
    with fh:
        for number, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise DataError(f"{path}:{number}: not UTF-8 (byte {e.start}: {raw[e.start:e.start + 1]!r})") from None
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{path}:{number}: not valid JSON ({e.msg})") from None
            if not isinstance(value, dict):
                raise DataError(f"{path}:{number}: expected a JSON object, got {type(value).__name__}")
            yield number, value


def decode_utf8(data: bytes, where: str, error: type[EvalHarnessError] = DataError) -> str:
    """UTF-8 text without its byte-order mark. Bad bytes raise ``error`` naming the line and column, since
    an editor that saved in another encoding shows nothing wrong and the user must find the character."""
    body = data.removeprefix(codecs.BOM_UTF8)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as e:
        line_start = body.rfind(b"\n", 0, e.start) + 1
        line = body.count(b"\n", 0, e.start) + 1
        column = len(body[line_start:e.start].decode("utf-8")) + 1
        raise error(f"{where}:{line}: not UTF-8 text (byte 0x{body[e.start]:02x} at column {column}); "
                    "save the file as UTF-8") from None


def read_json(path: Path) -> Any:
    """A whole JSON file; a missing file, bad bytes or bad JSON is a DataError naming the file (and line)."""
    try:
        return json.loads(decode_utf8(Path(path).read_bytes(), str(path)))
    except FileNotFoundError:
        raise DataError(f"{path} does not exist") from None
    except OSError as e:
        raise DataError(f"{path}: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise DataError(f"{path}:{e.lineno}: not valid JSON ({e.msg})") from None


def load_records(source: str | Path, split: str | None = None) -> list[Record]:
    path = Path(source)
    if path.exists():
        return _load_local(path, split)
    if path.suffix.lower() in LOCAL_SUFFIXES or str(source).startswith((".", "/", "~")):
        raise DataError(f"dataset file {source} does not exist")
    return _load_hub(str(source), split)


def _load_local(path: Path, split: str | None) -> list[Record]:
    suffix = path.suffix.lower()
    if path.is_dir() or suffix not in LOCAL_SUFFIXES:
        raise DataError(f"{path}: expected a {', '.join(LOCAL_SUFFIXES)} file")
    if suffix == ".jsonl":
        return [Record(value, f"{path}:{number}") for number, value in iter_jsonl(path)]
    if suffix == ".json":
        data = read_json(path)
        if isinstance(data, dict):  # {"test": [...], "train": [...]} or {"data": [...]}
            key = split if split in data else "data" if "data" in data else None
            if key is None or not isinstance(data[key], list):
                raise DataError(f"{path}: expected a list of objects, or an object with a {split or 'data'!r} list")
            data = data[key]
        if not isinstance(data, list):
            raise DataError(f"{path}: expected a list of objects")
        for i, value in enumerate(data):
            if not isinstance(value, dict):
                raise DataError(f"{path}: record {i}: expected an object, got {type(value).__name__}")
        return [Record(value, f"{path} record {i}") for i, value in enumerate(data)]
    if suffix == ".csv":
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            records = []
            for row in reader:
                # line_num is the row's last line; a quoted field may span lines, blank lines are skipped
                values = {k: v for k, v in row.items() if k is not None}
                embedded = sum(v.count("\n") for v in values.values() if isinstance(v, str))
                records.append(Record(values, f"{path}:{reader.line_num - embedded}"))
            return records
    try:
        import pyarrow.parquet as pq
    except ImportError as e:
        raise DataError(f"{path}: reading Parquet needs pyarrow (pip install 'evalharness[data]'): {e}") from None
    try:
        rows = pq.read_table(path).to_pylist()  # keeps ints as ints and nulls as None, unlike pandas
    except Exception as e:
        raise DataError(f"{path}: cannot read as Parquet: {e}") from None
    return [Record(row, f"{path} row {i}") for i, row in enumerate(rows)]


def _load_hub(name: str, split: str | None) -> list[Record]:
    try:
        import datasets
    except ImportError:
        raise DataError(
            f"{name!r} is not a local file; loading Hugging Face datasets needs `pip install 'evalharness[data]'`"
        ) from None
    split = split or "test"
    try:
        data = datasets.load_dataset(name, split=split)
    except Exception as e:
        raise DataError(f"cannot load dataset {name!r} (split {split!r}): {str(e).splitlines()[0]}") from None
    return [Record(dict(row), f"{name}[{split}] row {i}") for i, row in enumerate(data)]


def map_fields(
    records: list[Record], fields: dict[str, str], required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """Rows with the task's own field names. ``fields`` maps task name -> data name; unmapped names are
    looked up as they are. A missing required field is an error naming the record and the mapping."""
    known = set(required) | set(optional)
    unknown = sorted(set(fields) - known)
    if unknown:
        raise DataError(f"--field {unknown[0]}=...: this task has no field {unknown[0]!r}; "
                        f"its fields are: {', '.join(sorted(known))}")
    rows = []
    for record in records:
        row = {}
        for name in (*required, *optional):
            source = fields.get(name, name)
            value = record.values.get(source)
            if not _is_empty(value):
                row[name] = value
            elif name in required:
                how = f" (mapped by --field {name}={source})" if name in fields else ""
                if source in record.values:
                    raise DataError(f"{record.where}: empty value for {source!r}{how}")
                present = ", ".join(sorted(map(str, record.values))) or "none"
                raise DataError(f"{record.where}: no field {source!r}{how}; fields present: {present}")
        rows.append(row)
    if not rows:
        raise DataError("the dataset has no records")
    return rows


def _is_empty(value: Any) -> bool:
    """None, NaN and blank text carry no value (CSV cells and Parquet nulls arrive as these)."""
    if value is None:
        return True
    if isinstance(value, float) and value != value:
        return True
    return isinstance(value, str) and not value.strip()
