"""The hourly seat cap (API.md, "Hold and booking": an anonymous client books at most
BOOKING_MAX_SEATS_PER_CLIENT_PER_HOUR seats an hour, through tickets and one-step bookings
alike, 429 beyond with Retry-After; under concurrent requests from many processes and
hosts; staff exempt). Version 1 had no cap on one-step bookings at all."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from api.errors import SeatsPerHourReached
from api.models import Booking, Ticket
from api.services import sales
from api.tests.conftest import all_at_once, book_seats, hold_seats, make_show, postgres_only

pytestmark = pytest.mark.django_db

ADA = {"name": "Ada Lovelace", "phone_number": "+914155550123"}
CLIENT = "addr:203.0.113.7"


@pytest.fixture
def cap(settings):
    settings.BOOKING_MAX_SEATS_PER_CLIENT_PER_HOUR = 5
    settings.BOOKING_MAX_HELD_SEATS_PER_CLIENT = 10
    settings.THROTTLE_ANON_RATE = "1000/min"
    return 5


@pytest.fixture
def shows():
    return [make_show(days=2, hour=10 + n, minute=0, capacity=20) for n in range(3)]


def test_tickets_and_bookings_count_together_then_429_with_retry_after(api_client, cap, shows):
    moment = timezone.now().replace(microsecond=0)
    with time_machine.travel(moment, tick=False):
        assert api_client.post("/api/tickets", {**ADA, "show": shows[0].pk}).status_code == 201
        assert api_client.post("/api/bookings", {**ADA, "show": shows[1].pk, "quantity": 3}).status_code == 201
        hold = api_client.post("/api/holds", {"show": shows[2].pk, "quantity": 1}).json()
        assert api_client.post("/api/bookings", {**ADA, "hold": hold["id"]}).status_code == 201  # the 5th seat

    with time_machine.travel(moment + timedelta(minutes=20), tick=False):
        ticket = api_client.post("/api/tickets", {**ADA, "show": shows[2].pk})
        booking = api_client.post("/api/bookings", {**ADA, "show": shows[2].pk, "quantity": 1})

    for response in (ticket, booking):
        assert response.status_code == 429
        assert response.json() == {
            "detail": "One client can book at most 5 seats an hour: try again later.",
            "code": "seats_per_hour",  # the cap, not the request rate: the page tells them apart
        }
        # The oldest seats leave the window an hour after they were booked: 40 minutes on.
        assert response["Retry-After"] == str(40 * 60)
    assert Ticket.objects.count() == 5


def test_the_window_slides_and_a_cancelled_seat_no_longer_counts(api_client, cap, shows):
    moment = timezone.now().replace(microsecond=0)
    with time_machine.travel(moment, tick=False):
        first = api_client.post("/api/bookings", {**ADA, "show": shows[0].pk, "quantity": 3}).json()
    with time_machine.travel(moment + timedelta(minutes=30), tick=False):
        assert api_client.post("/api/bookings", {**ADA, "show": shows[1].pk, "quantity": 2}).status_code == 201
        assert api_client.post("/api/tickets", {**ADA, "show": shows[2].pk}).status_code == 429
        assert api_client.delete(f"/api/tickets/{first['tickets'][0]['id']}").status_code == 204
        assert api_client.post("/api/tickets", {**ADA, "show": shows[2].pk}).status_code == 201
    with time_machine.travel(moment + timedelta(minutes=60), tick=False):  # the first booking has left the hour
        assert api_client.post("/api/bookings", {**ADA, "show": shows[2].pk, "quantity": 2}).status_code == 201


def test_more_seats_at_once_than_the_cap_are_a_400_not_a_wait(api_client, cap, shows, settings):
    # It was a 429 with Retry-After: 3600, though no wait would ever let it through.
    settings.BOOKING_MAX_SEATS_PER_CLIENT_PER_HOUR = 3

    response = api_client.post("/api/bookings", {**ADA, "show": shows[0].pk, "quantity": 4})

    assert response.status_code == 400 and "Retry-After" not in response
    assert response.json() == {"non_field_errors": ["One client can book at most 3 seats an hour: ask for fewer."]}
    assert not Booking.objects.exists()


def test_each_client_has_its_own_cap(api_client, cap, shows, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    for address in ("203.0.113.7", "203.0.113.8"):
        response = api_client.post(
            "/api/bookings", {**ADA, "show": shows[0].pk, "quantity": 5}, HTTP_X_FORWARDED_FOR=address
        )
        assert response.status_code == 201


def test_staff_are_exempt(staff_client, cap, shows):
    for show in shows:
        assert staff_client.post("/api/bookings", {**ADA, "show": show.pk, "quantity": 5}).status_code == 201


def test_zero_turns_the_cap_off(api_client, cap, shows, settings):
    settings.BOOKING_MAX_SEATS_PER_CLIENT_PER_HOUR = 0
    for show in shows:
        assert api_client.post("/api/bookings", {**ADA, "show": show.pk, "quantity": 5}).status_code == 201


# --- under concurrency, on PostgreSQL: requests of one client sent at once ----------------


@postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("requests", "quantity"), [(5, 10), (50, 1)])
def test_bookings_sent_at_once_never_pass_the_cap(settings, requests, quantity):
    """Five one-step bookings of 10 seats, or fifty of one, from one client over five shows
    at once: the client's lock makes them count one after the other, so exactly the cap's
    20 seats are sold."""
    settings.BOOKING_MAX_SEATS_PER_CLIENT_PER_HOUR = 20
    shows = [make_show(days=2, hour=10 + n, minute=0, capacity=20).pk for n in range(5)]

    def book(n: int) -> str:
        try:
            book_seats(shows[n % len(shows)], quantity=quantity, client=CLIENT)
        except SeatsPerHourReached:
            return "refused"
        return "booked"

    answers = all_at_once(requests, book)

    assert Ticket.objects.filter(booking__client=CLIENT).count() == 20
    assert answers.count("booked") == 20 // quantity
    assert answers.count("refused") == requests - 20 // quantity


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_confirms_and_tickets_sent_at_once_never_pass_the_cap(settings):
    settings.BOOKING_MAX_SEATS_PER_CLIENT_PER_HOUR = 20
    settings.BOOKING_MAX_HELD_SEATS_PER_CLIENT = 0
    shows = [make_show(days=2, hour=10 + n, minute=0, capacity=20).pk for n in range(5)]
    holds = [hold_seats(shows[n % 5], quantity=2).pk for n in range(10)]  # 20 seats held by the job, say

    def book(n: int) -> str:
        try:
            if n < 10:
                book_seats(shows[n % 5], quantity=1, client=CLIENT)
            else:
                sales.booking_confirm(hold_id=holds[n - 10], now=timezone.now(), client=CLIENT, **ADA)
        except SeatsPerHourReached:
            return "refused"
        return "booked"

    all_at_once(20, book)

    assert Ticket.objects.filter(booking__client=CLIENT).count() <= 20
    assert Ticket.objects.filter(booking__client=CLIENT).count() >= 18  # only whole requests are refused
