"""Tenant isolation, generated from the route map: for every officer route
with ids in its URL, an administrator of another partnership gets 404 with
GET and POST (a valid CSRF token, so the 404 is the view's answer, not the
CSRF check's), and nothing of the first partnership changes.

A new route with an id parameter this file does not know fails the test
with a message saying which fixture to add, so no route escapes the check."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import sign_in
from flask import Flask

from consult.extensions import db
from consult.models import (
    AddressSample,
    Answer,
    AuditEvent,
    BenchmarkSet,
    Invitation,
    Job,
    JobFile,
    Membership,
    OutreachChannel,
    PartnerOrganisation,
    Partnership,
    PopulationBenchmark,
    PriorityDecision,
    Response,
    ResponseStatus,
    SampleAddress,
    TextEntry,
    User,
    WeightingScheme,
)
from consult.services.surveys import add_question, add_section, create_survey

# A's data carries these markers so a page leaking it is easy to spot.
MARKER = "Zanzibarmarker"


def build_tenant(app: Flask, accounts: Any, slug: str) -> dict[str, Any]:
    """A partnership with one of every kind of object an officer URL can name.
    Returns the ids under the URL parameter names they are passed as."""
    admin_email = accounts.user("admin", partnership=slug)
    tag = slug.split("-")[0].capitalize()
    with app.app_context():
        partnership = db.session.scalars(sa.select(Partnership).filter_by(slug=slug)).one()
        admin = db.session.scalars(sa.select(User).filter_by(email=admin_email)).one()
        membership = db.session.scalars(
            sa.select(Membership).filter_by(user_id=admin.id, partnership_id=partnership.id)
        ).one()
        survey = create_survey(
            partnership,
            slug=f"{slug}-survey",
            title={"en": f"{tag} {MARKER} survey title"},
            languages=["en", "ur"],
        )
        section = add_section(survey, "main", {"en": f"{tag} section"})
        question = add_question(
            survey,
            section,
            key="feel_safe",
            type="single",
            prompt={"en": f"{tag} {MARKER} prompt"},
            options=[
                {"code": "yes", "label": {"en": "Yes"}},
                {"code": "no", "label": {"en": "No"}},
            ],
        )
        comment = add_question(
            survey, section, key="comment", type="text", prompt={"en": f"{tag} comment"}
        )
        baseline = create_survey(
            partnership, slug=f"{slug}-baseline", title={"en": f"{tag} {MARKER} baseline"}
        )
        survey.baseline_id = baseline.id
        survey.wave = 2
        response = Response(
            survey_id=survey.id,
            reference=f"{tag[:3].upper()}-0001",
            language="en",
            status=ResponseStatus.SUBMITTED,
            submitted_at=datetime.now(UTC),
        )
        response.answers = [
            Answer(question_id=question.id, option_code="yes"),
            Answer(question_id=comment.id, text=f"{tag} {MARKER} free text answer"),
        ]
        db.session.add(response)
        benchmark_set = BenchmarkSet(partnership_id=partnership.id, version=1, note=f"{tag} census")
        benchmark_set.rows = [
            PopulationBenchmark(variable="sex", category="Female", population_share=0.51),
            PopulationBenchmark(variable="sex", category="Male", population_share=0.49),
        ]
        db.session.add(benchmark_set)
        partner = PartnerOrganisation(
            partnership_id=partnership.id, name=f"{tag} {MARKER} Police", kind="police"
        )
        db.session.add(partner)
        db.session.flush()
        scheme = WeightingScheme(
            survey_id=survey.id, variables=["sex"], benchmark_set_id=benchmark_set.id
        )
        decision = PriorityDecision(survey_id=survey.id, kind="acknowledged", user_id=admin.id)
        invitation = Invitation(survey_id=survey.id, code_hash=f"{slug}-invitation-hash")
        db.session.add_all([scheme, decision, invitation])
        channel = OutreachChannel(
            survey_id=survey.id,
            name=f"{tag} {MARKER} channel",
            kind="event",
            token=f"{tag[:5]}chan",
        )
        db.session.add(channel)
        # A finished letters job with its PDF: the download must stay A's.
        job = Job(
            kind="letters",
            survey_id=survey.id,
            key=f"letters:{slug}:1",
            status="done",
            result="file:letters.pdf",
            params={"wave": 1},
        )
        db.session.add(job)
        db.session.flush()
        db.session.add(JobFile(job_id=job.id, name="letters.pdf", data=b"%PDF " + MARKER.encode()))
        event = AuditEvent(
            partnership_id=partnership.id, user_id=admin.id, action="survey_opened", target=MARKER
        )
        db.session.add(event)
        address_sample = AddressSample(
            survey_id=survey.id, seed=1, strata={"all": {"population": 2, "drawn": 1}}
        )
        db.session.add(address_sample)
        db.session.flush()
        address = SampleAddress(
            sample_id=address_sample.id,
            survey_id=survey.id,
            external_id=f"{tag}-1",
            lines=f"{tag} {MARKER} 1 High Street",
            postcode="LE1 5WW",
            selection_probability=0.5,
        )
        db.session.add(address)
        db.session.flush()
        db.session.add(
            Invitation(survey_id=survey.id, code_hash=f"{slug}-letter", address_id=address.id)
        )
        db.session.flush()
        text = db.session.scalars(
            sa.select(TextEntry).filter_by(survey_id=survey.id, key="survey.title")
        ).one()
        ids = {
            "partnership_id": partnership.id,
            "survey_id": survey.id,
            "baseline_id": baseline.id,
            "other_survey_id": baseline.id,
            "wave_id": baseline.id,
            "section_id": section.id,
            "question_id": question.id,
            "option_id": question.options[0].id,
            "item_id": question.options[1].id,
            "membership_id": membership.id,
            "user_id": admin.id,
            "response_id": response.id,
            "benchmark_set_id": benchmark_set.id,
            "benchmarks_id": benchmark_set.id,
            "set_id": benchmark_set.id,
            "scheme_id": scheme.id,
            "weighting_scheme_id": scheme.id,
            "decision_id": decision.id,
            "invitation_id": invitation.id,
            "partner_id": partner.id,
            "organisation_id": partner.id,
            "text_id": text.id,
            "entry_id": text.id,
            "event_id": event.id,
            "answer_id": response.answers[0].id,
            "channel_id": channel.id,
            "address_id": address.id,
            "job_id": job.id,
        }
        db.session.commit()
    return {"ids": ids, "admin": admin_email, "slug": slug, "tag": tag}


# Values for parameters that are not ids. A route with a parameter named in
# neither table fails the test: add it here (or an object to build_tenant).
OTHER_PARAMETERS: dict[str, str] = {
    "language": "ur",
    "lang": "ur",
    "code": "yes",
    "key": "feel_safe",
    "question_key": "feel_safe",
    "variable": "sex",
    "format": "csv",
    "fmt": "csv",
    "kind": "csv",
    "slug": "north-csp-survey",
    "reference": "NOR-0001",
    "step": "feel_safe",
    "filename": "x.csv",
    "path": "x",
}
SAFE_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def officer_routes(app: Flask) -> list[Any]:
    rules = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        if getattr(view, "_consult_role", None) is not None:
            rules.append(rule)
    return sorted(rules, key=lambda r: r.rule)


def int_parameters(rule: Any) -> list[str]:
    """Id parameters: typed <int:>, or named like an id even when (wrongly) untyped."""
    return [
        name
        for name, converter in rule._converters.items()
        if type(converter).__name__ == "IntegerConverter" or name.endswith("_id")
    ]


def build_url(rule: Any, values: dict[str, Any]) -> str:
    url = rule.rule
    for name in rule.arguments:
        url = re.sub(rf"<(?:[a-z]+(?:\([^)]*\))?:)?{name}>", str(values[name]), url)
    return url


def missing_fixtures(rule: Any, ids: dict[str, int]) -> list[str]:
    problems = []
    for name in sorted(rule.arguments):
        if name in int_parameters(rule):
            if name not in ids:
                problems.append(
                    f"{rule.rule}: no fixture id for <int:{name}>; add an object of partnership "
                    f"A under the key {name!r} in tests/test_tenancy.py::build_tenant"
                )
        elif name not in OTHER_PARAMETERS:
            problems.append(
                f"{rule.rule}: no value for <{name}>; add one to OTHER_PARAMETERS in "
                "tests/test_tenancy.py"
            )
    return problems


def snapshot(partnership_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (audit events only of partnership A: B's own
    requests may rightly be audited)."""
    state: dict[str, list[tuple[Any, ...]]] = {}
    for table in db.metadata.sorted_tables:
        stmt = sa.select(table)
        if table.name == AuditEvent.__tablename__:
            stmt = stmt.where(table.c.partnership_id == partnership_id)
        if "id" in table.c:
            stmt = stmt.order_by(table.c.id)
        state[table.name] = [tuple(row) for row in db.session.execute(stmt).all()]
    db.session.remove()
    return state


