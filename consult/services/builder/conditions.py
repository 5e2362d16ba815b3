"""Conditions: a question shown only on an *earlier* question's answer
(one of its codes, or a number, decimal or date compared with a value), so
the path through a questionnaire is worked out in one pass with no loops."""

from __future__ import annotations

from typing import Any

from ...models import (
    COMPARABLE_TYPES,
    Question,
    QuestionType,
    Survey,
    User,
)
from .. import ServiceError, typed_answers
from ..audit import record
from ..path import ordered_questions
from .common import CONDITION_SOURCE_TYPES, TYPE_LABELS, _uid


def _condition_source(show_if: dict[str, Any] | None) -> str | None:
    if not show_if:
        return None
    source = show_if.get("question")
    return source if isinstance(source, str) else None


def condition_problems(survey: Survey, order: list[Question] | None = None) -> list[str]:
    """Every condition in the survey that does not point at an earlier
    question's existing codes, given an order (the current one by default)."""
    order = order if order is not None else ordered_questions(survey.questions)
    position = {q.key: i for i, q in enumerate(order)}
    by_key = {q.key: q for q in order}
    problems = []
    for i, question in enumerate(order):
        if not question.show_if:
            continue
        try:
            validate_condition(question, question.show_if, by_key, position, i)
        except ServiceError as error:
            problems.append(f"{question.key}: {error.message}")
    return problems


def _leaves(condition: Any) -> list[Any]:
    """The simple conditions inside `all`/`any`/`not` combinations (the
    grammar consult.services.path evaluates)."""
    if isinstance(condition, dict):
        for combinator in ("all", "any"):
            if combinator in condition:
                parts = condition[combinator]
                return [
                    leaf
                    for part in (parts if isinstance(parts, list) else [parts])
                    for leaf in _leaves(part)
                ]
        if "not" in condition:
            return _leaves(condition["not"])
    return [condition]


def validate_condition(
    question: Question,
    show_if: dict[str, Any],
    by_key: dict[str, Question],
    position: dict[str, int],
    index: int,
) -> None:
    for leaf in _leaves(show_if):
        _validate_leaf(question, leaf, by_key, position, index)


def _validate_leaf(
    question: Question,
    leaf: Any,
    by_key: dict[str, Question],
    position: dict[str, int],
    index: int,
) -> None:
    source_key = _condition_source(leaf) if isinstance(leaf, dict) else None
    tests = [
        name
        for name in ("in", "not_in", "answered", "gt", "gte", "lt", "lte")
        if isinstance(leaf, dict) and name in leaf
    ]
    codes = leaf.get(tests[0]) if tests and tests[0] in ("in", "not_in") else None
    if (
        not source_key
        or not tests
        or (codes is not None and (not isinstance(codes, list) or not codes))
    ):
        raise ServiceError(
            "A condition needs a question and at least one answer, like "
            "“show if priorities is something_else”",
            field="codes" if source_key else "source",
        )
    if source_key == question.key:
        raise ServiceError(
            f"{question.key} cannot be shown on condition of its own answer", field="source"
        )
    source = by_key.get(source_key)
    if source is None:
        raise ServiceError(f"There is no question {source_key!r} in this survey", field="source")
    if position[source_key] > index:
        loop = any(
            _condition_source(x) == question.key
            for x in _leaves(source.show_if)
            if isinstance(x, dict)
        )
        raise ServiceError(
            f"{question.key} cannot depend on {source_key}, which comes after it"
            + (" (and depends on it in turn: that would be a loop)" if loop else "")
            + ". A condition can only use answers given earlier.",
            field="source",
        )
    if codes is not None:
        if source.type not in CONDITION_SOURCE_TYPES | {QuestionType.GRID}:
            raise ServiceError(
                f"{source_key} is a {TYPE_LABELS[QuestionType(source.type)].lower()} question; "
                "conditions can only use questions answered by choosing options",
                field="source",
            )
        known = {o.code for o in source.choices}
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise ServiceError(
                f"{source_key} has no answer with the code(s) {', '.join(map(str, unknown))}",
                field="codes",
            )
    elif tests[0] != "answered" and source.type not in COMPARABLE_TYPES:
        raise ServiceError(
            f"{source_key} is not a number or date question, so it cannot be compared",
            field="source",
        )


