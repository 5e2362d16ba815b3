"""Raking and post-stratification: hand-computed cases and never-silent edges."""

import math

import numpy as np
import pandas as pd
import pytest

from consult.analysis import poststratify, rake, replicate_weights


def _frame(cells: dict[tuple[str, str], int]) -> pd.DataFrame:
    rows = [key for key, count in cells.items() for _ in range(count)]
    return pd.DataFrame(rows, columns=["a", "b"])


def test_two_by_two_rake_matches_closed_form() -> None:
    # Counts [[1, 2], [2, 1]], targets a: 0.6/0.4, b: 0.5/0.5. Writing the
    # weights as r_i * c_j with r_y = 1 gives 4.8x² - 3x - 7.2 = 0 for x = r_x.
    frame = _frame({("x", "p"): 1, ("x", "q"): 2, ("y", "p"): 2, ("y", "q"): 1})
    result = rake(frame, {"a": {"x": 0.6, "y": 0.4}, "b": {"p": 0.5, "q": 0.5}}, tol=1e-12)
    x = (3 + math.sqrt(9 + 4 * 4.8 * 7.2)) / 9.6
    c1, c2 = 3 / (x + 2), 3 / (2 * x + 1)
    expected = {("x", "p"): x * c1, ("x", "q"): x * c2, ("y", "p"): c1, ("y", "q"): c2}
    assert result.converged
    assert result.problems == []
    for (a, b), w in expected.items():
        got = result.weights[(frame["a"] == a) & (frame["b"] == b)]
        assert got.to_numpy() == pytest.approx(w, rel=1e-9)
    assert result.weights.mean() == pytest.approx(1.0)
    w = result.weights.to_numpy()
    assert result.effective_sample_size == pytest.approx(w.sum() ** 2 / (w**2).sum())
    assert result.design_effect == pytest.approx(6 / result.effective_sample_size)
    assert result.max_weight == pytest.approx(x * c1)
    assert result.min_weight == pytest.approx(c2)


def test_missing_keep_their_share_and_others_scale_to_remainder() -> None:
    frame = pd.DataFrame({"sex": ["f"] * 2 + ["m"] * 6 + [None, "prefer_not_to_say"]})
    result = rake(frame, {"sex": {"f": 0.5, "m": 0.5}})
    # Two of ten did not answer: they keep 20%, f and m get 40% each.
    w = result.weights
    assert w[frame["sex"] == "f"].sum() / w.sum() == pytest.approx(0.4)
    assert w[frame["sex"] == "m"].sum() / w.sum() == pytest.approx(0.4)
    assert w.iloc[8:].to_numpy() == pytest.approx([1.0, 1.0])
    assert w.iloc[0] == pytest.approx(2.0)
    assert w.iloc[2] == pytest.approx(4 / 6)
    margins = result.margins.set_index("category")
    assert margins.loc["(not answered)", "target_share"] == pytest.approx(0.2)


def test_custom_missing_codes() -> None:
    frame = pd.DataFrame({"sex": ["f", "m", "m", "dont_know"]})
    result = rake(frame, {"sex": {"f": 0.5, "m": 0.5}}, missing_codes={"dont_know"})
    assert result.problems == []
    assert result.weights.iloc[3] == pytest.approx(1.0)
    assert result.weights.iloc[0] == pytest.approx(1.5)


def test_targets_not_summing_to_one_are_renormalised_with_a_problem() -> None:
    frame = pd.DataFrame({"sex": ["f", "m", "m", "m"]})
    result = rake(frame, {"sex": {"f": 50, "m": 50}})
    assert result.converged
    assert result.problem_codes() == ["targets_renormalised"]
    assert result.weights.iloc[0] == pytest.approx(2.0)
    small = rake(frame, {"sex": {"f": 0.5001, "m": 0.5001}})
    assert small.problems == []


def test_empty_population_category_is_named_and_not_converged() -> None:
    frame = pd.DataFrame({"area": ["north"] * 3 + ["south"] * 7})
    result = rake(frame, {"area": {"north": 0.4, "south": 0.4, "east": 0.2}})
    assert not result.converged
    empty = [p for p in result.problems if p.code == "empty_category"]
    assert len(empty) == 1
    assert empty[0].variable == "area"
    assert empty[0].categories == ("east",)
    assert "east" in empty[0].message
    assert result.max_margin_error == pytest.approx(0.2)
    # The attainable part is still done: north and south split 50/50.
    assert result.weights.iloc[0] == pytest.approx(5 / 3)


