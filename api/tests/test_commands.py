"""The ticket life cycle: `expire_tickets` and `purge_expired_tickets` (API.md, "Time,
expiry and clean-up"; DESIGN.md, "Cron jobs").

Time is frozen with time-machine: a ticket expires once its show started 8 hours ago or
more, exactly 8 hours included. The purge deletes in batches, each a transaction of its
own under the purge's advisory lock: expired tickets in id order along the partial index
of expired ids, then bookings and customers left without any, one id range at a time. The
foreign keys Ticket.booking and Booking.customer are database constraints: a batch that
would leave a booking without its customer is refused (at its DELETE, or at COMMIT for a
link made after it) and left for the next run. The PostgreSQL tests start five runs of a
job at the same moment, hold a job's advisory lock from another connection, as another
host would, and reuse a customer from another connection while the purge deletes it.
"""

import re
import threading
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import Q, QuerySet
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api.models import Booking, Customer, Hold, IdempotencyKey, Screen, Show, Ticket, TicketType
from api.seatmaps import grid, row_label
from api.services import jobs
from api.tests.conftest import book_seats, make_show, postgres_only

pytestmark = pytest.mark.django_db

# The show that expires in these tests, and one that is still to come.
STARTS = datetime(2031, 3, 14, 19, 30, tzinfo=UTC)
LATER = STARTS + timedelta(days=2)
# When the purge runs in these tests: a day after STARTS.
PURGE_AT = STARTS + timedelta(days=1)
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
    with CaptureQueriesContext(connection) as queries:
        jobs.tickets_expire(now=STARTS + timedelta(hours=8))
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
    now = PURGE_AT
    book(past, "Ada Lovelace", "+914155550101", seats=2)  # expired: goes
    ada_new = book(later, "Ada Lovelace", "+914155550101")  # Ada keeps this one, so Ada stays
    book(past, "Bob Bell", "+914155550102")  # Bob's only booking: both go
    cy = book(past, "Cy Young", "+914155550103", seats=2)  # one ticket moved to the later show: stays
    Ticket.objects.filter(pk=cy.tickets.all()[1].pk).update(show=later)
    dee = book(past, "Dee Dee", "+914155550104")  # not marked expired yet: the purge leaves it
    Customer.objects.create(name="Eve Left", phone_number="+914155550105")  # no booking left: goes
    Ticket.objects.filter(show=past).exclude(booking=dee).update(expired=True)

    # Holds that ran out are kept a day (jobs.SPENT_HOLDS_KEPT), so that a late confirm
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
    with time_machine.travel(PURGE_AT, tick=False):
        assert run("purge_expired_tickets") == (
            "Deleted 4 expired tickets, 2 bookings, 2 customers, 2 holds and 2 idempotency keys.\n"
        )
        assert left() == expected

        assert run("purge_expired_tickets") == NOTHING_PURGED
        assert left() == expected


@pytest.mark.parametrize("batch_size", [1, 2, 3, 20_000])
def test_purge_gives_the_same_result_whatever_the_batch_size(purge_scenario, batch_size):
    result = jobs.tickets_purge(now=PURGE_AT, batch_size=batch_size)
    assert result == jobs.PurgeResult(tickets=4, bookings=2, customers=2, holds=2, idempotency_keys=2)
    assert left() == purge_scenario


def test_purge_loads_no_ticket_into_python(purge_scenario):
    """Set-based deletes only: each batch reads one id, where it ends (the batch_size-th
    expired id after the last batch's end), and deletes the expired tickets up to it."""
    with CaptureQueriesContext(connection) as queries:
        jobs.tickets_purge(now=PURGE_AT, batch_size=2)
    # Statements on the ticket table itself (not the subqueries of the booking deletes).
    on_tickets = [q["sql"] for q in queries.captured_queries if re.match(r'\w+ [^(]*FROM "api_ticket"', q["sql"])]
    selects = [sql for sql in on_tickets if sql.startswith("SELECT")]
    deletes = [sql for sql in on_tickets if sql.startswith("DELETE")]

    # 4 expired tickets in batches of 2: two full batches, then one that finds no end and
    # deletes the rest (none).
    assert len(selects) == len(deletes) == 3, on_tickets
    assert len(on_tickets) == 6, on_tickets
    after, upto = '"api_ticket"."id" > ', '"api_ticket"."id" <= '
    for n, (select, delete) in enumerate(zip(selects, deletes, strict=True)):
        # The batch's end: one id, the second expired id after the last batch's end.
        assert select.startswith('SELECT "api_ticket"."id" AS "pk" FROM "api_ticket" WHERE'), select
        assert select.endswith("ORDER BY 1 ASC LIMIT 1 OFFSET 1"), select
        assert '"api_ticket"."expired"' in select and (after in select) == (n > 0), select
        # The batch: expired tickets after the last batch's end, up to this one's (the
        # last batch: the rest).
        assert delete.startswith('DELETE FROM "api_ticket" WHERE ("api_ticket"."expired" AND'), delete
        assert (after in delete, upto in delete) == (n > 0, n < 2), delete


