"""Wards grouped into the larger areas a partnership works in.

Weighting to wards needs enough residents from each ward; a survey with a few
hundred answers rarely has them. Rather than drop wards from the weighting,
consult groups the wards with too few answers into the partnership's own
areas (neighbourhood policing areas, locality boards, ...). The partnership
says once which area each ward belongs to; every survey's weighting, its
replicates and the results' state key follow it.

The wards are the `area` categories of the partnership's current population
benchmarks. A grouping saved against older benchmarks keeps its rows; wards
that are no longer in the benchmarks are listed apart on the page and have
no effect."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select

from ..extensions import db
from ..models import Partnership, PopulationBenchmark, User, WardArea
from . import ServiceError
from .audit import record
from .benchmarks import current_benchmarks

AREA_VARIABLE = "area"
MAX_AREA_LENGTH = 120
_SPACES = re.compile(r"\s+")


def benchmark_wards(partnership_id: int) -> list[tuple[str, float]]:
    """The wards of the current population benchmarks with their population
    share, in the order the benchmarks list them (alphabetical by name)."""
    benchmark_set = current_benchmarks(partnership_id)
    if benchmark_set is None:
        return []
    rows = db.session.execute(
        select(PopulationBenchmark.category, PopulationBenchmark.population_share)
        .where(
            PopulationBenchmark.benchmark_set_id == benchmark_set.id,
            PopulationBenchmark.variable == AREA_VARIABLE,
        )
        .order_by(PopulationBenchmark.category)
    ).all()
    return [(category, float(share)) for category, share in rows]


def ward_areas(partnership_id: int) -> dict[str, str]:
    """Ward -> area as the partnership saved it (empty when it has not)."""
    rows = db.session.execute(
        select(WardArea.ward, WardArea.area).where(WardArea.partnership_id == partnership_id)
    ).all()
    return {ward: area for ward, area in rows}


def areas_stamp(partnership_id: int) -> str:
    """Part of the results' state key: changes whenever the grouping does
    (saving replaces every row, so the largest id moves on)."""
    count, largest = db.session.execute(
        select(func.count(WardArea.id), func.max(WardArea.id)).where(
            WardArea.partnership_id == partnership_id
        )
    ).one()
    return f"{count}:{largest or 0}"


def _clean(name: str) -> str:
    return _SPACES.sub(" ", name).strip()


def set_ward_areas(
    partnership: Partnership, chosen: Mapping[str, str], *, by: User | None
) -> dict[str, str]:
    """Save the area of each ward (`chosen`: ward -> area name; a blank name
    leaves the ward on its own). Replaces the partnership's whole grouping.

    Refuses, naming the ward, an area name that is too long or that differs
    from another only in capitals or spaces (so "North" and "north " never
    become two areas), and any ward that is not in the current benchmarks."""
    known = {ward for ward, _ in benchmark_wards(partnership.id)}
    if not known:
        raise ServiceError(
            "Upload population benchmarks with ward figures before grouping wards into areas",
            field="form",
        )
    spelling: dict[str, str] = {}
    grouping: dict[str, str] = {}
    for ward, raw in chosen.items():
        if ward not in known:
            raise ServiceError(
                f"{ward} is not a ward in the current population benchmarks", field="form"
            )
        area = _clean(raw or "")
        if not area:
            continue
        if len(area) > MAX_AREA_LENGTH:
            raise ServiceError(
                f"The area for {ward} must be {MAX_AREA_LENGTH} characters or fewer",
                field=ward,
            )
        first = spelling.setdefault(area.casefold(), area)
        if first != area:
            raise ServiceError(
                f"The area for {ward}, ‘{area}’, differs from ‘{first}’ only in capitals: "
                "use one spelling",
                field=ward,
            )
        grouping[ward] = area
    db.session.execute(delete(WardArea).where(WardArea.partnership_id == partnership.id))
    db.session.add_all(
        WardArea(partnership_id=partnership.id, ward=ward, area=area)
        for ward, area in sorted(grouping.items())
    )
    db.session.flush()
    record(
        "ward_areas_set",
        partnership_id=partnership.id,
        user_id=by.id if by else None,
        details={"wards": len(grouping), "areas": len(set(grouping.values()))},
    )
    return grouping


@dataclass
class Area:
    name: str
    wards: list[str] = field(default_factory=list)
    share: float = 0.0


@dataclass
class AreaSummary:
    """What the page shows: each ward with its share and area ("" when on
    its own), the areas with their wards and combined share, wards left on
    their own, and saved wards the current benchmarks no longer have."""

    wards: list[tuple[str, float, str]]
    areas: list[Area]
    alone: list[str]
    gone: list[str]


def area_summary(partnership_id: int) -> AreaSummary:
    wards = benchmark_wards(partnership_id)
    saved = ward_areas(partnership_id)
    names = {ward for ward, _ in wards}
    areas: dict[str, Area] = {}
    for ward, share in wards:
        if ward in saved:
            area = areas.setdefault(saved[ward], Area(saved[ward]))
            area.wards.append(ward)
            area.share += share
    return AreaSummary(
        wards=[(ward, share, saved.get(ward, "")) for ward, share in wards],
        areas=sorted(areas.values(), key=lambda a: a.name),
        alone=[ward for ward, _ in wards if ward not in saved],
        gone=sorted(ward for ward in saved if ward not in names),
    )
