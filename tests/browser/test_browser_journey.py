"""A resident answers the demo survey end to end in a real browser on a phone,
in each language the survey offers: every page passes axe (en, ur, gu, so),
every page's text is drawn in its script's Noto font (gu, pa, ur, bn, ar), the
priorities are ranked with the keyboard only, and what the resident chose is
what the check page shows and what the database stores."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from consult.extensions import db
from consult.models import Answer, Question, Response

from .conftest import ARTIFACTS, PHONE, LiveServer
from .fontcheck import check_fonts

pytestmark = pytest.mark.browser

SLUG = "feeling-safe"
RTL = {"ur", "ar"}
AXE_LANGUAGES = {"en", "ur", "gu", "so"}
FONT_LANGUAGES = {"gu", "pa", "ur", "bn", "ar"}
# Chosen answers by input id; questions not listed get their first option.
CHOICES = {
    "safe_after_dark": "safe_after_dark-a_bit_unsafe",
    "safe_day": "safe_day-very_safe",
    "contact_police": "contact_police-phoned_101",
    "age_band": "age_band-age_35_44",
    "sex": "sex-prefer_not_to_say",
}
PRIORITIES = ["burglary", "drugs", "something_else"]
OTHER_PRIORITY = {"en": "Speeding on our road", "ur": "ہماری سڑک پر تیز رفتاری"}


def loaded(page: Page, action: Callable[[], object]) -> None:
    """Do what leads to another page and wait for it to finish loading. Checking
    a page earlier forces Chromium to lay it out before its stylesheets arrive:
    the font check then sees the browser's default faces, not what a resident sees."""
    with page.expect_navigation(wait_until="load"):
        action()


@dataclass
class Resident:
    """One resident's way through the survey, checking each page on arrival."""

    page: Page
    server: LiveServer
    lang: str
    axe: Callable[[Page], list[str]]
    shots: Path | None = None
    violations: list[str] = field(default_factory=list)
    font_problems: list[str] = field(default_factory=list)
    font_summaries: list[str] = field(default_factory=list)
    chosen: dict[str, list[str]] = field(default_factory=dict)
    pages: int = 0

    def arrive(self, name: str) -> None:
        """Checks every page makes: language and direction, axe, fonts, screenshot."""
        expect(self.page.locator("h1")).to_be_visible()
        html = self.page.locator("html")
        expect(html).to_have_attribute("lang", self.lang)
        expect(html).to_have_attribute("dir", "rtl" if self.lang in RTL else "ltr")
        self.pages += 1
        if self.lang in AXE_LANGUAGES:
            self.violations += self.axe(self.page)
        if self.lang in FONT_LANGUAGES:
            report = check_fonts(self.page, self.lang)
            if report.elements == 0:
                self.font_problems.append(f"{name}: no {self.lang} text at all (untranslated?)")
            self.font_problems += [f"{name}: {problem}" for problem in report.problems]
            self.font_summaries.append(f"{name}: {report.summary()}")
        if self.shots:
            self.page.screenshot(
                path=str(self.shots / f"{self.pages:02d}-{name}.png"), full_page=True
            )

    def label(self, input_id: str) -> str:
        return self.page.locator(f"label[for='{input_id}']").inner_text().strip()

    def pick(self, input_id: str, key: str) -> None:
        self.page.locator(f"#{input_id}").check()
        self.chosen.setdefault(key, []).append(self.label(input_id))

    def continue_(self) -> None:
        loaded(self.page, lambda: self.page.locator("#continue-button").click())


def answer_question(resident: Resident, key: str, kind: str) -> None:
    page = resident.page
    form = page.locator("#question-form")
    if kind == "ranking":
        rank_by_keyboard(resident, key)
        return
    if kind == "grid":
        for item in form.locator(".consult-grid-item").all():
            first = item.locator(".govuk-radios__input").first
            resident.pick(first.get_attribute("id") or "", key)
    elif kind == "text":
        text = (
            OTHER_PRIORITY.get(resident.lang, OTHER_PRIORITY["en"])
            if key == "priorities_other"
            else "More lighting, please."
        )
        page.locator(f"#{key}").fill(text)
        resident.chosen[key] = [text]
    elif kind == "number":
        # A wrong entry first: the error page must be as accessible as the rest.
        page.locator(f"#{key}").fill("many")
        resident.continue_()
        expect(page.locator(".govuk-error-summary")).to_be_visible()
        expect(page.locator(f"#{key}-error")).to_be_visible()
        resident.arrive(f"{key}-error")
        page.locator(f"#{key}").fill("12")
        resident.chosen[key] = ["12"]
    elif form.locator("select").count():
        select = form.locator(f"select#{key}")
        select.select_option(index=2)
        resident.chosen[key] = [select.locator("option:checked").inner_text().strip()]
    else:
        wanted = CHOICES.get(key)
        if wanted is None:
            wanted = form.locator("input[type=radio], input[type=checkbox]").first.get_attribute(
                "id"
            )
        resident.pick(wanted or "", key)
    resident.continue_()


