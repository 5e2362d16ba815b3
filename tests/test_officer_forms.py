"""Bad input on the sample, letters and fieldwork pages: the message sits on
the field, the error summary links to it, the page answers 400, what was
typed is kept and nothing is stored."""

from __future__ import annotations

import io
import re

import sqlalchemy as sa
from test_build_services import make_survey, q
from test_cleaning import _submitted
from test_sample_stream import address_file, counts, setup

from consult.extensions import db
from consult.models import AnswerCorrection, LetterSettings, Partnership, Response
from consult.services import builder
from consult.services.letters import WHY_MAX
from consult.services.printable import RETURN_ADDRESS_MAX


def on_field(page: str, field: str, message: str) -> bool:
    """The message (or its beginning) both in the summary, linked to the
    field, and on the field."""
    escaped = re.escape(message.replace("'", "&#39;"))
    linked = re.search(rf'<a href="#{field}">\s*{escaped}[^<]*</a>', page)
    beside = re.search(
        rf'<p id="{field}-error" class="govuk-error-message">\s*'
        rf'<span class="govuk-visually-hidden">Error:</span>\s*{escaped}[^<]*</p>',
        page,
    )
    return bool(linked and beside)


def open_survey(app) -> int:
    with app.app_context():
        survey = make_survey()
        builder.change_status(survey, "open")
        db.session.commit()
        return survey.id


def test_a_draw_without_a_file_names_both_problems_and_keeps_the_choices(app, client, signed_in):
    survey_id = setup(app)
    signed_in("officer")
    path = f"/manage/surveys/{survey_id}/sample"
    refused = client.post_form(
        path, {"size": "five", "stratum_column": "tenure"}, content_type="multipart/form-data"
    )
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert on_field(page, "size", "The sample size must be a whole number"), page
    assert on_field(page, "file", "Choose an address file to upload")
    assert 'value="five"' in page and 'value="tenure"' in page
    empty = client.post_form(
        path,
        {"file": (io.BytesIO(b""), "addresses.csv"), "size": "3"},
        content_type="multipart/form-data",
    )
    assert empty.status_code == 400
    assert on_field(empty.get_data(as_text=True), "file", "The file is empty")
    bad_file = client.post_form(
        path,
        {"file": (io.BytesIO(address_file(3)), "addresses.csv"), "size": "9"},
        content_type="multipart/form-data",
    )
    assert bad_file.status_code == 400
    assert on_field(
        bad_file.get_data(as_text=True),
        "file",
        "The address file has problems; nothing was drawn or stored",
    )
    assert counts(app) == (0, 0, 0)


def test_letter_wording_too_long_is_refused_on_its_field(app, client, signed_in):
    survey_id = open_survey(app)
    signed_in("officer")
    path = f"/manage/surveys/{survey_id}/letters"
    long_contact = "x" * 1000
    refused = client.post_form(
        f"{path}/wording", {"why": "Because we care", "contact": long_contact}, token_from=path
    )
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert on_field(page, "contact", "How to ask for paper must be")
    assert "Because we care" in page and long_contact in page
    too_long_why = client.post_form(
        f"{path}/wording", {"why": "y" * (WHY_MAX + 1)}, token_from=path
    )
    assert too_long_why.status_code == 400
    assert on_field(
        too_long_why.get_data(as_text=True),
        "why",
        f"Why we ask must be {WHY_MAX} characters or fewer",
    )
    with app.app_context():
        assert db.session.scalars(sa.select(LetterSettings)).all() == []


def test_a_return_address_too_long_is_refused_and_kept(app, client, signed_in):
    survey_id = open_survey(app)
    signed_in("officer")
    path = f"/manage/surveys/{survey_id}/printable"
    address = "z" * (RETURN_ADDRESS_MAX + 1)
    refused = client.post_form(path, {"return_address": address})
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert on_field(
        page,
        "return_address",
        f"The return address must be {RETURN_ADDRESS_MAX} characters or fewer",
    )
    assert address in page
    with app.app_context():
        assert db.session.scalars(sa.select(Partnership.return_address)).all() == [None]


