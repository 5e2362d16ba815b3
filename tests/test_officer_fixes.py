"""What officers (and the residents their texts reach) ran into, each checked
the way they met it: the consent page and the sex question describing
questions the survey does not ask, response counts that disagreed between
pages, a viewer's editable settings form, a draft deleted in one click,
"1 people", repeated census labels, language names in English on a Polish
page, and a renamed spreadsheet column "imported" as zero translations."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import sqlalchemy as sa
from openpyxl import load_workbook
from test_build_services import make_survey
from test_respond_support import Resident, build_survey, page_text

from consult.analysis.representation import describe_flags
from consult.extensions import db
from consult.i18n import language_name
from consult.models import Partnership, Response, Survey, SurveyStatus, TextEntry
from consult.question_bank import load_bank
from consult.services.accounts import create_partnership
from consult.services.surveys import add_bank_question, add_section, create_survey
from consult.wording import category_label, counted

# --- 12: texts that describe the survey come from what it asks ------------------------


def bank_survey(app, slug: str, keys: list[str], languages=("en", "pl")) -> int:
    """An open survey of bank questions; "bank_key=own_key" copies under another key."""
    with app.app_context():
        owner = db.session.scalars(sa.select(Partnership).filter_by(slug="north-csp")).first()
        if owner is None:
            owner = create_partnership("north-csp", "North Community Safety Partnership")
        survey = create_survey(
            owner,
            slug=slug,
            title={"en": "About you", "pl": "O Panu/Pani"},
            languages=list(languages),
        )
        section = add_section(
            survey, "about_you", {"en": "About you", "pl": "O Panu/Pani"}, kind="about_you"
        )
        for key in keys:
            bank_key, _, own_key = key.partition("=")
            add_bank_question(survey, section, bank_key, key=own_key or None)
        survey.status = SurveyStatus.OPEN
        survey.opens_at = datetime.now(UTC) - timedelta(days=1)
        survey.closes_at = datetime.now(UTC) + timedelta(days=30)
        survey.retention_until = date.today() + timedelta(days=365)
        db.session.commit()
        return survey.id


def test_consent_page_lists_only_the_topics_the_survey_asks(app, client):
    # The quick survey's only special-category question is about religion.
    build_survey(app)
    resident = Resident(client)
    resident.start()
    resident.go("safe", {"safe": "unsafe"})
    resident.go("contact", {})
    resident.go("worry", {"worry-burglary": "very_worried", "worry-mugging": "not_worried"})
    resident.go("priorities", {})
    resident.go("years", {})
    assert resident.go("age_band", {"age_band": "age_16_64"}).endswith("/consent")
    page = client.get("/s/quick/consent")
    html = page.get_data(as_text=True)
    topics = re.search(r'<ul[^>]*id="consent-topics"[^>]*>(.*?)</ul>', html, re.S)
    assert topics, html[:3000]
    assert re.findall(r"<li>(.*?)</li>", topics.group(1)) == ["Religion or belief"]
    text = page_text(page).lower()
    for absent in ("sexual orientation", "ethnic", "disability"):
        assert absent not in text, absent


def test_consent_page_lists_every_special_topic_asked_once_in_polish(app, client):
    bank_survey(
        app,
        "special-bank",
        ["age_band", "ethnic_group", "ethnic_group=ethnic_group_again", "disability"],
    )
    client.get("/s/special-bank?lang=pl")
    resident = Resident(client, "special-bank")
    resident.start()
    age = next(o.code for o in load_bank().get("age_band").options if o.code.startswith("age"))
    assert resident.go("age_band", {"age_band": age}).endswith("/consent")
    html = client.get("/s/special-bank/consent").get_data(as_text=True)
    topics = re.search(r'<ul[^>]*id="consent-topics"[^>]*>(.*?)</ul>', html, re.S)
    assert topics, html[:3000]
    # Two ethnic-group questions are one topic; religion and orientation are not asked.
    assert re.findall(r"<li>(.*?)</li>", topics.group(1)) == [
        "Grupa etniczna",
        "Zdrowie lub niepełnosprawność",
    ]


def test_start_page_names_only_the_special_topics_asked(app, client):
    build_survey(app)
    summary = re.search(
        r'id="privacy-summary">(.*?)</p>', client.get("/s/quick").get_data(as_text=True), re.S
    )
    assert summary
    assert "religion or belief" in summary.group(1)
    assert "sexual orientation" not in summary.group(1)
    assert "ethnic" not in summary.group(1)


def test_the_bank_sex_question_promises_nothing_in_any_language():
    sex = load_bank().get("sex")
    assert not sex.hint, sex.hint
    for item in load_bank().items:
        for text in (item.hint or {}).values():
            assert "gender identity" not in text.lower(), (item.key, text)


def _first_question_html(app, client, slug: str, language: str) -> str:
    client.get(f"/s/{slug}?lang={language}")
    resident = Resident(client, slug)
    location = resident.start()
    assert location.endswith("/q/sex"), location
    page = client.get(location)
    assert page.status_code == 200
    return page.get_data(as_text=True)


def test_sex_question_announces_gender_identity_only_when_it_follows(app, client):
    bank_survey(app, "sex-only", ["sex", "age_band"])
    bank_survey(app, "sex-and-gender", ["sex", "gender_identity"])
    english = "A question about gender identity will follow."
    polish = "Pytanie o tożsamość płciową pojawi się w dalszej części."
    assert english not in _first_question_html(app, client, "sex-only", "en")
    assert polish not in _first_question_html(app, client, "sex-only", "pl")
    html = _first_question_html(app, client, "sex-and-gender", "pl")
    hint = re.search(r'id="sex-hint"[^>]*>(.*?)</div>', html, re.S)
    assert hint and hint.group(1).strip() == polish, html[:3000]


# --- 13: one definition of the response count -----------------------------------------


def _counted_survey(app) -> int:
    with app.app_context():
        survey = make_survey()
        survey.status = SurveyStatus.OPEN
        for i in range(3):
            db.session.add(
                Response(
                    survey_id=survey.id,
                    reference=f"S-{i}",
                    language="en",
                    status="submitted",
                    submitted_at=datetime(2026, 5, 1, tzinfo=UTC),
                )
            )
        for i in range(2):
            db.session.add(Response(survey_id=survey.id, reference=f"P-{i}", language="en"))
        db.session.add(
            Response(
                survey_id=survey.id,
                reference="K-2",
                language="en",
                channel="paper",
                status="second_keying",
                batch="B1/001",
                keying=2,
                submitted_at=datetime(2026, 5, 2, tzinfo=UTC),
            )
        )
        db.session.commit()
        return survey.id


PARTS = "3 submitted, 2 in progress, 1 second keying"


def test_every_page_counts_responses_the_same_way_and_shows_the_parts(app, client, signed_in):
    signed_in("officer")
    survey_id = _counted_survey(app)
    base = f"/manage/surveys/{survey_id}"
    survey_page = page_text(client.get(base))
    assert f"3 responses ({PARTS})" in survey_page, survey_page[:2000]
    dashboard = client.get("/manage").get_data(as_text=True)
    cell = re.search(rf'id="responses-{survey_id}">(.*?)</td>', dashboard, re.S)
    assert cell and cell.group(1).startswith("3<br>") and PARTS in cell.group(1), dashboard
    monitor = client.get(f"{base}/fieldwork.json").get_json()
    assert (monitor["submitted"], monitor["in_progress"], monitor["second_keyings"]) == (3, 2, 1)
    live = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", monitor["html"]))
    assert "3 responses submitted" in live and "2 in progress" in live
    assert "1 second keyings of paper forms" in live or "1 second keying" in live
    export = page_text(client.get(f"{base}/export"))
    assert f"Exports hold the 3 submitted responses ({PARTS})" in export, export[:2000]
    download = client.get(f"{base}/export/download?format=xlsx")
    assert download.status_code == 200
    about = {
        row[0]: row[1]
        for row in load_workbook(io.BytesIO(download.data))["About"].iter_rows(values_only=True)
    }
    assert about["Responses"] == f"3 responses ({PARTS}); only submitted ones are here"


# --- 15: a viewer reads the settings --------------------------------------------------


def test_viewer_sees_read_only_settings_and_officer_the_form(app, client, signed_in, accounts):
    from conftest import sign_in

    with app.app_context():
        accounts.partnership()
        survey = make_survey()
        survey_id = survey.id
        db.session.commit()
    path = f"/manage/surveys/{survey_id}/settings"
    sign_in(client, accounts.user("viewer"))
    html = client.get(path).get_data(as_text=True)
    main = html[html.index('id="main-content"') :]
    assert "<form" not in main and "<input" not in main and "<textarea" not in main
    assert "Save settings" not in main
    assert re.search(r'id="setting-title">Safe\?<', main), main[:2000]
    assert "An officer or administrator can change them." in main
    client.post_form("/sign-out", {}, token_from="/manage")
    sign_in(client, accounts.user("officer"))
    html = client.get(path).get_data(as_text=True)
    assert "Save settings" in html and 'name="title"' in html


# --- 17: deleting a draft asks first --------------------------------------------------


def test_delete_this_draft_asks_for_confirmation(app, client, signed_in, accounts):
    signed_in("officer")
    with app.app_context():
        survey_id = make_survey().id
        db.session.commit()
    base = f"/manage/surveys/{survey_id}"
    survey_page = client.get(base).get_data(as_text=True)
    # The survey page links to the question; it has no form that deletes.
    assert f'href="{base}/delete"' in survey_page
    assert f'action="{base}/delete"' not in survey_page
    confirm = client.get(f"{base}/delete")
    assert confirm.status_code == 200
    text = page_text(confirm)
    assert "Delete this draft?" in text and "cannot be undone" in text
    html = confirm.get_data(as_text=True)
    assert f'action="{base}/delete"' in html and 'name="confirm" value="yes"' in html
    assert 'name="csrf_token"' in html
    # One click on an old-style button (no confirmation) deletes nothing.
    refused = client.post_form(f"{base}/delete", {})
    assert refused.status_code == 303 and refused.location.endswith(f"{base}/delete")
    with app.app_context():
        assert db.session.get(Survey, survey_id) is not None
    # Without the CSRF token nothing happens either.
    assert client.post(f"{base}/delete", data={"confirm": "yes"}).status_code == 400
    with app.app_context():
        assert db.session.get(Survey, survey_id) is not None
    done = client.post_form(f"{base}/delete", {"confirm": "yes"})
    assert done.status_code == 302 and done.location.endswith("/manage")
    with app.app_context():
        assert db.session.get(Survey, survey_id) is None


def test_viewer_cannot_reach_the_delete_confirmation(app, client, signed_in, accounts):
    from conftest import sign_in

    with app.app_context():
        accounts.partnership()
        survey_id = make_survey().id
        db.session.commit()
    sign_in(client, accounts.user("viewer"))
    assert client.get(f"/manage/surveys/{survey_id}/delete").status_code == 403


# --- 18: wording -----------------------------------------------------------------------


def test_counts_have_the_right_noun():
    assert counted(1, "person", "people") == "1 person"
    assert counted(2, "person", "people") == "2 people"
    assert counted(1204, "response", "responses") == "1,204 responses"


def test_flag_sentences_say_1_person_not_1_people():
    table = pd.DataFrame(
        [
            {
                "variable": "sex",
                "category": "missing",
                "n": 1,
                "sample_share": 0.01,
                "population_share": float("nan"),
                "flag": "missing",
            },
            {
                "variable": "age_band",
                "category": "missing",
                "n": 2,
                "sample_share": 0.02,
                "population_share": float("nan"),
                "flag": "missing",
            },
            {
                "variable": "tenure",
                "category": "Other",
                "n": 1,
                "sample_share": 0.01,
                "population_share": float("nan"),
                "flag": "no_benchmark",
            },
        ]
    )
    sentences = describe_flags(table)
    assert any(s.startswith("1 person (1% of responses) did not answer") for s in sentences)
    assert any(s.startswith("2 people (2% of responses)") for s in sentences)
    assert any("1 response, with no population figure" in s for s in sentences), sentences
    assert not any("1 people" in s or "1 responses" in s for s in sentences), sentences


def test_census_labels_that_repeat_their_group_are_shown_once():
    assert category_label("Shared ownership: Shared ownership") == "Shared ownership"
    assert category_label("Owned: Owns outright") == "Owned: Owns outright"
    assert category_label("16-24") == "16-24"


def test_benchmark_page_shows_shared_ownership_once(app, client, signed_in):
    from consult.services.benchmarks import import_benchmarks

    signed_in("officer")
    with app.app_context():
        partnership = db.session.scalars(sa.select(Partnership).filter_by(slug="north-csp")).one()
        result = import_benchmarks(
            partnership,
            "variable,category,population_share\n"
            "tenure,Shared ownership: Shared ownership,0.1\ntenure,Owned: Owns outright,0.9\n",
        )
        set_id = getattr(result, "id", None) or getattr(result, "benchmark_set", result).id
        db.session.commit()
    text = page_text(client.get(f"/manage/surveys/benchmarks/{set_id}"))
    assert "Shared ownership: Shared ownership" not in text
    assert "Shared ownership" in text


def test_language_names_are_written_in_the_page_language():
    assert language_name("en", "pl", case="locative") == "angielskim"
    assert language_name("ur", "pl", case="locative") == "urdu"
    assert language_name("en", "pl") == "angielski"
    assert language_name("en", "ar") == "الإنجليزية"
    assert language_name("bn", "en") == "Bengali"
    assert language_name("pl", "en") == "Polish"


def test_feedback_fallback_note_names_english_in_polish(app, client):
    from conftest import PASSWORD

    from consult.models import User
    from consult.services import feedback as feedback_service
    from consult.services.seed import seed_demo

    with app.app_context():
        seed_demo(PASSWORD, responses=False)
        survey = db.session.scalars(sa.select(Survey).filter_by(slug="feeling-safe")).one()
        assert "pl" in survey.languages
        survey.status = SurveyStatus.CLOSED
        officer = db.session.scalars(sa.select(User).filter_by(email="officer@demo.example")).one()
        # Written in English only: the Polish page shows it with a note.
        feedback_service.save_feedback(survey, "en", {"feedback.intro": "Thank you."}, officer)
        feedback_service.publish(survey, officer)
        db.session.commit()
    html = client.get("/s/feeling-safe/you-said-we-did?lang=pl").get_data(as_text=True)
    assert "Jeszcze nieprzetłumaczone: wyświetlane w języku angielskim." in html, html[:3000]
    assert "English" not in html.split('id="main-content"')[1].split("</main>")[0]


# --- 19: a translation file whose columns match nothing is refused ---------------------


def _renamed_polish_file(client, survey_id: int) -> bytes:
    content = client.get(f"/manage/surveys/{survey_id}/translations/export").data
    workbook = load_workbook(io.BytesIO(content))
    sheet = workbook.worksheets[0]
    header = [cell.value for cell in sheet[1]]
    polish = header.index("label::Polish (pl)") + 1
    sheet.cell(row=1, column=polish, value="Polish")
    for row in range(2, sheet.max_row + 1):
        if sheet.cell(row=row, column=1).value == "survey.title":
            sheet.cell(row=row, column=polish, value="Ankieta o bezpieczeństwie")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_renamed_language_column_is_refused_with_the_columns_expected(app, client, signed_in):
    signed_in("officer")
    with app.app_context():
        survey_id = make_survey(languages=("en", "pl")).id
        db.session.commit()
    path = f"/manage/surveys/{survey_id}/translations/import"
    content = _renamed_polish_file(client, survey_id)
    response = client.post_form(
        path,
        {"file": (io.BytesIO(content), "translations.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    text = page_text(response)
    assert "Success" not in text and "0 translation" not in text
    assert "The translation file has 2 problems; nothing was saved" in text
    assert "“label::Polish (pl)”" in text
    assert "is not a translation column; name it “label::Polish (pl)”" in text
    with app.app_context():
        assert (
            db.session.scalars(
                sa.select(TextEntry).filter_by(survey_id=survey_id, language="pl")
            ).all()
            == []
        )
