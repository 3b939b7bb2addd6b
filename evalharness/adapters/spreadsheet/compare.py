"""SpreadsheetBench's cell comparison, reproduced rule for rule, and reporting every mismatch.

Both workbooks are read with cached values (``data_only``). Values are normalised before comparison:
numbers (and numeric strings) rounded to 2 decimals, date-times as the Excel serial day (rounded),
times as ``HH:MM`` (the reference keeps fractional seconds of a time by accident of ``str(time)[:-3]``;
here seconds never count); an empty string equals an empty cell; otherwise values must be of the same type
and equal. ``answer_position`` is a comma-separated list of ranges, each optionally prefixed by a
sheet name; quotes are stripped from both the sheet and the range part, as the reference does, which
also parses the malformed quoting real data has (``'Sheet1!'A1:I55``). A range without a sheet refers
to the answer workbook's first sheet. Beyond the reference, whole-column and whole-row ranges
(``A:C``, ``3:5``) are understood, bounded by the used area of both sheets.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl.utils.cell import column_index_from_string, get_column_letter

from evalharness.errors import DataError

_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_CELL = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")
_COLUMNS = re.compile(r"^\$?([A-Za-z]{1,3}):\$?([A-Za-z]{1,3})$")
_ROWS = re.compile(r"^\$?(\d+):\$?(\d+)$")
MAX_MISMATCHES_KEPT = 20
MAX_ROW, MAX_COLUMN = 1_048_576, 16_384  # Excel's limits (XFD is column 16384)

# Real workbooks carry extensions openpyxl drops with a warning per file (data validation, ...): noise here.
warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")


def normalise(value: Any) -> Any:
    if isinstance(value, bool) or isinstance(value, (int, float)):
        return round(float(value), 2)
    if isinstance(value, dt.datetime):
        delta = value - _EXCEL_EPOCH
        return round(delta.days + delta.seconds / 86400.0, 0)
    if isinstance(value, dt.date):
        return float((value - _EXCEL_EPOCH.date()).days)
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        # "NaN" or "inf" as text would never equal even itself as a float: keep such text as text
        return round(number, 2) if math.isfinite(number) else value
    return value


def cells_equal(expected: Any, got: Any) -> bool:
    a, b = normalise(expected), normalise(got)
    if a in ("", None) and b in ("", None):
        return True
    return type(a) is type(b) and a == b


@dataclass(frozen=True, slots=True)
class Range:
    sheet: str | None  # None: the answer workbook's first sheet
    spec: str  # "A1:C5", "B3", "A:C", "3:5"


def parse_answer_position(text: str) -> list[Range]:
    """Split ``answer_position`` into ranges; DataError when a part cannot be a range."""
    ranges = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if "!" in part:
            pieces = part.split("!")
            if len(pieces) != 2:
                raise DataError(f"answer_position {text!r}: cannot parse {part!r}")
            sheet, spec = pieces[0].strip().strip("'"), pieces[1].strip().strip("'")
        else:
            sheet, spec = None, part.strip("'")
        if not (_is_cell_range(spec) or _COLUMNS.match(spec) or _ROWS.match(spec)):
            raise DataError(f"answer_position {text!r}: {spec!r} is not a cell range")
        if not _within_sheet(spec):
            raise DataError(f"answer_position {text!r}: {spec!r} lies outside a worksheet "
                            f"(rows 1-{MAX_ROW}, columns A-XFD)")
        ranges.append(Range(sheet or None, spec))
    if not ranges:
        raise DataError(f"answer_position {text!r} names no range")
    return ranges


def _within_sheet(spec: str) -> bool:
    for end in spec.split(":"):
        letters = "".join(c for c in end if c.isalpha())
        digits = "".join(c for c in end if c.isdigit())
        if letters and column_index_from_string(letters.upper()) > MAX_COLUMN:
            return False
        if digits and not 1 <= int(digits) <= MAX_ROW:
            return False
    return True


def _is_cell_range(spec: str) -> bool:
    ends = spec.split(":")
    return 1 <= len(ends) <= 2 and all(_CELL.match(e) for e in ends)


def cell_names(spec: str, max_row: int, max_col: int) -> list[str]:
    """Every cell of a range, column-major like the reference; whole rows/columns are bounded by the
    used area."""
    if m := _COLUMNS.match(spec):
        c1, c2 = column_index_from_string(m.group(1).upper()), column_index_from_string(m.group(2).upper())
        r1, r2 = 1, max(max_row, 1)
    elif m := _ROWS.match(spec):
        r1, r2 = int(m.group(1)), int(m.group(2))
        c1, c2 = 1, max(max_col, 1)
    else:
        ends = [_CELL.match(e) for e in spec.split(":")]
        first, last = ends[0], ends[-1]
        assert first is not None and last is not None
        c1, r1 = column_index_from_string(first.group(1).upper()), int(first.group(2))
        c2, r2 = column_index_from_string(last.group(1).upper()), int(last.group(2))
    c1, c2 = sorted((c1, c2))
    r1, r2 = sorted((r1, r2))
    return [f"{get_column_letter(c)}{r}" for c in range(c1, c2 + 1) for r in range(r1, r2 + 1)]


@dataclass
class CaseResult:
    passed: bool
    checked_cells: int = 0
    mismatches: list[dict[str, Any]] = field(default_factory=list)  # sheet, cell, expected, got
    mismatch_count: int = 0
    error: str | None = None  # the output could not be read, a sheet is missing...

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "checked_cells": self.checked_cells, "mismatch_count": self.mismatch_count,
                "mismatches": self.mismatches, "error": self.error}


def _load(source: Path | bytes) -> Any:
    import io

    import openpyxl

    return openpyxl.load_workbook(io.BytesIO(source) if isinstance(source, bytes) else source, data_only=True)


def has_formulas(data: bytes) -> bool:
    """Whether a workbook has formula cells (whose cached values may be missing)."""
    import io

    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(data))
    return any(cell.data_type == "f" for ws in workbook.worksheets for row in ws.iter_rows() for cell in row)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    return value


def compare_workbooks(answer_path: Path, output: Path | bytes | None, answer_position: str) -> CaseResult:
    """Compare an output workbook with the answer workbook at ``answer_position``.

    A missing or unreadable output fails the case (its error says why); an unreadable *answer* or an
    unparseable position is a data problem and raises DataError.
    """
    ranges = parse_answer_position(answer_position)
    try:
        answer = _load(answer_path)
    except Exception as e:
        raise DataError(f"{answer_path}: cannot open the answer workbook: {e}") from None
    if output is None or (isinstance(output, Path) and not output.exists()):
        return CaseResult(False, error="no output workbook")
    try:
        produced = _load(output)
    except MemoryError:
        raise  # a bound of the process reading it (see bounded.py), not a broken file
    except Exception as e:
        return CaseResult(False, error=f"cannot open the output workbook: {type(e).__name__}: {e}")
    result = CaseResult(True)
    for r in ranges:
        sheet = r.sheet or answer.sheetnames[0]
        if sheet not in answer.sheetnames:
            raise DataError(f"{answer_path}: answer_position names sheet {sheet!r}, which the answer lacks")
        if sheet not in produced.sheetnames:
            result.passed = False
            result.error = f"sheet {sheet!r} is missing from the output"
            continue
        ws_answer, ws_output = answer[sheet], produced[sheet]
        names = cell_names(r.spec, max(ws_answer.max_row, ws_output.max_row),
                           max(ws_answer.max_column, ws_output.max_column))
        for name in names:
            expected, got = ws_answer[name].value, ws_output[name].value
            result.checked_cells += 1
            if not cells_equal(expected, got):
                result.passed = False
                result.mismatch_count += 1
                if len(result.mismatches) < MAX_MISMATCHES_KEPT:
                    result.mismatches.append(
                        {"sheet": sheet, "cell": name, "expected": _jsonable(expected), "got": _jsonable(got)})
    return result
