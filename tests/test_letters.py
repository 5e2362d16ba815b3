"""Letters to the drawn addresses: the PDF read back (every address and
code exactly once, the QR code carrying the code in the link's fragment, a
paragraph in each offered language set in its own face), reminders only to
unused codes, waves and their response rates, and the officer's pages and
command."""

from __future__ import annotations

import io
import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import segno
import sqlalchemy as sa
from letter_fixtures import address_lines, draw, letters_survey
from pypdf import PdfReader

from consult import jobs
from consult.extensions import db
from consult.models import AuditEvent, Invitation, Job, LetterWave, Response, Survey
from consult.services import ServiceError, letter_pdf, letters
from consult.services.responses import start_response
from consult.services.sampling import letter_code

BASE = "https://consult.example"


@pytest.fixture(autouse=True)
def _inline(app, monkeypatch):
    monkeypatch.setitem(app.config, "JOBS_INLINE", True)
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", BASE)


def pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def make(survey: Survey, *, reminders: bool = False) -> tuple[Job, bytes]:
    started = letters.start(survey, reminders=reminders)
    job = started.job
    assert job.status == "done", job.error
    pdf = jobs.result_file(job)
    assert pdf is not None
    return job, pdf


def codes_in(texts: list[str]) -> Counter[str]:
    return Counter(re.findall(r"\b[2-9A-Z]{5}-[2-9A-Z]{5}\b", "\n".join(texts)))


def submit(invitation: Invitation, when: datetime | None = None) -> Response:
    survey = db.session.get(Survey, invitation.survey_id)
    assert survey is not None
    response = start_response(survey, "en")
    response.status = "submitted"
    response.stream = "sample"
    response.submitted_at = when or datetime.now(UTC)
    db.session.flush()
    invitation.response_id = response.id
    db.session.flush()
    return response


def test_each_address_and_code_printed_once_with_the_shared_wording(app_context):
    survey = letters_survey()
    addresses = draw(survey, 30)
    db.session.commit()
    job, pdf = make(survey)
    texts = pages_text(pdf)
    assert len(texts) == 60  # a front and a back (the languages) per letter
    fronts = texts[0::2]
    codes = {letter_code(survey.id, a.id) for a in addresses}
    assert codes_in(texts) == Counter({code: 1 for code in codes})
    for address, front in zip(addresses, fronts, strict=True):
        flat = " ".join(front.split())
        assert " ".join(address_lines(addresses.index(address) + 1).split()) in flat
        assert address.postcode in front
        assert letter_code(survey.id, address.id) in front
        assert "North Community Safety Partnership" in front
        assert "chosen at random" in flat  # the standard "why we ask"
        assert f"{BASE}/s/{survey.slug}/invitation" in flat
        assert "FREEPOST NORTH CSP" in flat  # how to ask for paper
    assert job.total == 30
    (wave,) = db.session.scalars(sa.select(LetterWave)).all()
    assert (wave.number, wave.kind, wave.count, wave.job_id) == (1, "first", 30, job.id)


def test_back_page_has_a_paragraph_in_each_language_in_its_own_face(app_context):
    survey = letters_survey()
    draw(survey, 2)
    db.session.commit()
    _job, pdf = make(survey)
    reader = PdfReader(io.BytesIO(pdf))
    back = reader.pages[1].extract_text()
    assert "Polski" in back and "proszę" in back
    assert "Soomaali" in back
    fonts = {
        str(font.get_object()["/BaseFont"])
        for font in (reader.pages[1]["/Resources"].get("/Font") or {}).values()
    }
    for face in ("NotoNastaliqUrdu", "NotoNaskhArabic", "NotoSansGujarati", "NotoSansGurmukhi"):
        assert any(face in name.replace("-", "") for name in fonts), (face, fonts)
    # Every back page is the same page content, stored once.
    assert reader.pages[1].raw_get("/Contents") == reader.pages[3].raw_get("/Contents")


def test_qr_code_carries_the_code_in_the_link_fragment(app_context):
    survey = letters_survey()
    (address,) = draw(survey, 1)
    db.session.commit()
    _job, pdf = make(survey)
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    (image,) = page.images
    pixels = np.array(image.image.convert("L")) < 128
    code = letter_code(survey.id, address.id)
    link = f"{BASE}/s/{survey.slug}/invitation#code={code}"
    expected = np.pad(np.array([list(row) for row in segno.make(link, error="m").matrix]), 2)
    # segno chooses its own mask; compare with the same symbol at the mask we print.
    ours = segno.make(link, error="m", mask=letter_pdf.QR_MASK, boost_error=False)
    expected = np.pad(np.array([list(row) for row in ours.matrix]), 2)
    assert pixels.shape == expected.shape
    assert (pixels == expected.astype(bool)).all()


