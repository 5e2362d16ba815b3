"""Importing responses from CSV and XLSX: files written the way other tools
write them, all or nothing with every problem by line and column, the
routing and consent rules of online answers, nothing stored twice, and our
own export importing back unchanged."""

from __future__ import annotations

import io
import json
import subprocess
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from consult.extensions import db
from consult.models import Answer, Partnership, Response, Survey, SurveyStatus
from consult.services.answers import load_answers
from consult.services.exports import prepare_export, stream_csv
from consult.services.importing import ImportRefused, import_responses, parse_when
from consult.services.path import ordered_questions
from consult.services.surveys import add_question, add_section, create_survey


def build_survey(slug: str = "paper-survey", status: str = SurveyStatus.OPEN):
    partnership = db.session.scalars(sa.select(Partnership).filter_by(slug="north-csp")).first()
    if partnership is None:
        partnership = Partnership(slug="north-csp", name="North")
        db.session.add(partnership)
        db.session.flush()
    survey = create_survey(
        partnership, slug=slug, title={"en": "Safe?", "ur": "محفوظ؟"}, languages=["en", "ur"]
    )
    main = add_section(survey, "main", {"en": "Main"})
    add_question(
        survey,
        main,
        key="safe_day",
        type="scale",
        prompt={"en": "How safe do you feel in the day?"},
        options=[
            {"code": "very_safe", "label": {"en": "Very safe", "ur": "بہت محفوظ"}},
            {"code": "fairly_safe", "label": {"en": "Fairly safe", "ur": "کافی محفوظ"}},
            {"code": "unsafe", "label": {"en": "Unsafe", "ur": "غیر محفوظ"}},
            {"code": "dont_know", "label": {"en": "Don't know"}, "is_missing": True},
        ],
    )
    add_question(
        survey,
        main,
        key="victim",
        type="single",
        prompt={"en": "Were you a victim of crime?"},
        options=[
            {"code": "yes", "label": {"en": "Yes", "ur": "ہاں"}},
            {"code": "no", "label": {"en": "No", "ur": "نہیں"}},
        ],
    )
    add_question(
        survey,
        main,
        key="reported",
        type="single",
        prompt={"en": "Did you report it?"},
        show_if={"question": "victim", "in": ["yes"]},
        options=[
            {"code": "yes", "label": {"en": "Yes"}},
            {"code": "no", "label": {"en": "No"}},
        ],
    )
    add_question(
        survey,
        main,
        key="problems",
        type="multiple",
        prompt={"en": "Problems?"},
        options=[
            {"code": "burglary", "label": {"en": "Burglary"}},
            {"code": "asb", "label": {"en": "Anti-social behaviour"}},
            {"code": "none_of_these", "label": {"en": "None of these"}, "exclusive": True},
        ],
    )
    add_question(
        survey,
        main,
        key="priorities",
        type="ranking",
        prompt={"en": "Rank"},
        settings={"top_n": 2},
        options=[
            {"code": "drugs", "label": {"en": "Drugs"}},
            {"code": "speeding", "label": {"en": "Speeding"}},
            {"code": "litter", "label": {"en": "Litter"}},
        ],
    )
    add_question(
        survey,
        main,
        key="worry",
        type="grid",
        prompt={"en": "How worried about"},
        options=[
            {"code": "very", "label": {"en": "Very worried"}},
            {"code": "not", "label": {"en": "Not worried"}},
        ],
        items=[
            {"code": "burglary", "label": {"en": "Burglary"}},
            {"code": "car_crime", "label": {"en": "Car crime"}},
        ],
    )
    add_question(
        survey,
        main,
        key="years",
        type="number",
        prompt={"en": "Years lived here"},
        settings={"min": 0, "max": 100},
    )
    add_question(survey, main, key="comments", type="text", prompt={"en": "Anything else?"})
    about = add_section(survey, "about", {"en": "About you"}, kind="special")
    add_question(
        survey,
        about,
        key="religion",
        type="single",
        prompt={"en": "Religion"},
        demographic="religion",
        special_category=True,
        options=[
            {"code": "none", "label": {"en": "No religion"}},
            {"code": "christian", "label": {"en": "Christian"}},
        ],
    )
    survey.status = status
    db.session.flush()
    db.session.refresh(survey)
    return survey


