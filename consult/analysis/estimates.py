"""Weighted shares with intervals that admit the weighting."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
import pandas as pd

from ._codes import DEFAULT_MISSING_CODES, NOT_ANSWERED, FloatArray, _label, is_missing
from .intervals import replicate_interval, wilson_interval

ALL = "All"


def _aligned_weights(frame: pd.DataFrame, weights: pd.Series | None) -> FloatArray:
    if weights is None:
        return np.ones(len(frame), dtype=np.float64)
    w = weights.reindex(frame.index).to_numpy(dtype=np.float64)
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("weights must be finite, non-negative and cover every respondent")
    return w


def _group_codes(
    frame: pd.DataFrame, by: str | None, keep: np.ndarray, missing_codes: Collection[str]
) -> tuple[np.ndarray, list[str]]:
    if by is None:
        return np.zeros(int(keep.sum()), dtype=np.int64), [ALL]
    values = frame[by]
    missing = is_missing(values, missing_codes)
    labels = np.array(values.map(_label).astype(object), dtype=object, copy=True)
    labels[missing] = NOT_ANSWERED
    codes, uniques = pd.factorize(labels[keep], sort=True)
    names = [str(u) for u in uniques]
    if NOT_ANSWERED in names:
        # Keep non-response visible but last, after the real groups.
        order = [i for i, u in enumerate(names) if u != NOT_ANSWERED] + [names.index(NOT_ANSWERED)]
        remap = np.empty(len(order), dtype=np.int64)
        remap[order] = np.arange(len(order))
        codes = remap[codes]
        names = [names[i] for i in order]
    return np.asarray(codes, dtype=np.int64), names


def weighted_share(
    frame: pd.DataFrame,
    outcome: str,
    *,
    weights: pd.Series | None = None,
    by: str | None = None,
    min_base: int = 30,
    categories: Sequence[str] | None = None,
    positive: Collection[str] | None = None,
    replicates: pd.DataFrame | None = None,
    missing_codes: Collection[str] = DEFAULT_MISSING_CODES,
    level: float = 0.95,
) -> pd.DataFrame:
    """Share of respondents in each outcome category, per group.

    Respondents who did not answer ``outcome`` (NaN or a missing code) are left
    out of the base. With ``positive``, the outcome becomes an indicator and a
    single row per group gives the share whose answer is in ``positive`` (e.g.
    ``{"fairly_unsafe", "very_unsafe"}``); its category is the codes joined
    with "|". Otherwise one row per category: ``categories`` fixes which and
    in what order (others still count in the base), by default every answered
    category, sorted.

    Columns: ``group``, ``category``, ``n`` (the group's base), ``count``,
    ``share`` with its Wilson interval on ``n``, ``weighted_share`` with a
    Wilson interval on ``effective_n`` = (Σw)²/Σw² within the group, and
    ``suppressed`` = n < min_base (the numbers stay, so exports must blank them:
    see :func:`suppress`). With ``replicates`` (columns of replicate weights
    from :func:`replicate_weights`), ``replicate_low``/``replicate_high`` give
    the percentile interval of the replicate weighted shares; ``se`` is then
    the standard deviation of the replicate estimates, ``deff`` the design
    effect se² / (p(1-p)/n) and ``estimate_effective_n`` = n / deff, on which
    ``weighted_low``/``weighted_high`` are the Wilson interval. Without
    replicates, ``se`` is the Kish approximation and ``deff`` = n / effective_n.
    ``suppressed`` is true when either the base or the effective base is below
    ``min_base``.
    """
    y = frame[outcome]
    keep = ~is_missing(y, missing_codes)
    w_all = _aligned_weights(frame, weights)
    w = w_all[keep]
    groups, group_names = _group_codes(frame, by, keep, missing_codes)

    answered = y[keep].map(_label).astype(object).to_numpy()
    if positive is not None:
        wanted = {_label(p) for p in positive}
        cat_names = ["|".join(sorted(wanted))]
        y_codes = np.where(pd.Series(answered).isin(list(wanted)).to_numpy(), 0, 1)
        n_cats = 2
    else:
        cat_names = (
            [_label(c) for c in categories]
            if categories is not None
            else sorted({str(a) for a in answered})
        )
        position = {c: i for i, c in enumerate(cat_names)}
        n_cats = len(cat_names) + 1  # last slot: answered, outside ``categories``
        y_codes = pd.Series(answered).map(position).fillna(len(cat_names)).to_numpy(np.int64)

    g_count = len(group_names)
    cell = groups * n_cats + y_codes
    size = g_count * n_cats
    counts = np.bincount(cell, minlength=size).reshape(g_count, n_cats)
    wsum = np.bincount(cell, weights=w, minlength=size).reshape(g_count, n_cats)
    base = counts.sum(axis=1)
    wbase = wsum.sum(axis=1)
    w2 = np.bincount(groups, weights=w * w, minlength=g_count)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = np.where(w2 > 0, wbase**2 / w2, 0.0)
        share = counts / base[:, None]
        wshare = wsum / wbase[:, None]

    shown = len(cat_names)
    share = share[:, :shown]
    wshare = wshare[:, :shown]
    out = pd.DataFrame(
        {
            "group": np.repeat(group_names, shown),
            "category": np.tile(cat_names, g_count),
            "n": np.repeat(base, shown),
            "count": counts[:, :shown].ravel(),
            "share": share.ravel(),
        }
    )
    low, high = wilson_interval(out["share"], out["n"], level=level)
    out["share_low"] = low
    out["share_high"] = high
    out["weighted_share"] = wshare.ravel()
    out["effective_n"] = np.repeat(n_eff, shown)
    wlow, whigh = wilson_interval(out["weighted_share"], out["effective_n"], level=level)
    out["weighted_low"] = wlow
    out["weighted_high"] = whigh
    p_w = out["weighted_share"].to_numpy(dtype=np.float64)
    n_rows = out["n"].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        srs_var = p_w * (1.0 - p_w) / n_rows
    if replicates is not None and replicates.shape[1] > 1:
        aligned = (
            replicates if replicates.index.equals(frame.index) else replicates.reindex(frame.index)
        )
        # Replicate columns as contiguous rows (replicate_weights stores them
        # so: the transpose is free), and respondents outside the base sent to
        # a spare slot: one bincount per replicate, nothing of size
        # respondents x replicates is copied.
        rep_rows = np.ascontiguousarray(aligned.to_numpy(dtype=np.float64).T)
        cell_all = np.full(len(frame), size, dtype=np.int64)
        cell_all[keep] = cell
        n_rep = rep_rows.shape[0]
        rw = np.empty((n_rep, g_count, n_cats))
        for r in range(n_rep):
            counts_r = np.bincount(cell_all, weights=rep_rows[r], minlength=size + 1)
            rw[r] = counts_r[:size].reshape(g_count, n_cats)
        with np.errstate(divide="ignore", invalid="ignore"):
            estimates = (rw[:, :, :shown] / rw.sum(axis=2, keepdims=True)).reshape(
                n_rep, g_count * shown
            )
        rlow, rhigh = replicate_interval(estimates, level=level, method="percentile")
        out["replicate_low"] = rlow
        out["replicate_high"] = rhigh
        # Bootstrap standard error of each estimate, and its design effect
        # against simple random sampling of the same number of respondents.
        with np.errstate(invalid="ignore"):
            se = np.nanstd(estimates, axis=0, ddof=1)
    else:
        with np.errstate(invalid="ignore"):
            se = np.sqrt(
                srs_var * (n_rows / np.where(out["effective_n"] > 0, out["effective_n"], np.nan))
            )
    with np.errstate(divide="ignore", invalid="ignore"):
        deff = np.where(srs_var > 0, se**2 / srs_var, np.nan)
        est_n = np.where(np.isfinite(deff) & (deff > 0), n_rows / deff, out["effective_n"])
    out["se"] = se
    out["deff"] = deff
    out["estimate_effective_n"] = est_n
    if replicates is not None and replicates.shape[1] > 1:
        # The interval rests on this estimate's own effective base, not the
        # Kish one every estimate would otherwise share.
        elow, ehigh = wilson_interval(p_w, est_n, level=level)
        out["weighted_low"] = elow
        out["weighted_high"] = ehigh
    # Disclosure control and "too few to report" rest on the effective base:
    # 40 responses carrying the weight of 12 are 12, not 40.
    out["suppressed"] = (out["n"] < min_base) | (out["effective_n"] < min_base)
    if by is not None:
        out.insert(0, "by", by)
    return out


def suppress(table: pd.DataFrame, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Blank the numbers of suppressed rows, for anything leaving the system."""
    numeric = (
        list(columns)
        if columns is not None
        else [c for c in table.columns if c not in {"by", "group", "category", "suppressed"}]
    )
    out = table.copy()
    mask = out["suppressed"].to_numpy(dtype=bool)
    for c in numeric:
        out[c] = out[c].astype("float64").mask(mask)
    return out
