"""Outreach channels: the tracked ways a partnership reaches residents (a
partner organisation, an event, a community centre, a youth council), each
with its own link, QR code and poster, and the paper batches handed out
through it; and, for the fieldwork monitor and the outreach plan, which
under-represented groups each channel reaches and how many more responses
each group needs.

A channel's link (/s/<slug>/c/<token>) only says which channel a response
came through: the token is not a secret and identifies nobody. Services
flush; the request commits."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from flask import render_template, url_for
from flask_babel import force_locale
from markupsafe import Markup
from sqlalchemy import func, select

from ..analysis.targets import DEFAULT_USABLE_BASE, group_targets
from ..extensions import db
from ..i18n import LANGUAGES
from ..models import OutreachChannel, OutreachPlan, Response, ResponseStatus, Survey, User
from ..vocabulary import OUTREACH_KINDS
from . import ServiceError
from .audit import record
from .content import SurveyTexts

# Lower case and no look-alikes (0/o, 1/l/i): a poster's link is typed by hand.
TOKEN_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
TOKEN_LENGTH = 8  # 31^8, about 8.5 x 10^11: not guessable by accident
NAME_MAX = 120
USABLE_BASE_RANGE = (10, 10_000)
KIND_LABELS = dict(OUTREACH_KINDS)


def new_token() -> str:
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))


def channels(survey: Survey, *, include_archived: bool = True) -> list[OutreachChannel]:
    stmt = select(OutreachChannel).filter_by(survey_id=survey.id)
    if not include_archived:
        stmt = stmt.where(OutreachChannel.archived_at.is_(None))
    return list(db.session.scalars(stmt.order_by(OutreachChannel.name)).all())


def submitted_count(channel: OutreachChannel) -> int:
    return int(
        db.session.scalar(
            select(func.count(Response.id)).where(
                Response.outreach_channel_id == channel.id,
                Response.status == ResponseStatus.SUBMITTED,
            )
        )
        or 0
    )


def get_channel(survey: Survey, channel_id: int) -> OutreachChannel | None:
    """A channel of this survey (so of its partnership), or None."""
    return db.session.scalars(
        select(OutreachChannel).filter_by(id=channel_id, survey_id=survey.id)
    ).first()


def _clean_name(survey: Survey, name: str, *, exclude: int | None = None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ServiceError("Enter a name for the channel", field="name")
    if len(name) > NAME_MAX:
        raise ServiceError(f"The name must be {NAME_MAX} characters or fewer", field="name")
    # Names are compared without regard to case: "Youth council" and "youth
    # council" would read as the same channel on the monitor.
    clash = db.session.scalars(
        select(OutreachChannel.id).where(
            OutreachChannel.survey_id == survey.id,
            func.lower(OutreachChannel.name) == name.lower(),
            OutreachChannel.id != (exclude or 0),
        )
    ).first()
    if clash is not None:
        raise ServiceError(
            f"This survey already has a channel called “{name}”: choose another name",
            field="name",
        )
    return name


def create_channel(survey: Survey, name: str, kind: str, *, by: User) -> OutreachChannel:
    name = _clean_name(survey, name)
    if kind not in KIND_LABELS:
        raise ServiceError("Choose the kind of channel", field="kind")
    token = new_token()
    while db.session.scalars(select(OutreachChannel.id).filter_by(token=token)).first():
        token = new_token()  # a collision: draw again
    channel = OutreachChannel(survey_id=survey.id, name=name, kind=kind, token=token)
    db.session.add(channel)
    db.session.flush()
    record(
        "outreach_channel_created",
        partnership_id=survey.partnership_id,
        user_id=by.id,
        target=f"survey:{survey.id}:channel:{channel.id}",
        details={"kind": kind},
    )
    return channel


def rename_channel(channel: OutreachChannel, survey: Survey, name: str, *, by: User) -> None:
    name = _clean_name(survey, name, exclude=channel.id)
    if name == channel.name:
        return
    channel.name = name
    db.session.flush()
    record(
        "outreach_channel_renamed",
        partnership_id=survey.partnership_id,
        user_id=by.id,
        target=f"survey:{survey.id}:channel:{channel.id}",
    )


def archive_channel(channel: OutreachChannel, survey: Survey, *, by: User) -> None:
    """Stop recording responses from the channel's link. Its responses keep
    their channel, and it stays on the monitor with what it reached."""
    if channel.archived_at is not None:
        return
    channel.archived_at = datetime.now(UTC)
    db.session.flush()
    record(
        "outreach_channel_archived",
        partnership_id=survey.partnership_id,
        user_id=by.id,
        target=f"survey:{survey.id}:channel:{channel.id}",
    )


def active_channel(survey: Survey, token: str) -> OutreachChannel | None:
    """The live channel a link's token names, or None (unknown or archived)."""
    token = (token or "").strip().lower()
    if not token or len(token) > 16:
        return None
    return db.session.scalars(
        select(OutreachChannel).where(
            OutreachChannel.survey_id == survey.id,
            OutreachChannel.token == token,
            OutreachChannel.archived_at.is_(None),
        )
    ).first()


