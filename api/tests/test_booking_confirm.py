"""POST /api/bookings with a hold: confirming the seats a hold keeps, once, before it runs
out, whatever the clocks of two app hosts say (API.md, "Hold and booking")."""

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from api.errors import HoldExpired
from api.models import AuditEntry, Booking, Customer, Hold, Screen, SeatBlock, Ticket
from api.seatmaps import parse
from api.services import sales, venues
from api.tests.bookings_helpers import REFERENCE, book, booking_body, post_hold, seats_available
from api.tests.conftest import (
    ADA,
    book_seats,
    hold_seats,
    make_show,
    postgres_only,
    screen_of,
    while_held_open,
)

pytestmark = pytest.mark.django_db


def test_confirming_a_hold_of_two_seats_makes_one_booking_of_two_tickets(api_client, show):
    held = post_hold(api_client, show, seats=["A3", "A4"])
    assert seats_available(api_client, show) == 18

    response = book(api_client, hold=held["id"], name=" Ada Lovelace ", phone_number="041555 50123")

    assert response.status_code == 201, response.json()
    booking = Booking.objects.get()
    body = response.json()
    assert body == booking_body(booking)
    assert REFERENCE.match(body["reference"])
    assert response["Location"] == f"/api/bookings/{body['reference']}"
    assert (body["name"], body["phone_number"]) == ("Ada Lovelace", "+914155550123")
    assert [t["seat"] for t in body["tickets"]] == ["A3", "A4"]
    assert {t["booking"] for t in body["tickets"]} == {body["reference"]}
    assert Ticket.objects.filter(booking=booking).count() == 2
    # The hold is spent: gone from the API, its seats now counted as tickets instead.
    assert api_client.get(f"/api/holds/{held['id']}").status_code == 404
    show_body = api_client.get(f"/api/shows/{show.pk}").json()
    assert (show_body["tickets_booked"], show_body["seats_available"]) == (2, 18)
    assert "A3" not in show_body["free_seats"]


def test_a_hold_can_be_confirmed_once(api_client, show):
    held = post_hold(api_client, show, quantity=2)
    assert book(api_client, hold=held["id"], **ADA).status_code == 201

    response = book(api_client, hold=held["id"], **ADA)

    assert response.status_code == 409
    assert response.json() == {
        "detail": "This hold has run out, was released or was booked already; hold the seats again to book them.",
        "code": "hold_expired",
    }
    assert Ticket.objects.count() == 2


def test_confirming_an_expired_hold_is_409_hold_expired(api_client, show):
    moment = timezone.now().replace(microsecond=0)
    with time_machine.travel(moment, tick=False):
        held = post_hold(api_client, show, seats=["A3", "A4"])

    with time_machine.travel(moment + timedelta(minutes=settings.BOOKING_HOLD_MINUTES, seconds=1), tick=False):
        response = book(api_client, hold=held["id"], **ADA)

    assert response.status_code == 409
    assert response.json() == {
        "detail": "This hold has run out, was released or was booked already; hold the seats again to book them.",
        "code": "hold_expired",
    }
    assert not Ticket.objects.exists()
    assert not Booking.objects.exists()


def test_confirming_a_hold_once_its_show_started_is_409_hold_expired(api_client, show):
    """Not a 400 on the `time` the request never sent: a hold runs out by its show's start."""
    with time_machine.travel(show.starts_at - timedelta(minutes=2), tick=False):
        held = post_hold(api_client, show, seats=["A3"])
    with time_machine.travel(show.starts_at + timedelta(minutes=1), tick=False):
        response = book(api_client, hold=held["id"], **ADA)

    assert response.status_code == 409
    assert response.json() == HOLD_EXPIRED
    assert not Ticket.objects.exists()


