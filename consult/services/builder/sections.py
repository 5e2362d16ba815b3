"""A survey's sections: adding, renaming, moving and removing."""

from __future__ import annotations

from sqlalchemy import select

from ...extensions import db
from ...models import (
    Question,
    Section,
    Survey,
    TextEntry,
    User,
)
from ...vocabulary import SECTION_KINDS
from .. import ServiceError
from ..content import (
    section_title_key,
)
from ..surveys import add_section
from .common import _check_key, _check_text, _edit_text
from .conditions import condition_problems


def create_section(survey: Survey, key: str, title: str, *, kind: str = "standard") -> Section:
    key = _check_key(key, "section key")
    title = _check_text(title, "title", "title")
    if not title:
        raise ServiceError("Enter the section's title", field="title")
    if kind not in SECTION_KINDS:
        raise ServiceError("Choose the kind of section", field="kind")
    if any(s.key == key for s in survey.sections):
        raise ServiceError(f"This survey already has a section with the key {key}", field="key")
    section = add_section(survey, key, {survey.default_language: title}, kind=kind)
    db.session.refresh(survey)
    return section


def rename_section(section: Section, title: str, *, by: User | None = None) -> None:
    title = _check_text(title, "title", "title")
    if not title:
        raise ServiceError("Enter the section's title", field="title")
    _edit_text(section.survey, section_title_key(section.key), title, by)


def _sections(survey: Survey) -> list[Section]:
    return sorted(survey.sections, key=lambda s: s.position)


def _question_order_with_sections(survey: Survey, sections: list[Section]) -> list[Question]:
    rank = {s.id: i for i, s in enumerate(sections)}
    return sorted(survey.questions, key=lambda q: (rank.get(q.section_id or -1, -1), q.position))


def move_section(section: Section, direction: str) -> None:
    survey = section.survey
    sections = _sections(survey)
    i = sections.index(section)
    j = i - 1 if direction == "up" else i + 1
    if j < 0 or j >= len(sections):
        return
    sections[i], sections[j] = sections[j], sections[i]
    problems = condition_problems(survey, _question_order_with_sections(survey, sections))
    if problems:
        raise ServiceError(
            "Moving the section would put a question before the question its condition "
            "depends on: " + "; ".join(problems)
        )
    for position, s in enumerate(sections, start=1):
        s.position = position


def delete_section(section: Section) -> None:
    if section.questions:
        raise ServiceError(
            "Move or remove the section's questions first: a section with questions cannot be removed"
        )
    survey = section.survey
    for entry in db.session.scalars(
        select(TextEntry).filter_by(survey_id=survey.id, key=section_title_key(section.key))
    ):
        db.session.delete(entry)
    db.session.delete(section)
    db.session.flush()
    db.session.refresh(survey)
