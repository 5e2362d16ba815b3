"""Property-based tests: random and hostile values posted to every public
and officer form found in the route map — huge strings, control characters
and NUL bytes, several values where one is expected, unknown ids, another
survey's keys and codes, script tags, SQL fragments, invalid UTF-8 — never
give a 500, never store what the forms should refuse, and whatever is stored
is rendered escaped.

Bounded: a modest number of examples per property and no deadline, so the
file runs in well under a minute per database engine."""

from __future__ import annotations

import io
import re
from typing import Any
from urllib.parse import quote, quote_from_bytes

import pytest
import sqlalchemy as sa
from conftest import sign_in
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_tenancy import (
    OTHER_PARAMETERS,
    build_tenant,
    build_url,
    int_parameters,
    missing_fixtures,
    officer_routes,
)

import bench.hostile_files as hostile
from bench.residents import forms
from consult.extensions import db
from consult.models import Answer, Option, Question, Survey

SCRIPT = "<script>alert('fuzz')</script>"
HOSTILE = [
    SCRIPT,
    '"><img src=x onerror=alert(1)>',
    "'; DROP TABLE response; --",
    "1 OR 1=1",
    "\x00",
    "a\x00b",
    "\x01\x02\x1b[31m\x7f",
    "\u202eevil",
    "{{ 7*7 }}",
    "../../etc/passwd",
    "-1",
    "0",
    "99999999999999999999999",
    "1e309",
    "NaN",
    "",
    " ",
    "x" * 70_000,
    "ü" * 5000,
]
FUZZ = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

values = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=40),
    st.text(alphabet=st.characters(max_codepoint=0x1F), max_size=8),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)
field_values = st.lists(values, min_size=1, max_size=3)


def _post_fields(html: str) -> set[str]:
    names: set[str] = set()
    for form in forms(html):
        if form.method == "post":
            names.update(form.fields)
            names.update(name for name, _ in form.buttons if name)
            names.update(k for k in form.hidden if k != "csrf_token")
    return names


def _token(client, path: str = "/sign-in") -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, path
    return match.group(1)


def _raw_post(client, url: str, token: str, name: str, raw: bytes):
    body = f"csrf_token={quote(token)}&{quote(name)}=".encode() + quote_from_bytes(raw).encode()
    return client.post(url, data=body, content_type="application/x-www-form-urlencoded")


def _send(client, url: str, token: str, data: Any, fields: list[str]):
    kind, payload = data.draw(st.sampled_from(["form", "form", "form", "raw"])), None
    if kind == "raw" and fields:
        # Bytes that are not UTF-8, percent-encoded as a broken browser would.
        name = data.draw(st.sampled_from(fields))
        payload = data.draw(st.binary(min_size=1, max_size=30))
        return _raw_post(client, url, token, name, payload)
    chosen = data.draw(
        st.dictionaries(
            st.sampled_from(fields) if fields else st.text(min_size=1, max_size=10),
            field_values,
            max_size=max(1, len(fields)),
        )
    )
    extra = data.draw(st.dictionaries(st.text(min_size=1, max_size=12), field_values, max_size=2))
    return client.post(url, data={**extra, **chosen, "csrf_token": token})


def _no_unescaped_script(client, paths: list[str]) -> list[str]:
    leaks = []
    for path in paths:
        response = client.get(path)
        if response.mimetype != "text/html":
            continue  # downloads (CSV, XLSX) are not rendered by a browser
        body = response.get_data(as_text=True)
        if "<script>alert(" in body or ("<img src=x onerror=alert" in body):
            leaks.append(path)
    return leaks


