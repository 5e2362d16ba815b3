"""Public pages that are not part of a survey: the start page, privacy,
accessibility and cookies statements, and a health check for load balancers."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, current_app, jsonify, render_template, request, url_for
from flask_babel import get_locale
from sqlalchemy import select, text

from ..extensions import db
from ..i18n import LANGUAGES, machine_drafted_languages
from ..models import Survey, SurveyStatus
from ..security import public
from ..services.responses import offered_languages, open_public_surveys

bp = Blueprint("main", __name__)


@bp.route("/")
@public
def home():
    return render_template("main/home.html", surveys=open_public_surveys())


@bp.route("/privacy")
@public
def privacy():
    return render_template("main/privacy.html", **_survey_context(request.args.get("survey")))


def _survey_context(slug: str | None) -> dict[str, Any]:
    """Opened from a survey's footer (`?survey=<slug>`): the partnership's name,
    a way back to the survey and its language switcher. Anything else, or a
    survey that is not public, gets the notice with every language the
    service offers."""
    enabled = current_app.config["CONSULT_LANGUAGES"]
    survey = (
        db.session.scalars(select(Survey).filter_by(slug=slug)).first()
        if slug and len(slug) <= 100
        else None
    )
    if survey is None or survey.status == SurveyStatus.DRAFT:
        return {"switcher": _switcher(enabled, url_for("main.privacy"))}
    offered = offered_languages(survey, enabled)
    return {
        "header_name": survey.partnership.name,
        "back_url": url_for("respond.start", slug=survey.slug),
        "switcher": _switcher(offered, url_for("main.privacy", survey=survey.slug)),
    }


def _switcher(languages: list[str], base: str) -> list[dict[str, Any]]:
    current = str(get_locale())
    joiner = "&" if "?" in base else "?"
    return [
        {
            "code": code,
            "name": LANGUAGES[code].native_name,
            "dir": LANGUAGES[code].direction,
            "href": f"{base}{joiner}{urlencode({'lang': code})}",
            "current": code == current,
        }
        for code in languages
    ]


@bp.route("/accessibility")
@public
def accessibility():
    return render_template("main/accessibility.html", machine_drafted=machine_drafted_languages())


@bp.route("/cookies")
@public
def cookies():
    return render_template("main/cookies.html")


@bp.route("/healthz")
@public
def healthz():
    db.session.execute(text("SELECT 1"))
    return jsonify(status="ok")
