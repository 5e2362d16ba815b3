"""Decimal, date and postcode questions through the pages: the builder, the
postcode lookup upload, and a resident answering them (errors on the page,
the ward list fallback, the privacy notice)."""

from __future__ import annotations

import io
from datetime import date, timedelta

import sqlalchemy as sa
from test_typed_questions import LOOKUP, typed_survey

from consult.extensions import db
from consult.models import Answer, Membership, Partnership, PostcodeWard, Question, Response, User
from consult.services.postcodes import import_lookup


def _officer_of_mid(app, accounts, client, role="officer"):
    """Sign in a user of the partnership the typed survey belongs to."""
    from conftest import sign_in

    email = accounts.user(role, partnership="mid-csp")
    assert sign_in(client, email).status_code == 302
    return email


def _typed(app, lookup=True, **kwargs):
    with app.app_context():
        if db.session.scalars(sa.select(Partnership).filter_by(slug="mid-csp")).first() is None:
            db.session.add(Partnership(slug="mid-csp", name="Mid"))
            db.session.flush()
        survey = typed_survey(**kwargs)
        survey.status = "open"
        survey.retention_until = date.today() + timedelta(days=365)
        if lookup:
            import_lookup(survey.partnership, LOOKUP)
        ids = {q.key: q.id for q in survey.questions}
        ids["survey"] = survey.id
        ids["slug"] = survey.slug
        ids["section"] = survey.sections[0].id
        db.session.commit()
        return ids


def test_postcode_lookup_page_refuses_a_bad_file_by_line_and_viewers_cannot_upload(
    app, client, accounts
):
    _officer_of_mid(app, accounts, client, "viewer")
    page = client.get("/manage/surveys/postcode-lookup")
    assert page.status_code == 200 and "No postcode lookup yet" in page.get_data(as_text=True)
    refused = client.post_form(
        "/manage/surveys/postcode-lookup",
        {"file": (io.BytesIO(b"postcode,ward_code\nLE1 5WW,E05010458\n"), "x.csv")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 403
    client.post_form("/sign-out", {})
    _officer_of_mid(app, accounts, client, "officer")
    bad = client.post_form(
        "/manage/surveys/postcode-lookup",
        {
            "file": (
                io.BytesIO(b"postcode,ward_code\nLE1 5WW,E05010458\nLE15WW,E05010459\nXX,E1\n"),
                "lookup.csv",
            )
        },
        content_type="multipart/form-data",
    )
    body = bad.get_data(as_text=True)
    assert bad.status_code == 400
    assert "line 3: LE1 5WW appears twice (first on line 2)" in body
    assert "line 4: &#39;XX&#39; is not a UK postcode" in body
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(PostcodeWard.id))) == 0
    good = client.post_form(
        "/manage/surveys/postcode-lookup",
        {"file": (io.BytesIO(LOOKUP.encode("utf-8-sig")), "lookup.csv"), "note": "ONSPD May"},
        content_type="multipart/form-data",
    )
    assert good.status_code == 302
    page = client.get("/manage/surveys/postcode-lookup").get_data(as_text=True)
    assert "Version 1" in page and "ONSPD May" in page
    template = client.get("/manage/surveys/postcode-lookup/template.csv")
    assert template.status_code == 200 and b"postcode,ward_code" in template.data


def test_builder_adds_the_three_types_with_their_settings(app, client, accounts):
    ids = _typed(app, lookup=False)
    _officer_of_mid(app, accounts, client)
    new = f"/manage/surveys/{ids['survey']}/questions/new"
    page = client.get(new).get_data(as_text=True)
    assert "Decimal number (like 1.5)" in page and "Postcode (placed in a ward)" in page
    made = client.post_form(
        new,
        {
            "key": "visits",
            "type": "decimal",
            "prompt": "Visits a week?",
            "places": "1",
            "max": "20",
            "section": ids["section"],
        },
    )
    assert made.status_code == 302
    bad = client.post_form(
        new,
        {
            "key": "when_x",
            "type": "date",
            "prompt": "When?",
            "max": "31/02/2024",
            "section": ids["section"],
        },
    )
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.get_data(as_text=True)
    with app.app_context():
        visits = db.session.scalars(sa.select(Question).filter_by(key="visits")).one()
        assert visits.type == "decimal" and visits.settings["places"] == 1
        assert visits.settings["max"] == 20.0
        postcode_id = ids["home_postcode"]
    page = client.get(f"/manage/surveys/{ids['survey']}/questions/{postcode_id}").get_data(
        as_text=True
    )
    assert "the full postcode is never kept" in page and "Demographic role" in page


