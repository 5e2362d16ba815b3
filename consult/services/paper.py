"""Keying in paper and face-to-face questionnaires.

An officer types each answer as the number printed beside it on the paper
form (or its code), so a whole form is keyed with digits and Tab. Answers are
checked by the same rules as online answers (consult.services.answers); each
form is stored exactly once (an idempotency key in the page), with its
channel, who keyed it and its batch and form serial number.

Second keying: a batch may be keyed again by someone else; the second keying
is stored beside the first (status "second_keying", so it is never counted
as a response) and a comparison lists every answer where the two differ."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
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
from ..wording import counted
from . import ServiceError, outreach
from .answers import (
    AnswerInvalid,
    AnswerTampered,
    ParsedAnswer,
    load_answers,
    parse_answer,
    store_answer,
)
from .audit import record
from .path import ordered_questions
from .responses import new_reference, now_utc

# Kept as a module name for the pages and tests that use it.
SECOND_KEYING = ResponseStatus.SECOND_KEYING
BATCH_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,29}$")
SERIAL_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,24}$")
CHANNELS = (Channel.PAPER, Channel.ASSISTED)
SPLIT = re.compile(r"[\s,;]+")


def entry_field(question: Question, item: str | None = None) -> str:
    return f"pe-{question.key}-{item}" if item else f"pe-{question.key}"


def numbered(question: Question) -> list[tuple[int, str]]:
    """The numbers printed beside a question's answers on paper."""
    return [(n, o.code) for n, o in enumerate(question.choices, start=1)]


def _to_code(question: Question, typed: str) -> str:
    typed = typed.strip()
    by_number = {str(n): code for n, code in numbered(question)}
    if typed in by_number:
        return by_number[typed]
    if typed in {o.code for o in question.choices}:
        return typed
    raise ServiceError(
        f"{typed!r} is not one of the answers (type 1 to {len(question.choices)}, or the code)"
    )


class _Optional:
    """A question seen as optional: a paper form may leave anything blank,
    and a blank must be keyed as blank, not refused."""

    required = False

    def __init__(self, question: Question) -> None:
        self._question = question

    def __getattr__(self, name: str) -> Any:
        return getattr(self._question, name)


def _posted_values(question: Question, form: Any) -> dict[str, list[str]]:
    """Typed numbers and codes turned into the values the online form posts."""
    qtype = question.type
    key = question.key
    if qtype == QuestionType.GRID:
        values = {}
        for item in question.items:
            typed = (form.get(entry_field(question, item.code)) or "").strip()
            if typed:
                values[f"{key}-{item.code}"] = [_to_code(question, typed)]
        return values
    typed = (form.get(entry_field(question)) or "").strip()
    if not typed:
        return {}
    if qtype in (QuestionType.TEXT, QuestionType.NUMBER, QuestionType.DECIMAL):
        return {key: [typed]}
    if qtype == QuestionType.DATE:
        return _date_values(question, typed)
    if qtype == QuestionType.POSTCODE:
        # A ward's printed number (or code) where the form gives the ward;
        # otherwise the postcode, which finds the ward and is not kept.
        if typed.isdigit() or typed in {o.code for o in question.choices}:
            return {f"{key}-ward": [_to_code(question, typed)]}
        return {key: [typed]}
    if qtype == QuestionType.MULTIPLE:
        return {key: [_to_code(question, part) for part in SPLIT.split(typed) if part]}
    if qtype == QuestionType.RANKING:
        parts = [part for part in SPLIT.split(typed) if part]
        return {
            f"{key}-rank-{rank}": [_to_code(question, part)]
            for rank, part in enumerate(parts, start=1)
        }
    return {key: [_to_code(question, typed)]}


_DATE_SPLIT = re.compile(r"[\s/.\-]+")


def _date_values(question: Question, typed: str) -> dict[str, list[str]]:
    """ "27 3 2007", "27/03/2007" or "2007-03-27" as the three date fields."""
    parts = [p for p in _DATE_SPLIT.split(typed) if p]
    if len(parts) == 3 and len(parts[0]) == 4:
        parts = [parts[2], parts[1], parts[0]]
    if len(parts) != 3:
        raise ServiceError(f"{typed!r} is not a date: type the day, month and year, like 27 3 2007")
    return {
        f"{question.key}-{part}": [value]
        for part, value in zip(("day", "month", "year"), parts, strict=True)
    }