HEADER = (
    "external_id,safe_day,victim,reported,problems__burglary,problems__asb,"
    "problems__none_of_these,priorities__drugs,priorities__speeding,priorities__litter,"
    "worry__burglary,worry__car_crime,years,comments,consent,religion"
)


def csv_bytes(*lines: str, header: str = HEADER, bom: bool = False, sep: str = ",") -> bytes:
    text = "\r\n".join([header, *lines]).replace(",", sep) + "\r\n"
    return ("\ufeff" if bom else "").encode() + text.encode("utf-8")


def answers_of(survey, reference=None):
    responses = db.session.scalars(
        sa.select(Response).filter_by(survey_id=survey.id).order_by(Response.id)
    ).all()
    questions = ordered_questions(survey.questions)
    return [(r, load_answers(r, questions)) for r in responses]


def test_a_contractors_file_imports_with_codes_labels_and_printed_numbers(app_context):
    survey = build_survey()
    content = csv_bytes(
        "P001,very_safe,yes,no,1,0,0,2,1,,very,not,12,Street lights,yes,christian",
        # Labels in English and Urdu, and the number printed on the paper form.
        "P002,بہت محفوظ,No,,0,1,0,,,1,Not worried,,3,,,",
        "P003,3,2,,,,1,,,,,,,,no,",
    )
    report = import_responses(survey, content, "contractor.csv", channel="paper")
    db.session.commit()
    assert (report.rows, report.stored, report.already) == (3, 3, 0)
    stored = answers_of(survey)
    assert [r.channel for r, _a in stored] == ["paper"] * 3
    first = stored[0][1]
    assert first["safe_day"].codes == ("very_safe",)
    assert first["reported"].codes == ("no",)
    assert first["problems"].codes == ("burglary",)
    assert first["priorities"].codes == ("speeding", "drugs")
    assert dict(first["worry"].items) == {"burglary": "very", "car_crime": "not"}
    assert first["years"].number == 12
    assert first["comments"].text == "Street lights"
    assert first["religion"].codes == ("christian",)
    assert stored[0][0].special_consent is True
    second = stored[1][1]
    assert second["safe_day"].codes == ("very_safe",)
    assert second["victim"].codes == ("no",)
    assert second["problems"].codes == ("asb",)
    assert second["priorities"].codes == ("litter",)
    third = stored[2][1]
    assert third["safe_day"].codes == ("unsafe",)
    assert third["victim"].codes == ("no",)
    assert third["problems"].codes == ("none_of_these",)
    assert stored[2][0].special_consent is False


def test_importing_the_same_file_twice_stores_nothing_new(app_context):
    survey = build_survey()
    with_ids = csv_bytes("P001,very_safe,no,,,,,,,,,,,,,", "P002,unsafe,no,,,,,,,,,,,,,")
    import_responses(survey, with_ids, "a.csv", channel="paper")
    again = import_responses(survey, with_ids, "a.csv", channel="paper")
    assert (again.stored, again.already) == (0, 2)
    # Without ids: keyed on a digest of the row. Two residents giving the
    # same answers are two responses, and stay two on a second import.
    header = "safe_day,victim"
    no_ids = csv_bytes("very_safe,no", "very_safe,no", "unsafe,yes", header=header)
    first = import_responses(survey, no_ids, "b.csv")
    assert first.stored == 3
    second = import_responses(survey, no_ids, "b.csv")
    assert (second.stored, second.already) == (0, 3)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(Response.id))) == 5


