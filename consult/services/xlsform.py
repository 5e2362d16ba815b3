"""Questionnaires in and out as XLSForm, the spreadsheet format of
KoboToolbox, ODK and SurveyCTO: a `survey` sheet (type, name, label::Lang
(code), hint::…, required, relevant), a `choices` sheet (list_name, name,
label::…) and a `settings` sheet.

consult's own types travel in an extra `consult_type` column (ODK ignores
unknown columns), so a rating scale, an area list or a grid comes back as
itself. Anything consult cannot express — notes, calculations, repeats,
metadata, conditions it cannot read — is reported row by row, never dropped
without a word."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any

from ..extensions import db
from ..i18n import LANGUAGES
from ..models import OptionKind, Partnership, Question, QuestionType, Survey, User
from ..vocabulary import SECTION_KINDS
from ..wording import counted
from . import ServiceError
from .answers import format_number
from .audit import record
from .builder import validate_condition
from .content import (
    SurveyTexts,
    constraint_key,
    hint_key,
    item_key,
    option_key,
    privacy_key,
    prompt_key,
    section_title_key,
    set_texts,
    survey_intro_key,
    survey_title_key,
)
from .path import ordered_questions
from .spreadsheets import SpreadsheetError, read_xlsx
from .surveys import KEY_PATTERN, add_question, add_section, create_survey
from .translation import safe_cell

SELECT_TYPES = {
    QuestionType.SINGLE: "select_one",
    QuestionType.SCALE: "select_one",
    QuestionType.AREA: "select_one",
    QuestionType.MULTIPLE: "select_multiple",
    QuestionType.RANKING: "rank",
}
METADATA = {
    "start",
    "end",
    "today",
    "deviceid",
    "subscriberid",
    "simserial",
    "phonenumber",
    "username",
    "email",
    "audit",
    "start-geopoint",
}
MAX_ROWS = 2000
# Columns of each sheet that the import reads (besides label::, hint:: and
# constraint_message:: in any language); any other column that holds a value
# is listed back to the officer, never dropped without a word.
SURVEY_COLUMNS = frozenset(
    {
        "type",
        "name",
        "required",
        "relevant",
        "constraint",
        "choice_filter",
        "parameters",
        "consult_type",
        "consult_demographic",
    }
)
CHOICE_COLUMNS = frozenset({"list_name", "name", "consult_flags", "consult_benchmark_category"})
SETTINGS_COLUMNS = frozenset({"form_title", "form_id", "default_language", "version"})
YES = ("yes", "true", "true()", "1")
NO = ("", "no", "false", "false()", "0")
CONSTRAINT_TERM = re.compile(r"^(string-length\(\s*\.\s*\)|\.)\s*(>=|<=|>|<)\s*(-?\d+(?:\.\d+)?)$")
CHOICE_FILTER = re.compile(r"^(\w+)\s*(=|!=)\s*'([^']*)'$")


class XLSFormError(ServiceError):
    """Problems that stop the import; nothing is saved."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            f"The XLSForm has {counted(len(problems), 'problem', 'problems')}; nothing was imported"
        )
        self.problems = problems


# --- export -------------------------------------------------------------------


def _lang_column(prefix: str, code: str) -> str:
    return f"{prefix}::{LANGUAGES[code].column_label}"


def to_relevant(condition: Any, types: dict[str, str]) -> str:
    """An XLSForm `relevant` expression for a show_if condition."""
    if not condition:
        return ""
    for combinator, joiner in (("all", " and "), ("any", " or ")):
        if combinator in condition:
            parts = [to_relevant(p, types) for p in condition[combinator] or []]
            return "(" + joiner.join(parts) + ")" if len(parts) > 1 else (parts[0] if parts else "")
    if "not" in condition:
        return f"not({to_relevant(condition['not'], types)})"
    key = condition.get("question", "")
    ref = "${" + key + "}"
    many = types.get(key) in (QuestionType.MULTIPLE, QuestionType.RANKING)
    if "in" in condition:
        terms = [f"selected({ref}, '{c}')" if many else f"{ref} = '{c}'" for c in condition["in"]]
        return " or ".join(terms)
    if "not_in" in condition:
        terms = [
            f"not(selected({ref}, '{c}'))" if many else f"{ref} != '{c}'"
            for c in condition["not_in"]
        ]
        return f"{ref} != '' and " + " and ".join(terms)
    if "answered" in condition:
        return f"{ref} != ''" if condition["answered"] else f"{ref} = ''"
    for name, sign in (("gt", ">"), ("gte", ">="), ("lt", "<"), ("lte", "<=")):
        if name in condition:
            return f"{ref} {sign} {condition[name]}"
    return ""


