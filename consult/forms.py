"""Shared form pieces. Forms render through govuk-frontend-wtf so every field
gets GOV.UK error messages, labels and hints."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovCheckboxInput,
    GovFileInput,
    GovRadioInput,
)
from werkzeug.datastructures import FileStorage
from wtforms import Field
from wtforms.fields.choices import SelectChoice
from wtforms.validators import StopValidation

from .services import ServiceError


class BaseForm(FlaskForm):
    """A form whose errors can be listed in the GOV.UK error summary."""

    def error_list(self) -> list[dict[str, str]]:
        items = []
        for name, errors in self.errors.items():
            field = self._fields.get(name)
            if not errors or field is None:
                continue
            message = errors[0] if isinstance(errors, list) else str(errors)
            if isinstance(message, dict):
                message = next(iter(message.values()))[0]
            items.append({"text": str(message), "href": f"#{field.id}"})
        return items

    def refuse_each(self, errors: Mapping[str, str]) -> dict[str, str]:
        """Show a service's refusals, by field name, on this form's fields;
        the others (inputs the page draws itself, such as the answers keyed
        on the paper-entry page) come back to show beside those inputs."""
        rest = {}
        for name, message in errors.items():
            field = self._fields.get(name)
            if field is None:
                rest[name] = message
            else:
                field.errors = [message]
        return rest

    def refuse(self, error: ServiceError | None, default: str) -> None:
        """Show a service's refusal on the field it names, or on `default`
        when it names none of this form's fields."""
        if error is None:
            return
        field = self._fields.get(error.field or default) or self._fields[default]
        field.errors = [error.message]


def error_items(errors: Mapping[str, str]) -> list[dict[str, str]]:
    """Refusals of inputs drawn outside a form, in `error_list`'s shape (the
    input's id is its name)."""
    return [{"text": message, "href": f"#{name}"} for name, message in errors.items()]


def choices(pairs: list[tuple[str, str]]) -> list[SelectChoice]:
    """WTForms 3.3 deprecates tuple choices."""
    return [SelectChoice(value, label) for value, label in pairs]


MAX_UPLOAD = 5 * 1024 * 1024


class UploadField(FileField):
    """A file of at most `limit` bytes (5 MB unless told). Validating reads
    it (never more than the limit and one byte, so a huge file costs no
    memory) and keeps its bytes in `content` and its name in `filename`."""

    widget = GovFileInput()

    def __init__(
        self,
        label: str,
        *,
        suffixes: tuple[str, ...] = (),
        wrong_suffix: str = "",
        limit: int = MAX_UPLOAD,
        missing: str = "Choose a file to upload",
        too_large: str = "The file is larger than 5 MB",
        **kwargs: Any,
    ) -> None:
        super().__init__(label, **kwargs)
        self.suffixes = suffixes
        self.wrong_suffix = wrong_suffix
        self.limit = limit
        self.missing = missing
        self.too_large = too_large
        self.content = b""
        self.filename = ""

    def pre_validate(self, form: Any) -> None:
        file = self.data
        if not isinstance(file, FileStorage) or not file.filename:
            raise StopValidation(self.missing)
        if self.suffixes and not file.filename.lower().endswith(self.suffixes):
            raise StopValidation(self.wrong_suffix)
        content = file.read(self.limit + 1)
        if len(content) > self.limit:
            raise StopValidation(self.too_large)
        if not content:
            raise StopValidation("The file is empty")
        self.content = content
        self.filename = file.filename


class _IdPrefixed:
    """GOV.UK radios and checkboxes take their ids from `idPrefix` (the
    field's name unless told) and number the boxes. Here the first box has
    the field's id, so the error summary's link lands on it, and the others
    the field's id and their value (`type-text`): an id that stays put when
    choices are added."""

    def map_gov_params(self, field: Field, **kwargs: Any) -> dict[str, Any]:
        params: dict[str, Any] = super().map_gov_params(field, **kwargs)  # type: ignore[misc]
        params.setdefault("idPrefix", field.id)
        for index, item in enumerate(params.get("items") or []):
            item.setdefault("id", field.id if index == 0 else f"{field.id}-{item['value']}")
        legend = params.get("fieldset", {}).get("legend")
        if legend is not None:
            # A page that styles the legend would otherwise lose its words.
            legend.setdefault("text", field.label.text)
        if not field.description:
            # An empty hint would still be rendered, and described-by.
            params.pop("hint", None)
        return params


class Radios(_IdPrefixed, GovRadioInput):
    """A RadioField's radios."""


class Checkboxes(_IdPrefixed, GovCheckboxesInput):
    """A SelectMultipleField's checkboxes."""


class Checkbox(_IdPrefixed, GovCheckboxInput):
    """A BooleanField's one checkbox."""


def optional_id(value: Any) -> int | None:
    """A posted id, or None for nothing or junk: a missing or tampered id is
    the service's to refuse, with its message."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
