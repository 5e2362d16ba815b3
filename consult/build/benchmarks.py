"""The partnership's population benchmarks: the versions, uploading a new
one (checked against a survey's categories if the officer asks), one
version's rows, and a template file."""

from __future__ import annotations

from typing import Any

from flask import flash, g, render_template, request, url_for

from ..extensions import db
from ..models import BenchmarkSet, Role, User
from ..security import current_partnership, owned_or_404, role_required
from ..services import benchmarks as service
from ..services.content import SurveyTexts
from ..unit_of_work import UnitOfWork, redirect_with
from . import bp
from .common import download, upload


def _benchmarks_page(errors: dict[str, str], problems: list[str]) -> Any:
    partnership = current_partnership()
    checkable = service.checkable_surveys(partnership.id)
    sets = service.benchmark_sets(partnership.id)
    return render_template(
        "build/benchmarks.html",
        sets=sets,
        users=service.creators(sets),
        checkable=checkable,
        texts={s.id: SurveyTexts(s) for s in checkable},
        errors=errors,
        problems=problems,
        form=request.form,
    ), (400 if errors else 200)


@bp.get("/benchmarks")
@role_required(Role.VIEWER)
def benchmarks() -> Any:
    return _benchmarks_page({}, [])


@bp.post("/benchmarks")
@role_required(Role.OFFICER)
def import_benchmarks() -> Any:
    partnership = current_partnership()
    with UnitOfWork() as work:
        chosen = service.survey_to_check(
            service.checkable_surveys(partnership.id), request.form.get("check", "")
        )
        benchmark_set = service.import_benchmarks(
            partnership,
            upload(),
            by=g.user,
            note=request.form.get("note", "").strip(),
            allowed_categories=service.mapped_categories(chosen) if chosen else None,
        )
        warnings = service.uncovered_categories(chosen, benchmark_set) if chosen else []
    if work.ok:
        for warning in warnings:
            flash(warning, "error")
        return redirect_with(
            f"Benchmarks version {benchmark_set.version} saved ({len(benchmark_set.rows)} rows). "
            "Fieldwork and results now compare with this version.",
            url_for("build.benchmarks"),
        )
    if isinstance(work.error, service.BenchmarkFileError):
        return _benchmarks_page(
            {"file": "The benchmark file has problems; nothing was saved"}, work.error.problems
        )
    return _benchmarks_page(work.errors("file"), [])


@bp.route("/benchmarks/<int:set_id>")
@role_required(Role.VIEWER)
def benchmark_set(set_id: int) -> Any:
    benchmark = owned_or_404(BenchmarkSet, set_id)
    creator = db.session.get(User, benchmark.created_by_id) if benchmark.created_by_id else None
    rows = sorted(benchmark.rows, key=lambda r: (r.variable, r.id))
    return render_template(
        "build/benchmark_set.html", benchmark=benchmark, rows=rows, creator=creator
    )


@bp.route("/benchmarks/template.csv")
@role_required(Role.VIEWER)
def benchmark_template() -> Any:
    content = (
        "variable,category,population_share,base,source\r\n"
        "age_band,16-24,0.18,,ONS Census 2021 TS007\r\n"
        "age_band,25-64,0.64,,ONS Census 2021 TS007\r\n"
        "age_band,65+,0.18,,ONS Census 2021 TS007\r\n"
    )
    return download(content.encode("utf-8-sig"), "benchmarks-template.csv", "text/csv")
