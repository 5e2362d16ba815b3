"""The demo's biased responses: realistic, on every respondent's path, and
skewed the way inspections found (older white men over-represented)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from conftest import PASSWORD

from consult.extensions import db
from consult.models import Answer, Question, QuestionType, Response, ResponseStatus, Survey
from consult.services.answers import load_answers
from consult.services.demo_responses import seed_demo_responses
from consult.services.path import compute_path, is_special
from consult.services.results import load_frames
from consult.services.seed import seed_demo


def _demo_survey() -> Survey:
    return db.session.scalars(sa.select(Survey).filter_by(slug="feeling-safe")).one()


def test_seeding_the_demo_adds_biased_responses_once(app_context):
    report = seed_demo(PASSWORD)
    survey = _demo_survey()
    count = db.session.scalar(sa.select(sa.func.count(Response.id)).filter_by(survey_id=survey.id))
    assert count == 3000
    assert any("3000 demo responses" in line for line in report.created)

    again = seed_demo(PASSWORD)
    assert again.created == []
    assert db.session.scalar(sa.select(sa.func.count(Response.id))) == 3000

    responses = db.session.scalars(sa.select(Response).filter_by(survey_id=survey.id)).all()
    assert {r.status for r in responses} == {ResponseStatus.SUBMITTED}
    assert len({r.reference for r in responses}) == 3000
    now = datetime.now(UTC)
    submitted = [
        r.submitted_at if r.submitted_at.tzinfo else r.submitted_at.replace(tzinfo=UTC)
        for r in responses
    ]
    assert min(submitted) > now - timedelta(days=31) and max(submitted) <= now
    assert max(submitted) - min(submitted) > timedelta(days=20)

    languages = {r.language for r in responses}
    assert "en" in languages and len(languages & {"ur", "gu", "pa", "pl", "so", "bn", "ar"}) >= 5
    english = sum(r.language == "en" for r in responses) / len(responses)
    assert 0.7 < english < 0.97
    channels = {r.channel for r in responses}
    assert {"online", "paper", "assisted"} <= channels
    consent = [r.special_consent for r in responses]
    assert consent.count(False) > 100 and consent.count(True) > 2000

    frame, demographics = load_frames(survey)
    age = demographics["age_band"].value_counts(normalize=True)
    assert age["16-24"] < 0.10 and age["65-74"] > 0.15  # population: 20% and 9%
    sex = demographics["sex"].value_counts(normalize=True)
    assert sex["Male"] > 0.6
    ethnic = demographics["ethnic_group"].value_counts(normalize=True)
    assert ethnic["White"] > 0.55 and ethnic["Asian, Asian British or Asian Welsh"] < 0.3
    assert (frame["age_band"] == "prefer_not_to_say").sum() > 0
    wards = demographics["area"].value_counts()
    assert wards.min() < 30 < wards.max()  # some wards barely heard


def test_every_answer_is_on_the_respondents_path(app_context):
    seed_demo(PASSWORD, responses=False)
    survey = _demo_survey()
    assert seed_demo_responses(survey, n=400, seed=7) == 400
    db.session.commit()
    questions = list(survey.questions)
    special = {q.key for q in questions if is_special(q)}
    under_16 = 0
    for response in db.session.scalars(sa.select(Response).filter_by(survey_id=survey.id)):
        answers = load_answers(response, questions)
        answered = {k for k, a in answers.items() if not a.is_empty}
        path = compute_path(questions, answers, response.special_consent)
        assert answered <= set(path.question_keys), response.reference
        for q in questions:
            if q.required and q.key in path.question_keys:
                assert q.key in answered, (response.reference, q.key)
        if path.under_16:
            under_16 += 1
            assert not answered & special and response.special_consent is None
        if response.special_consent is False:
            assert not answered & special
        if "priorities_other" in answered:
            assert "something_else" in answers["priorities"].codes
        if "priorities" in answered:
            assert 1 <= len(answers["priorities"].codes) <= 3
    assert under_16 >= 1


def test_answers_keep_the_storage_contract(app_context):
    seed_demo(PASSWORD, responses=False)
    survey = _demo_survey()
    seed_demo_responses(survey, n=200, seed=11)
    db.session.commit()
    by_id = {
        q.id: q for q in db.session.scalars(sa.select(Question).filter_by(survey_id=survey.id))
    }
    for answer in db.session.scalars(sa.select(Answer)):
        q = by_id[answer.question_id]
        codes = {o.code for o in q.choices}
        if q.type == QuestionType.GRID:
            assert answer.item_code in {i.code for i in q.items} and answer.option_code in codes
        elif q.type == QuestionType.RANKING:
            assert answer.option_code in codes and answer.rank >= 1
        elif q.type == QuestionType.TEXT:
            assert answer.text and answer.option_code == "" and answer.item_code == ""
        elif q.type == QuestionType.NUMBER:
            assert answer.number is not None and answer.option_code == ""
        else:
            assert answer.option_code in codes and answer.item_code == ""


def test_a_survey_that_already_has_responses_is_left_alone(app_context):
    seed_demo(PASSWORD, responses=False)
    survey = _demo_survey()
    assert seed_demo_responses(survey, n=50) == 50
    assert seed_demo_responses(survey, n=50) == 0
    assert db.session.scalar(sa.select(sa.func.count(Response.id))) == 50
