"""A survey's questions: adding, editing (wording, key, settings, section),
moving, removing, and their demographic role."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ...extensions import db
from ...models import (
    DEMOGRAPHIC_VARIABLES,
    SPECIAL_CATEGORY_VARIABLES,
    Question,
    QuestionType,
    Section,
    Survey,
    TextEntry,
    User,
)
from .. import ServiceError, typed_answers
from ..audit import record
from ..benchmarks import current_benchmarks
from ..content import (
    hint_key,
    prompt_key,
)
from ..path import is_special, ordered_questions
from ..surveys import add_question
from .common import _check_key, _check_text, _edit_text, _refuse_if_locked, _uid, is_locked
from .conditions import _dependants, condition_problems
from .sections import _sections


def _clean_settings(type_: str, raw: dict[str, Any]) -> dict[str, Any]:
    """Type-specific settings from a form: whole numbers only, checked."""
    settings: dict[str, Any] = {}

    def number(name: str, label: str, *, minimum: float | None = None, whole: bool = True) -> None:
        text = str(raw.get(name, "") or "").strip()
        if not text:
            return
        try:
            value: float = int(text) if whole else float(text)
        except ValueError:
            raise ServiceError(
                f"{label} must be a {'whole ' if whole else ''}number", field=name
            ) from None
        if minimum is not None and value < minimum:
            raise ServiceError(f"{label} must be at least {minimum:g}", field=name)
        settings[name] = value

    if type_ == QuestionType.RANKING:
        number("top_n", "The number of choices to rank", minimum=1)
    if type_ == QuestionType.TEXT:
        number("max_length", "The longest answer", minimum=1)
    if type_ == QuestionType.NUMBER:
        number("min", "The smallest number", whole=False)
        number("max", "The largest number", whole=False)
        if "min" in settings and "max" in settings and settings["min"] > settings["max"]:
            raise ServiceError("The smallest number must not be more than the largest", field="min")
        unit = str(raw.get("unit", "") or "").strip()[:40]
        if unit:
            settings["unit"] = unit
    if type_ == QuestionType.MULTIPLE:
        number("max_choices", "The most choices", minimum=1)
    if type_ in POSITIVE_TYPES and raw.get("positive_shown"):
        # The form shows the grouping: what it sends replaces what was there
        # (nothing ticked removes it). Codes are checked against the answers
        # by the caller, who knows them.
        wanted = raw.get("positive") or []
        if isinstance(wanted, str):
            wanted = [c for c in wanted.replace(",", " ").split() if c]
        settings["positive"] = [str(c) for c in wanted][:50]
        settings["positive_label"] = " ".join(str(raw.get("positive_label", "") or "").split())[
            :120
        ]
    settings.update(typed_answers.clean_settings(type_, raw))
    return settings


#: Question types whose results can group answers into a summary share.
POSITIVE_TYPES = frozenset({QuestionType.SINGLE, QuestionType.SCALE, QuestionType.GRID})


def _merge_positive(question: Question, settings: dict[str, Any]) -> dict[str, Any]:
    """Drop an empty grouping; refuse codes that are not the question's answers."""
    if "positive" not in settings:
        return settings
    codes = {o.code for o in question.choices if not o.is_missing}
    unknown = [c for c in settings["positive"] if c not in codes]
    if unknown:
        raise ServiceError(
            "Choose answers of this question for the summary share", field="positive"
        )
    if not settings["positive"]:
        settings = {k: v for k, v in settings.items() if k not in ("positive", "positive_label")}
    elif not settings.get("positive_label"):
        settings.pop("positive_label", None)
    return settings


