"""When the shared cache (Redis) fails: the service goes on without it for a while.

The cache keeps throttle counters and show searches; neither is worth an error to a
client. A call that fails (Redis stopped, or hung past REDIS_TIMEOUT_SECONDS) is logged,
and this process then leaves the cache alone for BACKOFF_SECONDS: a hung Redis costs one
timeout per process every few seconds, not one per request. Meanwhile the throttle counts
in this process's memory (api/throttling.py), and the searches, staff lists and seat maps
come from the database, each kept by the process that read it for its period
(api/views/base.py, kept_for).
"""

import logging
import time
from typing import Any, cast

from django.core.cache import cache
from django.core.cache.backends import redis as django_redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# What a call to Redis raises when it can't be done: refused, reset, timed out, or
# refused by the server (out of memory, read-only replica). All RedisError.
CacheFailure = RedisError

BACKOFF_SECONDS = 5.0

# time.monotonic() until which this process does not call the cache; 0: it does.
_resting_until = 0.0


def cache_usable() -> bool:
    """Whether to call the cache now (False for a while after it failed)."""
    return time.monotonic() >= _resting_until


def cache_failed(exc: Exception, doing: str) -> None:
    """Log the failure and leave the cache alone for BACKOFF_SECONDS."""
    global _resting_until
    _resting_until = time.monotonic() + BACKOFF_SECONDS
    reason = f"{type(exc).__name__}: {exc}"
    logger.warning("Cache unavailable while %s (%s); going on without it for %ss", doing, reason, BACKOFF_SECONDS)


def cache_recovered() -> None:
    """The cache answered again: use it from now on."""
    global _resting_until
    _resting_until = 0.0


def cache_status() -> str:
    """The cache's state for GET /api/health: "ok" when it takes a write now, else "unavailable".

    Asks the cache even while this process rests from it: health says how it is now, and
    a cache found working again ends the rest.
    """
    try:
        cache.set("health:probe", "ok", 10)
    except CacheFailure as exc:
        cache_failed(exc, "checking health")
        return "unavailable"
    cache_recovered()
    return "ok"


def read(key: str) -> object | None:
    """The cache's value for key; None when it has none or can't be read (logged)."""
    if not cache_usable():
        return None
    try:
        return cache.get(key)
    except CacheFailure as exc:
        cache_failed(exc, f"reading {key}")
        return None


def keep(key: str, value: object, seconds: int) -> None:
    if not cache_usable():
        return
    try:
        cache.set(key, value, seconds)
    except CacheFailure as exc:
        cache_failed(exc, f"keeping {key}")


def forget(key: str) -> None:
    """Forget key; a cache that can't be reached keeps it until it expires."""
    try:
        cache.delete(key)
    except CacheFailure as exc:
        cache_failed(exc, f"forgetting {key}")


class RedisCacheClient(django_redis.RedisCacheClient):
    """Django's Redis cache client, with one redis-py client per connection pool, made on
    first use: Django's makes a new `redis.Redis` for every call, and redis-py builds each
    new client's table of reply parsers, a cost a cached answer felt. One client a pool
    served more of the cached searches and seat maps in a same-run A/B (bench/README.md).
    A redis-py client is safe to share: it takes a connection from its pool for each
    command, and the pool starts afresh in a forked worker."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    # The ignores: Django's own attributes, which its type stubs leave out.
    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client

    def get_with_expiry(self, key: str) -> tuple[Any, float | None]:
        """The value under key and the seconds it has left, in one round trip (GET and PTTL
        pipelined), by Redis's clock whichever host wrote it; (None, None) without a value,
        and None for the seconds of a value that never expires (or just expired)."""
        pipe = self.get_client(key).pipeline(transaction=False)
        pipe.get(key)
        pipe.pttl(key)
        value, left_ms = pipe.execute()
        if value is None:
            return None, None
        return self._serializer.loads(value), (left_ms / 1000 if left_ms > 0 else None)  # type: ignore[attr-defined]


class RedisCache(django_redis.RedisCache):
    """The cache of REDIS_URL (settings.CACHES): Django's, with the client above."""

    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient

    def get_with_expiry(self, key: str) -> tuple[Any, float | None]:
        """cache.get(key), with the seconds the value has left (RedisCacheClient above)."""
        client = cast(RedisCacheClient, self._cache)  # made by self._class
        return client.get_with_expiry(self.make_and_validate_key(key))
