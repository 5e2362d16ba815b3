"""Turning columns of category codes into small integers, once.

Everything fast in this package rests on this step: after it, raking and
tabulation work on integer arrays with ``np.bincount`` instead of on strings.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: Codes that mean "did not say" for every variable unless the caller says otherwise.
DEFAULT_MISSING_CODES: frozenset[str] = frozenset({"prefer_not_to_say"})

#: Label used wherever respondents who did not answer a variable are shown.
NOT_ANSWERED = "(not answered)"


def _label(value: object) -> str:
    return value if isinstance(value, str) else str(value)


@dataclass(frozen=True)
class Encoded:
    """One variable as integer codes, in two layers.

    ``raw`` holds one small integer per respondent: ``-1`` for NaN, otherwise
    the position of the value among the distinct values seen (for a
    Categorical, its own codes). ``lut`` maps ``raw + 1`` to the analysis code:
    ``0..K-1`` for the requested ``categories`` in order, ``K`` for missing
    (NaN or a missing code) and ``K+1+j`` for ``unknown[j]``, a value present
    in the data but not requested. Keeping unknown values apart from missing
    ones lets callers name them rather than fold them away.

    The two layers exist for speed: mapping a million codes through a lookup
    table costs several milliseconds per column, so callers that only need
    profiles (raking) combine ``raw`` arithmetically and apply ``lut`` to the
    few thousand distinct profiles instead.
    """

    raw: npt.NDArray[Any]  # int8..int64 depending on the source
    lut: IntArray
    categories: tuple[str, ...]
    unknown: tuple[str, ...]

    @property
    def missing_code(self) -> int:
        return len(self.categories)

    @property
    def radix(self) -> int:
        return len(self.categories) + 1 + len(self.unknown)

    @property
    def raw_radix(self) -> int:
        return int(self.lut.shape[0])

    def codes(self) -> IntArray:
        """Analysis code per respondent (one pass over the rows)."""
        return self.lut[self.raw.astype(np.intp) + 1]


def is_missing(values: pd.Series, missing_codes: Collection[str]) -> npt.NDArray[np.bool_]:
    """True where a respondent gave no usable answer (NaN/None or a missing code)."""
    mask = values.isna().to_numpy(dtype=bool, copy=True)
    if missing_codes:
        mask |= values.isin(list(missing_codes)).to_numpy(dtype=bool)
    return mask


def encode(
    values: pd.Series,
    categories: Sequence[str],
    missing_codes: Collection[str] = DEFAULT_MISSING_CODES,
) -> Encoded:
    """Encode a column against a list of expected categories.

    Categorical columns use their existing codes, so no string is ever hashed:
    on a million rows that is the difference between about 1 ms and 70 ms.
    Unused levels of a Categorical that are not in ``categories`` appear in
    ``unknown``; callers report only the ones with respondents.
    """
    cats = tuple(_label(c) for c in categories)
    array = values.array
    if isinstance(array, pd.Categorical):
        # The codes array itself (a read-only view), not ``.cat.codes``, which
        # builds a new Series each time: 1 us instead of 75 us per column.
        raw = array.codes
        uniques: Sequence[object] = array.categories.tolist()
    else:
        fact_codes, fact_uniques = pd.factorize(values, use_na_sentinel=True)
        raw = np.asarray(fact_codes)
        uniques = list(fact_uniques)

    position = {c: i for i, c in enumerate(cats)}
    k = len(cats)
    missing = set(missing_codes)
    lut = np.empty(len(uniques) + 1, dtype=np.int64)
    lut[0] = k
    unknown: list[str] = []
    for i, u in enumerate(uniques):
        lab = _label(u)
        if lab in position:
            lut[i + 1] = position[lab]
        elif lab in missing:
            lut[i + 1] = k
        else:
            lut[i + 1] = k + 1 + len(unknown)
            unknown.append(lab)
    return Encoded(raw=raw, lut=lut, categories=cats, unknown=tuple(unknown))


def observed_categories(
    values: pd.Series, missing_codes: Collection[str] = DEFAULT_MISSING_CODES
) -> list[str]:
    """Distinct answered categories, in Categorical order or sorted."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        present = values.cat.remove_unused_categories().cat.categories
        found: Iterable[object] = list(present)
    else:
        found = sorted(_label(v) for v in pd.unique(values.dropna()))
    missing = set(missing_codes)
    return [_label(v) for v in found if _label(v) not in missing]
