"""The forms of the fieldwork pages: the fixed fields of the paper-entry
page, the reason for a correction, finding a response, the return address
and the import of a file of responses.

The answers keyed on the paper-entry and correction pages are the
questionnaire's own questions, named by `paper.entry_field` and checked by
the question types' parsers; they are not fields of these forms. Field names
are what these pages have always posted."""

from __future__ import annotations

from typing import Any

from govuk_frontend_wtf.wtforms_widgets import GovSelect, GovTextArea, GovTextInput
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField

from ..forms import BaseForm, Checkbox, UploadField, choices

MAX_IMPORT = 2 * 1024 * 1024  # the request body cap (MAX_CONTENT_LENGTH) is 2 MiB

IMPORT_CHANNELS = [
    ("paper", "Paper questionnaires"),
    ("face_to_face", "Face to face"),
    ("online", "Online (another survey tool)"),
    ("imported", "Imported (say so per row with a channel column)"),
]


class PaperEntryForm(BaseForm):
    # The service checks every choice, in its own words, all at once with
    # the answers: the form only carries them.
    channel = SelectField("Channel", widget=GovSelect(), validate_choice=False, default="paper")
    language = SelectField("Language of the form", widget=GovSelect(), validate_choice=False)
    outreach_channel = SelectField(
        "Outreach channel",
        widget=GovSelect(),
        validate_choice=False,
        description="Where the form was handed out; kept for the rest of the batch",
    )
    batch = StringField(
        "Batch",
        widget=GovTextInput(),
        description="The label on the bundle, like WARD3-JUNE",
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )
    serial = StringField(
        "Form serial number",
        widget=GovTextInput(),
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )
    keying = SelectField(
        "Keying",
        widget=GovSelect(),
        validate_choice=False,
        default="1",
        choices=choices([("1", "First keying"), ("2", "Second keying (to check a batch)")]),
    )
    consent = SelectField(
        "Agreed to the optional questions?",
        widget=GovSelect(),
        validate_choice=False,
        choices=choices([("", "The form does not say"), ("yes", "Yes"), ("no", "No")]),
    )
    idempotency_key = HiddenField()

    def __init__(
        self,
        channels: list[tuple[str, str]],
        languages: list[tuple[str, str]],
        outreach_channels: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.channel.choices = choices(channels)
        self.language.choices = choices(languages)
        self.outreach_channel.choices = choices([("", "None"), *outreach_channels])

    def keying_number(self) -> int:
        """The keying asked for; junk is 0, which the service refuses."""
        try:
            return int(self.keying.data or 1)
        except ValueError:
            return 0


class CorrectionForm(BaseForm):
    reason = TextAreaField(
        "Why is it being corrected?",
        widget=GovTextArea(),
        description="For example: the keyer typed 34, the paper form says 43",
    )


class FindResponseForm(BaseForm):
    """A search (GET): no CSRF token, the query string is its data."""

    class Meta:
        csrf = False

    reference = StringField(
        "Response reference",
        widget=GovTextInput(),
        description="As shown to the resident, printed in exports (resp_reference) "
        "or given by paper entry, like ABC-1234",
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )


class ReturnAddressForm(BaseForm):
    return_address = TextAreaField(
        "Where residents post the form back (printed on every questionnaire of the partnership)",
        widget=GovTextArea(),
    )


class ImportResponsesForm(BaseForm):
    # The service refuses a channel it does not know, in its own words.
    channel = SelectField(
        "How were these responses collected?",
        widget=GovSelect(),
        choices=choices(IMPORT_CHANNELS),
        default="paper",
        validate_choice=False,
    )
    file = UploadField(
        "File of responses (.csv or .xlsx)",
        limit=MAX_IMPORT,
        missing="Choose a CSV or Excel file of responses",
        too_large="The file is larger than 2 MB: import it with the command line",
    )
    dry_run = BooleanField("Only check the file, store nothing", widget=Checkbox())


class SettleForm(BaseForm):
    """A difference's buttons on the comparison page: which keying to keep,
    or the value typed from the paper form (an answer input, named by
    `paper.entry_field`, read by its parser)."""

    choice = HiddenField()
    reason = StringField()
