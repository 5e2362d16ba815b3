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
each letter's own part is written straight into the PDF: two lines of PDF
text operators in Noto Sans, embedded once for the whole file, and the QR
code as a one-bit inline image (a module per pixel, 200 bytes). Every front
page draws the typeset page as one shared form, so the fonts and the
typeset text are in the file once (bench/bench_letters.py has the figures).

Restart: the job plans the mailing once (which addresses, in which order,
kept with the job), then writes the letters' parts in chunks of CHUNK, each
stored with the job and checkpointed; a rerun after a killed worker skips
the stored chunks, so no letter is ever made twice."""

from __future__ import annotations

import io
import json
import subprocess
import unicodedata
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import segno
import sqlalchemy as sa
from flask import current_app, has_request_context, render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _

from ..extensions import db
from ..i18n import LANGUAGES
from ..jobs import Checkpoint, job_kind
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
from .content import SurveyTexts
from .sampling import letter_code

KIND = "letters"
CHUNK = 500
RESULT = "letters.pdf"
MM = 72 / 25.4
PAGE_WIDTH, PAGE_HEIGHT = 210 * MM, 297 * MM
MAX_ADDRESS_LINES = 7
QR_MASK = 0

DEFAULT_WHY = (
    "We want to know how safe people feel where they live, and what the partnership "
    "should do about it. Your household was chosen at random from all the addresses in "
    "the area, so your answers speak for many households like yours, including people "
    "who are not often asked."
)
WHY_MAX = 800
CONTACT_MAX = 300


@dataclass(frozen=True)
class Slots:
    """Where each letter's own part goes on the front page, in millimetres
    from the top left: the address in a DL window envelope's window, the
    code and the QR code beside it. templates/letters/letter.html leaves
    these places empty."""

    address_left: float = 22
    address_top: float = 50
    right_left: float = 130
    code_label_top: float = 46
    code_baseline: float = 58
    qr_top: float = 62
    qr_size: float = 30


SLOTS = Slots()


# --- what is printed ----------------------------------------------------------------------


def settings(survey: Survey) -> LetterSettings:
    found = db.session.scalars(sa.select(LetterSettings).filter_by(survey_id=survey.id)).first()
    return found or LetterSettings(survey_id=survey.id, why="", contact="")


def save_settings(survey: Survey, *, why: str, contact: str) -> LetterSettings:
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


# --- each letter's own part, written straight into the PDF --------------------------------


def _font_file(pattern: str, fallback: str) -> str:
    try:
        found = subprocess.run(
            ["fc-match", "-f", "%{file}", pattern], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        found = ""
    return found if found and Path(found).suffix.lower() == ".ttf" else fallback


class LetterFont:
    """A TrueType face for the letters' own parts, written as glyph ids
    (Identity-H) and embedded once, cut down to the glyphs used."""

    def __init__(self, path: str) -> None:
        from fontTools.ttLib import TTFont

        self.path = path
        font = TTFont(path, lazy=True)
        order = font.getReverseGlyphMap()
        self.gid = {cp: order[name] for cp, name in font.getBestCmap().items()}
        scale = 1000 / font["head"].unitsPerEm
        metrics = font["hmtx"].metrics
        names = font.getGlyphOrder()
        self.width = [round(metrics[n][0] * scale) for n in names]
        self.name = font["name"].getDebugName(6) or Path(path).stem
        head, hhea = font["head"], font["hhea"]
        self.bbox = [round(v * scale) for v in (head.xMin, head.yMin, head.xMax, head.yMax)]
        self.ascent, self.descent = round(hhea.ascent * scale), round(hhea.descent * scale)
        self.cap_height = round(getattr(font["OS/2"], "sCapHeight", hhea.ascent) * scale)

    def glyphs(self, text: str) -> list[int]:
        """Glyph ids for `text`, or ServiceError for a character the face
        does not have (the letters never print a box for a letter)."""
        ids = []
        for char in unicodedata.normalize("NFC", text):
            gid = self.gid.get(ord(char))
            if gid is None:
                raise ServiceError(
                    f"An address has a character the letters cannot print "
                    f"(U+{ord(char):04X}): correct the address file and draw again"
                )
            ids.append(gid)
        return ids


@lru_cache(maxsize=1)
def letter_fonts() -> tuple[LetterFont, LetterFont]:
    regular = _font_file(
        "Noto Sans:style=Regular", "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf"
    )
    bold = _font_file("Noto Sans:style=Bold", "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf")
    return LetterFont(regular), LetterFont(bold)


def _text(font_name: str, size: float, x: float, y: float, gids: list[int]) -> str:
    hexed = "".join(f"{g:04X}" for g in gids)
    return f"BT /{font_name} {size:g} Tf 1 0 0 1 {x:.2f} {y:.2f} Tm <{hexed}> Tj ET\n"


class QrCodes:
    """QR codes for links that differ only in their code, fast.

    segno lays out and masks each symbol in pure Python (2 ms a code with a
    fixed mask, 14 ms choosing one), which would be most of a 10,000-letter
    mailing. Every link here has the same length and mode, so the symbol's
    version, its fixed patterns, format information and the place of every
    data bit are the same for all of them: they are taken once from segno,
    and each code needs only segno's codewords (with error correction),
    placed and masked with numpy. tests/test_letters.py checks the result
    against segno's own symbol."""

    def __init__(self, sample_link: str) -> None:
        import numpy as np
        from segno import consts, encoder

        self.np, self.encoder, self.consts = np, encoder, consts
        self.error = consts.ERROR_LEVEL_M
        reference = segno.make(sample_link, error="m", micro=False, mask=QR_MASK, boost_error=False)
        self.version = reference.version
        self.length = len(sample_link)
        self.base = np.array([list(row) for row in reference.matrix], dtype=np.uint8)
        size = len(self.base)
        skeleton = encoder.make_matrix(size, size)
        encoder.add_finder_patterns(skeleton, size, size)
        encoder.add_alignment_patterns(skeleton, size, size)
        rows, cols = [], []
        # The placement order of ISO/IEC 18004 7.7.3, as segno's add_codewords.
        for right in range(size - 1, 0, -2):
            if right <= 6:
                right -= 1
            for vertical in range(size):
                for z in range(2):
                    j = right - z
                    upwards = ((right & 2) == 0) ^ (j < 6)
                    i = (size - 1 - vertical) if upwards else vertical
                    if skeleton[i][j] == 0x2:
                        rows.append(i)
                        cols.append(j)
        self.rows, self.cols = np.array(rows), np.array(cols)
        masks = encoder.get_data_mask_functions(False)
        mask = masks[QR_MASK]
        self.flip = np.array(
            [1 if mask(i, j) else 0 for i, j in zip(rows, cols, strict=True)], dtype=np.uint8
        )

    def matrix(self, link: str) -> Any:
        np, encoder = self.np, self.encoder
        if len(link) != self.length:
            return np.array(
                [
                    list(r)
                    for r in segno.make(
                        link, error="m", micro=False, mask=QR_MASK, boost_error=False
                    ).matrix
                ],
                dtype=np.uint8,
            )
        buff = encoder.Buffer()
        version_range = encoder.version_range(self.version)
        for segment in encoder.prepare_data(link, None, None):
            encoder.write_segment(buff, segment, None, version_range, False)
        capacity = self.consts.SYMBOL_CAPACITY[self.version][self.error]  # type: ignore[index]
        encoder.write_terminator(buff, capacity, None, len(buff))
        encoder.write_padding_bits(buff, self.version, len(buff))
        encoder.write_pad_codewords(buff, self.version, capacity, len(buff))
        bits = encoder.make_final_message(self.version, self.error, buff).getbits()
        data = np.zeros(len(self.rows), dtype=np.uint8)
        data[: len(bits)] = np.frombuffer(bytes(bits), dtype=np.uint8)[: len(self.rows)]
        out = self.base.copy()
        out[self.rows, self.cols] = data ^ self.flip
        return out

    def image(self, link: str) -> str:
        """The QR code as an inline one-bit image, one pixel per module with
        a quiet zone, drawn at SLOTS.qr_size (sharp: PDF scales images
        without smoothing unless asked)."""
        np = self.np
        matrix = self.matrix(link)
        border = 2
        padded = np.pad(matrix, border)
        width = padded.shape[0]
        row_bits = -(-width // 8) * 8
        # 1 is white in DeviceGray; pad each row to whole bytes.
        grey = np.ones((width, row_bits), dtype=np.uint8)
        grey[:, :width] = 1 - padded
        data = np.packbits(grey, axis=1).tobytes()
        side = SLOTS.qr_size * MM
        x = SLOTS.right_left * MM
        y = PAGE_HEIGHT - (SLOTS.qr_top + SLOTS.qr_size) * MM
        return (
            f"q {side:.2f} 0 0 {side:.2f} {x:.2f} {y:.2f} cm "
            f"BI /W {width} /H {width} /BPC 1 /CS /G /F /AHx ID {data.hex().upper()}> EI Q\n"
        )


def letter_part(
    address: SampleAddress,
    code: str,
    link: str,
    fonts: tuple[LetterFont, LetterFont],
    qr: QrCodes,
) -> tuple[str, set[int], set[int]]:
    """One letter's own part of its front page as PDF operators, and the
    glyphs it uses of each face."""
    regular, bold = fonts
    lines = [line.strip() for line in address.lines.splitlines() if line.strip()]
    lines = lines[: MAX_ADDRESS_LINES - 1] + [address.postcode.strip()]
    ops = ["0 g\n"]
    used_regular: set[int] = set()
    x = SLOTS.address_left * MM
    y = PAGE_HEIGHT - (SLOTS.address_top + 4) * MM
    for line in lines:
        gids = regular.glyphs(line)
        used_regular.update(gids)
        ops.append(_text("FL", 11, x, y, gids))
        y -= 14
    code_gids = bold.glyphs(code)
    ops.append(
        _text("FB", 17, SLOTS.right_left * MM, PAGE_HEIGHT - SLOTS.code_baseline * MM, code_gids)
    )
    ops.append(qr.image(link))
    return "".join(ops), used_regular, set(code_gids)


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
    return Started(job, existing is not None and existing.status == JobStatus.DONE)


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


# --- putting the PDF together ---------------------------------------------------------------


def assemble(template: bytes, parts: list[dict[str, Any]], fonts: tuple[LetterFont, ...]) -> bytes:
    """One PDF: for each letter a front page (the shared front, drawn as one
    form, with the letter's own part over it) and the shared back pages."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import (
        ArrayObject,
        DecodedStreamObject,
        DictionaryObject,
        FloatObject,
        NameObject,
        NumberObject,
    )

    reader = PdfReader(io.BytesIO(template))
    writer = PdfWriter()
    shared = [writer.add_page(page) for page in reader.pages]
    # pypdf's own page tree (a pinned version): letters' pages are added to it directly.
    pages_root: Any = writer._pages.get_object()
    kids = pages_root["/Kids"]
    # The typeset pages leave the tree: letters use them through references.
    del kids[:]
    front = shared[0]
    form = DecodedStreamObject()
    contents = front.get_contents()  # a stream object: an empty dict, so falsy
    form.set_data(contents.get_data() if contents is not None else b"")
    form.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Form"),
            NameObject("/BBox"): ArrayObject(
                [FloatObject(0), FloatObject(0), FloatObject(PAGE_WIDTH), FloatObject(PAGE_HEIGHT)]
            ),
            NameObject("/Resources"): front["/Resources"],
        }
    )
    form_ref = writer._add_object(form.flate_encode())
    used = [
        sorted({g for p in parts for g in p["regular"]}),
        sorted({g for p in parts for g in p["bold"]}),
    ]
    font_refs = [
        _embed_font(writer, font, gids, f"{tag}+{font.name}")
        for font, gids, tag in zip(fonts, used, ("CSLTRA", "CSLTRB"), strict=True)
    ]
    resources = writer._add_object(
        DictionaryObject(
            {
                NameObject("/XObject"): DictionaryObject({NameObject("/T"): form_ref}),
                NameObject("/Font"): DictionaryObject(
                    {NameObject("/FL"): font_refs[0], NameObject("/FB"): font_refs[1]}
                ),
            }
        )
    )
    media = ArrayObject(
        [NumberObject(0), NumberObject(0), FloatObject(PAGE_WIDTH), FloatObject(PAGE_HEIGHT)]
    )
    back_pages = []
    for page in shared[1:]:
        back_pages.append(
            {
                "/Resources": page["/Resources"],
                "/Contents": page.raw_get("/Contents"),
                "/MediaBox": page["/MediaBox"],
            }
        )
    parent = writer._pages
    for part in parts:
        for ops in part["pages"]:
            stream = DecodedStreamObject()
            stream.set_data(b"q /T Do Q\n" + ops.encode("latin-1"))
            letter = DictionaryObject(
                {
                    NameObject("/Type"): NameObject("/Page"),
                    NameObject("/Parent"): parent,
                    NameObject("/MediaBox"): media,
                    NameObject("/Resources"): resources,
                    NameObject("/Contents"): writer._add_object(stream.flate_encode()),
                }
            )
            kids.append(writer._add_object(letter))
            for back in back_pages:
                reverse = DictionaryObject(
                    {
                        NameObject("/Type"): NameObject("/Page"),
                        NameObject("/Parent"): parent,
                        **{NameObject(k): v for k, v in back.items()},
                    }
                )
                kids.append(writer._add_object(reverse))
    pages_root[NameObject("/Count")] = NumberObject(len(kids))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _embed_font(writer: Any, font: LetterFont, gids: list[int], name: str) -> Any:
    """A Type 0 font over the face cut down to `gids` (ids kept, so the
    letters' operators stay valid), with the widths and a ToUnicode map so
    the text can be searched and copied."""
    from fontTools import subset
    from fontTools.ttLib import TTFont
    from pypdf.generic import (
        ArrayObject,
        DecodedStreamObject,
        DictionaryObject,
        NameObject,
        NumberObject,
        TextStringObject,
    )

    options = subset.Options()
    options.retain_gids = True
    options.notdef_outline = True
    options.layout_features = []
    options.hinting = False
    # Unshaped Latin text needs no layout tables; cutting them takes seconds.
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "JSTF", "BASE", "MATH"]
    face = TTFont(font.path)
    subsetter = subset.Subsetter(options)
    subsetter.populate(gids=[0, *gids])
    subsetter.subset(face)
    buffer = io.BytesIO()
    face.save(buffer)
    data = buffer.getvalue()
    file_stream = DecodedStreamObject()
    file_stream.set_data(data)
    file_stream[NameObject("/Length1")] = NumberObject(len(data))
    file_ref = writer._add_object(file_stream.flate_encode())
    descriptor = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/FontDescriptor"),
            NameObject("/FontName"): NameObject("/" + name),
            NameObject("/Flags"): NumberObject(32),
            NameObject("/FontBBox"): ArrayObject([NumberObject(v) for v in font.bbox]),
            NameObject("/ItalicAngle"): NumberObject(0),
            NameObject("/Ascent"): NumberObject(font.ascent),
            NameObject("/Descent"): NumberObject(font.descent),
            NameObject("/CapHeight"): NumberObject(font.cap_height),
            NameObject("/StemV"): NumberObject(80),
            NameObject("/FontFile2"): file_ref,
        }
    )
    widths = ArrayObject()
    for gid in gids:
        widths += [NumberObject(gid), ArrayObject([NumberObject(font.width[gid])])]
    cid_font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/CIDFontType2"),
            NameObject("/BaseFont"): NameObject("/" + name),
            NameObject("/CIDSystemInfo"): DictionaryObject(
                {
                    NameObject("/Registry"): TextStringObject("Adobe"),
                    NameObject("/Ordering"): TextStringObject("Identity"),
                    NameObject("/Supplement"): NumberObject(0),
                }
            ),
            NameObject("/FontDescriptor"): writer._add_object(descriptor),
            NameObject("/W"): widths,
            NameObject("/CIDToGIDMap"): NameObject("/Identity"),
        }
    )
    to_unicode = DecodedStreamObject()
    to_unicode.set_data(_to_unicode(font, gids))
    return writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type0"),
                NameObject("/BaseFont"): NameObject("/" + name),
                NameObject("/Encoding"): NameObject("/Identity-H"),
                NameObject("/DescendantFonts"): ArrayObject([writer._add_object(cid_font)]),
                NameObject("/ToUnicode"): writer._add_object(to_unicode.flate_encode()),
            }
        )
    )


def _to_unicode(font: LetterFont, gids: list[int]) -> bytes:
    char_of: dict[int, int] = {}
    for codepoint, gid in sorted(font.gid.items()):
        char_of.setdefault(gid, codepoint)
    entries = [
        f"<{gid:04X}> <{char_of[gid]:04X}>"
        for gid in gids
        if gid in char_of and char_of[gid] <= 0xFFFF
    ]
    body = []
    for start in range(0, len(entries), 100):
        block = entries[start : start + 100]
        body.append(f"{len(block)} beginbfchar\n" + "\n".join(block) + "\nendbfchar")
    return (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        + "\n".join(body)
        + "\nendcmap\nCMapName currentdict /CMapResource defineresource pop\nend\nend\n"
    ).encode()


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
