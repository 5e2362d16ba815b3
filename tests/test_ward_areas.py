"""Wards grouped into the partnership's areas: the officer's page, its bad
inputs, and what it changes in results. The survey is the small skewed one of
test_results_honest (40 residents in 4 of Leicester's 21 wards), where without
areas wards leave the weighting altogether."""

from __future__ import annotations

import json

import sqlalchemy as sa
from conftest import PASSWORD, sign_in
from test_results_honest import build_skewed_survey

from consult.build.forms.areas import ward_field
from consult.extensions import db
from consult.models import AuditEvent, Partnership, Role, Survey, WardArea
from consult.services.accounts import create_partnership, create_user
from consult.services.areas import benchmark_wards
from consult.services.results import clear_cache, compute_results

PAGE = "/manage/surveys/ward-areas"
ANSWERED = {"Abbey": "North", "Castle": "Central", "Knighton": "South", "Evington": "East"}


def _four_areas(wards: list[str]) -> dict[str, str]:
    """Each area holds one answered ward and a share of the empty ones."""
    names = list(ANSWERED.values())
    others = [w for w in wards if w not in ANSWERED]
    chosen = dict(ANSWERED)
    chosen.update({w: names[i % 4] for i, w in enumerate(others)})
    return chosen


def _wards(app) -> list[str]:
    with app.app_context():
        p = db.session.scalars(sa.select(Partnership).filter_by(slug="skew-csp")).one()
        return [w for w, _ in benchmark_wards(p.id)]


def test_officer_groups_wards_and_results_weight_to_the_areas(client, app):
    with app.app_context():
        survey_id = build_skewed_survey()
        survey = db.session.get(Survey, survey_id)
        clear_cache()
        before = compute_results(survey)
        collapsed = {c["variable"]: c for c in before.scheme["collapsed"]}
        assert collapsed["area"]["action"] == "dropped"
    wards = _wards(app)
    assert len(wards) == 21 and "Abbey" in wards

    sign_in(client, "officer@skew.example")
    page = client.get(PAGE).get_data(as_text=True)
    assert "Wards are not grouped yet" in page
    assert 'id="' + ward_field("Braunstone Park & Rowley Fields") + '"' in page
    # The weighting page offers the way out where wards were left out.
    weighting = client.get(f"/manage/surveys/{survey_id}/results/weighting")
    assert "Group wards into areas" in weighting.get_data(as_text=True)

    chosen = _four_areas(wards)
    data = {ward_field(w): a for w, a in chosen.items()}
    saved = client.post_form(PAGE, data, follow_redirects=True)
    html = saved.get_data(as_text=True)
    assert saved.status_code == 200
    assert "Saved: 21 of 21 wards grouped into 4 areas." in html
    assert 'id="areas"' in html and "North" in html

    with app.app_context():
        rows = db.session.scalars(sa.select(WardArea)).all()
        assert {r.ward: r.area for r in rows} == chosen
        event = db.session.scalars(sa.select(AuditEvent).filter_by(action="ward_areas_set")).one()
        assert event.details == {"wards": 21, "areas": 4}
        survey = db.session.get(Survey, survey_id)
        # No stale results: the grouping is part of the results' state.
        after = compute_results(survey)
        assert after.state_key != before.state_key
        collapsed = {c["variable"]: c for c in after.scheme["collapsed"]}
        assert collapsed["area"]["action"] == "collapsed"
        assert (
            "Wards were grouped into 4 areas because 17 had no responses"
            in (collapsed["area"]["message"])
        )
        assert "area" in after.scheme["variables"]

    out = app.test_cli_runner().invoke(args=["consult", "results", "our-survey", "--json"])
    doc = json.loads(out.output)
    area = next(c for c in doc["weighting"]["collapsed"] if c["variable"] == "area")
    assert area["action"] == "collapsed"

    # Clearing every box ungroups the wards again.
    cleared = client.post_form(PAGE, {ward_field(w): "" for w in wards}, follow_redirects=True)
    assert "Saved: wards are not grouped into areas." in cleared.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(sa.select(WardArea)).first() is None


def test_bad_areas_are_refused_on_the_ward_and_nothing_changes(client, app):
    with app.app_context():
        build_skewed_survey()
    wards = _wards(app)
    sign_in(client, "officer@skew.example")
    client.post_form(PAGE, {ward_field("Abbey"): "North"})

    capitals = client.post_form(
        PAGE, {ward_field("Abbey"): "North", ward_field("Belgrave"): "north "}
    )
    html = capitals.get_data(as_text=True)
    assert capitals.status_code == 400
    assert "differs from ‘North’ only in capitals" in html
    assert f'href="#{ward_field("Belgrave")}"' in html

    long = client.post_form(PAGE, {ward_field("Castle"): "x" * 121})
    assert long.status_code == 400
    assert "The area for Castle must be 120 characters or fewer" in long.get_data(as_text=True)

    with app.app_context():
        rows = db.session.scalars(sa.select(WardArea)).all()
        assert [(r.ward, r.area) for r in rows] == [("Abbey", "North")]
    assert len(wards) == 21


def test_without_ward_benchmarks_the_page_says_what_to_do(client, app, accounts):
    email = accounts.user(Role.OFFICER, partnership="bare-csp")
    sign_in(client, email)
    page = client.get(PAGE).get_data(as_text=True)
    assert "have no ward figures, so there is nothing to group" in page
    refused = client.post_form(PAGE, {}, token_from=PAGE)
    assert refused.status_code == 400
    assert "Upload population benchmarks with ward figures" in refused.get_data(as_text=True)


def test_viewers_read_the_areas_but_cannot_change_them(client, app):
    with app.app_context():
        build_skewed_survey()
        p = db.session.scalars(sa.select(Partnership).filter_by(slug="skew-csp")).one()
        db.session.add(WardArea(partnership_id=p.id, ward="Abbey", area="North"))
        other = create_partnership("other-csp", "Other Partnership")
        create_user("officer@other.example", PASSWORD, partnership=other, role=Role.OFFICER)
        db.session.commit()
    sign_in(client, "viewer@skew.example")
    page = client.get(PAGE).get_data(as_text=True)
    assert "North" in page and "Save areas" not in page
    token = client.csrf_token(PAGE)
    refused = client.post(PAGE, data={"csrf_token": token, ward_field("Abbey"): "South"})
    assert refused.status_code == 403
    with app.app_context():
        assert db.session.scalars(sa.select(WardArea.area)).one() == "North"

    # Another partnership sees none of it.
    client.post_form("/sign-out", {}, token_from=PAGE)
    sign_in(client, "officer@other.example")
    other_page = client.get(PAGE).get_data(as_text=True)
    assert "North" not in other_page and "have no ward figures" in other_page
