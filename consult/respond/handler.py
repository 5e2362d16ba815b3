"""The resident's question page: what it shows, and what an answer does.

The route (`questions.question`) only dispatches: a GET renders
`QuestionHandler.context()`, a POST redirects to `QuestionHandler.save()`.
The handler owns the whole save, in this order: lock the response and read
its journey, check the question is on the path, parse the post, store the
answer, record the language, drop the answers the change takes off the path,
work out the next page, and commit once. The rules for each step are in
`consult.services.responses` and `.answers`; the path comes from
`consult.services.path`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Question, QuestionType, Response, Survey
from ..services import ServiceError
from ..services.answers import (
    AnswerInvalid,
    field_name,
    first_input_id,
    form_values,
    format_number,
    input_id,
    number_bounds,
    parse_answer,
    rank_field,
    store_answer,
    text_max_length,
    top_n,
    uses_select,
    whole_numbers_only,
)
from ..services.content import SurveyTexts, section_title_key
from ..services.path import is_special
from ..services.responses import (
    Journey,
    journey,
    now_utc,
    open_for_change,
    prune,
    record_language,
    touch,
    with_answer,
)
from ..services.survey_topics import hint_with_note
from . import typed_fields
from .common import _back_url, _progress, _step_url

ORDINALS = [
    _l("1st choice"),
    _l("2nd choice"),
    _l("3rd choice"),
    _l("4th choice"),
    _l("5th choice"),
]


@dataclass(frozen=True)
class NextPage:
    url: str
    # "Save and come back later": the answer is stored, then the save page
    # issues a resume code instead of going on.
    save_for_later: bool = False


class QuestionHandler:
    """One question of one response, answered in `language`."""

    def __init__(
        self,
        survey: Survey,
        response: Response,
        key: str,
        language: str,
        texts: SurveyTexts,
        *,
        changing: bool = False,
    ) -> None:
        self.survey = survey
        self.response = response
        self.key = key
        self.language = language
        self.texts = texts
        # Reached from check your answers: back there once the survey is complete.
        self.changing = changing

    @property
    def here(self) -> str:
        change: dict[str, Any] = {"change": "1"} if self.changing else {}
        return url_for("respond.question", slug=self.survey.slug, key=self.key, **change)

    # --- GET ------------------------------------------------------------------------------

    def context(
        self,
        values: dict[str, list[str]] | None = None,
        invalid: AnswerInvalid | None = None,
    ) -> dict[str, Any]:
        """What the question template renders: the stored answer, or what was
        posted with the errors that refused it. Raises `NotOnPath`."""
        current = journey(self.response)
        question = current.on_path(self.key)
        if values is None:
            stored = current.answer(self.key)
            values = form_values(question, stored) if stored else {}
        return self._page(current, question, values, invalid)

    # --- POST -----------------------------------------------------------------------------

    def save(self, form: Any) -> NextPage:
        """Store the posted answer and say where the resident goes next. Raises
        `NotOnPath`, `ResponseNotOpen`, `AnswerTampered` or `AnswerInvalid`,
        with nothing stored."""
        now = now_utc()
        try:
            current = open_for_change(self.response, now)
            question = current.on_path(self.key)
            parsed = parse_answer(question, form, self.language, self.texts)
            store_answer(self.response, question, parsed)
            record_language(self.response, self.language)
            touch(self.response, self.survey, now)
            updated = prune(with_answer(current, question, parsed))
            # Worked out before the commit: afterwards every loaded question
            # would be expired and reloaded one query at a time, and a page
            # late in the survey would cost dozens of queries.
            target = self._next_location(updated)
            db.session.commit()
        except IntegrityError:
            # The same page sent twice at once (a retried request): the other
            # request stored this answer; show the page as it now stands.
            db.session.rollback()
            return NextPage(self.here)
        except ServiceError:
            db.session.rollback()
            raise
        return NextPage(target, save_for_later=form.get("action", "continue") == "save")

    def _next_location(self, updated: Journey) -> str:
        if self.changing and updated.is_complete:
            return url_for("respond.check", slug=self.survey.slug)
        following = updated.path.step_after(self.key)
        target = _step_url(following, self.survey)
        if self.changing and following is not None:
            target += "?change=1"
        return target

    # --- the page -------------------------------------------------------------------------

    def _page(
        self,
        current: Journey,
        question: Question,
        values: dict[str, list[str]],
        invalid: AnswerInvalid | None,
    ) -> dict[str, Any]:
        texts = self.texts
        language = self.language
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
            [{"text": e.message, "href": f"#{e.field_id}"} for e in invalid.errors]
            if invalid
            else []
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
        return dict(
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
            action_url=self.here,
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
