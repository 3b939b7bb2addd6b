"""Where shipped files live: ``tasks/`` and ``sandboxes/`` in a checkout; inside the package in a wheel."""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def builtin_tasks_dir() -> Path:
    installed = _PACKAGE_DIR / "_builtin_tasks"
    if installed.is_dir():
        return installed
    return _PACKAGE_DIR.parent / "tasks"


def builtin_suites_dir() -> Path:
    return builtin_tasks_dir() / "suites"


def sandbox_images_dir() -> Path:
    installed = _PACKAGE_DIR / "_sandbox_images"
    if installed.is_dir():
        return installed
    return _PACKAGE_DIR.parent / "sandboxes"


def cache_dir() -> Path:
    """Where indexes and judge verdicts are cached: ``$EVALHARNESS_CACHE``, else the XDG cache folder."""
    if root := os.environ.get("EVALHARNESS_CACHE"):
        return Path(root)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "evalharness"
