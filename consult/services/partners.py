"""The partnership's partner organisations (police, council, fire service,
and so on): the organisations its surveys and reports speak for."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import PartnerOrganisation, Partnership, User
from ..vocabulary import PARTNER_KINDS
from . import ServiceError
from .audit import record


def partner_organisations(partnership_id: int) -> list[PartnerOrganisation]:
    return list(
        db.session.scalars(
            select(PartnerOrganisation)
            .filter_by(partnership_id=partnership_id)
            .order_by(PartnerOrganisation.name)
        )
    )


def add_partner(partnership: Partnership, name: str, kind: str, *, by: User) -> PartnerOrganisation:
    name = name.strip()
    if not name:
        raise ServiceError("Enter the organisation's name", field="name")
    if kind not in dict(PARTNER_KINDS):
        raise ServiceError("Choose the type of organisation", field="kind")
    organisation = PartnerOrganisation(partnership_id=partnership.id, name=name, kind=kind)
    db.session.add(organisation)
    record("partner_added", partnership_id=partnership.id, user_id=by.id, target=name)
    return organisation
