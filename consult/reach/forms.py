"""The forms of the reach pages: drawing a sample from an address file, the
search of the drawn addresses, and the letters' wording.

Field names are what these pages have always posted. The rules (what a
sample size or seed may be, how long the wording may be) stay in the
services, whose refusals come back through `refuse`."""

from __future__ import annotations

from typing import Any

from govuk_frontend_wtf.wtforms_widgets import GovSelect, GovTextArea, GovTextInput
from wtforms import HiddenField, SelectField, StringField, TextAreaField

from ..forms import BaseForm, UploadField, choices
from ..services import address_files


class DrawForm(BaseForm):
    # A whole district's address file is larger than other uploads; the
    # request cap is raised for this one form (consult/reach/sample.py).
    file = UploadField(
        "Address file (CSV)",
        limit=address_files.MAX_FILE_BYTES,
        missing="Choose an address file to upload",
        too_large="The file is larger than 25 MB",
    )
    size = StringField(
        "How many addresses to draw",
        widget=GovTextInput(),
        description="Shared between the strata in proportion to their sizes. "
        "Leave blank to give a size per stratum below.",
    )
    stratum_column = StringField(
        "Stratum column (optional)",
        widget=GovTextInput(),
        description="The heading of the column to stratify by, for example ward or tenure. "
        "Leave blank for one simple random sample.",
    )
    sizes = TextAreaField(
        "Or a size per stratum (optional)",
        widget=GovTextArea(),
        description="One stratum a line, like: owned = 400. A stratum not listed draws none.",
    )
    seed = StringField(
        "Seed (optional)",
        widget=GovTextInput(),
        description="A whole number. The same file and seed draw the same addresses. "
        "Leave blank and a random seed is chosen and recorded.",
    )

    def choices_made(self) -> dict[str, str]:
        """What the sampling service reads (it checks the numbers)."""
        return {
            name: self._fields[name].data or ""
            for name in ("size", "sizes", "stratum_column", "seed")
        }


class AddressSearchForm(BaseForm):
    """A search (GET): no CSRF token, the query string is its data."""

    class Meta:
        csrf = False

    q = StringField("Search by id, postcode or address", widget=GovTextInput())
    status = SelectField("Code", widget=GovSelect(), validate_choice=False)

    def __init__(self, labels: dict[str, str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.status.choices = choices([("", "Any"), *labels.items()])


class WordingForm(BaseForm):
    # The hints quote the standard wording and what is printed now: the page gives them.
    why = TextAreaField("Why we ask (leave empty for the standard wording)", widget=GovTextArea())
    contact = TextAreaField(
        "How to ask for a paper questionnaire (a phone number, email or address)",
        widget=GovTextArea(),
    )


class CancelCodeForm(BaseForm):
    """A row's button on the drawn addresses: the search to go back to."""

    q = HiddenField()


class MakeLettersForm(BaseForm):
    """The buttons that make letters: the first letters or reminders."""

    kind = HiddenField()
