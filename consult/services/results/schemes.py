"""Which weighting applies: the one place that decides.

Results pages, exports, the strategy report, "You said, we did" and the
retention aggregates all take their weights from :func:`decide_weighting`, so
they can never disagree, and weights that failed to meet the margins are never
used anywhere (the decision then says "unweighted", with the reason).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from flask import current_app
from sqlalchemy import select

from ...analysis import (
    DEFAULT_BOUNDS,
    Problem,
    RakeResult,
    WeightingOutcome,
    rake,
    targets_from_benchmarks,
    weigh,
)
from ...analysis.feasibility import DEFAULT_MIN_COUNT
from ...extensions import db
from ...models import BenchmarkSet, Survey, User, WeightingScheme
from ...vocabulary import Stream
from .. import ServiceError
from ..areas import ward_areas
from ..audit import record
from ..benchmarks import benchmark_records, current_benchmarks
from ..frames import Slot, demographic_frame, question_columns, read_answers, response_frame
from ..path import ordered_questions
from .labels import variable_name
from .streams import base_weights

#: The default weighting: these margins, where both the survey and the
#: benchmarks have them. Inspections find consultations skewed by age, sex,
#: ethnicity and neighbourhood; those four are also the margins most
#: partnerships hold reliable Census figures for. Religion, disability and the
#: rest can be added by the officer but are special-category and more often
#: left unanswered, which weakens raking.
DEFAULT_WEIGHTING_VARIABLES = ("age_band", "sex", "ethnic_group", "area")
RAKE_MAX_ITER = 1000
#: Trimming bounds an officer may choose, as multiples of the mean weight.
MIN_LOWER_BOUND, MAX_UPPER_BOUND = 0.01, 100.0

#: Words for the variables in weighting messages ("Wards were grouped …").
_PLURAL = {
    "age_band": "Age bands",
    "sex": "Sex",
    "ethnic_group": "Ethnic groups",
    "ethnic_group_detailed": "Detailed ethnic groups",
    "area": "Wards",
}


# --------------------------------------------------------------------------- #
# Frames
# --------------------------------------------------------------------------- #


def load_frames(survey: Survey) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The submitted responses (columns by question key, see
    `consult.services.frames`) and the demographic frame (columns by
    demographic variable, holding benchmark categories), on one index."""
    frame = response_frame(survey, include_text=False)
    return frame, demographics_for(survey, frame)


def load_demographics(survey: Survey) -> pd.DataFrame:
    """The demographic frame alone, reading only the demographic questions'
    answers: what representation needs, at a fraction of the cost of every
    question's answers."""
    questions = [q for q in ordered_questions(survey.questions) if q.demographic]
    columns = [
        (q, column) for q in questions for column in question_columns(q) if column.name == q.key
    ]
    slots = [Slot(q.id, q.type, "") for q, _ in columns]
    ids: list[np.ndarray] = []
    parts: list[np.ndarray] = []
    for chunk in read_answers(survey, slots, missing=np.nan, facts=False):
        ids.append(chunk.ids)
        parts.append(chunk.values)
    index = pd.Index(
        np.concatenate(ids) if ids else np.array([], dtype=np.int64),
        name="response_id",
        dtype="int64",
    )
    values = np.concatenate(parts) if parts else np.empty((0, len(slots)), dtype=object)
    frame = pd.DataFrame(
        {
            q.key: pd.Series(values[:, j], index=index, dtype="object")
            for j, (q, _) in enumerate(columns)
        },
        index=index,
    )
    return demographics_for(survey, frame)


def demographics_for(survey: Survey, frame: pd.DataFrame) -> pd.DataFrame:
    demographics = demographic_frame(survey, frame)
    if "ethnic_group_detailed" in demographics and "ethnic_group" not in demographics:
        # A detailed answer ("Asian, Asian British or Asian Welsh: Indian")
        # counts towards its broad Census group, the margin usually weighted to.
        detailed = demographics["ethnic_group_detailed"]
        demographics["ethnic_group"] = detailed.str.split(":").str[0].str.strip().astype("object")
    return demographics


def benchmarks_frame(benchmark_set: BenchmarkSet | None) -> pd.DataFrame:
    if benchmark_set is None:
        return pd.DataFrame(columns=["variable", "category", "population_share", "base", "source"])
    return pd.DataFrame(benchmark_records(benchmark_set))


