"""Change between two waves of the same question (the first is the baseline)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._codes import DEFAULT_MISSING_CODES, _label, is_missing
from .intervals import newcombe_difference, wilson_interval


@dataclass(frozen=True)
class WaveChange:
    """``change`` = latest − baseline share, with a 95% Newcombe interval.

    The two waves are independent samples; each share's uncertainty uses its
    Kish effective sample size, so weighting widens the interval.
    """

    outcome: str
    positive: tuple[str, ...]
    baseline_share: float
    latest_share: float
    change: float
    low: float
    high: float
    baseline_low: float
    baseline_high: float
    latest_low: float
    latest_high: float
    n_baseline: int
    n_latest: int
    effective_n_baseline: float
    effective_n_latest: float
    level: float

    @property
    def significant(self) -> bool:
        """The interval for the change excludes zero."""
        return bool(self.low > 0 or self.high < 0)


def _share(
    frame: pd.DataFrame,
    outcome: str,
    positive: set[str],
    weights: pd.Series | None,
    missing_codes: Collection[str],
) -> tuple[float, int, float]:
    values = frame[outcome]
    keep = ~is_missing(values, missing_codes)
    hit = values[keep].map(_label).isin(list(positive)).to_numpy(dtype=np.float64)
    w = (
        np.ones(int(keep.sum()))
        if weights is None
        else weights.reindex(frame.index).to_numpy(dtype=np.float64)[keep]
    )
    total = float(w.sum())
    if total <= 0:
        return float("nan"), int(keep.sum()), 0.0
    return float((w * hit).sum() / total), int(keep.sum()), total * total / float((w * w).sum())


def compare_waves(
    baseline: pd.DataFrame,
    latest: pd.DataFrame,
    outcome: str,
    *,
    positive: Collection[str],
    weights_baseline: pd.Series | None = None,
    weights_latest: pd.Series | None = None,
    missing_codes: Collection[str] = DEFAULT_MISSING_CODES,
    level: float = 0.95,
) -> WaveChange:
    """Change in the (weighted) share answering one of ``positive``.

    Non-respondents to ``outcome`` are excluded in each wave. The interval is
    Newcombe's hybrid score interval for a difference of independent
    proportions, built from Wilson intervals on each wave's effective sample
    size.
    """
    wanted = {_label(p) for p in positive}
    p0, n0, e0 = _share(baseline, outcome, wanted, weights_baseline, missing_codes)
    p1, n1, e1 = _share(latest, outcome, wanted, weights_latest, missing_codes)
    low, high = newcombe_difference(p0, e0, p1, e1, level=level)
    l0, h0 = wilson_interval(p0, e0, level=level)
    l1, h1 = wilson_interval(p1, e1, level=level)
    return WaveChange(
        outcome=outcome,
        positive=tuple(sorted(wanted)),
        baseline_share=p0,
        latest_share=p1,
        change=p1 - p0,
        low=low,
        high=high,
        baseline_low=float(l0),
        baseline_high=float(h0),
        latest_low=float(l1),
        latest_high=float(h1),
        n_baseline=n0,
        n_latest=n1,
        effective_n_baseline=e0,
        effective_n_latest=e1,
        level=level,
    )
