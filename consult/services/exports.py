"""Exports of a survey's responses: CSV, Excel, SPSS and JSON.

Every format carries the same columns (named by question key, holding codes,
see `consult.services.frames`), a `weight` column, and a statement of the
weighting scheme, so that rerunning the weighting reproduces the weights.
Labels come in any of the survey's languages; codes never change with the
language.

Formats:

* CSV: two files. `<slug>-responses.csv` (UTF-8 with a byte-order mark, so
  Excel opens non-Latin text correctly), one row per response, streamed
  chunk by chunk; and `<slug>-labels.csv`, the codebook: one row per
  variable and value, with the weighting scheme in the rows of `weight`.
* Excel: sheets About, Responses, Labels, Representation, Weighted results
  and Priorities. Viewers get the workbook without the Responses sheet.
* SPSS .sav: answer codes become numbers (1, 2, ... in the order the options
  are asked; "Prefer not to say" -9, "Don't know" -8, other non-answers -7
  upwards, declared user-missing), with variable and value labels, measure
  levels and integer formats. The Labels sheet/file lists code <-> number.
* JSON: `{"survey", "weighting", "variables", "responses": [...]}` streamed.

Raw rows (every format but the aggregate workbook) are for officers and
administrators only. Free text is left out once the survey's retention date
has passed, whoever asks.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import tempfile
import textwrap
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from xml.sax.saxutils import escape as xml_escape

import numpy as np
import pandas as pd
from flask import current_app, has_app_context

from ..i18n import LANGUAGES
from ..models import (
    ROLE_RANK,
    Question,
    QuestionType,
    Role,
    Survey,
    User,
)
from . import ServiceError
from .audit import record
from .content import SurveyTexts
from .counts import response_counts
from .frames import (
    CHUNK_SIZE,
    Slot,
    ordered_questions,
    question_columns,
    read_answers,
    timestamp_text,
)

FORMATS = ("csv", "xlsx", "sav", "json")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "labels": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "sav": "application/x-spss-sav",
    "json": "application/json",
}
FORMAT_NAMES = {
    "csv": "CSV (comma-separated values)",
    "xlsx": "Excel workbook (.xlsx)",
    "sav": "SPSS data file (.sav)",
    "json": "JSON",
}
# Roles that may take raw rows, and the special-category columns in them.
RAW_ROLES = frozenset({Role.OFFICER, Role.ADMIN})
SPECIAL_CATEGORY_ROLES = frozenset({Role.OFFICER, Role.ADMIN})
# A spreadsheet treats a cell starting with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Fixed SPSS numbers for the non-answers, the UK Data Service convention.
SPSS_MISSING_NUMBERS = {"prefer_not_to_say": -9, "dont_know": -8}
SPSS_MISSING_RANGE = {"lo": -9, "hi": -1}
META = ("resp_reference", "resp_language", "resp_channel", "resp_submitted_at")


def escape_cell(value: Any) -> Any:
    """Neutralise a text a spreadsheet would run as a formula (`=HYPERLINK(...)`)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def disclosure_min_cell() -> int:
    """Cells below this many respondents are suppressed in anything that
    leaves the system. Never below 5, whatever the configuration says: below
    that, a published table can identify a resident."""
    configured = 10
    if has_app_context():
        configured = int(current_app.config.get("DISCLOSURE_MIN_CELL", 10) or 10)
    return max(5, configured)


# --------------------------------------------------------------------------- #
# The codebook: one Variable per column
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Value:
    code: str
    number: int
    label: str
    missing: bool = False


@dataclass(frozen=True)
class Variable:
    name: str
    label: str
    kind: str  # code | flag | rank | number | text | meta | weight
    measure: str  # nominal | ordinal | scale
    question_key: str = ""
    question_type: str = ""
    sub: str = ""  # the option or grid item the column is about
    question_id: int | None = None
    special: bool = False
    values: tuple[Value, ...] = ()

    @property
    def missing_numbers(self) -> list[int]:
        return [v.number for v in self.values if v.missing]


def _choice_values(question: Question, texts: SurveyTexts, language: str) -> tuple[Value, ...]:
    values: list[Value] = []
    number = 0
    other_missing = -7
    for option in question.choices:
        label = texts.option(question, option.code, language)
        if option.is_missing:
            n = SPSS_MISSING_NUMBERS.get(option.code)
            if n is None:
                n, other_missing = other_missing, other_missing + 1
            values.append(Value(option.code, n, label, True))
        else:
            number += 1
            values.append(Value(option.code, number, label))
    return tuple(values)


