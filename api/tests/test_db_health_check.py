"""booking/postgresql: a reused connection is checked by reading its socket, not by a SELECT 1.

Each test plays the start of a request as Django's request_started signal does
(`close_if_unusable_or_obsolete`, which arms the health check for the next query); the test
client skips that signal, so the requests are played at this level.
"""

import select

import pytest
from django.db import connection, connections
from django.db.backends.postgresql import base as django_postgresql

from api.tests.conftest import postgres_only

pytestmark = [postgres_only, pytest.mark.django_db(transaction=True)]


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def next_request() -> int:
    """A new request's first query: the health check, then the backend's pid."""
    connection.close_if_unusable_or_obsolete()
    # Armed: the next query checks the connection first (else the tests below prove nothing).
    assert connection.health_check_enabled and not connection.health_check_done  # type: ignore[attr-defined]
    return backend_pid()


@pytest.fixture
def selects(monkeypatch) -> list[int]:
    """Each time Django's own check (the SELECT 1) runs."""
    calls: list[int] = []
    djangos = django_postgresql.DatabaseWrapper.is_usable

    def counted(self) -> bool:
        calls.append(1)
        return djangos(self)

    monkeypatch.setattr(django_postgresql.DatabaseWrapper, "is_usable", counted)
    return calls


def from_another_connection(sql: str, params: list | None = None) -> None:
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute(sql, params)
    finally:
        other.close()


def until_readable(seconds: float = 5) -> None:
    """Until the server's message reaches this process's end of the connection."""
    waiting = select.poll()
    waiting.register(connection.connection.fileno(), select.POLLIN)
    if not waiting.poll(seconds * 1000):
        raise AssertionError("nothing arrived on the connection")


def test_an_open_idle_connection_is_reused_without_a_round_trip(selects):
    assert type(connections["default"]).__module__ == "booking.postgresql.base"
    pid = backend_pid()
    assert next_request() == pid
    assert next_request() == pid
    assert selects == []


def test_a_connection_the_server_closed_is_replaced_before_the_request_uses_it(selects):
    pid = backend_pid()
    from_another_connection("SELECT pg_terminate_backend(%s)", [pid])
    until_readable()  # the server's FATAL message, then the end of the stream
    new_pid = next_request()  # would raise OperationalError had the check missed it
    assert new_pid != pid
    assert selects == [1]  # something to read: Django's check read it and failed


def test_a_message_waiting_on_an_open_connection_gets_djangos_check(selects):
    """Anything to read that is not the end (here a NOTIFY) goes to Django's SELECT 1, which
    reads it and finds the connection usable: the connection is kept."""
    pid = backend_pid()
    with connection.cursor() as cursor:
        cursor.execute("LISTEN health_check_test")
    from_another_connection("NOTIFY health_check_test")
    until_readable()
    assert next_request() == pid
    assert selects == [1]
    assert next_request() == pid  # read by the SELECT 1: nothing left, no second check
    assert selects == [1]
