"""Exports read back: CSV, Excel, SPSS and JSON, checked against the database."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, date, datetime, timedelta
from typing import Any

import openpyxl
import pandas as pd
import pyreadstat
import pytest
import sqlalchemy as sa
from conftest import PASSWORD

from consult.extensions import db
from consult.models import Answer, AuditEvent, Question, Response, Survey
from consult.services import exports
from consult.services.demo_responses import seed_demo_responses
from consult.services.results import compute_results
from consult.services.seed import seed_demo

FORMULAS = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]


def add_response(
    survey: Survey, reference: str, answers: dict[str, Any], *, language: str = "en"
) -> int:
    """One submitted response, answers by question key (single: code; text:
    str; multiple: list of codes; ranking: list of codes in order)."""
    questions = {q.key: q for q in survey.questions}
    response = Response(
        survey_id=survey.id,
        reference=reference,
        language=language,
        channel="online",
        status="submitted",
        submitted_at=datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
    )
    db.session.add(response)
    db.session.flush()
    for key, value in answers.items():
        q = questions[key]
        if q.type == "text":
            db.session.add(Answer(response_id=response.id, question_id=q.id, text=value))
        elif q.type == "number":
            db.session.add(Answer(response_id=response.id, question_id=q.id, number=value))
        elif q.type == "multiple":
            for code in value:
                db.session.add(Answer(response_id=response.id, question_id=q.id, option_code=code))
        elif q.type == "ranking":
            for rank, code in enumerate(value, start=1):
                db.session.add(
                    Answer(response_id=response.id, question_id=q.id, option_code=code, rank=rank)
                )
        else:
            db.session.add(Answer(response_id=response.id, question_id=q.id, option_code=value))
    db.session.flush()
    return response.id


@pytest.fixture
def survey_with_data(app):
    """The demo survey with 300 generated responses and two crafted ones."""
    with app.app_context():
        seed_demo(PASSWORD, responses=False)
        survey = db.session.scalars(sa.select(Survey).filter_by(slug="feeling-safe")).one()
        seed_demo_responses(survey, n=300, seed=11)
        add_response(
            survey,
            "KNOWN-0001",
            {
                "safe_after_dark": "very_unsafe",
                "age_band": "prefer_not_to_say",
                "sex": "female",
                "contact_police": ["phoned_101", "online"],
                "priorities": ["drugs", "burglary", "hate_crime"],
                "comments": FORMULAS[0],
                "years_in_area": 12.0,
            },
            language="ur",
        )
        for i, text in enumerate(FORMULAS[1:]):
            add_response(survey, f"FORMULA-{i}", {"comments": text, "safe_after_dark": "dont_know"})
        # An answer of an unsubmitted response: never exported.
        draft = Response(
            survey_id=survey.id, reference="DRAFT-1", language="en", status="in_progress"
        )
        db.session.add(draft)
        db.session.flush()
        db.session.add(
            Answer(
                response_id=draft.id, question_id=survey.questions[0].id, option_code="very_safe"
            )
        )
        db.session.commit()
        yield survey.id
        db.session.remove()


def _export(survey_id: int, fmt: str, **kwargs: Any) -> tuple[exports.Export, bytes]:
    survey = db.session.get(Survey, survey_id)
    export = exports.prepare_export(
        survey, format=fmt, role=kwargs.pop("role", "officer"), **kwargs
    )
    out = io.BytesIO()
    exports.write_export(export, out)
    return export, out.getvalue()


def _submitted(survey_id: int) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(Response.id)).filter_by(survey_id=survey_id, status="submitted")
    )


def test_csv_has_bom_codes_weights_and_one_row_per_submitted_response(app, survey_with_data):
    with app.app_context():
        export, data = _export(survey_with_data, "csv", weighted=True)
        assert data.startswith(b"\xef\xbb\xbf")
        frame = pd.read_csv(
            io.BytesIO(data), encoding="utf-8-sig", keep_default_na=False, dtype=str
        )
        assert len(frame) == _submitted(survey_with_data) == 306
        assert "DRAFT-1" not in set(frame["resp_reference"])
        known = frame.set_index("resp_reference").loc["KNOWN-0001"]
        assert known["safe_after_dark"] == "very_unsafe"
        assert known["age_band"] == "prefer_not_to_say"
        assert known["resp_language"] == "ur"
        assert (known["contact_police__phoned_101"], known["contact_police__online"]) == ("1", "1")
        assert known["contact_police__phoned_999"] == "0"  # answered the question, not this option
        assert (
            known["priorities__drugs"],
            known["priorities__burglary"],
            known["priorities__hate_crime"],
        ) == ("1", "2", "3")
        assert known["priorities__violent_crime"] == ""
        assert float(known["years_in_area"]) == 12.0

        # The weights are the results pages' weights, aligned by response.
        results = compute_results(db.session.get(Survey, survey_with_data))
        refs = dict(db.session.execute(sa.select(Response.reference, Response.id)).all())
        expected = results.weights.reindex([refs[r] for r in frame["resp_reference"]]).to_numpy()
        assert frame["weight"].astype(float).to_numpy() == pytest.approx(expected, rel=1e-12)
        assert frame["weight"].astype(float).mean() == pytest.approx(1.0)
        assert frame["weight"].astype(float).std() > 0.01
        assert export.weighting.scheme["variables"] == results.scheme["variables"]


def test_labels_follow_the_language_but_codes_never_change(app, survey_with_data):
    with app.app_context():
        export_en, data_en = _export(survey_with_data, "csv", language="en")
        export_ur, data_ur = _export(survey_with_data, "csv", language="ur")
        assert data_en.replace(b"\r\n", b"\n") == data_ur.replace(b"\r\n", b"\n")
        labels_en = pd.read_csv(
            io.BytesIO(exports.labels_csv(export_en)), encoding="utf-8-sig", keep_default_na=False
        )
        labels_ur = pd.read_csv(
            io.BytesIO(exports.labels_csv(export_ur)), encoding="utf-8-sig", keep_default_na=False
        )
        row_en = labels_en[
            (labels_en["variable"] == "safe_after_dark") & (labels_en["code"] == "very_safe")
        ].iloc[0]
        row_ur = labels_ur[
            (labels_ur["variable"] == "safe_after_dark") & (labels_ur["code"] == "very_safe")
        ].iloc[0]
        assert row_en["value_label"] == "Very safe"
        assert row_ur["value_label"] == "بہت محفوظ"
        assert row_en["spss_value"] == row_ur["spss_value"] == "1"
        about = " ".join(labels_en.loc[labels_en["variable"] == "(about)", "label"])
        assert "Benchmark version: 1" in about
        assert "age_band" in about and "Weighting variables" in about


def test_formula_injection_is_escaped_in_csv_and_xlsx(app, survey_with_data):
    with app.app_context():
        _, data = _export(survey_with_data, "csv", weighted=False)
        frame = pd.read_csv(
            io.BytesIO(data), encoding="utf-8-sig", keep_default_na=False, dtype=str
        )
        comments = frame.set_index("resp_reference")["comments"]
        assert comments["KNOWN-0001"] == "'" + FORMULAS[0]
        for i, text in enumerate(FORMULAS[1:]):
            assert comments[f"FORMULA-{i}"] == "'" + text
        _, book = _export(survey_with_data, "xlsx", weighted=False)
        sheet = openpyxl.load_workbook(io.BytesIO(book), read_only=True)["Responses"]
        rows = list(sheet.iter_rows(values_only=True))
        header = list(rows[0])
        by_ref = {r[header.index("resp_reference")]: r for r in rows[2:]}
        # Excel: the resident's words unchanged, as text cells (inline
        # strings) that no spreadsheet evaluates, so no apostrophe shows.
        assert by_ref["KNOWN-0001"][header.index("comments")] == FORMULAS[0]
        assert by_ref["FORMULA-2"][header.index("comments")] == "@SUM(A1)"
        with zipfile.ZipFile(io.BytesIO(book)) as z:
            xml = z.read("xl/worksheets/sheet2.xml").decode()
        assert "<f>" not in xml and "<f " not in xml
        assert '<c t="inlineStr"><is><t xml:space="preserve">@SUM(A1)</t></is></c>' in xml


def test_xlsx_has_every_sheet_labelled_weighted_and_suppressed(app, survey_with_data):
    with app.app_context():
        export, book = _export(survey_with_data, "xlsx", weighted=True, language="ur")
        wb = openpyxl.load_workbook(io.BytesIO(book), read_only=True)
        assert wb.sheetnames == [
            "About",
            "Responses",
            "Labels",
            "Representation",
            "Weighted results",
            "Priorities",
        ]
        about = {r[0]: r[1] for r in wb["About"].iter_rows(values_only=True)}
        assert about["Benchmark version"] == "1"
        assert about["Weighting variables"] == ", ".join(export.weighting.scheme["variables"])
        # Weights are now capped by default (0.1-5 times the mean).
        assert about["Trimming bounds"] == "[0.1, 5] times the mean"
        assert about["Converged"] in {"True", "False"}
        assert "Effective sample size" in about
        assert "fewer than 10" in about["Disclosure control"]
        responses = list(wb["Responses"].iter_rows(values_only=True))
        header = list(responses[0])
        assert header[-1] == "weight" and len(responses) == 2 + 306
        assert responses[1][header.index("safe_after_dark")].startswith(
            "اندھیرا"
        )  # labels row, in Urdu
        labels = list(wb["Labels"].iter_rows(values_only=True))
        assert ("safe_after_dark", "", "", "", "dont_know", "معلوم نہیں", -8, "yes") in labels

        representation = list(wb["Representation"].iter_rows(values_only=True))
        assert "suppressed" in representation[0][0]
        cols = representation[1]
        small = [
            r
            for r in representation[2:]
            if r[cols.index("flag")] == "too_few" and r[cols.index("respondents")] is None
        ]
        shown = [r for r in representation[2:] if r[cols.index("respondents")] is not None]
        assert shown and all(r[cols.index("respondents")] >= 10 for r in shown)
        assert small, "categories with fewer than 10 respondents are blank"

        weighted = list(wb["Weighted results"].iter_rows(values_only=True))
        head = weighted[1]
        rows = [dict(zip(head, r, strict=False)) for r in weighted[2:]]
        assert all(r["count"] is None or r["count"] >= 10 for r in rows)
        assert any(r["count"] is None and r["weighted_share"] is None for r in rows)
        after_dark = [
            r for r in rows if r["variable"] == "safe_after_dark" and r["count"] is not None
        ]
        assert after_dark and all(
            0 <= r["weighted_low"] <= r["weighted_share"] <= r["weighted_high"] <= 1
            for r in after_dark
        )
        priorities = list(wb["Priorities"].iter_rows(values_only=True))
        assert priorities[1][:5] == ("question", "code", "label", "rank", "band")
        assert {r[0] for r in priorities[2:]} == {"priorities"}


def test_viewer_gets_aggregate_workbook_only(app, survey_with_data):
    with app.app_context():
        survey = db.session.get(Survey, survey_with_data)
        for fmt in ("csv", "sav", "json"):
            with pytest.raises(exports.ServiceError):
                exports.prepare_export(survey, format=fmt, role="viewer")
        _, book = _export(survey_with_data, "xlsx", role="viewer")
        wb = openpyxl.load_workbook(io.BytesIO(book), read_only=True)
        assert "Responses" not in wb.sheetnames
        assert "Representation" in wb.sheetnames
        texts = [
            c
            for ws in wb.worksheets
            for r in ws.iter_rows(values_only=True)
            for c in r
            if isinstance(c, str)
        ]
        assert not any(t.startswith(("KNOWN-", "FORMULA-", "'=")) for t in texts)


def test_sav_has_labels_user_missing_measures_formats_and_weight(app, survey_with_data, tmp_path):
    with app.app_context():
        export, data = _export(survey_with_data, "sav", weighted=True, language="en")
        path = tmp_path / "out.sav"
        path.write_bytes(data)
        frame, meta = pyreadstat.read_sav(str(path), user_missing=True)
        assert len(frame) == 306
        labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
        assert labels["safe_after_dark"].startswith("How safe do you feel walking alone")
        assert labels["weight"] == "Survey weight (mean 1)"
        assert meta.variable_value_labels["safe_after_dark"][1.0] == "Very safe"
        assert meta.variable_value_labels["safe_after_dark"][-8.0] == "Don't know"
        assert meta.variable_value_labels["age_band"][-9.0] == "Prefer not to say"
        assert meta.missing_ranges["age_band"] == [{"lo": -9.0, "hi": -1.0}]
        assert meta.variable_measure["safe_after_dark"] == "nominal"
        assert meta.variable_measure["police_council_dealing"] == "ordinal"
        assert meta.variable_measure["years_in_area"] == "scale"
        assert meta.original_variable_types["age_band"] == "F4.0"
        assert meta.original_variable_types["contact_police__online"] == "F1.0"
        assert meta.original_variable_types["priorities__drugs"] == "F3.0"
        known = frame.set_index("resp_reference").loc["KNOWN-0001"]
        assert known["age_band"] == -9  # user-missing, kept as its code
        assert known["safe_after_dark"] == 4  # very_unsafe is the fourth option
        assert known["priorities__burglary"] == 2
        assert frame["weight"].mean() == pytest.approx(1.0)
        # Read as SPSS would analyse it: user-missing values become missing.
        analysed, _ = pyreadstat.read_sav(str(path))
        assert (
            analysed.set_index("resp_reference").loc["KNOWN-0001", "age_band"]
            != analysed.set_index("resp_reference").loc["KNOWN-0001", "age_band"]
        )
        assert any("Weighting" in note for note in meta.notes)


def test_json_carries_scheme_variables_and_responses(app, survey_with_data):
    with app.app_context():
        export, data = _export(survey_with_data, "json", weighted=True, language="ur")
        document = json.loads(data)
        assert document["weighting"]["variables"] == export.weighting.scheme["variables"]
        assert document["weighting"]["benchmark_version"] == 1
        assert len(document["responses"]) == 306
        known = next(r for r in document["responses"] if r["resp_reference"] == "KNOWN-0001")
        assert known["safe_after_dark"] == "very_unsafe" and known["priorities__drugs"] == 1
        assert known["comments"] == FORMULAS[0]  # JSON is data, not a spreadsheet
        variable = next(v for v in document["variables"] if v["name"] == "sex")
        assert {"code": "female", "label": "عورت", "spss_value": 1, "missing": False} in variable[
            "values"
        ] or any(v["code"] == "female" for v in variable["values"])


def test_unweighted_export_has_weight_one_and_says_so(app, survey_with_data):
    with app.app_context():
        export, data = _export(survey_with_data, "csv", weighted=False)
        frame = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
        assert (frame["weight"] == 1.0).all()
        assert export.weighting.describe().startswith("Unweighted")


def test_free_text_is_left_out_past_the_retention_date(app, survey_with_data):
    with app.app_context():
        survey = db.session.get(Survey, survey_with_data)
        survey.retention_until = date.today() - timedelta(days=1)
        db.session.commit()
        export, data = _export(survey_with_data, "csv")
        frame = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
        assert "comments" not in frame.columns and "priorities_other" not in frame.columns
        assert "safe_after_dark" in frame.columns
        assert any("retention date" in note for note in export.policy.notes)
        _, book = _export(survey_with_data, "xlsx")
        header = next(
            openpyxl.load_workbook(io.BytesIO(book), read_only=True)["Responses"].iter_rows(
                values_only=True
            )
        )
        assert "comments" not in header
        survey.retention_until = date.today()
        db.session.commit()
        _, data = _export(survey_with_data, "csv")
        assert "comments" in pd.read_csv(io.BytesIO(data), encoding="utf-8-sig").columns


def test_special_category_columns_follow_the_role_policy(app, survey_with_data):
    with app.app_context():
        survey = db.session.get(Survey, survey_with_data)
        policy = exports.raw_policy(survey, "officer")
        assert policy.include_special
        variables = exports.select_variables(
            exports.codebook(survey, "en"), exports.Policy(True, False)
        )
        names = {v.name for v in variables}
        assert "ethnic_group" not in names and "religion" not in names and "sex" in names
        with pytest.raises(exports.ServiceError):
            exports.raw_policy(survey, "viewer")


@pytest.mark.parametrize(("configured", "expected"), [(2, 5), (5, 5), (10, 10), (25, 25)])
def test_disclosure_threshold_is_never_below_five(app, configured, expected):
    with app.app_context():
        old = app.config["DISCLOSURE_MIN_CELL"]
        app.config["DISCLOSURE_MIN_CELL"] = configured
        try:
            assert exports.disclosure_min_cell() == expected
        finally:
            app.config["DISCLOSURE_MIN_CELL"] = old


def test_bad_format_and_language_are_refused_with_a_message(app, survey_with_data):
    with app.app_context():
        survey = db.session.get(Survey, survey_with_data)
        with pytest.raises(exports.ServiceError, match="format"):
            exports.prepare_export(survey, format="pdf", role="officer")
        survey.languages = ["en", "ur"]
        db.session.flush()
        with pytest.raises(exports.ServiceError, match="not offered"):
            exports.prepare_export(survey, format="csv", role="officer", language="pl")


def test_cli_export_writes_files_that_read_back_and_is_audited(app, survey_with_data, tmp_path):
    runner = app.test_cli_runner()
    out = tmp_path / "feeling-safe.sav"
    result = runner.invoke(
        args=[
            "consult",
            "export",
            "feeling-safe",
            "--format",
            "sav",
            "--weighted",
            "--lang",
            "ur",
            "--out",
            str(out),
        ]
    )
    assert result.exit_code == 0, result.output
    frame, meta = pyreadstat.read_sav(str(out))
    assert len(frame) == 306 and "weight" in frame.columns
    assert meta.variable_value_labels["safe_after_dark"][1.0] == "بہت محفوظ"
    csv_out = tmp_path / "responses.csv"
    result = runner.invoke(
        args=["consult", "export", "feeling-safe", "--format", "csv", "--out", str(csv_out)]
    )
    assert result.exit_code == 0, result.output
    assert "Unweighted" in result.output
    assert len(pd.read_csv(csv_out, encoding="utf-8-sig")) == 306
    assert (tmp_path / "responses-labels.csv").exists()
    result = runner.invoke(
        args=["consult", "export", "no-such-survey", "--format", "csv", "--out", str(csv_out)]
    )
    assert result.exit_code != 0 and "No survey called" in result.output
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).filter_by(action="survey_exported")).all()
        assert [
            (e.details["format"], e.details["weighted"], e.details["language"]) for e in events
        ] == [
            ("sav", True, "ur"),
            ("csv", False, "en"),
        ]
        assert all(e.user_id is None and e.target == f"survey:{survey_with_data}" for e in events)


def test_export_streams_in_chunks_without_losing_rows(app, survey_with_data):
    with app.app_context():
        survey = db.session.get(Survey, survey_with_data)
        export = exports.prepare_export(survey, format="csv", role="officer", weighted=False)
        whole = b"".join(exports.stream_csv(export))
        parts = list(exports.stream_csv(export, chunk_size=7))
        assert len(parts) > 40  # header + one part per 7 responses
        assert b"".join(parts) == whole
        assert Question  # imported for the type of survey.questions


def test_every_format_says_who_agreed_to_the_special_category_questions(
    app, survey_with_data, tmp_path
):
    """`resp_special_consent`: yes, no, or blank where the resident was never
    asked; described in the codebook, and left out with the special columns."""
    with app.app_context():
        stored = {
            r.reference: {True: "yes", False: "no", None: None}[r.special_consent]
            for r in db.session.scalars(
                sa.select(Response).filter_by(survey_id=survey_with_data, status="submitted")
            )
        }
        assert set(stored.values()) == {"yes", "no", None}
        _, data = _export(survey_with_data, "json", weighted=False)
        document = json.loads(data)
        assert {r["resp_reference"]: r["resp_special_consent"] for r in document["responses"]} == (
            stored
        )
        label = next(v for v in document["variables"] if v["name"] == "resp_special_consent")
        assert label["label"].startswith("Agreed to the special-category questions")
        _, data = _export(survey_with_data, "sav", weighted=False)
        path = tmp_path / "out.sav"
        path.write_bytes(data)
        frame, meta = pyreadstat.read_sav(str(path))
        assert frame.columns[4] == "resp_special_consent"
        read = dict(zip(frame["resp_reference"], frame["resp_special_consent"], strict=True))
        assert read == {k: v or "" for k, v in stored.items()}
        _, book = _export(survey_with_data, "xlsx", weighted=False)
        sheet = openpyxl.load_workbook(io.BytesIO(book), read_only=True)["Responses"]
        header = next(sheet.iter_rows(values_only=True))
        assert header[4] == "resp_special_consent"
        survey = db.session.get(Survey, survey_with_data)
        without_special = exports.select_variables(
            exports.codebook(survey, "en"), exports.Policy(True, False)
        )
        assert "resp_special_consent" not in {v.name for v in without_special}
