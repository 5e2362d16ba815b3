"""Creating surveys and their questions, from the question bank or from
scratch. The builder's editing rules live here too as they grow."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from ..extensions import db
from ..i18n import LANGUAGES
from ..models import (
    Audience,
    Option,
    OptionKind,
    Partnership,
    Question,
    QuestionType,
    Section,
    Survey,
)
from ..question_bank import load_bank
from . import ServiceError
from .content import (
    hint_key,
    item_key,
    option_key,
    prompt_key,
    section_title_key,
    set_texts,
    survey_intro_key,
    survey_title_key,
)

SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,59}$")


def create_survey(
    partnership: Partnership,
    *,
    slug: str,
    title: dict[str, str],
    audience: str = Audience.RESIDENTS,
    languages: list[str] | None = None,
    default_language: str = "en",
    intro: dict[str, str] | None = None,
) -> Survey:
    slug = slug.strip().lower()
    if not SLUG_PATTERN.match(slug) or len(slug) > 80:
        raise ServiceError(
            "The web address must be lowercase letters, numbers and hyphens, like feeling-safe-2026",
            field="slug",
        )
    if db.session.scalars(select(Survey).filter_by(slug=slug)).first() is not None:
        raise ServiceError(
            f"The web address /s/{slug} is already used by another survey", field="slug"
        )
    if audience not in {a.value for a in Audience}:
        raise ServiceError("Choose who the survey is for", field="audience")
    languages = languages or [default_language]
    unknown = [code for code in languages if code not in LANGUAGES]
    if unknown:
        raise ServiceError(f"Unknown language code(s): {', '.join(unknown)}", field="languages")
    if not title.get(default_language, "").strip():
        raise ServiceError("Enter the survey's title", field="title")
    survey = Survey(
        partnership_id=partnership.id,
        slug=slug,
        audience=audience,
        default_language=default_language,
    )
    survey.languages = languages
    db.session.add(survey)
    db.session.flush()
    set_texts(survey, survey_title_key(), title, new=True)
    if intro:
        set_texts(survey, survey_intro_key(), intro, new=True)
    return survey


def add_section(
    survey: Survey, key: str, title: dict[str, str], *, kind: str = "standard"
) -> Section:
    if not KEY_PATTERN.match(key):
        raise ServiceError(
            "A section key must be lowercase letters, numbers and underscores", field="key"
        )
    position = db.session.scalar(
        select(func.coalesce(func.max(Section.position), 0)).filter_by(survey_id=survey.id)
    )
    section = Section(survey_id=survey.id, key=key, position=(position or 0) + 1, kind=kind)
    db.session.add(section)
    db.session.flush()
    set_texts(survey, section_title_key(key), title, new=True)
    return section


def _next_question_position(survey: Survey) -> int:
    position = db.session.scalar(
        select(func.coalesce(func.max(Question.position), 0)).filter_by(survey_id=survey.id)
    )
    return (position or 0) + 1


def add_question(
    survey: Survey,
    section: Section | None,
    *,
    key: str,
    type: str,
    prompt: dict[str, str],
    hint: dict[str, str] | None = None,
    options: list[dict[str, Any]] | None = None,
    items: list[dict[str, Any]] | None = None,
    required: bool = False,
    show_if: dict[str, Any] | None = None,
    demographic: str | None = None,
    special_category: bool = False,
    settings: dict[str, Any] | None = None,
    bank_key: str | None = None,
    statuses: dict[str, str] | None = None,
    adults_only: bool = False,
) -> Question:
    """Add a question with its options (and grid items), texts in every
    language given. `options`/`items` entries: code, label (dict by language),
    exclusive, is_missing, benchmark_category."""
    if not KEY_PATTERN.match(key):
        raise ServiceError(
            "A question key must start with a letter and use lowercase letters, numbers and underscores",
            field="key",
        )
    if type not in {t.value for t in QuestionType}:
        raise ServiceError(f"Unknown question type {type!r}", field="type")
    if db.session.scalars(select(Question).filter_by(survey_id=survey.id, key=key)).first():
        raise ServiceError(f"This survey already has a question with the key {key}", field="key")
    question = Question(
        survey_id=survey.id,
        section_id=section.id if section else None,
        key=key,
        position=_next_question_position(survey),
        type=type,
        required=required,
        show_if=show_if,
        demographic=demographic,
        special_category=special_category,
        adults_only=adults_only or special_category,
        settings=dict(settings or {}),
        bank_key=bank_key,
    )
    db.session.add(question)
    db.session.flush()
    set_texts(survey, prompt_key(key), prompt, statuses=statuses, new=True)
    if hint:
        set_texts(survey, hint_key(key), hint, statuses=statuses, new=True)
    codes: set[tuple[str, str]] = set()
    for kind, entries in ((OptionKind.CHOICE, options or []), (OptionKind.ITEM, items or [])):
        for position, entry in enumerate(entries, start=1):
            code = entry["code"]
            if not KEY_PATTERN.match(code):
                raise ServiceError(
                    f"Option code {code!r} must be lowercase letters, numbers and underscores",
                    field="options",
                )
            if (kind, code) in codes:
                raise ServiceError(f"The code {code} is used twice in {key}", field="options")
            codes.add((kind, code))
            db.session.add(
                Option(
                    question_id=question.id,
                    kind=kind,
                    code=code,
                    position=position,
                    exclusive=bool(entry.get("exclusive", False)),
                    is_missing=bool(entry.get("is_missing", False)),
                    benchmark_category=entry.get("benchmark_category"),
                )
            )
            label_key = option_key(key, code) if kind == OptionKind.CHOICE else item_key(key, code)
            set_texts(survey, label_key, entry.get("label", {}), statuses=statuses, new=True)
    db.session.flush()
    db.session.refresh(question)
    return question


def partnership_surveys(partnership_id: int) -> list[Survey]:
    """A partnership's surveys, newest first."""
    return list(
        db.session.scalars(
            select(Survey)
            .filter_by(partnership_id=partnership_id)
            .order_by(Survey.created_at.desc())
        )
    )


