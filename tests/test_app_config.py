"""Start-up refuses bad settings with a message that names the setting."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

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


# --- issue 13: production secrets, the testing config, numeric settings ------------

ROOT = Path(__file__).resolve().parents[1]


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
        timeout=120,
    )


@pytest.mark.parametrize("key", ["x", "a" * 31, "ü" * 15])
def test_production_refuses_a_secret_key_under_32_bytes(key):
    with pytest.raises(ConfigError, match="SECRET_KEY is too short for production"):
        create_app(
            {"ENV_NAME": "production", "SECRET_KEY": key, "SQLALCHEMY_DATABASE_URI": "sqlite://"}
        )


def test_production_accepts_a_32_byte_key():
    app = create_app(
        {"ENV_NAME": "production", "SECRET_KEY": "k" * 32, "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    )
    assert app.config["SECRET_KEY"] == "k" * 32


def test_the_served_app_refuses_the_testing_config():
    served = _python("import wsgi", CONSULT_ENV="testing")
    assert served.returncode != 0
    assert "CONSULT_ENV=testing is for the test suite only" in served.stderr
    short = _python(
        "import wsgi", CONSULT_ENV="production", SECRET_KEY="x", DATABASE_URL="sqlite://"
    )
    assert short.returncode != 0 and "SECRET_KEY is too short" in short.stderr


def test_every_numeric_setting_that_fails_to_parse_names_the_variable():
    source = (ROOT / "config.py").read_text()
    assert "int(os.environ" not in source, "parse numbers with _int(NAME, default)"
    names = re.findall(r'_int\(\s*"([A-Z_]+)"', source)
    assert {"MAX_CONTENT_LENGTH", "OFFICER_SESSION_IDLE_MINUTES", "TRUSTED_PROXIES"} <= set(names)
    script = (
        "import importlib, json, os, config\n"
        "out = {}\n"
        f"for name in {names!r}:\n"
        "    for bad in ('abc', '1.5', '-3'):\n"
        "        os.environ[name] = bad\n"
        "        try:\n"
        "            importlib.reload(config)\n"
        "            out[name + '=' + bad] = None\n"
        "        except ValueError as error:\n"
        "            out[name + '=' + bad] = str(error)\n"
        "    del os.environ[name]\n"
        "print(json.dumps(out))\n"
    )
    run = _python(script)
    assert run.returncode == 0, run.stderr
    results = json.loads(run.stdout)
    for name in names:
        for bad in ("abc", "1.5"):
            message = results[f"{name}={bad}"]
            assert message == f"{name} must be a whole number, not {bad!r}", (name, message)
        assert results[f"{name}=-3"] and name in results[f"{name}=-3"]
    # And the way an operator meets it: the server does not start, and says why.
    served = _python("import wsgi", OFFICER_SESSION_IDLE_MINUTES="sixty")
    assert served.returncode != 0
    assert "OFFICER_SESSION_IDLE_MINUTES must be a whole number, not 'sixty'" in served.stderr
    assert "invalid literal" not in served.stderr
