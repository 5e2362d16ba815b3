"""The strategy report at 1280 pixels, in Chromium: no sideways scrolling,
no chart label clipped, and the priorities chart in the order of its own
percentages; every question of an officer's own survey has a section."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import PASSWORD
from own_survey import build_own_survey
from playwright.sync_api import expect

from consult.extensions import db
from consult.models import Survey
from consult.services.content import option_key, set_text

from .conftest import LiveServer

pytestmark = pytest.mark.browser

LONG = {
    "asb": "Anti-social behaviour in parks, on estates and around the shopping parades",
    "drugs": "Drug dealing and drug use in public places, including near schools",
    "speeding": "Speeding and dangerous driving on residential streets",
}


def test_strategy_report_fits_1280_pixels_and_charts_read_right(
    open_context: Callable, live_server: LiveServer
) -> None:
    with live_server.app.app_context():
        survey_id = build_own_survey("report-csp")
        survey = db.session.get(Survey, survey_id)
        for code, label in LONG.items():
            set_text(survey, option_key("prio", code), "en", label)
        db.session.commit()
    page = open_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(live_server("/sign-in"))
    page.locator("#email").fill("officer@report-csp.example")
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.goto(live_server(f"/manage/surveys/{survey_id}/report"))
    expect(page.locator("h1")).to_have_text("Strategy report")

    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280, f"the report scrolls sideways: {width}px wide at 1280px"

    # Every label inside its chart: nothing drawn left of the chart's edge.
    outside = page.evaluate(
        """() => [...document.querySelectorAll('svg.consult-chart text.consult-chart__label')]
             .map(t => ({box: t.getBBox(), text: t.textContent}))
             .filter(({box}) => box.x < -0.5)
             .map(({text}) => text)"""
    )
    assert outside == []
    labels = page.locator("svg.consult-chart text.consult-chart__label").all_text_contents()
    assert any("Drug dealing and drug use" in t for t in labels)

    # The priorities chart: bars in the order of the percentages they show.
    texts = page.evaluate(
        """() => {
             const svg = document.querySelector('#chart-priorities-0-title').closest('svg');
             const ticks = new Set([...svg.querySelectorAll('text[text-anchor="middle"]')]);
             return [...svg.querySelectorAll('text')]
               .filter(t => !ticks.has(t) && /^\\d+%$/.test(t.textContent))
               .map(t => parseInt(t.textContent, 10));
           }"""
    )
    assert len(texts) == 4 and texts == sorted(texts, reverse=True), texts

    # Every question has its section.
    for prompt in ("How have you contacted us?", "Years lived here?", "Anything else?"):
        expect(page.locator("#every-question ~ h3", has_text=prompt)).to_have_count(1)