@pytest.fixture
def two_tenants(app, accounts):
    a = build_tenant(app, accounts, "north-csp")
    b = build_tenant(app, accounts, "south-csp")
    return a, b


def _request(client, method: str, url: str, token: str):
    if method == "GET":
        return client.get(url)
    return client.open(
        url, method=method, data={"csrf_token": token}, headers={"X-CSRFToken": token}
    )


def isolation_failures(app, client, a, b, *, mixed: bool) -> tuple[list[str], list[str]]:
    """Requests every officer route with A's ids (or, `mixed`, B's ids with one
    of A's swapped in) as B's administrator. Returns the requests that did not
    give 404 and the tables of A's data that changed."""
    rules = [r for r in officer_routes(app) if len(int_parameters(r)) > (1 if mixed else 0)]
    problems = [p for rule in rules for p in missing_fixtures(rule, a["ids"])]
    assert not problems, "\n".join(problems)
    assert sign_in(client, b["admin"]).status_code == 302
    token = client.csrf_token("/manage/users")
    with app.app_context():
        before = snapshot(a["ids"]["partnership_id"])
    failures = []
    for rule in rules:
        swaps = int_parameters(rule) if mixed else [None]
        for foreign in swaps:
            if foreign is None:
                values = {**OTHER_PARAMETERS, **a["ids"]}
            else:
                values = {**OTHER_PARAMETERS, **b["ids"], foreign: a["ids"][foreign]}
            url = build_url(rule, values)
            for method in SAFE_METHODS:
                if method not in rule.methods:
                    continue
                response = _request(client, method, url, token)
                if response.status_code != 404:
                    failures.append(
                        f"{method} {url} ({rule.endpoint}"
                        f"{f', foreign {foreign}' if foreign else ''}) -> {response.status_code}"
                    )
    with app.app_context():
        after = snapshot(a["ids"]["partnership_id"])
    changed = [name for name in before if before[name] != after[name]]
    return failures, changed