def test_resident_answers_decimal_date_and_postcode(app, client):
    ids = _typed(app)
    slug = ids["slug"]
    start = client.get(f"/s/{slug}?lang=en").get_data(as_text=True)
    assert "We keep the area, never your postcode." in start
    client.post_form(f"/s/{slug}", {})
    hours = f"/s/{slug}/q/hours"
    wrong = client.post_form(hours, {"hours": "1,5", "action": "continue"})
    assert wrong.status_code == 400
    assert "Use a full stop for the decimal point, like 1.5" in wrong.get_data(as_text=True)
    assert client.post_form(hours, {"hours": "1.5", "action": "continue"}).status_code == 302
    when = f"/s/{slug}/q/incident_date"
    page = client.get(when).get_data(as_text=True)
    assert 'id="incident_date-day"' in page and "For example, 27 3 2007" in page
    future = date.today() + timedelta(days=3)
    wrong = client.post_form(
        when,
        {
            "incident_date-day": str(future.day),
            "incident_date-month": str(future.month),
            "incident_date-year": str(future.year),
            "action": "continue",
        },
    )
    assert wrong.status_code == 400
    body = wrong.get_data(as_text=True)
    assert "The date must be today or in the past" in body
    assert 'href="#incident_date-day"' in body
    ok = client.post_form(
        when,
        {
            "incident_date-day": "1",
            "incident_date-month": "6",
            "incident_date-year": "2024",
            "action": "continue",
        },
    )
    assert ok.status_code == 302
    postcode = f"/s/{slug}/q/home_postcode"
    page = client.get(postcode)
    assert page.status_code == 200, page.headers.get("Location")
    body = page.get_data(as_text=True)
    assert "I do not know my postcode" in body and "Castle" in body
    unknown = client.post_form(postcode, {"home_postcode": "M1 1AE", "action": "continue"})
    assert unknown.status_code == 400
    assert "We could not find M1 1AE in our area" in unknown.get_data(as_text=True)
    # "I do not know my postcode": the ward from the list.
    assert (
        client.post_form(
            postcode, {"home_postcode": "", "home_postcode-ward": "e05010459", "action": "continue"}
        ).status_code
        == 302
    )
    check = client.get(f"/s/{slug}/check").get_data(as_text=True)
    assert "Abbey" in check and "1 June 2024" in check and "1.5" in check
    with app.app_context():
        rows = db.session.execute(
            sa.select(Question.key, Answer.option_code, Answer.text, Answer.number)
            .join(Question, Answer.question_id == Question.id)
            .join(Response, Answer.response_id == Response.id)
            .where(Question.survey_id == ids["survey"])
        ).all()
        assert sorted(tuple(r) for r in rows) == [
            ("home_postcode", "e05010459", None, None),
            ("hours", "", None, 1.5),
            ("incident_date", "", "2024-06-01", None),
        ]


def test_privacy_notice_names_postcodes(client):
    page = client.get("/privacy").get_data(as_text=True)
    assert "We never keep your full postcode" in page


__all__ = ["Membership", "User"]