def record_channel(response: Response, channel_id: object) -> None:
    """Give a just-started response the channel its browser came through,
    if that channel belongs to the response's survey. A channel archived
    between the link and the start still counts: the resident came through it."""
    if not isinstance(channel_id, int) or isinstance(channel_id, bool):
        return
    channel = db.session.get(OutreachChannel, channel_id)
    if channel is not None and channel.survey_id == response.survey_id:
        response.outreach_channel_id = channel.id


def paper_channel(survey: Survey, value: str) -> int | None:
    """The channel a keyed paper form came through: "" for none, else the id
    of a live channel of this survey (ServiceError otherwise)."""
    value = (value or "").strip()
    if not value:
        return None
    channel = get_channel(survey, int(value)) if value.isdigit() else None
    if channel is None or channel.archived_at is not None:
        raise ServiceError(
            "Choose one of this survey’s channels, or none", field="outreach_channel"
        )
    return channel.id


# --- the officer's setting: the effective base counted as usable ---------------------------


def usable_base(survey: Survey) -> int:
    plan = db.session.scalars(select(OutreachPlan).filter_by(survey_id=survey.id)).first()
    return plan.usable_base if plan is not None else DEFAULT_USABLE_BASE


def set_usable_base(survey: Survey, value: int | None, *, by: User) -> OutreachPlan:
    low, high = USABLE_BASE_RANGE
    if value is None or not low <= value <= high:
        raise ServiceError(
            f"Enter a whole number of responses from {low} to {high:,}", field="usable_base"
        )
    plan = db.session.scalars(select(OutreachPlan).filter_by(survey_id=survey.id)).first()
    if plan is None:
        plan = OutreachPlan(survey_id=survey.id)
        db.session.add(plan)
    plan.usable_base = value
    db.session.flush()
    record(
        "outreach_target_set",
        partnership_id=survey.partnership_id,
        user_id=by.id,
        target=f"survey:{survey.id}",
        details={"usable_base": value},
    )
    return plan


# --- links, QR codes and posters ------------------------------------------------------------


def channel_link(survey: Survey, channel: OutreachChannel) -> str:
    return url_for("respond.channel_link", slug=survey.slug, token=channel.token, _external=True)


def qr_svg(link: str, *, label: str, scale: int = 6) -> Markup:
    """A QR code of `link` as inline SVG: no image request, nothing sent elsewhere."""
    import segno

    qr = segno.make(link, error="m")
    svg = qr.svg_inline(scale=scale, dark="#0b0c0c", light="#ffffff")
    return Markup(svg.replace("<svg ", f'<svg role="img" aria-label="{Markup.escape(label)}" ', 1))


@dataclass
class PosterLanguage:
    code: str
    name: str  # the language's own name
    direction: str
    title: str
    invitation: str


def poster_html(survey: Survey, channel: OutreachChannel) -> str:
    """A one-page A4 poster: what the survey is, in each language it offers,
    the QR code and the link. The link carries the channel, nothing else."""
    from flask_babel import gettext as _

    texts = SurveyTexts(survey)
    link = channel_link(survey, channel)
    languages = []
    for code in survey.languages:
        info = LANGUAGES.get(code)
        with force_locale(code):
            invitation = _(
                "Scan the code or type the web address to answer in %(language)s.",
                language=info.native_name if info else code,
            )
            heading = _("Have your say on community safety")
        languages.append(
            PosterLanguage(
                code=code,
                name=info.native_name if info else code,
                direction=info.direction if info else "ltr",
                title=texts.title(code),
                invitation=f"{heading}. {invitation}",
            )
        )
    default = languages[0] if languages else None
    return render_template(
        "reach/channel_poster.html",
        survey=survey,
        channel=channel,
        link=link,
        qr=qr_svg(link, label=default.title if default else link, scale=10),
        default=default,
        languages=languages,
        partnership=survey.partnership.name,
    )


