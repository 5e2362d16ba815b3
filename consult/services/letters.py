"""Letters to the sample stream's drawn addresses: the first letters, then
reminders to the codes not yet used, as one PDF per mailing (a "wave").

Each letter carries the partnership's name, why we ask, the address (placed
for a window envelope), the address's code, a QR code whose link carries the
code in the URL's fragment (`/s/<slug>/invitation#code=…`: the browser never
sends a fragment, so the code is in no server's log), and on the back a
paragraph in each language the survey offers telling how to answer in it,
and how to ask for paper.

Speed: WeasyPrint takes about 30–50 ms to lay out one letter, so 10,000
letters would take minutes. Everything but the address, the code and the QR
code is the same on every letter, so WeasyPrint typesets the shared pages
once per mailing (with Pango and HarfBuzz shaping Nastaliq, Gujarati …) and
each letter's own part is written straight into the PDF
(`consult.services.letter_pdf`): two lines of PDF
text operators in Noto Sans, embedded once for the whole file, and the QR
code as a one-bit inline image (a module per pixel, 200 bytes). Every front
page draws the typeset page as one shared form, so the fonts and the
typeset text are in the file once (bench/bench_letters.py has the figures).

Restart: the job plans the mailing once (which addresses, in which order,
kept with the job), then writes the letters' parts in chunks of CHUNK, each
stored with the job and checkpointed; a rerun after a killed worker skips
the stored chunks, so no letter is ever made twice."""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_request_context, render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _

from ..extensions import db
from ..i18n import LANGUAGES
from ..jobs import Checkpoint, job_kind, result_file
from ..models import (
    AddressSample,
    Invitation,
    Job,
    LetterSettings,
    LetterWave,
    Response,
    ResponseStatus,
    SampleAddress,
    Survey,
)
from ..vocabulary import JobStatus, LetterKind
from . import ServiceError
from .audit import record
from .content import SurveyTexts
from .letter_pdf import SLOTS, QrCodes, assemble, letter_fonts, letter_part
from .sampling import letter_code

KIND = "letters"
CHUNK = 500
RESULT = "letters.pdf"

DEFAULT_WHY = (
    "We want to know how safe people feel where they live, and what the partnership "
    "should do about it. Your household was chosen at random from all the addresses in "
    "the area, so your answers speak for many households like yours, including people "
    "who are not often asked."
)
WHY_MAX = 800
CONTACT_MAX = 300


# --- what is printed ----------------------------------------------------------------------


def settings(survey: Survey) -> LetterSettings:
    found = db.session.scalars(sa.select(LetterSettings).filter_by(survey_id=survey.id)).first()
    return found or LetterSettings(survey_id=survey.id, why="", contact="")


def save_settings(
    survey: Survey, *, why: str, contact: str, user_id: int | None = None
) -> LetterSettings:
    why = why.strip().replace("\r\n", "\n")
    contact = contact.strip().replace("\r\n", "\n")
    if len(why) > WHY_MAX:
        raise ServiceError(f"Why we ask must be {WHY_MAX} characters or fewer", field="why")
    if len(contact) > CONTACT_MAX:
        raise ServiceError(
            f"How to ask for paper must be {CONTACT_MAX} characters or fewer", field="contact"
        )
    found = settings(survey)
    found.why, found.contact = why, contact
    db.session.add(found)
    db.session.flush()
    record(
        "letter_wording_changed",
        partnership_id=survey.partnership_id,
        user_id=user_id,
        target=f"survey:{survey.id}",
    )
    return found


def paper_line(survey: Survey, contact: str) -> str:
    if contact:
        return f"To ask for a paper questionnaire: {contact}"
    address = ", ".join(
        line.strip() for line in (survey.partnership.return_address or "").splitlines() if line
    )
    if address:
        return f"To ask for a paper questionnaire, write to: {address}"
    return f"To ask for a paper questionnaire, contact {survey.partnership.name}."


def invitation_url(base_url: str, survey: Survey) -> str:
    return f"{base_url.rstrip('/')}/s/{survey.slug}/invitation"


def qr_link(base_url: str, survey: Survey, code: str) -> str:
    """The QR code's link: the code rides in the fragment, which browsers
    never send to the server."""
    return f"{invitation_url(base_url, survey)}#code={code}"


def base_url_for_letters(explicit: str | None = None) -> str:
    url = explicit or current_app.config.get("PUBLIC_BASE_URL")
    if not url and has_request_context():
        url = request.url_root
    if not url or not str(url).startswith(("https://", "http://")):
        raise ServiceError(
            "Letters need the service's public address for their links: set PUBLIC_BASE_URL "
            "(for example https://consult.example.org)"
        )
    return str(url).rstrip("/")


@dataclass
class SharedLetter:
    partnership: str
    title: str
    date: str
    why: str
    paper: str
    url: str
    reminder: bool
    languages: list[dict[str, str]] = field(default_factory=list)


