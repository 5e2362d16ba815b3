"""The translation workflow: which of a survey's texts exist in each offered
language and in what state, a completeness figure per language, and a
spreadsheet round trip for translators (XLSForm-style `label::Urdu (ur)`
columns, one row per text).

A text's status in a language is one of:
  missing   – no text (residents would see the default language instead)
  outdated  – translated from wording that has since changed
  machine   – drafted by machine translation, to be checked by a person
  draft     – written by a person, not yet reviewed
  reviewed  – checked by a second person

Only texts a resident can see count: the strings of removed questions, of
empty sections, or of languages the survey does not offer never block
opening and are not exported."""

from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select

from ..extensions import db
from ..i18n import LANGUAGES
from ..models import OptionKind, QuestionType, Survey, TextEntry, TranslationStatus, User
from ..wording import counted
from . import ServiceError
from .audit import record
from .content import (
    constraint_key,
    digest,
    hint_key,
    item_key,
    option_key,
    privacy_key,
    prompt_key,
    section_title_key,
    survey_intro_key,
    survey_title_key,
)
from .path import ordered_questions
from .spreadsheets import SpreadsheetError, read_xlsx

MISSING = "missing"
OUTDATED = "outdated"
TEXT_STATUSES = (
    MISSING,
    OUTDATED,
    TranslationStatus.MACHINE,
    TranslationStatus.DRAFT,
    TranslationStatus.REVIEWED,
)
TEXT_STATUS_LABELS = {
    MISSING: "Missing",
    OUTDATED: "Outdated (the English changed)",
    TranslationStatus.MACHINE: "Machine draft",
    TranslationStatus.DRAFT: "Draft",
    TranslationStatus.REVIEWED: "Reviewed",
}
# The longest text accepted for each kind of string.
MAX_LENGTH = {
    "title": 300,
    "intro": 3000,
    "privacy": 5000,
    "section": 300,
    "prompt": 1000,
    "hint": 1000,
    "constraint": 1000,
    "option": 300,
    "item": 300,
}
PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}|%\([A-Za-z_][A-Za-z0-9_]*\)[sdif]|%[sdif]")
LABEL_COLUMN = re.compile(r"^label::\s*(?:.*?)\(\s*([A-Za-z-]+)\s*\)\s*$")
MAX_IMPORT_ROWS = 20000


@dataclass(frozen=True)
class StringSpec:
    key: str
    type: str
    question: str | None = None

    @property
    def max_length(self) -> int:
        return MAX_LENGTH[self.type]


def survey_strings(survey: Survey) -> list[StringSpec]:
    """Every text a resident can see, in questionnaire order. Optional texts
    (hints, constraint messages, introduction, privacy notice) count only
    where the default language has them."""
    present = {
        key
        for (key,) in db.session.execute(
            select(TextEntry.key).filter_by(survey_id=survey.id, language=survey.default_language)
        )
    }
    specs = [StringSpec(survey_title_key(), "title")]
    for key, kind in ((survey_intro_key(), "intro"), (privacy_key(), "privacy")):
        if key in present:
            specs.append(StringSpec(key, kind))
    questions = ordered_questions(survey.questions)
    used_sections = {q.section_id for q in questions}
    section_of = {s.id: s for s in survey.sections}
    seen_sections: set[int] = set()
    for q in questions:
        section = section_of.get(q.section_id or -1)
        if section is not None and section.id not in seen_sections and section.id in used_sections:
            seen_sections.add(section.id)
            specs.append(StringSpec(section_title_key(section.key), "section"))
        specs.append(StringSpec(prompt_key(q.key), "prompt", q.key))
        if hint_key(q.key) in present:
            specs.append(StringSpec(hint_key(q.key), "hint", q.key))
        # An XLSForm constraint_message: the error a resident sees for an
        # answer out of the question's range or too long.
        if constraint_key(q.key) in present:
            specs.append(StringSpec(constraint_key(q.key), "constraint", q.key))
        if q.type in (QuestionType.TEXT, QuestionType.NUMBER):
            continue
        for option in sorted(q.options, key=lambda o: (o.kind != OptionKind.ITEM, o.position)):
            if option.kind == OptionKind.ITEM:
                specs.append(StringSpec(item_key(q.key, option.code), "item", q.key))
            else:
                specs.append(StringSpec(option_key(q.key, option.code), "option", q.key))
    return specs


