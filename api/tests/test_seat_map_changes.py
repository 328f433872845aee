"""Changing the seat map of a screen that has shows (API.md (v2), "Venue and screen"): a map
that drops a seat in use is refused, and the capacity of the coming shows follows the map."""

import threading
from datetime import datetime, timedelta
from typing import cast
from unittest import mock

import pytest
from django.utils import timezone

from api.errors import CapacityAboveMap, NoSuchSeat, SeatInUse
from api.models import AuditEntry, Screen, SeatBlock, Show, Ticket, Webhook, WebhookEvent
from api.seatmaps import SeatMap, grid, parse
from api.services import audit, blocks, catalog, sales, venues
from api.services.showtimes import ShowTime
from api.tests.conftest import (
    ADA,
    book_seats,
    book_ticket,
    hold_seats,
    in_thread,
    make_show,
    postgres_only,
    screen_of,
    while_held_open,
)

pytestmark = pytest.mark.django_db


def test_a_map_change_that_drops_a_booked_seat_is_a_409(staff_client):
    show = make_show()
    book_ticket(show.pk, seat="B10")
    smaller = {"grid": {"rows": 2, "seats_per_row": 9}}

    response = staff_client.patch(f"/api/screens/{show.screen_id}", {"seat_map": smaller}, format="json")

    assert response.status_code == 409
    assert response.json() == {
        "detail": "Seat B10 is booked or held for a show to come: the seat map must keep it.",
        "code": "seat_in_use",
        "seats": ["B10"],
    }
    assert Screen.objects.get(shows=show).capacity == 20
    book_ticket(show.pk, seat="A10")
    two = staff_client.patch(f"/api/screens/{show.screen_id}", {"seat_map": smaller}, format="json").json()
    assert two["detail"] == "Seats A10, B10 are booked or held for a show to come: the seat map must keep them."


def test_a_map_change_that_keeps_every_used_seat_applies_to_every_show(staff_client):
    show = make_show()
    book_ticket(show.pk, seat="A1")
    bigger = {"grid": {"rows": 3, "seats_per_row": 10}}

    response = staff_client.patch(f"/api/screens/{show.screen_id}", {"seat_map": bigger}, format="json")

    assert response.status_code == 200
    assert response.json()["capacity"] == 30
    seats = staff_client.get(f"/api/shows/{show.pk}/seats").json()
    assert [row["label"] for row in seats["rows"]] == ["A", "B", "C"]


def test_a_map_change_of_a_screen_with_no_coming_show_works(staff_client):
    screen = screen_of(10, name="Empty")
    make_show(screen=screen, days=-1)  # started: not locked, not checked

    response = staff_client.patch(
        f"/api/screens/{screen.pk}", {"seat_map": {"grid": {"rows": 1, "seats_per_row": 5}}}, format="json"
    )

    assert (response.status_code, response.json()["capacity"]) == (200, 5)


def test_a_map_saved_unchanged_locks_no_show(staff_client):
    # The admin sends the map with every save of a screen (a new name, say).
    screen = screen_of(10, name="Busy")
    make_show(screen=screen)

    with mock.patch.object(venues, "lock_shows", wraps=venues.lock_shows) as lock_shows:
        renamed = staff_client.patch(
            f"/api/screens/{screen.pk}", {"name": "Quiet", "seat_map": screen.seat_map}, format="json"
        )
        resized = staff_client.patch(
            f"/api/screens/{screen.pk}", {"seat_map": {"grid": {"rows": 1, "seats_per_row": 12}}}, format="json"
        )

    assert (renamed.status_code, resized.status_code) == (200, 200)
    assert lock_shows.call_count == 1  # the change of map only


class PausingMap:
    """A seat map whose document() (which screen_save calls after its in-use check, before
    it saves) says it was reached, then waits to be let go."""

    def __init__(self, seat_map: SeatMap, checked: threading.Event, go: threading.Event):
        self.seat_map, self.checked, self.go = seat_map, checked, go

    def labels(self):
        return self.seat_map.labels()

    def document(self):
        self.checked.set()
        assert self.go.wait(30)
        return self.seat_map.document()


RACING_A_MAP_CHANGE = {
    # What the show's lock serialises with a map change, each reading the map after it.
    "a booking": (10, lambda show: book_ticket(show.pk, seat="A10"), NoSuchSeat),
    "a block": (
        10,
        lambda show: blocks.seats_block(show_id=show.pk, seats=["A10"], reason="broken", now=timezone.now()),
        NoSuchSeat,
    ),
    "a capacity": (
        9,
        lambda show: catalog.show_update(show_id=show.pk, now=timezone.now(), capacity=10),
        CapacityAboveMap,
    ),
}


@postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("write", list(RACING_A_MAP_CHANGE))
def test_a_write_of_a_seat_a_map_change_drops_waits_for_it_and_fails(settings, write):
    # screen_save's in-use check read tickets and holds without a lock: a booking of A10
    # between the check and the save left a ticket on a seat the new map lacks. A write
    # that waits for the change's lock read the screen with its show, before the change.
    settings.BOOKING_LOCK_TIMEOUT_SECONDS = 30
    capacity, work, refusal = RACING_A_MAP_CHANGE[write]
    screen = screen_of(10, name="Small")  # A1..A10
    show = make_show(screen=screen, capacity=capacity)
    smaller = parse({"rows": [{"label": "A", "seats": [{"number": n} for n in range(1, 10)]}]})  # no A10
    checked, go = threading.Event(), threading.Event()
    outcomes: dict[str, object] = {}

    pausing = cast(SeatMap, PausingMap(smaller, checked, go))  # all screen_save calls of a map
    change = in_thread(
        outcomes, "change", lambda: venues.screen_save(screen=screen, seat_map=pausing, now=timezone.now())
    )
    assert checked.wait(30)  # the change found A10 unused, and holds the show's lock
    racer = in_thread(outcomes, "write", lambda: work(show))
    racer.join(1)
    waited = racer.is_alive()  # the write waits for the change...
    go.set()
    change.join(30)
    racer.join(30)

    assert waited
    assert isinstance(outcomes["change"], Screen), outcomes
    # ...and then is refused by the map the change saved.
    assert isinstance(outcomes["write"], refusal), outcomes
    assert "A10" not in Screen.objects.get(pk=screen.pk).seats.labels()
    assert not Ticket.objects.filter(show=show).exists()
    assert not SeatBlock.objects.filter(show=show).exists()
    assert Show.objects.get(pk=show.pk).capacity == 9


def book_b10_at(when: ShowTime) -> Ticket:
    return sales.ticket_book(
        when=when, seat="B10", now=timezone.now(), name=ADA["name"], phone_number=ADA["phone_number"]
    )


def open_timing_in_two_days() -> tuple[ShowTime, datetime]:
    local = timezone.localtime(timezone.now() + timedelta(days=2)).replace(hour=10, minute=5, second=0, microsecond=0)
    return ShowTime(day=local.date(), at=local.time()), local


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_an_open_timing_booked_during_a_map_change_is_made_on_the_new_map():
    # The open timing was made without the screen's lock, with the capacity of the map as
    # committed before: not among the shows the change locked, its sale went on at once
    # and sold B10, which the new map drops.
    screen = Screen.objects.default()  # A1-A10, B1-B10
    when, local = open_timing_in_two_days()

    outcomes = while_held_open(
        lambda: venues.screen_save(screen=screen, seat_map=parse(grid(2, 9)), now=timezone.now()),
        lambda: book_b10_at(when),
    )

    assert isinstance(outcomes["first"], Screen) and outcomes["waited"], outcomes
    assert isinstance(outcomes["second"], NoSuchSeat), outcomes  # the map read: the new one
    assert not Show.objects.filter(starts_at=local).exists()  # made in the sale's transaction


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_map_change_during_the_sale_of_a_new_open_timing_finds_its_ticket():
    screen = Screen.objects.default()
    when, _ = open_timing_in_two_days()

    outcomes = while_held_open(
        lambda: book_b10_at(when),
        lambda: venues.screen_save(screen=screen, seat_map=parse(grid(2, 9)), now=timezone.now()),
    )

    assert isinstance(outcomes["first"], Ticket) and outcomes["waited"], outcomes
    assert isinstance(outcomes["second"], SeatInUse), outcomes
    assert Screen.objects.get(pk=screen.pk).capacity == 20


def test_a_bigger_map_raises_the_coming_shows_that_sold_every_seat_of_the_old_one(staff_client):
    # A show's capacity defaults to its map (API.md), and a map change applies to every show
    # at once: a show that sold the whole screen stayed at the old map's seats.
    screen = screen_of(20, name="Twenty")
    whole, capped = make_show(screen=screen), make_show(screen=screen, days=4, capacity=8)
    started = make_show(screen=screen, days=-1)

    response = staff_client.patch(
        f"/api/screens/{screen.pk}", {"seat_map": {"grid": {"rows": 3, "seats_per_row": 10}}}, format="json"
    )

    assert response.status_code == 200
    capacities = {
        s["id"]: (s["capacity"], s["seats_available"]) for s in staff_client.get("/api/shows").json()["results"]
    }
    assert (capacities[whole.pk], capacities[capped.pk]) == ((30, 30), (8, 8))  # a cap staff set stays
    assert Show.objects.get(pk=started.pk).capacity == 20  # no longer sold: left as it was
    entry = AuditEntry.objects.get(action="show.changed")
    assert (entry.object_id, entry.changes) == (str(whole.pk), {"capacity": [20, 30]})


