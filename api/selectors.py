"""Reads with rules: shows with their seat counts, a show's free seats, a booking's tickets.

The API, the admin and the pages all read through here (never through the views).
"""

from datetime import datetime

from django.db import models
from django.db.models import Count, F, IntegerField, OuterRef, Prefetch, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from .locking import taken_seats
from .models import Booking, Hold, Show, ShowQuerySet, Ticket
from .seatmaps import free_seats


class JSONArrayLength(models.Func):
    """The length of a JSON array column, on PostgreSQL (jsonb) and SQLite alike."""

    function = "JSON_ARRAY_LENGTH"
    output_field = IntegerField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, function="JSONB_ARRAY_LENGTH", **extra_context)


def shows_with_counts(*, now: datetime) -> ShowQuerySet:
    """Shows with tickets_booked and seats_held (in holds live at `now`); seats_available
    is an alias that filters and orderings can use (and a property of each show read)."""
    # COUNT(*), not COUNT(id): the (show, seat) unique index alone answers it.
    tickets = Ticket.objects.filter(show=OuterRef("pk")).order_by().values("show").annotate(n=Count("*")).values("n")
    held = (
        Hold.objects.live(now)
        .filter(show=OuterRef("pk"))
        .order_by()
        .values("show")
        .annotate(n=Sum(JSONArrayLength("seats")))
        .values("n")
    )
    # The ignore: the stubs' plugin takes Show's declared `tickets_booked: int` (and the
    # seats_available property) for a clash, though Django only refuses a field's name
    # (typeddjango/django-stubs#2818).
    return Show.objects.annotate(  # type: ignore[no-redef]
        tickets_booked=Coalesce(Subquery(tickets, output_field=IntegerField()), Value(0)),
        seats_held=Coalesce(Subquery(held, output_field=IntegerField()), Value(0)),
    ).alias(seats_available=F("capacity") - F("tickets_booked") - F("seats_held"))


def show_free_seats(show: Show, *, now: datetime) -> list[int]:
    """The seats of the show neither booked nor held at `now`."""
    return free_seats(show.capacity, taken_seats(show.pk, now=now))


def tickets_with_details() -> models.QuerySet[Ticket]:
    """Tickets with what their answers show: the show, the booking and its person."""
    return Ticket.objects.select_related("show", "booking__customer")


def bookings_with_tickets() -> models.QuerySet[Booking]:
    """Bookings with their person and their tickets in show and seat order."""
    tickets = Ticket.objects.select_related("show").order_by("show__starts_at", "seat")
    return Booking.objects.select_related("customer").prefetch_related(Prefetch("tickets", queryset=tickets))


def show_taken_count(show: Show, *, now: datetime) -> int:
    """Seats of the show booked or held at `now`."""
    return len(taken_seats(show.pk, now=now))
