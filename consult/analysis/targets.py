"""How many more responses each under-represented group needs: advice for
outreach while a survey is open, never a quota (a public consultation does
not close, or turn anyone away, because a group is "full").

Two numbers per group g, from the representation table
(:func:`consult.analysis.representation.representation`):

* **For a usable base.** The effective base of a group is its responses
  divided by the design effect of the weights, ``n_g / deff``, where
  ``deff = n / n_eff`` is Kish's design effect of the survey's weights
  (``(Σw)² / Σw²`` is n_eff). Without usable weights ``deff`` is 1 and the
  effective base is the count. Weighting spreads a group's responses over
  more of the population, so a weighted group needs ``target × deff``
  responses to carry the information of ``target`` unweighted ones; the
  number needed is ``max(0, ⌈target × deff − n_g⌉)``. One survey-wide design
  effect is used because it is the one the results report; a group's own
  weights may vary more or less than the survey's.
* **For its share.** The smallest ``k ≥ 0`` such that, with ``k`` more
  responses from the group and the other groups' counts held fixed, the
  group's share ``(n_g + k) / (n + k)`` reaches its population share ``P``
  or the 95% Wilson interval of that share on ``n + k`` respondents (the
  interval representation flags with) contains ``P``. ``n`` is the number
  who answered the variable. With the other counts fixed the upper Wilson
  bound only grows with ``k`` (each added response adds a success and one
  to the base), so a bisection finds the smallest ``k``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .intervals import wilson_interval

#: The effective base an officer counts as usable for a group, unless they set another.
DEFAULT_USABLE_BASE = 100

COLUMNS = [
    "variable",
    "category",
    "n",
    "answered",
    "population_share",
    "effective_base",
    "for_usable_base",
    "for_share",
]


def responses_for_base(n_group: int, usable_base: float, design_effect: float = 1.0) -> int:
    """Further responses a group needs for an effective base of ``usable_base``."""
    deff = design_effect if math.isfinite(design_effect) and design_effect >= 1.0 else 1.0
    # Rounding first keeps 100 × 1.1 (110.00000000000001) from asking for one more.
    needed = math.ceil(round(usable_base * deff - n_group, 9))
    return max(0, needed)


def _upper(n_group: int, answered: int, k: int, level: float) -> float:
    size = answered + k
    share = (n_group + k) / size
    high = wilson_interval(share, size, level=level)[1]
    return float(high)


def _in_line(n_group: int, answered: int, k: int, population_share: float, level: float) -> bool:
    size = answered + k
    if size <= 0:
        return False
    if (n_group + k) / size >= population_share:
        return True
    return _upper(n_group, answered, k, level) >= population_share


def responses_for_share(
    n_group: int, answered: int, population_share: float, *, level: float = 0.95
) -> int | None:
    """The smallest number of further responses from a group (others fixed)
    for its share to come within the interval of ``population_share``.
    ``None`` when no number can (a population share of 1 with other
    groups' responses already in)."""
    share = float(population_share)
    if not math.isfinite(share) or share <= 0.0:
        return 0
    others = answered - n_group
    if share >= 1.0:
        return 0 if others == 0 and answered > 0 else None
    if _in_line(n_group, answered, 0, share, level):
        return 0
    # Enough that the share itself reaches P: (n_g + k) / (n + k) >= P.
    high = max(1, math.ceil((share * answered - n_group) / (1.0 - share)))
    while not _in_line(n_group, answered, high, share, level):
        high += 1  # floating-point edge only
    low = 0  # not in line at `low`, in line at `high`
    while high - low > 1:
        middle = (low + high) // 2
        if _in_line(n_group, answered, middle, share, level):
            high = middle
        else:
            low = middle
    return high


def group_targets(
    table: pd.DataFrame,
    *,
    usable_base: float = DEFAULT_USABLE_BASE,
    design_effect: float = 1.0,
    flags: tuple[str, ...] = ("under",),
    level: float = 0.95,
) -> pd.DataFrame:
    """One row per group of ``table`` whose ``flag`` is in ``flags``
    (under-represented, by default), in the table's order: its responses
    ``n``, the number who answered the variable, its population share, its
    effective base and the further responses needed ``for_usable_base`` and
    ``for_share`` (see the module's docstring; ``for_share`` is NaN where no
    number of responses can bring it in line)."""
    if table.empty:
        return pd.DataFrame({c: [] for c in COLUMNS})
    rows = table[table["flag"].isin(list(flags))]
    deff = design_effect if math.isfinite(design_effect) and design_effect >= 1.0 else 1.0
    out = []
    for row in rows.to_dict("records"):
        n_group = int(row["n"])
        answered = int(row["answered"])
        share = float(row["population_share"])
        for_share = responses_for_share(n_group, answered, share, level=level)
        out.append(
            {
                "variable": str(row["variable"]),
                "category": str(row["category"]),
                "n": n_group,
                "answered": answered,
                "population_share": share,
                "effective_base": n_group / deff,
                "for_usable_base": responses_for_base(n_group, usable_base, deff),
                "for_share": np.nan if for_share is None else float(for_share),
            }
        )
    if not out:
        return pd.DataFrame({c: [] for c in COLUMNS})
    return pd.DataFrame(out, columns=COLUMNS)
