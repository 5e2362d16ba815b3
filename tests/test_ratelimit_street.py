"""Resident rate limits that fit the street (issue 13): a drop-in session at
a community centre, or a mobile network's shared address, is never blocked
because its residents share an address; a flood from one address still is;
a client's own X-Forwarded-For cannot pick its bucket unless a trusted proxy
set it (TRUSTED_PROXIES)."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PageCheckingClient, make_app
from test_security_ratelimit import PREFIX, _burst

from bench.residents import walk_flask
from consult import create_app
from consult.errors import ConfigError
from consult.extensions import limiter

ROOT = Path(__file__).resolve().parents[1]
CENTRE = "198.51.100.20"  # the community centre's one public address
PROXY = "10.0.0.5"


@pytest.fixture
def limited(database_url, demo):
    """An app with rate limiting on (as in test_security_ratelimit); the
    shared limiter is switched off again afterwards."""

    def _make(**overrides):
        application = make_app(
            database_url,
            RATELIMIT_ENABLED=True,
            RATELIMIT_STORAGE_URI="memory://",
            RATELIMIT_KEY_PREFIX=PREFIX,
            **overrides,
        )
        limiter.reset()
        application.test_client_class = PageCheckingClient
        return application

    yield _make
    make_app(database_url)


def posts(walk) -> list[int]:
    return [status for method, _, status in walk.steps if method == "POST"]


def test_a_drop_in_session_on_one_address_is_never_blocked(limited, demo):
    # Per resident 30 posts a minute, far more than a person needs; six
    # residents on the centre's one address post several times that.
    app = limited(RATELIMIT_PUBLIC="30 per minute")
    total = 0
    for seed in range(6):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = CENTRE
        walk = walk_flask(client, demo["slug"], random.Random(seed))
        assert set(posts(walk)) <= {302, 303}, walk.steps
        assert walk.reference, walk.final_html[:300]
        total += len(posts(walk))
    assert total > 30, "the journeys should post more than one resident's limit in all"


def test_the_address_ceiling_stops_a_flood_of_residents(limited, demo):
    app = limited(RATELIMIT_PUBLIC="30 per minute", RATELIMIT_ADDRESS="12 per minute")
    statuses = []
    for _ in range(4):  # four fresh sessions, four posts each, all from one address
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = CENTRE
        statuses += [r.status_code for r in _burst(client, f"/s/{demo['slug']}", 4)]
    assert statuses == [302] * 12 + [429] * 4
    # Another address is not affected.
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    assert _burst(elsewhere, f"/s/{demo['slug']}", 1)[0].status_code == 302


def _guesses(app, demo, n: int, remote: str, forwarded=lambda i: None) -> list[int]:
    """Wrong resume codes posted by one browser (a script guessing codes):
    no response is ever started, so nothing but the address identifies it."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = remote
    path = f"/s/{demo['slug']}/resume"
    token = client.csrf_token(path)
    statuses = []
    for i in range(n):
        header = forwarded(i)
        statuses.append(
            client.post(
                path,
                data={"csrf_token": token, "code": f"WRONG{i:04d}"},
                headers={"X-Forwarded-For": header} if header else {},
            ).status_code
        )
    return statuses


def test_guessing_codes_without_a_response_is_counted_by_address(limited, demo):
    app = limited(RATELIMIT_PUBLIC="5 per minute")
    statuses = _guesses(app, demo, 7, CENTRE)
    assert 429 not in statuses[:5] and statuses[5:] == [429, 429], statuses


def test_a_spoofed_forwarded_for_changes_nothing_without_a_trusted_proxy(limited, demo):
    app = limited(RATELIMIT_PUBLIC="5 per minute")
    assert app.config["TRUSTED_PROXIES"] == 0
    statuses = _guesses(app, demo, 7, CENTRE, lambda i: f"192.0.2.{i + 1}")
    assert 429 not in statuses[:5] and statuses[5:] == [429, 429], statuses


def test_behind_a_trusted_proxy_each_resident_has_their_own_address(limited, demo):
    app = limited(RATELIMIT_PUBLIC="5 per minute", TRUSTED_PROXIES=1)
    # Every request arrives from the proxy, which appends the client's
    # address: seven residents posting four times each are not blocked.
    for i in range(7):
        statuses = _guesses(app, demo, 4, PROXY, lambda _, i=i: f"192.0.2.{i + 1}")
        assert 429 not in statuses, (i, statuses)


def test_behind_a_trusted_proxy_a_spoofed_first_hop_is_ignored(limited, demo):
    app = limited(RATELIMIT_PUBLIC="5 per minute", TRUSTED_PROXIES=1)
    # The client sends its own X-Forwarded-For, new each time; the proxy
    # appends the real address (203.0.113.7). Only the proxy's entry counts.
    statuses = _guesses(app, demo, 7, PROXY, lambda i: f"192.0.2.{i + 1}, 203.0.113.7")
    assert 429 not in statuses[:5] and statuses[5:] == [429, 429], statuses


def test_the_proxy_fix_sets_the_scheme_the_proxy_saw(limited, demo):
    app = limited(TRUSTED_PROXIES=1)
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = PROXY
    seen = {}

    @app.after_request
    def capture(response):  # type: ignore[no-untyped-def]
        from flask import request

        seen["scheme"], seen["address"] = request.scheme, request.remote_addr
        return response

    client.get(
        f"/s/{demo['slug']}",
        headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"},
    )
    assert seen == {"scheme": "https", "address": "203.0.113.7"}


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("RATELIMIT_ADDRESS", "lots", "RATELIMIT_ADDRESS must be a rate such as"),
        ("RATELIMIT_PUBLIC", "120 a fortnight", "RATELIMIT_PUBLIC must be a rate such as"),
        ("TRUSTED_PROXIES", -1, "TRUSTED_PROXIES must be a whole number of proxies"),
        ("TRUSTED_PROXIES", "two", "TRUSTED_PROXIES must be a whole number of proxies"),
    ],
)
def test_bad_limit_settings_name_the_setting(setting, value, message):
    with pytest.raises(ConfigError, match=message):
        create_app({"ENV_NAME": "testing", setting: value})


def test_trusted_proxies_from_the_environment_is_read_and_checked():
    script = "import config; print(config.Config.TRUSTED_PROXIES)"
    run = lambda value: subprocess.run(  # noqa: E731
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"TRUSTED_PROXIES": value, "PATH": "/usr/bin:/bin"},
    )
    assert run("2").stdout.strip() == "2"
    refused = run("one")
    assert refused.returncode != 0
    assert "TRUSTED_PROXIES must be a whole number, not 'one'" in refused.stderr
