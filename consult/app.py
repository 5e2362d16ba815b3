"""The application factory. Extensions are wired in a deliberate order, and a
missing or wrong setting stops start-up with a message naming it."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from flask import Flask, abort, g, request
from flask_babel import get_locale

from config import BASE_DIR, INSTANCE_DIR, Config, config_for

from .errors import ConfigError, register_error_handlers
from .extensions import babel, csrf, db, limiter, migrate
from .i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGE_COOKIE,
    LANGUAGES,
    best_match,
    direction,
    language_name,
)
from .wording import category_label

# Officer pages are written in English; resident pages follow the resident.
ENGLISH_ONLY_BLUEPRINTS = {
    "build",
    "fieldwork",
    "reach",
    "results",
    "admin",
    "exports",
    "account",
}


def create_app(config: Any = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=str(INSTANCE_DIR),
        template_folder=str(BASE_DIR / "templates"),
        static_folder="static",
        # The compiled GOV.UK CSS refers to /assets/images/...
        static_url_path="/assets",
    )
    _load_config(app, config)
    _validate_config(app)
    _configure_jinja(app)

    # Order matters: the database first (everything else may query it), then
    # CSRF before any blueprint so no form view is registered unprotected, then
    # Babel so error pages rendered by later hooks are translated.
    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_language)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"] or "memory://")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)
    from . import ratelimits

    ratelimits.init_app(app)  # limit settings checked; ProxyFix for TRUSTED_PROXIES

    from .security import register_security

    register_security(app)
    from .assets import register_assets

    register_assets(app)
    register_error_handlers(app)
    _register_blueprints(app)
    _register_language_hooks(app)

    from .cli import register_cli

    register_cli(app)
    return app


def _load_config(app: Flask, config: Any) -> None:
    if config is None or isinstance(config, str):
        try:
            app.config.from_object(config_for(config))
        except ValueError as error:
            raise ConfigError(str(error)) from None
    elif isinstance(config, dict):
        base = config_for(config.get("ENV_NAME"))
        app.config.from_object(base)
        app.config.update(config)
    elif isinstance(config, type) and issubclass(config, Config):
        app.config.from_object(config)
    else:
        raise ConfigError(f"create_app: unsupported config {config!r}")


def _validate_config(app: Flask) -> None:
    cfg = app.config
    url = cfg.get("SQLALCHEMY_DATABASE_URI") or ""
    scheme = urlsplit(url).scheme
    if scheme in {"postgres", "postgresql"}:
        # Hosting platforms hand out postgres:// URLs; we speak psycopg 3.
        url = "postgresql+psycopg" + url[len(scheme) :]
        cfg["SQLALCHEMY_DATABASE_URI"] = url
        scheme = "postgresql+psycopg"
    if scheme not in {"sqlite", "postgresql+psycopg"}:
        raise ConfigError(
            f"DATABASE_URL must be a sqlite:/// or postgresql+psycopg:// URL, not {scheme or url!r}"
        )
    if scheme == "sqlite" and url.startswith("sqlite:///") and url != "sqlite://":
        Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    if not cfg.get("SECRET_KEY"):
        if cfg.get("ENV_NAME") == "development":
            cfg["SECRET_KEY"] = _development_secret(Path(app.instance_path))
        else:
            raise ConfigError(
                "SECRET_KEY is required outside development: set it in the environment "
                "(for example: export SECRET_KEY=$(python -c 'import secrets; print(secrets.token_hex(32))'))"
            )
    if cfg.get("ENV_NAME") == "production" and len(str(cfg["SECRET_KEY"]).encode()) < 32:
        # A short key can be guessed offline from one signed cookie, and with
        # it any session forged.
        raise ConfigError(
            "SECRET_KEY is too short for production: use at least 32 random bytes "
            "(for example: export SECRET_KEY=$(python -c 'import secrets; print(secrets.token_hex(32))'))"
        )
    redis_url = cfg.get("REDIS_URL")
    if redis_url and urlsplit(redis_url).scheme not in {"redis", "rediss", "unix"}:
        raise ConfigError(f"REDIS_URL must be a redis:// or rediss:// URL, not {redis_url!r}")
    if not cfg.get("JOBS_INLINE", True) and not redis_url:
        raise ConfigError(
            "JOBS_INLINE is off but REDIS_URL is not set: background jobs need Redis "
            "(set REDIS_URL, or JOBS_INLINE=1 to run jobs in the request)"
        )
    languages = [code.strip() for code in cfg.get("CONSULT_LANGUAGES", []) if code.strip()]
    unknown = [code for code in languages if code not in LANGUAGES]
    if unknown or not languages:
        raise ConfigError(
            f"CONSULT_LANGUAGES has unknown language codes {unknown}; known: {', '.join(LANGUAGES)}"
        )
    cfg["CONSULT_LANGUAGES"] = languages


def _development_secret(instance: Path) -> str:
    # Kept in instance/ so a restarted development server keeps its sessions.
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        os.chmod(path, 0o600)
    return path.read_text().strip()


def _configure_jinja(app: Flask) -> None:
    # govuk-frontend-jinja's macros read optional params without defaults;
    # Flask's default Undefined would fail on them.
    app.jinja_env.undefined = jinja2.ChainableUndefined
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_loader = jinja2.ChoiceLoader(
        [
            jinja2.FileSystemLoader(str(BASE_DIR / "templates")),
            jinja2.PrefixLoader(
                {
                    "govuk_frontend_jinja": jinja2.PackageLoader("govuk_frontend_jinja"),
                    "govuk_frontend_wtf": jinja2.PackageLoader("govuk_frontend_wtf"),
                }
            ),
        ]
    )


def _register_blueprints(app: Flask) -> None:
    from .account import bp as account_bp
    from .admin import bp as admin_bp
    from .auth import bp as auth_bp
    from .build import bp as build_bp
    from .exports import bp as exports_bp
    from .feedback import bp as feedback_bp
    from .fieldwork import bp as fieldwork_bp
    from .main import bp as main_bp
    from .reach import bp as reach_bp
    from .respond import bp as respond_bp
    from .results import bp as results_bp

    for blueprint in (
        main_bp,
        auth_bp,
        admin_bp,
        account_bp,
        respond_bp,
        build_bp,
        fieldwork_bp,
        reach_bp,
        results_bp,
        exports_bp,
        feedback_bp,
    ):
        app.register_blueprint(blueprint)


def select_language() -> str:
    """The language of this request: one a view chose (a survey's language),
    then `?lang=`, the cookie, the browser's preference, then English."""
    chosen = g.get("language")
    if chosen:
        return str(chosen)
    if request.blueprint in ENGLISH_ONLY_BLUEPRINTS:
        return DEFAULT_LANGUAGE
    from flask import current_app

    offered = current_app.config["CONSULT_LANGUAGES"]
    for candidate in (request.args.get("lang"), request.cookies.get(LANGUAGE_COOKIE)):
        if candidate and candidate in offered:
            return candidate
    accept = [(lang, q) for lang, q in request.accept_languages]
    return best_match(accept, offered) or DEFAULT_LANGUAGE


def _register_language_hooks(app: Flask) -> None:
    @app.before_request
    def refuse_unknown_language() -> None:
        code = request.args.get("lang")
        if code is not None and code not in app.config["CONSULT_LANGUAGES"]:
            abort(404)

    @app.after_request
    def remember_language(response):  # type: ignore[no-untyped-def]
        code = request.args.get("lang")
        if code in app.config["CONSULT_LANGUAGES"]:
            # Kept beyond the session so a resident who returns days later
            # still gets their language.
            response.set_cookie(
                LANGUAGE_COOKIE,
                code,
                max_age=365 * 24 * 3600,
                samesite="Lax",
                secure=app.config["SESSION_COOKIE_SECURE"],
                httponly=True,
            )
        return response

    @app.context_processor
    def language_context() -> dict[str, Any]:
        code = str(get_locale() or DEFAULT_LANGUAGE)
        return {
            "page_lang": code,
            "page_dir": direction(code),
            "LANGUAGES": LANGUAGES,
            "current_user": g.get("user"),
            "current_partnership": g.get("partnership"),
            "current_membership": g.get("membership"),
            "survey_title": _survey_title,
            "url_rules": _endpoints(),
            # Language names in the page's own language ("angielski" on a Polish page).
            "language_name": lambda other, case=None: language_name(other, code, case=case),
            "category_label": category_label,
        }

    def _endpoints() -> set[str]:
        return set(app.view_functions)

    def _survey_title(survey: Any) -> str:
        from .services.content import SurveyTexts

        return SurveyTexts(survey).title(str(get_locale() or DEFAULT_LANGUAGE))