def test_a_cap_staff_set_outlives_a_map_made_smaller_then_bigger_again(staff_client):
    """A map made smaller brought a cap of 20 or 25 down to its 20 places; the caps were not
    remembered, so the map made bigger again raised both to every place, as if never capped."""
    screen = screen_of(30, name="Thirty")
    at = timezone.now().replace(second=0, microsecond=0)
    made = [
        staff_client.post(
            "/api/shows", {"screen": screen.pk, "starts_at": (at + timedelta(days=days)).isoformat(), **cap}
        ).json()["id"]
        for days, cap in ((3, {}), (4, {"capacity": 20}), (5, {"capacity": 25}))
    ]
    staff_client.patch(f"/api/shows/{made[0]}", {"title": "renamed"}, format="json")  # no cap of its own

    def capacities(rows: int) -> list[int]:
        body = {"seat_map": {"grid": {"rows": rows, "seats_per_row": 10}}}
        assert staff_client.patch(f"/api/screens/{screen.pk}", body, format="json").status_code == 200
        return [staff_client.get(f"/api/shows/{pk}").json()["capacity"] for pk in made]

    assert capacities(2) == [20, 20, 20]
    assert capacities(3) == [30, 20, 25]
    assert capacities(4) == [40, 20, 25]


def test_a_cap_set_to_every_place_of_a_smaller_map_is_no_cap_any_more(staff_client):
    """Staff who set a show brought down to a smaller map's 20 places to 20 (every place)
    meant no cap: the cap of 25 was kept, since 20 was already its capacity."""
    screen = screen_of(30, name="Thirty")
    when = (timezone.now() + timedelta(days=3)).replace(second=0, microsecond=0).isoformat()
    show = staff_client.post("/api/shows", {"screen": screen.pk, "starts_at": when, "capacity": 25}).json()["id"]

    def seat_map(rows: int) -> None:
        body = {"seat_map": {"grid": {"rows": rows, "seats_per_row": 10}}}
        assert staff_client.patch(f"/api/screens/{screen.pk}", body, format="json").status_code == 200

    seat_map(2)
    assert staff_client.patch(f"/api/shows/{show}", {"capacity": 20}, format="json").status_code == 200
    seat_map(3)

    assert staff_client.get(f"/api/shows/{show}").json()["capacity"] == 30


def test_a_smaller_map_lowers_the_capacity_of_the_coming_shows_above_it(staff_client):
    Webhook.objects.create(
        url="https://example.com/hook", events=["show.changed", "show.sold_out"], secret="whsec_AAAA"
    )
    screen = screen_of(20, name="Twenty")
    full, capped = make_show(screen=screen, capacity=20), make_show(screen=screen, days=4, capacity=8)
    started = make_show(screen=screen, days=-1, capacity=20)

    response = staff_client.patch(
        f"/api/screens/{screen.pk}", {"seat_map": {"grid": {"rows": 1, "seats_per_row": 10}}}, format="json"
    )

    assert response.status_code == 200
    capacities = {s["id"]: s["capacity"] for s in staff_client.get("/api/shows").json()["results"]}
    assert (capacities[full.pk], capacities[capped.pk]) == (10, 8)
    assert Show.objects.get(pk=started.pk).capacity == 20  # over: no longer sold, left as it was
    entry = AuditEntry.objects.get(action="show.changed")
    assert (entry.actor, entry.object_id, entry.changes) == ("staff:boxoffice", str(full.pk), {"capacity": [20, 10]})
    (event,) = WebhookEvent.objects.filter(type="show.changed")
    assert event.payload["data"] == {**audit.show_data(Show.objects.get(pk=full.pk)), "changes": {"capacity": [20, 10]}}
    # The show sells out at the map's 10 seats, and says so.
    book_seats(full.pk, seats=[f"A{n}" for n in range(1, 11)])
    assert staff_client.get(f"/api/shows/{full.pk}").json()["seats_available"] == 0
    assert WebhookEvent.objects.filter(type="show.sold_out").count() == 1


def started_then_map_made_smaller(staff_client, *, booked: str) -> Show:
    """A show of a 20-seat screen with a ticket in `booked`, started half an hour ago; then
    its screen's map loses A10 and B10 (a started show's tickets don't stop that)."""
    screen = screen_of(20, name="Two rows")
    show = make_show(screen=screen, capacity=20)
    book_ticket(show.pk, seat=booked)
    started = timezone.now() - timedelta(minutes=30)
    Show.objects.filter(pk=show.pk).update(starts_at=started, ends_at=started, busy_until=started)
    smaller = {"grid": {"rows": 2, "seats_per_row": 9}}
    assert staff_client.patch(f"/api/screens/{screen.pk}", {"seat_map": smaller}, format="json").status_code == 200
    return show


