"""The question page's handler without HTTP: one save is one transaction, a
question off the path stores nothing, and only an open response records the
language it is answered in."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from test_respond_support import build_survey
from werkzeug.datastructures import MultiDict

from consult.extensions import db
from consult.models import Answer, Response, ResponseStatus, Survey
from consult.respond.handler import QuestionHandler
from consult.services.content import SurveyTexts
from consult.services.responses import NotOnPath, record_language, start_response


@pytest.fixture
def answering(app):
    build_survey(app)
    with app.test_request_context("/s/quick"):
        survey = db.session.scalars(sa.select(Survey).filter_by(slug="quick")).one()
        response = start_response(survey, "en")
        db.session.commit()

        def handler(key: str, language: str = "en", **kwargs) -> QuestionHandler:
            return QuestionHandler(survey, response, key, language, SurveyTexts(survey), **kwargs)

        yield survey, response, handler
        db.session.remove()


def _stored(response_id: int) -> list[tuple[str, str]]:
    db.session.remove()  # read what was committed, not what this session holds
    rows = db.session.execute(
        sa.select(Answer.item_code, Answer.option_code).where(Answer.response_id == response_id)
    )
    return [tuple(row) for row in rows]


def test_a_save_commits_the_answer_and_the_language_and_names_the_next_page(answering):
    survey, response, handler = answering
    following = handler("safe", "pl").save(MultiDict({"safe": "unsafe"}))
    assert following.url == "/s/quick/q/contact"
    assert not following.save_for_later
    response_id = response.id
    assert _stored(response_id) == [("", "unsafe")]
    assert db.session.get(Response, response_id).language == "pl"


def test_saving_for_later_and_changing_an_answer_are_told_apart(answering):
    _survey, _response, handler = answering
    assert handler("safe").save(MultiDict({"safe": "unsafe", "action": "save"})).save_for_later
    changed = handler("safe", changing=True).save(MultiDict({"safe": "very_safe"}))
    assert changed.url == "/s/quick/q/contact?change=1"


def test_a_question_off_the_path_stores_nothing(answering):
    _survey, response, handler = answering
    with pytest.raises(NotOnPath):
        handler("priorities_other").save(MultiDict({"priorities_other": "sneaky"}))
    with pytest.raises(NotOnPath):
        handler("priorities_other").context()
    assert _stored(response.id) == []


def test_only_an_open_response_records_a_new_language(answering):
    _survey, response, _handler = answering
    assert record_language(response, "ur") is True
    assert record_language(response, "ur") is False
    response.status = ResponseStatus.SUBMITTED
    assert record_language(response, "pl") is False
    assert response.language == "ur"
