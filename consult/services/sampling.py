"""The sample stream: a reproducible draw of addresses and one code per drawn
address. Services flush; the request commits.

The officer uploads an address file (CSV, one row per address; the columns
are described in docs/sample-stream.md; reading and checking them is
`consult.services.address_files`). Every line is checked first; a file with any problem is refused whole, each
problem named with its line, and nothing is drawn or stored. A good file is
drawn from (`consult.analysis.sampling`, seeded and recorded) and only the
drawn addresses are kept (data minimisation): the strata's population
counts stay on the `AddressSample`. Each drawn address gets one code
(`Invitation`), derived from the server's secret so letters and reminders
print the same code without a plain code in the database.

One sample per survey. Design weights are computed within one draw (N_h / r_h);
two draws from overlapping address lists would give a household two chances
and two codes, and weights that no longer follow from one seed. So a second
draw is refused while a sample exists; a sample none of whose codes has been
used yet (a wrong size, the wrong file) can be withdrawn and drawn again. A
later wave of the survey (a new survey) has its own sample."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import delete, func, insert, select

from ..analysis.sampling import MAX_SEED, SampleSizeError, draw_sample, random_seed
from ..extensions import db
from ..models import (
    AddressSample,
    Invitation,
    Response,
    ResponseStatus,
    SampleAddress,
    Survey,
    User,
)
from . import ServiceError
from .address_files import (
    MAX_ADDRESSES,
    MAX_FILE_BYTES,
    AddressFileError,
    parse_addresses,
    survey_wards,
    wards_from_lookup,
)
from .audit import record
from .postcodes import normalise_postcode
from .responses import CODE_ALPHABET, INVITATION_CODE_LENGTH, code_digest, group

# --- the draw -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DrawRequest:
    size: int | None
    sizes: dict[str, int] | None
    stratum_column: str | None
    seed: int | None


def _whole_number(text: str, field_name: str, label: str, *, upper: int) -> int:
    cleaned = text.strip().replace(",", "").replace(" ", "")
    if not cleaned.isdigit() or int(cleaned) > upper:
        raise ServiceError(f"{label} must be a whole number from 0 to {upper}", field=field_name)
    return int(cleaned)


def parse_sizes(text: str) -> dict[str, int]:
    """Sizes per stratum, one a line: `stratum = n` (or `stratum, n`, `stratum: n`)."""
    sizes: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        match = re.match(r"^(.+?)\s*[=,:;\t]\s*([0-9][0-9 ,]*)$", line)
        if not match:
            raise ServiceError(
                f"Sizes, line {number}: write the stratum, an equals sign and the number, "
                "like: owned = 400",
                field="sizes",
            )
        name = match.group(1).strip()
        if name in sizes:
            raise ServiceError(f"Sizes, line {number}: {name!r} is given twice", field="sizes")
        sizes[name] = _whole_number(
            match.group(2), "sizes", f"Sizes, line {number}: the size", upper=MAX_ADDRESSES
        )
    if not sizes:
        raise ServiceError("Give at least one stratum's size", field="sizes")
    return sizes


def parse_draw_request(form: Mapping[str, str]) -> DrawRequest:
    """The officer's choices: one total size or sizes per stratum, the
    stratum column, and the seed (blank: a random one, recorded)."""
    size_text = (form.get("size") or "").strip()
    sizes_text = (form.get("sizes") or "").strip()
    if size_text and sizes_text:
        raise ServiceError(
            "Give either one sample size or a size per stratum, not both", field="size"
        )
    if not size_text and not sizes_text:
        raise ServiceError("Enter how many addresses to draw", field="size")
    column = (form.get("stratum_column") or "").strip()[:60] or None
    size = sizes = None
    if size_text:
        size = _whole_number(size_text, "size", "The sample size", upper=MAX_ADDRESSES)
        if size == 0:
            raise ServiceError("The sample size must be at least 1", field="size")
    else:
        if column is None:
            raise ServiceError(
                "Name the stratum column to give a size per stratum", field="stratum_column"
            )
        sizes = parse_sizes(sizes_text)
    seed_text = (form.get("seed") or "").strip()
    seed = _whole_number(seed_text, "seed", "The seed", upper=MAX_SEED) if seed_text else None
    return DrawRequest(size, sizes, column, seed)


def current_sample(survey: Survey) -> AddressSample | None:
    return db.session.scalars(
        select(AddressSample)
        .filter_by(survey_id=survey.id)
        .order_by(AddressSample.created_at.desc(), AddressSample.id.desc())
    ).first()


def has_sample(survey: Survey) -> bool:
    """Whether the survey has a sample stream (its start page then offers the
    code from a letter)."""
    return (
        db.session.scalar(
            select(AddressSample.id).where(AddressSample.survey_id == survey.id).limit(1)
        )
        is not None
    )


def draw_addresses(
    survey: Survey,
    content: str | bytes,
    *,
    size: int | None = None,
    sizes: Mapping[str, int] | None = None,
    stratum_column: str | None = None,
    seed: int | None = None,
    filename: str = "",
    by: User | None = None,
) -> AddressSample:
    """Check the file, draw `size` addresses (shared between strata in
    proportion to their sizes) or `sizes[h]` from each stratum, store the
    drawn addresses with one code each. All or nothing: any problem raises
    `AddressFileError` (or `ServiceError`) before anything is stored."""
    existing = current_sample(survey)
    if existing is not None:
        raise ServiceError(
            f"This survey already has a sample ({_drawn(existing)} addresses drawn on "
            f"{existing.created_at:%d %B %Y}, seed {existing.seed}). Withdraw it first "
            "if none of its codes has been used.",
            field="file",
        )
    if (size is None) == (sizes is None):
        raise ServiceError("Give either one sample size or a size per stratum", field="size")
    if len(content) > MAX_FILE_BYTES:
        raise ServiceError("The file is larger than 25 MB", field="file")
    partnership_id = survey.partnership_id
    parsed = parse_addresses(
        content,
        known_wards=survey_wards(survey),
        stratum_column=stratum_column,
        lookup_ward=lambda postcodes: wards_from_lookup(partnership_id, postcodes),
    )
    rows = parsed.rows
    seed = random_seed() if seed is None else seed
    try:
        draw = draw_sample(
            [r.external_id for r in rows],
            [r.stratum for r in rows],
            size if size is not None else dict(sizes or {}),
            seed,
        )
    except SampleSizeError as error:
        raise AddressFileError(error.problems) from None
    if draw.total == 0:
        raise AddressFileError(["The sample size is 0: nothing would be drawn"])

    sample = AddressSample(
        survey_id=survey.id,
        filename=filename[:200],
        file_digest=parsed.digest,
        seed=seed,
        stratum_column=parsed.stratum_column,
        strata={s.stratum: {"population": s.population, "drawn": s.drawn} for s in draw.strata},
        created_by_id=by.id if by else None,
    )
    db.session.add(sample)
    db.session.flush()
    values = [
        {
            "sample_id": sample.id,
            "survey_id": survey.id,
            "external_id": rows[at].external_id,
            "lines": rows[at].lines,
            "postcode": rows[at].postcode,
            "area": rows[at].area,
            "stratum": rows[at].stratum,
            "selection_probability": float(probability),
        }
        for at, probability in zip(draw.rows.tolist(), draw.probabilities, strict=True)
    ]
    # One multi-row INSERT ... RETURNING per batch (SQLAlchemy's "insertmanyvalues"),
    # in parameter order, so each id meets its own address.
    address_ids = list(
        db.session.scalars(
            insert(SampleAddress).returning(SampleAddress.id, sort_by_parameter_order=True),
            values,
        )
    )
    _issue_codes(survey.id, address_ids)
    record(
        "sample_drawn",
        partnership_id=survey.partnership_id,
        user_id=by.id if by else None,
        target=f"survey:{survey.id}:{survey.slug}",
        details={
            "sample_id": sample.id,
            "seed": seed,
            "addresses_in_file": draw.population,
            "drawn": draw.total,
            "strata": len(draw.strata),
            "file_digest": parsed.digest,
        },
    )
    return sample


def _issue_codes(survey_id: int, address_ids: list[int]) -> None:
    """`issue_code` for many new addresses at once: one bulk INSERT."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    db.session.execute(
        insert(Invitation),
        [
            {
                "survey_id": survey_id,
                "address_id": address_id,
                "code_hash": code_digest(_letter_code(key, survey_id, address_id)),
            }
            for address_id in address_ids
        ],
    )


