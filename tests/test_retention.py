"""Retention and erasure: raw responses and free text go once a survey's
retention date has passed, the totals stay; one response can be erased on a
resident's request by its reference; both are audited without answers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from consult.extensions import db
from consult.models import (
    Answer,
    AuditEvent,
    BenchmarkSet,
    Invitation,
    Partnership,
    PopulationBenchmark,
    Question,
    Response,
    ResponseStatus,
    RetainedAggregate,
    Survey,
    SurveySnapshot,
    SurveyStatus,
)
from consult.services import ServiceError
from consult.services.retention import apply_retention, erase_response, retained_results
from consult.services.surveys import add_question, add_section, create_survey

SECRET_TEXT = "my neighbour at number 12 deals drugs"
TODAY = date(2030, 6, 1)


def _label(code: str) -> dict[str, str]:
    return {"en": code.replace("_", " ").capitalize()}


def build_survey(partnership: Partnership, slug: str, *, retention_until: date | None) -> Survey:
    survey = create_survey(partnership, slug=slug, title={"en": f"Survey {slug}"})
    section = add_section(survey, "main", {"en": "Main"})
    add_question(
        survey,
        section,
        key="sex",
        type="single",
        prompt={"en": "Sex"},
        demographic="sex",
        options=[
            {"code": "female", "label": _label("female"), "benchmark_category": "Female"},
            {"code": "male", "label": _label("male"), "benchmark_category": "Male"},
            {"code": "prefer_not", "label": _label("prefer_not"), "is_missing": True},
        ],
    )
    add_question(
        survey,
        section,
        key="safe",
        type="scale",
        prompt={"en": "Safe?"},
        options=[{"code": c, "label": _label(c)} for c in ("safe", "unsafe", "dont_know")],
    )
    add_question(
        survey,
        section,
        key="problems",
        type="multiple",
        prompt={"en": "Problems"},
        options=[{"code": c, "label": _label(c)} for c in ("litter", "noise", "drugs")],
    )
    add_question(
        survey,
        section,
        key="agree",
        type="grid",
        prompt={"en": "Agree?"},
        options=[{"code": c, "label": _label(c)} for c in ("agree", "disagree")],
        items=[{"code": c, "label": _label(c)} for c in ("police", "council")],
    )
    add_question(
        survey,
        section,
        key="priorities",
        type="ranking",
        prompt={"en": "Priorities"},
        options=[{"code": c, "label": _label(c)} for c in ("burglary", "asb", "speeding")],
        settings={"top_n": 2},
    )
    add_question(survey, section, key="years", type="number", prompt={"en": "Years here"})
    add_question(survey, section, key="comments", type="text", prompt={"en": "Comments"})
    survey.retention_until = retention_until
    survey.status = SurveyStatus.CLOSED
    db.session.flush()
    return survey


# (sex, safe, problems, agree police/council, priorities in rank order, years, comment)
ROWS = [
    ("female", "safe", ["litter"], ("agree", "agree"), ["burglary", "asb"], 3, SECRET_TEXT),
    ("female", "unsafe", ["litter", "drugs"], ("disagree", "agree"), ["asb", "burglary"], 10, ""),
    ("female", "safe", [], ("agree", "disagree"), ["burglary", "speeding"], None, "fine"),
    ("male", "unsafe", ["noise"], ("disagree", "disagree"), ["speeding", "asb"], 20, ""),
]


def add_responses(survey: Survey, rows=ROWS, prefix: str = "RT") -> list[str]:
    questions = {q.key: q for q in survey.questions}
    references = []
    for n, (sex, safe, problems, agree, ranking, years, comment) in enumerate(rows, start=1):
        response = Response(
            survey_id=survey.id,
            reference=f"{prefix}-{survey.id}-{n:04d}",
            language="en",
            status=ResponseStatus.SUBMITTED,
            submitted_at=datetime.now(UTC),
        )
        answers = [
            Answer(question_id=questions["sex"].id, option_code=sex),
            Answer(question_id=questions["safe"].id, option_code=safe),
            *[Answer(question_id=questions["problems"].id, option_code=p) for p in problems],
            Answer(question_id=questions["agree"].id, item_code="police", option_code=agree[0]),
            Answer(question_id=questions["agree"].id, item_code="council", option_code=agree[1]),
            *[
                Answer(question_id=questions["priorities"].id, option_code=c, rank=r)
                for r, c in enumerate(ranking, start=1)
            ],
        ]
        if years is not None:
            answers.append(Answer(question_id=questions["years"].id, number=float(years)))
        if comment:
            answers.append(Answer(question_id=questions["comments"].id, text=comment))
        response.answers = answers
        db.session.add(response)
        references.append(response.reference)
    # An abandoned response holds answers too: retention deletes it as well.
    unfinished = Response(
        survey_id=survey.id, reference=f"{prefix}-{survey.id}-open", language="en"
    )
    unfinished.answers = [Answer(question_id=questions["comments"].id, text=SECRET_TEXT + " again")]
    db.session.add(unfinished)
    db.session.flush()
    return references


def add_benchmarks(partnership: Partnership) -> None:
    benchmark_set = BenchmarkSet(partnership_id=partnership.id, version=1, note="test")
    benchmark_set.rows = [
        PopulationBenchmark(variable="sex", category="Female", population_share=0.5),
        PopulationBenchmark(variable="sex", category="Male", population_share=0.5),
    ]
    db.session.add(benchmark_set)
    db.session.flush()


@pytest.fixture
def north(app_context, accounts):
    accounts.partnership("north-csp")
    return db.session.scalars(sa.select(Partnership).filter_by(slug="north-csp")).one()


def _aggregates(survey_id: int) -> dict[tuple[str, str, str], RetainedAggregate]:
    snapshot = db.session.scalars(sa.select(SurveySnapshot).filter_by(survey_id=survey_id)).one()
    return {(a.question_key, a.item_code, a.option_code): a for a in snapshot.aggregates}


def test_retention_deletes_raw_responses_and_keeps_the_totals(north, monkeypatch):
    from flask import current_app

    # Four responses: with the default minimum of 5 per category, sex would
    # leave the weighting (tested below); here one per category is allowed so
    # the weighted aggregates can be checked by hand.
    monkeypatch.setitem(current_app.config, "WEIGHTING_MIN_COUNT", 1)
    add_benchmarks(north)
    due = build_survey(north, "old-survey", retention_until=TODAY - timedelta(days=1))
    kept = build_survey(north, "current-survey", retention_until=TODAY)
    add_responses(due)
    add_responses(kept, prefix="KP")
    db.session.commit()
    due_id, kept_id = due.id, kept.id

    report = apply_retention(today=TODAY)
    db.session.expire_all()

    assert [s.slug for s in report.surveys] == ["old-survey"]
    outcome = report.surveys[0]
    assert (outcome.responses, outcome.submitted, outcome.text_answers) == (5, 4, 3)
    responses = sa.select(sa.func.count(Response.id)).where(Response.survey_id == due_id)
    assert db.session.scalar(responses) == 0
    answers_of_due = (
        sa.select(sa.func.count(Answer.id))
        .join(Question, Question.id == Answer.question_id)
        .where(Question.survey_id == due_id)
    )
    assert db.session.scalar(answers_of_due) == 0
    # The survey whose date is today keeps everything (the date is the last day kept).
    assert (
        db.session.scalar(
            sa.select(sa.func.count(Response.id)).where(Response.survey_id == kept_id)
        )
        == 5
    )
    survey = db.session.get(Survey, due_id)
    assert survey.retention_applied_at is not None

    agg = _aggregates(due_id)
    assert db.session.get(Survey, due_id) is not None
    assert retained_results(survey).n_responses == 4
    # Unweighted counts out of those who answered.
    assert (agg[("safe", "", "safe")].count, agg[("safe", "", "safe")].base) == (2, 4)
    assert (agg[("problems", "", "litter")].count, agg[("problems", "", "litter")].base) == (2, 3)
    assert agg[("agree", "council", "agree")].count == 2
    assert (agg[("priorities", "", "asb")].count, agg[("priorities", "", "asb")].base) == (3, 4)
    assert agg[("comments", "", "")].count == 2  # how many wrote something, not what
    assert agg[("years", "", "")].count == 3
    # Weighted to 50% women, 50% men: 3 women weigh 2/3 each, the man 2.
    assert agg[("sex", "", "female")].weighted_share == pytest.approx(0.5)
    assert agg[("safe", "", "safe")].weighted_share == pytest.approx((2 * 2 / 3) / 4)
    assert agg[("years", "", "")].mean == pytest.approx(
        (3 * 2 / 3 + 10 * 2 / 3 + 20 * 2) / (4 / 3 + 2)
    )
    assert agg[("priorities", "", "asb")].mean == pytest.approx(
        (2 * 2 / 3 + 1 * 2 / 3 + 2 * 2) / (4 / 3 + 2)
    )
    assert retained_results(survey).weighting["variables"] == ["sex"]

    event = db.session.scalars(sa.select(AuditEvent).filter_by(action="retention_applied")).one()
    assert event.details["responses_deleted"] == 5
    assert event.details["text_answers_deleted"] == 3
    assert SECRET_TEXT not in str(event.details) + event.target

    # Running again finds nothing more to do and changes nothing.
    events = sa.select(sa.func.count(AuditEvent.id))
    before = db.session.scalar(events)
    assert apply_retention(today=TODAY).surveys == []
    assert db.session.scalar(events) == before


def test_retention_closes_an_open_survey_and_frees_invitation_links(north):
    survey = build_survey(north, "still-open", retention_until=TODAY - timedelta(days=30))
    survey.status = SurveyStatus.OPEN
    add_responses(survey)
    first = db.session.scalars(sa.select(Response).filter_by(survey_id=survey.id)).first()
    invitation = Invitation(survey_id=survey.id, code_hash="x" * 64, response_id=first.id)
    db.session.add(invitation)
    db.session.commit()
    report = apply_retention(today=TODAY)
    db.session.expire_all()
    assert report.surveys[0].closed
    assert db.session.get(Survey, survey.id).status == SurveyStatus.CLOSED
    assert db.session.get(Invitation, invitation.id).response_id is None


def test_dry_run_reports_and_changes_nothing(app, north):
    survey = build_survey(north, "old-survey", retention_until=date(2020, 1, 31))
    add_responses(survey)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["consult", "apply-retention", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert (
        "old-survey (retention date 2020-01-31): Would delete 5 responses (4 submitted)"
        in result.output
    )
    assert "3 free-text answers" in result.output
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(Response.id))) == 5
    assert db.session.get(Survey, survey.id).retention_applied_at is None
    assert db.session.scalar(sa.select(sa.func.count(SurveySnapshot.id))) == 0

    result = app.test_cli_runner().invoke(args=["consult", "apply-retention"])
    assert result.exit_code == 0, result.output
    assert "Deleted 5 responses" in result.output and "kept" in result.output
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(Response.id))) == 0
    result = app.test_cli_runner().invoke(args=["consult", "apply-retention"])
    assert "No survey is past its retention date" in result.output


def test_survey_without_responses_or_date(north):
    build_survey(north, "no-date", retention_until=None)
    empty = build_survey(north, "empty", retention_until=date(2020, 1, 1))
    db.session.commit()
    report = apply_retention(today=TODAY)
    assert [s.slug for s in report.surveys] == ["empty"]
    assert retained_results(empty).n_responses == 0


# --------------------------------------------------------------------------- #
# Erasure by reference
# --------------------------------------------------------------------------- #


def test_erase_a_response_by_its_reference(north, accounts):
    south_id = accounts.partnership("south-csp")
    south = db.session.get(Partnership, south_id)
    survey = build_survey(north, "north-survey", retention_until=None)
    other = build_survey(south, "south-survey", retention_until=None)
    refs = add_responses(survey, prefix="NS")
    other_refs = add_responses(other, prefix="SS")
    db.session.commit()

    # Another partnership's reference is not found, and stays.
    with pytest.raises(ServiceError, match="No response with the reference"):
        erase_response(north, other_refs[0], None)
    # Typed in lower case with spaces, as people do.
    erasure = erase_response(north, "  " + refs[0].lower() + " ", None)
    db.session.commit()
    assert erasure.reference == refs[0]
    assert erasure.answers >= 7
    assert db.session.scalar(sa.select(Response).filter_by(reference=refs[0])) is None
    assert db.session.scalar(sa.select(Response).filter_by(reference=other_refs[0])) is not None
    assert (
        db.session.scalar(sa.select(sa.func.count(Response.id)).filter_by(survey_id=survey.id)) == 4
    )
    stored_texts = db.session.scalars(sa.select(Answer.text).where(Answer.text.is_not(None))).all()
    assert sum(SECRET_TEXT == t for t in stored_texts) == 1  # only the south copy remains
    event = db.session.scalars(sa.select(AuditEvent).filter_by(action="response_erased")).one()
    assert event.partnership_id == north.id and event.target == refs[0]
    assert SECRET_TEXT not in str(event.details)
    with pytest.raises(ServiceError):
        erase_response(north, refs[0], None)  # already gone


def test_erase_response_command(app, north):
    survey = build_survey(north, "north-survey", retention_until=None)
    refs = add_responses(survey, prefix="CL")
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["consult", "erase-response", refs[1], "--partnership", "north-csp"]
    )
    assert result.exit_code == 0, result.output
    assert f"Erased response {refs[1]}" in result.output
    result = runner.invoke(
        args=["consult", "erase-response", refs[1], "--partnership", "north-csp"]
    )
    assert result.exit_code != 0 and "No response with the reference" in result.output
    result = runner.invoke(args=["consult", "erase-response", refs[2], "--partnership", "nowhere"])
    assert result.exit_code != 0 and "No partnership called" in result.output
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(Response.id))) == 4


def test_an_administrator_erases_a_response_from_the_officer_pages(app, client, signed_in):
    signed_in("admin")
    with app.app_context():
        north = db.session.scalars(sa.select(Partnership).filter_by(slug="north-csp")).one()
        refs = add_responses(build_survey(north, "north-survey", retention_until=None), prefix="WB")
        db.session.commit()
    assert "Erase a response" in client.get("/manage").get_data(as_text=True)
    page = client.post_form("/manage/erase-response", {"reference": "nope-0000"})
    assert page.status_code == 400
    assert "No response with this reference" in page.get_data(as_text=True)

    confirm = client.post_form("/manage/erase-response", {"reference": refs[0].lower()})
    body = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and f"Erase response {refs[0]}?" in body
    assert "Survey north-survey" in body and SECRET_TEXT not in body
    with app.app_context():
        assert db.session.scalar(sa.select(Response).filter_by(reference=refs[0])) is not None

    done = client.post_form(
        "/manage/erase-response", {"reference": refs[0], "confirm": "yes"}, follow_redirects=True
    )
    assert f"Response {refs[0]} and its" in done.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(Response).filter_by(reference=refs[0])) is None
    audit = client.get("/manage/audit").get_data(as_text=True)
    assert "response erased" in audit and refs[0] in audit and SECRET_TEXT not in audit


def test_officers_and_viewers_cannot_erase(client, signed_in):
    signed_in("officer")
    assert client.get("/manage/erase-response").status_code == 403


def test_retention_never_keeps_weights_that_could_not_be_used(north):
    # 3 women and 1 man: fewer than 5 men, and sex has only two groups, so
    # sex leaves the weighting and the kept aggregates are unweighted.
    add_benchmarks(north)
    due = build_survey(north, "sparse-survey", retention_until=TODAY - timedelta(days=1))
    add_responses(due)
    db.session.commit()
    due_id = due.id
    apply_retention(today=TODAY)
    db.session.expire_all()
    survey = db.session.get(Survey, due_id)
    snapshot = retained_results(survey)
    assert snapshot.weighting["weights_used"] is False
    assert snapshot.weighting["variables"] == []
    agg = _aggregates(due_id)
    assert agg[("sex", "", "female")].weighted_share == pytest.approx(0.75)
