"""Every question's results at 100,000 responses x 40 questions.

Measures the statistics behind the question results pages, the Excel
"Weighted results" sheet and the report (`consult.analysis.questions` as
`consult.services.question_results` drives it): 40 questions of every type
(single choice and scales with a positive grouping, multiple choice, grids,
rankings, numbers, free-text themes), weighted, without and with 200
replicate weights, plus one cross-tab. The reference, measured in the same
run, is the library's older per-question `weighted_share` over the same
single-choice and grid columns only (what the workbook computed before).

    .venv/bin/python bench/bench_question_results.py [responses]

Budget (DESIGN.md): every question's results in under 3 s, cold.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import pandas as pd

from consult.analysis import priorities, weighted_share
from consult.analysis.questions import (
    categorical_set,
    flags_set,
    grid_set,
    grouped_set,
    number_bands,
    number_summary,
    share_estimates,
    top_n_set,
)

SCALE = ["very_good", "good", "fair", "poor", "very_poor", "dont_know"]
OPTIONS = [f"opt_{i}" for i in range(8)]
ITEMS = [f"item_{i}" for i in range(5)]


def build(n: int, seed: int = 1) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    rng = np.random.default_rng(seed)
    columns: dict[str, object] = {}
    kinds: dict[str, list[str]] = {
        "single": [],
        "multiple": [],
        "grid": [],
        "ranking": [],
        "number": [],
        "text": [],
    }

    def codes(k: list[str]) -> np.ndarray:
        values = np.array(k, dtype=object)[rng.integers(0, len(k), n)]
        values[rng.random(n) < 0.05] = None
        return values

    for q in range(22):  # single choice and scales
        columns[f"s{q}"] = codes(SCALE)
        kinds["single"].append(f"s{q}")
    for q in range(5):  # multiple choice
        ticks = (rng.random((n, len(OPTIONS))) < 0.3).astype(float)
        ticks[rng.random(n) < 0.1] = np.nan
        for j, o in enumerate(OPTIONS):
            columns[f"m{q}__{o}"] = ticks[:, j]
        kinds["multiple"].append(f"m{q}")
    for q in range(5):  # grids
        for item in ITEMS:
            columns[f"g{q}__{item}"] = codes(SCALE)
        kinds["grid"].append(f"g{q}")
    for q in range(3):  # rankings, top 3 of 8
        ranks = np.full((n, len(OPTIONS)), np.nan)
        order = np.argsort(rng.random((n, len(OPTIONS))), axis=1)[:, :3]
        for r in range(3):
            ranks[np.arange(n), order[:, r]] = r + 1
        for j, o in enumerate(OPTIONS):
            columns[f"r{q}__{o}"] = ranks[:, j]
        kinds["ranking"].append(f"r{q}")
    for q in range(3):  # numbers
        values = rng.gamma(2.0, 10.0, n).round()
        values[rng.random(n) < 0.1] = np.nan
        columns[f"n{q}"] = values
        kinds["number"].append(f"n{q}")
    for q in range(2):  # free text with 6 themes each
        answered = rng.random(n) < 0.3
        for t in range(6):
            flag = (rng.random(n) < 0.2).astype(float)
            columns[f"t{q}__theme__th{t}"] = np.where(answered, flag, np.nan)
        kinds["text"].append(f"t{q}")
    columns["sex"] = np.array(["Female", "Male"], dtype=object)[rng.integers(0, 2, n)]
    return pd.DataFrame(columns), kinds


def every_question(
    frame: pd.DataFrame,
    kinds: dict[str, list[str]],
    weights: np.ndarray,
    replicates: np.ndarray | None,
) -> int:
    sets = []
    for key in kinds["single"]:
        distribution = categorical_set(key, frame[key], SCALE[:-1], missing_codes=["dont_know"])
        sets += [distribution, grouped_set(distribution, ["very_good", "good"], "positive")]
    for key in kinds["multiple"]:
        sets.append(flags_set(key, frame[[f"{key}__{o}" for o in OPTIONS]], OPTIONS))
    for key in kinds["grid"]:
        rows = {f"{key}__{i}": frame[f"{key}__{i}"] for i in ITEMS}
        sets.append(grid_set(key, rows, SCALE[:-1], missing_codes=["dont_know"]))
    for key in kinds["ranking"]:
        sets.append(top_n_set(key, frame[[f"{key}__{o}" for o in OPTIONS]], OPTIONS, 3))
    for key in kinds["number"]:
        _, labels, assigned = number_bands(frame[key])
        sets.append(categorical_set(key, pd.Series(assigned, dtype=object), labels))
    for key in kinds["text"]:
        columns = [f"{key}__theme__th{t}" for t in range(6)]
        sets.append(flags_set(key, frame[columns], [f"th{t}" for t in range(6)]))
    table = share_estimates(sets, weights=weights, replicates=replicates)
    for key in kinds["number"]:
        number_summary(frame[key], weights=weights, replicates=replicates)
    w = pd.Series(weights, index=frame.index)
    for key in kinds["ranking"]:
        # As the service does: mean ranks here; bands are the results' own.
        priorities(frame, key, weights=w, top_n=3)
    return len(table)


def reference(frame: pd.DataFrame, kinds: dict[str, list[str]], weights: np.ndarray) -> int:
    w = pd.Series(weights, index=frame.index)
    rows = 0
    columns = kinds["single"] + [f"{g}__{i}" for g in kinds["grid"] for i in ITEMS]
    for column in columns:
        rows += len(
            weighted_share(
                frame, column, weights=w, categories=SCALE[:-1], missing_codes={"dont_know"}
            )
        )
    return rows


def timed(fn, *args) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    frame, kinds = build(n)
    rng = np.random.default_rng(2)
    weights = rng.gamma(4.0, 0.25, n)
    weights /= weights.mean()
    replicates = rng.poisson(1.0, (n, 200)) * weights[:, None]
    questions = sum(len(v) for v in kinds.values())
    print(f"{n:,} responses x {questions} questions ({frame.shape[1]} columns)")
    # Figures on a shared machine swing with its load: compare the ratios.
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    t_ref, ref_rows = timed(reference, frame, kinds, weights)
    t_plain, rows = timed(every_question, frame, kinds, weights, None)
    t_rep, _ = timed(every_question, frame, kinds, weights, replicates)
    sets = [categorical_set("sex", frame["s0"], SCALE[:-1], missing_codes=["dont_know"])]
    t_cross, _ = timed(
        lambda: share_estimates(sets, weights=weights, replicates=replicates, groups=frame["sex"])
    )
    print(
        f"reference: weighted_share per column, 47 single/grid columns only: {t_ref:6.3f} s ({ref_rows} rows)"
    )
    print(
        f"every question, weighted, Wilson on effective n:             {t_plain:6.3f} s ({rows} estimates)"
    )
    print(f"every question, weighted, 200 replicate weights:             {t_rep:6.3f} s")
    print(f"one cross-tab with 200 replicates:                           {t_cross:6.3f} s")
    print(f"ratio every question (no replicates) / reference: {t_plain / t_ref:.2f}")
    print(f"ratio every question (200 replicates) / reference: {t_rep / t_ref:.2f}")
    print(f"budget 3 s: {'met' if t_rep < 3 else 'NOT met'} ({t_rep:.2f} s with replicates)")


if __name__ == "__main__":
    main()
