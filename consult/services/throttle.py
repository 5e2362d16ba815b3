"""Sign-in throttling instead of lock-out.

A lock-out on the account lets anyone who knows an officer's email keep them
out, and its own message tells the attacker the account exists. Here failures
are counted per *account at an address* and per *address*: after a few
failures each further attempt from that address waits twice as long as the
last (up to a ceiling). The officer at their own desk is never slowed by an
attacker hammering their account from elsewhere, and the waits apply alike to
addresses that have an account and those that do not, so they reveal nothing.
Keys are HMACs of the typed email and the client address under the app's
secret: the table holds neither. A guessing attacker spread over many
addresses is met by the refusal of common passwords and by two-factor sign-in.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import SignInThrottle

FIRST_DELAY_SECONDS = 2


@dataclass(frozen=True)
class Limit:
    key: str
    free_failures: int


def key(secret: str, *parts: str) -> str:
    message = "\x1f".join(parts).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def wait_seconds(limits: list[Limit], *, window: timedelta) -> int:
    """How long the caller must still wait before an attempt is checked (0: go ahead)."""
    now = datetime.now(UTC)
    rows = db.session.scalars(
        select(SignInThrottle).where(SignInThrottle.key.in_([limit.key for limit in limits]))
    ).all()
    wait = 0.0
    for row in rows:
        if now - _aware(row.last_failure_at) > window or row.next_allowed_at is None:
            continue
        wait = max(wait, (_aware(row.next_allowed_at) - now).total_seconds())
    return int(wait + 0.999) if wait > 0 else 0


def failed(limits: list[Limit], *, window: timedelta, ceiling: timedelta) -> None:
    now = datetime.now(UTC)
    # Counters quiet for a whole window count for nothing: drop them, so
    # guessed emails do not pile up in the table.
    db.session.execute(delete(SignInThrottle).where(SignInThrottle.last_failure_at < now - window))
    for limit in limits:
        row = db.session.scalars(select(SignInThrottle).filter_by(key=limit.key)).first()
        if row is None:
            row = SignInThrottle(key=limit.key, failures=0, last_failure_at=now)
            try:
                # Two workers may count the first failure at once: keep whichever row won.
                with db.session.begin_nested():
                    db.session.add(row)
            except IntegrityError:
                row = db.session.scalars(select(SignInThrottle).filter_by(key=limit.key)).one()
        if now - _aware(row.last_failure_at) > window:
            row.failures = 0  # quiet for a whole window: start afresh
        row.failures += 1
        row.last_failure_at = now
        over = row.failures - limit.free_failures
        if over > 0:
            delay = min(FIRST_DELAY_SECONDS * 2 ** min(over - 1, 20), ceiling.total_seconds())
            row.next_allowed_at = now + timedelta(seconds=delay)


def succeeded(limits: list[Limit]) -> None:
    for row in db.session.scalars(
        select(SignInThrottle).where(SignInThrottle.key.in_([limit.key for limit in limits]))
    ).all():
        db.session.delete(row)
