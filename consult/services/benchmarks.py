"""Population benchmarks: a partnership's population shares by demographic
variable and category (for example Census 2021 margins), versioned so every
result can say which version it was compared or weighted to."""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from ..extensions import db
from ..models import (
    DEMOGRAPHIC_VARIABLES,
    BenchmarkSet,
    Partnership,
    PopulationBenchmark,
    Survey,
    User,
)
from . import ServiceError
from .audit import record
from .surveys import partnership_surveys

REQUIRED_COLUMNS = ("variable", "category", "population_share")
SUM_TOLERANCE = 0.01
MAX_ROWS = 5000


class BenchmarkFileError(ServiceError):
    """Every problem in an uploaded file, each with its line number."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("The benchmark file has problems: " + "; ".join(problems[:5]))
        self.problems = problems


@dataclass(frozen=True)
class BenchmarkRow:
    variable: str
    category: str
    population_share: float
    base: int | None
    status: str
    source: str


def _unreadable(line: int, error: csv.Error) -> BenchmarkFileError:
    if "field larger than field limit" in str(error):
        return BenchmarkFileError(
            [
                f"line {line}: a value is longer than {csv.field_size_limit():,} characters; "
                "a benchmark file never has one (is this the right file, with its quotes closed?)"
            ]
        )
    return BenchmarkFileError([f"line {line}: the file cannot be read as CSV ({error})"])


def _records(reader: csv.DictReader[str]) -> Iterator[dict[str | Any, str | Any]]:
    """The reader's rows; a line the csv module cannot read (a field over
    its 131,072-character limit) or a NUL character, which no database
    column can store, is a problem in the file, not a 500."""
    try:
        for record_ in reader:
            if any("\x00" in (v or "") for v in record_.values() if isinstance(v, str)):
                raise BenchmarkFileError(
                    [f"line {reader.line_num}: the line contains a NUL character"]
                )
            yield record_
    except csv.Error as error:
        # The failing line was not counted as read.
        raise _unreadable(reader.line_num + 1, error) from None


def parse_benchmarks(
    content: str | bytes, *, allowed_categories: dict[str, set[str]] | None = None
) -> list[BenchmarkRow]:
    """Read and check a benchmark CSV. Raises BenchmarkFileError naming each
    bad line; nothing is stored by this function."""
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise BenchmarkFileError(
                ["the file is not UTF-8 text (save it as CSV UTF-8)"]
            ) from None
    reader = csv.DictReader(io.StringIO(content))
    try:
        columns = [c.strip() for c in (reader.fieldnames or [])]
    except csv.Error as error:
        raise _unreadable(1, error) from None
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise BenchmarkFileError([f"missing column(s): {', '.join(missing)}"])
    problems: list[str] = []
    rows: list[BenchmarkRow] = []
    seen: set[tuple[str, str]] = set()
    for line, raw in enumerate(_records(reader), start=2):
        if line > MAX_ROWS + 1:
            problems.append(f"more than {MAX_ROWS} rows")
            break
        record_ = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k}
        variable, category = record_.get("variable", ""), record_.get("category", "")
        if not variable and not category:
            continue
        if variable not in DEMOGRAPHIC_VARIABLES:
            problems.append(f"line {line}: unknown variable {variable!r}")
            continue
        if not category:
            problems.append(f"line {line}: the category is empty")
            continue
        if (variable, category) in seen:
            problems.append(f"line {line}: {variable} / {category} appears twice")
            continue
        seen.add((variable, category))
        try:
            share = float(record_.get("population_share", ""))
        except ValueError:
            problems.append(
                f"line {line}: population_share {record_.get('population_share')!r} is not a number"
            )
            continue
        if not math.isfinite(share) or share < 0 or share > 1:
            problems.append(f"line {line}: population_share must be between 0 and 1, not {share}")
            continue
        base_text = record_.get("base", "")
        base = None
        if base_text:
            try:
                base = int(float(base_text))
            except (ValueError, OverflowError):  # OverflowError: "1e400" is infinite
                problems.append(f"line {line}: base {base_text!r} is not a whole number")
                continue
        if allowed_categories is not None and variable in allowed_categories:
            if category not in allowed_categories[variable]:
                problems.append(
                    f"line {line}: {category!r} is not a category any {variable} question maps to"
                )
                continue
        rows.append(
            BenchmarkRow(
                variable,
                category,
                share,
                base,
                record_.get("status", ""),
                record_.get("source", ""),
            )
        )
    totals: dict[str, float] = defaultdict(float)
    for row in rows:
        totals[row.variable] += row.population_share
    for variable, total in sorted(totals.items()):
        if abs(total - 1) > SUM_TOLERANCE:
            problems.append(
                f"{variable}: shares add up to {total:.4f}; they must add up to 1 (within 1%)"
            )
    if not rows and not problems:
        problems.append("the file has no benchmark rows")
    if problems:
        raise BenchmarkFileError(problems)
    return rows


def import_benchmarks(
    partnership: Partnership,
    content: str | bytes,
    *,
    by: User | None = None,
    note: str = "",
    allowed_categories: dict[str, set[str]] | None = None,
) -> BenchmarkSet:
    rows = parse_benchmarks(content, allowed_categories=allowed_categories)
    latest = db.session.scalar(
        select(func.max(BenchmarkSet.version)).filter_by(partnership_id=partnership.id)
    )
    benchmark_set = BenchmarkSet(
        partnership_id=partnership.id,
        version=(latest or 0) + 1,
        note=note[:500],
        created_by_id=by.id if by else None,
    )
    benchmark_set.rows = [
        PopulationBenchmark(
            variable=r.variable,
            category=r.category,
            population_share=r.population_share,
            base=r.base,
            status=r.status,
            source=r.source,
        )
        for r in rows
    ]
    db.session.add(benchmark_set)
    db.session.flush()
    record(
        "benchmarks_imported",
        partnership_id=partnership.id,
        user_id=by.id if by else None,
        target=f"benchmarks:v{benchmark_set.version}",
        details={"rows": len(rows), "variables": sorted({r.variable for r in rows})},
    )
    return benchmark_set


def current_benchmarks(partnership_id: int) -> BenchmarkSet | None:
    return db.session.scalars(
        select(BenchmarkSet)
        .filter_by(partnership_id=partnership_id)
        .order_by(BenchmarkSet.version.desc())
    ).first()


def benchmark_records(benchmark_set: BenchmarkSet) -> list[dict[str, object]]:
    """Rows in the shape consult.analysis expects (a DataFrame's records)."""
    return [
        {
            "variable": r.variable,
            "category": r.category,
            "population_share": r.population_share,
            "base": r.base,
            "source": r.source,
            "status": r.status,
        }
        for r in benchmark_set.rows
    ]


def mapped_categories(survey: Survey) -> dict[str, set[str]]:
    """The benchmark categories a survey's demographic questions map their
    answers to, by variable: what an uploaded file is checked against."""
    result: dict[str, set[str]] = {}
    for question in survey.questions:
        if not question.demographic:
            continue
        categories = {o.benchmark_category for o in question.choices if o.benchmark_category}
        if categories:
            result.setdefault(question.demographic, set()).update(categories)
    return result


def uncovered_categories(survey: Survey, benchmark_set: BenchmarkSet) -> list[str]:
    """Categories the survey maps answers to that the benchmark set lacks:
    those answers cannot be compared or weighted."""
    present: dict[str, set[str]] = defaultdict(set)
    for row in benchmark_set.rows:
        present[row.variable].add(row.category)
    warnings = []
    for variable, categories in sorted(mapped_categories(survey).items()):
        if variable not in present:
            warnings.append(
                f"The file has no {variable} figures, so the {variable} question cannot be compared."
            )
            continue
        lacking = sorted(categories - present[variable])
        if lacking:
            warnings.append(
                f"The survey maps answers to {variable} categories the file does not have: "
                f"{', '.join(lacking)}."
            )
    return warnings


def checkable_surveys(partnership_id: int) -> list[Survey]:
    """The partnership's surveys with a demographic question, newest first:
    the ones an uploaded file can be checked against."""
    return [
        s for s in partnership_surveys(partnership_id) if any(q.demographic for q in s.questions)
    ]


def survey_to_check(surveys: list[Survey], survey_id: str) -> Survey | None:
    """The survey the officer chose to check a file against (none chosen:
    None); a choice that is not one of `surveys` is refused."""
    if not survey_id:
        return None
    chosen = next((s for s in surveys if str(s.id) == survey_id), None)
    if chosen is None:
        raise ServiceError("Choose a survey to check the categories against", field="check")
    return chosen


def benchmark_sets(partnership_id: int) -> list[BenchmarkSet]:
    """Every version of the partnership's benchmarks, newest first."""
    return list(
        db.session.scalars(
            select(BenchmarkSet)
            .filter_by(partnership_id=partnership_id)
            .order_by(BenchmarkSet.version.desc())
        )
    )


def creators(sets: list[BenchmarkSet]) -> dict[int, User]:
    """Who uploaded each version, by user id."""
    ids = {s.created_by_id for s in sets if s.created_by_id}
    if not ids:
        return {}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}
