"""The foreign keys the purge deletes along (a ticket's booking and holder, a booking's
customer) are ON DELETE RESTRICT on PostgreSQL (migration 0013): one look-up a deleted row
where Django's NO ACTION makes two, and the refusal comes at the DELETE, not at COMMIT.
The inserts' checks stay deferred to COMMIT, as Django makes them, but a ticket's type's
(migration 0017: test_deletes_meanwhile.py)."""

import importlib
import threading

import psycopg
import pytest
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.models import QuerySet

from api.models import Booking, Customer, Ticket

from .conftest import book_ticket, postgres_only

pytestmark = postgres_only

RESTRICTED = {("api_ticket", "booking_id"), ("api_ticket", "holder_id"), ("api_booking", "customer_id")}


def foreign_keys() -> dict[tuple[str, str], tuple[str, bool, bool, bool]]:
    """Every foreign key of the app's tables: (table, column) -> (on delete, deferrable,
    initially deferred, validated)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.conrelid::regclass::text, a.attname, c.confdeltype, c.condeferrable, c.condeferred,"
            " c.convalidated FROM pg_constraint c JOIN pg_attribute a"
            " ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]"
            " WHERE c.contype = 'f' AND c.conrelid::regclass::text LIKE 'api\\_%%'"
        )
        return {(table, column): tuple(rest) for table, column, *rest in cursor.fetchall()}


@pytest.mark.django_db
def test_the_purges_links_restrict_deletes_and_every_other_key_is_as_django_makes_it():
    keys = foreign_keys()
    assert RESTRICTED <= keys.keys()
    for link, (on_delete, deferrable, deferred, validated) in keys.items():
        # 'r' RESTRICT, 'a' NO ACTION; deferrable, initially deferred: the inserts' checks at
        # COMMIT, but a ticket's type's, at the INSERT (migration 0017).
        initially_deferred = link != ("api_ticket", "ticket_type_id")
        expected = ("r" if link in RESTRICTED else "a", True, initially_deferred, True)
        assert (on_delete, deferrable, deferred, validated) == expected, link


@pytest.mark.django_db
def test_deleting_a_linked_booking_or_customer_is_refused_at_the_delete(show):
    ticket = book_ticket(show.pk)
    linked: list[QuerySet] = [
        Booking.objects.filter(pk=ticket.booking_id),
        Customer.objects.filter(pk=ticket.holder_id),
    ]
    for rows in linked:
        with transaction.atomic():
            with pytest.raises(IntegrityError, match="violates foreign key constraint"):
                with transaction.atomic():  # a savepoint: the refusal comes here, before any COMMIT
                    rows.delete()
            assert rows.exists()
    # Unlinked, they go.
    Ticket.objects.filter(pk=ticket.pk).delete()
    Booking.objects.filter(pk=ticket.booking_id).delete()
    assert Customer.objects.filter(pk=ticket.holder_id).delete()[0] == 1


@pytest.mark.django_db(transaction=True)
def test_the_migration_goes_back_to_no_action_and_forward_again():
    executor = MigrationExecutor(connection)
    executor.migrate([("api", "0012_screen_seat_map_digest")])
    try:
        keys = foreign_keys()
        assert {keys[link][0] for link in RESTRICTED} == {"a"}
        assert all(keys[link][1:] == (True, True, True) for link in RESTRICTED)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert {foreign_keys()[link][0] for link in RESTRICTED} == {"r"}


@pytest.mark.django_db(transaction=True)
def test_behind_a_long_transaction_the_migration_gives_up_and_can_run_again(monkeypatch):
    """The swap locks a link's two tables for a moment; a transaction that holds one of
    them (here a read of the bookings left open) makes it give up after its lock_timeout
    instead of queueing every booking behind it. Run again, it finishes."""
    migration = importlib.import_module("api.migrations.0013_restrict_deletes_of_linked_rows")
    monkeypatch.setattr(migration, "LOCK_TIMEOUT", "200ms")
    MigrationExecutor(connection).migrate([("api", "0012_screen_seat_map_digest")])
    try:
        # A connection of its own, which a timer may end from another thread: without the
        # migration's lock_timeout, the test then fails instead of waiting for ever.
        other = psycopg.connect(**connection.get_connection_params())
        timer = threading.Timer(20, other.rollback)
        try:
            other.execute("SELECT count(*) FROM api_booking")  # holds its lock until ROLLBACK
            timer.start()
            executor = MigrationExecutor(connection)
            with pytest.raises(OperationalError, match="lock timeout"):
                executor.migrate(executor.loader.graph.leaf_nodes())
        finally:
            timer.cancel()
            other.close()
        with connection.cursor() as cursor:
            cursor.execute("SHOW lock_timeout")
            assert cursor.fetchone()[0] == "0"  # reset after the failed ALTER
        assert {foreign_keys()[link][0] for link in RESTRICTED} == {"a"}  # nothing swapped
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert {foreign_keys()[link][0] for link in RESTRICTED} == {"r"}
