"""Races found in a review of the service under concurrency and faults: each test holds one
side of the race open (a transaction kept open on another connection, or a `now` taken
before a wait for a lock, as a request takes it when it starts), and asserts what the
contract and DESIGN.md promise."""

import threading
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connections, transaction
from django.utils import timezone

from api.models import AuditEntry, Screen, Show, Ticket, TicketType, Webhook, WebhookEvent
from api.services import jobs, sales, venues
from api.tests.conftest import (
    RACE_WAIT,
    book_ticket,
    in_thread,
    postgres_only,
)

pytestmark = pytest.mark.django_db


def lock_waiters() -> int:
    """How many backends wait for a lock now (another connection than the asking thread's)."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
        return cursor.fetchone()[0]


def while_held_open_until_waiting(first: Callable[[], object], second: Callable[[], object]) -> dict:
    """while_held_open, but `first`'s transaction is released only once `second` waits for a
    lock (PostgreSQL's pg_locks says so), not after a fixed half second: a request that is
    slow to reach its INSERT must still reach it before `first` commits."""
    outcomes: dict = {}
    done, release = threading.Event(), threading.Event()

    def held_open() -> object:
        with transaction.atomic():
            made = first()
            done.set()
            assert release.wait(RACE_WAIT)
        return made

    one = in_thread(outcomes, "first", held_open)
    try:
        assert done.wait(RACE_WAIT), outcomes
        two = in_thread(outcomes, "second", second)
        deadline = time.monotonic() + RACE_WAIT
        while not lock_waiters() and two.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        outcomes["waited"] = two.is_alive()
    finally:
        release.set()
    one.join(RACE_WAIT)
    two.join(RACE_WAIT)
    return outcomes


@postgres_only
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_ticket_staff_mark_expired_while_a_colleague_cancels_it_is_neither_recorded_nor_counted_as_marked():
    # tickets_mark_expired locks the tickets' shows, reads the ids to mark, then UPDATEs those
    # ids and writes an entry (and counts them in the tickets.expired event) for every id it
    # read, not for the rows the UPDATE changed. A cancel locks the booking and the ticket,
    # never the show: one committing between the read and the UPDATE leaves the trail saying
    # that a ticket which no longer exists was marked expired, after its ticket.cancelled.
    now = timezone.now().replace(microsecond=0)
    show = Show.objects.create(screen=Screen.objects.default(), starts_at=now - timedelta(hours=1), title="Late")
    ticket = book_ticket(show.pk, now=now - timedelta(days=1))
    Webhook.objects.create(url="https://example.com/hook", events=["tickets.expired"], secret="whsec_AAAA")

    outcomes = while_held_open_until_waiting(
        lambda: sales.ticket_cancel(ticket_id=ticket.pk, actor="staff:a", now=now, staff=True),
        lambda: jobs.tickets_mark_expired(ticket_ids=[str(ticket.pk)], now=now, actor="staff:b"),
    )

    assert outcomes["waited"] is True, outcomes  # the marking's UPDATE waited for the cancel's row lock
    assert not Ticket.objects.filter(pk=ticket.pk).exists()  # cancelled
    trail = list(AuditEntry.objects.filter(object_id=str(ticket.pk)).values_list("action", flat=True).order_by("pk"))
    counted = [e.payload["data"]["count"] for e in WebhookEvent.objects.filter(type="tickets.expired")]
    assert (outcomes["second"], trail, counted) == ((0, 0), ["ticket.created", "ticket.cancelled"], []), (
        outcomes,
        trail,
        counted,
    )


@postgres_only
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_staff_adding_one_ticket_type_key_at_once_is_a_400_not_a_500(staff_client):
    # The serializer's UniqueValidator reads the key before ticket_type_save's transaction,
    # which locks no row for a new type that is not the default: the second INSERT waits
    # for the first's unique index entry, then fails with an IntegrityError that nothing
    # turns into a domain error (a 500).
    staff_client.raise_request_exception = False

    outcomes = while_held_open_until_waiting(
        lambda: venues.ticket_type_save(TicketType(key="veteran", name="Veteran"), actor="staff:a"),
        lambda: staff_client.post("/api/ticket-types", {"key": "veteran", "name": "Veteran"}, format="json"),
    )

    assert outcomes["waited"] is True, outcomes
    assert TicketType.objects.filter(key="veteran").count() == 1
    response = outcomes["second"]
    assert response.status_code == 400, (response.status_code, response.content[:200])