def _nul_or_bad_codes() -> list[str]:
    problems = []
    for table in db.metadata.sorted_tables:
        text_columns = [c for c in table.c if isinstance(c.type, sa.String | sa.Text)]
        for column in text_columns:
            # Scanned here, not with LIKE: SQLite ends a pattern at a NUL.
            if any("\x00" in (v or "") for v in db.session.scalars(sa.select(column))):
                problems.append(f"{table.name}.{column.name} holds a NUL")
    rows = db.session.execute(
        sa.select(Answer.question_id, Answer.item_code, Answer.option_code, Answer.text)
    ).all()
    for question_id, item, code, text in rows:
        question = db.session.get(Question, question_id)
        choices = {o.code for o in question.options if o.kind == "choice"}
        items = {o.code for o in question.options if o.kind == "item"}
        if code and code not in choices:
            problems.append(f"answer to {question.key} stores unknown code {code!r}")
        if item and item not in items:
            problems.append(f"answer to {question.key} stores unknown item {item!r}")
        if text is not None and (
            len(text) > 10_000 or re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", text)
        ):
            problems.append(f"answer to {question.key} stores text it should have refused")
    db.session.remove()
    return problems


# --------------------------------------------------------------------------- #
# Public forms (resident runner, sign-in)
# --------------------------------------------------------------------------- #


def public_post_routes(app) -> list[Any]:
    return sorted(
        (
            r
            for r in app.url_map.iter_rules()
            if getattr(app.view_functions.get(r.endpoint), "_consult_public", False)
            and "POST" in r.methods
        ),
        key=lambda r: r.rule,
    )


PUBLIC_PARAMETERS = {"slug", "key", "code", "token"}


def test_every_public_form_parameter_is_known(app):
    unknown = [
        f"{r.rule}: add <{name}> to PUBLIC_PARAMETERS and the fuzz strategy in {__file__}"
        for r in public_post_routes(app)
        for name in r.arguments
        if name not in PUBLIC_PARAMETERS
    ]
    assert not unknown, "\n".join(unknown)


@pytest.fixture
def resident(app, client, demo, accounts):
    """A resident part-way through the demo survey, and another partnership's
    survey whose keys and codes are posted to the demo's pages."""
    other = build_tenant(app, accounts, "south-csp")
    with app.app_context():
        survey = db.session.get(Survey, demo["survey_id"])
        keys = [q.key for q in sorted(survey.questions, key=lambda q: q.position)]
        codes = sorted({o.code for q in survey.questions for o in q.options})
        other_survey = db.session.scalars(
            sa.select(Survey).filter_by(slug="south-csp-survey")
        ).one()
        other_keys = [q.key for q in other_survey.questions]
        db.session.remove()
    token = _token(client, f"/s/{demo['slug']}")
    assert client.post(f"/s/{demo['slug']}", data={"csrf_token": token}).status_code == 302
    return {"token": token, "keys": keys, "codes": codes, "other": other, "other_keys": other_keys}


def test_public_forms_never_fail_and_store_only_valid_answers(app, client, demo, resident):
    slug = demo["slug"]
    routes = [r for r in public_post_routes(app) if r.endpoint != "auth.sign_out"]
    assert any("<key>" in r.rule for r in routes), "expected the question pages"
    page_fields: dict[str, list[str]] = {}
    for key in resident["keys"]:
        html = client.get(f"/s/{slug}/q/{key}").get_data(as_text=True)
        page_fields[key] = sorted(_post_fields(html))
    code_values = st.sampled_from(resident["codes"] + ["none", "ab" * 31])

    @FUZZ
    @given(data=st.data())
    def post_something(data):
        rule = data.draw(st.sampled_from(routes))
        key = data.draw(
            st.one_of(
                st.sampled_from(resident["keys"]),
                st.sampled_from(resident["other_keys"]),
                st.text(min_size=1, max_size=20).map(lambda s: quote(s, safe="")),
            )
        )
        url = build_url(rule, {"slug": slug, "key": key, "code": "ABCD-EFGH-JKLM", "token": key})
        fields = page_fields.get(key, []) or sorted({f for fs in page_fields.values() for f in fs})
        if data.draw(st.booleans()):
            # Valid field names with codes from anywhere in the survey (tampering).
            chosen = {f: data.draw(st.lists(code_values, min_size=1, max_size=4)) for f in fields}
            response = client.post(url, data={**chosen, "csrf_token": resident["token"]})
        else:
            response = _send(client, url, resident["token"], data, fields)
        assert response.status_code < 500, (url, response.status_code)

    post_something()
    with app.app_context():
        assert _nul_or_bad_codes() == []
    assert _no_unescaped_script(client, [f"/s/{slug}", f"/s/{slug}/check"]) == []