@dataclass
class StringState:
    spec: StringSpec
    source: str
    value: str
    status: str


def _entries(survey: Survey) -> dict[tuple[str, str], TextEntry]:
    return {
        (e.key, e.language): e
        for e in db.session.scalars(select(TextEntry).filter_by(survey_id=survey.id))
    }


def _status(entry: TextEntry | None, source: TextEntry | None) -> str:
    if entry is None or not entry.value.strip():
        return MISSING
    if source is not None and entry.source_digest != digest(source.value):
        return OUTDATED
    return entry.status


def language_strings(survey: Survey, language: str) -> list[StringState]:
    entries = _entries(survey)
    result = []
    for spec in survey_strings(survey):
        source = entries.get((spec.key, survey.default_language))
        entry = entries.get((spec.key, language))
        if language == survey.default_language:
            status = (
                MISSING if entry is None or not entry.value.strip() else TranslationStatus.REVIEWED
            )
        else:
            status = _status(entry, source)
        result.append(
            StringState(spec, source.value if source else "", entry.value if entry else "", status)
        )
    return result


@dataclass
class LanguageReport:
    language: str
    total: int
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def name(self) -> str:
        return LANGUAGES[self.language].english_name

    @property
    def complete(self) -> int:
        """Texts present and translated from the current wording."""
        return self.total - self.counts[MISSING] - self.counts[OUTDATED]

    @property
    def percent(self) -> int:
        # Rounded down, so "100%" is never shown while a text is missing.
        return 100 * self.complete // self.total if self.total else 100

    @property
    def reviewed(self) -> int:
        return self.counts[TranslationStatus.REVIEWED]


def language_reports(survey: Survey) -> list[LanguageReport]:
    reports = []
    for language in survey.languages:
        states = language_strings(survey, language)
        reports.append(LanguageReport(language, len(states), Counter(s.status for s in states)))
    return reports


def missing_visible_strings(survey: Survey) -> dict[str, list[str]]:
    """Per offered language, the keys of texts residents would see that have
    no translation at all: these block opening. (Outdated and machine-drafted
    texts are shown in the report but do not block.)"""
    entries = _entries(survey)
    specs = survey_strings(survey)
    result: dict[str, list[str]] = {}
    for language in survey.languages:
        missing = [
            s.key
            for s in specs
            if not (entries.get((s.key, language)) and entries[(s.key, language)].value.strip())
        ]
        if missing:
            result[language] = missing
    return result


def _check_language(survey: Survey, language: str) -> None:
    if language not in survey.languages:
        raise ServiceError(f"This survey is not offered in {language!r}", field="language")


def placeholders(text: str) -> Counter[str]:
    return Counter(PLACEHOLDER.findall(text or ""))


def _placeholder_problem(source: str, value: str) -> str | None:
    want, got = placeholders(source), placeholders(value)
    if want == got:
        return None
    lost = sorted((want - got).elements())
    extra = sorted((got - want).elements())
    parts = []
    if lost:
        parts.append(f"{', '.join(lost)} from the English is missing")
    if extra:
        parts.append(f"{', '.join(extra)} is not in the English")
    return "placeholder " + " and ".join(parts) + " (copy placeholders exactly as they are)"