def codebook(
    survey: Survey, language: str, *, questions: Sequence[Question] | None = None
) -> list[Variable]:
    """Every column of the export, in order, labelled in `language`."""
    texts = SurveyTexts(survey)
    result = [
        Variable("resp_reference", "Response reference", "meta", "nominal"),
        Variable("resp_language", "Language the response was given in", "meta", "nominal"),
        Variable("resp_channel", "How the response was collected", "meta", "nominal"),
        Variable("resp_submitted_at", "When the response was submitted (UTC)", "meta", "scale"),
    ]
    for question in questions if questions is not None else ordered_questions(survey):
        prompt = texts.prompt(question, language)
        common: dict[str, Any] = {
            "question_key": question.key,
            "question_type": question.type,
            "question_id": question.id,
            "special": bool(question.special_category),
        }
        qtype = question.type
        for column in question_columns(question):
            if qtype in (QuestionType.SINGLE, QuestionType.AREA, QuestionType.SCALE):
                measure = "ordinal" if qtype == QuestionType.SCALE else "nominal"
                values = _choice_values(question, texts, language)
                result.append(
                    Variable(column.name, prompt, "code", measure, values=values, **common)
                )
            elif qtype == QuestionType.GRID:
                item = texts.item(question, column.item_or_option or "", language)
                result.append(
                    Variable(
                        column.name,
                        f"{prompt} – {item}",
                        "code",
                        "ordinal",
                        sub=column.item_or_option or "",
                        values=_choice_values(question, texts, language),
                        **common,
                    )
                )
            elif qtype == QuestionType.MULTIPLE:
                option = texts.option(question, column.item_or_option or "", language)
                result.append(
                    Variable(
                        column.name,
                        f"{prompt} – {option}",
                        "flag",
                        "nominal",
                        sub=column.item_or_option or "",
                        values=(Value("0", 0, "Not chosen"), Value("1", 1, "Chosen")),
                        **common,
                    )
                )
            elif qtype == QuestionType.RANKING:
                option = texts.option(question, column.item_or_option or "", language)
                result.append(
                    Variable(
                        column.name,
                        f"{prompt} – {option} (rank, 1 = first)",
                        "rank",
                        "ordinal",
                        sub=column.item_or_option or "",
                        **common,
                    )
                )
            elif qtype == QuestionType.NUMBER:
                result.append(Variable(column.name, prompt, "number", "scale", **common))
            else:
                result.append(Variable(column.name, prompt, "text", "nominal", **common))
    result.append(Variable("weight", "Survey weight (mean 1)", "weight", "scale"))
    return result


# --------------------------------------------------------------------------- #
# Who may take what
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Policy:
    """What a raw export may contain, and the sentences saying what was left out."""

    include_text: bool
    include_special: bool
    notes: tuple[str, ...] = ()


def raw_policy(survey: Survey, role: str | Role | None, today: date | None = None) -> Policy:
    """Raises ServiceError when the role may not take raw rows at all."""
    today = today or date.today()
    if role is not None and Role(role) not in RAW_ROLES:
        raise ServiceError(
            "Viewers can download aggregate results only (the Excel workbook without "
            "individual responses, and the strategy report)."
        )
    notes: list[str] = []
    include_text = not (survey.retention_until is not None and today > survey.retention_until)
    if not include_text:
        notes.append(
            f"Free-text answers are left out: the survey's retention date "
            f"({survey.retention_until:%d %B %Y}) has passed."
        )
    include_special = role is None or Role(role) in SPECIAL_CATEGORY_ROLES
    if not include_special:
        notes.append("Special-category answers are left out for your role.")
    return Policy(include_text, include_special, tuple(notes))


def may_export_raw(role: str | Role | None) -> bool:
    return role is not None and ROLE_RANK[Role(role)] >= ROLE_RANK[Role.OFFICER]


# --------------------------------------------------------------------------- #
# Weighting
# --------------------------------------------------------------------------- #


