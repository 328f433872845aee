"""The show search's short cache (SHOW_SEARCH_CACHE_SECONDS): anonymous answers are kept
per URL for a few seconds; staff, other URLs and errors are never served from it."""

import hashlib
import time
from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.core.cache import cache, caches
from django.db import transaction
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from api import sharedcache
from api.models import Venue
from api.models.catalog import VenueQuerySet
from api.sharedcache import RedisCache
from api.tests.conftest import book_ticket, make_show
from api.views import base
from api.views.base import forget_kept_answers

pytestmark = pytest.mark.django_db

ADA = {"name": "Ada Lovelace", "phone_number": "+914155550123"}

# Where kept_for keeps the answer to GET /api/shows (api/views/base.py).
SEARCH_KEY = f"show-search:{hashlib.sha256(b'http://testserver/api/shows').hexdigest()}"


@pytest.fixture
def cached_search(settings):
    settings.SHOW_SEARCH_CACHE_SECONDS = 5


def book(show) -> None:
    book_ticket(show.pk, **ADA)


def booked(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["tickets_booked"] for row in response.json()["results"]]


def test_a_repeated_search_is_answered_without_the_database(api_client, show, cached_search, django_assert_num_queries):
    first = api_client.get("/api/shows", {"title": "dune"})

    with django_assert_num_queries(0):
        again = api_client.get("/api/shows", {"title": "dune"})

    assert again.status_code == 200
    assert again.json() == first.json()


def test_an_answer_kept_is_rendered_once_and_sent_as_kept(api_client, show, cached_search, monkeypatch):
    renders = []
    real_render = JSONRenderer.render

    def render(self, data, *args, **kwargs):
        renders.append(data)
        return real_render(self, data, *args, **kwargs)

    monkeypatch.setattr(JSONRenderer, "render", render)
    first = api_client.get("/api/shows", {"title": "dune"})
    again = api_client.get("/api/shows", {"title": "dune"})

    assert len(renders) == 1  # the miss: rendered for the cache and sent as it is
    assert first.status_code == again.status_code == 200
    assert first["Content-Type"] == again["Content-Type"] == "application/json"
    assert first.content == again.content
    assert first.json()["results"][0]["id"] == show.pk


def test_counts_lag_at_most_the_cache_seconds(api_client, show, cached_search):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert booked(api_client.get("/api/shows")) == [0]
        book(show)

        clock.shift(timedelta(seconds=4))
        assert booked(api_client.get("/api/shows")) == [0]  # still the kept answer

        clock.shift(timedelta(seconds=2))
        assert booked(api_client.get("/api/shows")) == [1]


def test_without_the_setting_every_search_reads_the_database(api_client, show, settings):
    settings.SHOW_SEARCH_CACHE_SECONDS = 0
    assert booked(api_client.get("/api/shows")) == [0]
    book(show)

    assert booked(api_client.get("/api/shows")) == [1]


def test_staff_always_get_the_current_counts(api_client, staff_client, show, cached_search):
    assert booked(api_client.get("/api/shows")) == [0]
    book(show)

    assert booked(staff_client.get("/api/shows")) == [1]
    assert booked(api_client.get("/api/shows")) == [0]


def test_each_url_has_its_own_answer(api_client, show, cached_search):
    other = make_show(days=4, title="Arrival")
    assert [row["id"] for row in api_client.get("/api/shows", {"title": "dune"}).json()["results"]] == [show.pk]

    arrival = api_client.get("/api/shows", {"title": "arrival"})
    on_another_host = api_client.get("/api/shows", {"title": "dune"}, HTTP_HOST="localhost")

    assert [row["id"] for row in arrival.json()["results"]] == [other.pk]
    assert on_another_host.status_code == 200


def test_page_links_name_the_host_asked(api_client, cached_search):
    day = timezone.now().replace(second=0, microsecond=0) + timedelta(days=1)
    for minute in range(3):
        make_show(days=1, hour=day.hour, minute=minute)
    assert api_client.get("/api/shows", {"page_size": 2}).json()["next"].startswith("http://testserver/")

    answer = api_client.get("/api/shows", {"page_size": 2}, HTTP_HOST="localhost")

    assert answer.json()["next"].startswith("http://localhost/")


def test_an_invalid_search_is_a_400_every_time(api_client, show, cached_search):
    for _ in range(2):
        response = api_client.get("/api/shows", {"date": "2026-02-30"})
        assert response.status_code == 400
        assert "date" in response.json()


def test_cached_answers_still_count_against_the_throttle(api_client, show, cached_search, settings):
    settings.THROTTLE_ANON_RATE = "3/min"
    statuses = [api_client.get("/api/shows").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]


