"""An officer builds a short survey in a real browser: questions copied from
the bank, one written from scratch in English only, an Urdu translation
brought in through the translators' spreadsheet (downloaded and uploaded
through the page), the survey opened; then a resident answers it in Urdu on a
phone and the fieldwork monitor counts one Urdu response."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from playwright.sync_api import BrowserContext, Page, expect

from consult.extensions import db
from consult.models import Answer, Question, Response, Survey

from .conftest import PASSWORD, LiveServer

pytestmark = pytest.mark.browser

SLUG = "street-safety-builder"
BANK = ["safe_after_dark", "priorities", "age_band"]
NEW_KEY = "street_safer"
NEW_PROMPT = "What one change would make your street feel safer?"
# What the translator types into the empty Urdu cells of the spreadsheet.
URDU = {
    "survey.title": "گلی کی حفاظت کا سروے",
    f"q.{NEW_KEY}.prompt": "کون سی ایک تبدیلی آپ کی گلی کو زیادہ محفوظ بنائے گی؟",
}
ANSWER_TEXT = "گلی میں زیادہ روشنی"
DESKTOP = {"width": 1200, "height": 900}


def banner(page: Page) -> str:
    notice = page.locator(".govuk-notification-banner__heading").first
    expect(notice).to_be_visible()
    return notice.inner_text()


def sign_in_officer(page: Page, server: LiveServer) -> None:
    page.goto(server("/sign-in"))
    page.locator("#email").fill("officer@demo.example")
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def build_survey(page: Page, server: LiveServer) -> str:
    """Create the survey and its questions; returns the builder's address."""
    page.goto(server("/manage/surveys/new"))
    page.locator("#title").fill("Street safety 2026")
    page.locator("#slug").fill(SLUG)
    page.get_by_label("Urdu (").check()
    page.get_by_role("button", name="Create survey").click()
    expect(page.locator("h1")).to_contain_text("Street safety 2026")
    builder_url = page.url

    page.get_by_role("link", name="Add from the question bank").click()
    for key in BANK:
        page.locator(f"input[name=items][value={key}]").check()
    page.get_by_role("button", name="Add the chosen questions").click()
    assert "3 questions copied from the bank" in banner(page)

    page.get_by_role("link", name="Add a question", exact=True).click()
    page.locator("#prompt").fill(NEW_PROMPT)
    page.locator("#key").fill(NEW_KEY)
    page.locator("#type-text").check()
    page.get_by_role("button", name="Add question").click()
    expect(page.locator(".govuk-notification-banner--success")).to_be_visible()

    # Raw responses must have a deletion date before a survey may open.
    page.goto(builder_url.rstrip("/") + "/settings")
    page.locator("#retention_until").fill("2030-12-31")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".govuk-notification-banner--success")).to_be_visible()
    page.goto(builder_url)
    return builder_url


def translate_through_spreadsheet(page: Page, builder_url: str, workdir: Path) -> None:
    page.goto(builder_url.rstrip("/") + "/translations")
    with page.expect_download() as info:
        page.get_by_role("link", name=re.compile("Download the texts as a spreadsheet")).click()
    download = info.value
    assert download.suggested_filename == f"{SLUG}-translations.xlsx"
    path = workdir / download.suggested_filename
    download.save_as(path)

    workbook = load_workbook(path)
    sheet = workbook["translations"]
    header = [cell.value for cell in sheet[1]]
    urdu_col = header.index("label::Urdu (ur)") + 1
    empty = {}
    for row in range(2, sheet.max_row + 1):
        key = sheet.cell(row=row, column=1).value
        if not sheet.cell(row=row, column=urdu_col).value:
            empty[key] = row
    # The bank brings its own Urdu: only the officer's own texts are left.
    assert set(empty) == set(URDU), empty
    for key, row in empty.items():
        sheet.cell(row=row, column=urdu_col).value = URDU[key]
    workbook.save(path)

    page.get_by_role("link", name="Upload the spreadsheet").click()
    page.locator("#file").set_input_files(str(path))
    page.get_by_role("button", name="Upload").click()
    assert "2 translations imported (Urdu: 2)" in banner(page)
    expect(page.locator("h1")).to_have_text("Translations")
    expect(page.locator("tbody tr", has_text="Urdu")).to_contain_text("100%")


