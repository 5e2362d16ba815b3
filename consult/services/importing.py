"""Importing responses from a file: a contractor's keyed paper forms, or
results moved in from SmartSurvey, LimeSurvey or KoboToolbox.

The file is CSV or Excel with one row per response and the columns of our
own CSV export (`consult.services.exports`): a question's key, or
`key__code` for each option of a multiple-choice or ranking question and
`key__item` for each row of a grid. A cell holds an option code, its label
in any language the survey offers, or the number printed beside it on the
paper questionnaire; ticks are 1/0 (or yes/no, x), ranks are numbers.
Optional columns: `external_id` (our export's `resp_reference` counts as
one), `language`, `submitted_at`, `channel` and `consent` (yes/no: whether
the resident agreed to the special-category questions; our export's
`resp_special_consent` counts as one, blank where the resident was not asked).

The import is all or nothing. Every row is checked by the same rules as an
online answer (`answers.parse_answer`) and against the routing
(`path.compute_path`); every problem is reported with its line and column,
and nothing is stored unless the whole file is right. A row is stored once
per survey: keyed on its `external_id`, or on a digest of the row where the
file has none, so importing the same file twice stores nothing new."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask_babel import force_locale
from sqlalchemy import select

from ..extensions import db
from ..i18n import LANGUAGES
from ..models import (
    Channel,
    Question,
    QuestionType,
    Response,
    ResponseStatus,
    Survey,
    SurveyStatus,
    User,
)
from . import ServiceError
from .answers import AnswerInvalid, AnswerTampered, ParsedAnswer, answer_rows, parse_answer
from .audit import record
from .content import SurveyTexts
from .path import compute_path, is_special, ordered_questions
from .responses import new_reference, now_utc

MAX_ROWS = 100_000
MAX_EXTERNAL_ID = 64
# What the --channel option and a `channel` column may say, and what is stored.
CHANNELS = {
    "paper": Channel.PAPER,
    "online": Channel.ONLINE,
    "face_to_face": Channel.ASSISTED,
    "assisted": Channel.ASSISTED,
    "kiosk": Channel.KIOSK,
    "imported": Channel.IMPORTED,
}
# Meta columns, and the names our own export gives them.
META_ALIASES = {
    "external_id": "external_id",
    "resp_reference": "external_id",
    "language": "language",
    "resp_language": "language",
    "submitted_at": "submitted_at",
    "resp_submitted_at": "submitted_at",
    "channel": "channel",
    "resp_channel": "channel",
    "consent": "consent",
    "special_consent": "consent",
    "resp_special_consent": "consent",
}
# Columns consult works out itself; an export carries them, an import ignores them.
DERIVED = {"weight"}
YES = {"yes", "y", "true", "1", "x", "ticked", "chosen"}
NO = {"no", "n", "false", "0", ""}
SPLIT = re.compile(r"\s*[;|]\s*")
EXCEL_EPOCH = datetime(1899, 12, 30)
# Answers that are one option code per field: checked by the column mapping.
SIMPLE_TYPES = frozenset(
    {QuestionType.SINGLE, QuestionType.SCALE, QuestionType.AREA, QuestionType.GRID}
)


@dataclass(frozen=True)
class Problem:
    line: int  # the line of the file (1 = the header)
    column: str  # the column's name as the file spells it ("" = the whole row)
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


@dataclass
class ImportReport:
    rows: int = 0  # data rows read (blank rows at the end are not rows)
    stored: int = 0  # new responses stored (or that would be, on a dry run)
    already: int = 0  # rows imported before: nothing stored for them
    dry_run: bool = False
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class ImportRefused(ServiceError):
    def __init__(self, report: ImportReport) -> None:
        super().__init__(
            f"The file has {len(report.problems)} problem(s); nothing was imported. "
            "Correct them and import the whole file again."
        )
        self.report = report


# --- reading the file ----------------------------------------------------------------------
# Kept apart from the rules below: it turns bytes into a header and numbered
# rows of cells, and nothing else.


def read_table(content: bytes, filename: str) -> tuple[list[str], list[tuple[int, list[Any]]]]:
    """The header and the data rows (with their line numbers) of a CSV or
    XLSX file. Trailing blank rows are dropped; blank rows in between are kept
    as rows so line numbers stay those a spreadsheet shows."""
    if filename.lower().endswith(".xlsx") or content[:4] == b"PK\x03\x04":
        rows = _xlsx_rows(content)
    else:
        rows = _csv_rows(content)
    while rows and all(_blank(c) for c in rows[-1][1]):
        rows.pop()
    if not rows:
        raise ServiceError("The file is empty", field="file")
    header_line, header = rows[0]
    names = [_text(c) for c in header]
    while names and not names[-1]:
        names.pop()
    return names, rows[1:]


def _csv_rows(content: bytes) -> list[tuple[int, list[Any]]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel's "CSV" (not "CSV UTF-8") on Windows writes Windows-1252.
        text = content.decode("cp1252", errors="replace")
    first = text.split("\n", 1)[0]
    # Excel in much of Europe writes ";" between cells, some tools a tab.
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    line = 1
    try:
        for cells in reader:
            rows.append((line, cells))
            line = reader.line_num + 1
            if len(rows) > MAX_ROWS + 1:
                raise ServiceError(f"The file has more than {MAX_ROWS:,} rows", field="file")
    except csv.Error as error:
        raise ServiceError(f"line {line}: the file is not readable CSV ({error})") from None
    return rows


def _xlsx_rows(content: bytes) -> list[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many types for a file that is not a workbook
        raise ServiceError("The file is not an Excel workbook (.xlsx) or a CSV file") from None
    try:
        sheet = workbook[workbook.sheetnames[0]]
        rows = []
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            rows.append((number, list(cells)))
            if number > MAX_ROWS + 1:
                raise ServiceError(f"The file has more than {MAX_ROWS:,} rows", field="file")
    finally:
        workbook.close()
    return rows


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip() if value.isascii() else unicodedata.normalize("NFC", value).strip()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFC", str(value)).strip()


def _fold(value: str) -> str:
    return " ".join(unicodedata.normalize("NFC", value).casefold().split())


# --- what each column means ----------------------------------------------------------------


@dataclass
class _Column:
    index: int
    name: str
    kind: str  # meta | value | flag | rank | item | ignored
    question: Question | None = None
    sub: str = ""  # option code (flag, rank) or grid item
    meta: str = ""


class _Values:
    """Per question: what a cell may say, folded, to the option code."""

    def __init__(self, survey: Survey, questions: list[Question]) -> None:
        texts = self.texts = SurveyTexts(survey)
        self.codes: dict[int, dict[str, str]] = {}
        for question in questions:
            lookup: dict[str, str] = {}
            # Printed numbers first, then labels, then codes: a later kind wins,
            # so a code is never mistaken for a label that spells another code.
            for number, option in enumerate(question.choices, start=1):
                lookup[str(number)] = option.code
            for language in survey.languages:
                for option in question.choices:
                    if texts.has(f"o.{question.key}.{option.code}", language):
                        label = texts.option(question, option.code, language)
                        lookup[_fold(label)] = option.code
            for option in question.choices:
                lookup[option.code.casefold()] = option.code
            self.codes[question.id] = lookup

    def code(self, question: Question, raw: str) -> str | None:
        return self.codes[question.id].get(_fold(raw))


def _columns(
    survey: Survey, header: list[str], questions: list[Question]
) -> tuple[list[_Column], list[Problem], list[str]]:
    by_key = {q.key: q for q in questions}
    subs: dict[str, tuple[Question, str]] = {}
    for question in questions:
        if question.type in (QuestionType.MULTIPLE, QuestionType.RANKING):
            for option in question.choices:
                subs[f"{question.key}__{option.code}"] = (question, option.code)
        elif question.type == QuestionType.GRID:
            for item in question.items:
                subs[f"{question.key}__{item.code}"] = (question, item.code)
    columns: list[_Column] = []
    problems: list[Problem] = []
    notes: list[str] = []
    seen: dict[str, str] = {}
    for index, raw in enumerate(header):
        name = raw.strip()
        lowered = name.lower()
        if not name:
            problems.append(
                Problem(1, f"#{index + 1}", "the column has no name; name it or delete it")
            )
            continue
        if lowered in seen:
            problems.append(Problem(1, name, f"the column appears twice (also as {seen[lowered]})"))
            continue
        seen[lowered] = name
        if lowered in META_ALIASES:
            meta = META_ALIASES[lowered]
            if any(c.meta == meta for c in columns):
                problems.append(Problem(1, name, f"there is already a column for {meta}"))
                continue
            columns.append(_Column(index, name, "meta", meta=meta))
        elif lowered in DERIVED:
            columns.append(_Column(index, name, "ignored"))
            notes.append(f"column {name}: consult works out the weights itself; ignored")
        elif name in by_key:
            question = by_key[name]
            if question.type == QuestionType.GRID:
                problems.append(
                    Problem(
                        1,
                        name,
                        f"{name} is a grid: give one column per row, named {name}__<row code>",
                    )
                )
                continue
            if question.type == QuestionType.RANKING:
                problems.append(
                    Problem(
                        1,
                        name,
                        f"{name} is a ranking: give one column per answer, named "
                        f"{name}__<code>, holding its rank",
                    )
                )
                continue
            columns.append(_Column(index, name, "value", question))
        elif name in subs:
            question, sub = subs[name]
            kind = {
                QuestionType.MULTIPLE: "flag",
                QuestionType.RANKING: "rank",
                QuestionType.GRID: "item",
            }[QuestionType(question.type)]
            columns.append(_Column(index, name, kind, question, sub))
        else:
            problems.append(
                Problem(1, name, f"{name!r} is not a question key of the survey {survey.slug}")
            )
    keys_by_kind: dict[str, set[str]] = {}
    for column in columns:
        if column.question is not None:
            keys_by_kind.setdefault(column.question.key, set()).add(column.kind)
    for key, kinds in keys_by_kind.items():
        if "value" in kinds and "flag" in kinds:
            problems.append(
                Problem(1, key, f"{key} has both a single column and {key}__<code> columns")
            )
    return columns, problems, notes


# --- one row -------------------------------------------------------------------------------


@dataclass
class _Row:
    line: int
    external_id: str
    language: str
    channel: str
    submitted_at: datetime
    consent: bool | None
    answers: dict[int, tuple[Question, ParsedAnswer]]
    digest: str


class _Section:
    def __init__(self, position: int, kind: str) -> None:
        self.position = position
        self.kind = kind


class _Choice:
    def __init__(self, code: str, exclusive: bool, is_missing: bool, position: int) -> None:
        self.code = code
        self.exclusive = exclusive
        self.is_missing = is_missing
        self.position = position


class _QuestionView:
    """What the answer rules and the routing read of a question, copied once
    into plain attributes: the rules run for every cell of the file, and
    reading ORM attributes ten thousand times over costs more than the rules.
    Seen as optional: a blank cell is "no answer", as on a paper form."""

    required = False

    def __init__(self, question: Question) -> None:
        self.id = question.id
        self.survey_id = question.survey_id
        self.key = question.key
        self.type = question.type
        self.position = question.position
        self.show_if = question.show_if
        self.demographic = question.demographic
        self.special_category = question.special_category
        self.adults_only = question.adults_only
        self.settings = dict(question.settings or {})
        section = question.section
        self.section = _Section(section.position, section.kind) if section is not None else None
        self.choices = [
            _Choice(o.code, o.exclusive, o.is_missing, o.position) for o in question.choices
        ]
        self.items = [
            _Choice(o.code, o.exclusive, o.is_missing, o.position) for o in question.items
        ]


def _condition_sources(condition: Any) -> set[str]:
    if not isinstance(condition, dict):
        return set()
    found: set[str] = set()
    for part in (condition.get("all") or []) + (condition.get("any") or []):
        found |= _condition_sources(part)
    found |= _condition_sources(condition.get("not"))
    if isinstance(condition.get("question"), str):
        found.add(condition["question"])
    return found


def _signature(answer: ParsedAnswer | None) -> Any:
    if answer is None:
        return None
    return (answer.codes, tuple(sorted(answer.items.items())), answer.text, answer.number)


def parse_when(value: Any) -> datetime | None:
    """A time as other tools write it: ISO 8601, `dd/mm/yyyy [hh:mm[:ss]]`
    (UK order), an Excel serial number, or a cell Excel typed as a date.
    Times without a zone are UTC. None: not a time."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=UTC)
    text = _text(value)
    if not text:
        return None
    if re.fullmatch(r"\d{5}([.,]\d+)?", text):
        # Excel's day count; a decimal comma where Excel writes one (Poland, …).
        serial = float(text.replace(",", "."))
        if 20_000 <= serial <= 80_000:  # 1954 to 2119
            return (EXCEL_EPOCH + timedelta(days=serial)).replace(tzinfo=UTC)
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except ValueError:
        pass
    match = re.fullmatch(
        r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?", text
    )
    if match:
        day, month, year, hour, minute, second = match.groups()
        try:
            return datetime(
                int(year),
                int(month),
                int(day),
                int(hour or 0),
                int(minute or 0),
                int(second or 0),
                tzinfo=UTC,
            )
        except ValueError:
            return None
    return None


