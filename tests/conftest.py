"""Fixtures: one application per test session on the engine chosen by
CONSULT_TEST_DB (sqlite or postgresql), its schema built by the migrations,
every table emptied after each test, and a test client that checks every
HTML page it fetches."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from pagecheck import check_page

from consult import create_app
from consult.extensions import db
from consult.models import Membership, Partnership, Role, User
from consult.services.accounts import create_partnership, create_user

PASSWORD = "correct horse battery staple"
# The authenticator "app" of every test user who needs two-factor sign-in.
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def database_kind() -> str:
    return os.environ.get("CONSULT_TEST_DB", "sqlite")


def _database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if database_kind() == "postgresql":
        return os.environ.get("TEST_PG_URL", DEFAULT_PG_URL)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


def reset_schema(url: str) -> None:
    """Start from an empty database so the migrations build every table."""
    if url.startswith("postgresql"):
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()


def make_app(url: str, **overrides: Any) -> Flask:
    config = {
        "ENV_NAME": "testing",
        "SQLALCHEMY_DATABASE_URI": url,
        "SERVER_NAME": None,
        "RATELIMIT_ENABLED": False,
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = _database_url(tmp_path_factory)
    reset_schema(url)
    application = make_app(url)
    with application.app_context():
        from flask_migrate import upgrade

        upgrade()
    return url


@pytest.fixture(scope="session")
def app(database_url: str) -> Flask:
    return make_app(database_url)


@pytest.fixture(autouse=True)
def _clean_database(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "app" not in request.fixturenames:
        return
    application: Flask = request.getfixturevalue("app")
    with application.app_context():
        db.session.remove()
        tables = [t.name for t in db.metadata.sorted_tables]
        with db.engine.begin() as connection:
            if db.engine.dialect.name == "postgresql":
                quoted = ", ".join(f'"{name}"' for name in tables)
                connection.execute(sa.text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
            else:
                for name in reversed(tables):
                    connection.execute(sa.text(f'DELETE FROM "{name}"'))


@pytest.fixture
def app_context(app: Flask) -> Iterator[Flask]:
    with app.app_context():
        yield app
        db.session.remove()


CSRF_PATTERN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class PageCheckingClient(FlaskClient):
    """Fails the test when a fetched HTML page breaks the page conventions."""

    check_pages = True

    def open(self, *args: Any, **kwargs: Any):  # type: ignore[override]
        response = super().open(*args, **kwargs)
        if (
            self.check_pages
            and response.mimetype == "text/html"
            and response.status_code not in (301, 302, 303, 307, 308)
        ):
            problems = check_page(response.get_data(as_text=True))
            assert not problems, f"{response.request.path}: {problems}"
        return response

    def csrf_token(self, path: str = "/sign-in") -> str:
        page = self.get(path).get_data(as_text=True)
        match = CSRF_PATTERN.search(page)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def post_form(
        self,
        path: str,
        data: dict[str, Any] | None = None,
        *,
        token_from: str | None = None,
        **kwargs: Any,
    ):
        """POST a form the way a browser would: with the CSRF token of a page."""
        fields = dict(data or {})
        fields.setdefault("csrf_token", self.csrf_token(token_from or path))
        return self.post(path, data=fields, **kwargs)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    app.test_client_class = PageCheckingClient
    return app.test_client()


class Accounts:
    """Partnerships and users for a test, created on demand."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def partnership(
        self, slug: str = "north-csp", name: str = "North Community Safety Partnership"
    ) -> int:
        with self.app.app_context():
            existing = db.session.scalars(sa.select(Partnership).filter_by(slug=slug)).first()
            if existing:
                return existing.id
            partnership = create_partnership(slug, name)
            db.session.commit()
            return partnership.id

    def user(
        self,
        role: Role | str = Role.OFFICER,
        *,
        partnership: str = "north-csp",
        email: str | None = None,
    ) -> str:
        partnership_id = self.partnership(partnership)
        email = email or f"{Role(role).value}@{partnership}.example"
        with self.app.app_context():
            p = db.session.get(Partnership, partnership_id)
            create_user(email, PASSWORD, partnership=p, role=role)
            db.session.commit()
        return email


@pytest.fixture
def accounts(app: Flask) -> Accounts:
    return Accounts(app)


def enrol_two_factor(
    app: Flask, email: str, *, only_if_required: bool = False, replace: bool = False
) -> None:
    """Set up two-factor for a test user as if they had scanned TOTP_SECRET
    into their app; the next code they enter is accepted (no replay yet).
    `replace` sets TOTP_SECRET even where another test enrolled the user
    with a secret of its own (browser tests share one database)."""
    from datetime import UTC, datetime

    from consult.services import two_factor

    with app.app_context():
        user = db.session.scalars(sa.select(User).filter_by(email=email.strip().lower())).first()
        if user is None:
            return
        if replace or not two_factor.enabled(user):
            if only_if_required and not two_factor.required_for(user):
                return
            user.totp_secret = TOTP_SECRET
            user.totp_enabled_at = datetime.now(UTC)
        # Each test sign-in is a fresh code from the app, never a replay.
        user.totp_last_counter = None
        db.session.commit()


def totp_code(secret: str = TOTP_SECRET) -> str:
    import pyotp

    return pyotp.TOTP(secret).now()


def sign_in(client: PageCheckingClient, email: str, password: str = PASSWORD):
    """Sign in as a person would, entering the code from their app when asked.
    A user who must use two-factor is enrolled with TOTP_SECRET first."""
    enrol_two_factor(client.application, email, only_if_required=True)
    response = client.post_form("/sign-in", {"email": email, "password": password})
    if response.status_code == 302 and response.headers["Location"].endswith("/sign-in/two-factor"):
        enrol_two_factor(client.application, email)
        response = client.post_form("/sign-in/two-factor", {"code": totp_code()})
    return response


@pytest.fixture
def signed_in(client: PageCheckingClient, accounts: Accounts):
    """Sign in a fresh user with a role: `signed_in("officer")`."""

    def _sign_in(role: str = "officer", partnership: str = "north-csp") -> str:
        email = accounts.user(role, partnership=partnership)
        response = sign_in(client, email)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return email

    return _sign_in


@pytest.fixture
def demo(app: Flask) -> dict[str, Any]:
    """The seeded demo: partnership, accounts (password PASSWORD) and survey."""
    from consult.models import Survey
    from consult.services.seed import seed_demo

    with app.app_context():
        seed_demo(PASSWORD, responses=False)
        db.session.commit()
        survey = db.session.scalars(sa.select(Survey).filter_by(slug="feeling-safe")).one()
        return {
            "survey_id": survey.id,
            "partnership_id": survey.partnership_id,
            "slug": survey.slug,
        }


__all__ = ["PASSWORD", "TOTP_SECRET", "Membership", "User", "sign_in", "totp_code"]


@pytest.fixture
def on_redis(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """The app with background jobs on a real RQ queue of its own in the
    local Redis (run them with `rq.SimpleWorker(...).work(burst=True)`)."""
    from consult import jobs

    monkeypatch.setitem(app.config, "JOBS_INLINE", False)
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setitem(app.config, "JOBS_QUEUE", f"consult-test-{uuid.uuid4().hex[:8]}")
    yield app
    with app.app_context():
        queue = jobs.queue()
        queue.delete(delete_jobs=True)
        for key in queue.connection.scan_iter(f"rq:*{queue.name}*"):
            queue.connection.delete(key)
