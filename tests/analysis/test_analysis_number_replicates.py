"""Replicate standard errors of a number question, and indicator sets from
encoded answers, against direct computations."""

from __future__ import annotations

import numpy as np
import pandas as pd

from consult.analysis.questions import (
    categorical_set,
    number_summary,
    share_estimates,
    weighted_quantile,
)


def test_replicate_mean_and_median_match_each_replicate_computed_directly():
    rng = np.random.default_rng(5)
    n = 400
    x = rng.integers(0, 12, n).astype(float)
    x[rng.random(n) < 0.2] = np.nan
    w = rng.gamma(3.0, 0.3, n)
    rep = rng.poisson(1.0, (n, 40)) * w[:, None]
    got = number_summary(x, weights=w, replicates=rep)
    keep = np.isfinite(x)
    means = [(rep[keep, r] @ x[keep]) / rep[keep, r].sum() for r in range(rep.shape[1])]
    medians = [weighted_quantile(x[keep], rep[keep, r], 0.5) for r in range(rep.shape[1])]
    assert abs(got.weighted_mean_se - np.std(means, ddof=1)) < 1e-12
    se_median = float(np.std(medians, ddof=1))
    assert abs((got.weighted_median_high - got.weighted_median) / 1.959964 - se_median) < 1e-6


def test_encoded_answers_give_the_same_estimates_as_text_answers():
    rng = np.random.default_rng(6)
    codes = np.array(["a", "b", "c", "dk"], dtype=object)[rng.integers(0, 4, 300)]
    codes[rng.random(300) < 0.1] = None
    text = pd.Series(codes, dtype=object)
    encoded = text.astype(pd.CategoricalDtype(["c", "dk", "a", "b", "unused"]))
    w = rng.gamma(3.0, 0.3, 300)
    rep = rng.poisson(1.0, (300, 20)) * w[:, None]
    sex = pd.Series(rng.choice(["F", "M"], 300))
    tables = [
        share_estimates(
            [categorical_set("q", s, ["a", "b", "c"], missing_codes=["dk"])],
            weights=w,
            replicates=rep,
            groups=sex,
        )
        for s in (text, encoded)
    ]
    pd.testing.assert_frame_equal(tables[0], tables[1])
    first = tables[0].query("group == 'F' and category == 'a'").iloc[0]
    inside = (sex == "F").to_numpy() & text.notna().to_numpy() & (text != "dk").to_numpy()
    assert first["n"] == inside.sum()
    expected = w[inside & (text == "a").to_numpy()].sum() / w[inside].sum()
    assert abs(first["weighted_share"] - expected) < 1e-12
