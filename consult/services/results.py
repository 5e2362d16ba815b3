"""A survey's results, as an officer reads them: whose voices are missing
(representation against the partnership's benchmarks), the weighting and its
diagnostics, headline measures weighted beside unweighted, breakdowns, and the
weighted priorities with the bands the data can support.

All statistics come from `consult.analysis`; this module only chooses what to
compute, labels it in plain words and remembers it. Replicate weights are the
expensive part (a few hundred re-raked bootstrap samples), so a computed
`SurveyResults` is cached per *state*: the same responses, weighting scheme and
benchmark version always give the same numbers (the bootstrap seed is fixed).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
from flask import current_app
from sqlalchemy import func, select

from ..analysis import (
    PrioritiesResult,
    Problem,
    RakeResult,
    describe_flags,
    priorities,
    rake,
    replicate_weights,
    representation,
    targets_from_benchmarks,
    weighted_share,
)
from ..extensions import db
from ..models import (
    BenchmarkSet,
    PriorityDecision,
    Question,
    QuestionType,
    Response,
    ResponseStatus,
    Survey,
    User,
    WeightingScheme,
)
from ..vocabulary import FLAG_LABELS
from ..vocabulary import VARIABLE_LABELS as VARIABLE_NAMES
from . import ServiceError
from .audit import record
from .benchmarks import benchmark_records, current_benchmarks
from .content import SurveyTexts, item_key, option_key
from .frames import demographic_frame, ordered_questions, response_frame

#: The default weighting: these margins, where both the survey and the
#: benchmarks have them. Inspections find consultations skewed by age, sex,
#: ethnicity and neighbourhood; those four are also the margins most
#: partnerships hold reliable Census figures for. Religion, disability and the
#: rest can be added by the officer but are special-category and more often
#: left unanswered, which weakens raking.
DEFAULT_WEIGHTING_VARIABLES = ("age_band", "sex", "ethnic_group", "area")
REPLICATES = 200
RAKE_MAX_ITER = 1000
#: Trimming bounds an officer may choose, as multiples of the mean weight.
MIN_LOWER_BOUND, MAX_UPPER_BOUND = 0.01, 100.0
#: A headline counts as moved by weighting from this many percentage points.
CHANGE_THRESHOLD = 0.01
#: Flags an officer must acknowledge before priorities can be marked final.
ACKNOWLEDGED_FLAGS = ("under", "over", "too_few")
UNSAFE_AFTER_DARK = ("a_bit_unsafe", "very_unsafe")
WORRIED = ("very_worried", "fairly_worried")
BIG_PROBLEM = ("very_big_problem", "fairly_big_problem")
POLICE_GOOD = ("excellent", "good")
AGREE = ("strongly_agree", "tend_to_agree", "agree")


def variable_name(variable: str) -> str:
    return VARIABLE_NAMES.get(variable, variable.replace("_", " ").capitalize())


_ETHNIC_SUBJECTS = {
    "Asian, Asian British or Asian Welsh": "Asian residents",
    "Black, Black British, Black Welsh, Caribbean or African": "Black residents",
    "Mixed or Multiple ethnic groups": "Residents of mixed or multiple ethnic groups",
    "White": "White residents",
    "Other ethnic group": "Residents of other ethnic groups",
}


def group_label(variable: str, category: str) -> str:
    """The subject of a plain-words sentence about a population group."""
    if variable == "age_band":
        if category.endswith("+"):
            return f"People aged {category[:-1]} and over"
        return f"People aged {category.replace('-', '–')}"
    if variable == "sex":
        return {"Female": "Women", "Male": "Men"}.get(category, category)
    if variable == "ethnic_group":
        return _ETHNIC_SUBJECTS.get(category, f"{category} residents")
    if variable == "area":
        return f"People living in {category}"
    if variable == "religion":
        return "People with no religion" if category == "No religion" else f"{category} residents"
    return f"{category} ({variable_name(variable).lower()})"


# --------------------------------------------------------------------------- #
# Frames
# --------------------------------------------------------------------------- #


def load_frames(survey: Survey) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The submitted responses (columns by question key, see
    `consult.services.frames`) and the demographic frame (columns by
    demographic variable, holding benchmark categories), on one index."""
    frame = response_frame(survey, include_text=False)
    demographics = demographic_frame(survey, frame)
    if "ethnic_group_detailed" in demographics and "ethnic_group" not in demographics:
        # A detailed answer ("Asian, Asian British or Asian Welsh: Indian")
        # counts towards its broad Census group, the margin usually weighted to.
        detailed = demographics["ethnic_group_detailed"]
        demographics["ethnic_group"] = detailed.str.split(":").str[0].str.strip().astype("object")
    return frame, demographics


