""" "You said, we did": what the partnership heard, and what it will do about
each priority, published for the residents who answered, in their language.

The texts are survey content like any other (`TextEntry` rows, keys
`feedback.intro`, `feedback.<priority>.heard`, `feedback.<priority>.did`),
so they go through the same translation workflow: a translation records the
source it was made from, is marked draft or reviewed, and a missing one falls
back to the survey's default language.

Publishing is allowed once the survey has closed, and moves it from `closed`
to `published` (the last status in its life: results are final and residents
can read what happened). Fieldwork is over by then, so there is no need for a
separate flag; unpublishing moves it back to `closed`. Edits to a published
page show at once, and are audited like the publication itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select

from ..extensions import db
from ..i18n import LANGUAGES
from ..models import (
    Question,
    QuestionType,
    Survey,
    SurveyStatus,
    TextEntry,
    TranslationStatus,
    User,
)
from . import ServiceError
from .audit import record
from .content import SurveyTexts, digest, set_text
from .path import ordered_questions
from .report import public_figures
from .survey_cache import definition_changed

INTRO_KEY = "feedback.intro"
MAX_TEXT = 2000


def heard_key(code: str) -> str:
    return f"feedback.{code}.heard"


def did_key(code: str) -> str:
    return f"feedback.{code}.did"


@dataclass(frozen=True)
class Priority:
    code: str
    label: str
    question_key: str


def priority_questions(survey: Survey) -> list[Question]:
    return [q for q in ordered_questions(survey.questions) if q.type == QuestionType.RANKING]


def feedback_priorities(survey: Survey, language: str | None = None) -> list[Priority]:
    """The priorities residents were asked to rank, in the order they were
    asked (each code once, whatever question it came from)."""
    texts = SurveyTexts(survey)
    language = language or survey.default_language
    found: dict[str, Priority] = {}
    for question in priority_questions(survey):
        for option in question.choices:
            if option.code not in found:
                found[option.code] = Priority(
                    option.code, texts.option(question, option.code, language), question.key
                )
    return list(found.values())


def feedback_keys(survey: Survey) -> list[str]:
    keys = [INTRO_KEY]
    for p in feedback_priorities(survey):
        keys += [heard_key(p.code), did_key(p.code)]
    return keys


@dataclass(frozen=True)
class LanguageProgress:
    code: str
    name: str
    written: int
    total: int
    reviewed: int
    outdated: int

    @property
    def complete(self) -> bool:
        return self.written == self.total and self.outdated == 0


def progress(survey: Survey) -> list[LanguageProgress]:
    """For each language: how many of the texts the default language has are
    written in it, reviewed, or out of date (the source changed since)."""
    entries = db.session.scalars(
        select(TextEntry).where(TextEntry.survey_id == survey.id, TextEntry.key.like("feedback.%"))
    ).all()
    by_language: dict[str, dict[str, TextEntry]] = {}
    for entry in entries:
        if entry.value:
            by_language.setdefault(entry.language, {})[entry.key] = entry
    source = by_language.get(survey.default_language, {})
    result = []
    for code in survey.languages:
        mine = by_language.get(code, {})
        written = [k for k in source if k in mine]
        outdated = 0
        if code != survey.default_language:
            outdated = sum(1 for k in written if mine[k].source_digest != digest(source[k].value))
        reviewed = sum(1 for k in written if mine[k].status == TranslationStatus.REVIEWED)
        language = LANGUAGES.get(code)
        result.append(
            LanguageProgress(
                code,
                language.english_name if language else code,
                len(written),
                len(source),
                reviewed,
                outdated,
            )
        )
    return result


def current_texts(survey: Survey, language: str) -> dict[str, str]:
    """The texts written in `language` itself (no fallback): the edit form."""
    return _by_key(survey, language, TextEntry.value)


def text_statuses(survey: Survey, language: str) -> dict[str, str]:
    return _by_key(survey, language, TextEntry.status)


def _by_key(survey: Survey, language: str, column: Any) -> dict[str, str]:
    """One column of the feedback texts written in `language`, by key."""
    rows = db.session.execute(
        select(TextEntry.key, column).where(
            TextEntry.survey_id == survey.id,
            TextEntry.language == language,
            TextEntry.key.like("feedback.%"),
        )
    ).all()
    return {key: value for key, value in rows}


def save_feedback(
    survey: Survey,
    language: str,
    values: dict[str, str],
    user: User,
    *,
    reviewed: bool = False,
) -> int:
    """Write the texts of one language. An emptied box removes that text (the
    page then falls back to the default language for it). Returns how many
    texts changed."""
    if language not in survey.languages:
        raise ServiceError("The survey is not offered in that language", field="lang")
    allowed = set(feedback_keys(survey))
    unknown = [k for k in values if k not in allowed]
    if unknown:
        raise ServiceError("Some of the texts sent do not belong to this survey")
    errors = [k for k, v in values.items() if len(v) > MAX_TEXT]
    if errors:
        raise ServiceError(f"Each text must be {MAX_TEXT} characters or fewer", field=errors[0])
    existing = current_texts(survey, language)
    statuses = text_statuses(survey, language)
    is_source = language == survey.default_language
    changed = 0
    for key in feedback_keys(survey):
        if key not in values:
            continue
        value = values[key].strip().replace("\r\n", "\n")
        if not value:
            if key in existing:
                db.session.execute(
                    delete(TextEntry).where(
                        TextEntry.survey_id == survey.id,
                        TextEntry.key == key,
                        TextEntry.language == language,
                    )
                )
                definition_changed(survey)
                changed += 1
            continue
        wanted_status = None
        if not is_source:
            wanted_status = TranslationStatus.REVIEWED if reviewed else TranslationStatus.DRAFT
        if existing.get(key) == value and (is_source or statuses.get(key) == wanted_status):
            continue
        set_text(survey, key, language, value, status=wanted_status)
        changed += 1
    if changed:
        record(
            "feedback_edited",
            partnership_id=survey.partnership_id,
            user_id=user.id,
            target=f"survey:{survey.id}",
            details={"language": language, "texts_changed": changed, "reviewed": reviewed},
        )
    db.session.flush()
    return changed


def can_publish(survey: Survey) -> list[str]:
    """What stops publication, in words an officer can act on."""
    problems = []
    if survey.status in (SurveyStatus.DRAFT, SurveyStatus.OPEN):
        problems.append(
            "Close the survey first: feedback is published once the consultation has ended."
        )
    texts = current_texts(survey, survey.default_language)
    if not texts.get(INTRO_KEY):
        language = LANGUAGES.get(survey.default_language)
        name = language.english_name if language else survey.default_language
        problems.append(f"Write what the partnership heard (the introduction) in {name}.")
    return problems


def publish(survey: Survey, user: User) -> None:
    problems = can_publish(survey)
    if survey.status == SurveyStatus.PUBLISHED:
        raise ServiceError("The feedback is already published")
    if problems:
        raise ServiceError(" ".join(problems))
    survey.status = SurveyStatus.PUBLISHED
    record(
        "feedback_published",
        partnership_id=survey.partnership_id,
        user_id=user.id,
        target=f"survey:{survey.id}",
        details={
            "languages": [p.code for p in progress(survey) if p.written],
            "complete_languages": [p.code for p in progress(survey) if p.complete and p.total],
        },
    )
    db.session.flush()


def unpublish(survey: Survey, user: User) -> None:
    if survey.status != SurveyStatus.PUBLISHED:
        raise ServiceError("The feedback is not published")
    survey.status = SurveyStatus.CLOSED
    record(
        "feedback_unpublished",
        partnership_id=survey.partnership_id,
        user_id=user.id,
        target=f"survey:{survey.id}",
    )
    db.session.flush()


def is_published(survey: Survey) -> bool:
    return survey.status == SurveyStatus.PUBLISHED


@dataclass
class PublicPriority:
    code: str
    label: str
    band: str
    top_share: float | None
    heard: str
    did: str
    heard_fallback: bool
    did_fallback: bool


@dataclass
class PublicFeedback:
    survey: Survey
    language: str
    title: str
    intro: str
    intro_fallback: bool
    n_responses: int | None
    min_cell: int
    top_n: int
    priorities: list[PublicPriority]


def public_feedback(survey: Survey, language: str) -> PublicFeedback:
    """The published page's content in `language`, each text falling back to
    the default language where it has not been translated. Aggregate figures
    based on too few respondents are left out."""
    texts = SurveyTexts(survey)
    figures = public_figures(survey)
    labels = {p.code: p for p in feedback_priorities(survey, language)}
    order: list[dict[str, Any]] = []
    top_n = 3
    seen: set[str] = set()
    for table in figures["priorities"]:
        top_n = table["top_n"]
        for row in table["rows"]:
            if row["code"] not in seen:
                seen.add(row["code"])
                order.append(row)
    for code in labels:
        if code not in seen:
            order.append({"code": code, "band": "", "top_share": None})
    priorities = []
    for row in order:
        code = row["code"]
        heard, did = texts.get(heard_key(code), language), texts.get(did_key(code), language)
        if not heard and not did:
            # The page speaks only about priorities the partnership wrote about.
            continue
        priorities.append(
            PublicPriority(
                code=code,
                label=labels[code].label if code in labels else code,
                band=row["band"],
                top_share=row["top_share"],
                heard=heard,
                did=did,
                heard_fallback=bool(heard) and not texts.has(heard_key(code), language),
                did_fallback=bool(did) and not texts.has(did_key(code), language),
            )
        )
    intro = texts.get(INTRO_KEY, language)
    return PublicFeedback(
        survey=survey,
        language=language,
        title=texts.title(language),
        intro=intro,
        intro_fallback=bool(intro) and not texts.has(INTRO_KEY, language),
        n_responses=figures["n_responses"],
        min_cell=figures["min_cell"],
        top_n=top_n,
        priorities=priorities,
    )