def _drawn(sample: AddressSample) -> int:
    return sum(int(s.get("drawn", 0)) for s in (sample.strata or {}).values())


def withdraw_sample(survey: Survey, *, by: User | None = None) -> int:
    """Delete the survey's sample, its drawn addresses and their codes, when
    none of the codes has been used (letters not yet answered). Returns the
    number of addresses deleted."""
    sample = current_sample(survey)
    if sample is None:
        raise ServiceError("This survey has no sample")
    used = db.session.scalar(
        select(func.count(Invitation.id))
        .join(SampleAddress, SampleAddress.id == Invitation.address_id)
        .where(SampleAddress.sample_id == sample.id, Invitation.response_id.is_not(None))
    )
    if used:
        raise ServiceError(
            f"{used} of this sample's codes have been used, so the sample stays: "
            "cancel the codes that should not be used instead."
        )
    count = _delete_addresses(select(SampleAddress.id).where(SampleAddress.sample_id == sample.id))
    record(
        "sample_withdrawn",
        partnership_id=survey.partnership_id,
        user_id=by.id if by else None,
        target=f"survey:{survey.id}:{survey.slug}",
        details={"sample_id": sample.id, "seed": sample.seed, "addresses_deleted": count},
    )
    db.session.delete(sample)
    db.session.flush()
    return count


