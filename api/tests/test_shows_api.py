"""The Show part of API.md: the availability search, a show with its free seats, staff writes."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api.models import Screen, Show
from api.tests.conftest import book_ticket, hold_seats, make_show, screen_of

pytestmark = pytest.mark.django_db

ADA = {"name": "Ada Lovelace", "phone_number": "+914155550123"}


def show_json(show: Show, *, booked: int = 0, held: int = 0, expired: bool = False) -> dict:
    """The API's picture of a show, built from the row (its local date and time)."""
    local = timezone.localtime(show.starts_at)
    return {
        "id": show.pk,
        "film": show.film_id,
        "title": show.title,
        "venue": show.screen.venue_id,
        "screen": show.screen_id,
        "date": local.date().isoformat(),
        "time": local.strftime("%H:%M"),
        "starts_at": local.isoformat(),
        "ends_at": timezone.localtime(show.ends_at).isoformat(),
        "capacity": show.capacity,
        "tickets_booked": booked,
        "seats_available": show.capacity - booked - held,
        "expired": expired,
        "currency": "EUR",
        "prices": [],  # v2: none set for these shows
    }


def page(*results: dict) -> dict:
    return {"count": len(results), "next": None, "previous": None, "results": list(results)}


def book(show: Show, count: int = 1) -> None:
    for _ in range(count):
        book_ticket(show.pk, **ADA)


def in_days(days: int) -> date:
    return timezone.localdate() + timedelta(days=days)


# --- GET /api/shows: the availability search -------------------------------------------


@pytest.fixture
def dune() -> Show:
    return make_show(days=3, hour=19, minute=30, title="Dune: Part Three")


@pytest.fixture
def oppenheimer() -> Show:
    return make_show(days=5, hour=15, minute=0, title="Oppenheimer")


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


def test_filter_seats_is_at_least_that_many_free(api_client, dune, oppenheimer):
    book(dune, 5)  # 15 free at Dune, 20 at Oppenheimer
    hold_seats(oppenheimer.pk, quantity=2)  # 18 free

    assert api_client.get("/api/shows", {"seats": 16}).json() == page(show_json(oppenheimer, held=2))
    assert api_client.get("/api/shows", {"seats": 15}).json() == page(
        show_json(dune, booked=5), show_json(oppenheimer, held=2)
    )
    assert api_client.get("/api/shows", {"seats": 19}).json() == page()


def test_filter_expired(api_client, dune):
    now = timezone.now().replace(second=0, microsecond=0)
    old = Show.objects.create(title="Yesterday", starts_at=now - timedelta(hours=8))  # exactly 8 h: expired
    running = Show.objects.create(title="Running", starts_at=now - timedelta(hours=1))

    assert api_client.get("/api/shows", {"expired": "true"}).json() == page(show_json(old, expired=True))
    assert api_client.get("/api/shows", {"expired": "false"}).json() == page(show_json(running), show_json(dune))


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
        ("seats", "many", "Enter a number."),
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


# --- POST /api/shows (staff) ---------------------------------------------------------


def test_staff_schedule_a_show_by_date_and_time(staff_client):
    day = in_days(30)
    default = Screen.objects.default()

    # v2: the capacity is a sale cap within the (default) screen's 20 places.
    response = staff_client.post(
        "/api/shows", {"title": "Alien", "date": day.isoformat(), "time": "21:15", "capacity": 15}
    )

    assert response.status_code == 201
    show = Show.objects.get()
    assert show.starts_at == timezone.make_aware(datetime(day.year, day.month, day.day, 21, 15))
    assert response.json() == {
        "id": show.pk,
        "film": None,
        "title": "Alien",
        "venue": default.venue_id,
        "screen": default.pk,
        "date": day.isoformat(),
        "time": "21:15",
        "starts_at": f"{day.isoformat()}T21:15:00+00:00",
        "ends_at": f"{day.isoformat()}T23:15:00+00:00",  # BOOKING_DEFAULT_RUNTIME_MINUTES without a film
        "capacity": 15,
        "tickets_booked": 0,
        "seats_available": 15,
        "expired": False,
        "currency": "EUR",
        "prices": [],
    }