def current_scheme(survey: Survey) -> WeightingScheme | None:
    return db.session.scalars(
        select(WeightingScheme)
        .filter_by(survey_id=survey.id, is_current=True)
        .order_by(WeightingScheme.id.desc())
    ).first()


def survey_variables(survey: Survey) -> list[str]:
    """Demographic variables the survey asks about, in questionnaire order."""
    found: list[str] = []
    for q in ordered_questions(survey.questions):
        if q.demographic and q.demographic not in found:
            found.append(q.demographic)
    if "ethnic_group_detailed" in found and "ethnic_group" not in found:
        found.insert(found.index("ethnic_group_detailed"), "ethnic_group")
    return found


def weightable_variables(survey: Survey, benchmark_set: BenchmarkSet | None) -> list[str]:
    """Variables that can be weighted to: asked in the survey and benchmarked."""
    if benchmark_set is None:
        return []
    benchmarked = {r.variable for r in benchmark_set.rows}
    return [v for v in survey_variables(survey) if v in benchmarked]


def default_variables(survey: Survey, benchmark_set: BenchmarkSet | None) -> list[str]:
    available = weightable_variables(survey, benchmark_set)
    return [v for v in DEFAULT_WEIGHTING_VARIABLES if v in available]


def choose_scheme(
    survey: Survey,
    user: User,
    *,
    variables: Sequence[str],
    lower_bound: float | None = None,
    upper_bound: float | None = None,
) -> WeightingScheme:
    """Make a new weighting scheme the survey's current one (the old ones stay,
    for the record)."""
    benchmark_set = current_benchmarks(survey.partnership_id)
    if benchmark_set is None:
        raise ServiceError(
            "The partnership has no population benchmarks yet, so there is nothing to weight to",
            field="variables",
        )
    available = weightable_variables(survey, benchmark_set)
    chosen = [v for v in available if v in set(variables)]
    unknown = [v for v in variables if v not in available]
    if unknown:
        raise ServiceError(f"These cannot be weighted to: {', '.join(unknown)}", field="variables")
    if not chosen:
        raise ServiceError("Choose at least one variable to weight by", field="variables")
    if (lower_bound is None) != (upper_bound is None):
        raise ServiceError(
            "Enter both the smallest and the largest weight allowed, or neither",
            field="lower_bound" if lower_bound is None else "upper_bound",
        )
    if lower_bound is not None and upper_bound is not None:
        if not MIN_LOWER_BOUND <= lower_bound < 1:
            raise ServiceError(
                "The smallest weight allowed must be at least 0.01 and less than 1 times the mean",
                field="lower_bound",
            )
        if not 1 < upper_bound <= MAX_UPPER_BOUND:
            raise ServiceError(
                "The largest weight allowed must be more than 1 and at most 100 times the mean",
                field="upper_bound",
            )
    for old in db.session.scalars(
        select(WeightingScheme).filter_by(survey_id=survey.id, is_current=True)
    ):
        old.is_current = False
    scheme = WeightingScheme(
        survey_id=survey.id,
        variables=chosen,
        lower_bound=lower_bound,
        upper_bound=upper_bound,
        benchmark_set_id=benchmark_set.id,
        created_by_id=user.id,
        is_current=True,
    )
    db.session.add(scheme)
    db.session.flush()
    record(
        "weighting_scheme_chosen",
        partnership_id=survey.partnership_id,
        user_id=user.id,
        target=f"survey:{survey.id}",
        details={
            "variables": chosen,
            "bounds": [lower_bound, upper_bound] if lower_bound is not None else None,
            "benchmark_version": benchmark_set.version,
        },
    )
    return scheme


def use_default_scheme(survey: Survey, user: User) -> None:
    for old in db.session.scalars(
        select(WeightingScheme).filter_by(survey_id=survey.id, is_current=True)
    ):
        old.is_current = False
    record(
        "weighting_scheme_reset",
        partnership_id=survey.partnership_id,
        user_id=user.id,
        target=f"survey:{survey.id}",
    )


# --------------------------------------------------------------------------- #
# The decision
# --------------------------------------------------------------------------- #


