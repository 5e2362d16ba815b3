"""An officer groups the demo's 21 wards into areas in the browser: a
spelling that differs only in capitals is refused on its box (the error
summary's link takes the keyboard there), the corrected areas are saved, the
page passes axe and fits a 320 px screen, and the grouping is cleared again
so the other browser tests see the demo as seeded."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .conftest import LiveServer
from .test_browser_builder import banner, sign_in_officer

pytestmark = pytest.mark.browser

AREAS = ("North", "South", "East", "West")


def _boxes(page: Page):
    return page.locator("form input.govuk-input")


def test_officer_groups_wards_into_areas(open_context, live_server: LiveServer, axe) -> None:
    page = open_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in_officer(page, live_server)
    page.goto(live_server("/manage"))
    page.get_by_role("link", name="Wards grouped into areas").click()
    expect(page.locator("h1")).to_have_text("Wards grouped into areas")
    boxes = _boxes(page)
    expect(boxes).to_have_count(21)
    for i in range(21):
        boxes.nth(i).fill(AREAS[i % 4])
    boxes.nth(4).fill("north")
    page.get_by_role("button", name="Save areas").click()

    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("differs from ‘North’ only in capitals")
    expect(summary).to_be_focused()
    summary.get_by_role("link").click()
    wrong = _boxes(page).nth(4)
    expect(wrong).to_be_focused()
    expect(wrong).to_have_value("north")
    assert axe(page) == []

    wrong.fill("North")
    page.get_by_role("button", name="Save areas").click()
    assert "Saved: 21 of 21 wards grouped into 4 areas." in banner(page)
    expect(page.locator("#areas tbody tr")).to_have_count(4)
    assert axe(page) == []

    narrow = open_context(viewport={"width": 320, "height": 800}).new_page()
    sign_in_officer(narrow, live_server)
    narrow.goto(live_server("/manage/surveys/ward-areas"))
    assert narrow.evaluate("document.documentElement.scrollWidth") <= 320

    for i in range(21):
        _boxes(page).nth(i).fill("")
    page.get_by_role("button", name="Save areas").click()
    assert "Saved: wards are not grouped into areas." in banner(page)