def _delete_addresses(ids: sa.Select[Any]) -> int:
    # Codes first and explicitly: SQLite does not enforce ON DELETE CASCADE here.
    db.session.execute(
        delete(Invitation)
        .where(Invitation.address_id.in_(ids))
        .execution_options(synchronize_session=False)
    )
    result = db.session.execute(
        delete(SampleAddress)
        .where(SampleAddress.id.in_(ids))
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def erase_addresses(survey: Survey) -> int:
    """Delete a survey's drawn addresses and their codes (retention): the
    sample's seed and per-stratum counts stay, as aggregates."""
    return _delete_addresses(select(SampleAddress.id).where(SampleAddress.survey_id == survey.id))


# --- codes --------------------------------------------------------------------------------


def _letter_code(key: bytes, survey_id: int, address_id: int) -> str:
    mac = hmac.new(key, f"letter:{survey_id}:{address_id}".encode(), hashlib.sha256).digest()
    number = int.from_bytes(mac, "big")
    chars = []
    for _ in range(INVITATION_CODE_LENGTH):
        number, index = divmod(number, len(CODE_ALPHABET))
        chars.append(CODE_ALPHABET[index])
    return group("".join(chars), 5)


def letter_code(survey_id: int, address_id: int) -> str:
    """The code printed on a drawn address's letters, grouped for printing.

    Derived from the server's secret rather than stored: only its digest is
    kept (as for every code), yet a reminder months later prints the same code
    as the first letter without any plain code lying in the database."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return _letter_code(key, survey_id, address_id)


def issue_code(address: SampleAddress) -> Invitation:
    """The invitation (code) of a drawn address, created once. The address
    must be flushed (it needs its id)."""
    existing = db.session.query(Invitation).filter_by(address_id=address.id).one_or_none()
    if existing is not None:
        return existing
    invitation = Invitation(
        survey_id=address.survey_id,
        address_id=address.id,
        code_hash=code_digest(letter_code(address.survey_id, address.id)),
    )
    db.session.add(invitation)
    return invitation


def find_address(survey: Survey, address_id: int) -> SampleAddress | None:
    """A drawn address of this survey (None for another survey's)."""
    return db.session.scalars(
        select(SampleAddress).filter_by(id=address_id, survey_id=survey.id)
    ).first()


def cancel_code(survey: Survey, address: SampleAddress, *, by: User | None = None) -> None:
    """Cancel a drawn address's code (moved house, asked not to be contacted):
    it opens nothing any more. A code already answered with stays answered."""
    if address.survey_id != survey.id:
        raise ServiceError("That address is not in this survey's sample")
    invitation = db.session.scalars(select(Invitation).filter_by(address_id=address.id)).first()
    if invitation is None:
        raise ServiceError("That address has no code")
    if invitation.cancelled_at is not None:
        raise ServiceError(f"The code of address {address.external_id} is already cancelled")
    if invitation.response_id is not None:
        status = db.session.scalar(
            select(Response.status).where(Response.id == invitation.response_id)
        )
        if status == ResponseStatus.SUBMITTED:
            raise ServiceError(
                f"Address {address.external_id} has already answered; its answers stay "
                "and its code cannot be used again anyway."
            )
    invitation.cancelled_at = datetime.now(UTC)
    record(
        "sample_code_cancelled",
        partnership_id=survey.partnership_id,
        user_id=by.id if by else None,
        target=f"sample_address:{address.id}",
        details={"survey_id": survey.id, "external_id": address.external_id},
    )
    db.session.flush()


# --- how the sample is answering ------------------------------------------------------------

NOT_USED, STARTED, SUBMITTED, CANCELLED = "not_used", "started", "submitted", "cancelled"
CODE_STATUS_LABELS = {
    NOT_USED: "Not used",
    STARTED: "Started",
    SUBMITTED: "Submitted",
    CANCELLED: "Cancelled",
}


@dataclass(frozen=True)
class StratumRate:
    stratum: str
    population: int  # N_h
    drawn: int  # n_h
    probability: float  # n_h / N_h
    started: int  # codes used to start (submitted included)
    submitted: int
    cancelled: int

    @property
    def rate(self) -> float | None:
        """Submitted responses per drawn address (cancelled codes stay in the
        denominator: a household that asked not to be contacted did not answer)."""
        return self.submitted / self.drawn if self.drawn else None


@dataclass
class SampleSummary:
    sample: AddressSample
    strata: list[StratumRate] = field(default_factory=list)

    @property
    def total(self) -> StratumRate:
        return StratumRate(
            "Total",
            sum(s.population for s in self.strata),
            sum(s.drawn for s in self.strata),
            (sum(s.drawn for s in self.strata) / max(1, sum(s.population for s in self.strata))),
            sum(s.started for s in self.strata),
            sum(s.submitted for s in self.strata),
            sum(s.cancelled for s in self.strata),
        )


def sample_summary(survey: Survey) -> SampleSummary | None:
    """The survey's sample per stratum: N_h, n_h, probability, codes started,
    submitted and cancelled, and the response rate. None without a sample."""
    sample = current_sample(survey)
    if sample is None:
        return None
    submitted = sa.case((Response.status == ResponseStatus.SUBMITTED, 1), else_=0)
    counts = {
        stratum: (int(started or 0), int(done or 0), int(cancelled or 0))
        for stratum, started, done, cancelled in db.session.execute(
            select(
                SampleAddress.stratum,
                func.count(Invitation.response_id),
                func.sum(submitted),
                func.count(Invitation.cancelled_at),
            )
            .join(Invitation, Invitation.address_id == SampleAddress.id)
            .outerjoin(Response, Response.id == Invitation.response_id)
            .where(SampleAddress.sample_id == sample.id)
            .group_by(SampleAddress.stratum)
        )
    }
    rows = []
    for stratum in sorted(sample.strata or {}):
        numbers = sample.strata[stratum]
        population, drawn = int(numbers.get("population", 0)), int(numbers.get("drawn", 0))
        started, done, cancelled = counts.get(stratum, (0, 0, 0))
        rows.append(
            StratumRate(
                stratum,
                population,
                drawn,
                drawn / population if population else 0.0,
                started,
                done,
                cancelled,
            )
        )
    return SampleSummary(sample, rows)


@dataclass(frozen=True)
class AddressStatus:
    id: int
    external_id: str
    lines: str
    postcode: str
    area: str
    stratum: str
    status: str

    @property
    def status_label(self) -> str:
        return CODE_STATUS_LABELS[self.status]


PAGE_SIZE = 50


def list_addresses(
    survey: Survey, *, search: str = "", status: str = "", page: int = 1
) -> tuple[list[AddressStatus], int]:
    """The drawn addresses matching `search` (id, postcode or address text)
    and `status`, a page at a time, with how many match in all."""
    code_status = sa.case(
        (Invitation.cancelled_at.is_not(None), CANCELLED),
        (Response.status == ResponseStatus.SUBMITTED, SUBMITTED),
        (Invitation.response_id.is_not(None), STARTED),
        else_=NOT_USED,
    ).label("code_status")
    query = (
        select(
            SampleAddress.id,
            SampleAddress.external_id,
            SampleAddress.lines,
            SampleAddress.postcode,
            SampleAddress.area,
            SampleAddress.stratum,
            code_status,
        )
        .join(Invitation, Invitation.address_id == SampleAddress.id)
        .outerjoin(Response, Response.id == Invitation.response_id)
        .where(SampleAddress.survey_id == survey.id)
    )
    term = search.strip()[:100]
    if term:
        like = f"%{term.lower()}%"
        compact = normalise_postcode(term)
        query = query.where(
            sa.or_(
                func.lower(SampleAddress.external_id).like(like),
                func.lower(SampleAddress.lines).like(like),
                func.lower(SampleAddress.postcode).like(like),
                SampleAddress.postcode == (compact or ""),
            )
        )
    if status in CODE_STATUS_LABELS:
        query = query.where(code_status == status)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = max(1, page)
    rows = db.session.execute(
        query.order_by(SampleAddress.id).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    )
    return [AddressStatus(*row) for row in rows], int(total)
