"""Two-factor sign-in: a time-based code from an authenticator app (TOTP,
RFC 6238, 30-second steps, 6 digits) and ten single-use recovery codes.

Administrators always need it; a partnership can require it of every member.
A code is accepted once only (its time step is remembered), one step either
side of now to allow for a phone's clock drifting."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

import pyotp
import segno
from markupsafe import Markup
from sqlalchemy import delete, select

from ..extensions import db
from ..models import Membership, Partnership, RecoveryCode, Role, User
from . import ServiceError
from .audit import record

ISSUER = "consult"
RECOVERY_CODE_COUNT = 10
# Recovery codes: 16 characters of a 32-letter alphabet (80 bits), so a plain
# SHA-256 stores them safely; no look-alike characters (0/o, 1/l).
_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"


def required_for(user: User) -> bool:
    """Whether this person must use two-factor sign-in: every administrator,
    and everyone in a partnership that requires it."""
    rows = db.session.execute(
        select(Membership.role, Partnership.require_two_factor)
        .join(Partnership, Partnership.id == Membership.partnership_id)
        .where(Membership.user_id == user.id, Membership.active.is_(True))
    ).all()
    return any(role == Role.ADMIN or required for role, required in rows)


def enabled(user: User) -> bool:
    return user.totp_enabled_at is not None and bool(user.totp_secret)


def start_enrolment(user: User) -> str:
    """A new secret for the person to add to their app; it counts once a code
    from it is confirmed. Starting again replaces an unconfirmed secret."""
    if enabled(user):
        raise ServiceError("Two-factor sign-in is already set up for this account")
    user.totp_secret = pyotp.random_base32()
    user.totp_last_counter = None
    return user.totp_secret


def provisioning_uri(user: User) -> str:
    assert user.totp_secret
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(user: User) -> Markup:
    """The set-up QR code as inline SVG (no image request, nothing sent elsewhere)."""
    qr = segno.make(provisioning_uri(user), error="m")
    svg = qr.svg_inline(scale=4, dark="#0b0c0c", light="#ffffff", title="QR code for your app")
    return Markup(svg.replace("<svg ", '<svg role="img" aria-label="QR code for your app" ', 1))


def _accept_code(user: User, code: str, now: datetime | None = None) -> bool:
    code = "".join(code.split())
    if not (user.totp_secret and code.isdigit() and len(code) == 6):
        return False
    totp = pyotp.TOTP(user.totp_secret)
    current = totp.timecode(now or datetime.now(UTC))
    for counter in (current - 1, current, current + 1):
        if user.totp_last_counter is not None and counter <= user.totp_last_counter:
            continue  # a code already used, or older than one used: a replay
        if hmac.compare_digest(totp.generate_otp(counter), code):
            user.totp_last_counter = counter
            return True
    return False


def confirm_enrolment(user: User, code: str) -> list[str]:
    """Switch two-factor on once the person shows a code from their app;
    returns the recovery codes, which are shown once and stored hashed."""
    if not user.totp_secret or enabled(user):
        raise ServiceError("Start setting up two-factor sign-in again", field="code")
    if not _accept_code(user, code):
        raise ServiceError(
            "Enter the 6-digit code your app shows now for this account", field="code"
        )
    user.totp_enabled_at = datetime.now(UTC)
    record("two_factor_enabled", partnership_id=None, user_id=user.id)
    return new_recovery_codes(user)


def new_recovery_codes(user: User) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(16))
        codes.append("-".join(raw[i : i + 4] for i in range(0, 16, 4)))
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_hash_code(raw)))
    return codes


def replace_recovery_codes(user: User) -> list[str]:
    """New recovery codes in place of the old ones, which stop working."""
    codes = new_recovery_codes(user)
    record("recovery_codes_replaced", partnership_id=None, user_id=user.id)
    return codes


def _hash_code(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _normalise_recovery(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def verify(user: User, code: str) -> str | None:
    """Check a sign-in code: an app code or an unused recovery code. Returns
    which kind was accepted ("totp" or "recovery"), or None."""
    if not enabled(user):
        return None
    if _accept_code(user, code):
        return "totp"
    raw = _normalise_recovery(code)
    if len(raw) != 16:
        return None
    row = db.session.scalars(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash_code(raw),
            RecoveryCode.used_at.is_(None),
        )
    ).first()
    if row is None:
        return None
    row.used_at = datetime.now(UTC)
    record("recovery_code_used", partnership_id=None, user_id=user.id)
    return "recovery"


def recovery_codes_left(user: User) -> int:
    return len(
        db.session.scalars(
            select(RecoveryCode.id).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        ).all()
    )


def reset(user: User, *, by: User | None = None) -> None:
    """Remove two-factor (a lost phone): the person sets it up again at their
    next sign-in, if they need it."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_counter = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    record(
        "two_factor_reset",
        partnership_id=None,
        user_id=by.id if by else None,
        target=f"user:{user.id}",
    )
