"""The strategy report and the aggregate tables every published output uses.

The report reads in the order an inspector would ask: who took part and who
is missing, then the weighted headline measures with their intervals,
breakdowns by group, the priorities with the bands the data can support, the
trend against the baseline wave, and the officer's acknowledgement of the
representation flags. All numbers come from `consult.services.results` (the
same numbers the results pages show) and pass through disclosure control
here: a figure based on fewer respondents than `disclosure_min_cell()` is
never shown, and the page says so.

Charts are server-rendered SVG with a title, a description and the data
table beside them, so no number can be read only from a chart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from markupsafe import Markup, escape
from sqlalchemy import func, select

from ..analysis import compare_waves
from ..extensions import db
from ..i18n import LANGUAGES
from ..models import Response, ResponseStatus, Survey, User
from ..vocabulary import FLAG_LABELS as FLAG_WORDS
from .content import SurveyTexts
from .exports import disclosure_min_cell, weighting_from_results
from .question_results import (
    QuestionResult,
    applied_weighting,
    load_themes,
    question_results,
)
from .results import (
    SurveyResults,
    breakdown,
    compute_results,
    decision_status,
    problem_text,
    variable_name,
)

CHANNEL_NAMES = {
    "online": "Online",
    "paper": "Paper questionnaire",
    "assisted": "Face to face (keyed by staff)",
    "kiosk": "Kiosk",
    "imported": "Imported from another survey tool",
}
# Groups the report breaks the headline measures down by, when asked about.
BREAKDOWN_VARIABLES = ("age_band", "sex", "ethnic_group", "disability", "religion", "area")


def pct(value: float | None, digits: int = 0) -> str:
    if value is None or not isinstance(value, int | float) or not math.isfinite(value):
        return ""
    return f"{100 * value:.{digits}f}%"


def suppressed_count(n: int, min_cell: int) -> str:
    return f"fewer than {min_cell}" if n < min_cell else f"{n:,}"


# --------------------------------------------------------------------------- #
# SVG charts
# --------------------------------------------------------------------------- #

_chart_counter = 0


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # a share, 0..1; None when suppressed
    low: float | None = None
    high: float | None = None
    note: str = ""


#: Width of a character of the chart's 13-pixel labels, generously: labels
#: are wrapped to fit their column rather than cut off at its edge.
CHAR_WIDTH = 7.5
MAX_LABEL_LINES = 3


def wrap_label(label: str, width: int) -> list[str]:
    """`label` in lines that fit `width` pixels, at most `MAX_LABEL_LINES`
    (the last ends with an ellipsis if the label is longer still; the data
    table beside the chart always has it whole)."""
    limit = max(8, int(width / CHAR_WIDTH))
    lines: list[str] = []
    current = ""
    for word in label.split():
        while len(word) > limit:
            if current:
                lines.append(current)
                current = ""
            lines.append(word[: limit - 1] + "-")
            word = word[limit - 1 :]
        candidate = f"{current} {word}".strip()
        if len(candidate) <= limit:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    if len(lines) > MAX_LABEL_LINES:
        lines = lines[:MAX_LABEL_LINES]
        lines[-1] = lines[-1][: limit - 1].rstrip() + "…"
    return lines or [""]


def bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    description: str,
    chart_id: str,
    label_width: int = 260,
    width: int = 640,
) -> Markup:
    """A horizontal bar chart of shares, with 95% intervals as whiskers.
    Labels wrap onto up to three lines inside their column, so none is
    clipped at the chart's edge. Presentation attributes (fill=...) rather
    than style attributes, which the content security policy forbids."""
    line = 16
    top = 10
    plot = width - label_width - 70
    wrapped = [wrap_label(bar.label, label_width - 12) for bar in bars]
    heights = [max(30, 14 + line * len(lines)) for lines in wrapped]
    height = top + sum(heights) + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="consult-chart" '
        f'viewBox="0 0 {width} {height}" width="100%" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]
    x0 = label_width
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        x = x0 + plot * tick
        parts.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{height - 25}" '
            'stroke="#b1b4b6" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle" font-size="12" '
            f'fill="#0b0c0c">{int(tick * 100)}%</text>'
        )
    y = top
    for bar, lines, row in zip(bars, wrapped, heights, strict=True):
        middle = y + row / 2
        first = middle - (len(lines) - 1) * line / 2 + 4.5
        tspans = "".join(
            f'<tspan x="{x0 - 8}" y="{first + i * line:.1f}">{escape(text)}</tspan>'
            for i, text in enumerate(lines)
        )
        parts.append(
            f'<text class="consult-chart__label" text-anchor="end" font-size="13" '
            f'fill="#0b0c0c">{tspans}</text>'
        )
        if bar.value is None or not math.isfinite(bar.value):
            parts.append(
                f'<text x="{x0 + 4}" y="{middle + 4.5:.1f}" font-size="12" fill="#505a5f">'
                f"{escape(bar.note or 'suppressed')}</text>"
            )
            y += row
            continue
        w = max(0.0, min(1.0, bar.value)) * plot
        parts.append(
            f'<rect x="{x0}" y="{middle - 9:.1f}" width="{w:.1f}" height="18" fill="#1d70b8"/>'
        )
        if (
            bar.low is not None
            and bar.high is not None
            and math.isfinite(bar.low)
            and math.isfinite(bar.high)
        ):
            lx, hx = x0 + plot * max(0.0, bar.low), x0 + plot * min(1.0, bar.high)
            parts.append(
                f'<line x1="{lx:.1f}" y1="{middle:.1f}" x2="{hx:.1f}" y2="{middle:.1f}" '
                'stroke="#0b0c0c" stroke-width="2"/>'
            )
            for x in (lx, hx):
                parts.append(
                    f'<line x1="{x:.1f}" y1="{middle - 6:.1f}" x2="{x:.1f}" y2="{middle + 6:.1f}" '
                    'stroke="#0b0c0c" stroke-width="2"/>'
                )
        parts.append(
            f'<text x="{x0 + plot + 8}" y="{middle + 4.5:.1f}" font-size="13" fill="#0b0c0c">'
            f"{pct(bar.value)}</text>"
        )
        y += row
    parts.append("</svg>")
    return Markup("".join(parts))


# --------------------------------------------------------------------------- #
# The report
# --------------------------------------------------------------------------- #


@dataclass
class Table:
    """A chart's data: `rows` already formatted for display."""

    caption: str
    headers: list[str]
    rows: list[list[str]]
    chart: Markup | None = None
    note: str = ""


