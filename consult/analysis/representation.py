"""Whose voices are missing: sample shares against population benchmarks."""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np
import pandas as pd

# Flags, in the order a reader should care about them, are defined with their
# labels in consult.vocabulary (which imports neither Flask nor SQLAlchemy).
from ..vocabulary import FLAGS
from ._codes import DEFAULT_MISSING_CODES, NOT_ANSWERED, _label, is_missing
from .intervals import wilson_interval

_RENORMALISE_NOTICE = 0.01

COLUMNS = [
    "variable",
    "category",
    "n",
    "answered",
    "sample_share",
    "population_share",
    "ratio",
    "wilson_low",
    "wilson_high",
    "flag",
    "base",
    "source",
    "note",
]


def representation(
    frame: pd.DataFrame,
    benchmarks: pd.DataFrame,
    *,
    ratio_threshold: float = 0.8,
    over_threshold: float = 1.25,
    min_base: int = 30,
    missing_codes: Collection[str] = DEFAULT_MISSING_CODES,
    level: float = 0.95,
) -> pd.DataFrame:
    """One row per variable x category, for variables in both inputs.

    ``n`` is the category count n_c, ``answered`` the number n who answered the
    variable and ``sample_share`` p = n_c / n. ``population_share`` P is the
    benchmark share renormalised within the variable (a ``note`` says so when
    the shares were off by more than 1%; the same notes are collected in
    ``table.attrs["warnings"]``). ``ratio`` r = p / P; ``wilson_low`` and
    ``wilson_high`` bound p (95% Wilson).

    ``flag`` is, in this order of precedence: ``too_few`` when n_c < min_base;
    ``under`` when r < ratio_threshold and wilson_high < P; ``over`` when
    r > over_threshold and wilson_low > P; otherwise ``ok``. Answers in a
    category without a benchmark get ``no_benchmark``. Respondents who did not
    answer the variable are a row of their own, category "(not answered)",
    flag ``missing``, with ``sample_share`` their share of *all* respondents.
    """
    required = {"variable", "category", "population_share"}
    if not required <= set(benchmarks.columns):
        raise KeyError(f"benchmarks need the columns {sorted(required)}")
    total = len(frame)
    rows: list[pd.DataFrame] = []
    warnings: list[str] = []
    variables = [v for v in pd.unique(benchmarks["variable"]) if v in frame.columns]
    for var in variables:
        bench = benchmarks[benchmarks["variable"] == var]
        cats = [_label(c) for c in bench["category"]]
        shares = bench["population_share"].to_numpy(dtype=np.float64)
        share_sum = float(shares.sum())
        note = ""
        if abs(share_sum - 1.0) > _RENORMALISE_NOTICE:
            note = (
                f"Population shares for {var} add up to {share_sum:.4f}; "
                "they were rescaled to add up to 1."
            )
            warnings.append(note)
        population = shares / share_sum if share_sum > 0 else np.full_like(shares, np.nan)

        values = frame[var]
        missing = is_missing(values, missing_codes)
        answered_values = values[~missing].map(_label)
        counts = answered_values.value_counts(sort=False)
        answered = int((~missing).sum())

        n_c = np.array([int(counts.get(c, 0)) for c in cats], dtype=np.int64)
        extra = [c for c in counts.index if c not in set(cats)]
        base = bench["base"].tolist() if "base" in bench else [np.nan] * len(cats)
        source = bench["source"].tolist() if "source" in bench else [""] * len(cats)
        part = pd.DataFrame(
            {
                "variable": var,
                "category": cats + sorted(extra) + [NOT_ANSWERED],
                "n": np.concatenate(
                    [n_c, [int(counts[c]) for c in sorted(extra)], [int(missing.sum())]]
                ).astype(np.int64),
                "answered": answered,
                "population_share": np.concatenate([population, np.full(len(extra) + 1, np.nan)]),
                "base": base + [np.nan] * (len(extra) + 1),
                "source": source + [""] * (len(extra) + 1),
                "note": note,
            }
        )
        rows.append(part)

    if not rows:
        table = pd.DataFrame({c: [] for c in COLUMNS})
        table.attrs["warnings"] = warnings
        return table

    table = pd.concat(rows, ignore_index=True)
    is_missing_row = (table["category"] == NOT_ANSWERED).to_numpy()
    n = table["n"].to_numpy(dtype=np.float64)
    answered_n = table["answered"].to_numpy(dtype=np.float64)
    denominator = np.where(is_missing_row, float(total), answered_n)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(denominator > 0, n / denominator, np.nan)
        pop = table["population_share"].to_numpy(dtype=np.float64)
        ratio = p / pop
    low, high = wilson_interval(p, denominator, level=level)
    table["sample_share"] = p
    table["ratio"] = ratio
    table["wilson_low"] = low
    table["wilson_high"] = high

    has_benchmark = np.isfinite(pop)
    flag = np.full(len(table), "ok", dtype=object)
    flag[(ratio > over_threshold) & (low > pop)] = "over"
    flag[(ratio < ratio_threshold) & (high < pop)] = "under"
    flag[n < min_base] = "too_few"
    flag[~has_benchmark] = "no_benchmark"
    flag[is_missing_row] = "missing"
    table["flag"] = flag
    table = table[COLUMNS]
    table.attrs["warnings"] = warnings
    return table


