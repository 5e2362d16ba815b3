"""XLIFF 2.0 for translators' tools: the export says what each text is and how
far its translation has got; the import is checked like the spreadsheet
(placeholders, lengths, unknown texts), refuses DTDs and entities, and saves
all or nothing."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pytest
import sqlalchemy as sa
from test_build_services import make_survey

from consult.extensions import db
from consult.models import AuditEvent, Survey, TextEntry
from consult.services import translation as tr
from consult.services import xliff
from consult.services.content import set_text

NS = {"x": "urn:oasis:names:tc:xliff:document:2.0"}
X = "{urn:oasis:names:tc:xliff:document:2.0}"


def survey_with_urdu() -> Survey:
    survey = make_survey(languages=("en", "ur"))
    set_text(survey, "q.other.prompt", "en", "What else worries you in {area}?")
    set_text(survey, "survey.title", "ur", "محفوظ؟")
    set_text(survey, "q.age_band.prompt", "ur", "آپ کی عمر؟", status="machine")
    db.session.flush()
    return survey


def units(content: bytes) -> dict[str, ET.Element]:
    root = ET.fromstring(content)
    return {u.get("id"): u for u in root.iterfind(".//x:unit", NS)}


def translate(content: bytes, values: dict[str, str], state: str = "translated") -> bytes:
    """What a translator's tool sends back: targets filled in, segments confirmed."""
    root = ET.fromstring(content)
    for unit in root.iterfind(".//x:unit", NS):
        if unit.get("id") not in values:
            continue
        segment = unit.find("x:segment", NS)
        target = segment.find("x:target", NS)
        if target is None:
            target = ET.SubElement(segment, f"{X}target")
        target.text = values[unit.get("id")]
        segment.set("state", state)
        segment.attrib.pop("subState", None)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def urdu(survey: Survey) -> dict[str, tuple[str, str]]:
    rows = db.session.scalars(sa.select(TextEntry).filter_by(survey_id=survey.id, language="ur"))
    return {e.key: (e.value, e.status) for e in rows}


def statuses(survey: Survey) -> dict[str, str]:
    return {s.spec.key: s.status for s in tr.language_strings(survey, "ur")}


FULL_URDU = {
    "section.main.title": "اہم",
    "q.age_band.prompt": "آپ کی عمر کیا ہے؟",
    "o.age_band.aged_16_24": "16 سے 24",
    "o.age_band.aged_25_plus": "25 یا زیادہ",
    "o.age_band.prefer_not_to_say": "نہیں بتانا چاہتے",
    "q.priorities.prompt": "ترجیحات؟",
    "o.priorities.burglary": "چوری",
    "o.priorities.something_else": "کچھ اور",
    "q.other.prompt": "{area} میں آپ کو اور کیا پریشان کرتا ہے؟",
}


# --- export --------------------------------------------------------------------


def test_export_is_xliff_2_with_one_unit_per_text_and_our_statuses(app_context):
    survey = survey_with_urdu()
    content = xliff.export_xliff(survey, "ur")

    root = ET.fromstring(content)
    assert root.tag == f"{X}xliff"
    assert (root.get("version"), root.get("srcLang"), root.get("trgLang")) == ("2.0", "en", "ur")
    found = units(content)
    assert list(found) == [s.key for s in tr.survey_strings(survey)]

    title = found["survey.title"].find("x:segment", NS)
    assert title.get("state") == "translated"
    assert title.find("x:source", NS).text == "Safe?"
    assert title.find("x:target", NS).text == "محفوظ؟"
    machine = found["q.age_band.prompt"].find("x:segment", NS)
    assert (machine.get("state"), machine.get("subState")) == ("initial", "consult:machine")
    missing = found["o.age_band.aged_16_24"].find("x:segment", NS)
    assert missing.get("state") == "initial" and missing.find("x:target", NS) is None
    notes = {
        n.get("category"): n.text for n in found["o.age_band.aged_16_24"].iterfind(".//x:note", NS)
    }
    assert notes["type"] == "answer option"
    assert notes["question"] == "age_band"
    assert notes["question-type"] == "single"
    assert notes["max-length"] == "At most 300 characters"