def test_fast_qr_codes_match_segno():
    link = f"{BASE}/s/feeling-safe/invitation#code="
    qr = letter_pdf.QrCodes(link + "AAAAA-AAAAA")
    for code in ("E85K8-M5D4K", "22222-ZZZZZ", "ABCDE-FGHJK"):
        reference = segno.make(link + code, error="m", mask=letter_pdf.QR_MASK, boost_error=False)
        assert (qr.matrix(link + code) == np.array([list(r) for r in reference.matrix])).all()
    # A link of another length falls back to segno itself.
    other = link + "SHORT"
    reference = segno.make(other, error="m", mask=letter_pdf.QR_MASK, boost_error=False)
    assert (qr.matrix(other) == np.array([list(r) for r in reference.matrix])).all()


def test_fonts_are_embedded_once_in_the_file(app_context):
    survey = letters_survey()
    draw(survey, 40)
    db.session.commit()
    _job, pdf = make(survey)
    assert pdf.count(b"/FontFile2") == len(set(re.findall(rb"/FontName\s*/([\w+-]+)", pdf)))
    assert pdf.count(b"/FontFile2") < 20  # 40 letters, a dozen faces, each once


def test_reminders_go_only_to_unused_codes(app_context):
    survey = letters_survey()
    addresses = draw(survey, 10)
    make(survey)
    invitations = {i.address_id: i for i in db.session.scalars(sa.select(Invitation)).all()}
    invitations[addresses[0].id].cancelled_at = datetime.now(UTC)  # moved house
    submit(invitations[addresses[1].id])  # answered
    in_progress = start_response(survey, "en")  # started, not submitted: still reminded
    db.session.flush()
    invitations[addresses[2].id].response_id = in_progress.id
    db.session.commit()
    job, pdf = make(survey, reminders=True)
    texts = pages_text(pdf)
    expected = {letter_code(survey.id, a.id) for a in addresses[2:]}
    assert codes_in(texts) == Counter({code: 1 for code in expected})
    assert "We have not yet had an answer from your household" in texts[0]
    numbers = [(w.number, w.kind, w.count) for w in letters.waves(survey)]
    assert numbers == [(1, "first", 10), (2, "reminder", 8)]
    # Asking for the same reminder again is the same job; the next one is wave 3.
    job3, _pdf = make(survey, reminders=True)
    assert job3.id != job.id and job3.params["wave"] == 3


def test_bad_states_have_clear_messages(app_context):
    survey = letters_survey()
    with pytest.raises(ServiceError, match="No addresses have been drawn"):
        letters.start(survey, reminders=False)
    addresses = draw(survey, 2)
    with pytest.raises(ServiceError, match="first letters before any reminder"):
        letters.start(survey, reminders=True)
    first, _pdf = make(survey)
    # The first letters are made once: asking again returns the same job.
    again = letters.start(survey, reminders=False)
    assert again.already and again.job.id == first.id
    for invitation in db.session.scalars(sa.select(Invitation)).all():
        submit(invitation)
    db.session.commit()
    with pytest.raises(ServiceError, match="nobody to remind"):
        letters.start(survey, reminders=True)
    assert len(addresses) == 2


def test_an_address_the_letters_cannot_print_fails_the_job_clearly(app_context):
    survey = letters_survey()
    (address,) = draw(survey, 1)
    address.lines = "١٢ شارع\nLeicester"
    db.session.commit()
    job = letters.start(survey, reminders=False).job
    assert job.status == "failed"
    assert "character the letters cannot print" in job.error
    assert "شارع" not in job.error  # no address in the message


def test_wave_rates_count_responses_between_waves(app_context):
    survey = letters_survey()
    addresses = draw(survey, 10)
    db.session.commit()
    start = datetime(2026, 3, 1, 9, tzinfo=UTC)
    db.session.add(LetterWave(survey_id=survey.id, number=1, kind="first", count=10))
    db.session.add(LetterWave(survey_id=survey.id, number=2, kind="reminder", count=7))
    db.session.flush()
    first, second = letters.waves(survey)
    first.created_at, second.created_at = start, start + timedelta(days=14)
    invitations = {i.address_id: i for i in db.session.scalars(sa.select(Invitation)).all()}
    for index, days in enumerate((1, 2, 3, 15, 20)):
        submit(invitations[addresses[index].id], start + timedelta(days=days))
    db.session.flush()
    rates = letters.wave_rates(survey)
    assert [(r.label, r.letters, r.responses) for r in rates] == [
        ("First letters", 10, 3),
        ("Reminder 1", 7, 2),
    ]
    assert rates[0].rate == pytest.approx(0.3)
    assert rates[1].rate == pytest.approx(2 / 7)


