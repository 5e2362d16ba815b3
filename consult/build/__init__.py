"""The officer's questionnaire workspace: creating surveys, the builder
(sections, questions, options, conditions, demographic roles), the question
bank, translations, XLSForm import/export, population benchmarks, the postcode
lookup and the survey lifecycle. Viewers may read; changes need an officer.

One module per page group, each registering its routes on this blueprint:

- `surveys`: creating a survey, its overview, settings, status, new wave,
  deleting a draft and the preview;
- `sections`, `questions`, `options`: the builder's parts of a survey;
- `bank`: copying questions from the standard question bank;
- `translations`: per-language review, spreadsheet and XLIFF round trips;
- `xlsform`: XLSForm export and import;
- `benchmarks`, `postcode_lookup`, `areas`: the partnership's reference
  tables (population figures, postcodes to wards, wards grouped into areas).

Views read their input through a form (`forms/`, one module per page group,
on consult.forms.BaseForm), call one service inside a `UnitOfWork`, and
redirect (Post/Redirect/Get); a refusal goes back on the form's field
(`form.refuse`) and the page shows it with the shared error summary. The rules
live in consult.services.builder and friends.
Where viewers may read a page that officers change, the GET and the POST are
separate views with their own role check, so the route map shows both."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request, session

from ..i18n import LANGUAGES
from ..models import Role
from ..security import has_role
from ..services import builder
from ..services import translation as tr
from .common import MAX_UPLOAD

bp = Blueprint("build", __name__, url_prefix="/manage/surveys")


@bp.context_processor
def build_context() -> dict[str, Any]:
    return {
        "can_edit": has_role(Role.OFFICER),
        "type_labels": builder.TYPE_LABELS,
        "LANGUAGES": LANGUAGES,
        "status_labels": tr.TEXT_STATUS_LABELS,
        "describe_condition": builder.describe_condition,
    }


# The builder's uploads (spreadsheets, XLIFF, XLSForm, benchmarks, postcode
# lookups) may be up to MAX_UPLOAD, more than the service's request cap.
UPLOAD_ENDPOINTS = frozenset(
    {
        "build.import_translations",
        "build.import_xliff",
        "build.import_xlsform",
        "build.import_benchmarks",
        "build.import_postcode_lookup",
    }
)


@bp.url_value_preprocessor
def _uploads_may_be_larger(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Raise the request cap for the builder's uploads, so a 3 MB spreadsheet
    gets its own page's answer (or the form's "larger than 5 MB" message)
    instead of the generic "too large" page. URL value preprocessors run
    before the CSRF check reads the form. Only a request with an officer
    session gets the larger cap, so an anonymous client cannot make the
    server read 5 MB before it is refused."""
    if endpoint in UPLOAD_ENDPOINTS and request.method == "POST" and session.get("sid"):
        request.max_content_length = MAX_UPLOAD + 64 * 1024


# The view modules register their routes on `bp` when imported.
from . import (  # noqa: E402,F401
    areas,
    bank,
    benchmarks,
    options,
    postcode_lookup,
    questions,
    sections,
    surveys,
    translations,
    xlsform,
)
