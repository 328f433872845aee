"""Fields the shapes share: show times, seat labels, phone numbers, moments."""

from datetime import UTC, date, datetime, time
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from phonenumber_field.phonenumber import PhoneNumber
from rest_framework import serializers

from ..models import parse_phone, validate_on_the_minute
from ..seatmaps import seat_label, seat_number


def iso(value: datetime | None) -> str | None:
    """A moment in the theatre's time zone, to the second, with its offset."""
    return None if value is None else timezone.localtime(value).isoformat(timespec="seconds")


def local_moment(day: date, at: time) -> datetime:
    """The moment of a date and a time read in the theatre's zone (TIME_ZONE).

    A 400 on `date` when the moment is outside the calendar in UTC, where it is stored:
    9999-12-31 23:00 west of UTC is already in year 10000 there.
    """
    moment = timezone.make_aware(datetime.combine(day, at))
    try:
        moment.astimezone(UTC)
    except OverflowError:
        raise serializers.ValidationError({"date": ["This date is out of range."]}) from None
    return moment


def phone_text(number: PhoneNumber | str) -> str:
    """A stored phone number as E.164 text."""
    return number.as_e164 if isinstance(number, PhoneNumber) else str(number)


@extend_schema_field({"type": "string", "pattern": r"^\d{2}:\d{2}(:00)?$", "example": "19:30"})
class ShowTimeField(serializers.Field):
    """A show's start time: "HH:MM", or "HH:MM:SS" with 00 seconds. Shown as "HH:MM"."""

    default_error_messages = {"invalid": "Time has wrong format. Use HH:MM."}

    def to_internal_value(self, data: Any) -> time:
        text = data.strip() if isinstance(data, str) else ""
        if len(text) not in (5, 8):
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


@extend_schema_field({"type": "string", "pattern": "^[A-Za-z]+[1-9][0-9]*$", "example": "B4"})
class SeatField(serializers.Field):
    """A seat label like "B4", as its seat number."""

    default_error_messages = {"label": "Not a seat label: use a row letter and a seat number, like B4."}

    def to_internal_value(self, data: Any) -> int:
        number = seat_number(data) if isinstance(data, str) and len(data) <= 8 else None
        if number is None:
            self.fail("label")
        return number

    def to_representation(self, value: int) -> str:
        return seat_label(value)


@extend_schema_field({"type": "string", "example": "+91 415 555 0123"})
class PhoneField(serializers.CharField):
    """A phone number in any format (models.parse_phone); stored and shown as E.164."""

    default_error_messages = {"invalid": "Enter a valid phone number."}

    def to_internal_value(self, data: Any) -> PhoneNumber:
        number = parse_phone(super().to_internal_value(data))
        if number is None:
            self.fail("invalid")
        return number

    def to_representation(self, value: PhoneNumber | str) -> str:
        return phone_text(value)