def test_staff_schedule_a_show_by_starts_at_with_default_capacity(staff_client):
    day = in_days(30)
    screen = screen_of(12)

    response = staff_client.post(
        "/api/shows", {"title": "Alien", "screen": screen.pk, "starts_at": f"{day.isoformat()}T21:15:00+05:30"}
    )

    assert response.status_code == 201
    show = Show.objects.get()
    # v2: the capacity defaults to the places of the screen's seat map.
    assert response.json() == {
        "id": show.pk,
        "film": None,
        "title": "Alien",
        "venue": screen.venue_id,
        "screen": screen.pk,
        "date": day.isoformat(),
        "time": "15:45",
        "starts_at": f"{day.isoformat()}T15:45:00+00:00",
        "ends_at": f"{day.isoformat()}T17:45:00+00:00",
        "capacity": 12,
        "tickets_booked": 0,
        "seats_available": 12,
        "expired": False,
        "currency": "EUR",
        "prices": [],
    }


def test_show_times_are_read_in_the_theatre_time_zone(staff_client, api_client):
    venue = Screen.objects.default().venue  # v2: the zone is the (default) venue's
    venue.time_zone = "Europe/Moscow"
    venue.save()
    day = in_days(30)

    response = staff_client.post("/api/shows", {"title": "Alien", "date": day.isoformat(), "time": "19:30"})

    assert response.status_code == 201
    assert response.json()["starts_at"] == f"{day.isoformat()}T19:30:00+03:00"
    assert response.json()["time"] == "19:30"
    utc = Show.objects.get().starts_at.astimezone(UTC)
    assert (utc.hour, utc.minute) == (16, 30)
    assert api_client.get("/api/shows", {"time": "19:30"}).json()["count"] == 1
    assert api_client.get("/api/shows", {"time": "16:30"}).json()["count"] == 0


def test_two_shows_cannot_start_at_the_same_moment(staff_client, dune):
    local = timezone.localtime(dune.starts_at)

    # "19:30:00" names the same show time as the existing 19:30.
    response = staff_client.post("/api/shows", {"title": "Clash", "date": local.date().isoformat(), "time": "19:30:00"})

    assert response.status_code == 400
    assert response.json() == {"starts_at": ["Another show starts at this moment."]}
    assert Show.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"title": "No time"}, {"non_field_errors": ["Give date and time, or starts_at."]}),
        ({"date": "2099-01-01"}, {"time": ["Give both date and time."]}),
        ({"date": "2099-01-01", "time": "15:00:30"}, {"time": ["Shows start on the minute: seconds must be 00."]}),
        ({"date": "2099-01-01", "time": "3 pm"}, {"time": ["Time has wrong format. Use HH:MM."]}),
        ({"starts_at": "2099-01-01T15:00:30Z"}, {"starts_at": ["Shows start on the minute: seconds must be 00."]}),
        (
            {"date": "2099-01-01", "time": "15:00", "starts_at": "2099-01-01T15:00:00Z"},
            {"starts_at": ["Give either starts_at or date and time."]},
        ),
        (
            {"date": "2099-01-01", "time": "15:00", "capacity": 0},
            {"capacity": ["Ensure this value is greater than or equal to 1."]},
        ),
        (
            {"date": "2099-01-01", "time": "15:00", "title": "x" * 201},
            {"title": ["Ensure this field has no more than 200 characters."]},
        ),
    ],
)
def test_create_with_invalid_body_is_a_400(staff_client, body, errors):
    response = staff_client.post("/api/shows", body)

    assert response.status_code == 400
    assert response.json() == errors
    assert not Show.objects.exists()


def test_create_with_malformed_json_is_a_400(staff_client):
    response = staff_client.post("/api/shows", '{"title": ', content_type="application/json")

    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")


