"""Public pages that are not part of a survey: the start page, privacy,
accessibility and cookies statements, and a health check for load balancers."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, jsonify, render_template
from sqlalchemy import or_, select, text

from ..extensions import db
from ..i18n import machine_drafted_languages
from ..models import Survey, SurveyStatus
from ..security import public

bp = Blueprint("main", __name__)


@bp.route("/")
@public
def home():
    now = datetime.now(UTC)
    surveys = db.session.scalars(
        select(Survey)
        .where(Survey.status == SurveyStatus.OPEN)
        .where(or_(Survey.opens_at.is_(None), Survey.opens_at <= now))
        .where(or_(Survey.closes_at.is_(None), Survey.closes_at > now))
        .where(Survey.requires_invitation.is_(False))
        .order_by(Survey.created_at.desc())
        .limit(50)
    ).all()
    return render_template("main/home.html", surveys=surveys)


@bp.route("/privacy")
@public
def privacy():
    return render_template("main/privacy.html")


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
