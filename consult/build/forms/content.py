"""The forms of the builder's content pages: the question bank, translations,
XLSForm import, population benchmarks and the postcode lookup. Most of them
upload a file, read once while the form validates."""

from __future__ import annotations

from typing import Any

from govuk_frontend_wtf.wtforms_widgets import (
    GovSelect,
    GovTextArea,
    GovTextInput,
)
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TextAreaField

from ...forms import BaseForm, Checkbox, UploadField, choices, optional_id
from ...vocabulary import Audience


class BankForm(BaseForm):
    section = SelectField(
        "Add the chosen questions to the section",
        widget=GovSelect(),
        coerce=optional_id,
        validate_choice=False,
    )
    # The bank's own keys are checked by the service, which names an unknown one.
    items = SelectMultipleField("Questions", validate_choice=False)

    def __init__(self, sections: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.section.choices = choices(sections)


class TranslationForm(BaseForm):
    value = TextAreaField("Translation", widget=GovTextArea())
    reviewed = BooleanField(
        "I have checked this translation (mark it as reviewed)", widget=Checkbox()
    )


class ReviewForm(BaseForm):
    # Texts not ticked are none of the form's business: no keys means all.
    keys = SelectMultipleField("Texts", validate_choice=False)


class TranslationImportForm(BaseForm):
    file = UploadField("Spreadsheet (.xlsx)")
    reviewed = BooleanField(
        "These translations have been checked by a second native speaker (mark them as reviewed)",
        widget=Checkbox(),
    )


class XliffImportForm(BaseForm):
    file = UploadField(
        "XLIFF file (.xlf or .xliff)",
        suffixes=(".xlf", ".xliff"),
        wrong_suffix="The file must be an XLIFF file (.xlf or .xliff)",
    )
    reviewed = BooleanField(
        "These translations have been checked by a second native speaker "
        "(mark them all as reviewed)",
        widget=Checkbox(),
    )


class XLSFormImportForm(BaseForm):
    slug = StringField(
        "Web address of the new survey",
        widget=GovTextInput(),
        description="Lowercase letters, numbers and hyphens, like feeling-safe-2026",
    )
    # The service refuses an audience it does not know, in its own words.
    audience = SelectField(
        "Who is it for?",
        widget=GovSelect(),
        choices=choices(
            [(Audience.RESIDENTS, "Residents"), (Audience.STAKEHOLDERS, "Stakeholders")]
        ),
        default=Audience.RESIDENTS,
        validate_choice=False,
    )
    file = UploadField("XLSForm (.xlsx)")


class BenchmarksForm(BaseForm):
    file = UploadField("CSV file")
    note = StringField(
        "Where the figures come from",
        widget=GovTextInput(),
        description="For example: ONS Census 2021, Leicester (E06000016)",
    )
    check = SelectField(
        "Check the categories against a survey's demographic questions",
        widget=GovSelect(),
        description="Every category in the file must be one the survey maps answers to. "
        "Choose “Do not check” for a new area or a new census, then map the questions "
        "to the new categories.",
        # The service finds the chosen survey among those it can check.
        validate_choice=False,
    )

    def __init__(self, surveys: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check.choices = choices([("", "Do not check"), *surveys])


class PostcodeLookupForm(BaseForm):
    file = UploadField("CSV file")
    note = StringField(
        "Where the table comes from",
        widget=GovTextInput(),
        description="For example: ONS Postcode Directory, May 2025, Leicester",
    )