def test_results_pages_and_exports_with_the_new_types(app, client, accounts):
    ids = _typed(app)
    with app.app_context():
        from test_typed_questions import _date, _respond

        from consult.models import Survey

        survey = db.session.get(Survey, ids["survey"])
        for n in range(3):
            _respond(
                survey,
                f"W-{n}",
                {
                    "hours": {"hours": f"{n}.5"},
                    "incident_date": _date(f"202{n}-01-31"),
                    "home_postcode": {"home_postcode": "LE1 5WW" if n else "LE2 1AA"},
                },
            )
        db.session.commit()
    _officer_of_mid(app, accounts, client)
    base = f"/manage/surveys/{ids['survey']}"
    for path in (
        "/results",
        "/results/breakdown",
        "/results/weighting",
        "/fieldwork",
        "/preview",
        "/translations",
        "/xlsform",
    ):
        page = client.get(base + path)
        assert page.status_code == 200, path
    for fmt in ("csv", "xlsx", "sav", "json"):
        download = client.get(f"{base}/export/download?format={fmt}")
        assert download.status_code == 200, (fmt, download.get_data(as_text=True)[:300])
        assert len(download.data) > 100
    csv_text = client.get(f"{base}/export/download?format=csv").data.decode("utf-8-sig")
    assert "2.5,2022-01-31,e05010458" in csv_text
    report = client.get(f"{base}/report")
    assert report.status_code == 200


def test_cli_imports_a_postcode_lookup_all_or_nothing(app, accounts, tmp_path):
    accounts.partnership("mid-csp", "Mid")
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"postcode;ward_code\nLE1 5WW;E05010458\nLE1 5WW;E05010459\n\n")
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["consult", "import-postcode-lookup", str(bad), "--partnership", "mid-csp"]
    )
    assert result.exit_code == 1
    assert "line 3: LE1 5WW appears twice (first on line 2)" in result.output
    assert "Nothing was imported" in result.output
    good = tmp_path / "good.csv"
    good.write_text(LOOKUP)
    result = runner.invoke(
        args=["consult", "import-postcode-lookup", str(good), "--partnership", "mid-csp"]
    )
    assert result.exit_code == 0, result.output
    assert "Imported postcode lookup version 1 for mid-csp" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(PostcodeWard.id))) == 3


def test_builder_sets_a_condition_comparing_a_date_or_a_decimal(app, client, accounts):
    ids = _typed(app, lookup=False)
    with app.app_context():
        from consult.models import Survey

        survey = db.session.get(Survey, ids["survey"])
        survey.status = "draft"
        for question in survey.questions:
            question.show_if = None
        db.session.commit()
    _officer_of_mid(app, accounts, client)
    base = f"/manage/surveys/{ids['survey']}/questions"
    page = client.get(f"{base}/{ids['followup']}?source=incident_date").get_data(as_text=True)
    assert 'name="compare"' in page and "as YYYY-MM-DD" in page
    condition = f"{base}/{ids['followup']}/condition"
    bad = client.post_form(
        condition,
        {"source": "incident_date", "compare": "gte", "value": "31/02/2024"},
        token_from=f"{base}/{ids['followup']}",
    )
    assert bad.status_code == 400 and "Enter the date as YYYY-MM-DD" in bad.get_data(as_text=True)
    ok = client.post_form(
        condition,
        {"source": "incident_date", "compare": "gte", "value": "2024-01-01"},
        token_from=f"{base}/{ids['followup']}",
    )
    assert ok.status_code == 302
    decimal = client.post_form(
        f"{base}/{ids['long_hours']}/condition",
        {"source": "hours", "compare": "gt", "value": "7.5"},
        token_from=f"{base}/{ids['long_hours']}",
    )
    assert decimal.status_code == 302
    # A text question cannot be compared.
    text = client.post_form(
        f"{base}/{ids['long_hours']}/condition",
        {"source": "followup", "compare": "gt", "value": "3"},
        token_from=f"{base}/{ids['long_hours']}",
    )
    assert text.status_code == 400
    assert "not a number or date question" in text.get_data(as_text=True)
    page = client.get(f"{base}/{ids['followup']}").get_data(as_text=True)
    assert "incident_date ≥ 2024-01-01" in page
    with app.app_context():
        from consult.models import Question as Q

        shown = {q.key: q.show_if for q in db.session.scalars(sa.select(Q)).all()}
        assert shown["followup"] == {"question": "incident_date", "gte": "2024-01-01"}
        assert shown["long_hours"] == {"question": "hours", "gt": 7.5}
