"""Entry point for gunicorn (`gunicorn wsgi:app`) and the `flask --app wsgi` CLI."""

from consult import create_app
from consult.errors import ConfigError

app = create_app()

if app.config.get("TESTING"):
    # The testing configuration has a published secret key, no rate limits
    # and cookies sent over plain HTTP: it must never serve anyone.
    raise ConfigError(
        "CONSULT_ENV=testing is for the test suite only and cannot be served: "
        "use CONSULT_ENV=production (or development on your own machine)"
    )
