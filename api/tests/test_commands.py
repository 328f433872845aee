"""The ticket life cycle: `expire_tickets` and `purge_expired_tickets` (API.md, "Time,
expiry and clean-up"; DESIGN.md, "Cron jobs").

Time is frozen with time-machine: a ticket expires once its show started 8 hours ago or
more, exactly 8 hours included. The PostgreSQL tests start five runs of a job at the same
moment and hold a job's advisory lock from another connection, as another host would.
"""

import re
import threading
import uuid
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.db.models import Q, QuerySet
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api import services
from api.models import Booking, Customer, Hold, IdempotencyKey, Show, Ticket
from api.seatmaps import row_label
from api.tests.conftest import book_seats, make_show, postgres_only

pytestmark = pytest.mark.django_db

# The show that expires in these tests, and one that is still to come.
STARTS = datetime(2031, 3, 14, 19, 30, tzinfo=UTC)
LATER = STARTS + timedelta(days=2)
NOTHING_PURGED = "Deleted 0 expired tickets, 0 bookings, 0 customers, 0 holds and 0 idempotency keys.\n"


def label(number: int) -> str:
    """Seat `number` (1 onwards) as a label in rows of 10: 1 is A1, 11 is B1 (v2 seats are labels)."""
    return f"{row_label((number - 1) // 10)}{(number - 1) % 10 + 1}"


def run(command: str, *args: str) -> str:
    """The command's output; returning at all means it exited 0."""
    out = StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def book(show: Show, name: str, phone_number: str, seats: int = 1) -> Booking:
    """A booking made through the service, the day before the show."""
    with time_machine.travel(show.starts_at - timedelta(days=1), tick=False):
        return book_seats(show.pk, name=name, phone_number=phone_number, quantity=seats)


def expired_flags() -> dict[str, bool]:
    return {str(pk): expired for pk, expired in Ticket.objects.values_list("pk", "expired")}


@pytest.fixture
def shows() -> tuple[Show, Show]:
    past = Show.objects.create(title="Past", starts_at=STARTS)
    later = Show.objects.create(title="Later", starts_at=LATER)
    return past, later


@pytest.fixture
def tickets(shows) -> dict[str, list[str]]:
    """Two tickets at the show that starts at STARTS, one at a show two days later."""
    past, later = shows
    return {
        "past": [str(t.pk) for t in book(past, "Ada Lovelace", "+914155550101", seats=2).tickets.all()],
        "later": [str(t.pk) for t in book(later, "Grace Hopper", "+914155550102").tickets.all()],
    }


# --- expire_tickets -----------------------------------------------------------------


@pytest.mark.parametrize(
    "after_start, marked",
    [
        (timedelta(hours=7, minutes=59), 0),
        (timedelta(hours=8) - timedelta(microseconds=1), 0),
        (timedelta(hours=8), 2),  # exactly 8 hours counts as expired
        (timedelta(days=1), 2),
    ],
)
def test_expire_marks_tickets_from_8_hours_after_the_start(tickets, after_start, marked):
    with time_machine.travel(STARTS + after_start, tick=False):
        assert run("expire_tickets") == f"Marked {marked} tickets expired.\n"

    is_expired = marked > 0
    assert expired_flags() == {
        tickets["past"][0]: is_expired,
        tickets["past"][1]: is_expired,
        tickets["later"][0]: False,  # a show to come is never touched
    }


def test_expire_run_twice_changes_nothing_the_second_time(tickets):
    with time_machine.travel(STARTS + timedelta(hours=8), tick=False):
        assert run("expire_tickets") == "Marked 2 tickets expired.\n"
        after_first = expired_flags()
        assert run("expire_tickets") == "Marked 0 tickets expired.\n"
    assert expired_flags() == after_first


def test_expire_is_one_update_that_loads_no_ticket(tickets):
    with time_machine.travel(STARTS + timedelta(hours=8), tick=False), CaptureQueriesContext(connection) as queries:
        services.tickets_expire()
    statements = [q["sql"] for q in queries.captured_queries if "api_ticket" in q["sql"]]
    assert len(statements) == 1
    assert statements[0].startswith('UPDATE "api_ticket" SET "expired" = ')


# --- purge_expired_tickets --------------------------------------------------------------


