"""Large Excel and SPSS exports made by a background job on the real RQ
queue: the officer waits on a page that looks again, a worker builds the
file, and the page then offers it; small surveys and streamed formats are
downloaded in the request as before."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import openpyxl
import pytest
import sqlalchemy as sa
from conftest import PASSWORD, sign_in

from consult import jobs
from consult.extensions import db
from consult.models import AuditEvent, Job, Response, Survey
from consult.services.demo_responses import seed_demo_responses
from consult.services.seed import seed_demo


@pytest.fixture
def survey_id(app):
    with app.app_context():
        seed_demo(PASSWORD, responses=False)
        survey = db.session.scalars(sa.select(Survey).filter_by(slug="feeling-safe")).one()
        seed_demo_responses(survey, n=60, seed=5)
        db.session.commit()
        return survey.id


@pytest.fixture
def large(on_redis, monkeypatch):
    monkeypatch.setitem(on_redis.config, "EXPORT_JOB_MIN_RESPONSES", 10)
    return on_redis


def _work(app) -> None:
    from rq import SimpleWorker

    with app.app_context():
        queue = jobs.queue()
        SimpleWorker([queue], connection=queue.connection).work(burst=True)


def _export_jobs(app) -> list[Job]:
    with app.app_context():
        return list(db.session.scalars(sa.select(Job).filter_by(kind="export")))


def test_a_large_export_is_made_by_a_worker_then_downloaded(large, client, survey_id):
    app = large
    sign_in(client, "officer@demo.example")
    url = f"/manage/surveys/{survey_id}/export/download?format=xlsx&lang=en&weighted=yes"
    page = client.get(url)
    assert page.status_code == 202
    html = page.get_data(as_text=True)
    assert "Your export is being prepared" in html
    assert '<meta http-equiv="refresh" content="5">' in html
    assert page.headers["Retry-After"] == "5"
    # Asking again (the page refreshing, a double click) finds the same job.
    assert client.get(url).status_code == 202
    queued = _export_jobs(app)
    assert [j.status for j in queued] == ["queued"]
    job_id = queued[0].id
    progress = client.get(f"/manage/surveys/{survey_id}/export/jobs/{job_id}.json").get_json()
    assert progress["status"] == "queued" and progress["finished"] is False

    _work(app)
    [job] = _export_jobs(app)
    assert job.status == "done", job.error
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Your export is ready" in html and "http-equiv" not in html
    link = f"/manage/surveys/{survey_id}/export/jobs/{job_id}/download"
    assert link in html
    response = client.get(link)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert (
        response.headers["Content-Disposition"]
        == 'attachment; filename="feeling-safe-results.xlsx"'
    )
    wb = openpyxl.load_workbook(io.BytesIO(response.get_data()), read_only=True)
    assert "Responses" in wb.sheetnames
    rows = list(wb["Responses"].iter_rows(values_only=True))
    assert len(rows) == 2 + 60 and "weight" in rows[0]  # header, labels, responses
    about = dict(r[:2] for r in wb["About"].iter_rows(values_only=True))
    assert about["Exported by"] == "officer@demo.example"
    assert len(_export_jobs(app)) == 1
    with app.app_context():
        exported = db.session.scalars(
            sa.select(AuditEvent).filter_by(action="survey_exported")
        ).one()
        assert exported.user.email == "officer@demo.example"
        assert exported.details["format"] == "xlsx" and exported.details["raw"] is True
        downloaded = db.session.scalars(
            sa.select(AuditEvent).filter_by(action="export_downloaded")
        ).one()
        assert downloaded.details["job"] == job_id


def test_a_new_response_makes_a_new_export(large, client, survey_id):
    sign_in(client, "officer@demo.example")
    url = f"/manage/surveys/{survey_id}/export/download?format=sav"
    assert client.get(url).status_code == 202
    with large.app_context():
        # A response submitted just now (the latest submission moves).
        latest = db.session.scalars(
            sa.select(Response).filter_by(survey_id=survey_id).order_by(Response.id)
        ).first()
        latest.submitted_at = datetime.now(UTC)
        db.session.commit()
    assert client.get(url).status_code == 202
    assert len(_export_jobs(large)) == 2


def test_another_partnership_gets_404(large, client, signed_in, survey_id):
    officer = large.test_client()
    sign_in(officer, "officer@demo.example")
    assert (
        officer.get(f"/manage/surveys/{survey_id}/export/download?format=xlsx").status_code == 202
    )
    [job] = _export_jobs(large)
    _work(large)
    signed_in("viewer", partnership="south-csp")
    base = f"/manage/surveys/{survey_id}/export"
    assert client.get(f"{base}/download?format=xlsx").status_code == 404
    assert client.get(f"{base}/jobs/{job.id}/download").status_code == 404
    assert client.get(f"{base}/jobs/{job.id}.json").status_code == 404


def test_a_viewer_gets_403_on_raw_formats_and_the_aggregate_workbook_as_a_job(
    large, client, survey_id
):
    officer = large.test_client()
    sign_in(officer, "officer@demo.example")
    assert officer.get(f"/manage/surveys/{survey_id}/export/download?format=sav").status_code == 202
    [officers] = _export_jobs(large)
    sign_in(client, "viewer@demo.example")
    base = f"/manage/surveys/{survey_id}/export"
    assert client.get(f"{base}/download?format=sav").status_code == 403
    # Nor the officer's job with individual responses.
    assert client.get(f"{base}/jobs/{officers.id}/download").status_code == 403
    assert client.get(f"{base}/download?format=xlsx").status_code == 202
    _work(large)
    viewers = next(j for j in _export_jobs(large) if j.params["format"] == "xlsx")
    assert viewers.status == "done", viewers.error
    response = client.get(f"{base}/jobs/{viewers.id}/download")
    assert response.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(response.get_data()), read_only=True)
    assert "Responses" not in wb.sheetnames
    assert len(_export_jobs(large)) == 2


def test_bad_input_on_a_large_survey_gets_the_form_and_no_job(large, client, survey_id):
    with large.app_context():
        survey = db.session.get(Survey, survey_id)
        survey.languages = ["en", "ur"]
        db.session.commit()
    sign_in(client, "officer@demo.example")
    response = client.get(f"/manage/surveys/{survey_id}/export/download?format=xlsx&lang=pl")
    assert response.status_code == 400
    assert "There is a problem" in response.get_data(as_text=True)
    assert _export_jobs(large) == []


def test_small_surveys_and_streamed_formats_download_at_once(
    on_redis, client, survey_id, monkeypatch
):
    sign_in(client, "officer@demo.example")
    base = f"/manage/surveys/{survey_id}/export/download"
    response = client.get(f"{base}?format=xlsx")
    assert response.status_code == 200
    assert "Responses" in openpyxl.load_workbook(io.BytesIO(response.get_data())).sheetnames
    monkeypatch.setitem(on_redis.config, "EXPORT_JOB_MIN_RESPONSES", 10)
    assert client.get(f"{base}?format=csv").status_code == 200
    assert _export_jobs(on_redis) == []


def test_inline_jobs_download_at_once(app, client, survey_id, monkeypatch):
    monkeypatch.setitem(app.config, "JOBS_INLINE", True)
    monkeypatch.setitem(app.config, "EXPORT_JOB_MIN_RESPONSES", 1)
    sign_in(client, "officer@demo.example")
    response = client.get(f"/manage/surveys/{survey_id}/export/download?format=sav")
    assert response.status_code == 200
    assert _export_jobs(app) == []


def test_erasing_a_response_deletes_the_stored_exports_that_may_hold_it(large, client, survey_id):
    from consult.models import JobFile, Partnership
    from consult.services.retention import erase_response

    app = large
    sign_in(client, "officer@demo.example")
    url = f"/manage/surveys/{survey_id}/export/download?format=xlsx&lang=en&weighted=no"
    assert client.get(url).status_code == 202
    _work(app)
    [job] = _export_jobs(app)
    assert job.status == "done", job.error
    link = f"/manage/surveys/{survey_id}/export/jobs/{job.id}/download"
    assert client.get(link).status_code == 200
    with app.app_context():
        survey = db.session.get(Survey, survey_id)
        assert survey is not None
        partnership = db.session.get(Partnership, survey.partnership_id)
        reference = db.session.scalars(
            sa.select(Response.reference).filter_by(survey_id=survey_id, status="submitted")
        ).first()
        assert partnership is not None and reference is not None
        erase_response(partnership, reference, None)
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count(JobFile.id))) == 0
    [job] = _export_jobs(app)
    assert job.status == "failed" and "Ask for it again" in job.error
    # The old file is gone for good: its link now says why, and asking again
    # makes a new export.
    gone = client.get(link)
    assert gone.mimetype == "text/html"
    assert "Ask for it again" in gone.get_data(as_text=True)
    assert client.get(url).status_code == 202