@dataclass
class Weighting:
    """Weights aligned to response ids, and the scheme that made them."""

    weights: pd.Series | None  # None: unweighted (every weight 1)
    scheme: dict[str, Any] = field(default_factory=dict)
    diagnostics: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def weighted(self) -> bool:
        return self.weights is not None

    def describe(self) -> str:
        if not self.weighted:
            return "Unweighted: every response has weight 1."
        s = self.scheme
        bounds = s.get("bounds")
        trim = (
            f"weights trimmed to [{bounds[0]:g}, {bounds[1]:g}] times the mean"
            if bounds
            else "no trimming"
        )
        return (
            f"{str(s.get('method', 'rake')).capitalize()} to population benchmarks version "
            f"{s.get('benchmark_version')} on {', '.join(s.get('variables', [])) or 'no variables'}; "
            f"{trim}; tolerance {s.get('tol', 1e-6):g}; weights have mean 1."
        )


def unweighted() -> Weighting:
    return Weighting(None, {"method": "none", "variables": [], "bounds": None}, {}, [])


def weighting_from_results(survey: Survey) -> Weighting:
    """The weights the results pages show (the current scheme, or the default
    one), so an export and the dashboard never disagree."""
    from .results import compute_results

    res = compute_results(survey)
    info = res.scheme or {}
    lower, upper = info.get("lower_bound"), info.get("upper_bound")
    scheme = {
        "method": info.get("method", "rake"),
        "variables": list(info.get("variables") or []),
        "bounds": [lower, upper] if lower is not None and upper is not None else None,
        "benchmark_version": info.get("benchmark_version", res.benchmark_version),
        "tol": info.get("tolerance", res.rake.tol),
        "scheme_id": info.get("id"),
        "default_scheme": bool(info.get("default", True)),
    }
    diagnostics = rake_diagnostics(res.rake)
    problems = [p.message for p in res.problems]
    if not res.weighted:
        return Weighting(
            None,
            {**unweighted().scheme, "benchmark_version": scheme["benchmark_version"]},
            {},
            problems,
        )
    return Weighting(res.weights.astype("float64"), scheme, diagnostics, problems)


def rake_diagnostics(result: Any) -> dict[str, Any]:
    return {
        "converged": bool(result.converged),
        "iterations": int(result.iterations),
        "max_margin_error": float(result.max_margin_error),
        "effective_sample_size": float(result.effective_sample_size),
        "design_effect": float(result.design_effect),
        "min_weight": float(result.min_weight),
        "max_weight": float(result.max_weight),
        "trimmed": bool(result.trimmed),
    }


def resolve_weighting(survey: Survey, weighted: bool) -> Weighting:
    return weighting_from_results(survey) if weighted else unweighted()


# --------------------------------------------------------------------------- #
# Rows, chunk by chunk
# --------------------------------------------------------------------------- #


def select_variables(variables: list[Variable], policy: Policy) -> list[Variable]:
    return [
        v
        for v in variables
        if (policy.include_text or v.kind != "text") and (policy.include_special or not v.special)
    ]


def iter_chunks(
    survey: Survey,
    variables: Sequence[Variable],
    weighting: Weighting,
    *,
    chunk_size: int = CHUNK_SIZE,
    as_text: bool = False,
) -> Iterator[np.ndarray]:
    """Object arrays of rows, `chunk_size` responses at a time, in response
    order, read by `frames.read_answers` (one row per response, memory flat
    however many responses there are) with the meta and weight columns
    filled in. `as_text`: every cell as the text a CSV shows (see
    `frames.AnswerChunk`)."""
    slots = [
        Slot(v.question_id, v.question_type, v.sub) if v.question_id is not None else None
        for v in variables
    ]
    index = {v.name: j for j, v in enumerate(variables)}
    meta_cols = [index.get(m) for m in META]
    weight_col = index.get("weight")
    for chunk in read_answers(survey, slots, chunk_size=chunk_size, as_text=as_text):
        out = chunk.values
        submitted = chunk.submitted
        if not as_text:
            submitted = [timestamp_text(t) for t in chunk.submitted]
        facts = (chunk.references, chunk.languages, chunk.channels, submitted)
        for j, values in zip(meta_cols, facts, strict=True):
            if j is not None:
                out[:, j] = values
        if weight_col is not None:
            if weighting.weights is None:
                weights = [1.0] * len(out)
            else:
                w = weighting.weights.reindex(chunk.ids).to_numpy(dtype=np.float64)
                weights = np.where(np.isfinite(w), w, 1.0).tolist()
            out[:, weight_col] = [str(w) for w in weights] if as_text else weights
        yield out


