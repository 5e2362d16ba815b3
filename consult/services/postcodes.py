"""UK postcodes and the partnership's postcode -> ward lookup.

A resident answering a postcode question is placed in a ward through a
table the partnership uploads (CSV: ``postcode,ward_code``), versioned like
the population benchmarks: a new upload is a new version, the newest one is
used, and a file with any bad line is refused whole, every problem named
with its line.

The full postcode is personal data (with a few answers it can point at a
household). It is used only to find the ward and is never stored: an answer
keeps the ward code and, if the survey's settings say so, the postcode
sector ("LE1 5"), which covers a few thousand addresses."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from sqlalchemy import func, insert, select

from ..extensions import db
from ..models import Partnership, PostcodeLookupSet, PostcodeWard, QuestionType, Survey, User
from . import ServiceError
from .audit import record

# Outward code (area, district, optional sub-district letter), inward code
# (sector digit, unit letters). The inward letters never include C, I, K, M,
# O or V. GIR 0AA is the one historic exception still in use.
_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][ABD-HJLNP-UW-Z]{2})$")
_SPACES = re.compile(r"[\s\u00a0\u202f-]+")
# Ward codes are the ward options' codes of a postcode question, which are
# lower case: an ONS code E05010458 in the file is the option e05010458.
WARD_CODE = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
MAX_ROWS = 200_000
KEEP_CHOICES = ("ward", "sector")
DEFAULT_KEEP = "ward"


def normalise_postcode(raw: str) -> str | None:
    """ "le1 5ww" -> "LE1 5WW"; None if it is not a UK postcode."""
    compact = _SPACES.sub("", (raw or "").strip()).upper()
    if compact == "GIR0AA":
        return "GIR 0AA"
    match = _POSTCODE.match(compact)
    if not match:
        return None
    return f"{match.group(1)} {match.group(2)}"


def sector(postcode: str) -> str:
    """The sector of a normalised postcode: "LE1 5WW" -> "LE1 5"."""
    return postcode[:-2]


def keep_setting(settings: dict[str, object] | None) -> str:
    value = (settings or {}).get("keep", DEFAULT_KEEP)
    return value if value in KEEP_CHOICES else DEFAULT_KEEP  # type: ignore[return-value]


class LookupFileError(ServiceError):
    """Every problem in an uploaded lookup file, each with its line number."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("The postcode lookup file has problems: " + "; ".join(problems[:5]))
        self.problems = problems


@dataclass(frozen=True)
class LookupRow:
    postcode: str
    ward_code: str


def _column(columns: list[str], *names: str) -> str | None:
    lowered = {c.strip().lower(): c for c in columns}
    for name in names:
        if name in lowered:
            return lowered[name]
    return None


