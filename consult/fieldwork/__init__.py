"""Fieldwork: the live monitor of who has answered (counts only) and the
keyboard-only screen for keying in paper and face-to-face questionnaires."""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from flask import Blueprint, flash, g, jsonify, redirect, render_template, request, url_for

from ..forms import error_items
from ..i18n import LANGUAGES
from ..models import Channel, OptionKind, Role, Survey
from ..security import owned_or_404, role_required
from ..services import cleaning as cleaning_service
from ..services import fieldwork as service
from ..services import outreach, paper
from ..services.content import SurveyTexts
from ..services.path import ordered_questions
from ..unit_of_work import UnitOfWork
from ..vocabulary import FLAG_LABELS
from .forms import PaperEntryForm

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


def _paper_entry_form(survey: Survey) -> PaperEntryForm:
    """The fixed fields; a GET takes them from the query string, so the next
    form of a batch opens with its batch, channel, language and keying."""
    query = {} if request.method == "POST" else {"formdata": request.args}
    form = PaperEntryForm(
        channels=PAPER_CHANNELS,
        languages=[(code, LANGUAGES[code].english_name) for code in survey.languages],
        outreach_channels=[
            (str(c.id), c.name) for c in outreach.channels(survey, include_archived=False)
        ],
        **query,
    )
    if not form.language.data:
        form.language.data = survey.default_language
    if not form.idempotency_key.data:
        form.idempotency_key.data = secrets.token_urlsafe(24)
    return form


def _paper_details(form: PaperEntryForm) -> paper.PaperForm:
    return paper.PaperForm(
        channel=form.channel.data or "",
        batch=form.batch.data or "",
        serial=form.serial.data or "",
        language=form.language.data or "",
        keying=form.keying_number(),
        consent=form.consent.data or "",
        idempotency_key=form.idempotency_key.data or "",
        outreach_channel=form.outreach_channel.data or "",
    )


PAPER_CHANNELS = [
    (Channel.PAPER.value, "Paper questionnaire"),
    (Channel.ASSISTED.value, "Face to face (read out by an officer or volunteer)"),
]


@bp.route("/<int:survey_id>/paper-entry", methods=["GET", "POST"])
@role_required(Role.OFFICER)
def paper_entry(survey_id: int):
    survey = owned_or_404(Survey, survey_id)
    form = _paper_entry_form(survey)
    # The answers are the questionnaire's own questions, named by
    # `paper.entry_field` and read from the posted form by their parsers.
    answer_errors: dict[str, str] = {}
    if form.validate_on_submit():
        details = _paper_details(form)
        with UnitOfWork() as work:
            result = paper.submit_paper(survey, details, request.form, by=g.user)
        if work.ok:
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
        if isinstance(work.error, paper.PaperEntryError):
            answer_errors = form.refuse_each(work.error.errors)
        else:
            form.refuse(work.error, "channel")
    values: Mapping[str, str] = request.form if form.is_submitted() else request.args
    if not form.is_submitted():
        # Only a form sent back with its problems keeps its serial number.
        form.serial.data = ""
    failed = bool(form.errors or answer_errors)
    return render_template(
        "fieldwork/paper_entry.html",
        survey=survey,
        texts=SurveyTexts(survey),
        questions=ordered_questions(survey.questions),
        form=form,
        form_has_errors=failed,
        values=values,
        answer_errors=answer_errors,
        errors=form.error_list() + error_items(answer_errors),
        entry_field=paper.entry_field,
        batches=paper.batches(survey),
        ITEM=OptionKind.ITEM,
    ), (400 if failed else 200)


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
