"""Raking, post-stratification and bootstrap replicate weights.

Respondents with the same demographic profile always end up with the same
weight, so the sample is collapsed once to its observed profiles ("cells") and
all iteration happens on cell counts: a million respondents on five margins are
a few thousand cells. Replicates reuse the same cells, since a bootstrap
resample only changes how many respondents fall in each cell.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ._codes import (
    DEFAULT_MISSING_CODES,
    NOT_ANSWERED,
    Encoded,
    FloatArray,
    IntArray,
    encode,
    is_missing,
)

Targets = Mapping[str, Mapping[str, float]]
BoolArray = npt.NDArray[np.bool_]

# Beyond this many possible profiles a dense bincount table would waste memory,
# so cell ids are compacted with a sort instead.
_DENSE_CELL_LIMIT = 1 << 24
# Shares are allowed to be off by this much before we tell the user we rescaled.
_RENORMALISE_NOTICE = 0.01
# Slack when checking trimmed weights against their bounds after re-normalising.
_BOUND_SLACK = 1e-9


@dataclass(frozen=True)
class Problem:
    """Something the caller must be told about. Never dropped silently.

    ``code`` is stable and machine-readable; ``message`` is a plain sentence.
    Codes: ``no_respondents``, ``variable_not_in_frame``, ``all_missing``,
    ``invalid_targets``, ``targets_renormalised``, ``empty_category``,
    ``unknown_category``, ``zero_target``, ``not_converged``,
    ``bounds_not_met``, ``replicates_not_converged``.
    """

    code: str
    message: str
    variable: str | None = None
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class RakeResult:
    """Weights plus everything needed to judge them."""

    weights: pd.Series
    converged: bool
    iterations: int
    max_margin_error: float
    effective_sample_size: float
    design_effect: float
    min_weight: float
    max_weight: float
    problems: list[Problem] = field(default_factory=list)
    bounds: tuple[float, float] | None = None
    trimmed: bool = False
    bounds_met: bool = True
    tol: float = 1e-6
    method: str = "rake"
    # The margins table, or a function that builds it: building a DataFrame per
    # variable costs more than raking a million respondents, and many callers
    # (replicates, the fieldwork monitor) never look at it.
    _margins: pd.DataFrame | Callable[[], pd.DataFrame] = field(
        default_factory=pd.DataFrame, repr=False, compare=False
    )

    @property
    def margins(self) -> pd.DataFrame:
        """One row per variable x category: target, sample and weighted shares, gap."""
        table = self._margins
        if callable(table):
            table = table()
            object.__setattr__(self, "_margins", table)
        return table

    @property
    def n(self) -> int:
        return int(self.weights.shape[0])

    @property
    def ok(self) -> bool:
        """Converged and nothing to report."""
        return self.converged and not self.problems

    def problem_codes(self) -> list[str]:
        return [p.code for p in self.problems]


# --------------------------------------------------------------------------- #
# Preparing variables and cells
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class _Margin:
    """One raking variable after validation: targets aligned to its codes."""

    name: str
    enc: Encoded
    target: FloatArray  # shares for enc.categories, summing to 1
    index: int = -1  # position among the cells' code columns
    counts: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


@dataclass
class _Cells:
    """The sample collapsed to its distinct answer profiles."""

    counts: FloatArray  # respondents per cell
    cell_codes: list[IntArray]  # per encoded variable, the analysis code of each cell
    row_id: npt.NDArray[np.intp]  # profile id of each respondent
    dense_lookup: IntArray | None  # profile id -> cell, when ids are small enough
    _row_cell: IntArray | None = None

    @property
    def row_cell(self) -> IntArray:
        if self._row_cell is None:
            assert self.dense_lookup is not None
            self._row_cell = self.dense_lookup.take(self.row_id)
        return self._row_cell

    def to_rows(self, per_cell: FloatArray) -> FloatArray:
        """Spread one value per cell back to the respondents."""
        if self._row_cell is None and self.dense_lookup is not None:
            # One gather instead of two: profile id -> value directly.
            dense = np.zeros(self.dense_lookup.shape[0], dtype=np.float64)
            occupied = self.dense_lookup >= 0
            dense[occupied] = per_cell[self.dense_lookup[occupied]]
            return dense.take(self.row_id)
        return per_cell.take(self.row_cell)


def _validate_targets(
    frame: pd.DataFrame,
    targets: Targets,
    missing_codes: Collection[str],
    problems: list[Problem],
) -> list[_Margin]:
    margins: list[_Margin] = []
    for var, shares in targets.items():
        cats = [str(c) for c in shares]
        values = np.array([float(shares[c]) for c in shares], dtype=np.float64)
        if len(cats) == 0 or not np.isfinite(values).all() or (values < 0).any():
            raise ValueError(f"targets for {var!r} must be finite, non-negative shares")
        total = float(values.sum())
        if total <= 0:
            problems.append(
                Problem("invalid_targets", f"The targets for {var} add up to zero.", var)
            )
            continue
        if abs(total - 1.0) > _RENORMALISE_NOTICE:
            problems.append(
                Problem(
                    "targets_renormalised",
                    f"The population shares for {var} add up to {total:.4f}, not 1; "
                    "they were rescaled to add up to 1.",
                    var,
                )
            )
        if var not in frame.columns:
            problems.append(
                Problem(
                    "variable_not_in_frame",
                    f"No responses contain the variable {var}; it was not used for weighting.",
                    var,
                )
            )
            continue
        enc = encode(frame[var], cats, missing_codes)
        margins.append(_Margin(var, enc, values / total))
    return margins


def _margin_problems(margins: Sequence[_Margin], problems: list[Problem]) -> list[_Margin]:
    """Name every category that cannot be weighted; drop variables nobody answered."""
    usable: list[_Margin] = []
    for m in margins:
        enc = m.enc
        k = len(enc.categories)
        answered = m.counts[:k]
        seen_unknown = tuple(
            u for u, c in zip(enc.unknown, m.counts[k + 1 :], strict=True) if c > 0
        )
        if answered.sum() == 0 and not seen_unknown:
            problems.append(
                Problem(
                    "all_missing",
                    f"Nobody answered {m.name}; it was not used for weighting.",
                    m.name,
                )
            )
            continue
        if seen_unknown:
            n_unknown = int(m.counts[k + 1 :].sum())
            problems.append(
                Problem(
                    "unknown_category",
                    f"{n_unknown} responses to {m.name} use categories with no population "
                    f"share ({', '.join(seen_unknown)}); they keep their sample share.",
                    m.name,
                    seen_unknown,
                )
            )
        empty = tuple(
            c
            for c, n, t in zip(enc.categories, answered, m.target, strict=True)
            if n == 0 and t > 0
        )
        if empty:
            problems.append(
                Problem(
                    "empty_category",
                    f"No respondents in {m.name} = {', '.join(empty)}, so they cannot be "
                    "weighted up; the margins for this variable cannot be met.",
                    m.name,
                    empty,
                )
            )
        zero = tuple(
            c
            for c, n, t in zip(enc.categories, answered, m.target, strict=True)
            if n > 0 and t == 0
        )
        if zero:
            problems.append(
                Problem(
                    "zero_target",
                    f"{m.name} = {', '.join(zero)} has respondents but a population share of "
                    "zero; their weight is zero.",
                    m.name,
                    zero,
                )
            )
        usable.append(m)
    return usable


def _profile_ids(
    encoded: Sequence[Encoded], radices: Sequence[int], span: int, shift: int
) -> npt.NDArray[np.intp]:
    """Each respondent's profile id: the raw codes + 1 read as digits, 0..span-1.

    Arithmetic on the raw codes (Horner's rule) is far cheaper than a per-row
    lookup table, which is applied to the few cells afterwards. On a million
    rows the cost is the number and width of the passes, so: raw codes start
    at -1 (NaN), hence a partial id over variables whose radices multiply to R
    lies strictly between -R and R; runs of int8 columns (Categorical codes)
    are combined in int8 while that holds, then the runs in the narrowest type
    for the whole span (an int8 pass costs a fifth of an int64 one). The shift
    to 0..span-1 comes last, then one widening to intp, the type bincount and
    take index with (they would copy anything else). Raw codes are never written.
    """
    parts: list[npt.NDArray[Any]] = []
    widths: list[int] = []
    owned: list[bool] = []
    for e, r in zip(encoded, radices, strict=True):
        if (
            parts
            and e.raw.dtype == np.int8
            and parts[-1].dtype == np.int8
            and widths[-1] * r <= 127
        ):
            if owned[-1]:
                parts[-1] *= r
            else:
                parts[-1] = np.multiply(parts[-1], r)
                owned[-1] = True
            parts[-1] += e.raw
            widths[-1] *= r
        else:
            parts.append(e.raw)
            widths.append(r)
            owned.append(False)
    work: type[np.signedinteger[Any]] = (
        np.int16 if span < (1 << 15) else np.int32 if span < (1 << 31) else np.int64
    )
    acc, acc_owned = parts[0], owned[0]
    for part, width in zip(parts[1:], widths[1:], strict=True):
        if acc_owned and acc.dtype == work:
            acc *= width
        else:
            acc = np.multiply(acc, width, dtype=work)
            acc_owned = True
        np.add(acc, part, out=acc, dtype=work, casting="unsafe")
    if not acc_owned:  # one variable, not combined with anything: its raw codes
        row_id = acc.astype(np.intp)
        row_id += shift
        return row_id
    acc += shift
    return acc.astype(np.intp)


def _build_cells(encoded: Sequence[Encoded], n: int) -> _Cells:
    radices = [e.raw_radix for e in encoded]
    span = 1
    for r in radices:
        span *= r
    raw_cell_codes: list[IntArray]
    dense_lookup: IntArray | None = None
    row_cell: IntArray | None = None
    if span < (1 << 62):
        strides = [1] * len(radices)
        for i in range(len(radices) - 2, -1, -1):
            strides[i] = strides[i + 1] * radices[i + 1]
        row_id = _profile_ids(encoded, radices, span, shift=sum(strides))
        if span <= _DENSE_CELL_LIMIT:
            dense = np.bincount(row_id, minlength=span)
            ids = np.flatnonzero(dense)
            dense_lookup = np.full(span, -1, dtype=np.int64)
            dense_lookup[ids] = np.arange(ids.shape[0], dtype=np.int64)
            counts = dense[ids].astype(np.float64)
        else:
            uniq, inverse, cnt = np.unique(row_id, return_inverse=True, return_counts=True)
            ids = uniq.astype(np.int64)
            row_cell = inverse.astype(np.int64).reshape(-1)
            counts = cnt.astype(np.float64)
        raw_cell_codes = []
        rest = ids.astype(np.int64)
        for st, r in zip(strides, radices, strict=True):
            raw_cell_codes.append((rest // st) % r)
    else:
        # Too many possible profiles for one integer: compact as we go.
        row_id = np.zeros(n, dtype=np.int64)
        width = 1

        for e, r in zip(encoded, radices, strict=True):
            if width * r >= (1 << 62):
                _, compact = np.unique(row_id, return_inverse=True)
                row_id = compact.astype(np.int64).reshape(-1)
                width = int(row_id.max()) + 1
            row_id = row_id * r + (e.raw.astype(np.int64) + 1)
            width *= r
        _, first, where, cnt = np.unique(
            row_id, return_index=True, return_inverse=True, return_counts=True
        )
        row_cell = where.astype(np.int64).reshape(-1)
        counts = cnt.astype(np.float64)
        raw_cell_codes = [e.raw[first].astype(np.int64) + 1 for e in encoded]
    cell_codes = [e.lut[rc] for e, rc in zip(encoded, raw_cell_codes, strict=True)]
    return _Cells(
        counts=counts,
        cell_codes=cell_codes,
        row_id=row_id,
        dense_lookup=dense_lookup,
        _row_cell=row_cell,
    )


def _prepare(
    frame: pd.DataFrame,
    targets: Targets,
    missing_codes: Collection[str],
    problems: list[Problem],
) -> tuple[list[_Margin], _Cells | None]:
    """Validate, encode and collapse once; name every problem on the way."""
    encoded = _validate_targets(frame, targets, missing_codes, problems)
    if len(frame) == 0 or not encoded:
        return [], None
    cells = _build_cells([m.enc for m in encoded], len(frame))
    counted = [
        replace(
            m,
            index=i,
            counts=np.bincount(
                cells.cell_codes[i], weights=cells.counts, minlength=m.enc.radix
            ).astype(np.int64),
        )
        for i, m in enumerate(encoded)
    ]
    return _margin_problems(counted, problems), cells


# --------------------------------------------------------------------------- #
# Iterative proportional fitting on cells, for one or many count vectors
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class _Fit:
    factors: FloatArray  # (cells, R), normalised so the weighted total equals N
    iterations: int
    internal_error: FloatArray  # (R,) gap to the attainable targets
    reported_error: FloatArray  # (R,) gap to the stated targets (empty categories count)
    bounds_ok: BoolArray
    trimmed: bool
    weighted_shares: list[FloatArray]  # per margin, (R, radix)
    target_shares: list[FloatArray]  # per margin, (R, radix), as reported
    sample_shares: list[FloatArray]  # per margin, (R, radix)


def _column_sums(values: FloatArray) -> FloatArray:
    # Far quicker than values.sum(axis=0) on a tall C-ordered matrix.
    return np.asarray(np.einsum("pr->r", values), dtype=np.float64)


# While clipping, the mean is iterated on from the unclipped mean; it seldom
# moves by more than a fraction of a per cent, so only the cells that could
# be clipped for a mean within this factor of the start take part.
_CLIP_BAND = 1.1


def _clip_to_mean(
    f: FloatArray,
    counts: FloatArray,
    total: FloatArray,
    bounds: tuple[float, float],
    weighted: FloatArray,
) -> bool:
    """Clip factors in place to [lo, hi] times the mean *of the clipped weights*.

    Clipping against the current mean moves the mean, so a single clip leaves
    weights outside the bounds; the mean of the clipped weights is a monotone
    function of the mean clipped against, so iterating on it converges. The
    iteration runs on the few cells that could be clipped while the mean stays
    within :data:`_CLIP_BAND` of where it started (the others add a constant),
    and on every cell should it leave that band. ``weighted`` holds
    ``counts * f`` on entry and on return. Returns whether the factor of a
    cell with weight was changed.
    """
    lo, hi = bounds
    start = _column_sums(weighted) / total
    near = f < (lo * _CLIP_BAND) * start[None, :]
    near |= f > (hi / _CLIP_BAND) * start[None, :]
    rows = np.flatnonzero(near.any(axis=1))
    if rows.shape[0] == 0:
        return False
    sub_f = f[rows]
    sub_counts = counts[rows]
    rest = start * total - np.einsum("pr,pr->r", sub_counts, sub_f)
    band = (start / _CLIP_BAND, start * _CLIP_BAND)
    mean = start
    for _ in range(200):
        clipped = np.clip(sub_f, (lo * mean)[None, :], (hi * mean)[None, :])
        new_mean = (rest + np.einsum("pr,pr->r", sub_counts, clipped)) / total
        if bool(((new_mean < band[0]) | (new_mean > band[1])).any()):
            return _clip_everywhere(f, counts, total, bounds, weighted)
        if np.allclose(new_mean, mean, rtol=1e-13, atol=0.0):
            break
        mean = new_mean
    changed = bool(((clipped != sub_f) & (sub_counts > 0)).any())
    f[rows] = clipped
    weighted[rows] = sub_counts * clipped
    return changed


def _clip_everywhere(
    f: FloatArray,
    counts: FloatArray,
    total: FloatArray,
    bounds: tuple[float, float],
    weighted: FloatArray,
) -> bool:
    """:func:`_clip_to_mean` on every cell, for when the mean moves far."""
    mean = _column_sums(weighted) / total
    clipped = f
    for _ in range(200):
        clipped = np.clip(f, (bounds[0] * mean)[None, :], (bounds[1] * mean)[None, :])
        new_mean = np.einsum("pr,pr->r", counts, clipped) / total
        if np.allclose(new_mean, mean, rtol=1e-13, atol=0.0):
            break
        mean = new_mean
    changed = bool(((clipped != f) & (counts > 0)).any())
    f[...] = clipped
    np.multiply(counts, f, out=weighted)
    return changed


# A dense table of category combinations may have this many more positions
# than there are cells before raking goes back to one row per cell.
_TABLE_SLACK = 2


class _Layout:
    """Where a fit keeps its numbers: one row per cell, or, when the cells
    fill most of it, one row per position of the dense table whose axes are
    the margins' codes.

    In the table a margin's totals are sums over the other axes and its
    raking step is a broadcast product: no index arrays, a few passes over
    memory where the cell rows need a bincount and a gather. Cells with the
    same codes on every margin share a position: every step and every clip
    treats them alike, so their factors are equal anyway (but for a cell a
    resample left empty, whose factor multiplies nobody).
    """

    def __init__(self, cells: _Cells, margins: Sequence[_Margin]) -> None:
        self.codes = [cells.cell_codes[m.index] for m in margins]
        self.radices = [m.enc.radix for m in margins]
        n_cells = cells.counts.shape[0]
        span = 1
        for r in self.radices:
            span *= r
        self.dense = span <= _TABLE_SLACK * n_cells
        self.shape = tuple(self.radices)
        self.size = span if self.dense else n_cells
        self.position = np.zeros(n_cells, dtype=np.intp)
        if self.dense:
            for codes, r in zip(self.codes, self.radices, strict=True):
                self.position *= r
                self.position += codes
        self._flat: dict[tuple[int, int], IntArray] = {}

    def gather(self, counts: FloatArray) -> FloatArray:
        """(cells, R) -> (positions, R)."""
        if not self.dense:
            return np.ascontiguousarray(counts, dtype=np.float64)
        reps = counts.shape[1]
        flat = (self.position[:, None] * reps + np.arange(reps)[None, :]).ravel()
        summed = np.bincount(flat, weights=counts.ravel(), minlength=self.size * reps)
        return np.asarray(summed, dtype=np.float64).reshape(self.size, reps)

    def spread(self, values: FloatArray) -> FloatArray:
        """(positions, R) -> (cells, R)."""
        return values.take(self.position, axis=0) if self.dense else values

    def margin_sum(self, values: FloatArray, i: int) -> FloatArray:
        """Totals of margin ``i``'s categories, (R, radix)."""
        reps = values.shape[1]
        r = self.radices[i]
        if self.dense:
            others = tuple(j for j in range(len(self.shape)) if j != i)
            table = values.reshape(self.shape + (reps,))
            return np.ascontiguousarray(table.sum(axis=others).T)
        flat = self._flat.get((i, reps))
        if flat is None:
            offsets = np.arange(reps, dtype=np.int64)[None, :]
            flat = (self.codes[i][:, None] + r * offsets).ravel()
            self._flat = {k: v for k, v in self._flat.items() if k[1] == reps}
            self._flat[(i, reps)] = flat
        summed = np.bincount(flat, weights=values.ravel(), minlength=r * reps)
        return np.asarray(summed, dtype=np.float64).reshape(reps, r)

    def scale(
        self, i: int, ratio: FloatArray, arrays: Sequence[FloatArray], step: FloatArray
    ) -> None:
        """Multiply each array in place by margin ``i``'s ``ratio`` (R, radix)."""
        reps = ratio.shape[0]
        by_code = np.ascontiguousarray(ratio.T)
        if self.dense:
            shape = [1] * len(self.shape) + [reps]
            shape[i] = self.radices[i]
            factor = by_code.reshape(shape)
            for a in arrays:
                table = a.reshape(self.shape + (reps,))
                table *= factor
            return
        np.take(by_code, self.codes[i], axis=0, out=step, mode="clip")
        for a in arrays:
            a *= step


@dataclass
class _Columns:
    """The columns of a fit still iterating, with their scratch space.

    Each column (one replicate) stops on its own criterion, where a fit of that
    column alone would stop, and then leaves: the rest of the batch iterates
    on fewer columns, and a replicate raked in a batch gets the same weights
    as when raked alone.
    """

    index: IntArray  # positions among the fit's columns
    counts: FloatArray  # (positions, a)
    f: FloatArray  # (positions, a)
    total: FloatArray  # (a,), zero totals replaced by 1
    empty: IntArray  # flat positions without weight
    weighted: FloatArray  # counts * f, kept up to date
    step: FloatArray  # scratch for the cell layout

    @classmethod
    def select(
        cls, index: IntArray, counts: FloatArray, f: FloatArray, total: FloatArray
    ) -> _Columns:
        return cls(
            index=index,
            counts=counts,
            f=f,
            total=total,
            empty=np.flatnonzero(counts <= 0),
            weighted=counts * f,
            step=np.empty_like(f),
        )

    def keep(self, keep: BoolArray) -> _Columns:
        return _Columns.select(
            self.index[keep],
            np.ascontiguousarray(self.counts[:, keep]),
            np.ascontiguousarray(self.f[:, keep]),
            self.total[keep],
        )


def _ipf(
    counts: FloatArray,
    cells: _Cells,
    margins: Sequence[_Margin],
    *,
    tol: float,
    max_iter: int,
    bounds: tuple[float, float] | None,
) -> _Fit:
    reps = counts.shape[1]
    total = counts.sum(axis=0)  # (R,)
    safe_total = np.where(total > 0, total, 1.0)
    layout = _Layout(cells, margins)
    positions = layout.gather(counts)

    attainable: list[FloatArray] = []  # target totals actually aimed at, (R, radix)
    stated: list[FloatArray] = []  # target shares to report, (R, radix)
    sample: list[FloatArray] = []
    for i, m in enumerate(margins):
        k = len(m.enc.categories)
        s = layout.margin_sum(positions, i)  # (R, radix)
        keep = s[:, k:]
        remainder = total - keep.sum(axis=1)
        present = s[:, :k] > 0
        t = np.where(present, m.target[None, :], 0.0)
        t_sum = t.sum(axis=1, keepdims=True)
        t = np.divide(t, t_sum, out=np.zeros_like(t), where=t_sum > 0)
        attainable.append(np.concatenate([t * remainder[:, None], keep], axis=1))
        # Stated targets keep empty categories: the gap to them is what the user
        # needs to see, and it is what makes "converged" false.
        st = m.target[None, :] * (remainder / safe_total)[:, None]
        stated.append(np.concatenate([st, keep / safe_total[:, None]], axis=1))
        sample.append(s / safe_total[:, None])

    n_margins = len(margins)
    factors = np.ones((layout.size, reps), dtype=np.float64)
    internal = np.full(reps, np.inf)
    reported = np.full(reps, np.inf)
    shares = [np.zeros((reps, r), dtype=np.float64) for r in layout.radices]
    trimmed = False

    def errors(work: _Columns) -> tuple[FloatArray, FloatArray, list[FloatArray]]:
        """Largest gaps to the attainable and to the stated targets, per column."""
        cols = work.index
        inner = np.zeros(cols.shape[0])
        outer = np.zeros(cols.shape[0])
        got_shares: list[FloatArray] = []
        w_total = _column_sums(work.weighted)
        w_safe = np.where(w_total > 0, w_total, 1.0)
        for i in range(n_margins):
            got = layout.margin_sum(work.weighted, i) / w_safe[:, None]
            got_shares.append(got)
            aim = attainable[i][cols] / safe_total[cols, None]
            inner = np.maximum(inner, np.abs(got - aim).max(axis=1))
            outer = np.maximum(outer, np.abs(got - stated[i][cols]).max(axis=1))
        return inner, outer, got_shares

    def bounds_hold(f: FloatArray, weights: FloatArray, cols_total: FloatArray) -> BoolArray:
        if bounds is None:
            return np.ones(f.shape[1], dtype=bool)
        mean = np.einsum("pr,pr->r", weights, f) / cols_total
        rel = f / np.where(mean > 0, mean, 1.0)[None, :]
        occupied = weights > 0
        lo_ok = np.where(occupied, rel >= bounds[0] - _BOUND_SLACK, True).all(axis=0)
        hi_ok = np.where(occupied, rel <= bounds[1] + _BOUND_SLACK, True).all(axis=0)
        return np.asarray(lo_ok & hi_ok, dtype=bool)

    work = _Columns.select(
        np.arange(reps, dtype=np.int64),
        positions,
        np.ones((layout.size, reps), dtype=np.float64),
        safe_total,
    )
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 - the count is reported
        a = work.index.shape[0]
        f, weighted = work.f, work.weighted
        gaps: list[FloatArray] = []
        # A sweep is a few dozen operations on arrays of positions x columns:
        # the weighted counts are kept up to date with the factors rather than
        # recomputed, and scratch space lives as long as the set of columns.
        for i in range(n_margins):
            got = layout.margin_sum(weighted, i)
            aim = attainable[i][work.index]
            gaps.append(np.abs(got - aim).max(axis=1))
            ratio = np.divide(aim, got, out=np.ones_like(got), where=got > 0)
            layout.scale(i, ratio, (f, weighted), work.step)
        # A cell that a bootstrap resample left empty carries no weight, but
        # it still takes the ratios of its categories: when the margins cannot
        # be met its factor could grow without bound, and 0 x inf = NaN would
        # then spread to every weight in its categories. Its factor does not
        # matter (it multiplies nobody), so it is reset.
        if work.empty.shape[0]:
            np.put(f, work.empty, 1.0)
        pre_gap = np.max(gaps, axis=0) / work.total
        if bounds is not None and _clip_to_mean(f, work.counts, work.total, bounds, weighted):
            trimmed = True
        # The gaps seen while sweeping are only a cheap trigger; the decision to
        # stop is taken on the exact margins of the current weights.
        last = iterations == max_iter
        check = np.ones(a, dtype=bool) if last else pre_gap <= tol
        if not check.any():
            continue
        inner, outer, got_shares = errors(work)
        done = check if last else check & (inner <= tol) & bounds_hold(f, work.counts, work.total)
        if not done.any():
            continue
        cols = work.index[done]
        factors[:, cols] = f[:, done]
        internal[cols] = inner[done]
        reported[cols] = outer[done]
        for i, got in enumerate(got_shares):
            shares[i][cols] = got[done]
        if done.all():
            break
        work = work.keep(~done)

    cell_factors = layout.spread(factors)
    w_total = (counts * cell_factors).sum(axis=0)
    cell_factors = cell_factors * (total / np.where(w_total > 0, w_total, 1.0))[None, :]
    return _Fit(
        factors=cell_factors,
        iterations=iterations,
        internal_error=internal,
        reported_error=reported,
        bounds_ok=bounds_hold(cell_factors, counts, safe_total),
        trimmed=trimmed,
        weighted_shares=shares,
        target_shares=stated,
        sample_shares=sample,
    )


# --------------------------------------------------------------------------- #
# Public functions
# --------------------------------------------------------------------------- #


def _check_bounds(bounds: tuple[float, float] | None) -> tuple[float, float] | None:
    if bounds is None:
        return None
    lo, hi = float(bounds[0]), float(bounds[1])
    if not (0 <= lo <= 1 <= hi):
        raise ValueError(f"bounds must satisfy 0 <= lower <= 1 <= upper, got {bounds!r}")
    return lo, hi


def _margins_table(margins: Sequence[_Margin], fit: _Fit) -> pd.DataFrame:
    parts: list[pd.DataFrame] = []
    for i, m in enumerate(margins):
        labels = list(m.enc.categories) + [NOT_ANSWERED] + list(m.enc.unknown)
        part = pd.DataFrame(
            {
                "variable": m.name,
                "category": labels,
                "n": m.counts,
                "target_share": fit.target_shares[i][0],
                "sample_share": fit.sample_shares[i][0],
                "weighted_share": fit.weighted_shares[i][0],
            }
        )
        k = len(m.enc.categories)
        unseen = (np.arange(len(labels)) > k) & (m.counts == 0)
        parts.append(part[~unseen])
    if not parts:
        return pd.DataFrame(
            columns=[
                "variable",
                "category",
                "n",
                "target_share",
                "sample_share",
                "weighted_share",
                "gap",
            ]
        )
    table = pd.concat(parts, ignore_index=True)
    table["gap"] = table["weighted_share"] - table["target_share"]
    return table


def _summarise(
    frame: pd.DataFrame,
    weights_by_row: FloatArray,
    *,
    converged: bool,
    iterations: int,
    max_error: float,
    problems: list[Problem],
    bounds: tuple[float, float] | None,
    trimmed: bool,
    bounds_met: bool,
    tol: float,
    method: str,
    margins: pd.DataFrame | Callable[[], pd.DataFrame],
    cell_weights: FloatArray | None = None,
    cell_counts: FloatArray | None = None,
) -> RakeResult:
    n = weights_by_row.shape[0]
    if cell_weights is not None and cell_counts is not None:
        # Same numbers as on the rows, but over a few thousand cells.
        s1 = float((cell_counts * cell_weights).sum())
        s2 = float((cell_counts * cell_weights**2).sum())
        occupied = cell_weights[cell_counts > 0]
        w_min = float(occupied.min()) if occupied.size else float("nan")
        w_max = float(occupied.max()) if occupied.size else float("nan")
    else:
        s1 = float(weights_by_row.sum())
        s2 = float((weights_by_row**2).sum())
        w_min = float(weights_by_row.min()) if n else float("nan")
        w_max = float(weights_by_row.max()) if n else float("nan")
    ess = s1 * s1 / s2 if s2 > 0 else 0.0
    deff = n / ess if ess > 0 else float("inf")
    return RakeResult(
        weights=pd.Series(weights_by_row, index=frame.index, name="weight", copy=False),
        converged=converged,
        iterations=iterations,
        max_margin_error=max_error,
        effective_sample_size=ess,
        design_effect=deff,
        min_weight=w_min,
        max_weight=w_max,
        problems=problems,
        bounds=bounds,
        trimmed=trimmed,
        bounds_met=bounds_met,
        tol=tol,
        method=method,
        _margins=margins,
    )


def _unweighted_result(
    frame: pd.DataFrame,
    problems: list[Problem],
    tol: float,
    method: str,
    bounds: tuple[float, float] | None,
) -> RakeResult:
    n = len(frame)
    if n == 0:
        problems.append(Problem("no_respondents", "There are no responses to weight."))
    return _summarise(
        frame,
        np.ones(n, dtype=np.float64),
        converged=n > 0,
        iterations=0,
        max_error=0.0,
        problems=problems,
        bounds=bounds,
        trimmed=False,
        bounds_met=True,
        tol=tol,
        method=method,
        margins=_margins_table([], _empty_fit()),
    )


def _empty_fit() -> _Fit:
    empty = np.zeros((0, 1))
    return _Fit(empty, 0, np.zeros(1), np.zeros(1), np.ones(1, bool), False, [], [], [])


def _fit_problems(
    fit: _Fit,
    problems: list[Problem],
    *,
    tol: float,
    max_iter: int,
    bounds: tuple[float, float] | None,
    what: str = "Raking",
) -> tuple[bool, bool]:
    internal = float(fit.internal_error[0])
    bounds_met = bool(np.all(fit.bounds_ok))
    if internal > tol:
        extra = (
            f" The weights were kept within {bounds[0]:g}-{bounds[1]:g} times the mean, "
            "and the margins and those bounds could not both be met."
            if bounds is not None
            else ""
        )
        problems.append(
            Problem(
                "not_converged",
                f"{what} did not meet the population margins after {fit.iterations} "
                f"iterations: the largest gap is {internal:.2e} (tolerance {tol:g}).{extra}",
            )
        )
    if not bounds_met and bounds is not None:
        problems.append(
            Problem(
                "bounds_not_met",
                f"Some weights lie outside {bounds[0]:g}-{bounds[1]:g} times the mean: "
                "meeting the margins needs weights beyond the bounds.",
            )
        )
    converged = float(fit.reported_error[0]) <= tol and bounds_met
    if internal <= tol and not converged and bounds_met:
        # Only empty population categories stand between us and the targets;
        # they are already named, this just records the consequence.
        problems.append(
            Problem(
                "not_converged",
                f"The margins could not be met because some population categories have no "
                f"respondents (largest gap {float(fit.reported_error[0]):.3f}).",
            )
        )
    return converged, bounds_met


def rake(
    frame: pd.DataFrame,
    targets: Targets,
    *,
    tol: float = 1e-6,
    max_iter: int = 1000,
    bounds: tuple[float, float] | None = None,
    missing_codes: Collection[str] = DEFAULT_MISSING_CODES,
    base_weights: pd.Series | None = None,
) -> RakeResult:
    """Rake respondents to population margins (iterative proportional fitting).

    ``base_weights`` (design weights, e.g. inverse selection probabilities)
    are the starting point: the final weight of a respondent is their base
    weight times the raking factor of their profile, normalised to mean 1.
    Raking factors depend only on the profile, so the iteration still runs on
    cells, over the sum of base weights in each.

    ``targets`` maps each variable to ``{category: population share}``. Shares
    are rescaled to add up to 1 (a ``targets_renormalised`` problem is added
    when they were off by more than 1%). Respondents who did not answer a
    variable (NaN or one of ``missing_codes``) keep their sample share of that
    margin; the answered categories share the remainder in the population
    proportions. Answers in categories the targets lack are treated the same
    way and named in an ``unknown_category`` problem.

    Convergence means the largest absolute gap between a weighted share and
    its target is at most ``tol`` (and, with ``bounds``, that every weight lies
    within ``[lower, upper]`` times the mean). ``bounds`` trims the weights
    after each sweep and re-rakes, alternating until both hold or ``max_iter``
    sweeps have run. Weights have mean 1. Nothing goes unreported: see
    :class:`Problem` for the codes.
    """
    bounds = _check_bounds(bounds)
    if tol <= 0 or max_iter < 1:
        raise ValueError("tol must be positive and max_iter at least 1")
    problems: list[Problem] = []
    margins, cells = _prepare(frame, targets, missing_codes, problems)
    if cells is None or not margins:
        return _unweighted_result(frame, problems, tol, "rake", bounds)

    base: FloatArray | None = None
    if base_weights is not None:
        base = base_weights.reindex(frame.index).to_numpy(dtype=np.float64)
        if not np.isfinite(base).all() or (base < 0).any() or base.sum() <= 0:
            raise ValueError("base weights must be finite, non-negative, cover every respondent")
        base = base / base.mean()
        cell_totals = np.asarray(
            np.bincount(cells.row_cell, weights=base, minlength=cells.counts.shape[0]),
            dtype=np.float64,
        )
        fit = _ipf(cell_totals[:, None], cells, margins, tol=tol, max_iter=max_iter, bounds=bounds)
    else:
        fit = _ipf(cells.counts[:, None], cells, margins, tol=tol, max_iter=max_iter, bounds=bounds)
    converged, bounds_met = _fit_problems(fit, problems, tol=tol, max_iter=max_iter, bounds=bounds)
    cell_w = fit.factors[:, 0]
    if base is not None:
        rows = base * cells.to_rows(cell_w)
        rows = rows / rows.mean()
        return _summarise(
            frame,
            rows,
            converged=converged,
            iterations=fit.iterations,
            max_error=float(fit.reported_error[0]),
            problems=problems,
            bounds=bounds,
            trimmed=fit.trimmed,
            bounds_met=bounds_met,
            tol=tol,
            method="rake",
            margins=lambda: _margins_table(margins, fit),
        )
    return _summarise(
        frame,
        cells.to_rows(cell_w),
        converged=converged,
        iterations=fit.iterations,
        max_error=float(fit.reported_error[0]),
        problems=problems,
        bounds=bounds,
        trimmed=fit.trimmed,
        bounds_met=bounds_met,
        tol=tol,
        method="rake",
        margins=lambda: _margins_table(margins, fit),
        cell_weights=cell_w,
        cell_counts=cells.counts,
    )


_CELL = "__cell__"


def _cell_key(
    frame: pd.DataFrame, variables: Sequence[str], missing_codes: Collection[str]
) -> pd.Series:
    parts = [frame[v].astype("string") for v in variables]
    any_missing = np.zeros(len(frame), dtype=bool)
    for v in variables:
        any_missing |= is_missing(frame[v], missing_codes)
    key = parts[0]
    for p in parts[1:]:
        key = key.str.cat(p, sep=" × ")
    labels = np.array(key.astype(object), dtype=object, copy=True)
    labels[any_missing] = None
    return pd.Series(labels, index=frame.index, dtype=object)


def poststratify(
    frame: pd.DataFrame,
    cell_targets: pd.DataFrame | Mapping[Any, float],
    *,
    variables: Sequence[str],
    share_column: str = "population_share",
    missing_codes: Collection[str] = DEFAULT_MISSING_CODES,
) -> RakeResult:
    """Weight to one cross-classified set of population cells.

    ``cell_targets`` is either a DataFrame with one column per variable plus
    ``share_column``, or a mapping from a tuple of categories (in the order of
    ``variables``) to a share. Respondents who did not answer one of the
    variables keep their sample share, as in :func:`rake`. A cell with a
    population share but no respondents is named in an ``empty_category``
    problem (its ``categories`` hold the cell's label, the categories joined
    with " × "), and the result is then not converged.
    """
    variables = list(variables)
    problems: list[Problem] = []
    missing_vars = [v for v in variables if v not in frame.columns]
    if missing_vars:
        raise KeyError(f"variables not in the responses: {missing_vars}")
    shares: dict[str, float] = {}
    if isinstance(cell_targets, pd.DataFrame):
        keys = cell_targets[variables].astype("string")
        label = keys[variables[0]]
        for v in variables[1:]:
            label = label.str.cat(keys[v], sep=" × ")
        values = cell_targets[share_column].to_numpy(dtype=np.float64)
        for lab, share in zip(label.tolist(), values.tolist(), strict=True):
            shares[str(lab)] = float(share)
    else:
        for cell, cell_share in cell_targets.items():
            parts = cell if isinstance(cell, tuple) else (cell,)
            if len(parts) != len(variables):
                raise ValueError(f"cell {cell!r} does not have one category per variable")
            shares[" × ".join(str(p) for p in parts)] = float(cell_share)

    keyed = pd.DataFrame({_CELL: _cell_key(frame, variables, missing_codes)}, index=frame.index)
    result = rake(keyed, {_CELL: shares}, tol=1e-9, max_iter=2, missing_codes=())
    renamed = [
        Problem(
            p.code,
            p.message.replace(_CELL, "the cell " + " × ".join(variables)),
            " × ".join(variables) if p.variable == _CELL else p.variable,
            p.categories,
        )
        for p in result.problems
    ]
    margins = result.margins.copy()
    margins["variable"] = " × ".join(variables)
    return RakeResult(
        weights=result.weights,
        converged=result.converged,
        iterations=1,
        max_margin_error=result.max_margin_error,
        effective_sample_size=result.effective_sample_size,
        design_effect=result.design_effect,
        min_weight=result.min_weight,
        max_weight=result.max_weight,
        problems=problems + renamed,
        tol=result.tol,
        method="poststratify",
        _margins=margins,
    )


# Respondents per block when the rows are multiplied by their cell factors:
# the block's cell numbers (8 bytes each) stay in the processor's cache
# across replicates.
_ROW_BLOCK = 1 << 15


def _replicate_chunk(
    out: FloatArray,
    converged: BoolArray,
    drawn: FloatArray,
    member: npt.NDArray[np.intp] | None,
    base: FloatArray | None,
    cells: _Cells | None,
    margins: Sequence[_Margin],
    *,
    tol: float,
    max_iter: int,
    bounds: tuple[float, float] | None,
) -> None:
    """Fill ``out`` (replicates x respondents) with re-raked replicate weights.

    ``drawn`` (replicates x units) says how often each unit was drawn: a
    respondent, or with ``member`` (each respondent's group) a random group.
    Each row first holds the times each respondent was drawn (x base weight),
    and its cell totals are taken while it is still in the processor's cache;
    the replicates of the chunk are then raked together, and each row is
    multiplied by its cell factors. Two passes over each row, in double
    precision, with gathers from tables that fit in the cache
    (``mode="clip"`` lets numpy gather straight into the row instead of
    through a buffer). No matrix product: a multithreaded BLAS call would spin
    its threads for longer than the product takes on a busy machine.
    """
    reps, size = out.shape
    n_cells = 0 if cells is None else cells.counts.shape[0]
    cell_counts = np.empty((reps, n_cells), dtype=np.float64)
    for r in range(reps):
        row = out[r]
        if member is None:
            row[:] = drawn[r]
        else:
            np.take(drawn[r], member, out=row, mode="clip")
        if base is not None:
            row *= base
        if cells is not None:
            cell_counts[r] = np.bincount(cells.row_cell, weights=row, minlength=n_cells)
    if cells is None:
        return
    counts = np.ascontiguousarray(cell_counts.T)
    fit = _ipf(counts, cells, margins, tol=tol, max_iter=max_iter, bounds=bounds)
    converged[:] = (fit.reported_error <= tol) & np.asarray(fit.bounds_ok)
    cell_factors = fit.factors
    if member is not None:
        # Groups differ in size by one respondent at most, so a resample's
        # total differs a little from the sample's: scale each replicate to
        # mean 1, as when respondents are resampled.
        totals = cell_counts.sum(axis=1)
        cell_factors = cell_factors * (size / np.where(totals > 0, totals, 1.0))[None, :]
    factors = np.ascontiguousarray(cell_factors.T)
    scratch = np.empty(min(size, _ROW_BLOCK), dtype=np.float64)
    for lo in range(0, size, _ROW_BLOCK):
        hi = min(lo + _ROW_BLOCK, size)
        row_cell = cells.row_cell[lo:hi]
        step = scratch[: hi - lo]
        for r in range(reps):
            np.take(factors[r], row_cell, out=step, mode="clip")
            out[r, lo:hi] *= step


#: Above this many respondents, replicates resample random groups of
#: respondents rather than respondents (see :func:`replicate_weights`).
GROUPED_ABOVE = 20_000
#: How many random groups. A standard error from G groups has a relative
#: error of about 1 / sqrt(2 (G - 1)): 2.2% at 1,000 groups, the same as the
#: Monte Carlo error of 1,000 replicates (and well under the 5% of the 200 to
#: 500 the results pages draw), so grouping costs no accuracy that matters.
REPLICATE_GROUPS = 1_000


def replicate_weights(
    frame: pd.DataFrame,
    targets: Targets,
    *,
    n: int = 200,
    seed: int | np.random.Generator,
    tol: float = 1e-6,
    max_iter: int = 1000,
    bounds: tuple[float, float] | None = None,
    missing_codes: Collection[str] = DEFAULT_MISSING_CODES,
    chunk: int = 50,
    base_weights: pd.Series | None = None,
    groups: int | None = None,
) -> pd.DataFrame:
    """Bootstrap replicate weights, each replicate re-raked.

    Replicate ``r`` draws ``len(frame)`` respondents with replacement; a
    respondent drawn ``k`` times gets ``k`` times the weight its cell receives
    when the resample is raked (0 when not drawn). Each column has mean 1.
    Raking runs on cell counts for ``chunk`` replicates at a time, so the cost
    grows with the number of cells, not respondents.

    Large samples (over :data:`GROUPED_ABOVE` respondents, unless ``groups``
    says otherwise) use the random-groups bootstrap: respondents are dealt at
    random into ``groups`` (default :data:`REPLICATE_GROUPS`) equal groups once,
    and each replicate resamples whole groups. Group totals are independent
    and identically distributed, so the variance of any weighted total or
    ratio is estimated without bias, with ``groups - 1`` degrees of freedom;
    the work per replicate is then a draw of ``groups`` numbers and two passes
    over the respondents instead of a draw per respondent. ``groups=0``
    always resamples respondents.

    ``attrs["converged"]`` holds one flag per replicate and
    ``attrs["problems"]`` the problems (those of the full-sample rake plus a
    ``replicates_not_converged`` count when some resample could not meet the
    margins, typically because it drew nobody from a small category).

    ``base_weights`` (design weights) multiply each drawn respondent before
    raking, as in :func:`rake`: a resampled respondent counts ``k`` times
    their base weight, and raking calibrates from there.
    """
    bounds = _check_bounds(bounds)
    if n < 1:
        raise ValueError("n must be at least 1")
    base: FloatArray | None = None
    if base_weights is not None:
        base = base_weights.reindex(frame.index).to_numpy(dtype=np.float64)
        if not np.isfinite(base).all() or (base < 0).any() or base.sum() <= 0:
            raise ValueError("base weights must be finite, non-negative, cover every respondent")
        base = base / base.mean()
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    problems: list[Problem] = []
    margins, cells = _prepare(frame, targets, missing_codes, problems)
    size = len(frame)
    if groups is None:
        groups = REPLICATE_GROUPS if size > GROUPED_ABOVE else 0
    grouped = 0 < groups < size
    units = groups if grouped else size
    columns = [f"rep_{i + 1:03d}" for i in range(n)]
    out = np.empty((n, size), dtype=np.float64)
    converged = np.ones(n, dtype=bool)
    if not margins:
        cells = None
    member: npt.NDArray[np.intp] | None = None  # each respondent's group
    if grouped:
        member = np.asarray(rng.permutation(size) % groups, dtype=np.intp)
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        reps = stop - start
        # How often each unit (respondent or group) was drawn, per replicate,
        # in one bincount.
        draws = rng.integers(0, units, size=(reps, units)) if units else np.zeros((reps, 0), int)
        offsets = (np.arange(reps, dtype=np.int64) * units)[:, None]
        drawn = np.bincount((draws + offsets).ravel(), minlength=reps * units)
        _replicate_chunk(
            out[start:stop],
            converged[start:stop],
            drawn.reshape(reps, units).astype(np.float64),
            member,
            base,
            cells,
            margins,
            tol=tol,
            max_iter=max_iter,
            bounds=bounds,
        )
    if not converged.all():
        problems.append(
            Problem(
                "replicates_not_converged",
                f"{int((~converged).sum())} of {n} replicates could not meet the margins "
                "(usually a resample with nobody in a small category).",
            )
        )
    table = pd.DataFrame(out.T, index=frame.index, columns=columns, copy=False)
    table.attrs["converged"] = converged
    table.attrs["problems"] = problems
    table.attrs["groups"] = groups if grouped else 0
    return table


def targets_from_benchmarks(
    benchmarks: pd.DataFrame, variables: Sequence[str] | None = None
) -> dict[str, dict[str, float]]:
    """Turn a benchmarks table (variable, category, population_share) into targets.

    Census "not answered / not stated" rows are left out (they are not a group
    of people); raking renormalises the remaining shares.
    """
    from .feasibility import drop_not_stated

    benchmarks = drop_not_stated(benchmarks)
    chosen = (
        benchmarks
        if variables is None
        else benchmarks[benchmarks["variable"].isin(list(variables))]
    )
    result: dict[str, dict[str, float]] = {}
    dropped = {str(v) for v, _, _ in benchmarks.attrs.get("not_stated", [])}
    for var, part in chosen.groupby("variable", sort=False):
        shares = {
            str(c): float(s)
            for c, s in zip(part["category"], part["population_share"], strict=True)
        }
        total = sum(shares.values())
        if str(var) in dropped and total > 0:
            shares = {c: s / total for c, s in shares.items()}
        result[str(var)] = shares
    if variables is not None:
        absent = [v for v in variables if v not in result]
        if absent:
            raise KeyError(f"no benchmarks for {absent}")
        result = {v: result[v] for v in variables}
    return result
