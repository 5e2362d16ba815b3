"""Cleaning responses and settling double-keying differences.

An officer may correct a stored answer of a submitted response, giving a
reason. The answer is checked by the same rules as any other answer
(`answers.parse_answer`), stored in place of the old one, and the change
is kept as an `AnswerCorrection` (old value, new value, reason, who, when).
Results and exports read answers from the database, so they show the
corrected value without further work.

A paper form keyed twice (see `paper`) is *verified* once every answer where
the two keyings differ is settled: the officer takes the first keying, the
second, or types the value from the paper form. The first keying is the
response counted in results, so settling writes the chosen value there. A
settled difference stays settled (a correction row says how it was settled).

The audit log records who corrected which question of which response; the
values themselves stay in `AnswerCorrection`, with the response, so they
are deleted with it when the survey's retention date passes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from ..extensions import db
from ..models import (
    NUMERIC_TYPES,
    Answer,
    AnswerCorrection,
    Question,
    QuestionType,
    Response,
    ResponseStatus,
    Survey,
    User,
)
from . import ServiceError
from .answers import (
    AnswerInvalid,
    AnswerTampered,
    ParsedAnswer,
    as_stored,
    format_number,
    from_rows,
    load_answers,
    parse_answer,
    store_answer,
)
from .audit import record
from .paper import (
    SECOND_KEYING,
    _first_field,
    _Optional,
    _posted_values,
    _show,
    entry_field,
    numbered,
)
from .path import compute_path, ordered_questions
from .typed_answers import parse_iso

MAX_REASON = 1000
SOURCES = ("cleaning", "first", "second", "paper")


class CorrectionError(ServiceError):
    """A correction that cannot be stored; `errors` by field name."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(next(iter(errors.values())))
        self.errors = errors


def find_response(survey: Survey, response_id: int) -> Response | None:
    """A submitted response of `survey` (never another survey's, and never a
    second keying: that is settled through the comparison page)."""
    return db.session.scalars(
        select(Response).where(
            Response.id == response_id,
            Response.survey_id == survey.id,
            Response.status == ResponseStatus.SUBMITTED,
        )
    ).first()


def find_by_reference(survey: Survey, reference: str) -> Response | None:
    reference = (reference or "").strip().upper()
    if not reference or len(reference) > 20:
        return None
    return db.session.scalars(
        select(Response).where(
            Response.reference == reference,
            Response.survey_id == survey.id,
            Response.status == ResponseStatus.SUBMITTED,
        )
    ).first()


def show(question: Question, answer: ParsedAnswer | None) -> str:
    """An answer as one line, the same way the comparison page shows it."""
    return _show(question, answer)


def _parse(question: Question, typed: Mapping[str, Any] | Any) -> ParsedAnswer:
    """The officer's value, typed as on the paper-entry screen (the numbers
    printed beside the answers, or the codes), checked as an answer. Blank is
    allowed: a paper form may leave a question blank even where online it
    is required."""
    try:
        values = _posted_values(question, typed)
        return parse_answer(_Optional(question), values, "en")  # type: ignore[arg-type]
    except AnswerInvalid as error:
        raise CorrectionError({_first_field(question): error.errors[0].message}) from None
    except (AnswerTampered, ServiceError) as error:
        raise CorrectionError({_first_field(question): error.message}) from None


def typed_values(question: Question, answer: ParsedAnswer | None) -> dict[str, str]:
    """An answer as the officer types it (the inverse of `_parse`): pre-fills
    the correction form."""
    if answer is None or answer.is_empty:
        return {}
    number = {code: str(n) for n, code in numbered(question)}
    qtype = question.type
    if qtype == QuestionType.GRID:
        return {
            entry_field(question, item): number.get(code, code)
            for item, code in answer.items.items()
        }
    if qtype in (QuestionType.TEXT,):
        return {entry_field(question): answer.text or ""}
    if qtype == QuestionType.DATE:
        day = parse_iso(answer.text)
        return {entry_field(question): f"{day.day} {day.month} {day.year}" if day else ""}
    if qtype in NUMERIC_TYPES:
        return {entry_field(question): format_number(answer.number)}
    return {entry_field(question): " ".join(number.get(c, c) for c in answer.codes)}


def _check_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise CorrectionError({"reason": "Enter the reason for the correction"})
    if len(reason) > MAX_REASON:
        raise CorrectionError({"reason": f"The reason must be {MAX_REASON} characters or fewer"})
    return reason


