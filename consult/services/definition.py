"""A survey's definition as a JSON document, and back.

The document holds everything that makes the questionnaire — settings,
sections, questions with their options and grid items, conditions,
demographic mappings and every text in every language with its translation
status — and nothing about responses. It is how a survey moves between
deployments (a partnership sharing its questionnaire with another, a restore
of one survey from a backup) and is readable by people:

    {"format": "consult-survey-definition", "version": 1,
     "survey": {"slug", "audience", "default_language", "languages",
                "resume_days", "requires_invitation"},
     "sections": [{"key", "kind"}],
     "questions": [{"key", "section", "type", "required", "show_if",
                    "demographic", "special_category", "settings", "bank_key",
                    "options": [{"kind", "code", "exclusive", "is_missing",
                                 "benchmark_category"}]}],
     "texts": [{"key", "language", "value", "status", "source_digest"}]}

Sections, questions and options are listed in questionnaire order.
Importing checks the whole document first and reports every problem it
finds; only a document without problems is stored, as a new draft survey
with the slug the officer chose — all of it or nothing."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import select

from ..extensions import db
from ..i18n import LANGUAGES
from ..models import (
    DEMOGRAPHIC_VARIABLES,
    NUMERIC_TYPES,
    Audience,
    Option,
    OptionKind,
    Partnership,
    Question,
    QuestionType,
    Section,
    Survey,
    SurveyStatus,
    TextEntry,
    TranslationStatus,
    User,
)
from ..vocabulary import SECTION_KINDS
from . import ServiceError, typed_answers
from .audit import record
from .path import ordered_questions

FORMAT = "consult-survey-definition"
VERSION = 1
MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
MAX_QUESTIONS = 500
MAX_OPTIONS = 300
MAX_TEXTS = 50_000
MAX_TEXT_LENGTH = 10_000
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_ISO_DATE = re.compile(r"^\d{4}-\d\d-\d\d$")
# Survey-wide texts (title, introduction, privacy notice, and any the product adds).
SURVEY_TEXT_PATTERN = re.compile(r"^survey\.[a-z][a-z0-9_]{0,60}$")
COMPARISONS = ("gt", "gte", "lt", "lte")


class DefinitionError(ServiceError):
    """Every problem found in a definition document."""

    def __init__(self, problems: list[str]) -> None:
        shown = "; ".join(problems[:5]) + (
            f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        )
        super().__init__("The survey definition cannot be imported: " + shown, field="file")
        self.problems = problems


# --------------------------------------------------------------------------- #
# Export
# --------------------------------------------------------------------------- #


def export_definition(survey: Survey) -> dict[str, Any]:
    sections = sorted(survey.sections, key=lambda s: (s.position, s.id))
    section_keys = {s.id: s.key for s in sections}
    questions = ordered_questions(survey.questions)
    texts = db.session.scalars(
        select(TextEntry).filter_by(survey_id=survey.id).order_by(TextEntry.key, TextEntry.language)
    ).all()
    return {
        "format": FORMAT,
        "version": VERSION,
        "survey": {
            "slug": survey.slug,
            "audience": survey.audience,
            "default_language": survey.default_language,
            "languages": survey.languages,
            "resume_days": survey.resume_days,
            "requires_invitation": survey.requires_invitation,
        },
        "sections": [{"key": s.key, "kind": s.kind} for s in sections],
        "questions": [
            {
                "key": q.key,
                "section": section_keys.get(q.section_id) if q.section_id else None,
                "type": q.type,
                "required": q.required,
                "show_if": q.show_if,
                "demographic": q.demographic,
                "special_category": q.special_category,
                "adults_only": q.adults_only,
                "settings": dict(q.settings or {}),
                "bank_key": q.bank_key,
                "options": [
                    {
                        "kind": o.kind,
                        "code": o.code,
                        "exclusive": o.exclusive,
                        "is_missing": o.is_missing,
                        "benchmark_category": o.benchmark_category,
                    }
                    for o in sorted(q.options, key=lambda o: (o.kind, o.position, o.id))
                ],
            }
            for q in questions
        ],
        "texts": [
            {
                "key": t.key,
                "language": t.language,
                "value": t.value,
                "status": t.status,
                "source_digest": t.source_digest,
            }
            for t in texts
        ],
    }


def export_definition_json(survey: Survey) -> str:
    return json.dumps(export_definition(survey), ensure_ascii=False, indent=2, sort_keys=False)


# --------------------------------------------------------------------------- #
# Import
# --------------------------------------------------------------------------- #


def parse_definition(content: str | bytes) -> dict[str, Any]:
    if isinstance(content, bytes):
        if len(content) > MAX_DOCUMENT_BYTES:
            raise DefinitionError([f"the file is larger than {MAX_DOCUMENT_BYTES // 1_000_000} MB"])
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DefinitionError(["the file is not UTF-8 text"]) from None
    try:
        document = json.loads(content)
    except (json.JSONDecodeError, RecursionError) as error:
        raise DefinitionError([f"the file is not valid JSON ({error})"]) from None
    if not isinstance(document, dict):
        raise DefinitionError(["the file is not a survey definition (expected a JSON object)"])
    return document


def _is_list_of_dicts(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) for v in value)


def _check_condition(
    condition: Any,
    where: str,
    earlier: dict[str, dict[str, Any]],
    problems: list[str],
    depth: int = 0,
) -> None:
    """The grammar `consult.services.path` evaluates, pointing only back."""
    if depth > 10:
        problems.append(f"{where}: the condition is nested too deeply")
        return
    if not isinstance(condition, dict) or not condition:
        problems.append(
            f'{where}: a condition must be an object such as {{"question": ..., "in": [...]}}'
        )
        return
    for combinator in ("all", "any"):
        if combinator in condition:
            parts = condition[combinator]
            if not isinstance(parts, list) or not parts:
                problems.append(f"{where}: '{combinator}' needs a list of conditions")
                return
            for part in parts:
                _check_condition(part, where, earlier, problems, depth + 1)
            return
    if "not" in condition:
        _check_condition(condition["not"], where, earlier, problems, depth + 1)
        return
    source = condition.get("question")
    if not isinstance(source, str) or source not in earlier:
        problems.append(
            f"{where}: the condition refers to {source!r}, which is not an earlier question"
        )
        return
    target = earlier[source]
    codes = {o["code"] for o in target.get("options", []) if o.get("kind", "choice") == "choice"}
    items = {o["code"] for o in target.get("options", []) if o.get("kind") == "item"}
    if "item" in condition and condition["item"] not in items:
        problems.append(f"{where}: {source} has no grid item {condition['item']!r}")
    if "answered" in condition:
        if not isinstance(condition["answered"], bool):
            problems.append(f"{where}: 'answered' must be true or false")
        return
    for name in ("in", "not_in"):
        if name in condition:
            wanted = condition[name]
            if (
                not isinstance(wanted, list)
                or not wanted
                or not all(isinstance(c, str) for c in wanted)
            ):
                problems.append(f"{where}: '{name}' needs a list of answer codes")
                return
            unknown = [c for c in wanted if c not in codes]
            if unknown:
                problems.append(f"{where}: {source} has no answer code(s) {', '.join(unknown)}")
            return
    for name in COMPARISONS:
        if name in condition:
            value = condition[name]
            if target.get("type") == QuestionType.DATE:
                if not isinstance(value, str) or not _ISO_DATE.match(value):
                    problems.append(f"{where}: '{name}' needs a date written YYYY-MM-DD")
            elif isinstance(value, bool) or not isinstance(value, int | float):
                problems.append(f"{where}: '{name}' needs a number")
            elif target.get("type") not in NUMERIC_TYPES:
                problems.append(
                    f"{where}: '{name}' compares numbers, but {source} is not a number question"
                )
            return
    problems.append(
        f"{where}: the condition on {source} says neither 'in', 'not_in', 'answered' nor a comparison"
    )


def definition_problems(document: dict[str, Any]) -> list[str]:
    """Every problem in a parsed document, in words an officer can act on."""
    problems: list[str] = []
    if document.get("format") != FORMAT:
        return [f"the file is not a consult survey definition (format should be {FORMAT!r})"]
    if document.get("version") != VERSION:
        return [
            f"definition version {document.get('version')!r} is not supported (this service reads {VERSION})"
        ]
    survey = document.get("survey")
    if not isinstance(survey, dict):
        return ["the definition has no 'survey' object"]
    for name in ("sections", "questions", "texts"):
        if not _is_list_of_dicts(document.get(name)):
            problems.append(f"'{name}' must be a list of objects")
    if problems:
        return problems

    default = survey.get("default_language")
    languages = survey.get("languages")
    if default not in LANGUAGES:
        problems.append(f"unknown default language {default!r}")
    if (
        not isinstance(languages, list)
        or not languages
        or not all(isinstance(c, str) for c in languages)
    ):
        problems.append("'languages' must be a list of language codes")
        languages = [default]
    else:
        unknown = [c for c in languages if c not in LANGUAGES]
        if unknown:
            problems.append(f"unknown language code(s): {', '.join(unknown)}")
        if default not in languages:
            problems.append("the default language is not among the survey's languages")
    if survey.get("audience", Audience.RESIDENTS) not in {a.value for a in Audience}:
        problems.append(f"unknown audience {survey.get('audience')!r}")
    resume_days = survey.get("resume_days", 28)
    if (
        isinstance(resume_days, bool)
        or not isinstance(resume_days, int)
        or not 1 <= resume_days <= 365
    ):
        problems.append("'resume_days' must be a whole number of days from 1 to 365")
    if not isinstance(survey.get("requires_invitation", False), bool):
        problems.append("'requires_invitation' must be true or false")

    section_keys: set[str] = set()
    for n, section in enumerate(document["sections"], start=1):
        key = section.get("key")
        if not isinstance(key, str) or not KEY_PATTERN.match(key):
            problems.append(
                f"section {n}: key {key!r} must be lowercase letters, numbers and underscores"
            )
        elif key in section_keys:
            problems.append(f"section {n}: the key {key} is used twice")
        else:
            section_keys.add(key)
        if section.get("kind", "standard") not in SECTION_KINDS:
            problems.append(f"section {key}: unknown kind {section.get('kind')!r}")

    questions = document["questions"]
    if len(questions) > MAX_QUESTIONS:
        problems.append(f"the survey has {len(questions)} questions; the most is {MAX_QUESTIONS}")
        return problems
    earlier: dict[str, dict[str, Any]] = {}
    text_keys_allowed = {"survey.title", "survey.intro", "survey.privacy"} | {
        f"section.{k}.title" for k in section_keys
    }
    types = {t.value for t in QuestionType}
    for n, q in enumerate(questions, start=1):
        key = q.get("key")
        where = f"question {key if isinstance(key, str) else n}"
        if not isinstance(key, str) or not KEY_PATTERN.match(key) or key.startswith("resp_"):
            problems.append(
                f"question {n}: key {key!r} must start with a letter and use lowercase letters, numbers and underscores"
            )
            continue
        if key in earlier:
            problems.append(f"{where}: the key is used twice")
            continue
        if q.get("type") not in types:
            problems.append(f"{where}: unknown type {q.get('type')!r}")
        section = q.get("section")
        if section is not None and section not in section_keys:
            problems.append(f"{where}: no section {section!r}")
        if (
            not isinstance(q.get("required", False), bool)
            or not isinstance(q.get("special_category", False), bool)
            or not isinstance(q.get("adults_only", False), bool)
        ):
            problems.append(
                f"{where}: 'required', 'special_category' and 'adults_only' must be true or false"
            )
        demographic = q.get("demographic")
        if demographic is not None and demographic not in DEMOGRAPHIC_VARIABLES:
            problems.append(f"{where}: unknown demographic variable {demographic!r}")
        if not isinstance(q.get("settings", {}), dict):
            problems.append(f"{where}: 'settings' must be an object")
        elif q.get("type") in (QuestionType.DECIMAL, QuestionType.DATE, QuestionType.POSTCODE):
            try:
                typed_answers.clean_settings(q["type"], q.get("settings") or {})
            except ServiceError as error:
                problems.append(f"{where}: {error.message}")
        bank_key = q.get("bank_key")
        if bank_key is not None and not isinstance(bank_key, str):
            problems.append(f"{where}: 'bank_key' must be text")
        options = q.get("options", [])
        if not _is_list_of_dicts(options) or len(options) > MAX_OPTIONS:
            problems.append(f"{where}: 'options' must be a list of at most {MAX_OPTIONS} objects")
            options = []
        seen: set[tuple[str, str]] = set()
        for option in options:
            kind, code = option.get("kind", OptionKind.CHOICE), option.get("code")
            if kind not in {k.value for k in OptionKind}:
                problems.append(f"{where}: unknown option kind {kind!r}")
                continue
            if not isinstance(code, str) or not KEY_PATTERN.match(code):
                problems.append(
                    f"{where}: option code {code!r} must be lowercase letters, numbers and underscores"
                )
                continue
            if (kind, code) in seen:
                problems.append(f"{where}: the code {code} is used twice")
            seen.add((kind, code))
            category = option.get("benchmark_category")
            if category is not None and (not isinstance(category, str) or len(category) > 200):
                problems.append(
                    f"{where}: option {code}: 'benchmark_category' must be text of at most 200 characters"
                )
            for flag in ("exclusive", "is_missing"):
                if not isinstance(option.get(flag, False), bool):
                    problems.append(f"{where}: option {code}: '{flag}' must be true or false")
            prefix = "o" if kind == OptionKind.CHOICE else "i"
            text_keys_allowed.add(f"{prefix}.{key}.{code}")
        if q.get("show_if") is not None:
            _check_condition(q["show_if"], where, earlier, problems)
        text_keys_allowed.update({f"q.{key}.prompt", f"q.{key}.hint"})
        earlier[key] = {**q, "options": [o for o in options if isinstance(o.get("code"), str)]}

    texts = document["texts"]
    if len(texts) > MAX_TEXTS:
        problems.append(f"the definition has {len(texts)} texts; the most is {MAX_TEXTS}")
        return problems
    statuses = {s.value for s in TranslationStatus}
    seen_texts: set[tuple[str, str]] = set()
    for t in texts:
        key, language, value = t.get("key"), t.get("language"), t.get("value")
        label = f"text {key!r} ({language})"
        if not isinstance(key, str) or not (
            key in text_keys_allowed or SURVEY_TEXT_PATTERN.match(key)
        ):
            problems.append(f"{label}: does not belong to anything in the survey")
            continue
        if language not in languages:
            problems.append(f"{label}: the language is not one of the survey's languages")
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT_LENGTH:
            problems.append(
                f"{label}: the text must be non-empty and at most {MAX_TEXT_LENGTH} characters"
            )
        elif "\x00" in value:
            problems.append(f"{label}: the text contains a NUL character")
        if t.get("status", TranslationStatus.REVIEWED) not in statuses:
            problems.append(f"{label}: unknown status {t.get('status')!r}")
        digest = t.get("source_digest")
        if digest is not None and (
            not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest)
        ):
            problems.append(f"{label}: 'source_digest' is not a SHA-256 digest")
        if (key, language) in seen_texts:
            problems.append(f"{label}: given twice")
        seen_texts.add((key, language))
    if ("survey.title", default) not in seen_texts:
        problems.append(f"the survey has no title in its default language ({default})")
    for key in earlier:
        if (f"q.{key}.prompt", default) not in seen_texts:
            problems.append(f"question {key}: no prompt in the default language ({default})")
    return problems


def import_definition(
    partnership: Partnership,
    content: str | bytes | dict[str, Any],
    *,
    slug: str,
    by: User | None = None,
) -> Survey:
    """Create a draft survey in `partnership` from a definition document.
    Raises DefinitionError listing every problem, and stores nothing then."""
    document = content if isinstance(content, dict) else parse_definition(content)
    slug = (slug or "").strip().lower()
    problems = []
    if not SLUG_PATTERN.match(slug) or len(slug) > 80:
        problems.append(
            "the web address must be lowercase letters, numbers and hyphens, like feeling-safe-2026"
        )
    elif db.session.scalars(select(Survey).filter_by(slug=slug)).first() is not None:
        problems.append(f"the web address /s/{slug} is already used by another survey")
    problems.extend(definition_problems(document))
    if problems:
        raise DefinitionError(problems)

    meta = document["survey"]
    # A savepoint: anything the database refuses undoes the whole import.
    with db.session.begin_nested():
        survey = Survey(
            partnership_id=partnership.id,
            slug=slug,
            audience=meta.get("audience", Audience.RESIDENTS),
            status=SurveyStatus.DRAFT,
            default_language=meta["default_language"],
            resume_days=meta.get("resume_days", 28),
            requires_invitation=meta.get("requires_invitation", False),
        )
        survey.languages = list(meta["languages"])
        db.session.add(survey)
        db.session.flush()
        sections: dict[str, Section] = {}
        for position, s in enumerate(document["sections"], start=1):
            sections[s["key"]] = Section(
                survey_id=survey.id, key=s["key"], position=position, kind=s.get("kind", "standard")
            )
        db.session.add_all(sections.values())
        db.session.flush()
        for position, q in enumerate(document["questions"], start=1):
            question = Question(
                survey_id=survey.id,
                section_id=sections[q["section"]].id if q.get("section") else None,
                key=q["key"],
                position=position,
                type=q["type"],
                required=q.get("required", False),
                show_if=q.get("show_if"),
                demographic=q.get("demographic"),
                special_category=q.get("special_category", False),
                # Older definitions have no setting: special-category
                # questions are 16-and-over whatever the file says.
                adults_only=bool(q.get("adults_only", False) or q.get("special_category", False)),
                settings=dict(q.get("settings") or {}),
                bank_key=q.get("bank_key"),
            )
            counters: dict[str, int] = {}
            for o in q.get("options", []):
                kind = o.get("kind", OptionKind.CHOICE)
                counters[kind] = counters.get(kind, 0) + 1
                question.options.append(
                    Option(
                        kind=kind,
                        code=o["code"],
                        position=counters[kind],
                        exclusive=o.get("exclusive", False),
                        is_missing=o.get("is_missing", False),
                        benchmark_category=o.get("benchmark_category"),
                    )
                )
            db.session.add(question)
        for t in document["texts"]:
            db.session.add(
                TextEntry(
                    survey_id=survey.id,
                    key=t["key"],
                    language=t["language"],
                    value=t["value"],
                    status=t.get("status", TranslationStatus.REVIEWED),
                    source_digest=t.get("source_digest"),
                )
            )
        record(
            "survey_imported",
            partnership_id=partnership.id,
            user_id=by.id if by is not None else None,
            target=f"survey:{survey.id}:{survey.slug}",
            details={
                "from_slug": str(meta.get("slug", ""))[:80],
                "questions": len(document["questions"]),
                "texts": len(document["texts"]),
            },
        )
    db.session.refresh(survey)
    return survey
