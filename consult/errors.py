"""Every error a person can meet gets a page in their language with the right
status, never a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message names it."""


def _titles() -> dict[int, tuple[str, str]]:
    return {
        400: (
            _("There is a problem with your request"),
            _("Check the address or go back and try again."),
        ),
        403: (
            _("You do not have permission to see this page"),
            _("Sign in with an account that has access, or ask your partnership administrator."),
        ),
        404: (
            _("Page not found"),
            _(
                "If you typed the web address, check it is correct. If you pasted it, check you copied the entire address."
            ),
        ),
        405: (_("There is a problem with your request"), _("Go back and try again.")),
        410: (_("This page is no longer available"), _("It may have expired or been removed.")),
        413: (_("What you sent is too large"), _("Shorten your answer and try again.")),
        429: (
            _("Too many requests"),
            _(
                "You have sent too many requests in a short time. Wait a minute, then try again. Your answers so far are saved."
            ),
        ),
        500: (
            _("Sorry, there is a problem with the service"),
            _("Try again later. Your answers so far are saved."),
        ),
    }


def render_error(status: int, title: str | None = None, message: str | None = None):
    default_title, default_message = _titles().get(status, _titles()[400])
    return (
        render_template(
            "errors/error.html",
            status=status,
            title=title or default_title,
            message=message or default_message,
        ),
        status,
    )


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render_error(
            400,
            _("Your form could not be sent"),
            _(
                "The page was open too long or was sent twice. Go back, reload the page and try again."
            ),
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        if status == 429:
            return render_error(429)
        return render_error(status if status in _titles() else 400)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        # Log the path only, never form data: it may hold a resident's answers.
        log.exception("Unhandled error on %s %s", request.method, request.path)
        # The failed transaction would make rendering the error page fail too.
        from .extensions import db

        db.session.rollback()
        return render_error(500)
