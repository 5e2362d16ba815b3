"""Rate limits on public endpoints: a resident filling in a survey at a
normal pace is never blocked, a burst gets a clear page in the resident's
language (429), and the counters live in Redis when it is configured."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

import pytest
import redis
from conftest import PageCheckingClient, make_app

from bench.residents import walk_flask
from consult.extensions import limiter

REDIS_URL = "redis://127.0.0.1:6379/15"
PREFIX = "consult-test-security"


@pytest.fixture
def limited(database_url, demo) -> Iterator:
    """An app with rate limiting on. The limiter is one object shared by every
    app in the process, so it is switched off again afterwards: the other
    tests' apps must not inherit this one's counters."""
    created = []

    def _make(reset: bool = True, **overrides):
        application = make_app(
            database_url,
            RATELIMIT_ENABLED=True,
            RATELIMIT_STORAGE_URI=overrides.pop("storage", "memory://"),
            RATELIMIT_KEY_PREFIX=PREFIX,
            **overrides,
        )
        if reset:
            limiter.reset()
        application.test_client_class = PageCheckingClient
        created.append(application)
        return application

    yield _make
    make_app(database_url)  # init_app with RATELIMIT_ENABLED=False turns the shared limiter off


def _burst(client, path: str, n: int, **kwargs) -> list:
    token = client.csrf_token(path)
    return [client.post(path, data={"csrf_token": token, **kwargs}) for _ in range(n)]


def test_residents_at_a_normal_pace_are_never_blocked(limited, demo):
    app = limited()
    assert app.config["RATELIMIT_PUBLIC"] == "120 per minute"
    # Two residents one after another on the same address (a library
    # computer): every page of every journey goes through.
    for seed in range(2):
        client = app.test_client()
        walk = walk_flask(client, demo["slug"], random.Random(seed))
        statuses = {status for _, _, status in walk.steps}
        assert statuses <= {200, 302}, walk.steps
        assert walk.reference, walk.final_html[:500]


def test_a_burst_of_posts_gets_a_clear_429_page(limited, demo):
    app = limited(RATELIMIT_PUBLIC="10 per minute")
    client = app.test_client()
    client.get(f"/s/{demo['slug']}")
    responses = _burst(client, f"/s/{demo['slug']}", 12)
    # The first post starts the response (counted by address); the next ten
    # are the resident's own, and the eleventh of those is refused.
    assert [r.status_code for r in responses[:11]] == [302] * 11
    blocked = responses[11]
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    body = blocked.get_data(as_text=True)
    assert "Too many requests" in body
    assert "Your answers so far are saved" in body
    assert '<html lang="en" dir="ltr"' in body
    # Reading pages is not limited: the resident can still see where they were.
    assert client.get(f"/s/{demo['slug']}").status_code == 200


def test_the_429_page_is_in_the_residents_language(limited, demo):
    app = limited(RATELIMIT_PUBLIC="2 per minute")
    client = app.test_client()
    client.get(f"/s/{demo['slug']}?lang=ur")
    blocked = _burst(client, f"/s/{demo['slug']}", 4)[-1]  # one to start, two, one refused
    assert blocked.status_code == 429
    body = blocked.get_data(as_text=True)
    assert re.search(r'<html lang="ur" dir="rtl"', body)
    title = re.search(r"<h1[^>]*>(.*?)</h1>", body, re.S).group(1).strip()
    from flask_babel import force_locale, gettext

    with app.test_request_context(), force_locale("ur"):
        assert title == gettext("Too many requests")


def test_sign_in_bursts_are_limited(limited, accounts):
    assert limited().config["RATELIMIT_SIGN_IN"] == "20 per minute"
    # A lower limit keeps the test quick: every refused password costs an argon2 hash.
    client = limited(RATELIMIT_SIGN_IN="4 per minute").test_client()
    statuses = [
        r.status_code
        for r in _burst(client, "/sign-in", 6, email="x@y.example", password="wrong password")
    ]
    assert statuses == [400] * 4 + [429, 429]


def test_limits_are_counted_in_redis_when_configured(limited, demo):
    store = redis.Redis.from_url(REDIS_URL)
    for key in store.scan_iter(f"*{PREFIX}*"):
        store.delete(key)
    try:
        app = limited(storage=REDIS_URL, RATELIMIT_PUBLIC="5 per minute")
        client = app.test_client()
        client.get(f"/s/{demo['slug']}")
        statuses = [r.status_code for r in _burst(client, f"/s/{demo['slug']}", 7)]
        assert statuses == [302] * 6 + [429]
        assert list(store.scan_iter(f"*{PREFIX}*")), "expected the counters in Redis"
        # A second app process sharing the same Redis sees the same count for
        # the same resident (their session, sent to another server).
        other = limited(reset=False, storage=REDIS_URL, RATELIMIT_PUBLIC="5 per minute")
        other_client = other.test_client()
        cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
        other_client.set_cookie(cookie.key, cookie.value)
        assert _burst(other_client, f"/s/{demo['slug']}", 1)[0].status_code == 429
    finally:
        for key in store.scan_iter(f"*{PREFIX}*"):
            store.delete(key)
