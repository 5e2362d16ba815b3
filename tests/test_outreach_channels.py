"""Outreach channels: creating and archiving them, their links through the
resident's journey, paper forms assigned to them, and what the fieldwork
monitor and the outreach plan say each channel reached."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from conftest import sign_in
from test_build_services import make_survey, q
from test_respond_support import Resident, build_survey, responses

from consult.analysis.targets import responses_for_base, responses_for_share
from consult.extensions import db
from consult.models import (
    Answer,
    AuditEvent,
    OutreachChannel,
    Partnership,
    Response,
    Survey,
    User,
)
from consult.services import ServiceError, builder, outreach
from consult.services.benchmarks import import_benchmarks
from consult.services.fieldwork import monitor

BENCH = "variable,category,population_share\nage_band,16-24,0.3\nage_band,25+,0.7\n"


def _officer() -> User:
    partnership = db.session.scalars(sa.select(Partnership).filter_by(slug="north-csp")).one()
    email = "maker@north-csp.example"
    user = db.session.scalars(sa.select(User).filter_by(email=email)).first()
    if user is None:
        user = User(email=email, password_hash="x")
        db.session.add(user)
        db.session.flush()
    assert partnership
    return user


def _channel_id(app, slug: str, name: str) -> tuple[int, str]:
    with app.app_context():
        channel = db.session.scalars(
            sa.select(OutreachChannel)
            .join(Survey, Survey.id == OutreachChannel.survey_id)
            .where(Survey.slug == slug, OutreachChannel.name == name)
        ).one()
        return channel.id, channel.token


def test_create_rename_archive_and_names_unique_per_survey(app_context):
    survey = make_survey()
    officer = _officer()
    youth = outreach.create_channel(
        survey, "  Highfields   Youth Council ", "youth_council", by=officer
    )
    assert youth.name == "Highfields Youth Council"
    assert re.fullmatch(r"[23456789a-hjkmnp-z]{8}", youth.token)
    library = outreach.create_channel(survey, "Central library", "community_centre", by=officer)
    assert youth.token != library.token
    with pytest.raises(
        ServiceError, match="already has a channel called “highfields youth council”"
    ):
        outreach.create_channel(survey, "highfields youth council", "event", by=officer)
    with pytest.raises(ServiceError, match="Choose the kind"):
        outreach.create_channel(survey, "Eid fair", "carnival", by=officer)
    with pytest.raises(ServiceError, match="Enter a name"):
        outreach.create_channel(survey, "   ", "event", by=officer)
    with pytest.raises(ServiceError, match="already has a channel"):
        outreach.rename_channel(library, survey, "HIGHFIELDS YOUTH COUNCIL", by=officer)
    outreach.rename_channel(library, survey, "Central Library (Bishop Street)", by=officer)
    assert library.name == "Central Library (Bishop Street)"
    # The same name on another survey is fine.
    other = make_survey_with_slug("other")
    outreach.create_channel(other, "Highfields Youth Council", "youth_council", by=officer)

    assert outreach.active_channel(survey, youth.token) is youth
    assert outreach.active_channel(other, youth.token) is None  # another survey's link
    outreach.archive_channel(youth, survey, by=officer)
    assert youth.archived_at is not None
    assert outreach.active_channel(survey, youth.token) is None
    assert [c.name for c in outreach.channels(survey, include_archived=False)] == [
        "Central Library (Bishop Street)"
    ]
    actions = db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == [
        "outreach_channel_created",
        "outreach_channel_created",
        "outreach_channel_renamed",
        "outreach_channel_created",
        "outreach_channel_archived",
    ]
    # Services flush, never commit: rolling back undoes every channel.
    db.session.rollback()
    assert db.session.scalars(sa.select(OutreachChannel)).all() == []


def make_survey_with_slug(slug: str) -> Survey:
    from consult.services.surveys import create_survey

    partnership = db.session.scalars(sa.select(Partnership).filter_by(slug="north-csp")).one()
    return create_survey(partnership, slug=slug, title={"en": "Other"}, languages=["en"])


def test_officer_pages_create_show_link_qr_poster_and_refuse_a_duplicate(app, client, signed_in):
    signed_in("officer")
    with app.app_context():
        # A draft: posters are printed before the survey opens.
        survey = make_survey(languages=("en", "ur", "pl"))
        survey_id = survey.id
        db.session.commit()
    base = f"/manage/surveys/{survey_id}"
    overview = client.get(base).get_data(as_text=True)
    assert f'href="{base}/channels"' in overview
    page = client.get(f"{base}/channels")
    assert page.status_code == 200 and "No channels yet" in page.get_data(as_text=True)
    created = client.post_form(
        f"{base}/channels", {"name": "Highfields Youth Council", "kind": "youth_council"}
    )
    assert created.status_code == 302
    channel_id, token = _channel_id(app, "safe", "Highfields Youth Council")
    assert created.location.endswith(f"{base}/channels/{channel_id}")
    shown = client.get(created.location).get_data(as_text=True)
    assert f"/s/safe/c/{token}" in shown
    assert "<svg" in shown and "Printable poster" in shown
    assert re.search(r'id="channel-submitted">0<', shown)
    duplicate = client.post_form(
        f"{base}/channels",
        {"name": "highfields youth council", "kind": "event"},
        token_from=f"{base}/channels",
    )
    assert duplicate.status_code == 400
    text = duplicate.get_data(as_text=True)
    assert "already has a channel called" in text and "There is a problem" in text
    missing = client.post_form(f"{base}/channels", {"name": "", "kind": ""})
    assert missing.status_code == 400 and "Enter a name for the channel" in missing.get_data(
        as_text=True
    )
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(OutreachChannel.id))) == 1

    poster = client.get(f"{base}/channels/{channel_id}/poster.pdf")
    assert poster.status_code == 200 and poster.mimetype == "application/pdf"
    from pypdf import PdfReader

    words = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(poster.data)).pages)
    flat = re.sub(r"\s+", "", words)
    assert f"/s/safe/c/{token}" in flat
    assert "Safe?" in words and "North" in words
    assert "(Polski)" in words  # the languages it can be answered in, by their own names
    png = client.get(f"{base}/channels/{channel_id}/qr.png")
    assert png.status_code == 200 and png.data.startswith(b"\x89PNG")

    renamed = client.post_form(
        f"{base}/channels/{channel_id}/rename",
        {"name": "Youth Council"},
        token_from=f"{base}/channels/{channel_id}",
    )
    assert renamed.status_code == 302
    archived = client.post_form(
        f"{base}/channels/{channel_id}/archive", {}, token_from=f"{base}/channels/{channel_id}"
    )
    assert archived.status_code == 302
    listing = client.get(f"{base}/channels").get_data(as_text=True)
    assert "Youth Council" in listing and "Archived" in listing


def test_a_channel_link_records_the_channel_on_the_response(app, client):
    survey_id = build_survey(app)
    with app.app_context():
        survey = db.session.get(Survey, survey_id)
        channel = outreach.create_channel(survey, "Eid fair", "event", by=_officer())
        channel_id, token = channel.id, channel.token
        db.session.commit()
    landing = client.get(f"/s/quick/c/{token}")
    assert landing.status_code == 302 and landing.location.endswith("/s/quick")
    assert client.get(landing.location).status_code == 200
    resident = Resident(client)
    resident.complete_quick()
    assert resident.submit().status_code == 302
    [response] = responses(app)
    assert response.status == "submitted"
    assert response.outreach_channel_id == channel_id
    assert response.channel == "online"


def test_the_language_asked_for_is_kept(app, client):
    survey_id = build_survey(app)
    with app.app_context():
        survey = db.session.get(Survey, survey_id)
        token = outreach.create_channel(survey, "Mosque", "faith_group", by=_officer()).token
        db.session.commit()
    landing = client.get(f"/s/quick/c/{token}?lang=ur")
    assert landing.location.endswith("/s/quick?lang=ur")


def test_unknown_or_archived_tokens_still_reach_the_start_page(app, client):
    survey_id = build_survey(app)
    with app.app_context():
        survey = db.session.get(Survey, survey_id)
        officer = _officer()
        old = outreach.create_channel(survey, "Last year's fair", "event", by=officer)
        outreach.archive_channel(old, survey, by=officer)
        old_token = old.token
        db.session.commit()
    for token in ("nonsense", old_token, "x" * 200, "<script>"):
        landing = client.get(f"/s/quick/c/{token}")
        assert landing.status_code == 302, token
        start = client.get(landing.location)
        assert start.status_code == 200 and "Quick safety survey" in start.get_data(as_text=True)
    Resident(client).start()
    [response] = responses(app)
    assert response.outreach_channel_id is None  # nothing recorded


def test_a_response_started_without_a_channel_link_has_none(app, client):
    build_survey(app)
    Resident(client).start()
    assert [r.outreach_channel_id for r in responses(app)] == [None]


def test_paper_entry_with_a_channel(app, client, signed_in):
    signed_in("officer")
    with app.app_context():
        survey = make_survey()
        builder.change_status(survey, "open")
        officer = _officer()
        library = outreach.create_channel(survey, "Central library", "community_centre", by=officer)
        gone = outreach.create_channel(survey, "Old event", "event", by=officer)
        outreach.archive_channel(gone, survey, by=officer)
        other = make_survey_with_slug("other")
        foreign = outreach.create_channel(other, "Elsewhere", "event", by=officer)
        survey_id, library_id, gone_id, foreign_id = survey.id, library.id, gone.id, foreign.id
        db.session.commit()
    path = f"/manage/surveys/{survey_id}/paper-entry"
    page = client.get(path).get_data(as_text=True)
    assert "Outreach channel" in page and "Central library" in page
    assert "Old event" not in page and "Elsewhere" not in page
    form = {
        "channel": "paper",
        "language": "en",
        "batch": "LIB1",
        "serial": "001",
        "keying": "1",
        "pe-age_band": "1",
        "outreach_channel": str(library_id),
    }
    stored = client.post_form(path, {**form, "idempotency_key": "key-1"})
    assert stored.status_code == 302
    assert f"outreach_channel={library_id}" in stored.location  # kept for the batch's next form
    again = client.get(stored.location).get_data(as_text=True)
    assert f'<option value="{library_id}" selected>' in again
    plain = client.post_form(
        path, {**form, "serial": "002", "outreach_channel": "", "idempotency_key": "key-2"}
    )
    assert plain.status_code == 302
    for n, bad in enumerate((str(gone_id), str(foreign_id), "999999", "abc")):
        refused = client.post_form(
            path, {**form, "serial": f"10{n}", "outreach_channel": bad, "idempotency_key": f"b{n}"}
        )
        assert refused.status_code == 400, bad
        assert "Choose one of this survey’s channels" in refused.get_data(as_text=True)
    with app.app_context():
        rows = db.session.execute(
            sa.select(Response.batch, Response.outreach_channel_id)
            .filter_by(survey_id=survey_id)
            .order_by(Response.id)
        ).all()
        assert [tuple(r) for r in rows] == [("LIB1/001", library_id), ("LIB1/002", None)]


def _answered(survey: Survey, plan: list[tuple[str, int | None, int]]) -> None:
    """Submitted responses: (age code, outreach channel id, how many)."""
    age = q(survey, "age_band")
    number = 0
    for code, channel_id, count in plan:
        for _ in range(count):
            number += 1
            response = Response(
                survey_id=survey.id,
                reference=f"R-{number}",
                language="en",
                status="submitted",
                submitted_at=datetime(2026, 5, 1, tzinfo=UTC),
                outreach_channel_id=channel_id,
            )
            db.session.add(response)
            db.session.flush()
            db.session.add(Answer(response_id=response.id, question_id=age.id, option_code=code))
    db.session.flush()


def _survey_reaching_young_people() -> tuple[Survey, int, int]:
    survey = make_survey()
    import_benchmarks(survey.partnership, BENCH)
    builder.set_demographic(
        q(survey, "age_band"), "age_band", {"aged_16_24": "16-24", "aged_25_plus": "25+"}
    )
    builder.change_status(survey, "open")
    officer = _officer()
    youth = outreach.create_channel(survey, "Highfields Youth Council", "youth_council", by=officer)
    library = outreach.create_channel(survey, "Central library", "community_centre", by=officer)
    _answered(
        survey,
        [
            ("aged_16_24", youth.id, 6),
            ("aged_25_plus", youth.id, 4),
            ("aged_25_plus", library.id, 20),
            ("aged_16_24", None, 14),
            ("aged_25_plus", None, 156),
        ],
    )
    # Started, not submitted: never counted.
    db.session.add(
        Response(
            survey_id=survey.id, reference="R-open", language="en", outreach_channel_id=youth.id
        )
    )
    db.session.flush()
    return survey, youth.id, library.id


def test_monitor_counts_per_channel_and_the_groups_each_reached(app_context):
    survey, youth_id, library_id = _survey_reaching_young_people()
    m = monitor(survey)
    o = m.outreach
    assert o is not None
    assert o.groups == [("age_band", "16-24", "Age band: 16 to 24")]
    rows = [(c.channel_id, c.submitted, [g.count for g in c.groups]) for c in o.channels]
    # The youth council brought in 6 young people of its 10 responses: it
    # comes first, before the public link (14 of 170); the library reached none.
    assert rows == [(youth_id, 10, [6]), (None, 170, [14]), (library_id, 20, [0])]
    assert o.channels[1].name.startswith("No channel")
    # Targets: 20 of 200 aged 16-24 against 30% of residents.
    [target] = o.targets
    assert (target.category, target.n) == ("16-24", 20)
    assert target.for_share == responses_for_share(20, 200, 0.3)
    assert target.for_share > 0
    # Raked to age, the young weigh 0.3 / 0.1 = 3 and the others 0.7 / 0.9:
    # Σw = 200, Σw² = 20·9 + 180·0.6049 = 288.89, so the design effect is
    # 200 · 288.89 / 200² = 1.4444 and an effective base of 100 needs 145
    # responses: 125 more.
    assert o.weighted and o.design_effect == pytest.approx(1.4444, abs=1e-4)
    assert target.effective_base == pytest.approx(20 / 1.4444, abs=1e-3)
    assert target.for_usable_base == 125
    assert responses_for_base(20, 100, o.design_effect) == 125
    assert survey.status == "open"  # advice only: nothing closes


def test_monitor_page_json_and_outreach_plan_show_reach_and_targets(app, client, signed_in):
    signed_in("officer")
    with app.app_context():
        survey, youth_id, _library_id = _survey_reaching_young_people()
        survey_id = survey.id
        db.session.commit()
    base = f"/manage/surveys/{survey_id}"
    page = client.get(f"{base}/fieldwork").get_data(as_text=True)
    assert 'id="channel-reach"' in page and 'id="group-targets"' in page
    reach = page.split('id="channel-reach"')[1].split("</table>")[0]
    assert reach.index("Highfields Youth Council") < reach.index("No channel")
    assert reach.index("No channel") < reach.index("Central library")
    assert "More for a usable base of 100" in page
    assert (
        "Responses from under-represented groups" in reach
        and "Age band: 16 to 24: <strong" in reach
    )
    data = client.get(f"{base}/fieldwork.json").get_json()
    channels = data["outreach"]["channels"]
    assert channels[0]["channel_id"] == youth_id
    assert channels[0]["groups"] == {"age_band:16-24": 6}
    assert data["outreach"]["targets"][0]["responses"] == 20
    assert 'id="group-targets"' in data["html"]

    plan = client.get(f"{base}/channels").get_data(as_text=True)
    assert 'id="group-targets"' in plan and "Outreach plan" in plan
    changed = client.post_form(
        f"{base}/outreach-target", {"usable_base": "50"}, token_from=f"{base}/channels"
    )
    assert changed.status_code == 302
    assert "More for a usable base of 50" in client.get(f"{base}/fieldwork").get_data(as_text=True)
    for bad in ("0", "abc", "", "100000"):
        refused = client.post_form(
            f"{base}/outreach-target", {"usable_base": bad}, token_from=f"{base}/channels"
        )
        assert refused.status_code == 400, bad
        assert "Enter a whole number of responses" in refused.get_data(as_text=True)
    with app.app_context():
        survey = db.session.get(Survey, survey_id)
        assert outreach.usable_base(survey) == 50


def test_roles_and_tenancy(app, client, signed_in, accounts):
    signed_in("officer")
    with app.app_context():
        survey = make_survey()
        channel = outreach.create_channel(survey, "Eid fair", "event", by=_officer())
        other = make_survey_with_slug("other")
        foreign = outreach.create_channel(other, "Elsewhere", "event", by=_officer())
        survey_id, channel_id, other_id, foreign_id = survey.id, channel.id, other.id, foreign.id
        db.session.commit()
    base = f"/manage/surveys/{survey_id}"
    # A channel of another survey, under this survey's address: not found.
    assert client.get(f"{base}/channels/{foreign_id}").status_code == 404
    assert client.get(f"/manage/surveys/{other_id}/channels/{channel_id}").status_code == 404

    client.post_form("/sign-out", {}, token_from="/manage")
    sign_in(client, accounts.user("viewer", partnership="north-csp"))
    assert client.get(f"{base}/channels").status_code == 200
    viewer_page = client.get(f"{base}/channels/{channel_id}").get_data(as_text=True)
    assert "Rename" not in viewer_page and "Archive this channel" not in viewer_page
    assert client.get(f"{base}/channels/{channel_id}/poster.pdf").status_code == 200
    token = client.csrf_token("/manage")
    for path, data in (
        (f"{base}/channels", {"name": "Viewer's channel", "kind": "event"}),
        (f"{base}/channels/{channel_id}/rename", {"name": "Renamed"}),
        (f"{base}/channels/{channel_id}/archive", {}),
        (f"{base}/outreach-target", {"usable_base": "60"}),
    ):
        assert client.post(path, data={**data, "csrf_token": token}).status_code == 403, path
    with app.app_context():
        names = db.session.scalars(sa.select(OutreachChannel.name).order_by(OutreachChannel.id))
        assert list(names) == ["Eid fair", "Elsewhere"]

    client.post_form("/sign-out", {}, token_from="/manage")
    sign_in(client, accounts.user("officer", partnership="south-csp"))
    for path in (
        "channels",
        f"channels/{channel_id}",
        f"channels/{channel_id}/poster.pdf",
        f"channels/{channel_id}/qr.png",
    ):
        assert client.get(f"{base}/{path}").status_code == 404, path
    token = client.csrf_token("/manage")
    for path in ("channels", f"channels/{channel_id}/archive", "outreach-target"):
        response = client.post(
            f"{base}/{path}", data={"csrf_token": token, "name": "X", "kind": "event"}
        )
        assert response.status_code == 404, path


def test_the_demo_has_two_channels_whose_reach_shows_on_the_monitor(app_context):
    from conftest import PASSWORD

    from consult.services.seed import seed_demo

    report = seed_demo(PASSWORD)
    assert any("2 outreach channels" in line for line in report.created)
    survey = db.session.scalars(sa.select(Survey).filter_by(slug="feeling-safe")).one()
    o = monitor(survey).outreach
    assert o is not None
    by_name = {c.name: c for c in o.channels}
    youth = by_name["Highfields Youth Council"]
    centre = by_name["Belgrave Neighbourhood Centre"]
    assert youth.submitted > 50 and centre.submitted > 50
    reached = {c.name: {g.category: g.count for g in c.groups} for c in o.channels}
    # The youth council reaches young people, the centre Asian residents:
    # most of what each brought in came from the group it was set up for.
    assert reached[youth.name]["16-24"] > youth.submitted / 2
    assert reached[centre.name]["Asian, Asian British or Asian Welsh"] > centre.submitted / 2
    # Both come before the public link, which reaches the missing groups least.
    names = [c.name for c in o.channels]
    assert names.index(youth.name) < names.index(outreach.NO_CHANNEL)
    assert names.index(centre.name) < names.index(outreach.NO_CHANNEL)
    # Seeding again adds nothing.
    assert outreach.seed_demo_channels(survey) == 0
