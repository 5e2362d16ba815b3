"""Sign-in refusals take the same time whatever the account: unknown email,
wrong password, deactivated account and a throttled attempt.

Run from the repository root:  python bench/bench_sign_in_timing.py [--rounds N]

Builds a temporary SQLite database by the migrations, one officer and one
deactivated viewer, and times POST /sign-in through the test client for each
kind of refusal, interleaved round by round so a busy machine slows every kind
alike. Prints the median of each and its ratio to the wrong-password median
(the reference, measured in the same run). An attacker who can tell the kinds
apart by time learns which accounts exist; the target is every ratio within
0.8-1.25. The successful sign-in is printed for comparison only.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PASSWORD = "correct horse battery staple"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()

    import sqlalchemy as sa
    from flask_migrate import upgrade

    from consult import create_app
    from consult.extensions import db
    from consult.models import SignInThrottle
    from consult.services.accounts import (
        create_partnership,
        create_user,
        deactivate_user,
        find_user,
    )

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "ENV_NAME": "testing",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite3",
                "RATELIMIT_ENABLED": False,
                "LOGIN_MAX_FAILURES": 0,  # slowed from the first failure
            }
        )
        with app.app_context():
            upgrade()
            partnership = create_partnership("bench-csp", "Bench")
            create_user("officer@bench.example", PASSWORD, partnership=partnership, role="officer")
            create_user("gone@bench.example", PASSWORD, partnership=partnership, role="viewer")
            deactivate_user(find_user("gone@bench.example"))
            db.session.commit()

        client = app.test_client()
        page = client.get("/sign-in").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)

        def attempt(
            email: str, password: str, address: str, expect: int, via=client, token=token
        ) -> float:
            start = time.perf_counter()
            response = via.post(
                "/sign-in",
                data={"email": email, "password": password, "csrf_token": token},
                environ_base={"REMOTE_ADDR": address},
            )
            elapsed = time.perf_counter() - start
            assert response.status_code == expect, (email, response.status_code)
            return elapsed

        # Failures from this address: every later attempt from it must wait
        # (the wait is stretched to an hour so the rounds never outlast it).
        attempt("officer@bench.example", "a wrong one", "203.0.113.99", 400)
        with app.app_context():
            db.session.execute(
                sa.update(SignInThrottle).values(
                    next_allowed_at=datetime.now(UTC) + timedelta(hours=1)
                )
            )
            db.session.commit()
        kinds = {
            "wrong password": ("officer@bench.example", "not the password", 400),
            "unknown email": ("nobody@bench.example", "not the password", 400),
            "deactivated account": ("gone@bench.example", PASSWORD, 400),
            "throttled attempt": ("officer@bench.example", PASSWORD, 429),
        }
        times: dict[str, list[float]] = {kind: [] for kind in kinds}
        success: list[float] = []
        for round_number in range(args.rounds):
            for index, (kind, (email, password, status)) in enumerate(kinds.items()):
                # A fresh address per attempt keeps the untrottled kinds unthrottled.
                address = "203.0.113.99" if status == 429 else f"198.51.{round_number}.{index}"
                times[kind].append(attempt(email, password, address, status))
            # A browser of its own: signing in replaces the session and its CSRF token.
            other = app.test_client()
            page = other.get("/sign-in").get_data(as_text=True)
            own = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
            address = f"192.0.2.{round_number}"
            success.append(attempt("officer@bench.example", PASSWORD, address, 302, other, own))

        reference = statistics.median(times["wrong password"])
        print(f"sign-in refusals, median of {args.rounds} rounds (reference: wrong password)")
        worst = 1.0
        for kind, values in times.items():
            median = statistics.median(values)
            ratio = median / reference
            worst = max(worst, ratio, 1 / ratio)
            print(f"  {kind:<22} {median * 1000:7.1f} ms   ratio {ratio:5.2f}")
        print(f"  {'(successful sign-in)':<22} {statistics.median(success) * 1000:7.1f} ms")
        verdict = "PASS" if worst <= 1.25 else "MISS"
        print(f"{verdict}: largest ratio {worst:.2f} (target: every ratio within 0.8-1.25)")


if __name__ == "__main__":
    main()