def rank_by_keyboard(resident: Resident, key: str) -> None:
    """Tab to each rank, choose with the arrow keys, then Tab to Continue and
    press Enter: no mouse on this page."""
    page = resident.page

    def tab_to(element_id: str) -> None:
        for _ in range(60):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
                return
        raise AssertionError(f"Tab never reached #{element_id}")

    for rank, code in enumerate(PRIORITIES, start=1):
        select_id = f"{key}-rank-{rank}"
        tab_to(select_id)
        codes = page.locator(f"#{select_id} option").evaluate_all("os => os.map(o => o.value)")
        for _ in range(codes.index(code)):
            page.keyboard.press("ArrowDown")
        expect(page.locator(f"#{select_id}")).to_have_value(code)
    labels = [
        page.locator(f"#{key}-rank-{rank} option:checked").inner_text().strip()
        for rank in range(1, len(PRIORITIES) + 1)
    ]
    resident.chosen[key] = labels
    tab_to("continue-button")
    loaded(page, lambda: page.keyboard.press("Enter"))


def complete_survey(resident: Resident) -> str:
    """From the start page to the confirmation; returns the reference."""
    page, server = resident.page, resident.server
    page.goto(server(f"/s/{SLUG}?lang={resident.lang}"))
    expect(page.locator("#survey-title")).to_be_visible()
    resident.arrive("start")
    loaded(page, lambda: page.locator("#start-button").click())
    for _ in range(60):
        expect(page.locator("h1")).to_be_visible()
        path = re.sub(r"\?.*", "", page.url.removeprefix(server.url))
        if path.endswith("/check"):
            break
        if path.endswith("/consent"):
            resident.arrive("consent")
            page.locator("#consent-yes").check()
            resident.continue_()
            continue
        match = re.fullmatch(rf"/s/{SLUG}/q/(\w+)", path)
        assert match, f"unexpected page in the journey: {page.url}"
        key = match.group(1)
        kind = page.locator("#question-form").get_attribute("data-type") or ""
        before = page.url
        resident.arrive(key)
        answer_question(resident, key, kind)
        expect(page).not_to_have_url(before)
    else:
        raise AssertionError("the survey never reached the check page")

    resident.arrive("check")
    for key, labels in resident.chosen.items():
        row = page.locator(f"#answer-{key} .govuk-summary-list__value")
        for label in labels:
            expect(row).to_contain_text(label)
    # The order the resident gave is the order shown.
    ranked = page.locator("#answer-priorities li").all_inner_texts()
    assert [line.split(". ", 1)[-1] for line in ranked] == resident.chosen["priorities"]
    loaded(page, lambda: page.locator("#submit-button").click())
    reference = page.locator("#reference")
    expect(reference).to_be_visible()
    resident.arrive("done")
    return reference.inner_text().strip()


def stored_answers(server: LiveServer, reference: str) -> tuple[Response, dict[str, list[Answer]]]:
    with server.app.app_context():
        response = db.session.scalars(sa.select(Response).filter_by(reference=reference)).one()
        rows = db.session.execute(
            sa.select(Question.key, Answer)
            .join(Question, Answer.question_id == Question.id)
            .where(Answer.response_id == response.id)
        ).all()
        by_key: dict[str, list[Answer]] = {}
        for key, answer in rows:
            by_key.setdefault(key, []).append(answer)
        db.session.expunge_all()
        return response, by_key


@pytest.mark.parametrize("lang", ["en", "ur", "gu", "pa", "so", "bn", "ar"])
def test_resident_completes_the_demo_survey(
    phone: Page, live_server: LiveServer, axe: Callable[[Page], list[str]], lang: str
) -> None:
    shots = None
    if lang == "ur":
        shots = ARTIFACTS / "journey-ur"
        shutil.rmtree(shots, ignore_errors=True)
        shots.mkdir(parents=True)
    resident = Resident(phone, live_server, lang, axe, shots=shots)

    reference = complete_survey(resident)

    assert not resident.violations, "axe found serious or critical violations:\n" + "\n".join(
        resident.violations
    )
    assert not resident.font_problems, "\n".join(resident.font_problems + resident.font_summaries)
    response, answers = stored_answers(live_server, reference)
    assert response.status == "submitted" and response.submitted_at is not None
    assert response.language == lang
    assert response.special_consent is True
    ranked = sorted(answers["priorities"], key=lambda a: a.rank or 0)
    assert [(a.rank, a.option_code) for a in ranked] == list(enumerate(PRIORITIES, start=1))
    assert answers["priorities_other"][0].text == resident.chosen["priorities_other"][0]
    assert [a.option_code for a in answers["safe_after_dark"]] == ["a_bit_unsafe"]
    assert answers["years_in_area"][0].number == 12
    assert resident.pages >= 25