def survey_section(survey: Survey, section_id: int | None) -> Section | None:
    """One of this survey's sections by id; None for no id or another
    survey's section."""
    if section_id is None:
        return None
    return next((s for s in survey.sections if s.id == section_id), None)


def chosen_section(
    survey: Survey, section_id: int | None, *, missing: str = "Choose a section"
) -> Section | None:
    """The section new questions go in. A survey that has sections needs one
    chosen; a survey without any takes questions outside sections."""
    section = survey_section(survey, section_id)
    if section is None and survey.sections:
        raise ServiceError(missing, field="section")
    return section


def add_bank_questions(survey: Survey, section_id: int | None, bank_keys: list[str]) -> None:
    """Copy the chosen items of the question bank into a survey, all or none:
    each at most once per survey."""
    try:
        load_bank()
    except (OSError, ValueError):
        raise ServiceError("The question bank is not available") from None
    section = chosen_section(
        survey, section_id, missing="Choose the section to add the questions to"
    )
    if not bank_keys:
        raise ServiceError("Choose at least one question from the bank", field="items")
    existing = {q.key for q in survey.questions}
    taken = [k for k in bank_keys if k in existing]
    if taken:
        raise ServiceError(f"This survey already has {', '.join(taken)}", field="items")
    for key in bank_keys:
        add_bank_question(survey, section, key)


def add_bank_question(
    survey: Survey,
    section: Section | None,
    bank_key: str,
    *,
    key: str | None = None,
    show_if: dict[str, Any] | None = None,
    required: bool | None = None,
) -> Question:
    """Copy an item of the standard question bank into a survey. The copy is
    the officer's to edit; the bank's own item never changes."""
    bank = load_bank()
    item = bank.get(bank_key)
    if item is None:
        raise ServiceError(f"The question bank has no item {bank_key!r}", field="bank_key")
    wanted = set(survey.languages)

    def pick(texts: dict[str, str] | None) -> dict[str, str]:
        return {lang: value for lang, value in (texts or {}).items() if lang in wanted}

    statuses = {lang: bank.translation_status.get(lang, "machine") for lang in wanted}
    return add_question(
        survey,
        section,
        key=key or item.key,
        type=item.type,
        prompt=pick(item.prompt),
        hint=pick(item.hint) if item.hint else None,
        options=[
            {
                "code": o.code,
                "label": pick(o.label),
                "exclusive": o.exclusive,
                "is_missing": o.is_missing,
                "benchmark_category": o.benchmark_category,
            }
            for o in item.options
        ],
        items=[{"code": i.code, "label": pick(i.label)} for i in item.items],
        required=item.required if required is None else required,
        show_if=show_if,
        demographic=item.demographic,
        special_category=item.special_category,
        adults_only=item.adults_only,
        settings=dict(item.settings),
        bank_key=item.key,
        statuses=statuses,
    )
