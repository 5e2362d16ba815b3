"""Turning what a form posted into stored answers, and back.

The resident's question pages and the officer's paper-entry screen both go
through `parse_answer` (posted values -> `ParsedAnswer`, or a translated error)
and `store_answer` (which replaces whatever was stored for that question), so
the two channels can never disagree about what an answer is.

The storage contract (everybody relies on it):

* single / scale / area: one row, ``option_code``;
* multiple: one row per chosen code;
* grid: one row per item, ``item_code`` + ``option_code`` (the scale point);
* ranking: one row per ranked code, ``rank`` 1..N;
* text: ``text``; number and decimal: ``number``;
* date: ``text``, YYYY-MM-DD; postcode: ``option_code`` (the ward), and the
  postcode sector in ``text`` if the survey keeps it (see typed_answers).

Two kinds of bad input are told apart. `AnswerInvalid` is something a person
can do with the real form (nothing chosen, a number out of range, "None of
these" ticked beside another box): the page is shown again with GOV.UK error
messages. `AnswerTampered` is something the form cannot send (a code that is
not an option of this question, a grid row that does not exist, a fourth pick
on a top-three question): refused with a 400 and nothing stored."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Protocol

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete, select

from ..extensions import db
from ..models import NUMERIC_TYPES, Answer, Question, QuestionType, Response, ResponseStatus
from . import ServiceError
from .content import SurveyTexts, constraint_key

DEFAULT_TEXT_MAX = 2000
DEFAULT_TOP_N = 3
# Areas with more options than this are a drop-down list, not radios.
AREA_RADIOS_MAX = 25
# Control characters a keyboard does not type; NUL would also break PostgreSQL.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")


@dataclass(frozen=True)
class ParsedAnswer:
    """One question's answer, independent of language and of storage."""

    codes: tuple[str, ...] = ()  # chosen codes; for ranking, in rank order
    items: Mapping[str, str] = field(default_factory=dict)  # grid: item -> scale code
    text: str | None = None
    number: float | None = None

    @property
    def is_empty(self) -> bool:
        return not self.codes and not self.items and not self.text and self.number is None


EMPTY = ParsedAnswer()


@dataclass(frozen=True)
class FieldError:
    field_id: str  # the id of the input the error summary links to
    message: str
    item: str | None = None  # the grid item the error belongs to


class AnswerInvalid(ServiceError):
    """The answer can be corrected on the same page; `errors` say how."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(errors[0].message)
        self.errors = errors

    def for_item(self, item: str | None) -> str | None:
        for error in self.errors:
            if error.item == item:
                return error.message
        return None


class AnswerTampered(ServiceError):
    """The post could not have come from this question's form."""


# --- names and ids used by the forms -------------------------------------------------


def field_name(question: Question, item: str | None = None) -> str:
    return f"{question.key}-{item}" if item else question.key


def rank_field(question: Question, rank: int) -> str:
    return f"{question.key}-rank-{rank}"


def input_id(question: Question, code: str | None = None, item: str | None = None) -> str:
    """Stable ids: `safe_after_dark-very_safe`, `worry-burglary-very_worried`,
    `priorities-rank-1`, `comments`. Browser tests and the error summary use them."""
    parts = [question.key]
    if item:
        parts.append(item)
    if code:
        parts.append(code)
    return "-".join(parts)


def first_input_id(question: Question, item: str | None = None) -> str:
    qtype = question.type
    if qtype == QuestionType.RANKING:
        return rank_field(question, 1)
    if qtype in (QuestionType.TEXT, QuestionType.POSTCODE) or qtype in NUMERIC_TYPES:
        return question.key
    if qtype == QuestionType.DATE:
        return f"{question.key}-day"
    if uses_select(question):
        return question.key
    choices = question.choices
    return input_id(question, choices[0].code if choices else None, item)


def uses_select(question: Question) -> bool:
    return question.type == QuestionType.AREA and len(question.choices) > AREA_RADIOS_MAX


def top_n(question: Question) -> int:
    try:
        return max(1, int((question.settings or {}).get("top_n", DEFAULT_TOP_N)))
    except (TypeError, ValueError):
        return DEFAULT_TOP_N


def max_choices(question: Question) -> int | None:
    settings = question.settings or {}
    value = settings.get("max_choices", settings.get("top_n"))
    try:
        return int(value) if value else None
    except (TypeError, ValueError):
        return None


def text_max_length(question: Question) -> int:
    try:
        return max(1, int((question.settings or {}).get("max_length", DEFAULT_TEXT_MAX)))
    except (TypeError, ValueError):
        return DEFAULT_TEXT_MAX