@pytest.fixture
def purge_scenario(shows) -> dict[str, set]:
    """Rows the purge must delete and rows it must keep, at the moment STARTS + 1 day.

    Returns what must be left of each table.
    """
    past, later = shows
    now = STARTS + timedelta(days=1)
    book(past, "Ada Lovelace", "+914155550101", seats=2)  # expired: goes
    ada_new = book(later, "Ada Lovelace", "+914155550101")  # Ada keeps this one, so Ada stays
    book(past, "Bob Bell", "+914155550102")  # Bob's only booking: both go
    cy = book(past, "Cy Young", "+914155550103", seats=2)  # one ticket moved to the later show: stays
    Ticket.objects.filter(pk=cy.tickets.all()[1].pk).update(show=later)
    dee = book(past, "Dee Dee", "+914155550104")  # not marked expired yet: the purge leaves it
    Customer.objects.create(name="Eve Left", phone_number="+914155550105")  # no booking left: goes
    Ticket.objects.filter(show=past).exclude(booking=dee).update(expired=True)

    # Holds that ran out are kept a day (services.SPENT_HOLDS_KEPT), so that a late confirm
    # still answers 409 hold_expired.
    holds = {
        "lapsed": Hold.objects.create(show=later, seats=["A5"], expires_at=now - timedelta(hours=24, seconds=1)),
        "released": Hold.objects.create(show=later, seats=["A6"], expires_at=now - timedelta(hours=24)),
        "just_lapsed": Hold.objects.create(show=later, seats=["A8"], expires_at=now - timedelta(seconds=1)),
        "live": Hold.objects.create(show=later, seats=["A7"], expires_at=now + timedelta(minutes=5)),
    }
    keys = {}
    ages = {"old": timedelta(hours=24, seconds=1), "24h": timedelta(hours=24), "fresh": timedelta(hours=23)}
    for name, age in ages.items():
        keys[name] = IdempotencyKey.objects.create(
            scope="test", key=name, request_hash="h", status_code=201, body={}, location=""
        )
        IdempotencyKey.objects.filter(pk=keys[name].pk).update(created_at=now - age)

    return {
        "tickets": set(
            Ticket.objects.filter(Q(booking__in=[ada_new, dee]) | Q(booking=cy, show=later)).values_list(
                "pk", flat=True
            )
        ),
        "bookings": {ada_new.pk, cy.pk, dee.pk},
        "customers": {ada_new.customer_id, cy.customer_id, dee.customer_id},
        "holds": {holds["live"].pk, holds["just_lapsed"].pk},
        "keys": {keys["fresh"].pk},
    }


def left() -> dict[str, set]:
    return {
        "tickets": set(Ticket.objects.values_list("pk", flat=True)),
        "bookings": set(Booking.objects.values_list("pk", flat=True)),
        "customers": set(Customer.objects.values_list("pk", flat=True)),
        "holds": set(Hold.objects.values_list("pk", flat=True)),
        "keys": set(IdempotencyKey.objects.values_list("pk", flat=True)),
    }


def test_purge_deletes_expired_tickets_and_what_they_leave_behind_only(purge_scenario):
    expected = purge_scenario
    with time_machine.travel(STARTS + timedelta(days=1), tick=False):
        assert run("purge_expired_tickets") == (
            "Deleted 4 expired tickets, 2 bookings, 2 customers, 2 holds and 2 idempotency keys.\n"
        )
        assert left() == expected

        assert run("purge_expired_tickets") == NOTHING_PURGED
        assert left() == expected


@pytest.mark.parametrize("batch_size", [1, 2, 3, 20_000])
def test_purge_gives_the_same_result_whatever_the_batch_size(purge_scenario, batch_size):
    with time_machine.travel(STARTS + timedelta(days=1), tick=False):
        result = services.tickets_purge(batch_size=batch_size)
    assert result == services.PurgeResult(tickets=4, bookings=2, customers=2, holds=2, idempotency_keys=2)
    assert left() == purge_scenario


def test_purge_loads_no_ticket_into_python(purge_scenario):
    """Set-based deletes only, over key ranges of the ticket ids: no ticket is read."""
    with time_machine.travel(STARTS + timedelta(days=1), tick=False), CaptureQueriesContext(connection) as queries:
        services.tickets_purge(batch_size=2)
    on_tickets = [q["sql"] for q in queries.captured_queries if 'FROM "api_ticket"' in q["sql"]]
    deletes = [sql for sql in on_tickets if sql.startswith('DELETE FROM "api_ticket" WHERE')]
    assert deletes and all('"api_ticket"."id" >=' in sql for sql in deletes)
    assert not [sql for sql in on_tickets if sql.startswith("SELECT")]


