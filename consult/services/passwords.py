"""What makes a password acceptable: long enough, not one of the passwords
attackers try first, and not made of the person's own email or name.

The list in `consult/data/common-passwords.txt` is the 19,640 most common
passwords from breach corpora, as Django ships it
(django/contrib/auth/common-passwords.txt.gz, BSD licence, itself from Royce
Williams' list built from leaked password dumps), one lower-case password a
line. A guessing attacker tries these first; the sign-in throttle makes sure
they cannot try many more."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from flask import has_request_context
from flask_babel import gettext

from . import ServiceError

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 500
# Fewer different characters than this is a pattern, not a password (aaaaaaaaaaaa, 121212121212).
MIN_DISTINCT_CHARACTERS = 5


def _(message: str) -> str:
    # Translated on web pages; the command line has no request and speaks English.
    return gettext(message) if has_request_context() else message


@cache
def common_passwords() -> frozenset[str]:
    text = resources.files("consult").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def password_problem(password: str, *, email: str = "", name: str = "") -> str | None:
    """The reason a password is refused, in words the person can act on, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _("Your password must be at least {count} characters").format(
            count=MIN_PASSWORD_LENGTH
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        return _("Your password must be {count} characters or fewer").format(
            count=MAX_PASSWORD_LENGTH
        )
    lowered = password.lower()
    if len(set(lowered)) < MIN_DISTINCT_CHARACTERS:
        return _("Your password repeats too few characters. Use a few unrelated words")
    squashed = _squash(password)
    common = common_passwords()
    # "Password1234!" is as weak as "password1234": try the password without
    # its decoration and with the digits people add at the end removed.
    candidates = {lowered, lowered.strip(), squashed, squashed.rstrip("0123456789")}
    if any(candidate in common for candidate in candidates if candidate):
        return _(
            "This password is one of the most common passwords, which attackers try first. "
            "Choose a different one, for example three or four unrelated words"
        )
    local_part = email.split("@", 1)[0]
    for value in (email, local_part):
        value = _squash(value)
        if len(value) >= 4 and value in squashed:
            return _("Your password must not contain your email address")
    for part in re.split(r"\s+", name.strip()):
        part = _squash(part)
        if len(part) >= 4 and part in squashed:
            return _("Your password must not contain your name")
    return None


def check_password(password: str, *, email: str = "", name: str = "") -> None:
    problem = password_problem(password, email=email, name=name)
    if problem is not None:
        raise ServiceError(problem, field="password")
