"""The Show part of API.md, reads: the availability search and a show with its free seats
(staff writes: test_show_writes.py)."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api import filters
from api.models import Show
from api.tests.conftest import ADA, book_ticket, hold_seats, in_days, make_show, screen_of
from api.tests.shows_helpers import book, show_json
from api.views.catalog import ShowViewSet

pytestmark = pytest.mark.django_db


def page(*results: dict) -> dict:
    return {"count": len(results), "next": None, "previous": None, "results": list(results)}


# --- GET /api/shows: the availability search -------------------------------------------


def test_list_is_open_to_anyone_and_ordered_by_start(api_client, dune, oppenheimer):
    early = make_show(days=1, hour=10, minute=0, title="Early")
    book(dune, 2)

    response = api_client.get("/api/shows")

    assert response.status_code == 200
    assert response.json() == page(show_json(early), show_json(dune, booked=2), show_json(oppenheimer))


def test_shows_starting_at_one_moment_are_listed_by_id(api_client):
    # Several screens start shows at one moment: without a tie-breaker their order, and so
    # the pages, could change between requests.
    moment = timezone.now().replace(second=0, microsecond=0) + timedelta(days=2)
    shows = [make_show(screen=screen_of(10, name=f"Screen {n}")) for n in range(3)]
    Show.objects.filter(pk__in=[s.pk for s in shows]).update(starts_at=moment)
    with CaptureQueriesContext(connection) as queries:
        response = api_client.get("/api/shows", {"date": timezone.localtime(moment).date().isoformat()})

    assert [s["id"] for s in response.json()["results"]] == sorted(s.pk for s in shows)
    (listing,) = [q["sql"] for q in queries.captured_queries if "LIMIT" in q["sql"]]
    assert re.search(r'ORDER BY "api_show"\."starts_at" ASC, "api_show"\."id" ASC', listing), listing


def test_list_counts_live_holds_against_seats_available(api_client, dune):
    book(dune)
    hold_seats(dune.pk, quantity=3)

    response = api_client.get("/api/shows")

    assert response.status_code == 200
    assert response.json() == page(show_json(dune, booked=1, held=3))
    assert response.json()["results"][0]["seats_available"] == 16


def test_list_is_paginated(api_client):
    for hour in range(10, 13):
        make_show(days=2, hour=hour, minute=0)

    response = api_client.get("/api/shows", {"page_size": 2})

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"] == "http://testserver/api/shows?page=2&page_size=2"
    assert body["previous"] is None


def test_filter_date(api_client, dune, oppenheimer):
    assert api_client.get("/api/shows", {"date": in_days(3).isoformat()}).json() == page(show_json(dune))
    assert api_client.get("/api/shows", {"date": in_days(4).isoformat()}).json() == page()


def test_filter_time_accepts_zero_seconds(api_client, dune, oppenheimer):
    assert api_client.get("/api/shows", {"time": "15:00"}).json() == page(show_json(oppenheimer))
    assert api_client.get("/api/shows", {"time": "15:00:00"}).json() == page(show_json(oppenheimer))
    assert api_client.get("/api/shows", {"time": "15:01"}).json() == page()


def test_filter_date_after(api_client, dune, oppenheimer):
    assert api_client.get("/api/shows", {"date_after": in_days(5).isoformat()}).json() == page(show_json(oppenheimer))
    assert api_client.get("/api/shows", {"date_after": in_days(6).isoformat()}).json() == page()


def test_filter_date_before(api_client, dune, oppenheimer):
    assert api_client.get("/api/shows", {"date_before": in_days(3).isoformat()}).json() == page(show_json(dune))
    assert api_client.get("/api/shows", {"date_before": in_days(2).isoformat()}).json() == page()


def test_filter_date_after_and_before_together(api_client, dune, oppenheimer):
    window = {"date_after": in_days(3).isoformat(), "date_before": in_days(5).isoformat()}
    assert api_client.get("/api/shows", window).json() == page(show_json(dune), show_json(oppenheimer))


def test_filter_title_contains_any_case(api_client, dune, oppenheimer):
    assert api_client.get("/api/shows", {"title": "PART three"}).json() == page(show_json(dune))
    assert api_client.get("/api/shows", {"title": "Matrix"}).json() == page()


def test_filter_title_is_any_case_in_every_script(api_client):
    # On SQLite icontains is LIKE, which folds ASCII letters only: "amÉlie" found no "Amélie".
    amelie = make_show(days=2, title="Amélie 100%")
    make_show(days=3, title="Ame 1000")

    for title in ("amÉlie", "AMÉLIE", "0%"):
        assert [s["id"] for s in api_client.get("/api/shows", {"title": title}).json()["results"]] == [amelie.pk]


def test_filter_title_folds_sharp_s_as_ss_on_both_databases(api_client):
    # PostgreSQL's UPPER keeps "ß" ("STRAßE"), where SQLite's casefold reads "strasse".
    strasse = make_show(days=2, title="Die Straße")
    make_show(days=3, title="Die Stra")

    for title in ("STRASSE", "strasse", "Straße", "STRAẞE"):
        assert [s["id"] for s in api_client.get("/api/shows", {"title": title}).json()["results"]] == [strasse.pk]


def test_filter_seats_is_at_least_that_many_free(api_client, dune, oppenheimer):
    book(dune, 5)  # 15 free at Dune, 20 at Oppenheimer
    hold_seats(oppenheimer.pk, quantity=2)  # 18 free

    assert api_client.get("/api/shows", {"seats": 16}).json() == page(show_json(oppenheimer, held=2))
    assert api_client.get("/api/shows", {"seats": 15}).json() == page(
        show_json(dune, booked=5), show_json(oppenheimer, held=2)
    )
    assert api_client.get("/api/shows", {"seats": 19}).json() == page()


@pytest.mark.parametrize(
    ("seats", "error"),
    [
        ("1.5", "Enter a whole number."),
        ("0", "Ensure this value is greater than or equal to 1."),
        ("9" * 20, "Ensure this value is less than or equal to 9223372036854775807."),
    ],
)
def test_filter_seats_is_a_whole_number(api_client, dune, seats, error):
    # 1.5 was read as "at least 1.5 seats".
    response = api_client.get("/api/shows", {"seats": seats})

    assert response.status_code == 400
    assert response.json() == {"seats": [error]}


def test_filter_expired(api_client, dune):
    now = timezone.now().replace(second=0, microsecond=0)
    old = Show.objects.create(title="Yesterday", starts_at=now - timedelta(hours=8))  # exactly 8 h: expired
    running = Show.objects.create(title="Running", starts_at=now - timedelta(hours=1))

    assert api_client.get("/api/shows", {"expired": "true"}).json() == page(show_json(old, expired=True))
    assert api_client.get("/api/shows", {"expired": "false"}).json() == page(show_json(running), show_json(dune))


def test_an_answer_reads_the_clock_once_however_long_it_takes(api_client, monkeypatch):
    # The list was built at one moment, the `expired` filter read the clock again, and each
    # show's body again: a search that passed the 8 hours' mark as it ran listed, for
    # expired=false, a show whose body said "expired": true. A show's own answer counted
    # its seats at one moment and listed the free ones at another (a hold running out
    # in between: 7 seats available, 10 listed free).
    start = timezone.now().replace(second=0, microsecond=0) + timedelta(hours=1)
    show = make_show(title="Late", capacity=10, screen=screen_of(10))
    Show.objects.filter(pk=show.pk).update(starts_at=start, ends_at=start, busy_until=start)
    with time_machine.travel(start - timedelta(minutes=20), tick=False) as traveller:
        hold_seats(show.pk, quantity=3)  # runs out 10 minutes before the start
        slow_filter = filters.ShowFilter.filter_queryset

        def filter_then_wait(self, queryset):
            found = slow_filter(self, queryset)
            traveller.shift(timedelta(seconds=2))  # the page is serialised later
            return found

        monkeypatch.setattr(filters.ShowFilter, "filter_queryset", filter_then_wait)
        traveller.move_to(start + timedelta(hours=8) - timedelta(seconds=1))

        listed = api_client.get("/api/shows", {"expired": "false", "title": "Late"}).json()["results"]

        assert [(s["id"], s["expired"]) for s in listed] == [(show.pk, False)]
        traveller.move_to(start - timedelta(minutes=10, seconds=1))
        slow_read = ShowViewSet.get_object

        def read_then_wait(self):
            found = slow_read(self)
            traveller.shift(timedelta(seconds=2))  # its free seats are read later
            return found

        monkeypatch.setattr(ShowViewSet, "get_object", read_then_wait)
        held = api_client.get(f"/api/shows/{show.pk}").json()

        assert (held["seats_available"], len(held["free_seats"])) == (7, 7)


@pytest.mark.parametrize(
    ("parameter", "value", "message"),
    [
        ("date", "2026-13-01", "Enter a valid date."),
        ("date", "tomorrow", "Enter a valid date."),
        ("date_after", "01/02/2026", "Enter a valid date."),
        ("date_before", "2026-02-30", "Enter a valid date."),
        ("time", "25:00", "Enter a valid time."),
        ("time", "7pm", "Enter a valid time."),
        ("time", "15:00:30", "Shows start on the minute: seconds must be 00."),
        ("seats", "many", "Enter a whole number."),  # a count: IntegerField's message
        ("seats", "0", "Ensure this value is greater than or equal to 1."),
        ("expired", "maybe", "Give true or false."),  # was read as not given: every show, 200
    ],
)
def test_filter_value_that_is_not_valid_is_a_400_on_that_parameter(api_client, dune, parameter, value, message):
    response = api_client.get("/api/shows", {parameter: value})

    assert response.status_code == 400
    assert response.json() == {parameter: [message]}


# --- GET /api/shows/{id} ------------------------------------------------------------


def test_detail_lists_free_seats_by_label(api_client, dune):
    book(dune)  # B5, the best seat
    book_ticket(dune.pk, seat="B8", **ADA)  # B8
    hold_seats(dune.pk, seats=["A1"])  # A1 (B3 or A2 would strand B4 or A1: the single-seat rule)

    response = api_client.get(f"/api/shows/{dune.pk}")

    assert response.status_code == 200
    free = ["A2", "A3", "A4", "A5", "A6", "A7", "A8", "A9", "A10", "B1", "B2", "B3", "B4", "B6", "B7", "B9", "B10"]
    assert response.json() == {**show_json(dune, booked=2, held=1), "free_seats": free}


def test_detail_of_a_new_show_has_seats_a1_to_b10(api_client, dune):
    response = api_client.get(f"/api/shows/{dune.pk}/")

    assert response.status_code == 200
    assert response.json()["free_seats"] == [f"{row}{n}" for row in "AB" for n in range(1, 11)]


def test_detail_rows_after_z_are_aa_ab(api_client):
    big = make_show(days=3, capacity=280)
    book_ticket(big.pk, seat="A1", **ADA)

    free = api_client.get(f"/api/shows/{big.pk}").json()["free_seats"]

    assert free[:2] == ["A2", "A3"]
    assert free[-21:] == ["Z10", *[f"AA{n}" for n in range(1, 11)], *[f"AB{n}" for n in range(1, 11)]]


def test_detail_of_unknown_show_is_a_json_404(api_client):
    response = api_client.get("/api/shows/999999")

    assert response.status_code == 404
    assert response.json() == {"detail": "No Show matches the given query."}


def test_detail_of_non_numeric_id_is_a_json_404(api_client):
    response = api_client.get("/api/shows/not-a-number/")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


@pytest.mark.parametrize("suffix", ["", "/"])
def test_urls_work_with_and_without_trailing_slash(api_client, staff_client, dune, suffix):
    listing = api_client.get(f"/api/shows{suffix}")
    detail = api_client.get(f"/api/shows/{dune.pk}{suffix}")
    patched = staff_client.patch(f"/api/shows/{dune.pk}{suffix}", {"title": "Renamed"})

    assert (listing.status_code, detail.status_code, patched.status_code) == (200, 200, 200)
    assert listing.json() == page(show_json(dune))
    assert detail.json()["id"] == dune.pk
    assert patched.json()["title"] == "Renamed"


def test_an_items_url_answers_its_item_whatever_the_lists_filters_say(api_client, dune):
    # DRF filtered the look-up by the list's filters: another day, venue or title was a 404.
    other_day = in_days(9).isoformat()
    ticket = book_ticket(dune.pk, **ADA)

    show = api_client.get(f"/api/shows/{dune.pk}", {"date": other_day, "title": "Oppenheimer", "seats": 500})
    seats = api_client.get(f"/api/shows/{dune.pk}/seats", {"date": other_day})
    of_ticket = api_client.get(f"/api/tickets/{ticket.pk}", {"date": other_day, "checked_in": "true"})

    assert (show.status_code, show.json()["id"]) == (200, dune.pk)
    assert seats.status_code == 200
    assert (of_ticket.status_code, of_ticket.json()["id"]) == (200, str(ticket.pk))
    # The list still filters.
    assert api_client.get("/api/shows", {"date": other_day}).json()["count"] == 0


def test_a_show_that_has_started_has_no_seat_to_sell(api_client):
    """seats_available is "how many more seats can be sold now" (API.md): a started show
    listed with its free seats, and found by `seats=1`, could then not be held or booked."""
    now = timezone.now().replace(second=0, microsecond=0)
    running = Show.objects.create(title="Running", starts_at=now - timedelta(minutes=10))
    later = make_show(days=1)

    listed = api_client.get("/api/shows", {"expired": "false"}).json()["results"]
    with_seats = api_client.get("/api/shows", {"expired": "false", "seats": 1}).json()["results"]
    seat_map = api_client.get(f"/api/shows/{running.pk}/seats").json()

    assert {s["id"]: s["seats_available"] for s in listed} == {running.pk: 0, later.pk: later.capacity}
    assert [s["id"] for s in with_seats] == [later.pk]
    assert seat_map["seats_available"] == 0
    assert api_client.get(f"/api/shows/{running.pk}").json()["free_seats"] == []  # none to sell, as the count says