def _escape_text_columns(chunk: np.ndarray, variables: Sequence[Variable]) -> None:
    """`escape_cell` on a chunk of text rows (`as_text`). Codes are validated
    identifiers and cannot start with a formula character; only the free
    text and the meta columns need looking at."""
    starts = frozenset(FORMULA_STARTS)
    for j, v in enumerate(variables):
        if v.kind in ("text", "meta"):
            chunk[:, j] = [("'" + x) if x[:1] in starts else x for x in chunk[:, j]]


# --------------------------------------------------------------------------- #
# The export request and its statement of what it contains
# --------------------------------------------------------------------------- #


@dataclass
class Export:
    survey: Survey
    format: str
    language: str
    weighting: Weighting
    variables: list[Variable]
    policy: Policy
    raw: bool = True
    by: User | None = None
    exported_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def filename(self) -> str:
        suffix = {
            "csv": "responses.csv",
            "xlsx": "results.xlsx",
            "sav": "responses.sav",
            "json": "responses.json",
        }
        return f"{self.survey.slug}-{suffix[self.format]}"

    def about(self) -> list[tuple[str, str]]:
        survey = self.survey
        texts = SurveyTexts(survey)
        s = self.weighting.scheme
        d = self.weighting.diagnostics
        rows: list[tuple[str, str]] = [
            ("Survey", texts.title(self.language)),
            ("Survey address", f"/s/{survey.slug}"),
            ("Partnership", survey.partnership.name),
            ("Status", survey.status),
            ("Wave", str(survey.wave)),
            ("Opened", _day(survey.opens_at)),
            ("Closes or closed", _day(survey.closes_at)),
            ("Exported at (UTC)", self.exported_at.strftime("%Y-%m-%d %H:%M:%S")),
            ("Exported by", self.by.email if self.by else "command line"),
            # The same count, with its parts, as every page shows (services.counts).
            ("Responses", response_counts(survey.id).summary() + "; only submitted ones are here"),
            ("Label language", f"{LANGUAGES[self.language].english_name} ({self.language})"),
            (
                "Codes",
                "Answers are stored as codes that never change with the language; labels are in the Labels sheet/file.",
            ),
            ("Weighting", self.weighting.describe()),
            ("Weighting method", str(s.get("method", "none"))),
            ("Weighting variables", ", ".join(s.get("variables", [])) or "none"),
            ("Trimming bounds", _bounds(s.get("bounds"))),
            (
                "Benchmark version",
                "" if s.get("benchmark_version") is None else str(s.get("benchmark_version")),
            ),
            ("Convergence tolerance", f"{s.get('tol', '')}"),
        ]
        for key, label in (
            ("converged", "Converged"),
            ("iterations", "Iterations"),
            ("effective_sample_size", "Effective sample size"),
            ("design_effect", "Design effect"),
            ("min_weight", "Smallest weight"),
            ("max_weight", "Largest weight"),
            ("max_margin_error", "Largest gap to a target share"),
        ):
            if key in d:
                value = d[key]
                rows.append((label, f"{value:.4g}" if isinstance(value, float) else str(value)))
        for problem in self.weighting.problems:
            rows.append(("Weighting problem", problem))
        rows.append(
            (
                "Disclosure control",
                f"In the aggregate sheets, figures based on fewer than {disclosure_min_cell()} "
                "respondents are suppressed (shown blank).",
            )
        )
        if self.format == "sav":
            rows.append(
                (
                    "SPSS codes",
                    "Answers are numbered 1, 2, ... in the order the options are asked; "
                    "Prefer not to say is -9, Don't know -8, other non-answers -7 upwards, all "
                    "declared user-missing.",
                )
            )
        for note in self.policy.notes:
            rows.append(("Left out", note))
        return rows

    def audit_details(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "language": self.language,
            "weighted": self.weighting.weighted,
            "scheme": {
                k: self.weighting.scheme.get(k)
                for k in ("method", "variables", "bounds", "benchmark_version")
            },
            "raw": self.raw,
            "text_included": self.policy.include_text,
            "special_included": self.policy.include_special,
            "columns": len(self.variables),
        }


