"""Django's PostgreSQL backend, but a reused connection is checked by reading its socket.

With CONN_HEALTH_CHECKS, Django checks a persistent connection before the first query of
each request reuses it, with a `SELECT 1`: a round trip to PostgreSQL in every request, one
of a booking's seven. A connection that the server or a proxy closed (a restart, a
failover behind HAProxy's shutdown-sessions, pg_terminate_backend, an idle timeout) has
something to read: the server's last message, or the end of the stream. An open, idle one
has nothing, as the server speaks only when asked. So: nothing to read, usable; anything,
Django's check, which reads it, and fails for a closed connection (Django then connects
again). pgx's CheckConn for Go does the same. A/B in bench/README.md.
"""

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        waiting = select.poll()
        waiting.register(connection.fileno(), select.POLLIN | select.POLLPRI)
        if not waiting.poll(0):
            return True
        return super().is_usable()