@dataclass
class Trend:
    label: str
    baseline: str
    latest: str
    change: str
    interval: str
    words: str


@dataclass
class Report:
    survey: Survey
    title: str
    min_cell: int
    n_responses: int
    participation: list[Table]
    missing_sentences: list[str]
    representation: Table | None
    weighting: str
    headlines: Table | None
    breakdowns: list[tuple[str, list[Table]]]
    priorities: list[Table]
    baseline_title: str | None
    trends: list[Trend]
    trend_note: str
    acknowledgement: dict[str, Any] | None
    acknowledgement_current: bool
    flags_count: int
    problems: list[str] = field(default_factory=list)
    questions: list[tuple[str, list[Table]]] = field(default_factory=list)
    question_weighting: str = ""


def _participation(survey: Survey, min_cell: int) -> list[Table]:
    tables = []
    for column, caption, names in (
        (Response.channel, "How people responded", CHANNEL_NAMES),
        (Response.language, "The language people answered in", None),
    ):
        counts = db.session.execute(
            select(column, func.count(Response.id))
            .where(Response.survey_id == survey.id, Response.status == ResponseStatus.SUBMITTED)
            .group_by(column)
            .order_by(func.count(Response.id).desc())
        ).all()
        rows = []
        for value, count in counts:
            if names is not None:
                name = names.get(value, value)
            else:
                language = LANGUAGES.get(value)
                name = language.english_name if language else value
            rows.append([name, suppressed_count(int(count), min_cell)])
        tables.append(Table(caption, ["Group", "Responses"], rows))
    return tables


