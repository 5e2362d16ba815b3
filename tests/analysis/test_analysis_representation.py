"""Representation flags on crafted data, incl. the Wilson rule and too_few."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from consult.analysis import describe_flags, representation, wilson_interval

BENCH = pd.DataFrame(
    {
        "variable": ["age_band"] * 3 + ["sex"] * 2,
        "category": ["16-24", "25-64", "65+", "Female", "Male"],
        "population_share": [0.20, 0.60, 0.20, 0.5, 0.5],
        "base": [1000] * 3 + [2000] * 2,
        "source": ["census"] * 5,
    }
)


def _frame(counts: dict[str, int], extra_missing: int = 0) -> pd.DataFrame:
    values = [c for c, k in counts.items() for _ in range(k)] + [None] * extra_missing
    return pd.DataFrame({"age_band": values})


def test_wilson_interval_known_values() -> None:
    # Wilson 95% for 6/100 (z = 1.959964): centre 0.07495, half-width 0.0462.
    low, high = wilson_interval(0.06, 100)
    assert float(low) == pytest.approx(0.02779, abs=1e-4)
    assert float(high) == pytest.approx(0.12474, abs=1e-4)
    lows, highs = wilson_interval(np.array([0.0, 1.0]), np.array([10, 10]))
    assert lows[0] == 0.0 and highs[1] == 1.0
    assert highs[0] == pytest.approx(0.2775, abs=1e-4)
    nan_low, _ = wilson_interval(0.5, 0)
    assert np.isnan(nan_low)


def test_flags_under_over_ok_and_missing_row() -> None:
    frame = _frame({"16-24": 60, "25-64": 540, "65+": 400}, extra_missing=50)
    table = representation(frame, BENCH)
    rows = table.set_index("category")
    assert rows.loc["16-24", "n"] == 60
    assert rows.loc["16-24", "answered"] == 1000
    assert rows.loc["16-24", "sample_share"] == pytest.approx(0.06)
    assert rows.loc["16-24", "ratio"] == pytest.approx(0.3)
    assert rows.loc["16-24", "flag"] == "under"
    assert rows.loc["65+", "flag"] == "over"
    assert rows.loc["25-64", "sample_share"] == pytest.approx(0.54)
    assert rows.loc["25-64", "flag"] == "ok"  # r = 0.9, within both thresholds
    assert rows.loc["(not answered)", "n"] == 50
    assert rows.loc["(not answered)", "flag"] == "missing"
    assert rows.loc["(not answered)", "sample_share"] == pytest.approx(50 / 1050)
    assert rows.loc["16-24", "base"] == 1000
    assert rows.loc["16-24", "source"] == "census"


def test_low_ratio_that_could_be_chance_is_not_under() -> None:
    # 39 of 200 = 19.5% against 25%: r = 0.78 < 0.8, but the Wilson interval
    # (0.1461, 0.2554) does not lie wholly below 0.25, so this is not flagged.
    bench = pd.DataFrame(
        {"variable": ["x", "x"], "category": ["a", "b"], "population_share": [0.25, 0.75]}
    )
    frame = pd.DataFrame({"x": ["a"] * 39 + ["b"] * 161})
    rows = representation(frame, bench).set_index("category")
    assert rows.loc["a", "ratio"] == pytest.approx(0.78)
    assert rows.loc["a", "wilson_high"] == pytest.approx(0.25544, abs=1e-5)
    assert rows.loc["a", "flag"] == "ok"
    # Same share on ten times the sample: now the shortfall is not chance.
    big = pd.DataFrame({"x": ["a"] * 390 + ["b"] * 1610})
    assert representation(big, bench).set_index("category").loc["a", "flag"] == "under"


def test_a_clear_shortfall_is_named_however_few_and_renormalisation_is_noted() -> None:
    bench = pd.DataFrame(
        {"variable": ["x"] * 3, "category": ["a", "b", "c"], "population_share": [0.3, 0.3, 0.3]}
    )
    frame = pd.DataFrame({"x": ["a"] * 10 + ["b"] * 500 + ["c"] * 500 + ["zz"] * 40})
    table = representation(frame, bench)
    rows = table.set_index("category")
    # 10 of 1,010 against a third of residents: too few to report separately,
    # but the shortfall is not chance, so the group is named as under-represented.
    assert rows.loc["a", "flag"] == "under" and rows.loc["a", "status"] == "under"
    small = pd.DataFrame({"x": ["a"] * 10 + ["b"] * 12 + ["c"] * 11})
    assert representation(small, bench).set_index("category").loc["a", "flag"] == "too_few"
    assert rows.loc["a", "population_share"] == pytest.approx(1 / 3)
    assert rows.loc["zz", "flag"] == "no_benchmark"
    assert "0.9000" in rows.loc["a", "note"]
    assert table.attrs["warnings"] and "x" in table.attrs["warnings"][0]


def test_describe_flags_sentences() -> None:
    frame = _frame({"16-24": 60, "25-64": 540, "65+": 400}, extra_missing=50)
    table = representation(frame, BENCH)
    sentences = describe_flags(table, {("age_band", "16-24"): "People aged 16–24"})
    # The biggest gap first, whichever way it points: 65+ is 20 points over,
    # 16-24 14 points under.
    assert sentences[0] == "65+ (age band) are 40% of responses but only 20% of residents."
    assert sentences[1] == "People aged 16–24 are 6% of responses but 20% of residents."
    assert sentences[2] == "50 people (5% of responses) did not answer the age band question."


def test_real_leicester_margins_load() -> None:
    # The margins the product ships for its demo (consult/data).
    path = (
        Path(__file__).resolve().parents[2]
        / "consult"
        / "data"
        / "leicester_census2021_margins.csv"
    )
    bench = pd.read_csv(path)
    frame = pd.DataFrame({"sex": ["Female"] * 700 + ["Male"] * 300})
    rows = representation(frame, bench).set_index("category")
    assert rows.loc["Male", "flag"] == "under"
    assert rows.loc["Female", "population_share"] == pytest.approx(0.5059 / 1.0, abs=1e-4)
    assert rows.loc["Male", "base"] == 368581


def test_counts_match_labelling_every_answer() -> None:
    """Counting distinct values gives what labelling each answer gives,
    for text, for numbers stored as objects and for a Categorical."""
    bench = pd.DataFrame(
        {
            "variable": ["v"] * 3,
            "category": ["a", "b", "1"],
            "population_share": [0.4, 0.4, 0.2],
        }
    )
    text = ["a"] * 40 + ["b"] * 25 + ["zz"] * 3 + ["prefer_not_to_say"] * 4 + [None] * 6
    numbers = ["a"] * 30 + [1] * 12 + [1.0] * 2 + ["b"] * 20 + [None] * 3
    columns = {
        "text": pd.Series(text, dtype=object),
        "numbers": pd.Series(numbers, dtype=object),
        "categorical": pd.Series(
            pd.Categorical(text, categories=["a", "b", "zz", "unused", "prefer_not_to_say"])
        ),
    }
    for name, values in columns.items():
        table = representation(pd.DataFrame({"v": values}), bench)
        answered = values[values.notna() & (values != "prefer_not_to_say")]
        by_hand = answered.map(lambda v: v if isinstance(v, str) else str(v)).value_counts()
        shown = table[table["category"] != "(not answered)"].set_index("category")["n"]
        expected = {c: int(by_hand.get(c, 0)) for c in shown.index}
        assert shown.to_dict() == expected, name
        assert set(by_hand[by_hand > 0].index) <= set(shown.index), name
        assert (table["answered"] == len(answered)).all(), name
        assert table.set_index("category").loc["(not answered)", "n"] == len(values) - len(answered)
    numbers_table = representation(pd.DataFrame({"v": columns["numbers"]}), bench)
    assert numbers_table.set_index("category").loc["1.0", "flag"] == "no_benchmark"