def number_bounds(question: Question) -> tuple[float | None, float | None]:
    settings = question.settings or {}

    def as_float(value: Any) -> float | None:
        try:
            return float(value) if value is not None and value != "" else None
        except (TypeError, ValueError):
            return None

    return as_float(settings.get("min")), as_float(settings.get("max"))


def whole_numbers_only(question: Question) -> bool:
    return bool((question.settings or {}).get("integer", True))


# --- parsing --------------------------------------------------------------------------


class _Values:
    """A MultiDict, a plain dict of strings/lists, or anything with getlist."""

    def __init__(self, values: Any) -> None:
        self._values = values

    def getlist(self, name: str) -> list[str]:
        if hasattr(self._values, "getlist"):
            return [str(v) for v in self._values.getlist(name)]
        value = self._values.get(name) if isinstance(self._values, Mapping) else None
        if value is None:
            return []
        if isinstance(value, list | tuple):
            return [str(v) for v in value]
        return [str(value)]

    def keys(self) -> Iterable[str]:
        return list(self._values.keys())


def parse_answer(
    question: Question,
    values: Any,
    language: str = "en",
    texts: SurveyTexts | None = None,
) -> ParsedAnswer:
    """Read one question's answer from posted `values`. Raises `AnswerInvalid`
    (messages in `language`) or `AnswerTampered`; an optional question left
    blank gives an empty answer, which `store_answer` turns into "no answer"."""
    form = _Values(values)
    context = force_locale(language) if language else nullcontext()
    with context:
        parser = _PARSERS.get(question.type)
        if parser is None:
            raise AnswerTampered(_("This question cannot be answered here."))
        return parser(question, form, texts)


def _single_value(form: _Values, name: str) -> str:
    values = [v for v in form.getlist(name)]
    if len(values) > 1:
        raise AnswerTampered(_("More than one answer was sent for a question that takes one."))
    return values[0].strip() if values else ""


def _check_code(question: Question, code: str) -> None:
    if code not in {o.code for o in question.choices}:
        raise AnswerTampered(_("The answer sent is not one of this question's options."))


def _required(question: Question, message: str, item: str | None = None) -> AnswerInvalid:
    return AnswerInvalid([FieldError(first_input_id(question, item), message, item)])


def _parse_single(question: Question, form: _Values, texts: SurveyTexts | None) -> ParsedAnswer:
    code = _single_value(form, field_name(question))
    if not code:
        if question.required:
            raise _required(question, _("Select an answer"))
        return EMPTY
    _check_code(question, code)
    return ParsedAnswer(codes=(code,))


def _parse_multiple(question: Question, form: _Values, texts: SurveyTexts | None) -> ParsedAnswer:
    chosen = list(dict.fromkeys(v.strip() for v in form.getlist(field_name(question)) if v.strip()))
    for code in chosen:
        _check_code(question, code)
    if not chosen:
        if question.required:
            raise _required(question, _("Select at least one answer"))
        return EMPTY
    exclusive = [o for o in question.choices if o.exclusive and o.code in chosen]
    if exclusive and len(chosen) > 1:
        label = _label(question, exclusive[0].code, texts)
        raise AnswerInvalid(
            [
                FieldError(
                    input_id(question, exclusive[0].code),
                    _(
                        "Select ‘%(option)s’ on its own, or untick it and choose your answers",
                        option=label,
                    ),
                )
            ]
        )
    limit = max_choices(question)
    if limit is not None and len(chosen) > limit:
        raise _required(question, _("Select up to %(count)s answers", count=limit))
    order = {o.code: o.position for o in question.choices}
    return ParsedAnswer(codes=tuple(sorted(chosen, key=lambda c: order[c])))


def _parse_grid(question: Question, form: _Values, texts: SurveyTexts | None) -> ParsedAnswer:
    items = [o.code for o in question.items]
    prefix = f"{question.key}-"
    for name in form.keys():
        if name.startswith(prefix) and name[len(prefix) :] not in items:
            raise AnswerTampered(_("The answer sent is for a row this question does not have."))
    chosen: dict[str, str] = {}
    missing: list[FieldError] = []
    for item in items:
        code = _single_value(form, field_name(question, item))
        if code:
            _check_code(question, code)
            chosen[item] = code
        elif question.required:
            label = texts.item(question, item, _language(texts)) if texts else item
            missing.append(
                FieldError(
                    first_input_id(question, item),
                    _("Select an answer for ‘%(item)s’", item=label),
                    item,
                )
            )
    if missing:
        raise AnswerInvalid(missing)
    return ParsedAnswer(items=chosen)


