"""Data protection: keeping residents' answers no longer than promised.

Retention. Each survey has a retention date (`Survey.retention_until`, the
last day raw answers are kept). Once it has passed, `apply_retention` deletes
every response of the survey — submitted or not, with all its answers and so
all free text — and keeps only aggregates, taken just before deletion:

* a `SurveySnapshot`: how many responses there were, the weighting used;
* `RetainedAggregate` rows, per question (and grid item) and answer code: the
  number of respondents who chose it, the number who answered the question
  (the base), and both again weighted with the weights the results pages use
  (the survey's current weighting scheme, or the default variables). Numbers
  and rankings also keep their weighted mean (mean rank for a ranking). Free
  text keeps only how many answered it.

That is enough to show every total and share the results pages show for one
question, but not to cross one answer with another: cross-tabulations need
the raw rows, and keeping them is what retention forbids.

An open survey whose date has passed is closed as its responses are deleted:
answers collected after the promised deletion date would break the promise
at once. Retention is applied once per survey (`retention_applied_at`).

Erasure. `erase_response` deletes one response on a resident's request,
found by the reference shown on their confirmation page, within the
officer's partnership only.

Both are audited with counts and references only, never with answers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, select, update

from .. import jobs
from ..extensions import db
from ..models import (
    Answer,
    AnswerCorrection,
    Invitation,
    Partnership,
    Question,
    QuestionType,
    Response,
    ResponseStatus,
    RetainedAggregate,
    Survey,
    SurveySnapshot,
    SurveyStatus,
    User,
)
from . import ServiceError
from .audit import record
from .frames import response_frame
from .path import ordered_questions
from .sampling import erase_addresses


@dataclass
class RetentionOutcome:
    survey_id: int
    slug: str
    partnership_id: int
    retention_until: date
    responses: int = 0
    submitted: int = 0
    answers: int = 0
    text_answers: int = 0
    aggregates: int = 0
    closed: bool = False
    # Drawn addresses of the sample stream (personal data), deleted with their codes.
    sample_addresses: int = 0


@dataclass
class RetentionReport:
    dry_run: bool
    surveys: list[RetentionOutcome] = field(default_factory=list)


def due_for_retention(today: date | None = None) -> list[Survey]:
    """Surveys whose retention date has passed and that still hold raw data."""
    today = today or datetime.now(UTC).date()
    return list(
        db.session.scalars(
            select(Survey)
            .where(Survey.retention_until.is_not(None))
            .where(Survey.retention_until < today)
            .where(Survey.retention_applied_at.is_(None))
            .order_by(Survey.id)
        )
    )


def apply_retention(
    *,
    today: date | None = None,
    dry_run: bool = False,
    commit: Callable[[], None] | None = None,
) -> RetentionReport:
    """Apply retention to every survey that is due. The caller owns the
    transaction: given `commit` (the nightly command passes the session's),
    each survey is its own transaction, so a failure leaves that survey whole
    and the ones before it done."""
    report = RetentionReport(dry_run=dry_run)
    for survey in due_for_retention(today):
        outcome = _count(survey)
        if not dry_run:
            try:
                _apply(survey, outcome)
                db.session.flush()
                if commit is not None:
                    commit()
            except Exception:
                db.session.rollback()
                raise
        report.surveys.append(outcome)
    return report


def _count(survey: Survey) -> RetentionOutcome:
    responses = select(Response.id).where(Response.survey_id == survey.id)
    by_status = dict(
        db.session.execute(
            select(Response.status, func.count(Response.id))
            .where(Response.survey_id == survey.id)
            .group_by(Response.status)
        ).all()
    )
    answers = db.session.scalar(
        select(func.count(Answer.id)).where(Answer.response_id.in_(responses))
    )
    texts = db.session.scalar(
        select(func.count(Answer.id))
        .where(Answer.response_id.in_(responses))
        .where(Answer.text.is_not(None))
    )
    assert survey.retention_until is not None
    return RetentionOutcome(
        survey_id=survey.id,
        slug=survey.slug,
        partnership_id=survey.partnership_id,
        retention_until=survey.retention_until,
        responses=sum(by_status.values()),
        submitted=by_status.get(ResponseStatus.SUBMITTED, 0),
        answers=answers or 0,
        text_answers=texts or 0,
        closed=survey.status == SurveyStatus.OPEN,
    )


def _apply(survey: Survey, outcome: RetentionOutcome) -> None:
    snapshot = take_snapshot(survey)
    # Letters (addresses) and raw exports (answers) made by jobs go too.
    jobs.discard_files(survey.id)
    outcome.aggregates = len(snapshot.aggregates)
    ids = select(Response.id).where(Response.survey_id == survey.id)
    # Bulk deletes: a survey may hold a hundred thousand responses. Answers
    # first, explicitly, so SQLite without foreign-key enforcement loses them too.
    db.session.execute(
        delete(Answer)
        .where(Answer.response_id.in_(ids))
        .execution_options(synchronize_session=False)
    )
    # Corrections hold old and new answers: they go with the answers.
    db.session.execute(
        delete(AnswerCorrection)
        .where(AnswerCorrection.response_id.in_(ids))
        .execution_options(synchronize_session=False)
    )
    # SQLite does not enforce the foreign key's ON DELETE SET NULL.
    db.session.execute(
        update(Invitation)
        .where(Invitation.response_id.in_(ids))
        .values(response_id=None)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        delete(Response)
        .where(Response.survey_id == survey.id)
        .execution_options(synchronize_session=False)
    )
    # Addresses are personal data: they go with the answers, and their codes
    # with them. The sample's seed and per-stratum counts stay (aggregates).
    outcome.sample_addresses = erase_addresses(survey)
    if survey.status == SurveyStatus.OPEN:
        survey.status = SurveyStatus.CLOSED
    survey.retention_applied_at = datetime.now(UTC)
    record(
        "retention_applied",
        partnership_id=survey.partnership_id,
        user_id=None,
        target=f"survey:{survey.id}:{survey.slug}",
        details={
            "retention_until": survey.retention_until.isoformat() if survey.retention_until else "",
            "responses_deleted": outcome.responses,
            "submitted_deleted": outcome.submitted,
            "answers_deleted": outcome.answers,
            "text_answers_deleted": outcome.text_answers,
            "aggregates_kept": outcome.aggregates,
            "sample_addresses_deleted": outcome.sample_addresses,
            "closed": outcome.closed,
        },
    )


# --------------------------------------------------------------------------- #
# Aggregates
# --------------------------------------------------------------------------- #


def survey_weights(survey: Survey, frame: pd.DataFrame) -> tuple[pd.Series, dict[str, object]]:
    """The weights the results pages use for this survey, from the one place
    that decides (`decide_weighting`): weights that failed to meet the margins
    are never kept in the aggregates. Unweighted (all 1) when there is nothing
    to weight to or the weighting could not be used."""
    from .results import decide_weighting, demographics_for

    ones = pd.Series(1.0, index=frame.index, name="weight")
    if frame.empty:
        return ones, {"variables": [], "weights_used": False}
    decision = decide_weighting(survey, demographics_for(survey, frame))
    info: dict[str, object] = {
        "variables": decision.variables if decision.used else [],
        "requested_variables": decision.requested,
        "benchmark_version": decision.benchmark_set.version if decision.benchmark_set else None,
        "scheme_id": decision.scheme.id if decision.scheme else None,
        "bounds": list(decision.bounds) if decision.bounds else None,
        "weights_used": decision.used,
        "collapsed": decision.collapses,
    }
    if not decision.used:
        if decision.requested:
            info["reason"] = decision.reason
        return ones, info
    info["converged"] = bool(decision.rake.converged)
    return decision.weights.reindex(frame.index).astype("float64"), info


def take_snapshot(survey: Survey) -> SurveySnapshot:
    """Aggregate the survey's submitted responses into a (new or replaced) snapshot."""
    frame = response_frame(survey)
    weights, info = survey_weights(survey, frame)
    existing = db.session.scalars(select(SurveySnapshot).filter_by(survey_id=survey.id)).first()
    if existing is not None:
        db.session.delete(existing)
        db.session.flush()
    w = weights.to_numpy(dtype="float64")
    effective_n = float(w.sum() ** 2 / (w**2).sum()) if len(w) else None
    snapshot = SurveySnapshot(
        survey_id=survey.id,
        n_responses=len(frame),
        weighting=info,
        effective_n=effective_n,
    )
    snapshot.aggregates = [
        RetainedAggregate(**row)
        for q in ordered_questions(survey.questions)
        for row in _aggregate(q, frame, w)
    ]
    db.session.add(snapshot)
    db.session.flush()
    return snapshot


def _row(
    key: str,
    picked: np.ndarray,
    answered: np.ndarray,
    w: np.ndarray,
    *,
    item: str = "",
    code: str = "",
    mean: float | None = None,
) -> dict[str, object]:
    return {
        "question_key": key,
        "item_code": item,
        "option_code": code,
        "count": int(picked.sum()),
        "base": int(answered.sum()),
        "weighted_count": float(w[picked].sum()),
        "weighted_base": float(w[answered].sum()),
        "mean": mean,
    }


def _weighted_mean(values: np.ndarray, mask: np.ndarray, w: np.ndarray) -> float | None:
    total = w[mask].sum()
    return float((values[mask] * w[mask]).sum() / total) if total else None


def _aggregate(question: Question, frame: pd.DataFrame, w: np.ndarray) -> list[dict[str, object]]:
    key, kind = question.key, question.type
    if kind in (QuestionType.SINGLE, QuestionType.SCALE, QuestionType.AREA, QuestionType.POSTCODE):
        values = frame[key] if key in frame else pd.Series(dtype="object")
        answered = values.notna().to_numpy()
        return [
            _row(key, (values == o.code).to_numpy(), answered, w, code=o.code)
            for o in question.choices
        ]
    if kind == QuestionType.MULTIPLE:
        columns = [f"{key}__{o.code}" for o in question.choices]
        answered = (
            frame[columns].notna().any(axis=1).to_numpy() if columns else np.zeros(len(frame), bool)
        )
        return [
            _row(key, (frame[c] == 1.0).to_numpy(), answered, w, code=o.code)
            for o, c in zip(question.choices, columns, strict=True)
        ]
    rows: list[dict[str, object]] = []
    if kind == QuestionType.GRID:
        for item in question.items:
            values = frame[f"{key}__{item.code}"]
            answered = values.notna().to_numpy()
            rows.extend(
                _row(key, (values == o.code).to_numpy(), answered, w, item=item.code, code=o.code)
                for o in question.choices
            )
        return rows
    if kind == QuestionType.RANKING:
        columns = [f"{key}__{o.code}" for o in question.choices]
        answered = (
            frame[columns].notna().any(axis=1).to_numpy() if columns else np.zeros(len(frame), bool)
        )
        for o, c in zip(question.choices, columns, strict=True):
            ranks = frame[c].to_numpy(dtype="float64")
            picked = ~np.isnan(ranks)
            rows.append(
                _row(key, picked, answered, w, code=o.code, mean=_weighted_mean(ranks, picked, w))
            )
        return rows
    if kind in (QuestionType.NUMBER, QuestionType.DECIMAL):
        numbers = frame[key].to_numpy(dtype="float64")
        answered = ~np.isnan(numbers)
        return [_row(key, answered, answered, w, mean=_weighted_mean(numbers, answered, w))]
    if kind in (QuestionType.TEXT, QuestionType.DATE):
        texts = frame[key]
        answered = (texts.notna() & (texts.astype("string").str.strip() != "")).to_numpy(dtype=bool)
        return [_row(key, answered, answered, w)]
    return []


def retained_results(survey: Survey) -> SurveySnapshot | None:
    """The aggregates kept after retention, for results pages and reports."""
    return db.session.scalars(select(SurveySnapshot).filter_by(survey_id=survey.id)).first()


# --------------------------------------------------------------------------- #
# Erasure on request
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Erasure:
    reference: str
    survey_slug: str
    status: str
    answers: int


def normalise_reference(entered: str) -> str:
    """References are shown grouped (FS-AB12-CD34); people type them with other
    spacing or case."""
    return "".join(ch for ch in (entered or "").upper() if ch.isalnum() or ch == "-").strip("-")


def find_by_reference(partnership: Partnership, reference: str) -> Response | None:
    wanted = normalise_reference(reference)
    if not wanted or len(wanted) > 40:
        return None
    compact = wanted.replace("-", "")
    candidates = db.session.scalars(
        select(Response)
        .join(Survey, Survey.id == Response.survey_id)
        .where(Survey.partnership_id == partnership.id)
        .where(func.replace(func.upper(Response.reference), "-", "") == compact)
    ).all()
    return candidates[0] if len(candidates) == 1 else None


def erase_response(partnership: Partnership, reference: str, by: User | None) -> Erasure:
    """Delete one response, found by its reference within `partnership`, with
    all its answers. A reference of another partnership is 'not found'."""
    response = find_by_reference(partnership, reference)
    if response is None:
        raise ServiceError(
            f"No response with the reference {normalise_reference(reference) or reference!r} "
            "in this partnership. Check the reference on the resident's confirmation page.",
            field="reference",
        )
    survey = db.session.get(Survey, response.survey_id)
    assert survey is not None
    answers = (
        db.session.scalar(select(func.count(Answer.id)).where(Answer.response_id == response.id))
        or 0
    )
    erasure = Erasure(response.reference, survey.slug, response.status, answers)
    # A stored export may hold this response's answers.
    jobs.discard_files(survey.id, kinds=("export",))
    db.session.execute(delete(Answer).where(Answer.response_id == response.id))
    db.session.execute(delete(AnswerCorrection).where(AnswerCorrection.response_id == response.id))
    db.session.execute(
        update(Invitation).where(Invitation.response_id == response.id).values(response_id=None)
    )
    db.session.delete(response)
    record(
        "response_erased",
        partnership_id=partnership.id,
        user_id=by.id if by is not None else None,
        target=response.reference,
        details={"survey": survey.slug, "status": erasure.status, "answers_deleted": answers},
    )
    db.session.flush()
    return erasure


def erase_responses(
    partnership: Partnership, references: Sequence[str], by: User | None
) -> list[Erasure]:
    return [erase_response(partnership, reference, by) for reference in references]
