"""Decimal, date and postcode questions: parsing (with the resident's
errors in their language), storage, the postcode -> ward lookup, paths,
frames, exports, the definition round trip, the builder and paper entry."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pyreadstat
import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from consult.extensions import db
from consult.models import Answer, AuditEvent, Partnership, PostcodeWard, Response, Survey
from consult.services import ServiceError, builder, exports
from consult.services.answers import (
    AnswerInvalid,
    describe,
    form_values,
    load_answers,
    parse_answer,
    store_answer,
)
from consult.services.content import SurveyTexts
from consult.services.definition import export_definition, import_definition
from consult.services.frames import demographic_frame, response_frame
from consult.services.paper import PaperEntryError, PaperForm, submit_paper
from consult.services.path import compute_path
from consult.services.postcodes import (
    LookupFileError,
    import_lookup,
    normalise_postcode,
    parse_lookup,
    ward_for,
)
from consult.services.question_results import question_results
from consult.services.surveys import add_question, add_section, create_survey

LOOKUP = "postcode,ward_code\nLE1 5WW,E05010458\nle2 1aa,E05010459\nLE3 9QQ,E05099999\n"


def typed_survey(keep: str = "ward", ward_list: bool = True) -> Survey:
    partnership = db.session.scalars(sa.select(Partnership).filter_by(slug="mid-csp")).first()
    if partnership is None:
        partnership = Partnership(slug="mid-csp", name="Mid")
        db.session.add(partnership)
        db.session.flush()
    survey = create_survey(
        partnership,
        slug=f"typed-{keep}-{int(ward_list)}",
        title={"en": "Typed"},
        languages=["en", "pl", "ur"],
    )
    section = add_section(survey, "main", {"en": "Main"})
    add_question(
        survey,
        section,
        key="hours",
        type="decimal",
        prompt={"en": "Hours?", "ur": "گھنٹے؟"},
        settings={"min": 0, "max": 24, "places": 1},
    )
    add_question(
        survey,
        section,
        key="incident_date",
        type="date",
        prompt={"en": "When did it happen?"},
        settings={"not_future": True, "min": "2020-01-01"},
    )
    add_question(
        survey,
        section,
        key="home_postcode",
        type="postcode",
        prompt={"en": "Your postcode?"},
        demographic="area",
        settings={"keep": keep, "ward_list": ward_list},
        options=[
            {"code": "e05010458", "label": {"en": "Castle"}, "benchmark_category": "Castle"},
            {"code": "e05010459", "label": {"en": "Abbey"}, "benchmark_category": "Abbey"},
        ],
    )
    add_question(
        survey,
        section,
        key="followup",
        type="text",
        prompt={"en": "Tell us more"},
        show_if={"question": "incident_date", "gte": "2024-01-01"},
    )
    add_question(
        survey,
        section,
        key="long_hours",
        type="text",
        prompt={"en": "Why so long?"},
        show_if={"question": "hours", "gt": 8},
    )
    db.session.flush()
    return survey


def q(survey: Survey, key: str):
    return next(x for x in survey.questions if x.key == key)


def parse(question, data, language="en"):
    return parse_answer(question, MultiDict(data), language)


def error_of(question, data, language="en"):
    with pytest.raises(AnswerInvalid) as caught:
        parse(question, data, language)
    return caught.value.errors[0]


# --- decimal -------------------------------------------------------------------------------


def test_decimal_accepts_one_and_a_half_and_refuses_what_it_cannot_read(app_context):
    survey = typed_survey()
    hours = q(survey, "hours")
    assert parse(hours, {"hours": "1.5"}).number == 1.5
    assert parse(hours, {"hours": " 7 "}).number == 7.0
    assert parse(hours, {"hours": "٣٫٥"}).number == 3.5  # Arabic-Indic digits and separator
    # In English "1,5" could be fifteen or one and a half: asked, not guessed.
    assert error_of(hours, {"hours": "1,5"}).message == (
        "Use a full stop for the decimal point, like 1.5"
    )
    # A Polish resident writes a decimal comma.
    assert parse(hours, {"hours": "1,5"}, "pl").number == 1.5
    assert error_of(hours, {"hours": "about ten"}).message == "Enter a number, like 1.5"
    assert error_of(hours, {"hours": "1.25"}).message == (
        "Enter a number with up to 1 decimal places, like 1.5"
    )
    assert error_of(hours, {"hours": "30"}).message == "Enter a number between 0 and 24"
    assert error_of(hours, {"hours": "nan"}).field_id == "hours"
    # The resident's language.
    urdu = error_of(hours, {"hours": "about ten"}, "ur").message
    assert urdu != "Enter a number, like 1.5" and "1.5" in urdu


def test_decimal_with_no_places_asks_for_a_whole_number(app_context):
    survey = typed_survey()
    hours = q(survey, "hours")
    hours.settings = {"places": 0}
    assert error_of(hours, {"hours": "2.5"}).message == "Enter a whole number, like 5"
    assert parse(hours, {"hours": "2"}).number == 2.0


# --- date ----------------------------------------------------------------------------------


def test_date_fields_and_gov_uk_errors(app_context):
    survey = typed_survey()
    when = q(survey, "incident_date")
    answer = parse(
        when, {"incident_date-day": "7", "incident_date-month": "3", "incident_date-year": "2024"}
    )
    assert answer.text == "2024-03-07"
    assert form_values(when, answer) == {
        "incident_date-day": ["7"],
        "incident_date-month": ["3"],
        "incident_date-year": ["2024"],
    }
    feb = error_of(
        when, {"incident_date-day": "31", "incident_date-month": "2", "incident_date-year": "2024"}
    )
    assert (feb.message, feb.field_id) == ("The date must be a real date", "incident_date-day")
    month = error_of(when, {"incident_date-day": "1", "incident_date-year": "2024"})
    assert (month.message, month.field_id) == (
        "The date must include a month",
        "incident_date-month",
    )
    assert month.item == "date:month"
    two = error_of(when, {"incident_date-day": "1"})
    assert two.message == "The date must include a month and a year"
    year = error_of(
        when, {"incident_date-day": "1", "incident_date-month": "2", "incident_date-year": "24"}
    )
    assert (year.message, year.field_id) == (
        "The year must include 4 numbers",
        "incident_date-year",
    )
    tomorrow = date.today() + timedelta(days=1)
    future = error_of(
        when,
        {
            "incident_date-day": str(tomorrow.day),
            "incident_date-month": str(tomorrow.month),
            "incident_date-year": str(tomorrow.year),
        },
    )
    assert future.message == "The date must be today or in the past"
    early = error_of(
        when, {"incident_date-day": "1", "incident_date-month": "1", "incident_date-year": "2019"}
    )
    assert early.message == "The date must be 1 January 2020 or later"
    words = error_of(
        when, {"incident_date-day": "one", "incident_date-month": "1", "incident_date-year": "2021"}
    )
    assert words.field_id == "incident_date-day"
    # Errors in the resident's language.
    polish = error_of(
        when,
        {"incident_date-day": "31", "incident_date-month": "2", "incident_date-year": "2024"},
        "pl",
    )
    assert polish.message != "The date must be a real date"


# --- postcode ------------------------------------------------------------------------------


def test_postcode_normalising():
    assert normalise_postcode("le1 5ww") == "LE1 5WW"
    assert normalise_postcode(" LE15WW ") == "LE1 5WW"
    assert normalise_postcode("sw1a 1aa") == "SW1A 1AA"
    assert normalise_postcode("EC1A-1BB") == "EC1A 1BB"
    for bad in ("LE1", "12345", "LE1 5CI", "hello world", "", "LEE1 5WW"):
        assert normalise_postcode(bad) is None, bad


def test_lookup_file_all_or_nothing_with_line_numbers(app_context):
    survey = typed_survey()
    bad = (
        "\ufeffpostcode,ward_code\n"
        "LE1 5WW,E05010458\n"
        "le1 5ww,E05010459\n"  # the same postcode, written differently
        "not a postcode,E05010458\n"
        "LE2 1AA,E05 01\n"
        "LE2 1AB,\n"
        ",,\n"
    )
    with pytest.raises(LookupFileError) as caught:
        import_lookup(survey.partnership, bad.encode())
    problems = caught.value.problems
    assert problems == [
        "line 3: LE1 5WW appears twice (first on line 2)",
        "line 4: 'not a postcode' is not a UK postcode",
        "line 5: the ward code 'e05 01' for LE2 1AA is not a code "
        "(a letter, then letters, numbers or underscores, like E05010458)",
        "line 6: the ward code '' for LE2 1AB is not a code "
        "(a letter, then letters, numbers or underscores, like E05010458)",
    ]
    assert db.session.scalar(sa.select(sa.func.count(PostcodeWard.id))) == 0
    with pytest.raises(LookupFileError, match="missing column"):
        parse_lookup("postcode,district\nLE1 5WW,LE1\n")
    with pytest.raises(LookupFileError, match="not UTF-8"):
        parse_lookup(b"postcode,ward_code\n\xff\xfe,x\n")
    # Semicolons, as a spreadsheet in another locale saves them.
    assert parse_lookup("postcode;ward_code\nLE1 5WW;E05010458\n")[0].ward_code == "e05010458"
    first = import_lookup(survey.partnership, LOOKUP, note="ONSPD")
    second = import_lookup(survey.partnership, "postcode,ward_code\nLE1 5WW,E05010459\n")
    assert (first.version, second.version) == (1, 2)
    # The newest version is the one used.
    assert ward_for(survey.partnership_id, "LE1 5WW") == "e05010459"
    assert ward_for(survey.partnership_id, "LE2 1AA") is None
    events = db.session.scalars(
        sa.select(AuditEvent).filter_by(action="postcode_lookup_imported")
    ).all()
    assert [e.details["rows"] for e in events] == [3, 1]


def test_postcode_places_the_resident_in_a_ward_and_keeps_no_postcode(app_context):
    survey = typed_survey()
    import_lookup(survey.partnership, LOOKUP)
    postcode = q(survey, "home_postcode")
    answer = parse(postcode, {"home_postcode": "le1 5ww"})
    assert (answer.codes, answer.text) == (("e05010458",), None)
    assert error_of(postcode, {"home_postcode": "LE1"}).message == (
        "Enter a real postcode, like LE1 5WW"
    )
    # A real postcode the lookup does not have, and one mapped to a ward the
    # question does not offer: the resident is told, and offered the list.
    for outside in ("M1 1AE", "LE3 9QQ"):
        message = error_of(postcode, {"home_postcode": outside}).message
        assert message.startswith(f"We could not find {outside} in our area")
        assert "choose your area from the list" in message
    # "I do not know my postcode": the ward list.
    assert parse(postcode, {"home_postcode-ward": "e05010459"}).codes == ("e05010459",)
    assert parse(
        postcode, {"home_postcode": "M1 1AE", "home_postcode-ward": "e05010459"}
    ).codes == ("e05010459",)
    urdu = error_of(postcode, {"home_postcode": "nonsense"}, "ur").message
    assert urdu != "Enter a real postcode, like LE1 5WW" and "LE1 5WW" in urdu

    response = Response(survey_id=survey.id, reference="PC-1", language="en")
    db.session.add(response)
    db.session.flush()
    store_answer(response, postcode, answer)
    rows = db.session.scalars(sa.select(Answer).filter_by(response_id=response.id)).all()
    assert [(r.option_code, r.text) for r in rows] == [("e05010458", None)]
    assert not any("LE1" in str(r.text) for r in rows)
    loaded = load_answers(response, [postcode])["home_postcode"]
    assert describe(postcode, loaded, SurveyTexts(survey), "en") == ["Castle"]


def test_postcode_sector_is_kept_only_when_the_survey_says_so(app_context):
    survey = typed_survey(keep="sector", ward_list=False)
    import_lookup(survey.partnership, LOOKUP)
    postcode = q(survey, "home_postcode")
    answer = parse(postcode, {"home_postcode": "LE2 1AA"})
    assert (answer.codes, answer.text) == (("e05010459",), "LE2 1")
    # No ward list: the ward field is ignored and the message does not offer it.
    message = error_of(postcode, {"home_postcode": "M1 1AE"}).message
    assert message == "We could not find M1 1AE in our area. Check it"


# --- paths, frames, exports ----------------------------------------------------------------


def _respond(survey, reference, values, channel="online"):
    response = Response(
        survey_id=survey.id,
        reference=reference,
        language="en",
        channel=channel,
        status="submitted",
        submitted_at=datetime(2026, 5, 1, tzinfo=UTC),
    )
    db.session.add(response)
    db.session.flush()
    for key, data in values.items():
        store_answer(response, q(survey, key), parse(q(survey, key), data), allow_submitted=True)
    return response


def test_conditions_compare_decimals_and_dates(app_context):
    survey = typed_survey()
    recent = {"incident_date": parse(q(survey, "incident_date"), _date("2024-06-01"))}
    old = {"incident_date": parse(q(survey, "incident_date"), _date("2023-06-01"))}
    assert "followup" in compute_path(survey.questions, recent, None).question_keys
    assert "followup" not in compute_path(survey.questions, old, None).question_keys
    long = {"hours": parse(q(survey, "hours"), {"hours": "8.5"})}
    short = {"hours": parse(q(survey, "hours"), {"hours": "8"})}
    assert "long_hours" in compute_path(survey.questions, long, None).question_keys
    assert "long_hours" not in compute_path(survey.questions, short, None).question_keys


def _date(iso: str) -> dict[str, str]:
    year, month, day = iso.split("-")
    return {"incident_date-day": day, "incident_date-month": month, "incident_date-year": year}


def test_results_frame_and_exports_carry_the_three_types(app_context, tmp_path):
    survey = typed_survey()
    import_lookup(survey.partnership, LOOKUP)
    _respond(
        survey,
        "T-1",
        {
            "hours": {"hours": "1.5"},
            "incident_date": _date("2024-02-29"),
            "home_postcode": {"home_postcode": "LE1 5WW"},
        },
    )
    _respond(survey, "T-2", {"home_postcode": {"home_postcode-ward": "e05010459"}})
    frame = response_frame(survey)
    assert frame["hours"].tolist()[0] == 1.5 and pd.isna(frame["hours"].tolist()[1])
    assert frame["incident_date"].tolist()[0] == "2024-02-29"
    assert frame["home_postcode"].tolist() == ["e05010458", "e05010459"]
    # Results use the ward the postcode gives, as the `area` demographic.
    assert demographic_frame(survey)["area"].tolist() == ["Castle", "Abbey"]
    # Each type has results: a decimal's mean, a date's month, the postcode's ward.
    results = {r.key: r for r in question_results(survey, frame, base=1)}
    assert results["hours"].number is not None
    assert results["hours"].number.n == 1 and results["hours"].number.mean == 1.5
    months = {r["code"]: r for r in results["incident_date"].rows}
    assert set(months) == {"2024-02"} and months["2024-02"]["count"] == 1
    assert months["2024-02"]["share"] == pytest.approx(1.0)
    wards = {r["code"]: r["share"] for r in results["home_postcode"].rows}
    assert wards == {"e05010458": pytest.approx(0.5), "e05010459": pytest.approx(0.5)}

    export = exports.prepare_export(survey, format="csv", role="officer", weighted=False)
    text = b"".join(exports.stream_csv(export)).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["hours"], r["incident_date"], r["home_postcode"]) for r in rows] == [
        ("1.5", "2024-02-29", "e05010458"),
        ("", "", "e05010459"),
    ]
    sav = tmp_path / "typed.sav"
    exports.write_sav(
        exports.prepare_export(survey, format="sav", role="officer", weighted=False), str(sav)
    )
    data, meta = pyreadstat.read_sav(str(sav))
    assert data["hours"].tolist()[0] == 1.5
    assert data["incident_date"].tolist() == ["2024-02-29", ""]
    assert meta.variable_value_labels["home_postcode"][1.0] == "Castle"
    xlsx = tmp_path / "typed.xlsx"
    exports.write_xlsx(
        exports.prepare_export(survey, format="xlsx", role="officer", weighted=False), str(xlsx)
    )
    sheet = pd.read_excel(xlsx, sheet_name="Responses", header=0, skiprows=[1], dtype=str)
    assert sheet["incident_date"].tolist()[0] == "2024-02-29"
    assert sheet["home_postcode"].tolist() == ["e05010458", "e05010459"]
    assert float(sheet["hours"].tolist()[0]) == 1.5


def test_definition_round_trip_keeps_types_settings_and_date_conditions(app_context):
    survey = typed_survey(keep="sector")
    document = export_definition(survey)
    copy = import_definition(survey.partnership, json.loads(json.dumps(document)), slug="copy")
    by_key = {x.key: x for x in copy.questions}
    assert by_key["hours"].type == "decimal" and by_key["hours"].settings["places"] == 1
    assert by_key["incident_date"].settings == {"not_future": True, "min": "2020-01-01"}
    assert by_key["home_postcode"].settings == {"keep": "sector", "ward_list": True}
    assert by_key["followup"].show_if == {"question": "incident_date", "gte": "2024-01-01"}
    # A date condition with a number, and a comparison on a text question, are refused.
    broken = json.loads(json.dumps(document))
    for question in broken["questions"]:
        if question["key"] == "followup":
            question["show_if"] = {"question": "incident_date", "gte": 5}
    with pytest.raises(ServiceError, match="needs a date written YYYY-MM-DD"):
        import_definition(survey.partnership, broken, slug="broken")
    bad_settings = json.loads(json.dumps(document))
    for question in bad_settings["questions"]:
        if question["key"] == "home_postcode":
            question["settings"] = {"keep": "full_postcode"}
        if question["key"] == "hours":
            question["settings"] = {"places": 12}
    with pytest.raises(ServiceError) as caught:
        import_definition(survey.partnership, bad_settings, slug="bad-settings")
    assert any("ward or the postcode sector" in p for p in caught.value.problems)
    assert any("decimal places" in p for p in caught.value.problems)


def test_builder_settings_for_the_new_types(app_context):
    survey = typed_survey()
    section = survey.sections[0]
    decimal = builder.create_question(
        survey,
        section,
        key="weight_kg",
        type="decimal",
        prompt="Weight?",
        settings={"min": "0.5", "max": "300", "places": "1", "unit": "kg"},
    )
    assert decimal.settings == {"min": 0.5, "max": 300.0, "places": 1, "unit": "kg"}
    with pytest.raises(ServiceError, match="decimal places"):
        builder.create_question(
            survey, section, key="w2", type="decimal", prompt="W?", settings={"places": "9"}
        )
    when = builder.create_question(
        survey,
        section,
        key="moved_in",
        type="date",
        prompt="When?",
        settings={"not_future": "1", "min": "1900-01-01"},
    )
    assert when.settings == {"not_future": True, "min": "1900-01-01"}
    with pytest.raises(ServiceError, match="YYYY-MM-DD"):
        builder.create_question(
            survey, section, key="d2", type="date", prompt="D?", settings={"max": "31/02/2024"}
        )
    postcode = builder.create_question(
        survey, section, key="pc2", type="postcode", prompt="Postcode?", settings={"keep": "sector"}
    )
    assert postcode.settings == {"keep": "sector", "ward_list": True}
    with pytest.raises(ServiceError, match="ward or the postcode sector"):
        builder.create_question(
            survey, section, key="pc3", type="postcode", prompt="P?", settings={"keep": "full"}
        )
    # Conditions can compare dates; a postcode question can be the area demographic.
    builder.validate_condition(
        q(survey, "followup"),
        {"question": "incident_date", "lt": "2025-01-01"},
        {x.key: x for x in survey.questions},
        {x.key: i for i, x in enumerate(sorted(survey.questions, key=lambda x: x.position))},
        q(survey, "followup").position,
    )


def test_paper_entry_of_the_three_types(app_context):
    survey = typed_survey()
    import_lookup(survey.partnership, LOOKUP)
    survey.status = "open"
    from consult.models import User

    officer = User(email="keyer@mid.example", password_hash="x")
    db.session.add(officer)
    db.session.flush()
    header = PaperForm(
        channel="paper", batch="B1", serial="001", language="en", idempotency_key="k1"
    )
    result = submit_paper(
        survey,
        header,
        {"pe-hours": "2.5", "pe-incident_date": "27/03/2024", "pe-home_postcode": "le2 1aa"},
        by=officer,
    )
    answers = load_answers(result.response, survey.questions)
    assert answers["hours"].number == 2.5
    assert answers["incident_date"].text == "2024-03-27"
    assert answers["home_postcode"].codes == ("e05010459",)
    # The ward's printed number where the form gives a ward instead.
    second = submit_paper(
        survey,
        PaperForm(channel="paper", batch="B1", serial="002", language="en", idempotency_key="k2"),
        {"pe-home_postcode": "1", "pe-incident_date": "2024-03-01"},
        by=officer,
    )
    assert load_answers(second.response, survey.questions)["home_postcode"].codes == ("e05010458",)
    with pytest.raises(PaperEntryError) as caught:
        submit_paper(
            survey,
            PaperForm(
                channel="paper", batch="B1", serial="003", language="en", idempotency_key="k3"
            ),
            {"pe-hours": "about ten", "pe-incident_date": "31 2 2024", "pe-home_postcode": "ZZ"},
            by=officer,
        )
    errors = caught.value.errors
    assert errors["pe-hours"] == "hours: Enter a number, like 1.5"
    assert errors["pe-incident_date"] == "incident_date: The date must be a real date"
    assert errors["pe-home_postcode"] == "home_postcode: Enter a real postcode, like LE1 5WW"
