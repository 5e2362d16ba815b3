"""The audit log: who did what and when. Callers pass identifiers and counts,
never a resident's answers or contact details."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..extensions import db
from ..models import AuditEvent


def record(
    action: str,
    *,
    partnership_id: int | None,
    user_id: int | None,
    target: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        action=action,
        partnership_id=partnership_id,
        user_id=user_id,
        target=target[:200],
        details=details or {},
    )
    db.session.add(event)
    return event


def events_page(partnership_id: int, page: int, per_page: int) -> tuple[list[AuditEvent], bool]:
    """One page of a partnership's audit log, newest first, and whether
    there is a next page."""
    events = list(
        db.session.scalars(
            select(AuditEvent)
            .filter_by(partnership_id=partnership_id)
            .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
            .offset((page - 1) * per_page)
            .limit(per_page + 1)
        )
    )
    return events[:per_page], len(events) > per_page