def _apply(
    response: Response,
    question: Question,
    new: ParsedAnswer,
    *,
    source: str,
    reason: str,
    by: User,
    survey: Survey,
) -> AnswerCorrection:
    old = load_answers(response, [question]).get(question.key)
    store_answer(response, question, new, allow_submitted=True)
    correction = AnswerCorrection(
        response_id=response.id,
        question_id=question.id,
        source=source,
        old_value=show(question, old),
        new_value=show(question, as_stored(question, new)),
        reason=reason,
        user_id=by.id,
    )
    db.session.add(correction)
    db.session.flush()
    # Identifiers only: the values stay with the response (see the module docstring).
    record(
        "answer_corrected" if source == "cleaning" else "keying_difference_settled",
        partnership_id=survey.partnership_id,
        user_id=by.id,
        target=f"response:{response.reference}:{question.key}",
        details={"survey": survey.id, "source": source, "correction": correction.id},
    )
    return correction


def correct_answer(
    response: Response, question: Question, values: Any, reason: str, *, by: User
) -> AnswerCorrection:
    """Replace one answer of a submitted response, with the reason."""
    survey = db.session.get(Survey, response.survey_id)
    assert survey is not None
    if question.survey_id != survey.id:
        raise AnswerTampered("This question belongs to another survey.")
    errors: dict[str, str] = {}
    new: ParsedAnswer | None = None
    try:
        new = _parse(question, values)
    except CorrectionError as error:
        errors.update(error.errors)
    try:
        reason = _check_reason(reason)
    except CorrectionError as error:
        errors.update(error.errors)
    if errors:
        raise CorrectionError(errors)
    assert new is not None
    old = load_answers(response, [question]).get(question.key)
    if show(question, old) == show(question, as_stored(question, new)):
        raise CorrectionError({question.key: "The new value is the same as the stored one"})
    return _apply(response, question, new, source="cleaning", reason=reason, by=by, survey=survey)


def off_path(response: Response, questions: list[Question]) -> list[str]:
    """Keys of answers the routing no longer asks for, given the answers as
    they stand (a correction can change the route). They are not deleted:
    the officer decides, from the paper form, whether they were given."""
    answers = load_answers(response, questions)
    path = compute_path(questions, answers, response.special_consent)
    on = set(path.question_keys)
    return [q.key for q in questions if q.key in answers and q.key not in on]


def corrections(response: Response) -> list[AnswerCorrection]:
    return list(
        db.session.scalars(
            select(AnswerCorrection)
            .where(AnswerCorrection.response_id == response.id)
            .order_by(AnswerCorrection.created_at, AnswerCorrection.id)
        )
    )


# --- double keying ----------------------------------------------------------------------


@dataclass
class Settled:
    source: str
    value: str
    by: str


@dataclass
class Difference:
    question: Question
    first: str
    second: str
    settled: Settled | None = None


@dataclass
class KeyedForm:
    serial: str
    first: Response
    second: Response | None
    differences: list[Difference] = field(default_factory=list)

    @property
    def open_differences(self) -> list[Difference]:
        return [d for d in self.differences if d.settled is None]

    @property
    def verified(self) -> bool:
        return self.second is not None and not self.open_differences


def _keyed(survey: Survey, batch: str | None = None) -> dict[str, dict[int, Response]]:
    stmt = select(Response).where(
        Response.survey_id == survey.id,
        Response.batch.is_not(None),
        Response.status.in_((ResponseStatus.SUBMITTED, SECOND_KEYING)),
    )
    if batch is not None:
        stmt = stmt.where(Response.batch.like(f"{batch}/%"))
    forms: dict[str, dict[int, Response]] = {}
    for response in db.session.scalars(stmt.order_by(Response.batch, Response.keying)):
        label = response.batch or ""
        if batch is not None and label.split("/", 1)[0] != batch:
            continue
        forms.setdefault(label, {})[response.keying] = response
    return forms


def _settlements(first_ids: list[int]) -> dict[tuple[int, int], Settled]:
    """The latest settlement of each (first keying, question)."""
    if not first_ids:
        return {}
    rows = db.session.execute(
        select(AnswerCorrection, User.email)
        .outerjoin(User, User.id == AnswerCorrection.user_id)
        .where(
            AnswerCorrection.response_id.in_(first_ids),
            # A correction on the response page settles a difference too:
            # the officer has checked that answer against the form.
            AnswerCorrection.source.in_(("first", "second", "paper", "cleaning")),
        )
        .order_by(AnswerCorrection.created_at, AnswerCorrection.id)
    ).all()
    return {
        (c.response_id, c.question_id): Settled(c.source, c.new_value, email or "")
        for c, email in rows
    }


