"""The header's account navigation on officer pages is a row of links, not a
bulleted list: GOV.UK Frontend 6 no longer styles the header navigation list,
so the browser's default bullets and indent came back on every officer page."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from conftest import enrol_two_factor, totp_code
from playwright.sync_api import Page, expect

from consult.extensions import db
from consult.models import Survey

from .conftest import PASSWORD, LiveServer

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
# Every officer page group: dashboard, builder, settings, monitor, results,
# exports, benchmarks and the administrator's pages.
PAGES = [
    "/manage",
    "/manage/surveys/{id}",
    "/manage/surveys/{id}/settings",
    "/manage/surveys/{id}/fieldwork",
    "/manage/surveys/{id}/results",
    "/manage/surveys/{id}/export",
    "/manage/surveys/benchmarks",
    "/manage/users",
    "/manage/audit",
]


def _nav_styles(page: Page) -> dict[str, object]:
    return page.evaluate(
        """() => {
        const nav = document.querySelector('header nav');
        const list = nav.querySelector('ul');
        const items = [...list.querySelectorAll(':scope > li')];
        const box = (el) => el.getBoundingClientRect();
        return {
          listStyle: getComputedStyle(list).listStyleType,
          paddingLeft: getComputedStyle(list).paddingLeft,
          itemStyles: items.map((li) => getComputedStyle(li).listStyleType),
          tops: items.map((li) => Math.round(box(li).top)),
        };
    }"""
    )


@pytest.mark.parametrize("width", [DESKTOP, {"width": 375, "height": 800}])
def test_officer_header_navigation_is_not_a_bulleted_list(
    open_context, live_server: LiveServer, width: dict[str, int]
) -> None:
    with live_server.app.app_context():
        survey_id = db.session.scalars(sa.select(Survey.id).filter_by(slug="feeling-safe")).one()
    # Administrators always sign in with a second factor.
    enrol_two_factor(live_server.app, "admin@demo.example", replace=True)
    page = open_context(viewport=width).new_page()
    page.goto(live_server("/sign-in"))
    page.locator("#email").fill("admin@demo.example")
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#code").fill(totp_code())
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    for path in PAGES:
        response = page.goto(live_server(path.format(id=survey_id)))
        assert response is not None and response.status == 200, path
        styles = _nav_styles(page)
        assert styles["listStyle"] == "none", (path, styles)
        assert styles["paddingLeft"] == "0px", (path, styles)
        assert styles["itemStyles"] and set(styles["itemStyles"]) == {"none"}, (path, styles)
        # "Surveys" and "Sign out" sit side by side, not one under the other.
        assert len(set(styles["tops"])) == 1, (path, styles)
