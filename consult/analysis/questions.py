"""Estimates for every kind of question, weighted beside unweighted.

Every share a questionnaire produces is the weighted mean of a 0/1
*indicator* over a *base* of respondents: "chose Very safe" over those who
answered the question (single choice, scales, a grid row), "ticked Burglary"
over those who answered the multiple-choice question, "put Burglary in their
top 3" over those who ranked anything, "answer mentions Street lighting"
over the free-text answers that were read. So one computation serves them
all: an `IndicatorSet` per question holds the indicator columns and, per
column, which base it is over; `share_estimates` turns any number of sets
into one table with one pass over the respondents (a single matrix product
for the replicates, which is what keeps 40 questions x 100,000 responses
well inside a second).

Uncertainty, per estimate:

* with replicate weights (bootstrap, each replicate re-weighted): the
  standard error is the standard deviation of the replicate estimates
  (ddof 1, as R's ``svrepdesign(type="bootstrap")``); the design effect is
  that variance over the simple-random-sample variance p(1-p)/n; the
  interval is Wilson's on the estimate's own effective base
  n / deff, so it stays inside [0, 1];
* without replicates: Wilson on the Kish effective base (Σw)²/Σw² of the
  estimate's base, standard error sqrt(p(1-p)/n_eff), design effect n/n_eff
  (the weighting effect only).

Unweighted shares carry Wilson intervals on their base. Numbers get a
weighted mean (linearised or replicate standard error), a weighted median
(the smallest value whose weighted cumulative share reaches one half, R's
``svyquantile(qrule="math")``; interval by replicates, else Woodruff's
method on the Kish base) and a banded distribution.

`suppressed` marks estimates whose unweighted base is below ``min_base``:
anything leaving the system blanks them (see `consult.analysis.suppress`).
Pure numpy and pandas.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from .intervals import wilson_interval, z_value

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

ALL = "All"

SHARE_COLUMNS = (
    "question",
    "column",
    "category",
    "group",
    "n",
    "count",
    "share",
    "low",
    "high",
    "weighted_share",
    "weighted_low",
    "weighted_high",
    "se",
    "deff",
    "effective_n",
    "interval",
    "suppressed",
)


@dataclass
class IndicatorSet:
    """One question's indicator columns.

    ``values`` (respondents x columns) holds 1 where the respondent is
    counted in the column's numerator, else 0; ``bases`` (respondents x
    bases) is True where the respondent is in a base; ``base_of[j]`` names
    the base column ``j`` is over. ``columns`` are the variable names (a
    grid row's column), ``categories`` what each indicator means (an
    option code)."""

    question: str
    columns: list[str]
    categories: list[str]
    values: BoolArray
    bases: BoolArray
    base_of: npt.NDArray[np.int64]

    def __post_init__(self) -> None:
        k = len(self.categories)
        if self.values.shape[1] != k or len(self.columns) != k or len(self.base_of) != k:
            raise ValueError(f"{self.question}: columns, categories and values disagree")
        if self.bases.shape[0] != self.values.shape[0]:
            raise ValueError(f"{self.question}: bases and values have different respondents")


def categorical_set(
    question: str,
    values: pd.Series | Sequence[object],
    categories: Sequence[str],
    *,
    missing_codes: Sequence[str] = (),
    column: str | None = None,
) -> IndicatorSet:
    """A single-choice answer (or a grid row, or a banded number) as one
    indicator per category in ``categories``. The base is every respondent
    with an answer that is not a missing code ("Prefer not to say", "Don't
    know"); an answer outside ``categories`` stays in the base."""
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    # One hash pass over the answers: codes for every distinct answer, then
    # the few distinct answers are looked up (category, missing) once each.
    if isinstance(series.dtype, pd.CategoricalDtype):
        # Encoded already: its codes and categories are the factorisation.
        codes = series.cat.codes.to_numpy(dtype=np.int64)
        uniques = series.cat.categories
    else:
        codes, uniques = pd.factorize(series)
    position = {c: i for i, c in enumerate(categories)}
    missing = set(missing_codes)
    names = [str(u) for u in uniques]
    lookup = np.array([position.get(u, -1) for u in names] + [-1], dtype=np.int64)
    in_base = np.array([u not in missing for u in names] + [False], dtype=bool)
    base = in_base[codes]  # code -1 (no answer) picks the last entry
    which = lookup[codes]
    out = np.zeros((len(codes), len(categories)), dtype=bool)
    hit = np.flatnonzero(which >= 0)
    out[hit, which[hit]] = True
    name = column or question
    return IndicatorSet(
        question,
        [name] * len(categories),
        [str(c) for c in categories],
        out,
        base[:, None],
        np.zeros(len(categories), dtype=np.int64),
    )


def grouped_set(source: IndicatorSet, group: Sequence[str], name: str) -> IndicatorSet:
    """Categories of `source` added up as one indicator per column (a
    "positive" grouping: very or fairly safe), over the same bases."""
    wanted = set(group)
    columns = list(dict.fromkeys(source.columns))
    values, base_of = [], []
    for col in columns:
        picks = [
            j
            for j, (c, cat) in enumerate(zip(source.columns, source.categories, strict=True))
            if c == col and cat in wanted
        ]
        first = source.columns.index(col)
        values.append(
            source.values[:, picks].any(axis=1)
            if picks
            else np.zeros(source.values.shape[0], dtype=bool)
        )
        base_of.append(int(source.base_of[first]))
    return IndicatorSet(
        source.question,
        columns,
        [name] * len(columns),
        np.column_stack(values),
        source.bases,
        np.asarray(base_of, dtype=np.int64),
    )


def grid_set(
    question: str,
    rows: dict[str, pd.Series],
    categories: Sequence[str],
    *,
    missing_codes: Sequence[str] = (),
) -> IndicatorSet:
    """A grid: each row (``{column: answers}``) is its own categorical
    question with its own base."""
    parts = [
        categorical_set(question, values, categories, missing_codes=missing_codes, column=col)
        for col, values in rows.items()
    ]
    if not parts:
        raise ValueError(f"{question}: a grid needs at least one row")
    k = len(categories)
    return IndicatorSet(
        question,
        [c for p in parts for c in p.columns],
        [c for p in parts for c in p.categories],
        np.hstack([p.values for p in parts]),
        np.hstack([p.bases for p in parts]),
        np.repeat(np.arange(len(parts), dtype=np.int64), k),
    )


def flags_set(
    question: str,
    flags: pd.DataFrame,
    categories: Sequence[str],
    *,
    base: BoolArray | None = None,
) -> IndicatorSet:
    """Multiple choice (or free-text themes): ``flags`` columns hold 1 when
    ticked, 0 when not, NaN when the question was not answered. The base is
    every respondent with any non-NaN flag, unless ``base`` is given."""
    block = flags.to_numpy(dtype=np.float64)
    answered = np.isfinite(block).any(axis=1) if base is None else np.asarray(base, dtype=bool)
    values = np.isfinite(block) & answered[:, None] & (np.nan_to_num(block) > 0)
    return IndicatorSet(
        question,
        [str(c) for c in flags.columns],
        [str(c) for c in categories],
        values,
        answered[:, None],
        np.zeros(len(categories), dtype=np.int64),
    )


def top_n_set(
    question: str, ranks: pd.DataFrame, categories: Sequence[str], top_n: int
) -> IndicatorSet:
    """A ranking: "placed it in their top N", over those who ranked anything."""
    block = ranks.to_numpy(dtype=np.float64)
    ranked = np.isfinite(block)
    answered = ranked.any(axis=1)
    values = ranked & (np.where(ranked, block, np.inf) <= top_n)
    return IndicatorSet(
        question,
        [str(c) for c in ranks.columns],
        [str(c) for c in categories],
        values,
        answered[:, None],
        np.zeros(len(categories), dtype=np.int64),
    )


def _weights(weights: pd.Series | npt.ArrayLike | None, n: int) -> FloatArray:
    if weights is None:
        return np.ones(n, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,) or not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("weights must be finite, non-negative, one per respondent")
    return w


def _replicates(replicates: pd.DataFrame | npt.ArrayLike | None, n: int) -> FloatArray | None:
    if replicates is None:
        return None
    rep = np.asarray(replicates, dtype=np.float64)
    if rep.ndim != 2 or rep.shape[0] != n or rep.shape[1] < 2:
        raise ValueError("replicates must have one row per respondent and at least two columns")
    return rep


def _group_masks(
    groups: pd.Series | Sequence[object] | npt.NDArray[np.object_] | None,
    n: int,
    order: Sequence[str] | None,
) -> tuple[list[str], BoolArray]:
    """(group names, respondents x groups membership). Respondents whose
    group is missing belong to no group."""
    if groups is None:
        return [ALL], np.ones((n, 1), dtype=bool)
    series = pd.Series(groups, dtype=object).reset_index(drop=True)
    present = series.notna().to_numpy()
    labels = series.astype(str).to_numpy(dtype=object)
    seen = sorted({str(v) for v, p in zip(labels, present, strict=True) if p})
    names = [str(g) for g in order if str(g) in seen] if order is not None else []
    names += [g for g in seen if g not in names]
    codes = pd.Series(labels).map({g: i for i, g in enumerate(names)}).to_numpy()
    codes = np.where(present, codes, -1)
    codes = np.nan_to_num(np.asarray(codes, dtype=np.float64), nan=-1).astype(np.int64)
    member = codes[:, None] == np.arange(len(names))[None, :]
    return names, member


#: Respondents per block when summing: the stacked indicators of one block
#: (block x every column of every question) stay a few tens of megabytes.
BLOCK_ROWS = 16384


def _layout(
    sets: Sequence[IndicatorSet], names: list[str]
) -> tuple[npt.NDArray[np.int64], list[tuple[str, str, str, str]]]:
    """Which stacked base column each stacked indicator is over, and what
    each indicator is (question, column, category, group)."""
    base_of: list[npt.NDArray[np.int64]] = []
    meta: list[tuple[str, str, str, str]] = []
    offset = 0
    for name in names:
        for s in sets:
            base_of.append(s.base_of + offset)
            offset += s.bases.shape[1]
            meta.extend(
                (s.question, col, cat, name)
                for col, cat in zip(s.columns, s.categories, strict=True)
            )
    return (np.concatenate(base_of) if base_of else np.zeros(0, dtype=np.int64)), meta


def _block(
    sets: Sequence[IndicatorSet], member: BoolArray, rows: slice, width: int, k: int
) -> FloatArray:
    """The block's indicators (first ``k`` columns) then bases, every set
    within every group, written straight into one array: the products
    below then take every column at once."""
    size = rows.stop - rows.start
    out = np.empty((size, width), dtype=np.float64)
    col, bcol = 0, k
    whole = member.shape[1] == 1 and bool(member[rows, 0].all())
    for g in range(member.shape[1]):
        inside = None if whole else member[rows, g][:, None]
        for s in sets:
            for source, start in ((s.values, col), (s.bases, bcol)):
                target = out[:, start : start + source.shape[1]]
                if inside is None:
                    np.copyto(target, source[rows])
                else:
                    np.multiply(source[rows], inside, out=target)
            col += s.values.shape[1]
            bcol += s.bases.shape[1]
    return out


def share_estimates(
    sets: Sequence[IndicatorSet],
    *,
    weights: pd.Series | npt.ArrayLike | None = None,
    replicates: pd.DataFrame | npt.ArrayLike | None = None,
    groups: pd.Series | Sequence[object] | npt.NDArray[np.object_] | None = None,
    group_order: Sequence[str] | None = None,
    min_base: int = 30,
    level: float = 0.95,
) -> pd.DataFrame:
    """One row per indicator (and group): base, count, unweighted share
    with its Wilson interval, weighted share with interval, standard error,
    design effect and effective base, and whether the base is too small to
    publish. Weights and replicates are aligned with the sets' rows."""
    if not sets:
        return pd.DataFrame(columns=list(SHARE_COLUMNS))
    n = sets[0].values.shape[0]
    w = _weights(weights, n)
    rep = _replicates(replicates, n)
    names, member = _group_masks(groups, n, group_order)
    base_of, meta = _layout(sets, names)
    k = len(meta)
    m = sum(s.bases.shape[1] for s in sets) * len(names)
    count, wsum = np.zeros(k), np.zeros(k)
    bcount, bsum, b2sum = np.zeros(m), np.zeros(m), np.zeros(m)
    r = 0 if rep is None else rep.shape[1]
    rsum, rbsum = np.zeros((r, k)), np.zeros((r, m))
    w2 = w * w
    rep32 = None if rep is None else np.ascontiguousarray(rep, dtype=np.float32)
    # Counts, weighted and squared-weight sums in one product per block.
    head = np.vstack([np.ones(n), w, w2])
    for first in range(0, n, BLOCK_ROWS):
        rows = slice(first, min(n, first + BLOCK_ROWS))
        both = _block(sets, member, rows, k + m, k)
        sums = head[:, rows] @ both
        count += sums[0, :k]
        bcount += sums[0, k:]
        wsum += sums[1, :k]
        bsum += sums[1, k:]
        b2sum += sums[2, k:]
        if rep32 is not None:
            # Single precision for the replicates' products: half the
            # memory traffic, and a standard error needs no more digits.
            rboth = rep32[rows].T @ both.astype(np.float32)
            rsum += rboth[:, :k]
            rbsum += rboth[:, k:]
    base_n = bcount[base_of]
    wbase = bsum[base_of]
    w2base = b2sum[base_of]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = count / base_n
        wshare = wsum / wbase
        kish = np.where(w2base > 0, wbase**2 / w2base, 0.0)
        srs_var = wshare * (1 - wshare)
    if rep is not None:
        # One product for every estimate: replicates x (indicators + bases).
        rbase = rbsum[:, base_of]
        with np.errstate(divide="ignore", invalid="ignore"):
            rshare = rsum / rbase
        se = np.nanstd(rshare, axis=0, ddof=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            deff = (se**2) / (srs_var / base_n)
            eff = np.where(se > 0, srs_var / (se**2), kish)
        interval = "replicate"
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            se = np.sqrt(srs_var / kish)
            deff = base_n / kish
        eff = kish
        interval = "wilson_effective_n"
    eff = np.where(np.isfinite(eff), eff, kish)
    low, high = wilson_interval(share, base_n, level=level)
    wlow, whigh = wilson_interval(wshare, eff, level=level)
    questions, cols, cats, grps = zip(*meta, strict=True)
    return pd.DataFrame(
        {
            "question": list(questions),
            "column": list(cols),
            "category": list(cats),
            "group": list(grps),
            "n": base_n.astype(np.int64),
            "count": count.astype(np.int64),
            "share": share,
            "low": low,
            "high": high,
            "weighted_share": wshare,
            "weighted_low": wlow,
            "weighted_high": whigh,
            "se": se,
            "deff": deff,
            "effective_n": eff,
            "interval": interval,
            "suppressed": base_n < min_base,
        }
    )


# --------------------------------------------------------------------------- #
# Numbers
# --------------------------------------------------------------------------- #


def weighted_quantile(values: FloatArray, weights: FloatArray, q: float) -> float:
    """The smallest value whose weighted cumulative share reaches ``q``."""
    keep = np.isfinite(values) & (weights > 0)
    x, w = values[keep], weights[keep]
    if x.size == 0:
        return math.nan
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    cum = np.cumsum(w) / w.sum()
    # Tolerance: 0.5 reached exactly must count as reached despite rounding.
    return float(x[min(int(np.searchsorted(cum, q - 1e-12)), x.size - 1)])


def _value_totals(
    values: FloatArray, rep: FloatArray, rows: npt.NDArray[np.intp] | None = None
) -> tuple[FloatArray, FloatArray]:
    """The distinct answers in order, and each replicate's total weight on
    each (distinct values x replicates). Answers to a number question take
    few distinct values (years, a count), so the replicate weights are summed
    per distinct value once (a gather of the replicate rows in answer order,
    then a running sum), not carried per respondent through every replicate.
    ``rows``: which rows of ``rep`` the values belong to (default: all)."""
    order = np.argsort(values, kind="stable")
    x = values[order]
    starts = np.flatnonzero(np.r_[True, x[1:] != x[:-1]])
    picked = order if rows is None else rows[order]
    sums = np.add.reduceat(np.asarray(rep, dtype=np.float64)[picked], starts, axis=0)
    return x[starts].astype(np.float64), sums


def _quantiles_from_totals(distinct: FloatArray, sums: FloatArray, q: float) -> FloatArray:
    """Each replicate's weighted quantile from `_value_totals`: the smallest
    value whose cumulative share reaches ``q``."""
    cum = np.cumsum(sums, axis=0)
    total = cum[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        reached = cum >= (q - 1e-12) * total
    first = reached.argmax(axis=0)
    out = distinct[first].astype(np.float64)
    out[~(total > 0)] = np.nan
    return out


def _replicate_quantiles(values: FloatArray, rep: FloatArray, q: float) -> FloatArray:
    """Each replicate's weighted quantile."""
    distinct, sums = _value_totals(values, rep)
    return _quantiles_from_totals(distinct, sums, q)


@dataclass(frozen=True)
class NumberSummary:
    n: int
    mean: float
    median: float
    weighted_mean: float
    weighted_mean_low: float
    weighted_mean_high: float
    weighted_mean_se: float
    weighted_median: float
    weighted_median_low: float
    weighted_median_high: float
    effective_n: float
    minimum: float
    maximum: float
    interval: str
    suppressed: bool


def number_summary(
    values: pd.Series | npt.ArrayLike,
    *,
    weights: pd.Series | npt.ArrayLike | None = None,
    replicates: pd.DataFrame | npt.ArrayLike | None = None,
    min_base: int = 30,
    level: float = 0.95,
) -> NumberSummary:
    """Weighted mean and median of a number question with 95% intervals,
    over those who answered it."""
    x_all = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=np.float64)
    n_all = x_all.shape[0]
    w_all = _weights(weights, n_all)
    rep_all = _replicates(replicates, n_all)
    keep = np.isfinite(x_all)
    x, w = x_all[keep], w_all[keep]
    n = int(keep.sum())
    nan = math.nan
    if n == 0 or w.sum() <= 0:
        return NumberSummary(0, *(nan,) * 12, "none", True)
    z = z_value(level)
    wt = w.sum()
    mean_w = float(w @ x / wt)
    kish = float(wt**2 / (w @ w))
    ones = np.ones_like(x)
    median_u = weighted_quantile(x, ones, 0.5)
    median_w = weighted_quantile(x, w, 0.5)
    if rep_all is not None:
        # Every replicate's mean and median from its totals per distinct
        # answer (`_value_totals`): one pass over the respondents.
        distinct, sums = _value_totals(x, rep_all, np.flatnonzero(keep))
        rtot = sums.sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            rmeans = (distinct @ sums) / rtot
        se = float(np.nanstd(rmeans, ddof=1))
        rmed = _quantiles_from_totals(distinct, sums, 0.5)
        med_se = float(np.nanstd(rmed, ddof=1))
        med_low, med_high = median_w - z * med_se, median_w + z * med_se
        interval = "replicate"
    else:
        # Linearised standard error of a ratio mean (with the n/(n-1) factor R uses).
        resid = x - mean_w
        factor = n / (n - 1) if n > 1 else nan
        se = float(math.sqrt(factor * float((w * w) @ (resid * resid))) / wt) if n > 1 else nan
        # Woodruff: the interval of the share below the median, mapped back
        # through the weighted distribution.
        plow, phigh = wilson_interval(0.5, kish, level=level)
        med_low = weighted_quantile(x, w, float(plow))
        med_high = weighted_quantile(x, w, float(phigh))
        interval = "linearised"
    return NumberSummary(
        n=n,
        mean=float(x.mean()),
        median=median_u,
        weighted_mean=mean_w,
        weighted_mean_low=mean_w - z * se,
        weighted_mean_high=mean_w + z * se,
        weighted_mean_se=se,
        weighted_median=median_w,
        weighted_median_low=float(med_low),
        weighted_median_high=float(med_high),
        effective_n=kish,
        minimum=float(x.min()),
        maximum=float(x.max()),
        interval=interval,
        suppressed=n < min_base,
    )


def _nice_step(span: float, bands: int, integers: bool) -> float:
    raw = span / max(bands, 1)
    if raw <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if integers and (m * power) % 1:
            continue  # whole numbers get whole-number bands
        if m * power >= raw:
            return float(m * power)
    return float(10 * power)


def number_bands(
    values: pd.Series | npt.ArrayLike,
    *,
    edges: Sequence[float] | None = None,
    bands: int = 5,
) -> tuple[list[float], list[str], list[object]]:
    """Band edges, band labels, and each respondent's band label (None when
    not answered). Without ``edges``: about ``bands`` equal bands of a round
    width from a round start, the last open-ended."""
    x = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=np.float64)
    finite = x[np.isfinite(x)]
    if edges is None:
        if finite.size == 0:
            return [], [], [None] * len(x)
        lo, hi = float(finite.min()), float(finite.max())
        step = _nice_step(hi - lo, bands, bool(np.all(finite == np.round(finite))))
        start = math.floor(lo / step) * step
        count = max(1, math.floor((hi - start) / step) + 1)
        edges = [start + i * step for i in range(count + 1)]
    edges = [float(e) for e in edges]
    integers = bool(finite.size == 0 or np.all(finite == np.round(finite))) and all(
        e == round(e) for e in edges
    )
    labels = []
    for i in range(len(edges) - 1):
        a, b = edges[i], edges[i + 1]
        if i == len(edges) - 2:
            labels.append(f"{a:g} or more")
        elif integers:
            labels.append(f"{a:g}–{b - 1:g}" if b - 1 > a else f"{a:g}")
        else:
            labels.append(f"{a:g} to under {b:g}")
    which = np.searchsorted(np.asarray(edges[1:-1]), x, side="right")
    names = np.array([*labels, None], dtype=object)
    which = np.where(np.isfinite(x) & (x >= edges[0]), which, len(labels))
    if finite.size and float(finite.min()) < edges[0]:
        below = f"under {edges[0]:g}"
        labels.insert(0, below)
        names = np.array([*names[:-1], None, below], dtype=object)
        which = np.where(np.isfinite(x) & (x < edges[0]), len(names) - 1, which)
    assigned: list[object] = names[which].tolist()
    return edges, labels, assigned


__all__ = [
    "ALL",
    "IndicatorSet",
    "NumberSummary",
    "categorical_set",
    "flags_set",
    "grid_set",
    "grouped_set",
    "number_bands",
    "number_summary",
    "share_estimates",
    "top_n_set",
    "weighted_quantile",
]