def test_confirming_a_hold_after_the_purge_job_ran_is_still_409_hold_expired(api_client, show):
    moment = timezone.now().replace(microsecond=0)
    with time_machine.travel(moment, tick=False):
        held = post_hold(api_client, show, seats=["A3"])
    later = moment + timedelta(minutes=settings.BOOKING_HOLD_MINUTES, seconds=1)
    with time_machine.travel(later, tick=False):
        call_command("purge_expired_tickets", stdout=StringIO())
        response = book(api_client, hold=held["id"], **ADA)

    assert response.status_code == 409
    assert response.json()["code"] == "hold_expired"


def test_confirming_a_hold_the_purge_job_deleted_is_still_409_hold_expired(api_client, show):
    """Deleted a day after its end (jobs.SPENT_HOLDS_KEPT), the hold is still told from an
    id never made by its history, which the purge keeps for AUDIT_KEEP_DAYS."""
    moment = timezone.now().replace(microsecond=0)
    with time_machine.travel(moment, tick=False):
        held = post_hold(api_client, show, seats=["A3"])
    later = moment + timedelta(minutes=settings.BOOKING_HOLD_MINUTES, hours=24, seconds=1)
    with time_machine.travel(later, tick=False):
        call_command("purge_expired_tickets", stdout=StringIO())
        assert not Hold.objects.exists()
        response = book(api_client, hold=held["id"], **ADA)

    assert response.status_code == 409
    assert response.json()["code"] == "hold_expired"


def test_confirming_a_hold_just_before_it_expires_works(api_client, show):
    moment = timezone.now().replace(microsecond=0)
    with time_machine.travel(moment, tick=False):
        held = post_hold(api_client, show, seats=["A3"])

    with time_machine.travel(moment + timedelta(minutes=settings.BOOKING_HOLD_MINUTES, seconds=-1), tick=False):
        assert book(api_client, hold=held["id"], **ADA).status_code == 201


def test_confirming_a_released_hold_is_409_hold_expired(api_client, show):
    held = post_hold(api_client, show, seats=["A3"])
    assert api_client.delete(f"/api/holds/{held['id']}").status_code == 204

    response = book(api_client, hold=held["id"], **ADA)

    assert response.status_code == 409
    assert response.json()["code"] == "hold_expired"
    assert not Ticket.objects.exists()


def test_confirming_a_hold_whose_seat_was_taken_meanwhile_is_409(api_client, show):
    """The UNIQUE (show, seat) backstop: a seat sold under a hold (e.g. by a direct
    database write) gives 409 seat_taken, never a 500."""
    held = post_hold(api_client, show, seats=["A3"])
    customer = Customer.objects.create(name="Bob", phone_number="+914155550124")
    other = Booking.objects.create(reference="BBBBBB", customer=customer)
    Ticket.objects.create(booking=other, holder=customer, show=show, seat="A3")

    response = book(api_client, hold=held["id"], **ADA)

    assert response.status_code == 409
    assert response.json() == {"detail": "A held seat was booked meanwhile.", "code": "seat_taken"}
    assert Booking.objects.count() == 1


# Two app hosts whose clocks disagree: the hold runs out at `expiry`; host B (clock ahead)
# no longer counts it, host A (clock behind) still calls it live when it confirms.
HOLD_EXPIRED = {
    "detail": "This hold has run out, was released or was booked already; hold the seats again to book them.",
    "code": "hold_expired",
}


def test_a_confirm_whose_clock_is_behind_does_not_sell_past_the_capacity(api_client):
    show = make_show(capacity=2)  # a sale cap below the map's 20 seats
    book_seats(show.pk, seats=["A1"])
    held = post_hold(api_client, show, seats=["A2"])
    expiry = Hold.objects.get().expires_at
    with time_machine.travel(expiry + timedelta(seconds=1), tick=False):  # host B: the last seat
        other = {"name": "Bob", "phone_number": "+914155550124"}
        assert (
            api_client.post("/api/tickets", {"show": show.pk, "seat": "B1", **other}, format="json").status_code == 201
        )

    with time_machine.travel(expiry - timedelta(seconds=1), tick=False):  # host A
        response = book(api_client, hold=held["id"], **ADA)

    assert response.status_code == 409
    assert response.json() == HOLD_EXPIRED
    assert sorted(Ticket.objects.values_list("seat", flat=True)) == ["A1", "B1"]


