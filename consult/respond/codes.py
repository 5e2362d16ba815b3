"""Codes and links that bring a resident in: a letter's invitation code
(and the letter's short link), an outreach channel's link, and the resume
code of answers saved for later."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from ..extensions import db
from ..i18n import LANGUAGE_COOKIE, long_date
from ..models import Response, ResponseStatus, Survey
from ..security import public
from ..services import outreach
from ..services.responses import (
    InvitationError,
    InvitationProblem,
    ResumeError,
    ResumeProblem,
    aware,
    journey,
    record_language,
    redeem_invitation,
    resume,
)
from . import bp
from .common import (
    FRESH_CODE,
    IN_PROGRESS,
    NOT_SAVED,
    OUTREACH,
    _message,
    _open_response,
    _remember,
    _save_for_later,
    _session_map,
    _step_url,
    post_limit,
)

# --- outreach channel links ---------------------------------------------------------------

# Session key: survey id -> the outreach channel whose link this browser came through.


@bp.get("/<slug>/c/<token>")
@public
def channel_link(slug: str, token: str) -> Any:
    """A channel's link (poster, QR code): remember the channel for this
    browser, then the ordinary start page. An unknown or archived channel
    records nothing and still reaches the start page: a resident is never
    turned away by a stale poster."""
    survey: Survey = g.survey
    channel = outreach.active_channel(survey, token)
    if channel is not None:
        _remember(OUTREACH, survey, channel.id)
    language = request.args.get("lang")
    start_url = url_for("respond.start", slug=survey.slug)
    return redirect(f"{start_url}?{urlencode({'lang': language})}" if language else start_url)


@bp.route("/<slug>/save", methods=["GET", "POST"])
@public
@post_limit
def save(slug: str) -> Any:
    survey: Survey = g.survey
    response, elsewhere = _open_response(survey)
    if response is None:
        return elsewhere
    if request.method == "POST":
        return _save_for_later(survey, response)
    codes = _session_map(FRESH_CODE)
    code = codes.pop(str(survey.id), None)
    session[FRESH_CODE] = codes
    notes = _session_map(NOT_SAVED)
    note: Any = notes.pop(str(survey.id), None)
    if note is not None:
        session[NOT_SAVED] = notes
    current = journey(response)
    expires_at = aware(response.expires_at)
    not_saved = None
    if isinstance(note, dict) and note.get("key") in current.by_key:
        question = current.by_key[note["key"]]
        not_saved = {
            "prompt": g.texts.prompt(question, g.language),
            "message": str(note.get("message") or ""),
            "href": url_for("respond.question", slug=slug, key=question.key),
        }
    return render_template(
        "respond/save.html",
        code=code,
        # The code goes in the fragment, which browsers never send: it stays
        # out of access logs and proxies; the resume page posts it (app.js).
        resume_link=url_for("respond.resume", slug=slug, _external=True)
        + "#"
        + str(code).replace("-", "")
        if code
        else None,
        expires=long_date(expires_at) if expires_at else None,
        not_saved=not_saved,
        continue_url=_step_url(current.resume_step(), survey),
    )


def _after_resume(survey: Survey, response: Response) -> Any:
    if response.status == ResponseStatus.SUBMITTED:
        # The code says only that the answers were sent: never the reference,
        # never the confirmation page, so a found code reveals nothing.
        return _message(
            _("These answers have already been sent"),
            _(
                "The answers saved with this code have already been sent. Thank you for taking part."
            ),
            200,
            (url_for("respond.start", slug=survey.slug), _("Go to the start of the survey")),
        )
    _remember(IN_PROGRESS, survey, response.id)
    target = _step_url(journey(response).resume_step(), survey)
    if request.args.get("lang") or request.cookies.get(LANGUAGE_COOKIE):
        # A language chosen in this browser wins; the response records it.
        if record_language(response, g.language):
            db.session.commit()
        return redirect(target)
    # A fresh browser: the response's language travels with it (a resident
    # with little English may not find the switcher). `?lang=` makes the
    # language stick in this browser too.
    if response.language != g.language and response.language in g.offered_languages:
        target += "?" + urlencode({"lang": response.language})
    return redirect(target)


def _resume_error(problem: ResumeProblem, survey: Survey) -> str:
    if problem == ResumeProblem.EXPIRED:
        return _(
            "This code has expired. Answers are kept for %(days)s days after you last saved them. "
            "You can start the survey again.",
            days=survey.resume_days,
        )
    return _("We could not find saved answers with that code. Check the code and try again.")


@bp.route("/<slug>/resume", methods=["GET", "POST"], endpoint="resume")
@public
@post_limit
def resume_form(slug: str) -> Any:
    survey: Survey = g.survey
    error = None
    code = ""
    if request.method == "POST":
        code = request.form.get("code", "").strip()[:60]
        if not code:
            error = _("Enter your resume code")
        else:
            try:
                response = resume(survey, code)
            except ResumeError as problem:
                error = _resume_error(problem.problem, survey)
            else:
                return _after_resume(survey, response)
    page = render_template(
        "respond/resume.html",
        code=code,
        error=error,
        errors=[{"text": error, "href": "#code"}] if error else [],
        form_has_errors=bool(error),
    )
    return page, 400 if error else 200


@bp.get("/<slug>/l")
@public
def letter(slug: str) -> Any:
    """The short link printed on letters and in their QR code. The code rides
    in the fragment (/s/<slug>/l#code=...), which browsers never send: no
    server, proxy or log sees it. Browsers keep the fragment across this
    redirect, and the code page's script copies it into the field."""
    return redirect(url_for("respond.invitation", slug=slug))


# --- invitation codes ---------------------------------------------------------------------


@bp.route("/<slug>/invitation", methods=["GET", "POST"])
@public
@post_limit
def invitation(slug: str) -> Any:
    survey: Survey = g.survey
    error = None
    problem_kind = None
    code = ""
    if request.method == "POST":
        code = request.form.get("code", "").strip()[:60]
        if not code:
            error = _("Enter the code from your letter")
        else:
            try:
                response = redeem_invitation(survey, code, g.language)
            except InvitationError as problem:
                db.session.rollback()
                problem_kind = problem.problem
                if problem.problem == InvitationProblem.USED:
                    error = _(
                        "This code has already been used to answer the survey. Each code can be used once."
                    )
                elif problem.problem == InvitationProblem.CANCELLED:
                    error = _(
                        "This code has been cancelled and cannot be used. If you think this is wrong, contact the partnership."
                    )
                else:
                    error = _(
                        "We could not find that code. Check it against your letter and try again."
                    )
            else:
                db.session.commit()
                return _after_resume(survey, response)
    page = render_template(
        "respond/invitation.html",
        code=code,
        error=error,
        # A code of another survey is not told apart from a mistyped one.
        check_survey_name=problem_kind == InvitationProblem.UNKNOWN,
        errors=[{"text": error, "href": "#code"}] if error else [],
        form_has_errors=bool(error),
    )
    return page, 400 if error else 200
