"""Shared form pieces. Forms render through govuk-frontend-wtf so every field
gets GOV.UK error messages, labels and hints."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice

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

    def refuse(self, error: ServiceError | None, default: str) -> None:
        """Show a service's refusal on the field it names, or on `default`
        when it names none of this form's fields."""
        if error is None:
            return
        field = self._fields.get(error.field or default) or self._fields[default]
        field.errors = [error.message]


def choices(pairs: list[tuple[str, str]]) -> list[SelectChoice]:
    """WTForms 3.3 deprecates tuple choices."""
    return [SelectChoice(value, label) for value, label in pairs]
