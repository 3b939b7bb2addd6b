"""Shared helpers for the search adapter's tests: data files, the real HotpotQA set and the CLI."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
BUILTIN = REPO / "tasks" / "search"
BUILTIN_CORPUS = BUILTIN / "corpus.jsonl"
BUILTIN_QUESTIONS = BUILTIN / "questions.jsonl"
# Real HotpotQA questions and their paragraphs, shared beside the repository (read in place, never copied).
HOTPOT = REPO.parent / "shared" / "data" / "searchqa"
HOTPOT_CORPUS = HOTPOT / "corpus.jsonl"
HOTPOT_QUESTIONS = HOTPOT / "questions.jsonl"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_jsonl(path: Path, rows: Iterable[dict[str, Any] | str | bytes]) -> Path:
    """One line per row: dicts as JSON, strings and bytes as they are (for malformed lines)."""
    lines = [row if isinstance(row, bytes) else row.encode() if isinstance(row, str) else json.dumps(row).encode()
             for row in rows]
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def flat(text: str) -> str:
    """Whitespace collapsed, so assertions do not depend on where the console wrapped a line."""
    return " ".join(text.split())


def error_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in proc.stderr.splitlines() if line.startswith("error:")]


def run_dirs(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if p.is_dir()) if out.exists() else []
