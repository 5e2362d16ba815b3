"""The Excel workbook covers every question of an officer's own survey; free
text that looks like a formula is a plain text cell in Excel and escaped in
CSV; Urdu SPSS value labels are cut between letters, whole in the codebook."""

from __future__ import annotations

import csv
import io

import openpyxl
import pyreadstat
import pytest
from own_survey import FORMULA, MINUS, URDU, build_own_survey

from consult.extensions import db
from consult.models import Survey, User
from consult.services import exports
from consult.services.content import option_key, set_text
from consult.services.question_results import add_theme, set_answer_themes, text_answers
from consult.services.results import clear_cache

LONG_URDU = (
    "بہت محفوظ، دن اور رات دونوں میں، اپنے محلے کی گلیوں میں اکیلے چلتے ہوئے "
    "اور بس اسٹاپ پر انتظار کرتے ہوئے بھی"
)


def _book(export) -> openpyxl.Workbook:
    out = io.BytesIO()
    exports.write_export(export, out)
    return openpyxl.load_workbook(io.BytesIO(out.getvalue()))


@pytest.fixture
def own(app_context):
    clear_cache()
    return db.session.get(Survey, build_own_survey())


def _sheet(wb, name):
    rows = list(wb[name].iter_rows(values_only=True))
    return [dict(zip(rows[1], r, strict=False)) for r in rows[2:]]


def test_weighted_results_sheet_has_every_question_type(own):
    survey = own
    officer = db.session.scalars(db.select(User).filter_by(email="officer@north-csp.example")).one()
    comments = next(q for q in survey.questions if q.key == "comments")
    theme = add_theme(survey, comments, "Street lighting", officer)
    for answer in text_answers(survey, comments).answers[:6]:
        set_answer_themes(survey, comments, answer.response_id, [theme.id], officer)
    db.session.commit()

    export = exports.prepare_export(survey, format="xlsx", role=None, weighted=False)
    rows = _sheet(_book(export), "Weighted results")
    by = {(r["variable"], r["measure"], r["code"]): r for r in rows}
    # Multiple choice: share choosing each, over those who answered.
    phoned = by[("contact__phoned", "share_choosing", "phoned")]
    assert phoned["base"] == 38 and phoned["count"] == 24
    assert phoned["share"] == pytest.approx(24 / 38, abs=1e-6)
    assert phoned["weighted_share"] == pytest.approx(24 / 38, abs=1e-6)  # unweighted export
    # Empty category: suppressed, never a 0 that could identify.
    in_person = by[("contact__in_person", "share_choosing", "in_person")]
    assert in_person["count"] is None and in_person["share"] is None
    # Grid, per row, with the officer's grouping.
    assert by[("services__parks", "share", "good")]["share"] == pytest.approx(28 / 40, abs=1e-6)
    assert by[("feel_safe", "positive_share", "positive")]["share"] == pytest.approx(
        26 / 38, abs=1e-6
    )
    # Ranking: top-2 share and mean rank.
    assert by[("prio__asb", "top_2_share", "asb")]["share"] == pytest.approx(28 / 40, abs=1e-6)
    assert by[("prio", "mean_rank", "asb")]["value"] == pytest.approx(1.0)
    # Number: mean, median and bands.
    assert by[("years", "mean", "(mean)")]["value"] == pytest.approx(33.0)
    assert by[("years", "median", "(median)")]["value"] == 40.0
    assert any(r["measure"] == "band_share" and r["variable"] == "years" for r in rows)
    # The theme variable: 6 of 8 text answers, not enough men to show the rest.
    lighting = by[("comments__theme__street_lighting", "theme_share", "street_lighting")]
    assert lighting["base"] is None  # 8 answers: below the disclosure threshold of 10
    # Questions in the workbook: every one but none missing.
    assert {r["question"] for r in rows} == {
        "age_band",
        "sex",
        "area",
        "feel_safe",
        "contact",
        "services",
        "prio",
        "years",
        "comments",
    }


def test_weighted_workbook_uses_the_applied_weights(own):
    export = exports.prepare_export(own, format="xlsx", role=None, weighted=True)
    rows = _sheet(_book(export), "Weighted results")
    safe = {r["code"]: r for r in rows if r["variable"] == "feel_safe" and r["measure"] == "share"}
    total = sum(r["weighted_share"] for r in safe.values() if r["weighted_share"] is not None)
    assert total == pytest.approx(1.0, abs=1e-5) or any(
        r["weighted_share"] is None for r in safe.values()
    )
    if export.weighting.weighted:
        assert safe["very_safe"]["weighted_share"] != pytest.approx(safe["very_safe"]["share"])


def test_formula_like_free_text_is_a_text_cell_in_excel_and_escaped_in_csv(own):
    export = exports.prepare_export(own, format="xlsx", role=None)
    wb = _book(export)
    sheet = wb["Responses"]
    header = [c.value for c in sheet[1]]
    column = header.index("comments") + 1
    cells = [sheet.cell(row=r, column=column) for r in range(3, sheet.max_row + 1)]
    texts = {c.value: c for c in cells if c.value}
    assert FORMULA in texts and MINUS in texts  # exactly as written, no apostrophe
    assert texts[FORMULA].data_type == "s" and texts[MINUS].data_type == "s"
    assert not any(str(v).startswith("'") for v in texts)
    assert URDU in texts

    csv_export = exports.prepare_export(own, format="csv", role=None)
    body = b"".join(exports.stream_csv(csv_export)).decode("utf-8-sig")
    values = [r["comments"] for r in csv.DictReader(io.StringIO(body))]
    assert "'" + FORMULA in values and "'" + MINUS in values


def test_urdu_spss_value_labels_cut_between_letters_full_in_codebook(own, tmp_path):
    feel = next(q for q in own.questions if q.key == "feel_safe")
    set_text(own, option_key(feel.key, "very_safe"), "ur", LONG_URDU)
    db.session.commit()
    assert len(LONG_URDU.encode()) > 120
    export = exports.prepare_export(own, format="sav", role=None, language="ur")
    path = tmp_path / "own.sav"
    exports.write_sav(export, str(path))
    _, meta = pyreadstat.read_sav(str(path), user_missing=True)
    label = meta.variable_value_labels["feel_safe"][1.0]
    assert len(label.encode("utf-8")) <= 120
    assert label.endswith("…") and LONG_URDU.startswith(label[:-1].rstrip())
    assert "\ufffd" not in label
    codebook = exports.labels_csv(export).decode("utf-8-sig")
    assert LONG_URDU in codebook
    assert exports.fit_bytes("short", 120) == "short"


def test_strategy_report_has_every_question_with_small_figures_hidden(own):
    from consult.services.report import build_report

    report = build_report(own)
    sections = dict(report.questions)
    assert set(sections) >= {
        "How safe do you feel in the town centre?",
        "How have you contacted us?",
        "How good are these?",
        "What should come first?",
        "Years lived here?",
        "Anything else?",
    }
    contact = sections["How have you contacted us?"][0]
    in_person = next(r for r in contact.rows if r[0] == "In person")
    assert in_person[1] == "fewer than 10" and in_person[2:] == ["", "", ""]
    years = sections["Years lived here?"][0]
    assert years.rows[0][0] == "Mean" and years.rows[0][2] == "33.0"
    safe_tables = sections["How safe do you feel in the town centre?"]
    assert safe_tables[0].caption == "Feel safe"
