"""The sample stream: a reproducible draw of addresses and one code per drawn
address. Services flush; the request commits."""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app

from ..extensions import db
from ..models import Invitation, SampleAddress
from .responses import CODE_ALPHABET, INVITATION_CODE_LENGTH, code_digest, group


def letter_code(survey_id: int, address_id: int) -> str:
    """The code printed on a drawn address's letters, grouped for printing.

    Derived from the server's secret rather than stored: only its digest is
    kept (as for every code), yet a reminder months later prints the same code
    as the first letter without any plain code lying in the database."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    mac = hmac.new(key, f"letter:{survey_id}:{address_id}".encode(), hashlib.sha256).digest()
    number = int.from_bytes(mac, "big")
    chars = []
    for _ in range(INVITATION_CODE_LENGTH):
        number, index = divmod(number, len(CODE_ALPHABET))
        chars.append(CODE_ALPHABET[index])
    return group("".join(chars), 5)


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
