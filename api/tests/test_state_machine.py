"""A Hypothesis state machine over the booking services, with a clock it moves itself.

Any sequence of book, move, cancel (by a customer or staff), hold, release, confirm,
check-in (and undo), expire, purge and the passing of time must keep the rules:

- tickets plus live holds never exceed a show's capacity, and no seat is taken twice;
- one client never holds more than BOOKING_MAX_HELD_SEATS_PER_CLIENT seats at once;
- an expired ticket never changes (show, seat, person, check-in), and only tickets whose
  show started BOOKING_EXPIRE_AFTER_HOURS ago are marked expired;
- only staff cancel a ticket whose show has started.

Every step also checks the service's answer against a fresh reading of the database
(booked, or which 400/409 and why), so a wrong refusal fails as surely as an oversell.
Each example runs in a savepoint that is rolled back at its end.
"""

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from api.errors import Conflict, Invalid, Missing
from api.locking import seats_in_use
from api.models import Booking, Customer, Hold, Screen, Show, Ticket, Venue, expiry_cutoff
from api.seatchoice import choose_best, stranded_seat
from api.seatmaps import grid
from api.services import door, jobs, sales
from api.services.showtimes import ShowTime
from api.tests.conftest import hold_seats

pytestmark = pytest.mark.django_db

START = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
# (starts after, capacity): one show soon, one later today, one in two days.
SHOWS = [(timedelta(minutes=30), 3), (timedelta(hours=6), 4), (timedelta(days=2), 6)]
PEOPLE = [("Ada Lovelace", "+914155550123"), ("Alan Turing", "+914155550124"), ("Grace Hopper", "+914155550125")]
CLIENTS = ["addr:198.51.100.1", "addr:198.51.100.2"]
HOLD_LIMIT = 5
OK = "ok"

show_index = st.integers(0, len(SHOWS) - 1)
row_index = st.integers(0, 30)
MAP_SEATS = 6  # one row, A1 to A6; capacities are sale caps within it
# A7 is not in the map: "no such seat" is tried too.
seat_number = st.integers(1, MAP_SEATS + 1).map(lambda n: f"A{n}")
person = st.sampled_from(PEOPLE)

# What the rules say a call must answer: (OK, None), ("conflict", code), ("invalid", (subject,)).
Expected = tuple[str, str | tuple[str, ...] | None]


def outcome(call) -> tuple[str, Any]:
    """What a service call did: ("ok", result), ("conflict", code) or ("invalid", (subject,))."""
    try:
        return OK, call()
    except Conflict as exc:
        return "conflict", exc.code
    except Invalid as exc:
        return "invalid", (exc.subject or "non_field_errors",)
    except Missing:
        return "not_found", None


def expected_seats(show: Show, taken: set[str], seats: list[str] | None, quantity: int) -> Expected:
    """The answer the booking rules give for these seats, read from the database."""
    wanted = seats or []
    if any(int(seat[1:]) > MAP_SEATS for seat in wanted):
        return "invalid", ("seats",)
    if taken.intersection(wanted):
        return "conflict", "seat_taken"
    if len(taken) + (len(wanted) or quantity) > show.capacity:
        return "conflict", "sold_out"
    # v2's single-seat rule (no staff here), judged by the seat map's own functions
    # (their rules are tested in test_seat_choice.py): named seats that would leave one
    # alone are refused; a quantity that can't be placed without doing so is sold out.
    seat_map = show.screen.seats
    if wanted and stranded_seat(seat_map, taken, wanted) is not None:
        return "conflict", "single_seat_gap"
    if not wanted and choose_best(seat_map, taken, quantity) is None:
        return "conflict", "sold_out"
    return OK, None


class BookingMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        # A savepoint per example, rolled back in teardown(): each example starts empty.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.now = START
        venue = Venue.objects.create(name="State machine")
        screen = Screen.objects.create(venue=venue, name="One row", seat_map=grid(1, MAP_SEATS))
        self.shows = [
            Show.objects.create(title=f"Show {i}", screen=screen, starts_at=START + after, capacity=capacity)
            for i, (after, capacity) in enumerate(SHOWS)
        ]
        self.expired_seen: dict[UUID, tuple] = {}

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # --- reading the state -----------------------------------------------------------

    def _show(self, index: int) -> Show:
        return Show.objects.get(pk=self.shows[index].pk)

    def _ticket(self, index: int) -> Ticket | None:
        # Ordered by (show, seat), which is unique: the same index picks the same ticket
        # when Hypothesis replays a sequence.
        tickets = list(Ticket.objects.select_related("show", "holder").order_by("show_id", "seat"))
        return tickets[index % len(tickets)] if tickets else None

    def _hold(self, index: int) -> Hold | None:
        holds = sorted(Hold.objects.all(), key=lambda h: (h.show_id, h.expires_at, sorted(h.seats), str(h.pk)))
        return holds[index % len(holds)] if holds else None

    def _held_by(self, client: str) -> int:
        return sum(
            len(seats) for seats in Hold.objects.live(self.now).filter(client=client).values_list("seats", flat=True)
        )

    # --- rules -------------------------------------------------------------------------

    @rule(index=show_index, seat=st.none() | seat_number, who=person, by_time=st.booleans())
    def book(self, index, seat, who, by_time):
        show = self._show(index)
        taken = seats_in_use(show.pk, now=self.now).taken
        expected: Expected
        if show.has_started(self.now):
            expected = ("invalid", ("time",))
        else:
            expected = expected_seats(show, taken, [seat] if seat else None, 1)
        local = timezone.localtime(show.starts_at)
        by = ShowTime(day=local.date(), at=local.time(), screen_id=show.screen_id)
        choice: dict = {"when": by} if by_time else {"show_id": show.pk}
        kind, result = outcome(
            lambda: sales.ticket_book(**choice, name=who[0], phone_number=who[1], seat=seat, now=self.now)
        )
        assert (kind, None if kind == OK else result) == expected
        if kind == OK:
            # The asked seat, or v2's best available one.
            best = choose_best(show.screen.seats, taken, 1)
            assert best is not None  # the booking succeeded, so a seat was free
            assert result.seat == (seat or best.seats[0])

    @rule(index=row_index, to=show_index, seat=st.none() | seat_number, who=st.none() | person)
    def move(self, index, to, seat, who):
        ticket = self._ticket(index)
        if ticket is None:
            return
        target = self._show(to)
        expected: Expected
        if ticket.expired or ticket.show.has_started(self.now):
            expected = ("conflict", "ticket_expired")
        elif target.pk != ticket.show_id or (seat is not None and seat != ticket.seat):
            if ticket.checked_in_at is not None:  # its guest is in the seat
                expected = ("conflict", "already_checked_in")
            elif target.has_started(self.now):
                expected = ("invalid", ("time",))
            else:
                taken = seats_in_use(target.pk, now=self.now, exclude_ticket=ticket.pk).taken
                expected = expected_seats(target, taken, [seat] if seat else None, 1)
        else:
            expected = (OK, None)
        kind, result = outcome(
            lambda: sales.ticket_update(
                ticket_id=ticket.pk,
                show_id=target.pk,
                seat=seat,
                name=who[0] if who else None,
                phone_number=who[1] if who else None,
                now=self.now,
            )
        )
        assert (kind, None if kind == OK else result) == expected

    def _cancel_refused(self, tickets, staff: bool) -> Expected | None:
        """What a cancel of these tickets must answer when it is refused: a show started (or
        a ticket expired) for anyone but staff, then a ticket used at the door."""
        if not staff and any(t.expired or t.show.has_started(self.now) for t in tickets):
            return ("conflict", "ticket_expired")
        if any(t.checked_in_at is not None for t in tickets):  # its guest is in the seat
            return ("conflict", "already_checked_in")
        return None

    @rule(index=row_index, staff=st.booleans())
    def cancel_ticket(self, index, staff):
        ticket = self._ticket(index)
        if ticket is not None:
            refused = self._cancel_refused([ticket], staff)
            kind, result = outcome(lambda: sales.ticket_cancel(ticket_id=ticket.pk, now=self.now, staff=staff))
            assert (kind, None if kind == OK else result) == (refused or (OK, None))
            assert Ticket.objects.filter(pk=ticket.pk).exists() == (refused is not None)

    @rule(index=row_index, staff=st.booleans())
    def cancel_booking(self, index, staff):
        ticket = self._ticket(index)
        if ticket is not None:
            tickets = Ticket.objects.filter(booking_id=ticket.booking_id)
            refused = self._cancel_refused(list(tickets.select_related("show")), staff)  # then none is cancelled
            count = tickets.count()
            kind, result = outcome(
                lambda: sales.booking_cancel(booking_id=ticket.booking_id, now=self.now, staff=staff)
            )
            assert (kind, None if kind == OK else result) == (refused or (OK, None))
            assert tickets.count() == (count if refused else 0)

    @rule(
        index=show_index,
        seats=st.none() | st.lists(seat_number, min_size=1, max_size=4, unique=True),
        quantity=st.integers(1, 4),
        client=st.sampled_from(CLIENTS),
    )
    def hold(self, index, seats, quantity, client):
        show = self._show(index)
        wanted = len(seats) if seats else quantity
        expected: Expected
        if show.has_started(self.now):
            expected = ("invalid", ("time",))
        elif self._held_by(client) + wanted > HOLD_LIMIT:
            expected = ("invalid", ("non_field_errors",))
        else:
            expected = expected_seats(show, seats_in_use(show.pk, now=self.now).taken, seats, quantity)
        kind, result = outcome(lambda: hold_seats(show.pk, seats=seats, quantity=quantity, client=client, now=self.now))
        assert (kind, None if kind == OK else result) == expected
        if kind == OK:
            assert len(result.seats) == wanted

    @rule(index=row_index)
    def release(self, index):
        hold = self._hold(index)
        if hold is not None:
            sales.hold_release(hold_id=hold.pk, now=self.now)
            assert not Hold.objects.live(self.now).filter(pk=hold.pk).exists()

    @rule(index=row_index, who=person)
    def confirm(self, index, who):
        hold = self._hold(index)
        if hold is None:
            return
        expected: Expected
        # A hold never lasts past its show's start: one of a started show has run out.
        assert hold.expires_at <= hold.show.starts_at
        if hold.expires_at <= self.now:
            expected = ("conflict", "hold_expired")
        else:
            expected = (OK, None)
        kind, result = outcome(
            lambda: sales.booking_confirm(hold_id=str(hold.pk), name=who[0], phone_number=who[1], now=self.now)
        )
        assert (kind, None if kind == OK else result) == expected
        if kind == OK:
            assert sorted(t.seat for t in result.tickets) == sorted(hold.seats)
            assert not Hold.objects.live(self.now).filter(pk=hold.pk).exists()

    @rule(index=row_index, undo=st.booleans())
    def check_in(self, index, undo):
        ticket = self._ticket(index)
        if ticket is None:
            return
        expected: Expected
        if ticket.expired or ticket.show.is_expired(self.now):
            expected = ("conflict", "ticket_expired")
        elif not undo and ticket.checked_in_at is not None:
            expected = ("conflict", "already_checked_in")
        elif not undo and self.now < ticket.show.starts_at - timedelta(minutes=settings.BOOKING_CHECK_IN_OPENS_MINUTES):
            expected = ("conflict", "too_early")
        else:
            expected = (OK, None)
        service = door.ticket_check_in_undo if undo else door.ticket_check_in
        kind, result = outcome(lambda: service(ticket_id=ticket.pk, now=self.now))
        assert (kind, None if kind == OK else result) == expected
        if kind == OK:
            assert result.checked_in_at == (None if undo else self.now)

    @rule()
    def expire(self):
        due = Ticket.objects.filter(expired=False, show__starts_at__lte=expiry_cutoff(self.now)).count()
        assert jobs.tickets_expire(now=self.now) == due
        assert jobs.tickets_expire(now=self.now) == 0  # a second run changes nothing

    @rule()
    def purge(self):
        expired = Ticket.objects.filter(expired=True).count()
        dead_holds = Hold.objects.filter(expires_at__lte=self.now - jobs.SPENT_HOLDS_KEPT).count()
        result = jobs.tickets_purge(now=self.now)
        assert (result.tickets, result.holds, result.skipped) == (expired, dead_holds, False)
        assert not Ticket.objects.filter(expired=True).exists()
        assert not Booking.objects.filter(tickets__isnull=True).exists()

    @rule(minutes=st.sampled_from([1, 9, 10, 11, 45, 240, 479, 480, 600]))
    def time_passes(self, minutes):
        self.now += timedelta(minutes=minutes)

    # --- invariants --------------------------------------------------------------------

    @invariant()
    def never_oversold(self):
        seats = [(show, seat) for show, seat in Ticket.objects.values_list("show_id", "seat")]
        held_by = Counter[str]()
        for show, client, held in Hold.objects.live(self.now).values_list("show_id", "client", "seats"):
            seats += [(show, seat) for seat in held]
            held_by[client] += len(held)
        assert len(seats) == len(set(seats)), "a seat is booked or held twice"
        taken = Counter(show for show, _ in seats)
        for show in self.shows:
            assert taken[show.pk] <= show.capacity, f"show {show.pk} oversold"
        assert all(seat in {f"A{n}" for n in range(1, MAP_SEATS + 1)} for _, seat in seats)
        assert max(held_by.values(), default=0) <= HOLD_LIMIT

    @invariant()
    def every_link_points_at_a_row(self):
        # Ticket.booking, Ticket.holder and Booking.customer are database constraints too;
        # checked here since SQLite and PostgreSQL check them only at commit. One query a
        # model: the invariants run after each of the 10,000 steps.
        tickets = Ticket.objects.filter(
            ~Exists(Booking.objects.filter(pk=OuterRef("booking_id")))
            | ~Exists(Customer.objects.filter(pk=OuterRef("holder_id")))
        )
        assert not tickets.exists(), "a ticket without its booking or its person"
        bookings = Booking.objects.exclude(Exists(Customer.objects.filter(pk=OuterRef("customer_id"))))
        assert not bookings.exists(), "a booking without its customer"

    @invariant()
    def expired_tickets_never_change(self):
        rows = Ticket.objects.filter(expired=True).values_list(
            "pk", "show_id", "seat", "holder__name", "holder__phone_number", "checked_in_at", "show__starts_at"
        )
        cutoff = expiry_cutoff(self.now)
        for row in rows:
            assert self.expired_seen.setdefault(row[0], row) == row, "an expired ticket changed"
            assert row[-1] <= cutoff, "a ticket was marked expired too early"


@pytest.mark.slow
def test_booking_rules_hold_whatever_the_sequence(settings):
    settings.BOOKING_MAX_HELD_SEATS_PER_CLIENT = HOLD_LIMIT
    run_state_machine_as_test(
        BookingMachine,
        settings=hypothesis_settings(
            max_examples=200,
            stateful_step_count=50,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        ),
    )