def test_a_changed_row_under_a_known_id_is_refused_not_skipped(app_context):
    survey = build_survey()
    import_responses(survey, csv_bytes("P001,very_safe,no,,,,,,,,,,,,,"), "a.csv")
    with pytest.raises(ImportRefused) as refused:
        import_responses(survey, csv_bytes("P001,unsafe,no,,,,,,,,,,,,,"), "a.csv")
    assert "imported before with different answers" in str(refused.value.report.problems[0])


def test_every_problem_is_reported_by_line_and_column_and_nothing_is_stored(app_context):
    survey = build_survey()
    content = csv_bytes(
        "P001,very_safe,no,,,,,,,,,,,,,",
        "P002,rather_safe,no,,,,,,,,,,,,,",  # unknown code
        "P003,very_safe,no,yes,,,,,,,,,,,,",  # routing: reported only after yes
        "P004,very_safe,no,,,,,,,,,,250,,,",  # number out of range
        "P001,unsafe,no,,,,,,,,,,,,,",  # duplicate external_id
        "P006,unsafe,no,,,,,,,,,,,,,christian",  # special category without consent
        "P007,unsafe,no,,1,,1,,,,,,,,,",  # exclusive answer beside another
    )
    with pytest.raises(ImportRefused) as refused:
        import_responses(survey, content, "bad.csv")
    problems = [str(p) for p in refused.value.report.problems]
    assert problems[0].startswith("line 3, column safe_day: 'rather_safe' is not an answer")
    assert problems[1].startswith("line 4, column reported: reported is not asked")
    assert problems[2] == "line 5, column years: Enter a number between 0 and 100"
    assert problems[3].startswith(
        "line 6, column external_id: the external_id 'P001' is also on line 2"
    )
    assert problems[4].startswith("line 7, column consent: answers are given to special-category")
    assert problems[5].startswith(
        "line 8, column problems__burglary: Select ‘None of these’ on its own"
    )
    assert len(problems) == 6
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Response.id))) == 0


def test_unknown_columns_are_refused_by_name(app_context):
    survey = build_survey()
    with pytest.raises(ImportRefused) as refused:
        import_responses(survey, b"safe_day,postcode\nvery_safe,LE1 1AA\n", "x.csv")
    assert [str(p) for p in refused.value.report.problems] == [
        "line 1, column postcode: 'postcode' is not a question key of the survey paper-survey"
    ]


def test_files_as_other_tools_write_them(app_context):
    """Excel in Europe: BOM, ';' separators, Excel serial dates, labels, CRLF,
    trailing blank rows."""
    survey = build_survey()
    header = "external_id;safe_day;victim;submitted_at;language;channel"
    lines = [
        "K-1;Very safe;Yes;45809,5;ur;paper",
        "K-2;fairly safe;no;31/05/2026 14:05;English;face to face",
        "K-3;Unsafe;No;2026-05-30T09:00:00Z;;",
        ";;;;;",
        ";;;;;",
    ]
    content = "\ufeff" + "\r\n".join([header, *lines]) + "\r\n"
    # A decimal comma in the serial date, as a Polish Excel writes it.
    report = import_responses(survey, content.encode(), "export.csv", channel="imported")
    db.session.commit()
    assert report.stored == 3
    stored = answers_of(survey)
    first, second, third = (r for r, _a in stored)
    assert first.language == "ur" and first.channel == "paper"
    assert second.language == "en" and second.channel == "assisted"
    assert third.channel == "imported"
    assert second.submitted_at.replace(tzinfo=None) == datetime(2026, 5, 31, 14, 5)
    assert third.submitted_at.replace(tzinfo=None) == datetime(2026, 5, 30, 9, 0)
    assert first.submitted_at.replace(tzinfo=None) == datetime(2025, 6, 1, 12, 0)


def test_parse_when_reads_excel_serials_and_uk_dates():
    assert parse_when("45809") == datetime(2025, 6, 1, tzinfo=UTC)
    assert parse_when("01/02/2026") == datetime(2026, 2, 1, tzinfo=UTC)
    assert parse_when("yesterday") is None
    assert parse_when("31/02/2026") is None


