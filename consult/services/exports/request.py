"""An export request: what it will contain, and its statement of that."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from ...i18n import LANGUAGES
from ...models import Role, Survey, User
from .. import ServiceError
from ..audit import record
from ..content import SurveyTexts
from ..counts import response_counts
from .codebook import Variable, codebook
from .common import FORMATS, disclosure_min_cell
from .policy import Policy, may_export_raw, raw_policy
from .rows import select_variables
from .weighting import Weighting, resolve_weighting


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
    language = check_choices(survey, format, language)
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


def check_choices(survey: Survey, format: str, language: str | None) -> str:
    """The format and language asked for, checked; returns the language."""
    if format not in FORMATS:
        raise ServiceError(f"Choose a format: {', '.join(FORMATS)}", field="format")
    language = language or survey.default_language
    if language not in survey.languages:
        raise ServiceError(
            f"The survey is not offered in {language!r}; choose one of {', '.join(survey.languages)}",
            field="lang",
        )
    return language


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