def test_the_answer_is_kept_in_redis_for_every_process(api_client, show, cached_search, redis_cache, redis_client):
    first = api_client.get("/api/shows")
    book(show)
    forget_kept_answers()  # as another process, which has no copy of its own

    again = api_client.get("/api/shows")

    assert again.json() == first.json()
    assert any(b"show-search" in key for key in redis_client.scan_iter(match=f"{redis_cache}:*"))


def test_a_worker_reads_a_kept_answer_from_redis_once(
    api_client, show, cached_search, redis_cache, django_assert_num_queries
):
    shared = caches["default"]
    assert isinstance(shared, RedisCache)
    first = api_client.get("/api/shows")

    with (
        mock.patch.object(shared, "get_with_expiry", wraps=shared.get_with_expiry) as redis_reads,
        django_assert_num_queries(0),
    ):
        again = api_client.get("/api/shows")  # this worker's copy
        forget_kept_answers()  # as another worker
        elsewhere = api_client.get("/api/shows")  # from Redis, then this worker's copy too
        and_again = api_client.get("/api/shows")

    assert first.content == again.content == elsewhere.content == and_again.content
    assert redis_reads.call_count == 1


def test_a_copy_from_redis_ends_when_redis_lets_the_answer_go(api_client, show, settings, redis_cache):
    # Kept 3 s in Redis: a worker that reads it 1.5 s later keeps it for what Redis says is
    # left (by Redis's clock, whichever host kept it), not for 3 s more. Real time: Redis
    # counts its own.
    settings.SHOW_SEARCH_CACHE_SECONDS = 3
    assert booked(api_client.get("/api/shows")) == [0]
    book(show)
    time.sleep(1.5)
    forget_kept_answers()  # as another worker
    assert booked(api_client.get("/api/shows")) == [0]  # Redis's copy, 1.5 s old

    time.sleep(1.7)
    assert booked(api_client.get("/api/shows")) == [1]


def test_a_large_answer_is_left_to_redis(api_client, show, cached_search, redis_cache, monkeypatch):
    monkeypatch.setattr(base, "NEAR_MAX_BYTES", 10)
    shared = caches["default"]
    assert isinstance(shared, RedisCache)
    first = api_client.get("/api/shows")

    with mock.patch.object(shared, "get_with_expiry", wraps=shared.get_with_expiry) as redis_reads:
        again = api_client.get("/api/shows")
        and_again = api_client.get("/api/shows")

    assert first.content == again.content == and_again.content
    assert len(first.content) > 10
    assert redis_reads.call_count == 2


def test_a_fresh_answer_too_large_to_keep_still_replaces_the_workers_copy(
    api_client, show, cached_search, redis_cache, monkeypatch
):
    assert booked(api_client.get("/api/shows")) == [0]  # kept by this worker and Redis
    book(show)
    monkeypatch.setattr(base, "NEAR_MAX_BYTES", 10)
    assert booked(api_client.get("/api/shows", HTTP_CACHE_CONTROL="no-cache")) == [1]  # Redis's alone
    monkeypatch.undo()

    assert booked(api_client.get("/api/shows")) == [1]


def test_a_value_in_redis_that_is_not_an_answer_is_read_afresh(api_client, show, cached_search, redis_cache):
    # E.g. one kept in another shape by a version of this code that no longer runs.
    caches["default"].set(SEARCH_KEY, (1764780000.25, b'{"results": []}'), 5)

    assert booked(api_client.get("/api/shows")) == [0]


def test_without_redis_an_answer_is_kept_once(api_client, show, cached_search):
    # The tests' cache is the process's memory (no REDIS_URL): nothing to keep twice.
    api_client.get("/api/shows")

    assert cache.get(SEARCH_KEY) is not None
    assert base._near.get(SEARCH_KEY) is None


def test_no_cache_asks_for_a_fresh_search(api_client, show, cached_search):
    assert booked(api_client.get("/api/shows")) == [0]
    book(show)

    assert booked(api_client.get("/api/shows")) == [0]  # kept
    assert booked(api_client.get("/api/shows", HTTP_CACHE_CONTROL="no-cache")) == [1]
    assert booked(api_client.get("/api/shows")) == [1]  # the fresh answer, kept for the next


def test_the_venues_zones_are_forgotten_again_when_a_venue_saved_commits(django_capture_on_commit_callbacks):
    # Forgotten at the save only, a search in another process that read the venues before
    # the commit kept the old list: the new venue's shows missed every search by date.
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        Venue.objects.create(name="Auckland", time_zone="Pacific/Auckland")
        sharedcache.keep(VenueQuerySet.TIME_ZONES_KEY, ["UTC"], 60)  # the other search's list

    assert "Pacific/Auckland" in Venue.objects.time_zones()
