"""The public pages outside a survey, in a real browser: accessible to axe in
English, Urdu, Gujarati and Somali, usable at 320 px, and drawn in fonts that
have their script's glyphs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from .conftest import ARTIFACTS, LiveServer
from .fontcheck import check_fonts

pytestmark = pytest.mark.browser

PUBLIC_PAGES = ["/", "/sign-in", "/privacy", "/accessibility", "/cookies"]


@pytest.mark.parametrize("lang", ["en", "ur", "gu", "so"])
def test_public_pages_have_no_serious_accessibility_violations(
    phone: Page, live_server: LiveServer, axe: Callable[[Page], list[str]], lang: str
) -> None:
    found: list[str] = []
    for path in PUBLIC_PAGES:
        phone.goto(live_server(f"{path}?lang={lang}"))
        expect(phone.locator("h1")).to_be_visible()
        html = phone.locator("html")
        expect(html).to_have_attribute("lang", lang)
        expect(html).to_have_attribute("dir", "rtl" if lang == "ur" else "ltr")
        found += axe(phone)
    assert not found, "axe found serious or critical violations:\n" + "\n".join(found)


def test_sign_in_errors_are_accessible_and_focus_the_summary(
    phone: Page, live_server: LiveServer, axe: Callable[[Page], list[str]]
) -> None:
    phone.goto(live_server("/sign-in"))
    phone.get_by_role("button", name="Sign in").click()
    summary = phone.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("There is a problem")
    expect(phone).to_have_title("Error: Sign in – consult")
    assert axe(phone) == []


@pytest.mark.parametrize("path", ["/", "/accessibility", "/sign-in"])
def test_no_horizontal_scrolling_at_320_pixels(
    open_context: Callable, live_server: LiveServer, path: str
) -> None:
    page = open_context(viewport={"width": 320, "height": 640}).new_page()
    for lang in ("en", "ur", "pa"):
        page.goto(live_server(f"{path}?lang={lang}"))
        expect(page.locator("h1")).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 320, f"{path} in {lang} scrolls sideways: {width}px wide at 320px"


@pytest.mark.parametrize("lang", ["gu", "pa", "ur", "bn", "ar"])
def test_accessibility_statement_text_is_drawn_in_its_scripts_noto_font(
    phone: Page, live_server: LiveServer, lang: str
) -> None:
    phone.goto(live_server(f"/accessibility?lang={lang}"))
    expect(phone.locator("h1")).to_be_visible()
    report = check_fonts(phone, lang)
    # An untranslated page would pass vacuously: the statement must be in the script.
    assert report.elements >= 5, f"hardly any {lang} text on the page: {report.summary()}"
    assert not report.problems, report.summary() + "\n" + "\n".join(report.problems)
    target = ARTIFACTS / "fonts"
    target.mkdir(parents=True, exist_ok=True)
    phone.screenshot(path=str(target / f"accessibility-{lang}.png"), full_page=True)
