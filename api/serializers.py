"""Input and output shapes of the API. No booking rules here: those are in services.py.

Output serializers declare their fields (for the OpenAPI schema) but build their dicts
by hand in to_representation: on the list and booking paths DRF's per-field machinery
costs more than the database does.
"""

import functools
import uuid
from datetime import datetime, time
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models
from django.db.models import ExpressionWrapper, F
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from phonenumber_field.phonenumber import PhoneNumber, to_python
from phonenumber_field.serializerfields import PhoneNumberField
from rest_framework import serializers

from .models import Booking, Hold, Show, Ticket, expiry_cutoff, seat_label, seat_number
from .services import ShowChoice


def phone_text(number: PhoneNumber | str) -> str:
    """A stored phone number as E.164 text. str() would check its validity first."""
    if isinstance(number, PhoneNumber) and number.country_code and number.national_number:
        return number.as_e164
    return str(number)


def iso(value: datetime | None) -> str | None:
    """A moment in the theatre's time zone, to the second, with its offset."""
    return None if value is None else timezone.localtime(value).isoformat(timespec="seconds")


@extend_schema_field({"type": "string", "pattern": r"^\d{2}:\d{2}(:00)?$", "example": "19:30"})
class ShowTimeField(serializers.Field):
    """A show's start time: "HH:MM", or "HH:MM:SS" with 00 seconds. Shown as "HH:MM"."""

    default_error_messages = {
        "invalid": "Time has wrong format. Use HH:MM.",
        "seconds": "Shows start on the minute: seconds must be 00.",
    }

    def to_internal_value(self, data) -> time:
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            value = time.fromisoformat(data.strip())
        except ValueError:
            self.fail("invalid")
        if len(data.strip()) not in (5, 8):
            self.fail("invalid")
        if value.second or value.microsecond:
            self.fail("seconds")
        return value

    def to_representation(self, value: time) -> str:
        return value.strftime("%H:%M")


@extend_schema_field({"type": "string", "pattern": "^[A-Za-z]+[1-9][0-9]*$", "example": "B4"})
class SeatField(serializers.Field):
    """A seat label like "B4", as its seat number."""

    default_error_messages = {"label": "Not a seat label: use a row letter and a seat number, like B4."}

    def to_internal_value(self, data) -> int:
        number = seat_number(data) if isinstance(data, str) and len(data) <= 8 else None
        if number is None:
            self.fail("label")
        return number

    def to_representation(self, value: int) -> str:
        return seat_label(value)


def starts_at_of(day, at: time) -> datetime:
    """The moment of a date and time read in the theatre's zone (TIME_ZONE)."""
    return timezone.make_aware(datetime.combine(day, at), ZoneInfo(settings.TIME_ZONE))


class ShowChoiceSerializer(serializers.Serializer):
    """Names a show by id, or by date + time. validate() gives a ShowChoice in "choice"."""

    show = serializers.IntegerField(min_value=1, required=False, help_text="A show's id.")
    date = serializers.DateField(required=False, help_text="YYYY-MM-DD, with time.")
    time = ShowTimeField(required=False, help_text="HH:MM in the theatre's time zone, with date.")

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        show, day, at = attrs.pop("show", None), attrs.pop("date", None), attrs.pop("time", None)
        if show is not None:
            if day is not None or at is not None:
                raise serializers.ValidationError({"show": ["Give either show or date and time, not both."]})
            attrs["choice"] = ShowChoice(show_id=show)
        elif day is not None or at is not None:
            if day is None:
                raise serializers.ValidationError({"date": ["This field is required with time."]})
            if at is None:
                raise serializers.ValidationError({"time": ["This field is required with date."]})
            attrs["choice"] = ShowChoice(starts_at=starts_at_of(day, at))
        elif not self.partial:
            raise serializers.ValidationError({"non_field_errors": ["Give a show, or a date and a time."]})
        return attrs


class PhoneField(PhoneNumberField):
    """A phone number in any format, parsed once and checked once.

    phonenumber_field's own serializer field parses the text, then checks the number's
    validity up to four times (its truthiness and DRF's validators each format it, and
    formatting checks validity): on the booking path that cost more than a SQL statement.
    The PhoneNumber it gives is stored and shown as E.164.
    """

    def to_internal_value(self, data) -> PhoneNumber:
        number = to_python(serializers.CharField.to_internal_value(self, data), region=self.region)
        if not number.is_valid():
            self.fail("invalid")
        return number

    def run_validators(self, value: PhoneNumber) -> None:
        # DRF's text checks (no NUL, no surrogate) read the text sent, not the number:
        # str() of a number checks its validity again.
        super().run_validators(value.raw_input)


class PersonSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, help_text="1 to 100 characters.")
    phone_number = PhoneField(help_text="Any format; read in PHONENUMBER_DEFAULT_REGION without +.")


class TicketCreateSerializer(PersonSerializer, ShowChoiceSerializer):
    seat = SeatField(required=False, help_text="A seat label like B4; the lowest free seat if left out.")


