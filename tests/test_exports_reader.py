"""The answer reader every export and the results share (`frames.read_answers`):
each answer in its column whatever the chunking, the CSV's fast writer against
`csv.writer`, stored codes that break the fast path, and the index that keeps
the read off the table."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from consult.extensions import db
from consult.models import Answer, Response, Survey
from consult.services import exports, frames
from consult.services.accounts import create_partnership
from consult.services.surveys import add_question, add_section, create_survey

SCALE = ["agree", "neither", "disagree", "dont_know"]
PRIORITIES = ["burglary", "drugs", "speeding"]
TEXTS = [
    "Lights out, again",
    'She said "enough"',
    "line one\r\nline two",
    "just a\nnewline",
    '=HYPERLINK("http://x")',
    "-1 for the council",
    "  spaces kept  ",
    "مرحبا 😀",
    "",
]


def label(code: str) -> dict[str, str]:
    return {"en": code.replace("_", " ").capitalize()}


def build_survey() -> Survey:
    partnership = create_partnership("reader-csp", "Reader partnership")
    survey = create_survey(partnership, slug="reader", title={"en": "Reader"})
    section = add_section(survey, "main", {"en": "Main"})
    add_question(
        survey,
        section,
        key="safe",
        type="single",
        prompt={"en": "Safe?"},
        options=[{"code": c, "label": label(c), "is_missing": c == "dont_know"} for c in SCALE],
    )
    add_question(
        survey,
        section,
        key="worry",
        type="grid",
        prompt={"en": "Worry"},
        options=[{"code": c, "label": label(c)} for c in SCALE[:3]],
        items=[{"code": c, "label": label(c)} for c in ("home", "car")],
    )
    add_question(
        survey,
        section,
        key="contact",
        type="multiple",
        prompt={"en": "Contact"},
        options=[{"code": c, "label": label(c)} for c in ("phone", "online", "visit")],
    )
    add_question(
        survey,
        section,
        key="priorities",
        type="ranking",
        prompt={"en": "Priorities"},
        options=[{"code": c, "label": label(c)} for c in PRIORITIES],
        settings={"top_n": 3},
    )
    add_question(survey, section, key="years", type="number", prompt={"en": "Years"})
    add_question(survey, section, key="comments", type="text", prompt={"en": "Comments"})
    db.session.flush()
    return survey


def answer_rows(i: int) -> dict[str, Any]:
    """Response i's answers, varied so every kind of gap and value occurs."""
    answers: dict[str, Any] = {}
    if i % 5:
        answers["safe"] = SCALE[i % 4]
    if i % 3:
        answers["worry"] = {"home": SCALE[i % 3]} | ({"car": SCALE[(i + 1) % 3]} if i % 2 else {})
    if i % 4 != 1:
        answers["contact"] = [c for k, c in enumerate(("phone", "online", "visit")) if (i >> k) & 1]
    if i % 6:
        answers["priorities"] = [PRIORITIES[(i + k) % 3] for k in range(i % 3 + 1)]
    if i % 2:
        answers["years"] = [0.1 + 0.2, 1e20, -3.0, 12.0, 2.5e-7][i % 5]
    if i % 3 == 0:
        answers["comments"] = TEXTS[(i // 3) % len(TEXTS)]
    return answers


def add_response(survey: Survey, i: int, status: str = "submitted") -> int:
    questions = {q.key: q for q in survey.questions}
    response = Response(
        survey_id=survey.id,
        reference=f"R-{i:04d}",
        language="en",
        channel="online",
        status=status,
        submitted_at=datetime(2026, 3, 1, 12, 0, i % 60, tzinfo=UTC),
    )
    db.session.add(response)
    db.session.flush()
    for key, value in answer_rows(i).items():
        q = questions[key]
        rows: list[dict[str, Any]]
        if q.type == "grid":
            rows = [{"item_code": item, "option_code": code} for item, code in value.items()]
        elif q.type == "multiple":
            rows = [{"option_code": code} for code in value]
        elif q.type == "ranking":
            rows = [{"option_code": code, "rank": r} for r, code in enumerate(value, start=1)]
        elif q.type == "number":
            rows = [{"number": value}]
        elif q.type == "text":
            rows = [{"text": value}]
        else:
            rows = [{"option_code": value}]
        for row in rows:
            db.session.add(Answer(response_id=response.id, question_id=q.id, **row))
    db.session.flush()
    return response.id


def expected_row(i: int) -> dict[str, Any]:
    """The export's cells for response i, worked out from its answers."""
    answers = answer_rows(i)
    row: dict[str, Any] = {
        "resp_reference": f"R-{i:04d}",
        "safe": answers.get("safe"),
        "years": answers.get("years"),
        "comments": answers.get("comments"),
    }
    for item in ("home", "car"):
        row[f"worry__{item}"] = answers.get("worry", {}).get(item)
    ticked = answers.get("contact")
    for code in ("phone", "online", "visit"):
        row[f"contact__{code}"] = None if not ticked else int(code in ticked)
    ranked = answers.get("priorities", [])
    for code in PRIORITIES:
        row[f"priorities__{code}"] = ranked.index(code) + 1 if code in ranked else None
    return row


@pytest.fixture
def survey_id(app):
    with app.app_context():
        survey = build_survey()
        for i in range(40):
            add_response(survey, i)
            if i in (7, 8, 30):
                # Drafts among the submitted ones: never exported.
                add_response(survey, 1000 + i, status="in_progress")
        db.session.commit()
        yield survey.id
        db.session.remove()


def _export(survey_id: int, fmt: str = "csv") -> exports.Export:
    survey = db.session.get(Survey, survey_id)
    return exports.prepare_export(survey, format=fmt, role="officer", weighted=False)


def _rows(export: exports.Export, chunk_size: int) -> list[dict[str, Any]]:
    names = [v.name for v in export.variables]
    return [
        dict(zip(names, row, strict=True))
        for chunk in exports.iter_chunks(
            export.survey, export.variables, export.weighting, chunk_size=chunk_size
        )
        for row in chunk.tolist()
    ]


@pytest.mark.parametrize("chunk_size", [1, 3, 7, 2000])
def test_every_answer_lands_in_its_column_whatever_the_chunk_size(app, survey_id, chunk_size):
    with app.app_context():
        rows = _rows(_export(survey_id), chunk_size)
        assert [r["resp_reference"] for r in rows] == [f"R-{i:04d}" for i in range(40)]
        for i, row in enumerate(rows):
            for name, value in expected_row(i).items():
                assert row[name] == value, (i, name)
                assert type(row[name]) is type(value), (i, name)
            assert row["resp_submitted_at"] == f"2026-03-01 12:00:{i % 60:02d}"


def test_csv_is_byte_for_byte_what_csv_writer_writes(app, survey_id):
    with app.app_context():
        export = _export(survey_id)
        data = b"".join(exports.stream_csv(export, chunk_size=6)).decode("utf-8")
        # The same rows through csv.writer, as the export used to write them.
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow([v.name for v in export.variables])
        for row in _rows(export, 2000):
            writer.writerow([exports.escape_cell(v) for v in row.values()])
        assert data == "\ufeff" + buffer.getvalue()
        frame = pd.read_csv(io.StringIO(data[1:]), dtype=str, keep_default_na=False)
        comments = frame.set_index("resp_reference")["comments"]
        assert comments["R-0006"] == "line one\r\nline two"
        assert comments["R-0012"] == '\'=HYPERLINK("http://x")'
        assert frame.set_index("resp_reference").loc["R-0005", "years"] == "0.30000000000000004"


def test_a_stored_code_holding_a_comma_is_still_read_into_its_column(app, survey_id):
    """Codes are validated identifiers, but an answer stored some other way
    must not shift its neighbours: the reader falls back to rows."""
    with app.app_context():
        survey = db.session.get(Survey, survey_id)
        questions = {q.key: q for q in survey.questions}
        first = db.session.scalars(sa.select(Response).filter_by(reference="R-0000")).one()
        # R-0000 answered neither question.
        db.session.add(
            Answer(response_id=first.id, question_id=questions["safe"].id, option_code='odd,"code"')
        )
        db.session.add(
            Answer(
                response_id=first.id,
                question_id=questions["worry"].id,
                item_code="car",
                option_code="a,b",
            )
        )
        db.session.commit()
        rows = {r["resp_reference"]: r for r in _rows(_export(survey_id), 2000)}
        assert rows["R-0000"]["safe"] == 'odd,"code"'
        assert rows["R-0000"]["worry__car"] == "a,b"
        for i in range(1, 40):
            row = rows[f"R-{i:04d}"]
            assert all(row[k] == v for k, v in expected_row(i).items()), i
        data = b"".join(exports.stream_csv(_export(survey_id))).decode("utf-8")
        frame = pd.read_csv(io.StringIO(data[1:]), dtype=str, keep_default_na=False)
        assert frame.loc[0, "safe"] == 'odd,"code"' and frame.loc[0, "worry__car"] == "a,b"


def test_the_results_frame_holds_what_the_export_holds(app, survey_id):
    with app.app_context():
        survey = db.session.get(Survey, survey_id)
        frame = frames.response_frame(survey)
        assert list(frame["resp_reference"]) == [f"R-{i:04d}" for i in range(40)]
        for i, (_, row) in enumerate(frame.iterrows()):
            for name, value in expected_row(i).items():
                if value is None:
                    assert pd.isna(row[name]), (i, name)
                else:
                    assert row[name] == value, (i, name)
        assert frame["contact__phone"].dtype == "float64"
        assert frame["priorities__drugs"].dtype == "float64"
        assert frame["safe"].dtype == object


def test_reading_a_question_for_a_chunk_of_responses_uses_the_index_alone(app, survey_id):
    """The statements behind every export and the results read the answer
    index, not the table, except for free text (at 100,000 responses the
    table's pages cost seconds)."""
    with app.app_context():
        dialect = db.engine.dialect.name
        export = _export(survey_id)
        slots = [
            frames.Slot(v.question_id, v.question_type, v.sub) if v.question_id else None
            for v in export.variables
        ]
        reader = frames._AnswerReader(slots, dialect, as_text=False, missing=None)
        connection = db.session.connection()
        if dialect == "postgresql":
            # A test database is small enough for PostgreSQL to prefer reading
            # the table; what matters is that the index can serve the read.
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            connection.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
        explain = "EXPLAIN QUERY PLAN" if dialect == "sqlite" else "EXPLAIN"
        for question in reader.questions.values():
            plan = " ".join(
                str(row)
                for row in connection.exec_driver_sql(
                    f"{explain} {question.sql}", (question.id, 1, 40)
                )
            )
            if dialect == "sqlite":
                index = "INDEX" if question.type == "text" else "COVERING INDEX"
                assert f"{index} ix_answer_question (question_id=?" in plan, (question.type, plan)
            else:
                # On a test database this small PostgreSQL's choice between this
                # index and the unique constraint's, and between reading the
                # index alone or with the table, follows its statistics; what
                # must hold is that the read goes through an index on
                # (question, responses), never a scan of the whole table.
                assert "Seq Scan" not in plan, (question.type, plan)
                assert "Index" in plan and "question_id" in plan, (question.type, plan)


def test_the_xlsx_responses_are_what_writing_cell_by_cell_gives(app, survey_id):
    """The Responses sheet is written a column at a time, each distinct value
    once: it must be the sheet the cell-by-cell writer makes, shared strings
    numbered in the same order, even for cells no survey makes."""
    with app.app_context():
        export = _export(survey_id, "xlsx")
        variables = export.variables
        header = [[v.name for v in variables], [v.label for v in variables]]
        chunks = list(exports.iter_chunks(export.survey, variables, export.weighting, chunk_size=7))
        odd = chunks[0].copy()
        kinds = [v.kind for v in variables]
        odd[0, kinds.index("flag")] = "a string among numbers"
        odd[1, kinds.index("number")] = 7  # an int among floats
        odd[2, kinds.index("number")] = -0.0
        odd[3, kinds.index("number")] = 0.0
        odd[2, kinds.index("code")] = "=code"
        chunks.append(odd)
        text_columns = [j for j, k in enumerate(kinds) if k in ("code", "text", "meta")]
        fast, slow = io.BytesIO(), io.BytesIO()
        writer = exports.XlsxWriter(fast)
        writer.sheet("Responses", header, header_rows=2, chunks=chunks, text_columns=text_columns)
        writer.close()
        writer = exports.XlsxWriter(slow)
        rows = header + [row for chunk in chunks for row in chunk.tolist()]
        writer.sheet("Responses", rows, header_rows=2)
        writer.close()
        with zipfile.ZipFile(fast) as a, zipfile.ZipFile(slow) as b:
            assert a.namelist() == b.namelist()
            for name in a.namelist():
                assert a.read(name) == b.read(name), name
            # A formula-like text is an inline text cell, never a shared
            # string with an apostrophe that would show.
            assert b"'=code" not in a.read("xl/sharedStrings.xml")
            assert b'<is><t xml:space="preserve">=code</t></is>' in a.read(
                "xl/worksheets/sheet1.xml"
            )


def test_a_download_abandoned_halfway_leaves_the_database_usable(app, survey_id):
    """A browser that disconnects mid-download closes the stream: the
    cursors go, and the session carries on."""
    with app.app_context():
        parts = exports.stream_csv(_export(survey_id), chunk_size=5)
        assert next(parts).startswith("\ufeff".encode())
        assert next(parts).count(b"\r\n") == 5
        parts.close()
        assert db.session.scalar(sa.select(sa.func.count(Response.id))) == 43
        db.session.add(Response(survey_id=survey_id, reference="LATE-1", language="en"))
        db.session.commit()
        assert len(_rows(_export(survey_id), 5)) == 40  # in progress: not exported
