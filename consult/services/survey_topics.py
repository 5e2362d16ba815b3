"""Texts that describe a survey, built from what it actually asks.

The consent page once listed religion and sexual orientation for a survey
that asked neither, and the bank's sex question promised "A question about
gender identity will follow" in surveys that had none. Both now come from
the survey's own questions: their demographic roles, or their keys when an
officer wrote the question without a role."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from babel.lists import format_list
from flask_babel import LazyString, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..models import Question

# Topic of a special-category question, by demographic role (or key).
_TOPIC_OF = {
    "ethnic_group": "ethnic_group",
    "ethnic_group_detailed": "ethnic_group",
    "religion": "religion",
    "disability": "disability",
    "sexual_orientation": "sexual_orientation",
    "gender_identity": "gender_identity",
}
TOPIC_LABELS: dict[str, LazyString] = {
    "ethnic_group": _l("Ethnic group"),
    "religion": _l("Religion or belief"),
    "disability": _l("Health or disability"),
    "sexual_orientation": _l("Sexual orientation"),
    "gender_identity": _l("Gender identity"),
}


def _role(question: Question) -> str | None:
    for name in (question.demographic, question.key):
        if name and name in _TOPIC_OF:
            return _TOPIC_OF[name]
    return None


def topics(questions: Iterable[Question], prompt_of: object = None) -> list[str]:
    """What the given (special-category) questions ask about, in the
    resident's language, once each and in the order asked. A question with no
    known role is described by its own prompt (`prompt_of(question)`)."""
    seen: set[str] = set()
    result: list[str] = []
    for question in questions:
        role = _role(question)
        if role is not None:
            label = str(TOPIC_LABELS[role])
        elif callable(prompt_of):
            label = str(prompt_of(question))
        else:
            label = question.key
        if label not in seen:
            seen.add(label)
            result.append(label)
    return result


def special_topics_sentence(questions: Sequence[Question], prompt_of: object = None) -> str:
    """ "Questions on these topics are optional …: ethnic group and religion or
    belief." for the start page, or "" when the survey asks none."""
    labels = topics(questions, prompt_of)
    if not labels:
        return ""
    locale = str(get_locale() or "en")
    # Topic names start a bullet on the consent page; mid-sentence they do not.
    words = [
        label[:1].lower() + label[1:] if label in _topic_words() else label for label in labels
    ]
    return _(
        "Questions on these topics are optional and asked only if you agree: %(topics)s.",
        topics=format_list(words, locale=locale),
    )


def _topic_words() -> set[str]:
    return {str(label) for label in TOPIC_LABELS.values()}


def _is_role(question: Question, role: str) -> bool:
    return role in (question.demographic, question.key)


def note_for(question: Question, following: Sequence[Question]) -> str:
    """A sentence the survey adds to a question's hint because of what comes
    after it: the Census's sex question announces the gender identity
    question, but only where one follows on this resident's path."""
    if _is_role(question, "sex") and any(_is_role(q, "gender_identity") for q in following):
        return _("A question about gender identity will follow.")
    return ""


def hint_with_note(hint: str, question: Question, path_questions: Sequence[Question]) -> str:
    """The question's own hint, followed by `note_for` if any."""
    keys = [q.key for q in path_questions]
    following = path_questions[keys.index(question.key) + 1 :] if question.key in keys else []
    note = note_for(question, following)
    if note and note in hint:  # an officer already wrote it into the hint
        note = ""
    return " ".join(part for part in (hint, note) if part)