def create_question(
    survey: Survey,
    section: Section | None,
    *,
    key: str,
    type: str,
    prompt: str,
    hint: str = "",
    required: bool = False,
    settings: dict[str, Any] | None = None,
    by: User | None = None,
    adults_only: bool = False,
) -> Question:
    key = _check_key(key)
    if type not in {t.value for t in QuestionType}:
        raise ServiceError("Choose the type of question", field="type")
    prompt = _check_text(prompt, "prompt", "prompt")
    if not prompt:
        raise ServiceError("Enter the question", field="prompt")
    hint = _check_text(hint, "hint", "hint")
    if section is not None and section.survey_id != survey.id:
        raise ServiceError("Choose one of this survey's sections", field="section")
    question = add_question(
        survey,
        section,
        key=key,
        type=type,
        prompt={survey.default_language: prompt},
        hint={survey.default_language: hint} if hint else None,
        required=required,
        settings=_clean_settings(type, settings or {}),
        adults_only=adults_only or (section is not None and section.kind == "special"),
    )
    if is_locked(survey):
        record(
            "question_added",
            partnership_id=survey.partnership_id,
            user_id=_uid(by),
            target=f"survey:{survey.id}:{key}",
        )
    db.session.refresh(survey)
    return question


def update_question(
    question: Question,
    *,
    prompt: str,
    hint: str = "",
    required: bool = False,
    settings: dict[str, Any] | None = None,
    key: str | None = None,
    section: Section | None = None,
    by: User | None = None,
    adults_only: bool | None = None,
) -> None:
    """Edit a question. Wording edits are always allowed and recorded; a new
    key only while nobody has answered."""
    survey = question.survey
    prompt = _check_text(prompt, "prompt", "prompt")
    if not prompt:
        raise ServiceError("Enter the question", field="prompt")
    hint = _check_text(hint, "hint", "hint")
    new_settings = _clean_settings(question.type, settings or {})
    extra = {k: v for k, v in (question.settings or {}).items() if k not in _SETTING_NAMES}
    new_key = _check_key(key) if key is not None else question.key
    if new_key != question.key:
        _refuse_if_locked(survey, f"Changing the key {question.key} to {new_key}")
        if any(q.key == new_key for q in survey.questions):
            raise ServiceError(
                f"This survey already has a question with the key {new_key}", field="key"
            )
        if _dependants(question):
            raise ServiceError(
                f"Questions {', '.join(_dependants(question))} are shown on condition of "
                f"{question.key}; remove those conditions before changing its key",
                field="key",
            )
    if section is not None and section.id != question.section_id:
        if section.survey_id != survey.id:
            raise ServiceError("Choose one of this survey's sections", field="section")
        # Work out the new order before changing anything, so a refusal leaves
        # the question where it was.
        rank = {s.id: i for i, s in enumerate(_sections(survey))}
        order = sorted(
            (q for q in survey.questions if q.id != question.id),
            key=lambda q: (rank.get(q.section_id or -1, -1), q.position),
        )
        target = max(
            (
                i
                for i, q in enumerate(order)
                if rank.get(q.section_id or -1, -1) <= rank[section.id]
            ),
            default=-1,
        )
        order.insert(target + 1, question)
        problems = condition_problems(survey, order)
        if problems:
            raise ServiceError(
                "Moving the question to that section breaks a condition: " + "; ".join(problems),
                field="section",
            )
        question.section_id = section.id
        question.position = _max_position(survey) + 1
    if new_key != question.key:
        _rename_question_texts(question, new_key)
    _edit_text(survey, prompt_key(question.key), prompt, by)
    _edit_text(survey, hint_key(question.key), hint, by)
    question.required = required
    if adults_only is not None:
        # A special-category question is never asked of under-16s, whatever the box says.
        question.adults_only = adults_only or is_special(question)
    merged = {**extra, **new_settings}
    if "positive" in new_settings:
        merged = _merge_positive(question, merged)
    question.settings = merged


_SETTING_NAMES = {"top_n", "max_length", "min", "max", "unit", "max_choices"}


def _max_position(survey: Survey) -> int:
    return max((q.position for q in survey.questions), default=0)


def _rename_question_texts(question: Question, new_key: str) -> None:
    old = question.key
    prefixes = {
        f"q.{old}.": f"q.{new_key}.",
        f"o.{old}.": f"o.{new_key}.",
        f"i.{old}.": f"i.{new_key}.",
    }
    for entry in db.session.scalars(select(TextEntry).filter_by(survey_id=question.survey_id)):
        for before, after in prefixes.items():
            if entry.key.startswith(before):
                entry.key = after + entry.key[len(before) :]
    question.key = new_key


