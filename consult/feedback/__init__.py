"""The public "You said, we did" page of a survey, in the resident's language.

Residents judge from this page whether answering was worth their time, so it
speaks to them in the language they chose (falling back, text by text, to the
survey's default language) and shows only figures large enough to publish."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, g, render_template, request, url_for
from flask_babel import refresh

from ..i18n import LANGUAGE_COOKIE, LANGUAGES
from ..models import Survey
from ..security import public
from ..services.feedback import is_published, public_feedback
from ..services.responses import find_survey, negotiate_language, offered_languages

bp = Blueprint("feedback", __name__)


def _feedback_url(survey: Survey) -> str | None:
    return url_for("feedback.page", slug=survey.slug) if is_published(survey) else None


@bp.record_once
def _register_link(state: Any) -> None:
    # The resident pages (consult.respond) link to the published page through
    # this hook, so they need not know whether feedback is installed.
    state.app.extensions["consult_feedback_url"] = _feedback_url


@bp.route("/s/<slug>/you-said-we-did")
@public
def page(slug: str) -> Any:
    survey = find_survey(slug)
    if survey is None or not is_published(survey):
        abort(404)
    offered = offered_languages(survey, current_app.config["CONSULT_LANGUAGES"])
    choice = negotiate_language(
        offered,
        survey.default_language,
        requested=request.args.get("lang"),
        remembered=request.cookies.get(LANGUAGE_COOKIE),
        accept=request.accept_languages,
    )
    g.language = choice.language
    refresh()
    content = public_feedback(survey, choice.language)
    switcher = [
        {
            "code": code,
            "name": LANGUAGES[code].native_name,
            "dir": LANGUAGES[code].direction,
            "href": url_for("feedback.page", slug=slug, lang=code),
            "current": code == choice.language,
        }
        for code in offered
    ]
    return render_template(
        "feedback/page.html",
        survey=survey,
        content=content,
        switcher=switcher,
        header_name=survey.partnership.name,
        resident_page=True,
        language_unavailable=LANGUAGES.get(choice.unavailable or "")
        if request.args.get("lang")
        else None,
        current_language=LANGUAGES[choice.language],
    )
