"""The resident's journey: /s/<slug>/… — start, one question per page,
consent for special-category questions, check your answers, submit,
confirmation; save and come back with a resume code; invitation codes.

No sign-in. The in-progress response's id lives in the signed session cookie
(one per survey); the language in its own cookie, so it outlives the session.
Views are thin: the path, the answers and the submission rules are in
`consult.services.path`, `.answers` and `.responses`.

This module holds the blueprint and what every resident page shares (the
survey, its language, whether it is open); the pages live in one module per
group: `start` (start page, begin), `codes` (invitation codes, the letter
link, outreach channel links, save and resume codes), `questions` (a
question, the consent page), `submit` (check your answers, submit,
confirmation), with their shared helpers in `common`.

Status codes, chosen so a resident and a crawler both get the truth:
draft survey 404 (it does not exist yet for the public); not yet open 403 (it
exists, with a date, but cannot be answered yet); closed 410 (gone for good);
a question not on the respondent's path 404; a post that the form could not
have sent (foreign option code, unknown grid row, extra picks) 400."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, abort, current_app, g, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup

from ..i18n import LANGUAGE_COOKIE, LANGUAGES, long_date
from ..models import Survey
from ..services.content import SurveyTexts
from ..services.responses import (
    Availability,
    availability,
    aware,
    find_survey,
    negotiate_language,
    offered_languages,
)

bp = Blueprint("respond", __name__, url_prefix="/s")


# --- every resident page: the survey, its language, whether it is open ------------------


@bp.before_request
def load_survey() -> Any:
    slug = (request.view_args or {}).get("slug")
    survey = find_survey(slug) if slug else None
    if survey is None:
        abort(404)
    g.survey = survey
    offered = offered_languages(survey, current_app.config["CONSULT_LANGUAGES"])
    choice = negotiate_language(
        offered,
        survey.default_language,
        requested=request.args.get("lang"),
        remembered=request.cookies.get(LANGUAGE_COOKIE),
        accept=request.accept_languages,
    )
    # Read by consult.app.select_language: Flask-Babel, page_lang and page_dir follow it.
    g.language = choice.language
    g.offered_languages = offered
    g.language_unavailable = (
        choice.unavailable
        if (request.args.get("lang") or request.endpoint == "respond.start")
        else None
    )
    g.texts = SurveyTexts(survey, languages=[g.language], mark_language=True)
    state = availability(survey)
    if state == Availability.DRAFT:
        abort(404)
    if state != Availability.OPEN and request.endpoint != "respond.done":
        return _unavailable_page(survey, state)
    return None


@bp.context_processor
def resident_context() -> dict[str, Any]:
    survey: Survey | None = g.get("survey")
    if survey is None:
        return {}
    return {
        "resident_page": True,
        "header_name": survey.partnership.name,
        "survey": survey,
        "texts": g.texts,
        "lang": g.language,
        "survey_heading": g.texts.title(g.language),
        "switcher": _switcher(),
        "language_unavailable": LANGUAGES.get(g.get("language_unavailable") or ""),
        "current_language": LANGUAGES[g.language],
        "feedback_url": _feedback_url(survey),
    }


@bp.app_template_filter("lang_attr")
def lang_attr(value: Any) -> Markup:
    """` lang="en"` for survey text shown in another language than the page's
    (a FallbackText), so screen readers read it with the right voice."""
    language = getattr(value, "lang", None)
    if language and language in LANGUAGES and language != str(get_locale()):
        return Markup(' lang="{}"').format(language)
    return Markup("")


def _switcher() -> list[dict[str, Any]]:
    args: dict[str, Any] = {k: v for k, v in request.args.items() if k != "lang"}
    endpoint = request.endpoint or "respond.start"
    if endpoint in {"respond.submit", "respond.begin"}:
        endpoint = "respond.start"
    view_args: dict[str, Any] = dict(request.view_args or {})
    # One URL built, the language added to it: this runs on every resident page.
    base = url_for(endpoint, **view_args, **args)
    joiner = "&" if "?" in base else "?"
    links = []
    for code in g.offered_languages:
        language = LANGUAGES[code]
        links.append(
            {
                "code": code,
                "name": language.native_name,
                "dir": language.direction,
                "href": f"{base}{joiner}{urlencode({'lang': code})}",
                "current": code == g.language,
            }
        )
    return links


def _feedback_url(survey: Survey) -> str | None:
    """The published "You said, we did" page, when a later feature registers
    one: `app.extensions["consult_feedback_url"](survey) -> url | None`."""
    finder = current_app.extensions.get("consult_feedback_url")
    return finder(survey) if finder else None


def _unavailable_page(survey: Survey, state: Availability) -> Any:
    if state == Availability.NOT_YET_OPEN:
        opens_at = aware(survey.opens_at)
        title = _("This survey is not open yet")
        message = (
            _("You can answer it from %(date)s.", date=long_date(opens_at))
            if opens_at
            else _("Come back when it opens.")
        )
        status = 403
    else:
        title = _("This survey has closed")
        message = _("Thank you for your interest. The survey is no longer taking answers.")
        status = 410
    return render_template(
        "respond/message.html", title=title, message=message, status=status
    ), status


# The pages, by group: importing them registers their routes on `bp`.
from . import codes, questions, start, submit  # noqa: E402, F401
