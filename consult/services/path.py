"""The one place that works out a respondent's path through a questionnaire.

Given a survey's questions and the answers so far, `compute_path` returns the
ordered steps the respondent is asked: questions whose `show_if` holds, and
the consent step in front of the special-category questions. Every view asks
this module whether a question may be shown or answered, so a tampered URL or
a post for a question that does not apply is refused by construction.

Conditions (`Question.show_if`) are JSON:

* ``{"question": "priorities", "in": ["something_else"]}`` – an earlier answer
  includes one of the codes (a grid condition may name an ``"item"``);
* ``{"question": k, "not_in": [...]}`` – answered, and none of the codes;
* ``{"question": k, "answered": true}`` (or ``false``);
* ``{"question": k, "gte": 16}`` (also ``gt``, ``lt``, ``lte``) for numbers
  and decimals, and with a YYYY-MM-DD bound for dates;
* ``{"all": [...]}``, ``{"any": [...]}``, ``{"not": {...}}``.

A condition may only look back: answers to questions later in the survey, or
to questions that are not on the path themselves, never count. That keeps the
path well defined (no cycles) and means a dropped answer can never keep a
question alive.

This module is pure: it reads the questions it is given and touches no
database, so the officer paper-entry screen and the exports can use it too."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..models import Question

CONSENT = "consent"
_ISO_DATE = re.compile(r"^\d{4}-\d\d-\d\d$")
QUESTION = "question"
# The code an age question uses for children; a question can name its own in
# settings["under_16_codes"].
UNDER_16_CODES = frozenset({"under_16"})


class AnswerLike(Protocol):
    """What a condition can see of an answer (see services.answers.ParsedAnswer)."""

    @property
    def codes(self) -> tuple[str, ...]: ...

    @property
    def items(self) -> Mapping[str, str]: ...

    @property
    def number(self) -> float | None: ...

    @property
    def is_empty(self) -> bool: ...


@dataclass(frozen=True)
class Step:
    kind: str  # QUESTION or CONSENT
    question: Question | None = None

    @property
    def key(self) -> str:
        return self.question.key if self.question is not None else CONSENT

    @property
    def is_consent(self) -> bool:
        return self.kind == CONSENT


@dataclass
class Path:
    steps: list[Step]
    # The resident said they are under 16: questions for 16 and over are not asked.
    under_16: bool = False
    # Special-category questions waiting behind a consent not yet given.
    pending_special: list[Question] = field(default_factory=list)
    # Questions whose condition did not hold (or that wait on consent): their
    # answers, if any, no longer apply.
    skipped: list[Question] = field(default_factory=list)

    @property
    def questions(self) -> list[Question]:
        return [s.question for s in self.steps if s.question is not None]

    @property
    def question_keys(self) -> list[str]:
        return [q.key for q in self.questions]

    @property
    def has_consent_step(self) -> bool:
        return any(s.is_consent for s in self.steps)

    def contains(self, key: str) -> bool:
        return key in self.question_keys

    def index(self, step_key: str, kind: str = QUESTION) -> int | None:
        for position, step in enumerate(self.steps):
            if step.kind == kind and step.key == step_key:
                return position
        return None

    def step_after(self, step_key: str, kind: str = QUESTION) -> Step | None:
        position = self.index(step_key, kind)
        if position is None or position + 1 >= len(self.steps):
            return None
        return self.steps[position + 1]

    def step_before(self, step_key: str, kind: str = QUESTION) -> Step | None:
        position = self.index(step_key, kind)
        if position is None or position == 0:
            return None
        return self.steps[position - 1]

    def question_number(self, key: str) -> int | None:
        """1-based position among the questions (the consent page is not a question)."""
        for number, question in enumerate(self.questions, start=1):
            if question.key == key:
                return number
        return None

    @property
    def estimated_total(self) -> int:
        """Questions on the path, counting those behind a consent not yet given:
        "Question 5 of about 24"."""
        return len(self.questions) + len(self.pending_special)


def ordered_questions(questions: Iterable[Question]) -> list[Question]:
    """Section order first, then question order within the survey."""
    return sorted(
        questions,
        key=lambda q: (q.section.position if q.section is not None else 0, q.position, q.id or 0),
    )


def is_special(question: Question) -> bool:
    return bool(question.special_category) or (
        question.section is not None and question.section.kind == "special"
    )


def adults_only(question: Question) -> bool:
    """Not asked of under-16s: the question's own setting, and always so for
    special-category questions (whatever the setting says)."""
    return bool(question.adults_only) or is_special(question)


def under_16_codes(question: Question) -> frozenset[str]:
    configured = (question.settings or {}).get("under_16_codes")
    return frozenset(configured) if configured else UNDER_16_CODES


def compute_path(
    questions: Iterable[Question],
    answers: Mapping[str, AnswerLike],
    special_consent: bool | None,
) -> Path:
    """The steps a respondent is asked, in order, given their answers so far."""
    steps: list[Step] = []
    on_path: dict[str, AnswerLike] = {}
    path = Path(steps=steps)
    for question in ordered_questions(questions):
        if not _holds(question.show_if, on_path):
            path.skipped.append(question)
            continue
        if path.under_16 and adults_only(question):
            path.skipped.append(question)
            continue
        if is_special(question):
            if special_consent is False:
                # The consent step stays, so the answer can be seen and changed.
                if not path.has_consent_step:
                    steps.append(Step(CONSENT))
                path.skipped.append(question)
                continue
            if special_consent is None:
                if not path.has_consent_step:
                    steps.append(Step(CONSENT))
                path.pending_special.append(question)
                path.skipped.append(question)
                continue
            if not path.has_consent_step:
                steps.append(Step(CONSENT))
        steps.append(Step(QUESTION, question))
        answer = answers.get(question.key)
        if answer is not None and not answer.is_empty:
            on_path[question.key] = answer
            if question.demographic == "age_band" and set(answer.codes) & under_16_codes(question):
                path.under_16 = True
    if path.under_16:
        # Said under 16 after the consent step? Never possible in a sane layout,
        # but the rule is absolute: no consent page and no 16-and-over questions.
        dropped = [s.question for s in steps if s.question is not None and adults_only(s.question)]
        steps[:] = [
            s for s in steps if not s.is_consent and not (s.question and adults_only(s.question))
        ]
        path.skipped.extend(dropped)
        path.pending_special.clear()
    return path


def _holds(condition: Any, answers: Mapping[str, AnswerLike]) -> bool:
    if not condition:
        return True
    if not isinstance(condition, dict):
        # A malformed condition shows the question: hiding it silently would
        # lose answers nobody could give.
        return True
    if "all" in condition:
        return all(_holds(part, answers) for part in condition["all"] or [])
    if "any" in condition:
        return any(_holds(part, answers) for part in condition["any"] or [])
    if "not" in condition:
        return not _holds(condition["not"], answers)
    key = condition.get("question")
    if not isinstance(key, str):
        return True
    answer = answers.get(key)
    answered = answer is not None and not answer.is_empty
    if "answered" in condition:
        return answered == bool(condition["answered"])
    if not answered:
        return False
    assert answer is not None
    item = condition.get("item")
    if item is not None:
        chosen = {answer.items[item]} if item in answer.items else set()
    else:
        chosen = set(answer.codes) | set(answer.items.values())
    if "in" in condition:
        return bool(chosen & set(condition["in"] or []))
    if "not_in" in condition:
        return not (chosen & set(condition["not_in"] or []))
    comparisons = {"gt": float.__gt__, "gte": float.__ge__, "lt": float.__lt__, "lte": float.__le__}
    for name, compare in comparisons.items():
        if name in condition:
            text = getattr(answer, "text", None)
            if answer.number is None and isinstance(text, str) and _ISO_DATE.match(text):
                # A date answer (YYYY-MM-DD) against a date: as strings, they
                # order as the dates do.
                bound = str(condition[name])
                if not _ISO_DATE.match(bound):
                    return True
                return {
                    "gt": text > bound,
                    "gte": text >= bound,
                    "lt": text < bound,
                    "lte": text <= bound,
                }[name]
            if answer.number is None:
                return False
            try:
                return compare(float(answer.number), float(condition[name]))
            except (TypeError, ValueError):
                return True
    return True


def first_incomplete(
    path: Path, answers: Mapping[str, AnswerLike], special_consent: bool | None
) -> Step | None:
    """The first step that still needs the respondent: the consent question
    not yet answered, or a required question without an answer."""
    for step in path.steps:
        if step.is_consent:
            if special_consent is None:
                return step
            continue
        assert step.question is not None
        answer = answers.get(step.question.key)
        if step.question.required and (answer is None or answer.is_empty):
            return step
    return None


def resume_step(
    path: Path, answers: Mapping[str, AnswerLike], special_consent: bool | None
) -> Step | None:
    """Where a returning respondent carries on: the step after the last one
    they answered (optional questions they passed over stay passed over), or
    the first incomplete step if that comes earlier. None: ready to check."""
    last_done = -1
    for position, step in enumerate(path.steps):
        if step.is_consent:
            done = special_consent is not None
        else:
            assert step.question is not None
            answer = answers.get(step.question.key)
            done = answer is not None and not answer.is_empty
        if done:
            last_done = position
    incomplete = first_incomplete(path, answers, special_consent)
    following = path.steps[last_done + 1] if last_done + 1 < len(path.steps) else None
    if incomplete is not None and (
        following is None or path.steps.index(incomplete) < path.steps.index(following)
    ):
        return incomplete
    return following
