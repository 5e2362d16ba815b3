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

`_AnswerReader` is the one reader of the answer table: `read_answers` lays
its answers out for every export (a few thousand responses at a time, one row
per response) and `response_frame` a column at a time.
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
    ("" for a one-column question), the codes its answers are numbered by,
    and the statement reading them."""

    id: int
    type: str
    columns: dict[str, int] = field(default_factory=dict)
    # The option codes an answer's code is numbered by (single, scale, area,
    # postcode, grid); codes stored but not in the questionnaire are added
    # as they are met.
    codes: list[str] = field(default_factory=list)
    sql: str = ""
    # How the statement packs an answer into one integer (see `_AnswerReader`):
    # the number of item or option numbers (`sub`), and of code numbers;
    # the last number of each is "not in the questionnaire".
    sub_base: int = 1
    code_base: int = 1

    def __post_init__(self) -> None:
        self._number: dict[str, int] = {}
        self._labels: np.ndarray = _objects(())

    @property
    def subs(self) -> list[str]:
        """The items (grid) or options (multiple choice, ranking) with a
        column, in the order the statement numbers them."""
        return list(self.columns)

    def slot_of(self) -> np.ndarray:
        """The column of each numbered item or option."""
        return np.array(list(self.columns.values()), dtype=np.int64)

    def number(self, codes: np.ndarray) -> np.ndarray:
        """Codes (text) as numbers into `codes`, adding any not met yet."""
        if not self._number:
            self._number = {c: i for i, c in enumerate(self.codes)}
        which, distinct = pd.factorize(codes)
        for code in distinct:
            if code not in self._number:
                self._number[code] = len(self.codes)
                self.codes.append(code)
        lookup = np.array([self._number[c] for c in distinct], dtype=np.int64)
        return lookup[which]

    def labels(self) -> np.ndarray:
        """`codes` as an object array, for numpy to index."""
        if len(self._labels) != len(self.codes):
            self._labels = _objects(self.codes)
        return self._labels


class _Answers(NamedTuple):
    """One question's answers for a range of responses, in index order:
    the response ids, and by question type the item or option each answer
    is about (`sub`: its number in `_Question.subs`, -1 when it has no
    column), the code chosen (`code`: its number in `_Question.codes`), and
    the rank (float, NaN when none) or the stored value (an object array)."""

    ids: np.ndarray
    sub: np.ndarray | None = None
    code: np.ndarray | None = None
    values: np.ndarray | None = None


class _AnswerReader:
    """Reads the answers to one question for a range of responses.

    The answer table has a row per answer (57 per response in a 40-question
    survey), and turning millions of rows into Python objects was what made
    the results and exports slow. So for the coded questions (single, scale,
    area, grid, multiple choice, ranking) the database numbers each code
    (`CASE option_code WHEN 'agree' THEN 0 ...`), packs an answer into one
    integer (response id x items + item number) x codes + code number, and
    concatenates the integers into one string (a ranking's ranks into a
    second); numpy parses it (`np.fromstring`), unpacks it (`np.divmod`)
    and indexes its way to the columns, without a Python object per answer.
    Numbers and free text are few rows and are read as rows. Every
    statement is a range of the answer index `ix_answer_question`
    (question, response, item, option, rank, number), which holds every
    value but free text, so the table is read for free text only.

    A code not in the questionnaire (numbered last, see `_Question`) sends
    that question's range to a plain read of its rows, which keeps any code
    as stored.

    Measured on SQLite at 100,000 responses x 40 questions (CPU time), the
    whole frame: 3.0 s with the codes concatenated as text (1.0 s of it the
    statements), split and hashed in Python; 1.8 s this way (1.1 s the
    statements). Packing saved a fifth of the statements' time against a
    string per part. A pivot in SQL (MAX(CASE ...) or FILTER for every
    column, GROUP BY response) took about 20 s, on PostgreSQL 19 s: it
    tests every answer against every column.
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
            # group_concat a third slower.
            if sqlite:
                return f"group_concat({expression})"
            return f"string_agg(CAST({expression} AS TEXT), ',')"

        def literal(code: str) -> str:
            text = code.replace("'", "''")
            return f"'{text if sqlite else text.replace('%', '%%')}'"

        def numbered(column: str, codes: Sequence[str]) -> str:
            if not codes:
                return "0"
            whens = " ".join(f"WHEN {literal(c)} THEN {i}" for i, c in enumerate(codes))
            return f"CASE {column} {whens} ELSE {len(codes)} END"

        # PostgreSQL's integer would overflow once multiplied.
        response = "response_id" if sqlite else "CAST(response_id AS BIGINT)"

        where = (
            f"FROM answer WHERE question_id = {marker} "
            f"AND response_id BETWEEN {marker} AND {marker}"
        )
        self.questions: dict[int, _Question] = {}
        for j, slot in enumerate(slots):
            if slot is None:
                continue
            question = self.questions.get(slot.question_id)
            if question is None:
                question = _Question(slot.question_id, slot.question_type)
                self.questions[slot.question_id] = question
            question.columns[slot.sub] = j
        for question in self.questions.values():
            kind = question.type
            if kind in _VALUES:
                value = "number" if kind in NUMERIC_TYPES else "text"
                question.sql = f'SELECT response_id, "{value}" {where}'
                continue
            if kind in _CODES or kind == QuestionType.GRID:
                found = db.session.get(Question, question.id)
                question.codes = [o.code for o in found.choices] if found is not None else []
            packed = response
            if kind != QuestionType.GRID and kind not in _CODES:
                question.sub_base = len(question.subs) + 1
                sub = numbered("option_code", question.subs)
                packed = f"{packed} * {question.sub_base} + {sub}"
            if kind == QuestionType.GRID:
                question.sub_base = len(question.subs) + 1
                sub = numbered("item_code", question.subs)
                packed = f"({packed} * {question.sub_base} + {sub})"
            if kind == QuestionType.GRID or kind in _CODES:
                question.code_base = len(question.codes) + 1
                code = numbered("option_code", question.codes)
                packed = f"{packed} * {question.code_base} + {code}"
            parts = [packed]
            if kind == QuestionType.RANKING:
                parts.append("coalesce(CAST(\"rank\" AS TEXT), 'nan')")
            question.sql = f"SELECT {', '.join(concat(p) for p in parts)} {where}"
        self.rows_sql = f'SELECT response_id, item_code, option_code, "rank" {where}'

    def answers(self, cursor: Any, question: _Question, first: int, last: int) -> _Answers | None:
        """The question's answers from the responses with ids first..last."""
        params = (question.id, first, last)
        cursor.execute(question.sql, params)
        if question.type in _VALUES:
            found, values = _columns(cursor, 2)
            if not found:
                return None
            return _Answers(np.array(found, dtype=np.int64), values=_objects(values))
        row = cursor.fetchone()
        if row is None or row[0] is None:
            return None
        packed = np.fromstring(row[0], dtype=np.int64, sep=",")
        code = sub = ranks = None
        if question.type == QuestionType.GRID or question.type in _CODES:
            packed, code = np.divmod(packed, question.code_base)
            if (code == question.code_base - 1).any():
                return self._rows(cursor, question, params)
        if question.type not in _CODES:
            packed, sub = np.divmod(packed, question.sub_base)
            sub[sub == question.sub_base - 1] = -1
        if question.type == QuestionType.RANKING:
            ranks = np.fromstring(row[1], dtype=np.float64, sep=",")
            if len(ranks) != len(packed):
                return self._rows(cursor, question, params)
        return _Answers(packed, sub=sub, code=code, values=ranks)

    def _rows(self, cursor: Any, question: _Question, params: Sequence[Any]) -> _Answers | None:
        """The question's answers as rows: codes outside the questionnaire
        (or anything else the numbered read could not place) kept as stored."""
        cursor.execute(self.rows_sql, params)
        found, items, codes, ranks = (_objects(c) for c in _columns(cursor, 4))
        if not len(found):
            return None
        ids = np.array(found.tolist(), dtype=np.int64)
        number = {s: k for k, s in enumerate(question.subs)}
        if question.type in _CODES:
            return _Answers(ids, code=question.number(codes))
        if question.type == QuestionType.GRID:
            sub = np.array([number.get(i, -1) for i in items], dtype=np.int64)
            return _Answers(ids, sub=sub, code=question.number(codes))
        sub = np.array([number.get(c, -1) for c in codes], dtype=np.int64)
        if question.type == QuestionType.RANKING:
            rank = np.array([np.nan if r is None else r for r in ranks], dtype=np.float64)
            return _Answers(ids, sub=sub, values=rank)
        return _Answers(ids, sub=sub)

    def fill(self, cursor: Any, rids: np.ndarray, out: np.ndarray) -> None:
        """The answers of the responses `rids` (in id order) into `out`, a
        row per response and a column per slot (see `AnswerChunk`)."""
        first, last = int(rids[0]), int(rids[-1])
        as_text = self.as_text
        for question in self.questions.values():
            found = self.answers(cursor, question, first, last)
            if found is None:
                continue
            position, keep = _positions(rids, found.ids)
            if question.type in _VALUES:
                values = found.values
                assert values is not None
                if as_text:
                    values = _objects(["" if v is None else str(v) for v in values])
                out[position[keep], question.columns[""]] = values[keep]
                continue
            if question.type in _CODES:
                assert found.code is not None
                out[position[keep], question.columns[""]] = question.labels()[found.code[keep]]
                continue
            assert found.sub is not None
            chosen = np.flatnonzero(keep & (found.sub >= 0))
            rows, columns = position[chosen], question.slot_of()[found.sub[chosen]]
            if question.type == QuestionType.GRID:
                assert found.code is not None
                out[rows, columns] = question.labels()[found.code[chosen]]
            elif question.type == QuestionType.MULTIPLE:
                # A question answered with any of its options is a 0 in the
                # options not ticked, not a blank.
                answered = np.unique(rows)
                flags = np.array(sorted(question.columns.values()), dtype=np.int64)
                out[np.ix_(answered, flags)] = "0" if as_text else 0
                out[rows, columns] = "1" if as_text else 1
            else:
                assert found.values is not None
                which, distinct = pd.factorize(found.values[chosen], use_na_sentinel=False)
                ranks: list[Any] = [None if np.isnan(r) else int(r) for r in distinct]
                if as_text:
                    ranks = ["" if r is None else str(r) for r in ranks]
                out[rows, columns] = _objects(ranks)[which]

    def read(
        self,
        survey: Survey,
        statuses: Sequence[str],
        chunk_size: int,
        facts: bool = True,
    ) -> Iterator[AnswerChunk]:
        connection = db.session.connection()
        where, params = _responses_where(connection, survey, statuses)
        if not facts:
            # The ids alone, at once (8 bytes a response): the facts are most
            # of a row's size, and the times are parsed one by one.
            yield from self._answers_only(connection, f"SELECT id {where}", params, chunk_size)
            return
        # Rows as the driver gives them: SQLAlchemy's processing of each row
        # cost a tenth of an export. The time is parsed as SQLAlchemy would.
        responses = connection.exec_driver_sql(
            "SELECT id, reference, language, channel, submitted_at, special_consent " + where,
            params,
            execution_options={"stream_results": True, "yield_per": chunk_size},
        )
        parse = _time_parser(connection)
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


