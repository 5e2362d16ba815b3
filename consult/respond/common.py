"""What the resident's pages share: the response this browser is answering
(kept in the session), where a step's page is, and the refusal pages."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from ..extensions import db
from ..models import Response, ResponseStatus, Survey
from ..ratelimits import resident_post_limits
from ..services import ServiceError
from ..services.path import CONSENT, Step
from ..services.responses import Journey, is_expired, issue_resume_code, record_language

# Session keys: survey id -> response id.
IN_PROGRESS = "respond"
SUBMITTED = "respond_done"
FRESH_CODE = "respond_code"
NOT_SAVED = "respond_not_saved"


def _public_limit() -> str:
    return current_app.config["RATELIMIT_PUBLIC"]


# Counted per resident (their response) with a per-address ceiling: see consult.ratelimits.
post_limit = resident_post_limits(_public_limit, IN_PROGRESS)


# Session key: survey id -> the outreach channel whose link this browser came through.
OUTREACH = "respond_channel"


def _message(title: str, message: str, status: int, link: tuple[str, str] | None = None) -> Any:
    return (
        render_template(
            "respond/message.html", title=title, message=message, link=link, status=status
        ),
        status,
    )


# --- the response in the session ------------------------------------------------------------


def _session_map(name: str) -> dict[str, int]:
    value = session.get(name)
    return dict(value) if isinstance(value, dict) else {}


def _remember(name: str, survey: Survey, response_id: int | None) -> None:
    values = _session_map(name)
    if response_id is None:
        values.pop(str(survey.id), None)
    else:
        values[str(survey.id)] = response_id
    session[name] = values


def _current_response(survey: Survey) -> Response | None:
    """The in-progress response this browser is answering, if any."""
    response_id = _session_map(IN_PROGRESS).get(str(survey.id))
    if response_id is None:
        return None
    response = db.session.get(Response, response_id)
    if response is None or response.survey_id != survey.id:
        _remember(IN_PROGRESS, survey, None)
        return None
    # A language chosen by link (the switcher) is the one it is answered in now.
    if request.args.get("lang") and record_language(response, g.language):
        db.session.commit()
    return response


def _step_url(step: Step | None, survey: Survey) -> str:
    if step is None:
        return url_for("respond.check", slug=survey.slug)
    if step.kind == CONSENT:
        return url_for("respond.consent", slug=survey.slug)
    assert step.question is not None
    return url_for("respond.question", slug=survey.slug, key=step.question.key)


def _no_response(survey: Survey) -> Any:
    """No response in this browser: the session ended, or the link was opened
    elsewhere. Send them to the start, where they can resume with a code."""
    done = _session_map(SUBMITTED).get(str(survey.id))
    if done is not None:
        return redirect(url_for("respond.done", slug=survey.slug))
    return redirect(url_for("respond.start", slug=survey.slug, expired="1"))


def _open_response(survey: Survey) -> tuple[Response | None, Any]:
    """The in-progress response, or the page to show instead."""
    response = _current_response(survey)
    if response is None:
        return None, _no_response(survey)
    if response.status == ResponseStatus.SUBMITTED:
        _remember(SUBMITTED, survey, response.id)
        _remember(IN_PROGRESS, survey, None)
        return None, redirect(url_for("respond.done", slug=survey.slug))
    if is_expired(response):
        _remember(IN_PROGRESS, survey, None)
        return None, _expired_page(survey)
    return response, None


def _expired_page(survey: Survey) -> Any:
    return _message(
        _("Your saved answers have expired"),
        _(
            "Answers are kept for %(days)s days after you last saved them. "
            "You can start the survey again.",
            days=survey.resume_days,
        ),
        410,
        (url_for("respond.start", slug=survey.slug), _("Start the survey again")),
    )


def _not_on_path(survey: Survey, current: Journey | None) -> Any:
    target = (
        _step_url(current.resume_step(), survey)
        if current
        else url_for("respond.start", slug=survey.slug)
    )
    return _message(
        _("This question is not part of your survey"),
        _(
            "Your earlier answers mean this question does not apply to you, or the address is wrong."
        ),
        404,
        (target, _("Continue the survey")),
    )


def _tampered(survey: Survey, back: str, detail: str | None = None) -> Any:
    return _message(
        _("There is a problem with your answer"),
        (detail + " " if detail else "")
        + _("Nothing was saved. Go back to the question and try again."),
        400,
        (back, _("Go back to the question")),
    )


def _change_arg() -> dict[str, Any]:
    return {"change": "1"} if request.args.get("change") else {}


def _back_url(current: Journey, step_key: str, kind: str = "question") -> str:
    survey = current.survey
    if request.args.get("change"):
        return url_for("respond.check", slug=survey.slug)
    previous = current.path.step_before(step_key, kind)
    if previous is None:
        return url_for("respond.start", slug=survey.slug)
    return _step_url(previous, survey)


def _progress(current: Journey, key: str | None) -> str | None:
    number = current.path.question_number(key) if key else None
    total = current.path.estimated_total
    if number is None or not total:
        return None
    return _("Question %(number)s of about %(total)s", number=number, total=total)


def _save_for_later(survey: Survey, response: Response) -> Any:
    try:
        code = issue_resume_code(response)
    except ServiceError:
        db.session.rollback()
        return _open_response(survey)[1] or redirect(url_for("respond.start", slug=survey.slug))
    db.session.commit()
    codes = _session_map(FRESH_CODE)
    # Shown once, on the next page, then gone: only a digest is stored.
    codes[str(survey.id)] = code  # type: ignore[assignment]
    session[FRESH_CODE] = codes
    return redirect(url_for("respond.save", slug=survey.slug))