class TicketUpdateSerializer(TicketCreateSerializer):
    """PUT needs name, phone number and the show; PATCH any of the fields."""


class ShowSerializer(serializers.ModelSerializer):
    date = serializers.DateField(read_only=True)
    time = ShowTimeField(read_only=True)
    tickets_booked = serializers.IntegerField(read_only=True)
    seats_available = serializers.IntegerField(read_only=True)
    expired = serializers.BooleanField(read_only=True)

    class Meta:
        model = Show
        fields = [
            "id",
            "title",
            "date",
            "time",
            "starts_at",
            "capacity",
            "tickets_booked",
            "seats_available",
            "expired",
        ]
        read_only_fields = fields

    def to_representation(self, show: Show) -> dict:
        local = timezone.localtime(show.starts_at)
        now = self.context.get("now") or timezone.now()
        return {
            "id": show.pk,
            "title": show.title,
            "date": local.date().isoformat(),
            "time": local.strftime("%H:%M"),
            "starts_at": local.isoformat(timespec="seconds"),
            "capacity": show.capacity,
            "tickets_booked": show.tickets_booked,
            "seats_available": max(show.seats_available, 0),
            "expired": show.starts_at <= expiry_cutoff(now),
        }


class ShowDetailSerializer(ShowSerializer):
    free_seats = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta(ShowSerializer.Meta):
        fields = [*ShowSerializer.Meta.fields, "free_seats"]
        read_only_fields = fields

    def to_representation(self, show: Show) -> dict:
        return {**super().to_representation(show), "free_seats": [seat_label(seat) for seat in show.free_seats]}


class ShowWriteSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, allow_blank=True, required=False, default="")
    date = serializers.DateField(required=False)
    time = ShowTimeField(required=False)
    starts_at = serializers.DateTimeField(required=False)
    capacity = serializers.IntegerField(min_value=1, max_value=10_000, required=False)

    def validate(self, attrs: dict) -> dict:
        day, at = attrs.pop("date", None), attrs.pop("time", None)
        if day is not None or at is not None:
            if "starts_at" in attrs:
                raise serializers.ValidationError({"starts_at": ["Give either starts_at or date and time."]})
            if day is None or at is None:
                raise serializers.ValidationError({"date" if day is None else "time": ["Give both date and time."]})
            attrs["starts_at"] = starts_at_of(day, at)
        elif "starts_at" in attrs:
            if attrs["starts_at"].second or attrs["starts_at"].microsecond:
                raise serializers.ValidationError({"starts_at": ["Shows start on the minute."]})
        elif not self.partial:
            raise serializers.ValidationError({"non_field_errors": ["Give date and time, or starts_at."]})
        return attrs


class TicketSerializer(serializers.ModelSerializer):
    """A ticket with its person's details. Build querysets with select_related("show",
    "booking__customer") so that a list costs one query."""

    name = serializers.CharField(read_only=True)
    phone_number = serializers.CharField(read_only=True, help_text="E.164")
    title = serializers.CharField(read_only=True)
    date = serializers.DateField(read_only=True)
    time = ShowTimeField(read_only=True)
    starts_at = serializers.DateTimeField(read_only=True)
    seat = serializers.CharField(read_only=True, help_text="Seat label, like A7.")
    booking = serializers.CharField(read_only=True, help_text="The booking reference.")
    url = serializers.CharField(read_only=True, help_text="The printable e-ticket page.")

    class Meta:
        model = Ticket
        fields = [
            "id",
            "name",
            "phone_number",
            "show",
            "title",
            "date",
            "time",
            "starts_at",
            "seat",
            "expired",
            "checked_in_at",
            "booking",
            "booked_at",
            "url",
        ]
        read_only_fields = fields

    # The columns of a row of the staff list, read with values() (TicketViewSet.list): 50
    # rows as model objects are 200 objects (ticket, show, booking, customer), which cost
    # more than the query and the rest of the request together. The phone number is the
    # stored E.164 text, not parsed into a PhoneNumber and formatted back per row.
    ROW_FIELDS = ("id", "show_id", "seat", "expired", "checked_in_at", "booked_at")
    ROW_EXPRESSIONS = {
        "name": F("booking__customer__name"),
        "phone_number": ExpressionWrapper(F("booking__customer__phone_number"), output_field=models.CharField()),
        "title": F("show__title"),
        "starts_at": F("show__starts_at"),
        "reference": F("booking__reference"),
    }

    def to_representation(self, ticket: Ticket) -> dict:
        booking = ticket.booking
        show = ticket.show
        row = {
            "id": ticket.pk,
            "show_id": show.pk,
            "seat": ticket.seat,
            "expired": ticket.expired,
            "checked_in_at": ticket.checked_in_at,
            "booked_at": ticket.booked_at,
            "name": booking.customer.name,
            "phone_number": phone_text(booking.customer.phone_number),
            "title": show.title,
            "starts_at": show.starts_at,
            "reference": booking.reference,
        }
        return self.represent_row(row)

    def represent_row(self, row: dict) -> dict:
        """The answer for one ticket from its columns (ROW_FIELDS and ROW_EXPRESSIONS)."""
        ticket_id = str(row["id"])
        return {
            "id": ticket_id,
            "name": row["name"],
            "phone_number": row["phone_number"],
            **self._show_fields(row["show_id"], row["title"], row["starts_at"]),
            "seat": seat_label(row["seat"]),
            "expired": row["expired"],
            "checked_in_at": iso(row["checked_in_at"]),
            "booking": row["reference"],
            "booked_at": iso(row["booked_at"]),
            "url": self._eticket_url(ticket_id),
        }

    def _show_fields(self, show_id: int, title: str, starts_at: datetime) -> dict:
        # The rows of a list share a few shows: each show's time is formatted once.
        shows = self.__dict__.setdefault("_show_fields_by_id", {})
        if show_id not in shows:
            local = timezone.localtime(starts_at)
            shows[show_id] = {
                "show": show_id,
                "title": title,
                "date": local.date().isoformat(),
                "time": local.strftime("%H:%M"),
                "starts_at": local.isoformat(timespec="seconds"),
            }
        return shows[show_id]

    def _eticket_url(self, ticket_id: str) -> str:
        # Reversed once per serializer, not once per row of a list.
        template = self.__dict__.get("_eticket_template")
        if template is None:
            template = self._eticket_template = eticket_url(self.context.get("request"), _PLACEHOLDER_ID)
        return template.replace(_PLACEHOLDER_ID, ticket_id)