def test_first_question_in_each_script_is_drawn_in_its_font(
    phone: Page, live_server: LiveServer
) -> None:
    """The first question page per language, kept as a screenshot to look at:
    radios on the right for Urdu and Arabic, no boxes for missing glyphs."""
    target = ARTIFACTS / "fonts"
    target.mkdir(parents=True, exist_ok=True)
    summaries = []
    for lang in ["gu", "pa", "ur", "bn", "ar"]:
        phone.context.clear_cookies()
        phone.goto(live_server(f"/s/{SLUG}?lang={lang}"))
        loaded(phone, lambda: phone.locator("#start-button").click())
        radio = phone.locator("#safe_after_dark-very_safe")
        expect(radio).to_be_visible()
        report = check_fonts(phone, lang)
        assert report.elements >= 8 and not report.problems, (
            report.summary() + "\n" + "\n".join(report.problems)
        )
        summaries.append(report.summary())
        label = phone.locator("label[for='safe_after_dark-very_safe']")
        radio_box, label_box = radio.bounding_box(), label.bounding_box()
        assert radio_box and label_box
        if lang in RTL:
            assert radio_box["x"] > label_box["x"] + label_box["width"] - 5, (
                f"{lang}: radio not on the right"
            )
        else:
            assert radio_box["x"] + radio_box["width"] < label_box["x"] + 5, (
                f"{lang}: radio not on the left"
            )
        phone.screenshot(path=str(target / f"{lang}.png"), full_page=True)
    print("\n".join(summaries))


def test_language_switcher_keeps_the_answers_and_flips_direction(
    phone: Page, live_server: LiveServer
) -> None:
    phone.goto(live_server(f"/s/{SLUG}?lang=en"))
    phone.locator("#start-button").click()
    phone.locator("#safe_after_dark-fairly_safe").check()
    phone.locator("#continue-button").click()
    heading = phone.locator("#question-heading")
    expect(heading).to_contain_text("during the day")
    english = heading.inner_text()

    phone.locator("#language-ur").click()

    expect(phone).to_have_url(re.compile(rf"/s/{SLUG}/q/safe_day\?lang=ur$"))
    html = phone.locator("html")
    expect(html).to_have_attribute("dir", "rtl")
    expect(html).to_have_attribute("lang", "ur")
    expect(heading).not_to_have_text(english)
    expect(phone.locator("#language-ur")).to_have_attribute("aria-current", "true")
    # Back to the first question, now in Urdu, with the answer given in English.
    phone.locator("#back-link").click()
    expect(phone).to_have_url(re.compile(rf"/s/{SLUG}/q/safe_after_dark"))
    expect(phone.locator("#safe_after_dark-fairly_safe")).to_be_checked()
    expect(phone.locator("html")).to_have_attribute("dir", "rtl")
    # The choice sticks: a page without ?lang= stays in Urdu.
    phone.goto(live_server(f"/s/{SLUG}/q/safe_day"))
    expect(phone.locator("html")).to_have_attribute("lang", "ur")


def test_no_horizontal_scrolling_on_survey_pages_at_320_pixels(
    phone: Page, live_server: LiveServer
) -> None:
    phone.set_viewport_size({"width": 320, "height": 640})
    for lang in ("en", "ur"):
        phone.context.clear_cookies()
        phone.goto(live_server(f"/s/{SLUG}?lang={lang}"))
        widths = {"start": phone.evaluate("document.documentElement.scrollWidth")}
        phone.locator("#start-button").click()
        for key in ("safe_after_dark", "worry", "priorities"):
            phone.goto(live_server(f"/s/{SLUG}/q/{key}"))
            expect(phone.locator("#question-form")).to_be_visible()
            widths[key] = phone.evaluate("document.documentElement.scrollWidth")
        too_wide = {name: width for name, width in widths.items() if width > 320}
        assert not too_wide, f"{lang}: pages scroll sideways at 320px: {too_wide}"
    phone.set_viewport_size(PHONE)
