"""Whose voices are missing: sample shares against population benchmarks."""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np
import numpy.typing as npt
import pandas as pd

# Flags, in the order a reader should care about them, are defined with their
# labels in consult.vocabulary (which imports neither Flask nor SQLAlchemy).
from ..vocabulary import FLAGS
from ._codes import DEFAULT_MISSING_CODES, NOT_ANSWERED, _label, is_missing
from .feasibility import drop_not_stated
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
    "status",
    "gap",
    "base",
    "source",
    "note",
]


def _answer_counts(values: pd.Series, missing: npt.NDArray[np.bool_]) -> dict[str, int]:
    """Respondents per category label among those who answered.

    Labelling every answer costs a Python call per respondent (400,000 calls
    at 100,000 x 4 variables); the labels of the few distinct values, then a
    count of their codes, give the same counts.
    """
    answered = ~missing
    if not isinstance(values.array, pd.Categorical):
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        # Strings are their own labels and never equal one another; other
        # values (1 and 1.0 share a code but not a label) take the long way.
        if all(isinstance(u, str) for u in uniques):
            chosen = np.asarray(codes)[answered]
            per_code = np.bincount(chosen[chosen >= 0], minlength=len(uniques))
            return {str(u): int(c) for u, c in zip(uniques, per_code, strict=True) if c > 0}
    # A Categorical maps its categories, not its rows, and keeps unused ones.
    counts = values[answered].map(_label).value_counts(sort=False)
    return {str(c): int(n) for c, n in counts.items()}


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
    # "Not answered / not stated" is non-response in the Census, not a group
    # of residents: leave it out and let the other shares renormalise.
    benchmarks = drop_not_stated(benchmarks)
    not_stated_vars = {v for v, _, _ in benchmarks.attrs.get("not_stated", [])}
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
        if abs(share_sum - 1.0) > _RENORMALISE_NOTICE and var not in not_stated_vars:
            note = (
                f"Population shares for {var} add up to {share_sum:.4f}; "
                "they were rescaled to add up to 1."
            )
            warnings.append(note)
        population = shares / share_sum if share_sum > 0 else np.full_like(shares, np.nan)

        values = frame[var]
        missing = is_missing(values, missing_codes)
        counts = _answer_counts(values, missing)
        answered = int((~missing).sum())

        n_c = np.array([int(counts.get(c, 0)) for c in cats], dtype=np.int64)
        extra = [c for c in counts if c not in set(cats)]
        base = bench["base"].tolist() if "base" in bench else [np.nan] * len(cats)
        source = bench["source"].tolist() if "source" in bench else [""] * len(cats)
        part = pd.DataFrame(
            {
                "variable": var,
                "category": cats + sorted(extra) + [NOT_ANSWERED],
                "n": np.concatenate(
                    [n_c, [counts[c] for c in sorted(extra)], [int(missing.sum())]]
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
        table.attrs["not_stated"] = benchmarks.attrs.get("not_stated", [])
        return table

    table = pd.concat(rows, ignore_index=True)
    table.attrs["not_stated"] = benchmarks.attrs.get("not_stated", [])
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
    with np.errstate(invalid="ignore"):
        under = (ratio < ratio_threshold) & (high < pop)
        over = (ratio > over_threshold) & (low > pop)
        # In line: the interval rules out a gap beyond the thresholds, or the
        # gap is real but small (interval clear of P, ratio within them).
        inside = (low >= ratio_threshold * pop) & (high <= over_threshold * pop)
        small_real = ((high < pop) | (low > pop)) & ~under & ~over
    status = np.full(len(table), "cant_tell", dtype=object)
    status[inside | small_real] = "in_line"
    status[over] = "over"
    status[under] = "under"
    status[~has_benchmark | is_missing_row] = None
    # The flag keeps its older meaning for callers that use it, but a group the
    # interval shows to be under- or over-represented is named as such however
    # few responses it has: a small survey hides skew otherwise.
    flag = np.full(len(table), "ok", dtype=object)
    flag[n < min_base] = "too_few"
    flag[over] = "over"
    flag[under] = "under"
    flag[~has_benchmark] = "no_benchmark"
    flag[is_missing_row] = "missing"
    table["flag"] = flag
    table["status"] = status
    table["gap"] = p - pop
    not_stated = table.attrs.get("not_stated", [])
    table = table[COLUMNS]
    table.attrs["warnings"] = warnings
    table.attrs["not_stated"] = not_stated
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
    # Under- and over-representation together, the biggest gap first; then
    # the groups too small to judge, then the rest.
    # (FLAGS starts with "under", "over": both rank first.)
    order = {flag: max(0, i - 1) for i, flag in enumerate(FLAGS)}
    flagged = table[table["flag"].isin(list(include))]
    gap = (
        flagged["gap"].abs().fillna(0.0)
        if "gap" in flagged.columns
        else pd.Series(0.0, index=flagged.index)
    )
    flagged = flagged.assign(_order=flagged["flag"].map(order), _gap=-gap).sort_values(
        ["_order", "_gap", "variable"], kind="stable"
    )
    sentences: list[str] = []
    for row in flagged.to_dict("records"):
        var = str(row["variable"])
        cat = str(row["category"])
        subject = labels.get((var, cat), labels.get(cat, f"{cat} ({var.replace('_', ' ')})"))
        p = _pct(float(row["sample_share"]))
        pop = _pct(float(row["population_share"]))
        if row["flag"] == "under":
            if int(row["n"]) == 0:
                sentences.append(
                    f"No responses from {_lower_people(subject)}, who are {pop} of residents."
                )
            else:
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


def _lower_people(subject: str) -> str:
    return "people" + subject[6:] if subject.startswith("People ") else subject


def _subject(labels: Mapping[object, str], var: str, cat: str) -> str:
    return labels.get((var, cat), labels.get(cat, f"{cat} ({var.replace('_', ' ')})"))


def representation_messages(
    table: pd.DataFrame, labels: Mapping[object, str] | None = None
) -> list[dict[str, object]]:
    """Plain-words messages naming under- and over-represented groups.

    One dict per flagged group (``status`` under or over), sorted by the size
    of the gap between sample and population share, biggest first: keys
    ``variable``, ``category``, ``status``, ``gap`` and ``text``. No variable
    codes and no thresholds: the sentence says what the numbers say.
    """
    labels = labels or {}
    rows = table[table["status"].isin(["under", "over"])]
    rows = rows.assign(_size=rows["gap"].abs()).sort_values(
        ["_size", "variable", "category"], ascending=[False, True, True], kind="stable"
    )
    out: list[dict[str, object]] = []
    for row in rows.to_dict("records"):
        var, cat = str(row["variable"]), str(row["category"])
        subject = _subject(labels, var, cat)
        p = _pct(float(row["sample_share"]))
        pop = _pct(float(row["population_share"]))
        if row["status"] == "under":
            if int(row["n"]) == 0:
                text = f"No responses from {_lower_people(subject)}, who are {pop} of residents."
            else:
                text = f"{subject} are {p} of responses but {pop} of residents: under-represented."
        else:
            text = f"{subject} are {p} of responses but only {pop} of residents: over-represented."
        out.append(
            {
                "variable": var,
                "category": cat,
                "status": str(row["status"]),
                "gap": float(row["gap"]),
                "text": text,
            }
        )
    return out
