"""Officer accounts: argon2 password hashes, sign-in with lock-out after
repeated failures, partnerships and memberships."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select

from ..extensions import db
from ..models import Membership, Partnership, Role, User
from . import ServiceError
from .audit import record

_hasher = PasswordHasher()
# Verified against when the email is unknown, so a wrong email takes as long
# as a wrong password and does not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MIN_PASSWORD_LENGTH = 12


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ServiceError(
            f"Password must be at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )


@dataclass(frozen=True)
class SignInResult:
    user: User | None
    error: str | None = None


def normalise_email(email: str) -> str:
    return email.strip().lower()


def authenticate(
    email: str, password: str, *, max_failures: int, lockout: timedelta
) -> SignInResult:
    generic = "Enter a correct email address and password"
    user = db.session.scalars(select(User).filter_by(email=normalise_email(email))).first()
    now = datetime.now(UTC)
    if user is None or not user.is_active:
        _verify(_DUMMY_HASH, password)
        return SignInResult(None, generic)
    locked_until = user.locked_until
    if locked_until is not None and locked_until.tzinfo is None:
        locked_until = locked_until.replace(tzinfo=UTC)
    if locked_until is not None and locked_until > now:
        record("sign_in_locked", partnership_id=None, user_id=user.id)
        db.session.commit()
        minutes = max(1, int((locked_until - now).total_seconds() // 60) + 1)
        return SignInResult(
            None,
            f"Too many failed attempts. This account is locked; try again in {minutes} minutes "
            "or ask your partnership administrator.",
        )
    if not _verify(user.password_hash, password):
        user.failed_sign_ins += 1
        if user.failed_sign_ins >= max_failures:
            user.locked_until = now + lockout
            user.failed_sign_ins = 0
            record("account_locked", partnership_id=None, user_id=user.id)
        record("sign_in_failed", partnership_id=None, user_id=user.id)
        db.session.commit()
        return SignInResult(None, generic)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_sign_ins = 0
    user.locked_until = None
    user.last_sign_in_at = now
    membership = first_membership(user)
    record(
        "sign_in",
        partnership_id=membership.partnership_id if membership else None,
        user_id=user.id,
    )
    db.session.commit()
    return SignInResult(user)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def first_membership(user: User) -> Membership | None:
    return db.session.scalars(
        select(Membership).filter_by(user_id=user.id).order_by(Membership.id)
    ).first()


def create_partnership(slug: str, name: str, *, colour: str | None = None) -> Partnership:
    slug = slug.strip().lower()
    if not SLUG_PATTERN.match(slug):
        raise ServiceError(
            "The short name must be lowercase letters, numbers and hyphens, like city-csp",
            field="slug",
        )
    if not name.strip():
        raise ServiceError("Enter the partnership's name", field="name")
    if db.session.scalars(select(Partnership).filter_by(slug=slug)).first():
        raise ServiceError(f"A partnership called {slug} already exists", field="slug")
    partnership = Partnership(slug=slug, name=name.strip(), colour=colour)
    db.session.add(partnership)
    db.session.flush()
    record("partnership_created", partnership_id=partnership.id, user_id=None, target=slug)
    return partnership


def create_user(
    email: str,
    password: str,
    *,
    partnership: Partnership,
    role: Role | str,
    name: str = "",
    created_by: User | None = None,
) -> User:
    email = normalise_email(email)
    if not EMAIL_PATTERN.match(email):
        raise ServiceError(
            "Enter an email address in the correct format, like name@example.org", field="email"
        )
    try:
        role = Role(role)
    except ValueError:
        raise ServiceError(
            f"Role must be one of {', '.join(r.value for r in Role)}", field="role"
        ) from None
    check_password_strength(password)
    existing = db.session.scalars(select(User).where(func.lower(User.email) == email)).first()
    if existing is not None:
        raise ServiceError(f"An account for {email} already exists", field="email")
    user = User(email=email, name=name.strip(), password_hash=hash_password(password))
    db.session.add(user)
    db.session.flush()
    db.session.add(Membership(user_id=user.id, partnership_id=partnership.id, role=role.value))
    record(
        "user_created",
        partnership_id=partnership.id,
        user_id=created_by.id if created_by else None,
        target=f"user:{user.id}",
        details={"role": role.value},
    )
    return user


def set_role(membership: Membership, role: Role | str, *, by: User) -> None:
    try:
        role = Role(role)
    except ValueError:
        raise ServiceError("Choose a role", field="role") from None
    if membership.role == Role.ADMIN and role != Role.ADMIN:
        admins = db.session.scalars(
            select(Membership).filter_by(partnership_id=membership.partnership_id, role="admin")
        ).all()
        if len(admins) <= 1:
            raise ServiceError("A partnership must keep at least one administrator", field="role")
    membership.role = role.value
    record(
        "role_changed",
        partnership_id=membership.partnership_id,
        user_id=by.id,
        target=f"user:{membership.user_id}",
        details={"role": role.value},
    )