def missing_sentences(results: SurveyResults, min_cell: int) -> list[str]:
    """Who is missing, in plain words, with small counts suppressed."""
    sentences = []
    for g in results.flagged_groups:
        sample, population = pct(g["sample_share"]), pct(g["population_share"])
        if g["flag"] == "under":
            sentences.append(
                f"{g['group']} are under-represented: {sample} of responses but {population} of residents."
            )
        elif g["flag"] == "over":
            sentences.append(
                f"{g['group']} are over-represented: {sample} of responses but only {population} of residents."
            )
        elif g["n"] == 0:
            sentences.append(f"No responses from {g['group']}, who are {population} of residents.")
        elif g["n"] < min_cell:
            sentences.append(
                f"Fewer than {min_cell} responses from {g['group']} ({population} of residents): "
                "too few to report separately."
            )
        else:
            sentences.append(
                f"Only {g['n']} responses from {g['group']} ({population} of residents): "
                "too few to report separately."
            )
    return sentences


def _representation_table(results: SurveyResults, min_cell: int) -> Table | None:
    table = results.representation
    if table is None or table.empty:
        return None
    rows = []
    for r in table.to_dict("records"):
        n = int(r["n"])
        small = n < min_cell
        rows.append(
            [
                variable_name(str(r["variable"])),
                str(r["category"]),
                suppressed_count(n, min_cell),
                "" if small else pct(r["sample_share"]),
                pct(r["population_share"]),
                FLAG_WORDS.get(str(r["flag"]), str(r["flag"])),
            ]
        )
    return Table(
        "Responses compared with the population",
        [
            "Variable",
            "Group",
            "Responses",
            "Share of responses",
            "Share of residents",
            "Assessment",
        ],
        rows,
    )


def _headlines(results: SurveyResults, min_cell: int, weighted: bool) -> Table | None:
    if not results.headlines:
        return None
    bars, rows = [], []
    for h in results.headlines:
        small = h.n < min_cell
        value = None if small else (h.weighted_share if weighted else h.share)
        low = h.weighted_low if weighted else h.low
        high = h.weighted_high if weighted else h.high
        bars.append(Bar(h.label, value, low, high, note=f"fewer than {min_cell} answered"))
        rows.append(
            [
                h.label,
                suppressed_count(h.n, min_cell),
                "" if small else pct(h.share),
                "" if small else pct(h.weighted_share),
                "" if small else f"{pct(low)} to {pct(high)}",
            ]
        )
    chart = bar_chart(
        bars,
        title="Headline measures" + (" (weighted)" if weighted else ""),
        description="Share of residents for each headline measure, with 95% intervals. "
        "The same figures are in the table that follows.",
        chart_id="chart-headlines",
    )
    return Table(
        "Headline measures",
        ["Measure", "Answered", "Unweighted", "Weighted", "95% interval (weighted)"],
        rows,
        chart,
    )