def answer_in_urdu(page: Page, server: LiveServer) -> str:
    page.goto(server(f"/s/{SLUG}?lang=ur"))
    html = page.locator("html")
    expect(html).to_have_attribute("dir", "rtl")
    expect(html).to_have_attribute("lang", "ur")
    expect(page.locator("#survey-title")).to_have_text(URDU["survey.title"])
    page.locator("#start-button").click()

    expect(page.locator("#question-heading")).to_contain_text("اندھیرا")
    page.locator("#safe_after_dark-fairly_safe").check()
    page.locator("#continue-button").click()

    expect(page.locator("#priorities-rank-1")).to_be_visible()
    for rank, code in enumerate(["burglary", "drugs", "road_safety"], start=1):
        page.locator(f"#priorities-rank-{rank}").select_option(code)
    page.locator("#continue-button").click()

    expect(page.locator("#age_band-age_35_44")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    page.locator("#age_band-age_35_44").check()
    page.locator("#continue-button").click()

    expect(page.locator("#question-heading")).to_have_text(URDU[f"q.{NEW_KEY}.prompt"])
    page.locator(f"#{NEW_KEY}").fill(ANSWER_TEXT)
    page.locator("#continue-button").click()

    expect(page).to_have_url(re.compile(rf"/s/{SLUG}/check"))
    expect(page.locator(f"#answer-{NEW_KEY}")).to_contain_text(ANSWER_TEXT)
    page.locator("#submit-button").click()
    reference = page.locator("#reference")
    expect(reference).to_be_visible()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    return reference.inner_text().strip()


def test_officer_builds_translates_and_opens_a_survey_a_resident_answers_in_urdu(
    open_context: Callable[..., BrowserContext], live_server: LiveServer, tmp_path: Path
) -> None:
    officer = open_context(viewport=DESKTOP, locale="en-GB").new_page()
    sign_in_officer(officer, live_server)
    builder_url = build_survey(officer, live_server)

    # Two texts exist only in English: opening is refused, naming them.
    officer.get_by_role("button", name="Open the survey").click()
    refusal = banner(officer)
    assert "The survey cannot open yet" in refusal
    assert "2 texts shown to residents are missing in Urdu" in refusal
    assert f"q.{NEW_KEY}.prompt" in refusal and "survey.title" in refusal
    expect(officer.locator(".govuk-tag", has_text="Draft").first).to_be_visible()

    translate_through_spreadsheet(officer, builder_url, tmp_path)

    officer.goto(builder_url)
    officer.get_by_role("button", name="Open the survey").click()
    assert "The survey is now open" in banner(officer)

    resident = open_context(locale="ur").new_page()
    reference = answer_in_urdu(resident, live_server)
    assert re.fullmatch(r"[A-Z0-9-]{4,}", reference), reference

    with live_server.app.app_context():
        survey = db.session.scalars(sa.select(Survey).filter_by(slug=SLUG)).one()
        response = db.session.scalars(sa.select(Response).filter_by(reference=reference)).one()
        assert (response.survey_id, response.status, response.language) == (
            survey.id,
            "submitted",
            "ur",
        )
        stored = dict(
            db.session.execute(
                sa.select(Question.key, Answer.text)
                .join(Question, Answer.question_id == Question.id)
                .where(Answer.response_id == response.id, Question.key == NEW_KEY)
            ).all()
        )
        assert stored == {NEW_KEY: ANSWER_TEXT}
        survey_id = survey.id
        db.session.remove()

    officer.goto(live_server(f"/manage/surveys/{survey_id}/fieldwork"))
    expect(officer.locator("h1")).to_be_visible()
    submitted = officer.locator("p.govuk-body", has_text="responses submitted")
    expect(submitted.locator(".govuk-heading-xl")).to_have_text("1")
    by_language = officer.locator("table", has=officer.locator("caption", has_text="By language"))
    expect(by_language.locator("tbody tr")).to_have_count(1)
    expect(by_language.locator("tbody tr")).to_contain_text(re.compile(r"Urdu\s*1"))