def _day(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else ""


def _bounds(bounds: Any) -> str:
    if not bounds:
        return "none"
    return f"[{float(bounds[0]):g}, {float(bounds[1]):g}] times the mean"


def prepare_export(
    survey: Survey,
    *,
    format: str,
    role: str | Role | None,
    language: str | None = None,
    weighted: bool = True,
    by: User | None = None,
    weighting: Weighting | None = None,
    today: date | None = None,
) -> Export:
    """Check the request and work out what the export will contain. `role`
    None is the command line (an operator with access to the database)."""
    if format not in FORMATS:
        raise ServiceError(f"Choose a format: {', '.join(FORMATS)}", field="format")
    language = language or survey.default_language
    if language not in survey.languages:
        raise ServiceError(
            f"The survey is not offered in {language!r}; choose one of {', '.join(survey.languages)}",
            field="lang",
        )
    raw = True
    if role is not None and not may_export_raw(role):
        if format != "xlsx":
            raise ServiceError(
                "Viewers can download aggregate results only (the Excel workbook without "
                "individual responses, and the strategy report)."
            )
        raw = False
        policy = Policy(False, False, ("Individual responses are left out for your role.",))
    else:
        policy = raw_policy(survey, role, today)
    variables = select_variables(codebook(survey, language), policy)
    weighting = weighting if weighting is not None else resolve_weighting(survey, weighted)
    return Export(survey, format, language, weighting, variables, policy, raw=raw, by=by)


def record_export(export: Export, *, user_id: int | None, part: str = "") -> None:
    details = export.audit_details()
    if part:
        details["part"] = part
    record(
        "survey_exported",
        partnership_id=export.survey.partnership_id,
        user_id=user_id,
        target=f"survey:{export.survey.id}",
        details=details,
    )


# --------------------------------------------------------------------------- #
# CSV
# --------------------------------------------------------------------------- #


def stream_csv(export: Export, *, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """The responses CSV as a stream of byte chunks: BOM, header, rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([v.name for v in export.variables])
    yield "\ufeff".encode() + buffer.getvalue().encode("utf-8")
    for chunk in iter_chunks(
        export.survey, export.variables, export.weighting, chunk_size=chunk_size, as_text=True
    ):
        _escape_text_columns(chunk, export.variables)
        yield _csv_rows(chunk.tolist(), writer, buffer).encode("utf-8")


def _csv_rows(rows: list[list[str]], writer: Any, buffer: io.StringIO) -> str:
    """Rows of text exactly as `csv.writer` writes them, in a fraction of the
    time: the cells joined with commas, and a row through `csv.writer` only
    when a cell holds a comma, a double quote or a line break, the only
    characters that make it quote a cell (or when the row has one cell,
    which it quotes when empty)."""
    if not rows:
        return ""
    lines = [",".join(row) for row in rows]
    text = "\r\n".join(lines)
    commas = len(rows[0]) - 1
    n = len(lines)
    extra_commas = text.count(",") != n * commas
    if (
        commas
        and not extra_commas
        and text.count("\n") == text.count("\r") == n - 1
        and '"' not in text
    ):
        return text + "\r\n"
    for i, line in enumerate(lines):
        if (
            '"' in line
            or "\r" in line
            or "\n" in line
            or (extra_commas and line.count(",") != commas)
            or not commas
        ):
            buffer.seek(0)
            buffer.truncate()
            writer.writerow(rows[i])
            lines[i] = buffer.getvalue()[:-2]
    return "\r\n".join(lines) + "\r\n"


LABEL_COLUMNS = [
    "variable",
    "label",
    "type",
    "measure",
    "code",
    "value_label",
    "spss_value",
    "missing",
]


def label_rows(export: Export) -> list[list[Any]]:
    """The codebook: a row per variable, then a row per value."""
    rows: list[list[Any]] = []
    for v in export.variables:
        label = v.label if v.kind != "weight" else f"{v.label}. {export.weighting.describe()}"
        rows.append([v.name, label, v.question_type or v.kind, v.measure, "", "", "", ""])
        for value in v.values:
            rows.append(
                [
                    v.name,
                    "",
                    "",
                    "",
                    value.code,
                    value.label,
                    value.number,
                    "yes" if value.missing else "",
                ]
            )
    for name, fact in export.about():
        rows.append(["(about)", f"{name}: {fact}", "", "", "", "", "", ""])
    return [[escape_cell(c) for c in row] for row in rows]


def labels_csv(export: Export) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(LABEL_COLUMNS)
    writer.writerows(label_rows(export))
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


# --------------------------------------------------------------------------- #
# JSON
# --------------------------------------------------------------------------- #


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def stream_json(export: Export, *, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    head = {
        "survey": {
            "slug": export.survey.slug,
            "title": SurveyTexts(export.survey).title(export.language),
            "wave": export.survey.wave,
            "exported_at": export.exported_at.isoformat(),
            "label_language": export.language,
        },
        "weighting": {
            **{
                k: export.weighting.scheme.get(k)
                for k in ("method", "variables", "bounds", "benchmark_version", "tol")
            },
            "description": export.weighting.describe(),
            "diagnostics": export.weighting.diagnostics,
            "problems": export.weighting.problems,
        },
        "left_out": list(export.policy.notes),
        "variables": [
            {
                "name": v.name,
                "label": v.label,
                "type": v.question_type or v.kind,
                "measure": v.measure,
                "values": [
                    {"code": x.code, "label": x.label, "spss_value": x.number, "missing": x.missing}
                    for x in v.values
                ],
            }
            for v in export.variables
        ],
    }
    text = json.dumps(head, ensure_ascii=False)
    yield (text[:-1] + ', "responses": [').encode("utf-8")
    names = [v.name for v in export.variables]
    first = True
    for chunk in iter_chunks(
        export.survey, export.variables, export.weighting, chunk_size=chunk_size
    ):
        parts = []
        for row in chunk.tolist():
            parts.append(
                json.dumps(dict(zip(names, map(_json_value, row), strict=True)), ensure_ascii=False)
            )
        if parts:
            yield (("" if first else ",") + ",".join(parts)).encode("utf-8")
            first = False
    yield b"]}"


# --------------------------------------------------------------------------- #
# SPSS
# --------------------------------------------------------------------------- #


def write_sav(export: Export, path: str, *, chunk_size: int = CHUNK_SIZE) -> None:
    """pyreadstat writes from a DataFrame, so the numeric frame is built
    chunk by chunk (numbers only: a few bytes per cell) and written once."""
    import pyreadstat

    variables = export.variables
    code_maps = {
        j: {x.code: float(x.number) for x in v.values}
        for j, v in enumerate(variables)
        if v.kind == "code"
    }
    columns: list[list[np.ndarray]] = [[] for _ in variables]
    for chunk in iter_chunks(export.survey, variables, export.weighting, chunk_size=chunk_size):
        for j, v in enumerate(variables):
            col = chunk[:, j]
            if j in code_maps:
                # Numbered once per distinct code; -1 (no answer) takes the
                # last number, NaN.
                which, distinct = pd.factorize(col)
                mapping = code_maps[j]
                numbers = np.array([*(mapping.get(x, np.nan) for x in distinct), np.nan])
                columns[j].append(numbers[which])
            elif v.kind in ("flag", "rank", "number", "weight"):
                # Ints and floats, None for no answer: NaN.
                columns[j].append(np.array(col, dtype=np.float64))
            else:
                columns[j].append(
                    np.array(["" if x is None else str(x) for x in col], dtype=object)
                )
    data = {}
    for j, v in enumerate(variables):
        parts = columns[j]
        if parts:
            data[v.name] = np.concatenate(parts)
        else:
            data[v.name] = np.array([], dtype=object if v.kind in ("text", "meta") else np.float64)
    frame = pd.DataFrame(data)
    for v in variables:
        if v.kind in ("text", "meta"):
            frame[v.name] = frame[v.name].astype(object)
    value_labels: dict[str, dict[float, str]] = {}
    missing_ranges: dict[str, list[Any]] = {}
    formats: dict[str, str] = {}
    measures: dict[str, str] = {}
    for v in variables:
        measures[v.name] = v.measure
        if v.kind == "code":
            value_labels[v.name] = {float(x.number): x.label for x in v.values}
            if v.missing_numbers:
                missing_ranges[v.name] = [SPSS_MISSING_RANGE]
            formats[v.name] = "F3.0" if not v.missing_numbers else "F4.0"
        elif v.kind == "flag":
            value_labels[v.name] = {0.0: "Not chosen", 1.0: "Chosen"}
            formats[v.name] = "F1.0"
        elif v.kind == "rank":
            formats[v.name] = "F3.0"
        elif v.kind == "weight":
            formats[v.name] = "F12.8"
        elif v.kind == "number":
            formats[v.name] = "F10.2"
    pyreadstat.write_sav(
        frame,
        path,
        file_label=f"{export.survey.slug} ({export.weighting.describe()})"[:64],
        column_labels={v.name: v.label[:256] for v in variables},
        variable_value_labels=value_labels,
        missing_ranges=missing_ranges,
        variable_format=formats,
        variable_measure=measures,
        # SPSS keeps documents as lines of at most 80 bytes.
        note=[
            line
            for name, value in export.about()
            for line in textwrap.wrap(f"{name}: {value}", 80)
            if len(line.encode("utf-8")) <= 80
        ],
    )


# --------------------------------------------------------------------------- #
# Excel: a small streaming writer. openpyxl's write-only mode took about a
# minute for 100,000 x 45 cells on the project's machines; writing the sheet
# XML directly takes a few seconds and keeps memory flat.
# --------------------------------------------------------------------------- #

_ILLEGAL_XML = dict.fromkeys([*range(0, 9), 11, 12, *range(14, 32)])


def _objects(values: Sequence[Any]) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _xml_text(value: str) -> str:
    return xml_escape(value.translate(_ILLEGAL_XML))


class XlsxWriter:
    """Writes sheets one row at a time into a zip file; strings are shared."""

    def __init__(self, path_or_file: Any) -> None:
        self.zip = zipfile.ZipFile(path_or_file, "w", zipfile.ZIP_DEFLATED, compresslevel=1)
        self.sheets: list[str] = []
        self.strings: dict[str, int] = {}

    def _string(self, value: str) -> int:
        index = self.strings.get(value)
        if index is None:
            index = self.strings[value] = len(self.strings)
        return index

    def _cell(self, value: Any) -> str:
        if value is None:
            return "<c/>"
        if isinstance(value, bool):
            return f'<c t="b"><v>{int(value)}</v></c>'
        if isinstance(value, int | np.integer):
            return f"<c><v>{int(value)}</v></c>"
        if isinstance(value, float | np.floating):
            if not math.isfinite(value):
                return "<c/>"
            return f"<c><v>{float(value)!r}</v></c>"
        return f'<c t="s"><v>{self._string(escape_cell(str(value)))}</v></c>'

    def sheet(
        self,
        name: str,
        rows: Iterator[Sequence[Any]] | Sequence[Sequence[Any]],
        *,
        header_rows: int = 1,
        chunks: Iterable[np.ndarray] = (),
        text_columns: Sequence[int] = (),
    ) -> None:
        """`rows`, then the rows of `chunks` (arrays of rows whose columns
        `text_columns` hold the strings)."""
        self.sheets.append(name)
        number = len(self.sheets)
        with self.zip.open(f"xl/worksheets/sheet{number}.xml", "w") as f:
            f.write(
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            )
            if header_rows:
                f.write(
                    f'<sheetViews><sheetView workbookViewId="0"><pane ySplit="{header_rows}" '
                    f'topLeftCell="A{header_rows + 1}" activePane="bottomLeft" state="frozen"/>'
                    "</sheetView></sheetViews>".encode()
                )
            f.write(b"<sheetData>")
            buffer: list[str] = []
            cell = self._cell
            for i, row in enumerate(rows):
                style = ' s="1"' if i < header_rows else ""
                if style:
                    cells = "".join(cell(v).replace("<c", '<c s="1"', 1) for v in row)
                else:
                    cells = "".join([cell(v) for v in row])
                buffer.append(f"<row>{cells}</row>")
                if len(buffer) >= 500:
                    f.write("".join(buffer).encode("utf-8"))
                    buffer.clear()
            f.write("".join(buffer).encode("utf-8"))
            for chunk in chunks:
                f.write(self._chunk_rows(chunk, text_columns).encode("utf-8"))
            f.write(b"</sheetData></worksheet>")

    def _chunk_rows(self, chunk: np.ndarray, text_columns: Sequence[int]) -> str:
        """A chunk's rows, every cell as `_cell` writes it, worked out once per
        distinct value of a column: a call per cell (9 million in a large
        survey) was most of an export's time. Shared strings are numbered in
        the order the cells come, row by row, as `_cell` numbers them, so the
        text columns are taken together, row by row."""
        n = len(chunk)
        others = [j for j in range(chunk.shape[1]) if j not in set(text_columns)]
        found = [pd.factorize(chunk[:, j]) for j in others]
        texts = pd.factorize(chunk[:, list(text_columns)].ravel())
        kinds = [{type(v) for v in distinct} for _, distinct in found]
        if any(len(k) > 1 or str in k for k in kinds) or {type(v) for v in texts[1]} - {str}:
            # Mixed types in a column (1 and 1.0 are one value to factorize)
            # or a string outside the text columns: cell by cell.
            return "".join(
                f"<row>{''.join([self._cell(v) for v in row])}</row>" for row in chunk.tolist()
            )
        columns: list[list[str]] = [[] for _ in range(chunk.shape[1])]
        # A code of -1 (None, NaN) picks the last fragment, an empty cell.
        which, distinct = texts
        fragments = _objects([*map(self._cell, distinct), "<c/>"])
        block = fragments[which].reshape(n, len(text_columns))
        for k, j in enumerate(text_columns):
            columns[j] = block[:, k].tolist()
        for j, (which, distinct), types in zip(others, found, kinds, strict=True):
            if float in types:
                # Weights are all different, and 0.0 and -0.0 are one value
                # to factorize but not to a spreadsheet.
                columns[j] = [self._cell(v) for v in chunk[:, j].tolist()]
            else:
                columns[j] = _objects([*map(self._cell, distinct), "<c/>"])[which].tolist()
        return "".join([f"<row>{''.join(cells)}</row>" for cells in zip(*columns, strict=True)])

    def close(self) -> None:
        z = self.zip
        sheets = "".join(
            f'<sheet name="{_xml_text(name[:31])}" sheetId="{i}" r:id="rId{i}"/>'
            for i, name in enumerate(self.sheets, start=1)
        )
        n = len(self.sheets)
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            + "".join(
                f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
                'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                for i in range(1, n + 1)
            )
            + '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            "</Types>",
        )
        z.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>",
        )
        z.writestr(
            "xl/workbook.xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f"<sheets>{sheets}</sheets></workbook>",
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            + "".join(
                f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{i}.xml"/>'
                for i in range(1, n + 1)
            )
            + f'<Relationship Id="rId{n + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
            f'<Relationship Id="rId{n + 2}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
            "</Relationships>",
        )
        z.writestr(
            "xl/styles.xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
            '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
            '<fills count="2"><fill><patternFill patternType="none"/></fill>'
            '<fill><patternFill patternType="gray125"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
            '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            "</styleSheet>",
        )
        with z.open("xl/sharedStrings.xml", "w") as f:
            f.write(
                f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                f'count="{len(self.strings)}" uniqueCount="{len(self.strings)}">'.encode()
            )
            buffer = []
            for text in self.strings:
                space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
                buffer.append(f"<si><t{space}>{_xml_text(text)}</t></si>")
                if len(buffer) >= 1000:
                    f.write("".join(buffer).encode("utf-8"))
                    buffer.clear()
            f.write("".join(buffer).encode("utf-8"))
            f.write(b"</sst>")
        z.close()


def write_xlsx(
    export: Export,
    path_or_file: Any,
    *,
    chunk_size: int = CHUNK_SIZE,
    aggregates: Callable[[Export], dict[str, list[list[Any]]]] | None = None,
) -> None:
    from .report import aggregate_sheets

    sheets = (aggregates or aggregate_sheets)(export)
    writer = XlsxWriter(path_or_file)
    writer.sheet("About", [["Item", "Value"], *[[k, v] for k, v in export.about()]])
    if export.raw:
        writer.sheet(
            "Responses",
            [[v.name for v in export.variables], [v.label for v in export.variables]],
            header_rows=2,
            chunks=iter_chunks(
                export.survey, export.variables, export.weighting, chunk_size=chunk_size
            ),
            text_columns=[
                j for j, v in enumerate(export.variables) if v.kind in ("code", "text", "meta")
            ],
        )
    writer.sheet("Labels", [LABEL_COLUMNS, *label_rows(export)])
    for name in ("Representation", "Weighted results", "Priorities"):
        writer.sheet(name, sheets.get(name) or [["Nothing to show"]])
    writer.close()


# --------------------------------------------------------------------------- #
# One entry point for the web and the command line
# --------------------------------------------------------------------------- #


def write_export(export: Export, out: Any) -> None:
    """Write a whole export to a binary file object."""
    if export.format == "csv":
        for part in stream_csv(export):
            out.write(part)
    elif export.format == "json":
        for part in stream_json(export):
            out.write(part)
    elif export.format == "xlsx":
        write_xlsx(export, out)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "export.sav")
            write_sav(export, path)
            with open(path, "rb") as f:
                while block := f.read(1 << 20):
                    out.write(block)


def spooled(export: Export) -> tempfile.SpooledTemporaryFile[bytes]:
    """Excel and SPSS files are built whole (their formats need the end to
    write the start); built into a temporary file, then sent."""
    spool: tempfile.SpooledTemporaryFile[bytes] = tempfile.SpooledTemporaryFile(max_size=8 << 20)
    write_export(export, spool)
    spool.seek(0)
    return spool
