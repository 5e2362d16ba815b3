"""The partnership's wards grouped into larger areas, which weighting uses
when too few residents of a ward answer."""

from __future__ import annotations

from typing import Any

from flask import g, render_template, url_for

from ..models import Role
from ..security import current_partnership, role_required
from ..services import areas as service
from ..unit_of_work import UnitOfWork, redirect_with
from . import bp
from .forms.areas import WardAreasForm, ward_areas_form, ward_field


def _areas_page(form: WardAreasForm, wards: list[str], status: int = 200, refusal: str = "") -> Any:
    summary = service.area_summary(current_partnership().id)
    errors = form.error_list() + ([{"text": refusal, "href": ""}] if refusal else [])
    return render_template(
        "build/ward_areas.html",
        form=form,
        errors=errors,
        summary=summary,
        fields=form.ward_fields(wards),
        shares={ward: share for ward, share, _ in summary.wards},
        area_names=sorted({area.name for area in summary.areas}),
    ), status


def _wards() -> list[str]:
    return [ward for ward, _ in service.benchmark_wards(current_partnership().id)]


@bp.get("/ward-areas")
@role_required(Role.VIEWER)
def ward_areas() -> Any:
    wards = _wards()
    form = ward_areas_form(wards, service.ward_areas(current_partnership().id))
    return _areas_page(form, wards)


@bp.post("/ward-areas")
@role_required(Role.OFFICER)
def save_ward_areas() -> Any:
    wards = _wards()
    form = ward_areas_form(wards, {})
    if form.validate_on_submit():
        with UnitOfWork() as work:
            grouping = service.set_ward_areas(current_partnership(), form.chosen(wards), by=g.user)
        if work.ok:
            areas = len(set(grouping.values()))
            message = (
                f"Saved: {len(grouping)} of {len(wards)} wards grouped into "
                f"{areas} {'area' if areas == 1 else 'areas'}."
                if grouping
                else "Saved: wards are not grouped into areas."
            )
            return redirect_with(message, url_for("build.ward_areas"))
        error = work.error
        if error is not None and error.field in wards:
            error.field = ward_field(error.field)
            form.refuse(error, error.field)
        elif error is not None:
            return _areas_page(form, wards, 400, refusal=error.message)
    return _areas_page(form, wards, 400)
