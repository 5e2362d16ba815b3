"""The builder's editing rules and the survey lifecycle, without HTTP."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from consult.extensions import db
from consult.models import (
    AuditEvent,
    Partnership,
    Question,
    Response,
    Survey,
    SurveyStatus,
    TextEntry,
)
from consult.services import ServiceError, builder
from consult.services.surveys import add_question, add_section, create_survey


def make_survey(languages=("en",)) -> Survey:
    partnership = db.session.scalars(sa.select(Partnership).filter_by(slug="north-csp")).first()
    if partnership is None:
        partnership = Partnership(slug="north-csp", name="North")
        db.session.add(partnership)
        db.session.flush()
    survey = create_survey(
        partnership, slug="safe", title={"en": "Safe?"}, languages=list(languages)
    )
    section = add_section(survey, "main", {"en": "Main"})
    add_question(
        survey,
        section,
        key="age_band",
        type="single",
        prompt={"en": "Your age?"},
        options=[
            {"code": "aged_16_24", "label": {"en": "16 to 24"}},
            {"code": "aged_25_plus", "label": {"en": "25 or over"}},
            {
                "code": "prefer_not_to_say",
                "label": {"en": "Prefer not to say"},
                "is_missing": True,
                "exclusive": True,
            },
        ],
    )
    add_question(
        survey,
        section,
        key="priorities",
        type="multiple",
        prompt={"en": "Priorities?"},
        options=[
            {"code": "burglary", "label": {"en": "Burglary"}},
            {"code": "something_else", "label": {"en": "Something else"}},
        ],
    )
    add_question(survey, section, key="other", type="text", prompt={"en": "What else?"})
    survey.retention_until = date.today() + timedelta(days=365)
    db.session.flush()
    db.session.refresh(survey)
    return survey


def q(survey: Survey, key: str) -> Question:
    return next(x for x in survey.questions if x.key == key)


def add_response(survey: Survey) -> None:
    db.session.add(Response(survey_id=survey.id, reference="R-1", language="en"))
    db.session.flush()


def test_condition_on_an_earlier_question_is_accepted(app_context):
    survey = make_survey()
    builder.set_condition(q(survey, "other"), "priorities", ["something_else"])
    assert q(survey, "other").show_if == {"question": "priorities", "in": ["something_else"]}
    assert builder.condition_problems(survey) == []


@pytest.mark.parametrize(
    "source, codes, message",
    [
        ("other", ["x"], "comes after it"),
        ("priorities", ["burglary"], "its own answer"),
        ("nothing", ["x"], "no question 'nothing'"),
        ("age_band", ["over_90"], "no answer with the code(s) over_90"),
        ("age_band", [], "at least one answer"),
    ],
)
def test_invalid_conditions_are_refused_with_a_reason(app_context, source, codes, message):
    survey = make_survey()
    with pytest.raises(ServiceError, match=message.replace("(", r"\(").replace(")", r"\)")):
        builder.set_condition(q(survey, "priorities"), source, codes)
    assert q(survey, "priorities").show_if is None


def test_condition_on_a_text_question_is_refused(app_context):
    survey = make_survey()
    add_question(
        survey,
        survey.sections[0],
        key="later",
        type="single",
        prompt={"en": "Later"},
        options=[{"code": "a", "label": {"en": "A"}}],
    )
    with pytest.raises(ServiceError, match="answered by choosing options"):
        builder.set_condition(q(survey, "later"), "other", ["x"])


def test_a_move_that_would_break_a_condition_is_refused(app_context):
    survey = make_survey()
    builder.set_condition(q(survey, "other"), "priorities", ["something_else"])
    with pytest.raises(ServiceError, match="before the question its condition depends on"):
        builder.move_question(q(survey, "other"), "up")
    order = [x.key for x in builder.ordered_questions(survey.questions)]
    assert order == ["age_band", "priorities", "other"]
    builder.move_question(q(survey, "age_band"), "down")
    assert [x.key for x in builder.ordered_questions(survey.questions)] == [
        "priorities",
        "age_band",
        "other",
    ]


def test_a_loop_is_named(app_context):
    survey = make_survey()
    builder.set_condition(q(survey, "priorities"), "age_band", ["aged_16_24"])
    with pytest.raises(ServiceError, match="loop"):
        builder.set_condition(q(survey, "age_band"), "priorities", ["burglary"])


def test_reserved_and_bad_keys_are_refused(app_context):
    survey = make_survey()
    for key, message in (
        ("resp_language", "reserved"),
        ("Bad Key", "lowercase"),
        ("age_band", "already has"),
    ):
        with pytest.raises(ServiceError, match=message):
            builder.create_question(survey, survey.sections[0], key=key, type="text", prompt="Hi")
    with pytest.raises(ServiceError, match="lowercase"):
        builder.add_option(q(survey, "age_band"), code="Over 90", label="Over 90")
    with pytest.raises(ServiceError, match="already has an answer"):
        builder.add_option(q(survey, "age_band"), code="aged_16_24", label="Again")


def test_every_type_can_be_added_with_settings(app_context):
    survey = make_survey()
    section = survey.sections[0]
    for type_ in ("single", "multiple", "scale", "grid", "ranking", "text", "number", "area"):
        builder.create_question(
            survey,
            section,
            key=f"q_{type_}",
            type=type_,
            prompt=f"A {type_}?",
            settings={"top_n": "3", "max_length": "500", "min": "0", "max": "120"},
        )
    assert q(survey, "q_ranking").settings == {"top_n": 3}
    assert q(survey, "q_number").settings == {"min": 0.0, "max": 120.0}
    assert q(survey, "q_text").settings == {"max_length": 500}
    builder.add_option(q(survey, "q_grid"), code="noise", label="Noise", kind="item")
    assert [i.code for i in q(survey, "q_grid").items] == ["noise"]
    with pytest.raises(ServiceError, match="smallest number must not be more"):
        builder.update_question(
            q(survey, "q_number"), prompt="N", settings={"min": "10", "max": "1"}
        )
    with pytest.raises(ServiceError, match="no options"):
        builder.add_option(q(survey, "q_text"), code="a", label="A")


def test_live_survey_keeps_its_keys_and_codes_but_wording_can_change(app_context):
    survey = make_survey()
    add_response(survey)
    age = q(survey, "age_band")
    with pytest.raises(ServiceError, match="already has responses"):
        builder.update_question(age, prompt="Age?", key="age")
    with pytest.raises(ServiceError, match="already has responses"):
        builder.delete_question(q(survey, "other"))
    option = age.choices[0]
    with pytest.raises(ServiceError, match="already has responses"):
        builder.update_option(option, label="16-24", code="young")
    with pytest.raises(ServiceError, match="already has responses"):
        builder.delete_option(option)
    assert [o.code for o in age.choices] == ["aged_16_24", "aged_25_plus", "prefer_not_to_say"]
    builder.update_question(age, prompt="How old are you?")
    builder.update_option(option, label="Aged 16 to 24")
    db.session.flush()
    texts = {
        t.key: t.value
        for t in db.session.scalars(sa.select(TextEntry).filter_by(survey_id=survey.id))
    }
    assert texts["q.age_band.prompt"] == "How old are you?"
    assert texts["o.age_band.aged_16_24"] == "Aged 16 to 24"
    events = db.session.scalars(sa.select(AuditEvent).filter_by(action="wording_changed")).all()
    assert {e.details["new"] for e in events} == {"How old are you?", "Aged 16 to 24"}


def test_draft_key_rename_moves_the_texts(app_context):
    survey = make_survey()
    builder.update_question(q(survey, "age_band"), prompt="Age?", key="age_group")
    db.session.flush()
    keys = {t.key for t in db.session.scalars(sa.select(TextEntry).filter_by(survey_id=survey.id))}
    assert "q.age_group.prompt" in keys and "o.age_group.aged_16_24" in keys
    assert not any(k.startswith(("q.age_band", "o.age_band")) for k in keys)


def test_removing_a_question_another_depends_on_is_refused(app_context):
    survey = make_survey()
    builder.set_condition(q(survey, "other"), "priorities", ["something_else"])
    with pytest.raises(ServiceError, match="remove that condition first"):
        builder.delete_question(q(survey, "priorities"))
    with pytest.raises(ServiceError, match="change that condition first"):
        builder.delete_option(q(survey, "priorities").choices[1])
    builder.delete_question(q(survey, "age_band"))
    assert [x.key for x in survey.questions] == ["priorities", "other"]


def test_lifecycle_and_opening_checks(app_context):
    survey = make_survey(languages=("en", "ur"))
    with pytest.raises(ServiceError) as refused:
        builder.change_status(survey, "open")
    assert (
        "missing in Urdu" in refused.value.message and "q.age_band.prompt" in refused.value.message
    )
    assert survey.status == SurveyStatus.DRAFT
    survey.languages = ["en"]
    builder.change_status(survey, "open")
    assert survey.status == SurveyStatus.OPEN and survey.opens_at is not None
    with pytest.raises(ServiceError, match="cannot be published"):
        builder.change_status(survey, "publish")
    builder.change_status(survey, "close")
    builder.change_status(survey, "publish")
    assert survey.status == SurveyStatus.PUBLISHED
    actions = [e.action for e in db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id))]
    assert actions[-3:] == ["survey_opened", "survey_closed", "survey_published"]


def test_opening_needs_a_retention_date(app_context):
    survey = make_survey()
    survey.retention_until = None
    with pytest.raises(ServiceError, match="retention date"):
        builder.change_status(survey, "open")


def test_delete_only_an_unanswered_draft(app_context):
    survey = make_survey()
    add_response(survey)
    with pytest.raises(ServiceError, match="already has responses"):
        builder.delete_survey(survey)
    db.session.execute(sa.delete(Response))
    builder.delete_survey(survey)
    assert db.session.scalar(sa.select(sa.func.count(Survey.id))) == 0


def test_new_wave_keeps_keys_codes_and_texts(app_context):
    survey = make_survey(languages=("en", "ur"))
    builder.set_condition(q(survey, "other"), "priorities", ["something_else"])
    add_response(survey)
    wave2 = builder.repeat_as_new_wave(survey, "safe-2027")
    wave3 = builder.repeat_as_new_wave(wave2, "safe-2028")
    assert (wave2.wave, wave2.baseline_id, wave3.wave, wave3.baseline_id) == (
        2,
        survey.id,
        3,
        survey.id,
    )
    assert wave2.status == SurveyStatus.DRAFT
    assert [x.key for x in builder.ordered_questions(wave2.questions)] == [
        "age_band",
        "priorities",
        "other",
    ]
    assert [o.code for o in q(wave2, "age_band").choices] == [
        "aged_16_24",
        "aged_25_plus",
        "prefer_not_to_say",
    ]
    assert q(wave2, "other").show_if == {"question": "priorities", "in": ["something_else"]}
    assert len(wave2.texts) == len(survey.texts)
    with pytest.raises(ServiceError, match="already used"):
        builder.repeat_as_new_wave(survey, "safe-2027")
    assert not builder.is_locked(wave2)
