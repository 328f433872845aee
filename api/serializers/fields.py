"""Fields the shapes share: rows by id, show times, seat labels, phone numbers, moments."""

import re
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from phonenumber_field.phonenumber import PhoneNumber
from rest_framework import serializers
from rest_framework.fields import empty

from ..models import has_country_code, parse_phone, phone_text, plain_digits, validate_on_the_minute
from ..selectors import MAX_ID

SEAT_LABEL = re.compile(r"[A-Z]{1,3}[1-9][0-9]{0,2}")


def seat_label(text: str) -> str | None:
    """A seat label as given (any case, spaces around), upper-cased; None for anything else.
    ASCII only, checked before upper(): "ß1" would read as SS1."""
    label = text.strip()
    return label.upper() if label.isascii() and SEAT_LABEL.fullmatch(label.upper()) else None


ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
SHOW_TIME = re.compile(r"[0-9]{2}:[0-9]{2}(?::[0-9]{2})?", re.ASCII)
# A phone number without a country code, as people type one: 4 to 20 digits with spaces,
# dots, dashes, slashes, brackets and stars, maybe after "tel:", maybe with an extension
# ("ext. 5", "x5", "#5", which the number's parser reads and drops).
LOCAL_PHONE = re.compile(r"(?:tel:)?[0-9()\[\]./ *-]+(?:\s*(?:ext\.?|x|#)\s*[0-9]{1,6})?", re.IGNORECASE)


def looks_like_a_local_phone(text: str) -> bool:
    return len(text) <= 40 and bool(LOCAL_PHONE.fullmatch(text)) and 4 <= sum(c.isdigit() for c in text) <= 20


class IdRelatedField(serializers.PrimaryKeyRelatedField):
    """A row by its id, a whole number. PrimaryKeyRelatedField hands the value to
    queryset.get(pk=...), whose int() took a JSON 1.9 as row 1: the id is read first as
    an IntegerField reads the body's `show` ("A valid integer is required."; "1" and 1.0
    are 1, true and 1.5 are not), and one no row can have (below 1 or past MAX_ID, as
    filters.IdFilter) is looked up nowhere."""

    default_error_messages = {"invalid": serializers.IntegerField.default_error_messages["invalid"]}
    whole_number = serializers.IntegerField()

    def to_internal_value(self, data: Any) -> Any:
        try:
            pk = self.whole_number.to_internal_value(data)
        except serializers.ValidationError:
            self.fail("invalid")
        if not 1 <= pk <= MAX_ID:
            self.fail("does_not_exist", pk_value=pk)
        return super().to_internal_value(pk)


class DayField(serializers.DateField):
    """A date as API.md writes it, YYYY-MM-DD, and no other: DRF reads dates with Python's
    date.fromisoformat, which also takes week dates ("2026-W50" was a Monday's show) and the
    basic form ("20261208"), which the filters refuse (their strptime's "%Y-%m-%d" still
    takes a one-digit month or day, "2026-1-5": lenient, and the same day)."""

    def to_internal_value(self, value: Any) -> date:
        if isinstance(value, str) and not ISO_DAY.fullmatch(value):
            self.fail("invalid", format="YYYY-MM-DD")
        return super().to_internal_value(value)


def iso(value: datetime | None, zone: ZoneInfo | None = None) -> str | None:
    """A moment in a venue's zone (default: TIME_ZONE), to the second, with its offset."""
    return None if value is None else timezone.localtime(value, zone).isoformat(timespec="seconds")


@extend_schema_field({"type": "string", "pattern": r"^\d{2}:\d{2}(:00)?$", "example": "19:30"})
class ShowTimeField(serializers.Field):
    """A show's start time: "HH:MM", or "HH:MM:SS" with 00 seconds, read in the venue's
    zone. Shown as "HH:MM".

    The text is matched first, as DayField's: time.fromisoformat also reads a UTC offset
    ("19:30+01", "1930Z"), and the aware time then failed where the service makes the
    moment, a 400 on `date` ("This date is out of range.") for a date that was fine; and
    forms API.md has not ("T1930")."""

    default_error_messages = {"invalid": "Time has wrong format. Use HH:MM."}

    def to_internal_value(self, data: Any) -> time:
        text = data.strip() if isinstance(data, str) else ""
        if not SHOW_TIME.fullmatch(text):
            self.fail("invalid")
        try:
            value = time.fromisoformat(text)
        except ValueError:
            self.fail("invalid")
        try:
            validate_on_the_minute(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc
        return value

    def to_representation(self, value: time) -> str:
        return value.strftime("%H:%M")


@extend_schema_field({"type": "string", "pattern": "^[A-Za-z]{1,3}[1-9][0-9]{0,2}$", "example": "B4"})
class SeatField(serializers.Field):
    """A seat label like "B4" (any case); whether the seat exists is the show's map's to say."""

    default_error_messages = {"label": "Not a seat label: use a row letter and a seat number, like B4."}

    def to_internal_value(self, data: Any) -> str:
        label = seat_label(data) if isinstance(data, str) else None
        if label is None:
            self.fail("label")
        return label

    def to_representation(self, value: str) -> str:
        return value


@extend_schema_field({"type": "string", "example": "+91 415 555 0123"})
class PhoneField(serializers.CharField):
    """A phone number in any format (models.parse_phone); stored and shown as E.164.

    One with a country code is checked here. One without is read in the country of the
    venue it books at, which the service knows once it has the show: here it is only
    checked to look like a phone number, and comes back as text.
    """

    default_error_messages = {"invalid": "Enter a valid phone number."}

    def run_validation(self, data: Any = empty) -> PhoneNumber | str:
        # CharField's checks (blank, NUL and surrogate characters) run on the text as given,
        # and the number is read after them: run on a PhoneNumber, each check would validate
        # and format the number again.
        text = plain_digits(super().run_validation(data))
        if has_country_code(text):
            number = parse_phone(text)
            if number is None:
                self.fail("invalid")
            return number
        if not looks_like_a_local_phone(text):
            self.fail("invalid")
        return text

    def to_representation(self, value: PhoneNumber | str) -> str:
        return phone_text(value)
