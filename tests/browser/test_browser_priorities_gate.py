"""The priorities gate in a real browser: tick "I have read the flags", press
"Mark final", and the priorities are final — one step (it used to error until
a separate grey "Confirm" button had been pressed first)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, expect

from consult.extensions import db

from .conftest import PASSWORD, LiveServer

pytestmark = pytest.mark.browser


def test_tick_then_mark_final_is_one_step(
    open_context: Callable[..., BrowserContext], live_server: LiveServer
) -> None:
    from test_results_service import build_ward_survey

    from consult.services.results import clear_cache

    with live_server.app.app_context():
        survey_id = build_ward_survey(
            partnership="gate-csp",
            answered_wards=("Abbey", "Castle", "Thurncourt"),
            per_ward=35,
            slug="gate-survey",
        )
        db.session.remove()
    clear_cache()
    page = open_context(viewport={"width": 1200, "height": 900}).new_page()
    page.goto(live_server("/sign-in"))
    page.locator("#email").fill("officer@gate-csp.example")
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    page.goto(live_server(f"/manage/surveys/{survey_id}/results/priorities"))
    expect(page.locator("#priorities-summary-1")).to_be_visible()
    page.locator("#confirm").check()
    page.get_by_role("button", name="Mark priorities final for the strategy").click()
    expect(page.locator("#final-status")).to_contain_text("Final for the strategy")
    expect(page.locator(".govuk-error-summary")).to_have_count(0)