def tomorrow() -> str:
    return (timezone.now() + timedelta(days=1)).replace(second=0, microsecond=0).isoformat()


def test_a_started_show_with_a_seat_its_map_dropped_is_not_moved_to_the_future(staff_client):
    # show_update moved it ("an expired ticket is valid again"): a show to come with a ticket
    # in a seat its screen no longer has, and a capacity above its map.
    show = started_then_map_made_smaller(staff_client, booked="B10")

    response = staff_client.patch(f"/api/shows/{show.pk}", {"starts_at": tomorrow()}, format="json")

    assert response.status_code == 409
    assert response.json() == {
        "detail": "Seat B10 is booked or held for a show to come: the seat map must keep it.",
        "code": "seat_in_use",
        "seats": ["B10"],
    }
    assert Show.objects.get(pk=show.pk).starts_at < timezone.now()  # left as it was


def test_a_started_show_moved_to_the_future_follows_its_screens_map_as_the_shows_to_come(staff_client):
    show = started_then_map_made_smaller(staff_client, booked="A1")
    SeatBlock.objects.create(show=show, seat="A10", reason="broken")  # a seat the map dropped

    response = staff_client.patch(f"/api/shows/{show.pk}", {"starts_at": tomorrow()}, format="json")

    assert response.status_code == 200
    assert response.json()["capacity"] == 18  # was 20, above the map
    assert not SeatBlock.objects.filter(show=show).exists()
    assert AuditEntry.objects.get(action="show.changed", object_id=str(show.pk)).changes["capacity"] == [20, 18]


def test_the_ticket_lists_follow_a_map_that_reorders_the_seats(staff_client):
    # Lists order tickets by their seat's place in the map, written at the sale: a map that
    # put row B in front and turned row A round left them in the old map's order, at the
    # show to come and at yesterday's, whose list staff still read.
    screen = screen_of(20, name="Twenty")
    coming, yesterday = make_show(screen=screen), make_show(screen=screen, days=-1)
    for show in (coming, yesterday):
        book_seats(show.pk, seats=["A1", "A10", "B5"], now=show.starts_at - timedelta(hours=1))
    rows = [
        {"label": "B", "seats": [{"number": n} for n in range(1, 11)]},
        {"label": "A", "seats": [{"number": n, "x": 11 - n} for n in range(1, 11)]},
    ]

    response = staff_client.patch(f"/api/screens/{screen.pk}", {"seat_map": {"rows": rows}}, format="json")

    assert response.status_code == 200
    for show in (coming, yesterday):
        listed = staff_client.get(f"/api/tickets?show={show.pk}").json()["results"]
        assert [ticket["seat"] for ticket in listed] == ["B5", "A10", "A1"]
        reference = listed[0]["booking"]
        booking = staff_client.get(f"/api/bookings/{reference}").json()
        assert [ticket["seat"] for ticket in booking["tickets"]] == ["B5", "A10", "A1"]


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_hold_confirmed_while_a_map_change_holds_its_show_takes_its_place_in_the_new_map(settings):
    # The confirm read the screen with its show before the change, and wrote A1's place in
    # the old map after _tickets_follow_map had run: the only sale that didn't read the map
    # as committed under the lock.
    settings.BOOKING_LOCK_TIMEOUT_SECONDS = 30
    screen = screen_of(20, name="Twenty")  # A1..A10, B1..B10
    show = make_show(screen=screen)
    hold = hold_seats(show.pk, seats=["A1"])
    b_in_front = [
        {"label": "B", "seats": [{"number": n} for n in range(1, 11)]},
        {"label": "A", "seats": [{"number": n, "x": 11 - n} for n in range(1, 11)]},
    ]
    checked, go = threading.Event(), threading.Event()
    outcomes: dict[str, object] = {}
    pausing = cast(SeatMap, PausingMap(parse({"rows": b_in_front}), checked, go))
    change = in_thread(
        outcomes, "change", lambda: venues.screen_save(screen=screen, seat_map=pausing, now=timezone.now())
    )
    assert checked.wait(30)  # the change holds the show's lock
    confirm = in_thread(outcomes, "confirm", lambda: sales.booking_confirm(hold_id=hold.pk, **ADA, now=timezone.now()))
    confirm.join(1)
    go.set()
    change.join(30)
    confirm.join(30)

    assert isinstance(outcomes["confirm"], sales.Sale), outcomes
    ticket = Ticket.objects.get(show=show)
    assert ticket.seat_order == Screen.objects.get(pk=screen.pk).seats.labels().index("A1") == 19
