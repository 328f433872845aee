"""Tickets, holds and bookings: what a client sends, and what it gets back."""

import unicodedata
import uuid
from functools import cache
from types import MappingProxyType
from typing import Any

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from rest_framework import serializers
from rest_framework.request import Request

from ..models import Booking, Hold, Screen, Ticket, Venue
from ..seatchoice import side_by_side
from ..selectors import MAX_ID
from ..services.sales import Sale
from ..services.showtimes import ShowTime
from .common import RequestSerializer
from .fields import DayField, IdRelatedField, PhoneField, SeatField, ShowTimeField, iso, phone_text


class ShowChoiceSerializer(RequestSerializer):
    """Names a show by id (validated as show_id), or by date + time in its venue's zone,
    optionally narrowed by screen or venue (validated as when, a services.showtimes.ShowTime)."""

    # At most the largest id: a larger one can't be bound as a query parameter (SQLite).
    show = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, help_text="A show's id.")
    date = DayField(required=False, help_text="YYYY-MM-DD, with time.")
    time = ShowTimeField(required=False, help_text="HH:MM in the venue's time zone, with date.")
    screen = IdRelatedField(
        queryset=Screen.objects.all(), required=False, help_text="With date and time: the show on this screen."
    )
    venue = IdRelatedField(
        queryset=Venue.objects.all(), required=False, help_text="With date and time: the show at this venue."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        show, day, at = attrs.pop("show", None), attrs.pop("date", None), attrs.pop("time", None)
        screen, venue = attrs.pop("screen", None), attrs.pop("venue", None)
        if show is not None:
            # Named as sent: {"show", "screen"} was told it sent a date and time.
            given = {"date": day, "time": at, "screen": screen, "venue": venue}
            sent = [key for key, value in given.items() if value is not None]
            if sent:
                with_show = " and ".join([", ".join(sent[:-1]), sent[-1]] if len(sent) > 1 else sent)
                message = f"Give either show, or date and time (and screen or venue); not show with {with_show}."
                raise serializers.ValidationError({"show": [message]})
            attrs["show_id"] = show
        elif day is not None or at is not None:
            if day is None:
                raise serializers.ValidationError({"date": ["This field is required with time."]})
            if at is None:
                raise serializers.ValidationError({"time": ["This field is required with date."]})
            attrs["when"] = ShowTime(
                day=day,
                at=at,
                screen_id=screen.pk if screen is not None else None,
                venue_id=venue.pk if venue is not None else None,
            )
        elif screen is not None or venue is not None:
            raise serializers.ValidationError({"date": ["Give date and time with screen or venue."]})
        elif not self.partial:
            raise serializers.ValidationError({"non_field_errors": ["Give a show, or a date and a time."]})
        return attrs


# Characters that reorder the text around them (bidirectional overrides and isolates): a name
# "x\u202egnp.exe" reads "xexe.png" on an e-ticket, a list or an SMS.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _readable(name: str) -> None:
    # DRF strips spaces, not the invisible: a name of zero-width spaces was taken.
    if not any(unicodedata.category(char)[0] in "LN" for char in name):
        raise serializers.ValidationError("A name needs a letter or a digit.")
    # Control characters (a newline, ESC) and line or paragraph separators (U+2028, U+2029)
    # end up in logs, CSV exports and terminals.
    if any(unicodedata.category(char) in ("Cc", "Zl", "Zp") or char in BIDI_CONTROLS for char in name):
        raise serializers.ValidationError("A name can't contain control characters.")


class PersonSerializer(RequestSerializer):
    name = serializers.CharField(max_length=100, validators=[_readable], help_text="1 to 100 characters.")
    phone_number = PhoneField(help_text="Any format; without a country code, read in the venue's country.")


# A ticket is one seat of one type; holds and bookings take several.
ONE_TICKET = MappingProxyType(
    {
        "seats": "A ticket has one seat: give seat, or book several with POST /api/bookings.",
        "quantity": "A ticket is one seat: book several with POST /api/bookings.",
        "ticket_types": "A ticket has one type: give ticket_type, or book several with POST /api/bookings.",
        "wheelchair": "Give a wheelchair space as the seat.",
    }
)
# Holds and bookings name their seats and types as lists and counts.
SEVERAL_SEATS = MappingProxyType(
    {
        "seat": 'Give seats, a list: ["B4"].',
        "ticket_type": 'Give ticket_types, the count of each: {"adult": 1}.',
    }
)


class TicketCreateSerializer(PersonSerializer, ShowChoiceSerializer):
    refused = ONE_TICKET

    seat = SeatField(required=False, help_text="A seat label like B4; the best available seat if left out.")
    ticket_type = serializers.SlugField(required=False, help_text="A ticket type's key; the default type if left out.")


class TicketUpdateSerializer(PersonSerializer, ShowChoiceSerializer):
    """PUT needs name, phone number and the show; PATCH any of the fields. A moved ticket
    keeps its type."""

    refused = ONE_TICKET

    seat = SeatField(required=False, help_text="A seat label like B4; the best available seat if left out.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # Not a field, so DRF would pass over another type and answer 200 with the type as
        # sold. The ticket's own (`ticket_type` in the context), as a GET gave it, is fine.
        if "ticket_type" in self.initial_data and self.initial_data["ticket_type"] != self.context.get("ticket_type"):
            raise serializers.ValidationError({"ticket_type": ["A ticket keeps its type: cancel it and book another."]})
        return super().validate(attrs)


def eticket_url(request: Request | None, ticket_id: object) -> str:
    head, tail = _eticket_path_around_id(get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)
    path = f"{head}{ticket_id}{tail}"
    return request.build_absolute_uri(path) if request is not None else path


# The id an e-ticket's address is made with, before a ticket's own id takes its place
# (_eticket_path_around_id, TicketSerializer._eticket_url_around_id). No real ticket has it.
STAND_IN_ID = str(uuid.UUID(int=0))


@cache
def _eticket_path_around_id(script_prefix: str, urlconf: str) -> tuple[str, str]:
    """The e-ticket page's path before and after a ticket's id, reversed once for each URL
    configuration and script prefix (which reverse() reads): Django's reverse() was 3 % of
    a booking's instructions (callgrind; bench/README.md, 2026-12-07)."""
    head, _, tail = reverse("eticket", args=[STAND_IN_ID], urlconf=urlconf).rpartition(STAND_IN_ID)
    return head, tail


class TicketSerializer(serializers.ModelSerializer):
    """A ticket with its person's details (its holder's: a booking's tickets may name
    different people). Read tickets with selectors.tickets_with_details()
    so that a list costs one query."""

    name = serializers.CharField(
        read_only=True, allow_null=True, help_text="Null in a booking read by its booker when the ticket is another's."
    )
    phone_number = serializers.CharField(read_only=True, allow_null=True, help_text="E.164; null as name is.")
    title = serializers.CharField(read_only=True)
    venue = serializers.IntegerField(read_only=True)
    screen = serializers.IntegerField(read_only=True)
    date = serializers.DateField(read_only=True)
    time = ShowTimeField(read_only=True)
    starts_at = serializers.DateTimeField(read_only=True)
    seat = serializers.CharField(read_only=True, help_text="Seat label, like A7.")
    ticket_type = serializers.CharField(read_only=True, help_text="The ticket type's key.")
    price = serializers.DecimalField(max_digits=8, decimal_places=2, read_only=True, help_text="As sold.")
    currency = serializers.CharField(read_only=True)
    booking = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="The booking reference; null when the ticket is read or changed later by its holder (not staff).",
    )
    url = serializers.CharField(read_only=True, help_text="The printable e-ticket page.")

    class Meta:
        model = Ticket
        fields = [
            "id",
            "name",
            "phone_number",
            "show",
            "title",
            "venue",
            "screen",
            "date",
            "time",
            "starts_at",
            "seat",
            "ticket_type",
            "price",
            "currency",
            "expired",
            "checked_in_at",
            "booking",
            "booked_at",
            "url",
        ]
        read_only_fields = fields

    # Written out rather than per field: the staff list answers 50 tickets a request (a
    # same-run A/B against DRF's declared fields: bench/README.md, 2026-12-05).
    def to_representation(self, ticket: Ticket) -> dict[str, Any]:
        booking, show, holder = ticket.booking, ticket.show, ticket.holder
        url_head, url_tail = self._eticket_url_around_id
        zone = show.zone
        starts_at = timezone.localtime(show.starts_at, zone)
        return {
            "id": str(ticket.pk),
            "name": holder.name,
            "phone_number": phone_text(holder.phone_number),
            "show": show.pk,
            "title": show.title,
            "venue": show.screen.venue_id,
            "screen": show.screen_id,
            "date": starts_at.date().isoformat(),
            "time": starts_at.strftime("%H:%M"),
            "starts_at": starts_at.isoformat(timespec="seconds"),
            "seat": ticket.seat,
            "ticket_type": ticket.ticket_type.key,
            "price": str(ticket.price),
            "currency": show.screen.venue.currency,
            "expired": ticket.expired,
            "checked_in_at": iso(ticket.checked_in_at, zone),
            "booking": None if self.context.get("hide_booking") else booking.reference,
            "booked_at": iso(ticket.booked_at, zone),
            "url": f"{url_head}{ticket.pk}{url_tail}",
        }

    @cached_property
    def _eticket_url_around_id(self) -> tuple[str, str]:
        """The e-ticket page's address before and after the ticket's id, made once for all
        the tickets of an answer (one serializer serves a list's rows): Django's reverse()
        and the host's check, made per ticket, were most of the time a 50-row list took to
        serialize (bench/README.md). Split at the last stand-in: the id ends the path, and
        a host allowed by a wildcard may hold the stand-in too."""
        head, _, tail = eticket_url(self.context.get("request"), STAND_IN_ID).rpartition(STAND_IN_ID)
        return head, tail


class HoldCreateSerializer(ShowChoiceSerializer):
    """Which seats: named (`seats`), or how many (`quantity`, or `ticket_types`, whose sum
    is the quantity), optionally with wheelchair spaces."""

    refused = SEVERAL_SEATS

    seats = serializers.ListField(
        child=SeatField(), min_length=1, max_length=10, required=False, help_text='Seat labels, like ["A3", "A4"].'
    )
    quantity = serializers.IntegerField(min_value=1, max_value=10, required=False, help_text="1 to 10 seats.")
    ticket_types = serializers.DictField(
        child=serializers.IntegerField(min_value=0, max_value=10),
        required=False,
        help_text='How many of each ticket type, like {"adult": 2, "child": 1}; types go to the seats in seat order.',
    )
    wheelchair = serializers.IntegerField(
        min_value=0, max_value=10, required=False, help_text="How many of the party need a wheelchair space."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        seats, types = attrs.get("seats"), attrs.get("ticket_types")
        if types is not None:
            types = attrs["ticket_types"] = {key: n for key, n in types.items() if n}
            if not 1 <= sum(types.values()) <= 10:
                raise serializers.ValidationError({"ticket_types": ["Ask for 1 to 10 tickets in all."]})
            if "quantity" in attrs:
                raise serializers.ValidationError({"quantity": ["Give quantity or ticket_types, not both."]})
            if seats is None:
                attrs["quantity"] = sum(types.values())
            elif sum(types.values()) != len(seats):
                raise serializers.ValidationError(
                    {"ticket_types": ["The ticket types must add up to the seats named."]}
                )
        if (seats is None) == ("quantity" not in attrs):
            raise serializers.ValidationError({"non_field_errors": ["Give either seats, quantity or ticket_types."]})
        if seats and len(set(seats)) != len(seats):
            raise serializers.ValidationError({"seats": ["A seat is named twice."]})
        if attrs.get("wheelchair", 0) > attrs.get("quantity", len(seats or [])):
            raise serializers.ValidationError({"wheelchair": ["More wheelchair spaces than the party has people."]})
        if seats and attrs.get("wheelchair"):
            raise serializers.ValidationError({"wheelchair": ["Name the wheelchair spaces among the seats instead."]})
        return attrs


LINE_FIELDS = ("seat", "ticket_type", "category", "price")


class LineSerializer(serializers.Serializer):
    seat = serializers.CharField()
    ticket_type = serializers.CharField()
    category = serializers.CharField()
    price = serializers.DecimalField(max_digits=8, decimal_places=2)


class HoldSerializer(serializers.ModelSerializer):
    """A hold with its frozen lines and total, in the venue's currency."""

    seats = serializers.ListField(child=serializers.CharField(), read_only=True)
    together = serializers.BooleanField(read_only=True, help_text="All in one row, side by side.")
    lines = LineSerializer(many=True, read_only=True)
    currency = serializers.CharField(read_only=True)

    class Meta:
        model = Hold
        fields = ["id", "show", "seats", "expires_at", "together", "lines", "total", "currency"]
        read_only_fields = fields

    def to_representation(self, hold: Hold) -> dict[str, Any]:
        venue, seat_map = hold.show.screen.venue, hold.show.screen.seats
        # A seat the map no longer has is beside none: a host whose clock is behind reads a
        # hold live though another's found it run out and let a new map drop its seat
        # (keep_to_map); looked up in the map, it was a 500.
        in_map = all(seat_map.seat(label) is not None for label in hold.seats)
        return {
            "id": str(hold.pk),
            "show": hold.show_id,
            "seats": hold.seats,
            "expires_at": iso(hold.expires_at, venue.zone),
            "together": in_map and side_by_side(seat_map, hold.seats),
            # As LineSerializer names them: a line's "blocked" is the confirm's, not the client's.
            "lines": [{key: line[key] for key in LINE_FIELDS} for line in hold.lines],
            "total": str(hold.total),
            "currency": venue.currency,
        }


class BookingCreateSerializer(PersonSerializer, HoldCreateSerializer):
    """Confirm a hold ({"hold", "name", "phone_number"}), or hold and confirm in one step."""

    hold = serializers.UUIDField(required=False, help_text="The id of a live hold.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "hold" in attrs:
            given = {"show", "date", "time", "screen", "venue", "seats", "quantity", "ticket_types", "wheelchair"}
            extra = given.intersection(self.initial_data)
            if extra:
                raise serializers.ValidationError({"hold": [f"Give a hold, or {', '.join(sorted(extra))}; not both."]})
            return attrs
        return super().validate(attrs)


class BookingSerializer(serializers.ModelSerializer):
    """A booking (a services.sales.Sale: the booking and its tickets). Its name and phone
    are the booker's; each ticket shows its own person, but to the booker (`booker_reads`
    in the context: anyone but staff) a ticket given to another person (its holder changed
    through the ticket's id) shows none: no answer to an anonymous client carries another
    person's name or phone (API.md)."""

    name = serializers.CharField(read_only=True)
    phone_number = serializers.CharField(read_only=True)
    tickets = TicketSerializer(many=True, read_only=True)
    currency = serializers.CharField(read_only=True)

    class Meta:
        model = Booking
        fields = ["reference", "name", "phone_number", "tickets", "total", "currency", "created_at"]
        read_only_fields = fields

    def to_representation(self, sale: Sale) -> dict[str, Any]:
        booking, tickets = sale.booking, TicketSerializer(context=self.context)
        venue = sale.tickets[0].show.screen.venue if sale.tickets else None
        return {
            "reference": booking.reference,
            "name": booking.customer.name,
            "phone_number": phone_text(booking.customer.phone_number),
            "tickets": [self._ticket(tickets, ticket) for ticket in sale.tickets],
            "total": str(sale.total),
            "currency": sale.currency,
            "created_at": iso(booking.created_at, venue.zone if venue else None),
        }

    def _ticket(self, tickets: TicketSerializer, ticket: Ticket) -> dict[str, Any]:
        answer = tickets.to_representation(ticket)
        if self.context.get("booker_reads") and ticket.holder_id != ticket.booking.customer_id:
            answer["name"] = answer["phone_number"] = None
        return answer