@pytest.mark.parametrize(
    "expired, sizes",
    [
        (1_000, [50] * 20 + [0]),  # a whole number of batches: the last one finds the rest empty
        (1_010, [50] * 20 + [10]),
        (49, [49]),
    ],
)
def test_purge_deletes_expired_tickets_in_batches_of_the_next_ids(db, monkeypatch, expired, sizes):
    """Expired tickets among as many live ones, ids random (UUID4) and interleaved: each
    batch is the next batch_size expired ids in order, the last one the rest; no live
    ticket goes."""
    # Rows of 30: 2,020 seats in rows of 10 would be more rows than a map may have (MAX_ROWS).
    screen = Screen.objects.create(
        venue=Screen.objects.default().venue, name="Big", seat_map=grid(-(-2 * expired // 30), 30)
    )
    show = make_show(screen=screen, capacity=2 * expired)
    customer = Customer.objects.create(name="Ada Lovelace", phone_number="+914155550101")
    booking = Booking.objects.create(reference="ABCDEF", customer=customer)
    tickets = Ticket.objects.bulk_create(
        Ticket(booking=booking, holder=customer, show=show, seat=label(n + 1, per_row=30), expired=n % 2 == 0)
        for n in range(2 * expired)
    )
    expired_ids = sorted(t.pk for t in tickets if t.expired)
    live_ids = {t.pk for t in tickets if not t.expired}
    batches = []
    real_delete = QuerySet.delete

    def delete(queryset):
        if queryset.model is Ticket:
            batches.append(sorted(queryset.values_list("pk", flat=True)))
        return real_delete(queryset)

    monkeypatch.setattr(QuerySet, "delete", delete)
    result = jobs.tickets_purge(now=PURGE_AT, batch_size=50)

    assert [len(batch) for batch in batches] == sizes
    assert [pk for batch in batches for pk in batch] == expired_ids  # in order, each once, none missed
    assert result.tickets == expired
    assert set(Ticket.objects.values_list("pk", flat=True)) == live_ids
    assert result.bookings == result.customers == 0  # the booking keeps its live tickets


@pytest.mark.parametrize("model", [Hold, IdempotencyKey])
def test_spent_holds_and_old_keys_are_deleted_in_batches_too(shows, monkeypatch, model):
    """After an on-sale rush, or days without the job, there are a great many spent holds
    and old keys: one DELETE of them all would be one long transaction, holding the purge's
    lock and a replica's sync the while. They go batch_size ids at a time, like the rest."""
    _, later = shows
    for n in range(5):
        Hold.objects.create(show=later, seats=[label(n + 1)], expires_at=PURGE_AT - timedelta(days=2))
        key = IdempotencyKey.objects.create(scope="test", key=f"k{n}", request_hash="h", status_code=201, body={})
        IdempotencyKey.objects.filter(pk=key.pk).update(created_at=PURGE_AT - timedelta(days=2))
    batches = []
    real_delete = QuerySet.delete

    def delete(queryset):
        deleted = real_delete(queryset)
        if queryset.model is model:
            batches.append(deleted[0])
        return deleted

    monkeypatch.setattr(QuerySet, "delete", delete)
    result = jobs.tickets_purge(now=PURGE_AT, batch_size=2)

    assert batches == [2, 2, 1]
    assert (result.holds, result.idempotency_keys) == (5, 5)
    assert not Hold.objects.exists() and not IdempotencyKey.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_batch_the_foreign_key_refuses_is_skipped_and_left_for_the_next_run(shows, purge_scenario, monkeypatch):
    """Should a booking link a customer after a batch deleted it (here one made in the
    batch's own transaction, after its DELETE), the foreign key refuses the batch at
    COMMIT: nothing of it is deleted, the purge goes on with the next batch, and the next
    run tries the customer again. (Another host's link, made while the batch runs, is
    refused at the DELETE: the next test.)"""
    _, later = shows
    eve = Customer.objects.get(name="Eve Left")
    real_delete = QuerySet.delete

    def delete(queryset):
        deleted = real_delete(queryset)
        if queryset.model is Customer and not Booking.objects.filter(reference="EVE234").exists():
            booking = Booking.objects.create(reference="EVE234", customer_id=eve.pk)
            Ticket.objects.create(booking=booking, holder_id=eve.pk, show=later, seat=label(9))
        return deleted

    monkeypatch.setattr(QuerySet, "delete", delete)
    result = jobs.tickets_purge(now=PURGE_AT, batch_size=1)

    # Bob's customer went in a batch of its own; Eve's batch was refused.
    assert result == jobs.PurgeResult(tickets=4, bookings=2, customers=1, holds=2, idempotency_keys=2)
    assert Customer.objects.filter(pk=eve.pk).exists()
    assert not Booking.objects.exclude(customer__in=Customer.objects.all()).exists()
    assert left()["customers"] == purge_scenario["customers"] | {eve.pk}

    monkeypatch.undo()  # the next run: Eve has a booking of a show to come now, so she stays
    assert jobs.tickets_purge(now=PURGE_AT) == jobs.PurgeResult()
    assert Customer.objects.filter(pk=eve.pk).exists()


def test_a_purge_that_loses_the_lock_midway_says_it_left_the_rest(purge_scenario, monkeypatch):
    """Another host took the purge's lock between two batches: the run stops there and
    says what it deleted and that it left the rest."""
    real_lock, calls = jobs.try_job_lock, []

    def lock(key):
        calls.append(key)
        return real_lock(key) and len(calls) <= 2  # the first two batches: two tickets each

    monkeypatch.setattr(jobs, "try_job_lock", lock)
    with time_machine.travel(PURGE_AT, tick=False):
        assert run("purge_expired_tickets", "--batch-size", "2") == (
            "Deleted 4 expired tickets, 0 bookings, 0 customers, 0 holds and 0 idempotency keys.\n"
            "Another host is purging right now; left the rest to it.\n"
        )
    assert calls == [jobs.PURGE_JOB_LOCK] * 3

    monkeypatch.undo()
    with time_machine.travel(PURGE_AT, tick=False):
        assert run("purge_expired_tickets") == (
            "Deleted 0 expired tickets, 2 bookings, 2 customers, 2 holds and 2 idempotency keys.\n"
        )
    assert left() == purge_scenario


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_each_purge_batch_is_a_transaction_of_its_own_that_first_takes_the_lock(purge_scenario, monkeypatch):
    """Every DELETE of the purge runs in a transaction of its own (one batch per
    transaction), which took the purge's advisory lock before it."""
    real_lock, real_delete = jobs.try_job_lock, QuerySet.delete
    events: list[tuple[str, int]] = []

    def current_transaction() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT txid_current()")
            return cursor.fetchone()[0]

    def lock(key):
        got = real_lock(key)
        events.append((f"lock {key:#x} {got}", current_transaction()))
        return got

    def delete(queryset):
        events.append((f"delete {queryset.model.__name__}", current_transaction()))
        return real_delete(queryset)

    monkeypatch.setattr(jobs, "try_job_lock", lock)
    monkeypatch.setattr(QuerySet, "delete", delete)
    jobs.tickets_purge(now=PURGE_AT, batch_size=2)

    deletes = [(what, txid) for what, txid in events if what.startswith("delete")]
    # Tickets: 3 batches; bookings and customers: one per range of 2 ids; holds; keys.
    assert [what for what, _ in deletes][:3] == ["delete Ticket"] * 3
    assert [what for what, _ in deletes][-2:] == ["delete Hold", "delete IdempotencyKey"]
    assert len({txid for _, txid in deletes}) == len(deletes)  # one DELETE per transaction
    for what, txid in deletes:
        in_transaction = [event for event, other in events if other == txid]
        assert in_transaction == [f"lock {jobs.PURGE_JOB_LOCK:#x} True", what]


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