def poster_pdf(survey: Survey, channel: OutreachChannel) -> bytes:
    """The poster as PDF bytes, typeset by WeasyPrint over the system's fonts
    (as the printable questionnaire is), fetching nothing."""
    from weasyprint import HTML

    from .printable import _no_fetch

    html = poster_html(survey, channel)
    return bytes(HTML(string=html, base_url=None, url_fetcher=_no_fetch).write_pdf())


# --- reach per channel and targets per group (monitor and outreach plan) --------------------


@dataclass
class GroupReached:
    variable: str
    category: str
    label: str
    count: int


@dataclass
class ChannelReach:
    channel_id: int | None  # None: the public link and forms with no channel
    name: str
    kind: str
    archived: bool
    submitted: int = 0
    groups: list[GroupReached] = field(default_factory=list)

    @property
    def reached(self) -> int:
        """Responses from under-represented groups (a resident in two such
        groups counts twice: it is a count of group memberships)."""
        return sum(g.count for g in self.groups)


@dataclass
class GroupTarget:
    variable: str
    category: str
    label: str
    n: int
    population_share: float
    effective_base: float
    for_usable_base: int
    for_share: int | None


@dataclass
class OutreachView:
    channels: list[ChannelReach] = field(default_factory=list)
    # The under-represented groups, in the representation table's order.
    groups: list[tuple[str, str, str]] = field(default_factory=list)
    targets: list[GroupTarget] = field(default_factory=list)
    usable_base: int = DEFAULT_USABLE_BASE
    design_effect: float = 1.0
    weighted: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "channels": [
                {
                    "channel_id": c.channel_id,
                    "name": c.name,
                    "kind": c.kind,
                    "archived": c.archived,
                    "submitted": c.submitted,
                    "groups": {f"{g.variable}:{g.category}": g.count for g in c.groups},
                }
                for c in self.channels
            ],
            "targets": [
                {
                    "variable": t.variable,
                    "category": t.category,
                    "responses": t.n,
                    "effective_base": round(t.effective_base, 1),
                    "for_usable_base": t.for_usable_base,
                    "for_share": t.for_share,
                }
                for t in self.targets
            ],
            "usable_base": self.usable_base,
            "design_effect": round(self.design_effect, 4),
        }


NO_CHANNEL = "No channel (the public link, and paper with no channel)"


def channel_counts(survey: Survey) -> OutreachView:
    """Submitted responses per channel, every channel listed (a new one with
    none yet too), and a row for responses that came through no channel."""
    rows = db.session.execute(
        select(Response.outreach_channel_id, func.count(Response.id))
        .where(Response.survey_id == survey.id, Response.status == ResponseStatus.SUBMITTED)
        .group_by(Response.outreach_channel_id)
    ).all()
    counts = {channel_id: int(count) for channel_id, count in rows}
    view = OutreachView(usable_base=usable_base(survey))
    for channel in channels(survey):
        view.channels.append(
            ChannelReach(
                channel.id,
                channel.name,
                channel.kind,
                channel.archived_at is not None,
                counts.get(channel.id, 0),
            )
        )
    view.channels.append(ChannelReach(None, NO_CHANNEL, "", False, counts.get(None, 0)))
    return view


def add_reach(
    view: OutreachView,
    survey: Survey,
    frame: pd.DataFrame,
    table: pd.DataFrame,
    labels: dict[tuple[str, str], str],
) -> None:
    """Fill in the groups each channel reached and the targets per group.

    `frame` and `table` are the demographic frame (indexed by response id)
    and the representation table the monitor already computed: a group is
    under-represented here exactly when the monitor says so."""
    under = table[table["flag"] == "under"]
    view.groups = [
        (str(r["variable"]), str(r["category"]), labels.get((r["variable"], r["category"]), ""))
        for r in under.to_dict("records")
    ]
    view.design_effect, view.weighted = _design_effect(survey, frame)
    targets = group_targets(table, usable_base=view.usable_base, design_effect=view.design_effect)
    view.targets = [
        GroupTarget(
            variable=str(t["variable"]),
            category=str(t["category"]),
            label=labels.get((str(t["variable"]), str(t["category"])), str(t["category"])),
            n=int(t["n"]),
            population_share=float(t["population_share"]),
            effective_base=float(t["effective_base"]),
            for_usable_base=int(t["for_usable_base"]),
            for_share=None if pd.isna(t["for_share"]) else int(t["for_share"]),
        )
        for t in targets.to_dict("records")
    ]
    if not view.groups or frame.empty:
        return
    ids = db.session.execute(
        select(Response.id, Response.outreach_channel_id).where(
            Response.survey_id == survey.id, Response.status == ResponseStatus.SUBMITTED
        )
    ).all()
    channel_of = pd.Series(
        {rid: (cid if cid is not None else -1) for rid, cid in ids}, dtype="int64"
    ).reindex(frame.index, fill_value=-1)
    by_id = {c.channel_id if c.channel_id is not None else -1: c for c in view.channels}
    for variable, category, label in view.groups:
        if variable not in frame.columns:
            continue
        # The same matching representation uses: the category as text.
        in_group = frame[variable].map(lambda v: v if isinstance(v, str) else str(v)) == category
        counts = channel_of[in_group.to_numpy()].value_counts()
        for channel_id, reach in by_id.items():
            reach.groups.append(
                GroupReached(variable, category, label or category, int(counts.get(channel_id, 0)))
            )
    # The channels that work for the missing groups first: the largest share
    # of what a channel brought in from those groups (a youth council with 6
    # of 10 before a public link with 14 of 170), then by how many.
    view.channels.sort(
        key=lambda c: (
            -(c.reached / c.submitted if c.submitted else 0.0),
            -c.reached,
            -c.submitted,
            c.name,
        )
    )


