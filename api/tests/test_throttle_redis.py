"""Throttling against the real Redis: one rate for all processes and hosts.

With REDIS_URL set, the throttle counters live in Redis (Django's RedisCache), so every
gunicorn worker on every host counts the same requests. These tests use a Redis
database of their own (TEST_REDIS_URL, default db 14) and a key prefix unique to the
test, and skip with the reason when Redis can't be reached.
"""

import json
import os
import secrets
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings as django_settings

from api.models import Ticket
from api.tests.conftest import TEST_REDIS_URL, make_show
from api.tests.servers import database_url

pytestmark = pytest.mark.django_db

ANON = "203.0.113.7"


# One worker process: books `ATTEMPTS` tickets through the whole Django stack (test
# client, so no server is needed) as one anonymous client address, once told to go.
WORKER = """
import json, os, sys
import django
django.setup()
from django.test import Client

client = Client(REMOTE_ADDR=os.environ["CLIENT_ADDR"])
print("ready", flush=True)
sys.stdin.readline()
answers = []
for i in range(int(os.environ["ATTEMPTS"])):
    body = {"name": f"Worker {os.environ['WORKER']} {i}", "phone_number": "+914155550100",
            "show": int(os.environ["SHOW_ID"])}
    response = client.post("/api/tickets", body, content_type="application/json")
    answers.append([response.status_code, response.headers.get("Retry-After")])
print(json.dumps(answers), flush=True)
"""