def move_question(question: Question, direction: str) -> None:
    """Swap with the neighbouring question of the same section."""
    survey = question.survey
    siblings = [
        q for q in ordered_questions(survey.questions) if q.section_id == question.section_id
    ]
    i = siblings.index(question)
    j = i - 1 if direction == "up" else i + 1
    if j < 0 or j >= len(siblings):
        return
    other = siblings[j]
    order = ordered_questions(survey.questions)
    a, b = order.index(question), order.index(other)
    order[a], order[b] = order[b], order[a]
    problems = condition_problems(survey, order)
    if problems:
        raise ServiceError(
            "That move would put a question before the question its condition depends on: "
            + "; ".join(problems)
        )
    question.position, other.position = other.position, question.position
    if question.position == other.position:
        question.position += -1 if direction == "up" else 1


def delete_question(question: Question) -> None:
    survey = question.survey
    _refuse_if_locked(survey, f"Removing the question {question.key}")
    dependants = _dependants(question)
    if dependants:
        raise ServiceError(
            f"{', '.join(dependants)} {'is' if len(dependants) == 1 else 'are'} shown on "
            f"condition of {question.key}: remove that condition first"
        )
    for entry in db.session.scalars(select(TextEntry).filter_by(survey_id=survey.id)):
        if entry.key.split(".")[:2] in (
            ["q", question.key],
            ["o", question.key],
            ["i", question.key],
        ):
            db.session.delete(entry)
    db.session.delete(question)
    db.session.flush()
    db.session.refresh(survey)


def set_demographic(
    question: Question,
    variable: str | None,
    mapping: dict[str, str],
    *,
    by: User | None = None,
) -> None:
    """Tie a question to a benchmark variable and map its option codes to the
    benchmark's categories (codes mapped to nothing are not compared)."""
    survey = question.survey
    if not variable:
        question.demographic = None
        for option in question.choices:
            option.benchmark_category = None
        return
    if variable not in DEMOGRAPHIC_VARIABLES:
        raise ServiceError(f"Unknown demographic variable {variable!r}", field="variable")
    if question.type not in (QuestionType.SINGLE, QuestionType.AREA, QuestionType.POSTCODE):
        raise ServiceError(
            "Only single-choice, area and postcode questions can carry a demographic role",
            field="variable",
        )
    taken = [q.key for q in survey.questions if q.demographic == variable and q.id != question.id]
    if taken:
        raise ServiceError(f"{taken[0]} already asks about {variable}", field="variable")
    allowed = benchmark_categories(survey.partnership_id).get(variable)
    codes = {o.code for o in question.choices}
    for code, category in mapping.items():
        if code not in codes:
            raise ServiceError(f"{question.key} has no option {code!r}", field="mapping")
        if category and allowed is not None and category not in allowed:
            raise ServiceError(
                f"{category!r} is not a {variable} category in the current population "
                f"benchmarks ({', '.join(sorted(allowed))})",
                field=f"map_{code}",
            )
    question.demographic = variable
    question.special_category = variable in SPECIAL_CATEGORY_VARIABLES or question.special_category
    question.adults_only = question.adults_only or question.special_category
    for option in question.choices:
        option.benchmark_category = (
            (mapping.get(option.code) or None) if not option.is_missing else None
        )
    record(
        "demographic_mapping_changed",
        partnership_id=survey.partnership_id,
        user_id=_uid(by),
        target=f"survey:{survey.id}:{question.key}",
        details={"variable": variable, "mapped": sum(1 for v in mapping.values() if v)},
    )


def benchmark_categories(partnership_id: int) -> dict[str, list[str]]:
    """The current benchmark set's categories per variable, in file order."""
    current = current_benchmarks(partnership_id)
    result: dict[str, list[str]] = {}
    if current is None:
        return result
    for row in sorted(current.rows, key=lambda r: r.id):
        result.setdefault(row.variable, []).append(row.category)
    return result