def _columns(cursor: Any, width: int) -> list[list[Any]]:
    """The rows of the statement `cursor` ran, as `width` columns. A few
    thousand rows at a time: a hundred thousand row tuples alive at once
    made the garbage collector walk every object in the process, five times
    a read, most of the Python time of reading numbers and the facts."""
    columns: list[list[Any]] = [[] for _ in range(width)]
    while rows := cursor.fetchmany(CHUNK_SIZE):
        for column, values in zip(columns, zip(*rows, strict=True), strict=True):
            column.extend(values)
    return columns


def _responses_where(
    connection: Any, survey: Survey, statuses: Sequence[str]
) -> tuple[str, tuple[Any, ...]]:
    """The survey's responses with these statuses, in id order: the end of
    a statement for the driver, and its parameters."""
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    where = (
        f"FROM response WHERE survey_id = {marker} "
        f"AND status IN ({', '.join([marker] * len(statuses))}) ORDER BY id"
    )
    return where, (survey.id, *statuses)


def _time_parser(connection: Any) -> Any:
    """How SQLAlchemy reads a stored response time on this database."""
    column = Response.__table__.c.submitted_at
    return column.type.dialect_impl(connection.dialect).result_processor(connection.dialect, None)


def _time(value: Any, parse: Any, as_text: bool) -> Any:
    """A stored time as SQLAlchemy would read it (`parse`), or as text."""
    if as_text and isinstance(value, str) and _STORED_TIME.fullmatch(value):
        return value[:19]
    if parse is not None and value is not None:
        value = parse(value)
    if not as_text:
        return value
    return timestamp_text(value) or ""


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

