"""The language registry: the one place that knows each offered language's
name in itself, its script direction and the fonts its script needs.

Direction comes from here, never guessed from text: a Urdu page with an English
survey title is still right-to-left."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path


@dataclass(frozen=True)
class Language:
    code: str
    english_name: str
    native_name: str
    direction: str  # "ltr" or "rtl"
    script: str

    # Excel/XLSForm style column label, e.g. "Urdu (ur)".
    @property
    def column_label(self) -> str:
        return f"{self.english_name} ({self.code})"


LANGUAGES: dict[str, Language] = {
    lang.code: lang
    for lang in (
        Language("en", "English", "English", "ltr", "Latn"),
        Language("gu", "Gujarati", "ગુજરાતી", "ltr", "Gujr"),
        Language("pa", "Punjabi", "ਪੰਜਾਬੀ", "ltr", "Guru"),
        Language("ur", "Urdu", "اردو", "rtl", "Arab"),
        Language("pl", "Polish", "Polski", "ltr", "Latn"),
        Language("so", "Somali", "Soomaali", "ltr", "Latn"),
        Language("bn", "Bengali", "বাংলা", "ltr", "Beng"),
        Language("ar", "Arabic", "العربية", "rtl", "Arab"),
    )
}

DEFAULT_LANGUAGE = "en"
# The cookie that remembers a resident's chosen language across surveys.
LANGUAGE_COOKIE = "consult_lang"


def get_language(code: str | None) -> Language | None:
    if not code:
        return None
    return LANGUAGES.get(code)


def direction(code: str) -> str:
    lang = LANGUAGES.get(code)
    return lang.direction if lang else "ltr"


def best_match(accept: list[tuple[str, float]] | None, offered: list[str]) -> str | None:
    """The first offered language in the browser's order of preference
    (`pa-Guru-IN` matches `pa`)."""
    if not accept:
        return None
    for tag, _quality in accept:
        primary = tag.split("-")[0].split("_")[0].lower()
        if primary in offered:
            return primary
    return None


STATUS_FILE = Path(__file__).resolve().parents[1] / "translations" / "status.json"


@lru_cache(maxsize=1)
def translation_status() -> dict[str, dict[str, object]]:
    """The review status of each language's interface text, from
    translations/status.json ("source", "machine" or "reviewed"); residents
    are told which languages a person has not checked yet."""
    try:
        return dict(json.loads(STATUS_FILE.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return {}


def machine_drafted_languages() -> list[Language]:
    status = translation_status()
    return [
        lang
        for code, lang in LANGUAGES.items()
        if (status.get(code) or {}).get("status") == "machine"
    ]


# Babel's plain "en" is American English ("January 1, 2027"); the service's
# English is British ("1 January 2027"). Other languages use their own.
DATE_LOCALES = {"en": "en_GB"}


def long_date(moment: date | datetime, language: str | None = None) -> str:
    """A date in the page's language, in that language's long form, on the
    service's clock (a closing time of 23:30 UTC is the next day in summer)."""
    from babel.dates import format_date
    from flask_babel import get_locale, to_user_timezone

    code = language or str(get_locale() or DEFAULT_LANGUAGE)
    day = to_user_timezone(moment).date() if isinstance(moment, datetime) else moment
    return format_date(day, "long", locale=DATE_LOCALES.get(code, code))


# CLDR names that are wrong for our use: Somali's name for Bengali is the
# country ("Bangladesh"), and English residents know the language as Bengali.
_NAME_OVERRIDES = {("so", "bn"): "Bangaali", ("en", "bn"): "Bengali"}
# Polish puts a language name after "w języku" in the locative: the adjective
# names take -m ("angielski" -> "angielskim"); borrowed ones ("urdu",
# "gudżarati") do not decline.
_POLISH_LOCATIVE_ENDINGS = ("ski", "cki", "dzki")


def language_name(code: str, in_language: str, *, case: str | None = None) -> str:
    """The name of language `code` written in `in_language` (a Polish page
    says "angielski", not "English"), from Babel's CLDR data. `case="locative"`
    gives the form that follows a preposition where the language inflects it
    (only Polish among ours)."""
    from babel import Locale, UnknownLocaleError

    name = _NAME_OVERRIDES.get((in_language, code))
    if name is None:
        try:
            name = Locale.parse(code).get_display_name(in_language)
        except (ValueError, UnknownLocaleError):
            name = None
    if not name:
        known = LANGUAGES.get(code)
        name = known.english_name if known else code
    if case == "locative" and in_language == "pl" and name.endswith(_POLISH_LOCATIVE_ENDINGS):
        name += "m"
    return name
