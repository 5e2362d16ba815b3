"""The translation workflow: statuses, completeness, the spreadsheet round trip
and its all-or-nothing validation."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook
from test_build_services import make_survey, q

import bench.hostile_files as hostile
from consult.extensions import db
from consult.models import AuditEvent, TextEntry
from consult.services import ServiceError, builder
from consult.services import translation as tr
from consult.services.content import set_text


def survey_with_urdu():
    survey = make_survey(languages=("en", "ur"))
    set_text(survey, "q.age_band.prompt", "ur", "آپ کی عمر؟", status="machine")
    set_text(survey, "survey.title", "ur", "محفوظ؟")
    db.session.flush()
    return survey


def statuses(survey, language="ur"):
    return {s.spec.key: s.status for s in tr.language_strings(survey, language)}


def test_status_and_completeness(app_context):
    survey = survey_with_urdu()
    state = statuses(survey)
    assert state["q.age_band.prompt"] == "machine"
    assert state["survey.title"] == "draft"
    assert state["o.age_band.aged_16_24"] == "missing"
    builder.update_question(q(survey, "age_band"), prompt="How old are you?")
    db.session.flush()
    assert statuses(survey)["q.age_band.prompt"] == "outdated"
    report = {r.language: r for r in tr.language_reports(survey)}
    assert report["en"].percent == 100
    total = report["ur"].total
    assert report["ur"].complete == 1  # only the title: the prompt is outdated
    assert report["ur"].percent == 100 // total


def test_hidden_strings_never_block(app_context):
    survey = make_survey(languages=("en",))
    # A text left over from a removed question, and an empty section's title.
    set_text(survey, "q.gone.prompt", "en", "Gone")
    builder.create_section(survey, "empty", "Nothing here")
    survey.languages = ["en", "pl"]
    for spec in tr.survey_strings(survey):
        assert spec.key not in ("q.gone.prompt", "section.empty.title")
        entry = db.session.scalars(
            sa.select(TextEntry).filter_by(survey_id=survey.id, key=spec.key, language="en")
        ).one()
        set_text(survey, spec.key, "pl", entry.value + " (pl)")
    db.session.flush()
    assert tr.missing_visible_strings(survey) == {}
    builder.change_status(survey, "open")


def test_mark_reviewed_clears_outdated(app_context):
    survey = survey_with_urdu()
    builder.update_question(q(survey, "age_band"), prompt="How old are you?")
    assert tr.mark_reviewed(survey, "ur", ["q.age_band.prompt"]) == 1
    assert statuses(survey)["q.age_band.prompt"] == "reviewed"


def test_edit_translation_checks_placeholders(app_context):
    survey = survey_with_urdu()
    builder.update_question(q(survey, "other"), prompt="Tell {name} more")
    with pytest.raises(ServiceError, match=r"\{name\} from the English is missing"):
        tr.edit_translation(survey, "q.other.prompt", "ur", "مزید بتائیں")
    tr.edit_translation(survey, "q.other.prompt", "ur", "{name} کو مزید بتائیں", reviewed=True)
    assert statuses(survey)["q.other.prompt"] == "reviewed"
    with pytest.raises(ServiceError, match="not offered"):
        tr.edit_translation(survey, "q.other.prompt", "pl", "x")
    with pytest.raises(ServiceError, match="not a text"):
        tr.edit_translation(survey, "q.nothing.prompt", "ur", "x")


def fill(content: bytes, edits: dict[tuple[str, str], str]) -> bytes:
    workbook = load_workbook(io.BytesIO(content))
    sheet = workbook["translations"]
    header = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        for (key, column), value in edits.items():
            if row[0].value == key:
                row[header.index(column)].value = value
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_export_then_import_round_trip(app_context):
    survey = survey_with_urdu()
    content = tr.export_xlsx(survey)
    sheet = load_workbook(io.BytesIO(content))["translations"]
    header = [c.value for c in sheet[1]]
    assert header == ["key", "type", "label::English (en)", "label::Urdu (ur)"]
    keys = [r[0].value for r in sheet.iter_rows(min_row=2)]
    assert keys[:3] == ["survey.title", "section.main.title", "q.age_band.prompt"]
    filled = fill(
        content, {(k, "label::Urdu (ur)"): f"اردو {k}" for k in keys if k != "survey.title"}
    )
    result = tr.import_xlsx(survey, filled)
    assert result.changed["ur"] == len(keys) - 1
    assert tr.missing_visible_strings(survey) == {}
    state = statuses(survey)
    assert state["o.age_band.aged_16_24"] == "draft"
    assert db.session.scalars(sa.select(AuditEvent).filter_by(action="translations_imported")).one()


def test_bad_file_saves_nothing_and_names_every_row(app_context):
    survey = survey_with_urdu()
    builder.update_question(q(survey, "other"), prompt="Tell {name} more")
    content = tr.export_xlsx(survey)
    workbook = load_workbook(io.BytesIO(content))
    sheet = workbook["translations"]
    sheet.append(["q.not_there.prompt", "prompt", "", "کچھ"])
    sheet.append([None, None, None, "بغیر کلید"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    bad = fill(
        buffer.getvalue(),
        {
            ("q.other.prompt", "label::Urdu (ur)"): "مزید بتائیں",  # {name} lost
            ("o.age_band.aged_16_24", "label::Urdu (ur)"): "x" * 400,
            ("q.priorities.prompt", "label::Urdu (ur)"): "ترجیحات",  # a good row: must not be saved
        },
    )
    before = statuses(survey)
    with pytest.raises(tr.TranslationFileError) as error:
        tr.import_xlsx(survey, bad)
    problems = "\n".join(error.value.problems)
    assert "unknown key 'q.not_there.prompt'" in problems
    assert "the key is empty" in problems
    assert "{name} from the English is missing" in problems
    assert "400 characters long" in problems
    assert all(p.startswith("row ") for p in error.value.problems)
    assert statuses(survey) == before


def test_wrong_columns_and_non_workbooks_are_refused(app_context):
    survey = survey_with_urdu()
    workbook = Workbook()
    workbook.active.append(["key", "label::Polish (pl)", "label::Klingon (tlh)"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    with pytest.raises(tr.TranslationFileError) as error:
        tr.import_xlsx(survey, buffer.getvalue())
    assert "does not offer" in error.value.problems[0]
    assert "does not name a language" in error.value.problems[1]
    with pytest.raises(tr.TranslationFileError, match="problem"):
        tr.import_xlsx(survey, b"key,label\n")
    changed_english = fill(
        tr.export_xlsx(survey), {("q.other.prompt", "label::English (en)"): "Changed"}
    )
    with pytest.raises(tr.TranslationFileError) as error:
        tr.import_xlsx(survey, changed_english)
    assert "not the survey's current English" in error.value.problems[0]


def test_formulas_are_written_as_text(app_context):
    survey = survey_with_urdu()
    builder.update_question(q(survey, "other"), prompt='=HYPERLINK("http://x")')
    sheet = load_workbook(io.BytesIO(tr.export_xlsx(survey)))["translations"]
    cell = next(r[2] for r in sheet.iter_rows(min_row=2) if r[0].value == "q.other.prompt")
    assert cell.data_type == "s"


# --- hostile files of issue 13 ------------------------------------------------------

HOSTILE_WORKBOOKS = {
    # Each: the file, and words its one problem must contain.
    "dimension-bomb": (
        lambda: hostile.dimension_bomb(),
        f"has more than {tr.MAX_IMPORT_ROWS + 1:,} rows",
    ),
    "dimension-declared-only": (
        lambda: hostile.dimension_bomb(corner=False),
        "row 1: no column holds a translation this survey offers",
    ),
    "zip-bomb": (lambda: hostile.zip_bomb(), "unpacks to more than 32 MB"),
    "zip-bomb-lying-headers": (
        lambda: hostile.zip_bomb(lie=True),
        f"has more than {tr.MAX_IMPORT_ROWS + 1:,} rows",
    ),
    "malformed-zip": (lambda: hostile.malformed_zip(), "not an Excel workbook"),
    "xliff-not-xlsx": (lambda: hostile.utf16_xliff_with_entity(), "not an Excel workbook"),
}


@pytest.mark.parametrize("name", HOSTILE_WORKBOOKS)
def test_hostile_workbooks_are_refused_and_nothing_is_saved(app_context, name):
    make, message = HOSTILE_WORKBOOKS[name]
    survey = survey_with_urdu()
    before = statuses(survey)
    with pytest.raises(tr.TranslationFileError) as error:
        tr.import_xlsx(survey, make())
    assert "nothing was saved" in error.value.message
    assert len(error.value.problems) == 1 and message in error.value.problems[0]
    assert statuses(survey) == before


def test_one_row_past_the_import_limit_is_refused_without_reading_further(app_context):
    survey = survey_with_urdu()
    header = '<row r="1"><c r="A1" t="inlineStr"><is><t>key</t></is></c></row>'
    last = tr.MAX_IMPORT_ROWS + 2
    far = f'<row r="{last}"><c r="A{last}" t="inlineStr"><is><t>x</t></is></c></row>'
    content = hostile.xlsx(hostile.sheet_head() + header + far + hostile.SHEET_TAIL)
    with pytest.raises(tr.TranslationFileError) as error:
        tr.import_xlsx(survey, content)
    assert error.value.problems == [f"the sheet “translations” has more than {last - 1:,} rows"]


def test_a_constraint_message_is_a_text_to_translate_and_blocks_opening(app_context):
    """An XLSForm constraint_message given only in English: the Urdu one is
    listed, exported for the translator, and missing it blocks opening."""
    from test_xlsform import workbook
    from test_xlsform_kobo import HEADER, partnership, row

    from consult.services.answers import AnswerInvalid, parse_answer
    from consult.services.content import SurveyTexts
    from consult.services.xliff import export_xliff
    from consult.services.xlsform import import_xlsform

    form = workbook(
        [
            HEADER,
            row(
                "integer",
                "age",
                "How old are you?",
                "آپ کی عمر کیا ہے؟",
                "",
                "yes",
                "",
                ". >= 16 and . <= 120",
                "Enter an age from 16 to 120",
            ),
        ],
        [],
        [("form_title", "form_id"), ("Feeling safe", "feeling_safe")],
    )
    survey = import_xlsform(partnership(), form, slug="ages").survey
    survey.retention_until = date.today() + timedelta(days=365)
    set_text(survey, "survey.title", "ur", "محفوظ؟")
    db.session.flush()
    specs = tr.survey_strings(survey)
    assert tr.StringSpec("q.age.constraint", "constraint", "age") in specs
    assert statuses(survey)["q.age.constraint"] == "missing"
    assert tr.missing_visible_strings(survey) == {"ur": ["q.age.constraint"]}
    assert builder.opening_problems(survey) == [
        "1 text shown to residents is missing in Urdu: q.age.constraint."
    ]
    assert "q.age.constraint" in export_xliff(survey, "ur").decode()

    content = tr.export_xlsx(survey)
    keys = [r[0].value for r in load_workbook(io.BytesIO(content))["translations"].iter_rows()]
    assert "q.age.constraint" in keys
    filled = fill(content, {("q.age.constraint", "label::Urdu (ur)"): "16 سے 120 تک عمر درج کریں"})
    assert tr.import_xlsx(survey, filled).changed["ur"] == 1
    assert tr.missing_visible_strings(survey) == {}
    builder.change_status(survey, "open")
    with pytest.raises(AnswerInvalid) as invalid:
        parse_answer(q(survey, "age"), {"age": "130"}, "ur", SurveyTexts(survey))
    assert invalid.value.errors[0].message == "16 سے 120 تک عمر درج کریں"