@FUZZ
@given(email=values, password=values)
def test_sign_in_never_fails(client, accounts, email, password):
    token = _token(client)
    response = client.post(
        "/sign-in", data={"email": email, "password": password, "csrf_token": token}
    )
    # 429: the same hostile address tried too often and must wait (throttling).
    assert response.status_code in (400, 413, 429)


@FUZZ
@given(code=values, password=values, confirm=values)
def test_two_factor_and_set_password_forms_never_fail(
    app, client, accounts, code, password, confirm
):
    from conftest import PASSWORD, enrol_two_factor

    from consult.services.accounts import find_user, issue_password_link

    email = "admin@fuzz.example"
    with app.app_context():
        known = find_user(email) is not None
    if not known:
        accounts.user("admin", partnership="fuzz-csp", email=email)
        enrol_two_factor(app, email)
    token = _token(client)
    client.post("/sign-in", data={"email": email, "password": PASSWORD, "csrf_token": token})
    if client.get("/sign-in/two-factor").status_code == 200:
        token = _token(client, "/sign-in/two-factor")
        response = client.post("/sign-in/two-factor", data={"code": code, "csrf_token": token})
        assert response.status_code in (400, 413, 429)
    with app.app_context():
        link = f"/set-password/{issue_password_link(find_user(email), by=None, partnership=None)}"
        db.session.commit()
    token = _token(client, link)
    response = client.post(
        link, data={"password": password, "confirm": confirm, "csrf_token": token}
    )
    # A fuzzed pair that happens to be a good password is accepted (302).
    assert response.status_code in (302, 400, 413)


def test_nul_bytes_and_control_characters_get_a_clear_400(client, demo):
    token = _token(client, f"/s/{demo['slug']}")
    for response in (
        client.post(
            "/sign-in", data={"email": "a\x00@b.example", "password": "x", "csrf_token": token}
        ),
        client.post(
            "/sign-in", data={"email": "a\x1b[31m@b.example", "password": "x", "csrf_token": token}
        ),
        client.post(f"/s/{demo['slug']}", data={"csrf_token": token, "x\x00": "1"}),
        client.get(f"/s/{demo['slug']}/q/%00"),
        client.get("/?page=%00"),
        _raw_post(client, "/sign-in", token, "email", b"\x00"),
    ):
        assert response.status_code == 400
        assert "cannot be stored" in response.get_data(as_text=True)


# --------------------------------------------------------------------------- #
# Officer forms
# --------------------------------------------------------------------------- #


