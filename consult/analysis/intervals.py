"""Confidence intervals shared by every estimate in the analysis library.

Wilson score intervals are used throughout because survey shares are often near
0 or 1 (a small community, a rare priority) where the textbook Wald interval
collapses to zero width or leaves [0, 1].
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def z_value(level: float = 0.95) -> float:
    """Two-sided standard normal quantile for a confidence ``level``."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
    return NormalDist().inv_cdf(0.5 + level / 2.0)


def wilson_interval(
    share: npt.ArrayLike, n: npt.ArrayLike, *, level: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Vectorised Wilson score interval for proportions.

    ``share`` is the observed proportion and ``n`` the sample size it rests on.
    ``n`` may be fractional: for weighted shares pass the Kish effective sample
    size, which is how the interval widens to account for weighting. Where
    ``n`` is 0 (or not finite) the bounds are NaN: there is nothing to say.
    """
    p = np.asarray(share, dtype=np.float64)
    size = np.asarray(n, dtype=np.float64)
    z = z_value(level)
    z2 = z * z
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = 1.0 + z2 / size
        centre = (p + z2 / (2.0 * size)) / denom
        half = (z / denom) * np.sqrt(p * (1.0 - p) / size + z2 / (4.0 * size * size))
        low = np.clip(centre - half, 0.0, 1.0)
        high = np.clip(centre + half, 0.0, 1.0)
    # Exact ends: rounding in the formula leaves ~1e-17 where 0 or 1 is right.
    low = np.where(p <= 0.0, 0.0, low)
    high = np.where(p >= 1.0, 1.0, high)
    bad = ~(size > 0) | ~np.isfinite(p)
    low = np.where(bad, np.nan, low)
    high = np.where(bad, np.nan, high)
    return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)


def replicate_interval(
    estimates: npt.ArrayLike,
    *,
    level: float = 0.95,
    method: str = "percentile",
    centre: npt.ArrayLike | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Interval from replicate estimates; axis 0 indexes the replicates.

    ``method="percentile"`` (the default, used by :func:`weighted_share`) takes
    the (1-level)/2 and (1+level)/2 quantiles of the replicate estimates. It
    respects the [0, 1] range of a share without any transformation.
    ``method="se"`` uses ``centre ± z·sd`` where sd is the standard deviation
    of the replicates (ddof=1) and ``centre`` defaults to the replicate mean;
    pass the full-sample estimate as ``centre`` for the usual bootstrap-SE
    interval. Replicates that produced NaN (an empty group in that resample)
    are ignored.
    """
    est = np.asarray(estimates, dtype=np.float64)
    if est.ndim == 0 or est.shape[0] == 0:
        raise ValueError("need at least one replicate estimate")
    alpha = (1.0 - level) / 2.0
    if method == "percentile":
        low = np.nanquantile(est, alpha, axis=0)
        high = np.nanquantile(est, 1.0 - alpha, axis=0)
    elif method == "se":
        sd = np.nanstd(est, axis=0, ddof=1)
        mid = np.nanmean(est, axis=0) if centre is None else np.asarray(centre, np.float64)
        z = z_value(level)
        low = mid - z * sd
        high = mid + z * sd
    else:
        raise ValueError(f"unknown method {method!r}; use 'percentile' or 'se'")
    return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)


def newcombe_difference(
    p1: float, n1: float, p2: float, n2: float, *, level: float = 0.95
) -> tuple[float, float]:
    """Newcombe's hybrid score interval for ``p2 - p1`` (independent samples).

    Built from the two Wilson intervals, so it stays sensible near 0 and 1 and
    agrees with the Wilson intervals shown beside each wave.
    """
    l1, u1 = wilson_interval(p1, n1, level=level)
    l2, u2 = wilson_interval(p2, n2, level=level)
    d = p2 - p1
    low = d - np.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    high = d + np.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    return float(low), float(high)
