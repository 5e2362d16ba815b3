"""Constants and small rules every export format shares: formats, roles,
formula escaping and the disclosure threshold."""

from __future__ import annotations

from typing import Any

from flask import current_app, has_app_context

from ...models import Role

FORMATS = ("csv", "xlsx", "sav", "json")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "labels": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "sav": "application/x-spss-sav",
    "json": "application/json",
}
FORMAT_NAMES = {
    "csv": "CSV (comma-separated values)",
    "xlsx": "Excel workbook (.xlsx)",
    "sav": "SPSS data file (.sav)",
    "json": "JSON",
}
# Roles that may take raw rows, and the special-category columns in them.
RAW_ROLES = frozenset({Role.OFFICER, Role.ADMIN})
SPECIAL_CATEGORY_ROLES = frozenset({Role.OFFICER, Role.ADMIN})
# A spreadsheet treats a cell starting with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Fixed SPSS numbers for the non-answers, the UK Data Service convention.
SPSS_MISSING_NUMBERS = {"prefer_not_to_say": -9, "dont_know": -8}
SPSS_MISSING_RANGE = {"lo": -9, "hi": -1}
META = ("resp_reference", "resp_language", "resp_channel", "resp_submitted_at")


def escape_cell(value: Any) -> Any:
    """Neutralise a text a spreadsheet would run as a formula (`=HYPERLINK(...)`)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def disclosure_min_cell() -> int:
    """Cells below this many respondents are suppressed in anything that
    leaves the system. Never below 5, whatever the configuration says: below
    that, a published table can identify a resident."""
    configured = 10
    if has_app_context():
        configured = int(current_app.config.get("DISCLOSURE_MIN_CELL", 10) or 10)
    return max(5, configured)