def shared_letter(survey: Survey, *, reminder: bool, base_url: str) -> SharedLetter:
    texts = SurveyTexts(survey)
    found = settings(survey)
    paragraphs = []
    for code in survey.languages:
        language = LANGUAGES.get(code)
        if language is None:
            continue
        with force_locale(code):
            text = _(
                "To answer in %(language)s, go to the web address below, choose "
                "%(language)s, and enter the code printed on the front of this letter, or "
                "scan its QR code. To ask for a paper questionnaire in %(language)s, use the "
                "contact details on the front of this letter.",
                language=language.native_name,
            )
        paragraphs.append(
            {
                "code": code,
                "direction": language.direction,
                "name": f"{language.native_name} ({language.english_name})",
                "text": text,
            }
        )
    return SharedLetter(
        partnership=survey.partnership.name,
        title=texts.title(survey.default_language),
        date=datetime.now(UTC).strftime("%-d %B %Y"),
        why=found.why or DEFAULT_WHY,
        paper=paper_line(survey, found.contact),
        url=invitation_url(base_url, survey),
        reminder=reminder,
        languages=paragraphs if len(paragraphs) > 1 else [],
    )


def shared_pages(survey: Survey, *, reminder: bool, base_url: str) -> bytes:
    """The pages every letter shares, typeset once: the front with empty
    places for the letter's own part, and the back with the languages."""
    from weasyprint import HTML

    letter = shared_letter(survey, reminder=reminder, base_url=base_url)
    # The front is in English (the partnership's letters); the back's
    # paragraphs were translated above, each in its own language.
    with force_locale("en"):
        html = render_template("letters/letter.html", l=letter, slots=SLOTS)
    return bytes(HTML(string=html, base_url=None, url_fetcher=_no_fetch).write_pdf())


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise ValueError(f"letters fetch nothing ({url[:40]})")


# --- which addresses ----------------------------------------------------------------------


def _submitted() -> Any:
    return sa.exists().where(
        Response.id == Invitation.response_id, Response.status == ResponseStatus.SUBMITTED
    )


def recipients(survey: Survey, *, reminders: bool) -> list[int]:
    """The drawn addresses to write to, by id: every address whose code is
    not cancelled; for a reminder, only those whose code has not been used
    to submit a response."""
    query = (
        sa.select(SampleAddress.id)
        .join(Invitation, Invitation.address_id == SampleAddress.id)
        .where(SampleAddress.survey_id == survey.id, Invitation.cancelled_at.is_(None))
        .order_by(SampleAddress.id)
    )
    if reminders:
        query = query.where(~_submitted())
    return list(db.session.scalars(query))


def has_sample(survey: Survey) -> bool:
    return (
        db.session.scalar(
            sa.select(sa.func.count(SampleAddress.id)).where(SampleAddress.survey_id == survey.id)
        )
        or 0
    ) > 0


def waves(survey: Survey) -> list[LetterWave]:
    return list(
        db.session.scalars(
            sa.select(LetterWave).filter_by(survey_id=survey.id).order_by(LetterWave.number)
        )
    )


def jobs_for(survey: Survey) -> list[Job]:
    return list(
        db.session.scalars(
            sa.select(Job).filter_by(survey_id=survey.id, kind=KIND).order_by(Job.id.desc())
        )
    )


def active_job(survey: Survey) -> Job | None:
    from ..jobs import is_stale

    for job in jobs_for(survey):
        if job.status in (JobStatus.QUEUED, JobStatus.RUNNING) and not is_stale(job):
            return job
    return None


@dataclass
class Started:
    job: Job
    already: bool  # the same work was already under way (or done): no new job


def start(
    survey: Survey, *, reminders: bool, base_url: str | None = None, user_id: int | None = None
) -> Started:
    """Start (or find) the job for the next mailing. First letters are wave
    1 and made once; each reminder is the next wave, to the codes unused by
    then. Asking again while a mailing is being made returns that job."""
    from .. import jobs

    running = active_job(survey)
    if running is not None:
        return Started(running, True)
    if not has_sample(survey):
        raise ServiceError(
            "No addresses have been drawn for this survey yet: draw the sample first"
        )
    done = waves(survey)
    if not reminders:
        number = 1
    else:
        if not done:
            raise ServiceError("Make the first letters before any reminder")
        number = done[-1].number + 1
        if not recipients(survey, reminders=True):
            raise ServiceError("Every code has been used or cancelled: there is nobody to remind")
    url = base_url_for_letters(base_url)
    key = f"{KIND}:{survey.id}:{number}"
    existing = jobs.find(key)
    job = jobs.submit(
        KIND,
        survey,
        key,
        user_id=user_id,
        wave=number,
        reminders=reminders,
        base_url=url,
    )
    already = existing is not None and existing.status == JobStatus.DONE
    if not already:
        record(
            "letters_requested",
            partnership_id=survey.partnership_id,
            user_id=user_id,
            target=f"survey:{survey.id}",
            details={"wave": job.params.get("wave"), "job": job.id},
        )
    return Started(job, already)


