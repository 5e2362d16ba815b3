"""Posts and addresses a real form could never send: refused with a clear
page, nothing stored, never a 500."""

from __future__ import annotations

from test_respond_support import Resident, build_survey, page_text, responses, stored
from werkzeug.datastructures import MultiDict


def started(app, client) -> Resident:
    build_survey(app)
    resident = Resident(client)
    resident.start()
    resident.go("safe", {"safe": "unsafe"})
    resident.go("contact", {})
    resident.go("worry", {"worry-burglary": "very_worried", "worry-mugging": "not_worried"})
    return resident


def test_a_question_not_on_the_path_is_refused_on_get_and_post(app, client):
    resident = started(app, client)
    resident.go("priorities", {"priorities-rank-1": "drugs"})
    page = client.get("/s/quick/q/priorities_other")
    assert page.status_code == 404
    assert "This question is not part of your survey" in page_text(page)
    assert 'id="message-link" href="/s/quick/q/years"' in page.get_data(as_text=True)
    post = resident.answer("priorities_other", {"priorities_other": "sneaky"})
    assert post.status_code == 404
    assert stored(app, "priorities_other") == []


def test_unknown_and_other_surveys_question_keys_are_not_found(app, client):
    resident = started(app, client)
    build_survey(app, "other-survey")
    assert client.get("/s/quick/q/no_such_question").status_code == 404
    assert resident.answer("no_such_question", {"no_such_question": "x"}).status_code == 404
    # A question key another survey has, that this one does not.
    assert client.get("/s/quick/q/safe_after_dark").status_code == 404


def test_a_special_question_cannot_be_reached_before_consent(app, client):
    resident = started(app, client)
    assert client.get("/s/quick/q/religion").status_code == 404
    assert resident.answer("religion", {"religion": "muslim"}).status_code == 404
    assert stored(app, "religion") == []


def test_a_foreign_option_code_is_a_400_and_keeps_the_previous_answer(app, client):
    resident = started(app, client)
    bad = resident.answer("safe", {"safe": "very_worried"})
    assert bad.status_code == 400
    text = page_text(bad)
    assert "There is a problem with your answer" in text and "Nothing was saved" in text
    assert stored(app, "safe") == [("", "unsafe", None, None, None)]
    assert (
        resident.answer("safe", MultiDict([("safe", "unsafe"), ("safe", "very_safe")])).status_code
        == 400
    )


def test_grid_with_an_unknown_row_or_scale_point(app, client):
    resident = started(app, client)
    row = resident.answer(
        "worry",
        {
            "worry-burglary": "very_worried",
            "worry-mugging": "not_worried",
            "worry-arson": "very_worried",
        },
    )
    assert row.status_code == 400
    point = resident.answer("worry", {"worry-burglary": "livid", "worry-mugging": "not_worried"})
    assert point.status_code == 400
    assert stored(app, "worry") == [
        ("burglary", "very_worried", None, None, None),
        ("mugging", "not_worried", None, None, None),
    ]


def test_ranking_duplicates_are_an_error_and_extra_picks_are_refused(app, client):
    resident = started(app, client)
    duplicate = resident.answer(
        "priorities", {"priorities-rank-1": "drugs", "priorities-rank-2": "drugs"}
    )
    assert duplicate.status_code == 400
    assert "You chose ‘Drugs’ more than once" in page_text(duplicate)
    assert 'href="#priorities-rank-2"' in duplicate.get_data(as_text=True)
    too_many = resident.answer(
        "priorities",
        {
            "priorities-rank-1": "drugs",
            "priorities-rank-2": "asb",
            "priorities-rank-3": "burglary",
            "priorities-rank-4": "something_else",
        },
    )
    assert too_many.status_code == 400
    assert "More choices were sent than this question allows (3)" in page_text(too_many)
    assert stored(app, "priorities") == []


def test_exclusive_option_with_another_is_an_error_on_the_page(app, client):
    build_survey(app)
    resident = Resident(client)
    resident.start()
    resident.go("safe", {"safe": "unsafe"})
    mixed = resident.answer("contact", {"contact": ["online", "none_of_these"]})
    assert mixed.status_code == 400
    html = mixed.get_data(as_text=True)
    assert "Select ‘None of these’ on its own" in page_text(mixed)
    assert 'href="#contact-none_of_these"' in html
    # What was ticked stays ticked so the resident can fix it.
    assert 'value="online" checked' in html and 'value="none_of_these" checked' in html
    assert stored(app, "contact") == []


def test_number_out_of_range_and_oversize_or_odd_text(app, client):
    resident = started(app, client)
    resident.go("priorities", {"priorities-rank-1": "something_else"})
    long = resident.answer("priorities_other", {"priorities_other": "x" * 51})
    assert long.status_code == 400
    assert "Your answer must be 50 characters or fewer" in page_text(long)
    resident.go("priorities_other", {"priorities_other": "Lights at night"})
    # Control characters no keyboard types are refused before any view runs;
    # the answer already stored stays.
    odd = resident.answer("priorities_other", {"priorities_other": "Lights\x00 at\x07 night"})
    assert odd.status_code == 400
    assert stored(app, "priorities_other") == [("", "", None, None, "Lights at night")]
    out = resident.answer("years", {"years": "250"})
    assert out.status_code == 400 and "Enter a number between 0 and 100" in page_text(out)
    assert stored(app, "years") == []


def test_text_pasted_with_page_breaks_is_kept_with_line_breaks(app, client):
    # Word processors and PDFs put form feeds and vertical tabs into copied
    # text; a resident's comment must be stored, not refused for them.
    resident = started(app, client)
    resident.go("priorities", {"priorities-rank-1": "something_else"})
    assert resident.go("priorities_other", {"priorities_other": "Lights\x0cat\x0bnight"})
    [(_, _, _, _, text)] = stored(app, "priorities_other")
    assert "\x0c" not in text and "\x0b" not in text
    assert text.split() == ["Lights", "at", "night"]


def test_consent_with_a_made_up_value_and_posts_without_csrf(app, client):
    resident = started(app, client)
    resident.go("priorities", {})
    resident.go("years", {})
    resident.go("age_band", {})
    assert resident.post("/consent", {"consent": "maybe"}).status_code == 400
    [response] = responses(app)
    assert response.special_consent is None
    no_token = client.post("/s/quick/q/years", data={"years": "5"})
    assert no_token.status_code == 400
    assert "Your form could not be sent" in page_text(no_token)
    assert stored(app, "years") == []


def test_answers_cannot_change_after_submission(app, client):
    build_survey(app)
    resident = Resident(client)
    resident.complete_quick()
    resident.submit()
    late = resident.answer("safe", {"safe": "very_safe"})
    assert late.status_code == 302 and late.location.endswith("/done")
    assert stored(app, "safe") == [("", "fairly_safe", None, None, None)]
    assert client.get("/s/quick/check").location.endswith("/done")


def test_huge_post_is_refused_cleanly(app, client):
    resident = started(app, client)
    huge = resident.answer("years", {"years": "1" * (3 * 1024 * 1024)})
    assert huge.status_code in (400, 413)
    assert stored(app, "years") == []
