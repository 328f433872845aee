"""What the job tests (test_commands.py, test_commands_expire.py, test_commands_races.py, and
test_admin_actions.py's "mark expired") share: the shows, bookings made the day before, a
command's output, the tickets' expired flags and what is left of each table, and a ticket
marked expired while staff cancel it."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from api.models import Booking, Customer, Hold, IdempotencyKey, Screen, Show, Ticket, Webhook
from api.seatmaps import row_label
from api.services import sales
from api.tests.conftest import book_seats, book_ticket, while_held_open

# The show that expires in these tests, and one that is still to come.
STARTS = datetime(2031, 3, 14, 19, 30, tzinfo=UTC)
LATER = STARTS + timedelta(days=2)
NOTHING_PURGED = "Deleted 0 expired tickets, 0 bookings, 0 customers, 0 holds and 0 idempotency keys.\n"


def label(number: int, per_row: int = 10) -> str:
    """Seat `number` (1 onwards) as a label in rows of `per_row`: in rows of 10, 1 is A1 and
    11 is B1 (v2 seats are labels)."""
    return f"{row_label((number - 1) // per_row)}{(number - 1) % per_row + 1}"


def run(command: str, *args: str) -> str:
    """The command's output; returning at all means it exited 0."""
    out = StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def book(show: Show, name: str, phone_number: str, seats: int = 1) -> Booking:
    """A booking made through the service, the day before the show."""
    with time_machine.travel(show.starts_at - timedelta(days=1), tick=False):
        return book_seats(show.pk, name=name, phone_number=phone_number, quantity=seats).booking


def expired_flags() -> dict[str, bool]:
    return {str(pk): expired for pk, expired in Ticket.objects.values_list("pk", "expired")}


@pytest.fixture
def shows() -> tuple[Show, Show]:
    past = Show.objects.create(title="Past", starts_at=STARTS)
    later = Show.objects.create(title="Later", starts_at=LATER)
    return past, later


def left() -> dict[str, set]:
    return {
        "tickets": set(Ticket.objects.values_list("pk", flat=True)),
        "bookings": set(Booking.objects.values_list("pk", flat=True)),
        "customers": set(Customer.objects.values_list("pk", flat=True)),
        "holds": set(Hold.objects.values_list("pk", flat=True)),
        "keys": set(IdempotencyKey.objects.values_list("pk", flat=True)),
    }


def started_with_a_ticket(now: datetime, started: timedelta) -> Ticket:
    """A ticket, booked the day before, of a show on the default screen that started
    `started` before `now`, and an endpoint told of tickets marked expired: what staff's
    "mark expired" and the expire job take."""
    show = Show.objects.create(screen=Screen.objects.default(), starts_at=now - started, title="Late")
    Webhook.objects.create(url="https://example.com/hook", events=["tickets.expired"], secret="whsec_AAAA")
    return book_ticket(show.pk, now=now - timedelta(days=1))


def marked_while_cancelled(ticket: Ticket, now: datetime, marking: Callable[[], object]) -> dict:
    """`marking` (staff's "mark expired", the expire job) run while a staff cancel of the
    ticket holds its locks, until it waits for them (while_held_open's outcomes)."""
    return while_held_open(
        lambda: sales.ticket_cancel(ticket_id=ticket.pk, actor="staff:a", now=now, staff=True), marking
    )
