"""The Ticket part of API.md, after the booking: change (PUT / PATCH) and cancel (DELETE)."""

import uuid
from datetime import datetime, timedelta
from unittest import mock

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from api.models import AuditEntry, Booking, Customer, Show, Ticket, Venue
from api.services import sales, ticket_changes
from api.tests.conftest import ADA, all_at_once, book_seats, in_days, make_show, postgres_only, screen_of
from api.tests.tickets_helpers import GRACE, STARTED, TICKET_EXPIRED, book, sold_out_answer, ticket_json

pytestmark = pytest.mark.django_db


# --- PUT / PATCH /api/tickets/{id} -------------------------------------------------------


def test_patch_name_and_phone(api_client, ticket, show):
    response = api_client.patch(f"/api/tickets/{ticket.pk}", {"name": "Ada King", "phone_number": "09876543210"})

    assert response.status_code == 200
    assert response.json() == ticket_json(
        str(ticket.pk), show=show, seat="B5", name="Ada King", phone_number="+919876543210", booking=None
    )


def test_put_moves_the_ticket_to_another_show_time(api_client, ticket, show):
    day = in_days(6)

    response = api_client.put(f"/api/tickets/{ticket.pk}", {**GRACE, "date": day.isoformat(), "time": "18:00"})

    assert response.status_code == 200
    target = Show.objects.exclude(pk=show.pk).get()
    assert response.json() == ticket_json(str(ticket.pk), show=target, seat="B5", booking=None, **GRACE)  # best there
    assert api_client.get(f"/api/shows/{show.pk}").json()["tickets_booked"] == 0


def test_put_needs_every_field(api_client, ticket):
    response = api_client.put(f"/api/tickets/{ticket.pk}", {"name": "Ada King"})

    assert response.status_code == 400
    assert response.json() == {"phone_number": ["This field is required."]}


def test_put_needs_a_show_time(api_client, ticket):
    response = api_client.put(f"/api/tickets/{ticket.pk}", ADA)

    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Give a show, or a date and a time."]}


def test_patch_moves_to_a_show_by_id_taking_the_best_free_seat(api_client, ticket):
    other = make_show(days=4)
    book(other, GRACE)

    response = api_client.patch(f"/api/tickets/{ticket.pk}", {"show": other.pk})

    assert response.status_code == 200
    # Grace has the best seat there, B5; the next best is beside it.
    assert response.json() == ticket_json(str(ticket.pk), show=other, seat="B6", booking=None, **ADA)


def test_a_move_to_a_show_sold_in_another_currency_is_a_400(api_client, ticket):
    # The booking's total added up the tickets' prices whatever their currency: 250.00 TRY
    # and 12.50 EUR made "262.50 TRY".
    istanbul = Venue.objects.create(name="Kadıköy", time_zone="Europe/Istanbul", currency="TRY", country="TR")
    there = make_show(days=4, screen=screen_of(10, venue=istanbul), capacity=10)

    response = api_client.patch(f"/api/tickets/{ticket.pk}", {"show": there.pk}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "show": [
            "This show is sold in TRY and the ticket's booking in EUR: a ticket can't move to another currency; "
            "book a new one there."
        ]
    }
    assert Ticket.objects.get(pk=ticket.pk).show_id == ticket.show_id


@pytest.mark.parametrize("method", ["put", "patch"])
def test_a_new_ticket_type_is_a_400_not_ignored(api_client, ticket, show, method):
    # Not a field of the change: it answered 200 with the type unchanged.
    body = {**ADA, "show": show.pk, "ticket_type": "child"}

    response = getattr(api_client, method)(f"/api/tickets/{ticket.pk}", body, format="json")

    assert (response.status_code, response.json()) == (
        400,
        {"ticket_type": ["A ticket keeps its type: cancel it and book another."]},
    )
    # Its own type, as a GET gives it back, is fine.
    same = getattr(api_client, method)(f"/api/tickets/{ticket.pk}", {**body, "ticket_type": "adult"}, format="json")
    assert same.status_code == 200, same.json()


def test_patch_seat(api_client, ticket, show):
    response = api_client.patch(f"/api/tickets/{ticket.pk}", {"seat": "A10"})  # from B5, the best seat

    assert response.status_code == 200
    assert response.json() == ticket_json(str(ticket.pk), show=show, seat="A10", booking=None, **ADA)
    free = api_client.get(f"/api/shows/{show.pk}").json()["free_seats"]
    assert free == [f"{row}{n}" for row in "AB" for n in range(1, 11) if f"{row}{n}" != "A10"]


def test_patch_to_a_taken_seat_is_a_409(api_client, ticket, show):
    book(show, GRACE, seat="A1")  # (A2 would strand A1: the single-seat rule)

    response = api_client.patch(f"/api/tickets/{ticket.pk}", {"seat": "A1"})

    assert response.status_code == 409
    assert response.json() == {"detail": "Seat A1 is already booked or held.", "code": "seat_taken"}


