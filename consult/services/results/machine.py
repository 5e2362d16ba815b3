"""Machine-readable results: what the results pages show, as one JSON document.

`flask --app wsgi consult results SLUG --json` prints :func:`results_json`.
It is a stable interface that partners' analysts script against: fields are
documented in docs/analysis.md; add fields, never rename or remove them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ...models import Survey
from .compute import SurveyResults, compute_results
from .labels import group_label, variable_name
from .streams import REPRESENTATIVE_STATEMENT, STREAM_NAMES, available_streams

SCHEMA_VERSION = 1


def _num(value: Any, digits: int = 6) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return round(x, digits) if math.isfinite(x) else None


def weighting_section(survey: Survey, results: SurveyResults) -> dict[str, Any]:
    decision = results.decision
    rake = results.rake
    low, high = results.weight_ratio
    bounds = decision.bounds if decision is not None else None
    return {
        "variables": list(results.scheme.get("variables") or []),
        "requested_variables": list(results.scheme.get("requested_variables") or []),
        "collapsed": list(results.scheme.get("collapsed") or []),
        "weights_used": results.weighted,
        "reason": results.weighting_reason or None,
        "converged": bool(rake.converged) if decision and decision.outcome else None,
        "iterations": int(rake.iterations),
        "max_margin_error": _num(rake.max_margin_error, 9),
        "cap": list(bounds) if bounds else None,
        "effective_n": _num(results.effective_n, 3),
        "design_effect": _num(results.n_responses / results.effective_n, 4)
        if results.effective_n > 0
        else None,
        "min_weight_relative": _num(low, 6),
        "max_weight_relative": _num(high, 6),
        "attempt": {
            "effective_n": _num(rake.effective_sample_size, 3),
            "min_weight_relative": _num(rake.min_weight, 9),
            "max_weight_relative": _num(rake.max_weight, 6),
        },
        "replicates": {
            "drawn": results.replicates_drawn,
            "used": results.replicates_used,
            "left_out": results.replicates_dropped,
            "seed": results.scheme.get("replicate_seed"),
        },
        "problems": [
            {
                "code": p.code,
                "message": p.message,
                "variable": p.variable,
                "categories": list(p.categories),
            }
            for p in results.problems
        ],
    }


def representation_section(survey: Survey, results: SurveyResults) -> dict[str, Any]:
    table = results.representation
    variables: list[dict[str, Any]] = []
    for variable in dict.fromkeys(table["variable"]):
        rows = table[table["variable"] == variable]
        categories = []
        for r in rows.to_dict("records"):
            status = r.get("status")
            categories.append(
                {
                    "category": str(r["category"]),
                    "label": group_label(str(variable), str(r["category"])),
                    "n": int(r["n"]),
                    "population_share": _num(r["population_share"]),
                    "sample_share": _num(r["sample_share"]),
                    "interval": [_num(r["wilson_low"]), _num(r["wilson_high"])],
                    "status": status if isinstance(status, str) else None,
                }
            )
        variables.append(
            {
                "variable": str(variable),
                "name": variable_name(str(variable)),
                "categories": categories,
            }
        )
    return {
        "benchmark_version": results.benchmark_version,
        "variables": variables,
        "messages": [m["text"] for m in results.messages],
        "excluded_not_stated": [
            {"variable": v, "category": c, "population_share": _num(s)}
            for v, c, s in results.not_stated
        ],
    }


def headlines_section(survey: Survey, results: SurveyResults) -> list[dict[str, Any]]:
    out = []
    for h in results.headlines:
        out.append(
            {
                "key": h.key,
                "question_key": h.question_key,
                "label": h.label,
                "base": h.n,
                "effective_base": _num(h.effective_n, 3),
                "suppressed": h.suppressed,
                "unweighted": {"share": _num(h.share), "interval": [_num(h.low), _num(h.high)]},
                "weighted": {
                    "share": _num(h.weighted_share),
                    "interval": [_num(h.weighted_low), _num(h.weighted_high)],
                    "se": _num(h.se),
                    "deff": _num(h.deff, 4),
                },
            }
        )
    return out


def priorities_section(survey: Survey, results: SurveyResults) -> list[dict[str, Any]]:
    out = []
    for table in results.priorities:
        res = table.result
        options = []
        for row in table.rows():
            options.append(
                {
                    "option": row["option"],
                    "label": row["label"],
                    "rank": int(row["rank"]),
                    "band": int(row["band"])
                    if "band" in row and row["band"] == row["band"]
                    else None,
                    "band_label": row.get("band_label"),
                    "top_share": _num(row["top_share"]),
                    "mean_rank": _num(row["mean_rank"]),
                    "borda": _num(row["borda"]),
                    "unweighted_rank": int(row["unweighted_rank"]),
                    "unweighted_top_share": _num(row["unweighted_top_share"]),
                    "rank_changed_by_weighting": bool(row["rank_changed_by_weighting"]),
                    "ranked_by": int(row["ranked_by"]),
                }
            )
        summary = table.summary
        out.append(
            {
                "question_key": table.question_key,
                "prompt": table.prompt,
                "top_n": res.top_n,
                "n": res.n,
                "effective_n": _num(res.effective_n, 3),
                "weighted": results.weighted,
                "bands": {
                    "method": "Holm-adjusted pairwise z tests of weighted Borda scores, "
                    "standard errors from the replicates; bands never chain",
                    "level": _num(res.level, 4),
                    "replicates": res.replicates_used,
                },
                "summary": None
                if summary is None
                else {
                    "sentence": summary.sentence,
                    "can_report": summary.can_report,
                    "cannot_report": summary.cannot_report,
                },
                "options": options,
            }
        )
    return out


# Figures a row of a question's results carries; a suppressed row (its base
# or effective base below the minimum) keeps its code and label, not them.
_ROW_FIGURES = (
    "n",
    "count",
    "share",
    "share_low",
    "share_high",
    "weighted_share",
    "weighted_low",
    "weighted_high",
    "se",
    "deff",
    "effective_n",
)


def _question_row(row: dict[str, Any]) -> dict[str, Any]:
    suppressed = bool(row.get("suppressed"))
    out: dict[str, Any] = {
        "code": row.get("code"),
        "label": row.get("label"),
        "item": row.get("item") or None,
        "item_label": row.get("item_label") or None,
        "suppressed": suppressed,
    }
    for name in _ROW_FIGURES:
        if name in row:
            out[name] = None if suppressed and name != "n" else row[name]
    return out


def questions_section(survey: Survey, results: SurveyResults) -> Any:
    """Every question's estimates under the weighting that applies: the
    same figures as the question pages (`consult.services.question_results`)."""
    from dataclasses import asdict

    from ..question_results import applied_weighting, load_themes, min_base, question_results

    applied = applied_weighting(results)
    computed = question_results(
        survey,
        results.frame,
        applied.weights,
        applied.replicates,
        themes=load_themes(survey, results.frame.index),
        base=min_base(),
    )
    out = []
    for result in computed:
        out.append(
            {
                "key": result.key,
                "type": result.type,
                "prompt": result.prompt,
                "base": result.n,
                "weighted": applied.weighted,
                "rows": [_question_row(r) for r in result.rows],
                "positive": (
                    {
                        "label": result.positive_label,
                        "rows": [_question_row(r) for r in result.positive],
                    }
                    if result.positive
                    else None
                ),
                "not_answered": [
                    {"label": label, "count": count} for label, count in result.nonanswers
                ],
                "number": asdict(result.number) if result.number is not None else None,
                "unit": result.unit or None,
                "ranking": (
                    {"top_n": result.top_n, "options": result.ranking} if result.ranking else None
                ),
                "text_answers": result.text_answers if result.type == "text" else None,
                "themes": [{"code": t.code, "label": t.label} for t in result.themes],
            }
        )
    return out


def streams_section(survey: Survey, results: SurveyResults) -> dict[str, Any] | None:
    """Each stream's responses, response rate and weighted headline
    estimates; None for a survey without a sample stream. The combined view
    appears only where the officer chose to show it."""
    names = available_streams(survey)
    if not names:
        return None
    out: list[dict[str, Any]] = []
    for name in names:
        found = results if results.stream == name else compute_results(survey, stream=name)
        decision = found.decision
        out.append(
            {
                "stream": name,
                "name": STREAM_NAMES[name],
                "representative": found.representative,
                "responses": found.n_responses,
                "response_rate": _num(found.response_rate),
                "weights_used": found.weighted,
                "weighting_method": (decision.method if decision and found.weighted else None),
                "reason": found.weighting_reason or None,
                "effective_n": _num(found.effective_n, 3),
                "strata": [
                    {
                        **row,
                        "response_rate": _num(row["response_rate"]),
                        "design_weight": _num(row["design_weight"]),
                    }
                    for row in found.strata
                ],
                "headlines": headlines_section(survey, found),
            }
        )
    return {"shown": results.stream, "statement": REPRESENTATIVE_STATEMENT, "streams": out}


#: The document's sections in order: name -> builder. Adding a section is one line.
SECTIONS: dict[str, Callable[[Survey, SurveyResults], Any]] = {
    "weighting": weighting_section,
    "representation": representation_section,
    "headlines": headlines_section,
    "priorities": priorities_section,
    "questions": questions_section,
    "streams": streams_section,
}


def results_json(
    survey: Survey, results: SurveyResults | None = None, *, stream: str | None = None
) -> dict[str, Any]:
    """Everything the results pages show, as plain JSON-ready data (of
    `stream` where the survey has a sample stream; the sample stream by default)."""
    results = results if results is not None else compute_results(survey, stream=stream)
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "survey": {
            "id": survey.id,
            "slug": survey.slug,
            "responses": results.n_responses,
            "stream": results.stream,
        },
    }
    for name, build in SECTIONS.items():
        doc[name] = build(survey, results)
    return doc


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def jsonable(doc: dict[str, Any]) -> dict[str, Any]:
    return _jsonable(doc)  # type: ignore[no-any-return]
