# ruff: noqa: F811  (the pytest fixture `shows` imported from commands_helpers, used as an argument)
"""`purge_expired_tickets`, one run at a time (API.md, "Time, expiry and clean-up";
DESIGN.md, "Cron jobs").

The purge deletes in batches, each a transaction of its own under the purge's advisory
lock: expired tickets in id order along the partial index of expired ids, then bookings
and customers left without any, one id range at a time. The foreign keys Ticket.booking
and Booking.customer are database constraints: a batch that would leave a booking
without its customer is refused (at its DELETE, or at COMMIT for a link made after it)
and left for the next run. `expire_tickets`: test_commands_expire.py; runs at once, on
PostgreSQL: test_commands_races.py.
"""

import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.db.models import Q, QuerySet
from django.test.utils import CaptureQueriesContext

from api.models import Booking, Customer, Hold, IdempotencyKey, Screen, Ticket
from api.seatmaps import grid
from api.services import jobs
from api.tests.commands_helpers import (
    NOTHING_PURGED,
    STARTS,
    book,
    label,
    left,
    run,
    shows,  # noqa: F401 (the fixture)
)
from api.tests.conftest import make_show, postgres_only

pytestmark = pytest.mark.django_db


# When the purge runs in these tests: a day after STARTS.
PURGE_AT = STARTS + timedelta(days=1)


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
            scope="test", key=name, request_hash="h", status_code=201, body="{}", location=""
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
        key = IdempotencyKey.objects.create(scope="test", key=f"k{n}", request_hash="h", status_code=201, body="{}")
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
