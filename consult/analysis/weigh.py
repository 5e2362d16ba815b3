"""The one decision every figure depends on: are weights used, and which.

:func:`weigh` checks feasibility (collapsing sparse categories, see
:mod:`.feasibility`), rakes with weights capped, and decides. Weights are used
only when the raking met every margin within tolerance and the cap; otherwise
every figure is unweighted and ``reason`` says why in plain words. Callers
never look at a failed :class:`RakeResult`'s weights: ``weights`` is all
ones then.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._codes import DEFAULT_MISSING_CODES
from .feasibility import DEFAULT_MIN_COUNT, Feasibility, check_feasibility
from .weighting import Problem, RakeResult, rake

#: Default cap: no weight below 0.1 or above 5 times the mean weight. One
#: respondent then never speaks for more than five average respondents;
#: beyond that a single person's answers move headline figures by points.
DEFAULT_BOUNDS = (0.1, 5.0)


@dataclass
class WeightingOutcome:
    used: bool
    weights: pd.Series
    rake: RakeResult | None
    feasibility: Feasibility
    bounds: tuple[float, float] | None
    reason: str = ""
    problems: list[Problem] = field(default_factory=list)

    @property
    def variables(self) -> list[str]:
        return list(self.feasibility.targets)

    @property
    def converged(self) -> bool:
        return bool(self.rake is not None and self.rake.converged)


def _ones(frame: pd.DataFrame) -> pd.Series:
    return pd.Series(np.ones(len(frame)), index=frame.index, name="weight")


def weigh(
    frame: pd.DataFrame,
    targets: Mapping[str, Mapping[str, float]],
    *,
    min_count: int = DEFAULT_MIN_COUNT,
    bounds: tuple[float, float] | None = DEFAULT_BOUNDS,
    area_groups: Mapping[str, str] | None = None,
    names: Mapping[str, str] | None = None,
    tol: float = 1e-6,
    max_iter: int = 1000,
    missing_codes: Collection[str] = DEFAULT_MISSING_CODES,
    base_weights: pd.Series | None = None,
) -> WeightingOutcome:
    """Collapse, rake with a cap, and decide whether the weights may be used."""
    feas = check_feasibility(
        frame,
        targets,
        min_count=min_count,
        area_groups=area_groups,
        names=names,
        missing_codes=missing_codes,
    )
    problems = [
        Problem(
            "categories_collapsed" if c.action == "collapsed" else "variable_dropped",
            c.message,
            c.variable,
            c.empty + c.sparse,
        )
        for c in feas.collapses
    ]
    if len(frame) == 0:
        return WeightingOutcome(
            False, _ones(frame), None, feas, bounds, "There are no responses yet.", problems
        )
    if not feas.targets:
        reason = (
            "There is nothing to weight to."
            if not targets
            else "Every weighting variable had to be left out, so the results are unweighted."
        )
        return WeightingOutcome(False, _ones(frame), None, feas, bounds, reason, problems)
    result = rake(
        feas.frame,
        feas.targets,
        bounds=bounds,
        tol=tol,
        max_iter=max_iter,
        missing_codes=missing_codes,
        base_weights=base_weights,
    )
    problems.extend(result.problems)
    finite = bool(np.isfinite(result.weights.to_numpy()).all())
    if result.converged and result.bounds_met and finite:
        return WeightingOutcome(True, result.weights, result, feas, bounds, "", problems)
    capped = (
        f" with no weight above {bounds[1]:g} or below {bounds[0]:g} times the average"
        if bounds is not None
        else ""
    )
    reason = (
        "The responses could not be weighted to the population"
        f"{capped}: the sample is too unlike the population on "
        + ", ".join((names or {}).get(v, v).lower() for v in feas.targets)
        + ". Every figure is unweighted."
    )
    problems.append(Problem("weights_not_used", reason))
    return WeightingOutcome(False, _ones(frame), result, feas, bounds, reason, problems)