def test_export_marks_reviewed_and_outdated_translations(app_context):
    survey = survey_with_urdu()
    tr.mark_reviewed(survey, "ur", ["survey.title"])
    set_text(survey, "survey.title", "en", "Do you feel safe?")
    set_text(survey, "q.priorities.prompt", "ur", "ترجیحات؟", status="reviewed")
    db.session.flush()
    found = units(xliff.export_xliff(survey, "ur"))
    outdated = found["survey.title"].find("x:segment", NS)
    assert (outdated.get("state"), outdated.get("subState")) == ("initial", "consult:outdated")
    assert outdated.find("x:target", NS).text == "محفوظ؟"
    assert "The English has changed" in ET.tostring(found["survey.title"], encoding="unicode")
    assert found["q.priorities.prompt"].find("x:segment", NS).get("state") == "reviewed"


def test_export_refuses_the_source_language_and_languages_not_offered(app_context):
    survey = survey_with_urdu()
    with pytest.raises(tr.ServiceError, match="default language is the source"):
        xliff.export_xliff(survey, "en")
    with pytest.raises(tr.ServiceError, match="not offered"):
        xliff.export_xliff(survey, "pl")


# --- import --------------------------------------------------------------------


def test_round_trip_completes_the_translation_and_is_idempotent(app_context):
    survey = survey_with_urdu()
    content = translate(xliff.export_xliff(survey, "ur"), FULL_URDU)
    # The second native speaker's confirmation of one text travels as its state.
    content = translate(content, {"o.priorities.burglary": "چوری"}, state="final")

    result = xliff.import_xliff(survey, content)

    assert (result.language, result.total, result.unconfirmed) == ("ur", 9, 0)
    assert tr.missing_visible_strings(survey) == {}
    stored = urdu(survey)
    assert stored["q.other.prompt"] == (FULL_URDU["q.other.prompt"], "draft")
    assert stored["o.priorities.burglary"] == ("چوری", "reviewed")
    # The title was untouched in the tool (still "translated"): kept as it was.
    assert stored["survey.title"] == ("محفوظ؟", "draft")
    event = db.session.scalars(
        sa.select(AuditEvent).filter_by(action="translations_imported")
    ).one()
    assert event.details["format"] == "xliff" and event.details["texts"] == 9

    again = xliff.import_xliff(survey, translate(xliff.export_xliff(survey, "ur"), FULL_URDU))
    assert again.total == 0
    assert db.session.scalar(
        sa.select(sa.func.count()).select_from(TextEntry).filter_by(survey_id=survey.id)
    ) == 2 * len(tr.survey_strings(survey))


def test_reviewed_box_marks_every_imported_text_reviewed(app_context):
    survey = survey_with_urdu()
    content = translate(xliff.export_xliff(survey, "ur"), {"q.priorities.prompt": "ترجیحات؟"})
    xliff.import_xliff(survey, content, reviewed=True)
    assert urdu(survey)["q.priorities.prompt"] == ("ترجیحات؟", "reviewed")


def test_segments_left_initial_are_not_imported(app_context):
    survey = survey_with_urdu()
    content = translate(
        xliff.export_xliff(survey, "ur"), {"q.priorities.prompt": "ترجیحات؟"}, state="initial"
    )
    result = xliff.import_xliff(survey, content)
    assert (result.total, result.unconfirmed) == (0, 2)  # with the machine draft exported as is
    assert "q.priorities.prompt" not in urdu(survey)
    assert urdu(survey)["q.age_band.prompt"] == ("آپ کی عمر؟", "machine")


def test_region_subtags_are_the_same_language(app_context):
    survey = survey_with_urdu()
    content = translate(xliff.export_xliff(survey, "ur"), {"q.priorities.prompt": "ترجیحات؟"})
    content = content.replace(b'trgLang="ur"', b'trgLang="ur-PK"').replace(
        b'srcLang="en"', b'srcLang="en-GB"'
    )
    assert xliff.import_xliff(survey, content).total == 1


