"""Helpers of the booking API tests (test_bookings_api.py, test_booking_confirm.py): the
answers the API should give, built from the database rows, and the requests they make."""

import re
from decimal import Decimal

from django.utils import timezone

from api.models import Booking, Ticket
from api.tests.conftest import local_iso

# Six characters, none of the look-alikes 0/O and 1/I/L.
REFERENCE = re.compile(r"^[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{6}$")


def ticket_body(ticket: Ticket) -> dict:
    """A ticket as the API shows it, built from the database row."""
    ticket = Ticket.objects.select_related("show__screen__venue", "booking", "holder", "ticket_type").get(pk=ticket.pk)
    local = timezone.localtime(ticket.show.starts_at)
    return {
        "id": str(ticket.pk),
        "name": ticket.holder.name,
        "phone_number": str(ticket.holder.phone_number),
        "show": ticket.show_id,
        "title": ticket.show.title,
        "venue": ticket.show.screen.venue_id,
        "screen": ticket.show.screen_id,
        "date": local.date().isoformat(),
        "time": local.strftime("%H:%M"),
        "starts_at": local.isoformat(timespec="seconds"),
        "seat": ticket.seat,
        "ticket_type": ticket.ticket_type.key,
        "price": f"{ticket.price:.2f}",
        "currency": ticket.show.screen.venue.currency,
        "expired": ticket.expired,
        "checked_in_at": None if ticket.checked_in_at is None else local_iso(ticket.checked_in_at),
        "booking": ticket.booking.reference,
        "booked_at": local_iso(ticket.booked_at),
        "url": f"http://testserver/tickets/{ticket.pk}/",
    }


def booking_body(booking: Booking) -> dict:
    booking = Booking.objects.select_related("customer").get(pk=booking.pk)
    tickets = [ticket_body(t) for t in booking.tickets.order_by("show__starts_at", "seat")]
    return {
        "reference": booking.reference,
        "name": booking.customer.name,
        "phone_number": str(booking.customer.phone_number),
        "tickets": tickets,
        "total": f"{sum(Decimal(t['price']) for t in tickets):.2f}",
        "currency": tickets[0]["currency"],
        "created_at": local_iso(booking.created_at),
    }


def seats_available(client, show) -> int:
    return client.get(f"/api/shows/{show.pk}").json()["seats_available"]


def post_hold(client, show, **data) -> dict:
    response = client.post("/api/holds", {"show": show.pk, **data}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def book(client, **data):
    return client.post("/api/bookings", data, format="json")
