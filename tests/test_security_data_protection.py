"""Data protection as residents are promised it: no IP address or user agent
stored with answers, no answers in the logs, raw rows (and so
special-category answers) out of viewers' reach."""

from __future__ import annotations

import io
import logging
import random
import zipfile

import sqlalchemy as sa
from conftest import PASSWORD, sign_in

from bench.residents import walk_flask
from consult.extensions import db
from consult.models import Answer, Response, ResponseStatus

ADDRESS = "203.0.113.77"
AGENT = "Mozilla/5.0 (X11) UniqueAgent/9.9"
ANSWER = "Kestrelwood close has a drug den behind the garages"
IDENTIFYING = ("ip", "address", "agent", "remote", "host", "device", "browser", "fingerprint")


def _complete(client, demo, seed: int = 7) -> str:
    client.environ_base.update({"REMOTE_ADDR": ADDRESS, "HTTP_USER_AGENT": AGENT})
    walk = walk_flask(client, demo["slug"], random.Random(seed), text=ANSWER)
    assert walk.reference, walk.steps[-3:]
    return walk.reference


def test_no_column_of_responses_or_answers_could_hold_an_address_or_agent():
    for model in (Response, Answer):
        for column in model.__table__.columns:
            parts = column.name.lower().split("_")
            assert not any(part in IDENTIFYING for part in parts), f"{model.__name__}.{column.name}"


def test_a_completed_response_stores_neither_address_nor_user_agent(app, client, demo):
    reference = _complete(client, demo)
    with app.app_context():
        response = db.session.scalars(sa.select(Response).filter_by(reference=reference)).one()
        assert response.status == ResponseStatus.SUBMITTED
        assert any(a.text == ANSWER for a in response.answers)
        # Every value in every table: the address and agent are nowhere.
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(sa.select(table)).all():
                flat = " ".join(str(v) for v in row)
                assert ADDRESS not in flat and "UniqueAgent" not in flat, table.name
        db.session.remove()


def test_logs_never_hold_answers(app, client, demo, caplog):
    caplog.set_level(logging.DEBUG)
    reference = _complete(client, demo, seed=11)
    assert reference
    logged = caplog.text + " ".join(str(r.args) for r in caplog.records)
    assert ANSWER not in logged
    assert ADDRESS not in logged


def test_an_unexpected_error_logs_the_path_but_not_the_form(app, client, demo, caplog):
    """The 500 handler logs the request path only; an answer in the form of a
    failing request must not end up in the log."""
    caplog.set_level(logging.DEBUG)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    view = app.view_functions["main.healthz"]

    def broken():
        raise RuntimeError("boom")

    broken._consult_public = True
    app.view_functions["main.healthz"] = broken
    try:
        response = client.get("/healthz?comments=" + ANSWER.replace(" ", "+"))
    finally:
        app.view_functions["main.healthz"] = view
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in response.get_data(as_text=True)
    assert "Unhandled error on GET /healthz" in caplog.text
    assert ANSWER not in caplog.text


def _download(client, survey_id: int, fmt: str):
    return client.get(f"/manage/surveys/{survey_id}/export/download?format={fmt}")


def test_viewers_cannot_download_individual_responses(app, client, demo):
    reference = _complete(client, demo)
    client.environ_base.pop("REMOTE_ADDR")
    sign_in(client, "viewer@demo.example", PASSWORD)
    for fmt in ("csv", "json", "sav"):
        response = _download(client, demo["survey_id"], fmt)
        assert response.status_code == 403, fmt
        assert "You cannot download individual responses" in response.get_data(as_text=True)
    workbook = _download(client, demo["survey_id"], "xlsx")
    assert workbook.status_code == 200
    # The aggregate workbook a viewer may have holds no response or free text.
    with zipfile.ZipFile(io.BytesIO(workbook.get_data())) as archive:
        text = " ".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())
    assert reference not in text and ANSWER not in text
    # The check bites: an officer's download holds the raw rows.
    client.post_form("/sign-out", {}, token_from="/manage")
    sign_in(client, "officer@demo.example", PASSWORD)
    officer = _download(client, demo["survey_id"], "csv")
    assert officer.status_code == 200
    assert reference in officer.get_data(as_text=True)