def test_wording_is_saved_and_printed(app_context):
    survey = letters_survey()
    draw(survey, 1)
    letters.save_settings(
        survey, why="Your views shape next year's plan.", contact="call 0116 000 0000"
    )
    db.session.commit()
    _job, pdf = make(survey)
    front = " ".join(pages_text(pdf)[0].split())
    assert "Your views shape next year's plan." in front
    assert "To ask for a paper questionnaire: call 0116 000 0000" in front
    with pytest.raises(ServiceError, match="800 characters"):
        letters.save_settings(survey, why="x" * 801, contact="")


# --- the officer's pages ---------------------------------------------------------------


def _survey_with_sample(app, *, partnership_slug: str = "north-csp", count: int = 3) -> int:
    with app.app_context():
        survey = letters_survey(partnership_slug=partnership_slug)
        draw(survey, count)
        db.session.commit()
        return survey.id


def test_officer_makes_letters_and_downloads_them(client, signed_in, app):
    signed_in("officer")
    survey_id = _survey_with_sample(app)
    page = client.get(f"/manage/surveys/{survey_id}/letters")
    assert page.status_code == 200
    assert "Make the first letters" in page.get_data(as_text=True)
    made = client.post_form(
        f"/manage/surveys/{survey_id}/letters/make",
        {"kind": "first"},
        token_from=f"/manage/surveys/{survey_id}/letters",
    )
    assert made.status_code == 302
    page = client.get(f"/manage/surveys/{survey_id}/letters").get_data(as_text=True)
    assert "3 letters are ready to download" in page
    assert "Download the letters (PDF)" in page
    assert "Make reminders (3 unused codes)" in page
    assert 'id="wave-rates"' in page
    with app.app_context():
        job = db.session.scalars(sa.select(Job)).one()
        job_id = job.id
    status = client.get(f"/manage/surveys/{survey_id}/letters/jobs/{job_id}.json")
    assert status.get_json()["status"] == "done" and status.get_json()["total"] == 3
    pdf = client.get(f"/manage/surveys/{survey_id}/letters/jobs/{job_id}/letters.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert "attachment" in pdf.headers["Content-Disposition"]
    assert pdf.headers["Cache-Control"] == "no-store"
    assert len(codes_in(pages_text(pdf.data))) == 3
    # Asking again returns the same job, with a message.
    again = client.post_form(
        f"/manage/surveys/{survey_id}/letters/make",
        {"kind": "first"},
        token_from=f"/manage/surveys/{survey_id}/letters",
        follow_redirects=True,
    )
    assert "already made" in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Job.id))) == 1
        # The audit log has the request and the download once each: asking
        # again for letters already made is not a new request.
        actions = db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert [a for a in actions if a.startswith("letters_")] == [
        "letters_requested",
        "letters_downloaded",
    ]


def test_page_without_sample_says_so_and_making_is_refused(client, signed_in, app):
    signed_in("officer")
    with app.app_context():
        survey = letters_survey()
        db.session.commit()
        survey_id = survey.id
    page = client.get(f"/manage/surveys/{survey_id}/letters").get_data(as_text=True)
    assert "No addresses have been drawn for this survey yet" in page
    made = client.post_form(
        f"/manage/surveys/{survey_id}/letters/make",
        {"kind": "reminders"},
        token_from=f"/manage/surveys/{survey_id}/letters",
        follow_redirects=True,
    )
    assert "draw the sample first" in made.get_data(as_text=True)


def test_progress_is_shown_while_a_job_runs(client, signed_in, app):
    signed_in("officer")
    survey_id = _survey_with_sample(app)
    with app.app_context():
        job = Job(
            kind="letters",
            survey_id=survey_id,
            key=f"letters:{survey_id}:1",
            status="running",
            progress=500,
            total=2000,
            heartbeat_at=datetime.now(UTC),
            params={"wave": 1},
        )
        db.session.add(job)
        db.session.commit()
    page = client.get(f"/manage/surveys/{survey_id}/letters").get_data(as_text=True)
    assert 'Making letters: <span id="job-count">500 of 2,000</span>' in page
    assert "js/letters.js" in page and "<script>" not in page


