"""A show locked by a stuck transaction: requests for it fail fast with 503 busy, and the
other shows go on (PostgreSQL's lock_timeout on the show lock, api/locking.py). So do the
writes that wait for a screen's lock (locking.lock_screens).

The stuck transaction is a second connection of the test's own that locks the show's (or
screen's) row and holds it (at most HOLD_SECONDS, so that a service without the timeout
fails the test instead of hanging it).
"""

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import psycopg
import pytest
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone
from rest_framework.test import APIClient

from api.errors import LockWaitedOut, ShowBusy
from api.locking import _lock_timeout, lock_shows
from api.models import Screen, Show, Ticket, Webhook
from api.services import catalog, venues
from api.services.showtimes import ShowTime, show_at
from api.tests.conftest import ADA, book_ticket, in_thread, make_show, postgres_only

pytestmark = [postgres_only, pytest.mark.django_db(transaction=True)]

HOLD_SECONDS = 10


@pytest.fixture
def lock_elsewhere() -> Iterator[Callable[[int], psycopg.Connection]]:
    """lock_elsewhere(show_id): another connection locks the show's row, as a stuck request
    would; lock_elsewhere(screen_id, Screen), the screen's, as a stuck map change holds it."""
    holders: list[psycopg.Connection] = []
    timers: list[threading.Timer] = []
    params = connection.get_connection_params()

    def lock(row_id: int, model: type[Model] = Show) -> psycopg.Connection:
        holder = psycopg.connect(**{key: value for key, value in params.items() if key != "cursor_factory"})
        mode = "UPDATE" if model is Show else "NO KEY UPDATE"
        holder.execute(f"SELECT id FROM {model._meta.db_table} WHERE id = %s FOR {mode}", [row_id])
        holders.append(holder)
        timers.append(threading.Timer(HOLD_SECONDS, holder.rollback))
        timers[-1].start()
        return holder

    yield lock
    for timer in timers:
        timer.cancel()
    for holder in holders:
        holder.rollback()
        holder.close()


def book(show_id: int) -> tuple[int, dict, str | None, float]:
    """POST /api/tickets for the show from a client of its own: status, body, Retry-After, seconds taken."""
    start = time.monotonic()
    try:
        response = APIClient().post("/api/tickets", {**ADA, "show": show_id}, format="json")
    finally:
        connection.close()  # this thread's connection
    return response.status_code, response.json(), response.get("Retry-After"), time.monotonic() - start


def test_a_show_locked_elsewhere_is_503_busy_after_the_lock_timeout(lock_elsewhere, settings):
    show = make_show()
    lock_elsewhere(show.pk)

    status, body, retry_after, took = book(show.pk)

    assert settings.BOOKING_LOCK_TIMEOUT_SECONDS == 3  # the default
    assert (status, body, retry_after) == (503, {"detail": ShowBusy.message, "code": "busy"}, "3")
    assert 3 <= took < 5
    assert not Ticket.objects.filter(show=show).exists()


def test_a_lock_timeout_under_half_a_millisecond_still_times_out(lock_elsewhere, settings):
    """Rounded to whole milliseconds, 0.0004 s was lock_timeout '0ms', PostgreSQL's "no
    timeout": the booking waited until the lock was released (here HOLD_SECONDS), and took
    the seat then."""
    settings.BOOKING_LOCK_TIMEOUT_SECONDS = 0.0004
    show = make_show()
    lock_elsewhere(show.pk)

    status, body, retry_after, took = book(show.pk)

    assert (status, body, retry_after) == (503, {"detail": ShowBusy.message, "code": "busy"}, "1")
    assert _lock_timeout() == "1ms"
    assert took < 2
    assert not Ticket.objects.filter(show=show).exists()


def test_a_sale_behind_a_webhook_endpoints_registration_is_503_busy_not_unreachable(settings):
    """A registration waits for the writes in flight with the endpoints' table locked
    EXCLUSIVE (locking.lock_webhook_endpoints); a sale's outbox reads the table FOR KEY
    SHARE. A registration stuck there made the sale wait out its lock_timeout, answered as
    "The database can't be reached" (503 unavailable). It is busy, with Retry-After."""
    show = make_show()
    params = connection.get_connection_params()
    registering = psycopg.connect(**{key: value for key, value in params.items() if key != "cursor_factory"})
    registering.execute(f"LOCK TABLE {Webhook._meta.db_table} IN EXCLUSIVE MODE")
    timer = threading.Timer(HOLD_SECONDS, registering.rollback)
    timer.start()
    try:
        status, body, retry_after, took = book(show.pk)
    finally:
        timer.cancel()
        registering.rollback()
        registering.close()

    assert (status, body, retry_after) == (503, {"detail": LockWaitedOut.message, "code": "busy"}, "3")
    assert 3 <= took < 5
    assert not Ticket.objects.filter(show=show).exists()
    assert book(show.pk)[0] == 201  # once the registration is done


