"""Statistics for consult: representation, weighting, estimates, priorities, waves.

Pure pandas + numpy, so it can be imported, tested and benchmarked without the
web application. DataFrames in (one row per respondent, one column per
question key holding option codes), DataFrames and small dataclasses out.
"""

from ._codes import DEFAULT_MISSING_CODES, NOT_ANSWERED
from .estimates import suppress, weighted_share
from .intervals import newcombe_difference, replicate_interval, wilson_interval
from .priorities import PrioritiesResult, priorities, ranks_from_lists
from .representation import describe_flags, representation
from .waves import WaveChange, compare_waves
from .weighting import (
    Problem,
    RakeResult,
    poststratify,
    rake,
    replicate_weights,
    targets_from_benchmarks,
)

__all__ = [
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
