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
* exports of a survey with special-category questions also carry
  `resp_special_consent` (SPECIAL_CONSENT_COLUMN): yes, no, or blank when
  the resident was never asked, so that our export imports back with the
  consent that allowed those answers

`read_answers` is the one reader of the answer table, used by the frames here
and by every export: a few thousand responses at a time, one row per response.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ..extensions import db
from ..models import NUMERIC_TYPES, Question, QuestionType, Response, ResponseStatus, Survey
from .path import ordered_questions

META_COLUMNS = ("resp_reference", "resp_language", "resp_channel", "resp_submitted_at")
SPECIAL_CONSENT_COLUMN = "resp_special_consent"
CHUNK_SIZE = 2000


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
    return [column for q in ordered_questions(survey.questions) for column in question_columns(q)]


# --------------------------------------------------------------------------- #
# Reading the answers
# --------------------------------------------------------------------------- #


class Slot(NamedTuple):
    """Where a column's values come from: a question and, for grid, multiple
    choice and ranking questions, the item or option the column is about."""

    question_id: int
    question_type: str
    sub: str = ""


@dataclass
class AnswerChunk:
    """Responses in id order, and their answers: `values` has a row per
    response and a column per slot. A value is the option code (single,
    scale, area, grid), 1 or 0 (multiple choice: ticked, or the question was
    answered without it), the rank (int), the number (float) or the text;
    None where there is no answer, and in columns without a slot. With
    `as_text`, every value is the text a CSV cell shows: "" for no answer,
    numbers as Python writes them ("1", "0", "3", "12.0")."""

    ids: np.ndarray
    references: Sequence[str]
    languages: Sequence[str]
    channels: Sequence[str]
    submitted: Sequence[Any]  # datetimes (None: not submitted); `timestamp_text` with `as_text`
    values: np.ndarray
    # Consent to the special-category questions: "yes", "no", or None (""
    # with `as_text`) when the resident was never asked.
    consents: Sequence[Any] = ()