class _Checker:
    def __init__(self, survey: Survey, columns: list[_Column], default_channel: str) -> None:
        self.survey = survey
        self.columns = columns
        self.questions: list[Any] = [_QuestionView(q) for q in ordered_questions(survey.questions)]
        self.values = _Values(survey, self.questions)
        self.default_channel = default_channel
        self.now = now_utc()
        self.languages = {code: code for code in survey.languages}
        for code in survey.languages:
            self.languages[LANGUAGES[code].english_name.casefold()] = code
        self.routing_sources = sorted(
            {key for q in self.questions for key in _condition_sources(q.show_if)}
            | {q.key for q in self.questions if q.demographic == "age_band"}
        )
        self.paths: dict[tuple[Any, ...], frozenset[str]] = {}
        self.by_question: dict[int, list[_Column]] = {}
        for column in columns:
            if column.question is not None:
                self.by_question.setdefault(column.question.id, []).append(column)

    def row(self, line: int, cells: list[Any], problems: list[Problem]) -> _Row | None:
        start = len(problems)

        def cell(column: _Column) -> Any:
            return cells[column.index] if column.index < len(cells) else None

        meta: dict[str, tuple[_Column, Any]] = {
            c.meta: (c, cell(c)) for c in self.columns if c.kind == "meta"
        }
        external_id = ""
        if "external_id" in meta:
            column, value = meta["external_id"]
            external_id = _text(value)
            if len(external_id) > MAX_EXTERNAL_ID:
                problems.append(
                    Problem(line, column.name, f"longer than {MAX_EXTERNAL_ID} characters")
                )
        language = self.survey.default_language
        if "language" in meta:
            column, value = meta["language"]
            text = _text(value)
            if text:
                found = self.languages.get(text) or self.languages.get(text.casefold())
                if found is None:
                    problems.append(
                        Problem(
                            line,
                            column.name,
                            f"{text!r} is not a language of this survey "
                            f"({', '.join(self.survey.languages)})",
                        )
                    )
                else:
                    language = found
        channel = self.default_channel
        if "channel" in meta:
            column, value = meta["channel"]
            text = _text(value).lower().replace(" ", "_").replace("-", "_")
            if text:
                if text not in CHANNELS:
                    problems.append(
                        Problem(
                            line,
                            column.name,
                            f"{_text(value)!r} is not a channel "
                            "(paper, online, face_to_face or imported)",
                        )
                    )
                else:
                    channel = CHANNELS[text]
        submitted_at = self.now
        if "submitted_at" in meta:
            column, value = meta["submitted_at"]
            if not _blank(value):
                when = parse_when(value)
                if when is None:
                    problems.append(
                        Problem(
                            line,
                            column.name,
                            f"{_text(value)!r} is not a date and time "
                            "(like 2026-05-31 14:05 or 31/05/2026 14:05)",
                        )
                    )
                elif when > self.now + timedelta(days=1):
                    problems.append(Problem(line, column.name, "the date is in the future"))
                else:
                    submitted_at = when
        consent: bool | None = None
        if "consent" in meta:
            column, value = meta["consent"]
            text = _text(value).casefold()
            if text in YES - {"x", "ticked", "chosen"}:
                consent = True
            elif text in ("no", "n", "false", "0"):
                consent = False
            elif text:
                problems.append(Problem(line, column.name, f"{_text(value)!r}: write yes or no"))

        answers: dict[int, tuple[Question, ParsedAnswer]] = {}
        answer_columns: dict[str, _Column] = {}
        for question in self.questions:
            columns = self.by_question.get(question.id)
            if not columns:
                continue
            if question.type in SIMPLE_TYPES:
                # One option code per cell, looked up among the question's own
                # options (`_Values`): what parse_answer would accept, without
                # the cost of posting it through the form rules.
                lookup = self.values.codes[question.id]
                chosen: dict[str, str] = {}
                for column in columns:
                    raw = _text(cell(column))
                    if not raw:
                        continue
                    code = lookup.get(raw) or lookup.get(_fold(raw))
                    if code is None:
                        problems.append(Problem(line, column.name, self._unknown(question, raw)))
                    else:
                        chosen[column.sub] = code
                answer_columns[question.key] = columns[0]
                if chosen and question.type == QuestionType.GRID:
                    answers[question.id] = (question, ParsedAnswer(items=chosen))
                elif chosen:
                    answers[question.id] = (question, ParsedAnswer(codes=(chosen[""],)))
                continue
            posted, first = self._posted(question, columns, cell, line, problems)
            if first is None:
                continue
            answer_columns[question.key] = first
            if not posted:
                continue
            try:
                # The caller holds one English locale for the whole file.
                parsed = parse_answer(question, posted, "", self.values.texts)
            except AnswerInvalid as error:
                problems.append(Problem(line, first.name, error.errors[0].message))
                continue
            except AnswerTampered as error:
                problems.append(Problem(line, first.name, error.message))
                continue
            if not parsed.is_empty:
                answers[question.id] = (question, parsed)

        special = [q for q, _a in answers.values() if is_special(q)]
        if special and consent is not True:
            names = ", ".join(q.key for q in special)
            problems.append(
                Problem(
                    line,
                    "consent" if "consent" not in meta else meta["consent"][0].name,
                    f"answers are given to special-category questions ({names}) but the row "
                    "does not say the resident agreed to them: write yes in a consent column, "
                    "or leave those answers blank",
                )
            )
        else:
            skipped = self._skipped(answers, consent)
            for question in self.questions:
                if question.id in answers and question.key in skipped:
                    problems.append(
                        Problem(
                            line,
                            answer_columns[question.key].name,
                            f"{question.key} is not asked after this row's earlier answers "
                            "(the routing skips it), so it cannot have an answer",
                        )
                    )
        if len(problems) > start:
            return None
        digest_source = "\x1f".join("" if c is None else str(c) for c in cells)
        return _Row(
            line,
            external_id,
            language,
            channel,
            submitted_at,
            consent,
            answers,
            hashlib.sha256(digest_source.encode("utf-8")).hexdigest(),
        )

    def _skipped(
        self, answers: dict[int, tuple[Any, ParsedAnswer]], consent: bool | None
    ) -> frozenset[str]:
        """Keys of the questions the routing skips for these answers. The
        path depends only on the answers conditions (and the under-16 rule)
        look at, so rows that agree on those share one computed path."""
        by_key = {q.key: a for q, a in answers.values()}
        signature = (consent,) + tuple(_signature(by_key.get(key)) for key in self.routing_sources)
        skipped = self.paths.get(signature)
        if skipped is None:
            path = compute_path(self.questions, by_key, consent)
            skipped = frozenset(q.key for q in path.skipped)
            self.paths[signature] = skipped
        return skipped

    def _posted(
        self,
        question: Question,
        columns: list[_Column],
        cell: Any,
        line: int,
        problems: list[Problem],
    ) -> tuple[dict[str, list[str]], _Column | None]:
        """The values the online form would post for this question's cells."""
        key = question.key
        qtype = question.type
        posted: dict[str, list[str]] = {}
        failed = False
        for column in columns:
            raw = _text(cell(column))
            if column.kind == "value":
                if not raw:
                    continue
                if qtype in (QuestionType.TEXT, QuestionType.NUMBER):
                    posted[key] = [raw]
                    continue
                parts = [raw] if qtype != QuestionType.MULTIPLE else SPLIT.split(raw)
                if qtype == QuestionType.MULTIPLE and len(parts) == 1:
                    # One answer, or a label that holds a ";" itself.
                    parts = [raw] if self.values.code(question, raw) else parts
                for part in parts:
                    code = self.values.code(question, part)
                    if code is None:
                        problems.append(Problem(line, column.name, self._unknown(question, part)))
                        failed = True
                    else:
                        posted.setdefault(key, []).append(code)
            elif column.kind == "flag":
                folded = raw.casefold()
                if folded in YES:
                    posted.setdefault(key, []).append(column.sub)
                elif folded not in NO:
                    problems.append(
                        Problem(line, column.name, f"{raw!r}: write 1 if ticked, 0 or blank if not")
                    )
                    failed = True
            elif column.kind == "item":
                if not raw:
                    continue
                code = self.values.code(question, raw)
                if code is None:
                    problems.append(Problem(line, column.name, self._unknown(question, raw)))
                    failed = True
                else:
                    posted[f"{key}-{column.sub}"] = [code]
            elif column.kind == "rank":
                if not raw:
                    continue
                try:
                    rank = int(float(raw))
                    if rank != float(raw) or rank < 1:
                        raise ValueError
                except ValueError:
                    problems.append(
                        Problem(line, column.name, f"{raw!r}: write the rank, 1 for first")
                    )
                    failed = True
                    continue
                field_name = f"{key}-rank-{rank}"
                if field_name in posted:
                    problems.append(
                        Problem(line, column.name, f"two answers are both ranked {rank}")
                    )
                    failed = True
                posted[field_name] = [column.sub]
        if failed:
            return {}, None
        if qtype == QuestionType.RANKING and posted:
            # Gaps close up (ranks 1 and 3 are a first and a second), as online.
            ordered = sorted(posted.items(), key=lambda kv: int(kv[0].rsplit("-", 1)[1]))
            posted = {f"{key}-rank-{n}": v for n, (_k, v) in enumerate(ordered, start=1)}
        return posted, columns[0]

    def _unknown(self, question: Question, raw: str) -> str:
        codes = ", ".join(o.code for o in question.choices[:12])
        more = ", …" if len(question.choices) > 12 else ""
        return (
            f"{raw!r} is not an answer to {question.key} (give a code — {codes}{more} — "
            "its label in a language of the survey, or the number printed beside it)"
        )


