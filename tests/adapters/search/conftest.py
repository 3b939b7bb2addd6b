"""Every test here gets its own index/judge cache, so no test reads or pollutes ~/.cache or another's."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def cache_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("EVALHARNESS_CACHE", str(root))
    return root