def test_unknown_sample_category_is_named_and_keeps_its_share() -> None:
    frame = pd.DataFrame({"area": ["north", "north", "south", "atlantis"]})
    result = rake(frame, {"area": {"north": 0.5, "south": 0.5}})
    unknown = [p for p in result.problems if p.code == "unknown_category"]
    assert len(unknown) == 1 and unknown[0].categories == ("atlantis",)
    assert result.converged
    assert result.weights.iloc[3] == pytest.approx(1.0)
    assert result.weights.iloc[2] == pytest.approx(1.5)


def test_all_missing_variable_is_a_problem_and_is_skipped() -> None:
    frame = pd.DataFrame({"sex": ["f", "m", "m", "m"], "religion": [None] * 4})
    result = rake(frame, {"sex": {"f": 0.5, "m": 0.5}, "religion": {"a": 0.5, "b": 0.5}})
    assert [p.code for p in result.problems] == ["all_missing"]
    assert result.problems[0].variable == "religion"
    assert result.weights.iloc[0] == pytest.approx(2.0)


def test_variable_absent_from_frame_is_a_problem() -> None:
    frame = pd.DataFrame({"sex": ["f", "m"]})
    result = rake(frame, {"sex": {"f": 0.5, "m": 0.5}, "age_band": {"16-24": 1.0}})
    assert result.problem_codes() == ["variable_not_in_frame"]


def test_non_convergence_with_tiny_max_iter_is_reported_not_raised() -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {"a": rng.choice(["x", "y", "z"], 500), "b": rng.choice(["p", "q"], 500, p=[0.8, 0.2])}
    )
    # Make a and b associated so one sweep cannot meet both margins.
    frame.loc[frame["a"] == "x", "b"] = "p"
    targets = {"a": {"x": 0.2, "y": 0.3, "z": 0.5}, "b": {"p": 0.3, "q": 0.7}}
    result = rake(frame, targets, max_iter=1)
    assert not result.converged
    assert result.iterations == 1
    assert "not_converged" in result.problem_codes()
    assert result.max_margin_error > 1e-3
    full = rake(frame, targets)
    assert full.converged and full.max_margin_error <= 1e-6


def test_bounds_trim_and_rerake() -> None:
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {"a": rng.choice(["x", "y"], 1000, p=[0.9, 0.1]), "b": rng.choice(["p", "q"], 1000)}
    )
    targets = {"a": {"x": 0.6, "y": 0.4}, "b": {"p": 0.5, "q": 0.5}}
    loose = rake(frame, targets)
    assert loose.max_weight > 3.0
    trimmed = rake(frame, targets, bounds=(0.2, 5.0))
    assert trimmed.converged and not trimmed.trimmed
    impossible = rake(frame, targets, bounds=(0.5, 2.0), max_iter=200)
    assert impossible.trimmed
    assert not impossible.converged
    assert "not_converged" in impossible.problem_codes()
    assert impossible.max_weight <= 2.0 + 1e-6
    assert impossible.min_weight >= 0.5 - 1e-6


def test_bounds_that_can_hold_together_with_margins_converge() -> None:
    frame = _frame({("x", "p"): 30, ("x", "q"): 30, ("y", "p"): 20, ("y", "q"): 20})
    targets = {"a": {"x": 0.5, "y": 0.5}, "b": {"p": 0.5, "q": 0.5}}
    result = rake(frame, targets, bounds=(0.5, 1.3))
    assert result.converged and result.bounds_met
    assert result.max_weight == pytest.approx(1.25)


def test_empty_frame_is_reported() -> None:
    result = rake(pd.DataFrame({"sex": pd.Series([], dtype=object)}), {"sex": {"f": 1.0}})
    assert not result.converged
    assert "no_respondents" in result.problem_codes()


def test_categorical_and_object_columns_give_identical_weights() -> None:
    rng = np.random.default_rng(11)
    obj = pd.DataFrame(
        {
            "a": rng.choice(["x", "y", "z", "prefer_not_to_say"], 2000),
            "b": rng.choice(["p", "q", None], 2000),
        }
    )
    cat = obj.astype("category")
    targets = {"a": {"x": 0.2, "y": 0.3, "z": 0.5}, "b": {"p": 0.3, "q": 0.7}}
    r1 = rake(obj, targets, tol=1e-12)
    r2 = rake(cat, targets, tol=1e-12)
    assert np.abs(r1.weights - r2.weights).max() < 1e-10
    assert r1.converged and r2.converged


