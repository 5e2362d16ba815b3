"""Reach: letters pages (see consult/reach/__init__.py). The officer makes
the first letters and reminders for the drawn addresses as a background
job, follows its progress, and downloads the PDF."""

from __future__ import annotations

from typing import Any

from flask import Response as FlaskResponse
from flask import abort, flash, g, jsonify, redirect, render_template, url_for

from .. import jobs
from ..extensions import db
from ..models import Job, Role, Survey
from ..security import owned_or_404, role_required
from ..services import ServiceError
from ..services import letters as service
from ..unit_of_work import UnitOfWork
from ..vocabulary import JobStatus
from ..wording import counted
from . import bp
from .forms import MakeLettersForm, WordingForm


def _job(survey: Survey, job_id: int) -> Job:
    job = db.session.get(Job, job_id)
    if job is None or job.survey_id != survey.id or job.kind != service.KIND:
        abort(404)
    return job


def _page(survey: Survey, form: WordingForm | None = None) -> Any:
    if form is None:
        found = service.settings(survey)
        form = WordingForm(data={"why": found.why, "contact": found.contact})
    active = service.active_job(survey)
    return render_template(
        "reach/letters.html",
        survey=survey,
        has_sample=service.has_sample(survey),
        unused=len(service.recipients(survey, reminders=True)),
        waves=service.wave_rates(survey),
        jobs=service.jobs_for(survey),
        active=active,
        active_json=jobs.as_json(active) if active else None,
        default_why=service.DEFAULT_WHY,
        paper=service.paper_line(survey, service.settings(survey).contact),
        form=form,
        form_has_errors=bool(form.errors),
        JobStatus=JobStatus,
    ), (400 if form.errors else 200)


@bp.route("/<int:survey_id>/letters")
@role_required(Role.OFFICER)
def letters_page(survey_id: int) -> Any:
    return _page(owned_or_404(Survey, survey_id))


@bp.route("/<int:survey_id>/letters/wording", methods=["POST"])
@role_required(Role.OFFICER)
def letters_wording(survey_id: int) -> Any:
    survey = owned_or_404(Survey, survey_id)
    form = WordingForm()
    with UnitOfWork() as work:
        service.save_settings(
            survey, why=form.why.data or "", contact=form.contact.data or "", user_id=g.user.id
        )
    if not work.ok:
        form.refuse(work.error, "why")
        return _page(survey, form)
    flash("Letter wording saved: the next letters you make use it.", "success")
    return redirect(url_for("reach.letters_page", survey_id=survey.id))


@bp.route("/<int:survey_id>/letters/make", methods=["POST"])
@role_required(Role.OFFICER)
def letters_make(survey_id: int) -> Any:
    survey = owned_or_404(Survey, survey_id)
    reminders = MakeLettersForm().kind.data == "reminders"
    try:
        started = service.start(survey, reminders=reminders, user_id=g.user.id)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("reach.letters_page", survey_id=survey.id))
    job = started.job
    if started.already and job.status == JobStatus.DONE:
        flash("These letters were already made: download them below.", "info")
    elif started.already:
        flash("Letters are already being made for this survey: this is that job.", "info")
    else:
        db.session.commit()
        if job.status == JobStatus.FAILED:
            flash(f"The letters could not be made: {job.error}", "error")
        elif job.status == JobStatus.DONE:
            flash(f"{counted(job.total, 'letter is', 'letters are')} ready to download.", "success")
    return redirect(url_for("reach.letters_page", survey_id=survey.id))


@bp.route("/<int:survey_id>/letters/jobs/<int:job_id>.json")
@role_required(Role.OFFICER)
def letters_job_json(survey_id: int, job_id: int) -> Any:
    """The job's progress, for the page's refresh script."""
    survey = owned_or_404(Survey, survey_id)
    return jsonify(jobs.as_json(_job(survey, job_id)))


@bp.route("/<int:survey_id>/letters/jobs/<int:job_id>/letters.pdf")
@role_required(Role.OFFICER)
def letters_download(survey_id: int, job_id: int) -> Any:
    survey = owned_or_404(Survey, survey_id)
    job = _job(survey, job_id)
    pdf = service.download(survey, job, user_id=g.user.id)
    if pdf is None:
        flash("Those letters are not ready yet.", "error")
        return redirect(url_for("reach.letters_page", survey_id=survey.id))
    db.session.commit()
    wave = job.params.get("wave", 1)
    name = f"{survey.slug}-letters-{'first' if wave == 1 else f'reminder-{int(wave) - 1}'}.pdf"
    return FlaskResponse(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
