"""Officer sign-in: argon2 hashes, throttling, CSRF, session flags and expiry,
and clear pages for every bad input."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from conftest import PASSWORD, make_app, sign_in

from consult.extensions import db
from consult.models import AuditEvent, User


def test_sign_in_and_out(client, accounts):
    email = accounts.user("officer")
    response = sign_in(client, email)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/manage")
    page = client.get("/manage")
    assert page.status_code == 200
    assert "North Community Safety Partnership" in page.get_data(as_text=True)
    response = client.post_form("/sign-out", {}, token_from="/manage")
    assert response.status_code == 302
    assert client.get("/manage").status_code == 302  # back to sign-in


def test_password_is_stored_as_argon2(app, accounts):
    email = accounts.user("viewer")
    with app.app_context():
        user = db.session.scalars(sa.select(User).filter_by(email=email)).one()
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash


def test_wrong_password_gets_a_clear_message_not_a_500(client, accounts):
    email = accounts.user("officer")
    response = sign_in(client, email, "wrong password here")
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "Enter a correct email address and password" in body
    assert "There is a problem" in body


def test_unknown_email_gets_the_same_message(client, accounts):
    response = sign_in(client, "nobody@example.org", "whatever it is")
    assert response.status_code == 400
    assert "Enter a correct email address and password" in response.get_data(as_text=True)


def test_empty_form_names_each_field(client):
    response = client.post_form("/sign-in", {"email": "", "password": ""})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "Enter your email address" in body
    assert "Enter your password" in body


def test_missing_csrf_token_is_refused_clearly(client, accounts):
    email = accounts.user("officer")
    response = client.post("/sign-in", data={"email": email, "password": PASSWORD})
    assert response.status_code == 400
    assert "Your form could not be sent" in response.get_data(as_text=True)
    assert client.get("/manage").status_code == 302  # not signed in


def test_repeated_failures_slow_down_without_locking_or_revealing(
    app, client, accounts, monkeypatch
):
    from consult.services import throttle

    monkeypatch.setattr(throttle, "FIRST_DELAY_SECONDS", 300)  # a busy machine is never faster
    email = accounts.user("officer")
    for _ in range(app.config["LOGIN_MAX_FAILURES"] + 1):
        response = sign_in(client, email, "not the password")
        assert response.status_code == 400
        assert "locked" not in response.get_data(as_text=True)
    # The next attempt from this address must wait a little (the officer
    # elsewhere is unaffected: tests/test_accounts_security.py).
    response = sign_in(client, email, PASSWORD)
    assert response.status_code == 429
    assert "Too many attempts to sign in from here" in response.get_data(as_text=True)
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert "account_locked" not in actions and "sign_in_failed" in actions


def test_session_cookie_flags(database_url, accounts):
    app = make_app(database_url, SESSION_COOKIE_SECURE=True)
    client = app.test_client()
    email = accounts.user("officer")
    page = client.get("/sign-in").get_data(as_text=True)
    import re

    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post(
        "/sign-in", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    cookie = [
        h for h in response.headers.getlist("Set-Cookie") if h.startswith("consult_session=")
    ][-1]
    assert "HttpOnly" in cookie
    assert "Secure" in cookie
    assert "SameSite=Lax" in cookie


def test_idle_session_expires_on_the_server(database_url, accounts):
    app = make_app(database_url, OFFICER_SESSION_IDLE=timedelta(seconds=0))
    from conftest import PageCheckingClient

    app.test_client_class = PageCheckingClient
    client = app.test_client()
    email = accounts.user("officer")
    assert sign_in(client, email).status_code == 302
    response = client.get("/manage")
    assert response.status_code == 302
    assert "/sign-in" in response.headers["Location"]


def test_open_redirect_is_refused(client, accounts):
    email = accounts.user("officer")
    token = client.csrf_token()
    response = client.post(
        "/sign-in?next=https://evil.example/",
        data={"email": email, "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"].endswith("/manage")


def test_viewer_cannot_open_admin_pages(client, signed_in):
    signed_in("viewer")
    response = client.get("/manage/users")
    assert response.status_code == 403
    assert "You do not have permission" in response.get_data(as_text=True)


def test_unknown_url_is_a_clear_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_security_headers(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    body = response.get_data(as_text=True)
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert f'nonce="{nonce}"' in body
    assert "<script>" not in body  # no inline script
