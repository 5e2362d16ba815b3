"""A survey an officer builds from scratch — bank demographics plus their own
questions — answered by 40 people skewed to older men, nobody aged 16-24 and
17 of 21 wards empty. The results must name the over-represented groups, never
use weights that failed, and say what the priorities can and cannot support:
on the pages, in exports, retention and `consult results --json`."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa
from conftest import PASSWORD, sign_in
from test_results_service import add_response

from consult.extensions import db
from consult.models import Role, Survey, WeightingScheme
from consult.services.accounts import create_partnership, create_user
from consult.services.benchmarks import import_benchmarks
from consult.services.exports import weighting_from_results
from consult.services.results import clear_cache, compute_results, decide_weighting
from consult.services.retention import survey_weights
from consult.services.seed import margins_csv
from consult.services.surveys import add_bank_question, add_question, add_section, create_survey

OWN_PRIORITIES = ("parking", "dog_fouling", "speeding", "litter", "noise", "youth_provision")
WARDS = ("abbey", "castle", "knighton", "evington")  # 4 of Leicester's 21 wards


def build_skewed_survey(slug: str = "our-survey") -> int:
    p = create_partnership("skew-csp", "Skew Partnership")
    create_user("officer@skew.example", PASSWORD, partnership=p, role=Role.OFFICER)
    create_user("viewer@skew.example", PASSWORD, partnership=p, role=Role.VIEWER)
    import_benchmarks(p, margins_csv().decode("utf-8"), note="Census 2021")
    survey = create_survey(p, slug=slug, title={"en": "Our neighbourhood"})
    section = add_section(survey, "main", {"en": "Main"})
    add_question(
        survey,
        section,
        key="park_safe",
        type="single",
        prompt={"en": "Do you feel safe in the park?"},
        options=[
            {"code": "yes", "label": {"en": "Yes"}},
            {"code": "no", "label": {"en": "No"}},
        ],
    )
    add_question(
        survey,
        section,
        key="our_priorities",
        type="ranking",
        prompt={"en": "What should we tackle first?"},
        settings={"top_n": 3},
        options=[
            {"code": c, "label": {"en": c.replace("_", " ").capitalize()}} for c in OWN_PRIORITIES
        ],
    )
    about = add_section(survey, "about", {"en": "About you"})
    for key in ("age_band", "sex", "ethnic_group", "area", "religion"):
        add_bank_question(survey, about, key)
    db.session.flush()
    for i in range(40):
        age = ("age_65_74", "age_75_plus", "age_55_64", "age_65_74", "age_45_54")[i % 5]
        sex = "male" if i % 10 < 7 else "female"  # 28 men, 12 women
        ethnic = "white_british" if i % 8 else "asian_indian"
        ranking = (
            ("parking", "dog_fouling", "litter") if i % 2 else ("dog_fouling", "parking", "noise")
        )
        add_response(
            survey,
            {
                "park_safe": "no" if i % 4 == 0 else "yes",
                "our_priorities": ranking,
                "age_band": age,
                "sex": sex,
                "ethnic_group": ethnic,
                "area": WARDS[i % 4],
                "religion": "christian" if i % 3 else "no_religion",
            },
            reference=f"SKEW{i:04d}",
        )
    db.session.commit()
    return survey.id


def _never_uses_failed_weights(survey: Survey) -> None:
    results = compute_results(survey)
    decision = results.decision
    assert decision is not None
    if not decision.used:
        assert (results.weights == 1.0).all()
        for h in results.headlines:
            assert h.weighted_share == pytest.approx(h.share)
        for table in results.priorities:
            t = table.result.table
            assert (t["rank"] == t["unweighted_rank"]).all()
    else:
        assert results.rake.converged and results.rake.bounds_met
        low, high = results.weight_ratio
        assert 0.1 - 1e-9 <= low and high <= 5.0 + 1e-9
    exported = weighting_from_results(survey)
    assert exported.weighted == decision.used
    from consult.services.results import load_frames

    frame, _ = load_frames(survey)
    kept, info = survey_weights(survey, frame)
    assert info["weights_used"] == decision.used
    if not decision.used:
        assert (kept == 1.0).all()
    else:
        assert kept.to_numpy() == pytest.approx(results.weights.reindex(frame.index).to_numpy())


def test_small_skewed_survey_names_skew_and_never_uses_failed_weights(app_context):
    survey = db.session.get(Survey, build_skewed_survey())
    clear_cache()
    results = compute_results(survey)
    assert results.n_responses == 40

    texts = [m["text"] for m in results.messages]
    # Over-representation is named, not hidden as "too few to report".
    assert "Men are 70% of responses but only 49% of residents: over-represented." in texts
    assert any(t.startswith("People aged 65–74 are") and "over-represented" in t for t in texts)
    assert any(t.startswith("No responses from people aged 16–24") for t in texts)
    gaps = [abs(m["gap"]) for m in results.messages]
    assert gaps == sorted(gaps, reverse=True)
    # Census "Not answered" is not a group of residents.
    assert not any("Not answered" in t for t in texts + results.flags)
    assert ("religion", "Not answered") in {(v, c) for v, c, _ in results.not_stated}

    # Wards: 17 of 21 empty and no areas defined, so wards leave the scheme;
    # age bands are merged, in words.
    collapsed = {c["variable"]: c for c in results.scheme["collapsed"]}
    assert collapsed["area"]["action"] == "dropped"
    assert "17 had no responses" in collapsed["area"]["message"]
    assert collapsed["age_band"]["action"] == "collapsed"
    assert "16-24" in collapsed["age_band"]["empty"]
    assert "area" not in results.scheme["variables"]
    _never_uses_failed_weights(survey)

    # What the priorities can and cannot support.
    (table,) = results.priorities
    assert table.summary is not None
    assert table.summary.sentence
    assert "top 3" in table.summary.can_report
    labels = [r["band_label"] for r in table.rows()]
    assert all(re.fullmatch(r"\d+=?", b) for b in labels)
    positions = [int(b.rstrip("=")) for b in labels]
    assert all(p <= i + 1 for i, p in enumerate(positions))  # never "6" for the 13th

    for h in results.headlines:
        assert h.se >= 0 and h.deff > 0


def test_a_cap_that_cannot_be_met_falls_back_to_unweighted_everywhere(app_context):
    survey = db.session.get(Survey, build_skewed_survey())
    assert db.session.scalars(sa.select(WeightingScheme)).first() is None
    from consult.models import User
    from consult.services.results import choose_scheme

    user = db.session.scalars(sa.select(User).filter_by(email="officer@skew.example")).one()
    choose_scheme(survey, user, variables=["sex", "age_band"], lower_bound=0.9, upper_bound=1.1)
    db.session.commit()
    clear_cache()
    results = compute_results(survey)
    assert results.weighted is False
    assert "could not be weighted to the population" in results.weighting_reason
    assert any(p.code == "weights_not_used" for p in results.problems)
    assert decide_weighting(survey).used is False
    _never_uses_failed_weights(survey)


def test_results_json_command(app):
    with app.app_context():
        build_skewed_survey()
    clear_cache()
    runner = app.test_cli_runner()
    out = runner.invoke(args=["consult", "results", "our-survey", "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert set(doc) >= {
        "schema_version",
        "survey",
        "weighting",
        "representation",
        "headlines",
        "priorities",
        "questions",
    }
    # Every question has its estimates, the officer's own included, under the
    # weighting the document reports (never weights that failed).
    questions = {q["key"]: q for q in doc["questions"]}
    assert {"park_safe", "our_priorities", "age_band", "sex", "area"} <= set(questions)
    park = questions["park_safe"]
    assert park["type"] == "single" and park["base"] == 40
    assert park["weighted"] == doc["weighting"]["weights_used"]
    rows = {r["code"]: r for r in park["rows"]}
    assert rows["no"]["count"] == 10 and rows["no"]["share"] == pytest.approx(0.25)
    assert rows["yes"]["share"] == pytest.approx(0.75)
    if not park["weighted"]:
        assert rows["no"]["weighted_share"] == pytest.approx(0.25)
    ranked = questions["our_priorities"]
    assert ranked["ranking"]["top_n"] == 3
    assert set(ranked["ranking"]["options"]) == set(OWN_PRIORITIES)
    w = doc["weighting"]
    assert {
        "variables",
        "collapsed",
        "weights_used",
        "converged",
        "effective_n",
        "min_weight_relative",
        "max_weight_relative",
        "problems",
    } <= set(w)
    assert any(c["variable"] == "area" for c in w["collapsed"])
    assert all({"code", "message"} <= set(p) for p in w["problems"])
    sex = next(v for v in doc["representation"]["variables"] if v["variable"] == "sex")
    male = next(c for c in sex["categories"] if c["category"] == "Male")
    assert male["status"] == "over" and male["sample_share"] == pytest.approx(0.7)
    assert male["interval"][0] > male["population_share"]
    statuses = {c["status"] for v in doc["representation"]["variables"] for c in v["categories"]}
    assert statuses <= {"under", "over", "in_line", "cant_tell", None}
    (priority,) = doc["priorities"]
    assert priority["summary"]["sentence"] and priority["bands"]["method"].startswith("Holm")
    assert len(priority["options"]) == len(OWN_PRIORITIES)
    missing = runner.invoke(args=["consult", "results", "no-such-survey", "--json"])
    assert missing.exit_code != 0 and "No survey called" in missing.output
    plain = runner.invoke(args=["consult", "results", "our-survey"])
    assert plain.exit_code == 0 and "over-represented" in plain.output


def test_pages_say_it_in_plain_words(client, app):
    with app.app_context():
        survey_id = build_skewed_survey()
    clear_cache()
    sign_in(client, "officer@skew.example")
    html = client.get(f"/manage/surveys/{survey_id}/results").get_data(as_text=True)
    assert "Men are 70% of responses but only 49% of residents: over-represented." in html
    assert "age_band =" not in html and "0.8 times" not in html
    assert "Wards were left out of the weighting because 17 had no responses" in html
    # Weighting problems in words an officer can act on, not an analyst's.
    weighting = client.get(f"/manage/surveys/{survey_id}/results/weighting").get_data(as_text=True)
    for technical in ("tolerance", "1e-06", "iterations:", "e-01"):
        assert technical not in html and technical not in weighting
    assert (
        "The weights could not be made to match every population figure within the cap "
        "on weights." in weighting
    )
    assert "Design effect" in html and "simple random sample" in html
    page = client.get(f"/manage/surveys/{survey_id}/results/priorities").get_data(as_text=True)
    assert 'id="priorities-summary-1"' in page
    assert "Holm" in page


def test_many_replicates_left_out_warn_that_intervals_are_too_narrow():
    from consult.services.results.compute import dropped_replicates_problem

    few = dropped_replicates_problem(10, 500)
    assert few.message == (
        "10 of 500 replicate samples could not be weighted to the margins and were left "
        "out of the intervals and priority bands."
    )
    many = dropped_replicates_problem(132, 500)
    assert many.code == "replicates_not_converged"
    assert many.message.startswith("132 of 500 replicate samples")
    assert "the intervals are probably too narrow" in many.message


def test_analysts_keep_the_technical_message_in_json(app):
    with app.app_context():
        build_skewed_survey()
    clear_cache()
    out = app.test_cli_runner().invoke(args=["consult", "results", "our-survey", "--json"])
    problems = {p["code"]: p["message"] for p in json.loads(out.output)["weighting"]["problems"]}
    assert "tolerance" in problems["not_converged"]