# --- show writes are staff-only ---------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/api/shows"), ("put", "/api/shows/{id}"), ("patch", "/api/shows/{id}"), ("delete", "/api/shows/{id}")],
)
def test_show_writes_need_credentials(api_client, dune, method, path):
    body = {"title": "Hacked", "date": "2099-01-01", "time": "10:00"}

    response = getattr(api_client, method)(path.format(id=dune.pk), body)

    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert Show.objects.get().title == "Dune: Part Three"


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/api/shows"), ("put", "/api/shows/{id}"), ("patch", "/api/shows/{id}"), ("delete", "/api/shows/{id}")],
)
def test_show_writes_are_refused_to_users_who_are_not_staff(user_client, dune, method, path):
    body = {"title": "Hacked", "date": "2099-01-01", "time": "10:00"}

    response = getattr(user_client, method)(path.format(id=dune.pk), body)

    assert response.status_code == 403
    assert response.json() == {"detail": "Staff only."}
    assert Show.objects.get().title == "Dune: Part Three"


# --- PUT / PATCH /api/shows/{id} (staff) ------------------------------------------------


def test_put_replaces_title_time_and_capacity(staff_client, dune):
    day = in_days(10)

    response = staff_client.put(
        f"/api/shows/{dune.pk}", {"title": "Dune (70 mm)", "date": day.isoformat(), "time": "20:00", "capacity": 15}
    )

    assert response.status_code == 200
    dune.refresh_from_db()
    assert (dune.title, dune.capacity) == ("Dune (70 mm)", 15)
    assert response.json() == show_json(dune)
    assert response.json()["starts_at"] == f"{day.isoformat()}T20:00:00+00:00"


def test_put_without_a_time_is_a_400(staff_client, dune):
    response = staff_client.put(f"/api/shows/{dune.pk}", {"title": "Dune (70 mm)"})

    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Give date and time, or starts_at."]}


def test_patch_capacity_down_to_the_tickets_booked(staff_client, dune):
    book(dune, 3)

    response = staff_client.patch(f"/api/shows/{dune.pk}", {"capacity": 3})

    assert response.status_code == 200
    dune.refresh_from_db()
    assert response.json() == {**show_json(dune, booked=3), "capacity": 3, "seats_available": 0}


def test_capacity_below_the_tickets_booked_is_a_400(staff_client, dune):
    book(dune, 3)

    response = staff_client.patch(f"/api/shows/{dune.pk}", {"capacity": 2})

    assert response.status_code == 400
    assert response.json() == {"capacity": ["Capacity can't be lower than the 3 seats booked or held."]}
    dune.refresh_from_db()
    assert dune.capacity == 20


def test_moving_a_show_onto_another_show_time_is_a_400(staff_client, dune, oppenheimer):
    local = timezone.localtime(oppenheimer.starts_at)

    response = staff_client.patch(f"/api/shows/{dune.pk}", {"date": local.date().isoformat(), "time": "15:00"})

    assert response.status_code == 400
    assert response.json() == {"starts_at": ["Another show starts at this moment."]}


def test_patch_of_unknown_show_is_a_404(staff_client):
    response = staff_client.patch("/api/shows/999999", {"title": "Nothing"})

    assert response.status_code == 404
    assert response.json() == {"detail": "No Show matches the given query."}


# --- DELETE /api/shows/{id} (staff) -----------------------------------------------------


def test_delete_a_show_without_tickets(staff_client, dune):
    response = staff_client.delete(f"/api/shows/{dune.pk}")

    assert response.status_code == 204
    assert response.content == b""
    assert not Show.objects.exists()


def test_delete_a_show_with_tickets_is_a_409(staff_client, dune):
    book(dune)

    response = staff_client.delete(f"/api/shows/{dune.pk}/")

    assert response.status_code == 409
    assert response.json() == {"detail": "This show has tickets: cancel them first.", "code": "show_has_tickets"}
    assert Show.objects.filter(pk=dune.pk).exists()


def test_delete_unknown_show_is_a_404(staff_client):
    response = staff_client.delete("/api/shows/999999")

    assert response.status_code == 404
    assert response.json() == {"detail": "No Show matches the given query."}
