"""Fixtures of the knowledge tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache folder of the test's own (indexes, embeddings, sandbox files)."""
    root = tmp_path / "cache"
    monkeypatch.setenv("EVALHARNESS_CACHE", str(root))
    return root
