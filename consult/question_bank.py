"""The standard question bank: community safety questions with stable keys and
codes, every user-visible string in all the offered languages.

Pure Python (standard library only), so that it can be used by the survey
builder, by analysis and by scripts alike. The bank itself is read-only: an
officer edits a *copy* of an item inside a survey (see
`consult.services.surveys.add_bank_question`), never the packaged original.

    bank = load_bank()
    item = bank.get("safe_after_dark")
    item.text("prompt", "pa")           # Punjabi, English if missing
    problems = validate_bank(raw_dict)  # human-readable list, empty when valid
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

from .vocabulary import (
    DEMOGRAPHIC_VARIABLES,
    FREE_TYPES,
    OPTION_TYPES,
    QUESTION_TYPES,
    SPECIAL_CATEGORY_VARIABLES,
    TRANSLATION_STATUSES,
)

# Shared with the models, services and templates (consult.vocabulary needs
# neither Flask nor SQLAlchemy, as this module must not).
from .wording import counted

__all__ = [
    "BANK_LANGUAGES",
    "DEMOGRAPHIC_VARIABLES",
    "QUESTION_TYPES",
    "SPECIAL_CATEGORY_VARIABLES",
    "TOPICS",
    "BankError",
    "BankGridItem",
    "BankItem",
    "BankOption",
    "QuestionBank",
    "clear_bank_cache",
    "default_bank_path",
    "load_bank",
    "load_benchmark_categories",
    "validate_bank",
]

#: The languages the standard bank is written in (English first: the fallback).
BANK_LANGUAGES: tuple[str, ...] = ("en", "gu", "pa", "ur", "pl", "so", "bn", "ar")
DEFAULT_LANGUAGE = "en"

TOPICS: tuple[str, ...] = (
    "feeling_safe",
    "worry",
    "asb",
    "confidence",
    "priorities",
    "services",
    "about_you",
    "consent",
    "about_organisation",
    "open",
)

PREFER_NOT_TO_SAY = "prefer_not_to_say"
DONT_KNOW = "dont_know"
NONE_OF_THESE = "none_of_these"
#: Codes that are always a non-answer for analysis.
MISSING_CODES = frozenset({PREFER_NOT_TO_SAY, DONT_KNOW})
#: Codes that cannot be combined with other choices on a multiple-choice question.
EXCLUSIVE_CODES = frozenset({PREFER_NOT_TO_SAY, NONE_OF_THESE})

MAX_KEY_LENGTH = 40
# Same rule as the survey builder's keys and codes (consult.services.surveys.KEY_PATTERN),
# so every bank item can be copied into a survey: a letter first, at most 60 characters.
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
_TEXT_FIELDS = ("prompt", "hint")


class BankError(ValueError):
    """The bank file is unreadable or fails validation; `.problems` lists why."""

    def __init__(self, message: str, problems: Iterable[str] = ()) -> None:
        self.problems: list[str] = list(problems)
        detail = "".join(f"\n  - {p}" for p in self.problems)
        super().__init__(message + detail)


class _FrozenDict(dict[str, Any]):
    """A dict that refuses changes, so the cached bank cannot be edited by
    accident. `dict(x)` or `copy.deepcopy(x)` gives an ordinary, editable copy."""

    def _readonly(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("the question bank is read-only; copy the item to edit it")

    __setitem__ = _readonly
    __delitem__ = _readonly
    clear = _readonly
    pop = _readonly
    popitem = _readonly
    setdefault = _readonly
    update = _readonly
    __ior__ = _readonly

    def __copy__(self) -> dict[str, Any]:
        return dict(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        import copy

        return {k: copy.deepcopy(v, memo) for k, v in self.items()}

    def __reduce__(self) -> tuple[Any, ...]:
        return (dict, (dict(self),))


def _frozen(mapping: Mapping[str, Any] | None) -> dict[str, Any]:
    return _FrozenDict(mapping or {})


def _localised(texts: Mapping[str, str], lang: str) -> str:
    value = texts.get(lang) or texts.get(DEFAULT_LANGUAGE)
    if value:
        return value
    return next((v for v in texts.values() if v), "")


# --------------------------------------------------------------------------- model


@dataclass(frozen=True, eq=True)
class BankOption:
    """An answer option (or a scale point of a grid)."""

    code: str
    label: dict[str, str]
    exclusive: bool = False
    is_missing: bool = False
    benchmark_category: str | None = None

    def text(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """The label in `lang`, falling back to English."""
        return _localised(self.label, lang)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "label": dict(self.label),
            "exclusive": self.exclusive,
            "is_missing": self.is_missing,
            "benchmark_category": self.benchmark_category,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BankOption:
        bench = data.get("benchmark_category")
        return cls(
            code=str(data["code"]),
            label=_frozen(data.get("label")),
            exclusive=bool(data.get("exclusive", False)),
            is_missing=bool(data.get("is_missing", False)),
            benchmark_category=None if bench is None else str(bench),
        )


@dataclass(frozen=True, eq=True)
class BankGridItem:
    """A row of a grid question."""

    code: str
    label: dict[str, str]

    def text(self, lang: str = DEFAULT_LANGUAGE) -> str:
        return _localised(self.label, lang)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "label": dict(self.label)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BankGridItem:
        return cls(code=str(data["code"]), label=_frozen(data.get("label")))


@dataclass(frozen=True, eq=True)
class BankItem:
    """One standard question."""

    key: str
    topic: str
    type: str
    prompt: dict[str, str]
    verified: bool = False
    required: bool = False
    demographic: str | None = None
    special_category: bool = False
    # Asked only of people aged 16 and over (as the Census asks it).
    adults_only: bool = False
    settings: dict[str, Any] = field(default_factory=_FrozenDict)
    hint: dict[str, str] | None = None
    options: tuple[BankOption, ...] = ()
    items: tuple[BankGridItem, ...] = ()

    def text(self, field: str, lang: str = DEFAULT_LANGUAGE) -> str:
        """`field` ("prompt" or "hint") in `lang`, falling back to English;
        "" for an item without a hint."""
        if field not in _TEXT_FIELDS:
            raise ValueError(f"unknown text field {field!r}; expected one of {_TEXT_FIELDS}")
        texts: Mapping[str, str] | None = getattr(self, field)
        return _localised(texts, lang) if texts else ""

    def option(self, code: str) -> BankOption | None:
        return next((o for o in self.options if o.code == code), None)

    def grid_item(self, code: str) -> BankGridItem | None:
        return next((i for i in self.items if i.code == code), None)

    @property
    def option_codes(self) -> tuple[str, ...]:
        return tuple(o.code for o in self.options)

    @property
    def missing_codes(self) -> frozenset[str]:
        """Codes that are non-answers for analysis ("Don't know", "Prefer not to say")."""
        return frozenset(o.code for o in self.options if o.is_missing)

    @property
    def benchmark_map(self) -> dict[str, str]:
        """Option code -> population benchmark category, for the options that have one."""
        return {o.code: o.benchmark_category for o in self.options if o.benchmark_category}

    def to_dict(self) -> dict[str, Any]:
        """A plain, editable copy in the JSON format of the bank file."""
        out: dict[str, Any] = {
            "key": self.key,
            "topic": self.topic,
            "type": self.type,
            "verified": self.verified,
            "required": self.required,
            "demographic": self.demographic,
            "special_category": self.special_category,
            "adults_only": self.adults_only,
            "settings": dict(self.settings),
            "prompt": dict(self.prompt),
        }
        if self.hint:
            out["hint"] = dict(self.hint)
        out["options"] = [o.to_dict() for o in self.options]
        if self.items:
            out["items"] = [i.to_dict() for i in self.items]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BankItem:
        hint = data.get("hint")
        demographic = data.get("demographic")
        return cls(
            key=str(data["key"]),
            topic=str(data.get("topic", "")),
            type=str(data["type"]),
            prompt=_frozen(data.get("prompt")),
            verified=bool(data.get("verified", False)),
            required=bool(data.get("required", False)),
            demographic=None if demographic is None else str(demographic),
            special_category=bool(data.get("special_category", False)),
            adults_only=bool(data.get("adults_only", False)),
            settings=_frozen(data.get("settings")),
            hint=_frozen(hint) if hint else None,
            options=tuple(BankOption.from_dict(o) for o in data.get("options") or ()),
            items=tuple(BankGridItem.from_dict(i) for i in data.get("items") or ()),
        )


@dataclass(frozen=True, eq=True)
class QuestionBank:
    items: tuple[BankItem, ...]
    languages: tuple[str, ...] = BANK_LANGUAGES
    translation_status: dict[str, str] = field(default_factory=_FrozenDict)
    version: int = 1

    def get(self, key: str) -> BankItem | None:
        """The item with this key, or None."""
        return next((i for i in self.items if i.key == key), None)

    def __getitem__(self, key: str) -> BankItem:
        found = self.get(key)
        if found is None:
            raise KeyError(key)
        return found

    def __contains__(self, key: object) -> bool:
        return any(i.key == key for i in self.items)

    def __iter__(self) -> Iterator[BankItem]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(i.key for i in self.items)

    def by_topic(self) -> dict[str, list[BankItem]]:
        """Items grouped by topic, topics in the standard order (any unknown
        topic last), items in bank order within a topic."""
        grouped: dict[str, list[BankItem]] = {}
        for topic in TOPICS:
            members = [i for i in self.items if i.topic == topic]
            if members:
                grouped[topic] = members
        for i in self.items:
            if i.topic not in TOPICS:
                grouped.setdefault(i.topic, []).append(i)
        return grouped

    def demographic_items(self) -> dict[str, BankItem]:
        """Demographic variable -> the item that asks it."""
        return {i.demographic: i for i in self.items if i.demographic}

    def is_machine_translated(self, lang: str) -> bool:
        return self.translation_status.get(lang, "machine") != "reviewed"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QuestionBank:
        languages = data.get("languages") or BANK_LANGUAGES
        return cls(
            items=tuple(BankItem.from_dict(i) for i in data.get("items") or ()),
            languages=tuple(str(lang) for lang in languages),
            translation_status=_frozen(
                {str(k): str(v) for k, v in (data.get("translation_status") or {}).items()}
            ),
            version=int(data.get("version", 1)),
        )


# --------------------------------------------------------------------------- loading


def default_bank_path() -> Path:
    """Where the packaged bank lives on disk."""
    return Path(__file__).resolve().parent / "data" / "question_bank.json"


def _read_packaged() -> str:
    try:
        return resources.files("consult").joinpath("data/question_bank.json").read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):
        return default_bank_path().read_text("utf-8")


@lru_cache(maxsize=8)
def _load_cached(path: str | None) -> QuestionBank:
    try:
        raw = _read_packaged() if path is None else Path(path).read_text("utf-8")
    except OSError as exc:
        where = path or default_bank_path()
        raise BankError(f"cannot read the question bank at {where}: {exc}") from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise BankError(f"the question bank is not valid JSON: {exc}") from None
    problems = validate_bank(data)
    if problems:
        raise BankError(
            f"the question bank has {counted(len(problems), 'problem', 'problems')}:", problems
        )
    return QuestionBank.from_dict(data)


def load_bank(path: str | Path | None = None) -> QuestionBank:
    """Load (once, then from cache) and validate the question bank; the
    packaged bank by default. Raises `BankError` listing every problem when
    the file is invalid."""
    return _load_cached(None if path is None else str(Path(path).resolve()))


def clear_bank_cache() -> None:
    """Forget loaded banks (for tests, or after the file changed on disk)."""
    _load_cached.cache_clear()


def load_benchmark_categories(path: str | Path | None = None) -> dict[str, set[str]]:
    """Variable -> the category labels of a benchmark margins CSV (columns
    `variable` and `category`); the packaged Leicester Census 2021 file by default."""
    csv_path = (
        Path(path)
        if path is not None
        else Path(__file__).resolve().parent / "data" / "leicester_census2021_margins.csv"
    )
    out: dict[str, set[str]] = {}
    with csv_path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out.setdefault(row["variable"].strip(), set()).add(row["category"].strip())
    return out


# --------------------------------------------------------------------------- validation


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class _Checker:
    def __init__(
        self,
        data: Any,
        benchmark_categories: Mapping[str, Collection[str]] | Collection[str] | None,
    ) -> None:
        self.data = data
        self.problems: list[str] = []
        self.languages: tuple[str, ...] = BANK_LANGUAGES
        self.benchmarks = benchmark_categories

    def add(self, message: str) -> None:
        self.problems.append(message)

    # ---- strings
    def check_text(self, where: str, texts: Any, *, required: bool = True) -> None:
        if texts is None and not required:
            return
        if not isinstance(texts, Mapping):
            self.add(f"{where}: must be an object of texts by language, got {type(texts).__name__}")
            return
        for lang in self.languages:
            value = texts.get(lang)
            if value is None:
                self.add(f"{where}: missing language '{lang}'")
            elif not isinstance(value, str) or not value.strip():
                self.add(f"{where}: empty text for language '{lang}'")
        for lang in texts:
            if lang not in self.languages:
                self.add(f"{where}: unexpected language '{lang}' (not in the bank's languages)")

    # ---- bank
    def run(self) -> list[str]:
        data = self.data
        if not isinstance(data, Mapping):
            self.add("the bank must be a JSON object")
            return self.problems
        if not _is_int(data.get("version")):
            self.add("bank: 'version' must be an integer")
        languages = data.get("languages")
        if not isinstance(languages, list) or not languages:
            self.add("bank: 'languages' must be a non-empty list of language codes")
        else:
            if len(set(languages)) != len(languages):
                self.add("bank: duplicate language codes in 'languages'")
            if DEFAULT_LANGUAGE not in languages:
                self.add(f"bank: 'languages' must include '{DEFAULT_LANGUAGE}' (the fallback)")
            unknown = [lang for lang in languages if lang not in BANK_LANGUAGES]
            if unknown:
                self.add(f"bank: unknown language code(s) {', '.join(map(str, unknown))}")
            self.languages = tuple(str(lang) for lang in languages)
        status = data.get("translation_status")
        if not isinstance(status, Mapping):
            self.add("bank: 'translation_status' must be an object (language -> status)")
        else:
            for lang in self.languages:
                if lang not in status:
                    self.add(f"bank: translation_status missing language '{lang}'")
            for lang, value in status.items():
                if value not in TRANSLATION_STATUSES:
                    self.add(
                        f"bank: translation_status '{lang}' is '{value}'; expected one of "
                        f"{', '.join(sorted(TRANSLATION_STATUSES))}"
                    )
        items = data.get("items")
        if not isinstance(items, list) or not items:
            self.add("bank: 'items' must be a non-empty list")
            return self.problems
        seen_keys: set[str] = set()
        seen_demographics: dict[str, str] = {}
        for index, entry in enumerate(items):
            if not isinstance(entry, Mapping):
                self.add(f"item #{index}: must be an object")
                continue
            key = entry.get("key")
            if not isinstance(key, str) or not key:
                self.add(f"item #{index}: missing 'key'")
                key = f"#{index}"
            else:
                if not _KEY_RE.match(key):
                    self.add(
                        f"item '{key}': key must be lowercase snake_case starting with a letter"
                    )
                if len(key) > MAX_KEY_LENGTH:
                    self.add(f"item '{key}': key longer than {MAX_KEY_LENGTH} characters")
                if key in seen_keys:
                    self.add(f"item '{key}': duplicate key '{key}'")
                seen_keys.add(key)
            demographic = entry.get("demographic")
            if isinstance(demographic, str):
                if demographic in seen_demographics:
                    self.add(
                        f"item '{key}': demographic '{demographic}' is already asked by item "
                        f"'{seen_demographics[demographic]}'"
                    )
                else:
                    seen_demographics[demographic] = key
            self.check_item(key, entry)
        return self.problems

    # ---- item
    def check_item(self, key: str, entry: Mapping[str, Any]) -> None:
        where = f"item '{key}'"
        qtype = entry.get("type")
        if qtype not in QUESTION_TYPES:
            self.add(
                f"{where}: unknown type '{qtype}'; expected one of {', '.join(QUESTION_TYPES)}"
            )
        topic = entry.get("topic")
        if topic not in TOPICS:
            self.add(f"{where}: unknown topic '{topic}'; expected one of {', '.join(TOPICS)}")
        for flag in ("verified", "required", "special_category", "adults_only"):
            if flag in entry and not isinstance(entry[flag], bool):
                self.add(f"{where}: '{flag}' must be true or false")
        demographic = entry.get("demographic")
        if demographic is not None and demographic not in DEMOGRAPHIC_VARIABLES:
            self.add(f"{where}: unknown demographic '{demographic}'")
        special = bool(entry.get("special_category", False))
        should_be_special = demographic in SPECIAL_CATEGORY_VARIABLES
        if special != should_be_special:
            if should_be_special:
                self.add(
                    f"{where}: special_category must be true for demographic '{demographic}' "
                    "(special-category data, asked only after explicit consent)"
                )
            else:
                self.add(
                    f"{where}: special_category is true but demographic '{demographic}' is not a "
                    "special-category variable"
                )

        if special and not entry.get("adults_only", False):
            self.add(
                f"{where}: adults_only must be true for a special-category question "
                "(never asked of under-16s)"
            )

        self.check_text(f"{where} prompt", entry.get("prompt"))
        if "hint" in entry:
            self.check_text(f"{where} hint", entry.get("hint"), required=False)

        settings = entry.get("settings", {})
        if settings is None:
            settings = {}
        if not isinstance(settings, Mapping):
            self.add(f"{where}: 'settings' must be an object")
            settings = {}

        options = entry.get("options") or []
        if not isinstance(options, list):
            self.add(f"{where}: 'options' must be a list")
            options = []
        rows = entry.get("items") or []
        if not isinstance(rows, list):
            self.add(f"{where}: 'items' must be a list")
            rows = []

        if qtype in OPTION_TYPES and len(options) < 2:
            self.add(f"{where}: a {qtype} question needs at least two options")
        if qtype in FREE_TYPES and options:
            self.add(f"{where}: a {qtype} question takes no options")
        if qtype == "grid" and not rows:
            self.add(f"{where}: grid without items (rows)")
        if qtype != "grid" and rows:
            self.add(f"{where}: only grid questions have items (rows); type is '{qtype}'")

        self.check_settings(where, qtype, settings, len(options))
        self.check_positive(where, qtype, settings, options)
        self.check_options(where, key, qtype, demographic, options)
        self.check_rows(where, rows)

    def check_settings(
        self, where: str, qtype: Any, settings: Mapping[str, Any], n_options: int
    ) -> None:
        if qtype == "ranking":
            top_n = settings.get("top_n")
            if top_n is None:
                self.add(f"{where}: ranking without top_n in settings")
            elif not _is_int(top_n) or top_n < 1:
                self.add(f"{where}: top_n must be a positive integer, got {top_n!r}")
            elif n_options and top_n > n_options:
                self.add(f"{where}: top_n {top_n} is more than the {n_options} options")
        if "max_length" in settings:
            max_length = settings["max_length"]
            if not _is_int(max_length) or max_length < 1:
                self.add(f"{where}: max_length must be a positive integer, got {max_length!r}")
        if qtype == "number":
            low: Any = settings.get("min")
            high: Any = settings.get("max")
            for name, value in (("min", low), ("max", high)):
                if value is not None and not _is_number(value):
                    self.add(f"{where}: '{name}' must be a number, got {value!r}")
            if _is_number(low) and _is_number(high) and float(low) > float(high):
                self.add(f"{where}: min {low} is greater than max {high}")

    def check_positive(
        self, where: str, qtype: Any, settings: Mapping[str, Any], options: list[Any]
    ) -> None:
        """`positive`: the answers a results page groups as the summary share
        ("feel very or fairly safe"), with `positive_label` naming it."""
        if "positive" not in settings:
            return
        positive = settings["positive"]
        if qtype not in ("single", "scale", "grid"):
            self.add(f"{where}: only single, scale and grid questions have a positive grouping")
            return
        if not isinstance(positive, list) or not positive:
            self.add(f"{where}: 'positive' must be a non-empty list of option codes")
            return
        codes = {
            o.get("code") for o in options if isinstance(o, Mapping) and not o.get("is_missing")
        }
        unknown = [c for c in positive if c not in codes]
        if unknown:
            self.add(f"{where}: positive codes {unknown} are not answers of the question")
        if not isinstance(settings.get("positive_label", ""), str):
            self.add(f"{where}: 'positive_label' must be text")

    def check_options(
        self,
        where: str,
        key: str,
        qtype: Any,
        demographic: Any,
        options: list[Any],
    ) -> None:
        seen: set[str] = set()
        codes: list[str] = []
        allowed = self.allowed_categories(demographic)
        for index, option in enumerate(options):
            if not isinstance(option, Mapping):
                self.add(f"{where}: option #{index} must be an object")
                continue
            code = option.get("code")
            if not isinstance(code, str) or not code:
                self.add(f"{where}: option #{index} has no code")
                continue
            owhere = f"{where} option '{code}'"
            if not _CODE_RE.match(code):
                self.add(
                    f"{owhere}: code must be lowercase snake_case starting with a letter "
                    "(at most 60 characters)"
                )
            if code in seen:
                self.add(f"{where}: duplicate option code '{code}'")
            seen.add(code)
            codes.append(code)
            self.check_text(f"{owhere} label", option.get("label"))
            for flag in ("exclusive", "is_missing"):
                if flag in option and not isinstance(option[flag], bool):
                    self.add(f"{owhere}: '{flag}' must be true or false")
            is_missing = bool(option.get("is_missing", False))
            exclusive = bool(option.get("exclusive", False))
            if code in MISSING_CODES and not is_missing:
                self.add(f"{owhere}: must have is_missing true (a non-answer for analysis)")
            if qtype == "multiple" and code in EXCLUSIVE_CODES and not exclusive:
                self.add(f"{owhere}: must be exclusive on a multiple-choice question")
            bench = option.get("benchmark_category")
            if bench is None:
                continue
            if not isinstance(bench, str) or not bench.strip():
                self.add(f"{owhere}: benchmark_category must be a non-empty string or null")
                continue
            if is_missing:
                self.add(
                    f"{owhere}: a missing (non-answer) option cannot have a benchmark_category"
                )
            if demographic is None:
                self.add(
                    f"{owhere}: benchmark_category '{bench}' on a question with no demographic"
                )
            elif allowed is not None and not allowed:
                self.add(
                    f"{owhere}: benchmark_category '{bench}' given, but there are no benchmark "
                    f"categories for '{demographic}'"
                )
            elif allowed is not None and bench not in allowed:
                self.add(
                    f"{owhere}: benchmark_category '{bench}' is not a known category of "
                    f"'{demographic}'"
                )
        if demographic is not None and qtype not in FREE_TYPES and PREFER_NOT_TO_SAY not in codes:
            self.add(f"{where}: demographic question '{key}' does not offer '{PREFER_NOT_TO_SAY}'")

    def allowed_categories(self, demographic: Any) -> Collection[str] | None:
        if self.benchmarks is None or demographic is None:
            return None
        if isinstance(self.benchmarks, Mapping):
            found = self.benchmarks.get(demographic)
            return set() if found is None else found
        return self.benchmarks

    def check_rows(self, where: str, rows: list[Any]) -> None:
        seen: set[str] = set()
        for index, row in enumerate(rows):
            if not isinstance(row, Mapping):
                self.add(f"{where}: item (row) #{index} must be an object")
                continue
            code = row.get("code")
            if not isinstance(code, str) or not code:
                self.add(f"{where}: item (row) #{index} has no code")
                continue
            if not _CODE_RE.match(code):
                self.add(
                    f"{where} item '{code}': code must be lowercase snake_case starting with a "
                    "letter (at most 60 characters)"
                )
            if code in seen:
                self.add(f"{where}: duplicate item (row) code '{code}'")
            seen.add(code)
            self.check_text(f"{where} item '{code}' label", row.get("label"))


def validate_bank(
    data: Any,
    benchmark_categories: Mapping[str, Collection[str]] | Collection[str] | None = None,
) -> list[str]:
    """Check a bank (the parsed JSON) and return its problems as readable
    sentences naming the item key and option code; an empty list means valid.

    `benchmark_categories`, when given, is either a mapping of demographic
    variable -> allowed category labels (see `load_benchmark_categories`), or
    one collection of labels allowed for every variable; each option's
    `benchmark_category` must then be one of them."""
    return _Checker(data, benchmark_categories).run()
