"""Decimal, date and postcode answers: reading them from a form and their
settings. `consult.services.answers` registers these parsers beside its own,
so residents, paper entry and cleaning all read them the same way.

* decimal: ``settings`` ``min``, ``max``, ``places`` (decimal places allowed,
  default 2); stored in ``number``.
* date: three fields ``<key>-day``, ``<key>-month``, ``<key>-year`` as the
  GOV.UK date input has them; ``settings`` ``not_future``, ``not_past``,
  ``min`` and ``max`` (YYYY-MM-DD); stored in ``text`` as YYYY-MM-DD, which
  sorts and compares as dates do.
* postcode: ``<key>`` (the postcode) or, where the survey offers the ward
  list (``settings["ward_list"]``, on by default), ``<key>-ward``;
  stored as the ward's option code, plus the sector in ``text`` when
  ``settings["keep"] == "sector"``. The full postcode is never stored."""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from babel.dates import format_date
from babel.numbers import get_decimal_symbol
from flask_babel import get_locale
from flask_babel import gettext as _

from ..models import Question
from . import postcodes

if TYPE_CHECKING:
    from .answers import ParsedAnswer, _Values
    from .content import SurveyTexts

DEFAULT_PLACES = 2
MAX_PLACES = 6
DATE_PARTS = ("day", "month", "year")
_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_DIGITS = re.compile(r"^\d+$")


# --- settings -------------------------------------------------------------------------


def decimal_places(question: Question) -> int:
    try:
        places = int((question.settings or {}).get("places", DEFAULT_PLACES))
    except (TypeError, ValueError):
        return DEFAULT_PLACES
    return min(max(places, 0), MAX_PLACES)


