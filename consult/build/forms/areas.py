"""The form on the "Wards grouped into areas" page: one area name per ward."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from govuk_frontend_wtf.wtforms_widgets import GovTextInput
from wtforms import StringField

from ...forms import BaseForm


def ward_field(ward: str) -> str:
    """A field name for `ward` that survives new benchmarks (ward names hold
    spaces, '&' and apostrophes; their order can change between versions)."""
    return "ward-" + hashlib.sha1(ward.encode("utf-8")).hexdigest()[:12]


class WardAreasForm(BaseForm):
    def ward_fields(self, wards: Sequence[str]) -> list[tuple[str, StringField]]:
        return [(ward, self[ward_field(ward)]) for ward in wards]

    def chosen(self, wards: Sequence[str]) -> dict[str, str]:
        return {ward: field.data or "" for ward, field in self.ward_fields(wards)}


def ward_areas_form(wards: Sequence[str], saved: Mapping[str, str]) -> WardAreasForm:
    """A form with a text field per ward of the current benchmarks, filled
    with the saved areas (or with what was posted)."""

    class Form(WardAreasForm):
        pass

    for ward in wards:
        setattr(
            Form,
            ward_field(ward),
            StringField(f"Area for {ward}", widget=GovTextInput(), default=saved.get(ward, "")),
        )
    return Form()
