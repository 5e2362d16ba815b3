"""Who can answer when, in which language: closed and not-yet-open surveys,
language negotiation and the switcher, invitation codes, stakeholder surveys."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from test_respond_support import Resident, build_survey, labels, page_text, responses

from consult.extensions import db
from consult.models import Invitation, Survey
from consult.services import ServiceError
from consult.services.responses import create_invitations, negotiate_language
from consult.services.surveys import add_question, add_section

HTML_TAG = re.compile(r"<html[^>]*>")


def html_tag(page) -> str:
    return HTML_TAG.search(page.get_data(as_text=True)).group(0)


# --- open, closed, not yet open ---------------------------------------------------------


def test_unknown_and_draft_surveys_are_not_found(app, client):
    build_survey(app, status="draft")
    assert client.get("/s/quick").status_code == 404
    assert client.get("/s/quick/q/safe").status_code == 404
    assert client.get("/s/no-such-survey").status_code == 404


def test_closed_surveys_say_so_with_410_everywhere(app, client):
    build_survey(app, status="closed")
    build_survey(app, "ended", closes_at=datetime.now(UTC) - timedelta(hours=1))
    for path in ("/s/quick", "/s/quick/q/safe", "/s/ended", "/s/ended/check", "/s/ended/resume"):
        page = client.get(path)
        assert page.status_code == 410, path
        assert "This survey has closed" in page_text(page)
    # A post (here without a form token, as there is no form to take it from) starts nothing.
    assert client.post("/s/ended", data={}).status_code in (400, 410)
    assert responses(app, "ended") == []


def test_a_closed_survey_speaks_the_residents_language(app, client):
    build_survey(app, status="closed")
    page = client.get("/s/quick?lang=ur")
    assert page.status_code == 410
    assert 'lang="ur" dir="rtl"' in html_tag(page)


def test_not_yet_open_survey_gives_the_opening_date(app, client):
    opens = datetime(2099, 3, 14, 9, 0, tzinfo=UTC)
    build_survey(app, opens_at=opens, closes_at=opens + timedelta(days=30))
    page = client.get("/s/quick")
    assert page.status_code == 403
    text = page_text(page)
    assert "This survey is not open yet" in text and "14 March 2099" in text


def test_closing_while_answering_stops_further_answers(app, client):
    build_survey(app)
    resident = Resident(client)
    resident.start()
    with app.app_context():
        survey = db.session.scalars(sa.select(Survey).filter_by(slug="quick")).one()
        survey.status = "closed"
        db.session.commit()
    assert resident.answer("safe", {"safe": "unsafe"}).status_code == 410


def test_feedback_hook_links_from_a_closed_survey(app, client):
    build_survey(app, status="published")
    installed = app.extensions["consult_feedback_url"]
    app.extensions["consult_feedback_url"] = lambda survey: f"/feedback/{survey.slug}"
    try:
        page = client.get("/s/quick")
    finally:
        # Restore the real hook: the app outlives this test.
        app.extensions["consult_feedback_url"] = installed
    assert page.status_code == 410
    assert 'href="/feedback/quick"' in page.get_data(as_text=True)


# --- languages ----------------------------------------------------------------------------


def test_negotiation_rules():
    offered = ["en", "ur", "pl"]

    def pick(**kw):
        options = {"requested": None, "remembered": None, "accept": None, **kw}
        return negotiate_language(offered, "en", **options)

    assert pick(accept=[("de", 1.0), ("pl-PL", 0.8)]).language == "pl"
    assert pick(accept=[("de", 1.0)]).language == "en"
    assert pick(requested="ur", remembered="pl").language == "ur"
    assert pick(remembered="pl", accept=[("ur", 1)]).language == "pl"
    fallback = pick(requested="bn")
    assert fallback.language == "en" and fallback.unavailable == "bn"


def test_browser_language_is_offered_when_the_survey_has_it(app, client):
    build_survey(app)
    urdu = client.get("/s/quick", headers={"Accept-Language": "ur-PK,ur;q=0.9,en;q=0.5"})
    assert 'lang="ur" dir="rtl"' in html_tag(urdu)
    assert "فوری حفاظتی سروے" in page_text(urdu)
    german = client.get("/s/quick", headers={"Accept-Language": "de-DE"})
    assert 'lang="en" dir="ltr"' in html_tag(german)


def test_switcher_links_are_in_their_own_language_and_mark_the_current_one(app, client):
    build_survey(app)
    page = client.get("/s/quick?lang=pl").get_data(as_text=True)
    switcher = re.search(r'<nav class="consult-language-switcher".*?</nav>', page, re.S).group(0)
    links = re.findall(r"<a [^>]*>[^<]*</a>", switcher)
    assert len(links) == 3  # the survey's languages only
    assert 'href="/s/quick?lang=ur" lang="ur" hreflang="ur" dir="rtl">اردو</a>' in switcher
    assert 'lang="pl" hreflang="pl" dir="ltr" aria-current="true">Polski</a>' in switcher
    assert switcher.count("aria-current") == 1


def test_the_language_cookie_outlives_the_session(app, client):
    build_survey(app)
    client.get("/s/quick?lang=ur")
    cookie = client.get_cookie("consult_lang")
    assert cookie is not None and cookie.value == "ur"
    # A new browser session (no session cookie) that kept the language cookie.
    later = app.test_client()
    later.set_cookie("consult_lang", "ur")
    assert 'lang="ur" dir="rtl"' in html_tag(later.get("/s/quick"))


def test_a_language_the_survey_does_not_offer_falls_back_with_a_notice(app, client):
    build_survey(app)
    page = client.get("/s/quick?lang=bn")
    assert page.status_code == 200
    assert 'lang="en" dir="ltr"' in html_tag(page)
    assert "This survey is not available in বাংলা, so it is shown in English." in page_text(page)
    assert client.get("/s/quick?lang=xx").status_code == 404


def test_switching_language_mid_survey_is_recorded_on_the_response(app, client):
    build_survey(app)
    resident = Resident(client)
    resident.start()
    resident.go("safe", {"safe": "unsafe"})
    page = client.get("/s/quick/q/contact?lang=ur")
    assert 'lang="ur" dir="rtl"' in html_tag(page)
    [response] = responses(app)
    assert response.language == "ur"
    # Survey content falls back to the default language where a translation is missing.
    assert "How have you contacted the police?" in page_text(page)
    urdu_safe = client.get("/s/quick/q/safe").get_data(as_text=True)
    assert "اندھیرے کے بعد آپ کتنا محفوظ محسوس کرتے ہیں؟" in urdu_safe and "بہت محفوظ" in urdu_safe


# --- invitation codes ---------------------------------------------------------------------


def test_invitation_codes_are_unique_shown_once_and_stored_hashed(app):
    build_survey(app, requires_invitation=True)
    with app.app_context():
        survey = db.session.scalars(sa.select(Survey).filter_by(slug="quick")).one()
        codes = create_invitations(survey, 50)
        db.session.commit()
        assert len(set(codes)) == 50
        assert all(re.match(r"^[2-9A-Z]{5}-[2-9A-Z]{5}$", c) for c in codes)
        hashes = set(db.session.scalars(sa.select(Invitation.code_hash)))
        assert len(hashes) == 50
        assert not any(c.replace("-", "") in h for c in codes for h in hashes)
        for bad in (0, -1, 20001):
            try:
                create_invitations(survey, bad)
            except ServiceError:
                pass
            else:
                raise AssertionError(bad)


def _invitation_codes(app, count: int) -> list[str]:
    with app.app_context():
        survey = db.session.scalars(sa.select(Survey).filter_by(slug="quick")).one()
        codes = create_invitations(survey, count)
        db.session.commit()
        return codes


def test_an_invitation_survey_starts_with_the_letters_code(app, client):
    build_survey(app, requires_invitation=True)
    [code, _other] = _invitation_codes(app, 2)
    start = client.get("/s/quick").get_data(as_text=True)
    assert 'href="/s/quick/invitation"' in start
    resident = Resident(client)
    # Start without a code is sent to the code page, and nothing is created.
    assert resident.post("").location.endswith("/s/quick/invitation")
    assert responses(app) == []
    wrong = resident.post("/invitation", {"code": "ABCDE-FGHJK"})
    assert wrong.status_code == 400 and "We could not find that code" in page_text(wrong)
    began = resident.post("/invitation", {"code": code.lower()})
    assert began.location.endswith("/s/quick/q/safe")
    resident.go("safe", {"safe": "unsafe"})
    # The same code on another device carries on with the same response.
    elsewhere = Resident(app.test_client())
    assert elsewhere.post("/invitation", {"code": code}).location.endswith("/s/quick/q/contact")
    assert len(responses(app)) == 1
    resident.complete_quick()
    resident.submit()
    used = Resident(app.test_client()).post("/invitation", {"code": code})
    assert used.status_code == 400
    assert "This code has already been used" in page_text(used)
    assert len(responses(app)) == 1
    with app.app_context():
        claimed = db.session.scalars(
            sa.select(Invitation).where(Invitation.response_id.is_not(None))
        ).all()
        assert len(claimed) == 1


# --- stakeholders -------------------------------------------------------------------------


def test_stakeholder_survey_asks_about_the_organisation_not_the_person(app, client):
    with app.app_context():
        from consult.services.accounts import create_partnership
        from consult.services.surveys import create_survey

        partnership = create_partnership("north-csp", "North Community Safety Partnership")
        survey = create_survey(
            partnership, slug="partners", title=labels("Partner survey"), audience="stakeholders"
        )
        main = add_section(survey, "main", labels("Priorities"))
        add_question(
            survey,
            main,
            key="safe",
            type="single",
            required=True,
            prompt=labels("Is the area safe?"),
            options=[
                {"code": "yes", "label": labels("Yes")},
                {"code": "no", "label": labels("No")},
            ],
        )
        org = add_section(
            survey,
            "about_organisation",
            labels("About your organisation"),
            kind="about_organisation",
        )
        add_question(
            survey,
            org,
            key="partner_type",
            type="single",
            demographic="partner_type",
            prompt=labels("What kind of organisation are you?"),
            options=[
                {"code": "police", "label": labels("Police")},
                {"code": "voluntary", "label": labels("Voluntary group")},
            ],
        )
        add_question(
            survey,
            org,
            key="org_area_covered",
            type="single",
            prompt=labels("What area do you cover?"),
            options=[
                {"code": "citywide", "label": labels("The whole city")},
                {"code": "one_ward", "label": labels("One ward")},
            ],
        )
        survey.status = "open"
        db.session.commit()
    start = client.get("/s/partners")
    assert "Answer on behalf of your organisation" in page_text(start)
    resident = Resident(client, "partners")
    resident.start()
    assert resident.go("safe", {"safe": "yes"}).endswith("/q/partner_type")
    assert "About your organisation" in page_text(client.get("/s/partners/q/partner_type"))
    assert resident.go("partner_type", {"partner_type": "voluntary"}).endswith(
        "/q/org_area_covered"
    )
    assert resident.go("org_area_covered", {"org_area_covered": "one_ward"}).endswith("/check")
    assert client.get("/s/partners/consent").status_code == 404
    assert resident.submit().location.endswith("/s/partners/done")


def test_a_long_area_list_is_a_labelled_select(app, client):
    build_survey(app)
    with app.app_context():
        survey = db.session.scalars(sa.select(Survey).filter_by(slug="quick")).one()
        section = survey.sections[0]
        add_question(
            survey,
            section,
            key="ward",
            type="area",
            required=True,
            prompt=labels("Which ward do you live in?"),
            options=[{"code": f"ward_{n}", "label": labels(f"Ward {n}")} for n in range(1, 31)],
        )
        db.session.commit()
    resident = Resident(client)
    resident.start()
    resident.go("safe", {"safe": "unsafe"})
    resident.go("contact", {})
    resident.go("worry", {"worry-burglary": "very_worried", "worry-mugging": "not_worried"})
    resident.go("priorities", {})
    assert resident.go("years", {}).endswith("/q/ward")
    page = client.get("/s/quick/q/ward").get_data(as_text=True)
    assert (
        '<label class="govuk-label govuk-label--l" for="ward">Which ward do you live in?</label>'
        in page
    )
    assert '<select class="govuk-select" id="ward" name="ward"' in page
    missing = resident.answer("ward", {"ward": ""})
    assert missing.status_code == 400 and 'href="#ward"' in missing.get_data(as_text=True)
    assert resident.go("ward", {"ward": "ward_27"}).endswith("/q/age_band")