def test_xlsx_with_excel_dates_and_labels(app_context):
    survey = build_survey()
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["external_id", "safe_day", "victim", "reported", "submitted_at"])
    sheet.append(["X1", "Fairly safe", "Yes", "Yes", datetime(2026, 4, 2, 10, 30)])
    sheet.append([17, "unsafe", "no", None, None])
    sheet.append([None, None, None, None, None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    report = import_responses(survey, buffer.getvalue(), "kobo.xlsx")
    db.session.commit()
    assert report.stored == 2
    (first, a), (second, b) = answers_of(survey)
    assert a["reported"].codes == ("yes",)
    assert first.submitted_at.replace(tzinfo=None) == datetime(2026, 4, 2, 10, 30)
    assert first.import_key == "id:X1" and second.import_key == "id:17"


def test_dry_run_checks_and_stores_nothing(app_context):
    survey = build_survey()
    report = import_responses(
        survey, csv_bytes("P001,very_safe,no,,,,,,,,,,,,,"), "a.csv", dry_run=True
    )
    assert report.stored == 1
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(Response.id))) == 0


def test_a_draft_survey_and_bad_files_get_clear_messages(app_context):
    draft = build_survey("draft-survey", status=SurveyStatus.DRAFT)
    with pytest.raises(Exception, match="open or closed"):
        import_responses(draft, b"safe_day\nvery_safe\n", "a.csv")
    survey = build_survey()
    with pytest.raises(Exception, match="empty"):
        import_responses(survey, b"\r\n\r\n", "a.csv")
    with pytest.raises(Exception, match="not an Excel workbook"):
        import_responses(survey, b"PK\x03\x04garbage", "a.xlsx")
    with pytest.raises(ImportRefused) as refused:
        import_responses(survey, b"safe_day\nvery_safe,extra\n", "a.csv")
    assert "more cells than the header" in str(refused.value.report.problems[0])


def test_our_own_export_imports_back_unchanged(app_context):
    source = build_survey("source-survey")
    content = csv_bytes(
        'P001,very_safe,yes,no,1,1,0,2,1,,very,not,12,"Lights, and ""bins""",,',
        "P002,بہت محفوظ,No,,0,0,1,,,1,Not worried,,3,=cmd,,",
        "P003,unsafe,no,,,,,,,,,,0,,,",
    )
    import_responses(source, content, "a.csv", channel="paper")
    db.session.commit()

    def export(survey) -> bytes:
        export = prepare_export(survey, format="csv", role=None, weighted=False)
        return b"".join(stream_csv(export))

    first = export(source)
    target = build_survey("target-survey")
    report = import_responses(target, first, "source-survey-responses.csv")
    db.session.commit()
    assert report.stored == 3
    second = export(target)

    def rows(data: bytes):
        import csv

        table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        ref = table[0].index("resp_reference")
        return [row[:ref] + row[ref + 1 :] for row in table]

    assert rows(second) == rows(first)
    # The export read back into the survey it came from is already there.
    again = import_responses(source, first, "source-survey-responses.csv")
    assert (again.stored, again.already) == (0, 3)