def test_a_confirm_whose_clock_is_behind_does_not_sell_seats_another_live_hold_has(api_client, show):
    first = sales.hold_create(show_id=show.pk, seats=["A1", "A2"], now=timezone.now())
    later = first.expires_at + timedelta(seconds=1)
    second = sales.hold_create(show_id=show.pk, seats=["A1", "A2"], now=later)  # host B

    with time_machine.travel(first.expires_at - timedelta(seconds=1), tick=False):  # host A
        response = book(api_client, hold=str(first.pk), **ADA)

    assert response.status_code == 409
    assert response.json() == HOLD_EXPIRED
    assert not Ticket.objects.exists()
    # The other hold is still good for its seats.
    assert sales.booking_confirm(hold_id=second.pk, now=later, **ADA).booking.tickets.count() == 2


def test_a_confirm_whose_clock_is_behind_does_not_sell_a_seat_blocked_meanwhile(api_client, staff_client, show):
    held = post_hold(api_client, show, seats=["A3"])
    expiry = Hold.objects.get().expires_at
    with time_machine.travel(expiry + timedelta(seconds=1), tick=False):  # host B: A3 is a house seat now
        blocked = staff_client.post(f"/api/shows/{show.pk}/blocks", {"seats": ["A3"]}, format="json")
        assert blocked.status_code == 201, blocked.json()

    with time_machine.travel(expiry - timedelta(seconds=1), tick=False):  # host A
        response = book(api_client, hold=held["id"], **ADA)

    assert response.status_code == 409
    assert response.json() == HOLD_EXPIRED
    assert not Ticket.objects.exists()
    assert list(SeatBlock.objects.filter(show=show).values_list("seat", flat=True)) == ["A3"]  # still the house's


def test_a_confirm_whose_clock_is_behind_does_not_sell_a_seat_a_map_change_dropped_meanwhile(
    api_client, staff_client, show
):
    held = post_hold(api_client, show, seats=["B10"])
    expiry = Hold.objects.get().expires_at
    with time_machine.travel(expiry + timedelta(seconds=1), tick=False):  # host B: the hold ran out
        smaller = {"grid": {"rows": 2, "seats_per_row": 9}}  # no A10, B10
        changed = staff_client.patch(f"/api/screens/{show.screen_id}", {"seat_map": smaller}, format="json")
        assert changed.status_code == 200, changed.json()
    entries = AuditEntry.objects.count()

    with time_machine.travel(expiry - timedelta(seconds=1), tick=False):  # host A
        response = book(api_client, hold=held["id"], **ADA)

    assert response.status_code == 409
    assert response.json() == HOLD_EXPIRED
    assert not Ticket.objects.exists() and not Booking.objects.exists() and not Customer.objects.exists()
    assert (AuditEntry.objects.count(), Hold.objects.get().expires_at) == (entries, expiry)  # nothing written


@postgres_only
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_hold_confirmed_while_a_map_change_drops_its_seat_sells_no_seat_the_map_lacks(settings):
    # A customer confirms in the hold's last second; the request's `now` is taken, then it
    # waits for the show's lock, which a seat-map change holds. The change's `now`, a
    # moment later, finds the hold run out, so keep_to_map lets the map drop its seat (B10).
    # The confirm then ran under the lock with its own, earlier `now`: the hold was live by
    # it, and it checked again seats booked, held and blocked meanwhile, but not seats that
    # the map no longer has.
    settings.BOOKING_LOCK_TIMEOUT_SECONDS = 30
    screen = screen_of(20, name="Twenty")  # A1..A10, B1..B10
    show = make_show(screen=screen)
    hold = hold_seats(show.pk, seats=["B10"], now=timezone.now())
    confirm_now = hold.expires_at - timedelta(seconds=1)  # the confirm's request started in time
    change_now = hold.expires_at + timedelta(seconds=1)  # the map change's a moment later
    smaller = parse({"grid": {"rows": 2, "seats_per_row": 9}})  # drops A10 and B10

    outcomes = while_held_open(
        lambda: venues.screen_save(screen=screen, seat_map=smaller, now=change_now),
        lambda: sales.booking_confirm(hold_id=hold.pk, **ADA, now=confirm_now),
    )

    assert outcomes["waited"] is True, outcomes
    assert isinstance(outcomes["first"], Screen), outcomes  # the map change went through
    assert isinstance(outcomes["second"], HoldExpired), outcomes
    assert not Ticket.objects.filter(show=show).exists()


