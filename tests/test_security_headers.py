"""Security headers, request-size caps, cookie flags and server-side session
expiry, as a browser (or an attacker's script) would meet them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from conftest import PASSWORD, make_app, sign_in

NONCE = re.compile(r"'nonce-([A-Za-z0-9_\-]+)'")
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S | re.I)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
STYLE_ATTRIBUTE = re.compile(r"<[^>]+\sstyle\s*=", re.I)


def csp_of(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {
        part.split()[0]: " ".join(part.split()[1:])
        for part in (p.strip() for p in policy.split(";"))
        if part
    }


def pages(client, demo) -> list[str]:
    return ["/", "/sign-in", f"/s/{demo['slug']}", "/privacy", "/manage", "/manage/users"]


def test_csp_has_a_fresh_nonce_and_no_inline_allowance(client, demo, signed_in):
    first, second = client.get("/sign-in"), client.get("/sign-in")
    nonces = [NONCE.search(r.headers["Content-Security-Policy"]).group(1) for r in (first, second)]
    assert nonces[0] != nonces[1]
    assert len(nonces[0]) >= 16
    for response in (first, second):
        policy = response.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        directives = csp_of(response)
        assert directives["default-src"] == "'self'"
        assert directives["frame-ancestors"] == "'none'"
        assert directives["object-src"] == "'none'"
        assert directives["base-uri"] == "'none'"
        assert "'self'" in directives["form-action"]


def test_every_script_on_the_pages_carries_the_nonce_and_nothing_is_inline(
    app, client, demo, accounts
):
    """The CSP blocks what the pages would need if they had inline script or
    style; checking the markup means a regression shows up here, not as a
    silently broken page in a browser."""
    sign_in(client, "admin@demo.example", PASSWORD)
    for path in pages(client, demo):
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        nonce = NONCE.search(response.headers["Content-Security-Policy"]).group(1)
        scripts = SCRIPT_TAG.findall(html)
        assert scripts, f"{path}: expected the page's scripts"
        for attributes, body in scripts:
            assert f'nonce="{nonce}"' in attributes, f"{path}: script without this request's nonce"
            assert "src=" in attributes and not body.strip(), f"{path}: inline script"
        assert not EVENT_HANDLER.search(html), f"{path}: inline event handler"
        assert not STYLE_ATTRIBUTE.search(html), f"{path}: style attribute"


@pytest.mark.parametrize("path", ["/", "/sign-in", "/no-such-page", "/assets/js/app.js"])
def test_framing_sniffing_and_referrer_headers_on_every_kind_of_response(client, path):
    response = client.get(path)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] in {"same-origin", "no-referrer", "strict-origin"}
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    # Not production: no HSTS (it would pin a developer's localhost to HTTPS).
    assert "Strict-Transport-Security" not in response.headers


def test_hsts_and_secure_cookies_in_production(database_url, accounts):
    email = accounts.user("admin")
    production = make_app(
        database_url, ENV_NAME="production", SECRET_KEY="a-production-secret-" + "x" * 32
    )
    client = production.test_client()
    response = client.get("/sign-in")
    hsts = response.headers["Strict-Transport-Security"]
    assert "max-age=31536000" in hsts and "includeSubDomains" in hsts
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', response.get_data(as_text=True))
    signed = client.post(
        "/sign-in",
        data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)},
        base_url="https://localhost",
        headers={"Referer": "https://localhost/sign-in"},
    )
    assert signed.status_code == 302, signed.get_data(as_text=True)[:300]
    cookie = next(
        c for c in signed.headers.getlist("Set-Cookie") if c.startswith("consult_session=")
    )
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_session_cookie_flags_and_no_store_on_officer_pages(client, accounts):
    email = accounts.user("officer")
    signed = sign_in(client, email)
    cookie = next(
        c for c in signed.headers.getlist("Set-Cookie") if c.startswith("consult_session=")
    )
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/manage").headers["Cache-Control"] == "no-store"


def test_the_language_cookie_is_http_only(client):
    response = client.get("/?lang=ur")
    cookie = next(
        c for c in response.headers.getlist("Set-Cookie") if c.startswith("consult_lang=")
    )
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_an_idle_session_ends_on_the_server(app, client, accounts):
    from consult.extensions import db
    from consult.models import OfficerSession

    def last_seen(moment):  # the server's record, which the browser cannot touch
        with app.app_context():
            db.session.execute(sa.update(OfficerSession).values(last_seen_at=moment))
            db.session.commit()

    email = accounts.user("officer")
    sign_in(client, email)
    assert client.get("/manage").status_code == 200
    idle = app.config["OFFICER_SESSION_IDLE"]
    # Just inside the limit: still signed in.
    last_seen(datetime.now(UTC) - idle + timedelta(seconds=30))
    assert client.get("/manage").status_code == 200
    with client.session_transaction() as session:
        stolen = dict(session)
    last_seen(datetime.now(UTC) - idle - timedelta(seconds=1))
    response = client.get("/manage")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "signed out because you were inactive" in page
    # The session is gone, not only hidden: the next request is signed out too.
    assert client.get("/manage").status_code == 302
    # A cookie copied before the idle period and replayed after it is refused,
    # whatever time it claims to have last been used.
    with client.session_transaction() as session:
        session.update(stolen)
        session["last_seen"] = datetime.now(UTC).timestamp()
    assert client.get("/manage").status_code == 302


@pytest.mark.parametrize("path", ["/sign-in", "/s/feeling-safe"])
def test_an_oversized_body_gets_a_clear_413_page(client, demo, path):
    token = client.csrf_token(path)
    big = "x" * (3 * 1024 * 1024)
    response = client.post(path, data={"csrf_token": token, "comments": big})
    assert response.status_code == 413
    body = response.get_data(as_text=True)
    assert "What you sent is too large" in body


def test_a_single_oversized_field_is_refused_clearly(client, demo):
    """Under the body cap but far over the field's length: the form says so."""
    token = client.csrf_token("/sign-in")
    response = client.post(
        "/sign-in", data={"csrf_token": token, "email": "a@b.example", "password": "p" * 600_000}
    )
    assert response.status_code == 400
    assert "longer than 500 characters" in response.get_data(as_text=True)
    multipart = client.post(
        "/sign-in",
        data={"csrf_token": token, "email": "a@b.example", "password": "p" * 600_000},
        content_type="multipart/form-data",
    )
    # In a multipart body one field may hold at most MAX_FORM_MEMORY_SIZE bytes.
    assert multipart.status_code == 413


def test_an_oversized_upload_is_refused_before_it_is_read(app, client, demo):
    response = client.post(
        "/sign-in",
        data=b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1),
        content_type="application/octet-stream",
    )
    assert response.status_code == 413
