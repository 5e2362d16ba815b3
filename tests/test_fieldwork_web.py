"""The fieldwork monitor and paper entry, through the pages and the services."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from test_build_services import make_survey, q

from consult.extensions import db
from consult.models import Answer, AuditEvent, Response, Survey, User
from consult.services import builder
from consult.services.benchmarks import import_benchmarks
from consult.services.fieldwork import monitor

BENCH = "variable,category,population_share\nage_band,16-24,0.3\nage_band,25+,0.7\n"


def open_survey_with_responses(young: int, older: int, channel="online") -> Survey:
    survey = make_survey()
    import_benchmarks(survey.partnership, BENCH)
    builder.set_demographic(
        q(survey, "age_band"), "age_band", {"aged_16_24": "16-24", "aged_25_plus": "25+"}
    )
    builder.change_status(survey, "open")
    age = q(survey, "age_band")
    for i, code in enumerate(["aged_16_24"] * young + ["aged_25_plus"] * older):
        response = Response(
            survey_id=survey.id,
            reference=f"R-{i}",
            language="en",
            channel=channel,
            status="submitted",
            submitted_at=datetime(2026, 5, 1 + i % 2, tzinfo=UTC),
        )
        db.session.add(response)
        db.session.flush()
        db.session.add(Answer(response_id=response.id, question_id=age.id, option_code=code))
    db.session.add(Response(survey_id=survey.id, reference="R-open", language="en"))
    db.session.flush()
    return survey


def test_monitor_counts_and_names_who_is_missing(app_context):
    survey = open_survey_with_responses(young=5, older=95)
    m = monitor(survey)
    assert (m.submitted, m.in_progress) == (100, 1)
    assert m.by_channel == [("online", 100)]
    assert [count for _day, count in m.by_day] == [50, 50]
    assert m.benchmark_version == 1
    young = next(r for r in m.rows if r.category == "16-24")
    # 5 of 100 against 30% of residents: too few to report separately, but
    # clearly under-represented, and now named so (it used to say "too few").
    assert (young.n, young.flag) == (5, "under")
    assert any("16 to 24" in s and "30%" in s for s in m.missing_voices), m.missing_voices
    assert survey.status == "open"  # the monitor never closes a survey


def test_monitor_explains_what_is_missing_to_compare(app_context):
    survey = make_survey()
    assert "No question has a demographic role" in monitor(survey).notes[0]


def test_monitor_page_and_json(app, client, signed_in, accounts):
    signed_in("officer")
    with app.app_context():
        survey = open_survey_with_responses(young=10, older=190)
        survey_id = survey.id
        db.session.commit()
    page = client.get(f"/manage/surveys/{survey_id}/fieldwork")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "200" in body and "Whose voices are missing" in body and "16 to 24" in body
    data = client.get(f"/manage/surveys/{survey_id}/fieldwork.json").get_json()
    assert (
        data["submitted"] == 200 and data["benchmark_version"] == 1 and "16 to 24" in data["html"]
    )
    assert "R-1" not in body  # no individual responses


def test_paper_entry_second_keying_and_comparison(app, client, signed_in):
    signed_in("officer")
    with app.app_context():
        survey = make_survey()
        builder.change_status(survey, "open")
        survey_id = survey.id
        db.session.commit()
    path = f"/manage/surveys/{survey_id}/paper-entry"
    page = client.get(path).get_data(as_text=True)
    assert "pe-age_band" in page and "<strong>1</strong> 16 to 24" in page
    form = {
        "channel": "paper",
        "language": "en",
        "batch": "WARD3",
        "serial": "001",
        "keying": "1",
        "pe-age_band": "1",
        "pe-priorities": "1 2",
        "pe-other": "More lighting",
    }
    first = client.post_form(path, {**form, "idempotency_key": "key-1"})
    assert first.status_code == 302
    replay = client.post_form(path, {**form, "idempotency_key": "key-1"})
    assert replay.status_code == 302
    again = client.post_form(path, {**form, "idempotency_key": "key-2"})
    assert again.status_code == 400 and "already been keyed" in again.get_data(as_text=True)
    bad = client.post_form(
        path, {**form, "serial": "002", "pe-age_band": "7", "idempotency_key": "key-3"}
    )
    assert bad.status_code == 400 and "not one of the answers" in bad.get_data(as_text=True)
    second = client.post_form(
        path, {**form, "keying": "2", "pe-age_band": "2", "idempotency_key": "key-4"}
    )
    assert second.status_code == 302
    compare = client.get(f"{path}/compare?batch=WARD3").get_data(as_text=True)
    assert "1 keyed twice, 0 verified, 1 with differences to settle" in compare
    assert "aged_16_24" in compare and "aged_25_plus" in compare
    with app.app_context():
        responses = db.session.scalars(
            sa.select(Response).filter_by(survey_id=survey_id).order_by(Response.id)
        ).all()
        assert [(r.batch, r.keying, r.status, r.channel) for r in responses] == [
            ("WARD3/001", 1, "submitted", "paper"),
            ("WARD3/001", 2, "second_keying", "paper"),
        ]
        officer = db.session.scalars(
            sa.select(User).filter_by(email="officer@north-csp.example")
        ).one()
        assert responses[0].entered_by_id == officer.id
        answers = db.session.scalars(sa.select(Answer).filter_by(response_id=responses[0].id)).all()
        assert sorted((a.option_code, a.text) for a in answers) == [
            ("", "More lighting"),
            ("aged_16_24", None),
            ("burglary", None),
            ("something_else", None),
        ]
        assert db.session.scalars(sa.select(AuditEvent).filter_by(action="paper_form_keyed")).all()
        # The second keying is never counted as a response.
        assert monitor(db.session.get(Survey, survey_id)).submitted == 1


def test_special_category_answers_need_consent(app_context):
    import pytest

    from consult.services.paper import PaperEntryError, PaperForm, submit_paper

    survey = make_survey()
    q(survey, "age_band").special_category = True
    builder.change_status(survey, "open")
    user = User(email="o@x.example", password_hash="x")
    db.session.add(user)
    db.session.flush()
    details = PaperForm(
        channel="assisted", batch="B1", serial="1", language="en", idempotency_key="k"
    )
    with pytest.raises(PaperEntryError) as error:
        submit_paper(survey, details, {"pe-age_band": "1"}, by=user)
    assert "agreed to the optional questions" in error.value.errors["consent"]
    assert db.session.scalar(sa.select(sa.func.count(Response.id))) == 0
    details.consent = "yes"
    assert (
        submit_paper(survey, details, {"pe-age_band": "1"}, by=user).response.special_consent
        is True
    )


def test_draft_survey_cannot_take_paper_forms(app_context):
    import pytest

    from consult.services.paper import PaperEntryError, PaperForm, submit_paper

    survey = make_survey()
    user = User(email="o@x.example", password_hash="x")
    db.session.add(user)
    db.session.flush()
    with pytest.raises(PaperEntryError) as error:
        submit_paper(
            survey,
            PaperForm(channel="paper", batch="B1", serial="1", language="en", idempotency_key="k"),
            {},
            by=user,
        )
    assert "not draft" in error.value.errors["channel"]


def test_fieldwork_roles_and_tenancy(app, client, signed_in, accounts):
    from conftest import sign_in

    signed_in("officer")
    with app.app_context():
        survey = make_survey()
        survey_id = survey.id
        db.session.commit()
    client.post_form("/sign-out", {}, token_from="/manage")
    sign_in(client, accounts.user("viewer", partnership="north-csp"))
    assert client.get(f"/manage/surveys/{survey_id}/fieldwork").status_code == 200
    assert client.get(f"/manage/surveys/{survey_id}/paper-entry").status_code == 403
    token = client.csrf_token("/manage")
    assert (
        client.post(
            f"/manage/surveys/{survey_id}/paper-entry", data={"csrf_token": token}
        ).status_code
        == 403
    )
    client.post_form("/sign-out", {}, token_from="/manage")
    sign_in(client, accounts.user("officer", partnership="south-csp"))
    for path in ("fieldwork", "fieldwork.json", "paper-entry", "paper-entry/compare?batch=B1"):
        assert client.get(f"/manage/surveys/{survey_id}/{path}").status_code == 404, path