def test_officer_forms_never_fail_and_render_stored_text_escaped(app, client, accounts):
    tenant = build_tenant(app, accounts, "north-csp")
    other = build_tenant(app, accounts, "south-csp")
    rules = [
        r
        for r in officer_routes(app)
        if "POST" in r.methods and r.endpoint not in {"auth.switch_partnership"}
    ]
    problems = [p for rule in rules for p in missing_fixtures(rule, tenant["ids"])]
    assert not problems, "\n".join(problems)
    assert sign_in(client, tenant["admin"]).status_code == 302
    token = _token(client, "/manage/users")
    fields: dict[str, list[str]] = {}
    for rule in rules:
        url = build_url(rule, {**OTHER_PARAMETERS, **tenant["ids"]})
        if "GET" in rule.methods:
            fields[rule.rule] = sorted(_post_fields(client.get(url).get_data(as_text=True)))
    every_field = sorted(
        {f for fs in fields.values() for f in fs} | {"name", "title", "key", "code"}
    )

    @FUZZ
    @given(data=st.data())
    def post_something(data):
        rule = data.draw(st.sampled_from(rules))
        ids = dict(tenant["ids"])
        if int_parameters(rule) and data.draw(st.integers(0, 4)) == 0:
            # An unknown id, or one of another partnership's.
            name = data.draw(st.sampled_from(int_parameters(rule)))
            ids[name] = data.draw(st.sampled_from([0, 2**31 - 1, other["ids"][name]]))
        url = build_url(rule, {**OTHER_PARAMETERS, **ids})
        response = _send(client, url, token, data, fields.get(rule.rule) or every_field)
        assert response.status_code < 500, (url, response.status_code)
        # Signed out by a fuzzed form would make the rest meaningless.
        assert response.status_code != 302 or "/sign-in" not in response.headers.get("Location", "")

    post_something()
    with app.app_context():
        assert _nul_or_bad_codes() == []
        slugs = db.session.scalars(sa.select(Survey.slug)).all()
        keys = db.session.scalars(sa.select(Question.key)).all()
        codes = db.session.scalars(sa.select(Option.code)).all()
        db.session.remove()
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", s) for s in slugs), slugs
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", k) for k in keys), keys
    assert all(re.fullmatch(r"[a-z0-9_]+", c) for c in codes), codes
    pages = [
        build_url(r, {**OTHER_PARAMETERS, **tenant["ids"]})
        for r in officer_routes(app)
        if "GET" in r.methods and not missing_fixtures(r, tenant["ids"])
    ]
    reachable = [p for p in pages if client.get(p).status_code == 200]
    assert "/manage" in reachable
    assert _no_unescaped_script(client, reachable) == []


# --------------------------------------------------------------------------- #
# Uploads: the hostile files of issue 13 on every form with a file field
# --------------------------------------------------------------------------- #

HOSTILE_UPLOADS = {
    "dimension-bomb.xlsx": lambda: hostile.dimension_bomb(),
    "dimension-declared-only.xlsx": lambda: hostile.dimension_bomb(corner=False),
    "zip-bomb.xlsx": lambda: hostile.zip_bomb(),
    "zip-bomb-lying-headers.xlsx": lambda: hostile.zip_bomb(lie=True),
    "utf16le-entity.xlf": lambda: hostile.utf16_xliff_with_entity(),
    "malformed-zip.xlsx": lambda: hostile.malformed_zip(),
}


def test_hostile_uploads_get_a_clear_400_on_every_upload_form(app, client, accounts):
    tenant = build_tenant(app, accounts, "north-csp")
    assert sign_in(client, tenant["admin"]).status_code == 302
    upload_pages = []
    for rule in officer_routes(app):
        if "POST" not in rule.methods or "GET" not in rule.methods:
            continue
        if missing_fixtures(rule, tenant["ids"]):
            continue
        url = build_url(rule, {**OTHER_PARAMETERS, **tenant["ids"]})
        page = client.get(url)
        if page.status_code == 200 and 'type="file"' in page.get_data(as_text=True):
            upload_pages.append(url)
    # Translation spreadsheet, XLIFF, XLSForm and the benchmark CSV at least.
    assert len(upload_pages) >= 4, upload_pages
    files = {name: make() for name, make in HOSTILE_UPLOADS.items()}
    with app.app_context():
        surveys_before = db.session.scalar(sa.select(sa.func.count(Survey.id)))
        texts_before = db.session.execute(sa.text("select count(*) from text_entry")).scalar()
        db.session.remove()
    for url in upload_pages:
        token = _token(client, url)
        for name, content in files.items():
            extension = name.rsplit(".", 1)[1]
            response = client.post(
                url,
                data={
                    "csrf_token": token,
                    "slug": "hostile-upload",
                    "file": (io.BytesIO(content), name),
                },
                content_type="multipart/form-data",
            )
            body = response.get_data(as_text=True)
            assert response.status_code == 400, (url, name, response.status_code)
            assert "There is a problem" in body and "govuk-error-message" in body, (url, name)
            assert "PLANTED" not in body, (url, name, extension)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Survey.id))) == surveys_before
        assert (
            db.session.execute(sa.text("select count(*) from text_entry")).scalar() == texts_before
        )
        db.session.remove()