def parse_iso(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def date_bounds(question: Question, today: date | None = None) -> tuple[date | None, date | None]:
    """The earliest and latest date allowed, "not in the future" included."""
    settings = question.settings or {}
    today = today or date.today()
    low, high = parse_iso(settings.get("min")), parse_iso(settings.get("max"))
    if settings.get("not_future"):
        high = min(high, today) if high else today
    if settings.get("not_past"):
        low = max(low, today) if low else today
    return low, high


def offers_ward_list(question: Question) -> bool:
    return bool((question.settings or {}).get("ward_list", True))


def date_field(question: Question, part: str) -> str:
    return f"{question.key}-{part}"


def ward_field(question: Question) -> str:
    return f"{question.key}-ward"


# --- parsing --------------------------------------------------------------------------


def _ascii_digits(raw: str) -> str:
    """Digits from any script become ASCII; spaces go."""
    text = "".join(
        str(unicodedata.decimal(ch))
        if ch.isdigit() and unicodedata.decimal(ch, None) is not None
        else ch
        for ch in raw.strip()
    )
    return re.sub(r"[\s\u00a0\u202f']", "", text.replace("\u066b", "."))


def _decimal_symbol() -> str:
    try:
        return get_decimal_symbol(str(get_locale() or "en"))
    except Exception:  # an unknown locale: the full stop
        return "."


def parse_decimal(question: Question, form: _Values, texts: SurveyTexts | None) -> ParsedAnswer:
    from .answers import (
        EMPTY,
        ParsedAnswer,
        _required,
        _single_value,
        check_bounds,
        field_name,
    )

    raw = _single_value(form, field_name(question))
    if not raw:
        if question.required:
            raise _required(question, _("Enter a number"))
        return EMPTY
    value = _ascii_digits(raw)
    if "," in value:
        # A decimal comma is what a Polish resident types; anywhere else
        # "1,5" could be one and a half or fifteen, so ask rather than guess.
        if _decimal_symbol() == "," and value.count(",") == 1 and "." not in value:
            value = value.replace(",", ".")
        else:
            raise _required(question, _("Use a full stop for the decimal point, like 1.5"))
    if not _DECIMAL.match(value) or len(value) > 30:
        raise _required(question, _("Enter a number, like 1.5"))
    try:
        exact = Decimal(value)
    except InvalidOperation:
        raise _required(question, _("Enter a number, like 1.5")) from None
    number = float(exact)
    if not math.isfinite(number):
        raise _required(question, _("Enter a number, like 1.5"))
    places = decimal_places(question)
    exponent = exact.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        if places == 0:
            raise _required(question, _("Enter a whole number, like 5"))
        raise _required(
            question,
            _("Enter a number with up to %(count)s decimal places, like 1.5", count=places),
        )
    check_bounds(question, number)
    return ParsedAnswer(number=number)


def show_date(value: date, language: str | None = None) -> str:
    try:
        return format_date(value, "d MMMM y", locale=language or str(get_locale() or "en"))
    except Exception:  # an unknown locale
        return value.isoformat()


def parse_date(question: Question, form: _Values, texts: SurveyTexts | None) -> ParsedAnswer:
    from .answers import EMPTY, AnswerInvalid, FieldError, ParsedAnswer, _single_value

    parts = {
        part: _ascii_digits(_single_value(form, date_field(question, part))) for part in DATE_PARTS
    }

    def error(message: str, *fields: str) -> AnswerInvalid:
        # The error summary links to the first field in error; `item` names the
        # fields to highlight, as the GOV.UK date input pattern does.
        return AnswerInvalid(
            [FieldError(date_field(question, fields[0]), message, "date:" + ",".join(fields))]
        )

    given = [p for p in DATE_PARTS if parts[p]]
    if not given:
        if question.required:
            raise error(_("Enter a date"), *DATE_PARTS)
        return EMPTY
    missing = [p for p in DATE_PARTS if not parts[p]]
    if missing:
        # Whole sentences, not pieces: word order and case differ by language.
        messages = {
            ("day",): _("The date must include a day"),
            ("month",): _("The date must include a month"),
            ("year",): _("The date must include a year"),
            ("day", "month"): _("The date must include a day and a month"),
            ("day", "year"): _("The date must include a day and a year"),
            ("month", "year"): _("The date must include a month and a year"),
        }
        message = messages[tuple(missing)]
        raise error(message, *missing)
    not_numbers = [p for p in DATE_PARTS if not _DIGITS.match(parts[p])]
    if not_numbers:
        raise error(
            _("The date must be a real date, written in numbers, like 27 3 2007"), *not_numbers
        )
    if len(parts["year"]) != 4:
        raise error(_("The year must include 4 numbers"), "year")
    try:
        value = date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
    except ValueError:
        wrong = ["month"] if not 1 <= int(parts["month"]) <= 12 else ["day"]
        raise error(_("The date must be a real date"), *wrong) from None
    low, high = date_bounds(question)
    settings = question.settings or {}
    today = date.today()
    if high is not None and value > high:
        if settings.get("not_future") and high == today:
            raise error(_("The date must be today or in the past"), *DATE_PARTS)
        raise error(_("The date must be %(date)s or earlier", date=show_date(high)), *DATE_PARTS)
    if low is not None and value < low:
        if settings.get("not_past") and low == today:
            raise error(_("The date must be today or in the future"), *DATE_PARTS)
        raise error(_("The date must be %(date)s or later", date=show_date(low)), *DATE_PARTS)
    return ParsedAnswer(text=value.isoformat())


def parse_postcode(question: Question, form: _Values, texts: SurveyTexts | None) -> ParsedAnswer:
    from .answers import EMPTY, ParsedAnswer, _check_code, _required, _single_value, field_name

    typed = _single_value(form, field_name(question))[:20]
    ward = _single_value(form, ward_field(question)) if offers_ward_list(question) else ""
    fallback = offers_ward_list(question) and bool(question.choices)
    if not typed:
        if ward:
            _check_code(question, ward)
            return ParsedAnswer(codes=(ward,))
        if question.required:
            raise _required(
                question,
                _("Enter your postcode, or choose your area from the list")
                if fallback
                else _("Enter your postcode"),
            )
        return EMPTY
    postcode = postcodes.normalise_postcode(typed)
    if postcode is None:
        raise _required(question, _("Enter a real postcode, like LE1 5WW"))
    # By id: the resident's pages use cached questions outside the session.
    code = postcodes.ward_for_survey(question.survey_id, postcode)
    if code is None or code not in {o.code for o in question.choices}:
        if ward:
            # The resident also chose their area: that answer stands.
            _check_code(question, ward)
            return ParsedAnswer(codes=(ward,))
        raise _required(
            question,
            _(
                "We could not find %(postcode)s in our area. Check it, or choose your area from the list",
                postcode=postcode,
            )
            if fallback
            else _("We could not find %(postcode)s in our area. Check it", postcode=postcode),
        )
    kept = (
        postcodes.sector(postcode)
        if postcodes.keep_setting(question.settings) == "sector"
        else None
    )
    return ParsedAnswer(codes=(code,), text=kept)


# --- the builder's settings for these types ---------------------------------------------


def clean_settings(type_: str, raw: dict[str, Any]) -> dict[str, Any]:
    """Settings for a decimal, date or postcode question from the builder's
    form (or a definition file), checked; {} for other types."""
    from ..models import QuestionType
    from . import ServiceError

    settings: dict[str, Any] = {}

    def text(name: str) -> str:
        return str(raw.get(name, "") or "").strip()

    if type_ == QuestionType.DECIMAL:
        for name, label in (("min", "The smallest number"), ("max", "The largest number")):
            if text(name):
                try:
                    value = float(text(name))
                except ValueError:
                    raise ServiceError(f"{label} must be a number, like 1.5", field=name) from None
                if not math.isfinite(value):
                    raise ServiceError(f"{label} must be a number, like 1.5", field=name)
                settings[name] = value
        if "min" in settings and "max" in settings and settings["min"] > settings["max"]:
            raise ServiceError("The smallest number must not be more than the largest", field="min")
        if text("places"):
            if not text("places").isdigit() or int(text("places")) > MAX_PLACES:
                raise ServiceError(
                    f"The decimal places must be a whole number from 0 to {MAX_PLACES}",
                    field="places",
                )
            settings["places"] = int(text("places"))
        else:
            settings["places"] = DEFAULT_PLACES
        if text("unit"):
            settings["unit"] = text("unit")[:40]
    elif type_ == QuestionType.DATE:
        for name, label in (("min", "The earliest date"), ("max", "The latest date")):
            if text(name):
                day = parse_iso(text(name))
                if day is None:
                    raise ServiceError(
                        f"{label} must be a date written YYYY-MM-DD, like 2024-04-01", field=name
                    )
                settings[name] = day.isoformat()
        if "min" in settings and "max" in settings and settings["min"] > settings["max"]:
            raise ServiceError("The earliest date must not be after the latest", field="min")
        for flag in ("not_future", "not_past"):
            if str(raw.get(flag, "")).lower() in ("1", "true", "yes", "on"):
                settings[flag] = True
        if settings.get("not_future") and settings.get("not_past"):
            raise ServiceError(
                "A date cannot be both not in the future and not in the past: untick one of them",
                field="not_future",
            )
    elif type_ == QuestionType.POSTCODE:
        keep = text("keep") or postcodes.DEFAULT_KEEP
        if keep not in postcodes.KEEP_CHOICES:
            raise ServiceError(
                "Choose whether to keep the ward or the postcode sector", field="keep"
            )
        settings["keep"] = keep
        settings["ward_list"] = str(raw.get("ward_list", "yes")).lower() not in ("no", "0", "false")
    return settings
