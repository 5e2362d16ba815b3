"""The builder's structure forms refuse bad input the same way everywhere:
a 400, the message on the field it is about (and in the error summary,
linking to that field), what was typed kept, and nothing stored. Pages with
several forms keep their ids apart and show the other forms as stored."""

from __future__ import annotations

import re

import sqlalchemy as sa
from test_build_web import build, create, ids

from consult.extensions import db
from consult.models import AuditEvent, Option, Question, Section, Survey


def refused(response, field_id: str, message: str) -> str:
    """The page of a refusal: 400, the summary links to the field, and the
    field carries the message."""
    html = response.get_data(as_text=True)
    assert response.status_code == 400, html[:2000]
    summary = html[html.index("govuk-error-summary__list") :]
    summary = summary[: summary.index("</ul>")]
    link = re.search(rf'<a href="#{re.escape(field_id)}">([^<]*)</a>', summary)
    assert link, summary
    assert message in link.group(1).replace("&#39;", "'")
    error = re.search(rf'id="{re.escape(field_id)}-error"[^>]*>(.*?)</p>', html, re.S)
    assert error and message in error.group(1).replace("&#39;", "'"), field_id
    assert f'id="{field_id}"' in html
    return html


def count(model, **where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).filter_by(**where))


def test_a_survey_without_a_title_is_refused_and_nothing_is_stored(app, client, signed_in):
    signed_in("officer")
    response = client.post_form(
        "/manage/surveys/new",
        {"title": "  ", "slug": "no-title", "audience": "stakeholders", "languages": ["pl"]},
    )
    html = refused(response, "title", "Enter the survey's title")
    # What was typed and ticked is kept.
    assert 'value="no-title"' in html
    assert re.search(r'value="stakeholders" checked', html)
    assert re.search(r'value="pl" checked', html)
    with app.app_context():
        assert count(Survey) == 0
        assert count(AuditEvent, action="survey_created") == 0


def test_a_bad_web_address_is_shown_on_its_field(app, client, signed_in):
    signed_in("officer")
    response = client.post_form(
        "/manage/surveys/new", {"title": "Safe", "slug": "Not A Slug", "audience": "residents"}
    )
    refused(response, "slug", "lowercase letters, numbers and hyphens")


def test_creating_a_survey_is_audited_by_the_service(app, client, signed_in):
    signed_in("officer")
    survey_id = create(client)
    with app.app_context():
        event = db.session.scalars(sa.select(AuditEvent).filter_by(action="survey_created")).one()
        assert event.target.startswith(f"survey:{survey_id}:")
        assert event.user_id is not None


def test_start_survey_records_who_created_it(app_context):
    from consult.models import Partnership
    from consult.services import builder

    partnership = Partnership(slug="north-csp", name="North")
    db.session.add(partnership)
    db.session.flush()
    survey = builder.start_survey(
        partnership, slug="fresh", title=" Fresh ", audience="residents", languages=["en"]
    )
    event = db.session.scalars(sa.select(AuditEvent).filter_by(action="survey_created")).one()
    assert event.target == f"survey:{survey.id}:fresh"
    assert event.partnership_id == partnership.id


def test_a_section_with_a_bad_key_is_refused_on_the_overview(app, client, signed_in):
    signed_in("officer")
    survey_id, _ = build(client, app)
    base = f"/manage/surveys/{survey_id}"
    response = client.post_form(
        f"{base}/sections", {"title": "Safety", "key": "Bad Key"}, token_from=base
    )
    html = refused(response, "section-key", "lowercase letters")
    assert 'id="section-title" name="title" type="text" value="Safety"' in html
    # The rest of the overview is still there.
    assert "How old are you?" in html
    response = client.post_form(f"{base}/sections", {"title": "", "key": "safety"}, token_from=base)
    refused(response, "section-title", "Enter the section's title")
    with app.app_context():
        assert count(Section, survey_id=survey_id) == 1


def test_renaming_a_section_to_nothing_is_refused(app, client, signed_in):
    signed_in("officer")
    survey_id, _ = build(client, app)
    _, sections = ids(app, survey_id)
    path = f"/manage/surveys/{survey_id}/sections/{sections['about_you']}"
    assert 'value="About you"' in client.get(path).get_data(as_text=True)
    refused(client.post_form(path, {"title": " "}), "title", "Enter the section's title")
    assert "About you" in client.get(f"/manage/surveys/{survey_id}").get_data(as_text=True)


def test_a_refused_answer_keeps_the_question_form_as_stored(app, client, signed_in):
    signed_in("officer")
    survey_id, questions = build(client, app)
    path = f"/manage/surveys/{survey_id}/questions/{questions['age_band']}"
    response = client.post_form(
        f"{path}/options", {"code": "aged_16_24", "label": "Again"}, token_from=path
    )
    html = refused(response, "option-code", "already has an answer with the code aged_16_24")
    assert 'id="option-label" name="label" type="text" value="Again"' in html
    # The question's own form shows the question, not the answer's input.
    assert ">How old are you?</textarea>" in html
    assert 'id="key" name="key" type="text" value="age_band"' in html
    with app.app_context():
        assert count(Option, question_id=questions["age_band"]) == 2


