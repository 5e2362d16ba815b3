"""Check your answers, submit, and the confirmation page."""

from __future__ import annotations

from typing import Any

from flask import g, redirect, render_template, url_for
from flask_babel import gettext as _

from ..extensions import db
from ..models import Response, ResponseStatus, Survey
from ..security import public
from ..services.answers import describe
from ..services.content import SurveyTexts
from ..services.responses import Incomplete, ResponseNotOpen, journey, submit
from . import bp
from .common import (
    IN_PROGRESS,
    SUBMITTED,
    _current_response,
    _expired_page,
    _no_response,
    _open_response,
    _remember,
    _session_map,
    _step_url,
    post_limit,
)

# --- check your answers, submit, confirmation ---------------------------------------------


@bp.get("/<slug>/check")
@public
def check(slug: str) -> Any:
    survey: Survey = g.survey
    response, elsewhere = _open_response(survey)
    if response is None:
        return elsewhere
    current = journey(response)
    missing = current.first_incomplete()
    if missing is not None:
        return redirect(_step_url(missing, survey))
    texts: SurveyTexts = g.texts
    rows = []
    for step in current.path.steps:
        if step.is_consent:
            rows.append(
                {
                    "key": "consent",
                    "label": _(
                        "Answer questions about ethnicity, religion, health and sexual orientation"
                    ),
                    "lines": [_("Yes") if response.special_consent else _("No")],
                    "href": url_for("respond.consent", slug=slug, change="1"),
                }
            )
            continue
        q = step.question
        assert q is not None
        parsed = current.answer(q.key)
        rows.append(
            {
                "key": q.key,
                "label": texts.prompt(q, g.language),
                "lines": describe(q, parsed, texts, g.language) if parsed else [],
                "href": url_for("respond.question", slug=slug, key=q.key, change="1"),
            }
        )
    last = current.path.steps[-1] if current.path.steps else None
    return render_template(
        "respond/check.html",
        rows=rows,
        back_url=_step_url(last, survey) if last else url_for("respond.start", slug=slug),
    )


@bp.post("/<slug>/submit", endpoint="submit")
@public
@post_limit
def submit_response(slug: str) -> Any:
    survey: Survey = g.survey
    response = _current_response(survey)
    if response is None:
        return _no_response(survey)
    try:
        result = submit(response)
        db.session.commit()
    except Incomplete as missing:
        db.session.rollback()
        return redirect(_step_url(missing.step, survey))
    except ResponseNotOpen:
        db.session.rollback()
        _remember(IN_PROGRESS, survey, None)
        return _expired_page(survey)
    _remember(IN_PROGRESS, survey, None)
    _remember(SUBMITTED, survey, result.response.id)
    return redirect(url_for("respond.done", slug=slug))


@bp.get("/<slug>/done")
@public
def done(slug: str) -> Any:
    survey: Survey = g.survey
    response_id = _session_map(SUBMITTED).get(str(survey.id))
    response = db.session.get(Response, response_id) if response_id else None
    if (
        response is None
        or response.survey_id != survey.id
        or response.status != ResponseStatus.SUBMITTED
    ):
        return redirect(url_for("respond.start", slug=slug))
    return render_template("respond/done.html", response=response)