def download(survey: Survey, job: Job, *, user_id: int | None) -> bytes | None:
    """A done mailing's PDF, the download recorded; None while it is not
    ready."""
    pdf = result_file(job)
    if pdf is not None:
        record(
            "letters_downloaded",
            partnership_id=survey.partnership_id,
            user_id=user_id,
            target=f"survey:{survey.id}",
            details={"job": job.id},
        )
    return pdf


# --- the job --------------------------------------------------------------------------------


@job_kind(KIND)
def make_letters(job: Job, checkpoint: Checkpoint) -> str:
    from .. import jobs

    survey = db.session.get(Survey, job.survey_id)
    if survey is None:
        raise ServiceError("The survey has been deleted")
    params = job.params
    reminders = bool(params.get("reminders"))
    base_url = str(params["base_url"])
    # The plan is made once: a resident who answers while the job runs (or
    # between a crash and the rerun) must not shift the letters between chunks.
    plan_data = jobs.read_file(job, "plan.json")
    if plan_data is None:
        plan = recipients(survey, reminders=reminders)
        if not plan:
            raise ServiceError("There are no addresses to write to")
        jobs.store_file(job, "plan.json", json.dumps(plan).encode())
        checkpoint.save(0, len(plan))
    else:
        plan = json.loads(plan_data)
    fonts = letter_fonts()
    qr = QrCodes(qr_link(base_url, survey, letter_code(survey.id, 0)))
    chunks = [plan[i : i + CHUNK] for i in range(0, len(plan), CHUNK)]
    stored = set(jobs.file_names(job, "part-"))
    for index, ids in enumerate(chunks):
        name = f"part-{index:05d}"
        if name in stored:
            continue
        addresses = db.session.scalars(
            sa.select(SampleAddress).where(SampleAddress.id.in_(ids))
        ).all()
        by_id = {a.id: a for a in addresses}
        pages, used_regular, used_bold = [], set(), set()
        for address_id in ids:
            address = by_id.get(address_id)
            if address is None:
                continue  # removed since the plan (the sample redrawn): nothing to print
            code = letter_code(survey.id, address.id)
            ops, regular, bold = letter_part(
                address, code, qr_link(base_url, survey, code), fonts, qr
            )
            pages.append(ops)
            used_regular |= regular
            used_bold |= bold
        part = {"pages": pages, "regular": sorted(used_regular), "bold": sorted(used_bold)}
        jobs.store_file(job, name, zlib.compress(json.dumps(part).encode(), 6))
        checkpoint.save(min((index + 1) * CHUNK, len(plan)), len(plan))
    template = shared_pages(survey, reminder=reminders, base_url=base_url)
    parts = []
    for name in jobs.file_names(job, "part-"):
        data = jobs.read_file(job, name)
        assert data is not None
        parts.append(json.loads(zlib.decompress(data)))
    pdf = assemble(template, parts, fonts)
    jobs.store_file(job, RESULT, pdf)
    jobs.delete_files(job, "part-")
    count = sum(len(p["pages"]) for p in parts)
    db.session.add(
        LetterWave(
            survey_id=survey.id,
            number=int(params["wave"]),
            kind=LetterKind.REMINDER if reminders else LetterKind.FIRST,
            count=count,
            job_id=job.id,
        )
    )
    db.session.flush()
    return f"file:{RESULT}"


# --- response rate per wave -----------------------------------------------------------------


@dataclass
class WaveRate:
    number: int
    kind: str
    sent_at: datetime
    letters: int
    responses: int  # sample-stream responses submitted after this wave, before the next

    @property
    def rate(self) -> float | None:
        return self.responses / self.letters if self.letters else None

    @property
    def label(self) -> str:
        return "First letters" if self.kind == LetterKind.FIRST else f"Reminder {self.number - 1}"


def wave_rates(survey: Survey) -> list[WaveRate]:
    """For each wave: the letters sent, and the responses made with a
    letter's code submitted after it and before the next wave."""
    rows = waves(survey)
    submitted_at = list(
        db.session.scalars(
            sa.select(Response.submitted_at)
            .join(Invitation, Invitation.response_id == Response.id)
            .where(
                Invitation.survey_id == survey.id,
                Invitation.address_id.is_not(None),
                Response.status == ResponseStatus.SUBMITTED,
                Response.submitted_at.is_not(None),
            )
        )
    )
    moments = sorted(_aware(m) for m in submitted_at if m is not None)
    result = []
    for index, wave in enumerate(rows):
        start = _aware(wave.created_at)
        end = _aware(rows[index + 1].created_at) if index + 1 < len(rows) else None
        count = sum(1 for m in moments if m >= start and (end is None or m < end))
        result.append(WaveRate(wave.number, wave.kind, start, wave.count, count))
    return result


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def latest_sample(survey: Survey) -> AddressSample | None:
    return db.session.scalars(
        sa.select(AddressSample).filter_by(survey_id=survey.id).order_by(AddressSample.id.desc())
    ).first()
