"""Configuration classes, one per environment; every setting can be overridden
from the environment. `consult.create_app` validates the result and refuses to
start on a bad value, naming the setting."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("CONSULT_INSTANCE_PATH", BASE_DIR / "instance"))


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int, *, minimum: int = 0) -> int:
    """A whole-number setting from the environment. Read when this module is
    imported, so a bad value stops every entry point (gunicorn, the CLI)
    with a message that names the variable, not Python's "invalid literal"."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {value!r}") from None
    if number < minimum:
        raise ValueError(f"{name} must be at least {minimum}, not {number}")
    return number


class Config:
    ENV_NAME = "base"
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'consult.sqlite3'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, object] = {"pool_pre_ping": True}
    REDIS_URL = os.environ.get("REDIS_URL") or None
    # Languages residents may be offered; each must be in consult.i18n.LANGUAGES.
    CONSULT_LANGUAGES = os.environ.get("CONSULT_LANGUAGES", "en,gu,pa,ur,pl,so,bn,ar").split(",")
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "translations")
    # A resident's whole questionnaire fits in far less; a bigger body is an attack or a mistake.
    MAX_CONTENT_LENGTH = _int("MAX_CONTENT_LENGTH", 2 * 1024 * 1024, minimum=1)
    MAX_FORM_MEMORY_SIZE = 500_000
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    SESSION_COOKIE_NAME = "consult_session"
    # Officers' sessions end after this much inactivity, checked on the server too.
    OFFICER_SESSION_IDLE = timedelta(minutes=_int("OFFICER_SESSION_IDLE_MINUTES", 60, minimum=1))
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    # CSRF tokens last the session: a resident who pauses mid-survey must not lose a page.
    WTF_CSRF_TIME_LIMIT = None
    LOGIN_MAX_FAILURES = _int("LOGIN_MAX_FAILURES", 5, minimum=1)
    LOGIN_LOCKOUT = timedelta(minutes=_int("LOGIN_LOCKOUT_MINUTES", 15))
    RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)
    # Resident pages: counted per resident (their response), with a ceiling
    # per address that a community centre or a mobile network's shared
    # address never reaches (consult/ratelimits.py).
    RATELIMIT_PUBLIC = os.environ.get("RATELIMIT_PUBLIC", "120 per minute")
    RATELIMIT_ADDRESS = os.environ.get("RATELIMIT_ADDRESS", "1200 per minute")
    # Proxies in front of the app that set X-Forwarded-For/-Proto; 0 = none,
    # so a client's own X-Forwarded-For is never believed.
    TRUSTED_PROXIES = _int("TRUSTED_PROXIES", 0)
    RATELIMIT_SIGN_IN = os.environ.get("RATELIMIT_SIGN_IN", "20 per minute")
    HSTS = False
    MIN_BASE = _int("CONSULT_MIN_BASE", 30, minimum=1)
    DISCLOSURE_MIN_CELL = _int("CONSULT_DISCLOSURE_MIN_CELL", 10, minimum=1)
    SEED_ALLOWED = True
    # Officer sessions also end this long after sign-in, however active.
    OFFICER_SESSION_ABSOLUTE = timedelta(
        hours=_int("OFFICER_SESSION_ABSOLUTE_HOURS", 12, minimum=1)
    )
    # Sign-in throttling, never a lock-out: after LOGIN_MAX_FAILURES failures for
    # one account from one address, each further attempt from there waits twice
    # as long as the last, up to LOGIN_LOCKOUT; one address may fail this many
    # times an hour across all accounts before it is slowed the same way.
    SIGN_IN_ADDRESS_FAILURES = _int("SIGN_IN_ADDRESS_FAILURES", 50, minimum=1)
    SIGN_IN_THROTTLE_WINDOW = timedelta(hours=1)
    # A set-password link an administrator hands on works once, for this long.
    SET_PASSWORD_LINK_LIFETIME = timedelta(hours=_int("SET_PASSWORD_LINK_HOURS", 72, minimum=1))
    # Background jobs (letters, results for large surveys, large exports) go
    # on an RQ queue in Redis, run by `flask --app wsgi consult worker`; with
    # no REDIS_URL (the embedded default, `make run`) they run inline in the
    # request or command that asks for them, so nothing else need be running.
    JOBS_INLINE = _bool("JOBS_INLINE", REDIS_URL is None)
    JOBS_QUEUE = os.environ.get("JOBS_QUEUE", "consult")
    # A running job whose checkpoint has not moved for this long was killed:
    # asking for it again resumes it.
    JOBS_STALE_AFTER = timedelta(minutes=_int("JOBS_STALE_MINUTES", 10, minimum=1))
    # A survey with at least this many submitted responses has its results
    # computed by a background job (when jobs are not inline): the page says
    # they are being computed instead of holding a request for seconds.
    RESULTS_JOB_MIN_RESPONSES = _int("RESULTS_JOB_MIN_RESPONSES", 20000, minimum=1)
    # Weighting collapses a category with fewer respondents than this into a
    # neighbour (adjacent age band, high-level ethnic group, the ward's area)
    # before raking: a weight built on two or three people swings every figure.
    WEIGHTING_MIN_COUNT = _int("WEIGHTING_MIN_COUNT", 5, minimum=1)
    # A survey with at least this many submitted responses has its Excel and
    # SPSS exports made by a background job (when jobs are not inline): the
    # officer waits on a page that looks again, not on a held request.
    EXPORT_JOB_MIN_RESPONSES = _int("EXPORT_JOB_MIN_RESPONSES", 20000, minimum=1)
    # The address residents reach the service at, printed in letters' links
    # and QR codes; pages that generate letters use the address they were
    # reached at when this is unset.
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL") or None


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = os.environ.get("SECRET_KEY", "testing-secret-key-not-for-production")
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    SESSION_COOKIE_SECURE = False
    RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", False)


class ProductionConfig(Config):
    ENV_NAME = "production"
    HSTS = True
    SEED_ALLOWED = False


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_for(name: str | None = None) -> type[Config]:
    name = name or os.environ.get("CONSULT_ENV", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise ValueError(
            f"CONSULT_ENV={name!r} is not a known environment; use one of {', '.join(CONFIGS)}"
        ) from None
