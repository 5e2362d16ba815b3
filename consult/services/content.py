"""Survey content in many languages. Every prompt, hint and label is a
`TextEntry` keyed by what it labels; a missing translation falls back to the
survey's default language (and is counted as missing by the translation
report, never hidden)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import select

from ..extensions import db
from ..models import Question, Survey, TextEntry, TranslationStatus
from .survey_cache import survey_texts


def survey_title_key() -> str:
    return "survey.title"


def survey_intro_key() -> str:
    return "survey.intro"


def privacy_key() -> str:
    return "survey.privacy"


def section_title_key(section_key: str) -> str:
    return f"section.{section_key}.title"


def prompt_key(question_key: str) -> str:
    return f"q.{question_key}.prompt"


def hint_key(question_key: str) -> str:
    return f"q.{question_key}.hint"


def constraint_key(question_key: str) -> str:
    """The message shown when an answer breaks the question's range or length
    (an XLSForm constraint_message)."""
    return f"q.{question_key}.constraint"


def option_key(question_key: str, code: str) -> str:
    return f"o.{question_key}.{code}"


def item_key(question_key: str, code: str) -> str:
    return f"i.{question_key}.{code}"


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


class FallbackText(str):
    """A text shown in another language than the one asked for (a missing
    translation, or a ward name nobody translates): it knows its language, so
    the page can mark it (`lang="en"`) and screen readers switch voice."""

    lang: str

    def __new__(cls, value: str, lang: str) -> FallbackText:
        text = super().__new__(cls, value)
        text.lang = lang
        return text


class SurveyTexts:
    """All of one survey's texts (or those of some languages), read from the
    per-process copy kept for the survey's current version (survey_cache)."""

    def __init__(
        self,
        survey: Survey,
        languages: Iterable[str] | None = None,
        *,
        mark_language: bool = False,
    ) -> None:
        """`languages` limits loading to what a page shows (a resident's page
        needs its language and the default one, not all eight).
        `mark_language`: text shown in another language comes back as a
        `FallbackText` (resident pages mark it with `lang`); exports and
        officer screens get plain strings."""
        self.survey = survey
        self.mark_language = mark_language
        # Shared with other requests of this process (see survey_cache): read only.
        self._values = survey_texts(survey, languages)

    def get(self, key: str, language: str, default: str = "") -> str:
        value = self._values.get((key, language))
        source = self._values.get((key, self.survey.default_language))
        if language == self.survey.default_language:
            return value or default
        if value and value != source:
            return value
        # A missing translation, or the same words as the source (a ward or
        # place name copied into every language): still the source language.
        shown = value or source
        if not shown:
            return default
        return FallbackText(shown, self.survey.default_language) if self.mark_language else shown

    def has(self, key: str, language: str) -> bool:
        return bool(self._values.get((key, language)))

    def prompt(self, question: Question, language: str) -> str:
        return self.get(prompt_key(question.key), language, question.key)

    def hint(self, question: Question, language: str) -> str:
        return self.get(hint_key(question.key), language)

    def option(self, question: Question, code: str, language: str) -> str:
        return self.get(option_key(question.key, code), language, code)

    def item(self, question: Question, code: str, language: str) -> str:
        return self.get(item_key(question.key, code), language, code)

    def title(self, language: str) -> str:
        return self.get(survey_title_key(), language, self.survey.slug)


def set_text(
    survey: Survey,
    key: str,
    language: str,
    value: str,
    *,
    status: str | None = None,
) -> TextEntry:
    """Write one text. A translation records the digest of the source text it
    was made from, so a later change to the source marks it outdated."""
    entry = db.session.scalars(
        select(TextEntry).filter_by(survey_id=survey.id, key=key, language=language)
    ).first()
    if entry is None:
        entry = TextEntry(survey_id=survey.id, key=key, language=language, value=value)
        db.session.add(entry)
    entry.value = value
    if language == survey.default_language:
        entry.status = status or TranslationStatus.REVIEWED
        entry.source_digest = digest(value)
    else:
        entry.status = status or TranslationStatus.DRAFT
        source = db.session.scalars(
            select(TextEntry).filter_by(
                survey_id=survey.id, key=key, language=survey.default_language
            )
        ).first()
        entry.source_digest = source.source_digest if source else None
    return entry


def set_texts(
    survey: Survey,
    key: str,
    values: dict[str, str],
    *,
    statuses: dict[str, str] | None = None,
    new: bool = False,
) -> None:
    """Write one piece of content in several languages. `new=True` says no
    text exists yet under this key (a question just added), which saves a
    query per language when a survey of hundreds of texts is built."""
    if not new:
        # The default language first: translations take its digest.
        ordered: Iterable[str] = sorted(values, key=lambda code: code != survey.default_language)
        for language in ordered:
            if values[language]:
                set_text(
                    survey, key, language, values[language], status=(statuses or {}).get(language)
                )
        return
    source = values.get(survey.default_language)
    source_digest = digest(source) if source else None
    for language, value in values.items():
        if not value:
            continue
        is_source = language == survey.default_language
        status = (statuses or {}).get(language) or (
            TranslationStatus.REVIEWED if is_source else TranslationStatus.DRAFT
        )
        db.session.add(
            TextEntry(
                survey_id=survey.id,
                key=key,
                language=language,
                value=value,
                status=TranslationStatus.REVIEWED if is_source else status,
                source_digest=source_digest,
            )
        )
