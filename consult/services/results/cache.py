"""Computed results stored in the database, so every app server shares them.

The overview, priorities and weighting pages render from a *summary* of a
`SurveyResults`: everything but the respondent-level frames and replicate
weights (the representation table, headlines, priority tables, the
weighting's diagnostics and weights). It is stored once per results state
(`compute.results_state` plus the stream), so a state computed by one server,
or by a background job calling :func:`compute_and_store`, is read by all.
A new response, another weighting scheme, new benchmarks or a changed
questionnaire make a new state key: a stale summary is never read.
"""

from __future__ import annotations

import pickle
import zlib
from dataclasses import replace

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...models import ResultsCache, Survey
from .compute import SurveyResults, compute_results, peek_results, results_key
from .streams import available_streams, resolve_stream


def summarise(results: SurveyResults) -> SurveyResults:
    """A copy without respondent-level answers or replicate weights."""
    # Build the lazily made margins table now: a function cannot be stored.
    _ = results.rake.margins
    decision = results.decision
    if decision is not None:
        _ = decision.rake.margins
        outcome = decision.outcome
        if outcome is not None:
            if outcome.rake is not None:
                _ = outcome.rake.margins
            outcome = replace(
                outcome,
                feasibility=replace(outcome.feasibility, frame=outcome.feasibility.frame.iloc[:0]),
            )
        decision = replace(decision, scheme=None, benchmark_set=None, outcome=outcome)
    return replace(
        results,
        frame=results.frame.iloc[:0],
        demographics=results.demographics.iloc[:0],
        replicates=None,
        decision=decision,
    )


def _load(payload: bytes) -> SurveyResults | None:
    try:
        found = pickle.loads(zlib.decompress(payload))  # noqa: S301 - written by this module only
    except Exception:  # noqa: BLE001 - an unreadable row (older code) is just recomputed
        return None
    return found if isinstance(found, SurveyResults) else None


def cached_summary(survey: Survey, *, stream: str | None = None) -> SurveyResults | None:
    """The stored summary of the survey's current results state, if any."""
    key = results_key(survey, resolve_stream(survey, stream))
    payload = db.session.scalar(
        select(ResultsCache.payload).where(
            ResultsCache.survey_id == survey.id, ResultsCache.state_key == key
        )
    )
    return None if payload is None else _load(payload)


def store(survey: Survey, results: SurveyResults) -> bool:
    """Store `results`' summary under its state key (flushes; the caller
    commits). Older states of the same stream are removed. False when the
    state was stored already (by another server, say)."""
    key = results.state_key
    exists = db.session.scalar(
        select(ResultsCache.id).where(
            ResultsCache.survey_id == survey.id, ResultsCache.state_key == key
        )
    )
    if exists is not None:
        return False
    suffix = key.rsplit("|stream=", 1)[1] if "|stream=" in key else ""
    stale = [
        row_id
        for row_id, old in db.session.execute(
            select(ResultsCache.id, ResultsCache.state_key).where(
                ResultsCache.survey_id == survey.id
            )
        )
        if (old.rsplit("|stream=", 1)[1] if "|stream=" in old else "") == suffix
    ]
    if stale:
        db.session.execute(delete(ResultsCache).where(ResultsCache.id.in_(stale)))
    payload = zlib.compress(pickle.dumps(summarise(results), protocol=pickle.HIGHEST_PROTOCOL), 3)
    try:
        with db.session.begin_nested():
            db.session.add(
                ResultsCache(
                    survey_id=survey.id, state_key=key, payload=payload, seconds=results.seconds
                )
            )
    except IntegrityError:
        # Another server stored the same state at the same moment: same numbers.
        return False
    return True


def compute_and_store(survey_id: int) -> int:
    """Compute the survey's results for every stream it offers and store any
    state not stored yet; returns how many were stored. A plain function: a
    background job or a page can call it. Flushes; the caller commits."""
    survey = db.session.get(Survey, survey_id)
    if survey is None:
        return 0
    stored = 0
    streams: list[str | None] = [*available_streams(survey)] or [None]
    for stream in streams:
        if cached_summary(survey, stream=stream) is not None:
            continue
        if store(survey, compute_results(survey, stream=stream)):
            stored += 1
    return stored


def page_results(survey: Survey, *, stream: str | None = None) -> SurveyResults:
    """Results for the overview, priorities and weighting pages: computed in
    this process already, else the stored summary, else computed now and stored."""
    stream = resolve_stream(survey, stream)
    found = peek_results(survey, stream)
    if found is not None:
        return found
    found = cached_summary(survey, stream=stream)
    if found is not None:
        return found
    results = compute_results(survey, stream=stream)
    store(survey, results)  # flushes; the view commits
    return results
