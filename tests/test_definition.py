"""A survey definition exported from one database and imported into a fresh
one (built by the migrations) comes back the same: keys, codes, conditions,
demographic mappings and every text with its status. A bad document is
refused with every problem named, and nothing is stored."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from conftest import make_app
from flask_migrate import upgrade

from consult.extensions import db
from consult.models import AuditEvent, Partnership, Question, Survey, SurveyStatus, TextEntry
from consult.services.accounts import create_partnership
from consult.services.definition import (
    DefinitionError,
    export_definition,
    export_definition_json,
    import_definition,
)
from consult.services.surveys import add_question, add_section, create_survey


def _comparable(document: dict) -> dict:
    """Everything but the slug the import chose."""
    copy = json.loads(json.dumps(document))
    copy["survey"].pop("slug")
    return copy


def test_demo_definition_round_trips_through_a_fresh_database(app, demo, tmp_path):
    with app.app_context():
        survey = db.session.get(Survey, demo["survey_id"])
        exported = export_definition_json(survey)
    original = json.loads(exported)
    assert any(q["show_if"] for q in original["questions"])
    assert any(q["demographic"] == "ethnic_group" for q in original["questions"])
    assert {t["status"] for t in original["texts"]} >= {"reviewed"}
    assert len({t["language"] for t in original["texts"]}) == 8

    fresh = make_app(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    with fresh.app_context():
        upgrade()
        partnership = create_partnership("restored-csp", "Restored Partnership")
        imported = import_definition(
            partnership, exported.encode("utf-8"), slug="feeling-safe-copy"
        )
        db.session.commit()
        assert imported.status == SurveyStatus.DRAFT
        assert imported.partnership_id == partnership.id
        again = export_definition(db.session.get(Survey, imported.id))
        assert again["survey"]["slug"] == "feeling-safe-copy"
        assert db.session.scalars(sa.select(AuditEvent).filter_by(action="survey_imported")).one()
        db.session.remove()
    assert _comparable(again) == _comparable(original)


def test_every_condition_form_and_setting_round_trips(app_context, accounts, tmp_path):
    partnership = db.session.get(Partnership, accounts.partnership("north-csp"))
    survey = create_survey(
        partnership,
        slug="conditions",
        title={"en": "Conditions", "ur": "شرائط"},
        languages=["en", "ur"],
    )
    section = add_section(survey, "main", {"en": "Main"}, kind="about_you")
    add_question(
        survey,
        section,
        key="age",
        type="number",
        prompt={"en": "Age"},
        settings={"min": 0, "max": 120, "unit": "years"},
    )
    add_question(
        survey,
        section,
        key="rate",
        type="grid",
        prompt={"en": "Rate"},
        options=[
            {"code": "good", "label": {"en": "Good"}},
            {"code": "bad", "label": {"en": "Bad"}},
        ],
        items=[{"code": "police", "label": {"en": "Police", "ur": "پولیس"}}],
    )
    add_question(
        survey,
        section,
        key="why",
        type="text",
        prompt={"en": "Why?"},
        required=True,
        show_if={
            "all": [
                {"question": "age", "gte": 16},
                {
                    "any": [
                        {"question": "rate", "item": "police", "in": ["bad"]},
                        {"not": {"question": "age", "answered": False}},
                    ]
                },
            ]
        },
        statuses={"en": "reviewed"},
    )
    db.session.commit()
    document = export_definition(survey)
    imported = import_definition(partnership, document, slug="conditions-copy")
    db.session.commit()
    assert _comparable(export_definition(imported)) == _comparable(document)
    why = db.session.scalars(sa.select(Question).filter_by(survey_id=imported.id, key="why")).one()
    assert why.section_id is not None and why.required
    assert why.show_if["all"][0] == {"question": "age", "gte": 16}


def _document(app_context, accounts) -> tuple[Partnership, dict]:
    partnership = db.session.get(Partnership, accounts.partnership("north-csp"))
    survey = create_survey(partnership, slug="source", title={"en": "Source"})
    add_question(
        survey,
        None,
        key="colour",
        type="single",
        prompt={"en": "Colour"},
        options=[
            {"code": "red", "label": {"en": "Red"}},
            {"code": "blue", "label": {"en": "Blue"}},
        ],
    )
    add_question(
        survey,
        None,
        key="why",
        type="text",
        prompt={"en": "Why?"},
        show_if={"question": "colour", "in": ["red"]},
    )
    db.session.commit()
    return partnership, export_definition(survey)


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda d: d["questions"].reverse(), "not an earlier question"),
        (
            lambda d: d["questions"][1]["show_if"].update({"in": ["green"]}),
            "no answer code(s) green",
        ),
        (lambda d: d["questions"][0].update({"type": "telepathy"}), "unknown type 'telepathy'"),
        (lambda d: d["questions"][1].update({"key": "colour"}), "the key is used twice"),
        (
            lambda d: d["questions"][0].update({"key": "Colour; DROP TABLE survey"}),
            "must start with a letter",
        ),
        (
            lambda d: d["questions"][0]["options"].append({"code": "red"}),
            "the code red is used twice",
        ),
        (lambda d: d["questions"][0].update({"demographic": "star_sign"}), "unknown demographic"),
        (lambda d: d["survey"].update({"languages": ["en", "xx"]}), "unknown language code(s): xx"),
        (
            lambda d: d["texts"].append(
                {"key": "q.nothing.prompt", "language": "en", "value": "x"}
            ),
            "does not belong",
        ),
        (
            lambda d: d["texts"].append(
                {"key": "survey.intro", "language": "en", "value": "a\x00b"}
            ),
            "NUL",
        ),
        (lambda d: d["texts"][0].update({"status": "perfect"}), "unknown status"),
        (
            lambda d: d.update({"texts": [t for t in d["texts"] if t["key"] != "survey.title"]}),
            "no title",
        ),
        (lambda d: d.update({"version": 99}), "version 99 is not supported"),
        (lambda d: d.update({"questions": "all of them"}), "'questions' must be a list"),
    ],
)
def test_bad_documents_are_refused_and_nothing_is_stored(app_context, accounts, damage, expected):
    partnership, document = _document(app_context, accounts)
    damage(document)
    surveys = db.session.scalar(sa.select(sa.func.count(Survey.id)))
    texts = db.session.scalar(sa.select(sa.func.count(TextEntry.id)))
    with pytest.raises(DefinitionError) as caught:
        import_definition(partnership, document, slug="copy")
    assert any(expected in p for p in caught.value.problems), caught.value.problems
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Survey.id))) == surveys
    assert db.session.scalar(sa.select(sa.func.count(TextEntry.id))) == texts


@pytest.mark.parametrize(
    "content",
    [b"\xff\xfe not utf-8", b"{not json", b"[1, 2]", b'{"format": "something-else"}', b"[" * 5000],
)
def test_files_that_are_not_definitions(app_context, accounts, content):
    partnership = db.session.get(Partnership, accounts.partnership("north-csp"))
    with pytest.raises(DefinitionError) as caught:
        import_definition(partnership, content, slug="copy")
    assert caught.value.problems


def test_slug_must_be_new_and_well_formed(app_context, accounts):
    partnership, document = _document(app_context, accounts)
    for slug, message in (("source", "already used"), ("Not A Slug!", "lowercase letters")):
        with pytest.raises(DefinitionError) as caught:
            import_definition(partnership, document, slug=slug)
        assert any(message in p for p in caught.value.problems)


def test_cli_export_and_import(app, accounts, tmp_path):
    with app.app_context():
        _document(app, accounts)
    path = tmp_path / "definition.json"
    runner = app.test_cli_runner()
    result = runner.invoke(args=["consult", "export-definition", "source", "-o", str(path)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        args=[
            "consult",
            "import-definition",
            str(path),
            "--partnership",
            "north-csp",
            "--slug",
            "imported",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Imported draft survey /s/imported" in result.output
    path.write_text(path.read_text().replace('"blue"', '"Blue!"'))
    result = runner.invoke(
        args=[
            "consult",
            "import-definition",
            str(path),
            "--partnership",
            "north-csp",
            "--slug",
            "again",
        ]
    )
    assert result.exit_code != 0 and "Nothing was imported" in result.output
    assert "option code 'Blue!'" in result.output
