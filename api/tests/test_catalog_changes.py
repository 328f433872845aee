"""What a change to a film or a screen does to the shows that use it (API.md (v2), "Film",
"Show", "Venue and screen"): the shows follow, or the change is refused."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api.models import AuditEntry, Film, SeatBlock, Show, Ticket, Venue
from api.services import jobs
from api.tests.conftest import book_ticket, make_show, screen_of

pytestmark = pytest.mark.django_db


def in_days(days: int) -> str:
    return (timezone.localdate() + timedelta(days=days)).isoformat()


def schedule(client, film: Film, day: str, at: str) -> Show:
    response = client.post("/api/shows", {"film": film.pk, "date": day, "time": at}, format="json")
    assert response.status_code == 201, response.json()
    return Show.objects.get(pk=response.json()["id"])


# --- films -----------------------------------------------------------------------------------


def test_a_films_shows_carry_its_new_title_and_runtime(staff_client, api_client):
    film = Film.objects.create(title="Dune", runtime_minutes=100)
    day = in_days(3)
    show = schedule(staff_client, film, day, "18:00")

    response = staff_client.patch(
        f"/api/films/{film.pk}", {"title": "Dune: Part Two", "runtime_minutes": 166}, format="json"
    )

    assert response.status_code == 200
    answer = api_client.get(f"/api/shows/{show.pk}").json()
    # "title is the film's title"; ends_at "the film's end": they were the old film's.
    assert (answer["title"], answer["ends_at"]) == ("Dune: Part Two", f"{day}T20:46:00+00:00")
    assert api_client.get("/api/shows", {"title": "part two"}).json()["count"] == 1
    entry = AuditEntry.objects.get(action="show.changed", object_id=str(show.pk))
    assert entry.changes == {
        "title": ["Dune", "Dune: Part Two"],
        "ends_at": [f"{day}T19:40:00+00:00", f"{day}T20:46:00+00:00"],
    }


@pytest.mark.parametrize("change", [{"rating": "12A"}, {"title": "Dune", "runtime_minutes": 100}])
def test_a_film_change_that_leaves_title_and_runtime_as_they_were_touches_no_show(staff_client, change):
    film = Film.objects.create(title="Dune", runtime_minutes=100)
    schedule(staff_client, film, in_days(3), "18:00")

    with CaptureQueriesContext(connection) as queries:
        response = staff_client.patch(f"/api/films/{film.pk}", change, format="json")

    assert response.status_code == 200
    # Not even read, let alone locked: a sale of the film's shows never waits for it.
    assert not [q["sql"] for q in queries.captured_queries if Show._meta.db_table in q["sql"]]


def test_a_longer_runtime_that_would_overlap_the_next_show_is_a_400(staff_client):
    film = Film.objects.create(title="Dune", runtime_minutes=100)
    other = Film.objects.create(title="Up", runtime_minutes=90)
    day = in_days(3)
    first = schedule(staff_client, film, day, "18:00")  # busy until 19:55
    schedule(staff_client, other, day, "20:00")

    response = staff_client.patch(f"/api/films/{film.pk}", {"runtime_minutes": 110}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["runtime_minutes"]
    assert response.json()["runtime_minutes"][0].startswith(f"Show {first.pk} would overlap another: ")
    assert Film.objects.get(pk=film.pk).runtime_minutes == 100
    first.refresh_from_db()
    assert first.ends_at == first.starts_at + timedelta(minutes=100)


def test_removing_a_shows_film_is_a_400_not_a_silent_200(staff_client):
    film = Film.objects.create(title="Dune", runtime_minutes=100)
    show = schedule(staff_client, film, in_days(3), "18:00")

    response = staff_client.patch(f"/api/shows/{show.pk}", {"film": None}, format="json")

    assert response.status_code == 400
    assert response.json() == {"film": ["A show's film can't be removed; give another film."]}
    assert Show.objects.get(pk=show.pk).film_id == film.pk


def test_a_show_given_its_own_start_in_another_offset_records_no_change(staff_client):
    # One moment, whatever its offset (the admin's form gives the venue's; the entry
    # compared texts, 12:00+00:00 against 15:00+03:00, and recorded a change).
    show = make_show()
    other_offset = timezone.localtime(show.starts_at, timezone.get_fixed_timezone(180)).isoformat()

    response = staff_client.patch(f"/api/shows/{show.pk}", {"starts_at": other_offset}, format="json")

    assert response.status_code == 200
    assert not AuditEntry.objects.filter(action="show.changed").exists()


@pytest.mark.parametrize(("at", "status"), [("02:30", 400), ("01:59", 201), ("03:00", 201)])
def test_a_time_the_clocks_skip_is_a_400_on_time(staff_client, at, status):
    # New York's clocks went from 02:00 to 03:00 on 14 March 2027: 02:30 was stored as 03:30.
    screen = screen_of(10, name="Broadway", venue=Venue.objects.create(name="NYC", time_zone="America/New_York"))

    response = staff_client.post("/api/shows", {"screen": screen.pk, "date": "2027-03-14", "time": at}, format="json")

    assert response.status_code == status, response.json()
    if status == 400:
        assert list(response.json()) == ["time"]
    else:
        assert response.json()["time"] == at


@pytest.mark.parametrize(
    ("zone", "starts_at", "message"),
    [
        (
            "America/New_York",
            "2027-03-14T02:30:00",
            "This time does not exist on this date in the venue's time zone (the clocks go forward).",
        ),
        ("America/New_York", "9999-12-31T23:00:00", "This date is out of range."),
    ],
)
def test_a_starts_at_without_an_offset_is_refused_on_starts_at(staff_client, zone, starts_at, message):
    # Read at the venue, in the clocks' gap or past the calendar: the 400 named time or
    # date, fields the client never sent.
    screen = screen_of(10, name="Broadway", venue=Venue.objects.create(name="NYC", time_zone=zone))

    response = staff_client.post("/api/shows", {"screen": screen.pk, "starts_at": starts_at}, format="json")

    assert response.status_code == 400
    assert response.json() == {"starts_at": [message]}


@pytest.mark.parametrize("change", [{"currency": "JPY"}, {"time_zone": "Asia/Tokyo"}])
def test_a_venue_with_shows_keeps_its_zone_and_currency(staff_client, change):
    # Its tickets, sold at 12.50 EUR at 18:00 Berlin, would read as 12.50 JPY, or at 02:00.
    berlin = Venue.objects.create(name="Babylon", time_zone="Europe/Berlin", currency="EUR")
    empty = Venue.objects.create(name="Arsenal", time_zone="Europe/Berlin", currency="EUR")
    make_show(screen=screen_of(10, name="Saal 1", venue=berlin))

    refused = staff_client.patch(f"/api/venues/{berlin.pk}", change, format="json")
    allowed = staff_client.patch(f"/api/venues/{empty.pk}", change, format="json")

    assert refused.status_code == 409
    assert refused.json()["code"] == "in_use"
    assert (Venue.objects.get(pk=berlin.pk).currency, Venue.objects.get(pk=berlin.pk).time_zone) == (
        "EUR",
        "Europe/Berlin",
    )
    assert allowed.status_code == 200


@pytest.mark.parametrize("days", [3, -1])
def test_a_moved_shows_tickets_are_expired_as_its_new_time_says(staff_client, days):
    # Expired by the job, then moved to the future (a show entered on the wrong day): its
    # tickets stayed expired, and the next purge deleted them. Moved into the past they
    # expired at once, for the purge to take: a show with tickets no longer moves there
    # (test_show_writes.py), and its tickets stay as they were.
    show = make_show(days=-1 if days > 0 else 3)
    booked = book_ticket(show.pk, now=show.starts_at - timedelta(days=1))
    jobs.tickets_expire(now=timezone.now())
    starts_at = (timezone.now() + timedelta(days=days)).replace(second=0, microsecond=0)

    response = staff_client.patch(f"/api/shows/{show.pk}", {"starts_at": starts_at.isoformat()}, format="json")

    assert response.status_code == (200 if days > 0 else 400), response.json()
    assert not Ticket.objects.get(pk=booked.pk).expired
    jobs.tickets_purge(now=timezone.now())
    assert Ticket.objects.filter(pk=booked.pk).exists()


# --- screens ---------------------------------------------------------------------------------


def test_a_screen_with_shows_does_not_move_to_another_venue(staff_client, api_client):
    show = make_show()
    ticket = book_ticket(show.pk)
    tokyo = Venue.objects.create(name="Tokyo", time_zone="Asia/Tokyo", currency="JPY")

    response = staff_client.patch(f"/api/screens/{show.screen_id}", {"venue": tokyo.pk}, format="json")

    # Its shows, and the tickets sold for them in EUR, would have moved to Tokyo and to yen.
    assert response.status_code == 409
    assert response.json() == {
        "detail": "Shows use this screen: it can't move to another venue.",
        "code": "in_use",
    }
    assert api_client.get(f"/api/tickets/{ticket.pk}").json()["currency"] == "EUR"


def test_a_screen_without_shows_moves_to_another_venue(staff_client):
    screen = screen_of(10)
    tokyo = Venue.objects.create(name="Tokyo", time_zone="Asia/Tokyo")

    response = staff_client.patch(f"/api/screens/{screen.pk}", {"venue": tokyo.pk}, format="json")

    assert (response.status_code, response.json()["venue"]) == (200, tokyo.pk)


def test_a_seat_dropped_from_the_map_is_no_longer_blocked(staff_client, api_client):
    show = make_show()  # the default screen: A1-B10
    blocked = {"seats": ["B1", "B2"], "reason": "house"}
    assert staff_client.post(f"/api/shows/{show.pk}/blocks", blocked, format="json").status_code == 201
    row_a = {"seat_map": {"grid": {"rows": 1, "seats_per_row": 10}}}

    response = staff_client.patch(f"/api/screens/{show.screen_id}", row_a, format="json")

    # The blocks of seats no longer in the map counted against the ten that are (8 free).
    assert response.status_code == 200
    assert api_client.get(f"/api/shows/{show.pk}").json()["seats_available"] == 10
    assert api_client.get("/api/shows", {"seats": 10}).json()["count"] == 1
    assert not SeatBlock.objects.exists()
    entry = AuditEntry.objects.get(action="seats.unblocked", object_id=str(show.pk))
    assert entry.changes == {"unblocked": ["B1", "B2"], "reason": "dropped from the seat map"}
