"""Start-up refuses bad settings with a message that names the setting."""

from __future__ import annotations

import pytest

from consult import create_app
from consult.errors import ConfigError


def test_bad_database_url_names_the_setting():
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": "mysql://x@y/z"})


def test_production_refuses_to_start_without_secret_key(monkeypatch):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app(
            {"ENV_NAME": "production", "SECRET_KEY": None, "SQLALCHEMY_DATABASE_URI": "sqlite://"}
        )


def test_unknown_language_code_names_the_setting():
    with pytest.raises(ConfigError, match="CONSULT_LANGUAGES.*xx"):
        create_app({"ENV_NAME": "testing", "CONSULT_LANGUAGES": ["en", "xx"]})


def test_bad_redis_url_names_the_setting():
    with pytest.raises(ConfigError, match="REDIS_URL"):
        create_app({"ENV_NAME": "testing", "REDIS_URL": "http://localhost:6379"})


def test_unknown_environment_is_refused():
    with pytest.raises(ConfigError, match="CONSULT_ENV"):
        create_app("staging-ish")


def test_postgres_scheme_is_normalised_to_psycopg():
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": "postgres://u@h/db"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"


def test_production_sets_hsts_and_secure_cookies():
    app = create_app(
        {"ENV_NAME": "production", "SECRET_KEY": "x" * 32, "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    with app.test_client() as client:
        response = client.get("/cookies")
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]
