"""The partnership's postcode -> ward lookup: versions, and uploading a new one."""

from __future__ import annotations

from typing import Any

from flask import g, render_template, url_for

from ..models import Role
from ..security import current_partnership, role_required
from ..services import postcodes as service
from ..unit_of_work import UnitOfWork, redirect_with
from . import bp
from .common import download
from .forms.content import PostcodeLookupForm

# The page lists this many of a bad file's problems and counts the rest.
SHOWN_PROBLEMS = 200


def _lookup_page(form: PostcodeLookupForm, problems: list[str]) -> Any:
    return render_template(
        "build/postcode_lookup.html",
        versions=service.lookup_versions(current_partnership().id),
        form=form,
        form_has_errors=bool(form.errors),
        problems=problems[:SHOWN_PROBLEMS],
        more_problems=max(0, len(problems) - SHOWN_PROBLEMS),
    ), (400 if form.errors else 200)


@bp.get("/postcode-lookup")
@role_required(Role.VIEWER)
def postcode_lookup() -> Any:
    return _lookup_page(PostcodeLookupForm(), [])


@bp.post("/postcode-lookup")
@role_required(Role.OFFICER)
def import_postcode_lookup() -> Any:
    form = PostcodeLookupForm()
    if not form.validate_on_submit():
        return _lookup_page(form, [])
    with UnitOfWork() as work:
        lookup = service.import_lookup(
            current_partnership(),
            form.file.content,
            by=g.user,
            note=(form.note.data or "").strip(),
        )
    if work.ok:
        return redirect_with(
            f"Postcode lookup version {lookup.version} saved. Postcode questions now place "
            "residents in wards with this version.",
            url_for("build.postcode_lookup"),
        )
    if isinstance(work.error, service.LookupFileError):
        form.file.errors = ["The postcode lookup file has problems; nothing was saved"]
        return _lookup_page(form, work.error.problems)
    form.refuse(work.error, "file")
    return _lookup_page(form, [])


@bp.route("/postcode-lookup/template.csv")
@role_required(Role.VIEWER)
def postcode_lookup_template() -> Any:
    content = "postcode,ward_code\r\nLE1 5WW,E05010458\r\nLE2 1AA,E05010459\r\n"
    return download(content.encode("utf-8-sig"), "postcode-lookup-template.csv", "text/csv")
