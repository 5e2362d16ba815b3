"""The printable questionnaire: a survey as a PDF a resident fills in with a
pen, in any language the survey offers.

It is generated from the survey itself, so it never drifts from the online
questions: the partnership's name, the privacy notice, every question with
the number printed beside each answer (the number the paper-entry screen and
the response import read back, `paper.numbered`), routing in words ("If you
answered ‘No’, go to question 9"), grids as tables, a box for the form's
serial number and the address to post it back to.

Typesetting is WeasyPrint over the system's Pango and HarfBuzz, so Urdu is
set in Nastaliq, Arabic, Gujarati, Gurmukhi and Bengali are shaped, and a
right-to-left language lays the page out right to left."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from ..extensions import db
from ..i18n import LANGUAGES
from ..models import Partnership, Question, QuestionType, Survey
from . import ServiceError, postcodes
from .answers import top_n
from .audit import record
from .content import SurveyTexts, privacy_key, survey_intro_key
from .path import is_special, ordered_questions
from .survey_topics import special_topics_sentence, topics

ONE_CHOICE_TYPES = (QuestionType.SINGLE, QuestionType.SCALE, QuestionType.AREA)
RETURN_ADDRESS_MAX = 500


@dataclass
class PrintedOption:
    number: int
    code: str
    label: str


@dataclass
class PrintedQuestion:
    number: int
    key: str
    type: str
    prompt: str
    hint: str
    instruction: str
    options: list[PrintedOption] = field(default_factory=list)
    items: list[PrintedOption] = field(default_factory=list)
    only_if: str = ""  # "Answer this question only if …"
    routing: list[str] = field(default_factory=list)  # "If you answered ‘No’, go to question 9."
    consent_before: list[str] = field(default_factory=list)  # routing of the consent block
    columns: int = 1  # long lists (wards) in several columns


@dataclass
class Questionnaire:
    survey: Survey
    language: str
    direction: str
    title: str
    partnership: str
    intro: str
    privacy: str
    return_address: str
    questions: list[PrintedQuestion]
    consent_at: int | None  # the number of the first special-category question
    # What the special-category questions ask about, from the questions
    # themselves (never a fixed list of topics the survey may not ask).
    special_topics: str = ""  # "Questions on these topics are optional …: religion or belief."
    topics: list[str] = field(default_factory=list)  # listed above the consent question
    # What happens to a postcode the form asks for (only the ward, or the sector, is kept).
    postcode_notice: str = ""


def _simple_source(question: Question) -> tuple[str, set[str], bool] | None:
    """(source key, codes, negated) for a condition on one earlier answer."""
    condition = question.show_if
    if not isinstance(condition, dict) or "item" in condition:
        return None
    if "in" in condition:
        return condition.get("question", ""), set(condition["in"] or []), False
    if "not_in" in condition:
        return condition.get("question", ""), set(condition["not_in"] or []), True
    return None


def build_questionnaire(survey: Survey, language: str) -> Questionnaire:
    if language not in survey.languages:
        raise ServiceError(
            f"The survey is not offered in {language!r}; choose one of "
            f"{', '.join(survey.languages)}",
            field="lang",
        )
    texts = SurveyTexts(survey)
    questions = ordered_questions(survey.questions)
    numbers = {q.key: n for n, q in enumerate(questions, start=1)}
    by_key = {q.key: q for q in questions}
    printed: list[PrintedQuestion] = []
    with force_locale(language):
        for question in questions:
            printed.append(_question(question, numbers[question.key], texts, language))
        for index, question in enumerate(questions):
            entry = printed[index]
            source = _simple_source(question)
            if source is not None and source[0] in by_key:
                key, codes, negated = source
                source_question = by_key[key]
                wanted = [o.code for o in source_question.choices if (o.code in codes) != negated]
                labels = [texts.option(source_question, c, language) for c in wanted]
                entry.only_if = _(
                    "Answer this question only if you answered ‘%(answers)s’ to question "
                    "%(number)s.",
                    answers=" / ".join(labels),
                    number=numbers[key],
                )
            elif question.show_if:
                earlier = _sources(question.show_if)
                number = min((numbers[k] for k in earlier if k in numbers), default=None)
                if number is not None:
                    entry.only_if = _(
                        "Your answer to question %(number)s decides whether this question is "
                        "for you: answer it only if it applies.",
                        number=number,
                    )
            if question.type in ONE_CHOICE_TYPES:
                entry.routing = _go_to(question, questions, index, numbers, texts, language)
        consent_at = next((numbers[q.key] for q in questions if is_special(q)), None)
        consent_routing = []
        if consent_at is not None:
            after = next(
                (numbers[q.key] for q in questions[consent_at - 1 :] if not is_special(q)),
                None,
            )
            no = _("No, skip these questions")
            consent_routing.append(
                _(
                    "If you answered ‘%(answer)s’, go to question %(number)s.",
                    answer=no,
                    number=after,
                )
                if after is not None
                else _(
                    "If you answered ‘%(answer)s’, go to the end of the questionnaire.",
                    answer=no,
                )
            )
            printed[consent_at - 1].consent_before = consent_routing
        specials = [q for q in questions if is_special(q)]
        special_topics = special_topics_sentence(specials, lambda q: texts.prompt(q, language))
        topic_list = topics(specials, lambda q: texts.prompt(q, language))
        postcode_notice = postcodes.privacy_sentence(survey)
    return Questionnaire(
        survey=survey,
        language=language,
        direction=LANGUAGES[language].direction,
        title=texts.title(language),
        partnership=survey.partnership.name,
        intro=texts.get(survey_intro_key(), language),
        privacy=texts.get(privacy_key(), language),
        return_address=(survey.partnership.return_address or "").strip(),
        questions=printed,
        consent_at=consent_at,
        special_topics=special_topics,
        topics=topic_list,
        postcode_notice=postcode_notice,
    )


def _sources(condition: Any) -> set[str]:
    if not isinstance(condition, dict):
        return set()
    found = set()
    for part in (condition.get("all") or []) + (condition.get("any") or []):
        found |= _sources(part)
    if "not" in condition:
        found |= _sources(condition["not"])
    if isinstance(condition.get("question"), str):
        found.add(condition["question"])
    return found


def _question(
    question: Question, number: int, texts: SurveyTexts, language: str
) -> PrintedQuestion:
    qtype = question.type
    options = [
        PrintedOption(n, o.code, texts.option(question, o.code, language))
        for n, o in enumerate(question.choices, start=1)
    ]
    items = [
        PrintedOption(n, o.code, texts.item(question, o.code, language))
        for n, o in enumerate(question.items, start=1)
    ]
    if qtype in ONE_CHOICE_TYPES:
        instruction = _("Tick one box.")
    elif qtype == QuestionType.MULTIPLE:
        instruction = _("Select all that apply.")
    elif qtype == QuestionType.GRID:
        instruction = _("Tick one box in each row.")
    elif qtype == QuestionType.RANKING:
        instruction = _(
            "Write 1 beside the most important, 2 beside the next, and so on, up to %(count)s.",
            count=top_n(question),
        )
    elif qtype == QuestionType.NUMBER:
        instruction = _("Write a number in the box.")
    else:
        instruction = _("Write your answer in the box.")
    return PrintedQuestion(
        number=number,
        key=question.key,
        type=qtype,
        prompt=texts.prompt(question, language),
        hint=texts.hint(question, language),
        instruction=instruction,
        options=options,
        items=items,
        columns=3 if len(options) > 12 else (2 if len(options) > 6 else 1),
    )


def _go_to(
    question: Question,
    questions: list[Question],
    index: int,
    numbers: dict[str, int],
    texts: SurveyTexts,
    language: str,
) -> list[str]:
    """For each answer that skips the questions right after this one, where
    to go next. Questions that depend on this answer and follow it directly
    are skipped together; the first question that does not depend on it (or
    depends on another answer, which prints its own instruction) is the
    target."""
    lines = []
    for option in question.choices:
        skipped = 0
        target: int | None = None
        for later in questions[index + 1 :]:
            source = _simple_source(later)
            if source is not None and source[0] == question.key:
                _key, codes, negated = source
                if (option.code in codes) == negated:
                    skipped += 1
                    continue
            target = numbers[later.key]
            break
        if not skipped:
            continue
        label = texts.option(question, option.code, language)
        if target is None:
            lines.append(
                _(
                    "If you answered ‘%(answer)s’, go to the end of the questionnaire.",
                    answer=label,
                )
            )
        else:
            lines.append(
                _(
                    "If you answered ‘%(answer)s’, go to question %(number)s.",
                    answer=label,
                    number=target,
                )
            )
    return lines


def render_html(survey: Survey, language: str) -> str:
    questionnaire = build_questionnaire(survey, language)
    with force_locale(language):
        return render_template(
            "printable/questionnaire.html", q=questionnaire, language=LANGUAGES[language]
        )


# Typesetting a long questionnaire takes seconds (Nastaliq most), and
# officers download the same one again and again while printing runs: keep
# the last few PDFs per process, keyed on everything printed on them. The
# survey's version (`updated_at`) moves with every edit of its questions or
# texts (see survey_cache).
_MAX_CACHED = 16
_cache: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
_cache_lock = threading.Lock()


def save_return_address(partnership: Partnership, address: str, *, user_id: int | None) -> None:
    """The address printed on every paper questionnaire for posting it back;
    an empty one prints none."""
    address = address.strip().replace("\r\n", "\n")
    if len(address) > RETURN_ADDRESS_MAX:
        raise ServiceError(
            f"The return address must be {RETURN_ADDRESS_MAX} characters or fewer",
            field="return_address",
        )
    partnership.return_address = address or None
    record(
        "return_address_changed",
        partnership_id=partnership.id,
        user_id=user_id,
        target=f"partnership:{partnership.id}",
    )


def download_pdf(survey: Survey, language: str, *, user_id: int | None) -> bytes:
    """The questionnaire as an officer downloads it, the download recorded."""
    pdf = render_pdf(survey, language)
    record(
        "printable_downloaded",
        partnership_id=survey.partnership_id,
        user_id=user_id,
        target=f"survey:{survey.id}",
        details={"language": language},
    )
    return pdf


def render_pdf(survey: Survey, language: str) -> bytes:
    """The questionnaire as PDF bytes. Nothing is fetched over the network:
    the page carries its own styles and the fonts are the system's."""
    from weasyprint import HTML

    db.session.flush()  # pending edits move the survey's version first
    key = (
        survey.id,
        survey.updated_at,
        language,
        survey.partnership.name,
        survey.partnership.return_address,
    )
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    html = render_html(survey, language)
    document = HTML(string=html, base_url=None, url_fetcher=_no_fetch)
    pdf = bytes(document.write_pdf())
    with _cache_lock:
        _cache[key] = pdf
        while len(_cache) > _MAX_CACHED:
            _cache.popitem(last=False)
    return pdf


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise ValueError(f"the printable questionnaire fetches nothing ({url[:40]})")