def set_condition(
    question: Question, source_key: str | None, codes: list[str], *, by: User | None = None
) -> None:
    """Show `question` only when an earlier question was answered with one of
    `codes`; `source_key=None` removes the condition."""
    survey = question.survey
    if not source_key:
        new = None
    else:
        new = {"question": source_key, "in": list(dict.fromkeys(codes))}
        order = ordered_questions(survey.questions)
        validate_condition(
            question,
            new,
            {q.key: q for q in order},
            {q.key: i for i, q in enumerate(order)},
            order.index(question),
        )
    _store_condition(survey, question, new, by)


COMPARISONS = {
    "gt": "more than / after",
    "gte": "at least / on or after",
    "lt": "less than / before",
    "lte": "at most / on or before",
}


def set_comparison(
    question: Question, source_key: str, comparison: str, value: str, *, by: User | None = None
) -> None:
    """Show `question` only when an earlier number, decimal or date answer
    compares with `value` (a number, or a date written YYYY-MM-DD)."""
    survey = question.survey
    order = ordered_questions(survey.questions)
    by_key = {q.key: q for q in order}
    source = by_key.get(source_key)
    if comparison not in COMPARISONS:
        raise ServiceError("Choose how to compare", field="compare")
    text = (value or "").strip()
    bound: float | str
    if source is not None and source.type == QuestionType.DATE:
        day = typed_answers.parse_iso(text)
        if day is None:
            raise ServiceError("Enter the date as YYYY-MM-DD, like 2024-01-31", field="value")
        bound = day.isoformat()
    else:
        try:
            bound = float(text)
        except ValueError:
            raise ServiceError("Enter a number to compare with, like 16", field="value") from None
        if bound != bound or bound in (float("inf"), float("-inf")):
            raise ServiceError("Enter a number to compare with, like 16", field="value")
        if bound.is_integer():
            bound = int(bound)
    new = {"question": source_key, comparison: bound}
    validate_condition(
        question,
        new,
        by_key,
        {q.key: i for i, q in enumerate(order)},
        order.index(question),
    )
    _store_condition(survey, question, new, by)


def _sources(show_if: Any) -> set[str]:
    return {
        k
        for leaf in _leaves(show_if)
        if (k := _condition_source(leaf) if isinstance(leaf, dict) else None)
    }


def _dependants(question: Question) -> list[str]:
    return [
        q.key
        for q in question.survey.questions
        if q.id != question.id and question.key in _sources(q.show_if)
    ]


def describe_condition(show_if: Any) -> str:
    """A condition in words, for officer pages: “priorities is something_else”."""
    if not show_if:
        return "always"
    if not isinstance(show_if, dict):
        return "always (the condition is not understood)"
    for combinator, joiner in (("all", " and "), ("any", " or ")):
        if combinator in show_if:
            return "(" + joiner.join(describe_condition(p) for p in show_if[combinator] or []) + ")"
    if "not" in show_if:
        return f"not {describe_condition(show_if['not'])}"
    key = show_if.get("question", "?")
    if "item" in show_if:
        key = f"{key} ({show_if['item']})"
    if "in" in show_if:
        return f"{key} is {' or '.join(map(str, show_if['in'] or []))}"
    if "not_in" in show_if:
        return f"{key} is answered but not {' or '.join(map(str, show_if['not_in'] or []))}"
    if "answered" in show_if:
        return f"{key} is {'answered' if show_if['answered'] else 'not answered'}"
    signs = {"gt": ">", "gte": "≥", "lt": "<", "lte": "≤"}
    for name, sign in signs.items():
        if name in show_if:
            return f"{key} {sign} {show_if[name]}"
    return "always (the condition is not understood)"


def _store_condition(survey: Survey, question: Question, new: Any, by: User | None) -> None:
    """Set a checked condition and audit it; an unchanged one records nothing."""
    if new == question.show_if:
        return
    question.show_if = new
    record(
        "condition_changed",
        partnership_id=survey.partnership_id,
        user_id=_uid(by),
        target=f"survey:{survey.id}:{question.key}",
        details={"show_if": new},
    )
