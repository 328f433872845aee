"""Redis stopped or hung: the service answers as usual, without its cache.

Each test runs a Redis server of its own (a free port, nothing saved), then stops it
(SIGTERM: connections refused) or hangs it (SIGSTOP: connections accepted, nothing
answered, as a Redis stuck on a slow disk or swapped out). The throttle fails open but
counts per process meanwhile, a hung Redis costs one short timeout and then is left alone
for a while (api/sharedcache.py), and /api/health reports the cache.
"""

import logging
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis

from api import sharedcache
from api.tests.servers import free_port
from api.throttling import _while_redis_is_down
from api.views.base import forget_kept_answers
from api.views.catalog import ShowViewSet

pytestmark = pytest.mark.django_db

ANON = "203.0.113.7"


@dataclass
class RedisServer:
    port: int
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=1)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGCONT)
        self.process.terminate()
        self.process.wait(timeout=10)

    def hang(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def wake(self) -> None:
        self.process.send_signal(signal.SIGCONT)


@pytest.fixture
def own_redis(settings) -> Iterator[RedisServer]:
    """A Redis server of this test's own, as the service's cache (REDIS_URL's settings)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("needs redis-server (Debian's redis-server package)")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = RedisServer(port, process)
    deadline = time.monotonic() + 10
    while True:
        try:
            server.client().ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise
            time.sleep(0.05)
    timeout = settings.REDIS_TIMEOUT_SECONDS
    settings.CACHES = {
        "default": {
            "BACKEND": "api.sharedcache.RedisCache",
            "LOCATION": server.url,
            "OPTIONS": {"socket_connect_timeout": timeout, "socket_timeout": timeout},
        }
    }
    sharedcache.cache_recovered()
    _while_redis_is_down.clear()
    yield server
    if process.poll() is None:
        server.stop()
    sharedcache.cache_recovered()
    _while_redis_is_down.clear()


def timed(call):
    start = time.monotonic()
    result = call()
    return result, time.monotonic() - start


def search(api_client):
    return api_client.get("/api/shows", REMOTE_ADDR=ANON)


# --- the throttle ---------------------------------------------------------------------


def test_redis_stopped_anonymous_requests_are_answered_and_still_counted(api_client, own_redis, settings, caplog):
    settings.THROTTLE_ANON_RATE = "3/min"
    assert search(api_client).status_code == 200  # counted in Redis
    own_redis.stop()

    with caplog.at_level(logging.WARNING, logger="api.sharedcache"):
        answers = [search(api_client) for _ in range(4)]

    # Counted anew in this process's memory: the rate still holds, with its Retry-After.
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert answers[-1].json() == {"detail": "Request was throttled. Expected available in 60 seconds."}
    assert answers[-1]["Retry-After"] == "60"
    assert answers[0]["Content-Type"] == "application/json"
    assert "Cache unavailable while throttling (ConnectionError: " in caplog.text


def test_redis_hung_costs_one_short_timeout_then_is_left_alone(api_client, own_redis, settings):
    settings.THROTTLE_ANON_RATE = "100/min"
    assert search(api_client).status_code == 200
    own_redis.hang()

    first, waited = timed(lambda: search(api_client))
    resting_until = sharedcache._resting_until
    assert not sharedcache.cache_usable()  # the failure started the process's rest from Redis
    rest, rest_took = timed(lambda: [search(api_client).status_code for _ in range(5)])

    assert first.status_code == 200
    assert settings.REDIS_TIMEOUT_SECONDS <= waited < settings.REDIS_TIMEOUT_SECONDS + 1
    # The next requests don't ask Redis again: no second failure moved the rest's end
    # (a wall-clock bound alone failed on a loaded CI machine), and none waited a timeout.
    assert rest == [200] * 5
    assert sharedcache._resting_until == resting_until
    assert rest_took < 5 * settings.REDIS_TIMEOUT_SECONDS


def test_redis_back_after_the_rest_counts_again(api_client, own_redis, settings, monkeypatch):
    settings.THROTTLE_ANON_RATE = "100/min"
    monkeypatch.setattr(sharedcache, "BACKOFF_SECONDS", 0.2)
    own_redis.hang()
    assert search(api_client).status_code == 200
    own_redis.wake()
    time.sleep(0.3)

    assert search(api_client).status_code == 200

    assert own_redis.client().get(f":1:throttle_anon_{ANON}") == b"1"


# --- GET /api/health --------------------------------------------------------------------


def test_health_reports_the_cache_ok(api_client, own_redis):
    response = api_client.get("/api/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}


def test_health_is_degraded_while_redis_is_stopped(api_client, own_redis):
    own_redis.stop()

    response = api_client.get("/api/health")

    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "database": "ok", "cache": "unavailable"}


def test_health_is_degraded_and_quick_while_redis_is_hung(api_client, own_redis, settings):
    own_redis.hang()

    response, took = timed(lambda: api_client.get("/api/health"))

    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "database": "ok", "cache": "unavailable"}
    assert took < settings.REDIS_TIMEOUT_SECONDS + 1


def test_health_finds_redis_back(api_client, own_redis):
    own_redis.hang()
    assert api_client.get("/api/health").json()["cache"] == "unavailable"
    own_redis.wake()

    assert api_client.get("/api/health").json() == {"status": "ok", "database": "ok", "cache": "ok"}
    assert sharedcache.cache_usable()


# --- the show search's cache ------------------------------------------------------------


@pytest.fixture
def search_cache_alone(settings, monkeypatch):
    """The show search kept for 5 s, and no throttle in front of it (which would meet the
    failing cache first)."""
    settings.SHOW_SEARCH_CACHE_SECONDS = 5
    monkeypatch.setattr(ShowViewSet, "throttle_classes", [])


@pytest.mark.parametrize("fault", ["stop", "hang"])
def test_show_search_comes_from_the_database_when_redis_fails(
    api_client, own_redis, search_cache_alone, show, settings, fault
):
    expected = search(api_client).json()  # kept in Redis, and by this process
    assert expected["count"] == 1
    getattr(own_redis, fault)()
    assert search(api_client).json() == expected  # this process's copy: Redis is not asked
    assert sharedcache.cache_usable()
    forget_kept_answers()  # as another process, which has no copy of its own

    first, waited = timed(lambda: search(api_client))
    resting_until = sharedcache._resting_until
    assert not sharedcache.cache_usable()  # the failure started the process's rest from Redis
    forget_kept_answers()  # the answer just read from the database, kept by this worker
    again, again_took = timed(lambda: search(api_client))

    assert (first.status_code, first.json()) == (200, expected)
    assert (again.status_code, again.json()) == (200, expected)
    assert waited < settings.REDIS_TIMEOUT_SECONDS + 1
    # Left alone: no second failure moved the rest's end (a wall-clock bound of one timeout
    # failed on a loaded CI machine), and the answer didn't wait for one.
    assert sharedcache._resting_until == resting_until
    assert again_took < settings.REDIS_TIMEOUT_SECONDS + 1
