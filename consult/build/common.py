"""What the builder's view modules share: loading a survey's parts (404 for
another partnership's or another survey's ids) and sending files."""

from __future__ import annotations

from flask import Response as FlaskResponse
from flask import abort

from .. import forms
from ..extensions import db
from ..models import Option, Question, Section, Survey
from ..security import owned_or_404

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The largest file the builder's upload forms read (consult/forms.py).
MAX_UPLOAD = forms.MAX_UPLOAD


def load_survey(survey_id: int) -> Survey:
    return owned_or_404(Survey, survey_id)


def load_question(survey: Survey, question_id: int) -> Question:
    question = db.session.get(Question, question_id)
    if question is None or question.survey_id != survey.id:
        abort(404)
    return question


def load_section(survey: Survey, section_id: int) -> Section:
    section = db.session.get(Section, section_id)
    if section is None or section.survey_id != survey.id:
        abort(404)
    return section


def load_option(question: Question, option_id: int) -> Option:
    option = db.session.get(Option, option_id)
    if option is None or option.question_id != question.id:
        abort(404)
    return option


def sorted_sections(survey: Survey) -> list[Section]:
    return sorted(survey.sections, key=lambda s: s.position)


def download(content: bytes, filename: str, mimetype: str = XLSX) -> FlaskResponse:
    return FlaskResponse(
        content,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