def test_move_into_a_full_show_is_a_409(api_client, ticket, show):
    full = make_show(days=4, capacity=1)
    book(full, GRACE)

    response = api_client.patch(f"/api/tickets/{ticket.pk}", {"show": full.pk})

    assert response.status_code == 409
    assert response.json() == sold_out_answer(full)
    ticket.refresh_from_db()
    assert (ticket.show_id, ticket.seat) == (show.pk, "B5")  # where the fixture booked it


def test_move_to_a_past_time_is_a_400(api_client, ticket, show):
    response = api_client.patch(f"/api/tickets/{ticket.pk}", {"date": in_days(-1).isoformat(), "time": "19:30"})

    assert response.status_code == 400
    assert response.json() == STARTED
    ticket.refresh_from_db()
    assert ticket.show_id == show.pk


def test_move_to_a_show_that_has_started_is_a_400(api_client, ticket):
    started = Show.objects.create(starts_at=timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=5))

    response = api_client.patch(f"/api/tickets/{ticket.pk}", {"show": started.pk})

    assert response.status_code == 400
    assert response.json() == STARTED


def test_move_to_an_unscheduled_time_is_a_400_when_timings_are_not_open(api_client, ticket, settings):
    settings.BOOKING_OPEN_TIMINGS = False

    response = api_client.patch(f"/api/tickets/{ticket.pk}", {"date": in_days(6).isoformat(), "time": "18:00"})

    assert response.status_code == 400
    assert response.json() == {"time": ["No show is scheduled at this date and time."]}


def test_a_move_refused_for_a_seat_that_does_not_exist_makes_no_open_timing(api_client, ticket):
    """The open timing a date and time make is made in the move's transaction: a refused
    move leaves no show behind in the schedule and the search."""
    day = in_days(4)
    when = timezone.make_aware(datetime(day.year, day.month, day.day, 7, 7))

    response = api_client.patch(f"/api/tickets/{ticket.pk}", {"date": str(day), "time": "07:07", "seat": "Z9"})

    assert response.status_code == 400, response.json()
    assert not Show.objects.filter(starts_at=when).exists()


def test_a_move_of_a_ticket_whose_show_started_makes_no_open_timing(api_client, ticket, show):
    when = show.starts_at + timedelta(days=2, minutes=7)
    local = timezone.localtime(when)
    with time_machine.travel(show.starts_at + timedelta(minutes=1), tick=False):
        response = api_client.patch(
            f"/api/tickets/{ticket.pk}", {"date": str(local.date()), "time": local.strftime("%H:%M")}
        )

    assert response.status_code == 409
    assert response.json()["code"] == "ticket_expired"
    assert not Show.objects.filter(starts_at=when).exists()


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"name": ""}, {"name": ["This field may not be blank."]}),
        ({"name": "x" * 101}, {"name": ["Ensure this field has no more than 100 characters."]}),
        ({"phone_number": "12345"}, {"phone_number": ["Enter a valid phone number."]}),
        ({"seat": "99Z"}, {"seat": ["Not a seat label: use a row letter and a seat number, like B4."]}),
        ({"seat": "C1"}, {"seat": ["Seat C1 does not exist at this show."]}),
        ({"time": "15:00:30", "date": "2099-01-01"}, {"time": ["Shows start on the minute: seconds must be 00."]}),
        ({"show": 999999}, {"show": ['Invalid pk "999999" - object does not exist.']}),
    ],
)
def test_invalid_change_is_a_400(api_client, ticket, body, errors):
    response = api_client.patch(f"/api/tickets/{ticket.pk}", body)

    assert response.status_code == 400
    assert response.json() == errors


def test_change_with_malformed_json_is_a_400(api_client, ticket):
    response = api_client.patch(f"/api/tickets/{ticket.pk}", '{"name": ', content_type="application/json")

    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")


def test_read_only_fields_sent_in_a_change_are_ignored(api_client, ticket, show):
    reference = ticket.booking.reference
    before = api_client.get(f"/api/tickets/{ticket.pk}").json()

    response = api_client.patch(
        f"/api/tickets/{ticket.pk}",
        {"id": str(uuid.uuid4()), "expired": True, "booking": "ZZZZZZ", "checked_in_at": "2020-01-01T00:00:00Z"},
    )

    assert response.status_code == 200
    assert response.json() == before
    ticket.refresh_from_db()
    assert before["booking"] is None  # hidden from the holder (v2)
    assert (ticket.expired, ticket.checked_in_at, ticket.booking.reference) == (False, None, reference)


@pytest.mark.parametrize("method", ["put", "patch"])
def test_changing_a_ticket_whose_show_started_is_a_409(api_client, ticket, show, method):
    body = {**ADA, "name": "Ada King", "show": show.pk}

    with time_machine.travel(show.starts_at + timedelta(minutes=1)):
        response = getattr(api_client, method)(f"/api/tickets/{ticket.pk}", body)

    assert response.status_code == 409
    assert response.json() == TICKET_EXPIRED
    assert Customer.objects.get().name == "Ada Lovelace"