def benchmarks_frame(benchmark_set: BenchmarkSet | None) -> pd.DataFrame:
    if benchmark_set is None:
        return pd.DataFrame(columns=["variable", "category", "population_share", "base", "source"])
    return pd.DataFrame(benchmark_records(benchmark_set))


# --------------------------------------------------------------------------- #
# Weighting schemes
# --------------------------------------------------------------------------- #


def current_scheme(survey: Survey) -> WeightingScheme | None:
    return db.session.scalars(
        select(WeightingScheme)
        .filter_by(survey_id=survey.id, is_current=True)
        .order_by(WeightingScheme.id.desc())
    ).first()


def survey_variables(survey: Survey) -> list[str]:
    """Demographic variables the survey asks about, in questionnaire order."""
    found: list[str] = []
    for q in ordered_questions(survey):
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
# The result
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Headline:
    """One headline measure: the share of respondents saying something, with
    95% intervals unweighted (Wilson) and weighted (bootstrap replicates when
    there are any, otherwise Wilson on the effective sample size)."""

    key: str
    topic: str
    label: str
    question_key: str
    n: int
    share: float
    low: float
    high: float
    weighted_share: float
    weighted_low: float
    weighted_high: float
    effective_n: float

    @property
    def change(self) -> float:
        return self.weighted_share - self.share

    @property
    def changed_by_weighting(self) -> bool:
        return bool(np.isfinite(self.change) and abs(self.change) >= CHANGE_THRESHOLD)


@dataclass(frozen=True)
class PriorityTable:
    question_key: str
    prompt: str
    labels: dict[str, str]
    result: PrioritiesResult

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

    @property
    def weighted(self) -> bool:
        return bool(self.scheme.get("variables")) and bool(self.rake.margins.shape[0])

    @property
    def under_represented(self) -> list[dict[str, Any]]:
        return [g for g in self.flagged_groups if g["flag"] == "under"]


@dataclass(frozen=True)
class Measure:
    """A headline's definition: how to turn a response into 1 / 0 / not answered."""

    key: str
    topic: str
    label: str
    question_key: str
    indicator: Callable[[pd.DataFrame], pd.Series]


def _missing_codes(question: Question) -> set[str]:
    return {o.code for o in question.choices if o.is_missing} | {"prefer_not_to_say"}


def _positive(question: Question, wanted: Sequence[str], first: int) -> set[str]:
    """The codes counting as "yes"; a survey whose options were renamed falls
    back to the first `first` substantive scale points."""
    codes = {o.code for o in question.choices}
    found = codes & set(wanted)
    if found:
        return found
    substantive = [o.code for o in question.choices if not o.is_missing]
    return set(substantive[:first])


def _yes_no(
    index: pd.Index, answered: npt.NDArray[np.bool_], hit: npt.NDArray[np.bool_]
) -> pd.Series:
    out = np.full(len(index), None, dtype=object)
    out[answered] = "no"
    out[answered & hit] = "yes"
    return pd.Series(out, index=index, dtype="object")


def _indicator(
    frame: pd.DataFrame, *, column: str, positive: set[str], missing: set[str]
) -> pd.Series:
    values = frame[column]
    answered = (values.notna() & ~values.isin(list(missing))).to_numpy(dtype=bool)
    return _yes_no(frame.index, answered, values.isin(list(positive)).to_numpy(dtype=bool))


def _any_indicator(
    frame: pd.DataFrame, *, columns: list[str], positive: set[str], missing: set[str]
) -> pd.Series:
    block = frame[columns]
    answered = (block.notna() & ~block.isin(list(missing))).any(axis=1).to_numpy(dtype=bool)
    hit = block.isin(list(positive)).any(axis=1).to_numpy(dtype=bool)
    return _yes_no(frame.index, answered, hit)


