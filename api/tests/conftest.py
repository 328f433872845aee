import os
import secrets
import threading
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta

import pytest
import redis
import time_machine
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from api.models import Hold, Screen, Show, ShowPrice, Ticket, TicketType, Venue
from api.seatmaps import grid, row_label
from api.services import sales
from api.views.base import forget_kept_answers

# A Redis database of the tests' own; the tests that need Redis skip, saying so, without it.
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL row locks and advisory locks: run with DATABASE_URL=postgres://... (CI does)",
)


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    """Each test starts with empty throttle counters (they live in the cache), and nothing
    kept, in the cache or in this process (api/views/base.py, kept_for)."""
    cache.clear()
    forget_kept_answers()
    yield
    cache.clear()
    forget_kept_answers()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def staff_user(db):
    return get_user_model().objects.create_user("boxoffice", password="secret-pass-1", is_staff=True)


STAFF_PASSWORD = "a-long-staff-password-1"  # one Django's validators take


@pytest.fixture
def manager(db):
    """A superuser who logs in to the admin with STAFF_PASSWORD."""
    return get_user_model().objects.create_user("manager", password=STAFF_PASSWORD, is_staff=True, is_superuser=True)


@pytest.fixture
def user_client(db) -> APIClient:
    """A logged-in user who is not staff."""
    user = get_user_model().objects.create_user("customer")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def staff(frozen, client):
    """A browser client logged in to the admin as a staff superuser, after time froze (the
    module's `frozen`, or this file's), so that its session is live."""
    user = get_user_model().objects.create_superuser("admin", "admin@example.com", password=None)
    client.force_login(user)
    return client


