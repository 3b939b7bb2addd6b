"""Imports every built-in adapter so its ``@register`` runs."""

from evalharness.adapters import calculator, math_tools, search, spreadsheet, tau  # noqa: F401
from evalharness.arena import tasks as arena_tasks  # noqa: F401