def headline_measures(survey: Survey, texts: SurveyTexts | None = None) -> list[Measure]:
    """The standard headline measures, for the questions this survey has."""
    texts = texts or SurveyTexts(survey)
    lang = survey.default_language
    by_key = {q.key: q for q in survey.questions}
    measures: list[Measure] = []

    def single(key: str, topic: str, label: str, wanted: Sequence[str], first: int) -> None:
        q = by_key.get(key)
        if q is None or q.type not in (QuestionType.SINGLE, QuestionType.SCALE):
            return
        positive, missing = _positive(q, wanted, first), _missing_codes(q)
        if not positive:
            return
        measures.append(
            Measure(
                key,
                topic,
                label,
                key,
                partial(_indicator, column=key, positive=positive, missing=missing),
            )
        )

    # "I never walk alone after dark" stays in the base (as in the Crime Survey
    # for England and Wales) unless the survey marks it as a non-answer.
    single(
        "safe_after_dark",
        "Feeling safe",
        "Feel unsafe walking alone after dark (a bit or very unsafe)",
        UNSAFE_AFTER_DARK,
        0,
    )
    worry = by_key.get("worry")
    if worry is not None and worry.type == QuestionType.GRID and worry.items:
        columns = [f"worry__{i.code}" for i in worry.items]
        positive, missing = _positive(worry, WORRIED, 2), _missing_codes(worry)
        measures.append(
            Measure(
                "worry_any",
                "Worry about crime",
                "Very or fairly worried about at least one of the crimes asked about",
                "worry",
                partial(_any_indicator, columns=columns, positive=positive, missing=missing),
            )
        )
    asb = by_key.get("asb")
    if asb is not None and asb.type == QuestionType.GRID:
        positive, missing = _positive(asb, BIG_PROBLEM, 2), _missing_codes(asb)
        for item in asb.items:
            column = f"asb__{item.code}"
            label = texts.get(item_key("asb", item.code), lang, item.code)
            measures.append(
                Measure(
                    column,
                    "Anti-social behaviour",
                    f"{label}: a very or fairly big problem",
                    "asb",
                    partial(_indicator, column=column, positive=positive, missing=missing),
                )
            )
    single(
        "police_job",
        "Confidence",
        "The police in this area do an excellent or good job",
        POLICE_GOOD,
        2,
    )
    single(
        "police_council_dealing",
        "Confidence",
        "Agree the police and council deal with the anti-social behaviour and crime that matter",
        AGREE,
        2,
    )
    return measures


def _headline(
    measure: Measure,
    frame: pd.DataFrame,
    weights: pd.Series,
    replicates: pd.DataFrame | None,
) -> Headline | None:
    data = pd.DataFrame({"y": measure.indicator(frame)}, index=frame.index)
    if not data["y"].notna().any():
        return None
    table = weighted_share(data, "y", weights=weights, positive={"yes"}, replicates=replicates)
    row = table.iloc[0]
    wlow, whigh = float(row["weighted_low"]), float(row["weighted_high"])
    if replicates is not None and "replicate_low" in table:
        # The bootstrap interval reflects raking; Wilson on the effective n is
        # the fallback, and a replicate interval never claims more precision.
        wlow = min(wlow, float(row["replicate_low"]))
        whigh = max(whigh, float(row["replicate_high"]))
    return Headline(
        key=measure.key,
        topic=measure.topic,
        label=measure.label,
        question_key=measure.question_key,
        n=int(row["n"]),
        share=float(row["share"]),
        low=float(row["share_low"]),
        high=float(row["share_high"]),
        weighted_share=float(row["weighted_share"]),
        weighted_low=wlow,
        weighted_high=whigh,
        effective_n=float(row["effective_n"]),
    )


def _flagged_groups(table: pd.DataFrame) -> list[dict[str, Any]]:
    flagged = table[table["flag"].isin(list(ACKNOWLEDGED_FLAGS))]
    order = {f: i for i, f in enumerate(ACKNOWLEDGED_FLAGS)}
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
    groups.sort(key=lambda g: order[g["flag"]])
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


def compute_results(survey: Survey, *, scheme: WeightingScheme | None = None) -> SurveyResults:
    """The survey's results under `scheme` (default: its current scheme, or the
    default variables when none was chosen). Cached per results state."""
    key, current, benchmark_set = results_state(survey)
    if scheme is not None and (current is None or scheme.id != current.id):
        key = key.replace(f"scheme={current.id if current else 'default'}", f"scheme={scheme.id}")
    else:
        scheme = current
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            _CACHE.move_to_end(key)
            _STATS["hits"] += 1
            return cached
    results = _compute(survey, key, scheme, benchmark_set)
    with _CACHE_LOCK:
        _STATS["computed"] += 1
        _CACHE[key] = results
        _CACHE.move_to_end(key)
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return results


