"""Officer accounts: argon2 password hashes, sign-in with throttling (never
a lock-out), password changes, set-password links, deactivation, partnerships
and memberships."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import func, select

from ..extensions import db
from ..models import Membership, Partnership, PasswordToken, Role, User
from . import ServiceError, sessions, throttle
from .audit import record
from .passwords import check_password

_hasher = PasswordHasher()
# Verified against when the email is unknown, the account inactive or the
# attempt throttled, so every refusal costs the same hash and takes as long.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
GENERIC_SIGN_IN_ERROR = "Enter a correct email address and password"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_strength(password: str, *, email: str = "", name: str = "") -> None:
    check_password(password, email=email, name=name)


@dataclass(frozen=True)
class SignInResult:
    user: User | None
    error: str | None = None
    # Seconds to wait before the next attempt is even checked (throttled).
    wait: int = 0


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _limits(email: str, address: str) -> tuple[throttle.Limit, throttle.Limit]:
    cfg = current_app.config
    secret = str(cfg["SECRET_KEY"])
    pair = throttle.Limit(
        throttle.key(secret, "account-at-address", email, address), cfg["LOGIN_MAX_FAILURES"]
    )
    per_address = throttle.Limit(
        throttle.key(secret, "address", address), cfg["SIGN_IN_ADDRESS_FAILURES"]
    )
    return pair, per_address


def throttle_wait(scope: str, address: str) -> int:
    cfg = current_app.config
    limit = throttle.Limit(
        throttle.key(str(cfg["SECRET_KEY"]), scope, address), cfg["LOGIN_MAX_FAILURES"]
    )
    return throttle.wait_seconds([limit], window=cfg["SIGN_IN_THROTTLE_WINDOW"])


def throttle_failed(scope: str, address: str) -> None:
    cfg = current_app.config
    limit = throttle.Limit(
        throttle.key(str(cfg["SECRET_KEY"]), scope, address), cfg["LOGIN_MAX_FAILURES"]
    )
    throttle.failed([limit], window=cfg["SIGN_IN_THROTTLE_WINDOW"], ceiling=cfg["LOGIN_LOCKOUT"])


def throttle_cleared(scope: str, address: str) -> None:
    cfg = current_app.config
    limit = throttle.Limit(throttle.key(str(cfg["SECRET_KEY"]), scope, address), 0)
    throttle.succeeded([limit])


def authenticate(email: str, password: str, *, address: str) -> SignInResult:
    """Check a sign-in. Unknown, wrong, inactive and throttled attempts all
    run one argon2 verification; the first three get the same message."""
    cfg = current_app.config
    email = normalise_email(email)
    pair, per_address = _limits(email, address or "unknown")
    window = cfg["SIGN_IN_THROTTLE_WINDOW"]
    wait = throttle.wait_seconds([pair, per_address], window=window)
    if wait:
        _verify(_DUMMY_HASH, password)
        return SignInResult(None, "Too many attempts to sign in from here", wait)
    user = db.session.scalars(select(User).filter_by(email=email)).first()
    usable = user is not None and user.is_active and first_membership(user) is not None
    verified = _verify(user.password_hash if usable and user else _DUMMY_HASH, password)
    if not (usable and verified and user):
        throttle.failed([pair, per_address], window=window, ceiling=cfg["LOGIN_LOCKOUT"])
        if user is not None:
            record("sign_in_failed", partnership_id=None, user_id=user.id)
        return SignInResult(None, GENERIC_SIGN_IN_ERROR)
    throttle.succeeded([pair])
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return SignInResult(user)


def signed_in(user: User) -> None:
    """Record a completed sign-in (after the second factor, if any)."""
    user.last_sign_in_at = datetime.now(UTC)
    membership = first_membership(user)
    record(
        "sign_in",
        partnership_id=membership.partnership_id if membership else None,
        user_id=user.id,
    )


def signed_out(user: User, *, partnership_id: int | None) -> None:
    """Sign out: every session of this person ends, not only this browser's,
    so a cookie copied earlier stops working too."""
    sessions.end_all(user.id)
    record("sign_out", partnership_id=partnership_id, user_id=user.id)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def verify_password(user: User, password: str) -> bool:
    return _verify(user.password_hash, password)


def set_password(user: User, password: str, *, temporary: bool = False) -> None:
    """Give the account a new password and end every session it has."""
    check_password(password, email=user.email, name=user.name)
    if _verify(user.password_hash, password) and user.must_change_password:
        raise ServiceError(
            "Choose a new password, different from the temporary one", field="password"
        )
    user.password_hash = hash_password(password)
    user.must_change_password = temporary
    user.password_changed_at = datetime.now(UTC)
    sessions.end_all(user.id)


def set_password_by_command(user: User, password: str, *, temporary: bool = False) -> None:
    """The command line's `set-password`: nobody signed in did it, so the
    event names the account as its target and no user."""
    set_password(user, password, temporary=temporary)
    record("password_set", partnership_id=None, user_id=None, target=f"user:{user.id}")


def change_own_password(user: User, current: str, new: str) -> None:
    if not _verify(user.password_hash, current):
        raise ServiceError("Your current password is not right", field="current_password")
    if current == new:
        raise ServiceError(
            "Your new password must be different from your current one", field="password"
        )
    set_password(user, new)
    record("password_changed", partnership_id=None, user_id=user.id)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_password_link(
    user: User, *, by: User | None, partnership: Partnership | None, sets_password: bool = True
) -> str:
    """A one-time set-password token (the link's last part). Earlier unused
    links for the same account stop working."""
    now = datetime.now(UTC)
    for old in db.session.scalars(
        select(PasswordToken).where(
            PasswordToken.user_id == user.id, PasswordToken.used_at.is_(None)
        )
    ).all():
        old.used_at = now
    token = secrets.token_urlsafe(32)
    db.session.add(
        PasswordToken(
            user_id=user.id,
            token_hash=_token_hash(token),
            partnership_id=partnership.id if partnership else None,
            sets_password=sets_password,
            created_at=now,
            expires_at=now + current_app.config["SET_PASSWORD_LINK_LIFETIME"],
        )
    )
    record(
        "password_link_issued",
        partnership_id=partnership.id if partnership else None,
        user_id=by.id if by else None,
        target=f"user:{user.id}",
    )
    return token


def find_password_link(token: str) -> PasswordToken | None:
    """The live token for a link, or None when it is unknown, used or expired."""
    if not token or len(token) > 100:
        return None
    row = db.session.scalars(select(PasswordToken).filter_by(token_hash=_token_hash(token))).first()
    if row is None or row.used_at is not None:
        return None
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
    if expires <= datetime.now(UTC):
        return None
    return row


def use_password_link(token: str, password: str) -> User:
    row = find_password_link(token)
    if row is None:
        raise ServiceError("This link has expired or has already been used")
    user = db.session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise ServiceError("This link has expired or has already been used")
    if row.sets_password:
        set_password(user, password)
    row.used_at = datetime.now(UTC)
    record(
        "password_set_by_link" if row.sets_password else "invitation_accepted",
        partnership_id=row.partnership_id,
        user_id=user.id,
    )
    return user


def first_membership(user: User) -> Membership | None:
    return db.session.scalars(
        select(Membership).filter_by(user_id=user.id, active=True).order_by(Membership.id)
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


def _email_and_role(email: str, role: Role | str) -> tuple[str, Role]:
    """A new member's email address, normalised, and role, or the refusal
    that names the field."""
    email = normalise_email(email)
    if not EMAIL_PATTERN.match(email):
        raise ServiceError(
            "Enter an email address in the correct format, like name@example.org", field="email"
        )
    try:
        return email, Role(role)
    except ValueError:
        raise ServiceError(
            f"Role must be one of {', '.join(r.value for r in Role)}", field="role"
        ) from None


def create_user(
    email: str,
    password: str,
    *,
    partnership: Partnership,
    role: Role | str,
    name: str = "",
    created_by: User | None = None,
) -> User:
    email, role = _email_and_role(email, role)
    check_password(password, email=email, name=name)
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
            select(Membership).filter_by(
                partnership_id=membership.partnership_id, role="admin", active=True
            )
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


@dataclass(frozen=True)
class AddedMember:
    user: User
    membership: Membership
    # The set-password link's token: handed to the person by the administrator.
    token: str


def add_member(
    email: str, *, partnership: Partnership, role: Role | str, name: str = "", by: User
) -> AddedMember:
    """Give a person access to a partnership. A new account gets a
    set-password link. A person who already has an account (in any
    partnership) is added as they are, and their link only welcomes them:
    the administrator sees the same answer either way, so adding a user never
    tells them whether an email has an account elsewhere."""
    email, role = _email_and_role(email, role)
    user = db.session.scalars(select(User).where(func.lower(User.email) == email)).first()
    sets_password = user is None
    if user is None:
        # Nobody knows this password: the account is usable only through the link.
        user = User(
            email=email, name=name.strip(), password_hash=hash_password(secrets.token_urlsafe(32))
        )
        db.session.add(user)
        db.session.flush()
    membership = db.session.scalars(
        select(Membership).filter_by(user_id=user.id, partnership_id=partnership.id)
    ).first()
    if membership is not None:
        # Already a member here: this partnership's admins can see that anyway.
        raise ServiceError(f"{email} already has access to this partnership", field="email")
    membership = Membership(user_id=user.id, partnership_id=partnership.id, role=role.value)
    db.session.add(membership)
    db.session.flush()
    token = issue_password_link(user, by=by, partnership=partnership, sets_password=sets_password)
    record(
        "user_created",
        partnership_id=partnership.id,
        user_id=by.id,
        target=f"user:{user.id}",
        details={"role": role.value},
    )
    return AddedMember(user, membership, token)


def _active_admins(partnership_id: int) -> int:
    return len(
        db.session.scalars(
            select(Membership.id).filter_by(
                partnership_id=partnership_id, role="admin", active=True
            )
        ).all()
    )


def deactivate_member(membership: Membership, *, by: User) -> None:
    """End a person's access to this partnership and every session they have;
    the account itself ends when no active membership is left."""
    if membership.user_id == by.id:
        raise ServiceError("You cannot deactivate your own account")
    if not membership.active:
        raise ServiceError("This account is already deactivated")
    if membership.role == Role.ADMIN and _active_admins(membership.partnership_id) <= 1:
        raise ServiceError("A partnership must keep at least one active administrator")
    membership.active = False
    user = db.session.get(User, membership.user_id)
    assert user is not None
    if first_membership(user) is None:
        user.is_active = False
    sessions.end_all(user.id)
    record(
        "user_deactivated",
        partnership_id=membership.partnership_id,
        user_id=by.id,
        target=f"user:{membership.user_id}",
    )


def reactivate_member(membership: Membership, *, by: User) -> None:
    if membership.active:
        raise ServiceError("This account is already active")
    membership.active = True
    user = db.session.get(User, membership.user_id)
    assert user is not None
    user.is_active = True
    record(
        "user_reactivated",
        partnership_id=membership.partnership_id,
        user_id=by.id,
        target=f"user:{membership.user_id}",
    )


def deactivate_user(user: User) -> None:
    """Command line: end the account everywhere, with every session."""
    user.is_active = False
    sessions.end_all(user.id)
    record("user_deactivated", partnership_id=None, user_id=None, target=f"user:{user.id}")


def reactivate_user(user: User) -> None:
    user.is_active = True
    for membership in user.memberships:
        membership.active = True
    record("user_reactivated", partnership_id=None, user_id=None, target=f"user:{user.id}")


def find_user(email: str) -> User | None:
    return db.session.scalars(select(User).filter_by(email=normalise_email(email))).first()


def memberships_of(user: User) -> list[Membership]:
    return list(db.session.scalars(select(Membership).filter_by(user_id=user.id)))


def members(partnership: Partnership) -> list[tuple[Membership, User]]:
    """Everyone in a partnership (active or not) with their account, by email."""
    rows = db.session.execute(
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.partnership_id == partnership.id)
        .order_by(User.email)
    ).all()
    return [(membership, user) for membership, user in rows]


def only_in(user: User, partnership_id: int) -> bool:
    """Whether a person belongs to this partnership alone. One partnership's
    administrator must never be able to take over an account another
    partnership relies on, so only then may their link set a password."""
    return all(m.partnership_id == partnership_id for m in user.memberships)


def require_two_factor(partnership: Partnership, required: bool, *, by: User) -> None:
    partnership.require_two_factor = required
    record(
        "two_factor_requirement_changed",
        partnership_id=partnership.id,
        user_id=by.id,
        details={"required": required},
    )
