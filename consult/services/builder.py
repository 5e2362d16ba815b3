"""The questionnaire builder's editing rules and the survey lifecycle.

Two rules protect data. Once a survey has any response (in progress or
submitted), the question keys and option codes that stored answers refer to
cannot change and questions and options cannot be removed: wording may still
be edited (and every edit is written to the audit log), anything structural
means a new wave. And a question may only be shown on condition of an
*earlier* question's answer, so the path through a questionnaire can always
be worked out in one pass, with no loops.

Every function checks before it writes, so a refused action leaves the
survey exactly as it was."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select

from ..extensions import db
from ..i18n import LANGUAGES
from ..models import (
    CHOICE_TYPES,
    COMPARABLE_TYPES,
    DEMOGRAPHIC_VARIABLES,
    SPECIAL_CATEGORY_VARIABLES,
    Audience,
    Option,
    OptionKind,
    Question,
    QuestionType,
    Response,
    Section,
    Survey,
    SurveyStatus,
    TextEntry,
    User,
)
from ..vocabulary import OPTION_TYPES, SECTION_KINDS
from ..wording import counted
from . import ServiceError, typed_answers
from .audit import record
from .benchmarks import current_benchmarks
from .content import (
    SurveyTexts,
    hint_key,
    item_key,
    option_key,
    privacy_key,
    prompt_key,
    section_title_key,
    set_text,
    survey_intro_key,
    survey_title_key,
)
from .frames import ordered_questions
from .path import is_special
from .surveys import KEY_PATTERN, SLUG_PATTERN, add_question, add_section

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


# --- conditions -------------------------------------------------------------


def _condition_source(show_if: dict[str, Any] | None) -> str | None:
    if not show_if:
        return None
    source = show_if.get("question")
    return source if isinstance(source, str) else None


def condition_problems(survey: Survey, order: list[Question] | None = None) -> list[str]:
    """Every condition in the survey that does not point at an earlier
    question's existing codes, given an order (the current one by default)."""
    order = order if order is not None else ordered_questions(survey)
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
        order = ordered_questions(survey)
        validate_condition(
            question,
            new,
            {q.key: q for q in order},
            {q.key: i for i, q in enumerate(order)},
            order.index(question),
        )
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
    order = ordered_questions(survey)
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


# --- sections ----------------------------------------------------------------


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


# --- questions ---------------------------------------------------------------


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
    siblings = [q for q in ordered_questions(survey) if q.section_id == question.section_id]
    i = siblings.index(question)
    j = i - 1 if direction == "up" else i + 1
    if j < 0 or j >= len(siblings):
        return
    other = siblings[j]
    order = ordered_questions(survey)
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


# --- options -----------------------------------------------------------------


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


# --- survey settings and lifecycle ------------------------------------------


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
    from .translation import missing_visible_strings

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
