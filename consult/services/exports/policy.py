"""Who may take what: raw rows, free text, special-category answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ...models import ROLE_RANK, Role, Survey
from .. import ServiceError
from .common import RAW_ROLES, SPECIAL_CATEGORY_ROLES


@dataclass(frozen=True)
class Policy:
    """What a raw export may contain, and the sentences saying what was left out."""

    include_text: bool
    include_special: bool
    notes: tuple[str, ...] = ()


def raw_policy(survey: Survey, role: str | Role | None, today: date | None = None) -> Policy:
    """Raises ServiceError when the role may not take raw rows at all."""
    today = today or date.today()
    if role is not None and Role(role) not in RAW_ROLES:
        raise ServiceError(
            "Viewers can download aggregate results only (the Excel workbook without "
            "individual responses, and the strategy report)."
        )
    notes: list[str] = []
    include_text = not (survey.retention_until is not None and today > survey.retention_until)
    if not include_text:
        notes.append(
            f"Free-text answers are left out: the survey's retention date "
            f"({survey.retention_until:%d %B %Y}) has passed."
        )
    include_special = role is None or Role(role) in SPECIAL_CATEGORY_ROLES
    if not include_special:
        notes.append("Special-category answers are left out for your role.")
    return Policy(include_text, include_special, tuple(notes))


def may_export_raw(role: str | Role | None) -> bool:
    return role is not None and ROLE_RANK[Role(role)] >= ROLE_RANK[Role.OFFICER]
