"""The seat map's short cache (SEAT_MAP_CACHE_SECONDS): at a premiere every customer's show
page loads the same map, so an answer is kept per URL for a second or so. A request with
`Cache-Control: no-cache` (the show page after its own hold or release) gets a fresh one,
and staff always do; a hold still reads the seats under the show's lock, whatever a kept
map showed."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from api.tests.conftest import book_ticket, hold_seats, make_show

pytestmark = pytest.mark.django_db


@pytest.fixture
def kept_maps(settings):
    settings.SEAT_MAP_CACHE_SECONDS = 5


def status_of(response, label: str) -> str:
    assert response.status_code == 200, response.content
    return next(s["status"] for row in response.json()["rows"] for s in row["seats"] if s["label"] == label)


def test_a_repeated_map_is_answered_without_the_database(api_client, show, kept_maps, django_assert_num_queries):
    first = api_client.get(f"/api/shows/{show.pk}/seats")

    with django_assert_num_queries(0):
        again = api_client.get(f"/api/shows/{show.pk}/seats")

    assert again.status_code == 200
    assert again.json() == first.json()


def test_a_sale_shows_within_the_cache_seconds(api_client, show, kept_maps):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert status_of(api_client.get(f"/api/shows/{show.pk}/seats"), "A1") == "free"
        book_ticket(show.pk, seat="A1")

        clock.shift(timedelta(seconds=4))
        assert status_of(api_client.get(f"/api/shows/{show.pk}/seats"), "A1") == "free"  # the kept answer

        clock.shift(timedelta(seconds=2))
        assert status_of(api_client.get(f"/api/shows/{show.pk}/seats"), "A1") == "booked"


def test_staff_always_read_the_current_map(staff_client, api_client, show, kept_maps):
    # API.md: staff always read the current state, as in the search.
    assert status_of(api_client.get(f"/api/shows/{show.pk}/seats"), "A1") == "free"  # kept
    assert status_of(staff_client.get(f"/api/shows/{show.pk}/seats"), "A1") == "free"
    book_ticket(show.pk, seat="A1")

    assert status_of(staff_client.get(f"/api/shows/{show.pk}/seats"), "A1") == "booked"
    assert status_of(api_client.get(f"/api/shows/{show.pk}/seats"), "A1") == "free"  # still kept for the others


def test_no_cache_asks_for_a_fresh_map_and_keeps_it_for_the_others(api_client, show, kept_maps):
    assert status_of(api_client.get(f"/api/shows/{show.pk}/seats"), "A1") == "free"
    hold_seats(show.pk, seats=["A1"])

    fresh = api_client.get(f"/api/shows/{show.pk}/seats", HTTP_CACHE_CONTROL="no-cache")
    assert status_of(fresh, "A1") == "held"
    assert status_of(api_client.get(f"/api/shows/{show.pk}/seats"), "A1") == "held"

    book_ticket(show.pk, seat="A2")  # the directive is read in any case, among others
    fresh = api_client.get(f"/api/shows/{show.pk}/seats", HTTP_CACHE_CONTROL="max-age=0, No-Cache")
    assert status_of(fresh, "A2") == "booked"


def test_a_seat_a_kept_map_shows_free_is_still_refused_when_taken(api_client, show, kept_maps):
    assert status_of(api_client.get(f"/api/shows/{show.pk}/seats"), "A1") == "free"
    book_ticket(show.pk, seat="A1")
    assert status_of(api_client.get(f"/api/shows/{show.pk}/seats"), "A1") == "free"  # kept

    response = api_client.post("/api/holds", {"show": show.pk, "seats": ["A1"]}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "seat_taken"


def test_each_show_has_its_own_map_and_a_404_is_never_kept(api_client, show, kept_maps):
    other = make_show(days=4)
    book_ticket(other.pk, seat="A1")
    assert status_of(api_client.get(f"/api/shows/{show.pk}/seats"), "A1") == "free"
    assert status_of(api_client.get(f"/api/shows/{other.pk}/seats"), "A1") == "booked"
    for _ in range(2):
        missing = api_client.get(f"/api/shows/{other.pk + 1000}/seats")
        assert missing.status_code == 404
        assert missing.json() == {"detail": "No Show matches the given query."}


def test_without_the_setting_every_map_reads_the_database(api_client, show, settings):
    settings.SEAT_MAP_CACHE_SECONDS = 0
    assert status_of(api_client.get(f"/api/shows/{show.pk}/seats"), "A1") == "free"
    book_ticket(show.pk, seat="A1")

    assert status_of(api_client.get(f"/api/shows/{show.pk}/seats"), "A1") == "booked"
