"""The export pages: roles, tenancy, streaming, audit and bad input."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa
from conftest import PASSWORD, sign_in

from consult.extensions import db
from consult.models import AuditEvent, Survey
from consult.services.demo_responses import seed_demo_responses
from consult.services.seed import seed_demo


@pytest.fixture
def demo_small(app):
    with app.app_context():
        seed_demo(PASSWORD, responses=False)
        survey = db.session.scalars(sa.select(Survey).filter_by(slug="feeling-safe")).one()
        seed_demo_responses(survey, n=120, seed=5)
        db.session.commit()
        return survey.id


def test_officer_downloads_a_streamed_csv_and_the_export_is_audited(app, client, demo_small):
    sign_in(client, "officer@demo.example")
    page = client.get(f"/manage/surveys/{demo_small}/export")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="format-sav"' in html and 'id="labels-link"' in html
    response = client.get(
        f"/manage/surveys/{demo_small}/export/download?format=csv&lang=ur&weighted=yes"
    )
    assert response.status_code == 200
    assert response.is_streamed
    assert (
        response.headers["Content-Disposition"]
        == 'attachment; filename="feeling-safe-responses.csv"'
    )
    frame = pd.read_csv(io.BytesIO(response.get_data()), encoding="utf-8-sig")
    assert len(frame) == 120 and "weight" in frame.columns
    labels = client.get(f"/manage/surveys/{demo_small}/export/labels?lang=ur")
    assert labels.status_code == 200 and "بہت محفوظ" in labels.get_data(as_text=True)
    with app.app_context():
        events = db.session.scalars(
            sa.select(AuditEvent).filter_by(action="survey_exported").order_by(AuditEvent.id)
        ).all()
        assert len(events) == 2
        first = events[0]
        assert first.user.email == "officer@demo.example"
        assert first.details["format"] == "csv" and first.details["language"] == "ur"
        assert first.details["weighted"] is True
        assert first.details["scheme"]["benchmark_version"] == 1
        assert events[1].details["part"] == "labels"


def test_viewer_gets_403_on_raw_exports_but_can_take_the_aggregate_workbook(
    app, client, demo_small
):
    sign_in(client, "viewer@demo.example")
    html = client.get(f"/manage/surveys/{demo_small}/export").get_data(as_text=True)
    assert 'id="format-csv"' not in html and 'id="format-xlsx"' in html
    for fmt in ("csv", "sav", "json"):
        assert (
            client.get(f"/manage/surveys/{demo_small}/export/download?format={fmt}").status_code
            == 403
        )
    assert client.get(f"/manage/surveys/{demo_small}/export/labels").status_code == 403
    response = client.get(f"/manage/surveys/{demo_small}/export/download?format=xlsx&weighted=yes")
    assert response.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(response.get_data()), read_only=True)
    assert wb.sheetnames == ["About", "Labels", "Representation", "Weighted results", "Priorities"]
    with app.app_context():
        event = db.session.scalars(sa.select(AuditEvent).filter_by(action="survey_exported")).one()
        assert event.details["raw"] is False


def test_another_partnership_cannot_see_the_survey(client, signed_in, demo_small):
    signed_in("officer", partnership="south-csp")
    assert client.get(f"/manage/surveys/{demo_small}/export").status_code == 404
    assert client.get(f"/manage/surveys/{demo_small}/export/download?format=csv").status_code == 404
    assert client.get(f"/manage/surveys/{demo_small}/report").status_code == 404
    assert client.get(f"/manage/surveys/{demo_small}/feedback").status_code == 404


def test_signed_out_people_are_sent_to_sign_in(client, demo_small):
    response = client.get(f"/manage/surveys/{demo_small}/export/download?format=csv")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


@pytest.mark.parametrize("query", ["format=pdf", "format=", "format=csv%0Aevil", "format=XLSX"])
def test_bad_input_gets_the_form_again_with_a_message(app, client, demo_small, query):
    sign_in(client, "officer@demo.example")
    response = client.get(f"/manage/surveys/{demo_small}/export/download?{query}")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "There is a problem" in html
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count(AuditEvent.id)).filter_by(action="survey_exported")
            )
            == 0
        )
