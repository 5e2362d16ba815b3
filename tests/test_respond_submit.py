"""Submission stores exactly one response however often or however fast it
is sent; expired answers are not kept."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from test_respond_support import Resident, build_survey, page_text, responses

from consult.extensions import db
from consult.models import Answer, Invitation, Response, Survey
from consult.services.responses import (
    Incomplete,
    create_invitations,
    purge_expired,
    redeem_invitation,
    start_response,
    submit,
)


def test_double_submit_stores_one_response_with_one_reference(app, client):
    build_survey(app)
    resident = Resident(client)
    resident.complete_quick()
    first = resident.submit()
    second = resident.submit()
    assert first.location.endswith("/s/quick/done")
    assert second.location.endswith("/s/quick/done")
    [response] = responses(app)
    assert response.status == "submitted"
    assert response.reference in page_text(client.get("/s/quick/done"))


def test_a_replayed_post_with_the_old_cookie_changes_nothing(app, client):
    build_survey(app)
    resident = Resident(client)
    resident.complete_quick()
    # A copy of the browser as it was before submitting (a resubmit after
    # pressing Back, or an attacker replaying the request).
    replay = app.test_client()
    cookie = client.get_cookie("consult_session")
    replay.set_cookie("consult_session", cookie.value)
    resident.submit()
    [before] = responses(app)
    again = Resident(replay)
    again._token = resident.token()
    replayed = again.submit()
    assert replayed.status_code == 302 and replayed.location.endswith("/done")
    [after] = responses(app)
    assert after.id == before.id and after.submitted_at == before.submitted_at
    assert after.reference == before.reference


def test_submitting_an_incomplete_response_goes_to_the_missing_answer(app, client):
    build_survey(app)
    resident = Resident(client)
    resident.start()
    resident.go("safe", {"safe": "unsafe"})
    missing = resident.submit()
    assert missing.location.endswith("/s/quick/q/worry")
    [response] = responses(app)
    assert response.status == "in_progress"


def test_done_page_without_a_submission_goes_to_the_start(app, client):
    build_survey(app)
    assert client.get("/s/quick/done").location.endswith("/s/quick")


def _complete_response(app) -> int:
    with app.app_context():
        survey = db.session.scalars(sa.select(Survey).filter_by(slug="quick")).one()
        response = start_response(survey, "en")
        db.session.flush()
        questions = {q.key: q for q in survey.questions}
        db.session.add(
            Answer(response_id=response.id, question_id=questions["safe"].id, option_code="unsafe")
        )
        for item in ("burglary", "mugging"):
            db.session.add(
                Answer(
                    response_id=response.id,
                    question_id=questions["worry"].id,
                    item_code=item,
                    option_code="dont_know",
                )
            )
        response.special_consent = False
        db.session.commit()
        return response.id


def test_racing_submissions_in_two_threads_store_exactly_one(app):
    build_survey(app)
    response_id = _complete_response(app)
    barrier = threading.Barrier(2)
    outcomes: list[bool] = []
    errors: list[BaseException] = []

    def attempt() -> None:
        try:
            with app.app_context():
                response = db.session.get(Response, response_id)
                barrier.wait(timeout=10)
                outcomes.append(submit(response).submitted_now)
                db.session.commit()
                db.session.remove()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(outcomes) == [False, True]
    [response] = responses(app)
    assert response.status == "submitted"


def test_submit_service_refuses_an_incomplete_or_expired_response(app):
    build_survey(app)
    with app.app_context():
        survey = db.session.scalars(sa.select(Survey).filter_by(slug="quick")).one()
        response = start_response(survey, "en")
        db.session.commit()
        try:
            submit(response)
        except Incomplete as missing:
            assert missing.step.key == "safe"
        else:
            raise AssertionError("an incomplete response was submitted")
    response_id = _complete_response(app)
    with app.app_context():
        response = db.session.get(Response, response_id)
        response.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        db.session.commit()
        try:
            submit(response)
        except Exception as error:  # noqa: BLE001
            assert "expired" in str(error)
        else:
            raise AssertionError("an expired response was submitted")
        assert db.session.get(Response, response_id).status == "in_progress"


def test_purge_expired_deletes_only_expired_unsubmitted_responses(app):
    build_survey(app)
    expired_id = _complete_response(app)
    fresh_id = _complete_response(app)
    done_id = _complete_response(app)
    with app.app_context():
        survey = db.session.scalars(sa.select(Survey).filter_by(slug="quick")).one()
        [code] = create_invitations(survey, 1)
        invited = redeem_invitation(survey, code, "en")
        db.session.commit()
        invited_id = invited.id
        past = datetime.now(UTC) - timedelta(days=1)
        for rid in (expired_id, invited_id):
            db.session.get(Response, rid).expires_at = past
        submit(db.session.get(Response, done_id))
        db.session.get(Response, done_id).expires_at = past
        db.session.commit()
        assert purge_expired() == 2
        remaining = set(db.session.scalars(sa.select(Response.id)))
        assert remaining == {fresh_id, done_id}
        assert (
            db.session.scalars(sa.select(Answer.response_id).distinct()).all().count(expired_id)
            == 0
        )
        # The letter's code is free to be used again.
        assert db.session.scalars(sa.select(Invitation.response_id)).one() is None


def test_two_browser_sessions_submitting_at_once_store_one_response(app, client):
    build_survey(app)
    resident = Resident(client)
    resident.complete_quick()
    token = resident.token()
    twin = app.test_client()
    twin.set_cookie("consult_session", client.get_cookie("consult_session").value)
    barrier = threading.Barrier(2)
    results: list[int] = []

    def post(browser) -> None:
        barrier.wait(timeout=10)
        results.append(browser.post("/s/quick/submit", data={"csrf_token": token}).status_code)

    threads = [threading.Thread(target=post, args=(browser,)) for browser in (client, twin)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == [302, 302]
    [response] = responses(app)
    assert response.status == "submitted"


def test_public_posts_are_rate_limited(database_url):
    from conftest import PageCheckingClient, make_app

    from consult.extensions import limiter

    limited = make_app(
        database_url,
        RATELIMIT_ENABLED=True,
        RATELIMIT_PUBLIC="2 per minute",
        RATELIMIT_STORAGE_URI="memory://",
    )
    limiter.reset()
    limited.test_client_class = PageCheckingClient
    build_survey(limited)
    try:
        browser = limited.test_client()
        resident = Resident(browser)
        codes = [resident.post("/resume", {"code": "2222-3333-4444"}).status_code for _ in range(3)]
        assert codes == [400, 400, 429]
        assert "Too many requests" in page_text(resident.post("/resume", {"code": "x"}))
        # Reading pages is not limited.
        assert browser.get("/s/quick").status_code == 200
    finally:
        with limited.app_context():
            db.session.remove()
            with db.engine.begin() as connection:
                for table in reversed(db.metadata.sorted_tables):
                    connection.execute(table.delete())
        # The limiter is one object shared by every app in the process: an app
        # made with limiting off switches it off again for the other tests.
        make_app(database_url)
