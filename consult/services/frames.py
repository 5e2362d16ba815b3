"""Survey responses as a pandas DataFrame: the bridge between the database
and `consult.analysis`, exports and reports.

One row per submitted response (index: response id). Column names follow the
question keys, so the same name is used in analysis, exports and SPSS:

* single, scale, area: `key` holds the option code (NaN when not answered)
* multiple: `key__code` is 1.0 when ticked, 0.0 when the question was
  answered without it, NaN when the question was not answered at all
* grid: `key__item` holds the scale code chosen for that item
* ranking: `key__code` holds the rank given (1 = first), NaN when not chosen
* text: `key` holds the text; number: `key` holds the number
* `resp_reference`, `resp_language`, `resp_channel`, `resp_submitted_at`:
  facts about the response itself (question keys may not start with `resp_`)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import select

from ..extensions import db
from ..models import Answer, Question, QuestionType, Response, ResponseStatus, Survey

META_COLUMNS = ("resp_reference", "resp_language", "resp_channel", "resp_submitted_at")


@dataclass(frozen=True)
class Column:
    name: str
    question_key: str
    question_type: str
    item_or_option: str | None = None


def question_columns(question: Question) -> list[Column]:
    """The DataFrame (and export) columns a question produces, in order."""
    if question.type in (QuestionType.MULTIPLE, QuestionType.RANKING):
        return [
            Column(f"{question.key}__{o.code}", question.key, question.type, o.code)
            for o in question.choices
        ]
    if question.type == QuestionType.GRID:
        return [
            Column(f"{question.key}__{i.code}", question.key, question.type, i.code)
            for i in question.items
        ]
    return [Column(question.key, question.key, question.type)]


def survey_columns(survey: Survey) -> list[Column]:
    return [column for q in ordered_questions(survey) for column in question_columns(q)]


def ordered_questions(survey: Survey) -> list[Question]:
    section_position = {s.id: s.position for s in survey.sections}
    return sorted(
        survey.questions, key=lambda q: (section_position.get(q.section_id or -1, 0), q.position)
    )


def response_frame(
    survey: Survey,
    *,
    include_text: bool = True,
    statuses: Sequence[str] = (ResponseStatus.SUBMITTED,),
) -> pd.DataFrame:
    questions = ordered_questions(survey)
    responses = db.session.execute(
        select(
            Response.id,
            Response.reference,
            Response.language,
            Response.channel,
            Response.submitted_at,
        )
        .where(Response.survey_id == survey.id, Response.status.in_(list(statuses)))
        .order_by(Response.id)
    ).all()
    index = pd.Index([r[0] for r in responses], name="response_id", dtype="int64")
    frame = pd.DataFrame(
        {
            "resp_reference": pd.Series([r[1] for r in responses], index=index, dtype="object"),
            "resp_language": pd.Series([r[2] for r in responses], index=index, dtype="object"),
            "resp_channel": pd.Series([r[3] for r in responses], index=index, dtype="object"),
            "resp_submitted_at": pd.Series([r[4] for r in responses], index=index),
        },
        index=index,
    )
    # Core rows through the connection, split into columns with zip: the ORM
    # result layer and pandas' per-row checks on Row objects cost seconds on a
    # few thousand responses.
    names = ["response_id", "question_id", "item", "code", "rank", "number", "text"]
    rows = (
        db.session.connection()
        .execute(
            select(
                Answer.response_id,
                Answer.question_id,
                Answer.item_code,
                Answer.option_code,
                Answer.rank,
                Answer.number,
                Answer.text,
            )
            .join(Response, Response.id == Answer.response_id)
            .where(Response.survey_id == survey.id, Response.status.in_(list(statuses)))
        )
        .all()
    )
    values = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    answers = pd.DataFrame({name: list(column) for name, column in zip(names, values, strict=True)})
    columns: dict[str, pd.Series] = {}
    by_question = (
        {qid: group for qid, group in answers.groupby("question_id")} if len(answers) else {}
    )
    for question in questions:
        group = by_question.get(question.id)
        if question.type == QuestionType.TEXT and not include_text:
            continue
        for column in question_columns(question):
            columns[column.name] = _column_values(question, column, group, index)
    if columns:
        frame = pd.concat([frame, pd.DataFrame(columns, index=index)], axis=1)
    return frame


def _column_values(
    question: Question, column: Column, group: pd.DataFrame | None, index: pd.Index
) -> pd.Series:
    numeric = question.type in (QuestionType.NUMBER, QuestionType.MULTIPLE, QuestionType.RANKING)
    empty = pd.Series(
        np.nan if numeric else None, index=index, dtype="float64" if numeric else "object"
    )
    if group is None or group.empty:
        return empty
    if question.type in (QuestionType.SINGLE, QuestionType.SCALE, QuestionType.AREA):
        values = group.drop_duplicates("response_id").set_index("response_id")["code"]
        return values.reindex(index).astype("object")
    if question.type == QuestionType.TEXT:
        values = group.drop_duplicates("response_id").set_index("response_id")["text"]
        return values.reindex(index).astype("object")
    if question.type == QuestionType.NUMBER:
        values = group.drop_duplicates("response_id").set_index("response_id")["number"]
        return values.reindex(index).astype("float64")
    if question.type == QuestionType.GRID:
        picked = group[group["item"] == column.item_or_option]
        values = picked.drop_duplicates("response_id").set_index("response_id")["code"]
        return values.reindex(index).astype("object")
    answered = pd.Index(group["response_id"].unique())
    picked = group[group["code"] == column.item_or_option].drop_duplicates("response_id")
    if question.type == QuestionType.MULTIPLE:
        result = pd.Series(np.nan, index=index, dtype="float64")
        result[index.isin(answered)] = 0.0
        result[index.isin(picked["response_id"])] = 1.0
        return result
    ranks = picked.set_index("response_id")["rank"].astype("float64")
    return ranks.reindex(index)


def demographic_frame(survey: Survey, frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """Columns named by demographic variable (`age_band`, `sex`, ...) holding
    the population benchmark category each answer counts towards; NaN where
    the resident did not answer or chose a non-answer such as "Prefer not to
    say". This is the frame representation and weighting work on."""
    if frame is None:
        frame = response_frame(survey, include_text=False)
    result = pd.DataFrame(index=frame.index)
    for question in ordered_questions(survey):
        if not question.demographic or question.key not in frame.columns:
            continue
        mapping = {
            o.code: o.benchmark_category
            for o in question.choices
            if o.benchmark_category and not o.is_missing
        }
        result[question.demographic] = frame[question.key].map(mapping).astype("object")
    return result
