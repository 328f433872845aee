"""Reads with rules: shows with their seat counts, a show's seats and their statuses,
tickets, bookings and waiting-list entries with what their answers show.

The API, the admin and the pages all read through here (never through the views).
"""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import models
from django.db.models import Count, Exists, F, IntegerField, OuterRef, Prefetch, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from phonenumber_field.phonenumber import PhoneNumber
from phonenumbers import region_code_for_number

from .locking import seats_in_use, show_with_screen
from .models import (
    Booking,
    Hold,
    SeatBlock,
    Show,
    ShowPrice,
    ShowQuerySet,
    Ticket,
    WaitlistEntry,
    WaitlistEntryQuerySet,
    expiry_cutoff,
    parse_phone,
    phone_text,
)
from .seatmaps import Seat


class JSONArrayLength(models.Func):
    """The length of a JSON array column, on PostgreSQL (jsonb) and SQLite alike."""

    function = "JSON_ARRAY_LENGTH"
    output_field = IntegerField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return super().as_sql(compiler, connection, function="JSONB_ARRAY_LENGTH", **extra_context)


class HeldAt(models.Func):
    """HeldAt(show, seat, now): whether a hold of the show live at `now` holds the seat.

    A hold's seats are a JSON array of labels: jsonb's containment looks on PostgreSQL, the
    array's elements on SQLite. Written as SQL: as Exists(Hold.objects...) it made the
    search's query slower to build than the count is to run (bench/README.md)."""

    arity = 3
    output_field = models.BooleanField()

    def _sql(self, compiler: Any, seat_held: str) -> tuple[str, list]:
        show, seat, now = self.get_source_expressions()
        (show_sql, show_params), (seat_sql, seat_params), (now_sql, now_params) = map(
            compiler.compile, (show, seat, now)
        )
        hold = compiler.quote_name_unless_alias(Hold._meta.db_table)
        live = f"held.show_id = {show_sql} AND held.expires_at > {now_sql}"
        sql = f"EXISTS (SELECT 1 FROM {hold} held WHERE {live} AND {seat_held.format(seat=seat_sql)})"
        return sql, [*show_params, *now_params, *seat_params]

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self._sql(compiler, "EXISTS (SELECT 1 FROM JSON_EACH(held.seats) WHERE value = {seat})")

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self._sql(compiler, "held.seats @> JSONB_BUILD_ARRAY({seat})")


# A screen's seat map is a JSON document of all its seats: decoded for each row read, it
# was most of a 50-row staff list's time (bench/README.md). Reads leave it out; those that draw
# or choose seats find the parsed map by the screen's digest of it (Screen.seats).
SEAT_MAP = "screen__seat_map"
SEAT_MAP_OF_SHOW = f"show__{SEAT_MAP}"


