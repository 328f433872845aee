# ruff: noqa: F811  (the pytest fixture `shows` imported from commands_helpers, used as an argument)
"""`expire_tickets` and `purge_expired_tickets` at once, on PostgreSQL (DESIGN.md, "Cron
jobs"): five runs of a job started at the same moment, a job's advisory lock held from
another connection, as another host would, and a customer reused from another connection
while the purge deletes it (the foreign key refuses that batch at its DELETE, and the
purge goes on)."""

import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, connection, connections, transaction
from django.utils import timezone

from api.models import (
    AuditEntry,
    Booking,
    Customer,
    Hold,
    IdempotencyKey,
    Show,
    Ticket,
    TicketType,
    WebhookEvent,
)
from api.services import catalog, jobs
from api.tests.commands_helpers import (
    NOTHING_PURGED,
    expired_flags,
    label,
    left,
    marked_while_cancelled,
    run,
    shows,  # noqa: F401 (the fixture)
    started_with_a_ticket,
)
from api.tests.conftest import (
    book_ticket,
    in_thread,
    make_show,
    postgres_only,
)
from api.tests.races_helpers import wait_until_backends_wait_on_locks

pytestmark = pytest.mark.django_db


@postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("in_a_callers_transaction", [False, True])
def test_a_customer_a_booking_reuses_while_the_purge_deletes_it_is_kept(shows, in_a_callers_transaction):
    """A booking of a returning person upserts the customer (locking its row), then links
    it. The purge's customer batch waits for that row, then deletes it, as it was unused
    when the DELETE began; the foreign key (ON DELETE RESTRICT, migration 0013) refuses
    that at the end of the DELETE: the batch alone is rolled back (inside a caller's
    transaction, to the batch's savepoint) and the purge goes on. Every booking keeps its
    customer, and the next run finds Eve in use."""
    _, later = shows
    eve = Customer.objects.create(name="Eve Left", phone_number="+914155550105")  # no booking: purgeable
    ticket_type = TicketType.objects.default().pk
    other = connections.create_connection("default")
    other.set_autocommit(False)
    purged: dict[str, object] = {}
    try:
        with other.cursor() as cursor:
            # What a booking's upsert does to a returning person (the person part of
            # sale_rows.write_sale's statement, or sale_rows.customer_get_or_create),
            # not committed yet.
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
                            purged["result"] = jobs.tickets_purge(now=timezone.now())
                    else:
                        purged["result"] = jobs.tickets_purge(now=timezone.now())
                except IntegrityError as exc:
                    purged["refused"] = exc
                finally:
                    connection.close()

            thread = threading.Thread(target=purge)
            thread.start()
            # The purge's customer batch began, and waits for the row the booking wrote.
            waiting = wait_until_a_query_waits_on_a_lock('DELETE FROM "api_customer"')
            # v2's columns without a database default: the booking's total and client, the
            # ticket's person, seat label, seat order, type and price.
            cursor.execute(
                "INSERT INTO api_booking (reference, customer_id, total, created_at, client) "
                "VALUES ('EVE234', %s, 0, now(), '') RETURNING id",
                [eve.pk],
            )
            cursor.execute(
                "INSERT INTO api_ticket (id, booking_id, holder_id, show_id, seat, seat_order, ticket_type_id, "
                "price, expired, booked_at) VALUES (gen_random_uuid(), %s, %s, %s, 'A1', 0, %s, 0, false, now())",
                [cursor.fetchone()[0], eve.pk, later.pk, ticket_type],
            )
            other.commit()
            thread.join(timeout=30)
    finally:
        other.close()

    assert waiting
    assert not thread.is_alive()
    assert "refused" not in purged  # nothing reached the caller
    result = purged["result"]
    assert isinstance(result, jobs.PurgeResult)
    assert result.customers == 0  # the batch was refused
    assert Customer.objects.filter(pk=eve.pk).exists()
    assert not Booking.objects.exclude(customer__in=Customer.objects.all()).exists()
    assert jobs.tickets_purge(now=timezone.now()).customers == 0


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


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_show_moved_to_the_future_while_the_expire_job_runs_keeps_its_tickets_valid():
    # The job's UPDATE read the shows' starts unlocked, as of its start; one that waited for
    # a ticket's row (another write holding it a moment) reached it after staff moved its
    # show to tomorrow, and marked it expired anyway: valid again by the move, it read
    # expired, could not be changed, and the next purge deleted it.
    show = make_show()
    ticket = book_ticket(show.pk)
    long_ago = timezone.now() - timedelta(hours=9)
    Show.objects.filter(pk=show.pk).update(starts_at=long_ago, ends_at=long_ago, busy_until=long_ago)
    tomorrow = (timezone.now() + timedelta(days=1)).replace(second=0, microsecond=0)
    outcomes: dict = {}
    other = connections.create_connection("default")
    try:
        other.set_autocommit(False)
        with other.cursor() as cursor:
            cursor.execute("SELECT id FROM api_ticket WHERE id = %s FOR UPDATE", [ticket.pk])
        job = in_thread(outcomes, "job", lambda: jobs.tickets_expire(now=timezone.now()))
        assert wait_until_backends_wait_on_locks(1)  # the job, at the ticket (its show locked)
        move = in_thread(
            outcomes,
            "move",
            lambda: catalog.show_update(show_id=show.pk, now=timezone.now(), starts_at=tomorrow, actor="staff:a"),
        )
        move.join(0.5)  # moved now, or waiting for the job's lock of the show
        other.rollback()
        job.join(30)
        move.join(30)
    finally:
        other.close()

    assert outcomes["job"] in (0, 1) and isinstance(outcomes["move"], Show), outcomes
    assert Show.objects.get(pk=show.pk).starts_at == tomorrow
    assert Ticket.objects.get(pk=ticket.pk).expired is False