def test_changing_a_ticket_marked_expired_is_a_409(api_client, ticket):
    Ticket.objects.filter(pk=ticket.pk).update(expired=True)

    response = api_client.patch(f"/api/tickets/{ticket.pk}", {"seat": "B1"})

    assert response.status_code == 409
    assert response.json() == TICKET_EXPIRED


def test_a_change_racing_a_cancel_is_a_404(api_client, ticket):
    """The cancel commits between the change's first read of the ticket and its show lock."""
    lock_shows = ticket_changes.lock_shows

    def cancel_then_lock(show_ids):
        # What a DELETE at the same time commits (here inside the change's transaction,
        # which the 404 rolls back: the test reads only the answer).
        sales.ticket_cancel(ticket_id=ticket.pk, now=timezone.now())
        return lock_shows(show_ids)

    with mock.patch.object(ticket_changes, "lock_shows", cancel_then_lock):
        response = api_client.patch(f"/api/tickets/{ticket.pk}", {"seat": "B1"})

    assert response.status_code == 404
    assert response.json() == {"detail": "No Ticket matches the given query."}


def test_a_cancel_committed_just_after_a_change_makes_it_a_404(api_client, ticket):
    """The view reads the changed ticket again to answer it: the cancel came in between."""
    ticket_update = sales.ticket_update

    def update_then_cancel(**kwargs):
        ticket_update(**kwargs)
        sales.ticket_cancel(ticket_id=ticket.pk, now=timezone.now())

    with mock.patch.object(sales, "ticket_update", update_then_cancel):
        response = api_client.patch(f"/api/tickets/{ticket.pk}", {"seat": "B1"})

    assert response.status_code == 404
    assert response.json() == {"detail": "No Ticket matches the given query."}


# --- DELETE /api/tickets/{id} -------------------------------------------------------------


def test_delete_frees_the_seat_at_once(api_client, show):
    for _ in range(20):
        book(show)
    cancelled = Ticket.objects.get(show=show, seat="A7")

    deleted = api_client.delete(f"/api/tickets/{cancelled.pk}")
    rebooked = api_client.post("/api/tickets", {**GRACE, "show": show.pk})

    assert deleted.status_code == 204
    assert deleted.content == b""
    assert rebooked.status_code == 201
    assert rebooked.json()["seat"] == "A7"
    assert api_client.get(f"/api/tickets/{cancelled.pk}").status_code == 404


def at_once(*requests: tuple) -> list[int]:
    """Send the requests, each (method, url, data...), at the same moment, each from a
    client of its own; their statuses in the order given."""
    statuses = {}

    def send(n: int) -> None:
        method, url, *data = requests[n]
        statuses[n] = getattr(APIClient(REMOTE_ADDR=f"10.2.0.{n + 1}"), method)(url, *data).status_code

    all_at_once(len(requests), send)
    return [statuses[n] for n in range(len(requests))]


def cancelled(ticket) -> int:
    return AuditEntry.objects.filter(action="ticket.cancelled", object_id=str(ticket.pk)).count()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_deletes_of_a_ticket_at_once_cancel_it_once():
    """The second DELETE finds the ticket gone (the booking's row lock makes them take turns)."""
    for day in range(1, 4):  # a race may hide in one try
        ticket = book(make_show(days=day))
        delete = ("delete", f"/api/tickets/{ticket.pk}")

        assert sorted(at_once(delete, delete)) == [204, 404]
        assert cancelled(ticket) == 1
        assert AuditEntry.objects.filter(action="booking.cancelled", object_id=ticket.booking.reference).count() == 1


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_last_two_tickets_of_a_booking_cancelled_at_once_cancel_the_booking():
    for day in range(1, 4):
        sale = book_seats(make_show(days=day).pk, quantity=2, **ADA)
        first, second = sale.tickets

        statuses = at_once(("delete", f"/api/tickets/{first.pk}"), ("delete", f"/api/tickets/{second.pk}"))

        assert statuses == [204, 204]
        assert not Booking.objects.filter(pk=sale.booking.pk).exists()
        assert AuditEntry.objects.filter(action="booking.cancelled", object_id=sale.booking.reference).count() == 1


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_change_and_a_cancel_at_once_are_never_a_500():
    """Either the change commits first (200, then the cancel) or the cancel does (404)."""
    for day in range(1, 4):
        ticket = book(make_show(days=day))

        statuses = at_once(
            ("patch", f"/api/tickets/{ticket.pk}", {"seat": "A1"}), ("delete", f"/api/tickets/{ticket.pk}")
        )

        assert statuses[0] in (200, 404) and statuses[1] == 204
        assert not Ticket.objects.filter(pk=ticket.pk).exists()
        assert cancelled(ticket) == 1
