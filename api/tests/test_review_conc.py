"""Races found in a review of the service under concurrency and faults: each test holds one
side of the race open (a transaction kept open on another connection, or a `now` taken
before a wait for a lock, as a request takes it when it starts), and asserts what the
contract and DESIGN.md promise."""

import threading
import time
from collections.abc import Callable

import pytest
from django.db import connections, transaction

from api.models import TicketType
from api.services import venues
from api.tests.conftest import (
    RACE_WAIT,
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
