"""Results by stream: the sample stream (a random sample of addresses, which
measures what residents think), the open stream (self-selected, which gives
people a voice) and, only where the officer chooses, the two combined.

A survey without a sample stream has one set of results, over every response,
exactly as before streams existed (its stream is ``None``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from ...analysis.design import DesignWeights, design_weights
from ...extensions import db
from ...models import (
    AddressSample,
    Invitation,
    Response,
    ResponseStatus,
    ResultsPreference,
    SampleAddress,
    Survey,
    User,
)
from ...vocabulary import Stream
from ..audit import record

#: The combined view: both streams together. Not a Stream (no response
#: arrives "combined"), only a way of reading results.
COMBINED = "combined"
STREAM_CHOICES = (Stream.SAMPLE.value, Stream.OPEN.value, COMBINED)
STREAM_NAMES = {
    Stream.SAMPLE.value: "Sample stream",
    Stream.OPEN.value: "Open stream",
    COMBINED: "Both streams combined",
}
#: What the officer must be told about which figures are representative.
REPRESENTATIVE_STATEMENT = (
    "The sample stream is a random sample of addresses: its weighted figures estimate what "
    "residents think. The open stream is self-selected: it gives people a voice but does not "
    "measure the population."
)
COMBINED_STATEMENT = (
    "The combined figures put both streams together: they are not a random sample, so read "
    "them as a fuller picture of who replied, not as an estimate for all residents."
)


def has_sample_stream(survey: Survey) -> bool:
    """True once addresses were drawn or a sample response arrived."""
    drawn = db.session.scalar(
        select(func.count(AddressSample.id)).where(AddressSample.survey_id == survey.id)
    )
    if drawn:
        return True
    return bool(
        db.session.scalar(
            select(func.count(Response.id)).where(
                Response.survey_id == survey.id, Response.stream == Stream.SAMPLE
            )
        )
    )


def combine_streams(survey: Survey) -> bool:
    """The officer's choice to show both streams combined (default off)."""
    pref = db.session.get(ResultsPreference, survey.id)
    return bool(pref is not None and pref.combine_streams)


def set_combine_streams(survey: Survey, user: User, combine: bool) -> None:
    pref = db.session.get(ResultsPreference, survey.id)
    if pref is None:
        pref = ResultsPreference(survey_id=survey.id)
        db.session.add(pref)
    pref.combine_streams = bool(combine)
    pref.updated_by_id = user.id
    db.session.flush()
    record(
        "results_streams_combined" if combine else "results_streams_separated",
        partnership_id=survey.partnership_id,
        user_id=user.id,
        target=f"survey:{survey.id}",
    )


def available_streams(survey: Survey) -> list[str]:
    """The streams an officer can read results for; empty without a sample stream."""
    if not has_sample_stream(survey):
        return []
    streams = [Stream.SAMPLE.value, Stream.OPEN.value]
    if combine_streams(survey):
        streams.append(COMBINED)
    return streams


def resolve_stream(survey: Survey, requested: str | None = None) -> str | None:
    """The stream to show: `requested` when the survey offers it, else the
    sample stream (the representative one); ``None`` when the survey has no
    sample stream (every response, as always)."""
    streams = available_streams(survey)
    if not streams:
        return None
    return requested if requested in streams else Stream.SAMPLE.value


def stream_of_responses(survey: Survey) -> pd.Series:
    """Each submitted response's stream, indexed by response id."""
    rows = db.session.execute(
        select(Response.id, Response.stream).where(
            Response.survey_id == survey.id, Response.status == ResponseStatus.SUBMITTED
        )
    ).all()
    return pd.Series(
        [str(s or Stream.OPEN) for _, s in rows],
        index=pd.Index([int(i) for i, _ in rows], name="response_id", dtype="int64"),
        dtype="object",
    )


def in_stream(index: pd.Index, streams: pd.Series, stream: str | None) -> pd.Index:
    """The responses of `index` that belong to `stream` (all for None or combined)."""
    if stream is None or stream == COMBINED:
        return index
    found = streams.reindex(index)
    return index[(found == stream).to_numpy()]


