"""Results by stream: a survey with a random address sample beside its open
link. Design weights are checked by hand; the sample and open figures are
kept apart, the combined view appears only when the officer chooses it, the
statement of which figures are representative is shown, and `consult results
--json` has a streams section. Results are cached in the database, shared by
every app server, and a new response makes them stale."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from conftest import PASSWORD

from consult.analysis import rake
from consult.analysis.design import design_weights
from consult.extensions import db
from consult.models import (
    AddressSample,
    Answer,
    Invitation,
    Response,
    ResultsCache,
    Role,
    SampleAddress,
    Survey,
)
from consult.services.accounts import create_partnership
from consult.services.benchmarks import import_benchmarks
from consult.services.results import clear_cache, compute_results, results_json
from consult.services.results.cache import cached_summary, compute_and_store
from consult.services.results.streams import REPRESENTATIVE_STATEMENT, set_combine_streams
from consult.services.surveys import add_bank_question, add_section, create_survey

SLUG = "streams"
BENCHMARKS = """variable,category,population_share,base,source
sex,Female,0.5,1000,test census
sex,Male,0.5,1000,test census
"""
# Stratum A: 1,000 addresses, 10 drawn (p = 0.01), 4 answered: N/r = 250.
# Stratum B: 500 addresses, 20 drawn (p = 0.04), 10 answered: N/r = 50.
STRATA = {"A": {"population": 1000, "drawn": 10}, "B": {"population": 500, "drawn": 20}}
WEIGHT = {"A": 250.0, "B": 50.0}


def build(benchmarks: bool = True) -> int:
    p = create_partnership("north-csp", "North Community Safety Partnership")
    if benchmarks:
        import_benchmarks(p, BENCHMARKS, note="test")
    survey = create_survey(p, slug=SLUG, title={"en": "Streams"}, languages=["en"])
    section = add_section(survey, "main", {"en": "Main"})
    add_bank_question(survey, section, "sex")
    add_bank_question(survey, section, "safe_after_dark")
    db.session.flush()
    q = {x.key: x for x in survey.questions}
    sample = AddressSample(survey_id=survey.id, seed=7, strata=STRATA, stratum_column="stratum")
    db.session.add(sample)
    db.session.flush()
    when = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    counter = iter(range(10_000))

    def respond(stream: str, sex: str, feel: str) -> Response:
        i = next(counter)
        r = Response(
            survey_id=survey.id,
            reference=f"STR{i:04d}",
            language="en",
            channel="online",
            stream=stream,
            status="submitted",
            submitted_at=when + timedelta(minutes=i),
        )
        db.session.add(r)
        db.session.flush()
        db.session.add(Answer(response_id=r.id, question_id=q["sex"].id, option_code=sex))
        db.session.add(
            Answer(response_id=r.id, question_id=q["safe_after_dark"].id, option_code=feel)
        )
        return r

    # Drawn addresses: every one of A (10) and B (20); in A the 4 who answered
    # all feel unsafe, in B the 10 who answered all feel safe. Both strata have
    # as many men as women, so raking to 50/50 leaves the design weights be.
    for stratum, answered, feel in (("A", 4, "very_unsafe"), ("B", 10, "very_safe")):
        drawn = STRATA[stratum]["drawn"]
        prob = drawn / STRATA[stratum]["population"]
        for k in range(drawn):
            address = SampleAddress(
                sample_id=sample.id,
                survey_id=survey.id,
                external_id=f"{stratum}{k}",
                lines=f"{k} {stratum} Street",
                postcode="LE1 1AA",
                stratum=stratum,
                selection_probability=prob,
            )
            db.session.add(address)
            db.session.flush()
            invitation = Invitation(
                survey_id=survey.id, code_hash=f"{stratum}{k}".ljust(64, "x"), address_id=address.id
            )
            if k < answered:
                response = respond("sample", "male" if k % 2 else "female", feel)
                invitation.response_id = response.id
            db.session.add(invitation)
    # The open stream: 20 self-selected, 15 of them unsafe, 10 men 10 women.
    for k in range(20):
        respond("open", "male" if k % 2 else "female", "a_bit_unsafe" if k < 15 else "very_safe")
    db.session.commit()
    clear_cache()
    return survey.id


def headline(results, key: str = "safe_after_dark"):
    return next(h for h in results.headlines if h.key == key)


# --------------------------------------------------------------------------- #
# Design weights, by hand
# --------------------------------------------------------------------------- #


def test_design_weights_by_hand() -> None:
    respondents = pd.DataFrame(
        {
            "stratum": ["A"] * 4 + ["B"] * 10,
            "selection_probability": [0.01] * 4 + [0.04] * 10,
        },
        index=pd.RangeIndex(14),
    )
    found = design_weights(respondents, STRATA)
    # (1 / p_h) x (n_h / r_h): A 100 x 10/4 = 250, B 25 x 20/10 = 50.
    assert found.weights.iloc[:4].tolist() == [250.0] * 4
    assert found.weights.iloc[4:].tolist() == [50.0] * 10
    # The weights add up to the addresses the strata stand for.
    assert found.weights.sum() == pytest.approx(1500)
    table = found.strata
    assert table.loc["A", "response_rate"] == pytest.approx(0.4)
    assert table.loc["B", "response_rate"] == pytest.approx(0.5)
    assert table.loc["A", "probability"] == pytest.approx(0.01)
    assert found.empty_strata == []


def test_design_weights_name_a_stratum_nobody_answered_and_refuse_bad_probabilities() -> None:
    strata = {**STRATA, "C": {"population": 100, "drawn": 5}}
    respondents = pd.DataFrame({"stratum": ["A"], "selection_probability": [0.01]})
    found = design_weights(respondents, strata)
    assert found.empty_strata == ["B", "C"]
    assert found.weights.tolist() == [1000.0]
    bad = pd.DataFrame({"stratum": ["A"], "selection_probability": [0.0]})
    with pytest.raises(ValueError, match="selection probability"):
        design_weights(bad, strata)


def test_rake_from_design_weights_keeps_them_when_margins_already_hold() -> None:
    frame = pd.DataFrame({"sex": ["Male", "Female"] * 7})
    base = pd.Series([250.0] * 4 + [50.0] * 10)
    result = rake(frame, {"sex": {"Male": 0.5, "Female": 0.5}}, base_weights=base)
    assert result.converged
    np.testing.assert_allclose(result.weights.to_numpy(), (base / base.mean()).to_numpy())


# --------------------------------------------------------------------------- #
# Results by stream
# --------------------------------------------------------------------------- #


def test_sample_and_open_figures_are_separate(app_context) -> None:
    survey = db.session.get(Survey, build())
    sample = compute_results(survey, stream="sample")
    assert sample.stream == "sample" and sample.n_responses == 14
    assert sample.weighted and sample.decision is not None
    assert sample.decision.method == "rake"
    # Weighted: 4 x 250 unsafe of 4 x 250 + 10 x 50 = 2/3; unweighted 4/14.
    h = headline(sample)
    assert h.weighted_share == pytest.approx(2 / 3, abs=1e-6)
    assert h.share == pytest.approx(4 / 14)
    assert sample.response_rate == pytest.approx(14 / 30)
    rows = {r["stratum"]: r for r in sample.strata}
    assert rows["A"]["design_weight"] == pytest.approx(250)
    assert rows["B"]["response_rate"] == pytest.approx(0.5)

    open_ = compute_results(survey, stream="open")
    assert open_.stream == "open" and open_.n_responses == 20
    assert headline(open_).weighted_share == pytest.approx(0.75)
    assert open_.response_rate is None
    # The default view of a survey with a sample stream is the sample stream.
    assert compute_results(survey).stream == "sample"


def test_combined_only_when_the_officer_chooses(app_context) -> None:
    survey = db.session.get(Survey, build())
    # Not chosen: asking for it reads the sample stream.
    assert compute_results(survey, stream="combined").stream == "sample"
    from consult.models import User
    from consult.services.accounts import create_user

    user = create_user(
        "o@north.example", PASSWORD, partnership=survey.partnership, role=Role.OFFICER
    )
    set_combine_streams(survey, user, True)
    db.session.commit()
    combined = compute_results(survey, stream="combined")
    assert combined.stream == "combined" and combined.n_responses == 34
    assert not combined.representative
    assert db.session.scalars(sa.select(User)).first() is not None


def test_without_benchmarks_the_sample_uses_design_weights_alone(app_context) -> None:
    survey = db.session.get(Survey, build(benchmarks=False))
    sample = compute_results(survey, stream="sample")
    assert sample.weighted and sample.decision is not None
    assert sample.decision.method == "design"
    assert "design weights" in sample.weighting_reason
    assert headline(sample).weighted_share == pytest.approx(2 / 3, abs=1e-6)
    # The open stream cannot be weighted to anything: unweighted, with the reason.
    open_ = compute_results(survey, stream="open")
    assert not open_.weighted and open_.weighting_reason


def test_pages_show_the_streams_and_the_statement(client, signed_in, app) -> None:
    with app.app_context():
        survey_id = build()
    signed_in("officer")
    with app.app_context():
        # The signed-in officer belongs to the same partnership.
        assert db.session.get(Survey, survey_id) is not None
    page = client.get(f"/manage/surveys/{survey_id}/results")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "random sample of addresses" in text
    assert "Sample stream" in text and "Open stream" in text
    assert "Both streams combined" not in text
    assert "14 submitted responses in the sample stream" in text
    page = client.get(f"/manage/surveys/{survey_id}/results/priorities?stream=open")
    text = page.get_data(as_text=True)
    assert "20 submitted responses in the open stream" in text
    # Links between pages stay on the stream being read.
    assert "stream=open" in text
    # A stream the survey does not offer falls back to the sample stream.
    page = client.get(f"/manage/surveys/{survey_id}/results/weighting?stream=nonsense")
    assert "14 submitted responses in the sample stream" in page.get_data(as_text=True)
    # The officer chooses to show the combined view; only then is it there.
    response = client.post_form(
        f"/manage/surveys/{survey_id}/results/streams",
        {"combine": "yes"},
        token_from=f"/manage/surveys/{survey_id}/results",
    )
    assert response.status_code == 302
    page = client.get(f"/manage/surveys/{survey_id}/results?stream=combined")
    text = page.get_data(as_text=True)
    assert "Both streams combined" in text and "34 submitted responses" in text
    assert "not a random sample" in text
    for path in ("questions", "breakdown"):
        assert client.get(
            f"/manage/surveys/{survey_id}/results/{path}?stream=open"
        ).status_code in (
            200,
            400,
        )


def test_survey_without_a_sample_stream_reads_as_before(app_context) -> None:
    survey = db.session.get(Survey, build())
    db.session.execute(sa.delete(Invitation))
    db.session.execute(sa.delete(AddressSample))
    db.session.execute(sa.update(Response).values(stream="open"))
    db.session.commit()
    clear_cache()
    results = compute_results(survey, stream="sample")
    assert results.stream is None and results.n_responses == 34
    assert results.stream_statement == ""
    assert results_json(survey)["streams"] is None


def test_json_has_a_streams_section(app, app_context) -> None:
    survey = db.session.get(Survey, build())
    runner = app.test_cli_runner()
    out = runner.invoke(args=["consult", "results", SLUG, "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert doc["survey"]["stream"] == "sample"
    section = doc["streams"]
    assert section["statement"] == REPRESENTATIVE_STATEMENT
    streams = {s["stream"]: s for s in section["streams"]}
    assert set(streams) == {"sample", "open"}
    assert streams["sample"]["responses"] == 14
    assert streams["sample"]["response_rate"] == pytest.approx(14 / 30, abs=1e-6)
    assert streams["sample"]["representative"] is True
    assert streams["open"]["response_rate"] is None
    sample_head = {h["key"]: h for h in streams["sample"]["headlines"]}
    assert sample_head["safe_after_dark"]["weighted"]["share"] == pytest.approx(2 / 3, abs=1e-6)
    open_head = {h["key"]: h for h in streams["open"]["headlines"]}
    assert open_head["safe_after_dark"]["weighted"]["share"] == pytest.approx(0.75, abs=1e-6)
    assert {s["stratum"] for s in streams["sample"]["strata"]} == {"A", "B"}
    out = runner.invoke(args=["consult", "results", SLUG, "--stream", "open"])
    assert out.exit_code == 0 and "Open stream: 20 responses" in out.output
    assert db.session.get(Survey, survey.id) is not None


# --------------------------------------------------------------------------- #
# The shared results cache
# --------------------------------------------------------------------------- #


def test_results_are_stored_once_and_a_new_response_makes_them_stale(app_context) -> None:
    survey = db.session.get(Survey, build())
    first = compute_and_store(survey.id)
    db.session.commit()
    assert first >= 1
    stored = db.session.scalar(sa.select(sa.func.count(ResultsCache.id)))
    assert stored == first
    # Another app server (an empty process cache) reads the stored summary
    # instead of computing.
    clear_cache()
    summary = cached_summary(survey, stream="sample")
    assert summary is not None and summary.n_responses == 14
    assert headline(summary).weighted_share == pytest.approx(2 / 3, abs=1e-6)
    assert compute_and_store(survey.id) == 0  # nothing new to compute
    # A new response changes the state: the stored summary is stale.
    q = {x.key: x for x in survey.questions}
    r = Response(
        survey_id=survey.id,
        reference="NEW0001",
        language="en",
        channel="online",
        stream="open",
        status="submitted",
        submitted_at=datetime(2026, 4, 1, tzinfo=UTC),
    )
    db.session.add(r)
    db.session.flush()
    db.session.add(Answer(response_id=r.id, question_id=q["sex"].id, option_code="male"))
    db.session.commit()
    assert cached_summary(survey, stream="sample") is None
    assert compute_and_store(survey.id) >= 1
    db.session.commit()
    assert cached_summary(survey, stream="open").n_responses == 21