def _breakdowns(results: SurveyResults, min_cell: int) -> list[tuple[str, list[Table]]]:
    sections = []
    variables = [v for v in BREAKDOWN_VARIABLES if v in results.demographics.columns]
    for h_index, h in enumerate(results.headlines):
        tables = []
        for variable in variables:
            try:
                b = breakdown(results, h.key, variable)
            except Exception:  # a measure without data for this group: nothing to break down
                continue
            rows, bars = [], []
            for r in b.rows:
                small = r["n"] < min_cell or r["suppressed"]
                rows.append(
                    [
                        str(r["group"]),
                        suppressed_count(int(r["n"]), min_cell),
                        "" if small else pct(r["weighted_share"]),
                        "" if small else f"{pct(r['weighted_low'])} to {pct(r['weighted_high'])}",
                    ]
                )
                bars.append(
                    Bar(
                        str(r["group"]),
                        None if small else r["weighted_share"],
                        r["weighted_low"],
                        r["weighted_high"],
                        note="too few to report",
                    )
                )
            chart = bar_chart(
                bars,
                title=f"{h.label}, by {variable_name(variable).lower()}",
                description="Weighted share in each group with 95% intervals; groups with too "
                "few responses are not shown. The figures are in the table beside the chart.",
                chart_id=f"chart-b{h_index}-{variable}",
            )
            tables.append(
                Table(
                    f"By {variable_name(variable).lower()}",
                    ["Group", "Responses", "Weighted share", "95% interval"],
                    rows,
                    chart,
                    note=f"Groups with fewer than {max(min_cell, b.min_base)} responses are not shown.",
                )
            )
        if tables:
            sections.append((h.label, tables))
    return sections


def _priorities(results: SurveyResults, min_cell: int) -> list[Table]:
    tables = []
    for p_index, p in enumerate(results.priorities):
        rows, bars = [], []
        base_small = p.result.n < min_cell
        for r in p.rows():
            small = base_small or int(r["ranked_by"]) < min_cell
            tied = ", ".join(r.get("tied_with") or [])
            rows.append(
                [
                    str(r.get("band_label", r["rank"])),
                    r["label"],
                    "" if small else pct(r["top_share"]),
                    "" if small else pct(r["unweighted_top_share"]),
                    "Yes" if r["rank_changed_by_weighting"] else "No",
                    f"Cannot be told apart from {tied}" if tied else "",
                ]
            )
            bars.append(
                Bar(r["label"], None if small else float(r["top_share"]), note="too few to report")
            )
        # The chart shows top-N shares, so it is ordered by them (the table
        # keeps the weighted Borda order and the bands): a chart whose bars
        # are not in the order of its own percentages reads as a mistake.
        bars.sort(key=lambda b: -1.0 if b.value is None else b.value, reverse=True)
        chart = bar_chart(
            bars,
            title=f"{p.prompt} (weighted share placing each in their top {p.result.top_n})",
            description="Priorities by the weighted share placing each in their top "
            f"{p.result.top_n}, largest first. The table gives the order by points and the "
            "bands: options sharing a band cannot be told apart with confidence.",
            chart_id=f"chart-priorities-{p_index}",
        )
        tables.append(
            Table(
                p.prompt,
                [
                    "Band",
                    "Priority",
                    f"Weighted top {p.result.top_n}",
                    f"Unweighted top {p.result.top_n}",
                    "Order changed by weighting",
                    "Note",
                ],
                rows,
                chart,
                note=(
                    f"{suppressed_count(p.result.n, min_cell)} people ranked at least one option. "
                    "A band holds priorities the data cannot put in order (95% confidence)."
                ),
            )
        )
    return tables


def _share_table(
    result: QuestionResult,
    rows: list[dict[str, Any]],
    caption: str,
    min_cell: int,
    chart_id: str,
    *,
    weighted: bool,
) -> Table:
    """Answers with their shares, small counts suppressed, and a chart."""
    body, bars = [], []
    for r in rows:
        small = int(r["n"]) < min_cell or int(r["count"]) < min_cell
        label = f"{r['item_label']}: {r['label']}" if r.get("item_label") else str(r["label"])
        value = r["weighted_share"] if weighted else r["share"]
        body.append(
            [
                label,
                suppressed_count(int(r["count"]), min_cell),
                "" if small else pct(r["share"]),
                "" if small else pct(r["weighted_share"]),
                "" if small else f"{pct(r['weighted_low'])} to {pct(r['weighted_high'])}",
            ]
        )
        bars.append(
            Bar(
                label,
                None if small else float(value),
                None if small else float(r["weighted_low"]),
                None if small else float(r["weighted_high"]),
                note=f"fewer than {min_cell}",
            )
        )
    chart = bar_chart(
        bars,
        title=caption + (" (weighted)" if weighted else ""),
        description="Share of those who answered, with 95% intervals. The figures are in "
        "the table that follows.",
        chart_id=chart_id,
    )
    return Table(
        caption,
        ["Answer", "Responses", "Unweighted", "Weighted", "95% interval (weighted)"],
        body,
        chart,
        note=f"Base: {suppressed_count(int(rows[0]['n']), min_cell)} who answered." if rows else "",
    )


