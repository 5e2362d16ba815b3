"""The partnership's postcode -> ward lookup: versions, and uploading a new one."""

from __future__ import annotations

from flask import abort, g, render_template, request, url_for

from ..extensions import db
from ..models import Role
from ..security import current_partnership, has_role, role_required
from ..services import ServiceError
from ..services import postcodes as service
from . import _done, _download, _errors, _upload, bp


@bp.route("/postcode-lookup", methods=["GET", "POST"])
@role_required(Role.VIEWER)
def postcode_lookup():
    partnership = current_partnership()
    errors: dict[str, str] = {}
    problems: list[str] = []
    if request.method == "POST":
        if not has_role(Role.OFFICER):
            abort(403)
        try:
            lookup = service.import_lookup(
                partnership, _upload(), by=g.user, note=request.form.get("note", "").strip()
            )
            return _done(
                f"Postcode lookup version {lookup.version} saved. Postcode questions now place "
                "residents in wards with this version.",
                url_for("build.postcode_lookup"),
            )
        except service.LookupFileError as error:
            db.session.rollback()
            errors = {"file": "The postcode lookup file has problems; nothing was saved"}
            problems = error.problems
        except ServiceError as error:
            db.session.rollback()
            errors = _errors(error, "file")
    return render_template(
        "build/postcode_lookup.html",
        versions=service.lookup_versions(partnership.id),
        errors=errors,
        problems=problems[:200],
        more_problems=max(0, len(problems) - 200),
        form=request.form,
    ), (400 if errors else 200)


@bp.route("/postcode-lookup/template.csv")
@role_required(Role.VIEWER)
def postcode_lookup_template():
    content = "postcode,ward_code\r\nLE1 5WW,E05010458\r\nLE2 1AA,E05010459\r\n"
    return _download(content.encode("utf-8-sig"), "postcode-lookup-template.csv", "text/csv")
