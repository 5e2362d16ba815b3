"""Results as a service: representation, weighting, headlines, priorities,
caching, and the rule that priorities are marked final only after the
representation flags have been acknowledged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import PASSWORD

from consult.extensions import db
from consult.models import (
    Answer,
    AuditEvent,
    Partnership,
    PriorityDecision,
    Response,
    ResponseStatus,
    Role,
    Survey,
    User,
)
from consult.services import ServiceError
from consult.services.accounts import create_partnership, create_user
from consult.services.benchmarks import import_benchmarks
from consult.services.results import (
    acknowledge_flags,
    breakdown,
    cache_stats,
    choose_scheme,
    clear_cache,
    compute_results,
    decision_status,
    load_frames,
    mark_priorities_final,
)
from consult.services.surveys import add_question, add_section, create_survey

WARDS = ("Abbey", "Castle", "Thurncourt")
PRIORITY_CODES = ("burglary", "speeding", "hate_crime", "something_else")


# --------------------------------------------------------------------------- #
# Builders shared with the page tests
# --------------------------------------------------------------------------- #


def seed_demo_with_responses(app) -> dict[str, Any]:
    """The seeded demo with its few thousand biased responses."""
    from consult.services.seed import seed_demo

    clear_cache()
    with app.app_context():
        seed_demo(PASSWORD)
        db.session.commit()
        survey = db.session.scalars(sa.select(Survey).filter_by(slug="feeling-safe")).one()
        return {"survey_id": survey.id, "partnership_id": survey.partnership_id}


@pytest.fixture
def demo_results(app) -> dict[str, Any]:
    return seed_demo_with_responses(app)


def build_ward_survey(
    *,
    partnership: str = "wards-csp",
    answered_wards: tuple[str, ...] = ("Abbey", "Castle"),
    per_ward: int = 40,
    slug: str = "ward-survey",
) -> int:
    """A small survey (ward, feeling safe, two priorities) whose benchmarks
    cover three wards; responses come only from `answered_wards`. Call inside
    an app context; returns the survey id."""
    p = db.session.scalars(sa.select(Partnership).filter_by(slug=partnership)).first()
    if p is None:
        p = create_partnership(partnership, "Ward Test Partnership")
        create_user(f"officer@{partnership}.example", PASSWORD, partnership=p, role=Role.OFFICER)
        create_user(f"viewer@{partnership}.example", PASSWORD, partnership=p, role=Role.VIEWER)
    rows = "\n".join(
        f"area,{ward},{share},1000,Test census {ward}"
        for ward, share in zip(WARDS, (0.4, 0.3, 0.3), strict=True)
    )
    import_benchmarks(p, "variable,category,population_share,base,source\n" + rows, note="test")
    survey = create_survey(p, slug=slug, title={"en": "Ward survey"})
    section = add_section(survey, "main", {"en": "Main"})
    add_question(
        survey,
        section,
        key="area",
        type="area",
        prompt={"en": "Where do you live?"},
        demographic="area",
        options=[{"code": w.lower(), "label": {"en": w}, "benchmark_category": w} for w in WARDS]
        + [{"code": "prefer_not_to_say", "label": {"en": "Prefer not to say"}, "is_missing": True}],
    )
    add_question(
        survey,
        section,
        key="safe_after_dark",
        type="single",
        prompt={"en": "How safe do you feel after dark?"},
        options=[
            {"code": c, "label": {"en": c.replace("_", " ")}}
            for c in ("very_safe", "fairly_safe", "a_bit_unsafe", "very_unsafe")
        ],
    )
    add_question(
        survey,
        section,
        key="priorities",
        type="ranking",
        prompt={"en": "What comes first?"},
        settings={"top_n": 2},
        options=[
            {"code": c, "label": {"en": c.replace("_", " ").capitalize()}} for c in PRIORITY_CODES
        ],
    )
    db.session.flush()
    for i, ward in enumerate(w for w in answered_wards for _ in range(per_ward)):
        # Castle feels less safe and wants hate crime tackled first.
        unsafe = (i % 3 == 0) if ward == "Castle" else (i % 5 == 0)
        ranking = ("hate_crime", "burglary") if ward == "Castle" else ("burglary", "speeding")
        add_response(
            survey,
            {
                "area": ward.lower(),
                "safe_after_dark": "very_unsafe" if unsafe else "fairly_safe",
                "priorities": ranking,
            },
            reference=f"{slug[:6]}{i:05d}",
        )
    db.session.commit()
    return survey.id


def add_response(
    survey: Survey, answers: dict[str, Any], *, reference: str, minutes_ago: int = 5
) -> Response:
    """A submitted response with answers stored as the contract says."""
    when = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    response = Response(
        survey_id=survey.id,
        reference=reference,
        language="en",
        status=ResponseStatus.SUBMITTED,
        submitted_at=when,
    )
    db.session.add(response)
    db.session.flush()
    by_key = {q.key: q for q in survey.questions}
    for key, value in answers.items():
        question = by_key[key]
        if isinstance(value, tuple):
            for rank, code in enumerate(value, start=1):
                db.session.add(
                    Answer(
                        response_id=response.id,
                        question_id=question.id,
                        option_code=code,
                        rank=rank,
                    )
                )
        else:
            db.session.add(
                Answer(response_id=response.id, question_id=question.id, option_code=value)
            )
    return response


def officer(email: str) -> User:
    return db.session.scalars(sa.select(User).filter_by(email=email)).one()


# --------------------------------------------------------------------------- #
# The demo flow
# --------------------------------------------------------------------------- #


def test_demo_results_flag_missing_voices_and_weighting_moves_estimates(app, demo_results):
    with app.app_context():
        survey = db.session.get(Survey, demo_results["survey_id"])
        results = compute_results(survey)

        assert results.n_responses >= 3000
        under = {(g["variable"], g["category"]) for g in results.under_represented}
        assert ("age_band", "16-24") in under
        assert ("ethnic_group", "Asian, Asian British or Asian Welsh") in under
        assert any(
            s.startswith("People aged 16–24 are") and "of residents" in s for s in results.flags
        )
        assert any(s.startswith("Asian residents are") for s in results.flags)
        # Under- and over-representation are named together, biggest gap first.
        gaps = [abs(m["gap"]) for m in results.messages]
        assert gaps == sorted(gaps, reverse=True)
        assert {m["status"] for m in results.messages} == {"under", "over"}
        assert any("over-represented" in m["text"] for m in results.messages)

        rake = results.rake
        assert rake.converged and not rake.problems
        assert rake.effective_sample_size < results.n_responses
        assert rake.design_effect > 1
        assert results.weights.mean() == pytest.approx(1.0)
        assert results.scheme["variables"] == ["age_band", "sex", "ethnic_group", "area"]
        assert results.scheme["default"] is True
        assert results.scheme["benchmark_version"] == results.benchmark_version == 1

        labels = {h.key for h in results.headlines}
        assert {"safe_after_dark", "worry_any", "police_job", "police_council_dealing"} <= labels
        assert any(k.startswith("asb__") for k in labels)
        assert any(h.changed_by_weighting for h in results.headlines)
        for h in results.headlines:
            assert h.weighted_low <= h.weighted_share <= h.weighted_high
            assert 0 < h.share < 1

        (table,) = results.priorities
        frame = table.result.table
        assert {"band", "band_label"} <= set(frame.columns)
        assert frame["rank_changed_by_weighting"].any()
        rows = table.rows()
        # Some priorities cannot be told apart: they share a band, shown as "n=".
        tied = [r for r in rows if r["tied_with"]]
        assert tied and all(r["band_label"].endswith("=") for r in tied)
        assert frame["band"].nunique() > 1
        assert all(r["label"] != r["option"] for r in rows)  # labels, not codes


def test_demo_frames_have_the_demographics_weighting_needs(app, demo_results):
    with app.app_context():
        survey = db.session.get(Survey, demo_results["survey_id"])
        frame, demographics = load_frames(survey)
        assert frame.index.equals(demographics.index)
        assert {"age_band", "sex", "ethnic_group", "area"} <= set(demographics.columns)
        # Ethnic group is asked after consent: some respondents declined it.
        assert 0 < demographics["ethnic_group"].isna().mean() < 0.5
        # The representation view reads the demographic answers alone: the same frame.
        from consult.services.results.schemes import load_demographics

        alone = load_demographics(survey)
        assert alone.index.equals(demographics.index)
        for column in ("age_band", "sex", "ethnic_group", "area"):
            assert alone[column].equals(demographics[column])


def test_breakdown_suppresses_small_groups(app, demo_results):
    with app.app_context():
        survey = db.session.get(Survey, demo_results["survey_id"])
        results = compute_results(survey)
        table = breakdown(results, "safe_after_dark", "area")
        by_group = {r["group"]: r for r in table.rows}
        assert by_group["Abbey"]["suppressed"] is False
        small = [r for r in table.rows if r["n"] < 30]
        assert small and all(r["suppressed"] for r in small)
        with pytest.raises(ServiceError):
            breakdown(results, "safe_after_dark", "favourite_colour")
        with pytest.raises(ServiceError):
            breakdown(results, "nonsense", "area")


# --------------------------------------------------------------------------- #
# Never silent
# --------------------------------------------------------------------------- #


def test_a_ward_nobody_answered_from_is_named_and_its_weights_never_used(app_context):
    # Before: raked anyway, reported "not converged" and used the weights.
    # Now: the empty ward is found before raking; with no larger areas
    # defined, wards leave the scheme, so there is nothing left to weight to
    # and every figure is unweighted, with the reason.
    survey = db.session.get(Survey, build_ward_survey())
    clear_cache()
    results = compute_results(survey)
    assert results.weighted is False
    assert (results.weights == 1.0).all()
    dropped = [p for p in results.problems if p.code == "variable_dropped"]
    assert dropped and "Thurncourt had no responses" in dropped[0].message
    assert any(
        g["category"] == "Thurncourt" and g["flag"] == "under" for g in results.flagged_groups
    )
    assert any("No responses from people living in Thurncourt" in s for s in results.flags)


def test_no_benchmarks_means_unweighted_with_the_reason(app_context):
    p = create_partnership("bare-csp", "Bare")
    survey = create_survey(p, slug="bare", title={"en": "Bare"})
    section = add_section(survey, "main", {"en": "Main"})
    add_question(
        survey,
        section,
        key="safe_after_dark",
        type="single",
        prompt={"en": "Safe?"},
        options=[
            {"code": "very_safe", "label": {"en": "Very safe"}},
            {"code": "very_unsafe", "label": {"en": "Very unsafe"}},
        ],
    )
    for i in range(10):
        add_response(
            survey,
            {"safe_after_dark": "very_unsafe" if i < 3 else "very_safe"},
            reference=f"BARE{i:04d}",
        )
    db.session.commit()
    results = compute_results(survey)
    assert (results.weights == 1.0).all()
    assert any(p.code == "no_benchmarks" for p in results.problems)
    (headline,) = results.headlines
    assert headline.share == pytest.approx(0.3) and headline.weighted_share == pytest.approx(0.3)


# --------------------------------------------------------------------------- #
# Caching
# --------------------------------------------------------------------------- #


def test_results_are_cached_per_state_and_recomputed_when_it_changes(app_context):
    survey = db.session.get(Survey, build_ward_survey(answered_wards=WARDS, per_ward=35))
    clear_cache()
    before = cache_stats()
    first = compute_results(survey)
    second = compute_results(survey)
    after = cache_stats()
    assert second is first
    assert after["computed"] - before["computed"] == 1
    assert after["hits"] - before["hits"] == 1

    add_response(
        survey,
        {"area": "abbey", "safe_after_dark": "very_safe"},
        reference="NEWONE001",
        minutes_ago=0,
    )
    db.session.commit()
    third = compute_results(survey)
    assert third is not first and third.n_responses == first.n_responses + 1
    assert cache_stats()["computed"] - before["computed"] == 2

    user = officer("officer@wards-csp.example")
    choose_scheme(survey, user, variables=["area"], lower_bound=0.5, upper_bound=2)
    db.session.commit()
    fourth = compute_results(survey)
    assert fourth.state_key != third.state_key
    assert fourth.scheme["lower_bound"] == 0.5 and fourth.scheme["id"] is not None


# --------------------------------------------------------------------------- #
# Weighting schemes
# --------------------------------------------------------------------------- #


def test_scheme_choices_are_checked_and_trimming_is_applied(app_context):
    survey = db.session.get(Survey, build_ward_survey(answered_wards=WARDS, per_ward=35))
    # Unbalanced on purpose: Abbey has 40% of residents but a third of responses.
    user = officer("officer@wards-csp.example")
    with pytest.raises(ServiceError, match="at least one"):
        choose_scheme(survey, user, variables=[])
    with pytest.raises(ServiceError, match="cannot be weighted"):
        choose_scheme(survey, user, variables=["religion"])
    with pytest.raises(ServiceError, match="both"):
        choose_scheme(survey, user, variables=["area"], lower_bound=0.5)
    with pytest.raises(ServiceError, match="largest"):
        choose_scheme(survey, user, variables=["area"], lower_bound=0.5, upper_bound=0.9)
    with pytest.raises(ServiceError, match="smallest"):
        choose_scheme(survey, user, variables=["area"], lower_bound=1.5, upper_bound=3)
    first = choose_scheme(survey, user, variables=["area"], lower_bound=0.95, upper_bound=1.05)
    db.session.commit()
    results = compute_results(survey)
    assert results.rake.max_weight <= 1.05 + 1e-9
    # Trimming so tight cannot meet the ward margins: reported, not hidden.
    assert not results.rake.converged
    assert {"bounds_not_met", "not_converged"} & {p.code for p in results.problems}
    second = choose_scheme(survey, user, variables=["area"])
    db.session.commit()
    db.session.refresh(first)
    assert first.is_current is False and second.is_current is True
    assert compute_results(survey).rake.converged
    events = db.session.scalars(
        sa.select(AuditEvent).filter_by(action="weighting_scheme_chosen")
    ).all()
    assert len(events) == 2 and events[0].details["variables"] == ["area"]


# --------------------------------------------------------------------------- #
# Acknowledging flags, marking priorities final
# --------------------------------------------------------------------------- #


def test_priorities_cannot_be_final_before_the_flags_are_acknowledged(app_context):
    survey = db.session.get(Survey, build_ward_survey())
    user = officer("officer@wards-csp.example")
    clear_cache()
    with pytest.raises(ServiceError, match="representation flags"):
        mark_priorities_final(survey, user)
    assert db.session.scalars(sa.select(PriorityDecision)).all() == []

    results = compute_results(survey)
    acknowledge_flags(survey, user, results)
    db.session.commit()
    event = db.session.scalars(
        sa.select(AuditEvent).filter_by(action="representation_flags_acknowledged")
    ).one()
    assert event.user_id == user.id
    assert "People living in Thurncourt (under-represented)" in event.details["flagged_groups"]
    assert {f["category"] for f in event.details["flags"]} >= {"Thurncourt"}

    # The results are unweighted (the empty ward left nothing to weight to):
    # marking final needs an explicit override, with a reason, audited.
    with pytest.raises(ServiceError, match="unweighted"):
        mark_priorities_final(survey, user)
    with pytest.raises(ServiceError, match="Say why"):
        mark_priorities_final(survey, user, override=True)
    final = mark_priorities_final(
        survey, user, override=True, override_reason="Pilot: order not used in the strategy"
    )
    db.session.commit()
    assert final.details["override"]["reason"] == "Pilot: order not used in the strategy"
    assert db.session.scalars(
        sa.select(AuditEvent).filter_by(action="priorities_final_override")
    ).one()
    assert final.details["priorities"]["priorities"][0]["option"] in PRIORITY_CODES
    status = decision_status(survey, compute_results(survey))
    assert status.final is not None and status.final.user_id == user.id
    assert status.acknowledgement_current and not status.final_outdated
    assert db.session.scalars(
        sa.select(AuditEvent).filter_by(action="priorities_marked_final")
    ).one()


def test_changed_flags_need_acknowledging_again(app_context):
    survey = db.session.get(Survey, build_ward_survey())
    user = officer("officer@wards-csp.example")
    clear_cache()
    acknowledge_flags(survey, user, compute_results(survey))
    db.session.commit()
    # Thurncourt residents reply: the flags are no longer those acknowledged.
    for i in range(40):
        add_response(
            survey,
            {"area": "thurncourt", "safe_after_dark": "fairly_safe", "priorities": ("speeding",)},
            reference=f"THURN{i:04d}",
            minutes_ago=0,
        )
    db.session.commit()
    with pytest.raises(ServiceError, match="changed since"):
        mark_priorities_final(survey, user)
    acknowledge_flags(survey, user, compute_results(survey))
    db.session.commit()
    assert mark_priorities_final(survey, user).kind == "final"


def test_results_of_one_survey_cannot_be_acknowledged_for_another(app_context):
    first = db.session.get(Survey, build_ward_survey())
    second = db.session.get(Survey, build_ward_survey(slug="second-survey"))
    user = officer("officer@wards-csp.example")
    with pytest.raises(ServiceError):
        acknowledge_flags(second, user, compute_results(first))