def every_question(
    results: Sequence[QuestionResult], min_cell: int, *, weighted: bool
) -> list[tuple[str, list[Table]]]:
    """A section per question, whatever its type, with disclosure control."""
    sections: list[tuple[str, list[Table]]] = []
    for index, result in enumerate(results):
        tables: list[Table] = []
        chart = f"chart-q{index}"
        if result.type == "number" and result.number is not None and result.number.n:
            s = result.number
            small = s.n < min_cell
            tables.append(
                Table(
                    "Mean and median",
                    ["Measure", "Answered", "Unweighted", "Weighted", "95% interval (weighted)"],
                    [
                        [
                            name,
                            suppressed_count(s.n, min_cell),
                            "" if small else f"{plain:,.1f}",
                            "" if small else f"{value:,.1f}",
                            "" if small else f"{low:,.1f} to {high:,.1f}",
                        ]
                        for name, plain, value, low, high in (
                            (
                                "Mean",
                                s.mean,
                                s.weighted_mean,
                                s.weighted_mean_low,
                                s.weighted_mean_high,
                            ),
                            (
                                "Median",
                                s.median,
                                s.weighted_median,
                                s.weighted_median_low,
                                s.weighted_median_high,
                            ),
                        )
                    ],
                )
            )
        if result.positive:
            tables.append(
                _share_table(
                    result,
                    result.positive,
                    result.positive_label,
                    min_cell,
                    chart + "-p",
                    weighted=weighted,
                )
            )
        if result.rows:
            caption = {
                "multiple": "Share choosing each (more than one could be chosen)",
                "ranking": f"Share placing each in their top {result.top_n}",
                "number": "Answers in bands",
                "text": "Written answers mentioning each theme",
            }.get(result.type, "Every answer")
            rows = result.rows
            if result.type == "ranking":
                rows = sorted(rows, key=lambda r: -float(r["weighted_share"]))
            tables.append(_share_table(result, rows, caption, min_cell, chart, weighted=weighted))
        if result.type == "text":
            tables.insert(
                0,
                Table(
                    "Written answers",
                    ["", "Count"],
                    [["Answers", suppressed_count(result.text_answers, min_cell)]],
                ),
            )
        if not tables:
            tables.append(Table("No answers yet", ["", "Count"], [["Answers", "0"]]))
        sections.append((result.prompt, tables))
    return sections


