"""booking/postgresql: a reused connection is checked by a poll of its socket, not by a SELECT 1.

Each test plays the start of a request as Django's request_started signal does
(`close_if_unusable_or_obsolete`, which arms the health check for the next query); the test
client skips that signal, so the requests are played at this level.
"""

import select
import socket
import threading
from collections.abc import Iterator

import psycopg
import pytest
from django.db import IntegrityError, connection, connections, transaction
from django.db.backends.postgresql import base as django_postgresql

from api.tests.conftest import postgres_only

pytestmark = [postgres_only, pytest.mark.django_db(transaction=True)]


def backend_pid(db=connection) -> int:
    with db.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def next_request(db=connection) -> int:
    """A new request's first query: the health check, then the backend's pid."""
    db.close_if_unusable_or_obsolete()
    # Armed: the next query checks the connection first (else the tests below prove nothing).
    assert db.health_check_enabled and not db.health_check_done
    return backend_pid(db)


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


def until_readable(seconds: float = 5, db=connection) -> None:
    """Until the server's message reaches this process's end of the connection."""
    waiting = select.poll()
    waiting.register(db.connection.fileno(), select.POLLIN)
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


class Proxy:
    """A TCP proxy to PostgreSQL that can hang up on its clients, as HAProxy's
    shutdown-sessions does when it marks the primary down: the end of the stream, and no
    message from PostgreSQL before it."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.clients: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            settings = connection.settings_dict
            server = socket.create_connection((settings["HOST"] or "127.0.0.1", settings["PORT"] or 5432))
            self.clients.append(client)
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        for end in (source, target):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def hang_up(self) -> None:
        for client in self.clients:
            try:
                client.shutdown(socket.SHUT_RDWR)
            except OSError:  # hung up already
                pass

    def close(self) -> None:
        self.listener.close()
        self.hang_up()


@pytest.fixture
def through_a_proxy() -> Iterator[tuple[Proxy, object]]:
    proxy = Proxy()
    db = connections.create_connection("default")
    db.settings_dict = {**db.settings_dict, "HOST": "127.0.0.1", "PORT": proxy.port}
    try:
        yield proxy, db
    finally:
        db.close()
        proxy.close()


def test_a_connection_a_proxy_hung_up_on_is_replaced_before_the_request_uses_it(selects, through_a_proxy):
    proxy, db = through_a_proxy
    pid = backend_pid(db)
    proxy.hang_up()
    until_readable(db=db)  # the end of the stream alone
    assert next_request(db) != pid
    assert selects == [1]


def test_a_closed_connection_is_not_usable_without_asking(selects):
    backend_pid()
    connection.connection.close()
    try:
        assert not connection.is_usable()
        assert selects == []
    finally:
        connection.close()  # Django's side of it, for the next test


def test_a_connection_left_in_a_failed_transaction_gets_djangos_check(selects):
    backend_pid()
    raw = connection.connection  # psycopg's own, outside Django's transaction management
    raw.execute("BEGIN")
    try:
        with pytest.raises(psycopg.Error):
            raw.execute("SELECT 1 / 0")
        assert not connection.is_usable()  # SELECT 1 fails in the aborted transaction
        assert selects == [1]
    finally:
        connection.close()


def test_a_connection_whose_query_failed_is_kept_without_a_round_trip(selects):
    pid = backend_pid()
    with pytest.raises(IntegrityError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("CREATE TEMPORARY TABLE once (id int PRIMARY KEY)")
            cursor.execute("INSERT INTO once VALUES (1), (1)")
    connection.errors_occurred = True  # as Django marks it when a query raised
    connection.close_if_unusable_or_obsolete()  # the next request: it asks is_usable, here
    assert connection.health_check_done  # type: ignore[attr-defined]  # ... which was the check
    assert backend_pid() == pid
    assert selects == []
