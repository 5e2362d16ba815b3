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
import numpy.typing as npt
import pandas as pd

from ._codes import FloatArray

_SQRT2 = float(np.sqrt(2.0))


def _normal_cdf(z: FloatArray) -> FloatArray:
    from math import erf

    return np.asarray(0.5 * (1.0 + np.vectorize(erf)(z / _SQRT2)), dtype=np.float64)


SEPARATOR = "__"


@dataclass(frozen=True)
class PrioritiesResult:
    """Per-priority measures, weighted beside unweighted.

    ``table`` is sorted by weighted rank. ``bootstrap_share`` (with
    replicates) is the share of replicates in which the row priority's
    weighted Borda score is higher than the column's (ties count a half). It
    is a bootstrap proportion, roughly Φ(d / se), not the probability that one
    truly ranks above the other. ``p_values`` holds the Holm-adjusted p-value
    of each pairwise comparison (a two-sided z test of the Borda difference,
    its standard error taken from the replicates). ``n`` respondents ranked
    at least one option.
    """

    table: pd.DataFrame
    bootstrap_share: pd.DataFrame | None
    n: int
    effective_n: float
    top_n: int
    separation: float
    p_values: pd.DataFrame | None = None
    replicates_used: int = 0

    @property
    def level(self) -> float:
        """The significance level of the pairwise comparisons (1 - separation)."""
        return 1.0 - self.separation


def holm(p_values: FloatArray) -> FloatArray:
    """Holm's step-down adjustment of a vector of p-values (NaN stays NaN)."""
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    values = p[ok]
    m = values.shape[0]
    if m == 0:
        return out
    order = np.argsort(values, kind="stable")
    adjusted = np.minimum(1.0, (m - np.arange(m)) * values[order])
    adjusted = np.maximum.accumulate(adjusted)
    back = np.empty(m)
    back[order] = adjusted
    out[ok] = back
    return out


def bands_from_separated(
    order: Sequence[int], separated: npt.NDArray[np.bool_]
) -> npt.NDArray[np.int64]:
    """Band per position in ``order`` such that bands never chain.

    Walking down the order, an option joins the current band only when no
    comparison separates it from *any* option already in the band; otherwise
    it starts a new one. So two options share a band only if they cannot be
    told apart (transitivity is never assumed).
    """
    band = np.zeros(len(order), dtype=np.int64)
    members: list[int] = []
    current = 0
    for pos, option in enumerate(order):
        if members and any(separated[option, m] for m in members):
            current += 1
            members = []
        members.append(option)
        band[pos] = current
    return band


def band_labels(band_by_position: Sequence[int]) -> list[str]:
    """Competition-style labels: a band is numbered by the position of its
    first member ("1", "2=", "2=", "4"), so the 13th option is never "6"."""
    labels: list[str] = []
    sizes: dict[int, int] = {}
    for b in band_by_position:
        sizes[int(b)] = sizes.get(int(b), 0) + 1
    first: dict[int, int] = {}
    for pos, b in enumerate(band_by_position):
        first.setdefault(int(b), pos + 1)
        labels.append(f"{first[int(b)]}=" if sizes[int(b)] > 1 else str(first[int(b)]))
    return labels


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


