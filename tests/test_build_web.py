"""The builder's pages through the browser-like test client: an officer
builds a survey; viewers read only; another partnership gets 404."""

from __future__ import annotations

import io

import sqlalchemy as sa
from openpyxl import load_workbook

from consult.extensions import db
from consult.models import AuditEvent, Option, Question, Response, Section, Survey


def create(client, slug="safe-2026", languages=()):
    response = client.post_form(
        "/manage/surveys/new",
        {
            "title": "Feeling safe",
            "slug": slug,
            "audience": "residents",
            "languages": list(languages),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    return int(response.headers["Location"].rstrip("/").split("/")[-1])


def ids(app, survey_id):
    with app.app_context():
        survey = db.session.get(Survey, survey_id)
        return {q.key: q.id for q in survey.questions}, {s.key: s.id for s in survey.sections}


def build(client, app, slug="safe-2026", languages=()):
    survey_id = create(client, slug, languages)
    base = f"/manage/surveys/{survey_id}"
    assert (
        client.post_form(
            f"{base}/sections",
            {"title": "About you", "key": "about_you", "kind": "about_you"},
            token_from=base,
        ).status_code
        == 302
    )
    _, sections = ids(app, survey_id)
    for key, type_, prompt in (
        ("age_band", "single", "How old are you?"),
        ("priorities", "multiple", "What matters most?"),
        ("other", "text", "What else?"),
    ):
        response = client.post_form(
            f"{base}/questions/new",
            {"section": sections["about_you"], "key": key, "type": type_, "prompt": prompt},
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    questions, _ = ids(app, survey_id)
    for question, code, label in (
        ("age_band", "aged_16_24", "16 to 24"),
        ("age_band", "aged_25_plus", "25 or over"),
        ("priorities", "burglary", "Burglary"),
        ("priorities", "something_else", "Something else"),
    ):
        path = f"{base}/questions/{questions[question]}"
        assert (
            client.post_form(
                f"{path}/options", {"code": code, "label": label}, token_from=path
            ).status_code
            == 302
        )
    return survey_id, questions


def test_officer_builds_a_survey_page_by_page(app, client, signed_in):
    signed_in("officer")
    page = client.get("/manage/surveys/new")
    assert page.status_code == 200 and "Create a survey" in page.get_data(as_text=True)
    survey_id, questions = build(client, app)
    base = f"/manage/surveys/{survey_id}"
    body = client.get(base).get_data(as_text=True)
    assert "How old are you?" in body and "What matters most?" in body
    assert "Set a retention date" in body  # why it cannot open yet
    question_page = f"{base}/questions/{questions['other']}"
    assert "priorities" in client.get(f"{question_page}?source=priorities").get_data(as_text=True)
    response = client.post_form(
        f"{question_page}/condition",
        {"source": "priorities", "codes_priorities": ["something_else"]},
        token_from=question_page,
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Question, questions["other"]).show_if == {
            "question": "priorities",
            "in": ["something_else"],
        }
    assert "if priorities is something_else" in client.get(base).get_data(as_text=True)
    # Edit wording and settings; preview shows it.
    response = client.post_form(
        question_page, {"prompt": "What else matters?", "key": "other", "max_length": "500"}
    )
    assert response.status_code == 302
    assert "What else matters?" in client.get(f"{base}/preview?language=en").get_data(as_text=True)


def test_builder_bad_input_is_explained_and_nothing_changes(app, client, signed_in):
    signed_in("officer")
    survey_id, questions = build(client, app)
    base = f"/manage/surveys/{survey_id}"
    _, sections = ids(app, survey_id)
    response = client.post_form(
        f"{base}/questions/new", {"key": "resp_channel", "type": "text", "prompt": "x"}
    )
    assert response.status_code == 400 and "Choose a section" in response.get_data(as_text=True)
    response = client.post_form(
        f"{base}/questions/new",
        {"section": sections["about_you"], "key": "resp_channel", "type": "text", "prompt": "x"},
    )
    assert response.status_code == 400 and "reserved" in response.get_data(as_text=True)
    path = f"{base}/questions/{questions['age_band']}"
    response = client.post_form(
        f"{path}/condition", {"source": "other", "codes_other": ["x"]}, token_from=path
    )
    assert response.status_code == 400
    assert "comes after it" in response.get_data(as_text=True)
    response = client.post_form(
        f"{path}/options", {"code": "Aged 65+", "label": "65 or over"}, token_from=path
    )
    assert response.status_code == 400 and "lowercase letters" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Question, questions["age_band"]).show_if is None
        assert (
            db.session.scalar(
                sa.select(sa.func.count(Option.id)).filter_by(question_id=questions["age_band"])
            )
            == 2
        )


def test_live_survey_refuses_structural_change_but_allows_wording(app, client, signed_in):
    signed_in("officer")
    survey_id, questions = build(client, app)
    with app.app_context():
        db.session.add(Response(survey_id=survey_id, reference="R-LIVE", language="en"))
        db.session.commit()
        option_id = db.session.scalars(
            sa.select(Option.id).filter_by(question_id=questions["age_band"], code="aged_16_24")
        ).one()
    base = f"/manage/surveys/{survey_id}"
    path = f"{base}/questions/{questions['age_band']}"
    response = client.post_form(f"{path}/options/{option_id}", {"label": "16-24", "code": "young"})
    assert response.status_code == 400 and "already has responses" in response.get_data(
        as_text=True
    )
    client.post_form(f"{path}/delete", {}, token_from=path)
    assert "already has responses" in client.get(path).get_data(as_text=True)
    response = client.post_form(f"{path}/options/{option_id}", {"label": "Aged 16 to 24"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Question, questions["age_band"]) is not None
        assert db.session.get(Option, option_id).code == "aged_16_24"
        assert (
            db.session.scalars(sa.select(AuditEvent).filter_by(action="wording_changed")).first()
            is not None
        )


def test_settings_open_close_and_new_wave(app, client, signed_in):
    signed_in("officer")
    survey_id, _ = build(client, app, languages=["pl"])
    base = f"/manage/surveys/{survey_id}"
    response = client.post_form(
        f"{base}/settings",
        {
            "title": "Feeling safe",
            "audience": "residents",
            "languages": ["pl"],
            "retention_until": "2020-13-40",
        },
    )
    assert response.status_code == 400 and "real date" in response.get_data(as_text=True)
    response = client.post_form(
        f"{base}/settings",
        {
            "title": "Feeling safe",
            "audience": "residents",
            "languages": ["pl"],
            "retention_until": "2099-01-01",
            "privacy": "We keep answers for two years.",
        },
    )
    assert response.status_code == 302
    client.post_form(f"{base}/status", {"action": "open"}, token_from=base)
    body = client.get(base).get_data(as_text=True)
    assert "missing in Polish" in body
    with app.app_context():
        assert db.session.get(Survey, survey_id).status == "draft"
    # Translate everything into Polish through the spreadsheet round trip.
    exported = client.get(f"{base}/translations/export")
    assert exported.status_code == 200
    workbook = load_workbook(io.BytesIO(exported.data))
    sheet = workbook["translations"]
    for row in sheet.iter_rows(min_row=2):
        row[3].value = f"PL {row[2].value}"
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = client.post_form(
        f"{base}/translations/import",
        {"file": (io.BytesIO(buffer.getvalue()), "pl.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    assert "100%" in client.get(f"{base}/translations").get_data(as_text=True)
    response = client.post_form(f"{base}/status", {"action": "open"}, token_from=base)
    with app.app_context():
        assert db.session.get(Survey, survey_id).status == "open"
    client.post_form(f"{base}/status", {"action": "close"}, token_from=base)
    response = client.post_form(f"{base}/new-wave", {"slug": "safe-2027"})
    assert response.status_code == 302
    with app.app_context():
        wave = db.session.scalars(sa.select(Survey).filter_by(slug="safe-2027")).one()
        assert (wave.wave, wave.baseline_id, wave.status) == (2, survey_id, "draft")
        assert {a.action for a in db.session.scalars(sa.select(AuditEvent))} >= {
            "survey_opened",
            "survey_closed",
            "survey_new_wave",
            "translations_imported",
            "translations_exported",
        }


def test_translation_pages(app, client, signed_in):
    signed_in("officer")
    survey_id, questions = build(client, app, languages=["ur"])
    base = f"/manage/surveys/{survey_id}/translations"
    body = client.get(base).get_data(as_text=True)
    assert "Urdu" in body and "0%" in body
    page = client.get(f"{base}/ur?status=missing").get_data(as_text=True)
    assert "q.age_band.prompt" in page
    edit = f"{base}/ur/edit?key=q.age_band.prompt"
    assert client.get(edit).status_code == 200
    response = client.post_form(
        edit, {"key": "q.age_band.prompt", "value": "آپ کی عمر کیا ہے؟", "reviewed": "1"}
    )
    assert response.status_code == 302
    assert "Reviewed" in client.get(f"{base}/ur?status=reviewed").get_data(as_text=True)
    response = client.post_form(
        f"{base}/import",
        {"file": (io.BytesIO(b"not a workbook"), "x.xlsx")},
        token_from=f"{base}/import",
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and "not an Excel workbook" in response.get_data(
        as_text=True
    )
    assert client.get(f"{base}/pl").status_code == 404


def test_sections_rename_move_remove(app, client, signed_in):
    signed_in("officer")
    survey_id, _ = build(client, app)
    base = f"/manage/surveys/{survey_id}"
    client.post_form(
        f"{base}/sections", {"title": "Feeling safe", "key": "feeling_safe"}, token_from=base
    )
    _, sections = ids(app, survey_id)
    assert (
        client.post_form(
            f"{base}/sections/{sections['feeling_safe']}/move", {"direction": "up"}, token_from=base
        ).status_code
        == 302
    )
    with app.app_context():
        order = [
            s.key
            for s in db.session.scalars(
                sa.select(Section).filter_by(survey_id=survey_id).order_by(Section.position)
            )
        ]
    assert order == ["feeling_safe", "about_you"]
    path = f"{base}/sections/{sections['feeling_safe']}"
    assert client.post_form(path, {"title": "Safety"}).status_code == 302
    assert "Safety" in client.get(base).get_data(as_text=True)
    assert client.post_form(f"{path}/delete", {}, token_from=base).status_code == 302
    client.post_form(f"{base}/sections/{sections['about_you']}/delete", {}, token_from=base)
    assert "Move or remove the section" in client.get(base).get_data(as_text=True)


def test_bank_copies_items(app, client, signed_in):
    signed_in("officer")
    survey_id = create(client, languages=["ur"])
    base = f"/manage/surveys/{survey_id}"
    client.post_form(
        f"{base}/sections", {"title": "Feeling safe", "key": "feeling_safe"}, token_from=base
    )
    _, sections = ids(app, survey_id)
    page = client.get(f"{base}/bank").get_data(as_text=True)
    assert "safe_after_dark" in page
    response = client.post_form(
        f"{base}/bank", {"section": sections["feeling_safe"], "items": ["safe_after_dark"]}
    )
    assert response.status_code == 302
    response = client.post_form(
        f"{base}/bank", {"section": sections["feeling_safe"], "items": ["safe_after_dark"]}
    )
    assert response.status_code == 400 and "already has safe_after_dark" in response.get_data(
        as_text=True
    )
    questions, _ = ids(app, survey_id)
    assert (
        "machine"
        in client.get(f"{base}/translations/ur?status=machine").get_data(as_text=True).lower()
    )
    # Editing the copy leaves the bank intact.
    client.post_form(
        f"{base}/questions/{questions['safe_after_dark']}",
        {"prompt": "Changed wording", "key": "safe_after_dark"},
    )
    from consult.question_bank import load_bank

    assert load_bank().get("safe_after_dark").prompt["en"] != "Changed wording"


def test_viewer_reads_but_cannot_change(app, client, signed_in, accounts):
    from conftest import sign_in

    signed_in("officer")
    survey_id, questions = build(client, app)
    client.post_form("/sign-out", {}, token_from="/manage")
    sign_in(client, accounts.user("viewer"))
    base = f"/manage/surveys/{survey_id}"
    for path in (
        base,
        f"{base}/questions/{questions['age_band']}",
        f"{base}/translations",
        f"{base}/preview",
        f"{base}/bank",
        "/manage/surveys/benchmarks",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Add a question" not in response.get_data(as_text=True)
    token = client.csrf_token("/manage")
    for path, data in (
        (f"{base}/status", {"action": "open"}),
        (f"{base}/settings", {"title": "x"}),
        (f"{base}/questions/{questions['age_band']}", {"prompt": "x"}),
        (f"{base}/delete", {}),
        ("/manage/surveys/new", {}),
        (f"{base}/translations/ur/reviewed", {}),
    ):
        assert client.post(path, data={**data, "csrf_token": token}).status_code == 403, path
    assert client.get("/manage/surveys/new").status_code == 403


def test_another_partnership_gets_404(app, client, signed_in, accounts):
    from conftest import sign_in

    signed_in("officer")
    survey_id, questions = build(client, app)
    client.post_form("/sign-out", {}, token_from="/manage")
    sign_in(client, accounts.user("officer", partnership="south-csp"))
    base = f"/manage/surveys/{survey_id}"
    for path in (
        base,
        f"{base}/settings",
        f"{base}/questions/{questions['age_band']}",
        f"{base}/translations",
        f"{base}/translations/export",
        f"{base}/preview",
        f"{base}/new-wave",
        f"{base}/xlsform",
    ):
        assert client.get(path).status_code == 404, path
    token = client.csrf_token("/manage")
    assert (
        client.post(f"{base}/status", data={"action": "open", "csrf_token": token}).status_code
        == 404
    )
    assert client.post(f"{base}/delete", data={"csrf_token": token}).status_code == 404


def test_draft_can_be_deleted(app, client, signed_in):
    signed_in("officer")
    survey_id, _ = build(client, app)
    response = client.post_form(f"/manage/surveys/{survey_id}/delete", {"confirm": "yes"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Survey, survey_id) is None


def test_every_officer_page_of_the_demo_survey_renders(app, client, demo):
    from conftest import sign_in

    sign_in(client, "officer@demo.example")
    survey_id = demo["survey_id"]
    base = f"/manage/surveys/{survey_id}"
    with app.app_context():
        survey = db.session.get(Survey, survey_id)
        question_ids = [x.id for x in survey.questions]
        option_paths = [
            f"{base}/questions/{x.id}/options/{o.id}"
            for x in survey.questions
            for o in x.options[:1]
        ]
        section_ids = [s.id for s in survey.sections]
        languages = survey.languages
    pages = [
        base,
        f"{base}/settings",
        f"{base}/new-wave",
        f"{base}/bank",
        f"{base}/translations",
        f"{base}/translations/import",
        f"{base}/questions/new",
        f"{base}/fieldwork",
        f"{base}/paper-entry",
        f"{base}/paper-entry/compare",
        "/manage/surveys/benchmarks",
        "/manage/surveys/import-xlsform",
        "/manage",
    ]
    pages += [f"{base}/questions/{i}" for i in question_ids]
    pages += [f"{base}/questions/{question_ids[-1]}?source=age_band&variable=age_band"]
    pages += option_paths + [f"{base}/sections/{i}" for i in section_ids]
    pages += [f"{base}/preview?language={code}" for code in languages]
    pages += [f"{base}/translations/{code}" for code in languages]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
    monitor = client.get(f"{base}/fieldwork").get_data(as_text=True)
    assert "Compared with population benchmarks version 1" in monitor
    assert client.get(f"{base}/xlsform").status_code == 200
    assert client.get(f"{base}/translations/export").status_code == 200
