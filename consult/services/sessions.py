"""Officer sessions held on the server. The browser's cookie carries a random
token; only its hash is stored, with the times the idle and absolute limits are
measured from, so neither can be stretched by replaying or editing a cookie,
and a session can be ended from anywhere."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, or_, select, update

from ..extensions import db
from ..models import OfficerSession, User

# last_seen_at is written at most this often: one write a minute per officer
# instead of one per request, at the cost of a minute's precision on idleness.
TOUCH_INTERVAL = timedelta(seconds=60)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def start(user: User, *, absolute: timedelta) -> str:
    """A new session for `user`; returns the token for the cookie. Old ended
    or expired sessions of the same user are cleared out on the way."""
    now = datetime.now(UTC)
    db.session.execute(
        delete(OfficerSession).where(
            OfficerSession.user_id == user.id,
            or_(OfficerSession.ended_at.is_not(None), OfficerSession.created_at < now - absolute),
        )
    )
    token = secrets.token_urlsafe(32)
    db.session.add(
        OfficerSession(user_id=user.id, token_hash=_hash(token), created_at=now, last_seen_at=now)
    )
    return token


def resume(token: str, *, idle: timedelta, absolute: timedelta) -> tuple[User | None, str | None]:
    """The user whose live session this token is, or None and why a session
    that was found has run out ("idle" or "absolute"), so the page can say so."""
    if not token or not isinstance(token, str):
        return None, None
    row = db.session.scalars(
        select(OfficerSession).where(OfficerSession.token_hash == _hash(token))
    ).first()
    if row is None or row.ended_at is not None:
        return None, None
    now = datetime.now(UTC)
    last_seen = _aware(row.last_seen_at)
    if now - _aware(row.created_at) > absolute:
        row.ended_at = now
        return None, "absolute"
    if now - last_seen > idle:
        row.ended_at = now
        return None, "idle"
    user = db.session.get(User, row.user_id)
    if user is None or not user.is_active:
        row.ended_at = now
        return None, None
    if now - last_seen >= TOUCH_INTERVAL:
        row.last_seen_at = now
    return user, None


def end_all(user_id: int, *, except_token: str | None = None) -> int:
    """End every session of a user (sign-out, password change, deactivation)."""
    stmt = update(OfficerSession).where(
        OfficerSession.user_id == user_id, OfficerSession.ended_at.is_(None)
    )
    if except_token:
        stmt = stmt.where(OfficerSession.token_hash != _hash(except_token))
    result = db.session.execute(stmt.values(ended_at=datetime.now(UTC)))
    return int(getattr(result, "rowcount", 0) or 0)