def _replicate_borda(
    replicates: pd.DataFrame, index: pd.Index, answered: npt.NDArray[np.bool_], points: FloatArray
) -> FloatArray:
    """Weighted Borda score per replicate (rows) and option (columns).

    The replicate matrix (respondents x replicates, 160 MB at 100,000 x 200)
    is used where it lies: rows that ranked nothing get zero points and count
    zero in the base, so one product over every row gives the answered rows'
    sums. Copying the answered rows out first cost more than the product, once
    per ranking question.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        if replicates.index.equals(index):
            rep = replicates.to_numpy(dtype=np.float64)
            k = points.shape[1]
            scored = np.zeros((rep.shape[0], k + 1))
            scored[answered, :k] = points
            scored[answered, k] = 1.0
            sums = rep.T @ scored
            # A missing replicate weight (NaN) in a row that ranked nothing
            # would spoil the sums where the answered rows alone would not:
            # then take those rows out, as below.
            if np.isfinite(sums).all():
                return np.asarray(sums[:, :k] / sums[:, k:], dtype=np.float64)
        rep = replicates.reindex(index).to_numpy(dtype=np.float64)[answered]
        return np.asarray((rep.T @ points) / rep.sum(axis=0)[:, None], dtype=np.float64)


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

    With replicates the result carries ``bootstrap_share`` and ``p_values``,
    and the table gains ``band``/``band_label``: two options share a band only
    if no Holm-adjusted pairwise comparison separates them at level
    1 - ``separation`` (bands never chain, see :func:`bands_from_separated`).
    """
    if top_n < 1:
        raise ValueError("top_n must be at least 1")
    names, ranks = _rank_matrix(frame, question)
    answered = np.asarray(np.isfinite(ranks).any(axis=1), dtype=np.bool_)
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

    share_df: pd.DataFrame | None = None
    p_df: pd.DataFrame | None = None
    used = 0
    if replicates is not None and replicates.shape[1] > 1:
        used = replicates.shape[1]
        rep_borda = _replicate_borda(replicates, frame.index, answered, points)  # (R, options)
        diff = rep_borda[:, :, None] - rep_borda[:, None, :]
        share = (diff > 0).mean(axis=0) + 0.5 * (diff == 0).mean(axis=0)
        # Pairwise z tests of the Borda difference, SE from the replicates;
        # Holm over the k(k-1)/2 comparisons keeps the chance of any false
        # separation at most 1 - separation. A normal p-value moves smoothly
        # with the replicates, so bands do not flip between seeds the way
        # counting replicate wins near a threshold does.
        k = len(names)
        with np.errstate(invalid="ignore", divide="ignore"):
            se = diff.std(axis=0, ddof=1)
            d = borda_w[:, None] - borda_w[None, :]
            z = np.abs(d) / se
        p_pair = np.where(se > 0, 2.0 * (1.0 - _normal_cdf(z)), np.where(d != 0, 0.0, 1.0))
        iu = np.triu_indices(k, 1)
        adjusted = np.full((k, k), 1.0)
        adj = holm(p_pair[iu])
        adjusted[iu] = adj
        adjusted[(iu[1], iu[0])] = adj
        separated = adjusted < (1.0 - separation)
        np.fill_diagonal(separated, False)
        ordered = [names[i] for i in order_w]
        share_df = pd.DataFrame(share, index=names, columns=names).loc[ordered, ordered]
        p_df = pd.DataFrame(adjusted, index=names, columns=names).loc[ordered, ordered]
        band = bands_from_separated(list(order_w), separated) + 1
        labels_by_pos = band_labels(band.tolist())
        band_of = np.empty(len(names), dtype=np.int64)
        label_of = np.empty(len(names), dtype=object)
        band_of[order_w] = band
        label_of[order_w] = labels_by_pos
        table["band"] = band_of
        table["band_label"] = label_of

    table = table.sort_values("rank", kind="stable").reset_index(drop=True)
    w2 = float((w * w).sum())
    return PrioritiesResult(
        table=table,
        bootstrap_share=share_df,
        n=int(answered.sum()),
        effective_n=float(w.sum() ** 2 / w2) if w2 > 0 else 0.0,
        top_n=top_n,
        separation=separation,
        p_values=p_df,
        replicates_used=used,
    )


_NUMBER_WORDS = {
    2: "two",
    3: "three",
    4: "four",
    5: "five",
    6: "six",
    7: "seven",
    8: "eight",
    9: "nine",
    10: "ten",
}


def _count_word(k: int) -> str:
    return _NUMBER_WORDS.get(k, str(k))


def _and(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


@dataclass(frozen=True)
class PrioritiesSummary:
    """What an officer can say about the order of the priorities, in words."""

    sentence: str
    can_report: str
    cannot_report: str


def summarise_priorities(
    result: PrioritiesResult, labels: dict[str, str] | None = None, *, weighted: bool = True
) -> PrioritiesSummary:
    """A sentence for the strategy, from the bands (or its absence of them).

    "Anti-social behaviour is clearly first; the next three (…) cannot be told
    apart." With one band for everything, it says so and what can still be
    reported: how many residents put each priority in their top N.
    """
    labels = labels or {}
    table = result.table
    name = [labels.get(str(o), str(o)) for o in table["option"]]
    top = result.top_n
    can = (
        f"You can report the share of residents who put each priority in their top {top}, "
        "with its interval."
    )
    if "band" not in table.columns or len(table) == 0:
        return PrioritiesSummary(
            "There are not enough responses to compare the priorities with each other.",
            can,
            "You cannot report an order between the priorities.",
        )
    bands = table["band"].tolist()
    groups: list[list[str]] = []
    previous = None
    for label, band in zip(name, bands, strict=True):
        if groups and band == previous:
            groups[-1].append(label)
        else:
            groups.append([label])
        previous = band
    basis = "" if weighted else " (unweighted: the weighting could not be used)"
    if len(groups) == 1:
        return PrioritiesSummary(
            f"With {result.n} responses{basis}, none of the {len(name)} priorities can be "
            "told apart from the others: the order shown is not a finding.",
            can,
            "You cannot say which priority comes first, or put them in order.",
        )
    parts: list[str] = []
    for i, group in enumerate(groups[:3]):
        if i == 0:
            if len(group) == 1:
                parts.append(f"{group[0]} is clearly first")
            else:
                parts.append(f"{_and(group)} come first and cannot be told apart")
        elif len(group) == 1:
            parts.append(f"{group[0]} is next")
        else:
            parts.append(f"the next {_count_word(len(group))} ({_and(group)}) cannot be told apart")
    if len(groups) > 3:
        parts.append("the rest come lower")
    sentence = "; ".join(parts) + "."
    sentence = sentence[0].upper() + sentence[1:]
    cannot = (
        "You cannot put the priorities within one band in order."
        if any(len(g) > 1 for g in groups)
        else "Every step in the order is supported by the data."
    )
    if not weighted:
        sentence += " These figures are unweighted: the weighting could not be used."
    return PrioritiesSummary(sentence, can, cannot)
