"""How many responses a survey has: the one definition every page uses (the
survey page, the dashboard, the fieldwork monitor and the export page once
disagreed, 45 against 37, because one counted every row and another only the
submitted ones).

"Responses" means submitted responses: what results and exports are made of.
Beside them, always shown as parts: residents who started and have not
submitted yet, and second keyings of paper forms (a check on the first
keying, stored beside it and never counted as another response)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select

from ..extensions import db
from ..models import Response, ResponseStatus
from ..wording import counted


@dataclass(frozen=True)
class ResponseCounts:
    submitted: int = 0
    in_progress: int = 0
    second_keyings: int = 0

    @property
    def responses(self) -> int:
        """The headline figure: submitted responses."""
        return self.submitted

    def parts(self) -> str:
        """ "37 submitted, 6 in progress, 2 second keyings"."""
        return ", ".join(
            (
                f"{self.submitted:,} submitted",
                f"{self.in_progress:,} in progress",
                counted(self.second_keyings, "second keying", "second keyings"),
            )
        )

    def summary(self) -> str:
        """ "37 responses (37 submitted, 6 in progress, 2 second keyings)"."""
        return f"{counted(self.submitted, 'response', 'responses')} ({self.parts()})"


def _counts(rows: Iterable[tuple[object, str, int]]) -> dict[int, ResponseCounts]:
    by_survey: dict[int, dict[str, int]] = {}
    for survey_id, status, number in rows:
        by_survey.setdefault(int(str(survey_id)), {})[str(status)] = int(number)
    return {
        survey_id: ResponseCounts(
            submitted=statuses.get(ResponseStatus.SUBMITTED.value, 0),
            in_progress=statuses.get(ResponseStatus.IN_PROGRESS.value, 0),
            second_keyings=statuses.get(ResponseStatus.SECOND_KEYING.value, 0),
        )
        for survey_id, statuses in by_survey.items()
    }


def response_counts_for(survey_ids: Iterable[int]) -> dict[int, ResponseCounts]:
    """The counts of several surveys in one query (the dashboard); a survey
    with no responses at all gets zeros."""
    ids = list(survey_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(Response.survey_id, Response.status, func.count(Response.id))
        .where(Response.survey_id.in_(ids))
        .group_by(Response.survey_id, Response.status)
    ).all()
    found = _counts((r[0], r[1], r[2]) for r in rows)
    return {survey_id: found.get(survey_id, ResponseCounts()) for survey_id in ids}


def response_counts(survey_id: int) -> ResponseCounts:
    return response_counts_for([survey_id])[survey_id]
