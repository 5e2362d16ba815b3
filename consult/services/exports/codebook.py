"""The codebook: one `Variable` per column of an export, labelled in a
language, with SPSS numbers for the answer codes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ...models import Question, QuestionType, Survey
from ..content import SurveyTexts
from ..frames import SPECIAL_CONSENT_COLUMN, question_columns
from ..path import ordered_questions
from .common import SPSS_MISSING_NUMBERS


@dataclass(frozen=True)
class Value:
    code: str
    number: int
    label: str
    missing: bool = False


@dataclass(frozen=True)
class Variable:
    name: str
    label: str
    kind: str  # code | flag | rank | number | text | meta | weight
    measure: str  # nominal | ordinal | scale
    question_key: str = ""
    question_type: str = ""
    sub: str = ""  # the option or grid item the column is about
    question_id: int | None = None
    special: bool = False
    values: tuple[Value, ...] = ()

    @property
    def missing_numbers(self) -> list[int]:
        return [v.number for v in self.values if v.missing]


def _choice_values(question: Question, texts: SurveyTexts, language: str) -> tuple[Value, ...]:
    values: list[Value] = []
    number = 0
    other_missing = -7
    for option in question.choices:
        label = texts.option(question, option.code, language)
        if option.is_missing:
            n = SPSS_MISSING_NUMBERS.get(option.code)
            if n is None:
                n, other_missing = other_missing, other_missing + 1
            values.append(Value(option.code, n, label, True))
        else:
            number += 1
            values.append(Value(option.code, number, label))
    return tuple(values)


def codebook(
    survey: Survey, language: str, *, questions: Sequence[Question] | None = None
) -> list[Variable]:
    """Every column of the export, in order, labelled in `language`."""
    texts = SurveyTexts(survey)
    questions = list(questions if questions is not None else ordered_questions(survey.questions))
    result = [
        Variable("resp_reference", "Response reference", "meta", "nominal"),
        Variable("resp_language", "Language the response was given in", "meta", "nominal"),
        Variable("resp_channel", "How the response was collected", "meta", "nominal"),
        Variable("resp_submitted_at", "When the response was submitted (UTC)", "meta", "scale"),
    ]
    if any(q.special_category for q in questions):
        # Without it, the special-category answers of our own export could not
        # be imported back: the importer keeps the consent rule. It goes (and
        # is left out) with the special-category columns it is about.
        result.append(
            Variable(
                SPECIAL_CONSENT_COLUMN,
                "Agreed to the special-category questions (yes, no; blank: not asked)",
                "meta",
                "nominal",
                special=True,
            )
        )
    for question in questions:
        prompt = texts.prompt(question, language)
        common: dict[str, Any] = {
            "question_key": question.key,
            "question_type": question.type,
            "question_id": question.id,
            "special": bool(question.special_category),
        }
        qtype = question.type
        for column in question_columns(question):
            if qtype in (
                QuestionType.SINGLE,
                QuestionType.AREA,
                QuestionType.SCALE,
                QuestionType.POSTCODE,
            ):
                measure = "ordinal" if qtype == QuestionType.SCALE else "nominal"
                values = _choice_values(question, texts, language)
                result.append(
                    Variable(column.name, prompt, "code", measure, values=values, **common)
                )
            elif qtype == QuestionType.GRID:
                item = texts.item(question, column.item_or_option or "", language)
                result.append(
                    Variable(
                        column.name,
                        f"{prompt} – {item}",
                        "code",
                        "ordinal",
                        sub=column.item_or_option or "",
                        values=_choice_values(question, texts, language),
                        **common,
                    )
                )
            elif qtype == QuestionType.MULTIPLE:
                option = texts.option(question, column.item_or_option or "", language)
                result.append(
                    Variable(
                        column.name,
                        f"{prompt} – {option}",
                        "flag",
                        "nominal",
                        sub=column.item_or_option or "",
                        values=(Value("0", 0, "Not chosen"), Value("1", 1, "Chosen")),
                        **common,
                    )
                )
            elif qtype == QuestionType.RANKING:
                option = texts.option(question, column.item_or_option or "", language)
                result.append(
                    Variable(
                        column.name,
                        f"{prompt} – {option} (rank, 1 = first)",
                        "rank",
                        "ordinal",
                        sub=column.item_or_option or "",
                        **common,
                    )
                )
            elif qtype in (QuestionType.NUMBER, QuestionType.DECIMAL):
                result.append(Variable(column.name, prompt, "number", "scale", **common))
            elif qtype == QuestionType.DATE:
                # YYYY-MM-DD text in every format: a date, never free text, so
                # the free-text policy does not drop it.
                result.append(Variable(column.name, prompt, "date", "scale", **common))
            else:
                result.append(Variable(column.name, prompt, "text", "nominal", **common))
    result.append(Variable("weight", "Survey weight (mean 1)", "weight", "scale"))
    return result
