# ruff: noqa: F811  (pytest fixtures imported from webhooks_helpers, used as arguments)
"""What a move, a cancel and the door change in money and seats is in the trail and in
the events: a move's new price and the booking's new total, the show a move sells out,
a check-in's before and after, and the currency of every amount an event carries."""

from datetime import timedelta

import pytest
from django.utils import timezone

from api.models import AuditEntry, Ticket, Venue, WebhookEvent
from api.services import blocks, door, sales
from api.tests.conftest import ADA, add_price, book_seats, make_show, screen_of
from api.tests.webhooks_helpers import (
    allow_private,  # noqa: F401 (the fixture)
    endpoint,  # noqa: F401 (the fixture)
    receiver,  # noqa: F401 (the fixture)
)

pytestmark = pytest.mark.django_db


def changes_of(action: str, obj: str) -> list[dict]:
    return list(AuditEntry.objects.filter(action=action, object_id=obj).values_list("changes", flat=True))


def events(kind: str) -> list[dict]:
    return [p["data"] for p in WebhookEvent.objects.filter(type=kind).order_by("pk").values_list("payload", flat=True)]


def test_a_move_to_a_dearer_show_records_the_price_and_the_bookings_new_total(endpoint):
    cheap, dear = make_show(days=2), make_show(days=3)
    add_price(cheap, "adult", "10.00")
    add_price(dear, "adult", "14.00")
    sale = book_seats(cheap.pk, quantity=2)
    moved = sale.tickets[0]

    sales.ticket_update(ticket_id=moved.pk, show_id=dear.pk, now=timezone.now(), actor="staff:alice")

    (change,) = changes_of("ticket.moved", str(moved.pk))
    assert change["price"] == ["10.00", "14.00"] and change["show"] == [cheap.pk, dear.pk]
    assert changes_of("booking.changed", sale.booking.reference) == [{"total": ["20.00", "24.00"]}]
    (event,) = events("ticket.changed")
    assert event["changes"]["price"] == ["10.00", "14.00"]
    assert (event["price"], event["currency"]) == ("14.00", dear.screen.venue.currency)


def test_a_move_at_the_same_price_records_no_booking_change():
    show = make_show(days=2)
    sale = book_seats(show.pk, seats=["A1"])

    sales.ticket_update(ticket_id=sale.tickets[0].pk, seat="B4", now=timezone.now())

    assert changes_of("ticket.moved", str(sale.tickets[0].pk)) == [{"seat": ["A1", "B4"]}]
    assert not AuditEntry.objects.filter(action="booking.changed").exists()


def test_cancelling_one_ticket_of_several_records_the_bookings_new_total():
    show = make_show(days=2)
    add_price(show, "adult", "10.00")
    sale = book_seats(show.pk, quantity=3)

    sales.ticket_cancel(ticket_id=sale.tickets[0].pk, now=timezone.now())

    assert changes_of("booking.changed", sale.booking.reference) == [{"total": ["30.00", "20.00"]}]


def test_a_move_that_takes_a_shows_last_seat_says_it_sold_out(endpoint):
    """A sale that takes the last seat sends show.sold_out; a move into the last seat did
    not, and a website listening for it kept the show on sale."""
    small, elsewhere = make_show(days=2, capacity=2, screen=screen_of(2)), make_show(days=3)
    book_seats(small.pk, seats=["A1"])
    ticket = book_seats(elsewhere.pk).tickets[0]
    assert events("show.sold_out") == []

    sales.ticket_update(ticket_id=ticket.pk, show_id=small.pk, now=timezone.now())

    assert [e["id"] for e in events("show.sold_out")] == [small.pk]


def test_a_move_into_the_last_seat_not_blocked_says_it_sold_out(endpoint):
    small, elsewhere = make_show(days=2, screen=screen_of(3)), make_show(days=3)
    blocks.seats_block(show_id=small.pk, seats=["A3"], reason="broken", now=timezone.now())
    book_seats(small.pk, seats=["A1"])
    ticket = book_seats(elsewhere.pk).tickets[0]

    sales.ticket_update(ticket_id=ticket.pk, show_id=small.pk, now=timezone.now())

    assert Ticket.objects.get(pk=ticket.pk).seat == "A2"
    assert [e["id"] for e in events("show.sold_out")] == [small.pk]