def _pct(share: float) -> str:
    if not np.isfinite(share):
        return "an unknown share"
    value = 100.0 * share
    if value != 0 and abs(value) < 1:
        return f"{value:.1f}%"
    return f"{value:.0f}%"


def _counted(count: int, one: str, many: str) -> str:
    # English sentences for officers ("1 person", not "1 people"); the
    # analysis library stays free of the web's translation machinery.
    return f"{count} {one if count == 1 else many}"


def describe_flags(
    table: pd.DataFrame,
    labels: Mapping[object, str] | None = None,
    *,
    include: Collection[str] = ("under", "over", "too_few", "no_benchmark", "missing"),
) -> list[str]:
    """Plain-words sentences for the flagged rows of :func:`representation`.

    ``labels`` maps ``(variable, category)`` or just ``category`` to the
    subject of the sentence, e.g. ``{("age_band", "16-24"): "People aged
    16–24"}``; without one the category text is used, with the variable in
    brackets. Under-represented groups come first, then over-represented, then
    groups too small to report, categories without a benchmark, and
    non-response.
    """
    labels = labels or {}
    order = {f: i for i, f in enumerate(FLAGS)}
    flagged = table[table["flag"].isin(list(include))]
    flagged = flagged.assign(_order=flagged["flag"].map(order)).sort_values(
        ["_order", "variable"], kind="stable"
    )
    sentences: list[str] = []
    for row in flagged.to_dict("records"):
        var = str(row["variable"])
        cat = str(row["category"])
        subject = labels.get((var, cat), labels.get(cat, f"{cat} ({var.replace('_', ' ')})"))
        p = _pct(float(row["sample_share"]))
        pop = _pct(float(row["population_share"]))
        if row["flag"] == "under":
            sentences.append(f"{subject} are {p} of responses but {pop} of residents.")
        elif row["flag"] == "over":
            sentences.append(f"{subject} are {p} of responses but only {pop} of residents.")
        elif row["flag"] == "too_few":
            count = int(row["n"])
            if count == 0:
                sentences.append(f"No responses from {subject}, who are {pop} of residents.")
            else:
                sentences.append(
                    f"Only {_counted(count, 'response', 'responses')} from {subject} "
                    f"({pop} of residents): "
                    "too few to report separately."
                )
        elif row["flag"] == "no_benchmark":
            sentences.append(
                f"{subject}: {_counted(int(row['n']), 'response', 'responses')}, "
                "with no population figure to compare."
            )
        elif row["flag"] == "missing" and int(row["n"]) > 0:
            count = int(row["n"])
            sentences.append(
                f"{_counted(count, 'person', 'people')} ({p} of responses) "
                "did not answer the "
                f"{var.replace('_', ' ')} question."
            )
    return sentences
