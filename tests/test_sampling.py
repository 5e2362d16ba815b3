"""The pure draw of the sample stream: reproducible, stratified, without
replacement; proportional allocation by largest remainder; selection
probabilities (design weights: tests/test_results_streams.py)."""

from __future__ import annotations

import numpy as np
import pytest

from consult.analysis.sampling import (
    SampleSizeError,
    allocate,
    draw_sample,
    stratum_sizes,
)


def _frame(count: int = 1000) -> tuple[list[str], list[str]]:
    ids = [f"A{i:05d}" for i in range(count)]
    # 50% north, 30% south, 20% west.
    strata = ["north" if i % 10 < 5 else "south" if i % 10 < 8 else "west" for i in range(count)]
    return ids, strata


def test_the_same_seed_draws_the_same_addresses_and_another_seed_others():
    ids, strata = _frame()
    first = draw_sample(ids, strata, 100, seed=2026)
    again = draw_sample(ids, strata, 100, seed=2026)
    other = draw_sample(ids, strata, 100, seed=2027)
    assert first.ids == again.ids
    assert first.ids != other.ids
    assert first.seed == 2026


def test_a_draw_is_without_replacement_and_in_file_order():
    ids, strata = _frame()
    drawn = draw_sample(ids, strata, 300, seed=1)
    assert len(drawn.ids) == len(set(drawn.ids)) == 300
    assert drawn.ids == sorted(drawn.ids)
    assert list(drawn.rows) == sorted(drawn.rows)
    assert [ids[r] for r in drawn.rows] == drawn.ids


def test_a_total_is_shared_in_proportion_to_the_strata():
    ids, strata = _frame()
    drawn = draw_sample(ids, strata, 100, seed=5)
    by_stratum = {s.stratum: s for s in drawn.strata}
    assert {k: (v.population, v.drawn) for k, v in by_stratum.items()} == {
        "north": (500, 50),
        "south": (300, 30),
        "west": (200, 20),
    }
    assert by_stratum["north"].probability == pytest.approx(0.1)
    chosen = np.asarray(strata)[drawn.rows]
    assert (chosen == "north").sum() == 50 and (chosen == "west").sum() == 20
    assert np.allclose(drawn.probabilities, 0.1)


def test_largest_remainder_rounding_adds_up_exactly():
    # Quotas 3.33, 3.33, 3.33 for 10 from three equal strata: one extra to the first name.
    assert allocate({"b": 10, "a": 10, "c": 10}, 10) == {"a": 4, "b": 3, "c": 3}
    # 7 from 1, 2, 4 of 7: exact.
    assert allocate({"x": 1, "y": 2, "z": 4}, 7) == {"x": 1, "y": 2, "z": 4}
    # 5 from 3, 3, 4: quotas 1.5, 1.5, 2.0 -> 1, 1, 2 and the extra to "a".
    assert allocate({"a": 3, "b": 3, "c": 4}, 5) == {"a": 2, "b": 1, "c": 2}
    sizes = {f"s{i}": n for i, n in enumerate([13, 7, 29, 101, 3, 55])}
    for total in range(0, sum(sizes.values()) + 1, 17):
        shares = allocate(sizes, total)
        assert sum(shares.values()) == total
        assert all(0 <= shares[k] <= sizes[k] for k in sizes)
    with pytest.raises(SampleSizeError):
        allocate({"a": 3}, 4)


def test_sizes_per_stratum_and_their_problems():
    ids, strata = _frame()
    drawn = draw_sample(ids, strata, {"north": 10, "west": 200}, seed=3)
    assert {s.stratum: s.drawn for s in drawn.strata} == {"north": 10, "south": 0, "west": 200}
    assert {s.stratum: s.probability for s in drawn.strata}["west"] == 1.0
    with pytest.raises(SampleSizeError) as error:
        draw_sample(ids, strata, {"north": 501, "east": 3}, seed=3)
    assert error.value.problems == [
        "Stratum 'east' is not in the address file",
        "Stratum 'north': cannot draw 501 addresses from its 500",
    ]
    with pytest.raises(SampleSizeError):
        draw_sample(ids, strata, 1001, seed=3)
    with pytest.raises(SampleSizeError):
        draw_sample(ids, strata, 10, seed=-1)


def test_no_strata_is_one_simple_random_sample():
    ids, _ = _frame(50)
    drawn = draw_sample(ids, None, 5, seed=9)
    assert [(s.stratum, s.population, s.drawn) for s in drawn.strata] == [("", 50, 5)]
    assert stratum_sizes(["a", "b", "a"]) == {"a": 2, "b": 1}


def test_every_address_has_its_stated_chance():
    # Over many seeds, each address of a stratum is drawn about n_h / N_h of the time.
    ids = [str(i) for i in range(20)]
    strata = ["a"] * 10 + ["b"] * 10
    hits = np.zeros(20)
    for seed in range(2000):
        hits[draw_sample(ids, strata, {"a": 2, "b": 5}, seed).rows] += 1
    assert np.allclose(hits[:10] / 2000, 0.2, atol=0.04)
    assert np.allclose(hits[10:] / 2000, 0.5, atol=0.05)