def test_purge_batches_hold_about_batch_size_tickets(db, monkeypatch):
    """Ranges of the id space sized from what the last one held: 1,000 expired tickets
    with ids spread over the space (as UUID4s are) go in batches of at most twice
    batch_size, and the ranges, from the lowest id to the highest, miss none."""
    show = make_show(capacity=1_000)
    customer = Customer.objects.create(name="Ada Lovelace", phone_number="+914155550101")
    booking = Booking.objects.create(reference="ABCDEF", customer=customer)
    step = services.UUID_SPACE // 1_000
    Ticket.objects.bulk_create(
        Ticket(id=uuid.UUID(int=n * step + 12_345), booking=booking, show=show, seat=label(n + 1), expired=True)
        for n in range(1_000)
    )
    sizes = []
    real_delete = QuerySet.delete

    def delete(queryset):
        deleted = real_delete(queryset)
        if queryset.model is Ticket:
            sizes.append(deleted[0])
        return deleted

    monkeypatch.setattr(QuerySet, "delete", delete)
    result = services.tickets_purge(batch_size=50)

    assert result.tickets == sum(sizes) == 1_000
    assert not Ticket.objects.exists()
    assert max(sizes) <= 100, sizes
    # The first range is 2 ** -32 of the space and the next ones double while they hold
    # little (about 30 cheap statements); from then on each holds about 50.
    assert len(sizes) < 60, sizes
    assert sum(n for n in sizes if n >= 25) >= 900, sizes


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_each_purge_batch_commits_without_waiting_for_the_disk(purge_scenario):
    """Every batch's transaction sets synchronous_commit off for itself only (SET LOCAL):
    the lock, the setting, then the batch's statements."""
    with time_machine.travel(STARTS + timedelta(days=1), tick=False), CaptureQueriesContext(connection) as queries:
        services.tickets_purge(batch_size=2)
    sql = [q["sql"] for q in queries.captured_queries]
    locks = [i for i, statement in enumerate(sql) if "pg_try_advisory_xact_lock" in statement]

    assert locks and all(sql[i + 1] == "SET LOCAL synchronous_commit TO OFF" for i in locks)
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"  # the connection's own setting is untouched


@postgres_only
def test_a_purge_inside_a_callers_transaction_leaves_its_commit_alone(purge_scenario):
    with time_machine.travel(STARTS + timedelta(days=1), tick=False), transaction.atomic():
        services.tickets_purge(batch_size=2)
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone()[0] == "on"


@postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("in_a_callers_transaction", "waits_in"),
    [(False, "DELETE FROM api_customer"), (True, "LOCK TABLE api_customer")],
)
def test_a_customer_a_booking_reuses_while_the_purge_deletes_it_is_kept(shows, in_a_callers_transaction, waits_in):
    """Booking.customer has no database constraint: what keeps the purge from deleting a
    customer that a booking, still running when the batch began, links again is the
    batch's REPEATABLE READ (it waits for that booking, then fails: the customer stays for
    the next run) or, inside a caller's transaction, a lock on the customer table (it
    waits for that booking, then sees it). Either way every booking keeps its customer."""
    eve = Customer.objects.create(name="Eve Left", phone_number="+914155550105")  # no booking: purgeable
    other = connections.create_connection("default")
    other.set_autocommit(False)
    purged = {}
    try:
        with other.cursor() as cursor:
            # What a booking's upsert does to a returning person (BOOK_AT_ONCE_SQL), not committed yet.
            cursor.execute(
                "INSERT INTO api_customer (name, phone_number) VALUES (%s, %s) "
                "ON CONFLICT (name, phone_number) DO UPDATE SET name = EXCLUDED.name RETURNING id",
                ["Eve Left", "+914155550105"],
            )
            assert cursor.fetchone()[0] == eve.pk

            def purge() -> None:
                try:
                    if in_a_callers_transaction:
                        with transaction.atomic():
                            purged["result"] = services.tickets_purge()
                    else:
                        purged["result"] = services.tickets_purge()
                finally:
                    connection.close()

            thread = threading.Thread(target=purge)
            thread.start()
            # The purge's customer batch began, and waits for the row the booking wrote.
            waiting = wait_until_a_query_waits_on_a_lock(waits_in)
            cursor.execute(
                "INSERT INTO api_booking (reference, customer_id, created_at) VALUES ('EVE234', %s, now())", [eve.pk]
            )
            other.commit()
            thread.join(timeout=30)
    finally:
        other.close()

    assert waiting
    assert purged["result"].customers == 0
    assert Customer.objects.filter(pk=eve.pk).exists()
    assert not Booking.objects.exclude(customer__in=Customer.objects.all()).exists()


def wait_until_a_query_waits_on_a_lock(start_of_query: str, seconds: float = 10) -> bool:
    deadline = timezone.now() + timedelta(seconds=seconds)
    with connection.cursor() as cursor:
        while timezone.now() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s",
                [start_of_query + "%"],
            )
            if cursor.fetchone()[0]:
                return True
            threading.Event().wait(0.05)
    return False