def _parse_ranking(question: Question, form: _Values, texts: SurveyTexts | None) -> ParsedAnswer:
    allowed = top_n(question)
    prefix = f"{question.key}-rank-"
    for name in form.keys():
        if name.startswith(prefix):
            suffix = name[len(prefix) :]
            if not suffix.isdigit() or not 1 <= int(suffix) <= allowed:
                raise AnswerTampered(
                    _(
                        "More choices were sent than this question allows (%(count)s).",
                        count=allowed,
                    )
                )
    picks: list[str] = []
    for rank in range(1, allowed + 1):
        code = _single_value(form, rank_field(question, rank))
        if code:
            _check_code(question, code)
            picks.append(code)
    if not picks:
        if question.required:
            raise _required(question, _("Choose at least one"))
        return EMPTY
    seen: set[str] = set()
    for position, code in enumerate(picks):
        if code in seen:
            label = _label(question, code, texts)
            raise AnswerInvalid(
                [
                    FieldError(
                        rank_field(question, position + 1),
                        _(
                            "You chose ‘%(option)s’ more than once. Choose each one only once",
                            option=label,
                        ),
                    )
                ]
            )
        seen.add(code)
    exclusive = [o for o in question.choices if o.exclusive and o.code in seen]
    if exclusive and len(picks) > 1:
        label = _label(question, exclusive[0].code, texts)
        raise AnswerInvalid(
            [
                FieldError(
                    rank_field(question, 1),
                    _("Choose ‘%(option)s’ on its own, or choose your priorities", option=label),
                )
            ]
        )
    # Gaps (a 1st and a 3rd choice) close up: the order is what matters.
    return ParsedAnswer(codes=tuple(picks))


def clean_text(value: str) -> str:
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", _CONTROL.sub("", value)).strip()


def _parse_text(question: Question, form: _Values, texts: SurveyTexts | None) -> ParsedAnswer:
    value = clean_text(_single_value(form, field_name(question)))
    if not value:
        if question.required:
            raise _required(question, _("Enter an answer"))
        return EMPTY
    limit = text_max_length(question)
    if len(value) > limit:
        raise _required(
            question,
            _constraint_message(question, texts)
            or _("Your answer must be %(count)s characters or fewer", count=limit),
        )
    return ParsedAnswer(text=value)


def normalise_number(raw: str) -> str:
    """Digits from any script (Arabic-Indic, Bengali, Gujarati …) become ASCII;
    spaces and thousands separators go."""
    digits = "".join(
        str(unicodedata.decimal(ch))
        if ch.isdigit() and unicodedata.decimal(ch, None) is not None
        else ch
        for ch in raw.strip()
    )
    digits = digits.replace("\u066b", ".").replace("\u066c", ",")  # Arabic decimal/thousands
    digits = re.sub(r"[\s\u00a0\u202f']", "", digits)
    if _THOUSANDS.match(digits):
        digits = digits.replace(",", "")
    elif digits.count(",") == 1 and "." not in digits:
        digits = digits.replace(",", ".")  # a decimal comma, as in Polish
    return digits


def _parse_number(question: Question, form: _Values, texts: SurveyTexts | None) -> ParsedAnswer:
    raw = _single_value(form, field_name(question))
    if not raw:
        if question.required:
            raise _required(question, _("Enter a number"))
        return EMPTY
    value = normalise_number(raw)
    if not _NUMBER.match(value) or len(value) > 30:
        raise _required(question, _("Enter a number, like 5"))
    number = float(value)
    if not math.isfinite(number):
        raise _required(question, _("Enter a number, like 5"))
    if whole_numbers_only(question) and not number.is_integer():
        raise _required(question, _("Enter a whole number, like 5"))
    check_bounds(question, number, custom=_constraint_message(question, texts))
    return ParsedAnswer(number=number)


def check_bounds(question: Question, number: float, *, custom: str = "") -> None:
    """Refuse a number outside the question's bounds: with the survey's own
    message when it has one, else naming the bound that was crossed."""
    low, high = number_bounds(question)
    if (low is None or number >= low) and (high is None or number <= high):
        return
    if custom:
        raise _required(question, custom)
    if low is not None and high is not None:
        raise _required(
            question,
            _(
                "Enter a number between %(low)s and %(high)s",
                low=format_number(low),
                high=format_number(high),
            ),
        )
    if low is not None:
        raise _required(question, _("Enter a number of %(low)s or more", low=format_number(low)))
    assert high is not None
    raise _required(question, _("Enter a number of %(high)s or less", high=format_number(high)))


