"""The results pages in the browser's shoes: what an officer and a viewer see,
what they may change, and that another partnership sees nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import sign_in
from test_results_service import build_ward_survey, seed_demo_with_responses

from consult.extensions import db
from consult.models import AuditEvent, PriorityDecision, WeightingScheme
from consult.services.results import clear_cache

DEMO_OFFICER = "officer@demo.example"
DEMO_VIEWER = "viewer@demo.example"


@pytest.fixture
def demo_results(app) -> dict[str, Any]:
    return seed_demo_with_responses(app)


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def test_results_open_on_missing_voices_then_headlines_priorities_and_diagnostics(
    client, demo_results
):
    sign_in(client, DEMO_OFFICER)
    page = client.get(f"/manage/surveys/{demo_results['survey_id']}/results")
    assert page.status_code == 200
    html = _text(page)
    order = [
        html.index("Whose voices are missing"),
        html.index("People aged 16–24 are"),
        html.index("Headline measures"),
        html.index("Priorities</h2>"),
        html.index("Weighting diagnostics"),
    ]
    assert order == sorted(order)
    assert "Asian residents are" in html
    assert re.search(r"People aged 16–24 are \d+% of responses but 20% of residents", html)
    # Each benchmark's base and source sit beside the comparison.
    assert "base 291,104, source [1]" in html and "ONS Census 2021" in html
    # Percentages with one decimal place, weighted beside unweighted, with intervals.
    assert re.search(
        r"\d+\.\d% <span class=\"govuk-body-s consult-interval\">\(\d+\.\d% to \d+\.\d%\)", html
    )
    assert "moved by weighting" in html
    assert "changed by weighting" in html
    assert "statistically tied" in html
    for label in (
        "Converged",
        "Iterations",
        "Effective sample size",
        "Design effect",
        "Largest weight",
    ):
        assert label in html
    assert "<caption" in html and 'scope="col"' in html and 'scope="row"' in html


def test_a_ward_nobody_answered_from_is_named_on_the_page(client, app):
    with app.app_context():
        survey_id = build_ward_survey()
    clear_cache()
    sign_in(client, "viewer@wards-csp.example")
    html = _text(client.get(f"/manage/surveys/{survey_id}/results"))
    # Before: "did not converge" and the failed weights used. Now the empty
    # ward is found before raking, and the page says the figures are unweighted.
    assert "Every figure on these pages is unweighted" in html
    assert "Wards were left out of the weighting because Thurncourt had no responses" in html
    assert "No responses from people living in Thurncourt" in html


def test_viewer_reads_every_page_but_cannot_change_anything(client, demo_results):
    sign_in(client, DEMO_VIEWER)
    base = f"/manage/surveys/{demo_results['survey_id']}/results"
    for path in ("", "/priorities", "/weighting", "/breakdown"):
        page = client.get(base + path)
        assert page.status_code == 200, path
        assert "Mark priorities final" not in page.get_data(as_text=True)
    token = client.csrf_token(base)
    for path, data in (
        ("/weighting", {"variables": "age_band"}),
        ("/priorities/acknowledge", {"confirm": "yes"}),
        ("/priorities/final", {}),
    ):
        assert client.post(base + path, data={**data, "csrf_token": token}).status_code == 403
    with client.application.app_context():
        assert db.session.scalars(sa.select(WeightingScheme)).all() == []
        assert db.session.scalars(sa.select(PriorityDecision)).all() == []


def test_another_partnership_cannot_see_the_results(client, app, signed_in):
    with app.app_context():
        survey_id = build_ward_survey()
    signed_in("officer", partnership="north-csp")
    for path in ("", "/priorities", "/weighting", "/breakdown"):
        assert client.get(f"/manage/surveys/{survey_id}/results{path}").status_code == 404
    token = client.csrf_token("/manage")
    assert (
        client.post(
            f"/manage/surveys/{survey_id}/results/priorities/final", data={"csrf_token": token}
        ).status_code
        == 404
    )


def test_signed_out_visitors_are_sent_to_sign_in(client, app):
    with app.app_context():
        survey_id = build_ward_survey()
    response = client.get(f"/manage/surveys/{survey_id}/results")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_marking_final_is_one_step_with_the_flags_box_ticked(client, app):
    # Before: ticking "I have read the flags" then "Mark final" failed until a
    # separate grey "Confirm" button was pressed. Now one form, one press.
    with app.app_context():
        survey_id = build_ward_survey(answered_wards=("Abbey", "Castle", "Thurncourt"), per_ward=35)
    clear_cache()
    sign_in(client, "officer@wards-csp.example")
    base = f"/manage/surveys/{survey_id}/results/priorities"

    refused = client.post_form(base + "/final", {}, token_from=base)
    assert refused.status_code == 400
    assert "Tick the box to confirm you have read the representation flags" in _text(refused)

    unticked = client.post_form(base + "/acknowledge", {}, token_from=base)
    assert unticked.status_code == 400
    assert "Confirm that you have read the representation flags" in _text(unticked)

    done = client.post_form(base + "/final", {"confirm": "yes"}, token_from=base)
    assert done.status_code == 302
    html = _text(client.get(base))
    assert "Final for the strategy" in html
    assert re.search(r"Marked final by officer@wards-csp\.example on \d{2} \w+ \d{4}", html)
    assert "Representation flags acknowledged by officer@wards-csp.example" in html
    overview = _text(client.get(f"/manage/surveys/{survey_id}/results"))
    assert "Final for the strategy" in overview
    with app.app_context():
        assert db.session.scalars(
            sa.select(AuditEvent).filter_by(action="representation_flags_acknowledged")
        ).one()


def test_marking_unweighted_priorities_final_needs_an_override(client, app):
    with app.app_context():
        survey_id = build_ward_survey()
    clear_cache()
    sign_in(client, "officer@wards-csp.example")
    base = f"/manage/surveys/{survey_id}/results/priorities"
    page = _text(client.get(base))
    assert "Priorities (unweighted)" in page
    refused = client.post_form(base + "/final", {"confirm": "yes"}, token_from=base)
    assert refused.status_code == 400
    assert "The results are unweighted because the weighting could not be used" in _text(refused)
    no_reason = client.post_form(
        base + "/final", {"confirm": "yes", "override": "yes"}, token_from=base
    )
    assert no_reason.status_code == 400 and "Say why" in _text(no_reason)
    done = client.post_form(
        base + "/final",
        {"confirm": "yes", "override": "yes", "override_reason": "Interim view for the board"},
        token_from=base,
    )
    assert done.status_code == 302
    with app.app_context():
        event = db.session.scalars(
            sa.select(AuditEvent).filter_by(action="representation_flags_acknowledged")
        ).one()
        assert "People living in Thurncourt (under-represented)" in event.details["flagged_groups"]
        override = db.session.scalars(
            sa.select(AuditEvent).filter_by(action="priorities_final_override")
        ).one()
        assert override.details["reason"] == "Interim view for the board"


def test_officer_chooses_weighting_and_trimming(client, app):
    with app.app_context():
        survey_id = build_ward_survey(answered_wards=("Abbey", "Castle", "Thurncourt"), per_ward=35)
    clear_cache()
    sign_in(client, "officer@wards-csp.example")
    path = f"/manage/surveys/{survey_id}/results/weighting"
    page = _text(client.get(path))
    assert "the default is used: ward" in page

    bad = client.post_form(
        path, {"variables": "area", "lower_bound": "a fifth", "upper_bound": "5"}
    )
    assert bad.status_code == 400
    assert "The smallest weight allowed must be a number" in _text(bad)
    none = client.post_form(path, {"lower_bound": "", "upper_bound": ""})
    assert none.status_code == 400 and "Choose at least one variable" in _text(none)
    unknown = client.post_form(path, {"variables": ["area", "religion"]})
    assert unknown.status_code == 400 and "cannot be weighted to: religion" in _text(unknown)

    saved = client.post_form(path, {"variables": "area", "lower_bound": "0.5", "upper_bound": "2"})
    assert saved.status_code == 302
    html = _text(client.get(f"/manage/surveys/{survey_id}/results"))
    assert "scheme chosen by an officer" in html
    assert "Weights kept between 0.5 and 2.0 times the mean" in html
    with app.app_context():
        (scheme,) = db.session.scalars(sa.select(WeightingScheme)).all()
        assert scheme.variables == ["area"] and scheme.upper_bound == 2.0

    back = client.post_form(path, {"action": "default"})
    assert back.status_code == 302
    assert "scheme chosen by an officer" not in _text(
        client.get(f"/manage/surveys/{survey_id}/results")
    )


def test_breakdown_by_any_demographic_suppresses_small_groups(client, demo_results):
    sign_in(client, DEMO_OFFICER)
    path = f"/manage/surveys/{demo_results['survey_id']}/results/breakdown"
    html = _text(client.get(path, query_string={"variable": "area", "measure": "safe_after_dark"}))
    assert "Feel unsafe walking alone after dark (a bit or very unsafe), by ward" in html
    assert "Abbey" in html and "Not shown: too few responses to report" in html
    by_age = _text(client.get(path, query_string={"variable": "age_band", "measure": "police_job"}))
    assert "by age" in by_age and "16-24" in by_age
    bad = client.get(path, query_string={"variable": "shoe_size", "measure": "safe_after_dark"})
    assert bad.status_code == 400 and "Choose a group this survey asks about" in _text(bad)


def test_a_survey_with_no_responses_says_so(client, app, accounts):
    from consult.models import Partnership
    from consult.services.surveys import create_survey

    accounts.user("officer", partnership="north-csp")
    with app.app_context():
        p = db.session.scalars(sa.select(Partnership).filter_by(slug="north-csp")).one()
        survey = create_survey(p, slug="empty-one", title={"en": "Empty"})
        db.session.commit()
        survey_id = survey.id
    sign_in(client, "officer@north-csp.example")
    for path in ("", "/priorities", "/weighting", "/breakdown"):
        page = client.get(f"/manage/surveys/{survey_id}/results{path}")
        assert page.status_code == 200, path
    assert "Nobody has submitted a response yet" in _text(
        client.get(f"/manage/surveys/{survey_id}/results")
    )


def test_breakdown_by_how_people_responded(client, demo_results):
    """Paper, imported and online responses can be told apart in the results."""
    sign_in(client, DEMO_OFFICER)
    path = f"/manage/surveys/{demo_results['survey_id']}/results/breakdown"
    html = _text(
        client.get(path, query_string={"variable": "channel", "measure": "safe_after_dark"})
    )
    assert "by how people responded" in html
    assert "online" in html and "paper" in html