def refused(survey: Survey, content: bytes) -> list[str]:
    before = urdu(survey)
    with pytest.raises(tr.TranslationFileError) as caught:
        xliff.import_xliff(survey, content)
    assert urdu(survey) == before, "a refused file changed the translations"
    assert "nothing was saved" in caught.value.message
    return caught.value.problems


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            b'srcLang="en"',
            b'srcLang="pl"',
            "srcLang is 'pl', but this survey is written in English",
        ),
        (b'trgLang="ur"', b'trgLang="pl"', "trgLang is Polish, which this survey does not offer"),
        (b'trgLang="ur"', b'trgLang="en"', "trgLang is English, the survey's own language"),
        (b'trgLang="ur"', b'trgLang="xx-klingon"', "trgLang 'xx-klingon' is not a language"),
        (b' trgLang="ur"', b"", "the file has no trgLang"),
    ],
)
def test_wrong_languages_are_refused(app_context, old, new, message):
    survey = survey_with_urdu()
    content = translate(xliff.export_xliff(survey, "ur"), FULL_URDU)
    assert old in content
    problems = refused(survey, content.replace(old, new))
    assert any(message in p for p in problems), problems


def test_unknown_and_repeated_units_are_listed_and_nothing_is_saved(app_context):
    survey = survey_with_urdu()
    content = translate(xliff.export_xliff(survey, "ur"), FULL_URDU)
    content = content.replace(b'id="q.priorities.prompt"', b'id="q.gone.prompt"')
    content = content.replace(b'id="o.age_band.aged_25_plus"', b'id="o.age_band.aged_16_24"')
    problems = refused(survey, content)
    assert any("unit 7 (q.gone.prompt): unknown id 'q.gone.prompt'" in p for p in problems), (
        problems
    )
    assert any("the id o.age_band.aged_16_24 is also used by unit 4" in p for p in problems)
    assert len(problems) == 2


def test_broken_placeholders_and_overlong_texts_are_refused_with_their_unit(app_context):
    survey = survey_with_urdu()
    content = translate(
        xliff.export_xliff(survey, "ur"),
        {
            **FULL_URDU,
            "q.other.prompt": "{علاقہ} میں اور کیا؟",
            "o.priorities.burglary": "چ" * 301,
        },
    )
    problems = refused(survey, content)
    assert any(
        p.startswith("unit 10 (q.other.prompt): Urdu text of q.other.prompt: placeholder {area}")
        for p in problems
    ), problems
    assert any(
        "o.priorities.burglary is 301 characters long; the most is 300" in p for p in problems
    )


def test_a_changed_source_is_refused(app_context):
    survey = survey_with_urdu()
    exported = xliff.export_xliff(survey, "ur")
    set_text(survey, "q.priorities.prompt", "en", "What should come first?")
    db.session.flush()
    problems = refused(survey, translate(exported, FULL_URDU))
    assert any(
        "(q.priorities.prompt): the source text is not the survey's current English" in p
        for p in problems
    )


def test_inline_codes_are_refused(app_context):
    survey = survey_with_urdu()
    content = translate(xliff.export_xliff(survey, "ur"), FULL_URDU).replace(
        "{area} میں".encode(), b'<ph id="1" equiv="{area}"/>' + " میں".encode()
    )
    problems = refused(survey, content)
    assert problems == [
        "unit 10 (q.other.prompt): the text contains an inline code <ph>; type placeholders "
        "such as {name} as plain text"
    ]


