"""A resident answering a survey through the pages: one question per page,
back links and progress, check your answers, consent, under-16s, changes that
drop answers, save and come back, and the whole demo survey in two languages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from test_respond_support import Resident, build_survey, page_text, responses, stored

from consult.extensions import db
from consult.models import Response

REFERENCE = re.compile(r"^[A-Z]{1,3}-[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}$")


def test_start_page_shows_the_survey_privacy_and_ways_in(app, client):
    build_survey(app)
    page = client.get("/s/quick")
    assert page.status_code == 200
    text = page_text(page)
    html = page.get_data(as_text=True)
    assert "Quick safety survey" in text
    assert "Tell us how safe you feel." in text
    assert "North Community Safety Partnership" in text  # the partnership's name in the header
    assert 'id="privacy-summary"' in html
    assert 'id="start-button"' in html
    assert 'href="/s/quick/resume"' in html
    # No response exists until the resident presses Start.
    assert responses(app) == []


def test_start_creates_one_in_progress_response_and_pressing_it_again_continues(app, client):
    build_survey(app)
    resident = Resident(client)
    assert resident.start().endswith("/s/quick/q/safe")
    resident.go("safe", {"safe": "unsafe"})
    assert resident.start().endswith("/s/quick/q/contact")
    [response] = responses(app)
    assert response.status == "in_progress"
    assert response.channel == "online"
    assert response.language == "en"
    assert REFERENCE.match(response.reference)
    expires = (
        response.expires_at
        if response.expires_at.tzinfo
        else response.expires_at.replace(tzinfo=UTC)
    )
    assert timedelta(days=27) < expires - datetime.now(UTC) <= timedelta(days=28)
    assert "Continue where you left off" in page_text(client.get("/s/quick"))


def test_question_page_has_back_link_progress_and_one_heading(app, client):
    build_survey(app)
    resident = Resident(client)
    resident.start()
    first = client.get("/s/quick/q/safe")
    html = first.get_data(as_text=True)
    assert 'class="govuk-back-link" id="back-link"' in html and 'href="/s/quick"' in html
    # Six questions, plus one waiting behind the consent page (the follow-up is hidden).
    assert "Question 1 of about 7" in page_text(first)
    assert (
        '<h1 class="govuk-fieldset__heading" id="question-heading">How safe do you feel after dark?</h1>'
        in html
    )
    assert (
        "<title>How safe do you feel after dark? – North Community Safety Partnership</title>"
        in html
    )
    resident.go("safe", {"safe": "unsafe"})
    second = client.get("/s/quick/q/contact").get_data(as_text=True)
    assert 'href="/s/quick/q/safe" class="govuk-back-link"' in second
    assert 'data-behaviour="exclusive"' in second
    # The stored answer is shown when the resident comes back.
    again = client.get("/s/quick/q/safe").get_data(as_text=True)
    assert 'value="unsafe" checked' in again


def test_every_question_type_renders_with_stable_ids(app, client):
    build_survey(app)
    resident = Resident(client)
    resident.start()
    resident.go("safe", {"safe": "unsafe"})
    resident.go("contact", {})
    grid = client.get("/s/quick/q/worry").get_data(as_text=True)
    assert 'id="worry-burglary-very_worried"' in grid and 'name="worry-mugging"' in grid
    assert grid.count('<legend class="govuk-fieldset__legend govuk-fieldset__legend--s">') == 2
    resident.go("worry", {"worry-burglary": "very_worried", "worry-mugging": "not_worried"})
    ranking = client.get("/s/quick/q/priorities").get_data(as_text=True)
    for rank, label in ((1, "1st choice"), (2, "2nd choice"), (3, "3rd choice")):
        assert (
            f'<label class="govuk-label govuk-label--s" for="priorities-rank-{rank}">{label}</label>'
            in ranking
        )
    assert "priorities-rank-4" not in ranking
    resident.go("priorities", {"priorities-rank-1": "something_else"})
    text = client.get("/s/quick/q/priorities_other").get_data(as_text=True)
    assert 'data-module="govuk-character-count" data-maxlength="50"' in text
    assert "You can enter up to 50 characters" in text
    assert 'data-i18n.characters-under-limit.other="You have %{count} characters remaining"' in text
    resident.go("priorities_other", {"priorities_other": "Street lights"})
    number = client.get("/s/quick/q/years").get_data(as_text=True)
    assert 'inputmode="numeric"' in number and "Enter a number between 0 and 100." in number


def test_validation_errors_are_gov_uk_style_and_keep_what_was_typed(app, client):
    build_survey(app)
    resident = Resident(client)
    resident.start()
    missing = resident.answer("safe", {})
    assert missing.status_code == 400
    html = missing.get_data(as_text=True)
    assert "<title>Error: How safe do you feel after dark?" in html
    assert (
        'class="govuk-error-summary"' in html
        and '<a href="#safe-very_safe">Select an answer</a>' in html
    )
    assert (
        '<p id="safe-error" class="govuk-error-message"><span class="govuk-visually-hidden">Error:</span> Select an answer</p>'
        in html
    )
    assert 'aria-describedby="safe-error"' in html
    resident.go("safe", {"safe": "unsafe"})
    resident.go("contact", {})
    resident.go("worry", {"worry-burglary": "very_worried", "worry-mugging": "not_worried"})
    resident.go("priorities", {})
    bad = resident.answer("years", {"years": "a dozen"})
    assert bad.status_code == 400
    assert 'value="a dozen"' in bad.get_data(as_text=True)
    assert "Enter a number, like 5" in page_text(bad)
    assert stored(app, "years") == []


def test_optional_question_can_be_left_and_leaving_it_empty_removes_an_answer(app, client):
    build_survey(app)
    resident = Resident(client)
    resident.start()
    resident.go("safe", {"safe": "unsafe"})
    assert resident.go("contact", {"contact": "online"}).endswith("/q/worry")
    assert stored(app, "contact") == [("", "online", None, None, None)]
    assert resident.go("contact", {}).endswith("/q/worry")
    assert stored(app, "contact") == []


def test_check_answers_lists_labels_and_change_returns_to_it(app, client):
    build_survey(app)
    resident = Resident(client)
    assert resident.complete_quick().endswith("/s/quick/check")
    page = client.get("/s/quick/check")
    text = page_text(page)
    for label in (
        "Fairly safe",
        "Phoned 101",
        "Online",
        "Burglary: Very worried",
        "1. Drugs",
        "2. Anti-social behaviour",
        "12",
        "No religion",
    ):
        assert label in text, label
    html = page.get_data(as_text=True)
    assert 'id="change-safe" href="/s/quick/q/safe?change=1"' in html
    assert "Not answered" not in text
    change = client.get("/s/quick/q/safe?change=1").get_data(as_text=True)
    assert 'href="/s/quick/check" class="govuk-back-link"' in change
    back = resident.answer("safe", {"safe": "unsafe"}, query="?change=1")
    assert back.location.endswith("/s/quick/check")
    assert "Unsafe" in page_text(client.get("/s/quick/check"))


def test_check_page_sends_an_incomplete_response_to_the_missing_answer(app, client):
    build_survey(app)
    resident = Resident(client)
    resident.start()
    assert client.get("/s/quick/check").location.endswith("/s/quick/q/safe")


def test_changing_an_earlier_answer_drops_answers_that_no_longer_apply(app, client):
    build_survey(app)
    resident = Resident(client)
    resident.start()
    resident.go("safe", {"safe": "unsafe"})
    resident.go("contact", {})
    resident.go("worry", {"worry-burglary": "very_worried", "worry-mugging": "not_worried"})
    assert resident.go("priorities", {"priorities-rank-1": "something_else"}).endswith(
        "/q/priorities_other"
    )
    resident.go("priorities_other", {"priorities_other": "Street lights"})
    assert stored(app, "priorities_other") == [("", "", None, None, "Street lights")]
    # Changing the priorities away from "something else" skips the follow-up...
    assert resident.go("priorities", {"priorities-rank-1": "drugs"}).endswith("/q/years")
    # ...and its answer goes with it.
    assert stored(app, "priorities_other") == []
    assert client.get("/s/quick/q/priorities_other").status_code == 404


def test_consent_yes_asks_special_questions_and_no_skips_them(app, client):
    build_survey(app)
    resident = Resident(client)
    location = resident.complete_quick(consent="yes")
    assert location.endswith("/check")
    assert stored(app, "religion") == [("", "no_religion", None, None, None)]
    page = client.get("/s/quick/consent")
    assert page.status_code == 200
    assert "Are you happy to answer these questions?" in page_text(page)
    # Changing the consent to no deletes the special-category answers.
    assert resident.post("/consent?change=1", {"consent": "no"}).location.endswith("/check")
    assert stored(app, "religion") == []
    assert client.get("/s/quick/q/religion").status_code == 404
    [response] = responses(app)
    assert response.special_consent is False
    assert resident.submit().location.endswith("/done")


def test_consent_page_needs_an_answer(app, client):
    build_survey(app)
    resident = Resident(client)
    resident.start()
    resident.go("safe", {"safe": "unsafe"})
    resident.go("contact", {})
    resident.go("worry", {"worry-burglary": "very_worried", "worry-mugging": "not_worried"})
    resident.go("priorities", {})
    resident.go("years", {})
    assert resident.go("age_band", {}).endswith("/consent")
    missing = resident.post("/consent", {"action": "continue"})
    assert missing.status_code == 400
    assert 'href="#consent-yes"' in missing.get_data(as_text=True)
    # The check page will not let the resident past an unanswered consent question.
    assert client.get("/s/quick/check").location.endswith("/consent")


def test_under_16_is_never_asked_special_questions(app, client):
    build_survey(app)
    resident = Resident(client)
    assert resident.complete_quick(age="under_16").endswith("/check")
    assert client.get("/s/quick/consent").status_code == 404
    assert client.get("/s/quick/q/religion").status_code == 404
    assert "What is your religion?" not in page_text(client.get("/s/quick/check"))


def test_saying_under_16_later_deletes_special_answers_and_consent(app, client):
    build_survey(app)
    resident = Resident(client)
    resident.complete_quick(consent="yes")
    assert stored(app, "religion")
    resident.answer("age_band", {"age_band": "under_16"}, query="?change=1")
    assert stored(app, "religion") == []
    [response] = responses(app)
    assert response.special_consent is None
    # Correcting the age again brings the consent question back, unanswered.
    assert resident.answer(
        "age_band", {"age_band": "age_65_plus"}, query="?change=1"
    ).location.endswith("/consent?change=1")


def test_save_and_come_back_on_another_device(app, client):
    build_survey(app)
    resident = Resident(client)
    resident.start()
    resident.go("safe", {"safe": "unsafe"})
    saved = resident.answer("contact", {"contact": "online"}, action="save")
    assert saved.location.endswith("/s/quick/save")
    page = client.get("/s/quick/save")
    html = page.get_data(as_text=True)
    code = re.search(r'id="resume-code" dir="ltr">([^<]+)<', html).group(1)
    assert re.match(r"^[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}$", code)
    assert "Your answers are kept until" in page_text(page)
    # The answer on the page was saved too.
    assert stored(app, "contact") == [("", "online", None, None, None)]
    # Shown once: a reload offers a new code instead.
    assert code not in client.get("/s/quick/save").get_data(as_text=True)
    [response] = responses(app)
    assert response.resume_code_hash and code.replace("-", "") not in response.resume_code_hash

    other = app.test_client()
    other_resident = Resident(other)
    resumed = other_resident.post("/resume", {"code": code.lower().replace("-", " ")})
    assert resumed.status_code == 302 and resumed.location.endswith("/s/quick/q/worry")
    assert 'value="online" checked' in other.get("/s/quick/q/contact").get_data(as_text=True)


def test_save_without_a_valid_answer_still_saves_what_was_there(app, client):
    build_survey(app)
    resident = Resident(client)
    resident.start()
    resident.go("safe", {"safe": "unsafe"})
    resident.go("contact", {})
    saved = resident.answer("worry", {"worry-burglary": "very_worried"}, action="save")
    assert saved.location.endswith("/s/quick/save")
    assert stored(app, "worry") == []
    assert stored(app, "safe") == [("", "unsafe", None, None, None)]


def test_resume_link_and_wrong_or_expired_codes(app, client):
    build_survey(app)
    resident = Resident(client)
    resident.start()
    resident.go("safe", {"safe": "unsafe"})
    resident.post("/save")
    code = re.search(
        r'id="resume-code" dir="ltr">([^<]+)<', client.get("/s/quick/save").get_data(as_text=True)
    ).group(1)
    # The link carries the code in its fragment; the page posts it.
    link = Resident(app.test_client()).post("/resume", {"code": code.replace("-", "")})
    assert link.status_code == 302 and link.location.endswith("/q/contact")

    wrong = Resident(app.test_client()).post("/resume", {"code": "2222-3333-4444"})
    assert wrong.status_code == 400
    assert "We could not find saved answers with that code" in page_text(wrong)
    empty = Resident(app.test_client()).post("/resume", {"code": ""})
    assert empty.status_code == 400 and "Enter your resume code" in page_text(empty)

    with app.app_context():
        response = db.session.scalars(sa.select(Response)).one()
        response.expires_at = datetime.now(UTC) - timedelta(minutes=1)
        db.session.commit()
    expired = Resident(app.test_client()).post("/resume", {"code": code})
    assert expired.status_code == 400
    assert "This code has expired" in page_text(expired)
    # The browser that started it cannot carry on either.
    assert client.get("/s/quick/q/contact").status_code == 410


def test_resuming_a_submitted_response_says_it_was_sent_and_nothing_more(app, client):
    build_survey(app)
    resident = Resident(client)
    resident.start()
    resident.go("safe", {"safe": "unsafe"})
    resident.post("/save")
    code = re.search(
        r'id="resume-code" dir="ltr">([^<]+)<', client.get("/s/quick/save").get_data(as_text=True)
    ).group(1)
    resident.complete_quick()
    assert resident.submit().location.endswith("/done")
    [response] = responses(app)
    other = app.test_client()
    resumed = Resident(other).post("/resume", {"code": code})
    assert resumed.status_code == 200
    assert "already been sent" in page_text(resumed)
    # Never the reference: a found code reveals nothing about the response.
    assert response.reference not in page_text(resumed)
    assert other.get("/s/quick/done").location.endswith("/s/quick")
    # And no way back into the questions.
    assert other.get("/s/quick/q/safe").location.endswith("/s/quick?expired=1")
    assert len(responses(app)) == 1


def test_a_lost_session_goes_back_to_the_start_with_a_clear_message(app, client):
    build_survey(app)
    page = client.get("/s/quick/q/safe")
    assert page.status_code == 302 and page.location.endswith("/s/quick?expired=1")
    assert "use your resume code" in page_text(client.get(page.location))


def test_the_whole_demo_survey_in_english(app, client, demo):
    slug = demo["slug"]
    resident = Resident(client, slug)
    answers = {
        "safe_after_dark": {"safe_after_dark": "a_bit_unsafe"},
        "safe_day": {"safe_day": "very_safe"},
        "victim_last_year": {"victim_last_year": "no"},
        "contact_police": {"contact_police": ["phoned_101", "online"]},
        "police_job": {"police_job": "good"},
        "police_council_dealing": {"police_council_dealing": "tend_to_agree"},
        "priorities": {
            "priorities-rank-1": "burglary",
            "priorities-rank-2": "something_else",
            "priorities-rank-3": "drugs",
        },
        "priorities_other": {"priorities_other": "More street lighting near the park"},
        "comments": {"comments": "Thank you"},
        "age_band": {"age_band": "prefer_not_to_say"},
        "sex": {"sex": "female"},
        "area": {"area": "castle"},
        "years_in_area": {"years_in_area": "12"},
        "ethnic_group": {"ethnic_group": "asian_indian"},
        "religion": {"religion": "hindu"},
    }
    location = resident.start()
    seen = []
    for _ in range(60):
        path = location.split("?")[0]
        if path.endswith("/check"):
            break
        page = client.get(location)
        assert page.status_code == 200, location
        if path.endswith("/consent"):
            location = resident.consent("yes")
            seen.append("consent")
            continue
        key = path.rsplit("/", 1)[1]
        seen.append(key)
        data = answers.get(key, {})
        if (
            not data
            and "govuk-radios" in page.get_data(as_text=True)
            and 'name="' + key + "-" in page.get_data(as_text=True)
        ):
            # A grid: answer every row with its first scale point.
            html = page.get_data(as_text=True)
            data = {
                name: value
                for name, value in re.findall(
                    r'name="(' + key + r'-[a-z0-9_]+)" type="radio" value="([a-z0-9_]+)"', html
                )
            }
        location = resident.go(key, data)
    assert "priorities_other" in seen and "consent" in seen and "sexual_orientation" in seen
    assert location.endswith("/check")
    check = page_text(client.get(location))
    assert "More street lighting near the park" in check and "Castle" in check
    done = resident.submit()
    assert done.location.endswith("/done")
    confirmation = client.get(done.location)
    [response] = responses(app, slug)
    assert response.status == "submitted" and response.submitted_at is not None
    assert response.reference in page_text(confirmation)
    assert stored(app, "priorities", slug) == [
        ("", "burglary", 1, None, None),
        ("", "something_else", 2, None, None),
        ("", "drugs", 3, None, None),
    ]
    assert len(stored(app, "worry", slug)) == 7
    assert stored(app, "area", slug) == [("", "castle", None, None, None)]


def test_the_demo_survey_in_urdu_is_right_to_left_and_recorded_as_urdu(app, client, demo):
    slug = demo["slug"]
    start = client.get(f"/s/{slug}?lang=ur")
    html = start.get_data(as_text=True)
    assert '<html lang="ur" dir="rtl"' in html
    assert "آپ کتنا محفوظ محسوس کرتے ہیں؟" in html
    assert 'aria-current="true">اردو</a>' in html
    resident = Resident(client, slug)
    location = resident.start()
    question = client.get(location).get_data(as_text=True)
    assert '<html lang="ur" dir="rtl"' in question
    location = resident.go("safe_after_dark", {"safe_after_dark": "very_safe"})
    # Keep going with no answers (all optional) to the check page.
    for _ in range(40):
        if location.endswith("/check"):
            break
        if location.endswith("/consent"):
            location = resident.consent("no")
            continue
        location = resident.go(location.rsplit("/", 1)[1], {})
    assert location.endswith("/check")
    assert '<html lang="ur" dir="rtl"' in client.get(location).get_data(as_text=True)
    resident.submit()
    [response] = responses(app, slug)
    assert response.language == "ur"
    assert response.status == "submitted"
    assert response.special_consent is False
