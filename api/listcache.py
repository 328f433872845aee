"""List answers kept in the shared cache, keyed on the whole URL (host and query included:
the page links in an answer are absolute).

- The anonymous show search is kept for SHOW_SEARCH_CACHE_SECONDS: its seat counts may lag
  that long, and nothing else would tell when they change (live holds run out by the clock).
- The staff ticket list is kept until the next write that could change it, and for at most
  STAFF_LIST_CACHE_SECONDS. Each write to the tables the list shows (tickets, bookings,
  customers, shows), whatever code makes it (services, admin, cron jobs, raw SQL through
  Django's connection), gives the shared cache a new *generation* once it commits; an answer
  is served only if it was computed under the current one.

Why the generation is read before the answer is computed and set after the write commits:
an answer computed from data older than some committed write is then always kept under a
generation older than the one that write set, so nobody is served it after that write's
response has gone out. Writes made outside Django (psql) are not seen: such an answer lasts
at most STAFF_LIST_CACHE_SECONDS.

Every process must see the same generation: the staff list cache needs a cache shared by
all of them (Redis, REDIS_URL), and settings.py turns it off without one.
"""

import hashlib
import logging
import secrets
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.transaction import TransactionManagementError
from django.http import HttpResponse
from redis.exceptions import RedisError
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

logger = logging.getLogger(__name__)

GENERATION_KEY = "staff-lists:generation"
# The tables whose rows a staff ticket list shows: a ticket, its show, its booking (the
# reference) and the booking's customer (name and phone number).
WATCHED_TABLES = ("api_ticket", "api_show", "api_booking", "api_customer")
# The cache backend that all processes share (settings.py, with REDIS_URL).
SHARED_CACHE = "booking.cache.RedisCache"


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
    """answer(), or its JSON as kept under the current generation (see the module's doc)."""
    seconds = settings.STAFF_LIST_CACHE_SECONDS
    key = _key(prefix, request) if seconds > 0 else None
    found = _read([GENERATION_KEY, key]) if key else None  # one round trip to Redis
    if found is None:
        return answer()
    generation = found.get(GENERATION_KEY) or _start_generation()
    kept = found.get(key)
    if generation is not None and kept is not None and kept[0] == generation:
        return _kept(kept[1])
    response = answer()
    if generation is not None:
        _keep(key, (generation, _json(response)), seconds)
    return response


def _start_generation() -> str | None:
    """The generation, made up if the cache has none (new, flushed or evicted)."""
    try:
        cache.add(GENERATION_KEY, secrets.token_hex(8), None)
        return cache.get(GENERATION_KEY)
    except RedisError:
        logger.exception("Answers not kept: the cache can't be written")
        return None


def _new_generation() -> None:
    # Random, not a counter: a counter started again after an eviction could meet an
    # answer kept under the same number before it.
    try:
        cache.set(GENERATION_KEY, secrets.token_hex(8), None)
    except Exception:
        # The write is committed and its answer must go out. Answers kept before it may be
        # served for up to STAFF_LIST_CACHE_SECONDS.
        logger.exception("Could not start a new staff list generation in the cache")


def _lists_may_be_kept() -> bool:
    # Every process that shares the cache tells of its writes, whatever its own
    # STAFF_LIST_CACHE_SECONDS: a shell or a job set up otherwise must not leave the web
    # processes' lists stale.
    return settings.STAFF_LIST_CACHE_SECONDS > 0 or settings.CACHES["default"]["BACKEND"] == SHARED_CACHE


def _writes_watched_table(sql) -> bool:
    if not isinstance(sql, str):
        return True  # composed SQL (psycopg.sql): counted as a write, to be safe
    sql = sql.lower()
    # SELECT … FOR UPDATE locks and reads. Anything else that names a watched table counts
    # as a write: INSERT, UPDATE, DELETE, WITH (the booking's one statement), TRUNCATE, and
    # the purge's LOCK TABLE (it deletes customers).
    return not sql.lstrip().startswith("select") and any(table in sql for table in WATCHED_TABLES)


def watch_writes(execute, sql, params, many, context):
    """A database execute wrapper (installed on every connection by apps.py): after a
    statement that writes a watched table, a new generation once the transaction commits.

    Not seen: cursor.callproc() and psycopg's COPY, which bypass execute wrappers (the
    service uses neither), and writes made outside Django."""
    result = execute(sql, params, many, context)
    if _lists_may_be_kept() and _writes_watched_table(sql):
        try:
            transaction.on_commit(_new_generation, using=context["connection"].alias)
        except TransactionManagementError:
            # A transaction managed by hand (set_autocommit(False)) runs no commit hooks:
            # tell now. Until it commits, the list may be kept without its write for up to
            # STAFF_LIST_CACHE_SECONDS; the service has no such transaction.
            _new_generation()
    return result
