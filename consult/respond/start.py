"""The start page, and beginning a response."""

from __future__ import annotations

from typing import Any

from flask import g, redirect, render_template, request, url_for

from ..extensions import db
from ..models import Audience, ResponseStatus, Survey
from ..security import public
from ..services import outreach, postcodes
from ..services.content import SurveyTexts, privacy_key, survey_intro_key
from ..services.path import is_special
from ..services.responses import is_expired, journey, start_response
from ..services.sampling import has_sample
from ..services.survey_cache import survey_questions
from ..services.survey_topics import special_topics_sentence
from . import bp
from .common import (
    IN_PROGRESS,
    OUTREACH,
    SUBMITTED,
    _current_response,
    _remember,
    _session_map,
    _step_url,
    post_limit,
)

# --- start --------------------------------------------------------------------------------


@bp.get("/<slug>")
@public
def start(slug: str) -> Any:
    survey: Survey = g.survey
    response = _current_response(survey)
    in_progress = (
        response is not None
        and response.status == ResponseStatus.IN_PROGRESS
        and not is_expired(response)
    )
    done_id = _session_map(SUBMITTED).get(str(survey.id))
    texts: SurveyTexts = g.texts
    return render_template(
        "respond/start.html",
        intro=texts.get(survey_intro_key(), g.language),
        privacy=texts.get(privacy_key(), g.language),
        postcode_notice=postcodes.privacy_sentence(survey),
        in_progress=in_progress,
        already_done=done_id is not None and not in_progress,
        session_ended=request.args.get("expired") == "1" and not in_progress,
        stakeholders=survey.audience == Audience.STAKEHOLDERS,
        letter_codes=not survey.requires_invitation and has_sample(survey),
        special_topics=special_topics_sentence(
            [q for q in survey_questions(survey) if is_special(q)],
            lambda q: texts.prompt(q, g.language),
        ),
    )


@bp.post("/<slug>")
@public
@post_limit
def begin(slug: str) -> Any:
    survey: Survey = g.survey
    if survey.requires_invitation:
        return redirect(url_for("respond.invitation", slug=slug))
    response = _current_response(survey)
    if (
        response is not None
        and response.status == ResponseStatus.IN_PROGRESS
        and not is_expired(response)
    ):
        return redirect(_step_url(journey(response).resume_step(), survey))
    response = start_response(survey, g.language)
    outreach.record_channel(response, _session_map(OUTREACH).get(str(survey.id)))
    db.session.commit()
    _remember(IN_PROGRESS, survey, response.id)
    return redirect(_step_url(journey(response).resume_step(), survey))
