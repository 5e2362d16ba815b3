"""Reach: channels pages (see consult/reach/__init__.py)."""

from __future__ import annotations

from . import bp  # noqa: F401
