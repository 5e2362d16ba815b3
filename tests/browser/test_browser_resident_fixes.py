"""What residents ran into on a 360 px phone in Urdu and Arabic, checked in a
real browser: Continue and Save inside the page's margins, the Back link in a
landmark (axe "region"), and a resume link opened in a fresh English browser
carrying on in the response's language, with the code never sent in a URL."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import BrowserContext, Page, Request, expect

from .conftest import LiveServer

pytestmark = pytest.mark.browser

SLUG = "feeling-safe"
NARROW = {"width": 360, "height": 740}
GUTTER = 15  # GOV.UK's page margin on a phone


def _first_question(page: Page, server: LiveServer, lang: str) -> None:
    page.goto(server(f"/s/{SLUG}?lang={lang}"))
    with page.expect_navigation(wait_until="load"):
        page.locator("#start-button").click()
    expect(page.locator("#continue-button")).to_be_visible()


@pytest.mark.parametrize("lang", ["ur", "ar"])
def test_continue_and_save_sit_inside_the_margins_at_360_px(
    open_context: Callable[..., BrowserContext], live_server: LiveServer, lang: str
) -> None:
    page = open_context(viewport=NARROW).new_page()
    _first_question(page, live_server, lang)
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    heading = page.locator("#question-heading").bounding_box()
    assert heading is not None
    for button in ("#continue-button", "#save-button"):
        box = page.locator(button).bounding_box()
        assert box is not None
        left, right = box["x"], box["x"] + box["width"]
        # Full width on a phone, exactly the column the text uses: no shift,
        # no overhang past the right margin.
        assert left >= GUTTER - 0.5, f"{lang} {button} starts at {left}px"
        assert right <= NARROW["width"] - GUTTER + 0.5, (
            f"{lang} {button} ends at {right}px, past the {GUTTER}px margin of a "
            f"{NARROW['width']}px screen"
        )
        assert abs(left - GUTTER) <= 1 and abs((NARROW["width"] - right) - GUTTER) <= 1, (
            f"{lang} {button} is shifted: {left:.1f}px from the left, "
            f"{NARROW['width'] - right:.1f}px from the right"
        )
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= NARROW["width"]


@pytest.mark.parametrize("lang", ["en", "ur", "ar"])
def test_pages_with_a_back_link_have_everything_in_a_landmark(
    open_context: Callable[..., BrowserContext], live_server: LiveServer, lang: str
) -> None:
    page = open_context(viewport=NARROW).new_page()
    scanner = Axe()
    found: list[str] = []
    _first_question(page, live_server, lang)
    # The second question has a Back link to the first; so do the resume page
    # and, opened from a survey, the privacy notice.
    with page.expect_navigation(wait_until="load"):
        page.locator("#continue-button").click()
    paths = [page.url, live_server(f"/s/{SLUG}/resume"), live_server(f"/privacy?survey={SLUG}")]
    for url in paths:
        page.goto(url)
        expect(page.locator("#back-link")).to_be_visible()
        violations = scanner.run(page).response["violations"]
        found += [
            f"{url}: {v['id']} -> " + "; ".join(" ".join(n["target"]) for n in v["nodes"][:5])
            for v in violations
            if v["id"] == "region"
        ]
    assert not found, "content outside any landmark:\n" + "\n".join(found)


def test_a_resume_link_opened_in_a_fresh_english_browser_carries_on_in_arabic(
    open_context: Callable[..., BrowserContext], live_server: LiveServer
) -> None:
    page = open_context(viewport=NARROW, locale="ar").new_page()
    _first_question(page, live_server, "ar")
    page.locator("input[type=radio]").first.check()
    with page.expect_navigation(wait_until="load"):
        page.locator("#save-button").click()
    code = page.locator("#resume-code").inner_text().replace("-", "")
    link = page.locator("#resume-url").get_attribute("href")
    assert link is not None and link.endswith("#" + code)

    fresh = open_context(viewport=NARROW, locale="en-GB")
    sent: list[str] = []

    def remember(request: Request) -> None:
        sent.append(request.url + " " + (request.post_data or ""))

    fresh.on("request", remember)
    other = fresh.new_page()
    other.goto(link)
    expect(other.locator("#question-form")).to_be_visible()
    html = other.locator("html")
    expect(html).to_have_attribute("lang", "ar")
    expect(html).to_have_attribute("dir", "rtl")
    # The second question: the first was answered before saving.
    assert "/q/" in other.url and code not in other.url
    # The code went to the server in a POST body only, never in an address.
    assert not [entry for entry in sent if code in entry.split(" ")[0]]
    assert any(code in entry.split(" ", 1)[1] for entry in sent if " " in entry)
    # And the next pages stay Arabic without the resident touching the switcher.
    with other.expect_navigation(wait_until="load"):
        other.locator("#continue-button").click()
    expect(other.locator("html")).to_have_attribute("lang", "ar")


@pytest.mark.parametrize("lang", ["ur", "ar"])
def test_saving_an_invalid_entry_says_so_in_the_residents_language_with_its_long_date(
    open_context: Callable[..., BrowserContext], live_server: LiveServer, lang: str
) -> None:
    from datetime import UTC, datetime, timedelta

    from babel.dates import format_date

    page = open_context(viewport=NARROW).new_page()
    _first_question(page, live_server, lang)
    # The partnership's name is English on an Urdu or Arabic page, and marked so.
    expect(page.locator(".consult-header__name")).to_have_attribute("lang", "en")
    page.goto(live_server(f"/s/{SLUG}/q/years_in_area"))
    expect(page.locator("#years_in_area")).to_be_visible()
    page.locator("#years_in_area").fill("about ten")
    with page.expect_navigation(wait_until="load"):
        page.locator("#save-button").click()
    warning = page.locator("#not-saved")
    expect(warning).to_be_visible()
    text = warning.inner_text()
    assert "not saved" not in text and "was not" not in text, text
    expect(page.locator("html")).to_have_attribute("lang", lang)
    # Kept for the survey's resume days from today, in the language's long form.
    expiry = page.locator("#resume-expiry").inner_text()
    days = [datetime.now(UTC).date() + timedelta(days=d) for d in (27, 28, 29)]
    assert any(format_date(day, "long", locale=lang) in expiry for day in days), expiry
    # Nothing overhangs the 360 px screen on this page either.
    assert page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]