def edit_translation(
    survey: Survey,
    key: str,
    language: str,
    value: str,
    *,
    reviewed: bool = False,
    by: User | None = None,
) -> None:
    _check_language(survey, language)
    if language == survey.default_language:
        raise ServiceError("Edit the default-language wording in the builder", field="value")
    spec = next((s for s in survey_strings(survey) if s.key == key), None)
    if spec is None:
        raise ServiceError(f"{key!r} is not a text of this survey", field="value")
    value = (value or "").strip()
    if not value:
        raise ServiceError("Enter the translation", field="value")
    if len(value) > spec.max_length:
        raise ServiceError(
            f"The translation is {len(value)} characters long; the most is {spec.max_length}",
            field="value",
        )
    entries = _entries(survey)
    source = entries.get((key, survey.default_language))
    problem = _placeholder_problem(source.value if source else "", value)
    if problem:
        raise ServiceError(problem[0].upper() + problem[1:], field="value")
    _write(
        survey,
        key,
        language,
        value,
        TranslationStatus.REVIEWED if reviewed else TranslationStatus.DRAFT,
        source,
        entries,
    )
    record(
        "translation_edited",
        partnership_id=survey.partnership_id,
        user_id=by.id if by else None,
        target=f"survey:{survey.id}:{key}",
        details={"language": language, "reviewed": reviewed},
    )


def _write(
    survey: Survey,
    key: str,
    language: str,
    value: str,
    status: str,
    source: TextEntry | None,
    entries: dict[tuple[str, str], TextEntry],
) -> None:
    entry = entries.get((key, language))
    if entry is None:
        entry = TextEntry(survey_id=survey.id, key=key, language=language, value=value)
        db.session.add(entry)
        entries[(key, language)] = entry
    entry.value = value
    entry.status = status
    # The translation now answers to the current wording.
    entry.source_digest = digest(source.value) if source else None


def mark_reviewed(
    survey: Survey, language: str, keys: list[str] | None = None, *, by: User | None = None
) -> int:
    """A reviewer confirms translations (all present ones, or `keys`) fit the
    current wording. Missing texts cannot be marked."""
    _check_language(survey, language)
    entries = _entries(survey)
    wanted = set(keys) if keys is not None else None
    count = 0
    for state in language_strings(survey, language):
        if wanted is not None and state.spec.key not in wanted:
            continue
        if state.status in (MISSING, TranslationStatus.REVIEWED):
            continue
        entry = entries[(state.spec.key, language)]
        source = entries.get((state.spec.key, survey.default_language))
        entry.status = TranslationStatus.REVIEWED
        entry.source_digest = digest(source.value) if source else None
        count += 1
    if count:
        record(
            "translations_reviewed",
            partnership_id=survey.partnership_id,
            user_id=by.id if by else None,
            target=f"survey:{survey.id}",
            details={"language": language, "texts": count},
        )
    return count


# --- spreadsheet round trip --------------------------------------------------


def label_column(language: str) -> str:
    return f"label::{LANGUAGES[language].column_label}"


def safe_cell(cell, value: object) -> None:  # type: ignore[no-untyped-def]
    """Write a value that a spreadsheet must never run as a formula."""
    cell.value = value
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        cell.data_type = "s"


def export_xlsx(
    survey: Survey, languages: list[str] | None = None, *, by: User | None = None
) -> bytes:
    """The survey's texts as a spreadsheet for translators, one column per
    language; the download is audited, as every copy of the texts that leaves
    the service."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    languages = [code for code in (languages or survey.languages) if code in survey.languages]
    others = [code for code in languages if code != survey.default_language]
    columns = [survey.default_language, *others]
    entries = _entries(survey)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "translations"
    header = ["key", "type", *(label_column(code) for code in columns)]
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for spec in survey_strings(survey):
        row = sheet.max_row + 1
        values = [spec.key, spec.type]
        for code in columns:
            entry = entries.get((spec.key, code))
            values.append(entry.value if entry else "")
        for column, value in enumerate(values, start=1):
            safe_cell(sheet.cell(row=row, column=column), value)
    sheet.freeze_panes = "C2"
    sheet.column_dimensions["A"].width = 32
    for index in range(3, 3 + len(columns)):
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = 50
    notes = workbook.create_sheet("how_to_translate")
    for line in (
        [
            "Fill in the label:: column of your language. Do not change the key, type or "
            f"{LANGUAGES[survey.default_language].english_name} columns."
        ],
        ["Copy placeholders such as {name} or %(count)s exactly as they are."],
        ["Leave a cell empty if you have not translated it yet."],
    ):
        notes.append(line)
    buffer = io.BytesIO()
    workbook.save(buffer)
    record(
        "translations_exported",
        partnership_id=survey.partnership_id,
        user_id=by.id if by else None,
        target=f"survey:{survey.id}",
        details={"languages": languages},
    )
    return buffer.getvalue()


class TranslationFileError(ServiceError):
    """Every problem in an uploaded translation file, each with its row."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            f"The translation file has {counted(len(problems), 'problem', 'problems')}; "
            "nothing was saved"
        )
        self.problems = problems