def trends(
    survey: Survey, results: SurveyResults, min_cell: int
) -> tuple[str | None, list[Trend], str]:
    if survey.baseline_id is None:
        return (
            None,
            [],
            "This is the first wave of the survey: there is no baseline to compare with yet.",
        )
    baseline = db.session.get(Survey, survey.baseline_id)
    if baseline is None or baseline.partnership_id != survey.partnership_id:
        return None, [], "The baseline wave is no longer available."
    base_results = compute_results(baseline)
    title = SurveyTexts(baseline).title(baseline.default_language)
    found = []
    for h in results.headlines:
        measure = results.measures.get(h.key)
        base_measure = base_results.measures.get(h.key)
        if measure is None or base_measure is None or base_results.n_responses == 0:
            continue
        latest = pd.DataFrame({"y": measure.indicator(results.frame)}, index=results.frame.index)
        before = pd.DataFrame(
            {"y": base_measure.indicator(base_results.frame)}, index=base_results.frame.index
        )
        change = compare_waves(
            before,
            latest,
            "y",
            positive={"yes"},
            weights_baseline=base_results.weights,
            weights_latest=results.weights,
        )
        if change.n_baseline < min_cell or change.n_latest < min_cell:
            found.append(
                Trend(
                    h.label, "", "", "", "", f"Too few responses (fewer than {min_cell}) to compare"
                )
            )
            continue
        points = 100 * change.change
        if change.significant:
            words = f"{'Up' if points > 0 else 'Down'} {abs(points):.0f} points: a real change"
        else:
            words = "No change the data can show"
        found.append(
            Trend(
                h.label,
                pct(change.baseline_share),
                pct(change.latest_share),
                f"{points:+.0f} points",
                f"{100 * change.low:+.0f} to {100 * change.high:+.0f} points",
                words,
            )
        )
    note = "" if found else "The baseline wave has no headline measures in common with this one."
    return title, found, note


def build_report(survey: Survey) -> Report:
    min_cell = disclosure_min_cell()
    results = compute_results(survey)
    status = decision_status(survey, results)
    acknowledgement = None
    if status.acknowledgement is not None:
        ack = status.acknowledgement
        user = db.session.get(User, ack.user_id) if ack.user_id else None
        acknowledgement = {
            "by": (user.name or user.email) if user else "a former user",
            "at": ack.created_at,
            "responses": ack.n_responses,
        }
    baseline_title, trend_rows, trend_note = trends(survey, results, min_cell)
    weighted = results.weighted
    applied = applied_weighting(results)
    every = question_results(
        survey,
        results.frame,
        applied.weights,
        applied.replicates,
        themes=load_themes(survey, results.frame.index),
        base=min_cell,
    )
    return Report(
        survey=survey,
        title=SurveyTexts(survey).title(survey.default_language),
        min_cell=min_cell,
        n_responses=results.n_responses,
        participation=_participation(survey, min_cell),
        missing_sentences=missing_sentences(results, min_cell),
        representation=_representation_table(results, min_cell),
        weighting=weighting_from_results(survey).describe(),
        headlines=_headlines(results, min_cell, weighted),
        breakdowns=_breakdowns(results, min_cell),
        priorities=_priorities(results, min_cell),
        baseline_title=baseline_title,
        trends=trend_rows,
        trend_note=trend_note,
        acknowledgement=acknowledgement,
        acknowledgement_current=status.acknowledgement_current,
        flags_count=len(results.flagged_groups),
        problems=[problem_text(p) for p in results.problems],
        questions=every_question(every, min_cell, weighted=applied.weighted),
        question_weighting=applied.description,
    )


# --------------------------------------------------------------------------- #
# Aggregate sheets of the Excel export
# --------------------------------------------------------------------------- #


def public_figures(survey: Survey) -> dict[str, Any]:
    """The few aggregate figures the public feedback page shows."""
    min_cell = disclosure_min_cell()
    results = compute_results(survey)
    tables = []
    for p in results.priorities:
        rows = []
        for r in p.rows():
            small = p.result.n < min_cell or int(r["ranked_by"]) < min_cell
            rows.append(
                {
                    "code": r["option"],
                    "band": str(r.get("band_label", r["rank"])),
                    "top_share": None if small else float(r["top_share"]),
                }
            )
        tables.append(
            {"question_key": p.question_key, "top_n": p.result.top_n, "rows": rows, "n": p.result.n}
        )
    n = results.n_responses
    return {
        "n_responses": n if n >= min_cell else None,
        "min_cell": min_cell,
        "priorities": tables,
        "weighted": results.weighted,
    }


__all__ = [
    "Bar",
    "Report",
    "bar_chart",
    "build_report",
    "missing_sentences",
    "public_figures",
]