_PLACEHOLDER_ID = str(uuid.UUID(int=0))


def eticket_url(request, ticket_id) -> str:
    path = _eticket_path_template(get_script_prefix(), get_urlconf()).replace(_PLACEHOLDER_ID, str(ticket_id))
    return request.build_absolute_uri(path) if request is not None else path


@functools.lru_cache(maxsize=8)
def _eticket_path_template(script_prefix: str, urlconf: str | None) -> str:
    # reverse() walked the URL patterns on every booking's answer; the path depends only
    # on the prefix the site is served under and the URLconf, both fixed per deployment.
    return reverse("eticket", args=[_PLACEHOLDER_ID], urlconf=urlconf)


class HoldCreateSerializer(ShowChoiceSerializer):
    seats = serializers.ListField(
        child=SeatField(), min_length=1, max_length=10, required=False, help_text='Seat labels, like ["A3", "A4"].'
    )
    quantity = serializers.IntegerField(min_value=1, max_value=10, required=False, help_text="1 to 10 seats.")

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        if ("seats" in attrs) == ("quantity" in attrs):
            raise serializers.ValidationError({"non_field_errors": ["Give either seats or quantity."]})
        seats = attrs.get("seats")
        if seats and len(set(seats)) != len(seats):
            raise serializers.ValidationError({"seats": ["A seat is named twice."]})
        return attrs


class HoldSerializer(serializers.ModelSerializer):
    seats = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Hold
        fields = ["id", "show", "seats", "expires_at"]
        read_only_fields = fields

    def to_representation(self, hold: Hold) -> dict:
        return {
            "id": str(hold.pk),
            "show": hold.show_id,
            "seats": [seat_label(seat) for seat in hold.seats],
            "expires_at": iso(hold.expires_at),
        }


class BookingCreateSerializer(PersonSerializer, HoldCreateSerializer):
    """Confirm a hold ({"hold", "name", "phone_number"}), or hold and confirm in one step."""

    hold = serializers.UUIDField(required=False, help_text="The id of a live hold.")

    def validate(self, attrs: dict) -> dict:
        if "hold" in attrs:
            extra = {"show", "date", "time", "seats", "quantity"}.intersection(self.initial_data)
            if extra:
                raise serializers.ValidationError({"hold": [f"Give a hold, or {', '.join(sorted(extra))}; not both."]})
            return attrs
        return super().validate(attrs)


class BookingSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True)
    phone_number = serializers.CharField(read_only=True)
    tickets = TicketSerializer(many=True, read_only=True)

    class Meta:
        model = Booking
        fields = ["reference", "name", "phone_number", "tickets", "created_at"]
        read_only_fields = fields

    def to_representation(self, booking: Booking) -> dict:
        tickets = TicketSerializer(context=self.context)
        return {
            "reference": booking.reference,
            "name": booking.customer.name,
            "phone_number": phone_text(booking.customer.phone_number),
            "tickets": [tickets.to_representation(ticket) for ticket in booking.tickets.all()],
            "created_at": iso(booking.created_at),
        }


class ErrorSerializer(serializers.Serializer):
    """The shape of 401, 403, 404 and 429 answers."""

    detail = serializers.CharField()


class ConflictSerializer(serializers.Serializer):
    """The shape of 409 and 422 answers."""

    detail = serializers.CharField()
    code = serializers.CharField()
    checked_in_at = serializers.DateTimeField(required=False, help_text="With already_checked_in: when it was.")