_PARSERS: dict[str, Callable[[Question, _Values, SurveyTexts | None], ParsedAnswer]] = {
    QuestionType.SINGLE: _parse_single,
    QuestionType.SCALE: _parse_single,
    QuestionType.AREA: _parse_single,
    QuestionType.MULTIPLE: _parse_multiple,
    QuestionType.GRID: _parse_grid,
    QuestionType.RANKING: _parse_ranking,
    QuestionType.TEXT: _parse_text,
    QuestionType.NUMBER: _parse_number,
}


def _constraint_message(question: Question, texts: SurveyTexts | None) -> str:
    """The survey's own message for an answer out of range or too long (an
    XLSForm constraint_message), in the resident's language; "" if none."""
    if texts is None:
        return ""
    return texts.get(constraint_key(question.key), _language(texts))


def _language(texts: SurveyTexts | None) -> str:
    from flask_babel import get_locale

    return str(get_locale() or (texts.survey.default_language if texts else "en"))


def _label(question: Question, code: str, texts: SurveyTexts | None) -> str:
    if texts is None:
        return code
    return texts.option(question, code, _language(texts))


def format_number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


# --- storage --------------------------------------------------------------------------


def answer_rows(question: Question, parsed: ParsedAnswer) -> list[dict[str, Any]]:
    """The Answer rows (as column values) that store `parsed`."""
    qtype = question.type
    if parsed.is_empty:
        return []
    if qtype == QuestionType.GRID:
        return [{"item_code": item, "option_code": code} for item, code in parsed.items.items()]
    if qtype == QuestionType.RANKING:
        return [
            {"option_code": code, "rank": rank} for rank, code in enumerate(parsed.codes, start=1)
        ]
    if qtype == QuestionType.TEXT:
        return [{"text": parsed.text}]
    if qtype in NUMERIC_TYPES:
        return [{"number": parsed.number}]
    if qtype == QuestionType.DATE:
        return [{"text": parsed.text}]
    if qtype == QuestionType.POSTCODE:
        return [{"option_code": code, "text": parsed.text} for code in parsed.codes]
    return [{"option_code": code} for code in parsed.codes]


def store_answer(
    response: Response, question: Question, parsed: ParsedAnswer, *, allow_submitted: bool = False
) -> None:
    """Replace the stored answer to `question` with `parsed` (empty: no answer)."""
    if question.survey_id != response.survey_id:
        raise AnswerTampered("This question belongs to another survey.")
    if response.status != ResponseStatus.IN_PROGRESS and not allow_submitted:
        raise ServiceError("This response has been submitted and can no longer be changed.")
    db.session.execute(
        delete(Answer).where(Answer.response_id == response.id, Answer.question_id == question.id)
    )
    for row in answer_rows(question, parsed):
        db.session.add(
            Answer(
                response_id=response.id,
                question_id=question.id,
                item_code=row.get("item_code", ""),
                option_code=row.get("option_code", ""),
                rank=row.get("rank"),
                number=row.get("number"),
                text=row.get("text"),
            )
        )
    db.session.flush()