def test_wording_too_long_is_refused_with_a_message(client, signed_in, app):
    signed_in("officer")
    survey_id = _survey_with_sample(app)
    response = client.post_form(
        f"/manage/surveys/{survey_id}/letters/wording",
        {"why": "x" * 900, "contact": ""},
        token_from=f"/manage/surveys/{survey_id}/letters",
    )
    assert response.status_code == 400
    assert "800 characters or fewer" in response.get_data(as_text=True)


def test_viewers_and_other_partnerships_cannot_reach_letters(client, signed_in, app, accounts):
    survey_id = _survey_with_sample(app)
    signed_in("viewer")
    assert client.get(f"/manage/surveys/{survey_id}/letters").status_code == 403
    other = app.test_client()
    from conftest import sign_in

    email = accounts.user("officer", partnership="south-csp")
    sign_in(other, email)
    assert other.get(f"/manage/surveys/{survey_id}/letters").status_code == 404
    assert other.get(f"/manage/surveys/{survey_id}/letters/jobs/1/letters.pdf").status_code == 404


# --- the command line ----------------------------------------------------------------


def test_command_writes_letters_and_reminders(app, tmp_path):
    survey_id = _survey_with_sample(app, count=4)
    with app.app_context():
        slug = db.session.get(Survey, survey_id).slug
    runner = app.test_cli_runner()
    out = tmp_path / "letters.pdf"
    result = runner.invoke(args=["consult", "letters", slug, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Wrote 4 letters (first letters)" in result.output
    assert len(codes_in(pages_text(out.read_bytes()))) == 4
    result = runner.invoke(args=["consult", "letters", slug, "--out", str(out), "--reminders"])
    assert "Wrote 4 letters (reminder 1)" in result.output
    # Each mailing asked for is in the audit log, with no officer behind it.
    with app.app_context():
        requested = db.session.scalars(
            sa.select(AuditEvent).filter_by(action="letters_requested").order_by(AuditEvent.id)
        ).all()
    assert [(e.details["wave"], e.user_id) for e in requested] == [(1, None), (2, None)]


def test_command_without_sample_fails_clearly(app, tmp_path):
    with app.app_context():
        letters_survey(slug="no-sample")
        db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["consult", "letters", "no-sample", "--out", str(tmp_path / "x.pdf")]
    )
    assert result.exit_code != 0
    assert "draw the sample first" in result.output
    assert not (tmp_path / "x.pdf").exists()
    result = runner.invoke(args=["consult", "letters", "nope", "--out", str(tmp_path / "x.pdf")])
    assert "No survey called 'nope'" in result.output


def test_monitor_shows_response_rates_per_stratum_and_wave(client, signed_in, app):
    signed_in("officer")
    survey_id = _survey_with_sample(app, count=4)
    client.post_form(
        f"/manage/surveys/{survey_id}/letters/make",
        {"kind": "first"},
        token_from=f"/manage/surveys/{survey_id}/letters",
    )
    with app.app_context():
        invitation = db.session.scalars(sa.select(Invitation).order_by(Invitation.id)).first()
        assert invitation is not None
        submit(invitation)
        db.session.commit()
    page = client.get(f"/manage/surveys/{survey_id}/fieldwork").get_data(as_text=True)
    assert 'id="sample-rates"' in page and 'id="wave-rates"' in page
    rates = re.search(r'id="sample-rates".*?</table>', page, re.S)
    assert rates is not None and "25.0%" in rates.group(0)
    live = client.get(f"/manage/surveys/{survey_id}/fieldwork.json").get_json()
    assert live["sample"][-1] == {
        "stratum": "Total",
        "drawn": 4,
        "started": 1,
        "submitted": 1,
        "cancelled": 0,
        "rate": 0.25,
    }
    assert live["waves"] == [{"wave": 1, "kind": "first", "letters": 4, "responses": 1}]


def test_monitor_of_a_survey_without_a_sample_shows_no_sample_tables(client, signed_in, app):
    signed_in("officer")
    with app.app_context():
        survey = letters_survey()
        db.session.commit()
        survey_id = survey.id
    page = client.get(f"/manage/surveys/{survey_id}/fieldwork").get_data(as_text=True)
    assert 'id="sample-rates"' not in page
    assert client.get(f"/manage/surveys/{survey_id}/fieldwork.json").get_json()["sample"] is None