def test_every_officer_route_with_ids_is_404_for_another_partnership(app, client, two_tenants):
    a, b = two_tenants
    assert any(int_parameters(r) for r in officer_routes(app))
    failures, changed = isolation_failures(app, client, a, b, mixed=False)
    assert not failures, "another partnership's ids must give 404:\n" + "\n".join(failures)
    assert not changed, f"partnership A's data changed in tables: {changed}"


def test_mixing_own_ids_with_another_partnerships_id_is_404(app, client, two_tenants):
    """B's survey with A's question (and every other single swap): a view that
    checks the survey but not what hangs off it would leak or edit A's data."""
    a, b = two_tenants
    failures, changed = isolation_failures(app, client, a, b, mixed=True)
    assert not failures, "a foreign id among own ids must give 404:\n" + "\n".join(failures)
    assert not changed, f"partnership A's data changed in tables: {changed}"


def test_the_check_catches_a_leaky_view(database_url, accounts, app):
    """A view that fetches by id without the tenant filter, and edits what it
    found, is reported on both counts."""
    from conftest import PageCheckingClient, make_app
    from flask import Blueprint

    from consult.models import Role
    from consult.security import role_required

    leaky_app = make_app(database_url)
    extra = Blueprint("leaky", __name__)

    @extra.route("/manage/leaky/<int:survey_id>/sections/<int:section_id>", methods=["GET", "POST"])
    @role_required(Role.OFFICER)
    def leaky(survey_id: int, section_id: int) -> str:
        from consult.models import Section

        section = db.session.get(Section, section_id)
        section.position += 1
        db.session.commit()
        return "found"

    leaky_app.register_blueprint(extra)
    leaky_app.test_client_class = PageCheckingClient
    client = leaky_app.test_client()
    client.check_pages = False
    a, b = build_tenant(app, accounts, "north-csp"), build_tenant(app, accounts, "south-csp")
    failures, changed = isolation_failures(leaky_app, client, a, b, mixed=True)
    assert any("leaky" in f and "foreign section_id" in f for f in failures)
    assert "section" in changed


def test_officer_pages_without_ids_show_only_own_partnerships_data(app, client, two_tenants):
    """Lists, dashboards and downloads: nothing of A (survey titles, partner
    names, free text, audit targets) appears to B's administrator."""
    a, b = two_tenants
    assert sign_in(client, b["admin"]).status_code == 302
    rules = [
        r
        for r in officer_routes(app)
        if "GET" in r.methods and not r.arguments and r.endpoint != "auth.sign_out"
    ]
    assert any(r.rule == "/manage" for r in rules)
    leaks = []
    for rule in rules:
        body = client.get(rule.rule).get_data(as_text=True)
        if f"{a['tag']} {MARKER}" in body or a["admin"] in body:
            leaks.append(rule.rule)
    assert not leaks, f"pages showing partnership A's data to B: {leaks}"
    # The check can see B's own data, so a blank page would not pass it.
    assert f"{b['tag']} {MARKER} survey title" in client.get("/manage").get_data(as_text=True)
    assert f"{b['tag']} {MARKER} Police" in client.get("/manage/partners").get_data(as_text=True)
    assert b["admin"] in client.get("/manage/users").get_data(as_text=True)


def test_an_unknown_id_parameter_fails_with_a_helpful_message(app, two_tenants):
    from flask import Blueprint

    from consult.models import Role
    from consult.security import role_required

    extra = Blueprint("extra_tenancy", __name__)

    @extra.route("/manage/gadgets/<int:gadget_id>")
    @role_required(Role.VIEWER)
    def gadget(gadget_id: int) -> str:
        return "gadget"

    rule = next(r for r in _rules_of(extra) if "gadget_id" in r.arguments)
    problems = missing_fixtures(rule, two_tenants[0]["ids"])
    assert problems and "add an object of partnership A under the key 'gadget_id'" in problems[0]


def _rules_of(blueprint: Any) -> list[Any]:
    probe = Flask("probe")
    probe.register_blueprint(blueprint)
    return list(probe.url_map.iter_rules())
