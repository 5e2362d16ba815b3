"""Officer sign-in in a real browser: an officer signs in and out; the demo
administrator's first sign-in sets up two-factor (QR code, key as text,
recovery codes), and the next sign-in asks for a code from the app."""

from __future__ import annotations

import time
from collections.abc import Callable

import pyotp
import pytest
from playwright.sync_api import Page, expect

from .conftest import PASSWORD, LiveServer

pytestmark = pytest.mark.browser
DESKTOP = {"width": 1200, "height": 900}


def _password_step(page: Page, server: LiveServer, email: str) -> None:
    page.goto(server("/sign-in"))
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_an_officer_signs_in_sees_their_account_and_signs_out(
    open_context: Callable, live_server: LiveServer, axe: Callable[[Page], list[str]]
) -> None:
    page = open_context(viewport=DESKTOP).new_page()
    _password_step(page, live_server, "officer@demo.example")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.get_by_role("link", name="Your account").click()
    expect(page.locator("h1")).to_have_text("Your account")
    expect(page.locator(".govuk-summary-list")).to_contain_text("officer@demo.example")
    assert axe(page) == []
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator(".govuk-notification-banner__heading")).to_contain_text("signed out")
    page.goto(live_server("/manage"))
    expect(page.locator("h1")).to_have_text("Sign in")


def test_the_demo_administrator_sets_up_two_factor_at_first_sign_in(
    open_context: Callable, live_server: LiveServer, axe: Callable[[Page], list[str]]
) -> None:
    page = open_context(viewport=DESKTOP).new_page()
    _password_step(page, live_server, "admin@demo.example")
    expect(page.locator("h1")).to_have_text("Set up two-factor sign-in")
    qr = page.locator(".consult-qr svg")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box is not None and box["width"] >= 120  # big enough for a phone to read
    assert axe(page) == []
    secret = page.locator("#two-factor-secret").inner_text().strip()
    page.locator("#code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.locator("h1")).to_have_text("Save your recovery codes")
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name="I have saved my codes – continue").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    # Next time: password, then a fresh code from the app (the last one is spent).
    _password_step(page, live_server, "admin@demo.example")
    expect(page.locator("h1")).to_have_text("Enter your sign-in code")
    assert axe(page) == []
    # The app's next code (accepted: one step of clock drift is allowed).
    page.locator("#code").fill(pyotp.TOTP(secret).at(time.time() + 30))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.goto(live_server("/manage/users"))
    expect(page.locator("h1")).to_have_text("Users and roles")