def test_the_command_line_imports_and_refuses_with_status_1(app, tmp_path):
    with app.app_context():
        build_survey()
        db.session.commit()
        url = app.config["SQLALCHEMY_DATABASE_URI"]
    good = tmp_path / "good.csv"
    good.write_bytes(csv_bytes("P001,very_safe,no,,,,,,,,,,,,,"))
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes("P001,nonsense,no,,,,,,,,,,,,,"))
    env = {"DATABASE_URL": url, "CONSULT_ENV": "development", "PATH": "/usr/bin:/bin"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [".venv/bin/flask", "--app", "wsgi", "consult", "import-responses", *args],
            capture_output=True,
            text=True,
            env=env,
        )

    refused = run("paper-survey", str(bad))
    assert refused.returncode == 1
    assert "line 2, column safe_day: 'nonsense' is not an answer" in refused.stdout
    dry = run("paper-survey", str(good), "--channel", "paper", "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "Nothing was stored" in dry.stdout
    done = run("paper-survey", str(good), "--channel", "paper")
    assert done.returncode == 0 and "Imported 1 new response" in done.stdout
    twice = run("paper-survey", str(good), "--channel", "paper")
    assert "Imported 0 new response" in twice.stdout and "1 were imported before" in twice.stdout
    with app.app_context():
        assert db.session.scalars(sa.select(Response.channel)).all() == ["paper"]
        assert db.session.scalar(sa.select(sa.func.count(Answer.id))) == 2


def test_an_officer_imports_through_the_page_and_sees_every_problem(app, client, signed_in):
    signed_in("officer")
    with app.app_context():
        survey = build_survey()
        db.session.commit()
        survey_id = survey.id
    url = f"/manage/surveys/{survey_id}/import-responses"
    assert client.get(url).status_code == 200
    token = client.csrf_token(url)
    bad = client.post(
        url,
        data={
            "csrf_token": token,
            "channel": "paper",
            "file": (io.BytesIO(csv_bytes("P001,nonsense,maybe,,,,,,,,,,,,,")), "bad.csv"),
        },
        content_type="multipart/form-data",
    )
    assert bad.status_code == 400
    page = bad.get_data(as_text=True)
    assert "Problems in the file (2)" in page
    assert "&#39;nonsense&#39; is not an answer to safe_day" in page
    assert "&#39;maybe&#39; is not an answer to victim" in page
    checked = client.post(
        url,
        data={
            "csrf_token": token,
            "channel": "paper",
            "dry_run": "yes",
            "file": (io.BytesIO(csv_bytes("P001,very_safe,no,,,,,,,,,,,,,")), "good.csv"),
        },
        content_type="multipart/form-data",
    )
    assert checked.status_code == 200
    assert "1 would be stored" in checked.get_data(as_text=True)
    done = client.post(
        url,
        data={
            "csrf_token": token,
            "channel": "paper",
            "file": (io.BytesIO(csv_bytes("P001,very_safe,no,,,,,,,,,,,,,")), "good.csv"),
        },
        content_type="multipart/form-data",
    )
    assert done.status_code == 302
    assert "Imported 1 new response" in client.get(done.headers["Location"]).get_data(as_text=True)
    empty = client.post(url, data={"csrf_token": token, "channel": "paper"})
    assert empty.status_code == 400
    with app.app_context():
        assert db.session.scalars(sa.select(Response.channel)).all() == ["paper"]


def test_a_viewer_cannot_import(app, client, signed_in):
    signed_in("viewer")
    with app.app_context():
        survey = build_survey()
        db.session.commit()
        survey_id = survey.id
    assert client.get(f"/manage/surveys/{survey_id}/import-responses").status_code == 403


def test_a_contractors_500_paper_forms_import_once_and_count_as_paper(app, client, signed_in):
    """The issue's acceptance: 500 keyed paper forms, imported, imported again
    as a no-op, and shown by channel on the fieldwork monitor."""
    import random

    from consult.services.fieldwork import monitor

    signed_in("viewer")
    rng = random.Random(12)
    lines = []
    for n in range(1, 501):
        victim = rng.choice(["1", "2"])
        reported = rng.choice(["1", "2"]) if victim == "1" else ""
        lines.append(
            f"P{n:04d},{rng.randint(1, 4)},{victim},{reported},{rng.randint(0, 1)},0,0,"
            f"1,,2,{rng.choice(['1', '2'])},,{rng.randint(0, 60)},,,"
        )
    content = csv_bytes(*lines, bom=True, sep=";")
    with app.app_context():
        survey = build_survey()
        first = import_responses(survey, content, "contractor.csv", channel="paper")
        db.session.commit()
        second = import_responses(survey, content, "contractor.csv", channel="paper")
        db.session.commit()
        assert (first.stored, second.stored, second.already) == (500, 0, 500)
        assert monitor(survey).by_channel == [("paper", 500)]
        survey_id = survey.id
    page = client.get(f"/manage/surveys/{survey_id}/fieldwork").get_data(as_text=True)
    assert "Paper" in page and "500" in page


def test_a_child_never_has_special_category_answers_even_with_consent(app_context):
    survey = build_survey()
    main = next(s for s in survey.sections if s.key == "main")
    add_question(
        survey,
        main,
        key="age_band",
        type="single",
        prompt={"en": "Age?"},
        demographic="age_band",
        options=[
            {"code": "under_16", "label": {"en": "Under 16"}},
            {"code": "aged_16_plus", "label": {"en": "16 or over"}},
        ],
    )
    db.session.flush()
    db.session.refresh(survey)
    header = "external_id,age_band,consent,religion"
    with pytest.raises(ImportRefused) as refused:
        import_responses(
            survey,
            csv_bytes("C1,under_16,yes,christian", "C2,aged_16_plus,yes,christian", header=header),
            "a.csv",
        )
    assert [str(p) for p in refused.value.report.problems] == [
        "line 2, column religion: religion is not asked after this row's earlier answers "
        "(the routing skips it), so it cannot have an answer"
    ]


def test_the_demo_survey_with_special_category_answers_imports_back_unchanged(app_context):
    """Consenting, refusing and under-16 residents: the export says who
    agreed to the special-category questions, so their answers import back."""
    from consult.services.definition import export_definition, import_definition
    from consult.services.demo_responses import seed_demo_responses
    from consult.services.seed import seed_demo

    seed_demo(responses=False)
    source = db.session.scalars(sa.select(Survey).filter_by(slug="feeling-safe")).one()
    seed_demo_responses(source, n=250, seed=5)
    # A child on a youth council's paper form: never asked for consent.
    child = Response(
        survey_id=source.id,
        reference="CHILD-0001",
        language="en",
        channel="paper",
        status="submitted",
        submitted_at=datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
    )
    db.session.add(child)
    db.session.flush()
    questions = {q.key: q for q in source.questions}
    for key, code in (("age_band", "under_16"), ("safe_day", "fairly_safe")):
        db.session.add(
            Answer(response_id=child.id, question_id=questions[key].id, option_code=code)
        )
    target = import_definition(
        source.partnership, json.loads(json.dumps(export_definition(source))), slug="copy"
    )
    target.status = SurveyStatus.OPEN
    db.session.commit()
    specials = [q for q in ordered_questions(source.questions) if q.special_category]
    assert specials

    def export(survey) -> bytes:
        export = prepare_export(survey, format="csv", role=None, weighted=False)
        return b"".join(stream_csv(export))

    first = export(source)
    header = first.decode("utf-8-sig").splitlines()[0].split(",")
    assert header.index("resp_special_consent") == 4

    report = import_responses(target, first, "feeling-safe-responses.csv")
    db.session.commit()
    assert report.stored == 251

    def stored(survey):
        return [(r.special_consent, r.channel, answers) for r, answers in answers_of(survey)]

    before = stored(source)
    assert stored(target) == before
    # Each keyed on the reference the export gave it.
    assert [r.import_key for r, _answers in answers_of(target)] == [
        f"id:{r.reference}" for r, _answers in answers_of(source)
    ]
    consents = [consent for consent, _channel, _answers in before]
    assert True in consents and False in consents and None in consents
    # Somebody agreed and answered, and somebody under 16 was never asked.
    assert any(
        consent and any(q.key in answers for q in specials) for consent, _channel, answers in before
    )
    assert any(
        "age_band" in answers and answers["age_band"].codes == ("under_16",) and consent is None
        for consent, _channel, answers in before
    )
    # Read back into either survey, the export stores nothing new.
    for survey in (target, source):
        again = import_responses(survey, first, "feeling-safe-responses.csv")
        assert (again.stored, again.already) == (0, 251)
    db.session.commit()

    def without_references(data: bytes):
        return [line.split(",", 1)[1] for line in data.decode("utf-8-sig").splitlines()]

    assert without_references(export(target)) == without_references(first)
