"""XLSForm questionnaire export and import: a round trip keeps keys, codes,
types, texts and conditions; what consult cannot express is reported per row."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from openpyxl import Workbook
from test_build_services import make_survey, q

import bench.hostile_files as hostile
from consult.extensions import db
from consult.models import Survey, TextEntry
from consult.services import builder
from consult.services.content import set_text
from consult.services.xlsform import (
    MAX_ROWS,
    XLSFormError,
    export_xlsform,
    import_xlsform,
    parse_relevant,
)


def snapshot(survey: Survey):
    questions = [
        (
            x.key,
            x.type,
            x.required,
            x.show_if,
            [(o.kind, o.code, o.exclusive, o.is_missing) for o in x.options],
        )
        for x in builder.ordered_questions(survey.questions)
    ]
    texts = {
        (t.key, t.language, t.value)
        for t in db.session.scalars(sa.select(TextEntry).filter_by(survey_id=survey.id))
        if t.value
    }
    return questions, texts, [(s.key, s.kind) for s in survey.sections]


def test_round_trip_keeps_keys_codes_types_texts_and_conditions(app_context):
    survey = make_survey(languages=("en", "ur"))
    section = survey.sections[0]
    builder.set_condition(q(survey, "other"), "priorities", ["something_else"])
    grid = builder.create_question(
        survey,
        section,
        key="worry",
        type="grid",
        prompt="How worried are you about…",
        hint="One answer per row",
    )
    builder.add_option(grid, code="very_worried", label="Very worried")
    builder.add_option(grid, code="not_worried", label="Not worried")
    builder.add_option(grid, code="burglary", label="Burglary", kind="item")
    rank = builder.create_question(
        survey, section, key="top3", type="ranking", prompt="Rank three", settings={"top_n": "3"}
    )
    builder.add_option(rank, code="asb", label="Anti-social behaviour")
    builder.add_option(rank, code="none_of_these", label="None of these", exclusive=True)
    scale = builder.create_question(
        survey, section, key="confidence", type="scale", prompt="How confident?", required=True
    )
    builder.add_option(scale, code="very", label="Very")
    builder.add_option(scale, code="dont_know", label="Don't know", is_missing=True)
    builder.create_question(
        survey,
        section,
        key="years",
        type="number",
        prompt="How many years?",
        settings={"min": "0", "max": "99"},
    )
    set_text(survey, "q.age_band.prompt", "ur", "آپ کی عمر؟")
    set_text(survey, "survey.title", "ur", "محفوظ؟")
    db.session.flush()
    db.session.refresh(survey)
    content = export_xlsform(survey)
    result = import_xlsform(survey.partnership, content, slug="imported")
    assert result.notes == []
    assert snapshot(result.survey) == snapshot(survey)
    assert q(result.survey, "top3").settings == {"top_n": 3}
    assert q(result.survey, "years").settings == {"min": 0.0, "max": 99.0}


def test_decimal_and_date_questions_round_trip(app_context):
    """A decimal keeps its bounds and decimal places, a date its type; the
    rows carry XLSForm's own types so other tools read them too."""
    survey = make_survey(languages=("en",))
    section = survey.sections[0]
    builder.create_question(
        survey,
        section,
        key="hours",
        type="decimal",
        prompt="Hours a week outdoors",
        settings={"min": "0.5", "max": "80", "places": "1"},
    )
    builder.create_question(survey, section, key="incident", type="date", prompt="When?")
    db.session.flush()
    db.session.refresh(survey)
    content = export_xlsform(survey)
    from openpyxl import load_workbook

    rows = list(load_workbook(io.BytesIO(content)).worksheets[0].iter_rows(values_only=True))
    types = {r[1]: r[0] for r in rows[1:]}
    assert types["hours"] == "decimal" and types["incident"] == "date"
    result = import_xlsform(survey.partnership, content, slug="typed")
    assert result.notes == []
    hours = q(result.survey, "hours")
    assert hours.type == "decimal"
    assert hours.settings["min"] == 0.5 and hours.settings["max"] == 80
    assert hours.settings["places"] == 1
    assert q(result.survey, "incident").type == "date"


def workbook(survey_rows, choice_rows=(), settings=None) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "survey"
    for row in survey_rows:
        sheet.append(list(row))
    choices = book.create_sheet("choices")
    for row in choice_rows:
        choices.append(list(row))
    if settings:
        s = book.create_sheet("settings")
        for row in settings:
            s.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_kobo_form_with_unsupported_rows_is_reported_per_row(app_context):
    survey = make_survey()
    content = workbook(
        [
            ("type", "name", "label::English (en)", "label::French (fr)", "relevant"),
            ("start", "start", "", "", ""),
            ("note", "intro", "Welcome", "Bienvenue", ""),
            ("select_one yn", "Feels_Safe", "Do you feel safe?", "", ""),
            ("text", "why", "Why not?", "", "${Feels_Safe} = '2'"),
            ("calculate", "score", "", "", ""),
            ("integer", "age", "Age", "", "${Feels_Safe} = '1' and ${why} != '' or ${age} > 3"),
            ("geopoint", "where", "Where?", "", ""),
        ],
        [("list_name", "name", "label::English (en)"), ("yn", "1", "Yes"), ("yn", "2", "No")],
    )
    result = import_xlsform(survey.partnership, content, slug="from-kobo")
    keys = [x.key for x in builder.ordered_questions(result.survey.questions)]
    assert keys == ["feels_safe", "why", "age"]
    assert [o.code for o in q(result.survey, "feels_safe").choices] == ["c1", "c2"]
    assert q(result.survey, "why").show_if == {"question": "feels_safe", "in": ["c2"]}
    assert q(result.survey, "age").show_if is None
    text = "\n".join(result.notes)
    for expected in (
        "French (fr)",
        "survey sheet, row 2: the metadata field start",
        "survey sheet, row 3: the note intro is shown with the next question, feels_safe",
        "row 6: score: calculations",
        "row 7: the condition",
        "row 8: where: the type 'geopoint' is not supported",
        "'Feels_Safe' is stored as the key 'feels_safe'",
        "choices sheet, row 2: the name '1' is stored as the code 'c1'",
    ):
        assert expected in text, expected


