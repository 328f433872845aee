"""List answers kept in the cache, keyed on the whole URL (host and query included: the
page links in an answer are absolute).

- The anonymous show search is kept for SHOW_SEARCH_CACHE_SECONDS: its seat counts may lag
  that long, and nothing else would tell when they change (live holds run out by the clock).
- The staff ticket list is kept together with the PostgreSQL snapshot it was read after
  (pg_current_snapshot(): the transactions still running and the next transaction id),
  and served only while the database's current snapshot is still that one, for at most
  STAFF_LIST_CACHE_SECONDS. Two equal snapshots see exactly the same rows, so an answer
  is never served after any write has committed: whatever made it (the services, the
  admin, the cron jobs, raw SQL, psql). The writers do nothing for it. The snapshot is the
  whole server's: any transaction that ends after writing, in any database on the server
  (a hold, an idempotency key, autovacuum's ANALYZE, another application), ends the kept
  lists. The test is "has anything been written", not "has this list changed".
- Read the list from the primary only. A hot standby's snapshot text leaves out the
  transactions still running, so two of its snapshots may look equal and see different
  rows. After a failover to an asynchronous replica or a point-in-time restore,
  transaction ids may be given out again, and an old snapshot text may come back:
  STAFF_LIST_CACHE_SECONDS bounds both.

Why the snapshot is read before the answer is computed: the answer then holds at least
what that snapshot sees. If a write commits in between, the answer may hold more, but no
later snapshot equals the one it is kept under (the write's transaction was running then,
or its id was not yet given out), so it is never served.

Inside a transaction the snapshot doesn't change with the transaction's own writes, so
lists are only kept outside one. SQLite has no snapshot to read: its lists aren't kept.
"""

import hashlib
import logging
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse
from redis.exceptions import RedisError
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

logger = logging.getLogger(__name__)

# Answers are kept as the JSON a plain JSON request gets (most clients): a hit skips the
# serializer and the renderer too. Other requests (the browsable API, ?format=api, an
# Accept with parameters such as indent=4) are answered and not kept.
JSON = "application/json"


def _key(prefix: str, request: Request) -> str | None:
    if request.accepted_media_type != JSON:
        return None
    return f"{prefix}:{hashlib.sha256(request.build_absolute_uri().encode()).hexdigest()}"


def _json(response: Response) -> bytes:
    return JSONRenderer().render(response.data, JSON)


def _kept(body: bytes) -> HttpResponse:
    return HttpResponse(body, content_type=JSON)


def _read(keys: list[str]) -> dict | None:
    """The cache's values for these keys; None, logged, if the cache can't be read: the
    answer then comes from the database."""
    try:
        return cache.get_many(keys)
    except RedisError:
        logger.exception("Answers not kept: the cache can't be read")
        return None


def _keep(key: str, value, seconds: int) -> None:
    try:
        cache.set(key, value, seconds)
    except RedisError:
        logger.exception("Answer not kept: the cache can't be written")


def kept_for(request: Request, prefix: str, seconds: int, answer: Callable[[], Response]) -> HttpResponse:
    """answer(), or its JSON as kept for at most `seconds` for this URL."""
    key = _key(prefix, request) if seconds > 0 else None
    found = _read([key]) if key else None
    if found is None:
        return answer()
    if key in found:
        return _kept(found[key])
    response = answer()  # an invalid filter raises: a 400, not kept
    _keep(key, _json(response), seconds)
    return response


def kept_until_written(request: Request, prefix: str, answer: Callable[[], Response]) -> HttpResponse:
    """answer(), or its JSON as kept under the database's current snapshot (see the module's doc)."""
    seconds = settings.STAFF_LIST_CACHE_SECONDS
    key = _key(prefix, request) if seconds > 0 and _snapshots_tell_writes() else None
    if key is None:
        return answer()
    snapshot = _current_snapshot(request)  # before the answer is computed
    found = _read([key])
    if found is None:
        return answer()
    kept = found.get(key)
    if kept is not None and kept[0] == snapshot:
        return _kept(kept[1])
    response = answer()
    _keep(key, (snapshot, _json(response)), seconds)
    return response


def _snapshots_tell_writes() -> bool:
    return connection.vendor == "postgresql" and connection.get_autocommit()


# The snapshot of a statement of its own. Staff who send a token get it with the token's
# user, in the same query (api/authentication.py): the hit then costs no extra query.
SNAPSHOT_SQL = "SELECT pg_current_snapshot()::text"


def _current_snapshot(request: Request) -> str:
    snapshot = getattr(request.auth, "db_snapshot", None)
    if snapshot is None:
        with connection.cursor() as cursor:
            cursor.execute(SNAPSHOT_SQL)
            (snapshot,) = cursor.fetchone()
    return snapshot
