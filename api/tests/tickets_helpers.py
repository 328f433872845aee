"""The ticket API's tests' people, answers and helpers (test_tickets_api.py,
test_ticket_input.py, test_ticket_changes.py, test_ticket_list.py)."""

import re
from datetime import datetime

from django.utils import timezone

from api.models import Show, Ticket
from api.tests.conftest import ADA, book_ticket


def ticket_json(ticket_id: str, *, show: Show, seat: str, name: str, phone_number: str, **changes) -> dict:
    """The API's picture of a ticket. Reference, booked_at and id are the stored ones."""
    ticket = Ticket.objects.select_related("booking").get(pk=ticket_id)
    local = timezone.localtime(show.starts_at)
    return {
        "id": str(ticket.pk),
        "name": name,
        "phone_number": phone_number,
        "show": show.pk,
        "title": show.title,
        "venue": show.screen.venue_id,
        "screen": show.screen_id,
        "date": local.date().isoformat(),
        "time": local.strftime("%H:%M"),
        "starts_at": local.isoformat(),
        "seat": seat,
        "expired": False,
        "checked_in_at": None,
        "booking": ticket.booking.reference,
        "booked_at": timezone.localtime(ticket.booked_at).isoformat(timespec="seconds"),
        "url": f"http://testserver/tickets/{ticket.pk}/",
        # v2: the show has no prices, so an adult ticket at 0.00 EUR.
        "ticket_type": "adult",
        "price": "0.00",
        "currency": "EUR",
        **changes,
    }


GRACE = {"name": "Grace Hopper", "phone_number": "+919876543210"}
ALAN = {"name": "Alan Turing", "phone_number": "+442079460958"}
REFERENCE = re.compile(r"^[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{6}$")


def sold_out_answer(show) -> dict:
    """The sold-out answer, which offers the show's waiting list."""
    return {
        "detail": "This show has no free seat left for this request.",
        "code": "sold_out",
        "waitlist": f"/api/shows/{show.pk}/waitlist",
    }


TICKET_EXPIRED = {"detail": "This ticket's show has started or the ticket has expired.", "code": "ticket_expired"}
STARTED = {"time": ["Cannot book a show that has started."]}


def page(*results: dict) -> dict:
    return {"count": len(results), "next": None, "previous": None, "results": list(results)}


def book(show: Show, person: dict = ADA, seat: str | None = None, now: datetime | None = None) -> Ticket:
    return book_ticket(show.pk, seat=seat, now=now, **person)