# --- through the API ------------------------------------------------------------------------


def test_a_ticket_marked_expired_cannot_be_changed_or_checked_in(api_client, staff_client, tickets, shows):
    past, later = shows
    ticket_id = tickets["past"][0]
    with time_machine.travel(STARTS + timedelta(hours=8), tick=False):
        assert run("expire_tickets") == "Marked 2 tickets expired.\n"
        before = api_client.get(f"/api/tickets/{ticket_id}").json()
        assert before["expired"] is True

        for body in ({"name": "Ada King"}, {"show": later.pk}, {"seat": "B1"}):
            response = api_client.patch(f"/api/tickets/{ticket_id}", body)
            assert (response.status_code, response.json()) == (
                409,
                {"detail": "This ticket's show has started or the ticket has expired.", "code": "ticket_expired"},
            )
        for method in (staff_client.post, staff_client.delete):
            response = method(f"/api/tickets/{ticket_id}/check-in")
            assert (response.status_code, response.json()) == (
                409,
                {"detail": "This ticket has expired.", "code": "ticket_expired"},
            )
        assert api_client.get(f"/api/tickets/{ticket_id}").json() == before


@pytest.mark.parametrize("after_start", [timedelta(minutes=1), timedelta(hours=9)])
def test_booking_a_show_that_has_started_stays_a_400(api_client, shows, after_start):
    past, _ = shows
    person = {"name": "Ada Lovelace", "phone_number": "+914155550101"}
    local = timezone.localtime(STARTS)
    with time_machine.travel(STARTS + after_start, tick=False):
        for where in ({"show": past.pk}, {"date": local.date().isoformat(), "time": local.strftime("%H:%M")}):
            response = api_client.post("/api/tickets", {**person, **where})
            assert (response.status_code, response.json()) == (400, {"time": ["Cannot book a show that has started."]})
    assert not Ticket.objects.exists()


# --- PostgreSQL: several hosts at once ---------------------------------------------------------

RUNS = 5