def parse_lookup(content: str | bytes) -> list[LookupRow]:
    """Read and check a lookup CSV (columns ``postcode`` and ``ward_code``;
    ``ward`` is accepted for the second). Nothing is stored here."""
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise LookupFileError(["the file is not UTF-8 text (save it as CSV UTF-8)"]) from None
    content = content.lstrip("\ufeff")
    try:
        dialect = csv.Sniffer().sniff(content[:4096], delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.DictReader(io.StringIO(content), delimiter=delimiter)
    columns = list(reader.fieldnames or [])
    postcode_column = _column(columns, "postcode", "pcds", "pcd")
    ward_column = _column(columns, "ward_code", "ward", "wd22cd", "wd23cd", "wd24cd")
    missing = [
        name
        for name, found in (("postcode", postcode_column), ("ward_code", ward_column))
        if found is None
    ]
    if missing:
        raise LookupFileError([f"missing column(s): {', '.join(missing)}"])
    assert postcode_column is not None and ward_column is not None
    problems: list[str] = []
    rows: list[LookupRow] = []
    seen: dict[str, int] = {}
    try:
        for line, raw in enumerate(reader, start=2):
            if line > MAX_ROWS + 1:
                problems.append(f"more than {MAX_ROWS} rows")
                break
            typed = (raw.get(postcode_column) or "").strip()
            ward = (raw.get(ward_column) or "").strip().lower()
            if not typed and not ward:
                continue  # blank lines, as spreadsheets leave at the end
            postcode = normalise_postcode(typed)
            if postcode is None:
                problems.append(f"line {line}: {typed!r} is not a UK postcode")
                continue
            if not WARD_CODE.match(ward):
                problems.append(
                    f"line {line}: the ward code {ward!r} for {postcode} is not a code "
                    "(a letter, then letters, numbers or underscores, like E05010458)"
                )
                continue
            if postcode in seen:
                problems.append(
                    f"line {line}: {postcode} appears twice (first on line {seen[postcode]})"
                )
                continue
            seen[postcode] = line
            rows.append(LookupRow(postcode, ward))
    except csv.Error as error:
        problems.append(f"the file is not valid CSV ({error})")
    if not rows and not problems:
        problems.append("the file has no postcodes")
    if problems:
        raise LookupFileError(problems)
    return rows


def import_lookup(
    partnership: Partnership, content: str | bytes, *, by: User | None = None, note: str = ""
) -> PostcodeLookupSet:
    """Store a new version of the lookup, all or nothing."""
    rows = parse_lookup(content)
    latest = db.session.scalar(
        select(func.max(PostcodeLookupSet.version)).filter_by(partnership_id=partnership.id)
    )
    lookup = PostcodeLookupSet(
        partnership_id=partnership.id,
        version=(latest or 0) + 1,
        note=note[:500],
        created_by_id=by.id if by else None,
    )
    db.session.add(lookup)
    db.session.flush()
    db.session.execute(
        insert(PostcodeWard),
        [
            {"lookup_set_id": lookup.id, "postcode": r.postcode, "ward_code": r.ward_code}
            for r in rows
        ],
    )
    record(
        "postcode_lookup_imported",
        partnership_id=partnership.id,
        user_id=by.id if by else None,
        target=f"postcode_lookup:v{lookup.version}",
        details={"rows": len(rows), "wards": len({r.ward_code for r in rows})},
    )
    return lookup


def current_lookup(partnership_id: int) -> PostcodeLookupSet | None:
    return db.session.scalars(
        select(PostcodeLookupSet)
        .filter_by(partnership_id=partnership_id)
        .order_by(PostcodeLookupSet.version.desc())
    ).first()


def lookup_versions(partnership_id: int) -> list[tuple[PostcodeLookupSet, int]]:
    """Every version, newest first, with its number of postcodes."""
    rows = db.session.execute(
        select(PostcodeLookupSet, func.count(PostcodeWard.id))
        .outerjoin(PostcodeWard, PostcodeWard.lookup_set_id == PostcodeLookupSet.id)
        .where(PostcodeLookupSet.partnership_id == partnership_id)
        .group_by(PostcodeLookupSet.id)
        .order_by(PostcodeLookupSet.version.desc())
    ).all()
    return [(lookup, int(count)) for lookup, count in rows]


def ward_for(partnership_id: int, postcode: str) -> str | None:
    """The ward code the newest lookup gives a normalised postcode, if any."""
    lookup = current_lookup(partnership_id)
    if lookup is None:
        return None
    return db.session.scalar(
        select(PostcodeWard.ward_code).where(
            PostcodeWard.lookup_set_id == lookup.id, PostcodeWard.postcode == postcode
        )
    )


def ward_for_survey(survey_id: int, postcode: str) -> str | None:
    partnership_id = db.session.scalar(select(Survey.partnership_id).where(Survey.id == survey_id))
    return ward_for(partnership_id, postcode) if partnership_id is not None else None


def privacy_sentence(survey: Survey) -> str:
    """What the privacy notice says about postcodes, when the survey asks for
    one: the full postcode is never kept, only the ward (and the sector if
    the survey's settings keep it). On the start page and the printed form."""
    from flask_babel import gettext as _

    keeps = {keep_setting(q.settings) for q in survey.questions if q.type == QuestionType.POSTCODE}
    if not keeps:
        return ""
    if "sector" in keeps:
        return _(
            "We ask for your postcode only to find your area. We keep the area and the first "
            "part of the postcode with its next number (like LE1 5), never your full postcode."
        )
    return _(
        "We ask for your postcode only to find your area. We keep the area, never your postcode."
    )
