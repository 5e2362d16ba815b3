"""Sessions, passwords, two-factor sign-in, set-password links,
deactivation and sign-in throttling: each finding of the hostile test,
re-run as a test."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import sqlalchemy as sa
from conftest import PASSWORD, TOTP_SECRET, PageCheckingClient, enrol_two_factor, sign_in

from consult.extensions import db
from consult.models import (
    AuditEvent,
    Membership,
    OfficerSession,
    Partnership,
    PasswordToken,
    Section,
    SignInThrottle,
    User,
)
from consult.services import accounts as accounts_service

GENERIC = "Enter a correct email address and password"
LINK = re.compile(r'id="password-link">https?://[^/]+(/set-password/[A-Za-z0-9_\-]+)<')
SECRET_ON_PAGE = re.compile(r'id="two-factor-secret">([A-Z2-7]+)<')
RECOVERY = re.compile(r"<li><code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code></li>")


def _client(app) -> PageCheckingClient:
    app.test_client_class = PageCheckingClient
    return app.test_client()


def _user(app, email: str) -> User:
    with app.app_context():
        user = db.session.scalars(sa.select(User).filter_by(email=email)).one()
        db.session.expunge(user)
        return user


def _post_from(client, address: str, path: str, data: dict) -> object:
    token = client.csrf_token(path)
    return client.post(
        path, data={**data, "csrf_token": token}, environ_base={"REMOTE_ADDR": address}
    )


# --- Sessions ------------------------------------------------------------------


def test_a_cookie_replayed_after_sign_out_reads_and_changes_nothing(app, client, demo):
    survey_id = demo["survey_id"]
    assert sign_in(client, "officer@demo.example").status_code == 302
    export = f"/manage/surveys/{survey_id}/export/download?format=csv"
    assert client.get("/manage").status_code == 200
    assert client.get(export).status_code == 200
    with app.app_context():
        section = db.session.scalars(sa.select(Section).filter_by(survey_id=survey_id)).first()
        section_id, title = section.id, section.key
    section_path = f"/manage/surveys/{survey_id}/sections/{section_id}"
    token = client.csrf_token(section_path)
    stolen = client.get_cookie("consult_session").value

    client.post_form("/sign-out", {}, token_from="/manage")
    client.set_cookie("consult_session", stolen)

    response = client.get("/manage")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    response = client.get(export)
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    client.set_cookie("consult_session", stolen)
    response = client.post(section_path, data={"title": "Hijacked", "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")
    with app.app_context():
        texts = db.session.execute(
            sa.text("SELECT value FROM text_entry WHERE value = 'Hijacked'")
        ).all()
    assert texts == [], f"section {title} was changed through an ended session"


def test_signing_out_ends_every_session_of_that_person(app, accounts):
    email = accounts.user("officer")
    laptop, phone = _client(app), _client(app)
    assert sign_in(laptop, email).status_code == 302
    assert sign_in(phone, email).status_code == 302
    laptop.post_form("/sign-out", {}, token_from="/manage")
    assert phone.get("/manage").status_code == 302


def test_changing_password_ends_other_sessions_and_keeps_this_one(app, accounts):
    email = accounts.user("officer")
    here, elsewhere = _client(app), _client(app)
    assert sign_in(here, email).status_code == 302
    assert sign_in(elsewhere, email).status_code == 302
    response = here.post_form(
        "/account/password",
        {
            "current_password": PASSWORD,
            "password": "plum violin harbour seventeen",
            "confirm": "plum violin harbour seventeen",
        },
    )
    assert response.status_code == 302
    assert here.get("/manage").status_code == 200
    assert elsewhere.get("/manage").status_code == 302
    here.post_form("/sign-out", {}, token_from="/manage")
    assert sign_in(here, email, PASSWORD).status_code == 400
    assert sign_in(here, email, "plum violin harbour seventeen").status_code == 302


def test_change_password_needs_the_current_one_and_explains_mistakes(client, signed_in):
    signed_in("officer")
    response = client.post_form(
        "/account/password",
        {"current_password": "not it at all", "password": "plum violin harbour", "confirm": "x"},
    )
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "Your current password is not right" in body or "do not match" in body
    response = client.post_form(
        "/account/password",
        {
            "current_password": "not it at all",
            "password": "plum violin harbour",
            "confirm": "plum violin harbour",
        },
    )
    assert "Your current password is not right" in response.get_data(as_text=True)


def test_the_idle_limit_is_kept_on_the_server_not_in_the_cookie(app, client, accounts):
    email = accounts.user("officer")
    assert sign_in(client, email).status_code == 302
    with app.app_context():
        db.session.execute(
            sa.update(OfficerSession).values(
                last_seen_at=datetime.now(UTC) - app.config["OFFICER_SESSION_IDLE"] * 2
            )
        )
        db.session.commit()
    # A cookie claiming recent activity changes nothing.
    with client.session_transaction() as cookie:
        cookie["last_seen"] = datetime.now(UTC).timestamp()
    response = client.get("/manage")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "inactive" in page


def test_a_session_ends_after_its_absolute_lifetime_however_active(app, client, accounts):
    email = accounts.user("officer")
    assert sign_in(client, email).status_code == 302
    assert app.config["OFFICER_SESSION_ABSOLUTE"] == timedelta(hours=12)
    with app.app_context():
        db.session.execute(
            sa.update(OfficerSession).values(
                created_at=datetime.now(UTC) - timedelta(hours=12, minutes=1),
                last_seen_at=datetime.now(UTC),
            )
        )
        db.session.commit()
    response = client.get("/manage")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "reached its time limit" in page
    assert client.get("/manage").status_code == 302


def test_the_session_cookie_holds_no_part_of_the_password_hash(app, client, accounts):
    email = accounts.user("officer")
    assert sign_in(client, email).status_code == 302
    serializer = app.session_interface.get_signing_serializer(app)
    contents = serializer.loads(client.get_cookie("consult_session").value)
    password_hash = _user(app, email).password_hash
    assert set(contents) <= {"sid", "partnership_id", "_permanent", "csrf_token", "_flashes"}
    for value in contents.values():
        text = str(value)
        assert not any(password_hash[i : i + 8] in text for i in range(0, len(password_hash) - 8))


# --- Deactivation ---------------------------------------------------------------


def _membership_id(app, email: str) -> int:
    with app.app_context():
        return db.session.scalars(
            sa.select(Membership.id).join(User).where(User.email == email)
        ).first()


def test_deactivation_ends_sessions_and_sign_in_until_reactivated(app, client, accounts):
    admin = accounts.user("admin")
    officer = accounts.user("officer")
    officer_client = _client(app)
    assert sign_in(officer_client, officer).status_code == 302
    assert sign_in(client, admin).status_code == 302
    membership_id = _membership_id(app, officer)

    response = client.post_form(
        f"/manage/users/{membership_id}/deactivate", {}, token_from="/manage/users"
    )
    assert response.status_code == 302
    assert "Deactivated" in client.get("/manage/users").get_data(as_text=True)
    assert officer_client.get("/manage").status_code == 302
    refused = sign_in(officer_client, officer)
    assert refused.status_code == 400 and GENERIC in refused.get_data(as_text=True)
    assert _user(app, officer).is_active is False

    client.post_form(f"/manage/users/{membership_id}/reactivate", {}, token_from="/manage/users")
    assert sign_in(officer_client, officer).status_code == 302


def test_an_admin_cannot_deactivate_themselves_or_the_last_admin(app, client, accounts):
    admin = accounts.user("admin")
    assert sign_in(client, admin).status_code == 302
    own = _membership_id(app, admin)
    client.post_form(f"/manage/users/{own}/deactivate", {}, token_from="/manage/users")
    assert "cannot deactivate your own account" in client.get("/manage/users").get_data(
        as_text=True
    )
    # Another admin cannot take the partnership's last active admin away either.
    other_email = accounts.user("officer", email="o@n.example")
    with app.app_context():
        me = db.session.get(Membership, own)
        other = accounts_service.find_user(other_email)
        with pytest.raises(accounts_service.ServiceError, match="at least one active"):
            accounts_service.deactivate_member(me, by=other)
        db.session.rollback()
    assert _user(app, admin).is_active


def test_another_partnerships_member_cannot_be_deactivated_from_here(app, client, accounts):
    accounts.user("admin")
    south_officer = accounts.user("officer", partnership="south-csp")
    assert sign_in(client, "admin@north-csp.example").status_code == 302
    membership_id = _membership_id(app, south_officer)
    response = client.post_form(
        f"/manage/users/{membership_id}/deactivate", {}, token_from="/manage/users"
    )
    assert response.status_code == 404
    assert _user(app, south_officer).is_active


# --- Passwords ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("password1234", "most common passwords"),
        ("Password1234!", "most common passwords"),
        ("qwertyuiop123", "most common passwords"),
        ("aaaaaaaaaaaa", "repeats too few characters"),
        ("short pass", "at least 12 characters"),
        ("officer@north-csp.example", "must not contain your email address"),
        ("Officer-2026-spring", "must not contain your email address"),
        ("Wilhelmina tea party", "must not contain your name"),
    ],
)
def test_weak_passwords_are_refused_with_a_clear_message(app, client, accounts, password, message):
    email = accounts.user("officer")
    with app.app_context():
        user = accounts_service.find_user(email)
        user.name = "Wilhelmina Okafor"
        db.session.commit()
    assert sign_in(client, email).status_code == 302
    response = client.post_form(
        "/account/password",
        {"current_password": PASSWORD, "password": password, "confirm": password},
    )
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert accounts_service.verify_password(accounts_service.find_user(email), PASSWORD)


def test_the_shipped_list_holds_the_common_passwords():
    from consult.services.passwords import common_passwords

    listed = common_passwords()
    assert len(listed) >= 10_000
    assert {"123456", "password", "qwerty", "iloveyou", "password1234"} <= listed


def test_a_temporary_password_must_be_changed_at_first_sign_in(app, client, accounts):
    email = accounts.user("officer")
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["consult", "set-password", email, "--password-stdin", "--temporary"],
        input="temporary lantern meadow\n",
    )
    assert result.exit_code == 0, result.output
    assert "temporary" in result.output
    assert sign_in(client, email, "temporary lantern meadow").status_code == 302
    response = client.get("/manage")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/account/password"
    )
    assert client.get("/manage/surveys/new").status_code == 302
    page = client.get("/account/password").get_data(as_text=True)
    assert "temporary password" in page
    same = client.post_form(
        "/account/password",
        {
            "current_password": "temporary lantern meadow",
            "password": "temporary lantern meadow",
            "confirm": "temporary lantern meadow",
        },
    )
    assert same.status_code == 400
    response = client.post_form(
        "/account/password",
        {
            "current_password": "temporary lantern meadow",
            "password": "copper kettle orchard rain",
            "confirm": "copper kettle orchard rain",
        },
    )
    assert response.status_code == 302
    assert client.get("/manage").status_code == 200


# --- Set-password links and adding people -------------------------------------


def _add(client, email: str, role: str = "officer"):
    return client.post_form("/manage/users", {"email": email, "name": "", "role": role})


def test_a_set_password_link_works_once(app, client, accounts):
    assert sign_in(client, accounts.user("admin")).status_code == 302
    response = _add(client, "new.person@north.example")
    assert response.status_code == 200
    link = LINK.search(response.get_data(as_text=True)).group(1)
    with app.app_context():
        stored = db.session.scalars(sa.select(PasswordToken.token_hash)).all()
    assert link.rsplit("/", 1)[1] not in stored  # stored hashed
    client.post_form("/sign-out", {}, token_from="/manage")

    newcomer = _client(app)
    assert newcomer.get(link).status_code == 200
    weak = newcomer.post_form(link, {"password": "password1234", "confirm": "password1234"})
    assert weak.status_code == 400 and "most common" in weak.get_data(as_text=True)
    done = newcomer.post_form(
        link, {"password": "saffron bicycle thunder", "confirm": "saffron bicycle thunder"}
    )
    assert done.status_code == 302
    assert (
        sign_in(newcomer, "new.person@north.example", "saffron bicycle thunder").status_code == 302
    )

    again = _client(app).get(link)
    assert again.status_code == 400
    assert "expired or has already been used" in again.get_data(as_text=True)


def test_a_set_password_link_expires(app, client, accounts):
    assert sign_in(client, accounts.user("admin")).status_code == 302
    link = LINK.search(_add(client, "late@north.example").get_data(as_text=True)).group(1)
    with app.app_context():
        db.session.execute(
            sa.update(PasswordToken).values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
        db.session.commit()
    response = _client(app).get(link)
    assert response.status_code == 400
    assert "expired or has already been used" in response.get_data(as_text=True)


def test_a_new_link_replaces_the_old_one(app, client, accounts):
    assert sign_in(client, accounts.user("admin")).status_code == 302
    first = LINK.search(_add(client, "twice@north.example").get_data(as_text=True)).group(1)
    membership_id = _membership_id(app, "twice@north.example")
    page = client.post_form(
        f"/manage/users/{membership_id}/password-link", {}, token_from="/manage/users"
    ).get_data(as_text=True)
    second = LINK.search(page).group(1)
    assert _client(app).get(first).status_code == 400
    assert _client(app).get(second).status_code == 200


def test_adding_a_user_does_not_reveal_an_account_in_another_partnership(app, client, accounts):
    south = accounts.user("officer", partnership="south-csp", email="alice@shared.example")
    assert sign_in(client, accounts.user("admin")).status_code == 302

    def neutral(response) -> str:
        body = response.get_data(as_text=True)
        body = re.sub(r"/set-password/[A-Za-z0-9_\-]+", "/set-password/TOKEN", body)
        body = re.sub(r'name="csrf_token" value="[^"]+"', "", body)
        body = re.sub(r'nonce="[^"]+"', "", body)
        return body.replace("alice@shared.example", "EMAIL").replace("bob@new.example", "EMAIL")

    existing = _add(client, south)
    fresh = _add(client, "bob@new.example")
    assert existing.status_code == fresh.status_code == 200
    assert neutral(existing) == neutral(fresh)

    # Alice's link only welcomes her: it can never set her password.
    link = LINK.search(existing.get_data(as_text=True)).group(1)
    alice = _client(app)
    page = alice.get(link)
    assert page.status_code == 200 and "already have an account" in page.get_data(as_text=True)
    alice.post_form(link, {"password": "taken over now", "confirm": "taken over now"})
    assert sign_in(alice, south, PASSWORD).status_code == 302
    # Neither can a later set-password link from this partnership's admin.
    membership_id = _membership_id(app, south)
    with app.app_context():
        north_membership = db.session.scalars(
            sa.select(Membership)
            .join(Partnership)
            .where(Membership.user_id == _user(app, south).id, Partnership.slug == "north-csp")
        ).one()
        membership_id = north_membership.id
    page = client.post_form(
        f"/manage/users/{membership_id}/password-link", {}, token_from="/manage/users"
    ).get_data(as_text=True)
    link = LINK.search(page).group(1)
    assert "already have an account" in _client(app).get(link).get_data(as_text=True)


# --- Two-factor -------------------------------------------------------------------


def _raw_sign_in(client, email: str, password: str = PASSWORD):
    return client.post_form("/sign-in", {"email": email, "password": password})


def test_an_admin_must_set_up_two_factor_before_anything_else(app, client, accounts):
    email = accounts.user("admin")
    response = _raw_sign_in(client, email)
    assert response.status_code == 302
    response = client.get("/manage/users")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/account/two-factor"
    )
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert "<svg" in page and "QR code for your app" in page
    secret = SECRET_ON_PAGE.search(page).group(1)
    wrong = client.post_form("/account/two-factor", {"code": "000000"})
    assert wrong.status_code == 400 and "6-digit code" in wrong.get_data(as_text=True)
    done = client.post_form("/account/two-factor", {"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200
    codes = RECOVERY.findall(done.get_data(as_text=True))
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/manage/users").status_code == 200

    # Next time the password alone is not enough, and a code is accepted once.
    client.post_form("/sign-out", {}, token_from="/manage")
    response = _raw_sign_in(client, email)
    assert response.headers["Location"].endswith("/sign-in/two-factor")
    assert client.get("/manage").status_code == 302
    wrong = client.post_form("/sign-in/two-factor", {"code": "123456"})
    assert wrong.status_code == 400 and "not right" in wrong.get_data(as_text=True)
    used = pyotp.TOTP(secret).now()
    with app.app_context():
        accounts_service.find_user(email).totp_last_counter = None
        db.session.commit()
    assert client.post_form("/sign-in/two-factor", {"code": used}).status_code == 302
    assert client.get("/manage/users").status_code == 200
    client.post_form("/sign-out", {}, token_from="/manage")
    _raw_sign_in(client, email)
    replay = client.post_form("/sign-in/two-factor", {"code": used})
    assert replay.status_code == 400


def test_a_recovery_code_signs_in_once(app, client, accounts):
    email = accounts.user("admin")
    _raw_sign_in(client, email)
    page = client.get("/account/two-factor").get_data(as_text=True)
    secret = SECRET_ON_PAGE.search(page).group(1)
    codes = RECOVERY.findall(
        client.post_form("/account/two-factor", {"code": pyotp.TOTP(secret).now()}).get_data(
            as_text=True
        )
    )
    with app.app_context():
        stored = db.session.execute(sa.text("SELECT code_hash FROM recovery_code")).scalars().all()
    assert len(stored) == 10 and not set(codes) & set(stored)
    client.post_form("/sign-out", {}, token_from="/manage")

    _raw_sign_in(client, email)
    response = client.post_form("/sign-in/two-factor", {"code": codes[0].upper()})
    assert response.status_code == 302
    assert "9 left" in client.get("/manage").get_data(as_text=True)
    client.post_form("/sign-out", {}, token_from="/manage")
    _raw_sign_in(client, email)
    assert client.post_form("/sign-in/two-factor", {"code": codes[0]}).status_code == 400


def test_a_partnership_can_require_two_factor_of_every_officer(app, client, accounts):
    officer = accounts.user("officer")
    admin = accounts.user("admin")
    officer_client = _client(app)
    assert _raw_sign_in(officer_client, officer).status_code == 302
    assert officer_client.get("/manage").status_code == 200
    assert sign_in(client, admin).status_code == 302
    response = client.post_form(
        "/manage/security", {"require_two_factor": "yes"}, token_from="/manage/users"
    )
    assert response.status_code == 302
    response = officer_client.get("/manage")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/account/two-factor"
    )


def test_the_command_line_resets_two_factor_for_a_lost_phone(app, client, accounts):
    email = accounts.user("admin")
    enrol_two_factor(app, email)
    result = app.test_cli_runner().invoke(args=["consult", "reset-two-factor", email])
    assert result.exit_code == 0, result.output
    assert _user(app, email).totp_secret is None
    _raw_sign_in(client, email)
    assert client.get("/manage").headers["Location"].endswith("/account/two-factor")


def test_command_line_account_administration(app, accounts):
    email = accounts.user("officer")
    runner = app.test_cli_runner()
    weak = runner.invoke(args=["consult", "set-password", email, "--password-stdin"], input="x\n")
    assert weak.exit_code != 0 and "at least 12 characters" in weak.output
    result = runner.invoke(args=["consult", "deactivate-user", email])
    assert result.exit_code == 0 and not _user(app, email).is_active
    result = runner.invoke(args=["consult", "reactivate-user", email])
    assert result.exit_code == 0 and _user(app, email).is_active
    result = runner.invoke(
        args=["consult", "set-password-link", email, "--base-url", "https://c.example/"]
    )
    assert result.exit_code == 0
    assert re.search(r"^https://c\.example/set-password/\S+$", result.output, re.M)
    unknown = runner.invoke(args=["consult", "deactivate-user", "nobody@x.example"])
    assert unknown.exit_code != 0 and "No account" in unknown.output


# --- Throttling, not lock-out ----------------------------------------------------

ATTACKER = "203.0.113.9"
OFFICE = "198.51.100.7"


@pytest.fixture
def long_waits(monkeypatch):
    """Waits of minutes rather than seconds, so that on a slow, busy machine
    the next attempt always comes before the wait is over."""
    from consult.services import throttle

    monkeypatch.setattr(throttle, "FIRST_DELAY_SECONDS", 300)


def test_unknown_wrong_and_deactivated_accounts_look_the_same(
    app, client, accounts, monkeypatch, long_waits
):
    """Same message and status, and each runs exactly one argon2 verification
    (the cost that sets the timing), throttled attempts included."""
    email = accounts.user("officer")
    gone = accounts.user("viewer")
    with app.app_context():
        accounts_service.deactivate_user(accounts_service.find_user(gone))
        db.session.commit()
    calls: list[str] = []
    real_verify = accounts_service._verify

    def counting(hash_, password):  # type: ignore[no-untyped-def]
        calls.append(hash_)
        return real_verify(hash_, password)

    monkeypatch.setattr(accounts_service, "_verify", counting)
    bodies = []
    for who, password in (
        ("nobody@north.example", "whatever it may be"),
        (email, "not the password"),
        (gone, PASSWORD),
    ):
        calls.clear()
        response = _post_from(client, "192.0.2.1", "/sign-in", {"email": who, "password": password})
        assert response.status_code == 400
        body = response.get_data(as_text=True)
        assert GENERIC in body and "locked" not in body
        bodies.append(body)
        assert len(calls) == 1
    # Throttled: the known and the unknown account get the same answer, after one hash.
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES", 1)
    answers = []
    for who in (email, "nobody@north.example"):
        for _ in range(2):
            _post_from(client, "192.0.2.2", "/sign-in", {"email": who, "password": "wrong guess"})
        calls.clear()
        response = _post_from(client, "192.0.2.2", "/sign-in", {"email": who, "password": "again"})
        assert len(calls) == 1
        answers.append(
            (response.status_code, "Too many attempts" in response.get_data(as_text=True))
        )
    assert answers == [(429, True), (429, True)]


def test_an_attacker_cannot_lock_a_real_officer_out(app, accounts, long_waits):
    email = accounts.user("officer")
    attacker, officer = _client(app), _client(app)
    statuses = [
        _post_from(
            attacker, ATTACKER, "/sign-in", {"email": email, "password": f"guess {i}"}
        ).status_code
        for i in range(12)
    ]
    assert statuses[: app.config["LOGIN_MAX_FAILURES"]] == [400] * app.config["LOGIN_MAX_FAILURES"]
    assert statuses[-1] == 429  # the attacker is slowed down...
    # ...even with the right password, from their address...
    blocked = _post_from(attacker, ATTACKER, "/sign-in", {"email": email, "password": PASSWORD})
    assert blocked.status_code == 429
    # ...while the officer at their own desk signs in at once.
    response = _post_from(officer, OFFICE, "/sign-in", {"email": email, "password": PASSWORD})
    assert response.status_code == 302
    assert officer.get("/manage").status_code == 200


def test_waits_double_after_each_failure_up_to_a_ceiling(app, client, accounts):
    email = accounts.user("officer")
    free = app.config["LOGIN_MAX_FAILURES"]
    waits = []
    for _ in range(free + 4):
        with app.app_context():  # let the wait pass, as a patient attacker would
            db.session.execute(sa.update(SignInThrottle).values(next_allowed_at=datetime.now(UTC)))
            db.session.commit()
        response = _post_from(client, ATTACKER, "/sign-in", {"email": email, "password": "nope"})
        body = response.get_data(as_text=True)
        match = re.search(r"Wait (\d+) seconds", body)
        if match:
            waits.append(int(match.group(1)))
    # Without waiting, the next attempt is refused before the password is looked at.
    response = _post_from(client, ATTACKER, "/sign-in", {"email": email, "password": PASSWORD})
    assert response.status_code == 429
    assert re.search(r"Wait 1[56] seconds", response.get_data(as_text=True))
    # Each failure past the free ones doubles the next wait; reading the wait
    # itself (a throttled attempt) does not count as a failure.
    with app.app_context():
        rows = db.session.scalars(sa.select(SignInThrottle)).all()
        pair = max(rows, key=lambda r: r.failures)
        assert pair.failures == free + 4
        delay = pair.next_allowed_at.replace(tzinfo=UTC) - pair.last_failure_at.replace(tzinfo=UTC)
    assert delay.total_seconds() == pytest.approx(2 * 2**3, abs=1)
    assert waits == []  # every attempt came after its wait, so none was refused
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert "account_locked" not in actions and actions.count("sign_in_failed") == free + 4


def test_one_address_trying_many_accounts_is_slowed(app, client, accounts, monkeypatch, long_waits):
    monkeypatch.setitem(app.config, "SIGN_IN_ADDRESS_FAILURES", 3)
    email = accounts.user("officer")
    for i in range(4):
        _post_from(
            client, ATTACKER, "/sign-in", {"email": f"x{i}@n.example", "password": "a guess"}
        )
    response = _post_from(client, ATTACKER, "/sign-in", {"email": email, "password": PASSWORD})
    assert response.status_code == 429
    assert (
        _post_from(client, OFFICE, "/sign-in", {"email": email, "password": PASSWORD}).status_code
        == 302
    )


def test_the_two_factor_code_is_throttled_too(app, client, accounts, long_waits):
    email = accounts.user("admin")
    enrol_two_factor(app, email)
    _post_from(client, ATTACKER, "/sign-in", {"email": email, "password": PASSWORD})
    statuses = [
        _post_from(client, ATTACKER, "/sign-in/two-factor", {"code": "000000"}).status_code
        for _ in range(app.config["LOGIN_MAX_FAILURES"] + 1)
    ]
    assert statuses[-1] == 400
    right = pyotp.TOTP(TOTP_SECRET).now()
    response = _post_from(client, ATTACKER, "/sign-in/two-factor", {"code": right})
    assert response.status_code == 400 and "Too many attempts" in response.get_data(as_text=True)


def test_sign_in_messages_follow_the_page_language(client, accounts):
    email = accounts.user("officer")
    token = client.csrf_token("/sign-in?lang=ur")
    response = client.post(
        "/sign-in?lang=ur", data={"email": email, "password": "wrong one", "csrf_token": token}
    )
    assert response.status_code == 400
    assert "درست ای میل پتہ اور پاس ورڈ درج کریں" in response.get_data(as_text=True)


def test_counters_quiet_for_a_whole_window_are_forgotten(app, client, accounts):
    email = accounts.user("officer")
    for _ in range(3):
        _post_from(client, ATTACKER, "/sign-in", {"email": email, "password": "a guess"})
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(SignInThrottle.id))) == 2
        db.session.execute(
            sa.update(SignInThrottle).values(
                last_failure_at=datetime.now(UTC) - app.config["SIGN_IN_THROTTLE_WINDOW"] * 2
            )
        )
        db.session.commit()
    _post_from(client, OFFICE, "/sign-in", {"email": "someone@else.example", "password": "x"})
    with app.app_context():
        rows = db.session.scalars(sa.select(SignInThrottle)).all()
    assert len(rows) == 2 and all(row.failures == 1 for row in rows)