#: Responses whose answers a frame reads per statement: the strings of one
#: question's answers stay a few megabytes, and the statements few.
FRAME_CHUNK_SIZE = 25_000
_FLOATS = NUMERIC_TYPES | {QuestionType.MULTIPLE, QuestionType.RANKING}


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
    connection = db.session.connection()
    reader = _AnswerReader(slots, connection.dialect.name, False, np.nan)
    where, params = _responses_where(connection, survey, statuses)
    # Every column is one array, filled a question at a time: codes as
    # numbers into the question's codes (-1: no answer), the rest as floats
    # (NaN: no answer) or objects.
    kinds = [
        "float" if q.type in _FLOATS else ("object" if q.type in _VALUES else "code")
        for q, _ in columns
    ]
    place = np.zeros(len(columns), dtype=np.int64)
    width = dict.fromkeys(("float", "code", "object"), 0)
    for j, kind in enumerate(kinds):
        place[j] = width[kind]
        width[kind] += 1
    cursor = connection.connection.cursor()
    try:
        cursor.execute(f"SELECT id, reference, language, channel, submitted_at {where}", params)
        facts = _columns(cursor, 5)
        ids = np.array(facts[0], dtype=np.int64)
        floats = np.full((width["float"], len(ids)), np.nan)
        codes = np.full((width["code"], len(ids)), -1, dtype=np.int64)
        objects = np.full((width["object"], len(ids)), np.nan, dtype=object)
        row_of = _row_finder(ids)
        for start in range(0, len(ids), FRAME_CHUNK_SIZE):
            rids = ids[start : start + FRAME_CHUNK_SIZE]
            for question in reader.questions.values():
                found = reader.answers(cursor, question, int(rids[0]), int(rids[-1]))
                if found is None:
                    continue
                position, keep = row_of(found.ids)
                if found.sub is None:
                    j = question.columns[""]
                    if kinds[j] == "code":
                        assert found.code is not None
                        codes[place[j], position[keep]] = found.code[keep]
                    else:
                        assert found.values is not None
                        values = found.values[keep]
                        target = floats if kinds[j] == "float" else objects
                        target[place[j], position[keep]] = values
                    continue
                chosen = np.flatnonzero(keep & (found.sub >= 0))
                rows = position[chosen]
                at = place[question.slot_of()[found.sub[chosen]]]
                if question.type == QuestionType.GRID:
                    assert found.code is not None
                    codes[at, rows] = found.code[chosen]
                elif question.type == QuestionType.MULTIPLE:
                    # Answered with any option: 0 in the options not ticked.
                    answered = np.zeros(len(ids), dtype=bool)
                    answered[rows] = True
                    for k in place[list(question.columns.values())]:
                        floats[k, answered] = 0.0
                    floats[at, rows] = 1.0
                else:
                    assert found.values is not None
                    floats[at, rows] = found.values[chosen]
    finally:
        cursor.close()
    parse = _time_parser(connection)
    index = pd.Index(ids, name="response_id", dtype="int64")
    data: dict[str, pd.Series] = {
        name: pd.Series(facts[k], index=index, dtype="object")
        for k, name in enumerate(META_COLUMNS[:3], start=1)
    }
    data["resp_submitted_at"] = pd.Series([_time(t, parse, False) for t in facts[4]], index=index)
    for j, (asked, column) in enumerate(columns):
        if kinds[j] == "float":
            data[column.name] = pd.Series(floats[place[j]], index=index, dtype="float64")
        elif kinds[j] == "code":
            # -1 (no answer) picks the last label: NaN.
            labels = _objects([*reader.questions[asked.id].codes, np.nan])
            data[column.name] = pd.Series(labels[codes[place[j]]], index=index, dtype="object")
        else:
            data[column.name] = pd.Series(objects[place[j]], index=index, dtype="object")
    return pd.DataFrame(data, index=index)


def _row_finder(ids: np.ndarray) -> Any:
    """`_positions` against the whole frame's ids (sorted), by a table of
    rows indexed by id where the ids are dense enough (a binary search per
    answer was a tenth of the read), else by binary search."""
    if not len(ids) or int(ids[-1]) - int(ids[0]) > 4 * len(ids):
        return lambda found: _positions(ids, found)
    first = int(ids[0])
    table = np.full(int(ids[-1]) - first + 1, -1, dtype=np.int64)
    table[ids - first] = np.arange(len(ids))

    def find(found: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # Answer ids lie within first..last: the statements read that range.
        position = table[found - first]
        keep = position >= 0
        return np.where(keep, position, 0), keep

    return find


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