def _fit_failed(result: RakeResult) -> bool:
    """The iteration itself failed (bounds that cannot be met, or the limit
    reached), as opposed to margins no weighting could meet (an empty ward),
    where the iteration converges quickly to what is attainable."""
    codes = set(result.problem_codes())
    return "bounds_not_met" in codes or (
        "not_converged" in codes and result.iterations >= RAKE_MAX_ITER
    )


def _min_base() -> int:
    try:
        return int(current_app.config.get("MIN_BASE", 30))
    except RuntimeError:
        return 30


def _compute(
    survey: Survey,
    key: str,
    scheme: WeightingScheme | None,
    benchmark_set: BenchmarkSet | None,
) -> SurveyResults:
    started = time.perf_counter()
    min_base = _min_base()
    frame, demographics = _cached_frames(survey, key)
    bench = benchmarks_frame(benchmark_set)
    problems: list[Problem] = []

    table = representation(demographics, bench, min_base=min_base)
    labels: dict[object, str] = {
        (str(v), str(c)): group_label(str(v), str(c))
        for v, c in zip(table["variable"], table["category"], strict=True)
    }
    sentences = describe_flags(table, labels)

    available = weightable_variables(survey, benchmark_set)
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
            else None
        )
    else:
        variables = default_variables(survey, benchmark_set)
        bounds = None

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

    targets = targets_from_benchmarks(bench, variables) if variables else {}
    rake_result = rake(demographics, targets, bounds=bounds, max_iter=RAKE_MAX_ITER)
    problems.extend(rake_result.problems)
    weights = rake_result.weights
    if not np.isfinite(weights.to_numpy()).all() or weights.empty or not targets:
        weights = pd.Series(1.0, index=frame.index, name="weight")
    replicates: pd.DataFrame | None = None
    if targets and len(frame) > 1:
        if _fit_failed(rake_result):
            # Re-raking 200 resamples to margins the full sample could not meet
            # would only fail 200 times more slowly (a minute, not a second):
            # bootstrap the respondents and keep their weights instead.
            counts = replicate_weights(demographics, {}, n=REPLICATES, seed=survey.id)
            replicates = counts.mul(weights, axis=0)
            replicates = replicates / replicates.mean(axis=0)
            problems.append(
                Problem(
                    "replicates_not_reraked",
                    "Because the weighting did not meet the margins, the intervals and "
                    "priority bands come from resamples that were not re-weighted; they "
                    "understate the uncertainty a little.",
                )
            )
        else:
            # With trimming, a resample that cannot meet both the margins and
            # the bounds would otherwise iterate to the limit; a few times the
            # full sample's iterations is ample for the rest, and those that
            # still fail are counted in a problem, not hidden.
            replicate_iter = (
                RAKE_MAX_ITER
                if bounds is None
                else min(RAKE_MAX_ITER, max(100, 3 * rake_result.iterations))
            )
            replicates = replicate_weights(
                demographics,
                targets,
                n=REPLICATES,
                seed=survey.id,
                bounds=bounds,
                max_iter=replicate_iter,
            )
            problems.extend(
                p
                for p in replicates.attrs.get("problems", [])
                if p.code == "replicates_not_converged"
            )

    texts = SurveyTexts(survey)
    measures = headline_measures(survey, texts)
    headlines = []
    if len(frame):
        for measure in measures:
            headline = _headline(measure, frame, weights, replicates)
            if headline is not None:
                headlines.append(headline)

    priority_tables = []
    if len(frame):
        lang = survey.default_language
        for q in ordered_questions(survey):
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
            priority_tables.append(
                PriorityTable(
                    question_key=q.key,
                    prompt=texts.prompt(q, lang),
                    labels={
                        o.code: texts.get(option_key(q.key, o.code), lang, o.code)
                        for o in q.choices
                    },
                    result=result,
                )
            )

    scheme_info = {
        "id": scheme.id if scheme else None,
        "default": scheme is None,
        "variables": variables,
        "lower_bound": bounds[0] if bounds else None,
        "upper_bound": bounds[1] if bounds else None,
        "benchmark_set_id": benchmark_set.id if benchmark_set else None,
        "benchmark_version": benchmark_set.version if benchmark_set else None,
        "method": "rake",
        "tolerance": rake_result.tol,
        "replicates": REPLICATES if replicates is not None else 0,
        "replicate_seed": survey.id,
    }
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
        rake=rake_result,
        weights=weights,
        replicates=replicates,
        problems=problems,
        headlines=headlines,
        priorities=priority_tables,
        frame=frame,
        demographics=demographics,
        measures={m.key: m for m in measures},
        seconds=time.perf_counter() - started,
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
    """A headline measure by a demographic variable. Groups with fewer
    respondents than the minimum base are marked suppressed: their numbers are
    not shown anywhere."""
    measure = results.measures.get(measure_key)
    if measure is None:
        raise ServiceError("Choose a measure this survey has", field="measure")
    if variable not in results.demographics.columns:
        raise ServiceError("Choose a group this survey asks about", field="variable")
    min_base = _min_base()
    data = pd.DataFrame(
        {"y": measure.indicator(results.frame), variable: results.demographics[variable]},
        index=results.frame.index,
    )
    table = weighted_share(
        data,
        "y",
        weights=results.weights,
        by=variable,
        positive={"yes"},
        replicates=results.replicates,
        min_base=min_base,
    )
    rows = []
    for row in table.to_dict("records"):
        low, high = row["weighted_low"], row["weighted_high"]
        if "replicate_low" in row and np.isfinite(row["replicate_low"]):
            low, high = min(low, row["replicate_low"]), max(high, row["replicate_high"])
        rows.append(
            {
                "group": row["group"],
                "n": int(row["n"]),
                "suppressed": bool(row["suppressed"]),
                "share": row["share"],
                "low": row["share_low"],
                "high": row["share_high"],
                "weighted_share": row["weighted_share"],
                "weighted_low": low,
                "weighted_high": high,
            }
        )
    order = _category_order(results, variable)
    rows.sort(key=lambda r: order.get(r["group"], len(order)))
    return Breakdown(variable=variable, measure=measure, rows=rows, min_base=min_base)


