"""Address files for the sample stream: reading and checking the officer's
CSV of addresses before anything is drawn. Nothing here is stored.

The accepted columns are `ADDRESS_FILE_COLUMNS` (described in
docs/sample-stream.md). Every line is checked; a file with any problem is
refused whole with `AddressFileError`, each problem named with its line
("Line N: ..."). Wards are matched to the survey's own (`survey_wards`) and a
blank ward is filled from the partnership's postcode lookup. The draw itself
is in `consult.services.sampling`."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import select

from ..extensions import db
from ..models import PostcodeWard, QuestionType, Survey
from . import ServiceError
from .content import SurveyTexts
from .postcodes import current_lookup, normalise_postcode

MAX_ADDRESSES = 200_000
MAX_FILE_BYTES = 25 * 1024 * 1024  # about 200,000 addresses
#: The stratum of a draw without a stratum column.
WHOLE_FILE = "all"
#: How many problems a refused file reports (the rest are counted).
MAX_PROBLEMS = 500

#: The accepted column headings, compared in lower case with spaces and
#: hyphens read as underscores. Address lines are every column called
#: address_1, address_line_1, addr1, line_1 ... (in number order), or one
#: column `address`.
ADDRESS_FILE_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("id", "address_id", "uprn", "udprn", "reference", "ref", "address_ref"),
    "postcode": ("postcode", "post_code", "postal_code", "pcds", "pcd"),
    "ward": (
        "ward",
        "ward_code",
        "ward_name",
        "area",
        "area_code",
        "wd22cd",
        "wd23cd",
        "wd24cd",
        "wd25cd",
    ),
}
_LINE_COLUMN = re.compile(r"^(?:address|addr)_?(?:line)?_?(\d{1,2})$|^line_?(\d{1,2})$")
_HEADING = re.compile(r"[\s\-]+")
# Punctuation does not tell two addresses apart ("1, High St." is "1 High St").
_PUNCTUATION = str.maketrans({c: " " for c in ",.;:'\"-/()#&"})


class AddressFileError(ServiceError):
    """Every problem in an address file (or with the sizes asked for), each a
    sentence starting "Line N:" where it belongs to a line. Nothing was drawn."""

    def __init__(self, problems: list[str], *, more: int = 0) -> None:
        super().__init__("The address file has problems: " + "; ".join(problems[:5]))
        self.problems = problems
        self.more = more


class AddressRow(NamedTuple):
    """One checked line of the file (a tuple: 100,000 of them are built)."""

    line: int
    external_id: str
    lines: str
    postcode: str
    area: str
    stratum: str


@dataclass
class AddressFile:
    rows: list[AddressRow]
    stratum_column: str | None
    digest: str


def heading(name: str) -> str:
    return _HEADING.sub("_", (name or "").strip().lower().lstrip("\ufeff"))


def survey_wards(survey: Survey) -> dict[str, str]:
    """The wards an address may be in, as `spelling -> ward code`: the codes
    and default-language labels of the survey's ward question options (the
    `area` variable, or a postcode question's wards), and the ward codes of
    the partnership's current postcode lookup. Empty when the survey knows
    no wards: then any ward is accepted."""
    known: dict[str, str] = {}
    questions = [
        q
        for q in survey.questions
        if q.demographic == "area" or q.type in (QuestionType.AREA, QuestionType.POSTCODE)
    ]
    if questions:
        texts = SurveyTexts(survey, [survey.default_language])
        for question in questions:
            for option in question.choices:
                if option.is_missing:
                    continue
                known[option.code.lower()] = option.code
                label = texts.option(question, option.code, survey.default_language)
                known.setdefault(label.strip().lower(), option.code)
    lookup = current_lookup(survey.partnership_id)
    if lookup is not None:
        for code in db.session.scalars(
            select(PostcodeWard.ward_code).where(PostcodeWard.lookup_set_id == lookup.id).distinct()
        ):
            known.setdefault(code.lower(), code)
    return known


def wards_from_lookup(partnership_id: int, postcodes: set[str]) -> dict[str, str]:
    lookup = current_lookup(partnership_id)
    if lookup is None or not postcodes:
        return {}
    found: dict[str, str] = {}
    wanted = sorted(postcodes)
    for start in range(0, len(wanted), 500):
        found.update(
            db.session.execute(
                select(PostcodeWard.postcode, PostcodeWard.ward_code).where(
                    PostcodeWard.lookup_set_id == lookup.id,
                    PostcodeWard.postcode.in_(wanted[start : start + 500]),
                )
            ).all()
        )
    return found


def _decode(content: str | bytes) -> str:
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise AddressFileError(["The file is not UTF-8 text (save it as CSV UTF-8)"]) from None
    return content.lstrip("\ufeff")


def parse_addresses(
    content: str | bytes,
    *,
    known_wards: Mapping[str, str] | None = None,
    stratum_column: str | None = None,
    lookup_ward: Any = None,
) -> AddressFile:
    """Read and check an address file; nothing is stored. Raises
    `AddressFileError` with every problem ("Line N: ...").

    `known_wards`: spelling -> ward code (see `survey_wards`); empty or None
    accepts any ward. `lookup_ward(postcodes) -> {postcode: ward}` fills a
    blank ward from the postcode lookup. `stratum_column` names the column
    whose values are the strata (the ward column gives ward codes)."""
    raw = content if isinstance(content, bytes) else content.encode()
    digest = hashlib.sha256(raw).hexdigest()
    text = _decode(content)
    try:
        delimiter = csv.Sniffer().sniff(text[:4096], delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise AddressFileError(["The file is empty"]) from None
    names = [heading(h) for h in header]

    def find(kind: str) -> int | None:
        for accepted in ADDRESS_FILE_COLUMNS[kind]:
            if accepted in names:
                return names.index(accepted)
        return None

    id_at, postcode_at, ward_at = find("id"), find("postcode"), find("ward")
    numbered = []
    for index, name in enumerate(names):
        match = _LINE_COLUMN.match(name)
        if match:
            numbered.append((int(match.group(1) or match.group(2)), index))
    line_columns = [index for _, index in sorted(numbered)]
    if not line_columns and "address" in names:
        line_columns = [names.index("address")]
    problems = []
    for label, at in (("id", id_at), ("postcode", postcode_at), ("ward", ward_at)):
        if at is None:
            accepted = ", ".join(ADDRESS_FILE_COLUMNS[label])
            problems.append(f"Line 1: no {label} column (name it one of: {accepted})")
    if not line_columns:
        problems.append("Line 1: no address columns (address_1, address_2, ... or address)")
    stratum_at = None
    if stratum_column:
        wanted = heading(stratum_column)
        if wanted not in names:
            problems.append(f"Line 1: there is no column called {stratum_column!r} for the strata")
        else:
            stratum_at = names.index(wanted)
    if problems:
        raise AddressFileError(problems)
    assert id_at is not None and postcode_at is not None and ward_at is not None

    known = dict(known_wards or {})
    width = len(names)
    records: list[AddressRow] = []
    seen_ids: dict[str, int] = {}
    seen_addresses: dict[str, int] = {}
    # Many addresses share a postcode: each spelling is checked once.
    postcodes: dict[str, str | None] = {}
    blank_wards: set[str] = set()
    try:
        for line, cells in enumerate(reader, start=2):
            if not "".join(cells).strip():
                continue  # blank lines, as spreadsheets leave at the end
            if len(records) >= MAX_ADDRESSES:
                problems.append(f"Line {line}: the file has more than {MAX_ADDRESSES} addresses")
                break
            if len(cells) < width:
                cells = cells + [""] * (width - len(cells))
            external_id = cells[id_at].strip()
            lines: list[str] = []
            for at in line_columns:
                part = cells[at].strip()
                if "\n" in part or "\r" in part:
                    lines.extend(p.strip() for p in part.splitlines() if p.strip())
                elif part:
                    lines.append(part)
            typed_postcode = cells[postcode_at].strip()
            typed_ward = cells[ward_at].strip()
            stratum = cells[stratum_at].strip() if stratum_at is not None else WHOLE_FILE
            before = len(problems)
            if not external_id:
                problems.append(f"Line {line}: the id is missing")
            elif len(external_id) > 80:
                problems.append(f"Line {line}: the id is longer than 80 characters")
            elif external_id in seen_ids:
                problems.append(
                    f"Line {line}: the id {external_id!r} appears twice "
                    f"(first on line {seen_ids[external_id]})"
                )
            else:
                seen_ids[external_id] = line
            if not lines:
                problems.append(f"Line {line}: the address is missing")
            if typed_postcode in postcodes:
                postcode = postcodes[typed_postcode]
            else:
                postcode = postcodes[typed_postcode] = normalise_postcode(typed_postcode)
            if not typed_postcode:
                problems.append(f"Line {line}: the postcode is missing")
            elif postcode is None:
                problems.append(f"Line {line}: {typed_postcode!r} is not a UK postcode")
            if lines and postcode:
                key = " ".join(" ".join(lines).lower().translate(_PUNCTUATION).split())
                key += "|" + postcode
                if key in seen_addresses:
                    problems.append(f"Line {line}: the same address as line {seen_addresses[key]}")
                else:
                    seen_addresses[key] = line
            ward = ""
            if typed_ward:
                if known:
                    ward = known.get(typed_ward.lower(), "")
                    if not ward:
                        problems.append(
                            f"Line {line}: {typed_ward!r} is not one of the survey's wards"
                        )
                else:
                    ward = typed_ward[:80]
            elif postcode and lookup_ward is not None:
                blank_wards.add(postcode)
            else:
                problems.append(f"Line {line}: the ward is missing")
            if stratum_at is not None:
                if stratum_at == ward_at:
                    stratum = ward
                elif not stratum:
                    problems.append(f"Line {line}: the stratum ({stratum_column}) is missing")
                elif len(stratum) > 80:
                    problems.append(f"Line {line}: the stratum is longer than 80 characters")
            if len(problems) == before:
                records.append(
                    AddressRow(line, external_id, "\n".join(lines), postcode or "", ward, stratum)
                )
    except csv.Error as error:
        problems.append(f"The file is not valid CSV ({error})")
    if blank_wards and lookup_ward is not None:
        found = lookup_ward(blank_wards)
        filled = []
        for record_ in records:
            line, external_id, lines_, postcode_, ward, stratum = record_
            if not ward:
                ward = found.get(postcode_, "")
                if not ward:
                    problems.append(
                        f"Line {line}: the ward is missing and the postcode lookup "
                        f"does not know {postcode_}"
                    )
                    continue
                if stratum_at is not None and stratum_at == ward_at:
                    stratum = ward
            filled.append(AddressRow(line, external_id, lines_, postcode_, ward, stratum))
        records = filled
    if not records and not problems:
        problems.append("The file has no addresses")
    if problems:
        problems.sort(key=_line_number)
        raise AddressFileError(problems[:MAX_PROBLEMS], more=max(0, len(problems) - MAX_PROBLEMS))
    return AddressFile(records, header[stratum_at] if stratum_at is not None else None, digest)


def _line_number(problem: str) -> int:
    match = re.match(r"Line (\d+):", problem)
    return int(match.group(1)) if match else 0