def test_a_blocked_seat_that_staff_held_by_name_is_sold_and_unblocked_by_the_confirm(staff_client, show):
    assert staff_client.post(f"/api/shows/{show.pk}/blocks", {"seats": ["A3"]}, format="json").status_code == 201
    held = post_hold(staff_client, show, seats=["A3"])

    response = book(staff_client, hold=held["id"], **ADA)

    assert response.status_code == 201, response.json()
    assert [t["seat"] for t in response.json()["tickets"]] == ["A3"]
    assert not SeatBlock.objects.exists()


def test_a_house_seat_staff_held_on_a_host_whose_clock_is_behind_is_still_theirs_to_sell(staff_client, show):
    # The confirm told a block newer than the hold by the two hosts' clocks: staff who block
    # a seat, then hold it on a host a few seconds behind, had their own confirm refused.
    # The hold now says which of its seats were blocked when it was made.
    block_at = timezone.now()
    with time_machine.travel(block_at, tick=False):  # host B
        assert staff_client.post(f"/api/shows/{show.pk}/blocks", {"seats": ["A3"]}, format="json").status_code == 201
    with time_machine.travel(block_at - timedelta(seconds=5), tick=False):  # host A, 5 s behind
        held = post_hold(staff_client, show, seats=["A3"])
        response = book(staff_client, hold=held["id"], **ADA)

    assert response.status_code == 201, response.json()
    assert not SeatBlock.objects.exists()
    # The hold's answer shows its lines as API.md has them, without the confirm's flag.
    assert held["lines"] == [{"seat": "A3", "ticket_type": "adult", "category": "standard", "price": "0.00"}]


@pytest.mark.parametrize(
    ("hold", "errors"),
    [
        ("00000000-0000-4000-8000-000000000000", {"hold": ["No such hold."]}),
        ("not-a-uuid", {"hold": ["Must be a valid UUID."]}),
    ],
)
def test_a_hold_that_never_existed_is_400_on_hold(api_client, show, hold, errors):
    response = book(api_client, hold=hold, **ADA)

    assert response.status_code == 400
    assert response.json() == errors


def test_a_hold_with_show_or_seats_is_400(api_client, show):
    held = post_hold(api_client, show, quantity=1)

    response = book(api_client, hold=held["id"], show=show.pk, quantity=1, **ADA)

    assert response.status_code == 400
    assert response.json() == {"hold": ["Give a hold, or quantity, show; not both."]}


@pytest.mark.parametrize(
    ("person", "errors"),
    [
        ({"name": "Ada"}, {"phone_number": ["This field is required."]}),
        ({"phone_number": "+914155550123"}, {"name": ["This field is required."]}),
        ({"name": "Ada", "phone_number": "12"}, {"phone_number": ["Enter a valid phone number."]}),
        ({"name": "   ", "phone_number": "+914155550123"}, {"name": ["This field may not be blank."]}),
    ],
)
def test_confirming_needs_the_persons_details(api_client, show, person, errors):
    held = post_hold(api_client, show, quantity=1)

    response = book(api_client, hold=held["id"], **person)

    assert response.status_code == 400
    assert response.json() == errors
    assert api_client.get(f"/api/holds/{held['id']}").status_code == 200
