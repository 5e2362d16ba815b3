"""The forms of a survey's structure: creating a survey, its settings and a
new wave, sections, questions (with the condition that shows them and their
demographic role) and their answers.

Field names are what these pages have always posted. The survey's overview
and the question's page each hold several forms, so `PrefixedIds` puts the
form's prefix on the ids only: ids stay unique on the page and the error
summary links to the right field, while the names posted stay plain.

The rules (what a key may look like, which dates are allowed) stay in
consult.services.builder, whose refusals come back through `refuse`; the
forms only turn text into the types the services take."""

from __future__ import annotations

from datetime import date
from typing import Any

from govuk_frontend_wtf.wtforms_widgets import GovSelect, GovTextArea, GovTextInput
from wtforms import (
    BooleanField,
    Field,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import ValidationError

from ...forms import BaseForm, Checkbox, Checkboxes, Radios, choices, optional_id
from ...i18n import LANGUAGES
from ...models import QuestionType
from ...vocabulary import Audience, SectionKind

AUDIENCE_CHOICES = [
    (Audience.RESIDENTS.value, "Residents (personal questions about them)"),
    (Audience.STAKEHOLDERS.value, "Stakeholders (answering for an organisation)"),
]
SECTION_KIND_CHOICES = [
    (SectionKind.STANDARD.value, "Standard"),
    (SectionKind.ABOUT_YOU.value, "About you (equality monitoring)"),
    (SectionKind.SPECIAL.value, "Special category (asked only after consent)"),
]
COMPARE_CHOICES = [
    ("", "Choose how to compare"),
    ("gt", "more than (after)"),
    ("gte", "at least (on or after)"),
    ("lt", "less than (before)"),
    ("lte", "at most (on or before)"),
]
KEEP_CHOICES = [
    ("ward", "The ward only"),
    ("sector", "The ward and the postcode sector, like LE1 5"),
]
YES_NO = [("yes", "Yes"), ("no", "No")]
# The type-specific settings both question forms carry, passed to the
# builder as one dictionary (it checks them per type).
SETTING_NAMES = (
    "top_n",
    "max_choices",
    "max_length",
    "min",
    "max",
    "unit",
    "places",
    "not_future",
    "not_past",
    "keep",
    "ward_list",
    "positive_shown",
    "positive",
    "positive_label",
)


def language_choices(leave_out: str) -> list[Any]:
    return choices(
        [
            (code, f"{lang.english_name} ({lang.native_name})")
            for code, lang in LANGUAGES.items()
            if code != leave_out
        ]
    )


class PrefixedIds(BaseForm):
    """A form that shares its page with others: its fields' ids start with
    `id_prefix`, their names do not."""

    id_prefix = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self:
            field.id = f"{self.id_prefix}-{field.name}"


class DayText:
    """A date typed as YYYY-MM-DD (the browser's date picker sends that):
    empty is no date, anything else that is not a real day is refused."""

    def __init__(self, label: str) -> None:
        self.label = label

    def __call__(self, form: BaseForm, field: Field) -> None:
        if (field.data or "").strip() and day(field) is None:
            raise ValidationError(f"{self.label} must be a real date, like 2026-09-30")


def day(field: Field) -> date | None:
    try:
        return date.fromisoformat((field.data or "").strip())
    except ValueError:
        return None


# --- A survey as a whole ---------------------------------------------------


class NewSurveyForm(BaseForm):
    title = StringField(
        "Title",
        widget=GovTextInput(),
        description="Residents see this first, for example: How safe do you feel? "
        "Community safety survey 2026",
    )
    slug = StringField(
        "Web address",
        widget=GovTextInput(),
        description="Lowercase letters, numbers and hyphens. The survey will be at /s/ "
        "followed by this, for example feeling-safe-2026",
    )
    audience = RadioField(
        "Who is it for?",
        widget=Radios(),
        choices=choices(AUDIENCE_CHOICES),
        default=Audience.RESIDENTS.value,
        validate_choice=False,
    )
    languages = SelectMultipleField(
        "Languages offered",
        widget=Checkboxes(),
        description="English is always offered. Every text residents see must be translated "
        "into each language before the survey can open; the question bank has drafts in all "
        "of these.",
        choices=language_choices("en"),
        validate_choice=False,
    )

    def chosen_languages(self) -> list[str]:
        return ["en", *[c for c in self.languages.data or [] if c != "en"]]


class SettingsForm(BaseForm):
    title = StringField("Title", widget=GovTextInput())
    intro = StringField("Introduction shown on the first page (optional)", widget=GovTextArea())
    audience = RadioField(
        "Who is it for?",
        widget=Radios(),
        choices=choices([(a.value, a.value.capitalize()) for a in Audience]),
        validate_choice=False,
    )
    languages = SelectMultipleField(
        "Languages offered",
        widget=Checkboxes(),
        description="Adding a language makes its texts “missing” until translated; the survey "
        "cannot open while any text residents see is missing.",
        validate_choice=False,
    )
    opens_on = StringField(
        "Opening date (optional)",
        widget=GovTextInput(),
        description="For example 2026-09-01. Opening the survey early sets it to today.",
        validators=[DayText("The opening date")],
    )
    closes_on = StringField(
        "Closing date (optional)", widget=GovTextInput(), validators=[DayText("The closing date")]
    )
    retention_until = StringField(
        "Keep raw responses until",
        widget=GovTextInput(),
        description="After this date free text and individual responses are deleted and only "
        "totals remain. Required before opening.",
        validators=[DayText("The retention date")],
    )
    privacy = StringField(
        "Privacy notice for this survey (optional)",
        widget=GovTextArea(),
        description="Who is collecting the answers, why, how long they are kept and whom to "
        "contact. Shown to residents before they start; translated like every other text.",
    )

    def __init__(self, *args: Any, default_language: str = "en", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.languages.choices = language_choices(default_language)
        self.languages.label.text = (
            f"Languages offered besides {LANGUAGES[default_language].english_name}"
        )


class StatusForm(BaseForm):
    """The overview's buttons: open, close, publish or unpublish."""

    action = HiddenField()


class DeleteSurveyForm(BaseForm):
    # Only the confirmation page's own form says yes.
    confirm = HiddenField()


class MoveForm(BaseForm):
    """The up and down buttons of sections, questions and answers."""

    direction = HiddenField()


class NewWaveForm(BaseForm):
    slug = StringField("Web address of the new wave", widget=GovTextInput())


# --- Sections --------------------------------------------------------------


class NewSectionForm(PrefixedIds):
    id_prefix = "section"
    title = StringField("Section title", widget=GovTextInput())
    key = StringField(
        "Section key",
        widget=GovTextInput(),
        description="A short name used in exports: lowercase letters, numbers and "
        "underscores, like about_you",
    )
    kind = SelectField(
        "Kind of section",
        widget=GovSelect(),
        choices=choices(SECTION_KIND_CHOICES),
        default=SectionKind.STANDARD.value,
        validate_choice=False,
    )


class SectionForm(BaseForm):
    title = StringField(
        "Section title",
        widget=GovTextInput(),
        description="Translations of the old title will show as outdated until a translator "
        "checks them.",
    )


# --- Questions -------------------------------------------------------------


class _QuestionFields(BaseForm):
    """What the "add a question" page and the question's own page share."""

    section = SelectField("Section", widget=GovSelect(), coerce=optional_id, validate_choice=False)
    hint = StringField("Hint (optional)", widget=GovTextInput())
    required = BooleanField("Residents must answer it", widget=Checkbox())
    top_n = StringField("How many to pick and rank", widget=GovTextInput())
    max_choices = StringField("The most that can be ticked (optional)", widget=GovTextInput())
    max_length = StringField("Longest answer in characters (optional)", widget=GovTextInput())
    min = StringField("Smallest allowed (optional)", widget=GovTextInput())
    max = StringField("Largest allowed (optional)", widget=GovTextInput())
    places = StringField("Decimal places allowed (0 to 6, default 2)", widget=GovTextInput())
    not_future = BooleanField("Not in the future", widget=Checkbox())
    not_past = BooleanField("Not in the past", widget=Checkbox())
    keep = SelectField(
        "What to keep once the postcode has given the ward (the full postcode is never kept)",
        widget=GovSelect(),
        choices=choices(KEEP_CHOICES),
        default="ward",
        validate_choice=False,
    )
    ward_list = SelectField(
        "Offer the list of wards to residents who do not know their postcode",
        widget=GovSelect(),
        choices=choices(YES_NO),
        default="yes",
        validate_choice=False,
    )

    def set_sections(self, pairs: list[tuple[int, str]]) -> None:
        self.section.choices = choices([(str(id_), title) for id_, title in pairs])

    def settings(self) -> dict[str, Any]:
        """The type-specific settings, as the builder takes them."""
        return {name: self._fields[name].data for name in SETTING_NAMES if name in self._fields}


class NewQuestionForm(_QuestionFields):
    prompt = StringField("The question, as residents will read it", widget=GovTextArea())
    key = StringField(
        "Question key",
        widget=GovTextInput(),
        description="The column name in every export: lowercase letters, numbers and "
        "underscores, like safe_after_dark. It cannot change once anyone has answered.",
    )
    type = RadioField(
        "Type of question",
        widget=Radios(),
        choices=[],
        validate_choice=False,
    )
    adults_only = BooleanField("Ask only people aged 16 or over", widget=Checkbox())

    def __init__(self, *args: Any, type_labels: dict[Any, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.type.choices = choices([(t.value, type_labels[t]) for t in QuestionType])


class QuestionForm(_QuestionFields):
    prompt = StringField("The question", widget=GovTextArea())
    key = StringField(
        "Question key", widget=GovTextInput(), description="The column name in exports."
    )
    adults_only = BooleanField(
        "Ask only people aged 16 or over (always so for special-category questions)",
        widget=Checkbox(),
    )
    unit = StringField("Unit (optional)", widget=GovTextInput())
    positive_shown = HiddenField()
    positive = SelectMultipleField(
        "Summary share in the results (optional)",
        widget=Checkboxes(),
        description="Tick the answers the results should add up as one share, like “very safe” "
        "and “fairly safe” for “feel safe”.",
        validate_choice=False,
    )
    positive_label = StringField("Name of the summary share (optional)", widget=GovTextInput())


class OptionForm(PrefixedIds):
    """Adding an answer, on the question's page."""

    id_prefix = "option"
    label = StringField("Wording", widget=GovTextInput())
    code = StringField(
        "Code",
        widget=GovTextInput(),
        description="Stored instead of the wording, in every language: lowercase letters, "
        "numbers and underscores, like very_safe",
    )
    kind = SelectField(
        "Is it a scale point or an item?",
        widget=GovSelect(),
        choices=choices([("choice", "Scale point (a column)"), ("item", "Item (a row)")]),
        default="choice",
        validate_choice=False,
    )
    exclusive = BooleanField(
        "Cannot be combined with other answers (None of these, Prefer not to say)",
        widget=Checkbox(),
    )
    is_missing = BooleanField(
        "A non-answer for analysis (Prefer not to say, Don't know)", widget=Checkbox()
    )


class EditOptionForm(BaseForm):
    """An answer's own page."""

    label = StringField("Wording", widget=GovTextInput())
    code = StringField("Code", widget=GovTextInput())
    exclusive = BooleanField("Cannot be combined with other answers", widget=Checkbox())
    is_missing = BooleanField(
        "A non-answer for analysis (Prefer not to say, Don't know)", widget=Checkbox()
    )


# --- Conditions and demographic roles --------------------------------------


class ChooseSourceForm(PrefixedIds):
    """Which earlier question the condition is on: a GET form, so the page
    can offer that question's answers."""

    id_prefix = "condition"

    class Meta:
        csrf = False

    source = SelectField(
        "Show it only after an answer to",
        widget=GovSelect(),
        description="Earlier questions answered by choosing options, or by a number or a date.",
        validate_choice=False,
    )


class ConditionForm(PrefixedIds):
    id_prefix = "condition"
    source = HiddenField()
    remove = HiddenField()
    compare = SelectField(
        "How to compare",
        widget=GovSelect(),
        choices=choices(COMPARE_CHOICES),
        validate_choice=False,
    )
    value = StringField("Value", widget=GovTextInput())
    # Replaced per source by `condition_form`: the answers' checkboxes are
    # named after the source question, so answers chosen for one question
    # never count for another.
    codes = SelectMultipleField("Answers", widget=Checkboxes(), validate_choice=False)

    def chosen_source(self) -> str:
        return "" if self.remove.data else (self.source.data or "")


def condition_form(source_key: str, **kwargs: Any) -> ConditionForm:
    form_class = type(
        "SourceConditionForm",
        (ConditionForm,),
        {
            "codes": SelectMultipleField(
                "Answers", widget=Checkboxes(), validate_choice=False, name=f"codes_{source_key}"
            )
        },
    )
    form: ConditionForm = form_class(**kwargs)
    form.codes.id = "condition-codes"
    return form


class ChooseVariableForm(PrefixedIds):
    """Which demographic variable the question asks about: a GET form, so
    the page can offer that variable's benchmark categories."""

    id_prefix = "demographic"

    class Meta:
        csrf = False

    variable = SelectField("It asks about", widget=GovSelect(), validate_choice=False)


class DemographicForm(PrefixedIds):
    id_prefix = "demographic"
    variable = HiddenField()

    def mapping(self) -> dict[str, str]:
        return {
            field.name.removeprefix("map_"): (field.data or "").strip()
            for field in self
            if field.name.startswith("map_")
        }


def demographic_form(
    mapped: list[tuple[str, str]], categories: list[tuple[str, str]] | None, **kwargs: Any
) -> DemographicForm:
    """The role's form with one field per answer: `mapped` pairs each
    answer's code with its label; with `categories` (the benchmarks'), a
    choice of them, otherwise typed."""
    fields: dict[str, Any] = {}
    for code, label in mapped:
        if categories is not None:
            fields[f"map_{code}"] = SelectField(
                label,
                widget=GovSelect(),
                choices=choices([("", "Not compared"), *categories]),
                validate_choice=False,
            )
        else:
            fields[f"map_{code}"] = StringField(label, widget=GovTextInput())
    form_class = type("MappedDemographicForm", (DemographicForm,), fields)
    form: DemographicForm = form_class(**kwargs)
    return form
