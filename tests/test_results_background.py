"""Results of a large survey computed by a background job on the real RQ
queue: the page says they are being computed (and looks again), a worker
computes and stores them, and then every page reads them; small surveys and
inline jobs (the embedded default) compute on the page as before."""

from __future__ import annotations

import sqlalchemy as sa
from test_results_streams import build

from consult import jobs
from consult.extensions import db
from consult.models import Job, ResultsCache


def _work(app) -> None:
    from rq import SimpleWorker

    with app.app_context():
        queue = jobs.queue()
        SimpleWorker([queue], connection=queue.connection).work(burst=True)


def test_a_large_survey_is_computed_by_a_worker_and_then_read_by_every_page(
    on_redis, client, signed_in, monkeypatch
):
    app = on_redis
    monkeypatch.setitem(app.config, "RESULTS_JOB_MIN_RESPONSES", 10)
    with app.app_context():
        survey_id = build()
    signed_in("officer")
    page = client.get(f"/manage/surveys/{survey_id}/results")
    assert page.status_code == 202
    assert "are being computed" in page.get_data(as_text=True)
    assert page.headers["Retry-After"] == "5"
    # Asking again while it is queued finds the same job.
    assert client.get(f"/manage/surveys/{survey_id}/results/priorities").status_code == 202
    with app.app_context():
        queued = db.session.scalars(sa.select(Job).filter_by(kind="results")).all()
        assert [j.status for j in queued] == ["queued"]
        assert db.session.scalar(sa.select(sa.func.count(ResultsCache.id))) == 0
    _work(app)
    with app.app_context():
        job = db.session.scalars(sa.select(Job).filter_by(kind="results")).one()
        assert job.status == "done", job.error
        assert db.session.scalar(sa.select(sa.func.count(ResultsCache.id))) >= 1
    page = client.get(f"/manage/surveys/{survey_id}/results")
    assert page.status_code == 200
    assert "14 submitted responses in the sample stream" in page.get_data(as_text=True)


def test_a_small_survey_is_computed_on_the_page_even_with_a_queue(on_redis, client, signed_in):
    with on_redis.app_context():
        survey_id = build()
    signed_in("officer")
    page = client.get(f"/manage/surveys/{survey_id}/results")
    assert page.status_code == 200
    with on_redis.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Job.id))) == 0


def test_inline_jobs_compute_on_the_page(app, client, signed_in, monkeypatch):
    monkeypatch.setitem(app.config, "JOBS_INLINE", True)
    monkeypatch.setitem(app.config, "RESULTS_JOB_MIN_RESPONSES", 1)
    with app.app_context():
        survey_id = build()
    signed_in("officer")
    assert client.get(f"/manage/surveys/{survey_id}/results").status_code == 200
