"""Where shipped files live: ``tasks/`` and ``sandboxes/`` in a checkout; inside the package in a wheel."""

from __future__ import annotations

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