def delete_answers(response: Response, questions: Iterable[Question]) -> int:
    ids = [q.id for q in questions]
    if not ids:
        return 0
    result = db.session.execute(
        delete(Answer).where(Answer.response_id == response.id, Answer.question_id.in_(ids))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


class AnswerRow(Protocol):
    """A stored answer row: an `Answer`, a row read with its columns, or one
    about to be stored."""

    @property
    def id(self) -> int | None: ...
    @property
    def item_code(self) -> str: ...
    @property
    def option_code(self) -> str: ...
    @property
    def rank(self) -> int | None: ...
    @property
    def number(self) -> float | None: ...
    @property
    def text(self) -> str | None: ...


@dataclass(frozen=True)
class _NewRow:
    id: int | None = None
    item_code: str = ""
    option_code: str = ""
    rank: int | None = None
    number: float | None = None
    text: str | None = None


def as_stored(question: Question, parsed: ParsedAnswer) -> ParsedAnswer:
    """`parsed` as reading it back after `store_answer` gives it (codes in the
    options' order, duplicates gone), without the round trip."""
    return from_rows(question, [_NewRow(**row) for row in answer_rows(question, parsed)])


def from_rows(question: Question, rows: Iterable[AnswerRow]) -> ParsedAnswer:
    rows = list(rows)
    if not rows:
        return EMPTY
    qtype = question.type
    if qtype == QuestionType.GRID:
        return ParsedAnswer(items={r.item_code: r.option_code for r in rows})
    if qtype == QuestionType.RANKING:
        ranked = sorted(rows, key=lambda r: (r.rank or 0, r.id or 0))
        return ParsedAnswer(codes=tuple(r.option_code for r in ranked))
    if qtype == QuestionType.TEXT:
        return ParsedAnswer(text=rows[0].text)
    if qtype in NUMERIC_TYPES:
        return ParsedAnswer(number=rows[0].number)
    if qtype == QuestionType.DATE:
        return ParsedAnswer(text=rows[0].text)
    if qtype == QuestionType.POSTCODE:
        return ParsedAnswer(codes=(rows[0].option_code,), text=rows[0].text)
    order = {o.code: o.position for o in question.choices}
    codes = sorted({r.option_code for r in rows}, key=lambda c: order.get(c, 0))
    return ParsedAnswer(codes=tuple(codes))


def load_answers(response: Response, questions: Iterable[Question]) -> dict[str, ParsedAnswer]:
    """Every stored answer of a response, by question key."""
    by_id = {q.id: q for q in questions}
    grouped: dict[int, list[AnswerRow]] = {}
    # Core rows with the answer's attribute names: every page of the journey
    # reads these, and ORM objects cost more than the query.
    table = Answer.__table__
    db.session.flush()  # the connection does not autoflush: pending answers count
    rows = db.session.connection().execute(
        select(
            table.c.id,
            table.c.question_id,
            table.c.item_code,
            table.c.option_code,
            table.c.rank,
            table.c.number,
            table.c.text,
        ).where(table.c.response_id == response.id)
    )
    for row in rows:
        grouped.setdefault(row.question_id, []).append(row)
    return {
        by_id[qid].key: from_rows(by_id[qid], rows) for qid, rows in grouped.items() if qid in by_id
    }


# --- back to the form, and for reading -------------------------------------------------


def form_values(question: Question, parsed: ParsedAnswer) -> dict[str, list[str]]:
    """The posted values that would produce `parsed`: pre-fills the form."""
    qtype = question.type
    if qtype == QuestionType.GRID:
        return {field_name(question, item): [code] for item, code in parsed.items.items()}
    if qtype == QuestionType.RANKING:
        return {
            rank_field(question, rank): [code] for rank, code in enumerate(parsed.codes, start=1)
        }
    if qtype == QuestionType.TEXT:
        return {field_name(question): [parsed.text]} if parsed.text else {}
    if qtype in NUMERIC_TYPES:
        return (
            {field_name(question): [format_number(parsed.number)]}
            if parsed.number is not None
            else {}
        )
    if qtype == QuestionType.DATE:
        day = typed_answers.parse_iso(parsed.text)
        if day is None:
            return {}
        return {
            typed_answers.date_field(question, "day"): [str(day.day)],
            typed_answers.date_field(question, "month"): [str(day.month)],
            typed_answers.date_field(question, "year"): [str(day.year)],
        }
    if qtype == QuestionType.POSTCODE:
        # The postcode itself is not kept: the form comes back with the ward.
        return {typed_answers.ward_field(question): list(parsed.codes)}
    return {field_name(question): list(parsed.codes)}


def describe(
    question: Question, parsed: ParsedAnswer, texts: SurveyTexts, language: str
) -> list[str]:
    """The answer as lines a person reads (check-your-answers, paper entry)."""
    qtype = question.type
    if parsed.is_empty:
        return []
    if qtype == QuestionType.GRID:
        return [
            f"{texts.item(question, item.code, language)}: "
            f"{texts.option(question, parsed.items[item.code], language)}"
            for item in question.items
            if item.code in parsed.items
        ]
    if qtype == QuestionType.RANKING:
        return [
            f"{rank}. {texts.option(question, code, language)}"
            for rank, code in enumerate(parsed.codes, start=1)
        ]
    if qtype == QuestionType.TEXT:
        return [parsed.text or ""]
    if qtype in NUMERIC_TYPES:
        return [format_number(parsed.number)]
    if qtype == QuestionType.DATE:
        day = typed_answers.parse_iso(parsed.text)
        return [typed_answers.show_date(day, language) if day else parsed.text or ""]
    if qtype == QuestionType.POSTCODE:
        ward = [texts.option(question, code, language) for code in parsed.codes]
        return [f"{w} ({parsed.text})" if parsed.text else w for w in ward]
    return [texts.option(question, code, language) for code in parsed.codes]


# Imported last: the typed parsers use this module's helpers.
from . import typed_answers  # noqa: E402

_PARSERS.update(
    {
        QuestionType.DECIMAL: typed_answers.parse_decimal,
        QuestionType.DATE: typed_answers.parse_date,
        QuestionType.POSTCODE: typed_answers.parse_postcode,
    }
)