def _answer_rows(response_ids: list[int]) -> dict[int, dict[int, list[Any]]]:
    """The stored answer rows of many responses, by response and question, in
    one query per thousand responses (a batch of hundreds of forms keyed
    twice would otherwise be a query per form)."""
    grouped: dict[int, dict[int, list[Any]]] = {}
    table = Answer.__table__
    for start in range(0, len(response_ids), 1000):
        rows = db.session.execute(
            select(
                table.c.id,
                table.c.response_id,
                table.c.question_id,
                table.c.item_code,
                table.c.option_code,
                table.c.rank,
                table.c.number,
                table.c.text,
            ).where(table.c.response_id.in_(response_ids[start : start + 1000]))
        )
        for row in rows:
            grouped.setdefault(row.response_id, {}).setdefault(row.question_id, []).append(row)
    return grouped


def _same(a: list[Any], b: list[Any]) -> bool:
    """Two keyings' rows for one question hold the same answer. Stored rows
    are canonical (see answers: one row per code, ranks 1..N), so comparing
    their values, in any order, is comparing the answers."""

    def values(rows: list[Any]) -> list[tuple[Any, ...]]:
        return sorted(
            (r.item_code, r.option_code, r.rank or 0, r.number or 0.0, r.text or "") for r in rows
        )

    return len(a) == len(b) and values(a) == values(b)


def keyed_forms(survey: Survey, batch: str | None = None) -> list[KeyedForm]:
    """Every form keyed (of one batch, or all), with its differences and how
    each was settled. A difference stays listed once settled with the first
    keying or a typed value; settled with the second keying, the two agree
    again and the settlement is what shows it."""
    questions = ordered_questions(survey.questions)
    forms = _keyed(survey, batch)
    firsts = [keyed[1].id for keyed in forms.values() if 1 in keyed]
    settled = _settlements(firsts)
    loaded = _answer_rows([r.id for keyed in forms.values() if 2 in keyed for r in keyed.values()])
    result = []
    for label, keyed in sorted(forms.items()):
        first, second = keyed.get(1), keyed.get(2)
        if first is None:
            continue
        form = KeyedForm(label.split("/", 1)[1] if "/" in label else label, first, second)
        if second is not None:
            a, b = loaded.get(first.id, {}), loaded.get(second.id, {})
            for question in questions:
                rows_a, rows_b = a.get(question.id, []), b.get(question.id, [])
                how = settled.get((first.id, question.id))
                if how is None and _same(rows_a, rows_b):
                    continue
                # Only what is listed is turned into words.
                shown_a = show(question, from_rows(question, rows_a))
                shown_b = show(question, from_rows(question, rows_b))
                if shown_a != shown_b or how is not None:
                    form.differences.append(Difference(question, shown_a, shown_b, how))
        result.append(form)
    return result


def settle_difference(
    survey: Survey,
    first: Response,
    question: Question,
    choice: str,
    values: Any = None,
    *,
    by: User,
    reason: str = "",
) -> AnswerCorrection:
    """Settle one difference of a form keyed twice: keep the `first` keying,
    take the `second`, or store the value typed from the `paper` form."""
    if choice not in ("first", "second", "paper"):
        raise CorrectionError({"choice": "Choose the first keying, the second, or type the value"})
    if first.survey_id != survey.id or first.keying != 1 or not first.batch:
        raise ServiceError("This response is not the first keying of a paper form")
    if question.survey_id != survey.id:
        raise AnswerTampered("This question belongs to another survey.")
    second = db.session.scalars(
        select(Response).where(
            Response.survey_id == survey.id, Response.batch == first.batch, Response.keying == 2
        )
    ).first()
    if second is None:
        raise ServiceError(f"Form {first.batch} has not been keyed a second time")
    if choice == "first":
        new = load_answers(first, [question]).get(question.key) or ParsedAnswer()
    elif choice == "second":
        new = load_answers(second, [question]).get(question.key) or ParsedAnswer()
    else:
        new = _parse(question, values or {})
    label = {"first": "first keying", "second": "second keying", "paper": "paper form"}[choice]
    return _apply(
        first,
        question,
        new,
        source=choice,
        reason=(reason or "").strip()[:MAX_REASON] or f"Settled from the {label}",
        by=by,
        survey=survey,
    )


@dataclass
class KeyingCounts:
    keyed: int = 0  # forms keyed at least once
    keyed_twice: int = 0
    verified: int = 0  # keyed twice, every difference settled
    open_differences: int = 0


def keying_counts(survey: Survey) -> KeyingCounts:
    counts = KeyingCounts()
    for form in keyed_forms(survey):
        counts.keyed += 1
        if form.second is not None:
            counts.keyed_twice += 1
            counts.open_differences += len(form.open_differences)
            if form.verified:
                counts.verified += 1
    return counts
