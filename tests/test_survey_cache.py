"""Resident pages keep each survey's questionnaire in memory between requests
(consult.services.survey_cache). What a resident must never notice: an
officer's edit made while the survey is open shows on the very next page,
and nothing a resident does makes the questionnaire reload."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from test_respond_support import Resident, build_survey, page_text, survey_id

from consult.extensions import db
from consult.models import Question, Survey
from consult.services.accounts import create_user
from consult.services.builder import add_option, update_question
from consult.services.content import set_text
from consult.services.feedback import feedback_keys, save_feedback


@contextmanager
def statements(app) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def _question(app, key: str) -> Question:  # type: ignore[no-untyped-def]
    return db.session.scalars(
        sa.select(Question).filter_by(survey_id=survey_id(app), key=key)
    ).one()


def test_an_officers_edit_to_an_open_survey_shows_on_the_residents_next_page(app, client):
    build_survey(app)
    resident = Resident(client)
    resident.start()
    before = page_text(client.get("/s/quick/q/safe"))
    assert "How safe do you feel after dark?" in before
    assert "No opinion" not in before

    with app.app_context():  # the officer's request, elsewhere
        question = _question(app, "safe")
        update_question(question, prompt="How safe do you feel outside at night?", required=True)
        add_option(question, code="no_opinion", label="No opinion")
        db.session.commit()

    after = page_text(client.get("/s/quick/q/safe"))
    assert "How safe do you feel outside at night?" in after
    assert "How safe do you feel after dark?" not in after
    assert "No opinion" in after
    # The new answer is accepted: the page and the rules read the same questionnaire.
    assert resident.go("safe", {"safe": "no_opinion"}).endswith("/s/quick/q/contact")


def test_a_translation_saved_while_open_shows_in_that_language(app, client):
    build_survey(app)
    resident = Resident(client)
    resident.start()
    assert "اندھیرے کے بعد" in page_text(client.get("/s/quick/q/safe?lang=ur"))
    with app.app_context():
        survey = db.session.get(Survey, survey_id(app))
        assert survey is not None
        set_text(survey, "q.safe.prompt", "ur", "رات کو آپ کتنا محفوظ محسوس کرتے ہیں؟")
        db.session.commit()
    assert "رات کو آپ کتنا محفوظ" in page_text(client.get("/s/quick/q/safe?lang=ur"))


def test_feedback_text_removed_with_a_bulk_delete_moves_the_version(app):
    build_survey(app)
    with app.app_context():
        survey = db.session.get(Survey, survey_id(app))
        assert survey is not None
        officer = create_user(
            "officer@north.example",
            "a long enough password",
            partnership=survey.partnership,
            role="officer",
        )
        [key, *_] = feedback_keys(survey)
        assert save_feedback(survey, "en", {key: "We heard you."}, officer) == 1
        db.session.commit()
        version = survey.updated_at
        # Emptying the box deletes the text with one statement, not through the ORM.
        assert save_feedback(survey, "en", {key: ""}, officer) == 1
        db.session.commit()
        assert survey.updated_at != version


def test_answering_does_not_reload_the_questionnaire(app, client):
    build_survey(app)
    resident = Resident(client)
    resident.start()
    client.get("/s/quick/q/safe")  # the first page of this version loads it
    with statements(app) as seen:
        resident.go("safe", {"safe": "unsafe"})
        client.get("/s/quick/q/contact")
        resident.go("contact", {"contact": ["phoned"]})
    reads = [s for s in seen if s.lstrip().upper().startswith("SELECT")]
    assert reads, "the pages read nothing: the listener saw no statements"
    questionnaire = [s for s in reads if "FROM question" in s or "FROM option" in s]
    texts = [s for s in reads if "FROM text_entry" in s]
    assert questionnaire == [] and texts == [], (questionnaire, texts)
    # The answers themselves are stored: the cache never stands in for them.
    with app.app_context():
        count = db.session.scalar(sa.text("SELECT count(*) FROM answer"))
    assert count == 2


def test_questions_an_officers_request_holds_stay_attached_and_editable(app):
    # Paper entry and the fieldwork pages work out a journey in the same
    # request as other work on the questionnaire: the questions it returns
    # must be the session's own, so a later change to them is saved.
    from consult.services.responses import journey, start_response

    build_survey(app)
    with app.app_context():
        survey = db.session.get(Survey, survey_id(app))
        assert survey is not None
        held = _question(app, "safe")
        response = start_response(survey, "en")
        current = journey(response)
        assert current.by_key["safe"] is held
        held.required = False
        db.session.commit()
    with app.app_context():
        assert _question(app, "safe").required is False