def _start_worker(tmp_path: Path, key_prefix: str, number: int, show_id: int) -> subprocess.Popen:
    # REDIS_URL switches the settings to RedisCache; this shim only adds the test's prefix.
    (tmp_path / "throttle_test_settings.py").write_text(
        "from booking.settings import *  # noqa: F403\n"
        f"CACHES['default']['KEY_PREFIX'] = {key_prefix!r}  # noqa: F405\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "throttle_test_settings",
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(django_settings.BASE_DIR)]),
        "DATABASE_URL": database_url(),
        "REDIS_URL": TEST_REDIS_URL,
        "THROTTLE_ANON_RATE": "10/min",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "testserver",
        "CLIENT_ADDR": ANON,
        "ATTEMPTS": "10",
        "WORKER": str(number),
        "SHOW_ID": str(show_id),
    }
    return subprocess.Popen(
        [sys.executable, "-c", WORKER],
        cwd=django_settings.BASE_DIR,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.django_db(transaction=True)
def test_two_processes_together_are_held_to_one_rate(redis_client, key_prefix, tmp_path):
    show = make_show(capacity=50)
    workers = [_start_worker(tmp_path, key_prefix, number, show.pk) for number in (1, 2)]
    try:
        for worker in workers:
            assert worker.stdout is not None and worker.stderr is not None  # pipes
            assert worker.stdout.readline().strip() == "ready", worker.stderr.read()
        for worker in workers:  # both start together, so their requests interleave
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        answers = []
        for worker in workers:
            out, err = worker.communicate(timeout=120)
            assert worker.returncode == 0, err
            answers += json.loads(out.strip().splitlines()[-1])
    finally:
        for worker in workers:
            worker.kill()

    statuses = sorted(status for status, _ in answers)
    # 20 attempts at 10/min from one address: 10 pass, in whichever process they ran.
    assert statuses == [201] * 10 + [429] * 10
    assert all(1 <= int(retry_after) <= 60 for status, retry_after in answers if status == 429)
    assert Ticket.objects.filter(show=show).count() == 10


def test_counter_lives_in_redis(api_client, redis_cache, redis_client, settings):
    settings.THROTTLE_ANON_RATE = "5/min"
    for _ in range(3):
        assert api_client.get("/api/shows", REMOTE_ADDR=ANON).status_code == 200
    # Django's key format is "<prefix>:<version>:<key>"; the throttle counts in an integer
    # that Redis forgets when the client's window closes.
    key = f"{redis_cache}:1:throttle_anon_{ANON}"
    assert redis_client.get(key) == b"3"
    assert 0 < redis_client.ttl(key) <= 60


def test_throttled_answer_is_429_with_retry_after(api_client, redis_cache, settings):
    settings.THROTTLE_ANON_RATE = "3/min"
    with time_machine.travel(datetime(2030, 1, 1, 12, 0, tzinfo=UTC), tick=False):
        statuses = [api_client.get("/api/shows", REMOTE_ADDR=ANON).status_code for _ in range(3)]
        throttled = api_client.get("/api/shows", REMOTE_ADDR=ANON)
    assert statuses == [200, 200, 200]
    assert throttled.status_code == 429
    assert throttled["Retry-After"] == "60"
    assert throttled.json() == {"detail": "Request was throttled. Expected available in 60 seconds."}


def test_other_addresses_have_their_own_count(api_client, redis_cache, settings):
    settings.THROTTLE_ANON_RATE = "2/min"
    first = [api_client.get("/api/shows", REMOTE_ADDR=ANON).status_code for _ in range(3)]
    other = [api_client.get("/api/shows", REMOTE_ADDR="198.51.100.9").status_code for _ in range(2)]
    assert (first, other) == ([200, 200, 429], [200, 200])


def test_staff_are_not_throttled(api_client, staff_client, redis_cache, redis_client, settings):
    settings.THROTTLE_ANON_RATE = "2/min"
    staff = [staff_client.get("/api/tickets", REMOTE_ADDR=ANON).status_code for _ in range(10)]
    anonymous = [api_client.get("/api/shows", REMOTE_ADDR=ANON).status_code for _ in range(3)]
    assert staff == [200] * 10
    # The staff's requests from the same address counted nothing against it.
    assert anonymous == [200, 200, 429]


def test_the_window_closes_after_the_rate_period(api_client, settings):
    """In-process cache (time can be moved there): after a minute the client may go on."""
    settings.THROTTLE_ANON_RATE = "2/min"
    start = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        before = [api_client.get("/api/shows", REMOTE_ADDR=ANON).status_code for _ in range(3)]
        clock.move_to(start + timedelta(seconds=45))
        waiting = api_client.get("/api/shows", REMOTE_ADDR=ANON)
        clock.move_to(start + timedelta(seconds=61))
        after = [api_client.get("/api/shows", REMOTE_ADDR=ANON).status_code for _ in range(3)]
    assert before == [200, 200, 429]
    assert (waiting.status_code, waiting["Retry-After"]) == (429, "15")
    assert after == [200, 200, 429]


def test_the_cache_keeps_one_redis_client_per_pool(redis_cache):
    # api.sharedcache.RedisCache: Django's client made a new redis.Redis for every call.
    from django.core.cache import cache, caches

    from api.sharedcache import RedisCache

    backend = caches["default"]
    assert isinstance(backend, RedisCache)
    client = backend._cache.get_client(write=True)
    assert backend._cache.get_client("any key") is client
    assert backend._cache.get_client("any key", write=True) is client
    cache.set("reused", {"a": 1}, 10)
    assert cache.get("reused") == {"a": 1}
    assert cache.add("counter", 0, 10)
    assert cache.incr("counter") == 1


def test_hiredis_is_installed_and_usable():
    # requirements.txt pins hiredis: without it (or with one too old, which redis-py
    # leaves unused without a word) redis-py parses every reply in Python. No Redis needed.
    from redis.utils import HIREDIS_AVAILABLE

    assert HIREDIS_AVAILABLE


def test_the_cache_reads_redis_replies_with_hiredis(redis_cache):
    from django.core.cache import caches
    from redis._parsers import _HiredisParser

    from api.sharedcache import RedisCache

    backend = caches["default"]
    assert isinstance(backend, RedisCache)
    client = backend._cache.get_client(write=True)
    client.ping()
    connection = client.connection_pool.get_connection()
    try:
        assert isinstance(connection._parser, _HiredisParser)
    finally:
        client.connection_pool.release(connection)
