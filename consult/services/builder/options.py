"""The answers a question offers, and the items of a grid or ranking:
adding, editing, moving and removing."""

from __future__ import annotations

from sqlalchemy import select

from ...extensions import db
from ...models import (
    Option,
    OptionKind,
    Question,
    QuestionType,
    TextEntry,
    User,
)
from ...vocabulary import OPTION_TYPES
from .. import ServiceError
from ..audit import record
from ..content import (
    item_key,
    option_key,
    set_text,
)
from .common import (
    TYPE_LABELS,
    _check_key,
    _check_text,
    _edit_text,
    _refuse_if_locked,
    _uid,
    is_locked,
)
from .conditions import _condition_source, _leaves


def add_option(
    question: Question,
    *,
    code: str,
    label: str,
    kind: str = OptionKind.CHOICE,
    exclusive: bool = False,
    is_missing: bool = False,
    by: User | None = None,
) -> Option:
    survey = question.survey
    if question.type not in OPTION_TYPES:
        raise ServiceError(
            f"A {TYPE_LABELS[QuestionType(question.type)].lower()} question has no options"
        )
    if kind == OptionKind.ITEM and question.type != QuestionType.GRID:
        raise ServiceError("Only a grid has items (rows)")
    code = _check_key(code, "option code")
    label = _check_text(label, "label", "label")
    if not label:
        raise ServiceError("Enter the answer's wording", field="label")
    if any(o.code == code and o.kind == kind for o in question.options):
        raise ServiceError(
            f"{question.key} already has an answer with the code {code}", field="code"
        )
    option = Option(
        question_id=question.id,
        kind=kind,
        code=code,
        position=max((o.position for o in question.options if o.kind == kind), default=0) + 1,
        exclusive=exclusive,
        is_missing=is_missing,
    )
    db.session.add(option)
    text_key = (
        option_key(question.key, code)
        if kind == OptionKind.CHOICE
        else item_key(question.key, code)
    )
    set_text(survey, text_key, survey.default_language, label)
    if is_locked(survey):
        record(
            "option_added",
            partnership_id=survey.partnership_id,
            user_id=_uid(by),
            target=f"survey:{survey.id}:{question.key}.{code}",
        )
    db.session.flush()
    db.session.refresh(question)
    return option


def _option_text_key(option: Option) -> str:
    q = option.question.key
    return (
        option_key(q, option.code) if option.kind == OptionKind.CHOICE else item_key(q, option.code)
    )


def update_option(
    option: Option,
    *,
    label: str,
    exclusive: bool = False,
    is_missing: bool = False,
    code: str | None = None,
    by: User | None = None,
) -> None:
    question = option.question
    survey = question.survey
    label = _check_text(label, "label", "label")
    if not label:
        raise ServiceError("Enter the answer's wording", field="label")
    new_code = _check_key(code, "option code") if code is not None else option.code
    if new_code != option.code:
        _refuse_if_locked(survey, f"Changing the code {option.code} to {new_code}")
        if any(o.code == new_code and o.kind == option.kind for o in question.options):
            raise ServiceError(
                f"{question.key} already has an answer with the code {new_code}", field="code"
            )
        if _option_in_conditions(option):
            raise ServiceError(
                f"A condition uses {question.key} = {option.code}; change that condition first",
                field="code",
            )
        old_key = _option_text_key(option)
        option.code = new_code
        new_key = _option_text_key(option)
        for entry in db.session.scalars(
            select(TextEntry).filter_by(survey_id=survey.id, key=old_key)
        ):
            entry.key = new_key
    _edit_text(survey, _option_text_key(option), label, by)
    if option.kind == OptionKind.CHOICE:
        option.exclusive = exclusive
        option.is_missing = is_missing
        if is_missing:
            option.benchmark_category = None


def _option_in_conditions(option: Option) -> bool:
    key = option.question.key
    return any(
        _condition_source(leaf) == key
        and option.code in [*leaf.get("in", []), *leaf.get("not_in", [])]
        for q in option.question.survey.questions
        for leaf in _leaves(q.show_if)
        if isinstance(leaf, dict) and q.show_if
    )


def delete_option(option: Option) -> None:
    question = option.question
    _refuse_if_locked(question.survey, f"Removing the answer {option.code} from {question.key}")
    if _option_in_conditions(option):
        raise ServiceError(
            f"A condition uses {question.key} = {option.code}; change that condition first"
        )
    for entry in db.session.scalars(
        select(TextEntry).filter_by(survey_id=question.survey_id, key=_option_text_key(option))
    ):
        db.session.delete(entry)
    db.session.delete(option)
    db.session.flush()
    db.session.refresh(question)


def move_option(option: Option, direction: str) -> None:
    siblings = sorted(
        (o for o in option.question.options if o.kind == option.kind), key=lambda o: o.position
    )
    i = siblings.index(option)
    j = i - 1 if direction == "up" else i + 1
    if 0 <= j < len(siblings):
        siblings[i], siblings[j] = siblings[j], siblings[i]
        for position, o in enumerate(siblings, start=1):
            o.position = position
