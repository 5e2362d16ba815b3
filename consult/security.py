"""Who may see what: role checks on officer views, tenant scoping of every
query of partnership data, and the security headers on every response.

Every view is marked either `@public` or `@role_required(...)`; a test over the
route map fails when a view is neither, so a new officer route cannot ship
without a role check."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, abort, current_app, flash, g, redirect, request, session, url_for
from sqlalchemy import select
from werkzeug.datastructures import ImmutableMultiDict

from .extensions import db
from .models import ROLE_RANK, Membership, Partnership, Role, User

F = TypeVar("F", bound=Callable[..., Any])


def public(view: F) -> F:
    """Mark a view as open to anyone (resident pages, sign-in, static pages)."""
    view._consult_public = True  # type: ignore[attr-defined]
    return view


def role_required(role: Role) -> Callable[[F], F]:
    """The signed-in user must hold at least `role` in the current partnership."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if g.get("user") is None:
                if g.get("session_expired") == "absolute":
                    flash(
                        "Your session has reached its time limit. Sign in again to continue.",
                        "info",
                    )
                elif g.get("session_expired"):
                    # Said here: the sign-in page we redirect to no longer sees the old session.
                    flash("You were signed out because you were inactive. Sign in again.", "info")
                return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))
            setup = _account_setup_redirect(view)
            if setup is not None:
                return setup
            membership = g.get("membership")
            if membership is None or ROLE_RANK[Role(membership.role)] < ROLE_RANK[role]:
                abort(403)
            return view(*args, **kwargs)

        wrapped._consult_role = role  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


def current_partnership() -> Partnership:
    partnership = g.get("partnership")
    if partnership is None:
        abort(403)
    return partnership


def owned_or_404(model: type, object_id: int, **filters: Any) -> Any:
    """Fetch a row of the current partnership's data, or 404. Another
    partnership's row is indistinguishable from a row that does not exist."""
    partnership = current_partnership()
    stmt: Any = select(model).filter_by(id=object_id, partnership_id=partnership.id, **filters)
    obj = db.session.scalars(stmt).first()
    if obj is None:
        abort(404)
    return obj


def has_role(role: Role) -> bool:
    membership = g.get("membership")
    return membership is not None and ROLE_RANK[Role(membership.role)] >= ROLE_RANK[role]


def load_signed_in_user() -> None:
    g.user = None
    g.membership = None
    g.partnership = None
    token = session.get("sid")
    if token is None:
        return
    from .services import sessions

    cfg = current_app.config
    # Idle and absolute limits are measured from times stored on the server:
    # a replayed or edited cookie cannot stretch them, and an ended session
    # (sign-out, password change, deactivation) stays ended.
    user, expired = sessions.resume(
        token, idle=cfg["OFFICER_SESSION_IDLE"], absolute=cfg["OFFICER_SESSION_ABSOLUTE"]
    )
    db.session.commit()
    if user is None:
        session.clear()
        g.session_expired = expired
        return
    g.user = user
    partnership_id = session.get("partnership_id")
    membership = db.session.scalars(
        select(Membership).filter_by(user_id=user.id, partnership_id=partnership_id, active=True)
    ).first()
    if membership is None:
        membership = db.session.scalars(
            select(Membership).filter_by(user_id=user.id, active=True).order_by(Membership.id)
        ).first()
    if membership is not None:
        session["partnership_id"] = membership.partnership_id
        g.membership = membership
        g.partnership = membership.partnership


def start_session(user: User, membership: Membership | None) -> None:
    from .services import sessions

    session.clear()
    session.permanent = True
    session["sid"] = sessions.start(user, absolute=current_app.config["OFFICER_SESSION_ABSOLUTE"])
    if membership is not None:
        session["partnership_id"] = membership.partnership_id


def account_setup(view: F) -> F:
    """Mark a view a signed-in person may use before their account is set up
    (a temporary password to change, two-factor to enrol)."""
    view._consult_account_setup = True  # type: ignore[attr-defined]
    return view


def _account_setup_redirect(view: Any) -> Any:
    if getattr(view, "_consult_account_setup", False):
        return None
    user = g.user
    if user.must_change_password:
        return redirect(url_for("account.change_password"))
    from .services import two_factor

    if not two_factor.enabled(user) and two_factor.required_for(user):
        return redirect(url_for("account.two_factor_page"))
    return None


def csp_nonce() -> str:
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}
# Characters HTML does not allow in a document (controls other than tab and
# line breaks, C1 controls, non-characters); NUL also cannot be stored in
# PostgreSQL text. No one types them; pasted by accident, they would be
# echoed into an invalid page or fail in the database as a 500.
UNSTORABLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufdd0-\ufdef\ufffe\uffff"
    "\U0001fffe\U0001ffff\U0010fffe\U0010ffff]"
)


# Page and column breaks come with text pasted from a word processor or a
# PDF: a resident's comment must not be refused for them.
PAGE_BREAKS = re.compile("[\x0b\x0c]")


def _page_breaks_to_line_breaks() -> None:
    form = request.form
    if not any(PAGE_BREAKS.search(v) for _, values in form.lists() for v in values):
        return
    request.form = ImmutableMultiDict(  # type: ignore[misc]
        [(key, PAGE_BREAKS.sub("\n", value)) for key, values in form.lists() for value in values]
    )


def refuse_unstorable_characters() -> Any:
    """Refuse, with a clear message and before any view runs, a request whose
    address or form holds a character that cannot be stored or shown."""
    suspect = bool(UNSTORABLE.search(request.path)) or any(
        UNSTORABLE.search(value) for _, values in request.args.lists() for value in values
    )
    if (
        not suspect
        and request.method in {"POST", "PUT", "PATCH"}
        and request.mimetype in FORM_TYPES
    ):
        _page_breaks_to_line_breaks()
        suspect = any(
            UNSTORABLE.search(key) or any(UNSTORABLE.search(value) for value in values)
            for key, values in request.form.lists()
        )
    if suspect:
        from flask_babel import gettext as _

        from .errors import render_error

        return render_error(
            400,
            _("There is a problem with your request"),
            _("What you sent contains a character that cannot be stored. Remove it and try again."),
        )
    return None


def register_security(app: Flask) -> None:
    app.before_request(refuse_unstorable_characters)
    app.before_request(load_signed_in_user)
    app.jinja_env.globals["csp_nonce"] = csp_nonce

    @app.after_request
    def security_headers(response):  # type: ignore[no-untyped-def]
        nonce = csp_nonce()
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; "
            f"script-src 'self' 'nonce-{nonce}'; "
            "style-src 'self'; img-src 'self' data:; font-src 'self'; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        )
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if app.config.get("HSTS"):
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if g.get("user") is not None or request.path.startswith("/s/"):
            # Answers and officer pages must not sit in a shared computer's cache.
            response.headers.setdefault("Cache-Control", "no-store")
        return response
