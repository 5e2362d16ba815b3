"""The audit log: who did what and when. Callers pass identifiers and counts,
never a resident's answers or contact details."""

from __future__ import annotations

from typing import Any

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
