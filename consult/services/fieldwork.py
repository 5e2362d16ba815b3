"""The fieldwork monitor: how many have answered, when, how and in which
language, and whose voices are missing compared with the population
benchmarks — so outreach can go where it is needed while the survey is open.

Counts only: nothing here reads a resident's free text or lists individual
answers, and nothing here ever closes a survey (a public consultation must
not turn anyone away because a group is "full")."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import func, select

from ..analysis.representation import describe_flags, representation
from ..extensions import db
from ..models import Channel, Response, ResponseStatus, Survey
from ..wording import category_label
from .benchmarks import benchmark_records, current_benchmarks
from .content import SurveyTexts
from .counts import response_counts
from .frames import demographic_frame
from .letters import WaveRate, wave_rates
from .outreach import OutreachView, add_reach, channel_counts
from .path import ordered_questions
from .sampling import SampleSummary, sample_summary


@dataclass
class RepresentationRow:
    variable: str
    category: str
    label: str
    n: int
    sample_share: float | None
    population_share: float | None
    ratio: float | None
    flag: str


@dataclass
class Monitor:
    submitted: int = 0
    in_progress: int = 0
    second_keyings: int = 0
    by_day: list[tuple[str, int]] = field(default_factory=list)
    by_channel: list[tuple[str, int]] = field(default_factory=list)
    by_language: list[tuple[str, int]] = field(default_factory=list)
    benchmark_version: int | None = None
    rows: list[RepresentationRow] = field(default_factory=list)
    missing_voices: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # Per outreach channel, what it brought in and which missing groups it reached.
    outreach: OutreachView | None = None
    # The sample stream's response rate per stratum and per wave of letters
    # (None and [] for a survey without a sample).
    sample_rates: SampleSummary | None = None
    wave_rates: list[WaveRate] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "submitted": self.submitted,
            "in_progress": self.in_progress,
            "second_keyings": self.second_keyings,
            "by_day": self.by_day,
            "by_channel": self.by_channel,
            "by_language": self.by_language,
            "benchmark_version": self.benchmark_version,
            "missing_voices": self.missing_voices,
            "outreach": self.outreach.as_json() if self.outreach else None,
            "sample": [
                {
                    "stratum": r.stratum,
                    "drawn": r.drawn,
                    "started": r.started,
                    "submitted": r.submitted,
                    "cancelled": r.cancelled,
                    "rate": r.rate,
                }
                for r in [*self.sample_rates.strata, self.sample_rates.total]
            ]
            if self.sample_rates
            else None,
            "waves": [
                {"wave": w.number, "kind": w.kind, "letters": w.letters, "responses": w.responses}
                for w in self.wave_rates
            ],
            "updated_at": self.updated_at.isoformat(timespec="seconds"),
        }


def _grouped(survey: Survey, column: Any) -> list[tuple[str, int]]:
    rows = db.session.execute(
        select(column, func.count(Response.id))
        .where(Response.survey_id == survey.id, Response.status == ResponseStatus.SUBMITTED)
        .group_by(column)
        .order_by(column)
    ).all()
    return [(str(value), int(count)) for value, count in rows if value is not None]


def category_labels(survey: Survey, language: str | None = None) -> dict[object, str]:
    """“People who answered 16 to 24 (age band)”-style subjects for the
    plain-words sentences, from the survey's own answer wording."""
    texts = SurveyTexts(survey)
    language = language or survey.default_language
    labels: dict[tuple[str, str], list[str]] = {}
    for question in ordered_questions(survey.questions):
        if not question.demographic:
            continue
        for option in question.choices:
            if option.benchmark_category and not option.is_missing:
                labels.setdefault((question.demographic, option.benchmark_category), []).append(
                    texts.option(question, option.code, language)
                )
    result: dict[object, str] = {
        (variable, category): f"“{' / '.join(words)}” ({variable.replace('_', ' ')})"
        for (variable, category), words in labels.items()
    }
    return result


def monitor(survey: Survey) -> Monitor:
    result = Monitor()
    counts = response_counts(survey.id)
    result.submitted = counts.submitted
    result.in_progress = counts.in_progress
    result.second_keyings = counts.second_keyings
    result.by_day = _grouped(survey, func.date(Response.submitted_at))
    result.by_channel = _grouped(survey, Response.channel)
    result.by_language = _grouped(survey, Response.language)
    result.outreach = channel_counts(survey)
    result.sample_rates = sample_summary(survey)
    result.wave_rates = wave_rates(survey) if result.sample_rates else []
    if not any(q.demographic for q in survey.questions):
        result.notes.append(
            "No question has a demographic role yet, so responses cannot be compared with the "
            "population. Mark the age, sex, ethnic group and area questions in the builder."
        )
        return result
    benchmarks = current_benchmarks(survey.partnership_id)
    if benchmarks is None:
        result.notes.append(
            "There are no population benchmarks yet: upload them to see whose voices are missing."
        )
        return result
    result.benchmark_version = benchmarks.version
    frame = demographic_frame(survey)
    table = representation(frame, pd.DataFrame(benchmark_records(benchmarks)))
    labels = category_labels(survey)
    for record in table.to_dict("records"):
        key = (str(record["variable"]), str(record["category"]))
        result.rows.append(
            RepresentationRow(
                variable=key[0],
                category=key[1],
                label=labels.get(key, key[1]).split(" (")[0].strip("“”")
                if key in labels
                else category_label(key[1]),
                n=int(record["n"]),
                sample_share=_number(record["sample_share"]),
                population_share=_number(record["population_share"]),
                ratio=_number(record["ratio"]),
                flag=str(record["flag"]),
            )
        )
    result.missing_voices = describe_flags(table, labels, include=("under", "over", "too_few"))
    add_reach(
        result.outreach,
        survey,
        frame,
        table,
        {(r.variable, r.category): _group_name(r) for r in result.rows},
    )
    result.notes.extend(table.attrs.get("warnings", []))
    return result


def _group_name(row: RepresentationRow) -> str:
    # "Age band: 16 to 24"; a group that several answers count towards (the
    # detailed ethnic groups of a broad one) by the group's own name.
    label = row.category if " / " in row.label else row.label
    return f"{row.variable.replace('_', ' ').capitalize()}: {label}"


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


CHANNEL_LABELS = {
    Channel.ONLINE: "Online",
    Channel.PAPER: "Paper",
    Channel.ASSISTED: "Face to face",
    Channel.KIOSK: "Kiosk",
    Channel.IMPORTED: "Imported from a file",
}
