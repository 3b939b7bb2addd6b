"""Helpers for the spreadsheet tests: the real SpreadsheetBench data, building small workbooks and
datasets in SpreadsheetBench format, and checking what the real `evalharness` command left and printed."""

from __future__ import annotations

import fcntl
import io
import json
import os
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.workbook.workbook import Workbook


def _repo_root() -> Path:
    for parent in Path(__file__).resolve().parents:
        if (parent / "pyproject.toml").is_file() and (parent / "evalharness").is_dir():
            return parent
    raise AssertionError(f"no repository root above {__file__}")


REPO = _repo_root()
# The real data lives next to the repository (its parent folder holds `shared/`); it is only ever read.
REAL_DATASET = (REPO.parent / "shared" / "data" / "spreadsheetbench").resolve()


def real_entries() -> list[dict[str, Any]]:
    return json.loads((REAL_DATASET / "dataset.json").read_text(encoding="utf-8"))


# --- workbooks -----------------------------------------------------------------------------------------


def workbook(sheets: dict[str, dict[str, Any]], merged: dict[str, list[str]] | None = None) -> Workbook:
    """A workbook with the given sheets (in order), each a mapping of cell name to value."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, cells in sheets.items():
        ws = wb.create_sheet(title)
        for name, value in cells.items():
            ws[name] = value
        for rng in (merged or {}).get(title, []):
            ws.merge_cells(rng)
    return wb


def save(wb: Workbook, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def to_bytes(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def with_empty_string(wb: Workbook, cell: str, path: Path) -> Path:
    """Save ``wb`` with ``cell`` (on its first sheet) holding a real empty string.

    openpyxl writes "" as no value at all, so the cell is written with a placeholder and the placeholder is
    then emptied in the sheet XML: openpyxl reads ``<is><t></t></is>`` back as "" (not None)."""
    placeholder = "PLACEHOLDER-EMPTY-STRING"
    wb.worksheets[0][cell] = placeholder
    data = to_bytes(wb)
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                assert f"<t>{placeholder}</t>".encode() in content
                content = content.replace(f"<t>{placeholder}</t>".encode(), b"<t></t>")
            target.writestr(info, content)
    path.write_bytes(out.getvalue())
    return path


def write_many_cells(path: str, rows: int, columns: int = 10) -> None:
    """An .xlsx of ``rows`` x ``columns`` numbers, its sheet streamed into the zip: a million cells take
    seconds and about 3 MB here, whatever openpyxl would make of them. Self-contained, so that its source
    can run in a sandbox too."""
    import io
    import zipfile

    import openpyxl
    from openpyxl.utils import get_column_letter

    blank = io.BytesIO()
    openpyxl.Workbook().save(blank)
    letters = [get_column_letter(c) for c in range(1, columns + 1)]
    with zipfile.ZipFile(blank) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                target.writestr(info, source.read(info.filename))
        with target.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(b'<?xml version="1.0" encoding="UTF-8"?><worksheet '
                        b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
            for r in range(1, rows + 1):
                cells = "".join(f'<c r="{letter}{r}"><v>{r}</v></c>' for letter in letters)
                sheet.write(f'<row r="{r}">{cells}</row>'.encode())
            sheet.write(b"</sheetData></worksheet>")


# --- SpreadsheetBench-format datasets -------------------------------------------------------------------


def write_dataset(root: Path, entries: list[dict[str, Any]]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "dataset.json").write_text(json.dumps(entries, indent=1), encoding="utf-8")
    return root


def entry(task_id: str, answer_position: str, **extra: Any) -> dict[str, Any]:
    return {"id": task_id, "instruction": f"Do task {task_id}.",
            "instruction_type": "Cell-Level Manipulation",
            "answer_position": answer_position, "spreadsheet_path": f"spreadsheet/{task_id}", **extra}


def write_cases(root: Path, task_id: str, cases: dict[int, tuple[Workbook, Workbook]],
                tags: tuple[str, str] = ("input", "answer")) -> Path:
    """Write ``<k>_<id>_<input>.xlsx`` and ``<k>_<id>_<answer>.xlsx`` for each case k."""
    folder = root / "spreadsheet" / task_id
    folder.mkdir(parents=True, exist_ok=True)
    for k, (inp, ans) in cases.items():
        inp.save(folder / f"{k}_{task_id}_{tags[0]}.xlsx")
        ans.save(folder / f"{k}_{task_id}_{tags[1]}.xlsx")
    return folder


# --- the command ---------------------------------------------------------------------------------------


def run_dirs(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if p.is_dir()) if out.exists() else []


def only_run_dir(proc: subprocess.CompletedProcess[str], out: Path) -> Path:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    dirs = run_dirs(out)
    assert len(dirs) == 1, dirs
    return dirs[0]


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error:"), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


# --- the Docker engine is shared with tests/sandboxes ----------------------------------------------------
# tests/sandboxes/conftest.py serialises its one test that removes *every* evalharness container
# (``sandbox cleanup``) against all other Docker users through these two lock files; holding the same
# shared lock keeps that test from removing our containers in the middle of a run.

_LOCK_DIR = tempfile.gettempdir()
_MAIN_LOCK = os.path.join(_LOCK_DIR, "evalharness-sandbox-tests.lock")
_TURNSTILE = os.path.join(_LOCK_DIR, "evalharness-sandbox-tests.turnstile")


@contextmanager
def docker_lock() -> Iterator[None]:
    with open(_MAIN_LOCK, "a+") as main:
        with open(_TURNSTILE, "a+") as turnstile:
            fcntl.flock(turnstile, fcntl.LOCK_EX)
            try:
                fcntl.flock(main, fcntl.LOCK_SH)
            finally:
                fcntl.flock(turnstile, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(main, fcntl.LOCK_UN)


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
