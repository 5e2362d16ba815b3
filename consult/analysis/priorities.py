"""Ranking questions: which priorities residents put first, and how sure we are.

Canonical input: one column per option, named ``{question}__{option}``, holding
the rank the respondent gave it (1 = highest) and NaN when not chosen. This is
the shape of an export and keeps every option a plain numeric column. A column
holding lists of option codes in rank order converts with :func:`ranks_from_lists`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._codes import FloatArray

SEPARATOR = "__"


@dataclass(frozen=True)
class PrioritiesResult:
    """Per-priority measures, weighted beside unweighted.

    ``table`` is sorted by weighted rank. ``above`` (with replicates) is the
    matrix P(row priority truly ranks above column priority), estimated as the
    share of replicates in which its weighted Borda score is higher (ties count
    a half). ``n`` respondents ranked at least one option.
    """

    table: pd.DataFrame
    above: pd.DataFrame | None
    n: int
    effective_n: float
    top_n: int
    separation: float


def ranks_from_lists(
    values: pd.Series, question: str, options: Sequence[str] | None = None
) -> pd.DataFrame:
    """Convert a column of lists (codes in rank order) to the canonical columns.

    ``options`` fixes the columns and their order (default: every code seen,
    sorted); codes outside ``options`` raise, since dropping them would shift
    nobody's ranks but silently lose a choice.
    """
    exploded = pd.Series(values.to_numpy(), dtype=object).explode()
    row = exploded.index.to_numpy()
    present = exploded.notna().to_numpy()
    codes_seen = exploded[present].astype(str)
    chosen = list(options) if options is not None else sorted(set(codes_seen))
    position = {c: i for i, c in enumerate(chosen)}
    unknown = sorted(set(codes_seen) - set(position))
    if unknown:
        raise ValueError(f"codes not among the options: {unknown}")
    rows = row[present]
    # Position within each respondent's list is the rank; rows are contiguous
    # after explode, so a running count per row gives it without a loop.
    ranks = pd.Series(rows).groupby(rows).cumcount().to_numpy() + 1
    out = np.full((len(values), len(chosen)), np.nan)
    out[rows, codes_seen.map(position).to_numpy(dtype=np.int64)] = ranks
    return pd.DataFrame(
        out, index=values.index, columns=[f"{question}{SEPARATOR}{c}" for c in chosen]
    )


def _rank_matrix(frame: pd.DataFrame, question: str) -> tuple[list[str], FloatArray]:
    prefix = f"{question}{SEPARATOR}"
    columns = [c for c in frame.columns if isinstance(c, str) and c.startswith(prefix)]
    if not columns:
        raise KeyError(f"no columns named {prefix}<option> in the responses")
    ranks = frame[columns].to_numpy(dtype=np.float64)
    if (ranks[np.isfinite(ranks)] < 1).any():
        raise ValueError("ranks start at 1")
    return [c[len(prefix) :] for c in columns], ranks


def _order(primary: FloatArray, secondary: FloatArray, names: Sequence[str]) -> np.ndarray:
    # Highest Borda first, then highest top-N share, then option code: a total
    # order, so identical data always print in the same order.
    return np.lexsort((np.asarray(names), -secondary, -primary))


def _ranks_from_order(order: np.ndarray) -> np.ndarray:
    rank = np.empty(order.shape[0], dtype=np.int64)
    rank[order] = np.arange(1, order.shape[0] + 1)
    return rank


def priorities(
    frame: pd.DataFrame,
    question: str,
    *,
    weights: pd.Series | None = None,
    top_n: int = 3,
    replicates: pd.DataFrame | None = None,
    separation: float = 0.95,
) -> PrioritiesResult:
    """Top-N share, mean rank and Borda score per priority, weighted and not.

    Base: respondents who ranked at least one option. Per option:

    * ``top_share`` – weighted share of the base ranking it 1..top_n;
    * ``mean_rank`` – weighted mean rank *among those who ranked it* (lower is
      better; NaN if nobody did);
    * ``borda`` – points ``top_n - rank + 1`` for ranks 1..top_n (0 otherwise),
      weighted, divided by the weighted base: average points per respondent;
    * ``rank`` – position when options are ordered by ``borda``, then
      ``top_share``, then option code;

    with ``unweighted_*`` equivalents and ``rank_changed_by_weighting``.

    With ``replicates`` the result carries ``above``, P(i above j), and the
    table gains ``band``/``band_label``: walking down the weighted order, a new
    band starts only when P(previous option above this one) >= ``separation``;
    options in one band cannot be told apart and share a label such as "2=".
    """
    if top_n < 1:
        raise ValueError("top_n must be at least 1")
    names, ranks = _rank_matrix(frame, question)
    answered = np.isfinite(ranks).any(axis=1)
    ranks = ranks[answered]
    w = (
        np.ones(ranks.shape[0])
        if weights is None
        else weights.reindex(frame.index).to_numpy(dtype=np.float64)[answered]
    )
    ranked = np.isfinite(ranks)
    in_top = ranked & (np.where(ranked, ranks, np.inf) <= top_n)
    points = np.where(in_top, top_n - np.where(ranked, ranks, 0) + 1, 0.0)
    rank_values = np.where(ranked, ranks, 0.0)

    def measures(wt: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        total = wt.sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            top_share = (wt @ in_top) / total
            mean_rank = (wt @ rank_values) / (wt @ ranked)
            borda = (wt @ points) / total
        return top_share, mean_rank, borda

    top_w, mean_w, borda_w = measures(w)
    top_u, mean_u, borda_u = measures(np.ones_like(w))
    order_w = _order(borda_w, top_w, names)
    rank_w = _ranks_from_order(order_w)
    rank_u = _ranks_from_order(_order(borda_u, top_u, names))

    table = pd.DataFrame(
        {
            "option": names,
            "top_share": top_w,
            "mean_rank": mean_w,
            "borda": borda_w,
            "rank": rank_w,
            "unweighted_top_share": top_u,
            "unweighted_mean_rank": mean_u,
            "unweighted_borda": borda_u,
            "unweighted_rank": rank_u,
            "ranked_by": ranked.sum(axis=0),
        }
    )
    table["rank_changed_by_weighting"] = table["rank"] != table["unweighted_rank"]

    above_df: pd.DataFrame | None = None
    if replicates is not None:
        rep = replicates.reindex(frame.index).to_numpy(dtype=np.float64)[answered]
        with np.errstate(divide="ignore", invalid="ignore"):
            rep_borda = (rep.T @ points) / rep.sum(axis=0)[:, None]  # (R, options)
        diff = rep_borda[:, :, None] - rep_borda[:, None, :]
        above = (diff > 0).mean(axis=0) + 0.5 * (diff == 0).mean(axis=0)
        ordered = [names[i] for i in order_w]
        above_df = pd.DataFrame(above, index=names, columns=names).loc[ordered, ordered]
        band = np.ones(len(names), dtype=np.int64)
        for pos in range(1, len(order_w)):
            prev, cur = order_w[pos - 1], order_w[pos]
            step = 1 if above[prev, cur] >= separation else 0
            band[pos] = band[pos - 1] + step
        band_of = np.empty(len(names), dtype=np.int64)
        band_of[order_w] = band
        table["band"] = band_of
        sizes = table["band"].map(table["band"].value_counts())
        table["band_label"] = [
            f"{b}=" if s > 1 else str(b) for b, s in zip(table["band"], sizes, strict=True)
        ]

    table = table.sort_values("rank", kind="stable").reset_index(drop=True)
    w2 = float((w * w).sum())
    return PrioritiesResult(
        table=table,
        above=above_df,
        n=int(answered.sum()),
        effective_n=float(w.sum() ** 2 / w2) if w2 > 0 else 0.0,
        top_n=top_n,
        separation=separation,
    )
