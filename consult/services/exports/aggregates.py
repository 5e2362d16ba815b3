"""The aggregate sheets of a spreadsheet export (Representation, Weighted
results, Priorities): the figures the results pages show, each based on fewer
respondents than the disclosure threshold left blank. Export-only, so the
export package does not depend on the partnership report."""

from __future__ import annotations

import math
from typing import Any

from ...analysis import priorities
from ..content import SurveyTexts
from ..question_results import (
    SHEET_HEADER,
    applied_weighting,
    load_themes,
    question_results,
    sheet_rows,
)
from ..results import compute_results
from .common import disclosure_min_cell
from .request import Export


def _cell(value: float, small: bool) -> float | None:
    if small or value is None or not math.isfinite(float(value)):
        return None
    return round(float(value), 6)


def aggregate_sheets(export: Export) -> dict[str, list[list[Any]]]:
    """Representation, Weighted results and Priorities, with every figure
    based on fewer than the disclosure threshold left blank."""
    survey = export.survey
    min_cell = disclosure_min_cell()
    results = compute_results(survey)
    texts = SurveyTexts(survey)
    lang = export.language
    note = [f"Figures based on fewer than {min_cell} respondents are suppressed (left blank)."]
    weights = export.weighting.weights

    representation: list[list[Any]] = [
        note,
        [
            "variable",
            "category",
            "respondents",
            "share_of_respondents",
            "population_share",
            "ratio",
            "flag",
        ],
    ]
    for r in results.representation.to_dict("records"):
        small = int(r["n"]) < min_cell
        representation.append(
            [
                r["variable"],
                r["category"],
                None if small else int(r["n"]),
                _cell(r["sample_share"], small),
                _cell(r["population_share"], False),
                _cell(r["ratio"], small),
                r["flag"] if not small or r["flag"] != "ok" else "too_few",
            ]
        )

    frame = results.frame
    weighted_rows: list[list[Any]] = [
        note + [export.weighting.describe()],
        SHEET_HEADER,
    ]
    if len(frame):
        applied = applied_weighting(results)
        replicates = applied.replicates if weights is not None else None
        every = question_results(
            survey,
            frame,
            weights,
            replicates,
            themes=load_themes(survey, frame.index),
            language=lang,
            base=min_cell,
        )
        weighted_rows.extend(sheet_rows(every, min_cell))

    priority_rows: list[list[Any]] = [
        note,
        [
            "question",
            "code",
            "label",
            "rank",
            "band",
            "top_share",
            "mean_rank",
            "borda",
            "unweighted_rank",
            "unweighted_top_share",
            "ranked_by",
            "rank_changed_by_weighting",
        ],
    ]
    for p in results.priorities:
        if weights is None:
            table = priorities(frame, p.question_key, weights=None, top_n=p.result.top_n).table
            bands: dict[str, str] = {}
        else:
            table = p.result.table
            bands = dict(
                zip(
                    table["option"], table.get("band_label", table["rank"].astype(str)), strict=True
                )
            )
        for r in table.to_dict("records"):
            small = int(r["ranked_by"]) < min_cell or p.result.n < min_cell
            priority_rows.append(
                [
                    p.question_key,
                    r["option"],
                    texts.option(
                        next(q for q in survey.questions if q.key == p.question_key),
                        r["option"],
                        lang,
                    ),
                    int(r["rank"]),
                    bands.get(r["option"], str(r["rank"])),
                    _cell(r["top_share"], small),
                    _cell(r["mean_rank"], small),
                    _cell(r["borda"], small),
                    int(r["unweighted_rank"]),
                    _cell(r["unweighted_top_share"], small),
                    None if small else int(r["ranked_by"]),
                    bool(r["rank_changed_by_weighting"]),
                ]
            )
    return {
        "Representation": representation,
        "Weighted results": weighted_rows,
        "Priorities": priority_rows,
    }
