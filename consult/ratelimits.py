"""Rate limits for resident pages that fit the street.

Counting by address alone blocks real people: behind a proxy every resident
has the proxy's address, and a community centre's Wi-Fi or a mobile
network's shared address puts a whole drop-in session in one bucket. So a
resident's posts are counted per resident, by the response their signed
session holds (RATELIMIT_PUBLIC), and the address only has a high ceiling
(RATELIMIT_ADDRESS) that stops a flood but that a busy centre never reaches.
A post with no response yet (starting, resuming, an invitation code) is
counted by address at the resident's rate: that is what makes guessing
resume and invitation codes slow.

The address is the connection's own unless TRUSTED_PROXIES says how many
proxies in front of the app append to X-Forwarded-For; then Werkzeug's
ProxyFix takes the address that many hops back. With 0 (the default) a
client's own X-Forwarded-For header is ignored, so it cannot pick its
bucket."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, g, session
from flask_limiter.util import get_remote_address
from limits import parse_many
from werkzeug.middleware.proxy_fix import ProxyFix

from .errors import ConfigError
from .extensions import limiter


def resident_key(session_key: str) -> Callable[[], str]:
    """The resident's bucket: the in-progress response for this survey that
    the session holds under `session_key` (survey id -> response id), else
    their address."""

    def key() -> str:
        survey = g.get("survey")
        responses = session.get(session_key) or {}
        response_id = responses.get(str(survey.id)) if survey is not None else None
        if response_id is not None:
            return f"response:{response_id}"
        return f"address:{get_remote_address()}"

    return key


def _address_limit() -> str:
    return str(current_app.config["RATELIMIT_ADDRESS"])


def resident_post_limits(per_resident: Callable[[], str], session_key: str) -> Callable[[Any], Any]:
    """The limits for a resident page's POST: `per_resident` per resident,
    and the per-address ceiling."""
    by_resident = limiter.limit(per_resident, methods=["POST"], key_func=resident_key(session_key))
    by_address = limiter.limit(_address_limit, methods=["POST"], key_func=get_remote_address)

    def decorate(view: Any) -> Any:
        return by_address(by_resident(view))

    return decorate


def init_app(app: Flask) -> None:
    """Check the limit settings and trust the configured proxies."""
    for name in ("RATELIMIT_PUBLIC", "RATELIMIT_ADDRESS", "RATELIMIT_SIGN_IN"):
        value = app.config.get(name)
        if value is None:
            continue
        try:
            parse_many(str(value))
        except ValueError:
            raise ConfigError(
                f"{name} must be a rate such as '120 per minute', not {value!r}"
            ) from None
    hops = app.config.get("TRUSTED_PROXIES", 0)
    if not isinstance(hops, int) or isinstance(hops, bool) or hops < 0:
        raise ConfigError(f"TRUSTED_PROXIES must be a whole number of proxies, not {hops!r}")
    if hops:
        # Only the client address and scheme: the proxies set those. Host,
        # port and prefix stay as the request has them.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