def timestamp_text(value: datetime | None) -> str | None:
    """UTC, to the second. Naive datetimes are UTC already (SQLite)."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    # isoformat: a fifth of strftime's cost, 100,000 times an export.
    return value.isoformat(" ", "seconds")


# How SQLite keeps a time (UTC, as SQLAlchemy writes it): its first 19
# characters are `timestamp_text` of it, without parsing it.
_STORED_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{1,6})?")


# A postcode answer is the ward it maps to: a code, as an area answer is.
_CODES = frozenset(
    {QuestionType.SINGLE, QuestionType.SCALE, QuestionType.AREA, QuestionType.POSTCODE}
)
# Dates are read as their stored text, YYYY-MM-DD.
_VALUES = NUMERIC_TYPES | {QuestionType.TEXT, QuestionType.DATE}


@dataclass
class _Question:
    """One question's columns, by the grid item or option they are about
    ("" for a one-column question), and the statement reading its answers."""

    id: int
    type: str
    columns: dict[str, int] = field(default_factory=dict)
    sql: str = ""


class _AnswerReader:
    """Reads the answers of a chunk of responses, one question at a time.

    The answer table has a row per answer (57 per response in a 40-question
    survey), and turning millions of rows into Python objects was what made
    exports slow. So for the coded questions (single, scale, area, grid,
    multiple choice, ranking) the database concatenates the chunk's answers
    to one question into a few strings: the response ids, the option codes
    (and the grid items, or the ranks), in index order; numpy splits them and
    puts each code in its column. Numbers and free text are few rows and are
    read as rows. Every statement is a range of the answer index
    `ix_answer_question` (question, response, item, option, rank, number),
    which holds every value but free text, so the table is read for free
    text only.

    Measured on SQLite at 100,000 responses x 40 questions, the database's
    share: about 1.4 s this way; about 3 s grouping each response's answers
    into strings in one statement per chunk; about 20 s for a pivot in SQL
    (MAX(CASE ...) or FILTER for every column, GROUP BY response), which
    tests every answer against every column. On PostgreSQL the pivot took
    19 s and the strings 2.7 s.
    """

    def __init__(
        self, slots: Sequence[Slot | None], dialect: str, as_text: bool, missing: Any
    ) -> None:
        self.width = len(slots)
        self.as_text = as_text
        self.missing = "" if as_text else missing
        sqlite = dialect == "sqlite"
        marker = "?" if sqlite else "%s"

        def concat(expression: str) -> str:
            # The default separator: a separator argument made SQLite's
            # group_concat a third slower. A comma inside a stored code is
            # caught by counting (see `_split`).
            if sqlite:
                return f"group_concat({expression})"
            return f"string_agg(CAST({expression} AS TEXT), ',')"

        where = (
            f"FROM answer WHERE question_id = {marker} "
            f"AND response_id BETWEEN {marker} AND {marker}"
        )
        strings: dict[str, tuple[str, ...]] = {
            QuestionType.GRID: ("item_code", "option_code"),
            QuestionType.RANKING: ("option_code", "coalesce(CAST(\"rank\" AS TEXT), '')"),
            QuestionType.MULTIPLE: ("option_code",),
            **{t: ("option_code",) for t in _CODES},
        }
        self.questions: dict[int, _Question] = {}
        for j, slot in enumerate(slots):
            if slot is None:
                continue
            question = self.questions.get(slot.question_id)
            if question is None:
                question = _Question(slot.question_id, slot.question_type)
                if slot.question_type in _VALUES:
                    value = "number" if slot.question_type in NUMERIC_TYPES else "text"
                    question.sql = f'SELECT response_id, "{value}" {where}'
                else:
                    select_list = ", ".join(
                        concat(c) for c in ("response_id", *strings[slot.question_type])
                    )
                    question.sql = f"SELECT {select_list} {where}"
                self.questions[slot.question_id] = question
            question.columns[slot.sub] = j
        self.rows_sql = f'SELECT response_id, item_code, option_code, "rank" {where}'

    def fill(self, cursor: Any, rids: np.ndarray, out: np.ndarray) -> None:
        bounds = (int(rids[0]), int(rids[-1]))
        as_text = self.as_text
        for question in self.questions.values():
            params = (question.id, *bounds)
            cursor.execute(question.sql, params)
            if question.type in _VALUES:
                rows = cursor.fetchall()
                if rows:
                    found, values = zip(*rows, strict=True)
                    if as_text:
                        values = tuple("" if v is None else str(v) for v in values)
                    position, keep = _positions(rids, np.array(found, dtype=np.int64))
                    out[position[keep], question.columns[""]] = _objects(values)[keep]
                continue
            row = cursor.fetchone()
            if row is None or row[0] is None:
                continue
            parts = _split(row)
            if parts is None:
                # A comma inside a stored code: this question's answers as rows.
                cursor.execute(self.rows_sql, params)
                found_c, item_c, code_c, rank_c = zip(*cursor.fetchall(), strict=True)
                ranks = ["" if r is None else str(r) for r in rank_c]
                columns: tuple[Sequence[Any], ...] = (code_c,)
                if question.type == QuestionType.GRID:
                    columns = (item_c, code_c)
                elif question.type == QuestionType.RANKING:
                    columns = (code_c, ranks)
                parts = [np.array(found_c, dtype=np.int64), *map(_objects, columns)]
            self._place(question, rids, parts, out)

    def _place(
        self, question: _Question, rids: np.ndarray, parts: Sequence[np.ndarray], out: np.ndarray
    ) -> None:
        """Answers (response ids and strings from `_split`) into columns."""
        position, keep = _positions(rids, parts[0])
        if question.type in _CODES:
            if keep.all():
                out[position, question.columns[""]] = parts[1]
            else:
                out[position[keep], question.columns[""]] = parts[1][keep]
            return
        # Grid: the column is the item's; multiple choice and ranking: the
        # option's. A few distinct strings, looked up once each.
        which, distinct = pd.factorize(parts[1])
        lookup = np.array([question.columns.get(s, -1) for s in distinct], dtype=np.int64)
        col = lookup[which]
        found = np.flatnonzero((col >= 0) & keep)
        position, col = position[found], col[found]
        if question.type == QuestionType.MULTIPLE:
            # A question answered with any of its options is a 0 in the
            # options not ticked, not a blank.
            answered = np.zeros(len(rids), dtype=bool)
            answered[position] = True
            flags = np.array(sorted(question.columns.values()), dtype=np.int64)
            out[np.ix_(np.flatnonzero(answered), flags)] = "0" if self.as_text else 0
            out[position, col] = "1" if self.as_text else 1
        elif question.type == QuestionType.RANKING:
            which, distinct = pd.factorize(parts[2])
            ranks: list[Any] = [_rank(r) for r in distinct]
            if self.as_text:
                ranks = ["" if r is None else str(r) for r in ranks]
            out[position, col] = _objects(ranks)[which[found]]
        else:
            out[position, col] = parts[2][found]

    def read(
        self,
        survey: Survey,
        statuses: Sequence[str],
        chunk_size: int,
        facts: bool = True,
    ) -> Iterator[AnswerChunk]:
        connection = db.session.connection()
        marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
        # Rows as the driver gives them: SQLAlchemy's processing of each row
        # cost a tenth of an export. The time is parsed as SQLAlchemy would.
        where = (
            f"FROM response WHERE survey_id = {marker} "
            f"AND status IN ({', '.join([marker] * len(statuses))}) ORDER BY id"
        )
        params = (survey.id, *statuses)
        if not facts:
            # The ids alone, at once (8 bytes a response): the facts are most
            # of a row's size, and the times are parsed one by one.
            yield from self._answers_only(connection, f"SELECT id {where}", params, chunk_size)
            return
        responses = connection.exec_driver_sql(
            "SELECT id, reference, language, channel, submitted_at, special_consent " + where,
            params,
            execution_options={"stream_results": True, "yield_per": chunk_size},
        )
        column = Response.__table__.c.submitted_at
        parse = column.type.dialect_impl(connection.dialect).result_processor(
            connection.dialect, None
        )
        # The answers through the driver's own cursor: SQLAlchemy's result
        # rows cost more than the statements.
        cursor = connection.connection.cursor()
        try:
            for part in responses.partitions(chunk_size):
                ids, references, languages, channels, stored, agreed = zip(*part, strict=True)
                submitted = [_time(t, parse, self.as_text) for t in stored]
                rids = np.array(ids, dtype=np.int64)
                out = np.full((len(rids), self.width), self.missing, dtype=object)
                self.fill(cursor, rids, out)
                # SQLite gives 1/0, PostgreSQL True/False.
                unknown = "" if self.as_text else None
                consents = [unknown if a is None else ("yes" if a else "no") for a in agreed]
                yield AnswerChunk(rids, references, languages, channels, submitted, out, consents)
        finally:
            cursor.close()
            responses.close()

    def _answers_only(
        self, connection: Any, sql: str, params: Sequence[Any], chunk_size: int
    ) -> Iterator[AnswerChunk]:
        cursor = connection.connection.cursor()
        try:
            cursor.execute(sql, params)
            every = np.array([row[0] for row in cursor.fetchall()], dtype=np.int64)
            for first in range(0, len(every), chunk_size):
                rids = every[first : first + chunk_size]
                out = np.full((len(rids), self.width), self.missing, dtype=object)
                self.fill(cursor, rids, out)
                yield AnswerChunk(rids, (), (), (), (), out)
        finally:
            cursor.close()


def _time(value: Any, parse: Any, as_text: bool) -> Any:
    """A stored time as SQLAlchemy would read it (`parse`), or as text."""
    if as_text and isinstance(value, str) and _STORED_TIME.fullmatch(value):
        return value[:19]
    if parse is not None and value is not None:
        value = parse(value)
    if not as_text:
        return value
    return timestamp_text(value) or ""


def _split(row: Sequence[str]) -> list[np.ndarray] | None:
    """The strings of one question's answers, split: the response ids as
    integers, the rest as object arrays. None if the counts disagree (a
    comma inside a stored code)."""
    ids = np.fromstring(row[0], dtype=np.int64, sep=",")
    parts = [ids]
    for text in row[1:]:
        values = text.split(",")
        if len(values) != len(ids):
            return None
        parts.append(_objects(values))
    return parts


def _rank(text: str) -> int | None:
    return int(text) if text else None


def _objects(values: Sequence[Any]) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _positions(rids: np.ndarray, found: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row of each id in the chunk, and whether it is there at all (answers
    of responses in the id range with another status are not)."""
    position = np.clip(np.searchsorted(rids, found), 0, len(rids) - 1)
    return position, rids[position] == found


