"""What every resident page reads, kept per process: a survey's questions
(with their options and sections) and its texts.

Each page of the journey needs the whole questionnaire to work out the
respondent's path, and loading it from the database cost more than the rest
of the request together (about 200 ORM objects a page). The questionnaire
changes rarely and only through officers' edits, so each process keeps one
copy per survey *version*: `Survey.updated_at`, which a flush hook moves on
whenever a question, option, section or text of the survey is added, changed
or removed. The version is read with the survey on every request, so a page
never shows a questionnaire older than the database's, in any process.

Cached questions are detached from every session: read-only, shared by the
threads of a process, with everything a page reads loaded up front. Code
that edits a questionnaire loads its own attached copies (the builder, the
translation workflow); nothing here is for writing."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session, selectinload

from ..extensions import db
from ..models import Option, Question, Section, Survey, TextEntry, utcnow
from .path import ordered_questions

# Enough for every survey a partnership has open at once; the oldest go first.
MAX_ENTRIES = 64

_lock = threading.Lock()
_questions: OrderedDict[tuple[int, datetime], list[Question]] = OrderedDict()
_texts: OrderedDict[tuple[int, datetime, frozenset[str] | None], dict[tuple[str, str], str]] = (
    OrderedDict()
)


def _version(survey: Survey) -> tuple[int, datetime]:
    # Pending edits in this session count: flush them so the hook below moves
    # the version before it is read (a no-op when nothing is pending).
    db.session.flush()
    return survey.id, survey.updated_at


def _remember(store: OrderedDict[Any, Any], key: Any, value: Any) -> None:
    with _lock:
        store[key] = value
        store.move_to_end(key)
        while len(store) > MAX_ENTRIES:
            store.popitem(last=False)


def _lookup(store: OrderedDict[Any, Any], key: Any) -> Any:
    with _lock:
        value = store.get(key)
        if value is not None:
            store.move_to_end(key)
        return value


def survey_questions(survey: Survey) -> list[Question]:
    """The survey's questions in order, options and section loaded."""
    key = _version(survey)
    editing = _holds_questionnaire_objects()
    cached = None if editing else _lookup(_questions, key)
    if cached is not None:
        return list(cached)
    questions = list(
        db.session.scalars(
            select(Question)
            .where(Question.survey_id == survey.id)
            .options(selectinload(Question.options), selectinload(Question.section))
        ).all()
    )
    loaded = ordered_questions(questions)
    if editing:
        # This session already holds questions, options or sections (an
        # officer's request): the query returned those very objects, which
        # the request may go on to change. Leave them attached; do not cache.
        return loaded
    # Out of the session before anything can expire them: a commit later in
    # this request must not unload what other requests will read.
    for question in loaded:
        for option in question.options:
            db.session.expunge(option)
        if question.section is not None and question.section in db.session:
            db.session.expunge(question.section)
        db.session.expunge(question)
    _remember(_questions, key, loaded)
    return list(loaded)


def _holds_questionnaire_objects() -> bool:
    # A resident's session holds a survey, its partnership and a response.
    return any(
        isinstance(obj, Question | Option | Section) for obj in db.session.identity_map.values()
    )


def survey_texts(survey: Survey, languages: Iterable[str] | None) -> dict[tuple[str, str], str]:
    """(key, language) -> text for the given languages (and the survey's
    default one), or all languages when `languages` is None. Shared: do not
    change the dict returned."""
    wanted = None if languages is None else frozenset({*languages, survey.default_language})
    survey_id, version = _version(survey)
    key = (survey_id, version, wanted)
    cached = _lookup(_texts, key)
    if cached is not None:
        return cached
    stmt = select(TextEntry.key, TextEntry.language, TextEntry.value).where(
        TextEntry.survey_id == survey.id
    )
    if wanted is not None:
        stmt = stmt.where(TextEntry.language.in_(sorted(wanted)))
    # Core rows through the connection: the ORM result layer costs more than
    # the query for a survey of a few thousand texts.
    values = {(k, language): value for k, language, value in db.session.connection().execute(stmt)}
    _remember(_texts, key, values)
    return values


def definition_changed(survey: Survey) -> None:
    """Move the survey's version on: called by the flush hook, and directly
    for changes made with bulk statements, which the hook does not see."""
    now = utcnow()
    previous = survey.updated_at
    if previous is not None:
        if previous.tzinfo is None:
            previous = previous.replace(tzinfo=now.tzinfo)
        # Two edits within one tick of the clock must still be two versions.
        now = max(now, previous + timedelta(microseconds=1))
    survey.updated_at = now


def clear() -> None:
    with _lock:
        _questions.clear()
        _texts.clear()


def _survey_ids(session: Session, objects: Iterable[Any]) -> set[int]:
    ids: set[int] = set()
    for obj in objects:
        survey_id: int | None
        if isinstance(obj, Question | Section | TextEntry):
            survey_id = obj.survey_id if obj.survey_id is not None else _parent_id(obj)
        elif isinstance(obj, Option):
            question = (
                obj.question if obj.question_id is None else session.get(Question, obj.question_id)
            )
            survey_id = question.survey_id if question is not None else None
        else:
            continue
        if survey_id is not None:
            ids.add(survey_id)
    return ids


def _parent_id(obj: Question | Section | TextEntry) -> int | None:
    survey = obj.survey
    return survey.id if survey is not None else None


@event.listens_for(Session, "before_flush")
def _move_versions(session: Session, _context: Any, _instances: Any) -> None:
    changed = _survey_ids(
        session,
        [*session.new, *session.deleted, *(o for o in session.dirty if session.is_modified(o))],
    )
    for survey_id in changed:
        survey = session.get(Survey, survey_id)
        if survey is not None and survey not in session.deleted:
            definition_changed(survey)