def test_broken_forms_are_refused_whole(app_context):
    survey = make_survey()
    with pytest.raises(XLSFormError) as error:
        import_xlsform(
            survey.partnership, workbook([("type", "label"), ("text", "x")]), slug="broken"
        )
    assert "no “name” column" in error.value.problems[0]
    content = workbook(
        [
            ("type", "name", "label"),
            ("select_one missing_list", "q1", "Q1"),
            ("text", "q1", "Again"),
            ("text", "resp_x", "Reserved"),
        ],
    )
    with pytest.raises(XLSFormError) as error:
        import_xlsform(survey.partnership, content, slug="broken")
    text = "\n".join(error.value.problems)
    assert "row 3: the name 'q1' is used twice" in text
    assert "row 4: the name 'resp_x' cannot be used" in text
    assert "row 2: the choice list 'missing_list' is not on the choices sheet" in text
    assert db.session.scalar(sa.select(sa.func.count(Survey.id)).filter_by(slug="broken")) == 0
    with pytest.raises(XLSFormError, match="problem"):
        import_xlsform(survey.partnership, b"not a workbook", slug="broken")


def test_parse_relevant():
    assert parse_relevant("selected(${priorities}, 'something_else')") == {
        "question": "priorities",
        "in": ["something_else"],
    }
    assert parse_relevant("${age_band} = '16_24' or ${age_band} = '25_34'") == {
        "question": "age_band",
        "in": ["16_24", "25_34"],
    }
    assert parse_relevant("${age} >= 16 and ${why} != ''") == {
        "all": [{"question": "age", "gte": 16}, {"question": "why", "answered": True}]
    }
    assert parse_relevant("count-selected(${x}) > 2") is None


def test_web_import_and_export(app, client, signed_in):
    signed_in("officer")
    content = workbook(
        [
            ("type", "name", "label::English (en)", "label::Urdu (ur)"),
            ("select_one yn", "safe", "Safe?", "محفوظ؟"),
            ("note", "n1", "Hello", ""),
        ],
        [
            ("list_name", "name", "label::English (en)", "label::Urdu (ur)"),
            ("yn", "yes", "Yes", "ہاں"),
            ("yn", "no", "No", "نہیں"),
        ],
        [("form_title", "default_language"), ("Safety", "English (en)")],
    )
    response = client.post_form(
        "/manage/surveys/import-xlsform",
        {
            "slug": "kobo-safety",
            "audience": "residents",
            "file": (io.BytesIO(content), "form.xlsx"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "row 3: the note n1 comes after the last question" in page and "Safety" in page
    with app.app_context():
        survey = db.session.scalars(sa.select(Survey).filter_by(slug="kobo-safety")).one()
        assert survey.languages == ["en", "ur"]
        survey_id = survey.id
    exported = client.get(f"/manage/surveys/{survey_id}/xlsform")
    assert exported.status_code == 200 and exported.mimetype.endswith("sheet")
    bad = client.post_form(
        "/manage/surveys/import-xlsform",
        {"slug": "x", "file": (io.BytesIO(b"junk"), "form.xlsx")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 400 and "not an Excel workbook" in bad.get_data(as_text=True)


def test_demo_survey_round_trips(app, demo):
    with app.app_context():
        survey = db.session.get(Survey, demo["survey_id"])
        result = import_xlsform(survey.partnership, export_xlsform(survey), slug="demo-copy")
        assert result.notes == []
        original, copy = snapshot(survey), snapshot(result.survey)
        assert copy[0] == original[0]
        assert copy[2] == original[2]
        assert copy[1] == original[1]


# --- hostile files of issue 13 ------------------------------------------------------

HOSTILE_FORMS = {
    "dimension-bomb": (
        lambda: hostile.dimension_bomb("survey"),
        f"the sheet “survey” has more than {MAX_ROWS:,} rows",
    ),
    "dimension-declared-only": (
        lambda: hostile.dimension_bomb("survey", corner=False),
        "row 1: there is no “type” column",
    ),
    "zip-bomb": (lambda: hostile.zip_bomb("survey"), "unpacks to more than 32 MB"),
    "zip-bomb-lying-headers": (
        lambda: hostile.zip_bomb("survey", lie=True),
        f"the sheet “survey” has more than {MAX_ROWS:,} rows",
    ),
    "malformed-zip": (lambda: hostile.malformed_zip(), "not an Excel workbook"),
    "no-survey-sheet": (
        lambda: hostile.dimension_bomb("Sheet1", corner=False),
        "there is no “survey” sheet",
    ),
}


@pytest.mark.parametrize("name", HOSTILE_FORMS)
def test_hostile_forms_are_refused_and_nothing_is_created(app_context, name):
    make, message = HOSTILE_FORMS[name]
    survey = make_survey()
    with pytest.raises(XLSFormError) as error:
        import_xlsform(survey.partnership, make(), slug="hostile")
    assert message in error.value.problems[0], error.value.problems
    assert db.session.scalar(sa.select(sa.func.count(Survey.id)).filter_by(slug="hostile")) == 0
