"""XLIFF 2.0 round trip for translators who work in a CAT tool (memoQ,
Trados, Phrase, OmegaT, Weblate) rather than a spreadsheet: one file per
target language, one <unit> per text (its id is the text's key), checked on
the way back exactly as the spreadsheet is (translation.translation_problem)
and saved all or nothing (translation.apply_import).

Segment states map to our statuses:
  missing, outdated, machine  → initial   (subState consult:outdated / consult:machine)
  draft                       → translated
  reviewed                    → reviewed
On the way back `translated` is saved as a draft, `reviewed` and `final` as
reviewed, and `initial` is not imported: nobody has confirmed that text.

Placeholders such as {name} travel as plain text, as in the spreadsheet."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass

from ..i18n import LANGUAGES
from ..models import Survey, TranslationStatus, User
from . import ServiceError, safexml
from .audit import record
from .translation import (
    MAX_IMPORT_ROWS,
    MISSING,
    OUTDATED,
    ImportResult,
    TranslationFileError,
    apply_import,
    language_strings,
    survey_strings,
    translation_problem,
)

NS = "urn:oasis:names:tc:xliff:document:2.0"
XLIFF_1_NS = "urn:oasis:names:tc:xliff:document:1.2"
MIMETYPE = "application/xliff+xml"
STATES = ("initial", "translated", "reviewed", "final")
EXPORT_STATE = {
    MISSING: ("initial", None),
    OUTDATED: ("initial", "consult:outdated"),
    TranslationStatus.MACHINE: ("initial", "consult:machine"),
    TranslationStatus.DRAFT: ("translated", None),
    TranslationStatus.REVIEWED: ("reviewed", None),
}
# Inline markup that only annotates text; anything else (ph, pc, sc, ec, cp,
# sm, em) stands for codes we never export, so it cannot come back.
ANNOTATIONS = {"mrk"}

ET.register_namespace("", NS)


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def _kind(spec_type: str) -> str:
    return {
        "title": "survey title",
        "intro": "survey introduction",
        "privacy": "privacy notice",
        "section": "section heading",
        "prompt": "question",
        "hint": "hint under a question",
        "constraint": "error message for an answer out of range or too long",
        "option": "answer option",
        "item": "row of a grid question",
    }[spec_type]


def export_xliff(survey: Survey, language: str, *, by: User | None = None) -> bytes:
    """The survey's texts with their `language` translations as XLIFF 2.0;
    the download is audited."""
    if language not in survey.languages:
        raise ServiceError(f"This survey is not offered in {language!r}", field="language")
    if language == survey.default_language:
        raise ServiceError(
            "The default language is the source: choose a language to translate into",
            field="language",
        )
    questions = {q.key: q for q in survey.questions}
    root = ET.Element(
        _q("xliff"), {"version": "2.0", "srcLang": survey.default_language, "trgLang": language}
    )
    file = ET.SubElement(root, _q("file"), {"id": "f1", "original": f"consult/{survey.slug}"})
    notes = ET.SubElement(file, _q("notes"))
    ET.SubElement(notes, _q("note"), {"category": "instructions"}).text = (
        "Translate each target. Copy placeholders such as {name} or %(count)s exactly. "
        "Set a segment to 'translated' (or 'reviewed' once a second native speaker has "
        "checked it): segments left 'initial' are not imported."
    )
    for state in language_strings(survey, language):
        spec = state.spec
        unit = ET.SubElement(file, _q("unit"), {"id": spec.key})
        unit_notes = ET.SubElement(unit, _q("notes"))

        def note(category: str, text: str, parent: ET.Element = unit_notes) -> None:
            ET.SubElement(parent, _q("note"), {"category": category}).text = text

        note("type", _kind(spec.type))
        if spec.question:
            note("question", spec.question)
            question = questions.get(spec.question)
            if question is not None:
                note("question-type", str(question.type))
        note("max-length", f"At most {spec.max_length} characters")
        if state.status == OUTDATED:
            note("status", "The English has changed since this was translated: check the target")
        elif state.status == TranslationStatus.MACHINE:
            note("status", "Machine translation: a native speaker must check it")
        segment_state, sub_state = EXPORT_STATE[state.status]
        attributes = {"state": segment_state}
        if sub_state:
            attributes["subState"] = sub_state
        segment = ET.SubElement(unit, _q("segment"), attributes)
        ET.SubElement(segment, _q("source")).text = state.source
        if state.status != MISSING:
            target = ET.SubElement(segment, _q("target"))
            target.text = state.value
    ET.indent(root)
    record(
        "translations_exported",
        partnership_id=survey.partnership_id,
        user_id=by.id if by else None,
        target=f"survey:{survey.id}",
        details={"languages": [language], "format": "xliff"},
    )
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def filename(survey: Survey, language: str) -> str:
    return f"{survey.slug}-{language}.xlf"


@dataclass
class XliffImportResult(ImportResult):
    language: str = ""
    unconfirmed: int = 0


def _parse(content: bytes) -> ET.Element:
    # The encoding is detected from the bytes (mark, UTF-16 without a mark,
    # the declaration) before any check, and the parser itself refuses
    # every DTD: see consult.services.safexml.
    try:
        return safexml.parse(content)
    except safexml.XMLFileError as error:
        problems = list(error.problems)
        if problems == [safexml.REFUSED_DTD]:
            problems = [
                safexml.REFUSED_DTD + "; XLIFF files never need one: export the file again "
                "from your tool"
            ]
        raise TranslationFileError(problems) from None


def _language(value: str | None) -> str | None:
    """Our code for a BCP 47 tag: "ur", "ur-PK" and "UR" are all Urdu."""
    if not value:
        return None
    tag = value.strip().lower().replace("_", "-")
    if tag in LANGUAGES:
        return tag
    primary = tag.split("-", 1)[0]
    return primary if primary in LANGUAGES else None


def _text(element: ET.Element | None, where: str, problems: list[str]) -> str:
    if element is None:
        return ""
    for child in element.iter():
        if child is element:
            continue
        local = child.tag.rsplit("}", 1)[-1]
        if local not in ANNOTATIONS:
            problems.append(
                f"{where}: the text contains an inline code <{local}>; type placeholders "
                "such as {name} as plain text"
            )
            return ""
    return "".join(element.itertext())


def _check_header(survey: Survey, root: ET.Element) -> str:
    if root.tag == f"{{{XLIFF_1_NS}}}xliff":
        raise TranslationFileError(
            ["this is an XLIFF 1.2 file: save or export it as XLIFF 2.0 from your tool"]
        )
    if root.tag != _q("xliff"):
        raise TranslationFileError(
            [f"the file is not XLIFF 2.0 (its root element is <{root.tag.rsplit('}', 1)[-1]}>)"]
        )
    version = root.get("version", "")
    if not version.startswith("2."):
        raise TranslationFileError(
            [f"XLIFF version {version or '(none)'} is not supported; use 2.0"]
        )
    problems = []
    source_name = LANGUAGES[survey.default_language].english_name
    src = _language(root.get("srcLang"))
    if src != survey.default_language:
        problems.append(
            f"srcLang is {root.get('srcLang')!r}, but this survey is written in {source_name} "
            f"({survey.default_language}): the file is for another survey or was set up wrongly"
        )
    raw_target = root.get("trgLang")
    target = _language(raw_target)
    if not raw_target:
        problems.append("the file has no trgLang: it does not say which language it is in")
    elif target is None:
        problems.append(f"trgLang {raw_target!r} is not a language this service knows")
    elif target == survey.default_language:
        problems.append(f"trgLang is {source_name}, the survey's own language")
    elif target not in survey.languages:
        problems.append(
            f"trgLang is {LANGUAGES[target].english_name}, which this survey does not offer "
            "(add the language in the survey's settings first)"
        )
    if problems:
        raise TranslationFileError(problems)
    assert target is not None
    return target


def import_xliff(
    survey: Survey, content: bytes, *, reviewed: bool = False, by: User | None = None
) -> XliffImportResult:
    """Read a translator's XLIFF 2.0 file back. Every unit is checked first;
    one problem anywhere means nothing is saved."""
    root = _parse(content)
    language = _check_header(survey, root)
    units = list(root.iter(_q("unit")))
    if not units:
        raise TranslationFileError(["the file has no <unit> elements to import"])
    if len(units) > MAX_IMPORT_ROWS:
        raise TranslationFileError([f"the file has more than {MAX_IMPORT_ROWS} units"])

    specs = {s.key: s for s in survey_strings(survey)}
    sources = {s.spec.key: s.source for s in language_strings(survey, survey.default_language)}
    problems: list[str] = []
    seen: dict[str, int] = {}
    planned: list[tuple[str, str, str, bool]] = []
    unconfirmed = 0
    for number, unit in enumerate(units, start=1):
        key = (unit.get("id") or "").strip()
        where = f"unit {number}" + (f" ({key})" if key else "")
        if not key:
            problems.append(f"{where}: the unit has no id, so its text cannot be matched")
            continue
        if key in seen:
            problems.append(f"{where}: the id {key} is also used by unit {seen[key]}")
            continue
        seen[key] = number
        spec = specs.get(key)
        if spec is None:
            problems.append(f"{where}: unknown id {key!r}: it is not a text of this survey")
            continue
        # A tool may split a text into several segments; the text is their
        # sources (and targets) joined in order, ignorables included.
        parts = [c for c in unit if c.tag in (_q("segment"), _q("ignorable"))]
        if not parts:
            problems.append(f"{where}: the unit has no <segment>")
            continue
        before = len(problems)
        source = "".join(_text(p.find(_q("source")), where, problems) for p in parts)
        value = "".join(_text(p.find(_q("target")), where, problems) for p in parts).strip()
        states = [p.get("state", "initial") for p in parts if p.tag == _q("segment")]
        bad = sorted({s for s in states if s not in STATES})
        if bad:
            problems.append(
                f"{where}: segment state {', '.join(bad)} is not one of {', '.join(STATES)}"
            )
        if len(problems) > before:
            continue
        current = sources.get(key, "")
        if " ".join(source.split()) != " ".join(current.split()):
            problems.append(
                f"{where}: the source text is not the survey's current "
                f"{LANGUAGES[survey.default_language].english_name} (it has changed since the "
                "export, or was edited in the file): export again"
            )
            continue
        if not value:
            continue
        if "initial" in states:
            unconfirmed += 1
            continue
        problem = translation_problem(spec, language, current, value)
        if problem:
            problems.append(f"{where}: {problem}")
            continue
        confirmed = reviewed or all(s in ("reviewed", "final") for s in states)
        planned.append((key, language, value, confirmed))
    if problems:
        raise TranslationFileError(problems)
    saved = apply_import(survey, planned, by=by, details={"format": "xliff", "reviewed": reviewed})
    return XliffImportResult(
        changed=Counter(saved.changed), language=language, unconfirmed=unconfirmed
    )