def related_count(
    queryset: models.QuerySet, amount: models.Expression | None = None, *, link: str = "show"
) -> Coalesce:
    """A count subquery of queryset's rows that `link` to the outer row (a show's, by
    default), 0 when none: each row of a page counts its own, where a Count() joined and
    grouped every row of both tables before the page's were picked."""
    counted = queryset.filter(**{link: OuterRef("pk")}).order_by().values(link)
    counted = counted.annotate(n=Sum(amount) if amount is not None else Count("*")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def blocked_not_taken(now: datetime) -> models.QuerySet[SeatBlock]:
    """The blocks whose seats read `blocked` at `now` (show_seat_statuses): not those that
    staff hold by naming them, which are held, and count once, as held. (A booked seat is
    never blocked: a block refuses it, and staff selling a blocked seat unblock it.)"""
    return SeatBlock.objects.exclude(HeldAt("show", "seat", Value(now, output_field=models.DateTimeField())))


def _prices() -> Prefetch:
    return Prefetch("prices", queryset=ShowPrice.objects.select_related("ticket_type"))


def coming(now: datetime) -> Q:
    """The shows still to come that a list for customers names (the home page): not an open
    timing that sold nothing, which anyone makes by holding seats at a free time and
    releasing them, and whose placeholders would push the real shows off the list."""
    unsold = ~Exists(Ticket.objects.filter(show=OuterRef("pk")))
    unsold_open_timing = Q(unsold, title="", film__isnull=True, busy_until=F("starts_at"))
    return Q(starts_at__gt=now) & ~unsold_open_timing


def shows_with_counts(*, now: datetime) -> ShowQuerySet:
    """Shows with their screen, venue and film, and tickets_booked, seats_held (in holds
    live at `now`) and seats_blocked (blocked_not_taken: a seat counts once) counted in the
    same query, whether each is still on_sale at `now` (not started) and whether it has
    expired at `now` (BOOKING_EXPIRE_AFTER_HOURS after its start); seats_available
    is a property of each show read (models.Show.seats_available)."""
    # The ignore: the stubs' plugin takes Show's declared `tickets_booked: int` (and the
    # seats_available property) for a clash, though Django only refuses a field's name
    # (typeddjango/django-stubs#2818).
    return (
        Show.objects.select_related("screen__venue", "film")
        .prefetch_related(_prices())
        .annotate(  # type: ignore[no-redef]
            tickets_booked=related_count(Ticket.objects.all()),
            seats_held=related_count(Hold.objects.live(now), JSONArrayLength("seats")),
            seats_blocked=related_count(blocked_not_taken(now)),
            on_sale=models.ExpressionWrapper(Q(starts_at__gt=now), output_field=models.BooleanField()),
            # At the same `now`: the search's `expired` filter and each show's answer.
            expired=models.ExpressionWrapper(Q(starts_at__lte=expiry_cutoff(now)), output_field=models.BooleanField()),
        )
        .alias(
            # The same rule as Show.seats_available, for the `seats` filter.
            seats_available=models.Case(
                models.When(starts_at__lte=now, then=Value(0)),
                default=models.functions.Least(
                    models.F("capacity") - models.F("tickets_booked") - models.F("seats_held"),
                    models.F("screen__capacity")
                    - models.F("tickets_booked")
                    - models.F("seats_held")
                    - models.F("seats_blocked"),
                ),
            )
        )
    )


@dataclass(frozen=True)
class SeatStatus:
    seat: Seat
    status: str  # free, held, booked or blocked


@dataclass(frozen=True)
class RowStatus:
    label: str
    seats: list[SeatStatus]


@dataclass(frozen=True)
class SeatMapAnswer:
    """What GET /api/shows/{id}/seats shows: the show (with its screen and venue), every
    seat with its status, and the show's prices."""

    show: Show
    rows: list[RowStatus]
    prices: list[ShowPrice]
    now: datetime

    @property
    def seats_available(self) -> int:
        return seats_available_of(self.show, self.rows, now=self.now)


def seats_available_of(show: Show, rows: list[RowStatus], *, now: datetime) -> int:
    """Show.seats_available's rule, read from the seats' statuses: the free seats, and no
    more than the show's capacity leaves after the booked and held ones (a show capped
    below its map sells out with seats free); none once it has started."""
    if show.has_started(now):
        return 0
    counts = Counter(seat.status for row in rows for seat in row.seats)
    return max(min(counts["free"], show.capacity - counts["booked"] - counts["held"]), 0)


MAX_ID = 2**63 - 1  # BigAutoField's largest


def show_seat_map(pk: str, *, now: datetime) -> SeatMapAnswer | None:
    """The seat map of the show whose id is `pk` as its URL gives it (None when there is no
    such show): three statements, read as often as bookings are made."""
    show_id = int(pk) if pk.isascii() and pk.isdigit() and int(pk) <= MAX_ID else None
    show = show_with_screen(show_id) if show_id is not None else None
    if show is None:
        return None
    prices = list(ShowPrice.objects.filter(show_id=show.pk).select_related("ticket_type"))
    return SeatMapAnswer(show, show_seat_statuses(show, now=now), prices, now)


def show_seat_statuses(show: Show, *, now: datetime) -> list[RowStatus]:
    """Every seat of the show's map, row by row (front first), with its status at `now`."""
    used = seats_in_use(show.pk, now=now)

    def status(seat: Seat) -> str:
        if seat.label in used.booked:
            return "booked"
        if seat.label in used.held:
            return "held"
        return "blocked" if seat.label in used.blocked else "free"

    return [
        RowStatus(row.label, [SeatStatus(seat, status(seat)) for seat in row.seats]) for row in show.screen.seats.rows
    ]


def show_free_seats(show: Show, *, now: datetime) -> list[str]:
    """The labels of the seats neither booked, held nor blocked at `now`, in the map's order;
    none once the show has started, when no seat can be sold (as seats_available says)."""
    if show.has_started(now):
        return []
    used = seats_in_use(show.pk, now=now)
    unavailable = used.taken | used.blocked
    return [seat.label for seat in show.screen.seats if seat.label not in unavailable]


def show_taken_count(show: Show, *, now: datetime) -> int:
    """Seats of the show booked or held at `now`."""
    return len(seats_in_use(show.pk, now=now).taken)


def tickets_with_details() -> models.QuerySet[Ticket]:
    """Tickets with what their answers show: the show with its screen and venue, the
    booking (its reference) and the ticket's person."""
    return Ticket.objects.select_related("show__screen__venue", "booking", "holder", "ticket_type").defer(
        SEAT_MAP_OF_SHOW
    )


def bookings_with_tickets() -> models.QuerySet[Booking]:
    """Bookings with their booker and their tickets (each with its person) in show and seat order."""
    tickets = (
        Ticket.objects.select_related("show__screen__venue", "holder", "ticket_type")
        .defer(SEAT_MAP_OF_SHOW)
        .order_by("show__starts_at", "seat_order")
    )
    return Booking.objects.select_related("customer").prefetch_related(Prefetch("tickets", queryset=tickets))


def booking_phone(reference: str) -> PhoneNumber | None:
    """The booker's phone number, None for no such booking."""
    return Booking.objects.filter(reference=reference).values_list("customer__phone_number", flat=True).first()


def booking_of_booker(reference: str, phone_number: str) -> Booking | None:
    """The booking with this reference (any case) and its tickets, when `phone_number` is its
    booker's; None for an unknown reference and a wrong or unreadable number alike, so that
    the answer never tells whether the reference exists. The anonymous look-up of the API
    (GET /api/bookings/{reference}) and of the pages (api/bookingpage.py).

    A number without a country code is read in the booker's number's own country: its local
    form there (as typed at a venue of that country, whichever venue its tickets have moved
    to since). Nor does the time tell: the phone is checked by one query whether the
    reference exists or not, before the booking and its tickets are read (which took 2 ms
    more when it existed). Three queries when found: the phone, the booking with its booker,
    its tickets with their shows, venues, people and types."""
    reference = reference.upper()
    phone = booking_phone(reference)
    region = region_code_for_number(phone) if phone is not None else None
    given = parse_phone(phone_number, region=region)
    if given is None or phone is None or given.as_e164 != phone_text(phone):
        return None
    # None too when the booking went since its phone was read (its last ticket purged).
    return bookings_with_tickets().filter(reference=reference).first()


def waitlist_entries(*, now: datetime) -> WaitlistEntryQuerySet:
    """Waiting-list entries with what their answers show: the status and position they
    read at `now` (WaitlistEntryQuerySet.with_status), the offer's hold, the show's venue
    (its zone)."""
    return WaitlistEntry.objects.select_related("offer", "show__screen__venue").defer(SEAT_MAP_OF_SHOW).with_status(now)
