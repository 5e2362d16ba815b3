"""A resident answers a date question and a postcode question in Urdu on a
360-pixel phone: GOV.UK date fields with per-field errors in Urdu, a postcode
that places them in a ward (and is not stored), right to left, axe-clean,
no sideways scrolling."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from consult.extensions import db
from consult.models import Answer, Partnership, Question, Response
from consult.services.postcodes import import_lookup
from consult.services.surveys import add_question, add_section, create_survey

from .conftest import LiveServer

pytestmark = pytest.mark.browser

SLUG = "typed-urdu"
NARROW = {"width": 360, "height": 740}


def _survey(server: LiveServer) -> None:
    with server.app.app_context():
        if db.session.scalars(
            sa.select(Question).join(Question.survey).filter_by(slug=SLUG)
        ).first():
            return
        partnership = db.session.scalars(sa.select(Partnership)).first()
        assert partnership is not None
        survey = create_survey(
            partnership,
            slug=SLUG,
            title={"en": "Your area", "ur": "آپ کا علاقہ"},
            languages=["en", "ur"],
        )
        section = add_section(survey, "main", {"en": "About you", "ur": "آپ کے بارے میں"})
        add_question(
            survey,
            section,
            key="moved_in",
            type="date",
            required=True,
            prompt={
                "en": "When did you move to your home?",
                "ur": "آپ اپنے گھر میں کب منتقل ہوئے؟",
            },
            settings={"not_future": True},
        )
        add_question(
            survey,
            section,
            key="home_postcode",
            type="postcode",
            required=True,
            demographic="area",
            prompt={"en": "What is your postcode?", "ur": "آپ کا پوسٹ کوڈ کیا ہے؟"},
            options=[
                {"code": "e05010458", "label": {"en": "Castle", "ur": "کاسل"}},
                {"code": "e05010459", "label": {"en": "Abbey", "ur": "ایبی"}},
            ],
        )
        survey.status = "open"
        survey.retention_until = date.today() + timedelta(days=365)
        import_lookup(partnership, "postcode,ward_code\nLE1 5WW,E05010458\nLE2 1AA,E05010459\n")
        db.session.commit()


def _no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= NARROW["width"], f"{page.url} scrolls sideways: {width}px"


def test_urdu_resident_answers_a_date_and_a_postcode_at_360_pixels(
    open_context, live_server: LiveServer, axe
) -> None:
    _survey(live_server)
    page = open_context(viewport=NARROW, locale="ur-PK").new_page()
    page.goto(live_server(f"/s/{SLUG}?lang=ur"))
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("#privacy-postcode")).to_contain_text("پوسٹ کوڈ")
    page.locator("#start-button").click()

    # The date: three boxes, labelled in Urdu.
    expect(page).to_have_url(re.compile(rf"/s/{SLUG}/q/moved_in"))
    expect(page.locator("label[for=moved_in-day]")).to_have_text("دن")
    expect(page.locator("label[for=moved_in-year]")).to_have_text("سال")
    _no_sideways_scroll(page)
    assert axe(page) == []
    # 31 February: the day box is in error, the message in Urdu.
    page.locator("#moved_in-day").fill("31")
    page.locator("#moved_in-month").fill("2")
    page.locator("#moved_in-year").fill("2020")
    page.locator("#continue-button").click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    expect(page.locator("#moved_in-error")).to_contain_text("تاریخ ایک حقیقی تاریخ ہونی چاہیے")
    expect(page.locator("#moved_in-day")).to_have_class(re.compile("govuk-input--error"))
    expect(page.locator("#moved_in-month")).not_to_have_class(re.compile("govuk-input--error"))
    # What the resident typed stays in the boxes.
    expect(page.locator("#moved_in-year")).to_have_value("2020")
    assert axe(page) == []
    # A date in the future is refused too.
    next_year = str(date.today().year + 1)
    page.locator("#moved_in-day").fill("1")
    page.locator("#moved_in-year").fill(next_year)
    page.locator("#continue-button").click()
    expect(page.locator("#moved_in-error")).to_contain_text("ماضی")
    page.locator("#moved_in-year").fill("2019")
    page.locator("#continue-button").click()

    # The postcode: typed in lower case, without the space.
    expect(page).to_have_url(re.compile(rf"/s/{SLUG}/q/home_postcode"))
    _no_sideways_scroll(page)
    assert axe(page) == []
    page.locator("#home_postcode").fill("M1 1AE")
    page.locator("#continue-button").click()
    expect(page.locator("#home_postcode-error")).to_contain_text("M1 1AE")
    expect(page.locator("#home_postcode-error")).to_contain_text("فہرست")
    # The ward list is behind "I do not know my postcode".
    expect(page.locator("#home_postcode-ward")).to_be_hidden()
    page.locator("#home_postcode-ward-details summary").click()
    expect(page.locator("#home_postcode-ward")).to_be_visible()
    _no_sideways_scroll(page)
    page.locator("#home_postcode").fill("le15ww")
    page.locator("#continue-button").click()

    # Check answers: the date in Urdu words, the ward, never the postcode.
    expect(page).to_have_url(re.compile(rf"/s/{SLUG}/check"))
    expect(page.locator("#answer-home_postcode")).to_contain_text("کاسل")
    expect(page.locator("#answer-moved_in")).to_contain_text("2019")
    assert "LE1 5WW" not in page.content()
    _no_sideways_scroll(page)
    page.locator("#submit-button").click()
    reference = page.locator("#reference")
    expect(reference).to_be_visible()

    with live_server.app.app_context():
        response = db.session.scalars(
            sa.select(Response).filter_by(reference=reference.inner_text().strip())
        ).one()
        rows = db.session.execute(
            sa.select(Question.key, Answer.option_code, Answer.text)
            .join(Question, Answer.question_id == Question.id)
            .where(Answer.response_id == response.id)
        ).all()
        assert sorted(tuple(r) for r in rows) == [
            ("home_postcode", "e05010458", None),
            ("moved_in", "", "2019-02-01"),
        ]
        assert response.language == "ur"
