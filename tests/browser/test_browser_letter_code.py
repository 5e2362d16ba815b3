"""A letter's QR code or short link opened in a real browser: the code rides
in the URL fragment, which Chromium never sends, and the code page's script
copies it into the field and drops it from the address bar; the resident
then starts answering with one press of Continue."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Request, expect
from test_respond_support import build_survey

from consult.extensions import db
from consult.models import AddressSample, SampleAddress, Survey
from consult.services.sampling import issue_code, letter_code

from .conftest import LiveServer

pytestmark = pytest.mark.browser

SLUG = "letter-code"


@pytest.fixture(scope="module")
def drawn_code(live_server: LiveServer) -> str:
    """A survey with one drawn address, built once for this module's tests
    (in whatever order they run), and that address's code."""
    server = live_server
    survey_id = build_survey(server.app, SLUG, languages=("en", "ur"))
    with server.app.app_context():
        survey = db.session.get(Survey, survey_id)
        assert survey is not None
        sample = AddressSample(
            survey_id=survey.id, seed=1, strata={"": {"population": 10, "drawn": 1}}
        )
        db.session.add(sample)
        db.session.flush()
        address = SampleAddress(
            sample_id=sample.id,
            survey_id=survey.id,
            external_id="A1",
            lines="1 High Street\nLeicester",
            postcode="LE1 1AA",
            selection_probability=0.1,
        )
        db.session.add(address)
        db.session.flush()
        issue_code(address)
        code = letter_code(survey.id, address.id)
        db.session.commit()
        return code


def test_the_code_in_a_letters_link_fills_the_field_and_is_never_sent(
    open_context: Callable[..., BrowserContext], live_server: LiveServer, drawn_code: str
) -> None:
    code = drawn_code
    page = open_context().new_page()
    sent: list[str] = []

    def record(request: Request) -> None:
        sent.append(request.url + " " + (request.post_data or ""))

    page.on("request", record)
    page.goto(live_server(f"/s/{SLUG}/l#code={code}"))
    expect(page.locator("#code")).to_have_value(code)
    # The script removed the code from the address bar (and so from history).
    assert "#" not in page.url and code not in page.url
    assert not any(code in url for url in sent), "the code went to the server in a URL"
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Continue").click()
    expect(page.locator("#continue-button")).to_be_visible()
    assert f"/s/{SLUG}/" in page.url


def test_a_code_typed_wrongly_gets_a_clear_message_in_urdu(
    open_context: Callable[..., BrowserContext], live_server: LiveServer, drawn_code: str
) -> None:
    page = open_context().new_page()
    page.goto(live_server(f"/s/{SLUG}/invitation?lang=ur#code=AAAAA-AAAAA"))
    expect(page.locator("#code")).to_have_value("AAAAA-AAAAA")
    with page.expect_navigation(wait_until="load"):
        page.locator("form button[type=submit]").first.click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
