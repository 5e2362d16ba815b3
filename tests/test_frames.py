"""The results frame (`frames.response_frame`) against the plainest reading
of the answers: every stored answer row through the ORM, put in its column
by hand. The reader numbers codes in the database and places them with
numpy; whatever it does, the frame must be this one, on every question type,
with gaps, non-answers, codes the questionnaire no longer has, and responses
that are not submitted."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from consult.extensions import db
from consult.models import Answer, Response, Survey
from consult.services import frames
from consult.services.accounts import create_partnership
from consult.services.path import ordered_questions
from consult.services.surveys import add_question, add_section, create_survey

SCALE = ["agree", "neither", "disagree", "dont_know"]
AGES = ["age_16_34", "age_35_64", "age_65_plus", "prefer_not_to_say"]
WARDS = ["abbey", "castle", "fosse"]
PRIORITIES = ["burglary", "drugs", "speeding", "litter"]


def label(code: str) -> dict[str, str]:
    return {"en": code.replace("_", " ").capitalize()}


def options(codes: list[str]) -> list[dict[str, Any]]:
    missing = ("dont_know", "prefer_not_to_say")
    return [{"code": c, "label": label(c), "is_missing": c in missing} for c in codes]


def build_survey() -> Survey:
    partnership = create_partnership("frames-csp", "Frames partnership")
    survey = create_survey(partnership, slug="frames", title={"en": "Frames"})
    section = add_section(survey, "main", {"en": "Main"})

    def question(key: str, type: str, **kw: Any) -> None:
        add_question(survey, section, key=key, type=type, prompt={"en": key}, **kw)

    question("age", "single", options=options(AGES))
    question("safe", "scale", options=options(SCALE))
    question("ward", "area", options=options(WARDS))
    question(
        "home",
        "postcode",
        settings={"keep": "ward", "ward_list": True},
        options=options(WARDS),
    )
    question(
        "worry",
        "grid",
        options=options(SCALE),
        items=[{"code": c, "label": label(c)} for c in ("home", "car", "street")],
    )
    question("contact", "multiple", options=options(["phone", "online", "visit"]))
    question("priorities", "ranking", options=options(PRIORITIES), settings={"top_n": 3})
    question("years", "number")
    question("hours", "decimal", settings={"min": 0, "max": 24, "places": 1})
    question("when", "date")
    question("comments", "text")
    db.session.flush()
    return survey


def answers_of(i: int) -> list[tuple[str, dict[str, Any]]]:
    """Response i's answer rows, varied so that every gap, non-answer and
    odd stored value occurs somewhere."""
    rows: list[tuple[str, dict[str, Any]]] = []
    if i % 7:
        rows.append(("age", {"option_code": AGES[i % 4]}))
    if i % 5:
        rows.append(("safe", {"option_code": SCALE[i % 4]}))
    if i % 3:
        rows.append(("ward", {"option_code": WARDS[i % 3]}))
    if i % 4 == 2:
        rows.append(("home", {"option_code": WARDS[(i + 1) % 3], "text": "LE1 5"}))
    for k, item in enumerate(("home", "car", "street")):
        if (i + k) % 3:
            rows.append(("worry", {"item_code": item, "option_code": SCALE[(i + k) % 4]}))
    ticked = [c for k, c in enumerate(("phone", "online", "visit")) if (i >> k) & 1]
    if i % 6 != 5:
        rows.extend(("contact", {"option_code": c}) for c in ticked)
    if i % 5 != 4:
        for r, k in enumerate(range(i % 4), start=1):
            rows.append(("priorities", {"option_code": PRIORITIES[(i + k) % 4], "rank": r}))
    if i % 2:
        rows.append(("years", {"number": [0.1 + 0.2, 1e20, -3.0, 12.0, 2.5e-7][i % 5]}))
    if i % 3 == 1:
        rows.append(("hours", {"number": 7.5}))
    if i % 4 == 3:
        rows.append(("when", {"text": f"2024-02-{1 + i % 28:02d}"}))
    if i % 3 == 0:
        rows.append(
            ("comments", {"text": ["Lights out", 'a "quote", a comma', "", "مرحبا"][i % 4]})
        )
    # Answers the questionnaire no longer offers, stored all the same.
    if i == 10:
        rows.append(("safe", {"option_code": "retired_code"}))
        rows.append(("worry", {"item_code": "street", "option_code": "a,b"}))
        rows.append(("worry", {"item_code": "dropped_item", "option_code": "agree"}))
        rows.append(("contact", {"option_code": "fax"}))
        rows.append(("priorities", {"option_code": "gone", "rank": 1}))
    if i == 11:
        # Only an option the questionnaire no longer has: not answered.
        rows = [r for r in rows if r[0] != "contact"] + [("contact", {"option_code": "fax"})]
        rows.append(("priorities", {"option_code": "speeding", "rank": None}))
    return rows


def add_response(survey: Survey, i: int, status: str = "submitted") -> None:
    questions = {q.key: q for q in survey.questions}
    response = Response(
        survey_id=survey.id,
        reference=f"F-{i:04d}",
        language="en" if i % 3 else "ur",
        channel="online" if i % 2 else "paper",
        status=status,
        submitted_at=datetime(2026, 3, 1, 12, i % 60, 0, 1000 * (i % 100), tzinfo=UTC),
    )
    db.session.add(response)
    db.session.flush()
    for key, row in answers_of(i):
        db.session.add(Answer(response_id=response.id, question_id=questions[key].id, **row))
    db.session.flush()


def plain_frame(survey: Survey, include_text: bool) -> pd.DataFrame:
    """The frame, read the plain way: each answer row through the ORM."""
    responses = db.session.scalars(
        sa.select(Response).filter_by(survey_id=survey.id, status="submitted").order_by(Response.id)
    ).all()
    questions = [q for q in ordered_questions(survey.questions) if include_text or q.type != "text"]
    by_id = {q.id: q for q in questions}
    columns = [c for q in questions for c in frames.question_columns(q)]
    records = []
    for response in responses:
        record: dict[str, Any] = {
            "resp_reference": response.reference,
            "resp_language": response.language,
            "resp_channel": response.channel,
            "resp_submitted_at": response.submitted_at,
        }
        record.update({c.name: np.nan for c in columns})
        rows = db.session.scalars(
            sa.select(Answer).filter_by(response_id=response.id).order_by(Answer.id)
        ).all()
        for answer in rows:
            q = by_id.get(answer.question_id)
            if q is None:
                continue
            subs = [c.item_or_option for c in frames.question_columns(q)]
            if q.type in ("single", "scale", "area", "postcode"):
                record[q.key] = answer.option_code
            elif q.type == "grid":
                if answer.item_code in subs:
                    record[f"{q.key}__{answer.item_code}"] = answer.option_code
            elif q.type == "multiple":
                if answer.option_code in subs:
                    for code in subs:
                        name = f"{q.key}__{code}"
                        if np.isnan(record[name]):
                            record[name] = 0.0
                    record[f"{q.key}__{answer.option_code}"] = 1.0
            elif q.type == "ranking":
                if answer.option_code in subs:
                    rank = np.nan if answer.rank is None else float(answer.rank)
                    record[f"{q.key}__{answer.option_code}"] = rank
            elif q.type in ("number", "decimal"):
                record[q.key] = answer.number
            else:
                record[q.key] = answer.text
        records.append(record)
    index = pd.Index([r.id for r in responses], name="response_id", dtype="int64")
    frame = pd.DataFrame(records, index=index)
    for column in frame.columns:
        if column in frames.META_COLUMNS[:3]:
            frame[column] = frame[column].astype("object")
    for q in questions:
        for c in frames.question_columns(q):
            if q.type in ("multiple", "ranking", "number", "decimal"):
                frame[c.name] = frame[c.name].astype("float64")
            else:
                frame[c.name] = frame[c.name].astype("object")
    # The times as the database gives them back (SQLite: naive UTC).
    frame["resp_submitted_at"] = pd.Series([r.submitted_at for r in responses], index=index)
    return frame


@pytest.fixture
def survey_id(app):
    with app.app_context():
        survey = build_survey()
        for i in range(60):
            add_response(survey, i)
            if i in (5, 6, 40):
                # Drafts among the submitted ones, inside their id range.
                add_response(survey, 1000 + i, status="in_progress")
        db.session.commit()
        yield survey.id
        db.session.remove()


@pytest.mark.parametrize("include_text", [True, False])
def test_the_frame_is_every_answer_row_put_in_its_column(app, survey_id, include_text):
    with app.app_context():
        survey = db.session.get(Survey, survey_id)
        db.session.expire_all()
        read = frames.response_frame(survey, include_text=include_text)
        expected = plain_frame(survey, include_text)
        pd.testing.assert_frame_equal(read, expected)
        # The cases the reader treats apart, spelled out.
        row = read.set_index("resp_reference")
        assert row.loc["F-0010", "safe"] == "retired_code"
        assert row.loc["F-0010", "worry__street"] == "a,b"
        assert pd.isna(row.loc["F-0011", "contact__phone"])  # only a retired option
        assert pd.isna(row.loc["F-0011", "priorities__speeding"])  # chosen without a rank
        assert row.loc["F-0011", "priorities__litter"] == 1.0
        assert row.loc["F-0003", "age"] == "prefer_not_to_say"
        assert "F-1005" not in row.index


def test_reading_in_several_statements_gives_the_same_frame(app, survey_id, monkeypatch):
    """A frame reads a range of responses per statement: ranges cut
    anywhere give the same frame."""
    with app.app_context():
        survey = db.session.get(Survey, survey_id)
        whole = frames.response_frame(survey)
        monkeypatch.setattr(frames, "FRAME_CHUNK_SIZE", 7)
        pd.testing.assert_frame_equal(frames.response_frame(survey), whole)


def test_a_survey_without_responses_has_an_empty_frame(app):
    with app.app_context():
        survey = build_survey()
        frame = frames.response_frame(survey)
        assert len(frame) == 0
        assert list(frame.columns[:4]) == list(frames.META_COLUMNS)
        assert "worry__car" in frame.columns and "comments" in frame.columns
