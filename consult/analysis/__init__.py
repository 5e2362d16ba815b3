"""Statistics for consult: representation, weighting, estimates, priorities, waves.

Pure pandas + numpy, so it can be imported, tested and benchmarked without the
web application. DataFrames in (one row per respondent, one column per
question key holding option codes), DataFrames and small dataclasses out.
"""

from ._codes import DEFAULT_MISSING_CODES, NOT_ANSWERED
from .estimates import suppress, weighted_share
from .feasibility import Collapse, Feasibility, check_feasibility, drop_not_stated, is_not_stated
from .intervals import newcombe_difference, replicate_interval, wilson_interval
from .priorities import (
    PrioritiesResult,
    PrioritiesSummary,
    priorities,
    ranks_from_lists,
    summarise_priorities,
)
from .representation import describe_flags, representation, representation_messages
from .waves import WaveChange, compare_waves
from .weigh import DEFAULT_BOUNDS, WeightingOutcome, weigh
from .weighting import (
    Problem,
    RakeResult,
    poststratify,
    rake,
    replicate_weights,
    targets_from_benchmarks,
)

__all__ = [
    "DEFAULT_BOUNDS",
    "Collapse",
    "Feasibility",
    "PrioritiesSummary",
    "WeightingOutcome",
    "check_feasibility",
    "drop_not_stated",
    "is_not_stated",
    "representation_messages",
    "summarise_priorities",
    "weigh",
    "DEFAULT_MISSING_CODES",
    "NOT_ANSWERED",
    "PrioritiesResult",
    "Problem",
    "RakeResult",
    "WaveChange",
    "compare_waves",
    "describe_flags",
    "newcombe_difference",
    "poststratify",
    "priorities",
    "rake",
    "ranks_from_lists",
    "replicate_interval",
    "replicate_weights",
    "representation",
    "suppress",
    "targets_from_benchmarks",
    "weighted_share",
    "wilson_interval",
]
