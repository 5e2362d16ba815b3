"""Drawn addresses for letter and job tests, made directly (as a draw would
leave them): one AddressSample, its SampleAddress rows and their codes."""

from __future__ import annotations

import sqlalchemy as sa

from consult.extensions import db
from consult.models import AddressSample, Partnership, SampleAddress, Survey
from consult.services.sampling import issue_code
from consult.services.surveys import create_survey

LANGUAGES = ["en", "gu", "pa", "ur", "pl", "so", "bn", "ar"]


def letters_survey(
    slug: str = "feeling-safe-letters",
    *,
    partnership_slug: str = "north-csp",
    languages: list[str] | None = None,
) -> Survey:
    partnership = db.session.scalars(
        sa.select(Partnership).filter_by(slug=partnership_slug)
    ).first()
    if partnership is None:
        partnership = Partnership(slug=partnership_slug, name="North Community Safety Partnership")
        db.session.add(partnership)
        db.session.flush()
    partnership.return_address = "Community Safety Team\nFREEPOST NORTH CSP"
    return create_survey(
        partnership,
        slug=slug,
        title={"en": "Feeling safe in North"},
        languages=languages or LANGUAGES,
    )


def address_lines(index: int) -> str:
    return f"Flat {index}\n{index % 97 + 1} Narborough Road\nWestcotes\nLeicester"


def draw(survey: Survey, count: int, *, seed: int = 7) -> list[SampleAddress]:
    """`count` drawn addresses with their codes, flushed."""
    sample = AddressSample(
        survey_id=survey.id,
        filename="addresses.csv",
        seed=seed,
        strata={"all": {"population": count * 10, "drawn": count}},
    )
    db.session.add(sample)
    db.session.flush()
    addresses = []
    for index in range(1, count + 1):
        address = SampleAddress(
            sample_id=sample.id,
            survey_id=survey.id,
            external_id=f"UPRN{index:07d}",
            lines=address_lines(index),
            postcode=f"LE3 {index % 9}AB",
            area="Westcotes",
            stratum="all",
            selection_probability=0.1,
        )
        db.session.add(address)
        addresses.append(address)
    db.session.flush()
    for address in addresses:
        issue_code(address)
    db.session.flush()
    return addresses
