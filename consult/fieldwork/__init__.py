"""Fieldwork: the live monitor of who has answered (counts only) and the
keyboard-only screen for keying in paper and face-to-face questionnaires."""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from flask import Blueprint, flash, g, jsonify, redirect, render_template, request, url_for

from ..extensions import db
from ..i18n import LANGUAGES
from ..models import Channel, OptionKind, Role, Survey
from ..security import owned_or_404, role_required
from ..services import ServiceError, outreach, paper
from ..services import cleaning as cleaning_service
from ..services import fieldwork as service
from ..services.content import SurveyTexts
from ..services.path import ordered_questions
from ..vocabulary import FLAG_LABELS

bp = Blueprint("fieldwork", __name__, url_prefix="/manage/surveys")


@bp.context_processor
def fieldwork_context() -> dict[str, object]:
    return {
        "flag_labels": FLAG_LABELS,
        "channel_labels": service.CHANNEL_LABELS,
        "LANGUAGES": LANGUAGES,
    }


@bp.route("/<int:survey_id>/fieldwork")
@role_required(Role.VIEWER)
def monitor(survey_id: int):
    survey = owned_or_404(Survey, survey_id)
    return render_template(
        "fieldwork/monitor.html",
        survey=survey,
        m=service.monitor(survey),
        keying=cleaning_service.keying_counts(survey),
    )


@bp.route("/<int:survey_id>/fieldwork.json")
@role_required(Role.VIEWER)
def monitor_json(survey_id: int):
    """The live part of the monitor page, for the page's refresh script."""
    survey = owned_or_404(Survey, survey_id)
    result = service.monitor(survey)
    return jsonify(
        {
            **result.as_json(),
            "html": render_template("fieldwork/_live.html", survey=survey, m=result),
        }
    )


def _paper_form() -> paper.PaperForm:
    return paper.PaperForm(
        channel=request.form.get("channel", ""),
        batch=request.form.get("batch", "").strip(),
        serial=request.form.get("serial", "").strip(),
        language=request.form.get("language", ""),
        keying=request.form.get("keying", 1, type=int) or 0,
        consent=request.form.get("consent", ""),
        idempotency_key=request.form.get("idempotency_key", ""),
        outreach_channel=request.form.get("outreach_channel", ""),
    )


@bp.route("/<int:survey_id>/paper-entry", methods=["GET", "POST"])
@role_required(Role.OFFICER)
def paper_entry(survey_id: int):
    survey = owned_or_404(Survey, survey_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        details = _paper_form()
        try:
            result = paper.submit_paper(survey, details, request.form, by=g.user)
            db.session.commit()
            label = paper.batch_label(details.batch, details.serial)
            if result.replayed:
                flash(
                    f"Form {label} was already stored (reference {result.response.reference}); it was not stored twice.",
                    "success",
                )
            else:
                flash(
                    f"Form {label} stored (reference {result.response.reference}). Key the next form.",
                    "success",
                )
            # The next form of the same batch: keep batch, channel, language and keying.
            return redirect(
                url_for(
                    "fieldwork.paper_entry",
                    survey_id=survey.id,
                    batch=details.batch,
                    channel=details.channel,
                    language=details.language,
                    keying=details.keying,
                    outreach_channel=details.outreach_channel,
                )
            )
        except paper.PaperEntryError as error:
            db.session.rollback()
            errors = error.errors
        except ServiceError as error:
            db.session.rollback()
            errors = {"channel": error.message}
        values: Mapping[str, str] = request.form
        key = request.form.get("idempotency_key") or secrets.token_urlsafe(24)
    else:
        values = request.args
        key = secrets.token_urlsafe(24)
    return render_template(
        "fieldwork/paper_entry.html",
        survey=survey,
        texts=SurveyTexts(survey),
        questions=ordered_questions(survey.questions),
        values=values,
        errors=errors,
        idempotency_key=key,
        entry_field=paper.entry_field,
        batches=paper.batches(survey),
        ITEM=OptionKind.ITEM,
        channels=[
            (Channel.PAPER, "Paper questionnaire"),
            (Channel.ASSISTED, "Face to face (read out by an officer or volunteer)"),
        ],
        outreach_channels=[
            (str(c.id), c.name) for c in outreach.channels(survey, include_archived=False)
        ],
    ), (400 if errors else 200)


@bp.route("/<int:survey_id>/paper-entry/compare")
@role_required(Role.OFFICER)
def compare(survey_id: int):
    survey = owned_or_404(Survey, survey_id)
    batch = request.args.get("batch", "").strip()
    forms = cleaning_service.keyed_forms(survey, batch) if batch else []
    return render_template(
        "fieldwork/compare.html",
        survey=survey,
        batch=batch,
        forms=forms,
        batches=paper.batches(survey),
        texts=SurveyTexts(survey),
        entry_field=paper.entry_field,
    )


# The cleaning pages, the printable questionnaire and the response import
# register on this blueprint.
from . import cleaning, paper_files  # noqa: E402, F401