@pytest.mark.parametrize(
    ("n_vars", "n_cats"),
    [(5, 3), (4, 12), (3, 150), (8, 8), (20, 8)],
    ids=["few-profiles", "wide-ids", "int16-codes", "sparse-profiles", "too-many-for-one-id"],
)
def test_many_variables_meet_margins_however_the_columns_are_stored(
    n_vars: int, n_cats: int
) -> None:
    # How many answer profiles are possible decides how respondents are grouped
    # internally; whichever way applies, and whether answers arrive as text or as
    # categoricals, the user must get the same weights, meeting every margin.
    rng = np.random.default_rng(n_vars)
    n = 3000
    cats = {f"v{j}": [f"c{i}" for i in range(n_cats)] for j in range(n_vars)}
    data = {}
    for var, categories in cats.items():
        values = rng.choice([*categories, "prefer_not_to_say"], n).astype(object)
        values[rng.random(n) < 0.05] = None
        data[var] = values
    text = pd.DataFrame(data)
    targets = {
        var: dict(zip(categories, rng.dirichlet(np.full(n_cats, 5.0)).tolist(), strict=True))
        for var, categories in cats.items()
    }
    categorical = text.astype("category")
    mixed = text.copy()
    for var in list(cats)[::2]:
        mixed[var] = mixed[var].astype("category")
    results = [rake(f, targets, tol=1e-9, max_iter=5000) for f in (text, categorical, mixed)]
    assert all(r.converged and r.problems == [] for r in results)
    w = results[0].weights
    for other in results[1:]:
        assert np.abs(other.weights - w).max() < 1e-10
    for var, shares in targets.items():
        not_answered = (~text[var].isin(cats[var])).mean()
        for category, share in shares.items():
            got = w[text[var] == category].sum() / w.sum()
            assert got == pytest.approx(share * (1 - not_answered), abs=1e-8)


def test_poststratify_hand_computed() -> None:
    frame = _frame({("x", "p"): 2, ("x", "q"): 2, ("y", "p"): 4, ("y", "q"): 2})
    cells = {("x", "p"): 0.25, ("x", "q"): 0.25, ("y", "p"): 0.25, ("y", "q"): 0.25}
    result = poststratify(frame, cells, variables=["a", "b"])
    assert result.converged and result.problems == []
    # weight = population share / sample share: 0.25 / (count / 10)
    by_cell = result.weights.groupby([frame["a"], frame["b"]]).first()
    assert by_cell[("x", "p")] == pytest.approx(1.25)
    assert by_cell[("y", "p")] == pytest.approx(0.625)
    assert by_cell[("y", "q")] == pytest.approx(1.25)


def test_poststratify_empty_cell_is_named() -> None:
    frame = _frame({("x", "p"): 2, ("x", "q"): 2, ("y", "p"): 4})
    table = pd.DataFrame(
        {"a": ["x", "x", "y", "y"], "b": ["p", "q", "p", "q"], "population_share": [0.25] * 4}
    )
    result = poststratify(frame, table, variables=["a", "b"])
    assert not result.converged
    empty = [p for p in result.problems if p.code == "empty_category"]
    assert empty and empty[0].categories == ("y × q",)
    assert empty[0].variable == "a × b"


def test_replicate_weights_shape_and_multiplicity() -> None:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"a": rng.choice(["x", "y"], 300, p=[0.7, 0.3])})
    targets = {"a": {"x": 0.5, "y": 0.5}}
    reps = replicate_weights(frame, targets, n=20, seed=1)
    assert reps.shape == (300, 20)
    assert reps.mean().to_numpy() == pytest.approx(np.ones(20))
    assert (reps.to_numpy() >= 0).all()
    assert (reps == 0).to_numpy().mean() == pytest.approx(np.exp(-1), abs=0.03)
    # Each replicate meets the margin on its own resample.
    share_x = reps[frame["a"] == "x"].sum() / reps.sum()
    assert share_x.to_numpy() == pytest.approx(np.full(20, 0.5))
    assert reps.attrs["converged"].all()
    # A respondent drawn twice weighs twice one drawn once in the same cell.
    col = reps["rep_001"]
    x_values = np.unique(np.round(col[frame["a"] == "x"].to_numpy(), 12))
    positive = x_values[x_values > 0]
    assert positive[1] == pytest.approx(2 * positive[0])
    again = replicate_weights(frame, targets, n=20, seed=1)
    pd.testing.assert_frame_equal(reps, again)


def test_replicates_that_cannot_meet_the_margins_still_have_numeric_weights() -> None:
    # Forty respondents, four yes/no questions: some resamples leave a profile
    # out and cannot meet every margin. They are counted as not converged, but
    # their weights must stay numbers: one NaN makes every interval computed
    # from the replicates NaN.
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(
        {f"q{j}": rng.choice(["yes", "no", "prefer_not_to_say", None], 40) for j in range(4)}
    )
    targets = {f"q{j}": {"yes": 0.3, "no": 0.7} for j in range(4)}
    reps = replicate_weights(frame, targets, n=50, seed=1)
    assert not reps.attrs["converged"].all()
    assert [p.code for p in reps.attrs["problems"]] == ["replicates_not_converged"]
    assert np.isfinite(reps.to_numpy()).all()
    assert reps.mean().to_numpy() == pytest.approx(np.ones(50))
