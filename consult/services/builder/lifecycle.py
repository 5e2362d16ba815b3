"""A survey as a whole: its settings, the checks before it opens, its status
changes, deleting a draft and repeating it as a new wave."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import func, select

from ...extensions import db
from ...i18n import LANGUAGES
from ...models import (
    Audience,
    Option,
    Partnership,
    Question,
    QuestionType,
    Section,
    Survey,
    SurveyStatus,
    TextEntry,
    User,
)
from ...vocabulary import OPTION_TYPES
from ...wording import counted
from .. import ServiceError
from ..audit import record
from ..content import (
    SurveyTexts,
    privacy_key,
    survey_intro_key,
    survey_title_key,
)
from ..surveys import SLUG_PATTERN, create_survey
from ..translation import missing_visible_strings
from .common import TRANSITIONS, _check_text, _edit_text, _refuse_if_locked, _uid
from .conditions import condition_problems
from .sections import _sections


def start_survey(
    partnership: Partnership,
    *,
    slug: str,
    title: str,
    audience: str,
    languages: list[str],
    by: User | None = None,
) -> Survey:
    """A new, empty survey made in the builder, in English first."""
    survey = create_survey(
        partnership,
        slug=slug,
        title={"en": (title or "").strip()[:300]},
        audience=audience,
        languages=languages,
    )
    record(
        "survey_created",
        partnership_id=survey.partnership_id,
        user_id=_uid(by),
        target=f"survey:{survey.id}:{survey.slug}",
    )
    return survey


@dataclass
class SurveySettings:
    title: str
    audience: str
    languages: list[str]
    opens_on: date | None = None
    closes_on: date | None = None
    retention_until: date | None = None
    privacy: str = ""
    intro: str = ""


def update_settings(survey: Survey, s: SurveySettings, *, by: User | None = None) -> None:
    title = _check_text(s.title, "title", "title")
    if not title:
        raise ServiceError("Enter the survey's title", field="title")
    if s.audience not in {a.value for a in Audience}:
        raise ServiceError("Choose who the survey is for", field="audience")
    if s.audience != survey.audience:
        _refuse_if_locked(survey, "Changing the audience")
    unknown = [c for c in s.languages if c not in LANGUAGES]
    if unknown:
        raise ServiceError(f"Unknown language code(s): {', '.join(unknown)}", field="languages")
    if s.opens_on and s.closes_on and s.closes_on < s.opens_on:
        raise ServiceError(
            "The closing date must be on or after the opening date", field="closes_on"
        )
    if s.retention_until and s.closes_on and s.retention_until < s.closes_on:
        raise ServiceError(
            "Responses must be kept at least until the survey closes: choose a later retention date",
            field="retention_until",
        )
    if len(s.privacy) > 5000 or len(s.intro) > 3000:
        raise ServiceError("The privacy notice or introduction is too long", field="privacy")
    _edit_text(survey, survey_title_key(), title, by)
    _edit_text(survey, privacy_key(), s.privacy.strip(), by)
    _edit_text(survey, survey_intro_key(), s.intro.strip(), by)
    survey.audience = s.audience
    survey.languages = s.languages
    survey.opens_at = _start_of(s.opens_on)
    survey.closes_at = _end_of(s.closes_on)
    survey.retention_until = s.retention_until


def _start_of(day: date | None) -> datetime | None:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) if day else None


def _end_of(day: date | None) -> datetime | None:
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=UTC) if day else None


def opening_problems(survey: Survey) -> list[str]:
    """Why the survey cannot open yet, in words an officer can act on."""
    problems = []
    if not survey.questions:
        problems.append("The survey has no questions yet.")
    empty = [q.key for q in survey.questions if q.type in OPTION_TYPES and not q.choices] + [
        q.key for q in survey.questions if q.type == QuestionType.GRID and not q.items
    ]
    if empty:
        problems.append(f"These questions have no answers to choose from: {', '.join(empty)}.")
    if any(q.section_id is None for q in survey.questions) and survey.sections:
        problems.append("Some questions are not in a section.")
    problems += [f"Condition on {p}" for p in condition_problems(survey)]
    if survey.retention_until is None:
        problems.append("Set a retention date: when raw responses will be deleted.")
    elif survey.retention_until <= date.today():
        problems.append("The retention date has passed: choose a later one.")
    if survey.closes_at is not None and _aware(survey.closes_at) <= datetime.now(UTC):
        problems.append("The closing date has passed: choose a later one.")
    for language, keys in missing_visible_strings(survey).items():
        name = LANGUAGES[language].english_name
        listed = ", ".join(keys[:8]) + (f" and {len(keys) - 8} more" if len(keys) > 8 else "")
        problems.append(
            f"{counted(len(keys), 'text', 'texts')} shown to residents "
            f"{'is' if len(keys) == 1 else 'are'} missing in {name}: {listed}."
        )
    return problems


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def change_status(survey: Survey, action: str, *, by: User | None = None) -> None:
    if action not in TRANSITIONS:
        raise ServiceError(f"Unknown action {action!r}")
    sources, target = TRANSITIONS[action]
    if survey.status not in sources:
        raise ServiceError(
            f"A {survey.status} survey cannot be {'re' if action == 'open' else ''}"
            f"{ {'open': 'opened', 'close': 'closed', 'publish': 'published', 'unpublish': 'unpublished'}[action] }"
        )
    if action == "open":
        problems = opening_problems(survey)
        if problems:
            raise ServiceError("The survey cannot open yet. " + " ".join(problems))
    previous = survey.status
    survey.status = target
    now = datetime.now(UTC)
    if action == "open" and (survey.opens_at is None or _aware(survey.opens_at) > now):
        survey.opens_at = now
    if action == "close" and (survey.closes_at is None or _aware(survey.closes_at) > now):
        survey.closes_at = now
    record(
        f"survey_{ {'open': 'opened', 'close': 'closed', 'publish': 'published', 'unpublish': 'unpublished'}[action] }",
        partnership_id=survey.partnership_id,
        user_id=_uid(by),
        target=f"survey:{survey.id}:{survey.slug}",
        details={"from": previous, "to": target},
    )


def delete_survey(survey: Survey, *, by: User | None = None) -> None:
    if survey.status != SurveyStatus.DRAFT:
        raise ServiceError("Only a draft survey can be deleted; close it instead")
    _refuse_if_locked(survey, "Deleting the survey")
    record(
        "survey_deleted",
        partnership_id=survey.partnership_id,
        user_id=_uid(by),
        target=f"survey:{survey.id}:{survey.slug}",
    )
    db.session.delete(survey)
    db.session.flush()


def repeat_as_new_wave(survey: Survey, slug: str, *, by: User | None = None) -> Survey:
    """Copy a survey as its next wave: same question keys, option codes and
    texts, so results compare over time with the first wave as baseline."""
    slug = (slug or "").strip().lower()
    if not SLUG_PATTERN.match(slug) or len(slug) > 80:
        raise ServiceError(
            "The web address must be lowercase letters, numbers and hyphens, like feeling-safe-2027",
            field="slug",
        )
    if db.session.scalars(select(Survey).filter_by(slug=slug)).first() is not None:
        raise ServiceError(
            f"The web address /s/{slug} is already used by another survey", field="slug"
        )
    baseline_id = survey.baseline_id or survey.id
    last_wave = db.session.scalar(
        select(func.max(Survey.wave)).where(
            (Survey.baseline_id == baseline_id) | (Survey.id == baseline_id)
        )
    )
    copy = Survey(
        partnership_id=survey.partnership_id,
        slug=slug,
        audience=survey.audience,
        status=SurveyStatus.DRAFT,
        default_language=survey.default_language,
        languages_csv=survey.languages_csv,
        resume_days=survey.resume_days,
        requires_invitation=survey.requires_invitation,
        baseline_id=baseline_id,
        wave=(last_wave or 1) + 1,
    )
    db.session.add(copy)
    db.session.flush()
    section_ids = {}
    for section in _sections(survey):
        new = Section(
            survey_id=copy.id, key=section.key, position=section.position, kind=section.kind
        )
        db.session.add(new)
        db.session.flush()
        section_ids[section.id] = new.id
    for q in survey.questions:
        new_q = Question(
            survey_id=copy.id,
            section_id=section_ids.get(q.section_id) if q.section_id else None,
            key=q.key,
            position=q.position,
            type=q.type,
            required=q.required,
            show_if=q.show_if,
            demographic=q.demographic,
            special_category=q.special_category,
            adults_only=q.adults_only,
            settings=dict(q.settings or {}),
            bank_key=q.bank_key,
        )
        new_q.options = [
            Option(
                kind=o.kind,
                code=o.code,
                position=o.position,
                exclusive=o.exclusive,
                is_missing=o.is_missing,
                benchmark_category=o.benchmark_category,
            )
            for o in q.options
        ]
        db.session.add(new_q)
    for t in survey.texts:
        db.session.add(
            TextEntry(
                survey_id=copy.id,
                key=t.key,
                language=t.language,
                value=t.value,
                status=t.status,
                source_digest=t.source_digest,
            )
        )
    db.session.flush()
    record(
        "survey_new_wave",
        partnership_id=survey.partnership_id,
        user_id=_uid(by),
        target=f"survey:{copy.id}:{copy.slug}",
        details={"from_survey": survey.id, "wave": copy.wave},
    )
    db.session.refresh(copy)
    return copy


def texts_for(survey: Survey) -> SurveyTexts:
    return SurveyTexts(survey)
