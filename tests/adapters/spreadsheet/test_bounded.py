"""Output workbooks are read outside the harness process, within bounds: one past them fails its case with
the reason recorded, and the harness's memory stays where it was. The reader is the real one (a child
process forking a worker per workbook); the workbooks are real files."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from evalharness.adapters.spreadsheet.bounded import (
    Comparison,
    WorkbookBounds,
    WorkbookRefused,
    compare_outputs,
    output_has_formulas,
)
from evalharness.adapters.spreadsheet.compare import compare_workbooks
from evalharness.adapters.spreadsheet.rescore import rescore
from evalharness.errors import DataError
from tests.adapters.spreadsheet.support import entry, save, to_bytes, workbook, write_dataset, write_many_cells
from tests.sandboxes.support import peak_memory_mb, reset_peak_memory

MILLION_CELLS_REFUSED = "output workbook refused: it has more than the 250,000 cells allowed"


def one_task_dataset(root: Path, task_id: str = "big-1") -> Path:
    folder = root / "spreadsheet" / task_id
    book = workbook({"Sheet1": {"A1": 1}})
    save(book, folder / f"1_{task_id}_input.xlsx")
    save(book, folder / f"1_{task_id}_answer.xlsx")
    return write_dataset(root, [entry(task_id, "A1")])


def test_a_million_cell_output_is_refused_unread(tmp_path: Path) -> None:
    dataset = one_task_dataset(tmp_path / "data")
    (tmp_path / "outputs").mkdir()
    write_many_cells(str(tmp_path / "outputs" / "1_big-1_output.xlsx"), rows=100_000)  # 1,000,000 cells, ~3 MB
    reset_peak_memory()
    before = peak_memory_mb()
    [result] = rescore(dataset, tmp_path / "outputs")
    assert peak_memory_mb() - before < 100
    [case] = result.scores[0].details["cases"]
    assert (case["passed"], case["error"], case["checked_cells"]) == (False, MILLION_CELLS_REFUSED, 0)
    assert [s.value for s in result.scores] == [0.0, 0.0]


def zip_bomb(unpacked_mb: int) -> bytes:
    """A real workbook with one more member that inflates to ``unpacked_mb`` MB of zeros."""
    buffer = io.BytesIO(to_bytes(workbook({"Sheet1": {"A1": 1}})))
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.bin", bytes(unpacked_mb << 20))
    return buffer.getvalue()


def test_a_zip_that_unpacks_past_the_bound_is_refused(tmp_path: Path) -> None:
    answer = save(workbook({"Sheet1": {"A1": 1}}), tmp_path / "answer.xlsx")
    bomb = zip_bomb(16)
    assert len(bomb) < 1 << 20
    [(result, _)] = compare_outputs([Comparison(answer, bomb, "A1")], WorkbookBounds(max_unpacked_mb=8))
    assert (result.passed, result.error) == (
        False, "output workbook refused: it unpacks to 16 MB, more than the 8 MB allowed")
    with pytest.raises(WorkbookRefused, match="unpacks to 16 MB"):
        output_has_formulas(bomb, WorkbookBounds(max_unpacked_mb=8))
    # within the bound, the same file is read normally
    [(result, _)] = compare_outputs([Comparison(answer, bomb, "A1")], WorkbookBounds(max_unpacked_mb=32))
    assert (result.passed, result.error) == (True, None)


def long_strings(count: int, megabytes: int) -> bytes:
    """A workbook whose first column holds ``count`` inline strings of ``megabytes`` MB each."""
    blank = io.BytesIO(to_bytes(workbook({"Sheet1": {"A1": 1}})))
    out = io.BytesIO()
    text = "s" * (megabytes << 20)
    with zipfile.ZipFile(blank) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                target.writestr(info, source.read(info.filename))
        with target.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
            for r in range(1, count + 1):
                sheet.write(f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>{text}</t></is></c></row>'.encode())
            sheet.write(b"</sheetData></worksheet>")
    return out.getvalue()


def test_a_workbook_that_needs_more_memory_than_allowed_is_refused(tmp_path: Path) -> None:
    answer = save(workbook({"Sheet1": {"A1": 1}}), tmp_path / "answer.xlsx")
    heavy = long_strings(count=100, megabytes=4)  # 400 MB of text once read, a few hundred KB zipped
    bounds = WorkbookBounds(memory_mb=512, max_unpacked_mb=1024)
    reset_peak_memory()
    before = peak_memory_mb()
    [(result, _)] = compare_outputs([Comparison(answer, heavy, "A1")], bounds)
    assert peak_memory_mb() - before < 100
    assert not result.passed
    assert result.error is not None and result.error.startswith("output workbook refused: reading it "), result


def test_ordinary_outputs_compare_exactly_as_in_process(tmp_path: Path) -> None:
    answer = save(workbook({"Sheet1": {"A1": 1, "B1": "x", "A2": 2.5}}), tmp_path / "answer.xlsx")
    right = to_bytes(workbook({"Sheet1": {"A1": 1, "B1": "x", "A2": 2.5}}))
    wrong = save(workbook({"Sheet1": {"A1": 2, "B1": "y" * 5000}}), tmp_path / "wrong.xlsx")
    other_sheet = to_bytes(workbook({"Other": {"A1": 1}}))
    comparisons = [Comparison(answer, right, "A1:B2"), Comparison(answer, wrong, "A1:B2"),
                   Comparison(answer, other_sheet, "A1"), Comparison(answer, b"not a workbook", "A1"),
                   Comparison(answer, None, "A1"), Comparison(answer, tmp_path / "absent.xlsx", "A1")]
    got = compare_outputs(comparisons, WorkbookBounds())
    assert len(got) == len(comparisons)
    for c, (result, seconds) in zip(comparisons, got):
        expected = compare_workbooks(c.answer, c.output, c.position)
        for mismatch in expected.mismatches:  # long values are cut to 1000 characters in the record
            if mismatch["got"] == "y" * 5000:
                mismatch["got"] = "y" * 1000 + "..."
        assert result == expected, c
        assert seconds >= 0
    assert [r.passed for r, _ in got] == [True, False, False, False, False, False]


def test_a_broken_answer_is_still_a_data_error(tmp_path: Path) -> None:
    broken = tmp_path / "answer.xlsx"
    broken.write_bytes(b"not a workbook")
    with pytest.raises(DataError, match="cannot open the answer workbook"):
        compare_outputs([Comparison(broken, to_bytes(workbook({"Sheet1": {"A1": 1}})), "A1")], WorkbookBounds())


def test_formulas_are_detected_within_bounds() -> None:
    book = workbook({"Sheet1": {"A1": 2, "B1": "=A1*2"}})
    assert output_has_formulas(to_bytes(book), WorkbookBounds()) is True
    assert output_has_formulas(to_bytes(workbook({"Sheet1": {"A1": 2}})), WorkbookBounds()) is False
    assert output_has_formulas(b"not a workbook", WorkbookBounds()) is False
    with pytest.raises(WorkbookRefused, match="more than the 1 cells allowed"):
        output_has_formulas(to_bytes(book), WorkbookBounds(max_cells=1))
