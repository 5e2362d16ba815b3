"""Acknowledging the representation flags and marking priorities final.

Both are recorded (a `PriorityDecision` row and an audit event), because the
strategy cites them: who read which flags, and on which figures the
priorities were set. Marking final on figures that are not weighted as
intended (weighting failed, or could not converge) needs an explicit override
with a reason, also audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ...extensions import db
from ...models import PriorityDecision, Survey, User
from ...vocabulary import FLAG_LABELS
from .. import ServiceError
from ..audit import record
from .compute import SurveyResults, compute_results

ACKNOWLEDGED = "acknowledged"
FINAL = "final"


@dataclass(frozen=True)
class DecisionStatus:
    acknowledgement: PriorityDecision | None
    final: PriorityDecision | None
    acknowledgement_current: bool
    final_outdated: bool


def _latest(survey: Survey, kind: str) -> PriorityDecision | None:
    return db.session.scalars(
        select(PriorityDecision)
        .filter_by(survey_id=survey.id, kind=kind)
        .order_by(PriorityDecision.id.desc())
    ).first()


def _flag_set(groups: Sequence[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {(g["variable"], g["category"], g["flag"]) for g in groups}


def decision_status(survey: Survey, results: SurveyResults) -> DecisionStatus:
    ack = _latest(survey, ACKNOWLEDGED)
    final = _latest(survey, FINAL)
    current = ack is not None and _flag_set(ack.details.get("flags", [])) == _flag_set(
        results.flagged_groups
    )
    outdated = final is not None and final.state_key != results.state_key
    return DecisionStatus(ack, final, current, outdated)


def _add_decision(
    survey: Survey, user: User, results: SurveyResults, kind: str, details: dict[str, Any]
) -> PriorityDecision:
    """A decision about these results, tied to the state of the data it was
    taken on (so a later change of responses shows it as outdated)."""
    decision = PriorityDecision(
        survey_id=survey.id,
        kind=kind,
        user_id=user.id,
        state_key=results.state_key[:200],
        n_responses=results.n_responses,
        details=details,
    )
    db.session.add(decision)
    return decision


def acknowledge_flags(survey: Survey, user: User, results: SurveyResults) -> PriorityDecision:
    """Record that `user` has read the representation flags, with the flags as
    they stand now (the audit log keeps them even if the data later change)."""
    if results.survey_id != survey.id:
        raise ServiceError("These results belong to another survey")
    details = {
        "flags": results.flagged_groups,
        "sentences": results.flags,
        "responses": results.n_responses,
        "benchmark_version": results.benchmark_version,
    }
    decision = _add_decision(survey, user, results, ACKNOWLEDGED, details)
    record(
        "representation_flags_acknowledged",
        partnership_id=survey.partnership_id,
        user_id=user.id,
        target=f"survey:{survey.id}",
        details={
            "flagged_groups": [
                f"{g['group']} ({_FLAG_WORDS[g['flag']]})" for g in results.flagged_groups
            ],
            "flags": results.flagged_groups,
            "responses": results.n_responses,
            "benchmark_version": results.benchmark_version,
        },
    )
    db.session.flush()
    return decision


# Mid-sentence, lower case: "Asian residents (under-represented)".
_FLAG_WORDS = {flag: label.lower() for flag, label in FLAG_LABELS.items()}


def needs_override(results: SurveyResults) -> str:
    """Why marking final needs an override, in plain words ("" when it does not)."""
    if not results.weighted:
        if results.wanted_weighting:
            return (
                "The results are unweighted because the weighting could not be used: "
                + results.weighting_reason
            )
        return "The results are unweighted: there was nothing to weight them to."
    if not results.rake.converged:
        return "The weighting did not converge."
    return ""


def mark_priorities_final(
    survey: Survey,
    user: User,
    *,
    acknowledge: bool = False,
    override: bool = False,
    override_reason: str = "",
) -> PriorityDecision:
    """Mark the weighted priorities final for the strategy.

    Refused until the representation flags, as they stand now, have been
    acknowledged; ``acknowledge=True`` records the acknowledgement in the same
    step (the officer ticked "I have read the flags" on the form). On
    unweighted or non-converged results it is refused unless ``override`` is
    given with a reason; the override is audited.
    """
    results = compute_results(survey)
    if not results.priorities:
        raise ServiceError("There are no priorities to mark final: nobody has ranked any yet")
    status = decision_status(survey, results)
    if acknowledge and not status.acknowledgement_current:
        acknowledge_flags(survey, user, results)
        status = decision_status(survey, results)
    if status.acknowledgement is None:
        raise ServiceError(
            "Tick the box to confirm you have read the representation flags before marking "
            "the priorities final",
            field="acknowledge",
        )
    if not status.acknowledgement_current:
        raise ServiceError(
            "The representation flags have changed since they were acknowledged on "
            f"{status.acknowledgement.created_at:%d %B %Y}: read them again and tick the box",
            field="acknowledge",
        )
    override_reason = (override_reason or "").strip()[:500]
    why = needs_override(results)
    if why and not override:
        raise ServiceError(
            why + " To mark the priorities final anyway, tick the box to confirm and say why.",
            field="override",
        )
    if why and override and not override_reason:
        raise ServiceError(
            "Say why the priorities should be marked final on these figures", field="override"
        )
    snapshot = {
        table.question_key: [
            {
                "option": r["option"],
                "rank": int(r["rank"]),
                "band": r.get("band_label", str(r["rank"])),
                "top_share": round(float(r["top_share"]), 4),
                "unweighted_rank": int(r["unweighted_rank"]),
            }
            for r in table.rows()
        ]
        for table in results.priorities
    }
    assert status.acknowledgement is not None
    details: dict[str, Any] = {
        "acknowledgement_id": status.acknowledgement.id,
        "priorities": snapshot,
        "scheme": results.scheme,
        "weights_used": results.weighted,
        "summaries": {t.question_key: t.summary.sentence for t in results.priorities if t.summary},
    }
    if why:
        details["override"] = {"reason": override_reason, "why_needed": why}
    decision = _add_decision(survey, user, results, FINAL, details)
    record(
        "priorities_marked_final",
        partnership_id=survey.partnership_id,
        user_id=user.id,
        target=f"survey:{survey.id}",
        details={
            "responses": results.n_responses,
            "acknowledgement_id": status.acknowledgement.id,
            "weighting": results.scheme["variables"],
            "weights_used": results.weighted,
            "benchmark_version": results.benchmark_version,
        },
    )
    if why:
        record(
            "priorities_final_override",
            partnership_id=survey.partnership_id,
            user_id=user.id,
            target=f"survey:{survey.id}",
            details={"why_needed": why, "reason": override_reason},
        )
    db.session.flush()
    return decision