@dataclass
class ImportResult:
    changed: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.changed.values())


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def read_sheet_rows(
    content: bytes, preferred: tuple[str, ...], *, max_rows: int = MAX_IMPORT_ROWS + 1
) -> tuple[str, list[list[object]]]:
    """The rows of the first sheet named in `preferred` (else the first),
    read by the safe reader: a file over the limits is refused, not read."""
    try:
        book = read_xlsx(content, preferred, max_rows=max_rows, one_of=True)
    except SpreadsheetError as error:
        raise TranslationFileError(error.problems) from None
    chosen = next(iter(book.sheets))
    name = next(n for n in book.sheet_names if n.lower() == chosen)
    return name, book.sheets[chosen]


def _language_named(text: str) -> str | None:
    """The code of the language a column heading names without the label::
    form ("Polish", "polski", "pl"), or None."""
    words = text.strip().lower()
    for code, language in LANGUAGES.items():
        if words in (code, language.english_name.lower(), language.native_name.lower()):
            return code
    return None


def _unmatched_columns(
    survey: Survey, header: list[str], language_cols: dict[int, str]
) -> list[str]:
    """Refuse a file whose translations would be silently ignored: one with no
    translation column the survey offers (a renamed "Polish" column once
    imported as "Success: 0 translations"), or with a column named after a
    language but not in the label:: form."""
    expected = [label_column(c) for c in survey.languages if c != survey.default_language]
    wanted = ", ".join(f"“{c}”" for c in expected) or "none (the survey offers one language)"
    problems = []
    for name in header:
        if name.lower().startswith("label::") or name in ("key", "type"):
            continue
        code = _language_named(name) if name else None
        if code is not None:
            problems.append(
                f"row 1: column {name!r} is not a translation column; name it "
                f"“{label_column(code)}” (the columns expected are {wanted})"
            )
    if not any(code != survey.default_language for code in language_cols.values()):
        found = ", ".join(f"“{n}”" for n in header if n) or "none"
        problems.append(
            f"row 1: no column holds a translation this survey offers, so nothing would be "
            f"imported. The columns expected are {wanted}; the file has {found}."
        )
    return problems