def test_a_check_in_and_its_undoing_record_before_and_after():
    show = make_show(days=1)
    ticket = book_seats(show.pk).tickets[0]
    at = show.starts_at - timedelta(minutes=30)

    door.ticket_check_in(ticket_id=ticket.pk, now=at)
    door.ticket_check_in_undo(ticket_id=ticket.pk, now=at + timedelta(minutes=1))

    assert changes_of("ticket.checked_in", str(ticket.pk)) == [{"checked_in_at": [None, at.isoformat()]}]
    assert changes_of("ticket.check_in_undone", str(ticket.pk)) == [{"checked_in_at": [at.isoformat(), None]}]


def test_a_bookings_events_give_the_currency_of_its_total(endpoint):
    show = make_show(days=2)
    venue = show.screen.venue
    venue.currency = "TRY"  # not BOOKING_CURRENCY (EUR)
    venue.save(update_fields=["currency"])
    add_price(show, "adult", "12.50")
    sale = book_seats(show.pk, quantity=2, **ADA)

    sales.booking_cancel(booking_id=sale.booking.pk, now=timezone.now())

    for kind in ("booking.created", "booking.cancelled"):
        (booking,) = events(kind)
        assert (booking["total"], booking["currency"]) == ("25.00", "TRY")
        assert {t["currency"] for t in booking["tickets"]} == {"TRY"}


def test_cancelling_a_booking_the_purge_emptied_tells_the_services_currency(endpoint, settings):
    """The purge deletes expired tickets, then the bookings left without one, in other
    transactions: a booking may be read with no ticket. Its cancel was a 204, then a 500."""
    sale = book_seats(make_show(days=2).pk)
    Ticket.objects.filter(booking=sale.booking).delete()

    sales.booking_cancel(booking_id=sale.booking.pk, now=timezone.now())

    (booking,) = events("booking.cancelled")
    assert (booking["tickets"], booking["currency"]) == ([], settings.BOOKING_CURRENCY)


def test_every_moment_an_event_carries_is_utc(endpoint, staff_client):
    """A show made from a date and time carried its venue's offset, one read back from the
    database UTC, and a show.changed mixed the two."""
    istanbul = Venue.objects.create(name="Kadikoy", time_zone="Europe/Istanbul", currency="TRY", country="TR")
    screen = screen_of(10, name="Salon 1", venue=istanbul)
    day = (timezone.localdate() + timedelta(days=5)).isoformat()
    body = {"screen": screen.pk, "title": "S", "date": day, "time": "20:00"}
    made = staff_client.post("/api/shows", body, format="json")
    staff_client.patch(f"/api/shows/{made.json()['id']}", {"time": "21:00", "date": day}, format="json")

    (created,), (changed,) = events("show.created"), events("show.changed")

    assert created["starts_at"] == f"{day}T17:00:00+00:00"
    assert changed["starts_at"] == f"{day}T18:00:00+00:00"
    assert changed["changes"]["starts_at"] == [f"{day}T17:00:00+00:00", f"{day}T18:00:00+00:00"]


def test_a_booking_the_purge_thinned_totals_and_refunds_the_tickets_it_has(endpoint, api_client):
    """A booking's ticket moved to a later show outlives the booking's first show: the purge
    deletes the first show's ticket and keeps the booking. Its answer listed one ticket with
    the total of two, and its cancel's booking.cancelled refunded both."""
    first, later = make_show(days=2), make_show(days=3)
    add_price(first, "adult", "10.00")
    add_price(later, "adult", "10.00")
    sale = book_seats(first.pk, quantity=2, **ADA)
    kept, purged = sale.tickets
    sales.ticket_update(ticket_id=kept.pk, show_id=later.pk, now=timezone.now())
    Ticket.objects.filter(pk=purged.pk).delete()  # as the purge does, in its own transaction

    url = f"/api/bookings/{sale.booking.reference}?phone_number={ADA['phone_number']}"
    answer = api_client.get(url).json()
    assert ([t["id"] for t in answer["tickets"]], answer["total"]) == ([str(kept.pk)], "10.00")
    assert api_client.delete(url).status_code == 204
    (cancelled,) = events("booking.cancelled")
    assert (cancelled["total"], len(cancelled["tickets"])) == ("10.00", 1)