def _parameters(question: Question) -> str:
    settings = question.settings or {}
    names = ("top_n", "max_choices", "max_length", "min", "max", "places")
    return " ".join(f"{n}={settings[n]}" for n in names if n in settings)


def export_xlsform(survey: Survey, *, by: User | None = None) -> bytes:
    """The questionnaire as an XLSForm workbook; the download is audited."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    texts = SurveyTexts(survey)
    languages = survey.languages

    def label(key: str, lang: str) -> str:
        return texts._values.get(
            (key, lang), ""
        )  # no fallback: an empty cell means "not translated"

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "survey"
    header = (
        ["type", "name"]
        + [_lang_column("label", c) for c in languages]
        + [_lang_column("hint", c) for c in languages]
        + ["required", "relevant", "parameters", "consult_type", "consult_demographic"]
    )
    # Constraint messages travel with a constraint expression of the range or
    # length they are about; the columns appear only when a survey has them.
    constrained = {
        q.key: _constraint_expression(q)
        for q in survey.questions
        if _constraint_expression(q) and any(label(constraint_key(q.key), c) for c in languages)
    }
    if constrained:
        header += ["constraint"] + [_lang_column("constraint_message", c) for c in languages]
    rows: list[list[Any]] = []
    choices: list[list[Any]] = []
    types = {q.key: q.type for q in survey.questions}
    sections = {s.id: s for s in survey.sections}
    current = None
    for question in ordered_questions(survey.questions):
        if question.section_id != current:
            if current is not None:
                rows.append(["end_group", sections[current].key])
            current = question.section_id
            if current is not None:
                key = section_title_key(sections[current].key)
                rows.append(
                    [
                        "begin_group",
                        sections[current].key,
                        *[label(key, c) for c in languages],
                        *[""] * len(languages),
                        "",
                        "",
                        "",
                        f"section:{sections[current].kind}",
                        "",
                    ]
                )
        prompt = [label(prompt_key(question.key), c) for c in languages]
        hint = [label(hint_key(question.key), c) for c in languages]
        required = "yes" if question.required else ""
        relevant = to_relevant(question.show_if, types)
        if question.type == QuestionType.GRID:
            rows.append(["begin_group", question.key, *prompt, *hint, "", relevant, "", "grid", ""])
            for item in question.items:
                rows.append(
                    [
                        f"select_one {question.key}",
                        item.code,
                        *[label(item_key(question.key, item.code), c) for c in languages],
                        *[""] * len(languages),
                        required,
                        "",
                        "",
                        "grid_item",
                        "",
                    ]
                )
            rows.append(["end_group", question.key])
        else:
            if question.type in SELECT_TYPES:
                type_ = f"{SELECT_TYPES[QuestionType(question.type)]} {question.key}"
            elif question.type == QuestionType.NUMBER:
                type_ = "integer" if not _decimal(question) else "decimal"
            elif question.type == QuestionType.DECIMAL:
                type_ = "decimal"
            elif question.type == QuestionType.DATE:
                type_ = "date"
            else:
                type_ = "text"
            consult_type = (
                question.type if question.type in (QuestionType.SCALE, QuestionType.AREA) else ""
            )
            rows.append(
                [
                    type_,
                    question.key,
                    *prompt,
                    *hint,
                    required,
                    relevant,
                    _parameters(question),
                    consult_type,
                    question.demographic or "",
                    *(
                        [
                            constrained[question.key],
                            *[label(constraint_key(question.key), c) for c in languages],
                        ]
                        if question.key in constrained
                        else []
                    ),
                ]
            )
        for option in question.choices:
            flags = " ".join(
                f
                for f, on in (("exclusive", option.exclusive), ("missing", option.is_missing))
                if on
            )
            choices.append(
                [
                    question.key,
                    option.code,
                    *[label(option_key(question.key, option.code), c) for c in languages],
                    flags,
                    option.benchmark_category or "",
                ]
            )
    if current is not None:
        rows.append(["end_group", sections[current].key])
    sheet.append(header)
    for row in rows:
        sheet.append([None] * len(header))
        for column, value in enumerate(row, start=1):
            safe_cell(sheet.cell(row=sheet.max_row, column=column), value)
    choice_sheet = workbook.create_sheet("choices")
    choice_sheet.append(
        [
            "list_name",
            "name",
            *[_lang_column("label", c) for c in languages],
            "consult_flags",
            "consult_benchmark_category",
        ]
    )
    for row in choices:
        choice_sheet.append([None] * len(row))
        for column, value in enumerate(row, start=1):
            safe_cell(choice_sheet.cell(row=choice_sheet.max_row, column=column), value)
    settings = workbook.create_sheet("settings")
    # Survey-wide texts travel on the settings sheet, one column per language.
    wide = [
        ("title", survey_title_key()),
        ("intro", survey_intro_key()),
        ("privacy", privacy_key()),
    ]
    wide = [(name, key) for name, key in wide if any(label(key, c) for c in languages)]
    settings.append(
        ["form_title", "form_id", "default_language", "version"]
        + [_lang_column(name, c) for name, _key in wide for c in languages]
    )
    settings_row = [
        label(survey_title_key(), survey.default_language),
        survey.slug,
        LANGUAGES[survey.default_language].column_label,
        f"wave{survey.wave}",
    ] + [label(key, c) for _name, key in wide for c in languages]
    settings.append([None] * len(settings_row))
    for column, value in enumerate(settings_row, start=1):
        safe_cell(settings.cell(row=2, column=column), value)
    for ws in (sheet, choice_sheet, settings):
        for cell in ws[1]:
            cell.font = Font(bold=True)
    buffer = io.BytesIO()
    workbook.save(buffer)
    record(
        "xlsform_exported",
        partnership_id=survey.partnership_id,
        user_id=by.id if by else None,
        target=f"survey:{survey.id}",
    )
    return buffer.getvalue()


def _constraint_expression(question: Question) -> str:
    """The XLSForm constraint for a question's range or length ("" if none)."""
    settings = question.settings or {}
    if question.type in (QuestionType.NUMBER, QuestionType.DECIMAL):
        terms = [
            f". {sign} {format_number(float(settings[name]))}"
            for name, sign in (("min", ">="), ("max", "<="))
            if settings.get(name) not in (None, "")
        ]
        return " and ".join(terms)
    if question.type == QuestionType.TEXT and settings.get("max_length"):
        return f"string-length(.) <= {int(settings['max_length'])}"
    return ""


