"""A survey's results, as an officer reads them: whose voices are missing
(representation against the partnership's benchmarks), the weighting and its
diagnostics, headline measures weighted beside unweighted, breakdowns, and the
weighted priorities with the bands the data can support.

One module per concern:

* :mod:`.schemes` — weighting schemes and the one decision of which weights
  every figure uses (:func:`decide_weighting`);
* :mod:`.compute` — computing and caching a survey's results;
* :mod:`.measures` — the standard headline measures;
* :mod:`.decisions` — acknowledging the flags, marking priorities final;
* :mod:`.machine` — the machine-readable results (``consult results --json``);
* :mod:`.streams` — the sample and open streams, and the combined view;
* :mod:`.cache` — results stored in the database, shared by every app server;
* :mod:`.labels` — plain words for variables and groups.

All statistics come from `consult.analysis`. Public names stay importable
from here so callers need not know the split.
"""

from .cache import compute_and_store, page_results
from .compute import (
    ACKNOWLEDGED_FLAGS,
    REPLICATES,
    Breakdown,
    PriorityTable,
    SurveyResults,
    breakdown,
    cache_stats,
    clear_cache,
    compute_results,
    replicate_count,
    results_state,
)
from .decisions import (
    ACKNOWLEDGED,
    FINAL,
    DecisionStatus,
    acknowledge_flags,
    decision_status,
    mark_priorities_final,
    needs_override,
)
from .labels import CHANNEL, VARIABLE_NAMES, group_label, problem_text, variable_name
from .machine import results_json
from .measures import (
    AGREE,
    BIG_PROBLEM,
    CHANGE_THRESHOLD,
    POLICE_GOOD,
    UNSAFE_AFTER_DARK,
    WORRIED,
    Headline,
    Measure,
    headline_measures,
)
from .schemes import (
    DEFAULT_WEIGHTING_VARIABLES,
    MAX_UPPER_BOUND,
    MIN_LOWER_BOUND,
    RAKE_MAX_ITER,
    WeightingDecision,
    area_groups,
    benchmarks_frame,
    choose_scheme,
    current_scheme,
    decide_weighting,
    default_variables,
    demographics_for,
    load_frames,
    survey_variables,
    use_default_scheme,
    weightable_variables,
)

__all__ = [
    "ACKNOWLEDGED",
    "ACKNOWLEDGED_FLAGS",
    "AGREE",
    "BIG_PROBLEM",
    "CHANGE_THRESHOLD",
    "DEFAULT_WEIGHTING_VARIABLES",
    "FINAL",
    "MAX_UPPER_BOUND",
    "MIN_LOWER_BOUND",
    "POLICE_GOOD",
    "RAKE_MAX_ITER",
    "REPLICATES",
    "UNSAFE_AFTER_DARK",
    "CHANNEL",
    "VARIABLE_NAMES",
    "WORRIED",
    "Breakdown",
    "DecisionStatus",
    "Headline",
    "Measure",
    "PriorityTable",
    "SurveyResults",
    "WeightingDecision",
    "acknowledge_flags",
    "area_groups",
    "benchmarks_frame",
    "breakdown",
    "cache_stats",
    "choose_scheme",
    "clear_cache",
    "compute_and_store",
    "compute_results",
    "page_results",
    "current_scheme",
    "decide_weighting",
    "decision_status",
    "default_variables",
    "demographics_for",
    "group_label",
    "headline_measures",
    "load_frames",
    "mark_priorities_final",
    "needs_override",
    "replicate_count",
    "results_json",
    "results_state",
    "survey_variables",
    "use_default_scheme",
    "problem_text",
    "variable_name",
    "weightable_variables",
]