def _category_order(results: SurveyResults, variable: str) -> dict[str, int]:
    table = results.representation
    cats = table.loc[table["variable"] == variable, "category"].tolist()
    return {c: i for i, c in enumerate(cats)}


# --------------------------------------------------------------------------- #
# Acknowledging the flags, marking priorities final
# --------------------------------------------------------------------------- #

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
    decision = PriorityDecision(
        survey_id=survey.id,
        kind=ACKNOWLEDGED,
        user_id=user.id,
        state_key=results.state_key[:200],
        n_responses=results.n_responses,
        details=details,
    )
    db.session.add(decision)
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


def mark_priorities_final(survey: Survey, user: User) -> PriorityDecision:
    """Mark the weighted priorities final for the strategy. Refused until the
    representation flags, as they stand now, have been acknowledged."""
    results = compute_results(survey)
    if not results.priorities:
        raise ServiceError("There are no priorities to mark final: nobody has ranked any yet")
    status = decision_status(survey, results)
    if status.acknowledgement is None:
        raise ServiceError(
            "Read the representation flags and confirm you have read them before marking "
            "the priorities final",
            field="acknowledge",
        )
    if not status.acknowledgement_current:
        raise ServiceError(
            "The representation flags have changed since they were acknowledged on "
            f"{status.acknowledgement.created_at:%d %B %Y}: read them again and confirm",
            field="acknowledge",
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
    decision = PriorityDecision(
        survey_id=survey.id,
        kind=FINAL,
        user_id=user.id,
        state_key=results.state_key[:200],
        n_responses=results.n_responses,
        details={
            "acknowledgement_id": status.acknowledgement.id,
            "priorities": snapshot,
            "scheme": results.scheme,
        },
    )
    db.session.add(decision)
    record(
        "priorities_marked_final",
        partnership_id=survey.partnership_id,
        user_id=user.id,
        target=f"survey:{survey.id}",
        details={
            "responses": results.n_responses,
            "acknowledgement_id": status.acknowledgement.id,
            "weighting": results.scheme["variables"],
            "benchmark_version": results.benchmark_version,
        },
    )
    db.session.flush()
    return decision