def test_a_question_without_wording_is_refused(app, client, signed_in):
    signed_in("officer")
    survey_id, questions = build(client, app)
    base = f"/manage/surveys/{survey_id}"
    _, sections = ids(app, survey_id)
    response = client.post_form(
        f"{base}/questions/new",
        {"section": sections["about_you"], "key": "extra", "type": "text", "prompt": ""},
    )
    html = refused(response, "prompt", "Enter the question")
    assert 'value="extra"' in html and re.search(r'value="text" checked', html)
    response = client.post_form(
        f"{base}/questions/new",
        {"section": sections["about_you"], "key": "extra", "prompt": "Anything else?"},
    )
    refused(response, "type", "Choose the type of question")
    path = f"{base}/questions/{questions['other']}"
    response = client.post_form(path, {"prompt": "", "key": "other"})
    refused(response, "prompt", "Enter the question")
    response = client.post_form(path, {"prompt": "What else?", "key": "other", "max_length": "x"})
    refused(response, "max_length", "must be a whole number")
    with app.app_context():
        assert count(Question, survey_id=survey_id) == 3
        assert (db.session.get(Question, questions["other"]).settings or {}).get(
            "max_length"
        ) is None


def test_a_condition_on_a_later_question_is_refused_on_the_chooser(app, client, signed_in):
    signed_in("officer")
    survey_id, questions = build(client, app)
    path = f"/manage/surveys/{survey_id}/questions/{questions['priorities']}"
    response = client.post_form(
        f"{path}/condition", {"source": "other", "codes_other": ["x"]}, token_from=path
    )
    refused(response, "condition-source", "comes after it")
    response = client.post_form(
        f"{path}/condition", {"source": "age_band"}, token_from=f"{path}?source=age_band"
    )
    html = refused(response, "condition-codes", "at least one answer")
    assert 'name="codes_age_band"' in html
    with app.app_context():
        assert db.session.get(Question, questions["priorities"]).show_if is None


def test_a_bad_date_in_the_settings_is_refused_and_nothing_saved(app, client, signed_in):
    signed_in("officer")
    survey_id = create(client)
    path = f"/manage/surveys/{survey_id}/settings"
    response = client.post_form(
        path,
        {"title": "Renamed", "audience": "residents", "retention_until": "2026-02-30"},
    )
    html = refused(response, "retention_until", "The retention date must be a real date")
    assert 'value="Renamed"' in html
    response = client.post_form(
        path,
        {
            "title": "Renamed",
            "audience": "residents",
            "opens_on": "2026-09-01",
            "closes_on": "2026-08-01",
        },
    )
    refused(response, "closes_on", "on or after the opening date")
    with app.app_context():
        survey = db.session.get(Survey, survey_id)
        assert survey.retention_until is None and survey.opens_at is None
    assert "Renamed" not in client.get(f"/manage/surveys/{survey_id}").get_data(as_text=True)


def test_a_new_wave_needs_a_free_web_address(app, client, signed_in):
    signed_in("officer")
    survey_id = create(client, slug="safe-2026")
    response = client.post_form(f"/manage/surveys/{survey_id}/new-wave", {"slug": "safe-2026"})
    refused(response, "slug", "already used by another survey")
    with app.app_context():
        assert count(Survey) == 1


def test_an_answer_without_wording_is_refused_on_its_page(app, client, signed_in):
    signed_in("officer")
    survey_id, questions = build(client, app)
    with app.app_context():
        option_id = db.session.scalars(
            sa.select(Option.id).filter_by(question_id=questions["age_band"], code="aged_16_24")
        ).one()
    path = f"/manage/surveys/{survey_id}/questions/{questions['age_band']}/options/{option_id}"
    assert 'value="16 to 24"' in client.get(path).get_data(as_text=True)
    refused(client.post_form(path, {"label": "", "code": "aged_16_24"}), "label", "wording")


def test_an_unknown_demographic_variable_is_refused(app, client, signed_in):
    signed_in("officer")
    survey_id, questions = build(client, app)
    path = f"/manage/surveys/{survey_id}/questions/{questions['age_band']}"
    response = client.post_form(f"{path}/demographic", {"variable": "shoe_size"}, token_from=path)
    refused(response, "demographic-variable", "Unknown demographic variable")
    page = client.get(f"{path}?variable=age_band").get_data(as_text=True)
    assert 'id="demographic-map_aged_16_24" name="map_aged_16_24"' in page
    with app.app_context():
        assert db.session.get(Question, questions["age_band"]).demographic is None