def import_xlsx(
    survey: Survey, content: bytes, *, reviewed: bool = False, by: User | None = None
) -> ImportResult:
    """Read a translator's spreadsheet back. Every row is checked first; one
    problem anywhere means nothing is saved."""
    _sheet, rows = read_sheet_rows(content, ("translations", "survey"))
    if not rows:
        raise TranslationFileError(["the sheet is empty"])
    header = [_cell_text(c) for c in rows[0]]
    problems: list[str] = []
    if "key" not in header:
        raise TranslationFileError(["row 1: there is no “key” column"])
    key_col = header.index("key")
    language_cols: dict[int, str] = {}
    for index, name in enumerate(header):
        if not name.lower().startswith("label::"):
            continue
        match = LABEL_COLUMN.match(name)
        code = match.group(1).lower() if match else None
        if code is None or code not in LANGUAGES:
            problems.append(
                f"row 1: column {name!r} does not name a language like “label::Urdu (ur)”"
            )
        elif code not in survey.languages:
            problems.append(
                f"row 1: column {name!r} is for {LANGUAGES[code].english_name}, which this "
                "survey does not offer (add the language in the survey's settings first)"
            )
        elif code in language_cols.values():
            problems.append(f"row 1: there are two columns for {LANGUAGES[code].english_name}")
        else:
            language_cols[index] = code
    problems.extend(_unmatched_columns(survey, header, language_cols))
    if problems:
        raise TranslationFileError(problems)
    if len(rows) > MAX_IMPORT_ROWS + 1:
        raise TranslationFileError([f"the file has more than {MAX_IMPORT_ROWS} rows"])

    specs = {s.key: s for s in survey_strings(survey)}
    entries = _entries(survey)
    seen: dict[str, int] = {}
    planned: list[tuple[str, str, str, bool]] = []
    for number, raw in enumerate(rows[1:], start=2):
        cells = [_cell_text(c) for c in raw] + [""] * (len(header) - len(raw))
        key = cells[key_col]
        labels = {code: cells[index] for index, code in language_cols.items()}
        if not key:
            if any(labels.values()):
                problems.append(f"row {number}: the key is empty, so the texts cannot be matched")
            continue
        if key in seen:
            problems.append(f"row {number}: {key} is also on row {seen[key]}")
            continue
        seen[key] = number
        spec = specs.get(key)
        if spec is None:
            problems.append(f"row {number}: unknown key {key!r}: it is not a text of this survey")
            continue
        source_entry = entries.get((key, survey.default_language))
        source = source_entry.value if source_entry else ""
        for code, value in labels.items():
            name = LANGUAGES[code].english_name
            if code == survey.default_language:
                if value and " ".join(value.split()) != " ".join(source.split()):
                    problems.append(
                        f"row {number}: the {name} text of {key} is not the survey's current "
                        f"{name} (it has changed since the export, or was edited in the file): "
                        "export again, or change the wording in the builder"
                    )
                continue
            if not value:
                continue
            problem = translation_problem(spec, code, source, value)
            if problem:
                problems.append(f"row {number}: {problem}")
                continue
            planned.append((key, code, value, reviewed))
    if problems:
        raise TranslationFileError(problems)
    return apply_import(survey, planned, by=by, details={"reviewed": reviewed})


def translation_problem(spec: StringSpec, language: str, source: str, value: str) -> str | None:
    """What is wrong with `value` as the `language` text of `spec` (too long,
    placeholders not those of the source), or None. Shared by every import."""
    name = LANGUAGES[language].english_name
    if len(value) > spec.max_length:
        return (
            f"the {name} text of {spec.key} is {len(value)} characters long; "
            f"the most is {spec.max_length}"
        )
    problem = _placeholder_problem(source, value)
    if problem:
        return f"{name} text of {spec.key}: {problem}"
    return None


def apply_import(
    survey: Survey,
    planned: list[tuple[str, str, str, bool]],
    *,
    by: User | None = None,
    details: dict[str, object] | None = None,
) -> ImportResult:
    """Save checked (key, language, value, reviewed) texts. An unchanged text
    keeps its status unless it is now marked reviewed."""
    entries = _entries(survey)
    result = ImportResult()
    for key, code, value, reviewed in planned:
        existing = entries.get((key, code))
        if existing is not None and existing.value == value:
            if not reviewed:
                continue
            if (
                existing.status == TranslationStatus.REVIEWED
                and _status(existing, entries.get((key, survey.default_language))) != OUTDATED
            ):
                continue
        status = TranslationStatus.REVIEWED if reviewed else TranslationStatus.DRAFT
        _write(
            survey, key, code, value, status, entries.get((key, survey.default_language)), entries
        )
        result.changed[code] += 1
    db.session.flush()
    record(
        "translations_imported",
        partnership_id=survey.partnership_id,
        user_id=by.id if by else None,
        target=f"survey:{survey.id}",
        details={"texts": result.total, "languages": dict(result.changed), **(details or {})},
    )
    return result