# --- the import ----------------------------------------------------------------------------


def import_responses(
    survey: Survey,
    content: bytes,
    filename: str,
    *,
    channel: str = "imported",
    dry_run: bool = False,
    by: User | None = None,
) -> ImportReport:
    """Check the whole file, then store its new rows (unless `dry_run`).
    Raises `ImportRefused` (with every problem) and stores nothing when any
    row is wrong; the caller commits."""
    if survey.status not in (SurveyStatus.OPEN, SurveyStatus.CLOSED):
        raise ServiceError(
            "Responses can be imported only into an open or closed survey; this one is "
            f"{survey.status}. Open it (and close it again if it should take no online answers)."
        )
    if channel not in CHANNELS:
        raise ServiceError(
            "Choose the channel: paper, online, face_to_face or imported", field="channel"
        )
    header, rows = read_table(content, filename)
    report = ImportReport(dry_run=dry_run)
    columns, report.problems, report.notes = _columns(
        survey, header, ordered_questions(survey.questions)
    )
    if not any(c.question is not None for c in columns) and not report.problems:
        report.problems.append(Problem(1, "", "no column is a question key of this survey"))
    if report.problems:
        raise ImportRefused(report)
    checker = _Checker(survey, columns, CHANNELS[channel])
    parsed: list[_Row] = []
    # Messages in English (officer pages and the command line are English).
    with force_locale("en"):
        for line, cells in rows:
            if all(_blank(c) for c in cells):
                report.notes.append(f"line {line}: blank, skipped")
                continue
            if any(not _blank(c) for c in cells[len(header) :]):
                report.problems.append(
                    Problem(line, "", "the row has more cells than the header has columns")
                )
                continue
            row = checker.row(line, cells, report.problems)
            if row is not None:
                parsed.append(row)
            report.rows += 1
    # Keys: the external id, else the row's digest and how many identical
    # rows came before it (two residents may give the same answers).
    seen_ids: dict[str, int] = {}
    occurrences: dict[str, int] = {}
    keyed: list[tuple[_Row, str]] = []
    for row in parsed:
        if row.external_id:
            if row.external_id in seen_ids:
                report.problems.append(
                    Problem(
                        row.line,
                        next(c.name for c in columns if c.meta == "external_id"),
                        f"the external_id {row.external_id!r} is also on line "
                        f"{seen_ids[row.external_id]}",
                    )
                )
                continue
            seen_ids[row.external_id] = row.line
            keyed.append((row, f"id:{row.external_id}"))
        else:
            n = occurrences.get(row.digest, 0) + 1
            occurrences[row.digest] = n
            keyed.append((row, f"row:{row.digest[:60]}:{n}"))
    stored = dict(
        db.session.execute(
            select(Response.import_key, Response.import_digest).where(
                Response.survey_id == survey.id, Response.import_key.is_not(None)
            )
        ).all()
    )
    # Our own export names each response by its reference: a row of it
    # imported back into the same survey is already here.
    ids = [row.external_id for row, _key in keyed if row.external_id]
    references: set[str] = set()
    for start in range(0, len(ids), 500):
        references.update(
            db.session.scalars(
                select(Response.reference).where(
                    Response.survey_id == survey.id,
                    Response.reference.in_(ids[start : start + 500]),
                )
            )
        )
    new: list[tuple[_Row, str]] = []
    for row, key in keyed:
        if row.external_id in references:
            report.already += 1
            continue
        if key in stored:
            if stored[key] != row.digest:
                report.problems.append(
                    Problem(
                        row.line,
                        "",
                        f"the response {key[3:]!r} was imported before with different answers; "
                        "correct the stored response instead of importing it again",
                    )
                )
            else:
                report.already += 1
            continue
        new.append((row, key))
    if report.problems:
        report.problems.sort(key=lambda p: p.line)
        raise ImportRefused(report)
    report.stored = len(new)
    if dry_run or not new:
        return report
    _store(survey, new, by)
    record(
        "responses_imported",
        partnership_id=survey.partnership_id,
        user_id=by.id if by else None,
        target=f"survey:{survey.id}",
        details={
            "file": filename[-100:],
            "stored": report.stored,
            "already": report.already,
            "channel": str(CHANNELS[channel]),
        },
    )
    return report


