"""The partnership's population benchmarks: the versions, uploading a new
one (checked against a survey's categories if the officer asks), one
version's rows, and a template file."""

from __future__ import annotations

from typing import Any

from flask import flash, g, render_template, url_for

from ..extensions import db
from ..models import BenchmarkSet, Role, Survey, User
from ..security import current_partnership, owned_or_404, role_required
from ..services import benchmarks as service
from ..services.content import SurveyTexts
from ..unit_of_work import UnitOfWork, redirect_with
from . import bp
from .common import download
from .forms.content import BenchmarksForm


def _benchmarks_form(checkable: list[Survey]) -> BenchmarksForm:
    return BenchmarksForm(
        [(str(s.id), f"{SurveyTexts(s).title('en')} (/s/{s.slug})") for s in checkable]
    )


def _benchmarks_page(form: BenchmarksForm, problems: list[str]) -> Any:
    sets = service.benchmark_sets(current_partnership().id)
    return render_template(
        "build/benchmarks.html",
        sets=sets,
        users=service.creators(sets),
        form=form,
        form_has_errors=bool(form.errors),
        problems=problems,
    ), (400 if form.errors else 200)


@bp.get("/benchmarks")
@role_required(Role.VIEWER)
def benchmarks() -> Any:
    checkable = service.checkable_surveys(current_partnership().id)
    form = _benchmarks_form(checkable)
    # Checking against the newest survey is the safe choice to offer first.
    form.check.data = str(checkable[0].id) if checkable else ""
    return _benchmarks_page(form, [])


@bp.post("/benchmarks")
@role_required(Role.OFFICER)
def import_benchmarks() -> Any:
    partnership = current_partnership()
    checkable = service.checkable_surveys(partnership.id)
    form = _benchmarks_form(checkable)
    if not form.validate_on_submit():
        return _benchmarks_page(form, [])
    with UnitOfWork() as work:
        chosen = service.survey_to_check(checkable, form.check.data or "")
        benchmark_set = service.import_benchmarks(
            partnership,
            form.file.content,
            by=g.user,
            note=(form.note.data or "").strip(),
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
        form.file.errors = ["The benchmark file has problems; nothing was saved"]
        return _benchmarks_page(form, work.error.problems)
    form.refuse(work.error, "file")
    return _benchmarks_page(form, [])


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