@pytest.fixture
def staff_client(staff_user) -> APIClient:
    client = APIClient()
    token = Token.objects.create(user=staff_user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def screen_of(seats: int, *, name: str | None = None, venue: Venue | None = None) -> Screen:
    """A screen of the default venue (or `venue`) with exactly `seats` seats in rows of 10,
    A1 onwards (the last row shorter when `seats` is not a multiple of 10)."""
    venue = venue or Screen.objects.default().venue
    rows = [
        {"label": row_label(r), "seats": [{"number": n} for n in range(1, min(10, seats - 10 * r) + 1)]}
        for r in range(-(-seats // 10))
    ]
    return Screen.objects.create(venue=venue, name=name or f"Screen of {seats}", seat_map={"rows": rows})


def aisle_map(*, premium_rows: int = 0, wheelchair_spaces: bool = False) -> dict:
    """A 300-seat house: 15 rows (A-O) of 20 seats, aisles after seats 4 and 16. The last
    `premium_rows` rows are premium; with `wheelchair_spaces`, seats 4 and 17 of the back
    row (beside the aisles) are wheelchair spaces, with companion seats 3 and 18."""

    def seat(row: int, n: int) -> dict:
        found: dict = {"number": n, "x": n + (n > 4) + (n > 16)}
        if row >= 15 - premium_rows:
            found["category"] = "premium"
        if wheelchair_spaces and row == 14 and n in (4, 17):
            found["kind"] = "wheelchair"
        elif wheelchair_spaces and row == 14 and n in (3, 18):
            found["kind"] = "companion"
        return found

    return {"rows": [{"label": row_label(r), "seats": [seat(r, n) for n in range(1, 21)]} for r in range(15)]}


def in_days(days: int) -> date:
    """The theatre's date `days` from today."""
    return timezone.localdate() + timedelta(days=days)


def local_iso(moment) -> str:
    """A moment as the API gives it: ISO 8601 in the theatre's zone, to the second."""
    return timezone.localtime(moment).isoformat(timespec="seconds")


def make_show(days: int = 3, hour: int = 19, minute: int = 30, **fields) -> Show:
    """A show (a version-1 timing: it occupies no time) `days` from today at hour:minute in
    the theatre's zone, on the default screen, or on a screen of its own when its capacity
    needs more seats than the default screen has."""
    day = timezone.localdate() + timedelta(days=days)
    starts_at = timezone.make_aware(datetime(day.year, day.month, day.day, hour, minute))
    if "screen" not in fields:
        default = Screen.objects.default()
        capacity = fields.get("capacity", default.capacity)
        fields["screen"] = default if capacity <= default.capacity else screen_of(capacity)
    return Show.objects.create(starts_at=starts_at, **{"title": "Dune: Part Three", **fields})


def open_timing(starts_at, **fields) -> Show:
    """An unsaved show on the default screen that occupies no time, for bulk_create()."""
    return Show(screen=Screen.objects.default(), starts_at=starts_at, ends_at=starts_at, busy_until=starts_at, **fields)


@pytest.fixture
def show(db) -> Show:
    return make_show()


# Two shows on different days and at different times, for the show API's search and writes.
@pytest.fixture
def dune() -> Show:
    return make_show(days=3, hour=19, minute=30, title="Dune: Part Three")


@pytest.fixture
def oppenheimer() -> Show:
    return make_show(days=5, hour=15, minute=0, title="Oppenheimer")


# The people the tests book for.
ADA = {"name": "Ada Lovelace", "phone_number": "+914155550123"}


def book_ticket(show_id: int, *, now=None, **fields) -> Ticket:
    """One ticket at the show through the service, for ADA unless name/phone_number say otherwise."""
    return sales.ticket_book(show_id=show_id, now=now or timezone.now(), **{**ADA, **fields})


def book_seats(show_id: int, *, now=None, **fields) -> sales.Sale:
    """A booking of `quantity` or `seats` at the show through the service, for ADA unless told otherwise."""
    return sales.booking_create(show_id=show_id, now=now or timezone.now(), **{**ADA, **fields})


def hold_seats(show_id: int, *, now=None, **fields) -> Hold:
    """A hold of `quantity` or `seats` at the show through the service."""
    return sales.hold_create(show_id=show_id, now=now or timezone.now(), **fields)


@pytest.fixture
def ticket(show) -> Ticket:
    return book_ticket(show.pk)


@pytest.fixture
def frozen():
    """Time stands still, at the second, so that times can be asserted exactly."""
    moment = timezone.now().replace(microsecond=0)
    with time_machine.travel(moment, tick=False) as traveller:
        yield traveller


# Full shows, for the waiting list's tests.
@pytest.fixture
def sold_out(db):
    """A show of 4 seats (A1 to A4), all booked by Ada in one booking."""
    show = make_show(capacity=4, screen=screen_of(4))
    book_seats(show.pk, quantity=4)
    return show


@pytest.fixture
def row_of_ten(frozen):
    """A show of one row, A1 to A10, each seat booked by its own booking (so that single
    seats can be cancelled)."""
    show = make_show(capacity=10, screen=screen_of(10))
    for n in range(1, 11):
        book_seats(show.pk, seats=[f"A{n}"], name=f"Guest {n}", phone_number=f"+9141555501{n:02d}")
    return show


# A show's prices by ticket type and seat category, for the price and seat choice tests.
PRICES = [
    {"ticket_type": "adult", "category": "standard", "amount": "12.50"},
    {"ticket_type": "child", "category": "standard", "amount": "8.00"},
    {"ticket_type": "adult", "category": "premium", "amount": "16.00"},
]


@pytest.fixture
def priced(staff_client):
    """A show of 3 rows of 6 on its own screen, the back row premium, with PRICES."""
    rows = grid(3, 6)["rows"]
    for seat in rows[2]["seats"]:
        seat["category"] = "premium"
    screen = Screen.objects.create(venue=Screen.objects.default().venue, name="Priced", seat_map={"rows": rows})
    show = make_show(screen=screen, capacity=18)
    response = staff_client.patch(f"/api/shows/{show.pk}", {"prices": PRICES}, format="json")
    assert response.status_code == 200, response.json()
    return show


# The HTML pages' venue and show (test_pages.py, test_show_page.py).
@pytest.fixture
def in_kolkata(db) -> Venue:
    """The default venue (where version-1 shows play) is in Kolkata."""
    venue = Screen.objects.default().venue
    venue.time_zone = "Asia/Kolkata"
    venue.save()
    return venue


def add_price(show: Show, key: str, amount: str, category: str = "standard") -> None:
    ShowPrice.objects.create(show=show, ticket_type=TicketType.objects.get(key=key), category=category, amount=amount)


@pytest.fixture
def priced_dune(db) -> Show:
    """Dune: Part Three in three days on the default screen, adults 12.50 and children 8.00."""
    show = make_show(days=3, title="Dune: Part Three")
    add_price(show, "adult", "12.50")
    add_price(show, "child", "8.00")
    return show


def in_thread(outcomes: dict, key: str, work: Callable[[], object], *, name: str | None = None) -> threading.Thread:
    """Start work in a thread of its own (called `name`): outcomes[key] is what it
    returned, or the exception it raised (which the test asserts); the thread closes its
    database connection."""

    def run() -> None:
        try:
            outcomes[key] = work()
        except Exception as exc:  # noqa: BLE001 (the outcome the test asserts)
            outcomes[key] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run, name=name)
    thread.start()
    return thread


RACE_WAIT = 10  # seconds: a safety net against a hung test, never a timing


def blocked(thread: threading.Thread) -> bool:
    """Whether the thread still waits (for a lock) a moment on."""
    thread.join(0.5)
    return thread.is_alive()


def waits_for(pid: int) -> bool:
    """Whether a backend waits for a lock that PostgreSQL backend `pid` holds (pg_locks, read
    afresh by every statement, as pg_stat_activity is not within a transaction)."""
    with connection.cursor() as cursor:
        waiting = "SELECT EXISTS (SELECT FROM pg_locks WHERE NOT granted AND %s = ANY(pg_blocking_pids(pid)))"
        cursor.execute(waiting, [pid])
        return bool(cursor.fetchone()[0])


def while_held_open(first: Callable[[], object], second: Callable[[], object], *, until_ends: bool = False) -> dict:
    """`first` in a transaction held open once it returned; `second` meanwhile, in a thread
    of its own (PostgreSQL: SQLite's writers take turns). outcomes["first"] and ["second"]
    as in_thread, and ["waited"]: whether `second` waited for `first`'s transaction.

    `first` is held open until `second` waits for one of its locks (pg_locks says so) or has
    ended; `until_ends`, until `second` has ended (a wait that runs out: BOOKING_LOCK_TIMEOUT_
    SECONDS). Not for a fixed half second: a `second` slow to reach its wait (a request, a
    loaded machine) found `first` committed and raced nothing."""
    outcomes: dict = {}
    done, release = threading.Event(), threading.Event()
    pids: list[int] = []

    def held_open() -> object:
        with transaction.atomic():
            made = first()
            if connection.vendor == "postgresql":
                pids.append(connection.connection.info.backend_pid)
            done.set()
            assert release.wait(RACE_WAIT)
        return made

    one = in_thread(outcomes, "first", held_open)
    try:
        assert done.wait(RACE_WAIT), outcomes
        two = in_thread(outcomes, "second", second)
        if not pids:  # SQLite: no lock to see
            outcomes["waited"] = blocked(two)
        else:
            outcomes["waited"] = False
            deadline = time.monotonic() + RACE_WAIT
            while two.is_alive() and time.monotonic() < deadline:
                outcomes["waited"] = outcomes["waited"] or waits_for(pids[0])
                if outcomes["waited"] and not until_ends:
                    break
                two.join(0.01)
    finally:
        release.set()
    one.join(RACE_WAIT)
    two.join(RACE_WAIT)
    return outcomes


def all_at_once(count: int, work: Callable[[int], object]) -> list:
    """Run work(0) ... work(count - 1) in threads released together by a barrier.

    A race hides when requests arrive one after another; the barrier makes them arrive at
    once. Each thread closes its own database connection. Returns the results, in the
    order the threads finished; an exception in a thread fails the test.
    """
    barrier = threading.Barrier(count)
    results: list = []
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            barrier.wait(timeout=60)  # a safety net against a hung run, not a timing
            results.append(work(n))
        except BaseException as exc:  # reported in the test's thread below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


@pytest.fixture
def redis_client() -> redis.Redis:
    client = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"needs Redis at {TEST_REDIS_URL} (set TEST_REDIS_URL): {exc}")
    return client


@pytest.fixture
def key_prefix(redis_client):
    prefix = f"test-throttle-{secrets.token_hex(6)}"
    yield prefix
    for key in redis_client.scan_iter(match=f"{prefix}:*"):
        redis_client.delete(key)


@pytest.fixture
def redis_cache(settings, key_prefix):
    """This process's cache is the shared Redis, as with REDIS_URL set."""
    settings.CACHES = {
        "default": {
            "BACKEND": "api.sharedcache.RedisCache",
            "LOCATION": TEST_REDIS_URL,
            "KEY_PREFIX": key_prefix,
        }
    }
    return key_prefix