def _design_effect(survey: Survey, demographics: pd.DataFrame) -> tuple[float, bool]:
    """Kish's design effect n / n_eff of the weights the results would use,
    or 1 when they are not used (no benchmarks, the raking failed)."""
    from .results.schemes import decide_weighting

    if demographics.empty:
        return 1.0, False
    demographics = demographics.copy()
    if "ethnic_group_detailed" in demographics and "ethnic_group" not in demographics:
        # As results.schemes.demographics_for: a detailed answer counts
        # towards its broad Census group, the margin usually weighted to.
        detailed = demographics["ethnic_group_detailed"]
        demographics["ethnic_group"] = detailed.str.split(":").str[0].str.strip().astype("object")
    try:
        decision = decide_weighting(survey, demographics)
    except (ValueError, KeyError):
        return 1.0, False
    if not decision.used:
        return 1.0, False
    w = decision.weights.to_numpy(dtype="float64")
    total, squares = float(w.sum()), float((w * w).sum())
    if squares <= 0 or total <= 0:
        return 1.0, False
    return max(1.0, len(w) * squares / (total * total)), True


# --- the demo --------------------------------------------------------------------------------

DEMO_CHANNELS = (
    ("Highfields Youth Council", "youth_council"),
    ("Belgrave Neighbourhood Centre", "community_centre"),
)


def seed_demo_channels(survey: Survey, seed: int = 2026) -> int:
    """Two channels on the demo survey, and its online responses given to
    them as if they had come through their links: the youth council reaching
    mostly young people, the neighbourhood centre mostly Asian residents, so
    the monitor shows which channel reaches which missing group. Returns the
    number of channels added (none if the survey already has some)."""
    import numpy as np
    from sqlalchemy import update

    from ..models import Channel
    from .frames import demographic_frame

    if channels(survey):
        return 0
    made = []
    for name, kind in DEMO_CHANNELS:
        channel = OutreachChannel(survey_id=survey.id, name=name, kind=kind, token=new_token())
        db.session.add(channel)
        made.append(channel)
    db.session.flush()
    frame = demographic_frame(survey)
    online = set(
        db.session.scalars(
            select(Response.id).where(
                Response.survey_id == survey.id,
                Response.status == ResponseStatus.SUBMITTED,
                Response.channel == Channel.ONLINE,
            )
        ).all()
    )
    if frame.empty or not online:
        return len(made)
    frame = frame[frame.index.isin(list(online))]
    rng = np.random.default_rng(seed)
    draw = rng.random(len(frame))
    young = (frame["age_band"] == "16-24").to_numpy() if "age_band" in frame else False
    ethnic = frame.get("ethnic_group", frame.get("ethnic_group_detailed"))
    asian = (
        ethnic.astype("string").str.startswith("Asian").fillna(False).to_numpy(dtype=bool)
        if ethnic is not None
        else np.zeros(len(frame), dtype=bool)
    )
    youth = (young & (draw < 0.6)) | (~young & (draw < 0.02))
    centre = ~youth & ((asian & (draw > 0.6) & (draw < 0.9)) | (~asian & (draw > 0.97)))
    for channel, chosen in zip(made, (youth, centre), strict=True):
        ids = [int(i) for i in frame.index[chosen]]
        for start in range(0, len(ids), 500):
            db.session.execute(
                update(Response)
                .where(Response.id.in_(ids[start : start + 500]))
                .values(outreach_channel_id=channel.id)
            )
    db.session.flush()
    return len(made)
