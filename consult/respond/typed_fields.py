"""What the question page needs for date and postcode questions (the GOV.UK
date input's three fields, the postcode box and the ward list behind "I do
not know my postcode"), kept apart from the page handler so it stays small."""

from __future__ import annotations

from typing import Any

from ..models import Question, QuestionType
from ..services import typed_answers
from ..services.answers import AnswerInvalid


def page_context(
    question: Question, choices: list[dict[str, Any]], invalid: AnswerInvalid | None
) -> dict[str, Any]:
    if question.type == QuestionType.DATE:
        error, fields = None, []
        if invalid is not None:
            first = invalid.errors[0]
            error = first.message
            if first.item and first.item.startswith("date:"):
                fields = first.item[5:].split(",")
        return {
            "date_error": error,
            "date_error_fields": fields,
            "date_parts": [
                {
                    "part": part,
                    "name": typed_answers.date_field(question, part),
                    "width": 4 if part == "year" else 2,
                }
                for part in typed_answers.DATE_PARTS
            ],
        }
    if question.type == QuestionType.POSTCODE:
        return {
            "ward_name": typed_answers.ward_field(question),
            "ward_list": typed_answers.offers_ward_list(question) and bool(choices),
        }
    return {}
