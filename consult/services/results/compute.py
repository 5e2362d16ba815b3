"""Computing a survey's results once per state, and caching them.

Replicate weights are the expensive part (hundreds of re-raked bootstrap
samples), so a computed `SurveyResults` is cached per *state*: the same
responses, weighting scheme and benchmark version always give the same
numbers (the bootstrap seed is fixed).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import numpy as np
import pandas as pd
from flask import current_app
from sqlalchemy import func, select

from ...analysis import (
    PrioritiesResult,
    PrioritiesSummary,
    Problem,
    RakeResult,
    describe_flags,
    priorities,
    replicate_weights,
    representation,
    representation_messages,
    summarise_priorities,
    weighted_share,
)
from ...extensions import db
from ...models import (
    BenchmarkSet,
    Question,
    QuestionType,
    Response,
    ResponseStatus,
    Survey,
    WeightingScheme,
)
from .. import ServiceError
from ..areas import areas_stamp
from ..benchmarks import current_benchmarks
from ..content import SurveyTexts, option_key
from ..path import ordered_questions
from .labels import CHANNEL, group_label
from .measures import Headline, Measure, headline, headline_measures
from .schemes import (
    RAKE_MAX_ITER,
    WeightingDecision,
    benchmarks_frame,
    current_scheme,
    decide_weighting,
    load_demographics,
    load_frames,
)
from .streams import (
    COMBINED,
    REPRESENTATIVE_STATEMENT,
    in_stream,
    resolve_stream,
    response_rate,
    strata_rows,
    stream_of_responses,
)

#: Replicates drawn by default. With 500, the Holm-adjusted bands of the
#: test surveys are identical across seeds (tests/test_results_honest.py);
#: 200 were not. Memory grows with responses x replicates, so very large
#: surveys draw fewer (never under 200): their intervals are narrow anyway.
REPLICATES = 500
MIN_REPLICATES = 200
_REPLICATE_CELLS = 20_000_000
#: Above this share of replicates left out (not weightable), the page warns
#: that the intervals are probably too narrow.
TOLERATED_DROPPED_SHARE = 0.05
#: Flags an officer must acknowledge before priorities can be marked final.
ACKNOWLEDGED_FLAGS = ("under", "over", "too_few")
#: How many representation messages are shown before the rest are folded away.
MESSAGES_SHOWN = 3


def replicate_count(n: int) -> int:
    if n <= 0:
        return 0
    return int(max(MIN_REPLICATES, min(REPLICATES, _REPLICATE_CELLS // n)))


@dataclass(frozen=True)
class PriorityTable:
    question_key: str
    prompt: str
    labels: dict[str, str]
    result: PrioritiesResult
    summary: PrioritiesSummary | None = None

    def rows(self) -> list[dict[str, Any]]:
        """The table in weighted order, with who each option is tied with."""
        table = self.result.table
        records = cast(list[dict[str, Any]], table.to_dict("records"))
        has_bands = "band" in table.columns
        for row in records:
            row["label"] = self.labels.get(row["option"], row["option"])
            if has_bands:
                tied = [
                    self.labels.get(o, o)
                    for o, b in zip(table["option"], table["band"], strict=True)
                    if b == row["band"] and o != row["option"]
                ]
                row["tied_with"] = tied
            else:
                row["tied_with"] = []
                row["band_label"] = str(row["rank"])
        return records


@dataclass
class SurveyResults:
    survey_id: int
    n_responses: int
    state_key: str
    representation: pd.DataFrame
    flags: list[str]
    flagged_groups: list[dict[str, Any]]
    benchmark_version: int | None
    benchmark_note: str
    scheme: dict[str, Any]
    rake: RakeResult
    weights: pd.Series
    replicates: pd.DataFrame | None
    problems: list[Problem]
    headlines: list[Headline]
    priorities: list[PriorityTable]
    frame: pd.DataFrame = field(repr=False)
    demographics: pd.DataFrame = field(repr=False)
    measures: dict[str, Measure] = field(repr=False, default_factory=dict)
    seconds: float = 0.0
    computed_at: float = field(default_factory=time.time)
    decision: WeightingDecision | None = field(repr=False, default=None)
    #: Under- and over-representation in plain words, biggest gap first.
    messages: list[dict[str, Any]] = field(default_factory=list)
    replicates_drawn: int = 0
    replicates_dropped: int = 0
    not_stated: list[tuple[str, str, float]] = field(default_factory=list)
    #: Whose responses these are: "sample", "open" or "combined"; None for a
    #: survey without a sample stream (every response).
    stream: str | None = None
    #: Sample stream: submitted responses over drawn addresses; else None.
    response_rate: float | None = None
    #: Sample stream: per stratum population, drawn, respondents, rate, weight.
    strata: list[dict[str, Any]] = field(default_factory=list)

    @property
    def representative(self) -> bool:
        """The figures estimate what residents think: the sample stream only."""
        return self.stream == "sample"

    @property
    def stream_statement(self) -> str:
        return REPRESENTATIVE_STATEMENT if self.stream is not None else ""

    @property
    def weighted(self) -> bool:
        """True only when weights are used for the figures (they met the margins)."""
        return bool(self.decision is not None and self.decision.used)

    @property
    def weighting_reason(self) -> str:
        return self.decision.reason if self.decision is not None else ""

    @property
    def wanted_weighting(self) -> bool:
        """A weighting was attempted (benchmarks and variables exist)."""
        return bool(self.decision is not None and self.decision.requested)

    @property
    def under_represented(self) -> list[dict[str, Any]]:
        return [g for g in self.flagged_groups if g["flag"] == "under"]

    @property
    def messages_shown(self) -> list[dict[str, Any]]:
        return self.messages[:MESSAGES_SHOWN]

    @property
    def messages_folded(self) -> list[dict[str, Any]]:
        return self.messages[MESSAGES_SHOWN:]

    @property
    def replicates_used(self) -> int:
        return 0 if self.replicates is None else int(self.replicates.shape[1])

    @property
    def weight_ratio(self) -> tuple[float, float]:
        """Smallest and largest weight relative to the mean weight used."""
        w = self.weights.to_numpy(dtype=np.float64)
        if w.size == 0:
            return float("nan"), float("nan")
        mean = float(w.mean())
        return float(w.min() / mean), float(w.max() / mean)

    @property
    def effective_n(self) -> float:
        w = self.weights.to_numpy(dtype=np.float64)
        s2 = float((w * w).sum())
        return float(w.sum() ** 2 / s2) if s2 > 0 else 0.0


def _flagged_groups(table: pd.DataFrame) -> list[dict[str, Any]]:
    flagged = table[table["flag"].isin(list(ACKNOWLEDGED_FLAGS))]
    order = {"under": 0, "over": 0, "too_few": 1}
    groups: list[dict[str, Any]] = [
        {
            "variable": str(r["variable"]),
            "category": str(r["category"]),
            "group": group_label(str(r["variable"]), str(r["category"])),
            "flag": str(r["flag"]),
            "n": int(r["n"]),
            "sample_share": round(float(r["sample_share"]), 4),
            "population_share": round(float(r["population_share"]), 4),
        }
        for r in flagged.to_dict("records")
    ]
    # Under- and over-representation by size of gap, then the small groups.
    groups.sort(key=lambda g: (order[g["flag"]], -abs(g["sample_share"] - g["population_share"])))
    return groups


def results_state(survey: Survey) -> tuple[str, WeightingScheme | None, BenchmarkSet | None]:
    """A key that changes whenever the results could: a new or withdrawn
    response, another weighting scheme, new benchmarks or a changed questionnaire."""
    n, latest = db.session.execute(
        select(func.count(Response.id), func.max(Response.submitted_at)).where(
            Response.survey_id == survey.id, Response.status == ResponseStatus.SUBMITTED
        )
    ).one()
    questions, max_question = db.session.execute(
        select(func.count(Question.id), func.max(Question.id)).where(
            Question.survey_id == survey.id
        )
    ).one()
    scheme = current_scheme(survey)
    benchmark_set = current_benchmarks(survey.partnership_id)
    stamp = latest.isoformat() if isinstance(latest, datetime) else str(latest)
    created = survey.created_at.isoformat() if survey.created_at else ""
    key = (
        f"{_responses_key(survey.id, created, n, stamp, questions, max_question)}"
        f"|scheme={scheme.id if scheme else 'default'}"
        f"|benchmarks={benchmark_set.version if benchmark_set else 0}"
        f"|areas={areas_stamp(survey.partnership_id)}"
    )
    return key, scheme, benchmark_set


def _responses_key(*parts: object) -> str:
    survey_id, created, n, stamp, questions, max_question = parts
    return f"survey={survey_id}@{created}|n={n}|latest={stamp}|q={questions}:{max_question}"


# In-process LRU cache of computed results, keyed by state. Each app server
# process keeps its own; with REDIS_URL set, the pickled SurveyResults (or just
# its weights and replicates) could be shared through Redis so a second worker
# does not redo the work. The numbers are deterministic per state, so a stale
# entry is impossible: a changed state is a different key.
_CACHE: OrderedDict[str, SurveyResults] = OrderedDict()
_CACHE_SIZE = 16
_CACHE_LOCK = threading.Lock()
_STATS = {"computed": 0, "hits": 0}
# Reading the responses is half the work: a new weighting scheme on the same
# responses reuses the frames.
_FRAMES: OrderedDict[str, tuple[pd.DataFrame, pd.DataFrame]] = OrderedDict()
_FRAMES_SIZE = 4


def _cached_frames(survey: Survey, key: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    responses_key = key.split("|scheme=")[0]
    with _CACHE_LOCK:
        found = _FRAMES.get(responses_key)
        if found is not None:
            _FRAMES.move_to_end(responses_key)
            return found
    found = load_frames(survey)
    with _CACHE_LOCK:
        _FRAMES[responses_key] = found
        while len(_FRAMES) > _FRAMES_SIZE:
            _FRAMES.popitem(last=False)
    return found


def cache_stats() -> dict[str, int]:
    return dict(_STATS)


def clear_cache() -> None:
    with _CACHE_LOCK:
        _CACHE.clear()
        _FRAMES.clear()


def results_key(survey: Survey, stream: str | None) -> str:
    """The state key of the survey's results under its current scheme, for
    `stream` (already resolved: see `streams.resolve_stream`)."""
    key = results_state(survey)[0]
    return key if stream is None else f"{key}|stream={stream}"


def peek_results(survey: Survey, stream: str | None) -> SurveyResults | None:
    """Results this process computed for the current state, without computing."""
    key = results_key(survey, stream)
    with _CACHE_LOCK:
        found = _CACHE.get(key)
        if found is not None:
            _CACHE.move_to_end(key)
            _STATS["hits"] += 1
        return found


def compute_results(
    survey: Survey, *, scheme: WeightingScheme | None = None, stream: str | None = None
) -> SurveyResults:
    """The survey's results under `scheme` (default: its current scheme, or the
    default variables when none was chosen). Cached per results state.

    With a sample stream, `stream` chooses whose responses ("sample", "open",
    or "combined" where the officer chose to show it); anything else reads the
    sample stream, the representative one. Without one, every response."""
    stream = resolve_stream(survey, stream)
    key, current, benchmark_set = results_state(survey)
    if scheme is not None and (current is None or scheme.id != current.id):
        key = key.replace(f"scheme={current.id if current else 'default'}", f"scheme={scheme.id}")
    else:
        scheme = current
    if stream is not None:
        key = f"{key}|stream={stream}"
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            _CACHE.move_to_end(key)
            _STATS["hits"] += 1
            return cached
    results = _compute(survey, key, scheme, benchmark_set, stream)
    with _CACHE_LOCK:
        _STATS["computed"] += 1
        _CACHE[key] = results
        _CACHE.move_to_end(key)
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return results


@dataclass(frozen=True)
class RepresentationView:
    """Whose voices are missing, on its own: the representation table and its
    messages, from the demographic answers alone (cheap enough to show cold,
    before the rest of the results are computed)."""

    n_responses: int
    table: pd.DataFrame
    messages: list[dict[str, Any]]
    benchmark_version: int | None


def representation_view(survey: Survey, *, stream: str | None = None) -> RepresentationView:
    stream = resolve_stream(survey, stream)
    demographics = load_demographics(survey)
    if stream is not None and stream != COMBINED:
        demographics = demographics.loc[
            in_stream(demographics.index, stream_of_responses(survey), stream)
        ]
    benchmark_set = current_benchmarks(survey.partnership_id)
    table = representation(demographics, benchmarks_frame(benchmark_set), min_base=min_base())
    labels: dict[object, str] = {
        (str(v), str(c)): group_label(str(v), str(c))
        for v, c in zip(table["variable"], table["category"], strict=True)
    }
    return RepresentationView(
        n_responses=len(demographics),
        table=table,
        messages=representation_messages(table, labels),
        benchmark_version=benchmark_set.version if benchmark_set else None,
    )


def min_base() -> int:
    try:
        return int(current_app.config.get("MIN_BASE", 30))
    except RuntimeError:
        return 30


def dropped_replicates_problem(dropped: int, reps: int) -> Problem:
    """What the page says when `dropped` of `reps` replicates could not be
    weighted and were left out."""
    message = (
        f"{dropped} of {reps} replicate samples could not be weighted to the margins and "
        "were left out of the intervals and priority bands."
    )
    if dropped > TOLERATED_DROPPED_SHARE * reps:
        # The samples that cannot be weighted are the ones furthest from the
        # population; leaving many out narrows the spread the intervals are
        # read from (checked against R's survey package: a quarter left out
        # at 40 respondents made standard errors about a tenth smaller).
        message += (
            " With this many left out the intervals are probably too narrow and the "
            "priority bands too sure: treat them as the least uncertainty there is."
        )
    return Problem("replicates_not_converged", message)


def _replicates(
    survey: Survey, decision: WeightingDecision, demographics: pd.DataFrame
) -> tuple[pd.DataFrame | None, int, list[Problem]]:
    """Replicate weights for the decision taken: re-raked to the same
    collapsed margins and cap when weights are used, plain bootstrap
    resamples of the respondents when they are not. Replicates whose raking
    did not converge are left out (and counted)."""
    n = len(demographics)
    if n < 2:
        return None, 0, []
    reps = replicate_count(n)
    outcome = decision.outcome
    if not decision.used or outcome is None or not outcome.used:
        # Unweighted: plain resamples; design weights alone: resamples of them.
        counts = replicate_weights(
            demographics,
            {},
            n=reps,
            seed=survey.id,
            base_weights=decision.base_weights if decision.used else None,
        )
        return counts, 0, []
    rake_result = decision.rake
    # With a cap, a resample that cannot meet both the margins and the bounds
    # would otherwise iterate to the limit; a few times the full sample's
    # iterations is ample for the rest, and those that fail are left out.
    max_iter = (
        RAKE_MAX_ITER
        if decision.bounds is None
        else min(RAKE_MAX_ITER, max(100, 3 * rake_result.iterations))
    )
    table = replicate_weights(
        outcome.feasibility.frame,
        outcome.feasibility.targets,
        n=reps,
        seed=survey.id,
        bounds=decision.bounds,
        max_iter=max_iter,
        base_weights=decision.base_weights,
    )
    converged = np.asarray(table.attrs.get("converged", np.ones(reps, bool)), dtype=bool)
    dropped = int((~converged).sum())
    problems: list[Problem] = []
    if dropped:
        table = table.loc[:, converged]
        problems.append(dropped_replicates_problem(dropped, reps))
    if table.shape[1] < 2:
        return None, dropped, problems
    return table, dropped, problems


def _compute(
    survey: Survey,
    key: str,
    scheme: WeightingScheme | None,
    benchmark_set: BenchmarkSet | None,
    stream: str | None = None,
) -> SurveyResults:
    started = time.perf_counter()
    base = min_base()
    frame, demographics = _cached_frames(survey, key)
    if stream is not None and stream != COMBINED:
        chosen = in_stream(frame.index, stream_of_responses(survey), stream)
        frame, demographics = frame.loc[chosen], demographics.loc[chosen]
    bench = benchmarks_frame(benchmark_set)

    table = representation(demographics, bench, min_base=base)
    labels: dict[object, str] = {
        (str(v), str(c)): group_label(str(v), str(c))
        for v, c in zip(table["variable"], table["category"], strict=True)
    }
    sentences = describe_flags(table, labels)
    messages = representation_messages(table, labels)

    decision = decide_weighting(
        survey,
        demographics,
        scheme=scheme,
        use_current=False,
        benchmark_set=benchmark_set,
        stream=stream,
    )
    problems = list(decision.problems)
    weights = decision.weights
    replicates, dropped, rep_problems = _replicates(survey, decision, demographics)
    problems.extend(rep_problems)

    texts = SurveyTexts(survey)
    measures = headline_measures(survey, texts)
    headlines = []
    if len(frame):
        for measure in measures:
            found = headline(measure, frame, weights, replicates, min_base=base)
            if found is not None:
                headlines.append(found)

    priority_tables = []
    if len(frame):
        lang = survey.default_language
        for q in ordered_questions(survey.questions):
            if q.type != QuestionType.RANKING:
                continue
            columns = [f"{q.key}__{o.code}" for o in q.choices]
            if not columns or not frame[columns].notna().to_numpy().any():
                continue
            result = priorities(
                frame,
                q.key,
                weights=weights,
                top_n=int(q.settings.get("top_n", 3) or 3),
                replicates=replicates,
            )
            option_labels = {
                o.code: texts.get(option_key(q.key, o.code), lang, o.code) for o in q.choices
            }
            priority_tables.append(
                PriorityTable(
                    question_key=q.key,
                    prompt=texts.prompt(q, lang),
                    labels=option_labels,
                    result=result,
                    summary=summarise_priorities(
                        result, option_labels, weighted=decision.used or not decision.requested
                    ),
                )
            )

    scheme_info = decision.info()
    scheme_info["replicates"] = 0 if replicates is None else int(replicates.shape[1])
    scheme_info["replicate_seed"] = survey.id
    return SurveyResults(
        survey_id=survey.id,
        n_responses=len(frame),
        state_key=key,
        representation=table,
        flags=sentences,
        flagged_groups=_flagged_groups(table),
        benchmark_version=benchmark_set.version if benchmark_set else None,
        benchmark_note=benchmark_set.note if benchmark_set else "",
        scheme=scheme_info,
        rake=decision.rake,
        weights=weights,
        replicates=replicates,
        problems=problems,
        headlines=headlines,
        priorities=priority_tables,
        frame=frame,
        demographics=demographics,
        measures={m.key: m for m in measures},
        seconds=time.perf_counter() - started,
        decision=decision,
        messages=messages,
        replicates_drawn=(0 if replicates is None else int(replicates.shape[1])) + dropped,
        replicates_dropped=dropped,
        not_stated=list(table.attrs.get("not_stated", [])),
        stream=stream,
        response_rate=response_rate(survey, stream, len(frame)),
        strata=strata_rows(survey) if stream == "sample" else [],
    )


# --------------------------------------------------------------------------- #
# Breakdowns
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Breakdown:
    variable: str
    measure: Measure
    rows: list[dict[str, Any]]
    min_base: int


def breakdown(results: SurveyResults, measure_key: str, variable: str) -> Breakdown:
    """A headline measure by a demographic variable. Groups whose base or
    effective base is below the minimum are marked suppressed: their numbers
    are not shown anywhere."""
    measure = results.measures.get(measure_key)
    if measure is None:
        raise ServiceError("Choose a measure this survey has", field="measure")
    if variable == CHANNEL and "resp_channel" in results.frame.columns:
        groups = results.frame["resp_channel"].astype("object")
    elif variable in results.demographics.columns:
        groups = results.demographics[variable]
    else:
        raise ServiceError("Choose a group this survey asks about", field="variable")
    base = min_base()
    data = pd.DataFrame(
        {"y": measure.indicator(results.frame), variable: groups},
        index=results.frame.index,
    )
    table = weighted_share(
        data,
        "y",
        weights=results.weights,
        by=variable,
        positive={"yes"},
        replicates=results.replicates,
        min_base=base,
    )
    rows = []
    for row in table.to_dict("records"):
        rows.append(
            {
                "group": row["group"],
                "n": int(row["n"]),
                "effective_n": float(row["effective_n"]),
                "suppressed": bool(row["suppressed"]),
                "share": row["share"],
                "low": row["share_low"],
                "high": row["share_high"],
                "weighted_share": row["weighted_share"],
                "weighted_low": row["weighted_low"],
                "weighted_high": row["weighted_high"],
                "se": float(row["se"]),
                "deff": float(row["deff"]),
            }
        )
    order = _category_order(results, variable)
    rows.sort(key=lambda r: order.get(r["group"], len(order)))
    return Breakdown(variable=variable, measure=measure, rows=rows, min_base=base)


def _category_order(results: SurveyResults, variable: str) -> dict[str, int]:
    table = results.representation
    cats = table.loc[table["variable"] == variable, "category"].tolist()
    return {c: i for i, c in enumerate(cats)}