def test_other_shows_are_booked_meanwhile(lock_elsewhere, settings):
    settings.BOOKING_LOCK_TIMEOUT_SECONDS = 1
    stuck, other = make_show(hour=18), make_show(hour=21)
    lock_elsewhere(stuck.pk)
    waiting: list = []
    thread = in_thread({}, "stuck", lambda: waiting.append(book(stuck.pk)))  # closes its connection
    time.sleep(0.2)  # the request for the stuck show is waiting for its lock now

    answers = [book(other.pk) for _ in range(3)]
    thread.join()

    assert [status for status, *_ in answers] == [201, 201, 201]
    assert all(took < 0.5 for *_, took in answers), answers
    [(status, body, retry_after, took)] = waiting
    assert (status, body["code"], retry_after) == (503, "busy", "1")
    assert 1 <= took < 3


def test_the_show_books_again_once_the_lock_is_released(lock_elsewhere, settings):
    settings.BOOKING_LOCK_TIMEOUT_SECONDS = 1
    show = make_show()
    holder = lock_elsewhere(show.pk)
    assert book(show.pk)[0] == 503

    holder.rollback()
    status, body, _, _ = book(show.pk)

    assert status == 201, body


def test_the_timeout_is_the_transactions_own(show):
    """SET LOCAL: the connection's later statements (a migration, a long report) keep
    PostgreSQL's default of no lock timeout."""
    book(show.pk)
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone() == ("0",)


def test_the_timeout_bounds_the_wait_for_any_of_several_shows(lock_elsewhere, settings):
    # A move locks two shows in one statement (locking.lock_shows): the lock_timeout its
    # select list sets must already hold when the wait is for the second row, not the first.
    settings.BOOKING_LOCK_TIMEOUT_SECONDS = 1
    first, second = make_show(hour=18), make_show(hour=21)
    lock_elsewhere(max(first.pk, second.pk))
    start = time.monotonic()

    with pytest.raises(ShowBusy), transaction.atomic():
        lock_shows([first.pk, second.pk])

    assert 1 <= time.monotonic() - start < 3


def started_show_with_a_ticket() -> Show:
    """A show of the default screen with a ticket, started half an hour ago."""
    show = make_show()
    book_ticket(show.pk)
    started = timezone.now() - timedelta(minutes=30)
    Show.objects.filter(pk=show.pk).update(starts_at=started, ends_at=started, busy_until=started)
    return show


def open_timing(show: Show) -> Show:
    local = timezone.localtime(timezone.now() + timedelta(days=2)).replace(hour=10, minute=5, second=0)
    return show_at(when=ShowTime(day=local.date(), at=local.time()), now=timezone.now())


def tomorrow():
    return timezone.now() + timedelta(days=1)


SCREEN_WRITES: dict[str, Callable[[Show], object]] = {
    "show made": lambda show: catalog.show_create(starts_at=tomorrow(), screen_id=show.screen_id, now=timezone.now()),
    "open timing made": open_timing,
    "screen saved": lambda show: venues.screen_save(screen=show.screen, seat_map=None, now=timezone.now()),
    # When it took its screen's lock after the show's, the show's lock_timeout held, and a
    # bare OperationalError (a 500) was let out.
    "started show moved to the future": lambda show: catalog.show_update(
        show_id=show.pk, starts_at=tomorrow(), now=timezone.now()
    ),
}


@pytest.mark.parametrize("write", list(SCREEN_WRITES))
def test_a_write_waiting_for_a_screen_locked_elsewhere_is_busy_after_the_lock_timeout(lock_elsewhere, settings, write):
    # The screen's lock, the transaction's first, waited for ever (no lock_timeout yet).
    settings.BOOKING_LOCK_TIMEOUT_SECONDS = 1
    show = started_show_with_a_ticket()
    lock_elsewhere(show.screen_id, Screen)
    start = time.monotonic()

    with pytest.raises(ShowBusy):
        SCREEN_WRITES[write](show)

    assert 1 <= time.monotonic() - start < 3