XXE = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE xliff [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<xliff xmlns="urn:oasis:names:tc:xliff:document:2.0" version="2.0" srcLang="en" trgLang="ur">
 <file id="f1"><unit id="survey.title"><segment state="translated">
  <source>Safe?</source><target>&secret;</target></segment></unit></file></xliff>"""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<xliff xmlns="urn:oasis:names:tc:xliff:document:2.0" version="2.0" srcLang="en" trgLang="ur">
 <file id="f1"><unit id="survey.title"><segment state="translated">
  <source>Safe?</source><target>&lol3;</target></segment></unit></file></xliff>"""


@pytest.mark.parametrize(
    "content",
    [XXE, LAUGHS, XXE.decode().encode("utf-16"), XXE.replace(b"<!DOCTYPE", b"<!doctype")],
    ids=["external-entity", "billion-laughs", "utf-16", "lower-case"],
)
def test_dtds_and_entities_are_refused_before_parsing(app_context, content):
    survey = survey_with_urdu()
    problems = refused(survey, content)
    assert len(problems) == 1
    assert (
        "contains a <!DOCTYPE> or <!ENTITY> declaration, which is refused for safety" in problems[0]
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<xliff><file>", "line 1, column 13: the file is not well-formed XML"),
        (b"\xff\x00\xfe not text", "not text in UTF-8 or UTF-16"),
        (
            b'<xliff xmlns="urn:oasis:names:tc:xliff:document:1.2" version="1.2"/>',
            "this is an XLIFF 1.2 file",
        ),
        (b"<survey/>", "the file is not XLIFF 2.0 (its root element is <survey>)"),
        (
            b'<xliff xmlns="urn:oasis:names:tc:xliff:document:2.0" version="2.0" srcLang="en"'
            b' trgLang="ur"><file id="f1"/></xliff>',
            "the file has no <unit> elements",
        ),
    ],
)
def test_files_that_are_not_xliff_2_get_a_clear_message(app_context, content, message):
    survey = survey_with_urdu()
    problems = refused(survey, content)
    assert any(message in p for p in problems), problems


# --- pages ----------------------------------------------------------------------


@pytest.fixture
def survey_id(app) -> int:
    with app.app_context():
        survey = survey_with_urdu()
        db.session.commit()
        return survey.id


