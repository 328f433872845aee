"""The Ticket part of API.md: book and read (what a booking's body may hold:
test_ticket_input.py; changes: test_ticket_changes.py; the staff list and check-in:
test_ticket_list.py)."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from api.models import Screen, Show, Ticket
from api.seatmaps import grid
from api.tests.conftest import ADA, hold_seats, in_days, make_show
from api.tests.tickets_helpers import GRACE, REFERENCE, STARTED, book, sold_out_answer, ticket_json

pytestmark = pytest.mark.django_db

# --- POST /api/tickets ------------------------------------------------------------------


def test_book_by_show_gives_the_best_available_seat(api_client, show):
    book(show, seat="A1")

    response = api_client.post("/api/tickets", {**ADA, "show": show.pk})

    assert response.status_code == 201
    body = response.json()
    # v2: the sweet spot of 2 rows of 10 is row round(1 * 2/3) = B, between B5 and B6: the left one.
    assert body == ticket_json(body["id"], show=show, seat="B5", **ADA)
    assert response["Location"] == f"/api/tickets/{body['id']}"
    assert uuid.UUID(body["id"]).version == 4
    assert REFERENCE.match(body["booking"])
    assert abs(datetime.fromisoformat(body["booked_at"]) - timezone.now()) < timedelta(minutes=1)


def test_book_by_date_and_time_of_a_scheduled_show(api_client, show):
    local = timezone.localtime(show.starts_at)

    response = api_client.post("/api/tickets", {**ADA, "date": local.date().isoformat(), "time": "19:30"})

    assert response.status_code == 201
    assert response.json() == ticket_json(response.json()["id"], show=show, seat="B5", **ADA)  # the best seat
    assert Show.objects.count() == 1


def test_book_an_unscheduled_future_time_creates_the_show(api_client):
    default = Screen.objects.default()
    default.seat_map = grid(1, 7)
    default.save()
    day = in_days(9)

    response = api_client.post("/api/tickets", {**ADA, "date": day.isoformat(), "time": "11:45"})

    assert response.status_code == 201
    show = Show.objects.get()
    # On the default screen, with all its places (v2: a show's capacity defaults to its screen's).
    assert (show.title, show.screen_id, show.capacity) == ("", default.pk, 7)
    assert show.starts_at == timezone.make_aware(datetime(day.year, day.month, day.day, 11, 45))
    # One row of 7: the middle seat.
    assert response.json() == ticket_json(response.json()["id"], show=show, seat="A4", **ADA)


def test_hh_mm_and_hh_mm_00_name_the_same_show_time(api_client):
    day = in_days(9).isoformat()

    first = api_client.post("/api/tickets", {**ADA, "date": day, "time": "15:00"})
    second = api_client.post("/api/tickets", {**GRACE, "date": day, "time": "15:00:00"})

    assert (first.status_code, second.status_code) == (201, 201)
    show = Show.objects.get()
    # The first took the best seat, B5; the next best is beside it, B6.
    assert second.json() == ticket_json(second.json()["id"], show=show, seat="B6", **GRACE)
    assert first.json()["show"] == second.json()["show"] == show.pk


def test_time_with_seconds_other_than_00_is_a_400(api_client):
    response = api_client.post("/api/tickets", {**ADA, "date": in_days(9).isoformat(), "time": "15:00:30"})

    assert response.status_code == 400
    assert response.json() == {"time": ["Shows start on the minute: seconds must be 00."]}
    assert not Show.objects.exists()


def test_past_show_time_is_a_400(api_client):
    response = api_client.post("/api/tickets", {**ADA, "date": in_days(-1).isoformat(), "time": "15:00"})

    assert response.status_code == 400
    assert response.json() == STARTED
    assert not Show.objects.exists()


def test_show_that_has_started_is_a_400(api_client):
    started = Show.objects.create(starts_at=timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=5))

    response = api_client.post("/api/tickets", {**ADA, "show": started.pk})

    assert response.status_code == 400
    assert response.json() == STARTED
    assert not Ticket.objects.exists()


def test_unknown_time_is_a_400_when_timings_are_not_open(api_client, settings, show):
    settings.BOOKING_OPEN_TIMINGS = False
    local = timezone.localtime(show.starts_at)

    unknown = api_client.post("/api/tickets", {**ADA, "date": local.date().isoformat(), "time": "20:00"})
    scheduled = api_client.post("/api/tickets", {**ADA, "date": local.date().isoformat(), "time": "19:30"})

    assert unknown.status_code == 400
    assert unknown.json() == {"time": ["No show is scheduled at this date and time."]}
    assert scheduled.status_code == 201
    assert scheduled.json()["show"] == show.pk
    assert Show.objects.count() == 1


def test_booking_number_21_of_a_20_seat_show_is_sold_out(api_client, show):
    seats = [api_client.post("/api/tickets", {**ADA, "show": show.pk}).json()["seat"] for _ in range(20)]

    response = api_client.post("/api/tickets", {**GRACE, "show": show.pk})

    # Best available, one at a time (seatchoice.choose_best): out from the sweet spot, row B
    # between B5 and B6; on a tie the left seat first; a seat that would strand a lone free
    # seat comes only once no other choice in the house avoids it (so B3, B8, then A3, A8
    # before B2; B1, alone already, before A2, which would leave A1 alone: 88b10ed).
    assert seats == [
        *("B5", "B6", "B4", "B7", "A5", "A6", "A4", "A7", "B3", "B8"),
        *("A3", "A8", "B2", "B1", "B9", "B10", "A2", "A1", "A9", "A10"),
    ]
    assert sorted(seats) == sorted(f"{row}{n}" for row in "AB" for n in range(1, 11))
    assert response.status_code == 409
    assert response.json() == sold_out_answer(show)
    assert Ticket.objects.filter(show=show).count() == 20


def test_seats_in_live_holds_are_not_sold(api_client, show):
    hold_seats(show.pk, quantity=10)
    for _ in range(10):
        book(show)

    response = api_client.post("/api/tickets", {**ADA, "show": show.pk})

    assert response.status_code == 409
    assert response.json() == sold_out_answer(show)


def test_book_a_chosen_seat(api_client, show):
    response = api_client.post("/api/tickets", {**ADA, "show": show.pk, "seat": "b10"})

    assert response.status_code == 201
    assert response.json() == ticket_json(response.json()["id"], show=show, seat="B10", **ADA)
    assert (Ticket.objects.get().seat, Ticket.objects.get().seat_order) == ("B10", 19)


def test_rows_after_z_are_aa(api_client):
    big = make_show(capacity=270)

    response = api_client.post("/api/tickets", {**ADA, "show": big.pk, "seat": "AA1"})

    assert response.status_code == 201
    assert response.json()["seat"] == "AA1"
    assert (Ticket.objects.get().seat, Ticket.objects.get().seat_order) == ("AA1", 260)


@pytest.mark.parametrize("label", ["C1", "A11"])  # past the last row; past the end of a row of 10
def test_seat_beyond_the_capacity_is_a_400(api_client, show, label):
    response = api_client.post("/api/tickets", {**ADA, "show": show.pk, "seat": label})

    assert response.status_code == 400
    assert response.json() == {"seat": [f"Seat {label} does not exist at this show."]}


@pytest.mark.parametrize("label", ["A1000", "A0", "4B", "", "A-1", "ÄÖ1", 5, "A" * 9])
def test_seat_label_that_is_not_well_formed_is_a_400(api_client, show, label):
    response = api_client.post("/api/tickets", {**ADA, "show": show.pk, "seat": label})

    assert response.status_code == 400
    assert response.json() == {"seat": ["Not a seat label: use a row letter and a seat number, like B4."]}


def test_seat_taken_is_a_409(api_client, show):
    book(show, seat="A4")

    response = api_client.post("/api/tickets", {**GRACE, "show": show.pk, "seat": "A4"})

    assert response.status_code == 409
    assert response.json() == {"detail": "Seat A4 is already booked or held.", "code": "seat_taken"}


def test_seat_held_is_a_409(api_client, show):
    hold_seats(show.pk, seats=["B1", "B2"])  # B2 alone would strand B1 (the single-seat rule)

    response = api_client.post("/api/tickets", {**GRACE, "show": show.pk, "seat": "B2"})

    assert response.status_code == 409
    assert response.json() == {"detail": "Seat B2 is already booked or held.", "code": "seat_taken"}


# --- GET /api/tickets/{id} -------------------------------------------------------------


def test_read_a_ticket_by_its_id_without_logging_in(api_client, ticket, show):
    response = api_client.get(f"/api/tickets/{ticket.pk}")

    assert response.status_code == 200
    # The fixture's best seat; read later by its holder, without the booking's reference (v2).
    assert response.json() == ticket_json(str(ticket.pk), show=show, seat="B5", booking=None, **ADA)


def test_unknown_ticket_id_is_a_json_404(api_client, ticket):
    response = api_client.get(f"/api/tickets/{uuid.uuid4()}")

    assert response.status_code == 404
    assert response.json() == {"detail": "No Ticket matches the given query."}


@pytest.mark.parametrize("ticket_id", ["not-a-uuid", "12345", "5f0c", "%20"])
def test_ticket_id_that_is_not_a_uuid_is_a_json_404(api_client, ticket_id):
    response = api_client.get(f"/api/tickets/{ticket_id}")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_every_item_method_of_an_unknown_ticket_is_a_404(api_client, method):
    response = getattr(api_client, method)(f"/api/tickets/{uuid.uuid4()}", {**ADA, "date": "2099-01-01"})

    assert response.status_code == 404
    assert response.json() == {"detail": "No Ticket matches the given query."}


@pytest.mark.parametrize("suffix", ["", "/"])
def test_urls_work_with_and_without_trailing_slash(api_client, staff_client, show, suffix):
    created = api_client.post(f"/api/tickets{suffix}", {**ADA, "show": show.pk})
    ticket_id = created.json()["id"]
    read = api_client.get(f"/api/tickets/{ticket_id}{suffix}")
    patched = api_client.patch(f"/api/tickets/{ticket_id}{suffix}", {"name": "Ada King"})
    listed = staff_client.get(f"/api/tickets{suffix}")
    with time_machine.travel(show.starts_at - timedelta(hours=1)):
        checked_in = staff_client.post(f"/api/tickets/{ticket_id}/check-in{suffix}")
        undone = staff_client.delete(f"/api/tickets/{ticket_id}/check-in{suffix}")  # a used ticket isn't cancelled
    deleted = api_client.delete(f"/api/tickets/{ticket_id}{suffix}")

    statuses = [r.status_code for r in (created, read, patched, listed, checked_in, undone, deleted)]
    assert statuses == [201, 200, 200, 200, 200, 200, 204]
    # Read later by its holder, the ticket hides its booking's reference (v2); the rest is as made.
    assert read.json() == {**created.json(), "booking": None}
    assert patched.json()["name"] == "Ada King"
    assert listed.json()["count"] == 1


# --- the theatre's time zone -------------------------------------------------------------------


def test_date_and_time_are_read_in_the_theatre_time_zone(api_client):
    venue = Screen.objects.default().venue  # v2: the zone is the (default) venue's
    venue.time_zone = "Europe/Moscow"
    venue.save()
    day = in_days(9)

    response = api_client.post("/api/tickets", {**ADA, "date": day.isoformat(), "time": "19:30"})

    assert response.status_code == 201
    body = response.json()
    assert (body["date"], body["time"]) == (day.isoformat(), "19:30")
    assert body["starts_at"] == f"{day.isoformat()}T19:30:00+03:00"
    assert body["booked_at"].endswith("+03:00")
    assert Show.objects.get().starts_at == datetime(day.year, day.month, day.day, 16, 30, tzinfo=UTC)


def test_a_guest_of_a_group_booking_gets_no_key_to_the_booking(api_client, show):
    """Version 1 showed a guest's ticket with its booking's reference, which with the
    booker's phone opened the whole booking: rename and cancel everyone's tickets."""
    booked = api_client.post("/api/bookings", {**ADA, "show": show.pk, "quantity": 2}, format="json").json()
    guest_ticket = booked["tickets"][1]["id"]

    read = api_client.get(f"/api/tickets/{guest_ticket}").json()

    assert read["booking"] is None
    assert booked["reference"] not in json.dumps(read)
