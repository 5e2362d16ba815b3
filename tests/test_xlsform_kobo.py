"""A KoboToolbox-style XLSForm: every row and every column is either brought
in or listed back by sheet, row and column; constraints become ranges and
lengths with their messages in every language; notes, or_other and simple
choice filters are kept; decimal and date become their own question types; calculate and repeat are named."""

from __future__ import annotations

import subprocess

import sqlalchemy as sa
from test_build_services import q
from test_xlsform import workbook

from consult.extensions import db
from consult.models import Partnership, Survey
from consult.services import builder
from consult.services.answers import AnswerInvalid, parse_answer
from consult.services.content import SurveyTexts
from consult.services.xlsform import import_xlsform, parse_constraint

HEADER = (
    "type",
    "name",
    "label::English (en)",
    "label::Urdu (ur)",
    "hint::English (en)",
    "required",
    "relevant",
    "constraint",
    "constraint_message::English (en)",
    "constraint_message::Urdu (ur)",
    "choice_filter",
    "appearance",
)


def row(type_, name, label="", ur="", hint="", required="", relevant="", constraint="", msg="", msg_ur="", choice_filter="", appearance=""):  # fmt: skip
    return (type_, name, label, ur, hint, required, relevant, constraint, msg, msg_ur, choice_filter, appearance)  # fmt: skip


def kobo_form() -> bytes:
    return workbook(
        [
            HEADER,
            row("start", "start"),  # 2
            row("note", "welcome", "Thank you for helping.", "مدد کا شکریہ۔"),  # 3
            row("begin_group", "about", "About you", "آپ کے بارے میں"),  # 4
            row(
                "integer",
                "age",
                "How old are you?",
                "آپ کی عمر کیا ہے؟",
                "In years",
                "yes",
                "",
                ". >= 16 and . <= 120",
                "Enter an age from 16 to 120",
                "16 سے 120 تک عمر درج کریں",
            ),  # 5
            row(
                "text", "comments", "Anything else?", "", "", "", "", "string-length(.) <= 200"
            ),  # 6
            row("select_one yn or_other", "safe", "Do you feel safe?", "کیا آپ محفوظ ہیں؟"),  # 7
            row(
                "select_one wards",
                "ward",
                "Your ward",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "district = 'north'",
            ),  # 8
            row("decimal", "income", "Weekly income"),  # 9
            row("date", "visit", "Date of visit"),  # 10
            row("calculate", "score"),  # 11
            row("end_group", "about"),  # 12
            row("begin_repeat", "household", "Household"),  # 13
            row("text", "member", "Name"),  # 14
            row("end_repeat", "household"),  # 15
            row("text", "email", "Email", "", "", "", "", "regex(., '@')", "Not an email"),  # 16
            row(
                "select_multiple problems",
                "problems",
                "Problems?",
                "",
                "",
                "",
                "selected(${safe}, 'no')",
                "",
                "",
                "",
                "",
                "minimal",
            ),  # 17
        ],
        [
            (
                "list_name",
                "name",
                "label::English (en)",
                "label::Urdu (ur)",
                "district",
                "media::image",
            ),
            ("yn", "yes", "Yes", "ہاں", "", ""),
            ("yn", "no", "No", "نہیں", "", ""),
            ("wards", "w1", "Abbey", "", "north", "abbey.png"),
            ("wards", "w2", "Castle", "", "south", ""),
            ("wards", "w3", "Fosse", "", "north", ""),
            ("problems", "asb", "Anti-social behaviour", "", "", ""),
            ("problems", "litter", "Litter", "", "", ""),
        ],
        [("form_title", "form_id", "style"), ("Feeling safe", "feeling_safe_kobo", "pages")],
    )


def partnership() -> Partnership:
    found = db.session.scalars(sa.select(Partnership).filter_by(slug="north-csp")).first()
    if found is None:
        found = Partnership(slug="north-csp", name="North")
        db.session.add(found)
        db.session.flush()
    return found


