"""Weighted shares, priorities, waves, replicate coverage and import purity."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from consult.analysis import (
    compare_waves,
    priorities,
    rake,
    ranks_from_lists,
    replicate_interval,
    replicate_weights,
    suppress,
    weighted_share,
    wilson_interval,
)

REPO = Path(__file__).resolve().parents[2]


def test_weighted_share_numbers_by_group() -> None:
    frame = pd.DataFrame(
        {
            "feel_safe": ["yes", "no", "no", "yes", None, "yes"],
            "sex": ["f", "f", "m", "m", "m", None],
        }
    )
    w = pd.Series([1.0, 3.0, 1.0, 1.0, 5.0, 2.0])
    table = weighted_share(frame, "feel_safe", weights=w, by="sex", min_base=2)
    rows = table.set_index(["group", "category"])
    assert list(table["group"].unique()) == ["f", "m", "(not answered)"]
    assert rows.loc[("f", "yes"), "share"] == pytest.approx(0.5)
    assert rows.loc[("f", "yes"), "weighted_share"] == pytest.approx(0.25)
    assert rows.loc[("f", "yes"), "effective_n"] == pytest.approx(16 / 10)
    assert rows.loc[("m", "no"), "n"] == 2  # the non-answer is not in the base
    assert rows.loc[("(not answered)", "yes"), "suppressed"]
    low, high = wilson_interval(0.25, 1.6)
    assert rows.loc[("f", "yes"), "weighted_low"] == pytest.approx(float(low))
    assert rows.loc[("f", "yes"), "weighted_high"] == pytest.approx(float(high))
    blanked = suppress(table).set_index(["group", "category"])
    assert np.isnan(blanked.loc[("(not answered)", "yes"), "weighted_share"])
    # Two women, but weights 1 and 3 make them worth 1.6 respondents: below
    # the minimum base of 2, so suppressed; the two men (weights 1, 1) are not.
    assert np.isnan(blanked.loc[("f", "yes"), "weighted_share"])
    assert blanked.loc[("m", "yes"), "weighted_share"] == pytest.approx(0.5)


def test_weighted_share_indicator() -> None:
    frame = pd.DataFrame(
        {"safety": ["very_unsafe", "fairly_unsafe", "fairly_safe", "prefer_not_to_say"]}
    )
    table = weighted_share(frame, "safety", positive={"very_unsafe", "fairly_unsafe"}, min_base=1)
    assert len(table) == 1
    assert table.loc[0, "category"] == "fairly_unsafe|very_unsafe"
    assert table.loc[0, "n"] == 3
    assert table.loc[0, "share"] == pytest.approx(2 / 3)


def test_ranks_from_lists_converter() -> None:
    lists = pd.Series([["b", "a"], ["c"], [], None])
    wide = ranks_from_lists(lists, "q", options=["a", "b", "c"])
    assert list(wide.columns) == ["q__a", "q__b", "q__c"]
    assert wide.loc[0].tolist()[:2] == [2.0, 1.0]
    assert wide.loc[1, "q__c"] == 1.0
    assert wide.loc[2].isna().all() and wide.loc[3].isna().all()
    with pytest.raises(ValueError):
        ranks_from_lists(pd.Series([["zz"]]), "q", options=["a"])


def _ranking_frame() -> pd.DataFrame:
    # Group A (4 people) puts burglary first; group B (2 people) puts ASB first.
    lists = [["burglary", "asb", "drugs"]] * 4 + [["asb", "drugs", "burglary"]] * 2
    frame = ranks_from_lists(pd.Series(lists), "priority")
    frame["group"] = ["A"] * 4 + ["B"] * 2
    return frame


def test_priorities_hand_computed_and_rank_change_under_weighting() -> None:
    frame = _ranking_frame()
    result = priorities(frame, "priority", top_n=2)
    rows = result.table.set_index("option")
    # Unweighted Borda (top 2: 2 points for 1st, 1 for 2nd) per respondent:
    # burglary (4*2)/6, asb (4*1 + 2*2)/6, drugs (2*1)/6.
    assert rows.loc["burglary", "borda"] == pytest.approx(8 / 6)
    assert rows.loc["asb", "borda"] == pytest.approx(8 / 6)
    assert rows.loc["drugs", "borda"] == pytest.approx(2 / 6)
    assert rows.loc["asb", "top_share"] == pytest.approx(1.0)
    assert rows.loc["burglary", "mean_rank"] == pytest.approx((4 * 1 + 2 * 3) / 6)
    # Equal Borda: the higher top-2 share (asb, 100%) ranks first.
    assert rows.loc["asb", "rank"] == 1 and rows.loc["burglary", "rank"] == 2
    assert not rows["rank_changed_by_weighting"].any()

    w = pd.Series(np.where(frame["group"] == "A", 0.5, 2.0))
    weighted = priorities(frame, "priority", top_n=2, weights=w).table.set_index("option")
    # Weighted total 6; burglary 4*0.5*2 = 4 points, asb 4*0.5 + 2*2*2 = 10 points.
    assert weighted.loc["asb", "borda"] == pytest.approx(10 / 6)
    assert weighted.loc["burglary", "borda"] == pytest.approx(4 / 6)
    assert weighted.loc["drugs", "borda"] == pytest.approx(4 / 6)
    assert weighted.loc["asb", "rank"] == 1
    # burglary and drugs tie on Borda; drugs' top-2 share (4/6) beats burglary's (2/6).
    assert weighted.loc["drugs", "rank"] == 2
    assert weighted.loc["drugs", "unweighted_rank"] == 3
    assert weighted.loc["drugs", "rank_changed_by_weighting"]
    assert weighted.loc["burglary", "rank_changed_by_weighting"]
    assert not weighted.loc["asb", "rank_changed_by_weighting"]


def test_priorities_bands_tie_and_separation() -> None:
    rng = np.random.default_rng(0)
    n = 400
    # a and b are exchangeable (each first for half), c is always last.
    first = rng.permutation(np.repeat(["a", "b"], n // 2))
    lists = [[f, "b" if f == "a" else "a", "c"] for f in first]
    frame = ranks_from_lists(pd.Series(lists), "p")
    frame["sex"] = rng.choice(["f", "m"], n)
    targets = {"sex": {"f": 0.5, "m": 0.5}}
    weights = rake(frame, targets).weights
    reps = replicate_weights(frame, targets, n=100, seed=4)
    result = priorities(frame, "p", weights=weights, top_n=3, replicates=reps)
    rows = result.table.set_index("option")
    assert rows.loc["a", "band"] == rows.loc["b", "band"] == 1
    assert rows.loc["a", "band_label"] == "1="
    # Labels count positions, as in a league table: two tied first, then third.
    assert rows.loc["c", "band"] == 2 and rows.loc["c", "band_label"] == "3"
    assert result.bootstrap_share is not None
    assert result.bootstrap_share.loc["a", "c"] == 1.0
    assert result.bootstrap_share.loc["c", "a"] == 0.0
    assert 0.05 < result.bootstrap_share.loc["a", "b"] < 0.95


def test_compare_waves() -> None:
    baseline = pd.DataFrame({"unsafe": ["yes"] * 40 + ["no"] * 60})
    latest = pd.DataFrame({"unsafe": ["yes"] * 25 + ["no"] * 75 + [None] * 5})
    change = compare_waves(baseline, latest, "unsafe", positive={"yes"})
    assert change.baseline_share == pytest.approx(0.40)
    assert change.latest_share == pytest.approx(0.25)
    assert change.change == pytest.approx(-0.15)
    assert change.n_latest == 100
    # Newcombe hybrid score interval for 25/100 - 40/100 (hand-computed from
    # the two Wilson intervals (0.1755, 0.3431) and (0.3094, 0.4980)): (-0.2731, -0.0201).
    assert change.low == pytest.approx(-0.2731, abs=2e-4)
    assert change.high == pytest.approx(-0.0201, abs=2e-4)
    assert change.significant
    w = pd.Series(np.r_[np.full(50, 1.8), np.full(50, 0.2)])
    weighted = compare_waves(baseline, latest, "unsafe", positive={"yes"}, weights_baseline=w)
    assert weighted.effective_n_baseline == pytest.approx(100 / ((1.8**2 + 0.2**2) / 2))
    assert weighted.baseline_share == pytest.approx(0.72)
    assert weighted.high - weighted.low > change.high - change.low


def test_replicate_interval_methods() -> None:
    est = np.arange(1, 101, dtype=float)[:, None] / 100
    low, high = replicate_interval(est)
    assert low[0] == pytest.approx(0.03475) and high[0] == pytest.approx(0.97525)
    low_se, high_se = replicate_interval(est, method="se", centre=[0.5])
    sd = np.std(est[:, 0], ddof=1)
    assert low_se[0] == pytest.approx(0.5 - 1.959964 * sd, abs=1e-6)
    assert high_se[0] == pytest.approx(0.5 + 1.959964 * sd, abs=1e-6)


def test_replicate_intervals_cover_true_share_about_95_percent() -> None:
    """Seeded simulation: 200 biased samples from one synthetic population.

    Response propensity depends on age and sex multiplicatively, so raking on
    those margins removes the bias; the outcome depends on age x sex. Coverage
    of the 95% percentile interval from 100 replicates must lie in
    [0.90, 0.99] (binomial sd at 200 trials is about 0.015).
    """
    rng = np.random.default_rng(20240601)
    size = 50_000
    age = rng.choice(["young", "mid", "old"], size, p=[0.3, 0.45, 0.25])
    sex = rng.choice(["f", "m"], size, p=[0.52, 0.48])
    p_unsafe = 0.15 + 0.25 * (age == "young") + 0.1 * (sex == "f")
    unsafe = np.where(rng.random(size) < p_unsafe, "yes", "no")
    population = pd.DataFrame({"age": age, "sex": sex, "unsafe": unsafe})
    truth = float((unsafe == "yes").mean())
    targets = {
        "age": population["age"].value_counts(normalize=True).to_dict(),
        "sex": population["sex"].value_counts(normalize=True).to_dict(),
    }
    propensity = (
        np.select([age == "young", age == "mid"], [0.2, 0.6], 1.0)
        * np.where(sex == "f", 1.0, 0.6)
        * 0.02
    )
    trials, covered = 200, 0
    for _ in range(trials):
        sample = population[rng.random(size) < propensity].reset_index(drop=True)
        reps = replicate_weights(sample, targets, n=100, seed=rng)
        table = weighted_share(
            sample,
            "unsafe",
            positive={"yes"},
            weights=rake(sample, targets).weights,
            replicates=reps,
        )
        covered += int(table.loc[0, "replicate_low"] <= truth <= table.loc[0, "replicate_high"])
    coverage = covered / trials
    assert 0.90 <= coverage <= 0.99, coverage


def test_importing_analysis_pulls_in_no_web_stack() -> None:
    code = (
        "import sys, consult.analysis\n"
        "bad = [m for m in ('flask', 'sqlalchemy', 'flask_sqlalchemy', 'werkzeug') "
        "if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    assert out.stdout.strip() == ""


def test_docs_example_runs() -> None:
    doc = (REPO / "docs" / "analysis.md").read_text(encoding="utf-8")
    code = doc.split("```python\n", 1)[1].split("```", 1)[0]
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    assert "are 36% of responses but 49% of residents." in out.stdout


def test_priorities_replicate_scores_match_the_answered_rows_alone() -> None:
    """Bootstrap shares equal those from each replicate's answered rows, summed by hand.

    A third of the respondents ranked nothing; one of them lacks a replicate
    weight, which must not matter, and replicates in another row order must
    give the same comparisons.
    """
    rng = np.random.default_rng(11)
    n, n_reps, options = 90, 40, ["a", "b", "c", "d"]
    lists = [list(rng.permutation(options)[: rng.integers(1, 4)]) for _ in range(n)]
    frame = ranks_from_lists(pd.Series(lists), "p", options)
    frame.iloc[::3] = np.nan
    reps = pd.DataFrame(rng.gamma(4.0, 0.25, size=(n, n_reps)))
    weights = pd.Series(rng.uniform(0.5, 2.0, n))
    result = priorities(frame, "p", weights=weights, top_n=3, replicates=reps)

    ranks = frame.to_numpy()
    answered = np.isfinite(ranks).any(axis=1)
    points = np.where(ranks <= 3, 4 - np.nan_to_num(ranks), 0.0)
    borda = np.array(
        [
            [
                sum(reps.iloc[i, r] * points[i, j] for i in range(n) if answered[i])
                / sum(reps.iloc[i, r] for i in range(n) if answered[i])
                for j in range(len(options))
            ]
            for r in range(n_reps)
        ]
    )
    diff = borda[:, :, None] - borda[:, None, :]
    expected = (diff > 0).mean(axis=0) + 0.5 * (diff == 0).mean(axis=0)
    assert result.bootstrap_share is not None and result.p_values is not None
    got = result.bootstrap_share.loc[options, options].to_numpy()
    np.testing.assert_allclose(got, expected, atol=1e-12)
    assert result.n == int(answered.sum()) and result.replicates_used == n_reps

    with_gap = reps.copy()
    with_gap.iloc[0, 5] = np.nan  # row 0 ranked nothing
    shuffled = reps.sample(frac=1.0, random_state=3)
    for other_reps in (with_gap, shuffled):
        other = priorities(frame, "p", weights=weights, top_n=3, replicates=other_reps)
        assert other.bootstrap_share is not None and other.p_values is not None
        pd.testing.assert_frame_equal(other.bootstrap_share, result.bootstrap_share)
        pd.testing.assert_frame_equal(other.p_values, result.p_values, rtol=1e-12)
        pd.testing.assert_frame_equal(other.table, result.table)