def live_and_expired_rows(*, bookings: int) -> None:
    """`bookings` bookings of 2 expired tickets, the first half of them with a live ticket
    too, for bookings // 2 customers (so some customers keep a booking), plus stale (spent
    over a day ago) and live holds and idempotency keys. The time is the real one."""
    now = datetime.now(UTC)
    past = Show.objects.create(starts_at=now - timedelta(hours=9), capacity=500)
    later = Show.objects.create(starts_at=now + timedelta(days=1), capacity=500)
    customers = Customer.objects.bulk_create(
        Customer(name=f"Customer {i}", phone_number=f"+9141555{i:05d}") for i in range(bookings // 2 + 3)
    )
    # Customer c has bookings c (with a live ticket) and c + bookings // 2; the last 3 have none.
    made = Booking.objects.bulk_create(
        Booking(reference=f"R{i:05d}", customer=customers[i % (bookings // 2)]) for i in range(bookings)
    )
    rows = []
    for i, booking in enumerate(made):
        rows += [
            Ticket(booking=booking, show=past, seat=label(2 * i + 1)),
            Ticket(booking=booking, show=past, seat=label(2 * i + 2)),
        ]
        if i < bookings // 2:
            rows.append(Ticket(booking=booking, show=later, seat=label(i + 1)))
    Ticket.objects.bulk_create(rows)
    Hold.objects.bulk_create(
        Hold(show=later, seats=[label(400 + i)], expires_at=now + timedelta(hours=-25 if i % 2 else 1))
        for i in range(10)
    )
    for i in range(10):
        key = IdempotencyKey.objects.create(scope="s", key=f"k{i}", request_hash="h", status_code=201, body={})
        IdempotencyKey.objects.filter(pk=key.pk).update(created_at=now - timedelta(hours=25 if i % 2 else 1))


def at_once(command: str, *args: str) -> tuple[list[str], list[BaseException]]:
    """Run the command in RUNS threads released together; their outputs and errors."""
    barrier = threading.Barrier(RUNS)
    outputs: list[str] = []
    failures: list[BaseException] = []

    def host() -> None:
        try:
            barrier.wait(timeout=60)  # a safety net against a hung run, not a timing
            outputs.append(run(command, *args))
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=host) for _ in range(RUNS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads)
    return outputs, failures


PURGED = re.compile(
    r"Deleted (\d+) expired tickets, (\d+) bookings, (\d+) customers, (\d+) holds and (\d+) idempotency keys\.\n"
)
PURGED_OR_SKIPPED = re.compile(
    rf"{PURGED.pattern}|Another host is purging right now; nothing to do\.\n"
    rf"|{PURGED.pattern}Another host is purging right now; left the rest to it\.\n"
)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_five_purges_at_once_end_with_the_rows_of_one_and_none_fails():
    live_and_expired_rows(bookings=60)
    Ticket.objects.filter(show__starts_at__lt=datetime.now(UTC)).update(expired=True)
    expected = {
        "tickets": set(Ticket.objects.filter(expired=False).values_list("pk", flat=True)),
        "bookings": set(Booking.objects.filter(tickets__expired=False).values_list("pk", flat=True)),
        "customers": set(Customer.objects.filter(bookings__tickets__expired=False).values_list("pk", flat=True)),
        "holds": set(Hold.objects.live(datetime.now(UTC)).values_list("pk", flat=True)),
        "keys": set(
            IdempotencyKey.objects.filter(created_at__gt=datetime.now(UTC) - timedelta(hours=24)).values_list(
                "pk", flat=True
            )
        ),
    }
    # 120 expired tickets; 30 bookings left without a ticket; 3 customers without a booking.
    one_run = (120, 30, 3, 5, 5)

    # Small batches, so that the five runs take turns over many transactions.
    outputs, failures = at_once("purge_expired_tickets", "--batch-size", "7")

    assert failures == []
    assert left() == expected
    counts = [tuple(int(n) for n in PURGED.match(out).groups()) for out in outputs if PURGED.match(out)]
    # Every row is deleted by exactly one run; the runs that found the lock taken say so.
    assert tuple(map(sum, zip(*counts, strict=True))) == one_run
    for out in outputs:
        assert PURGED_OR_SKIPPED.fullmatch(out), out
    assert run("purge_expired_tickets") == NOTHING_PURGED


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_five_purges_at_once_without_the_lock_still_end_with_the_rows_of_one(monkeypatch):
    """The advisory lock only saves work: the SQL is idempotent, so overlapping runs (a
    connection pooler that drops the lock, say) still end right."""
    monkeypatch.setattr(services, "_try_job_lock", lambda key: True)
    live_and_expired_rows(bookings=60)
    Ticket.objects.filter(show__starts_at__lt=datetime.now(UTC)).update(expired=True)
    expected = {
        "tickets": set(Ticket.objects.filter(expired=False).values_list("pk", flat=True)),
        "bookings": set(Booking.objects.filter(tickets__expired=False).values_list("pk", flat=True)),
    }

    outputs, failures = at_once("purge_expired_tickets", "--batch-size", "7")

    assert failures == []
    assert {table: rows for table, rows in left().items() if table in expected} == expected
    counts = [tuple(int(n) for n in PURGED.fullmatch(out).groups()) for out in outputs]
    assert tuple(map(sum, zip(*counts, strict=True))) == (120, 30, 3, 5, 5)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_five_expires_at_once_end_with_the_rows_of_one_and_none_fails():
    live_and_expired_rows(bookings=60)

    outputs, failures = at_once("expire_tickets")

    assert failures == []
    assert Ticket.objects.filter(expired=True).count() == 120
    assert not Ticket.objects.filter(expired=True, show__starts_at__gt=datetime.now(UTC)).exists()
    marked = [int(m.group(1)) for out in outputs if (m := re.fullmatch(r"Marked (\d+) tickets expired\.\n", out))]
    assert sum(marked) == 120
    skipped = ["Another host is expiring tickets right now; nothing to do.\n"] * (RUNS - len(marked))
    assert sorted(out for out in outputs if not out.startswith("Marked")) == skipped


@postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "command, lock, message, then",
    [
        (
            "expire_tickets",
            services.EXPIRE_JOB_LOCK,
            "Another host is expiring tickets right now; nothing to do.\n",
            "Marked 120 tickets expired.\n",
        ),
        (
            "purge_expired_tickets",
            services.PURGE_JOB_LOCK,
            "Another host is purging right now; nothing to do.\n",
            "Deleted 0 expired tickets, 0 bookings, 3 customers, 5 holds and 5 idempotency keys.\n",
        ),
    ],
)
def test_a_job_exits_quietly_while_another_host_holds_its_lock(command, lock, message, then):
    live_and_expired_rows(bookings=60)
    before = left(), expired_flags()
    other_host = connections.create_connection("default")
    try:
        other_host.ensure_connection()
        other_host.set_autocommit(False)
        with other_host.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock])
        assert run(command) == message
        assert (left(), expired_flags()) == before
    finally:
        other_host.rollback()  # ends the other transaction, and its lock with it
        other_host.close()
    assert run(command) == then
