"""Reach: sample pages (see consult/reach/__init__.py). The sample stream: upload
an address file, draw reproducibly, follow each drawn address's code."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, render_template, request, session, url_for

from ..extensions import db
from ..models import Role, Survey
from ..security import has_role, owned_or_404, role_required
from ..services import ServiceError, address_files
from ..services import sampling as service
from ..unit_of_work import UnitOfWork
from ..wording import counted
from . import bp
from .forms import AddressSearchForm, CancelCodeForm, DrawForm


@bp.context_processor
def sample_context() -> dict[str, Any]:
    return {
        "can_edit": has_role(Role.OFFICER),
        "code_status_labels": service.CODE_STATUS_LABELS,
    }


@bp.url_value_preprocessor
def _address_files_are_large(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """An address file of a whole district (100,000 addresses, about 6 MB) is
    larger than the service's request cap. URL value preprocessors run before
    every before-request hook, so the larger cap is in place before the CSRF
    check reads the form. It applies to this one upload only."""
    # Only a request carrying an officer session gets the larger cap, so an
    # anonymous client cannot make the server read 25 MB before it is refused.
    if endpoint == "reach.draw_sample" and request.method == "POST" and session.get("sid"):
        request.max_content_length = address_files.MAX_FILE_BYTES + 64 * 1024


@bp.get("/<int:survey_id>/sample")
@role_required(Role.VIEWER)
def sample(survey_id: int) -> Any:
    return _sample_page(owned_or_404(Survey, survey_id), DrawForm())


def _sample_page(
    survey: Survey, form: DrawForm, problems: list[str] | None = None, more: int = 0
) -> Any:
    return render_template(
        "reach/sample.html",
        survey=survey,
        summary=service.sample_summary(survey),
        form=form,
        form_has_errors=bool(form.errors),
        problems=problems or [],
        more_problems=more,
        columns=address_files.ADDRESS_FILE_COLUMNS,
    ), (400 if form.errors else 200)


@bp.post("/<int:survey_id>/sample")
@role_required(Role.OFFICER)
def draw_sample(survey_id: int) -> Any:
    survey = owned_or_404(Survey, survey_id)
    form = DrawForm()
    try:
        # The choices are checked before the file, so a wrong size is
        # named even when the file is missing too.
        choices = service.parse_draw_request(form.choices_made())
    except ServiceError as error:
        form.validate()
        form.refuse(error, "size")
        return _sample_page(survey, form)
    if not form.validate():
        return _sample_page(survey, form)
    with UnitOfWork() as work:
        drawn = service.draw_addresses(
            survey,
            form.file.content,
            size=choices.size,
            sizes=choices.sizes,
            stratum_column=choices.stratum_column,
            seed=choices.seed,
            filename=form.file.filename,
            by=g.user,
        )
    if isinstance(work.error, address_files.AddressFileError):
        form.file.errors = ["The address file has problems; nothing was drawn or stored"]
        return _sample_page(survey, form, work.error.problems, work.error.more)
    if work.error is not None:
        form.refuse(work.error, "file")
        return _sample_page(survey, form)
    total = sum(int(s["drawn"]) for s in drawn.strata.values())
    flash(
        f"Drew {counted(total, 'address', 'addresses')} (seed {drawn.seed}); each has a code.",
        "success",
    )
    return redirect(url_for("reach.sample", survey_id=survey.id))


@bp.route("/<int:survey_id>/sample/addresses")
@role_required(Role.VIEWER)
def sample_addresses(survey_id: int) -> Any:
    survey = owned_or_404(Survey, survey_id)
    form = AddressSearchForm(service.CODE_STATUS_LABELS, formdata=request.args)
    search = (form.q.data or "")[:100]
    status = form.status.data or ""
    form.q.data = search
    page = request.args.get("page", 1, type=int) or 1
    rows, total = service.list_addresses(survey, search=search, status=status, page=page)
    pages = max(1, -(-total // service.PAGE_SIZE))
    return render_template(
        "reach/sample_addresses.html",
        survey=survey,
        form=form,
        rows=rows,
        total=total,
        search=search,
        status=status,
        page=min(max(1, page), pages),
        pages=pages,
    )


@bp.post("/<int:survey_id>/sample/addresses/<int:address_id>/cancel")
@role_required(Role.OFFICER)
def cancel_sample_code(survey_id: int, address_id: int) -> Any:
    survey = owned_or_404(Survey, survey_id)
    address = service.find_address(survey, address_id)
    if address is None:
        abort(404)
    back = url_for(
        "reach.sample_addresses",
        survey_id=survey.id,
        q=(CancelCodeForm().q.data or "")[:100] or None,
    )
    try:
        service.cancel_code(survey, address, by=g.user)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(back)
    db.session.commit()
    flash(f"The code of address {address.external_id} is cancelled.", "success")
    return redirect(back)


@bp.post("/<int:survey_id>/sample/withdraw")
@role_required(Role.OFFICER)
def withdraw_sample(survey_id: int) -> Any:
    survey = owned_or_404(Survey, survey_id)
    try:
        count = service.withdraw_sample(survey, by=g.user)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("reach.sample", survey_id=survey.id))
    db.session.commit()
    flash(f"The sample is withdrawn: {count} addresses and their codes deleted.", "success")
    return redirect(url_for("reach.sample", survey_id=survey.id))


@bp.route("/<int:survey_id>/sample/example.csv")
@role_required(Role.VIEWER)
def sample_example(survey_id: int) -> Any:
    from flask import Response

    owned_or_404(Survey, survey_id)
    content = (
        "id,address_1,address_2,postcode,ward,tenure\r\n"
        "A0001,1 High Street,,LE1 5WW,Abbey,owned\r\n"
        "A0002,Flat 2,3 Market Street,LE1 5WX,Castle,rented\r\n"
    )
    return Response(
        content.encode("utf-8-sig"),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="address-file-example.csv"'},
    )
