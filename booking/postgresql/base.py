"""Django's PostgreSQL backend, but a reused connection's health check asks the server only
when something is waiting on the connection's socket.

With CONN_HEALTH_CHECKS, Django checks a persistent connection before the first query of
each request reuses it, with a `SELECT 1`: a round trip to PostgreSQL in every request, one
of a booking's seven. A connection that the server or a proxy closed (a restart, a
failover behind HAProxy's shutdown-sessions, pg_terminate_backend, an idle timeout) has
the end of the stream waiting on its socket, often after the server's last message. An
open, idle connection normally has nothing waiting. So the check polls the socket, without
reading it: nothing waiting, usable; anything (the end, an error, a NOTIFY or a notice),
Django's `SELECT 1`, which reads it and fails on a closed connection (Django then connects
again). go-sql-driver/mysql checks a pooled connection before reuse the same way. A
connection left inside a transaction gets Django's check. A/B in bench/README.md.
"""

import select

import psycopg
from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed:
            return False
        if connection.info.transaction_status != pq.TransactionStatus.IDLE:
            return super().is_usable()
        waiting = select.poll()
        try:
            waiting.register(connection.fileno(), select.POLLIN)
        except (psycopg.Error, ValueError):
            return False
        if not waiting.poll(0):  # POLLHUP and POLLERR are reported whatever is asked
            return True
        return super().is_usable()
