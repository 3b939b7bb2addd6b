"""Spreadsheet manipulation tasks (SpreadsheetBench format)."""

from evalharness.adapters.spreadsheet.adapter import SpreadsheetAdapter

__all__ = ["SpreadsheetAdapter"]