def test_an_import_without_a_usable_file_keeps_the_channel(app, client, signed_in):
    survey_id = open_survey(app)
    signed_in("officer")
    path = f"/manage/surveys/{survey_id}/import-responses"
    missing = client.post_form(path, {"channel": "online"}, content_type="multipart/form-data")
    assert missing.status_code == 400
    page = missing.get_data(as_text=True)
    assert on_field(page, "file", "Choose a CSV or Excel file of responses")
    assert re.search(r'<option value="online" selected>', page)
    empty = client.post_form(
        path,
        {"channel": "paper", "file": (io.BytesIO(b""), "forms.csv")},
        content_type="multipart/form-data",
    )
    assert empty.status_code == 400
    assert on_field(empty.get_data(as_text=True), "file", "The file is empty")
    with app.app_context():
        assert db.session.scalars(sa.select(Response)).all() == []


def test_paper_entry_lists_fixed_fields_and_answers_in_one_summary(app, client, signed_in):
    survey_id = open_survey(app)
    signed_in("officer")
    path = f"/manage/surveys/{survey_id}/paper-entry"
    refused = client.post_form(
        path,
        {
            "channel": "paper",
            "language": "en",
            "batch": "not a batch!",
            "serial": "007",
            "keying": "1",
            "pe-age_band": "7",
            "pe-other": "Keep this",
            "idempotency_key": "key-bad",
        },
    )
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert on_field(
        page,
        "batch",
        "Enter the batch label: letters, numbers, hyphens, up to 30 characters, like WARD3-JUNE",
    )
    assert re.search(r'<a href="#pe-age_band">[^<]*not one of the answers', page)
    assert 'id="pe-age_band-error"' in page
    # What was typed is kept, the serial number and the page's key too.
    assert 'value="not a batch!"' in page and 'value="007"' in page
    assert "Keep this" in page and 'value="key-bad"' in page
    with app.app_context():
        assert db.session.scalars(sa.select(Response)).all() == []


def test_paper_entry_opens_the_next_form_of_a_batch(app, client, signed_in):
    survey_id = open_survey(app)
    signed_in("officer")
    page = client.get(
        f"/manage/surveys/{survey_id}/paper-entry?batch=WARD3&keying=2&serial=009"
    ).get_data(as_text=True)
    assert 'value="WARD3"' in page and "009" not in page
    assert re.search(r'<option value="2" selected>', page)
    assert re.search(r'name="serial"[^>]*autofocus', page)


def test_a_correction_without_a_reason_is_refused_on_the_reason(app, client, signed_in):
    with app.app_context():
        survey = make_survey()
        builder.change_status(survey, "open")
        response = _submitted(survey, "C-7", "aged_16_24")
        survey_id, response_id, age_id = survey.id, response.id, q(survey, "age_band").id
        db.session.commit()
    signed_in("officer")
    path = f"/manage/surveys/{survey_id}/responses/{response_id}/questions/{age_id}/correct"
    refused = client.post_form(path, {"pe-age_band": "2", "reason": "  "})
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert on_field(page, "reason", "Enter the reason for the correction")
    assert 'value="2"' in page
    wrong = client.post_form(path, {"pe-age_band": "nine", "reason": "Typo"})
    page = wrong.get_data(as_text=True)
    assert wrong.status_code == 400 and 'id="pe-age_band-error"' in page and ">Typo<" in page
    with app.app_context():
        assert db.session.scalars(sa.select(AnswerCorrection)).all() == []


def test_an_unknown_reference_is_named_on_the_search_field(app, client, signed_in):
    survey_id = open_survey(app)
    signed_in("viewer")
    found = client.get(f"/manage/surveys/{survey_id}/responses?reference=NOPE-1")
    assert found.status_code == 404
    page = found.get_data(as_text=True)
    assert 'id="reference-error"' in page
    assert "No submitted response of this survey has the reference NOPE-1" in page
    assert 'value="NOPE-1"' in page
