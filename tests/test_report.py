"""The strategy report: order of sections, accessible charts with their data,
disclosure control, trend against the baseline, acknowledgement of flags."""

from __future__ import annotations

import re

import html5lib
import pytest
import sqlalchemy as sa
from conftest import PASSWORD, sign_in

from consult.extensions import db
from consult.models import Survey, User
from consult.services.demo_responses import seed_demo_responses
from consult.services.report import Bar, bar_chart, build_report
from consult.services.results import acknowledge_flags, compute_results
from consult.services.seed import DEMO_LAYOUT, seed_demo
from consult.services.surveys import add_bank_question, add_section, create_survey


@pytest.fixture
def demo_small(app):
    with app.app_context():
        seed_demo(PASSWORD, responses=False)
        survey = db.session.scalars(sa.select(Survey).filter_by(slug="feeling-safe")).one()
        seed_demo_responses(survey, n=400, seed=3)
        db.session.commit()
        return survey.id


def _baseline(survey: Survey) -> Survey:
    """An earlier wave with the same question keys."""
    baseline = create_survey(
        survey.partnership,
        slug="feeling-safe-2025",
        title={"en": "Feeling safe 2025"},
        languages=["en"],
    )
    for section_key, kind, entries in DEMO_LAYOUT:
        section = add_section(baseline, section_key, {"en": section_key}, kind=kind)
        for bank_key, show_if in entries:
            add_bank_question(baseline, section, bank_key, show_if=show_if)
    baseline.status = "closed"
    seed_demo_responses(baseline, n=300, seed=99)
    survey.baseline_id = baseline.id
    survey.wave = 2
    db.session.commit()
    return baseline


def test_bar_chart_is_accessible_svg_without_style_attributes():
    svg = str(
        bar_chart(
            [
                Bar("Feel <unsafe>", 0.42, 0.38, 0.46),
                Bar("Tiny group", None, note="too few to report"),
            ],
            title="Headline & more",
            description="Shares with intervals.",
            chart_id="c1",
        )
    )
    assert svg.startswith("<svg") and 'role="img"' in svg
    assert 'aria-labelledby="c1-title c1-desc"' in svg
    assert '<title id="c1-title">Headline &amp; more</title>' in svg
    assert "<desc" in svg and "Feel &lt;unsafe&gt;" in svg
    assert "style=" not in svg and "<script" not in svg
    assert "42%" in svg and "too few to report" in svg
    html5lib.HTMLParser(strict=True).parseFragment(svg)


def test_report_reads_in_order_with_a_table_beside_every_chart(app, client, demo_small):
    with app.app_context():
        survey = db.session.get(Survey, demo_small)
        officer = db.session.scalars(sa.select(User).filter_by(email="officer@demo.example")).one()
        acknowledge_flags(survey, officer, compute_results(survey))
        db.session.commit()
    sign_in(client, "viewer@demo.example")
    response = client.get(f"/manage/surveys/{demo_small}/report")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    order = [
        html.index(f'id="{s}"')
        for s in (
            "who-took-part",
            "who-is-missing",
            "acknowledgement",
            "headlines",
            "breakdowns",
            "priorities",
            "trend",
        )
    ]
    assert order == sorted(order)
    assert "are under-represented" in html
    assert "Demo Officer confirmed on" in html
    assert "style=" not in html
    assert 'media="print"' in html and "css/print.css" in html
    charts = re.findall(r'<svg[^>]*role="img"', html)
    assert len(charts) >= 3
    # Each chart sits in a row with a data table: no chart is the only way to read a number.
    for row in html.split('class="govuk-grid-row consult-chart-row"')[1:]:
        block = row.split('class="govuk-grid-row')[0]
        if "<svg" in block:
            assert "<table" in block
    assert "first wave" in html  # no baseline yet


def test_report_suppresses_small_groups(app, client, demo_small):
    old = app.config["DISCLOSURE_MIN_CELL"]
    app.config["DISCLOSURE_MIN_CELL"] = 40
    try:
        with app.app_context():
            report = build_report(db.session.get(Survey, demo_small))
            assert report.min_cell == 40
            cells = [row for _label, tables in report.breakdowns for t in tables for row in t.rows]
            small = [r for r in cells if r[1] == "fewer than 40"]
            assert small and all(r[2] == "" and r[3] == "" for r in small)
            assert all(r[2] for r in cells if r[1] != "fewer than 40" and r[2] != "")
            representation = report.representation.rows
            assert any(r[2] == "fewer than 40" and r[3] == "" for r in representation)
            assert not any(re.fullmatch(r"[1-3]?[0-9]", r[2]) for r in representation)
    finally:
        app.config["DISCLOSURE_MIN_CELL"] = old
    sign_in(client, "officer@demo.example")
    app.config["DISCLOSURE_MIN_CELL"] = 40
    try:
        html = client.get(f"/manage/surveys/{demo_small}/report").get_data(as_text=True)
    finally:
        app.config["DISCLOSURE_MIN_CELL"] = old
    assert "fewer than 40 respondents are not shown" in html


def test_report_shows_the_trend_against_the_baseline_wave(app, client, demo_small):
    with app.app_context():
        survey = db.session.get(Survey, demo_small)
        _baseline(survey)
        report = build_report(survey)
        assert report.baseline_title == "Feeling safe 2025"
        labels = [t.label for t in report.trends]
        assert any("after dark" in label for label in labels)
        trend = report.trends[0]
        assert (
            trend.baseline.endswith("%") and trend.latest.endswith("%") and "points" in trend.change
        )
    sign_in(client, "officer@demo.example")
    html = client.get(f"/manage/surveys/{demo_small}/report").get_data(as_text=True)
    assert 'id="trend-table"' in html and "Change since Feeling safe 2025" in html
