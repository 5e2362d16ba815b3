""" "You said, we did": writing it in each language, publishing it, and the
public page in the resident's language."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from conftest import PASSWORD, sign_in

from consult.extensions import db
from consult.models import AuditEvent, Survey, TextEntry
from consult.services import feedback as feedback_service
from consult.services.demo_responses import seed_demo_responses
from consult.services.seed import seed_demo

URDU_INTRO = "ہم نے سنا کہ لوگ رات کو غیر محفوظ محسوس کرتے ہیں۔"
URDU_DRUGS = "ہم منشیات کے خلاف گشت بڑھائیں گے۔"


def _seed(app, n: int) -> int:
    with app.app_context():
        seed_demo(PASSWORD, responses=False)
        survey = db.session.scalars(sa.select(Survey).filter_by(slug="feeling-safe")).one()
        seed_demo_responses(survey, n=n, seed=8)
        db.session.commit()
        return survey.id


@pytest.fixture
def survey_id(app):
    return _seed(app, 300)


def _write(client, survey_id: int, lang: str, data: dict[str, str]):
    path = f"/manage/surveys/{survey_id}/feedback?lang={lang}"
    return client.post_form(path, data)


def _close(app, survey_id: int) -> None:
    with app.app_context():
        db.session.get(Survey, survey_id).status = "closed"
        db.session.commit()


def test_officer_writes_translates_and_publishes_then_residents_read_it_in_urdu(
    app, client, survey_id
):
    sign_in(client, "officer@demo.example")
    response = _write(
        client,
        survey_id,
        "en",
        {
            "feedback.intro": "We heard that many people feel unsafe after dark.",
            "feedback.drugs.heard": "Drug dealing came top in three wards.",
            "feedback.drugs.did": "We will increase patrols.",
            "feedback.burglary.did": "We will fund door locks.",
        },
    )
    assert response.status_code == 302
    response = _write(
        client,
        survey_id,
        "ur",
        {"feedback.intro": URDU_INTRO, "feedback.drugs.did": URDU_DRUGS, "reviewed": "yes"},
    )
    assert response.status_code == 302
    page = client.get(f"/manage/surveys/{survey_id}/feedback?lang=ur").get_data(as_text=True)
    assert URDU_INTRO in page and "Saved 2 texts in Urdu" in page

    # Still open: publishing is refused with a reason.
    refused = client.post_form(
        f"/manage/surveys/{survey_id}/feedback/publish",
        {},
        token_from=f"/manage/surveys/{survey_id}/feedback",
    )
    assert refused.status_code == 400 and "Close the survey first" in refused.get_data(as_text=True)
    assert client.get("/s/feeling-safe/you-said-we-did").status_code == 404

    _close(app, survey_id)
    published = client.post_form(
        f"/manage/surveys/{survey_id}/feedback/publish",
        {},
        token_from=f"/manage/surveys/{survey_id}/feedback",
    )
    assert published.status_code == 302
    with app.app_context():
        assert db.session.get(Survey, survey_id).status == "published"
        event = db.session.scalars(
            sa.select(AuditEvent).filter_by(action="feedback_published")
        ).one()
        assert event.user.email == "officer@demo.example" and "ur" in event.details["languages"]
        statuses = dict(
            db.session.execute(
                sa.select(TextEntry.key, TextEntry.status).filter_by(language="ur")
            ).all()
        )
        assert statuses["feedback.intro"] == "reviewed"
        survey = db.session.get(Survey, survey_id)
        with app.test_request_context():
            # The hook the survey's confirmation and closed pages link through.
            assert (
                app.extensions["consult_feedback_url"](survey) == "/s/feeling-safe/you-said-we-did"
            )

    client.post(
        "/sign-out", data={"csrf_token": client.csrf_token(f"/manage/surveys/{survey_id}/feedback")}
    )
    page = client.get("/s/feeling-safe/you-said-we-did?lang=ur")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<html lang="ur" dir="rtl"' in html
    assert URDU_INTRO in html and URDU_DRUGS in html
    # Not translated: shown in English, marked as English for screen readers.
    assert 'lang="en" dir="ltr">' in html and "Drug dealing came top in three wards." in html
    assert "We will fund door locks." in html
    assert 'id="language-switcher"' in html and 'hreflang="en"' in html
    assert "300" in html  # enough people to say how many answered

    english = client.get("/s/feeling-safe/you-said-we-did?lang=en").get_data(as_text=True)
    assert '<html lang="en" dir="ltr"' in english and "We will increase patrols." in english
    assert URDU_DRUGS not in english


def test_small_surveys_publish_no_figures(app, client):
    survey_id = _seed(app, 6)
    _close(app, survey_id)
    with app.app_context():
        survey = db.session.get(Survey, survey_id)
        from consult.models import User

        officer = db.session.scalars(sa.select(User).filter_by(email="officer@demo.example")).one()
        feedback_service.save_feedback(
            survey,
            "en",
            {"feedback.intro": "Thank you.", "feedback.drugs.heard": "Drugs."},
            officer,
        )
        feedback_service.publish(survey, officer)
        db.session.commit()
        content = feedback_service.public_feedback(survey, "en")
        assert content.n_responses is None
        assert all(p.top_share is None for p in content.priorities)
    html = client.get("/s/feeling-safe/you-said-we-did").get_data(as_text=True)
    assert "people answered the survey" not in html
    assert "%" not in html.split('id="main-content"')[1].split("</main>")[0]
    assert "fewer than 10 people are not shown" in html


def test_unpublishing_withdraws_the_page_and_is_audited(app, client, survey_id):
    _close(app, survey_id)
    sign_in(client, "officer@demo.example")
    _write(client, survey_id, "en", {"feedback.intro": "We heard you."})
    client.post_form(
        f"/manage/surveys/{survey_id}/feedback/publish",
        {},
        token_from=f"/manage/surveys/{survey_id}/feedback",
    )
    assert client.get("/s/feeling-safe/you-said-we-did").status_code == 200
    response = client.post_form(
        f"/manage/surveys/{survey_id}/feedback/unpublish",
        {},
        token_from=f"/manage/surveys/{survey_id}/feedback",
    )
    assert response.status_code == 302
    assert client.get("/s/feeling-safe/you-said-we-did").status_code == 404
    with app.app_context():
        assert db.session.get(Survey, survey_id).status == "closed"
        actions = [
            e.action for e in db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id))
        ]
        assert actions.count("feedback_edited") == 1
        assert actions[-2:] == ["feedback_published", "feedback_unpublished"]


def test_publishing_needs_the_introduction_and_rejects_bad_input(app, client, survey_id):
    _close(app, survey_id)
    sign_in(client, "officer@demo.example")
    html = client.get(f"/manage/surveys/{survey_id}/feedback").get_data(as_text=True)
    assert "Write what the partnership heard" in html
    too_long = _write(client, survey_id, "en", {"feedback.intro": "x" * 2001})
    assert too_long.status_code == 400 and "2000 characters or fewer" in too_long.get_data(
        as_text=True
    )
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count(TextEntry.id)).where(TextEntry.key.like("feedback.%"))
            )
            == 0
        )
    # Unknown keys in the form are ignored; an emptied box removes its text.
    _write(client, survey_id, "en", {"feedback.intro": "Hello", "feedback.nonsense.did": "x"})
    _write(client, survey_id, "en", {"feedback.intro": ""})
    with app.app_context():
        assert feedback_service.current_texts(db.session.get(Survey, survey_id), "en") == {}


def test_viewers_cannot_edit_or_publish(client, signed_in, app, survey_id):
    sign_in(client, "viewer@demo.example")
    assert client.get(f"/manage/surveys/{survey_id}/feedback").status_code == 403
    assert client.post(f"/manage/surveys/{survey_id}/feedback/publish").status_code in (400, 403)


def test_translation_progress_marks_outdated_texts(app, survey_id):
    with app.app_context():
        from consult.models import User

        survey = db.session.get(Survey, survey_id)
        officer = db.session.scalars(sa.select(User).filter_by(email="officer@demo.example")).one()
        feedback_service.save_feedback(survey, "en", {"feedback.intro": "First"}, officer)
        feedback_service.save_feedback(survey, "ur", {"feedback.intro": URDU_INTRO}, officer)
        progress = {p.code: p for p in feedback_service.progress(survey)}
        assert (progress["ur"].written, progress["ur"].total, progress["ur"].outdated) == (1, 1, 0)
        assert progress["pl"].written == 0
        feedback_service.save_feedback(survey, "en", {"feedback.intro": "Changed"}, officer)
        progress = {p.code: p for p in feedback_service.progress(survey)}
        assert progress["ur"].outdated == 1 and not progress["ur"].complete
