"""Cleaning: an officer corrects an answer with a reason; double keying is
reconciled difference by difference. Through the services and the pages."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from test_build_services import make_survey, q

from consult.extensions import db
from consult.models import Answer, AnswerCorrection, AuditEvent, Response, Survey, User
from consult.services import builder, cleaning, exports
from consult.services.answers import load_answers
from consult.services.frames import response_frame
from consult.services.paper import PaperForm, submit_paper


def _submitted(survey: Survey, reference: str, age: str, other: str | None = None) -> Response:
    response = Response(
        survey_id=survey.id,
        reference=reference,
        language="en",
        status="submitted",
        submitted_at=datetime(2026, 5, 1, tzinfo=UTC),
    )
    db.session.add(response)
    db.session.flush()
    db.session.add(
        Answer(response_id=response.id, question_id=q(survey, "age_band").id, option_code=age)
    )
    if other:
        db.session.add(
            Answer(response_id=response.id, question_id=q(survey, "other").id, text=other)
        )
    db.session.flush()
    return response


def _officer(email: str = "cleaner@north.example") -> User:
    user = db.session.scalars(sa.select(User).filter_by(email=email)).first()
    if user is None:
        user = User(email=email, password_hash="x")
        db.session.add(user)
        db.session.flush()
    return user


def test_a_correction_needs_a_reason_and_is_kept_with_old_and_new_values(app_context):
    survey = make_survey()
    response = _submitted(survey, "C-1", "aged_16_24")
    officer = _officer()
    age = q(survey, "age_band")
    with pytest.raises(cleaning.CorrectionError) as caught:
        cleaning.correct_answer(response, age, {"pe-age_band": "2"}, "  ", by=officer)
    assert caught.value.errors == {"reason": "Enter the reason for the correction"}
    with pytest.raises(cleaning.CorrectionError) as caught:
        cleaning.correct_answer(response, age, {"pe-age_band": "9"}, "typo", by=officer)
    assert "not one of the answers" in caught.value.errors["pe-age_band"]
    with pytest.raises(cleaning.CorrectionError, match="the same as the stored one"):
        cleaning.correct_answer(response, age, {"pe-age_band": "1"}, "typo", by=officer)
    # Nothing changed by the refused attempts.
    assert load_answers(response, [age])["age_band"].codes == ("aged_16_24",)
    assert db.session.scalar(sa.select(sa.func.count(AnswerCorrection.id))) == 0

    correction = cleaning.correct_answer(
        response, age, {"pe-age_band": "2"}, "Form says 25 or over", by=officer
    )
    assert (correction.old_value, correction.new_value, correction.reason) == (
        "aged_16_24",
        "aged_25_plus",
        "Form says 25 or over",
    )
    assert load_answers(response, [age])["age_band"].codes == ("aged_25_plus",)
    event = db.session.scalars(sa.select(AuditEvent).filter_by(action="answer_corrected")).one()
    assert event.target == "response:C-1:age_band" and event.user_id == officer.id
    # The audit log names what changed, never the values themselves.
    assert "aged_16_24" not in str(event.details) and "aged_25_plus" not in str(event.details)
    # A correction to blank is allowed (the paper form left it blank).
    cleaning.correct_answer(response, age, {}, "Blank on the form", by=officer)
    assert "age_band" not in load_answers(response, [age])
    assert [c.new_value for c in cleaning.corrections(response)] == ["aged_25_plus", "(blank)"]


def test_results_frame_and_csv_export_show_the_corrected_value(app_context):
    survey = make_survey()
    builder.change_status(survey, "open")
    response = _submitted(survey, "C-2", "aged_16_24", other="Too many speeding cars")
    _submitted(survey, "C-3", "aged_16_24")
    officer = _officer()
    cleaning.correct_answer(
        response, q(survey, "age_band"), {"pe-age_band": "aged_25_plus"}, "Keying slip", by=officer
    )
    cleaning.correct_answer(
        response, q(survey, "other"), {"pe-other": "Too many speeding vans"}, "Misread", by=officer
    )
    frame = response_frame(survey)
    assert frame.set_index("resp_reference").loc["C-2", "age_band"] == "aged_25_plus"
    assert frame.set_index("resp_reference").loc["C-2", "other"] == "Too many speeding vans"
    export = exports.prepare_export(survey, format="csv", role="officer", weighted=False)
    rows = list(
        csv.DictReader(io.StringIO(b"".join(exports.stream_csv(export)).decode("utf-8-sig")))
    )
    by_reference = {r["resp_reference"]: r for r in rows}
    assert by_reference["C-2"]["age_band"] == "aged_25_plus"
    assert by_reference["C-2"]["other"] == "Too many speeding vans"
    assert by_reference["C-3"]["age_band"] == "aged_16_24"


def _key(survey, officer, serial, keying, age, other="", key=None):
    return submit_paper(
        survey,
        PaperForm(
            channel="paper",
            batch="WARD3",
            serial=serial,
            language="en",
            keying=keying,
            idempotency_key=key or f"{serial}-{keying}",
        ),
        {"pe-age_band": age, "pe-other": other},
        by=officer,
    ).response


def test_settling_differences_verifies_a_form(app_context):
    survey = make_survey()
    builder.change_status(survey, "open")
    officer = _officer()
    first = _key(survey, officer, "001", 1, "1", "Lights")
    _key(survey, officer, "001", 2, "2", "Lighst")
    _key(survey, officer, "002", 1, "1")
    _key(survey, officer, "002", 2, "1")
    _key(survey, officer, "003", 1, "2")
    counts = cleaning.keying_counts(survey)
    assert (counts.keyed, counts.keyed_twice, counts.verified, counts.open_differences) == (
        3,
        2,
        1,
        2,
    )
    form = next(f for f in cleaning.keyed_forms(survey, "WARD3") if f.serial == "001")
    assert [(d.question.key, d.first, d.second) for d in form.open_differences] == [
        ("age_band", "aged_16_24", "aged_25_plus"),
        ("other", "Lights", "Lighst"),
    ]
    # The second keying was right about the age; the paper form says "Lights".
    cleaning.settle_difference(survey, first, q(survey, "age_band"), "second", by=officer)
    assert not cleaning.keyed_forms(survey, "WARD3")[0].verified
    with pytest.raises(cleaning.CorrectionError):
        cleaning.settle_difference(survey, first, q(survey, "other"), "guess", by=officer)
    cleaning.settle_difference(
        survey, first, q(survey, "other"), "paper", {"pe-other": "Lights!"}, by=officer
    )
    form = next(f for f in cleaning.keyed_forms(survey, "WARD3") if f.serial == "001")
    assert form.verified and not form.open_differences
    assert [(d.question.key, d.settled.source, d.settled.value) for d in form.differences] == [
        ("age_band", "second", "aged_25_plus"),
        ("other", "paper", "Lights!"),
    ]
    # The counted response (the first keying) carries the settled values.
    answers = load_answers(first, survey.questions)
    assert answers["age_band"].codes == ("aged_25_plus",)
    assert answers["other"].text == "Lights!"
    counts = cleaning.keying_counts(survey)
    assert (counts.verified, counts.open_differences) == (2, 0)
    events = db.session.scalars(
        sa.select(AuditEvent).filter_by(action="keying_difference_settled")
    ).all()
    assert sorted(e.details["source"] for e in events) == ["paper", "second"]


def test_pages_viewer_reads_officer_corrects(app, client, signed_in, accounts):
    with app.app_context():
        survey = make_survey()
        builder.change_status(survey, "open")
        response = _submitted(survey, "C-9", "aged_16_24")
        survey_id, response_id, age_id = survey.id, response.id, q(survey, "age_band").id
        db.session.commit()
    base = f"/manage/surveys/{survey_id}/responses"
    correct_url = f"{base}/{response_id}/questions/{age_id}/correct"
    signed_in("viewer")
    found = client.get(f"{base}?reference=c-9")
    assert found.status_code == 302 and found.headers["Location"].endswith(f"/{response_id}")
    page = client.get(f"{base}/{response_id}").get_data(as_text=True)
    assert "16 to 24" in page and correct_url not in page
    assert client.get(f"{base}?reference=NOPE-1").status_code == 404
    refused = client.post_form(correct_url, {"pe-age_band": "2", "reason": "x"})
    assert refused.status_code == 403
    client.post_form("/sign-out", {})

    signed_in("officer")
    page = client.get(f"{base}/{response_id}").get_data(as_text=True)
    assert correct_url in page
    form_page = client.get(correct_url).get_data(as_text=True)
    assert 'value="1"' in form_page  # the stored answer, as its printed number
    missing_reason = client.post_form(correct_url, {"pe-age_band": "2", "reason": ""})
    assert missing_reason.status_code == 400
    assert "Enter the reason for the correction" in missing_reason.get_data(as_text=True)
    bad = client.post_form(correct_url, {"pe-age_band": "about ten", "reason": "x"})
    assert bad.status_code == 400 and "not one of the answers" in bad.get_data(as_text=True)
    done = client.post_form(correct_url, {"pe-age_band": "2", "reason": "Form says 25+"})
    assert done.status_code == 302
    page = client.get(f"{base}/{response_id}").get_data(as_text=True)
    assert "25 or over" in page and "Form says 25+" in page and "aged_16_24" in page
    with app.app_context():
        stored = db.session.scalars(
            sa.select(Answer).filter_by(response_id=response_id, question_id=age_id)
        ).one()
        assert stored.option_code == "aged_25_plus"


def test_reconciling_a_batch_through_the_page(app, client, signed_in):
    officer_email = signed_in("officer")
    with app.app_context():
        survey = make_survey()
        builder.change_status(survey, "open")
        officer = db.session.scalars(sa.select(User).filter_by(email=officer_email)).one()
        first = _key(survey, officer, "001", 1, "1", "Lights")
        _key(survey, officer, "001", 2, "2", "Lights")
        survey_id, first_id, age_id = survey.id, first.id, q(survey, "age_band").id
        db.session.commit()
    compare = f"/manage/surveys/{survey_id}/paper-entry/compare?batch=WARD3"
    page = client.get(compare).get_data(as_text=True)
    assert "0 verified, 1 with differences to settle" in page
    monitor = client.get(f"/manage/surveys/{survey_id}/fieldwork").get_data(as_text=True)
    assert 'id="keying-keyed">1<' in monitor and 'id="keying-verified">0<' in monitor
    settle = f"/manage/surveys/{survey_id}/paper-entry/forms/{first_id}/questions/{age_id}/settle"
    bad = client.post_form(settle, {"choice": "paper", "pe-age_band": "7"})
    assert bad.status_code == 302
    assert "not one of the answers" in client.get(compare).get_data(as_text=True)
    ok = client.post_form(settle, {"choice": "first"})
    assert ok.status_code == 302
    page = client.get(compare).get_data(as_text=True)
    assert "1 verified, 0 with differences to settle" in page and "Kept the first keying" in page
    monitor = client.get(f"/manage/surveys/{survey_id}/fieldwork").get_data(as_text=True)
    assert 'id="keying-verified">1<' in monitor


def test_erasure_and_retention_delete_the_corrections_with_the_answers(app_context):
    from datetime import date, timedelta

    from consult.services.retention import apply_retention, erase_response

    survey = make_survey()
    builder.change_status(survey, "open")
    officer = _officer()
    erased = _submitted(survey, "C-E", "aged_16_24", other="My street name")
    kept = _submitted(survey, "C-K", "aged_16_24", other="Another street")
    for response in (erased, kept):
        cleaning.correct_answer(
            response, q(survey, "other"), {"pe-other": "Redacted"}, "Names a street", by=officer
        )
    erase_response(survey.partnership, "C-E", officer)
    remaining = db.session.scalars(sa.select(AnswerCorrection)).all()
    assert [c.response_id for c in remaining] == [kept.id]
    survey.retention_until = date.today() - timedelta(days=1)
    db.session.flush()
    apply_retention()
    assert db.session.scalar(sa.select(sa.func.count(AnswerCorrection.id))) == 0
    assert "Another street" not in str(
        db.session.execute(sa.select(AnswerCorrection.old_value)).all()
    )


def test_a_correction_that_changes_the_route_is_pointed_out(app, client, signed_in):
    signed_in("officer")
    with app.app_context():
        survey = make_survey()
        other = q(survey, "other")
        other.show_if = {"question": "age_band", "in": ["aged_16_24"]}
        builder.change_status(survey, "open")
        response = _submitted(survey, "C-R", "aged_16_24", other="Skate park")
        survey_id, response_id, age_id = survey.id, response.id, q(survey, "age_band").id
        db.session.commit()
    page = f"/manage/surveys/{survey_id}/responses/{response_id}"
    assert 'id="off-path"' not in client.get(page).get_data(as_text=True)
    correct = f"{page}/questions/{age_id}/correct"
    client.post_form(correct, {"pe-age_band": "2", "reason": "Form says 25+"})
    body = client.get(page).get_data(as_text=True)
    assert 'id="off-path"' in body and "does not ask other" in body
    # Nothing was deleted: the officer decides.
    assert "Skate park" in body


def test_a_correction_on_the_response_page_settles_a_keying_difference(app_context):
    survey = make_survey()
    builder.change_status(survey, "open")
    officer = _officer()
    first = _key(survey, officer, "001", 1, "1")
    _key(survey, officer, "001", 2, "2")
    assert cleaning.keying_counts(survey).open_differences == 1
    cleaning.correct_answer(
        first,
        q(survey, "age_band"),
        {"pe-age_band": "3"},
        "Form ticks prefer not to say",
        by=officer,
    )
    form = cleaning.keyed_forms(survey, "WARD3")[0]
    assert form.verified
    assert [(d.settled.source, d.settled.value) for d in form.differences] == [
        ("cleaning", "prefer_not_to_say")
    ]
