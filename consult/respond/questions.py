"""One question per page, and the consent page in front of the
special-category questions."""

from __future__ import annotations

from typing import Any

from flask import g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Question, QuestionType, Survey
from ..security import public
from ..services.answers import (
    AnswerInvalid,
    AnswerTampered,
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
from ..services.content import SurveyTexts, section_title_key
from ..services.path import CONSENT, is_special
from ..services.responses import (
    Journey,
    NotOnPath,
    ResponseNotOpen,
    journey,
    record_consent,
    save_answer,
)
from ..services.survey_topics import hint_with_note, topics
from . import bp, typed_fields
from .common import (
    NOT_SAVED,
    _back_url,
    _change_arg,
    _not_on_path,
    _open_response,
    _progress,
    _save_for_later,
    _session_map,
    _step_url,
    _tampered,
    post_limit,
)

ORDINALS = [
    _l("1st choice"),
    _l("2nd choice"),
    _l("3rd choice"),
    _l("4th choice"),
    _l("5th choice"),
]


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