@dataclass
class WeightingDecision:
    """Which weights every figure uses, and why.

    ``weights`` are the raking weights when ``used``, otherwise all ones.
    ``rake`` always holds a result to report diagnostics from (that of the
    attempt, even a failed one: its weights are never used).
    """

    used: bool
    weights: pd.Series
    outcome: WeightingOutcome | None
    rake: RakeResult
    requested: list[str]
    bounds: tuple[float, float] | None
    scheme: WeightingScheme | None
    benchmark_set: BenchmarkSet | None
    problems: list[Problem] = field(default_factory=list)
    reason: str = ""
    #: The stream weighted ("sample", "open", "combined"; None: every response
    #: of a survey without a sample stream).
    stream: str | None = None
    #: Design weights raking started from (sample and combined streams).
    base_weights: pd.Series | None = None
    #: "rake", or "design" when the sample stream's figures use its design
    #: weights alone (nothing to rake to, or raking could not meet the margins).
    method: str = "rake"

    @property
    def variables(self) -> list[str]:
        """The variables weighted to, after any were dropped as infeasible."""
        return self.outcome.variables if self.outcome is not None else []

    @property
    def collapses(self) -> list[dict[str, Any]]:
        if self.outcome is None:
            return []
        return [c.as_dict() for c in self.outcome.feasibility.collapses]

    def info(self) -> dict[str, Any]:
        """The scheme as results, exports and the audit log record it."""
        return {
            "id": self.scheme.id if self.scheme else None,
            "default": self.scheme is None,
            "variables": self.variables,
            "requested_variables": self.requested,
            "lower_bound": self.bounds[0] if self.bounds else None,
            "upper_bound": self.bounds[1] if self.bounds else None,
            "benchmark_set_id": self.benchmark_set.id if self.benchmark_set else None,
            "benchmark_version": self.benchmark_set.version if self.benchmark_set else None,
            "method": self.method,
            "stream": self.stream,
            "tolerance": self.rake.tol,
            "weights_used": self.used,
            "reason": self.reason,
            "collapsed": self.collapses,
        }


def _config(name: str, default: Any) -> Any:
    try:
        return current_app.config.get(name, default)
    except RuntimeError:
        return default


def area_groups(survey: Survey) -> dict[str, str]:
    """Wards → areas the partnership groups them into, if it has said: on
    its "Wards grouped into areas" page, else (for deployments that set it
    once for every partnership) the ``AREA_GROUPS`` setting, keyed by
    partnership slug."""
    saved = ward_areas(survey.partnership_id)
    if saved:
        return saved
    groups = _config("AREA_GROUPS", {}) or {}
    slug = survey.partnership.slug if survey.partnership else ""
    found = groups.get(slug) or {}
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, Mapping) else {}


def decide_weighting(
    survey: Survey,
    demographics: pd.DataFrame | None = None,
    *,
    scheme: WeightingScheme | None = None,
    use_current: bool = True,
    benchmark_set: BenchmarkSet | None = None,
    stream: str | None = None,
) -> WeightingDecision:
    """The weighting every figure for `survey` uses.

    `scheme` defaults to the survey's current one (or the default variables
    when none was chosen). Sparse categories are collapsed first, weights are
    capped (the scheme's bounds, else :data:`DEFAULT_BOUNDS`), and the weights
    are used only if the raking met every margin.

    `stream` ("sample", "open" or "combined"; None for a survey without a
    sample stream) says whose responses `demographics` holds. The sample
    stream is raked starting from its design weights (inverse selection
    probability, adjusted for non-response within stratum); when there is
    nothing to rake to, or raking fails, its figures use the design weights
    alone, which are valid for a random sample, and the reason says so. The
    open stream is raked from equal weights, as a survey without streams.
    """
    if demographics is None:
        demographics = load_frames(survey)[1]
    decision = _decide(
        survey,
        demographics,
        scheme=scheme,
        use_current=use_current,
        benchmark_set=benchmark_set,
        base=base_weights(survey, demographics.index, stream) if len(demographics) else None,
        # Design weights alone are a valid estimator only for the random sample.
        design_fallback=stream == Stream.SAMPLE.value,
    )
    decision.stream = stream
    return decision


