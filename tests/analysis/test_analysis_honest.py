"""Hand-computed cases for the honest-results statistics: feasibility
collapsing, the weighting decision, base weights, representation status,
per-estimate standard errors, Holm bands that never chain."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from consult.analysis import (
    check_feasibility,
    drop_not_stated,
    priorities,
    rake,
    replicate_weights,
    representation,
    representation_messages,
    summarise_priorities,
    weigh,
    weighted_share,
)
from consult.analysis.priorities import band_labels, bands_from_separated, holm

AGES = ["16-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75+"]


def test_sparse_age_bands_merge_with_the_smaller_neighbour_and_targets_add_up() -> None:
    counts = {"16-24": 0, "25-34": 3, "35-44": 10, "45-54": 10, "55-64": 10, "65-74": 20, "75+": 2}
    frame = pd.DataFrame({"age_band": [a for a, k in counts.items() for _ in range(k)]})
    targets = {"age_band": dict(zip(AGES, [0.2, 0.2, 0.15, 0.15, 0.1, 0.1, 0.1], strict=True))}
    feas = check_feasibility(frame, targets, min_count=5)
    # 16-24 (0) joins 25-34 (3): still 3, so it joins 35-44 -> 16-44 (13);
    # 75+ (2) has one neighbour, 65-74 -> 65+ (22).
    assert feas.targets["age_band"] == pytest.approx(
        {"16-44": 0.55, "45-54": 0.15, "55-64": 0.1, "65+": 0.2}
    )
    assert set(feas.frame["age_band"]) == {"16-44", "45-54", "55-64", "65+"}
    (collapse,) = feas.collapses
    assert collapse.action == "collapsed" and collapse.empty == ("16-24",)
    assert "16-24 had no responses" in collapse.message
    assert "65-74 and 75+ were weighted as one group (65+)" in collapse.message


def test_wards_are_grouped_into_areas_or_dropped() -> None:
    wards = [f"W{i:02d}" for i in range(17)]
    frame = pd.DataFrame({"area": ["W00"] * 10 + ["W01"] * 10 + ["W02"] * 10 + ["W03"] * 10})
    targets = {"area": {w: 1 / 17 for w in wards}}
    dropped = check_feasibility(frame, targets)
    assert dropped.targets == {} and dropped.dropped == ["area"]
    assert dropped.collapses[0].message.startswith(
        "Wards were left out of the weighting because 13 had no responses"
    )
    groups = {w: f"Area {i % 4}" for i, w in enumerate(wards)}
    grouped = check_feasibility(frame, targets, area_groups=groups)
    assert grouped.collapses[0].message == (
        "Wards were grouped into 4 areas because 13 had no responses."
    )
    assert sum(grouped.targets["area"].values()) == pytest.approx(1.0)
    assert grouped.targets["area"]["Area 0"] == pytest.approx(5 / 17)


def test_detailed_ethnic_groups_merge_into_their_high_level_group() -> None:
    frame = pd.DataFrame(
        {"eg": ["White: English"] * 20 + ["White: Irish"] * 2 + ["Asian: Indian"] * 8}
    )
    targets = {
        "ethnic_group_detailed": {
            "White: English": 0.5,
            "White: Irish": 0.1,
            "Asian: Indian": 0.3,
            "Asian: Pakistani": 0.1,
        }
    }
    frame = frame.rename(columns={"eg": "ethnic_group_detailed"})
    feas = check_feasibility(frame, targets)
    got = feas.targets["ethnic_group_detailed"]
    # White: Irish (2) and Asian: Pakistani (0) go to their group's "other";
    # those are too small alone, so they are weighted at the high-level group.
    assert got == pytest.approx({"White": 0.6, "Asian": 0.4})


def test_weights_that_cannot_meet_the_margins_are_never_used() -> None:
    frame = pd.DataFrame({"sex": ["m"] * 30 + ["f"] * 10})
    # Men 30:10 against a 50:50 population needs women at 2x the mean and men
    # at 2/3: a cap of 0.9-1.1 cannot allow it.
    outcome = weigh(frame, {"sex": {"m": 0.5, "f": 0.5}}, bounds=(0.9, 1.1))
    assert outcome.used is False
    assert (outcome.weights == 1.0).all()
    assert "could not be weighted to the population" in outcome.reason
    assert "weights_not_used" in [p.code for p in outcome.problems]
    fine = weigh(frame, {"sex": {"m": 0.5, "f": 0.5}})
    assert fine.used and fine.weights[frame["sex"] == "f"].iloc[0] == pytest.approx(2.0)


def test_rake_starts_from_base_weights() -> None:
    frame = pd.DataFrame({"sex": ["f", "f", "m"]})
    base = pd.Series([1.0, 1.0, 2.0])
    result = rake(frame, {"sex": {"f": 0.6, "m": 0.4}}, base_weights=base)
    # Base shares f 2/4, m 2/4; factors 1.2 and 0.8 give 1.2, 1.2, 1.6,
    # normalised to mean 1: 0.9, 0.9, 1.2.
    assert result.converged
    assert result.weights.tolist() == pytest.approx([0.9, 0.9, 1.2])
    plain = rake(frame, {"sex": {"f": 0.6, "m": 0.4}})
    assert plain.weights.tolist() == pytest.approx([0.9, 0.9, 1.2])  # 0.6/(2/3)... and 0.4/(1/3)
    unequal = rake(frame, {"sex": {"f": 0.5, "m": 0.5}}, base_weights=pd.Series([1.0, 3.0, 2.0]))
    # f base 4, m base 2 of 6: factors 0.75 and 1.5 -> 0.75, 2.25, 3 -> mean 2.
    assert unequal.weights.tolist() == pytest.approx([0.375, 1.125, 1.5])
    with pytest.raises(ValueError):
        rake(frame, {"sex": {"f": 0.5, "m": 0.5}}, base_weights=pd.Series([1.0, -1.0, 1.0]))


def test_census_not_answered_is_left_out_and_the_rest_renormalised() -> None:
    bench = pd.DataFrame(
        {
            "variable": ["religion"] * 3,
            "category": ["Christian", "No religion", "Not answered"],
            "population_share": [0.47, 0.47, 0.06],
        }
    )
    assert drop_not_stated(bench).attrs["not_stated"] == [("religion", "Not answered", 0.06)]
    frame = pd.DataFrame({"religion": ["Christian"] * 50 + ["No religion"] * 50})
    table = representation(frame, bench)
    assert "Not answered" not in set(table["category"])
    row = table.set_index("category").loc["Christian"]
    assert row["population_share"] == pytest.approx(0.5)  # 0.47 / 0.94
    assert row["note"] == ""  # not a data problem to warn about


def test_status_is_judged_by_the_interval() -> None:
    bench = pd.DataFrame(
        {
            "variable": ["sex", "sex", "age", "age", "age"],
            "category": ["Male", "Female", "young", "middle", "old"],
            "population_share": [0.49, 0.51, 0.3, 0.61, 0.09],
        }
    )
    # 38 responses, 26 men; no young people, 11 aged "old" (29% vs 9%).
    frame = pd.DataFrame(
        {
            "sex": ["Male"] * 26 + ["Female"] * 12,
            "age": ["middle"] * 27 + ["old"] * 11,
        }
    )
    table = representation(frame, bench).set_index(["variable", "category"])
    assert table.loc[("sex", "Male"), "status"] == "over"  # 68% (52-81%) vs 49%
    assert table.loc[("sex", "Female"), "status"] == "under"
    assert table.loc[("age", "young"), "status"] == "under"  # 0% (0-9%) vs 30%
    assert table.loc[("age", "old"), "status"] == "over"  # 29% (17-45%) vs 9%
    assert table.loc[("age", "middle"), "status"] == "cant_tell"  # 71% (55-83%) vs 61%
    big = pd.DataFrame({"sex": ["Male"] * 4900 + ["Female"] * 5100})
    assert set(representation(big, bench[bench["variable"] == "sex"])["status"].dropna()) == {
        "in_line"
    }
    messages = representation_messages(
        representation(frame, bench), {("age", "young"): "People aged young"}
    )
    gaps = [abs(m["gap"]) for m in messages]
    assert gaps == sorted(gaps, reverse=True)
    assert messages[0]["text"] == "No responses from people aged young, who are 30% of residents."
    assert any(m["text"].endswith("over-represented.") for m in messages)
    assert all("=" not in m["text"] for m in messages)


def test_standard_error_and_design_effect_by_hand() -> None:
    frame = pd.DataFrame({"y": ["yes", "no", "no", "no"]})
    table = weighted_share(frame, "y", positive={"yes"}, min_base=1)
    row = table.iloc[0]
    assert row["se"] == pytest.approx(math.sqrt(0.25 * 0.75 / 4))
    assert row["deff"] == pytest.approx(1.0)
    # Two replicates by hand: weighted shares 1/4 and 3/6 = 0.5.
    reps = pd.DataFrame({"r1": [1.0, 1.0, 1.0, 1.0], "r2": [3.0, 1.0, 1.0, 1.0]})
    table = weighted_share(frame, "y", positive={"yes"}, replicates=reps, min_base=1)
    row = table.iloc[0]
    expected_se = float(np.std([0.25, 0.5], ddof=1))
    assert row["se"] == pytest.approx(expected_se)
    assert row["deff"] == pytest.approx(expected_se**2 / (0.25 * 0.75 / 4))
    assert row["estimate_effective_n"] == pytest.approx(4 / row["deff"])


def test_holm_by_hand() -> None:
    adjusted = holm(np.array([0.01, 0.04, 0.03, np.nan]))
    assert adjusted[:3].tolist() == pytest.approx([0.03, 0.06, 0.06])
    assert np.isnan(adjusted[3])


def test_bands_never_chain_and_are_numbered_by_position() -> None:
    # a-b and b-c cannot be told apart, a-c can: c must not share a's band.
    separated = np.zeros((3, 3), dtype=bool)
    separated[0, 2] = separated[2, 0] = True
    band = bands_from_separated([0, 1, 2], separated)
    assert band.tolist() == [0, 0, 1]
    assert band_labels(band.tolist()) == ["1=", "1=", "3"]
    thirteen = [0] * 12 + [1]
    assert band_labels(thirteen)[-1] == "13"


def _ranking_frame(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 600
    # a is far ahead, b and c are neck and neck, d is last.
    scores = np.column_stack(
        [rng.normal(3.0, 1, n), rng.normal(1.0, 1, n), rng.normal(1.0, 1, n), rng.normal(-2, 1, n)]
    )
    order = np.argsort(-scores, axis=1)
    ranks = np.empty_like(order)
    rows = np.arange(n)[:, None]
    ranks[rows, order] = np.arange(1, 5)
    frame = pd.DataFrame(ranks.astype(float), columns=[f"p__{c}" for c in "abcd"])
    frame["sex"] = rng.choice(["f", "m"], size=n, p=[0.3, 0.7])
    return frame


def test_bands_are_the_same_whatever_the_seed() -> None:
    from consult.services.results.compute import REPLICATES

    frame = _ranking_frame()
    targets = {"sex": {"f": 0.5, "m": 0.5}}
    weights = rake(frame, targets).weights
    labellings = set()
    for seed in range(5):
        reps = replicate_weights(frame, targets, n=REPLICATES, seed=seed)
        result = priorities(frame, "p", weights=weights, top_n=4, replicates=reps)
        labellings.add(tuple(result.table["band_label"]))
    assert labellings == {("1", "2=", "2=", "4")}


def test_summary_sentences() -> None:
    frame = _ranking_frame()
    reps = replicate_weights(frame, {}, n=300, seed=1)
    result = priorities(frame, "p", top_n=4, replicates=reps)
    labels = {"a": "Anti-social behaviour", "b": "Burglary", "c": "Car crime", "d": "Drugs"}
    summary = summarise_priorities(result, labels)
    assert summary.sentence.startswith("Anti-social behaviour is clearly first; the next two")
    assert "cannot be told apart" in summary.sentence
    # 12 responses, each option ranked 1st, 2nd, 3rd and 4th three times.
    cycle = [[1, 2, 3, 4], [2, 3, 4, 1], [3, 4, 1, 2], [4, 1, 2, 3]] * 3
    small = pd.DataFrame(cycle, columns=[f"p__{c}" for c in "abcd"], dtype=float)
    tiny = priorities(small, "p", top_n=4, replicates=replicate_weights(small, {}, n=300, seed=1))
    assert tiny.table["band"].nunique() == 1
    text = summarise_priorities(tiny, labels)
    assert text.sentence.startswith("With 12 responses, none of the 4 priorities can be told apart")
    assert "cannot say which priority comes first" in text.cannot_report
    assert "top 4" in text.can_report


def test_sparse_groups_too_small_together_join_the_smallest_adequate_group() -> None:
    frame = pd.DataFrame({"eg": ["White"] * 35 + ["Asian"] * 5})
    targets = {"eg": {"White": 0.4, "Asian": 0.4, "Black": 0.1, "Mixed": 0.05, "Other": 0.05}}
    feas = check_feasibility(frame, targets)
    assert feas.targets["eg"] == pytest.approx({"White": 0.4, "Asian / Black / Mixed / Other": 0.6})
    alone = check_feasibility(
        pd.DataFrame({"sex": ["m"] * 38 + ["f"] * 2}), {"sex": {"m": 0.5, "f": 0.5}}
    )
    assert alone.dropped == ["sex"]
    assert alone.collapses[0].message.startswith("Sex was left out of the weighting because f had")
