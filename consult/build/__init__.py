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

Views parse the form, call one service inside a `UnitOfWork`, and redirect
(Post/Redirect/Get); the rules live in consult.services.builder and friends.
Where viewers may read a page that officers change, the GET and the POST are
separate views with their own role check, so the route map shows both."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from ..i18n import LANGUAGES
from ..models import Role
from ..security import has_role
from ..services import builder
from ..services import translation as tr

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