@dataclass
class PaperForm:
    channel: str
    batch: str
    serial: str
    language: str
    keying: int = 1
    consent: str = ""  # "yes", "no" or "" (the form does not say)
    idempotency_key: str = ""
    # The outreach channel the form was handed out through: a channel id, or "" for none.
    outreach_channel: str = ""


@dataclass
class PaperResult:
    response: Response
    replayed: bool = False


class PaperEntryError(ServiceError):
    """Problems with a keyed form, by field id, all at once."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(
            f"The form has {counted(len(errors), 'problem', 'problems')}; nothing was saved"
        )
        self.errors = errors


def batch_label(batch: str, serial: str) -> str:
    return f"{batch}/{serial}"


def _check_header(survey: Survey, paper: PaperForm) -> dict[str, str]:
    errors = {}
    if survey.status not in (SurveyStatus.OPEN, SurveyStatus.CLOSED):
        errors["channel"] = (
            "Paper forms can be keyed only while the survey is open or closed, not " + survey.status
        )
    if paper.channel not in CHANNELS:
        errors["channel"] = "Choose paper or face to face"
    if not BATCH_PATTERN.match(paper.batch or ""):
        errors["batch"] = (
            "Enter the batch label: letters, numbers, hyphens, up to 30 characters, like WARD3-JUNE"
        )
    if not SERIAL_PATTERN.match(paper.serial or ""):
        errors["serial"] = "Enter the form's serial number (written or stamped on the form)"
    if paper.language not in survey.languages:
        errors["language"] = "Choose the language of the paper form"
    if paper.keying not in (1, 2):
        errors["keying"] = "Choose first or second keying"
    if paper.consent not in ("yes", "no", ""):
        errors["consent"] = "Choose whether the resident agreed to the optional questions"
    if not paper.idempotency_key or len(paper.idempotency_key) > 64:
        errors["channel"] = "The page is out of date: reload it and key the form again"
    try:
        outreach.paper_channel(survey, paper.outreach_channel)
    except ServiceError as error:
        errors["outreach_channel"] = error.message
    return errors


def _existing(survey: Survey, label: str, keying: int) -> Response | None:
    return db.session.scalars(
        select(Response).filter_by(survey_id=survey.id, batch=label, keying=keying)
    ).first()


def submit_paper(survey: Survey, paper: PaperForm, form: Any, *, by: User) -> PaperResult:
    """Check every answer of a keyed form, then store it once."""
    replay = (
        db.session.scalars(
            select(Response).filter_by(idempotency_key=paper.idempotency_key)
        ).first()
        if paper.idempotency_key
        else None
    )
    if replay is not None:
        if replay.survey_id != survey.id:
            raise ServiceError("The page is out of date: reload it and key the form again")
        return PaperResult(replay, replayed=True)
    errors = _check_header(survey, paper)
    label = batch_label(paper.batch, paper.serial)
    if not errors:
        if paper.keying == 1 and _existing(survey, label, 1):
            errors["serial"] = (
                f"Form {label} has already been keyed. Choose second keying to check it."
            )
        if paper.keying == 2:
            if _existing(survey, label, 1) is None:
                errors["serial"] = f"Form {label} has not been keyed a first time yet"
            elif _existing(survey, label, 2):
                errors["serial"] = f"Form {label} has already been keyed twice"
    parsed: dict[int, tuple[Question, ParsedAnswer]] = {}
    for question in ordered_questions(survey.questions):
        try:
            values = _posted_values(question, form)
            answer = parse_answer(_Optional(question), values, "en")  # type: ignore[arg-type]
        except AnswerInvalid as error:
            errors[_first_field(question)] = f"{question.key}: {error.errors[0].message}"
            continue
        except (AnswerTampered, ServiceError) as error:
            errors[_first_field(question)] = f"{question.key}: {error.message}"
            continue
        if not answer.is_empty:
            parsed[question.id] = (question, answer)
    special = [q.key for q, _a in parsed.values() if q.special_category]
    if special and paper.consent != "yes":
        errors["consent"] = (
            f"Answers were keyed for {', '.join(special)}, but the form does not show the "
            "resident agreed to the optional questions: leave them blank, or record the agreement"
        )
    if errors:
        raise PaperEntryError(errors)
    now = now_utc()
    response = Response(
        survey_id=survey.id,
        reference=new_reference(survey),
        language=paper.language,
        channel=paper.channel,
        status=ResponseStatus.SUBMITTED if paper.keying == 1 else SECOND_KEYING,
        special_consent={"yes": True, "no": False}.get(paper.consent),
        idempotency_key=paper.idempotency_key,
        started_at=now,
        submitted_at=now,
        entered_by_id=by.id,
        batch=label,
        keying=paper.keying,
        outreach_channel_id=outreach.paper_channel(survey, paper.outreach_channel),
    )
    try:
        with db.session.begin_nested():
            db.session.add(response)
            db.session.flush()
    except IntegrityError:
        # A racing double submit: the other request stored it.
        replay = db.session.scalars(
            select(Response).filter_by(idempotency_key=paper.idempotency_key)
        ).first()
        if replay is None:
            raise ServiceError("The form could not be stored; try again") from None
        return PaperResult(replay, replayed=True)
    for question, answer in parsed.values():
        store_answer(response, question, answer, allow_submitted=True)
    record(
        "paper_form_keyed",
        partnership_id=survey.partnership_id,
        user_id=by.id,
        target=f"survey:{survey.id}:{label}",
        details={"keying": paper.keying, "channel": paper.channel, "answers": len(parsed)},
    )
    return PaperResult(response)


def _first_field(question: Question) -> str:
    if question.type == QuestionType.GRID and question.items:
        return entry_field(question, question.items[0].code)
    return entry_field(question)


@dataclass
class BatchSummary:
    batch: str
    first: int = 0
    second: int = 0
    keyed_by: set[str] = field(default_factory=set)


def batches(survey: Survey) -> list[BatchSummary]:
    rows = db.session.execute(
        select(Response.batch, Response.keying, User.email)
        .outerjoin(User, User.id == Response.entered_by_id)
        .where(Response.survey_id == survey.id, Response.batch.is_not(None))
    ).all()
    summaries: dict[str, BatchSummary] = {}
    for label, keying, email in rows:
        name = (label or "").split("/", 1)[0]
        summary = summaries.setdefault(name, BatchSummary(name))
        if keying == 2:
            summary.second += 1
        else:
            summary.first += 1
        if email:
            summary.keyed_by.add(email)
    return sorted(summaries.values(), key=lambda s: s.batch)


@dataclass
class Difference:
    question: str
    first: str
    second: str


@dataclass
class FormComparison:
    serial: str
    first_reference: str
    second_reference: str | None
    differences: list[Difference]


def _show(question: Question, answer: ParsedAnswer | None) -> str:
    if answer is None or answer.is_empty:
        return "(blank)"
    if question.type == QuestionType.GRID:
        return "; ".join(f"{item}: {code}" for item, code in sorted(answer.items.items()))
    if question.type in (QuestionType.TEXT, QuestionType.DATE):
        return answer.text or ""
    if question.type in (QuestionType.NUMBER, QuestionType.DECIMAL):
        value = answer.number
        return str(int(value)) if value is not None and float(value).is_integer() else str(value)
    return ", ".join(answer.codes)


def compare_batch(survey: Survey, batch: str) -> list[FormComparison]:
    """Each form of a batch keyed twice, with the answers that differ."""
    questions = ordered_questions(survey.questions)
    responses = db.session.scalars(
        select(Response)
        .where(Response.survey_id == survey.id, Response.batch.like(f"{batch}/%"))
        .order_by(Response.batch, Response.keying)
    ).all()
    forms: dict[str, dict[int, Response]] = {}
    for response in responses:
        if response.batch and response.batch.split("/", 1)[0] == batch:
            forms.setdefault(response.batch.split("/", 1)[1], {})[response.keying] = response
    result = []
    for serial, keyed in sorted(forms.items()):
        first, second = keyed.get(1), keyed.get(2)
        if first is None:
            continue
        differences = []
        if second is not None:
            a, b = load_answers(first, questions), load_answers(second, questions)
            for question in questions:
                if _show(question, a.get(question.key)) != _show(question, b.get(question.key)):
                    differences.append(
                        Difference(
                            question.key,
                            _show(question, a.get(question.key)),
                            _show(question, b.get(question.key)),
                        )
                    )
        result.append(
            FormComparison(
                serial, first.reference, second.reference if second else None, differences
            )
        )
    return result
