"""SpreadsheetBench's cell comparison: every normalisation rule, answer_position parsing (including the
malformed quoting real data has), and whole-workbook comparison on real .xlsx files built in tmp_path."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from evalharness.adapters.spreadsheet.compare import (
    MAX_MISMATCHES_KEPT,
    Range,
    cell_names,
    cells_equal,
    compare_workbooks,
    normalise,
    parse_answer_position,
)
from evalharness.errors import DataError
from tests.adapters.spreadsheet.support import save, to_bytes, with_empty_string, workbook

D = dt.datetime

# (expected, got, equal): one row per rule, with the cases on both sides of its boundary.
EQUALITY = [
    # numbers are rounded to 2 decimals before comparing
    pytest.param(1.004, 1.0, True, id="round-2dp-down"),
    pytest.param(1.0, 1.004, True, id="round-2dp-down-reversed"),
    pytest.param(1.006, 1.0, False, id="round-2dp-up-differs"),
    pytest.param(-2.001, -2, True, id="negative-rounded"),
    pytest.param(1234.567, 1234.57, True, id="round-2dp-large"),
    # numeric strings compare as numbers
    pytest.param("3.50", 3.5, True, id="numeric-string-vs-float"),
    pytest.param(3.5, "3.50", True, id="float-vs-numeric-string"),
    pytest.param("3.50", "3.5", True, id="numeric-strings"),
    pytest.param("1e3", 1000, True, id="numeric-string-exponent"),
    pytest.param(" 42 ", 42, True, id="numeric-string-padded"),
    pytest.param("3.50", 3.6, False, id="numeric-string-differs"),
    # ints and floats
    pytest.param(3, 3.0, True, id="int-vs-float"),
    pytest.param(3.0, 3, True, id="float-vs-int"),
    pytest.param(3, 4, False, id="ints-differ"),
    pytest.param(0, 0.0, True, id="zero"),
    # bools: numbers to the reference (bool is an int in Python), so True equals 1
    pytest.param(True, True, True, id="bool-same"),
    pytest.param(True, False, False, id="bool-differs"),
    pytest.param(True, 1, True, id="bool-is-one"),
    pytest.param(False, 0.0, True, id="bool-is-zero"),
    pytest.param(False, None, False, id="false-is-not-empty"),
    pytest.param(True, "TRUE", False, id="bool-vs-text"),
    # date-times: the Excel serial day, rounded to 0 decimals (so 15:00 already counts as the next day)
    pytest.param(D(2024, 1, 1, 9), D(2024, 1, 1, 11, 59), True, id="datetime-same-day-morning"),
    pytest.param(D(2024, 1, 1, 9), D(2024, 1, 1, 15), False, id="datetime-afternoon-rounds-up"),
    pytest.param(D(2024, 1, 1, 15), D(2024, 1, 2, 0), True, id="datetime-afternoon-is-next-day"),
    pytest.param(D(2024, 1, 1), D(2024, 1, 2), False, id="datetime-days-differ"),
    pytest.param(D(2024, 1, 1), 45292, True, id="datetime-vs-serial"),
    pytest.param(D(2024, 1, 1), "45292", True, id="datetime-vs-serial-string"),
    # dates
    pytest.param(dt.date(2024, 1, 1), dt.date(2024, 1, 1), True, id="date-same"),
    pytest.param(dt.date(2024, 1, 1), dt.date(2024, 1, 2), False, id="date-differs"),
    pytest.param(dt.date(2024, 1, 1), D(2024, 1, 1), True, id="date-vs-midnight"),
    pytest.param(dt.date(2024, 1, 1), 45292, True, id="date-vs-serial"),
    # times as HH:MM: seconds are ignored
    pytest.param(dt.time(10, 30, 15), dt.time(10, 30, 59), True, id="time-seconds-ignored"),
    pytest.param(dt.time(10, 30), dt.time(10, 31), False, id="time-minutes-differ"),
    pytest.param(dt.time(10, 30, 15), "10:30", True, id="time-vs-text"),
    pytest.param(dt.time(9, 5), "9:05", False, id="time-text-not-zero-padded"),
    # an empty string equals an empty cell, both ways
    pytest.param("", None, True, id="empty-string-vs-none"),
    pytest.param(None, "", True, id="none-vs-empty-string"),
    pytest.param(None, None, True, id="none-vs-none"),
    pytest.param("", "", True, id="empty-vs-empty"),
    pytest.param(None, 0, False, id="none-vs-zero"),
    pytest.param("", 0, False, id="empty-string-vs-zero"),
    pytest.param(" ", None, False, id="space-is-not-empty"),
    pytest.param(None, "x", False, id="none-vs-text"),
    # otherwise the types must match
    pytest.param("abc", 1, False, id="text-vs-number"),
    pytest.param(1, "abc", False, id="number-vs-text"),
    pytest.param("abc", "abc", True, id="text-same"),
    pytest.param("abc", "ABC", False, id="text-case-matters"),
    pytest.param("abc", "abc ", False, id="text-trailing-space-matters"),
    # float noise disappears in the rounding
    pytest.param(0.1 + 0.2, 0.3, True, id="float-noise"),
    pytest.param(1 / 3, 0.33, True, id="one-third"),
    pytest.param(135.42999999999998, 135.43, True, id="float-noise-real-data"),
    # error values are strings: equal only to themselves
    pytest.param("#DIV/0!", "#DIV/0!", True, id="error-same"),
    pytest.param("#DIV/0!", "#N/A", False, id="error-differs"),
    pytest.param("#DIV/0!", 0, False, id="error-vs-zero"),
    pytest.param("#DIV/0!", None, False, id="error-vs-empty"),
    pytest.param("#N/A", "", False, id="error-vs-empty-string"),
    pytest.param("product 1", "#N/A", False, id="text-vs-error"),
]


@pytest.mark.parametrize(("expected", "got", "equal"), EQUALITY)
def test_cells_equal(expected: Any, got: Any, equal: bool) -> None:
    assert cells_equal(expected, got) is equal


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        (1.006, 1.01),
        ("3.50", 3.5),
        (7, 7.0),
        (True, 1.0),
        (D(2024, 1, 1, 9), 45292.0),
        (D(2024, 1, 1, 13), 45293.0),
        (dt.date(2024, 1, 1), 45292.0),
        (dt.time(10, 30, 15), "10:30"),
        ("#DIV/0!", "#DIV/0!"),
        ("", ""),
        (None, None),
    ],
)
def test_normalise(value: Any, normalised: Any) -> None:
    result = normalise(value)
    assert result == normalised and type(result) is type(normalised)


# --- answer_position -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ranges"),
    [
        pytest.param("A1:C5", [Range(None, "A1:C5")], id="plain"),
        pytest.param("B3", [Range(None, "B3")], id="single-cell"),
        pytest.param("'A1:N53'", [Range(None, "A1:N53")], id="quoted-range"),
        pytest.param("'Sheet1'!A1:B2", [Range("Sheet1", "A1:B2")], id="quoted-sheet"),
        pytest.param("Sheet1!A1:B2", [Range("Sheet1", "A1:B2")], id="bare-sheet"),
        pytest.param("'Main Sheet'!E2:E6", [Range("Main Sheet", "E2:E6")], id="sheet-with-space"),
        pytest.param("'ورقة1'!H2:L4", [Range("ورقة1", "H2:L4")], id="non-latin-sheet"),
        # malformed quoting, as it occurs in the real dataset.json
        pytest.param("'Sheet1!'A1:I55", [Range("Sheet1", "A1:I55")], id="real-quote-after-bang"),
        pytest.param("Sheet1'!A1:F5", [Range("Sheet1", "A1:F5")], id="real-closing-quote-only"),
        pytest.param("'99250!A1:F9'", [Range("99250", "A1:F9")], id="real-quotes-around-all"),
        # several ranges
        pytest.param("Sheet1'!A1:F5,'Not Verified'!A1:F3",
                     [Range("Sheet1", "A1:F5"), Range("Not Verified", "A1:F3")], id="real-two-sheets"),
        pytest.param("'99250!A1:F9','99251!A1:F9','99252!A1:F8'",
                     [Range("99250", "A1:F9"), Range("99251", "A1:F9"), Range("99252", "A1:F8")],
                     id="real-three"),
        pytest.param("'CS!'B1:B8,'S!'B1:B8", [Range("CS", "B1:B8"), Range("S", "B1:B8")],
                     id="real-two-bang-quote"),
        pytest.param("A1:B2, D4", [Range(None, "A1:B2"), Range(None, "D4")], id="comma-space"),
        pytest.param("A1:B2,", [Range(None, "A1:B2")], id="trailing-comma"),
        # whole columns and rows, absolute references
        pytest.param("A:C", [Range(None, "A:C")], id="columns"),
        pytest.param("'Data'!3:5", [Range("Data", "3:5")], id="rows"),
        pytest.param("$A$1:$B$2", [Range(None, "$A$1:$B$2")], id="absolute"),
    ],
)
def test_parse_answer_position(text: str, ranges: list[Range]) -> None:
    assert parse_answer_position(text) == ranges


@pytest.mark.parametrize(
    "text",
    ["hello", "A1:B2:C3", "Sheet1!A1!B2", "A1-B2", "", ",", " , ", "'Sheet1'!", "1A", "A1:B2,total", "AAAA1"],
)
def test_parse_answer_position_rejects_what_is_not_a_range(text: str) -> None:
    with pytest.raises(DataError, match="answer_position"):
        parse_answer_position(text)


@pytest.mark.parametrize(
    ("spec", "max_row", "max_col", "names"),
    [
        ("A1:B2", 1, 1, ["A1", "A2", "B1", "B2"]),  # column-major, like the reference
        ("B2:A1", 1, 1, ["A1", "A2", "B1", "B2"]),  # reversed corners
        ("$A$1:$B$2", 1, 1, ["A1", "A2", "B1", "B2"]),
        ("c3", 1, 1, ["C3"]),
        ("A:B", 3, 9, ["A1", "A2", "A3", "B1", "B2", "B3"]),  # whole columns: rows bounded by the used area
        ("2:3", 9, 2, ["A2", "A3", "B2", "B3"]),  # whole rows: columns bounded by the used area
        ("B:B", 0, 0, ["B1"]),
    ],
)
def test_cell_names(spec: str, max_row: int, max_col: int, names: list[str]) -> None:
    assert cell_names(spec, max_row, max_col) == names


# --- whole workbooks -----------------------------------------------------------------------------------


def test_identical_workbooks_pass_with_every_value_type(tmp_path: Path) -> None:
    cells = {"A1": 1, "A2": 2.5, "A3": "text", "A4": True, "A5": D(2024, 3, 1, 8, 30),
             "A6": dt.time(7, 45, 12),
             "A7": "#DIV/0!", "A8": "3.50", "A9": None}
    answer = save(workbook({"Sheet1": cells}), tmp_path / "answer.xlsx")
    result = compare_workbooks(answer, save(workbook({"Sheet1": cells}), tmp_path / "out.xlsx"), "A1:A9")
    assert result.passed and result.error is None
    assert (result.checked_cells, result.mismatch_count, result.mismatches) == (9, 0, [])


def test_values_that_differ_only_by_the_normalisation_rules_pass(tmp_path: Path) -> None:
    answer = save(workbook({"S": {"A1": 1.004, "A2": "3.50", "A3": D(2024, 3, 1, 8), "A4": dt.time(7, 45, 12),
                                  "A5": 3}}), tmp_path / "answer.xlsx")
    output = save(workbook({"S": {"A1": 1.0, "A2": 3.5, "A3": D(2024, 3, 1, 11), "A4": dt.time(7, 45, 59),
                                  "A5": 3.0}}), tmp_path / "out.xlsx")
    assert compare_workbooks(answer, output, "'S'!A1:A5").passed


def test_range_without_sheet_uses_the_answers_first_sheet(tmp_path: Path) -> None:
    answer = save(workbook({"Data": {"B2": 10}, "Other": {"B2": 99}}), tmp_path / "answer.xlsx")
    # The output's sheets are in the other order: the sheet is found by name, not by position.
    good = save(workbook({"Other": {"B2": 99}, "Data": {"B2": 10}}), tmp_path / "good.xlsx")
    bad = save(workbook({"Other": {"B2": 10}, "Data": {"B2": 99}}), tmp_path / "bad.xlsx")
    assert compare_workbooks(answer, good, "B2").passed
    result = compare_workbooks(answer, bad, "B2")
    assert not result.passed
    assert result.mismatches == [{"sheet": "Data", "cell": "B2", "expected": 10, "got": 99}]


def test_a_sheet_missing_from_the_output_fails_the_case_naming_it(tmp_path: Path) -> None:
    answer = save(workbook({"Sheet1": {"A1": 1}, "Totals": {"A1": 2}}), tmp_path / "answer.xlsx")
    output = save(workbook({"Sheet1": {"A1": 1}}), tmp_path / "out.xlsx")
    result = compare_workbooks(answer, output, "'Sheet1'!A1,'Totals'!A1")
    assert not result.passed
    assert result.error is not None and "'Totals'" in result.error and "missing" in result.error
    assert result.checked_cells == 1  # the sheet that is there is still compared


def test_a_sheet_missing_from_the_answer_is_a_data_error(tmp_path: Path) -> None:
    answer = save(workbook({"Sheet1": {"A1": 1}}), tmp_path / "answer.xlsx")
    with pytest.raises(DataError, match="'Nope'"):
        compare_workbooks(answer, answer, "'Nope'!A1")


def test_whole_columns_are_bounded_by_the_used_area_of_both_sheets(tmp_path: Path) -> None:
    answer = save(workbook({"S": {"A1": "h", "B3": 3}}), tmp_path / "answer.xlsx")  # used: A1:B3
    same = save(workbook({"S": {"A1": "h", "B3": 3}}), tmp_path / "same.xlsx")
    longer = save(workbook({"S": {"A1": "h", "B3": 3, "C5": "extra"}}), tmp_path / "longer.xlsx")  # A1:C5
    result = compare_workbooks(answer, same, "A:C")
    assert result.passed and result.checked_cells == 3 * 3
    result = compare_workbooks(answer, longer, "A:C")
    assert result.checked_cells == 3 * 5
    assert not result.passed
    assert result.mismatches == [{"sheet": "S", "cell": "C5", "expected": None, "got": "extra"}]
    # A value below the answer's last row but outside the columns asked for is not looked at.
    assert compare_workbooks(answer, longer, "A:B").passed


def test_whole_rows_are_bounded_by_the_used_area_of_both_sheets(tmp_path: Path) -> None:
    answer = save(workbook({"S": {"A3": 1, "B4": 2}}), tmp_path / "answer.xlsx")  # used columns: A:B
    wider = save(workbook({"S": {"A3": 1, "B4": 2, "D9": "far"}}), tmp_path / "wider.xlsx")  # A:D
    result = compare_workbooks(answer, answer, "3:5")
    assert result.passed and result.checked_cells == 3 * 2
    result = compare_workbooks(answer, wider, "3:5")
    assert result.passed and result.checked_cells == 3 * 4  # D9 is below the rows asked for
    wrong = save(workbook({"S": {"A3": 1, "B4": 2, "D5": "x"}}), tmp_path / "wrong.xlsx")
    result = compare_workbooks(answer, wrong, "3:5")
    assert not result.passed and result.checked_cells == 3 * 4
    assert [m["cell"] for m in result.mismatches] == ["D5"]


def test_several_ranges_are_all_checked(tmp_path: Path) -> None:
    answer = save(workbook({"A": {"A1": 1, "B2": 2}, "B": {"C3": 3}}), tmp_path / "answer.xlsx")
    output = save(workbook({"A": {"A1": 1, "B2": 2}, "B": {"C3": 4}}), tmp_path / "out.xlsx")
    result = compare_workbooks(answer, output, "'A'!A1:B2,'B!'C3")
    assert result.checked_cells == 4 + 1
    assert result.mismatches == [{"sheet": "B", "cell": "C3", "expected": 3, "got": 4}]


def test_merged_cells_only_the_top_left_cell_holds_the_value(tmp_path: Path) -> None:
    """Merging is not compared, values are: in a merged range only the top-left cell has a value (the
    others read as empty), so the same text unmerged in the top-left cell passes, while copying it into
    every cell of the range fails at the other cells."""
    title = {"A1": "Title", "A2": 5}
    answer = save(workbook({"S": title}, merged={"S": ["A1:C1"]}), tmp_path / "answer.xlsx")
    merged = save(workbook({"S": title}, merged={"S": ["A1:C1"]}), tmp_path / "merged.xlsx")
    unmerged = save(workbook({"S": title}), tmp_path / "unmerged.xlsx")
    filled = save(workbook({"S": title | {"B1": "Title", "C1": "Title"}}), tmp_path / "filled.xlsx")
    assert compare_workbooks(answer, merged, "A1:C2").passed
    assert compare_workbooks(answer, unmerged, "A1:C2").passed
    result = compare_workbooks(answer, filled, "A1:C2")
    assert not result.passed
    assert [(m["cell"], m["expected"], m["got"]) for m in result.mismatches] == [
        ("B1", None, "Title"), ("C1", None, "Title")]
    # And the other way round: an output that merges over the values the answer has loses them.
    result = compare_workbooks(filled, merged, "A1:C1")
    assert [(m["cell"], m["expected"], m["got"]) for m in result.mismatches] == [
        ("B1", "Title", None), ("C1", "Title", None)]


def test_an_empty_string_cell_equals_an_empty_cell_in_workbooks(tmp_path: Path) -> None:
    import openpyxl

    with_empty = with_empty_string(workbook({"S": {"B1": "keep"}}), "A1", tmp_path / "empty-string.xlsx")
    assert openpyxl.load_workbook(with_empty, data_only=True)["S"]["A1"].value == ""  # the test's premise
    with_none = save(workbook({"S": {"B1": "keep"}}), tmp_path / "none.xlsx")
    assert compare_workbooks(with_empty, with_none, "A1:B1").passed
    assert compare_workbooks(with_none, with_empty, "A1:B1").passed
    with_zero = save(workbook({"S": {"A1": 0, "B1": "keep"}}), tmp_path / "zero.xlsx")
    assert not compare_workbooks(with_empty, with_zero, "A1:B1").passed


def test_mismatches_list_sheet_cell_expected_got_and_the_count_covers_all(tmp_path: Path) -> None:
    n = MAX_MISMATCHES_KEPT + 7
    answer = save(workbook({"S": {f"A{r}": r for r in range(1, n + 1)} | {"B1": D(2024, 5, 6), "B2": "ok"}}),
                  tmp_path / "answer.xlsx")
    output = save(workbook({"S": {f"A{r}": -r for r in range(1, n + 1)} | {"B1": D(2024, 5, 9), "B2": "ok"}}),
                  tmp_path / "out.xlsx")
    result = compare_workbooks(answer, output, f"A1:B{n}")
    assert not result.passed and result.error is None
    assert result.checked_cells == 2 * n
    assert result.mismatch_count == n + 1  # every A cell and B1
    assert len(result.mismatches) == MAX_MISMATCHES_KEPT  # the list is capped, the count is not
    assert result.mismatches[0] == {"sheet": "S", "cell": "A1", "expected": 1, "got": -1}
    assert [m["cell"] for m in result.mismatches] == [f"A{r}" for r in range(1, MAX_MISMATCHES_KEPT + 1)]
    # date-times are reported as ISO text (the details go to JSON)
    only_b = compare_workbooks(answer, output, "B1:B2")
    assert only_b.mismatches == [{"sheet": "S", "cell": "B1", "expected": "2024-05-06T00:00:00",
                                  "got": "2024-05-09T00:00:00"}]
    assert result.to_dict()["mismatch_count"] == n + 1


def test_output_given_as_bytes(tmp_path: Path) -> None:
    answer = save(workbook({"S": {"A1": 5, "A2": "x"}}), tmp_path / "answer.xlsx")
    assert compare_workbooks(answer, to_bytes(workbook({"S": {"A1": 5.0, "A2": "x"}})), "A1:A2").passed
    result = compare_workbooks(answer, to_bytes(workbook({"S": {"A1": 6, "A2": "x"}})), "A1:A2")
    assert not result.passed and result.mismatch_count == 1


@pytest.mark.parametrize("output", ["missing", "none"])
def test_a_missing_output_fails_the_case(tmp_path: Path, output: str) -> None:
    answer = save(workbook({"S": {"A1": 5}}), tmp_path / "answer.xlsx")
    result = compare_workbooks(answer, tmp_path / "no-such.xlsx" if output == "missing" else None, "A1")
    assert not result.passed
    assert result.error == "no output workbook"
    assert result.checked_cells == 0


@pytest.mark.parametrize("content", [b"not a workbook at all", b"PK\x03\x04truncated zip", b""])
def test_a_corrupt_output_fails_the_case_without_raising(tmp_path: Path, content: bytes) -> None:
    answer = save(workbook({"S": {"A1": 5}}), tmp_path / "answer.xlsx")
    corrupt = tmp_path / "out.xlsx"
    corrupt.write_bytes(content)
    for output in (corrupt, content):
        result = compare_workbooks(answer, output, "A1")
        assert not result.passed
        assert result.error is not None, output
        assert result.error.startswith("cannot open the output workbook"), result.error


def test_a_corrupt_answer_is_a_data_error_naming_the_file(tmp_path: Path) -> None:
    answer = tmp_path / "1_t_answer.xlsx"
    answer.write_bytes(b"garbage")
    output = save(workbook({"S": {"A1": 5}}), tmp_path / "out.xlsx")
    with pytest.raises(DataError, match="1_t_answer.xlsx"):
        compare_workbooks(answer, output, "A1")


def test_an_unparseable_position_is_a_data_error(tmp_path: Path) -> None:
    answer = save(workbook({"S": {"A1": 5}}), tmp_path / "answer.xlsx")
    with pytest.raises(DataError, match="not a cell range"):
        compare_workbooks(answer, answer, "Sheet1!total")


@pytest.mark.parametrize("text", ["A0:A2", "A9999999", "XFE1", "'S'!B0", "0:3", "A1:A1048577"])
def test_parse_answer_position_rejects_cells_outside_a_worksheet(text: str) -> None:
    with pytest.raises(DataError, match="outside a worksheet"):
        parse_answer_position(text)


def test_the_last_cell_of_a_worksheet_is_a_valid_position() -> None:
    assert parse_answer_position("A1:XFD1048576") == [Range(None, "A1:XFD1048576")]
