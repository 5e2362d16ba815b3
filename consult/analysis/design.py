"""Design weights for a stratified random sample of addresses.

An address drawn in stratum *h* had selection probability
``p_h = n_h / N_h`` (``n_h`` drawn of ``N_h`` addresses), so it stands for
``1 / p_h`` addresses. Not every drawn household answers; assuming those who
answered within a stratum are like those who did not (the usual
"missing at random within stratum" adjustment), each respondent's base weight
is scaled by ``n_h / r_h`` (drawn over respondents), so the respondents of a
stratum stand for the whole stratum::

    w_i = (1 / p_h) * (n_h / r_h) = N_h / r_h

These are the starting weights that raking then calibrates to the population
margins (``rake(..., base_weights=)``). Pure pandas: no web, no database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class DesignWeights:
    """Respondents' design weights and the per-stratum table they came from.

    ``weights`` is indexed like the respondents passed in and sums to the
    number of addresses the responding strata stand for (``sum N_h``), so a
    weighted count estimates households. ``strata`` has one row per stratum:
    ``population`` (N_h), ``drawn`` (n_h), ``respondents`` (r_h),
    ``response_rate`` (r_h / n_h), ``probability`` (n_h / N_h) and
    ``weight`` (N_h / r_h, NaN where nobody answered).
    """

    weights: pd.Series
    strata: pd.DataFrame

    @property
    def empty_strata(self) -> list[str]:
        """Strata with drawn addresses but no respondents: nobody speaks for them."""
        table = self.strata
        return [str(s) for s in table.index[(table["respondents"] == 0) & (table["drawn"] > 0)]]


def design_weights(
    respondents: pd.DataFrame,
    strata: Mapping[str, Mapping[str, int | float]],
    *,
    stratum: str = "stratum",
    probability: str = "selection_probability",
) -> DesignWeights:
    """Design weights for the respondents of an address sample.

    ``respondents`` has one row per responding address with its ``stratum``
    and its ``selection_probability``. ``strata`` is the draw's record,
    ``{stratum: {"population": N_h, "drawn": n_h}}``. A respondent whose
    stratum the record lacks keeps the plain inverse of its selection
    probability (there is no drawn count to adjust by).
    """
    if len(respondents) == 0:
        weights = pd.Series(np.zeros(0), index=respondents.index, name="design_weight")
        return DesignWeights(weights, _strata_table(strata, pd.Series(dtype="int64")))
    groups = respondents[stratum].astype("string").fillna("").astype(str)
    p = pd.to_numeric(respondents[probability], errors="coerce").to_numpy(dtype=np.float64)
    if not np.isfinite(p).all() or (p <= 0).any() or (p > 1).any():
        raise ValueError("every selection probability must be in (0, 1]")
    counts = groups.value_counts()
    drawn = {str(k): float(v.get("drawn", 0) or 0) for k, v in strata.items()}
    r = groups.map(counts).to_numpy(dtype=np.float64)
    n_h = groups.map(drawn).to_numpy(dtype=np.float64)
    # Non-response adjustment n_h / r_h; 1 where the draw record has no count.
    adjust = np.where(np.isfinite(n_h) & (n_h > 0), n_h / r, 1.0)
    weights = pd.Series(adjust / p, index=respondents.index, name="design_weight")
    return DesignWeights(weights, _strata_table(strata, counts))


def _strata_table(
    strata: Mapping[str, Mapping[str, int | float]], counts: pd.Series
) -> pd.DataFrame:
    names = list(dict.fromkeys([*(str(k) for k in strata), *(str(k) for k in counts.index)]))
    population = np.array(
        [float(strata.get(s, {}).get("population", 0) or 0) for s in names], dtype=np.float64
    )
    drawn = np.array([float(strata.get(s, {}).get("drawn", 0) or 0) for s in names])
    responded = np.array([int(counts.get(s, 0)) for s in names], dtype=np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        table = pd.DataFrame(
            {
                "population": population,
                "drawn": drawn,
                "respondents": responded,
                "response_rate": np.where(drawn > 0, responded / drawn, np.nan),
                "probability": np.where(population > 0, drawn / population, np.nan),
                "weight": np.where(responded > 0, population / responded, np.nan),
            },
            index=pd.Index(names, name="stratum"),
        )
    return table


__all__ = ["DesignWeights", "design_weights"]