def sample_strata(survey: Survey) -> dict[str, dict[str, float]]:
    """Every draw's per-stratum record, summed over draws of the survey."""
    strata: dict[str, dict[str, float]] = {}
    for sample in db.session.scalars(
        select(AddressSample).where(AddressSample.survey_id == survey.id)
    ):
        for name, counts in (sample.strata or {}).items():
            entry = strata.setdefault(str(name), {"population": 0.0, "drawn": 0.0})
            # Repeated draws from one address file share its population count.
            entry["population"] = max(entry["population"], float(counts.get("population", 0)))
            entry["drawn"] += float(counts.get("drawn", 0))
    return strata


def sample_design(survey: Survey, index: pd.Index | None = None) -> DesignWeights:
    """Design weights of the sample stream's respondents (those in `index`,
    when given), from each response's drawn address."""
    rows = db.session.execute(
        select(Response.id, SampleAddress.stratum, SampleAddress.selection_probability)
        .join(Invitation, Invitation.response_id == Response.id)
        .join(SampleAddress, SampleAddress.id == Invitation.address_id)
        .where(
            Response.survey_id == survey.id,
            Response.status == ResponseStatus.SUBMITTED,
            Response.stream == Stream.SAMPLE,
        )
    ).all()
    frame = pd.DataFrame(
        {
            "stratum": [str(s or "") for _, s, _ in rows],
            "selection_probability": [float(p) for _, _, p in rows],
        },
        index=pd.Index([int(i) for i, _, _ in rows], name="response_id", dtype="int64"),
    )
    if index is not None:
        frame = frame.reindex(index)
        missing = frame["selection_probability"].isna()
        if missing.any():
            # A sample response whose address record is gone (erased) keeps
            # the draw's overall sampling fraction, so it is neither lost nor
            # given an arbitrary weight.
            strata = sample_strata(survey)
            population = sum(s["population"] for s in strata.values())
            drawn = sum(s["drawn"] for s in strata.values())
            fraction = drawn / population if population > 0 and drawn > 0 else 1.0
            frame.loc[missing, "selection_probability"] = min(1.0, fraction)
            frame.loc[missing, "stratum"] = ""
    return design_weights(frame, sample_strata(survey))


def base_weights(survey: Survey, index: pd.Index, stream: str | None) -> pd.Series | None:
    """The weights raking starts from for `stream`: design weights for the
    sample stream; for the combined view, the sample's design weights scaled
    to mean 1 beside 1 for each open response; none otherwise."""
    if stream == Stream.SAMPLE.value:
        weights = sample_design(survey, index).weights
        return weights if len(weights) else None
    if stream == COMBINED:
        streams = stream_of_responses(survey).reindex(index)
        sample_ids = index[(streams == Stream.SAMPLE.value).to_numpy()]
        out = pd.Series(np.ones(len(index)), index=index, name="design_weight")
        if len(sample_ids):
            design = sample_design(survey, sample_ids).weights
            out.loc[sample_ids] = (design / design.mean()).to_numpy()
        return out
    return None


def response_rate(survey: Survey, stream: str | None, responses: int) -> float | None:
    """Sample stream: submitted responses over drawn addresses; else None
    (an open stream has no denominator)."""
    if stream != Stream.SAMPLE.value:
        return None
    drawn = db.session.scalar(
        select(func.count(SampleAddress.id)).where(SampleAddress.survey_id == survey.id)
    )
    return responses / drawn if drawn else None


def strata_rows(survey: Survey) -> list[dict[str, Any]]:
    """Per stratum: population, drawn, respondents, response rate, weight."""
    table = sample_design(survey).strata
    return [
        {
            "stratum": str(name),
            "population": int(row["population"]),
            "drawn": int(row["drawn"]),
            "respondents": int(row["respondents"]),
            "response_rate": None if pd.isna(row["response_rate"]) else float(row["response_rate"]),
            "design_weight": None if pd.isna(row["weight"]) else float(row["weight"]),
        }
        for name, row in table.iterrows()
    ]
