"""What residents ran into on a phone and in six languages: the language of a
resumed response, resume codes kept out of URLs and useless once the answers
are sent, a save that drops an invalid answer saying so, dates in each
language's long form, English names marked as English, the privacy notice's
way back, under-16s and the questions that are not for them."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import sqlalchemy as sa
from babel.dates import format_date as babel_format_date
from test_respond_support import Resident, build_survey, page_text, responses, stored

from consult.extensions import db
from consult.models import Question, Survey

CODE_ON_PAGE = re.compile(r'id="resume-code" dir="ltr">([^<]+)<')


def _saved_code(client) -> str:
    return CODE_ON_PAGE.search(client.get("/s/quick/save").get_data(as_text=True)).group(1)


# --- 1. the language travels with the response ---------------------------------------


def test_resuming_in_a_fresh_english_browser_keeps_the_response_language(app, client):
    build_survey(app, languages=("en", "ur", "ar"))
    resident = Resident(client)
    client.get("/s/quick?lang=ar")
    resident.start()
    resident.go("safe", {"safe": "unsafe"})
    resident.answer("contact", {"contact": "online"}, action="save")
    code = _saved_code(client)
    assert responses(app)[0].language == "ar"

    fresh = app.test_client()
    resumed = Resident(fresh).post(
        "/resume", {"code": code}, headers={"Accept-Language": "en-GB,en;q=0.9"}
    )
    assert resumed.status_code == 302
    page = fresh.get(resumed.location, headers={"Accept-Language": "en-GB,en;q=0.9"})
    if page.status_code == 302:
        page = fresh.get(page.location, headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<html lang="ar" dir="rtl"' in html
    # And the following pages too, without the resident touching the switcher.
    again = fresh.get("/s/quick/q/worry", headers={"Accept-Language": "en"})
    assert '<html lang="ar" dir="rtl"' in again.get_data(as_text=True)
    assert responses(app)[0].language == "ar"


def test_a_language_chosen_on_the_resume_page_wins_over_the_saved_one(app, client):
    build_survey(app, languages=("en", "ur", "ar"))
    resident = Resident(client)
    client.get("/s/quick?lang=ar")
    resident.start()
    resident.go("safe", {"safe": "unsafe"})
    resident.post("/save")
    code = _saved_code(client)
    fresh = app.test_client()
    fresh.get("/s/quick/resume?lang=ur")
    resumed = Resident(fresh).post("/resume", {"code": code})
    page = fresh.get(resumed.location, follow_redirects=True)
    assert '<html lang="ur" dir="rtl"' in page.get_data(as_text=True)
    assert responses(app)[0].language == "ur"


# --- 8 and issue 13: resume codes never in a URL, useless after submission ------------


def test_the_resume_link_carries_the_code_in_the_fragment_never_the_path(app, client):
    build_survey(app)
    resident = Resident(client)
    resident.start()
    resident.go("safe", {"safe": "unsafe"})
    resident.post("/save")
    html = client.get("/s/quick/save").get_data(as_text=True)
    code = CODE_ON_PAGE.search(html).group(1)
    link = re.search(r'id="resume-url" href="([^"]+)"', html).group(1)
    path, _, fragment = link.partition("#")
    assert path.endswith("/s/quick/resume")
    assert code.replace("-", "") not in path
    assert fragment.replace("-", "") == code.replace("-", "")
    # A code in the path is not looked up (it would be in every access log).
    old = app.test_client().get(f"/s/quick/resume/{code.replace('-', '')}")
    assert old.status_code == 404
    assert "/q/" not in (old.location or "")
    # The form behind the link takes it in a POST body.
    resumed = Resident(app.test_client()).post("/resume", {"code": fragment})
    assert resumed.status_code == 302 and "/q/contact" in resumed.location


def test_a_submitted_responses_code_only_says_the_answers_were_sent(app, client):
    build_survey(app)
    resident = Resident(client)
    resident.start()
    resident.go("safe", {"safe": "unsafe"})
    resident.post("/save")
    code = _saved_code(client)
    resident.complete_quick()
    assert resident.submit().location.endswith("/done")
    [response] = responses(app)

    other = app.test_client()
    page = Resident(other).post("/resume", {"code": code}, follow_redirects=True)
    text = page_text(page)
    assert "already been sent" in text
    assert response.reference not in text
    # Nothing about the response is reachable from that browser afterwards.
    done = other.get("/s/quick/done", follow_redirects=True)
    assert response.reference not in page_text(done)
    assert other.get("/s/quick/q/safe").status_code == 302
    assert response.reference not in page_text(other.get("/s/quick/q/safe", follow_redirects=True))
    assert len(responses(app)) == 1


# --- 4. a save that could not keep this page's answer says so ---------------------------


def test_save_with_an_invalid_entry_says_what_was_not_saved(app, client):
    build_survey(app)
    resident = Resident(client)
    resident.start()
    resident.complete_quick()
    saved = resident.answer("years", {"years": "about ten"}, action="save")
    assert saved.status_code == 302
    page = client.get(saved.location)
    text = page_text(page)
    assert "Your answers have been saved" not in text
    assert "was not saved" in text
    assert "How many years have you lived here?" in text
    assert stored(app, "years") == [("", "", None, 12.0, None)] or stored(app, "years")
    # The warning is shown once, with the code.
    assert "was not saved" not in page_text(client.get("/s/quick/save"))


def test_the_not_saved_warning_is_in_the_residents_language(app, client):
    build_survey(app)
    resident = Resident(client)
    client.get("/s/quick?lang=pl")
    resident.start()
    resident.go("safe", {"safe": "unsafe"})
    resident.go("contact", {})
    resident.go("worry", {"worry-burglary": "very_worried", "worry-mugging": "not_worried"})
    resident.go("priorities", {"priorities-rank-1": "drugs"})
    saved = resident.answer("years", {"years": "około dziesięciu"}, action="save")
    text = page_text(client.get(saved.location))
    assert "not saved" not in text
    assert "nie została zapisana" in text


# --- 5. dates in each language's long form ---------------------------------------------


def _not_yet_open(app) -> None:
    build_survey(
        app,
        languages=("en", "pl", "ar", "ur"),
        opens_at=datetime(2027, 1, 1, 12, 0, tzinfo=UTC),
    )


def test_dates_on_resident_pages_are_the_languages_long_date(app, client):
    _not_yet_open(app)
    english = page_text(client.get("/s/quick?lang=en"))
    assert "1 January 2027" in english
    assert "January 1, 2027" not in english
    for language in ("pl", "ar", "ur"):
        expected = babel_format_date(date(2027, 1, 1), "long", locale=language)
        assert expected in page_text(client.get(f"/s/quick?lang={language}")), language
    assert "1 stycznia 2027" in page_text(client.get("/s/quick?lang=pl"))


def test_the_save_page_gives_the_expiry_as_a_long_british_date(app, client):
    build_survey(app)
    resident = Resident(client)
    resident.start()
    resident.post("/save")
    text = page_text(client.get("/s/quick/save"))
    assert re.search(r"kept until \d{1,2} [A-Z][a-z]+ \d{4}\.", text), text


# --- 7. English names on other languages' pages are marked as English ------------------


def test_english_names_on_an_urdu_page_carry_lang_en(app, client):
    build_survey(app)
    resident = Resident(client)
    client.get("/s/quick?lang=ur")
    resident.start()
    html = client.get("/s/quick/q/contact").get_data(as_text=True)
    # The partnership's name in the header is English.
    assert re.search(
        r'<a [^>]*lang="en"[^>]*>\s*North Community Safety Partnership', html
    ) or re.search(r'lang="en"[^>]*>North Community Safety Partnership<', html), html[:3000]
    # An untranslated prompt and its options are shown in English, marked so.
    assert re.search(r'lang="en"[^>]*>\s*How have you contacted the police\?', html)
    assert re.search(r'lang="en"[^>]*>Phoned 101<', html)
    # Translated text is not marked.
    safe = client.get("/s/quick/q/safe").get_data(as_text=True)
    assert not re.search(r'lang="en"[^>]*>بہت محفوظ<', safe)
    assert "بہت محفوظ" in safe
    # On an English page nothing needs marking.
    client.get("/s/quick?lang=en")
    english = client.get("/s/quick/q/contact").get_data(as_text=True)
    assert 'lang="en">Phoned 101' not in english


def test_a_ward_name_copied_into_every_language_is_marked_english(app, client):
    from consult.services.surveys import add_question

    build_survey(app)
    with app.app_context():
        survey = db.session.scalars(sa.select(Survey).filter_by(slug="quick")).one()
        main = next(s for s in survey.sections if s.key == "main")
        add_question(
            survey,
            main,
            key="ward",
            type="area",
            prompt={"en": "Where do you live?", "ur": "آپ کہاں رہتے ہیں؟"},
            options=[
                {"code": "abbey", "label": {"en": "Abbey", "ur": "Abbey"}},
                {"code": "castle", "label": {"en": "Castle", "ur": "کیسل"}},
            ],
        )
        db.session.commit()
    resident = Resident(client)
    client.get("/s/quick?lang=ur")
    resident.start()
    html = client.get("/s/quick/q/ward").get_data(as_text=True)
    assert re.search(r'lang="en"[^>]*>Abbey<', html), html
    assert not re.search(r'lang="en"[^>]*>کیسل<', html)
    assert not re.search(r'lang="en"[^>]*>آپ کہاں', html)


# --- 9. the privacy notice leads back, in the resident's language ------------------------


def test_privacy_notice_from_a_survey_leads_back_and_has_a_language_switcher(app, client):
    build_survey(app, languages=("en", "ur", "pl"))
    start = client.get("/s/quick?lang=pl").get_data(as_text=True)
    privacy_href = re.search(r'href="(/privacy[^"]*)"', start).group(1).replace("&amp;", "&")
    page = client.get(privacy_href)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<html lang="pl"' in html
    back = re.search(r'<a href="([^"]+)" class="govuk-back-link"', html)
    assert back and back.group(1).startswith("/s/quick"), html[:3000]
    switcher = re.findall(r'id="language-(\w+)" href="([^"]+)"', html)
    assert {code for code, _href in switcher} >= {"en", "ur", "pl"}
    urdu = dict(switcher)["ur"].replace("&amp;", "&")
    urdu_page = client.get(urdu).get_data(as_text=True)
    assert '<html lang="ur" dir="rtl"' in urdu_page
    assert re.search(r'<a href="/s/quick[^"]*" class="govuk-back-link"', urdu_page)


def test_privacy_notice_with_a_bogus_survey_is_still_the_plain_notice(app, client):
    page = client.get("/privacy?survey=../../etc")
    assert page.status_code == 200
    assert "govuk-back-link" not in page.get_data(as_text=True)
    # Opened on its own, it still offers every language of the service.
    html = client.get("/privacy").get_data(as_text=True)
    assert {"en", "ur", "ar", "pl"} <= set(re.findall(r'id="language-(\w+)"', html))
    arabic = client.get("/privacy?lang=ar").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl"' in arabic


# --- 11. the back link is inside a landmark --------------------------------------------


def test_the_back_link_sits_inside_a_landmark(app, client):
    build_survey(app)
    resident = Resident(client)
    resident.start()
    resident.go("safe", {"safe": "unsafe"})
    html = client.get("/s/quick/q/contact").get_data(as_text=True)
    back = html.index('id="back-link"')
    opened = max(html.rfind("<nav", 0, back), html.rfind("<main", 0, back))
    assert opened != -1
    tag = "nav" if html.rfind("<nav", 0, back) > html.rfind("<main", 0, back) else "main"
    assert html.find(f"</{tag}>", opened) > back


# --- 2. the under-16 rule comes from each question -------------------------------------


def _add_gender_identity(app, *, adults_only: bool | None) -> None:
    from consult.services.surveys import add_question

    with app.app_context():
        survey = db.session.scalars(sa.select(Survey).filter_by(slug="quick")).one()
        about = next(s for s in survey.sections if s.key == "about_you")
        extra = {} if adults_only is None else {"adults_only": adults_only}
        add_question(
            survey,
            about,
            key="gender_identity",
            type="single",
            demographic="gender_identity",
            prompt={"en": "Is the gender you identify with the same as your sex at birth?"},
            options=[
                {"code": "yes", "label": {"en": "Yes"}},
                {"code": "no", "label": {"en": "No"}},
            ],
            **extra,
        )
        db.session.commit()


def test_under_16s_are_not_asked_a_question_set_for_16_and_over(app, client):
    build_survey(app)
    _add_gender_identity(app, adults_only=True)
    resident = Resident(client)
    location = resident.complete_quick(age="under_16")
    assert location.endswith("/check")
    assert "gender you identify" not in page_text(client.get("/s/quick/check"))
    assert client.get("/s/quick/q/gender_identity").status_code == 404
    adult = Resident(app.test_client())
    assert adult.complete_quick().endswith("/q/gender_identity")


def test_special_category_questions_are_always_16_and_over(app):
    build_survey(app)
    with app.app_context():
        religion = db.session.scalars(sa.select(Question).filter_by(key="religion")).one()
        assert religion.adults_only is True


def test_the_banks_gender_identity_question_is_for_16_and_over():
    from consult.question_bank import load_bank

    bank = load_bank()
    gender = next(item for item in bank.items if item.demographic == "gender_identity")
    assert gender.adults_only is True
    for item in bank.items:
        if item.special_category:
            assert item.adults_only, item.key


def test_the_builder_sets_16_and_over_and_never_clears_it_on_a_special_question(app):
    from consult.services import builder

    build_survey(app)
    with app.app_context():
        years = db.session.scalars(sa.select(Question).filter_by(key="years")).one()
        builder.update_question(years, prompt="How many years?", adults_only=True)
        religion = db.session.scalars(sa.select(Question).filter_by(key="religion")).one()
        builder.update_question(religion, prompt="What is your religion?", adults_only=False)
        db.session.commit()
        assert years.adults_only is True
        assert religion.adults_only is True
        # Leaving the setting out (an older caller) keeps it as it was.
        builder.update_question(years, prompt="How many years?")
        assert years.adults_only is True


def test_an_officer_ticks_16_and_over_in_the_builder(app, client, signed_in):
    from test_build_web import build, ids

    signed_in("officer")
    survey_id, questions = build(client, app)
    _, sections = ids(app, survey_id)
    page = f"/manage/surveys/{survey_id}/questions/{questions['other']}"
    assert 'name="adults_only"' in client.get(page).get_data(as_text=True)
    response = client.post_form(page, {"prompt": "What else?", "key": "other", "adults_only": "1"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with app.app_context():
        assert db.session.get(Question, questions["other"]).adults_only is True
    client.post_form(page, {"prompt": "What else?", "key": "other"})
    with app.app_context():
        assert db.session.get(Question, questions["other"]).adults_only is False
    added = client.post_form(
        f"/manage/surveys/{survey_id}/questions/new",
        {
            "section": sections["about_you"],
            "key": "trans",
            "type": "single",
            "prompt": "Gender identity?",
            "adults_only": "1",
        },
    )
    assert added.status_code == 302, added.get_data(as_text=True)[:2000]
    with app.app_context():
        question = db.session.scalars(sa.select(Question).filter_by(key="trans")).one()
        assert question.adults_only is True
