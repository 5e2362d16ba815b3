"""What the builder's rules share: the lock that protects stored answers
(keys and codes fixed once a survey has responses), and the checks on keys
and texts every edit goes through."""

from __future__ import annotations

from sqlalchemy import func, select

from ...extensions import db
from ...models import (
    CHOICE_TYPES,
    QuestionType,
    Response,
    Survey,
    SurveyStatus,
    TextEntry,
    User,
)
from .. import ServiceError
from ..audit import record
from ..content import (
    set_text,
)
from ..surveys import KEY_PATTERN

RESERVED_PREFIX = "resp_"
# Types a condition can be set on: their answers are option codes.
CONDITION_SOURCE_TYPES = CHOICE_TYPES | {QuestionType.RANKING}
TYPE_LABELS = {
    QuestionType.SINGLE: "Single choice",
    QuestionType.MULTIPLE: "Multiple choice",
    QuestionType.SCALE: "Rating scale",
    QuestionType.GRID: "Grid of scales",
    QuestionType.RANKING: "Ranking (pick top N)",
    QuestionType.TEXT: "Free text",
    QuestionType.NUMBER: "Number",
    QuestionType.AREA: "Area (ward or postcode district)",
    QuestionType.DECIMAL: "Decimal number (like 1.5)",
    QuestionType.DATE: "Date (day, month, year)",
    QuestionType.POSTCODE: "Postcode (placed in a ward)",
}
MAX_TEXT = {"prompt": 1000, "hint": 1000, "label": 300, "title": 300}
TRANSITIONS = {
    "open": ({SurveyStatus.DRAFT, SurveyStatus.CLOSED}, SurveyStatus.OPEN),
    "close": ({SurveyStatus.OPEN}, SurveyStatus.CLOSED),
    "publish": ({SurveyStatus.CLOSED}, SurveyStatus.PUBLISHED),
    "unpublish": ({SurveyStatus.PUBLISHED}, SurveyStatus.CLOSED),
}


def _uid(by: User | None) -> int | None:
    return by.id if by else None


def response_count(survey: Survey) -> int:
    return int(
        db.session.scalar(select(func.count(Response.id)).filter_by(survey_id=survey.id)) or 0
    )


def is_locked(survey: Survey) -> bool:
    """True once anyone has started answering: stored answers refer to the
    question keys and option codes, so those are fixed from then on."""
    return response_count(survey) > 0


def _refuse_if_locked(survey: Survey, action: str) -> None:
    if is_locked(survey):
        raise ServiceError(
            f"{action} is not possible: this survey already has responses, and they refer to "
            "its question keys and option codes. Edit the wording instead, or use "
            "“Repeat as a new wave” to make a new version."
        )


def _check_key(key: str, what: str = "question key") -> str:
    key = (key or "").strip()
    if not KEY_PATTERN.match(key):
        raise ServiceError(
            f"The {what} {key!r} must start with a letter and use only lowercase letters, "
            "numbers and underscores (at most 60), like feel_safe_dark",
            field="key" if what == "question key" else "code",
        )
    if what == "question key" and key.startswith(RESERVED_PREFIX):
        raise ServiceError(
            f"Question keys starting with {RESERVED_PREFIX} are reserved for facts about "
            "the response itself (reference, language, channel)",
            field="key",
        )
    return key


def _check_text(value: str, kind: str, field: str) -> str:
    value = (value or "").strip()
    if len(value) > MAX_TEXT[kind]:
        raise ServiceError(
            f"The {kind} is {len(value)} characters long; the most is {MAX_TEXT[kind]}",
            field=field,
        )
    return value


def _edit_text(survey: Survey, key: str, value: str, by: User | None) -> bool:
    """Change the default-language text of `key`; record the change. Returns
    whether anything changed. Translations keep their old digest, so they
    show as outdated until a translator checks them."""
    language = survey.default_language
    entry = db.session.scalars(
        select(TextEntry).filter_by(survey_id=survey.id, key=key, language=language)
    ).first()
    old = entry.value if entry else ""
    if old == value:
        return False
    if not value:
        if entry is not None:
            db.session.delete(entry)
    else:
        set_text(survey, key, language, value)
    record(
        "wording_changed",
        partnership_id=survey.partnership_id,
        user_id=_uid(by),
        target=f"survey:{survey.id}:{key}",
        details={"language": language, "old": old[:300], "new": value[:300]},
    )
    return True