def _design_only(
    decision: WeightingDecision, demographics: pd.DataFrame, base: pd.Series, why: str
) -> WeightingDecision:
    """The design weights alone, when raking had nothing to do or failed."""
    w = base.reindex(demographics.index).to_numpy(dtype=np.float64)
    w = w / w.mean()
    weights = pd.Series(w, index=demographics.index, name="weight")
    ess = float(w.sum() ** 2 / (w * w).sum())
    result = RakeResult(
        weights=weights,
        converged=True,
        iterations=0,
        max_margin_error=float("nan"),
        effective_sample_size=ess,
        design_effect=len(w) / ess if ess > 0 else float("nan"),
        min_weight=float(w.min()),
        max_weight=float(w.max()),
        method="design",
    )
    reason = (
        why + " The figures use the design weights alone (each address's inverse chance of "
        "being drawn, adjusted for the households in its stratum that did not answer)."
    )
    problems = [*decision.problems, Problem("design_weights_only", reason)]
    return WeightingDecision(
        True,
        weights,
        decision.outcome,
        decision.rake if decision.outcome is not None else result,
        decision.requested,
        decision.bounds,
        decision.scheme,
        decision.benchmark_set,
        problems,
        reason,
        base_weights=base,
        method="design",
    )


def _decide(
    survey: Survey,
    demographics: pd.DataFrame,
    *,
    scheme: WeightingScheme | None,
    use_current: bool,
    benchmark_set: BenchmarkSet | None,
    base: pd.Series | None,
    design_fallback: bool,
) -> WeightingDecision:
    if benchmark_set is None:
        benchmark_set = current_benchmarks(survey.partnership_id)
    if scheme is None and use_current:
        scheme = current_scheme(survey)
    problems: list[Problem] = []
    available = weightable_variables(survey, benchmark_set)
    bounds: tuple[float, float] | None
    if scheme is not None:
        variables = [v for v in scheme.variables if v in available]
        dropped = [v for v in scheme.variables if v not in available]
        if dropped:
            problems.append(
                Problem(
                    "variable_not_available",
                    "The chosen scheme weights by "
                    + ", ".join(variable_name(v).lower() for v in dropped)
                    + ", which the current benchmarks or the survey no longer have; "
                    "weighting used the other variables.",
                )
            )
        bounds = (
            (scheme.lower_bound, scheme.upper_bound)
            if scheme.lower_bound is not None and scheme.upper_bound is not None
            else DEFAULT_BOUNDS
        )
    else:
        variables = default_variables(survey, benchmark_set)
        bounds = DEFAULT_BOUNDS
    if benchmark_set is None:
        problems.append(
            Problem(
                "no_benchmarks",
                "The partnership has no population benchmarks, so the results cannot be "
                "compared with the population or weighted.",
            )
        )
    elif not variables:
        problems.append(
            Problem(
                "no_weighting_variables",
                "The survey asks nothing the benchmarks cover, so the results are not weighted.",
            )
        )
    targets = (
        targets_from_benchmarks(benchmarks_frame(benchmark_set), variables) if variables else {}
    )
    if not targets:
        attempt = rake(demographics, {})
        problems.extend(attempt.problems)
        ones = pd.Series(np.ones(len(demographics)), index=demographics.index, name="weight")
        reason = problems[0].message if problems else "There is nothing to weight to."
        decision = WeightingDecision(
            False, ones, None, attempt, variables, bounds, scheme, benchmark_set, problems, reason
        )
        if base is None or not design_fallback:
            return decision
        return _design_only(decision, demographics, base, reason)
    outcome = weigh(
        demographics,
        targets,
        min_count=int(_config("WEIGHTING_MIN_COUNT", DEFAULT_MIN_COUNT)),
        bounds=bounds,
        area_groups=area_groups(survey),
        names=_PLURAL,
        max_iter=RAKE_MAX_ITER,
        base_weights=base,
    )
    problems.extend(outcome.problems)
    attempt = outcome.rake if outcome.rake is not None else rake(demographics, {})
    decision = WeightingDecision(
        outcome.used,
        outcome.weights,
        outcome,
        attempt,
        variables,
        bounds,
        scheme,
        benchmark_set,
        problems,
        outcome.reason,
        base_weights=base,
    )
    if base is not None and design_fallback and not outcome.used:
        return _design_only(
            decision, demographics, base, outcome.reason.replace(" Every figure is unweighted.", "")
        )
    return decision


__all__: Sequence[str] = (
    "DEFAULT_WEIGHTING_VARIABLES",
    "WeightingDecision",
    "area_groups",
    "benchmarks_frame",
    "choose_scheme",
    "current_scheme",
    "decide_weighting",
    "default_variables",
    "demographics_for",
    "load_frames",
    "survey_variables",
    "use_default_scheme",
    "weightable_variables",
)