def _decimal(question: Question) -> bool:
    settings = question.settings or {}
    return any(
        isinstance(settings.get(k), float) and not float(settings[k]).is_integer()
        for k in ("min", "max")
    )


# --- import -------------------------------------------------------------------


LANG_HEADER = re.compile(
    r"^(label|hint|constraint_message)(?:::\s*(.*?)\s*(?:\(\s*([A-Za-z-]+)\s*\))?)?$", re.IGNORECASE
)
TERM_SELECTED = re.compile(r"^selected\(\s*\$\{(\w+)\}\s*,\s*'([^']*)'\s*\)$")
TERM_EQUALS = re.compile(r"^\$\{(\w+)\}\s*=\s*'([^']*)'$")
TERM_COMPARE = re.compile(r"^\$\{(\w+)\}\s*(>=|<=|>|<)\s*(-?\d+(?:\.\d+)?)$")
TERM_ANSWERED = re.compile(r"^\$\{(\w+)\}\s*!=\s*''$")


def parse_relevant(expression: str) -> dict[str, Any] | None:
    """The conditions consult can express: terms joined all by `or` or all by
    `and`, each `selected(${q}, 'c')`, `${q} = 'c'`, `${q} != ''` or
    `${q} > 16`. Returns None for anything else (reported by the caller)."""
    text = " ".join((expression or "").split())
    if (
        text.startswith("(")
        and text.endswith(")")
        and text.count("(") == 1 + text.count("selected(")
    ):
        text = text[1:-1].strip()
    has_or, has_and = " or " in text, " and " in text
    if has_or and has_and:
        return None
    joiner = " or " if has_or else " and "
    leaves = []
    for term in (t.strip() for t in text.split(joiner)):
        if m := TERM_SELECTED.match(term) or TERM_EQUALS.match(term):
            leaves.append({"question": m.group(1), "in": [m.group(2)]})
        elif m := TERM_COMPARE.match(term):
            name = {">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}[m.group(2)]
            number = float(m.group(3))
            leaves.append(
                {"question": m.group(1), name: int(number) if number.is_integer() else number}
            )
        elif m := TERM_ANSWERED.match(term):
            leaves.append({"question": m.group(1), "answered": True})
        else:
            return None
    if not leaves:
        return None
    if (
        has_or
        and all("in" in leaf for leaf in leaves)
        and len({leaf["question"] for leaf in leaves}) == 1
    ):
        return {"question": leaves[0]["question"], "in": [c for leaf in leaves for c in leaf["in"]]}
    if len(leaves) == 1:
        return leaves[0]
    return {"any" if has_or else "all": leaves}


@dataclass
class ImportResult:
    survey: Survey
    notes: list[str] = field(default_factory=list)


def _columns(header: list[str]) -> tuple[dict[str, int], dict[str, dict[str, int]], list[str]]:
    """Plain columns by name, and label/hint columns by language code."""
    plain: dict[str, int] = {}
    localised: dict[str, dict[str, int]] = {"label": {}, "hint": {}, "constraint_message": {}}
    notes = []
    for index, raw in enumerate(header):
        name = (raw or "").strip()
        match = LANG_HEADER.match(name)
        if match:
            kind = match.group(1).lower()
            code = (match.group(3) or "").lower()
            if "::" not in name:
                code = "en"
            elif not code:
                language = (match.group(2) or "").lower()
                code = next(
                    (c for c, lang in LANGUAGES.items() if lang.english_name.lower() == language),
                    "",
                )
            if code not in LANGUAGES:
                notes.append(
                    f"row 1: column {name!r} is in a language consult does not offer; it was not imported"
                )
                continue
            localised[kind][code] = index
        elif name:
            plain[name.lower()] = index
    return plain, localised, notes


def _cell(row: list[Any], index: int | None) -> str:
    if index is None or index >= len(row) or row[index] is None:
        return ""
    value = row[index]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _unread_columns(
    sheet: str, header: list[str], rows: list[list[Any]], read: set[int]
) -> list[str]:
    """A note for every column the import did not read that holds a value."""
    notes = []
    for index, name in enumerate(header):
        if index in read or not name:
            continue
        used = [n for n, row in enumerate(rows[1:], start=2) if _cell(row, index)]
        if used:
            shown = ", ".join(map(str, used[:10])) + (" …" if len(used) > 10 else "")
            notes.append(
                f"{sheet} sheet, column {name!r} (rows {shown}): consult does not support "
                "this column; its values were not imported"
            )
    return notes


def parse_constraint(expression: str, question_type: str) -> dict[str, Any] | None:
    """Settings for a numeric range or a text length: `. >= 0 and . <= 120`,
    `string-length(.) <= 200`. None for anything else (reported)."""
    text = " ".join((expression or "").split())
    if text.startswith("(") and text.endswith(")") and text.count("(") == 1:
        text = text[1:-1].strip()
    settings: dict[str, Any] = {}
    for term in text.split(" and "):
        match = CONSTRAINT_TERM.match(term.strip())
        if match is None:
            return None
        subject, sign, raw = match.groups()
        number = float(raw)
        if subject == ".":
            if question_type == QuestionType.DECIMAL:
                # A decimal's bounds are inclusive: a strict "> 0" has no
                # inclusive equivalent, so it is reported, not approximated.
                if sign in (">", "<"):
                    return None
                settings["min" if sign.startswith(">") else "max"] = number
                continue
            if question_type != QuestionType.NUMBER:
                return None
            if sign in (">", "<"):
                # Whole numbers only: "> 0" is ">= 1".
                if not number.is_integer():
                    return None
                number += 1 if sign == ">" else -1
            settings["min" if sign.startswith(">") else "max"] = number
        else:
            if (
                question_type != QuestionType.TEXT
                or sign.startswith(">")
                or not number.is_integer()
            ):
                return None
            settings["max_length"] = int(number) - (1 if sign == "<" else 0)
    return settings or None


def _code(raw: str) -> str | None:
    code = raw.strip().lower().replace("-", "_").replace(" ", "_")
    if code and code[0].isdigit():
        code = f"c{code}"
    return code if KEY_PATTERN.match(code) else None


def read_xlsform(content: bytes) -> tuple[list[list[Any]], list[list[Any]], list[list[Any]]]:
    """The rows of the survey, choices and settings sheets (the last two
    empty when the workbook has none). Only reads the file: every rule about
    what the rows mean is in `import_xlsform`."""
    try:
        book = read_xlsx(
            content,
            ("survey", "choices", "settings"),
            # A row past the limit stops the reading (the safe reader never
            # trusts the sheet's declared size); choices may be long lists.
            max_rows={"survey": MAX_ROWS, "choices": MAX_ROWS * 10, "settings": 100},
        )
    except SpreadsheetError as error:
        raise XLSFormError(error.problems) from None
    if "survey" not in book.sheets:
        raise XLSFormError(["there is no “survey” sheet"])
    rows = book.sheets["survey"]
    choice_rows = book.sheets.get("choices", [])
    setting_rows = book.sheets.get("settings", [])
    return rows, choice_rows, setting_rows


def import_xlsform(
    partnership: Partnership,
    content: bytes,
    *,
    slug: str,
    audience: str = "residents",
    by: User | None = None,
) -> ImportResult:
    rows, choice_rows, setting_rows = read_xlsform(content)
    if not rows:
        raise XLSFormError(["the survey sheet is empty"])
    if len(rows) > MAX_ROWS:
        raise XLSFormError([f"the survey sheet has more than {MAX_ROWS} rows"])
    header = [_cell(rows[0], i) for i in range(len(rows[0]))]
    plain, localised, notes = _columns(header)
    problems = [f"row 1: there is no “{c}” column" for c in ("type", "name") if c not in plain]
    if not localised["label"]:
        problems.append("row 1: there is no label column (label, or label::English (en) …)")
    if problems:
        raise XLSFormError(problems)
    languages = list(localised["label"])
    read = {i for name, i in plain.items() if name in SURVEY_COLUMNS}
    read |= {i for i, name in enumerate(header) if LANG_HEADER.match(name)}
    notes += _unread_columns("survey", header, rows, read)

    # Settings: title and default language.
    settings: dict[str, str] = {}
    if len(setting_rows) >= 2:
        settings = {
            _cell(setting_rows[0], i).lower(): _cell(setting_rows[1], i)
            for i in range(len(setting_rows[0]))
        }
    if len(setting_rows) >= 2:
        s_header = [_cell(setting_rows[0], i) for i in range(len(setting_rows[0]))]
        s_read = {
            i
            for i, name in enumerate(s_header)
            if name.lower() in SETTINGS_COLUMNS
            or re.match(r"^(title|intro|privacy)::", name.lower())
        }
        notes += _unread_columns("settings", s_header, setting_rows[:2], s_read)
    default = "en"
    match = re.search(r"\(([A-Za-z-]+)\)", settings.get("default_language", ""))
    if match and match.group(1).lower() in languages:
        default = match.group(1).lower()
    elif "en" not in languages:
        default = languages[0]

    # Choices by list name.
    lists: dict[str, list[dict[str, Any]]] = {}
    if choice_rows:
        c_header = [_cell(choice_rows[0], i) for i in range(len(choice_rows[0]))]
        c_plain, c_local, c_notes = _columns(c_header)
        notes += [n.replace("row 1", "choices row 1") for n in c_notes]
        filter_columns = {
            m.group(1).lower()
            for row in rows[1:]
            if (m := CHOICE_FILTER.match(_cell(row, plain.get("choice_filter"))))
        }
        c_read = {i for name, i in c_plain.items() if name in CHOICE_COLUMNS | filter_columns}
        c_read |= {i for i, name in enumerate(c_header) if LANG_HEADER.match(name)}
        notes += _unread_columns("choices", c_header, choice_rows, c_read)
        for number, row in enumerate(choice_rows[1:], start=2):
            list_name, raw = _cell(row, c_plain.get("list_name")), _cell(row, c_plain.get("name"))
            if not list_name and not raw:
                continue
            code = _code(raw)
            if code is None:
                problems.append(
                    f"choices row {number}: the name {raw!r} cannot be used as an answer code"
                )
                continue
            if code != raw:
                notes.append(
                    f"choices row {number}: the name {raw!r} is stored as the code {code!r}"
                )
            entries = lists.setdefault(list_name, [])
            if any(e["code"] == code for e in entries):
                problems.append(f"choices row {number}: {list_name} has the name {raw!r} twice")
                continue
            flags = _cell(row, c_plain.get("consult_flags")).split()
            entries.append(
                {
                    "code": code,
                    "raw": raw,
                    "label": {
                        lang: _cell(row, i) for lang, i in c_local["label"].items() if _cell(row, i)
                    },
                    "exclusive": "exclusive" in flags,
                    "is_missing": "missing" in flags,
                    "benchmark_category": _cell(row, c_plain.get("consult_benchmark_category"))
                    or None,
                    "extra": {name: _cell(row, i) for name, i in c_plain.items()},
                }
            )

    def texts_of(row: list[Any], kind: str) -> dict[str, str]:
        return {lang: _cell(row, i) for lang, i in localised[kind].items() if _cell(row, i)}

    # Walk the survey sheet into sections and questions.
    planned_sections: list[dict[str, Any]] = []
    planned: list[dict[str, Any]] = []
    pending_notes: list[tuple[int, str, dict[str, str]]] = []
    stack: list[str] = []  # "section", "grid", "repeat", "group"
    grid: dict[str, Any] | None = None
    seen: set[str] = set()
    renamed: dict[str, str] = {}
    for number, row in enumerate(rows[1:], start=2):
        type_ = " ".join(_cell(row, plain.get("type")).split())
        name = _cell(row, plain.get("name"))
        consult_type = _cell(row, plain.get("consult_type"))
        if not type_:
            if name:
                problems.append(f"row {number}: {name} has no type")
            continue
        kind, _, list_name = type_.partition(" ")
        kind = kind.lower().replace("begin group", "begin_group")
        if type_.lower() in ("begin group", "begin_group"):
            kind = "begin_group"
        if type_.lower() in ("end group", "end_group"):
            kind = "end_group"
        if type_.lower() in ("begin repeat", "begin_repeat"):
            kind = "begin_repeat"
        if type_.lower() in ("end repeat", "end_repeat"):
            kind = "end_repeat"
        if "repeat" in stack and kind != "end_repeat":
            notes.append(
                f"row {number}: {name or type_} is inside a repeat, which consult does not support; not imported"
            )
            continue
        if kind == "begin_repeat":
            stack.append("repeat")
            notes.append(
                f"row {number}: repeats ({name}) are not supported; the rows inside were not imported"
            )
            continue
        if kind == "end_repeat":
            if stack and stack[-1] == "repeat":
                stack.pop()
            continue
        if kind == "begin_group":
            if consult_type == "grid":
                grid = {
                    "row": number,
                    "key": name,
                    "type": QuestionType.GRID,
                    "prompt": texts_of(row, "label"),
                    "hint": texts_of(row, "hint"),
                    "relevant": _cell(row, plain.get("relevant")),
                    "items": [],
                    "list": None,
                    "required": False,
                    "settings": {},
                    "demographic": None,
                    "section": planned_sections[-1]["key"]
                    if planned_sections and "section" in stack
                    else None,
                }
                for note_row, note_name, note_text in pending_notes:
                    for lang, value in note_text.items():
                        grid["hint"][lang] = (
                            f"{value}\n{grid['hint'][lang]}" if grid["hint"].get(lang) else value
                        )
                    notes.append(
                        f"row {note_row}: the note {note_name} is shown with the next question, "
                        f"{name}, as part of its hint"
                    )
                pending_notes.clear()
                stack.append("grid")
            elif "section" in stack:
                stack.append("group")
                notes.append(
                    f"row {number}: the group {name} is inside another group; its questions were kept in the outer section"
                )
            else:
                section_key = _code(name) or f"section_{len(planned_sections) + 1}"
                section_kind = (
                    consult_type.split(":", 1)[1]
                    if consult_type.startswith("section:")
                    else "standard"
                )
                planned_sections.append(
                    {
                        "key": section_key,
                        "title": texts_of(row, "label"),
                        "kind": section_kind if section_kind in SECTION_KINDS else "standard",
                    }
                )
                stack.append("section")
                if _cell(row, plain.get("relevant")):
                    notes.append(
                        f"row {number}: the condition on the group {name} is not supported; put conditions on its questions"
                    )
            continue
        if kind == "end_group":
            if not stack:
                problems.append(f"row {number}: end_group without a begin_group")
                continue
            closing = stack.pop()
            if closing == "grid" and grid is not None:
                planned.append(grid)
                grid = None
            continue
        if grid is not None:
            if kind != "select_one":
                notes.append(
                    f"row {number}: {name} inside the grid {grid['key']} is not a select_one; not imported"
                )
                continue
            grid["list"] = grid["list"] or list_name
            grid["items"].append({"code": _code(name) or name, "label": texts_of(row, "label")})
            grid["required"] = grid["required"] or _cell(row, plain.get("required")).lower() in (
                "yes",
                "true",
                "true()",
                "1",
            )
            continue
        if kind in METADATA:
            notes.append(
                f"row {number}: the metadata field {name or kind} was not imported (consult stores no device data)"
            )
            continue
        mapping = {
            "select_one": QuestionType.SINGLE,
            "select_multiple": QuestionType.MULTIPLE,
            "rank": QuestionType.RANKING,
            "text": QuestionType.TEXT,
            "integer": QuestionType.NUMBER,
            "decimal": QuestionType.DECIMAL,
            "date": QuestionType.DATE,
        }
        if kind == "note":
            # A note has no answer: its text is shown with the next question.
            pending_notes.append((number, name or "note", texts_of(row, "label")))
            continue
        if kind not in mapping:
            what = {
                "calculate": "calculations are not supported",
            }.get(kind, f"the type {type_!r} is not supported")
            notes.append(f"row {number}: {name or type_}: {what}; not imported")
            continue
        or_other = list_name.endswith(" or_other")
        if or_other:
            list_name = list_name[: -len(" or_other")].strip()
        key = _code(name)
        if key is None or key.startswith("resp_"):
            problems.append(f"row {number}: the name {name!r} cannot be used as a question key")
            continue
        if key != name:
            notes.append(f"row {number}: the name {name!r} is stored as the key {key!r}")
            renamed[name] = key
        if key in seen:
            problems.append(f"row {number}: the name {name!r} is used twice")
            continue
        seen.add(key)
        question_type = mapping[kind]
        if question_type == QuestionType.SINGLE and consult_type in (
            QuestionType.SCALE,
            QuestionType.AREA,
        ):
            question_type = QuestionType(consult_type)
        settings_values: dict[str, Any] = {}
        for part in _cell(row, plain.get("parameters")).split():
            name_, _, value = part.partition("=")
            if name_ in ("top_n", "max_choices", "max_length", "min", "max", "places"):
                try:
                    number_value = float(value)
                    settings_values[name_] = (
                        int(number_value)
                        if number_value.is_integer() and name_ not in ("min", "max")
                        else number_value
                    )
                except ValueError:
                    notes.append(f"row {number}: the parameter {part!r} is not a number; ignored")
            elif part:
                notes.append(f"row {number}: the parameter {part!r} is not supported; ignored")
        required_text = _cell(row, plain.get("required")).lower()
        if required_text not in YES + NO:
            notes.append(
                f"row {number}, column 'required': {required_text!r} is not yes or no; "
                f"{name} is optional"
            )
        constraint = _cell(row, plain.get("constraint"))
        messages = texts_of(row, "constraint_message")
        if constraint:
            parsed_constraint = parse_constraint(constraint, question_type)
            if parsed_constraint is None:
                notes.append(
                    f"row {number}, column 'constraint': {constraint!r} cannot be expressed in "
                    "consult (numeric ranges and text lengths can); not kept"
                    + ("; nor its constraint_message" if messages else "")
                )
                messages = {}
            else:
                settings_values.update(parsed_constraint)
        elif messages:
            notes.append(
                f"row {number}, column 'constraint_message': there is no constraint; not kept"
            )
            messages = {}
        choice_filter = " ".join(_cell(row, plain.get("choice_filter")).split())
        filtered: list[dict[str, Any]] | None = None
        if choice_filter:
            match = CHOICE_FILTER.match(choice_filter)
            listed = lists.get(list_name, [])
            if match is None or not listed:
                notes.append(
                    f"row {number}, column 'choice_filter': {choice_filter!r} is not a "
                    "comparison with a fixed value (like region = 'north'); every choice of "
                    "the list is offered"
                )
            elif match.group(1).lower() not in listed[0]["extra"]:
                notes.append(
                    f"row {number}, column 'choice_filter': the choices sheet has no column "
                    f"{match.group(1)!r}; every choice of the list is offered"
                )
            else:
                column, sign, value = match.group(1).lower(), match.group(2), match.group(3)
                filtered = [o for o in listed if (o["extra"].get(column) == value) == (sign == "=")]
                if not filtered:
                    problems.append(
                        f"row {number}, column 'choice_filter': no choice of {list_name} "
                        f"passes {choice_filter!r}"
                    )
                    continue
        prompt = texts_of(row, "label")
        if not prompt.get(default):
            problems.append(f"row {number}: {name} has no {LANGUAGES[default].english_name} label")
            continue
        hint = texts_of(row, "hint")
        for note_row, note_name, note_text in pending_notes:
            for lang, value in note_text.items():
                hint[lang] = f"{value}\n{hint[lang]}" if hint.get(lang) else value
            notes.append(
                f"row {note_row}: the note {note_name} is shown with the next question, "
                f"{key}, as part of its hint"
            )
        pending_notes.clear()
        planned.append(
            {
                "row": number,
                "key": key,
                "type": question_type,
                "prompt": prompt,
                "hint": hint,
                "constraint_message": messages,
                "options": filtered,
                "or_other": or_other,
                "required": required_text in YES,
                "relevant": _cell(row, plain.get("relevant")),
                "list": list_name or None,
                "settings": settings_values,
                "demographic": _cell(row, plain.get("consult_demographic")) or None,
                "section": planned_sections[-1]["key"]
                if planned_sections and "section" in stack
                else None,
            }
        )
    for entry in planned:
        if entry["list"] is not None and entry["list"] not in lists:
            problems.append(
                f"row {entry['row']}: the choice list {entry['list']!r} is not on the choices sheet"
            )
    if not planned and not problems:
        problems.append("the survey sheet has no questions consult can import")
    if problems:
        raise XLSFormError([_where(p) for p in problems])

    wide: dict[str, dict[str, str]] = {"title": {}, "intro": {}, "privacy": {}}
    for name, value in settings.items():
        found = re.match(r"^(title|intro|privacy)::.*\(([a-z-]+)\)$", name)
        if found and found.group(2) in languages and value:
            wide[found.group(1)][found.group(2)] = value
    for note_row, note_name, note_text in pending_notes:
        for lang, value in note_text.items():
            if lang in [default, *languages]:
                intro = wide["intro"].get(lang)
                wide["intro"][lang] = f"{intro}\n{value}" if intro else value
        notes.append(
            f"row {note_row}: the note {note_name} comes after the last question; it is shown "
            "in the survey's introduction"
        )
    title = wide["title"]
    title.setdefault(default, settings.get("form_title") or slug)
    survey = create_survey(
        partnership,
        slug=slug,
        title=title,
        audience=audience,
        languages=[default, *languages],
        default_language=default,
    )
    if wide["intro"]:
        set_texts(survey, survey_intro_key(), wide["intro"], new=True)
    if wide["privacy"]:
        set_texts(survey, privacy_key(), wide["privacy"], new=True)
    sections = {}
    for spec in planned_sections:
        sections[spec["key"]] = add_section(
            survey, spec["key"], spec["title"] or {default: spec["key"]}, kind=spec["kind"]
        )
    loose = [p for p in planned if p["section"] is None]
    if sections and loose:
        sections["questions"] = add_section(
            survey, "questions" if "questions" not in sections else "questions_2", dict(title)
        )
        for p in loose:
            p["section"] = "questions"
    # Raw choice names in conditions become the stored codes.
    for entry in planned:
        options = entry.get("options")
        if options is None:
            options = lists.get(entry["list"] or "", [])
        if entry.get("or_other") and not any(o["code"] == "other" for o in options):
            options = [*options, {"code": "other", "raw": "other", "label": {default: "Other"}}]
        question = add_question(
            survey,
            sections.get(entry["section"]) if entry["section"] else None,
            key=entry["key"],
            type=entry["type"],
            prompt=entry["prompt"],
            hint=entry["hint"] or None,
            options=[{k: v for k, v in o.items() if k not in ("raw", "extra")} for o in options],
            items=entry.get("items") or None,
            required=entry["required"],
            settings=entry["settings"],
            demographic=entry["demographic"]
            if entry["demographic"] and entry["type"] in (QuestionType.SINGLE, QuestionType.AREA)
            else None,
        )
        entry["question"] = question
        entry["codes"] = {o["raw"]: o["code"] for o in options}
        if entry.get("constraint_message"):
            set_texts(survey, constraint_key(entry["key"]), entry["constraint_message"], new=True)
        if entry.get("or_other"):
            other_key = f"{entry['key']}_other"
            add_question(
                survey,
                question.section,
                key=other_key,
                type=QuestionType.TEXT,
                prompt={default: "Please tell us what else"},
                show_if={"question": entry["key"], "in": ["other"]},
            )
            notes.append(
                f"row {entry['row']}: or_other became the answer 'other' and the text question "
                f"{other_key} after it (its wording is in {LANGUAGES[default].english_name} "
                "only: translate it)"
            )
    db.session.refresh(survey)
    order = ordered_questions(survey.questions)
    by_key = {q.key: q for q in order}
    position = {q.key: i for i, q in enumerate(order)}
    raw_codes = {e["key"]: e["codes"] for e in planned}
    for entry in planned:
        if not entry["relevant"]:
            continue
        condition = parse_relevant(entry["relevant"])
        if condition is None:
            notes.append(
                f"row {entry['row']}: the condition {entry['relevant']!r} cannot be expressed in consult; {entry['key']} is always shown"
            )
            continue
        _recode(condition, raw_codes, renamed)
        question = entry["question"]
        try:
            validate_condition(question, condition, by_key, position, position[question.key])
        except ServiceError as error:
            notes.append(
                f"row {entry['row']}: the condition {entry['relevant']!r} was not kept: {error.message}"
            )
            continue
        question.show_if = condition
    record(
        "xlsform_imported",
        partnership_id=partnership.id,
        user_id=by.id if by else None,
        target=f"survey:{survey.id}:{survey.slug}",
        details={"questions": len(planned), "notes": len(notes)},
    )
    db.session.flush()
    return ImportResult(survey, [_where(n) for n in notes])


def _where(message: str) -> str:
    """Every message names its sheet: "survey sheet, row 7: …"."""
    if message.startswith("row "):
        return "survey sheet, " + message
    if message.startswith("choices row "):
        return "choices sheet, " + message[len("choices ") :]
    return message


def _recode(
    condition: dict[str, Any], raw_codes: dict[str, dict[str, str]], renamed: dict[str, str]
) -> None:
    """Names and choice codes in a condition as they were stored."""
    for part in condition.get("any", []) + condition.get("all", []):
        _recode(part, raw_codes, renamed)
    if "question" in condition:
        condition["question"] = renamed.get(condition["question"], condition["question"])
    codes = raw_codes.get(condition.get("question", ""), {})
    if "in" in condition:
        condition["in"] = [codes.get(c, _code(c) or c) for c in condition["in"]]


__all__ = [
    "XLSFormError",
    "export_xlsform",
    "import_xlsform",
    "parse_relevant",
    "to_relevant",
    "OptionKind",
]
