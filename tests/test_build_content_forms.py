"""The builder's content pages refuse bad input on the field it concerns:
the message beside the field, the error summary linking to it, a 400, and
nothing stored. Their downloads leave an audit record naming the officer."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from test_xliff import FULL_URDU, survey_with_urdu, translate, urdu

from consult.extensions import db
from consult.models import AuditEvent, BenchmarkSet, PostcodeLookupSet, Survey, TextEntry, User
from consult.services import xliff

OVER_5_MB = b"x" * (5 * 1024 * 1024 + 1)


def refused_on(response, field: str, message: str) -> None:
    """The page a user sees after a refusal: 400, the message beside the
    field and in the summary, linking to the field."""
    body = response.get_data(as_text=True)
    assert response.status_code == 400, body[:2000]
    assert f'<a href="#{field}">{message}</a>' in body
    error = body.split(f'id="{field}-error"', 1)[1].split("</p>", 1)[0]
    assert message in error
    assert "<title>Error:" in body


@pytest.fixture
def survey_id(app) -> int:
    with app.app_context():
        survey = survey_with_urdu()
        db.session.commit()
        return survey.id


def test_translation_uploads_refuse_a_missing_large_or_empty_file(
    app, client, signed_in, survey_id
):
    signed_in("officer")
    base = f"/manage/surveys/{survey_id}/translations"
    with app.app_context():
        before = urdu(db.session.get(Survey, survey_id))
    for path in (f"{base}/import", f"{base}/import-xliff"):
        refused_on(
            client.post_form(path, {"reviewed": "1"}, content_type="multipart/form-data"),
            "file",
            "Choose a file to upload",
        )
        name = "texts.xlsx" if path.endswith("/import") else "texts.xlf"
        refused_on(
            client.post_form(
                path, {"file": (io.BytesIO(OVER_5_MB), name)}, content_type="multipart/form-data"
            ),
            "file",
            "The file is larger than 5 MB",
        )
        refused_on(
            client.post_form(
                path, {"file": (io.BytesIO(b""), name)}, content_type="multipart/form-data"
            ),
            "file",
            "The file is empty",
        )
    with app.app_context():
        assert urdu(db.session.get(Survey, survey_id)) == before


def test_an_xliff_file_in_a_language_the_survey_does_not_offer(app, client, signed_in, survey_id):
    signed_in("officer")
    base = f"/manage/surveys/{survey_id}/translations"
    with app.app_context():
        survey = db.session.get(Survey, survey_id)
        before = urdu(survey)
        content = translate(xliff.export_xliff(survey, "ur"), FULL_URDU).replace(
            b'trgLang="ur"', b'trgLang="pl"'
        )
        db.session.rollback()
    response = client.post_form(
        f"{base}/import-xliff",
        {"file": (io.BytesIO(content), "safe-pl.xlf"), "reviewed": "1"},
        content_type="multipart/form-data",
    )
    refused_on(response, "file", "The translation file has 1 problem; nothing was saved")
    assert "trgLang is Polish, which this survey does not offer" in response.get_data(as_text=True)
    with app.app_context():
        survey = db.session.get(Survey, survey_id)
        assert urdu(survey) == before
        assert not db.session.scalar(
            sa.select(sa.func.count()).select_from(TextEntry).filter_by(language="pl")
        )


def test_an_empty_translation_is_refused_on_its_box(app, client, signed_in, survey_id):
    signed_in("officer")
    path = f"/manage/surveys/{survey_id}/translations/ur/edit?key=survey.title"
    page = client.get(path).get_data(as_text=True)
    assert 'lang="ur" dir="rtl"' in page and "محفوظ؟" in page
    response = client.post_form(path, {"key": "survey.title", "value": "  ", "reviewed": "y"})
    refused_on(response, "value", "Enter the translation")
    # The ticked box stays ticked for the second try.
    assert 'name="reviewed" type="checkbox" value="y" checked' in response.get_data(as_text=True)
    with app.app_context():
        assert urdu(db.session.get(Survey, survey_id))["survey.title"] == ("محفوظ؟", "draft")
    response = client.post_form(path, {"key": "survey.title", "value": "محفوظ", "reviewed": "y"})
    assert response.status_code == 302
    with app.app_context():
        assert urdu(db.session.get(Survey, survey_id))["survey.title"] == ("محفوظ", "reviewed")


def test_ticked_texts_are_marked_reviewed_and_no_others(app, client, signed_in, survey_id):
    signed_in("officer")
    base = f"/manage/surveys/{survey_id}/translations/ur"
    response = client.post_form(
        f"{base}/reviewed", {"keys": ["q.age_band.prompt"]}, token_from=base
    )
    assert response.status_code == 302
    with app.app_context():
        texts = urdu(db.session.get(Survey, survey_id))
    assert texts["q.age_band.prompt"][1] == "reviewed" and texts["survey.title"][1] == "draft"


def test_benchmark_and_postcode_uploads_refuse_bad_files(app, client, signed_in):
    signed_in("officer")
    for path in ("/manage/surveys/benchmarks", "/manage/surveys/postcode-lookup"):
        refused_on(
            client.post_form(path, {"note": "Census"}, content_type="multipart/form-data"),
            "file",
            "Choose a file to upload",
        )
        response = client.post_form(
            path,
            {"file": (io.BytesIO(OVER_5_MB), "big.csv"), "note": "Census"},
            content_type="multipart/form-data",
        )
        refused_on(response, "file", "The file is larger than 5 MB")
        # What the officer typed is still there.
        assert 'name="note" type="text" value="Census"' in response.get_data(as_text=True)
    with app.app_context():
        assert not db.session.scalars(sa.select(BenchmarkSet)).first()
        assert not db.session.scalars(sa.select(PostcodeLookupSet)).first()


def test_a_file_with_problems_lists_them_under_the_message(app, client, signed_in):
    signed_in("officer")
    response = client.post_form(
        "/manage/surveys/postcode-lookup",
        {"file": (io.BytesIO(b"postcode,ward_code\nnot a postcode,E05010458\n"), "bad.csv")},
        content_type="multipart/form-data",
    )
    refused_on(response, "file", "The postcode lookup file has problems; nothing was saved")
    assert 'id="problems"' in response.get_data(as_text=True)
    with app.app_context():
        assert not db.session.scalars(sa.select(PostcodeLookupSet)).first()


def test_xlsform_import_refuses_on_the_field_it_concerns(app, client, signed_in):
    signed_in("officer")
    path = "/manage/surveys/import-xlsform"
    response = client.post_form(
        path,
        {"slug": "kobo-safety", "audience": "stakeholders"},
        content_type="multipart/form-data",
    )
    refused_on(response, "file", "Choose a file to upload")
    body = response.get_data(as_text=True)
    assert 'value="kobo-safety"' in body and '<option value="stakeholders" selected>' in body
    refused_on(
        client.post_form(
            path,
            {"slug": "kobo", "file": (io.BytesIO(OVER_5_MB), "form.xlsx")},
            content_type="multipart/form-data",
        ),
        "file",
        "The file is larger than 5 MB",
    )
    with app.app_context():
        assert not db.session.scalars(sa.select(Survey)).first()


def test_bank_refuses_no_choice_on_the_checkboxes(app, client, signed_in, survey_id):
    signed_in("officer")
    path = f"/manage/surveys/{survey_id}/bank"
    with app.app_context():
        section = db.session.get(Survey, survey_id).sections[0].id
        questions = len(db.session.get(Survey, survey_id).questions)
    assert f'<option value="{section}">Main</option>' in client.get(path).get_data(as_text=True)
    response = client.post_form(path, {"section": section})
    refused_on(response, "items", "Choose at least one question from the bank")
    assert f'<option value="{section}" selected>Main</option>' in response.get_data(as_text=True)
    response = client.post_form(path, {"section": section, "items": ["age_band"]})
    refused_on(response, "items", "This survey already has age_band")
    assert 'value="age_band" checked' in response.get_data(as_text=True)
    with app.app_context():
        assert len(db.session.get(Survey, survey_id).questions) == questions


def test_downloads_are_audited_with_the_officer(app, client, signed_in, survey_id):
    email = signed_in("officer")
    base = f"/manage/surveys/{survey_id}"
    for path in (f"{base}/translations/export", f"{base}/translations/ur/xliff", f"{base}/xlsform"):
        assert client.get(path).status_code == 200, path
    with app.app_context():
        user = db.session.scalars(sa.select(User).filter_by(email=email)).one()
        events = db.session.scalars(
            sa.select(AuditEvent)
            .filter_by(target=f"survey:{survey_id}", user_id=user.id)
            .order_by(AuditEvent.id)
        ).all()
    assert [(e.action, e.details) for e in events] == [
        ("translations_exported", {"languages": ["en", "ur"]}),
        ("translations_exported", {"languages": ["ur"], "format": "xliff"}),
        ("xlsform_exported", {}),
    ]


def test_only_signed_in_officers_get_the_larger_upload_cap(app, client, signed_in):
    """The builder's uploads may be 5 MB, more than the service's 2 MiB cap on
    a request; a client without an officer session still meets the 2 MiB cap
    before anything reads its body."""
    three_mb = {"file": (io.BytesIO(b"x" * (3 * 1024 * 1024)), "big.csv")}
    anonymous = client.post(
        "/manage/surveys/benchmarks", data=three_mb, content_type="multipart/form-data"
    )
    assert anonymous.status_code == 413
    signed_in("officer")
    three_mb = {"file": (io.BytesIO(b"x" * (3 * 1024 * 1024)), "big.csv")}
    response = client.post_form(
        "/manage/surveys/benchmarks", three_mb, content_type="multipart/form-data"
    )
    # Read and refused by the page itself, in its own words, not the "too large" page.
    assert response.status_code == 400
    assert "The benchmark file has problems; nothing was saved" in response.get_data(as_text=True)
