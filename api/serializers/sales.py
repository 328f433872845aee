"""Tickets, holds and bookings: what a client sends, and what it gets back."""

from typing import Any

from django.urls import reverse
from django.utils import timezone
from rest_framework import serializers
from rest_framework.request import Request

from ..models import Booking, Hold, Screen, Ticket, Venue
from ..services.catalog import ShowTime
from ..services.sales import Sale
from .fields import PhoneField, SeatField, ShowTimeField, iso, phone_text


class ShowChoiceSerializer(serializers.Serializer):
    """Names a show by id (validated as show_id), or by date + time in its venue's zone,
    optionally narrowed by screen or venue (validated as when, a services.catalog.ShowTime)."""

    show = serializers.IntegerField(min_value=1, required=False, help_text="A show's id.")
    date = serializers.DateField(required=False, help_text="YYYY-MM-DD, with time.")
    time = ShowTimeField(required=False, help_text="HH:MM in the venue's time zone, with date.")
    screen = serializers.PrimaryKeyRelatedField(
        queryset=Screen.objects.all(), required=False, help_text="With date and time: the show on this screen."
    )
    venue = serializers.PrimaryKeyRelatedField(
        queryset=Venue.objects.all(), required=False, help_text="With date and time: the show at this venue."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        show, day, at = attrs.pop("show", None), attrs.pop("date", None), attrs.pop("time", None)
        screen, venue = attrs.pop("screen", None), attrs.pop("venue", None)
        if show is not None:
            if day is not None or at is not None or screen is not None or venue is not None:
                raise serializers.ValidationError({"show": ["Give either show, or date and time; not both."]})
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


class PersonSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, help_text="1 to 100 characters.")
    phone_number = PhoneField(help_text="Any format; read in PHONENUMBER_DEFAULT_REGION without +.")


class TicketCreateSerializer(PersonSerializer, ShowChoiceSerializer):
    seat = SeatField(required=False, help_text="A seat label like B4; the first free seat if left out.")


class TicketUpdateSerializer(TicketCreateSerializer):
    """PUT needs name, phone number and the show; PATCH any of the fields."""


def eticket_url(request: Request | None, ticket_id: object) -> str:
    path = reverse("eticket", args=[str(ticket_id)])
    return request.build_absolute_uri(path) if request is not None else path


class TicketSerializer(serializers.ModelSerializer):
    """A ticket with its person's details. Read tickets with selectors.tickets_with_details()
    so that a list costs one query."""

    name = serializers.CharField(read_only=True)
    phone_number = serializers.CharField(read_only=True, help_text="E.164")
    title = serializers.CharField(read_only=True)
    venue = serializers.IntegerField(read_only=True)
    screen = serializers.IntegerField(read_only=True)
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
            "venue",
            "screen",
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

    # Written out rather than per field: the staff list answers 50 tickets a request.
    def to_representation(self, ticket: Ticket) -> dict[str, Any]:
        booking, show = ticket.booking, ticket.show
        zone = show.zone
        starts_at = timezone.localtime(show.starts_at, zone)
        return {
            "id": str(ticket.pk),
            "name": booking.customer.name,
            "phone_number": phone_text(booking.customer.phone_number),
            "show": show.pk,
            "title": show.title,
            "venue": show.screen.venue_id,
            "screen": show.screen_id,
            "date": starts_at.date().isoformat(),
            "time": starts_at.strftime("%H:%M"),
            "starts_at": starts_at.isoformat(timespec="seconds"),
            "seat": ticket.seat,
            "expired": ticket.expired,
            "checked_in_at": iso(ticket.checked_in_at, zone),
            "booking": booking.reference,
            "booked_at": iso(ticket.booked_at, zone),
            "url": eticket_url(self.context.get("request"), ticket.pk),
        }


class HoldCreateSerializer(ShowChoiceSerializer):
    seats = serializers.ListField(
        child=SeatField(), min_length=1, max_length=10, required=False, help_text='Seat labels, like ["A3", "A4"].'
    )
    quantity = serializers.IntegerField(min_value=1, max_value=10, required=False, help_text="1 to 10 seats.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
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

    def to_representation(self, hold: Hold) -> dict[str, Any]:
        return {
            "id": str(hold.pk),
            "show": hold.show_id,
            "seats": hold.seats,
            "expires_at": iso(hold.expires_at, hold.show.zone),
        }


class BookingCreateSerializer(PersonSerializer, HoldCreateSerializer):
    """Confirm a hold ({"hold", "name", "phone_number"}), or hold and confirm in one step."""

    hold = serializers.UUIDField(required=False, help_text="The id of a live hold.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "hold" in attrs:
            extra = {"show", "date", "time", "screen", "venue", "seats", "quantity"}.intersection(self.initial_data)
            if extra:
                raise serializers.ValidationError({"hold": [f"Give a hold, or {', '.join(sorted(extra))}; not both."]})
            return attrs
        return super().validate(attrs)


class BookingSerializer(serializers.ModelSerializer):
    """A booking (a services.sales.Sale: the booking and its tickets)."""

    name = serializers.CharField(read_only=True)
    phone_number = serializers.CharField(read_only=True)
    tickets = TicketSerializer(many=True, read_only=True)

    class Meta:
        model = Booking
        fields = ["reference", "name", "phone_number", "tickets", "created_at"]
        read_only_fields = fields

    def to_representation(self, sale: Sale) -> dict[str, Any]:
        booking, tickets = sale.booking, TicketSerializer(context=self.context)
        return {
            "reference": booking.reference,
            "name": booking.customer.name,
            "phone_number": phone_text(booking.customer.phone_number),
            "tickets": [tickets.to_representation(ticket) for ticket in sale.tickets],
            "created_at": iso(booking.created_at, sale.tickets[0].show.zone if sale.tickets else None),
        }
