"""Results for every question of an officer's own survey, checked against
figures worked out by hand (men weighted 0.5, women 2; see own_survey.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from own_survey import POLISH, URDU, build_own_survey, hand_weights

from consult.analysis.questions import (
    categorical_set,
    number_bands,
    number_summary,
    share_estimates,
    weighted_quantile,
)
from consult.extensions import db
from consult.models import Survey, User
from consult.services import ServiceError
from consult.services.question_results import (
    add_theme,
    crosstab,
    load_themes,
    question_results,
    set_answer_themes,
    text_answers,
)
from consult.services.results import clear_cache, load_frames


def _rows(result, column=None):
    return {r["code"]: r for r in result.rows if column is None or r["column"] == column}


@pytest.fixture
def own(app_context):
    clear_cache()
    survey_id = build_own_survey()
    survey = db.session.get(Survey, survey_id)
    frame, demographics = load_frames(survey)
    return survey, frame, demographics, hand_weights(survey, frame)


def test_every_question_type_has_results_weighted_beside_unweighted(own):
    survey, frame, _, w = own
    results = {r.key: r for r in question_results(survey, frame, w, base=10)}
    # Demographic bank questions have results too.
    assert results["sex"].n == 40 and results["age_band"].n == 40
    ages = _rows(results["age_band"])
    assert ages["age_16_24"]["count"] == 0 and ages["age_16_24"]["share"] == 0

    safe = results["feel_safe"]
    assert safe.n == 38  # "Don't know" is a non-answer, out of the base
    rows = _rows(safe)
    assert rows["very_safe"]["share"] == pytest.approx(14 / 38)
    assert rows["fairly_safe"]["share"] == pytest.approx(12 / 38)
    assert rows["very_unsafe"]["share"] == pytest.approx(6 / 38)
    assert rows["very_safe"]["weighted_share"] == pytest.approx(7 / 37)
    assert rows["fairly_safe"]["weighted_share"] == pytest.approx(9 / 37)
    assert rows["a_bit_unsafe"]["weighted_share"] == pytest.approx(9 / 37)
    assert rows["very_unsafe"]["weighted_share"] == pytest.approx(12 / 37)
    kish = 37**2 / (26 * 0.25 + 12 * 4)
    assert rows["very_safe"]["effective_n"] == pytest.approx(kish)
    assert rows["very_safe"]["deff"] == pytest.approx(38 / kish)
    assert rows["very_safe"]["low"] < 14 / 38 < rows["very_safe"]["high"]
    assert safe.nonanswers == [("Dont know", 2)]
    # The officer's grouping: "Feel safe" = very or fairly safe.
    assert safe.positive_label == "Feel safe"
    positive = safe.positive[0]
    assert positive["share"] == pytest.approx(26 / 38)
    assert positive["weighted_share"] == pytest.approx(16 / 37)

    contact = _rows(results["contact"])
    assert results["contact"].n == 38  # two women skipped it
    assert contact["phoned"]["share"] == pytest.approx(24 / 38)
    assert contact["phoned"]["weighted_share"] == pytest.approx(18 / 34)
    assert contact["online"]["weighted_share"] == pytest.approx(20 / 34)
    assert contact["in_person"]["count"] == 0

    services = results["services"]
    parks = _rows(services, "services__parks")
    lighting = _rows(services, "services__lighting")
    assert parks["good"]["share"] == pytest.approx(28 / 40)
    assert parks["good"]["weighted_share"] == pytest.approx(14 / 38)
    assert lighting["poor"]["n"] == 32
    assert lighting["poor"]["weighted_share"] == pytest.approx(24 / 34)
    assert parks["good"]["item_label"] == "Parks"

    prio = results["prio"]
    top = _rows(prio)
    assert top["asb"]["share"] == pytest.approx(28 / 40)
    assert top["asb"]["weighted_share"] == pytest.approx(14 / 38)
    assert top["drugs"]["weighted_share"] == pytest.approx(24 / 38)
    assert prio.ranking["asb"]["mean_rank"] == pytest.approx(1.0)
    assert prio.ranking["speeding"]["mean_rank"] == pytest.approx(2.0)
    # Weighted Borda order: drugs 48/38 points, asb 28/38, speeding 24/38.
    assert [r["code"] for r in prio.rows][:3] == ["drugs", "asb", "speeding"]

    years = results["years"].number
    assert years is not None and years.n == 40
    assert years.mean == pytest.approx(33.0)
    assert years.weighted_mean == pytest.approx(750 / 38)
    assert years.median == 40.0  # F(5) = 0.3, F(40) = 0.65
    assert years.weighted_median == 5.0  # weighted F(5) = 24/38
    assert years.weighted_mean_low < 750 / 38 < years.weighted_mean_high
    bands = {r["code"]: r for r in results["years"].rows}
    assert sum(r["count"] for r in bands.values()) == 40
    assert bands["0–9"]["count"] == 12

    assert results["comments"].rows == []  # no themes yet


def test_unweighted_when_no_weights_and_replicate_intervals(own):
    survey, frame, _, w = own
    plain = {r.key: r for r in question_results(survey, frame, None, base=10)}
    row = _rows(plain["feel_safe"])["very_safe"]
    assert row["weighted_share"] == pytest.approx(row["share"])
    assert row["interval"] == "wilson_effective_n"
    rng = np.random.default_rng(7)
    reps = pd.DataFrame(
        rng.poisson(1.0, (len(frame), 100)) * w.to_numpy()[:, None], index=frame.index
    )
    rep = {r.key: r for r in question_results(survey, frame, w, reps, base=10)}
    row = _rows(rep["feel_safe"])["very_safe"]
    assert row["interval"] == "replicate"
    assert row["weighted_share"] == pytest.approx(7 / 37)
    assert row["se"] > 0 and row["weighted_low"] < 7 / 37 < row["weighted_high"]
    assert rep["years"].number.interval == "replicate"


def test_crosstab_by_demographic_language_and_channel(own):
    survey, frame, demographics, w = own
    q = next(x for x in survey.questions if x.key == "feel_safe")
    by_sex = crosstab(survey, q, frame, demographics, "sex", w, base=10)
    cells = {r["group"]: r for r in by_sex.rows}
    # The grouping is cross-tabulated: feel safe, by sex.
    assert cells["Male"]["share"] == pytest.approx(24 / 26)
    assert cells["Female"]["share"] == pytest.approx(2 / 12)
    assert cells["Female"]["weighted_share"] == pytest.approx(2 / 12)
    assert not cells["Male"]["suppressed"] and not cells["Female"]["suppressed"]
    strict = crosstab(survey, q, frame, demographics, "sex", w, base=15)
    assert {r["group"]: r["suppressed"] for r in strict.rows} == {"Male": False, "Female": True}

    by_language = crosstab(survey, q, frame, demographics, "language", w, base=1)
    assert set(by_language.groups) == {"English", "Urdu", "Polish"}
    urdu = next(r for r in by_language.rows if r["group"] == "Urdu")
    assert urdu["n"] == 3 and urdu["share"] == 0.0
    by_channel = crosstab(survey, q, frame, demographics, "channel", None, base=1)
    paper = next(r for r in by_channel.rows if r["group"] == "Paper questionnaire")
    assert paper["n"] == 8 and paper["share"] == 1.0

    years = next(x for x in survey.questions if x.key == "years")
    numbers = crosstab(survey, years, frame, demographics, "sex", w, base=1).numbers
    assert numbers["Male"].weighted_mean == pytest.approx(45.0)
    assert numbers["Female"].weighted_median == 5.0

    with pytest.raises(ServiceError):
        crosstab(survey, q, frame, demographics, "shoe_size", w)


def test_free_text_search_filter_and_themes_become_a_weighted_variable(own):
    survey, frame, _, w = own
    officer = db.session.scalars(db.select(User).filter_by(email="officer@north-csp.example")).one()
    q = next(x for x in survey.questions if x.key == "comments")
    page = text_answers(survey, q)
    assert page.total == 8
    assert {a.language_name for a in page.answers} == {"English", "Urdu", "Polish"}
    # Search is case-insensitive in any script.
    assert [a.text for a in text_answers(survey, q, search="OŚWIETLENIE").answers] == [POLISH] * 3
    assert [a.text for a in text_answers(survey, q, search="روشنی").answers] == [URDU] * 3
    assert text_answers(survey, q, language="ur").matching == 3

    lighting = add_theme(survey, q, "Street lighting", officer)
    other = add_theme(survey, q, "Anything else", officer)
    with pytest.raises(ServiceError):
        add_theme(survey, q, "street  LIGHTING", officer)
    with pytest.raises(ServiceError):
        add_theme(survey, q, "   ", officer)
    ids = [a.response_id for a in text_answers(survey, q).answers if a.text in (URDU, POLISH)]
    for rid in ids:
        set_answer_themes(survey, q, rid, [lighting.id], officer)
    set_answer_themes(survey, q, ids[0], [lighting.id, other.id], officer)
    set_answer_themes(survey, q, ids[0], [lighting.id], officer)  # untick: not stored twice
    db.session.commit()
    with pytest.raises(ServiceError):
        set_answer_themes(survey, q, 10**9, [lighting.id], officer)
    assert text_answers(survey, q, theme_id=lighting.id).matching == 6

    themes = load_themes(survey, frame.index)
    results = {r.key: r for r in question_results(survey, frame, w, themes=themes, base=1)}
    theme_rows = _rows(results["comments"])
    # Base: the 8 text answers (2 men at 0.5, 6 women at 2).
    assert theme_rows["street_lighting"]["n"] == 8
    assert theme_rows["street_lighting"]["share"] == pytest.approx(6 / 8)
    assert theme_rows["street_lighting"]["weighted_share"] == pytest.approx(12 / 13)
    assert theme_rows["anything_else"]["count"] == 0


def test_analysis_edge_cases():
    # Nobody answered: no base, no interval, suppressed.
    s = categorical_set("q", pd.Series([None, None]), ["a", "b"])
    t = share_estimates([s], min_base=1)
    assert t["n"].tolist() == [0, 0] and t["suppressed"].all()
    assert np.isnan(t["weighted_low"]).all()
    with pytest.raises(ValueError):
        share_estimates([s], weights=[1.0, -1.0])
    assert weighted_quantile(np.array([1.0, 2.0, 3.0, 4.0]), np.ones(4), 0.5) == 2.0
    empty = number_summary([None, None])
    assert empty.n == 0 and empty.suppressed
    edges, labels, assigned = number_bands([0, 3, 7, 12, None])
    assert labels[0] == "0–4" and assigned[-1] is None and assigned[2] == "5–9"


def test_replicate_medians_match_the_weighted_median_of_each_replicate():
    from consult.analysis.questions import _replicate_quantiles

    rng = np.random.default_rng(3)
    x = rng.integers(0, 12, 500).astype(float)
    rep = rng.poisson(1.0, (500, 20)).astype(float)
    fast = _replicate_quantiles(x, rep, 0.5)
    slow = [weighted_quantile(x, rep[:, r], 0.5) for r in range(20)]
    assert fast.tolist() == slow
