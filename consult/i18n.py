"""The language registry: the one place that knows each offered language's
name in itself, its script direction and the fonts its script needs.

Direction comes from here, never guessed from text: a Urdu page with an English
survey title is still right-to-left."""

from __future__ import annotations

from dataclasses import dataclass


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
