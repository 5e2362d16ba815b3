"""One question per page, and the consent page in front of the
special-category questions."""

from __future__ import annotations

from typing import Any

from flask import g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from ..extensions import db
from ..models import Survey
from ..security import public
from ..services.answers import AnswerInvalid, AnswerTampered
from ..services.path import CONSENT, is_special
from ..services.responses import NotOnPath, ResponseNotOpen, journey, record_consent
from ..services.survey_topics import topics
from . import bp
from .common import (
    NOT_SAVED,
    _back_url,
    _change_arg,
    _not_on_path,
    _open_response,
    _save_for_later,
    _session_map,
    _step_url,
    _tampered,
    post_limit,
)
from .handler import QuestionHandler

# --- one question per page ----------------------------------------------------------------


@bp.route("/<slug>/q/<key>", methods=["GET", "POST"])
@public
@post_limit
def question(slug: str, key: str) -> Any:
    survey: Survey = g.survey
    response, elsewhere = _open_response(survey)
    if response is None:
        return elsewhere
    handler = QuestionHandler(
        survey, response, key, g.language, g.texts, changing=bool(request.args.get("change"))
    )
    try:
        if request.method == "GET":
            return render_template("respond/question.html", **handler.context())
        following = handler.save(request.form)
    except NotOnPath:
        return _not_on_path(survey, journey(response))
    except AnswerTampered as error:
        return _tampered(survey, handler.here, error.message)
    except AnswerInvalid as invalid:
        if request.form.get("action") == "save":
            # Saving for later keeps what was already stored; this page's
            # unfinished answer is not saved, and the next page says so.
            notes = _session_map(NOT_SAVED)
            notes[str(survey.id)] = {"key": key, "message": invalid.message}  # type: ignore[assignment]
            session[NOT_SAVED] = notes
            return _save_for_later(survey, response)
        values = {name: request.form.getlist(name) for name in request.form}
        return render_template("respond/question.html", **handler.context(values, invalid)), 400
    except ResponseNotOpen:
        return _open_response(survey)[1] or redirect(url_for("respond.start", slug=slug))
    if following.save_for_later:
        return _save_for_later(survey, response)
    return redirect(following.url)


# --- consent to special-category questions ------------------------------------------------


@bp.route("/<slug>/consent", methods=["GET", "POST"])
@public
@post_limit
def consent(slug: str) -> Any:
    survey: Survey = g.survey
    response, elsewhere = _open_response(survey)
    if response is None:
        return elsewhere
    current = journey(response)
    if not current.path.has_consent_step:
        return _not_on_path(survey, current)
    error = None
    status = 200
    if request.method == "POST":
        choice = request.form.get("consent", "")
        if choice not in {"", "yes", "no"} or len(request.form.getlist("consent")) > 1:
            return _tampered(survey, url_for("respond.consent", slug=slug))
        if choice:
            try:
                updated = record_consent(response, choice == "yes")
            except ResponseNotOpen:
                db.session.rollback()
                return _open_response(survey)[1] or redirect(url_for("respond.start", slug=slug))
            if request.args.get("change") and updated.is_complete:
                target = url_for("respond.check", slug=slug)
            else:
                target = _step_url(updated.path.step_after(CONSENT, CONSENT), survey)
            db.session.commit()
            if request.form.get("action") == "save":
                return _save_for_later(survey, response)
            return redirect(target)
        if request.form.get("action") == "save":
            return _save_for_later(survey, response)
        error = _("Select yes if you are happy to answer these questions")
        status = 400
    selected = {True: "yes", False: "no", None: ""}[response.special_consent]
    page = render_template(
        "respond/consent.html",
        selected=request.form.get("consent", selected) if request.method == "POST" else selected,
        error=error,
        errors=[{"text": error, "href": "#consent-yes"}] if error else [],
        form_has_errors=bool(error),
        back_url=_back_url(current, CONSENT, CONSENT),
        action_url=url_for("respond.consent", slug=slug, **_change_arg()),
        topics=topics(
            current.path.pending_special or [q for q in current.questions if is_special(q)],
            lambda q: g.texts.prompt(q, g.language),
        ),
    )
    return page, status