def test_a_kobo_form_is_mapped_or_listed_row_by_row_and_column_by_column(app_context):
    result = import_xlsform(partnership(), kobo_form(), slug="kobo")
    survey = result.survey
    keys = [x.key for x in builder.ordered_questions(survey.questions)]
    assert keys == [
        "age",
        "comments",
        "safe",
        "safe_other",
        "ward",
        "income",
        "visit",
        "email",
        "problems",
    ]
    assert q(survey, "income").type == "decimal"
    assert q(survey, "visit").type == "date"
    age = q(survey, "age")
    assert age.required and age.settings == {"min": 16.0, "max": 120.0}
    assert q(survey, "comments").settings == {"max_length": 200}
    assert [o.code for o in q(survey, "safe").choices] == ["yes", "no", "other"]
    assert q(survey, "safe_other").show_if == {"question": "safe", "in": ["other"]}
    assert [o.code for o in q(survey, "ward").choices] == ["w1", "w3"]
    assert q(survey, "problems").show_if == {"question": "safe", "in": ["no"]}
    texts = SurveyTexts(survey)
    assert texts.hint(age, "en") == "Thank you for helping.\nIn years"
    notes = "\n".join(result.notes)
    for expected in (
        "survey sheet, row 2: the metadata field start was not imported",
        "survey sheet, row 3: the note welcome is shown with the next question, age",
        "survey sheet, row 7: or_other became the answer 'other' and the text question safe_other",
        "survey sheet, row 11: score: calculations are not supported; not imported",
        "survey sheet, row 13: repeats (household) are not supported",
        "survey sheet, row 14: member is inside a repeat",
        "survey sheet, row 16, column 'constraint': \"regex(., '@')\" cannot be expressed",
        "survey sheet, column 'appearance' (rows 17): consult does not support this column",
        "choices sheet, column 'media::image' (rows 4): consult does not support this column",
        "settings sheet, column 'style' (rows 2): consult does not support this column",
    ):
        assert expected in notes, expected
    # Nothing else: every note is one of the above, or says how a name was stored.
    assert len(result.notes) == 10, notes


def test_constraint_messages_are_the_error_in_every_language(app_context):
    survey = import_xlsform(partnership(), kobo_form(), slug="kobo").survey
    age = q(survey, "age")
    texts = SurveyTexts(survey)
    for language, message in (
        ("en", "Enter an age from 16 to 120"),
        ("ur", "16 سے 120 تک عمر درج کریں"),
    ):
        try:
            parse_answer(age, {"age": "130"}, language, texts)
        except AnswerInvalid as error:
            assert error.errors[0].message == message
        else:
            raise AssertionError("130 was accepted")
    assert parse_answer(age, {"age": "40"}, "en", texts).number == 40
    # Without a message of its own, the usual one.
    comments = q(survey, "comments")
    try:
        parse_answer(comments, {"comments": "x" * 201}, "en", texts)
    except AnswerInvalid as error:
        assert error.errors[0].message == "Your answer must be 200 characters or fewer"


def test_parse_constraint():
    assert parse_constraint(". >= 0 and . <= 10", "number") == {"min": 0.0, "max": 10.0}
    assert parse_constraint(". > 0", "number") == {"min": 1.0}
    assert parse_constraint("string-length(.) < 50", "text") == {"max_length": 49}
    assert parse_constraint("string-length(.) >= 3", "text") is None
    assert parse_constraint(". > ${age}", "number") is None
    assert parse_constraint(". <= 10", "text") is None
    # Decimals keep inclusive bounds as they are; a strict bound is reported.
    assert parse_constraint(". >= 0.5 and . <= 99.5", "decimal") == {"min": 0.5, "max": 99.5}
    assert parse_constraint(". > 0", "decimal") is None


def test_the_command_line_prints_the_report_and_exits_1_when_refused(app, tmp_path):
    with app.app_context():
        partnership()
        db.session.commit()
        url = app.config["SQLALCHEMY_DATABASE_URI"]
    good = tmp_path / "kobo.xlsx"
    good.write_bytes(kobo_form())
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(workbook([("type", "label"), ("text", "Name?")]))
    env = {"DATABASE_URL": url, "CONSULT_ENV": "development", "PATH": "/usr/bin:/bin"}

    def run(path, slug):
        return subprocess.run(
            [
                ".venv/bin/flask",
                "--app",
                "wsgi",
                "consult",
                "import-xlsform",
                str(path),
                "--partnership",
                "north-csp",
                "--slug",
                slug,
            ],  # fmt: skip
            capture_output=True,
            text=True,
            env=env,
        )

    done = run(good, "kobo-cli")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Imported draft survey /s/kobo-cli" in done.stdout
    assert "row 11: score: calculations are not supported" in done.stdout
    refused = run(bad, "kobo-bad")
    assert refused.returncode == 1
    assert "there is no “name” column" in refused.stdout
    with app.app_context():
        assert db.session.scalars(sa.select(Survey.slug)).all() == ["kobo-cli"]