def test_officer_downloads_and_uploads_xliff(app, client, signed_in, survey_id):
    signed_in("officer")
    base = f"/manage/surveys/{survey_id}/translations"
    page = client.get(base).get_data(as_text=True)
    assert f'href="{base}/ur/xliff"' in page and "Download the Urdu texts as XLIFF" in page
    assert f"{base}/en/xliff" not in page

    download = client.get(f"{base}/ur/xliff")
    assert download.status_code == 200
    assert download.mimetype == "application/xliff+xml"
    assert download.headers["Content-Disposition"] == 'attachment; filename="safe-ur.xlf"'
    assert client.get(f"{base}/en/xliff").status_code == 404
    assert client.get(f"{base}/pl/xliff").status_code == 404

    form = client.get(f"{base}/import-xliff")
    assert form.status_code == 200 and 'accept=".xlf,.xliff"' in form.get_data(as_text=True)
    response = client.post_form(
        f"{base}/import-xliff",
        {"file": (io.BytesIO(translate(download.data, FULL_URDU)), "safe-ur.xlf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    page = client.get(base).get_data(as_text=True)
    assert "9 Urdu translations imported." in page
    assert "100%" in page
    with app.app_context():
        assert tr.missing_visible_strings(db.session.get(Survey, survey_id)) == {}


def test_a_bad_upload_lists_its_problems_and_saves_nothing(app, client, signed_in, survey_id):
    signed_in("officer")
    base = f"/manage/surveys/{survey_id}/translations"
    exported = client.get(f"{base}/ur/xliff").data
    broken = translate(exported, {**FULL_URDU, "q.other.prompt": "اور کیا؟"}).replace(
        b'id="q.priorities.prompt"', b'id="q.nope.prompt"'
    )
    response = client.post_form(
        f"{base}/import-xliff",
        {"file": (io.BytesIO(broken), "safe-ur.xliff")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "The translation file has 2 problems; nothing was saved" in body
    assert "unknown id &#39;q.nope.prompt&#39;" in body
    assert "placeholder {area} from the English is missing" in body

    response = client.post_form(
        f"{base}/import-xliff",
        {"file": (io.BytesIO(XXE), "evil.xlf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "which is refused for safety" in response.get_data(as_text=True)

    response = client.post_form(
        f"{base}/import-xliff",
        {"file": (io.BytesIO(exported), "texts.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "must be an XLIFF file (.xlf or .xliff)" in response.get_data(as_text=True)

    response = client.post_form(f"{base}/import-xliff", {}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "Choose a file to upload" in response.get_data(as_text=True)
    with app.app_context():
        assert urdu(db.session.get(Survey, survey_id)) == {
            "survey.title": ("محفوظ؟", "draft"),
            "q.age_band.prompt": ("آپ کی عمر؟", "machine"),
        }


def test_viewers_cannot_download_or_upload_and_other_partnerships_see_nothing(
    app, client, signed_in, accounts, survey_id
):
    signed_in("viewer")
    base = f"/manage/surveys/{survey_id}/translations"
    page = client.get(base).get_data(as_text=True)
    assert "XLIFF" not in page
    assert client.get(f"{base}/ur/xliff").status_code == 403
    with app.app_context():
        content = translate(xliff.export_xliff(db.session.get(Survey, survey_id), "ur"), FULL_URDU)
    response = client.post_form(
        f"{base}/import-xliff",
        {"file": (io.BytesIO(content), "safe-ur.xlf")},
        content_type="multipart/form-data",
        token_from=base,
    )
    assert response.status_code == 403
    with app.app_context():
        assert "q.priorities.prompt" not in urdu(db.session.get(Survey, survey_id))

    client.post_form("/sign-out", {}, token_from=base)
    signed_in("officer", partnership="south-csp")
    assert client.get(f"{base}/ur/xliff").status_code == 404
    assert client.get(f"{base}/import-xliff").status_code == 404


# --- hostile files of issue 13 ------------------------------------------------------


def test_utf16le_without_a_mark_cannot_smuggle_an_entity(app_context):
    """The bypass the hostile test found: the DOCTYPE check read bytes, and
    in UTF-16LE with no byte-order mark "<!DOCTYPE" is "<\\0!\\0D\\0…"; the
    entity was expanded into a stored translation."""
    from bench.hostile_files import utf16_xliff_with_entity

    survey = survey_with_urdu()
    content = utf16_xliff_with_entity()
    assert not content.startswith((b"\xff\xfe", b"\xfe\xff")) and b"<\x00!\x00D" in content
    problems = refused(survey, content)
    assert problems and "<!DOCTYPE> or <!ENTITY> declaration" in problems[0]
    assert all("PLANTED" not in value for value, _ in urdu(survey).values())
    # The same in UTF-16BE without a mark, and in UTF-32.
    text = content.decode("utf-16-le")
    for encoding in ("utf-16-be", "utf-32-le", "utf-32"):
        assert "<!DOCTYPE>" in refused(survey, text.encode(encoding))[0]


def test_the_parser_itself_refuses_a_dtd_the_text_check_missed(app_context, monkeypatch):
    """Defence in depth: were the text check ever fooled again, defusedxml
    still refuses the declaration inside the parser."""
    import re

    from consult.services import safexml

    monkeypatch.setattr(safexml, "DOCTYPE", re.compile("(?!)"))  # matches nothing
    survey = survey_with_urdu()
    for content in (XXE, LAUGHS):
        assert "<!DOCTYPE> or <!ENTITY> declaration" in refused(survey, content)[0]


def test_an_encoding_is_honoured_or_refused_by_name(app_context):
    survey = survey_with_urdu()
    exported = xliff.export_xliff(survey, "ur")
    # Declared and saved as UTF-16 with a mark, or without one (either order): all read.
    for n, encoding in enumerate(("utf-16", "utf-16-le", "utf-16-be")):
        values = {"survey.title": f"محفوظ {n}"}
        wide = translate(exported, values).decode().replace("encoding='utf-8'", "encoding='UTF-16'")
        assert xliff.import_xliff(survey, wide.encode(encoding)).total == 1
        assert urdu(survey)["survey.title"][0] == f"محفوظ {n}"
    text = translate(exported, {"survey.title": "x"}).decode("utf-8")
    # A declaration that contradicts the bytes, or an encoding we do not read.
    for declared, message in (
        ("UTF-16", "says it is UTF-16, but it is not"),
        ("EBCDIC", "encoding"),
    ):
        content = text.replace("encoding='utf-8'", f"encoding='{declared}'").encode()
        assert message in refused(survey, content)[0]