def _store(survey: Survey, rows: list[tuple[_Row, str]], by: User | None) -> None:
    responses = []
    for row, key in rows:
        response = Response(
            survey_id=survey.id,
            reference=new_reference(survey),
            language=row.language,
            channel=row.channel,
            status=ResponseStatus.SUBMITTED,
            special_consent=row.consent,
            started_at=row.submitted_at,
            submitted_at=row.submitted_at,
            entered_by_id=by.id if by else None,
            import_key=key,
            import_digest=row.digest,
        )
        responses.append(response)
    db.session.add_all(responses)
    db.session.flush()
    values: list[tuple[Any, ...]] = []
    for (row, _key), response in zip(rows, responses, strict=True):
        for question, parsed in row.answers.values():
            for cells in answer_rows(question, parsed):
                values.append(
                    (
                        response.id,
                        question.id,
                        cells.get("item_code", ""),
                        cells.get("option_code", ""),
                        cells.get("rank"),
                        cells.get("number"),
                        cells.get("text"),
                    )
                )
    # Straight to the driver's executemany: tens of thousands of rows, and
    # building SQLAlchemy parameters for each costs more than the insert.
    mark = "?" if db.engine.dialect.paramstyle == "qmark" else "%s"
    sql = (
        "INSERT INTO answer (response_id, question_id, item_code, option_code, rank, number, "
        f"text) VALUES ({', '.join([mark] * 7)})"
    )
    connection = db.session.connection()
    for chunk in _chunks(values, 5000):
        connection.exec_driver_sql(sql, chunk)  # type: ignore[arg-type]


def _chunks(values: list[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
