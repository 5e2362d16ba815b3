"""The resident's journey: /s/<slug>/… — start, one question per page,
consent for special-category questions, check your answers, submit,
confirmation; save and come back with a resume code; invitation codes.

No sign-in. The in-progress response's id lives in the signed session cookie
(one per survey); the language in its own cookie, so it outlives the session.
Views are thin: the path, the answers and the submission rules are in
`consult.services.path`, `.answers` and `.responses`.

Status codes, chosen so a resident and a crawler both get the truth:
draft survey 404 (it does not exist yet for the public); not yet open 403 (it
exists, with a date, but cannot be answered yet); closed 410 (gone for good);
a question not on the respondent's path 404; a post that the form could not
have sent (foreign option code, unknown grid row, extra picks) 400."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError

from ..app import LANGUAGE_COOKIE
from ..extensions import db
from ..i18n import LANGUAGES, long_date
from ..models import Audience, Question, QuestionType, Response, ResponseStatus, Survey
from ..ratelimits import resident_post_limits
from ..security import public
from ..services import ServiceError, outreach, postcodes
from ..services.answers import (
    AnswerInvalid,
    AnswerTampered,
    describe,
    field_name,
    first_input_id,
    form_values,
    format_number,
    input_id,
    number_bounds,
    rank_field,
    text_max_length,
    top_n,
    uses_select,
    whole_numbers_only,
)
from ..services.content import SurveyTexts, privacy_key, section_title_key, survey_intro_key
from ..services.path import CONSENT, Step, is_special
from ..services.responses import (
    Availability,
    Incomplete,
    InvitationError,
    InvitationProblem,
    Journey,
    NotOnPath,
    ResponseNotOpen,
    ResumeError,
    ResumeProblem,
    availability,
    aware,
    find_survey,
    is_expired,
    issue_resume_code,
    journey,
    negotiate_language,
    offered_languages,
    record_consent,
    redeem_invitation,
    resume,
    save_answer,
    start_response,
    submit,
)
from ..services.sampling import has_sample
from ..services.survey_cache import survey_questions
from ..services.survey_topics import hint_with_note, special_topics_sentence, topics
from . import typed_fields

bp = Blueprint("respond", __name__, url_prefix="/s")

# Session keys: survey id -> response id.
IN_PROGRESS = "respond"
SUBMITTED = "respond_done"
FRESH_CODE = "respond_code"
NOT_SAVED = "respond_not_saved"

ORDINALS = [
    _l("1st choice"),
    _l("2nd choice"),
    _l("3rd choice"),
    _l("4th choice"),
    _l("5th choice"),
]


def _public_limit() -> str:
    return current_app.config["RATELIMIT_PUBLIC"]


# Counted per resident (their response) with a per-address ceiling: see consult.ratelimits.
post_limit = resident_post_limits(_public_limit, IN_PROGRESS)


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
    if (
        request.args.get("lang")
        and response.status == ResponseStatus.IN_PROGRESS
        and response.language != g.language
    ):
        # The response records the language it is answered in.
        response.language = g.language
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


# --- outreach channel links ---------------------------------------------------------------

# Session key: survey id -> the outreach channel whose link this browser came through.
OUTREACH = "respond_channel"


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


# --- one question per page ----------------------------------------------------------------


@bp.route("/<slug>/q/<key>", methods=["GET", "POST"])
@public
@post_limit
def question(slug: str, key: str) -> Any:
    survey: Survey = g.survey
    response, elsewhere = _open_response(survey)
    if response is None:
        return elsewhere
    here = url_for("respond.question", slug=slug, key=key, **_change_arg())
    if request.method == "GET":
        current = journey(response)
        question = current.by_key.get(key)
        if question is None or not current.path.contains(key):
            return _not_on_path(survey, current)
        stored = current.answer(key)
        values = form_values(question, stored) if stored else {}
        return _question_page(current, question, values, None)

    # save_answer works out the journey itself, under the response's lock;
    # the pages that need it beforehand are the rare ones (a refused answer).
    action = request.form.get("action", "continue")
    try:
        updated = save_answer(response, key, request.form, g.language, texts=g.texts)
    except NotOnPath:
        db.session.rollback()
        return _not_on_path(survey, journey(response))
    except AnswerTampered as error:
        db.session.rollback()
        return _tampered(survey, here, error.message)
    except AnswerInvalid as invalid:
        db.session.rollback()
        if action == "save":
            # Saving for later keeps what was already stored; this page's
            # unfinished answer is not saved, and the next page says so.
            notes = _session_map(NOT_SAVED)
            notes[str(survey.id)] = {"key": key, "message": invalid.message}  # type: ignore[assignment]
            session[NOT_SAVED] = notes
            return _save_for_later(survey, response)
        current = journey(response)
        question = current.by_key[key]
        values = {name: request.form.getlist(name) for name in request.form}
        return _question_page(current, question, values, invalid), 400
    except ResponseNotOpen:
        db.session.rollback()
        return _open_response(survey)[1] or redirect(url_for("respond.start", slug=slug))
    except IntegrityError:
        db.session.rollback()
        return redirect(here)
    # Where to go next is worked out before the commit: afterwards every loaded
    # question would be expired and reloaded one query at a time, and a page
    # late in the survey would cost dozens of queries.
    if request.args.get("change") and updated.is_complete:
        target = url_for("respond.check", slug=slug)
    else:
        following = updated.path.step_after(key)
        target = _step_url(following, survey)
        if request.args.get("change") and following is not None:
            target += "?change=1"
    try:
        db.session.commit()
    except IntegrityError:
        # The same page sent twice at once (a retried request): the other
        # request stored this answer; show the page as it now stands.
        db.session.rollback()
        return redirect(here)
    if action == "save":
        return _save_for_later(survey, response)
    return redirect(target)


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


def _question_page(
    current: Journey,
    question: Question,
    values: dict[str, list[str]],
    invalid: AnswerInvalid | None,
) -> str:
    texts: SurveyTexts = g.texts
    language = g.language
    choices = [
        {
            "code": o.code,
            "label": texts.option(question, o.code, language),
            "id": input_id(question, o.code),
            "exclusive": o.exclusive,
            "missing": o.is_missing,
        }
        for o in question.choices
    ]
    items = [
        {
            "code": item.code,
            "label": texts.item(question, item.code, language),
            "name": field_name(question, item.code),
            "error": invalid.for_item(item.code) if invalid else None,
            "choices": [
                dict(choice, id=input_id(question, str(choice["code"]), item.code))
                for choice in choices
            ],
        }
        for item in question.items
    ]
    errors = (
        [{"text": e.message, "href": f"#{e.field_id}"} for e in invalid.errors] if invalid else []
    )
    low, high = number_bounds(question)
    section = question.section
    caption = texts.get(section_title_key(section.key), language) if section else ""
    kind = question.type
    if kind == QuestionType.AREA:
        kind = "select" if uses_select(question) else "single"
    elif kind == QuestionType.SCALE:
        kind = "single"
    elif kind == QuestionType.DECIMAL:
        kind = "number"
    elif kind in (QuestionType.DATE, QuestionType.POSTCODE):
        kind = str(kind)
    ranks = (
        [
            {
                "rank": rank,
                "name": rank_field(question, rank),
                "label": str(ORDINALS[rank - 1])
                if rank <= len(ORDINALS)
                else _("Choice %(number)s", number=rank),
            }
            for rank in range(1, top_n(question) + 1)
        ]
        if question.type == QuestionType.RANKING
        else []
    )
    return render_template(
        "respond/question.html",
        question=question,
        kind=kind,
        prompt=texts.prompt(question, language),
        hint=hint_with_note(texts.hint(question, language), question, current.path.questions),
        caption=caption,
        choices=choices,
        items=items,
        ranks=ranks,
        values=values,
        errors=errors,
        error=invalid.for_item(None) if invalid else None,
        field_id=first_input_id(question),
        name=field_name(question),
        max_length=text_max_length(question),
        low=format_number(low) if low is not None else None,
        high=format_number(high) if high is not None else None,
        decimals=question.type == QuestionType.DECIMAL or not whole_numbers_only(question),
        back_url=_back_url(current, question.key),
        progress=_progress(current, question.key),
        action_url=url_for(
            "respond.question", slug=current.survey.slug, key=question.key, **_change_arg()
        ),
        form_has_errors=bool(errors),
        special=is_special(question),
        count_messages=_count_messages() if question.type == QuestionType.TEXT else {},
        **typed_fields.page_context(question, choices, invalid),
    )


def _count_messages() -> dict[str, str]:
    # GOV.UK Frontend's character count fills in %{count} itself.
    return {
        "characters-under-limit.one": _("You have %{count} character remaining"),
        "characters-under-limit.other": _("You have %{count} characters remaining"),
        "characters-at-limit": _("You have 0 characters remaining"),
        "characters-over-limit.one": _("You have %{count} character too many"),
        "characters-over-limit.other": _("You have %{count} characters too many"),
    }


# --- consent to special-category questions ------------------------------------------------


@bp.route("/<slug>/consent", methods=["GET", "POST"])
@public
@post_limit
def consent(slug: str) -> Any:
    survey: Survey = g.survey
    response, elsewhere = _open_response(survey)
    if response is None:
        return elsewhere
    current = journey(response)
    if not current.path.has_consent_step:
        return _not_on_path(survey, current)
    error = None
    status = 200
    if request.method == "POST":
        choice = request.form.get("consent", "")
        if choice not in {"", "yes", "no"} or len(request.form.getlist("consent")) > 1:
            return _tampered(survey, url_for("respond.consent", slug=slug))
        if choice:
            try:
                updated = record_consent(response, choice == "yes")
            except ResponseNotOpen:
                db.session.rollback()
                return _open_response(survey)[1] or redirect(url_for("respond.start", slug=slug))
            if request.args.get("change") and updated.is_complete:
                target = url_for("respond.check", slug=slug)
            else:
                target = _step_url(updated.path.step_after(CONSENT, CONSENT), survey)
            db.session.commit()
            if request.form.get("action") == "save":
                return _save_for_later(survey, response)
            return redirect(target)
        if request.form.get("action") == "save":
            return _save_for_later(survey, response)
        error = _("Select yes if you are happy to answer these questions")
        status = 400
    selected = {True: "yes", False: "no", None: ""}[response.special_consent]
    page = render_template(
        "respond/consent.html",
        selected=request.form.get("consent", selected) if request.method == "POST" else selected,
        error=error,
        errors=[{"text": error, "href": "#consent-yes"}] if error else [],
        form_has_errors=bool(error),
        back_url=_back_url(current, CONSENT, CONSENT),
        action_url=url_for("respond.consent", slug=slug, **_change_arg()),
        topics=topics(
            current.path.pending_special or [q for q in current.questions if is_special(q)],
            lambda q: g.texts.prompt(q, g.language),
        ),
    )
    return page, status


# --- check your answers, submit, confirmation ---------------------------------------------


@bp.get("/<slug>/check")
@public
def check(slug: str) -> Any:
    survey: Survey = g.survey
    response, elsewhere = _open_response(survey)
    if response is None:
        return elsewhere
    current = journey(response)
    missing = current.first_incomplete()
    if missing is not None:
        return redirect(_step_url(missing, survey))
    texts: SurveyTexts = g.texts
    rows = []
    for step in current.path.steps:
        if step.is_consent:
            rows.append(
                {
                    "key": "consent",
                    "label": _(
                        "Answer questions about ethnicity, religion, health and sexual orientation"
                    ),
                    "lines": [_("Yes") if response.special_consent else _("No")],
                    "href": url_for("respond.consent", slug=slug, change="1"),
                }
            )
            continue
        q = step.question
        assert q is not None
        parsed = current.answer(q.key)
        rows.append(
            {
                "key": q.key,
                "label": texts.prompt(q, g.language),
                "lines": describe(q, parsed, texts, g.language) if parsed else [],
                "href": url_for("respond.question", slug=slug, key=q.key, change="1"),
            }
        )
    last = current.path.steps[-1] if current.path.steps else None
    return render_template(
        "respond/check.html",
        rows=rows,
        back_url=_step_url(last, survey) if last else url_for("respond.start", slug=slug),
    )


@bp.post("/<slug>/submit", endpoint="submit")
@public
@post_limit
def submit_response(slug: str) -> Any:
    survey: Survey = g.survey
    response = _current_response(survey)
    if response is None:
        return _no_response(survey)
    try:
        result = submit(response)
        db.session.commit()
    except Incomplete as missing:
        db.session.rollback()
        return redirect(_step_url(missing.step, survey))
    except ResponseNotOpen:
        db.session.rollback()
        _remember(IN_PROGRESS, survey, None)
        return _expired_page(survey)
    _remember(IN_PROGRESS, survey, None)
    _remember(SUBMITTED, survey, result.response.id)
    return redirect(url_for("respond.done", slug=slug))


@bp.get("/<slug>/done")
@public
def done(slug: str) -> Any:
    survey: Survey = g.survey
    response_id = _session_map(SUBMITTED).get(str(survey.id))
    response = db.session.get(Response, response_id) if response_id else None
    if (
        response is None
        or response.survey_id != survey.id
        or response.status != ResponseStatus.SUBMITTED
    ):
        return redirect(url_for("respond.start", slug=slug))
    return render_template("respond/done.html", response=response)


# --- save and come back -------------------------------------------------------------------


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
        if response.language != g.language:
            response.language = g.language
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