def read_answers(
    survey: Survey,
    slots: Sequence[Slot | None],
    *,
    statuses: Sequence[str] = (ResponseStatus.SUBMITTED,),
    chunk_size: int = CHUNK_SIZE,
    as_text: bool = False,
    missing: Any = None,
    facts: bool = True,
) -> Iterator[AnswerChunk]:
    """The survey's responses with these statuses, `chunk_size` at a time in
    id order, with their answers laid out by `slots` (see `AnswerChunk`).
    Responses stream from a server-side cursor and answers are read one id
    range at a time, so memory stays flat however many responses there are.
    `missing`: the value where there is no answer (with `as_text`, "").
    `facts=False`: the answers alone; the chunks' references, languages,
    channels, times and consents are left empty."""
    dialect = db.session.get_bind().dialect.name
    reader = _AnswerReader(slots, dialect, as_text, missing)
    return reader.read(survey, statuses, chunk_size, facts)


# --------------------------------------------------------------------------- #
# Frames
# --------------------------------------------------------------------------- #


def response_frame(
    survey: Survey,
    *,
    include_text: bool = True,
    statuses: Sequence[str] = (ResponseStatus.SUBMITTED,),
) -> pd.DataFrame:
    columns = [
        (question, column)
        for question in ordered_questions(survey.questions)
        if include_text or question.type != QuestionType.TEXT
        for column in question_columns(question)
    ]
    slots = [Slot(q.id, q.type, c.item_or_option or "") for q, c in columns]
    ids: list[np.ndarray] = []
    meta: list[list[Any]] = [[], [], [], []]
    parts: list[np.ndarray] = []
    for chunk in read_answers(survey, slots, statuses=statuses, missing=np.nan):
        ids.append(chunk.ids)
        for facts, source in zip(
            meta,
            (chunk.references, chunk.languages, chunk.channels, chunk.submitted),
            strict=True,
        ):
            facts.extend(source)
        parts.append(chunk.values)
    index = pd.Index(
        np.concatenate(ids) if ids else np.array([], dtype=np.int64),
        name="response_id",
        dtype="int64",
    )
    frame = pd.DataFrame(
        {
            "resp_reference": pd.Series(meta[0], index=index, dtype="object"),
            "resp_language": pd.Series(meta[1], index=index, dtype="object"),
            "resp_channel": pd.Series(meta[2], index=index, dtype="object"),
            "resp_submitted_at": pd.Series(meta[3], index=index),
        },
        index=index,
    )
    values = np.concatenate(parts) if parts else np.empty((0, len(slots)), dtype=object)
    answers: dict[str, pd.Series] = {}
    for j, (question, column) in enumerate(columns):
        if question.type in NUMERIC_TYPES | {QuestionType.MULTIPLE, QuestionType.RANKING}:
            answers[column.name] = pd.Series(
                np.array(values[:, j], dtype=np.float64), index=index, dtype="float64"
            )
        else:
            answers[column.name] = pd.Series(values[:, j], index=index, dtype="object")
    if answers:
        frame = pd.concat([frame, pd.DataFrame(answers, index=index)], axis=1)
    return frame


def demographic_frame(survey: Survey, frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """Columns named by demographic variable (`age_band`, `sex`, ...) holding
    the population benchmark category each answer counts towards; NaN where
    the resident did not answer or chose a non-answer such as "Prefer not to
    say". This is the frame representation and weighting work on."""
    if frame is None:
        frame = response_frame(survey, include_text=False)
    result = pd.DataFrame(index=frame.index)
    for question in ordered_questions(survey.questions):
        if not question.demographic or question.key not in frame.columns:
            continue
        mapping = {
            o.code: o.benchmark_category
            for o in question.choices
            if o.benchmark_category and not o.is_missing
        }
        result[question.demographic] = frame[question.key].map(mapping).astype("object")
    return result
