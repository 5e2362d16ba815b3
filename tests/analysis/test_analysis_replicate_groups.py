"""Replicates of large samples by the random-groups bootstrap: the same
standard errors as resampling respondents, within the Monte Carlo error of
the replicates; and replicates that start from design weights."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from consult.analysis import replicate_weights
from consult.analysis.weighting import GROUPED_ABOVE

TARGETS = {"sex": {"F": 0.5, "M": 0.5}, "age": {"young": 0.4, "old": 0.6}}


def sample(n: int, seed: int = 3) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "sex": rng.choice(["F", "M"], n, p=[0.65, 0.35]),
            "age": rng.choice(["young", "old"], n, p=[0.2, 0.8]),
        }
    )
    # An answer related to age, so the raking matters to it.
    p = np.where(frame["age"] == "young", 0.6, 0.3)
    y = (rng.random(n) < p).astype(np.float64)
    return frame, y


def replicate_se(table: pd.DataFrame, y: np.ndarray) -> float:
    w = table.to_numpy()
    return float(((y @ w) / w.sum(axis=0)).std(ddof=1))


def test_large_samples_resample_groups_with_the_same_standard_error() -> None:
    n = GROUPED_ABOVE + 10_000
    frame, y = sample(n)
    grouped = replicate_weights(frame, TARGETS, n=400, seed=1)
    single = replicate_weights(frame, TARGETS, n=400, seed=1, groups=0)
    assert grouped.attrs["groups"] == 1000 and single.attrs["groups"] == 0
    assert grouped.attrs["converged"].all()
    np.testing.assert_allclose(grouped.mean(axis=0).to_numpy(), 1.0, rtol=1e-6)
    se_grouped, se_single = replicate_se(grouped, y), replicate_se(single, y)
    # Each standard error carries ~3.5% Monte Carlo error at 400 replicates.
    assert se_grouped == pytest.approx(se_single, rel=0.15)


def test_small_samples_still_resample_respondents() -> None:
    frame, _ = sample(500)
    table = replicate_weights(frame, TARGETS, n=20, seed=2)
    assert table.attrs["groups"] == 0
    # Respondent-level resampling: some respondents are never drawn.
    assert (table.to_numpy() == 0).any()


@pytest.mark.parametrize("groups", [0, 50])
def test_replicates_start_from_design_weights(groups: int) -> None:
    frame, y = sample(2_000)
    base = pd.Series(np.where(frame["sex"] == "F", 1.0, 3.0), index=frame.index)
    table = replicate_weights(frame, {}, n=300, seed=4, base_weights=base, groups=groups)
    w = table.to_numpy()
    np.testing.assert_allclose(w.mean(axis=0), 1.0, rtol=0.1)
    estimate = float((y @ w).sum() / w.sum())
    design = float((y * base).sum() / base.sum())
    assert estimate == pytest.approx(design, abs=0.01)
    with pytest.raises(ValueError, match="base weights"):
        replicate_weights(frame, {}, n=2, seed=1, base_weights=base * -1)
