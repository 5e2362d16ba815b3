"""Targets per under-represented group (consult.analysis.targets), against
numbers worked out by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from consult.analysis.representation import representation
from consult.analysis.targets import (
    DEFAULT_USABLE_BASE,
    group_targets,
    responses_for_base,
    responses_for_share,
)

Z = 1.959963984540054  # the 95% two-sided normal quantile


def wilson_high(successes: int, n: int) -> float:
    """The upper Wilson bound, written out as in the textbook (independently
    of consult.analysis.intervals)."""
    p = successes / n
    centre = p + Z * Z / (2 * n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return (centre + half) / (1 + Z * Z / n)


def test_usable_base_without_weights_is_the_count():
    # No weights (design effect 1): 100 − 20 = 80 more; none yet: 100; 150 already: 0.
    assert responses_for_base(20, 100) == 80
    assert responses_for_base(0, 100) == 100
    assert responses_for_base(150, 100) == 0
    assert responses_for_base(100, 100) == 0


def test_usable_base_with_a_design_effect():
    # Effective base 20 / 1.5 = 13.3; 100 effective needs 150 responses: 130 more.
    assert responses_for_base(20, 100, 1.5) == 130
    # 100 × 1.1 = 110 exactly (not 110.00000000000001): 20 more, not 21.
    assert responses_for_base(90, 100, 1.1) == 20
    # 0 responses, design effect 2.5: 250 needed.
    assert responses_for_base(0, 100, 2.5) == 250
    # A design effect below 1 (impossible for Kish's) or not a number counts as 1.
    assert responses_for_base(20, 100, 0.5) == 80
    assert responses_for_base(20, 100, float("nan")) == 80


def test_share_target_for_a_group_with_no_responses_worked_by_hand():
    # 0 of 100 answered, 30% of residents. With k more from the group the
    # share is k / (100 + k) on 100 + k respondents.
    # k = 28: p = 28/128 = 0.21875; z²/n = 0.030012; the square root term is
    # √(0.21875·0.78125/128 + 3.8415/65536) = 0.037333, so the upper bound is
    # (0.21875 + 0.015006 + 1.96·0.037333) / 1.030012 = 0.2980 < 0.30.
    # k = 29: p = 29/129 = 0.22481; the upper bound is
    # (0.22481 + 0.014890 + 1.96·0.037533) / 1.029779 = 0.3042 >= 0.30.
    assert wilson_high(28, 128) == pytest.approx(0.2980, abs=1e-4)
    assert wilson_high(29, 129) == pytest.approx(0.3042, abs=1e-4)
    assert responses_for_share(0, 100, 0.3) == 29


@pytest.mark.parametrize(
    "n_group, answered, population", [(5, 100, 0.3), (10, 200, 0.3), (2, 500, 0.12), (40, 60, 0.9)]
)
def test_share_target_is_the_smallest_that_brings_the_interval_to_the_population(
    n_group, answered, population
):
    k = responses_for_share(n_group, answered, population)
    assert k is not None and k > 0
    # With k more the interval reaches P (or the share does); with k − 1 it does not.
    after = (n_group + k) / (answered + k)
    assert after >= population or wilson_high(n_group + k, answered + k) >= population
    before = (n_group + k - 1) / (answered + k - 1)
    assert before < population
    assert wilson_high(n_group + k - 1, answered + k - 1) < population


def test_share_target_is_zero_for_a_group_already_in_line():
    # 30 of 100 against 30%: the share is the population share.
    assert responses_for_share(30, 100, 0.3) == 0
    # 25 of 100 against 30%: the interval (about 0.175 to 0.343) contains 0.30.
    assert wilson_high(25, 100) > 0.3
    assert responses_for_share(25, 100, 0.3) == 0
    # Over-represented: nothing needed.
    assert responses_for_share(60, 100, 0.3) == 0


def test_share_target_edges():
    assert responses_for_share(0, 100, 0.0) == 0
    assert responses_for_share(5, 100, float("nan")) == 0
    # A population share of 1 cannot be reached while others have answered.
    assert responses_for_share(5, 100, 1.0) is None


def test_group_targets_from_the_representation_table():
    # 200 answered: 0 aged 16-24 (20% of residents), 10 aged 25-34 (30%),
    # 190 aged 35+ (50%). The first two are under-represented.
    frame = pd.DataFrame({"age_band": ["25-34"] * 10 + ["35+"] * 190})
    benchmarks = pd.DataFrame(
        {
            "variable": ["age_band"] * 3,
            "category": ["16-24", "25-34", "35+"],
            "population_share": [0.2, 0.3, 0.5],
        }
    )
    table = representation(frame, benchmarks)
    targets = group_targets(table, design_effect=1.25)
    assert list(targets["category"]) == ["16-24", "25-34"]
    young = targets.iloc[0]
    assert (young["n"], young["answered"], young["effective_base"]) == (0, 200, 0.0)
    # 100 × 1.25 = 125 responses for an effective base of 100.
    assert young["for_usable_base"] == 125
    assert young["for_share"] == responses_for_share(0, 200, 0.2)
    middle = targets.iloc[1]
    assert middle["effective_base"] == pytest.approx(8.0)  # 10 / 1.25
    assert middle["for_usable_base"] == 115
    assert middle["for_share"] == responses_for_share(10, 200, 0.3)
    # The officer's own usable base.
    assert list(group_targets(table, usable_base=50)["for_usable_base"]) == [50, 40]


def test_group_targets_with_nothing_flagged():
    frame = pd.DataFrame({"sex": ["Female"] * 51 + ["Male"] * 49})
    benchmarks = pd.DataFrame(
        {
            "variable": ["sex", "sex"],
            "category": ["Female", "Male"],
            "population_share": [0.51, 0.49],
        }
    )
    assert group_targets(representation(frame, benchmarks)).empty
    assert group_targets(pd.DataFrame()).empty
    assert DEFAULT_USABLE_BASE == 100
