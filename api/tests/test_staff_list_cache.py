"""The staff ticket list's short cache (STAFF_LIST_CACHE_SECONDS): at the door every staff
device reloads the same show's list, so an answer is kept per URL for a few seconds, only
after the staff check; other URLs, errors and non-staff are never served from it."""

from datetime import timedelta

import pytest
import time_machine

from api.tests.conftest import book_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def kept_lists(settings):
    settings.STAFF_LIST_CACHE_SECONDS = 5


def checked_in(response) -> list[bool]:
    assert response.status_code == 200, response.content
    return [row["checked_in_at"] is not None for row in response.json()["results"]]


def test_a_repeated_list_is_answered_from_the_cache(staff_client, ticket, kept_lists, django_assert_num_queries):
    first = staff_client.get("/api/tickets", {"show": ticket.show_id})

    # SELECT token JOIN user                           TokenAuthentication: the staff check
    with django_assert_num_queries(1):
        again = staff_client.get("/api/tickets", {"show": ticket.show_id})

    assert again.status_code == 200
    assert again.json() == first.json()


def test_a_check_in_shows_within_the_cache_seconds(staff_client, show, kept_lists):
    ticket = book_ticket(show.pk)
    with time_machine.travel(show.starts_at - timedelta(hours=1), tick=False) as clock:
        assert checked_in(staff_client.get("/api/tickets", {"show": show.pk})) == [False]
        assert staff_client.post(f"/api/tickets/{ticket.pk}/check-in").status_code == 200

        clock.shift(timedelta(seconds=4))
        assert checked_in(staff_client.get("/api/tickets", {"show": show.pk})) == [False]  # the kept answer

        clock.shift(timedelta(seconds=2))
        assert checked_in(staff_client.get("/api/tickets", {"show": show.pk})) == [True]


def test_without_the_setting_every_list_reads_the_database(staff_client, show, settings):
    settings.STAFF_LIST_CACHE_SECONDS = 0
    assert staff_client.get("/api/tickets", {"show": show.pk}).json()["results"] == []
    book_ticket(show.pk)

    assert len(staff_client.get("/api/tickets", {"show": show.pk}).json()["results"]) == 1


def test_a_kept_list_is_never_shown_to_anyone_but_staff(api_client, user_client, staff_client, ticket, kept_lists):
    assert staff_client.get("/api/tickets").status_code == 200

    anonymous, user = api_client.get("/api/tickets"), user_client.get("/api/tickets")

    no_credentials = {"detail": "Authentication credentials were not provided."}
    assert (anonymous.status_code, anonymous.json()) == (401, no_credentials)
    assert (user.status_code, user.json()) == (403, {"detail": "Staff only."})


def test_each_url_has_its_own_answer(staff_client, show, kept_lists):
    book_ticket(show.pk, name="Grace Hopper", phone_number="+914155550124")
    book_ticket(show.pk)

    by_name = staff_client.get("/api/tickets", {"ordering": "name"}).json()["results"]
    by_name_reversed = staff_client.get("/api/tickets", {"ordering": "-name"}).json()["results"]

    assert [row["name"] for row in by_name] == ["Ada Lovelace", "Grace Hopper"]
    assert [row["name"] for row in by_name_reversed] == ["Grace Hopper", "Ada Lovelace"]


def test_an_invalid_filter_is_a_400_every_time(staff_client, kept_lists):
    for _ in range(2):
        response = staff_client.get("/api/tickets", {"date": "not-a-date"})
        assert response.status_code == 400