# --- PostgreSQL: several hosts at once ---------------------------------------------------------

RUNS = 5


def live_and_expired_rows(*, bookings: int) -> None:
    """`bookings` bookings of 2 expired tickets, the first half of them with a live ticket
    too, for bookings // 2 customers (so some customers keep a booking), plus stale (spent
    over a day ago) and live holds and idempotency keys. The time is the real one."""
    now = datetime.now(UTC)
    # Titled: an untitled show with no film is an open timing, which the purge deletes once
    # its tickets are gone.
    past = Show.objects.create(title="Past", starts_at=now - timedelta(hours=9), capacity=500)
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
            Ticket(booking=booking, holder=booking.customer, show=past, seat=label(2 * i + 1)),
            Ticket(booking=booking, holder=booking.customer, show=past, seat=label(2 * i + 2)),
        ]
        if i < bookings // 2:
            rows.append(Ticket(booking=booking, holder=booking.customer, show=later, seat=label(i + 1)))
    Ticket.objects.bulk_create(rows)
    Hold.objects.bulk_create(
        Hold(show=later, seats=[label(400 + i)], expires_at=now + timedelta(hours=-25 if i % 2 else 1))
        for i in range(10)
    )
    for i in range(10):
        key = IdempotencyKey.objects.create(scope="s", key=f"k{i}", request_hash="h", status_code=201, body="{}")
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
def test_a_ticket_cancelled_while_the_expire_job_runs_is_not_counted_as_marked():
    # As staff marking a ticket expired while a colleague cancels it (test_admin_actions.py):
    # the job's count is what its UPDATE changed, so the cancel it waited for is not in it.
    now = timezone.now().replace(microsecond=0)
    ticket = started_with_a_ticket(now, timedelta(hours=9))

    outcomes = marked_while_cancelled(ticket, now, lambda: jobs.tickets_expire(now=now))

    assert (outcomes["waited"], outcomes["second"]) == (True, 0), outcomes
    assert not Ticket.objects.exists()
    run = AuditEntry.objects.get(action="tickets.expired")
    assert (run.object_id, run.changes) == ("expire_tickets", {"marked": 0})
    assert not WebhookEvent.objects.filter(type="tickets.expired").exists()


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
    matches = [PURGED.match(out) for out in outputs]
    counts = [tuple(int(n) for n in match.groups()) for match in matches if match]
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
    monkeypatch.setattr(jobs, "try_job_lock", lambda key: True)
    live_and_expired_rows(bookings=60)
    Ticket.objects.filter(show__starts_at__lt=datetime.now(UTC)).update(expired=True)
    expected = {
        "tickets": set(Ticket.objects.filter(expired=False).values_list("pk", flat=True)),
        "bookings": set(Booking.objects.filter(tickets__expired=False).values_list("pk", flat=True)),
    }

    outputs, failures = at_once("purge_expired_tickets", "--batch-size", "7")

    assert failures == []
    assert {table: rows for table, rows in left().items() if table in expected} == expected
    matches = [PURGED.fullmatch(out) for out in outputs]
    assert all(matches), outputs
    counts = [tuple(int(n) for n in match.groups()) for match in matches if match]
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
            jobs.EXPIRE_JOB_LOCK,
            "Another host is expiring tickets right now; nothing to do.\n",
            "Marked 120 tickets expired.\n",
        ),
        (
            "purge_expired_tickets",
            jobs.PURGE_JOB_LOCK,
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
