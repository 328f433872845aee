"""Venues, screens with their seat maps, and films (API.md (v2), "Venue and screen", "Film")."""

import threading
from typing import cast
from unittest import mock

import pytest
from django.utils import timezone

from api.errors import CapacityAboveMap, NoSuchSeat
from api.models import AuditEntry, Film, Screen, SeatBlock, Show, Ticket, Venue, Webhook, WebhookEvent
from api.seatmaps import MAX_SEATS, SeatMap, parse
from api.services import audit, catalog, venues
from api.tests.conftest import book_seats, book_ticket, in_thread, make_show, postgres_only, screen_of

pytestmark = pytest.mark.django_db

AISLE_MAP = {
    "rows": [
        {
            "label": "A",
            "seats": [
                {"number": 1, "x": 1},
                {"number": 2, "x": 2},
                {"number": 3, "x": 4, "category": "premium"},
                {"number": 4, "x": 5, "kind": "wheelchair"},
                {"number": 5, "x": 6, "kind": "companion"},
            ],
        },
        {"label": "B", "seats": [{"number": 1}, {"number": 2}]},
    ]
}
AISLE_MAP_FULL = {
    "rows": [
        {
            "label": "A",
            "seats": [
                {"number": 1, "x": 1, "category": "standard", "kind": "seat"},
                {"number": 2, "x": 2, "category": "standard", "kind": "seat"},
                {"number": 3, "x": 4, "category": "premium", "kind": "seat"},
                {"number": 4, "x": 5, "category": "standard", "kind": "wheelchair"},
                {"number": 5, "x": 6, "category": "standard", "kind": "companion"},
            ],
        },
        {
            "label": "B",
            "seats": [
                {"number": 1, "x": 1, "category": "standard", "kind": "seat"},
                {"number": 2, "x": 2, "category": "standard", "kind": "seat"},
            ],
        },
    ]
}


def page(*results: dict) -> dict:
    return {"count": len(results), "next": None, "previous": None, "results": list(results)}


# --- venues ----------------------------------------------------------------------------


def test_a_fresh_installation_is_the_version_1_theatre(api_client):
    screen = Screen.objects.default()

    response = api_client.get("/api/venues")

    assert response.status_code == 200
    assert response.json() == page(
        {
            "id": screen.venue_id,
            "name": "Main theatre",
            "time_zone": "UTC",
            "currency": "EUR",
            "country": "IN",
            "screens": [{"id": screen.pk, "name": "Screen 1", "capacity": 20}],
        }
    )
    assert [seat.label for seat in screen.seats] == [f"{row}{n}" for row in "AB" for n in range(1, 11)]


def test_staff_create_a_venue_with_defaults(staff_client):
    response = staff_client.post("/api/venues", {"name": "Odeon Kadıköy"})

    assert response.status_code == 201
    venue = Venue.objects.get(name="Odeon Kadıköy")
    assert response.json() == {
        "id": venue.pk,
        "name": "Odeon Kadıköy",
        "time_zone": "UTC",
        "currency": "EUR",
        "country": "IN",
        "screens": [],
    }


def test_staff_create_a_venue_in_its_zone(staff_client):
    body = {"name": "Odeon", "time_zone": "Europe/Istanbul", "currency": "TRY", "country": "TR"}

    response = staff_client.post("/api/venues", body)

    assert response.status_code == 201
    assert {k: response.json()[k] for k in body} == body


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"name": ["This field is required."]}),
        ({"name": "X", "time_zone": "Mars/Olympus"}, {"time_zone": ["Not an IANA time zone, like Europe/Istanbul."]}),
        # IANA's, but no place's: the host's own setting, and the zone of unset machines.
        ({"name": "X", "time_zone": "localtime"}, {"time_zone": ["Not an IANA time zone, like Europe/Istanbul."]}),
        ({"name": "X", "time_zone": "Factory"}, {"time_zone": ["Not an IANA time zone, like Europe/Istanbul."]}),
        ({"name": "X", "currency": "eur"}, {"currency": ["An ISO 4217 code of three capital letters, like EUR."]}),
        ({"name": "X", "country": "XX"}, {"country": ["An ISO 3166 alpha-2 country code, like TR."]}),
    ],
)
def test_invalid_venue_is_a_400(staff_client, body, errors):
    response = staff_client.post("/api/venues", body, format="json")

    assert (response.status_code, response.json()) == (400, errors)


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_anonymous_clients_cannot_write_venues_screens_or_films(api_client, method):
    screen = Screen.objects.default()
    film = Film.objects.create(title="Dune", runtime_minutes=166)
    for url in ("/api/venues", "/api/screens", "/api/films"):
        target = (
            url
            if method == "post"
            else f"{url}/{ {'/api/venues': screen.venue_id, '/api/screens': screen.pk, '/api/films': film.pk}[url] }"
        )
        response = getattr(api_client, method)(target, {}, format="json")
        assert (response.status_code, response.json()) == (
            401,
            {"detail": "Authentication credentials were not provided."},
        ), target


def test_a_venue_with_shows_is_not_deleted(staff_client):
    show = make_show()

    response = staff_client.delete(f"/api/venues/{show.screen.venue_id}")

    assert response.status_code == 409
    assert response.json() == {"detail": "Shows still use this: it can't be deleted.", "code": "in_use"}
    assert Venue.objects.filter(pk=show.screen.venue_id).exists()


def test_a_venue_without_shows_is_deleted_with_its_screens(staff_client):
    venue = Venue.objects.create(name="Closed")
    screen = Screen.objects.create(venue=venue, name="Only", seat_map={"grid": {"rows": 1, "seats_per_row": 5}})

    response = staff_client.delete(f"/api/venues/{venue.pk}")

    assert response.status_code == 204
    assert not Venue.objects.filter(pk=venue.pk).exists()
    assert not Screen.objects.filter(venue_id=venue.pk).exists()
    # Each recorded, the screen as if deleted alone: a screen's history ends with its deletion.
    entries = AuditEntry.objects.filter(action__endswith=".deleted").values_list("action", "object_id")
    assert sorted(entries) == [("screen.deleted", str(screen.pk)), ("venue.deleted", str(venue.pk))]


# --- screens and seat maps ------------------------------------------------------------------


def test_staff_create_a_screen_from_a_grid(staff_client):
    venue = Screen.objects.default().venue

    response = staff_client.post(
        "/api/screens",
        {"venue": venue.pk, "name": "Screen 2", "seat_map": {"grid": {"rows": 3, "seats_per_row": 4}}},
        format="json",
    )

    assert response.status_code == 201
    screen = Screen.objects.get(name="Screen 2")
    assert response.json()["capacity"] == 12
    assert response.json()["seat_map"]["rows"][2] == {
        "label": "C",
        "seats": [{"number": n, "x": n, "category": "standard", "kind": "seat"} for n in range(1, 5)],
    }
    assert screen.capacity == 12


def test_staff_create_a_screen_with_aisles_and_wheelchair_spaces(staff_client):
    venue = Screen.objects.default().venue

    response = staff_client.post(
        "/api/screens", {"venue": venue.pk, "name": "Aisle", "seat_map": AISLE_MAP}, format="json"
    )

    assert response.status_code == 201
    screen = Screen.objects.get(name="Aisle")
    assert response.json() == {
        "id": screen.pk,
        "venue": venue.pk,
        "name": "Aisle",
        "capacity": 7,  # the wheelchair space counts
        "seat_map": AISLE_MAP_FULL,
    }
    seats = screen.seats
    assert [s.label for s in seats.neighbours(seats.by_label["A2"])] == ["A1"]  # x 3 is an aisle
    assert [s.label for s in seats.neighbours(seats.by_label["A4"])] == ["A3", "A5"]


def test_the_seat_map_schema_is_published(api_client):
    response = api_client.get("/api/seat-map-schema")

    assert response.status_code == 200
    schema = response.json()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert len(schema["oneOf"]) == 2


@pytest.mark.parametrize(
    ("seat_map", "problem"),
    [
        ({"rows": [{"label": "A", "seats": [{"number": 1}, {"number": 1, "x": 2}]}]}, "Seat A1 is listed twice."),
        (
            {"rows": [{"label": "A", "seats": [{"number": 1, "category": "gold"}]}]},
            "rows/0/seats/0/category: unknown category 'gold'; use one of standard, premium, vip, economy.",
        ),
        (
            {"rows": [{"label": "A", "seats": [{"number": 1, "kind": "sofa"}]}]},
            "rows/0/seats/0/kind: unknown kind 'sofa'; use one of seat, wheelchair, companion.",
        ),
        ({"rows": [{"label": "A", "seats": []}]}, "rows/0/seats: must not be empty."),
        ({"rows": []}, "rows: must not be empty."),
        ({"rows": [{"label": "A", "seats": [{"number": 1}, {"number": 2, "x": 1}]}]}, "Two seats of row A are at x 1."),
        (
            {"rows": [{"label": "A", "seats": [{"number": 1}]}, {"label": "A", "seats": [{"number": 2}]}]},
            "Row A is listed twice.",
        ),
        ({"grid": {"rows": 100, "seats_per_row": 100}}, f"A seat map holds at most {MAX_SEATS} seats (10000 given)."),
        ({"grid": {"rows": 0, "seats_per_row": 10}}, "grid/rows: 0 is less than the minimum of 1"),
        ([1, 2], 'A seat map is {"rows": [...]} or {"grid": {"rows": ..., "seats_per_row": ...}}.'),
    ],
)
def test_a_bad_seat_map_is_a_400_that_names_the_problem(staff_client, seat_map, problem):
    venue = Screen.objects.default().venue

    response = staff_client.post(
        "/api/screens", {"venue": venue.pk, "name": "Bad", "seat_map": seat_map}, format="json"
    )

    assert response.status_code == 400
    assert problem in response.json()["seat_map"], response.json()
    assert not Screen.objects.filter(name="Bad").exists()


def test_whole_numbers_written_as_decimals_are_read_as_integers(staff_client):
    # JSON Schema counts 1.0 as an integer: the grid's 2.0 rows were a 500 (range() of a
    # float), and a seat numbered 1.0 was labelled "A1.0", a label no request can name.
    venue = Screen.objects.default().venue
    seats = [{"number": 1.0, "x": 1.0}, {"number": 2, "x": 3.0}]
    maps = [{"grid": {"rows": 2.0, "seats_per_row": 3.0}}, {"rows": [{"label": "A", "seats": seats}]}]

    answers = [
        staff_client.post("/api/screens", {"venue": venue.pk, "name": "Decimal", "seat_map": seat_map}, format="json")
        for seat_map in maps
    ]

    assert [answer.status_code for answer in answers] == [201, 201]
    assert answers[0].json()["capacity"] == 6
    assert answers[1].json()["seat_map"] == {
        "rows": [
            {
                "label": "A",
                "seats": [
                    {"number": 1, "x": 1, "category": "standard", "kind": "seat"},
                    {"number": 2, "x": 3, "category": "standard", "kind": "seat"},
                ],
            }
        ]
    }
    assert Screen.objects.get(pk=answers[1].json()["id"]).seats.labels() == ["A1", "A2"]


def test_a_row_label_with_a_line_break_is_a_400(staff_client):
    # Python's "$" matches before a final line break: "A\n" passed the schema's pattern.
    venue = Screen.objects.default().venue
    seat_map = {"rows": [{"label": "A\n", "seats": [{"number": 1}]}]}

    response = staff_client.post(
        "/api/screens", {"venue": venue.pk, "name": "Bad", "seat_map": seat_map}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"seat_map": ["rows/0/label: 'A\\n' does not match '^[A-Z]{1,3}$'"]}
    assert not Screen.objects.filter(name="Bad").exists()


def test_a_map_change_that_drops_a_booked_seat_is_a_409(staff_client):
    show = make_show()
    book_ticket(show.pk, seat="B10")
    smaller = {"grid": {"rows": 2, "seats_per_row": 9}}

    response = staff_client.patch(f"/api/screens/{show.screen_id}", {"seat_map": smaller}, format="json")

    assert response.status_code == 409
    assert response.json() == {
        "detail": "Seat B10 is booked or held for a show to come: the seat map must keep it.",
        "code": "seat_in_use",
        "seats": ["B10"],
    }
    assert Screen.objects.get(shows=show).capacity == 20


def test_a_map_change_that_keeps_every_used_seat_applies_to_every_show(staff_client):
    show = make_show()
    book_ticket(show.pk, seat="A1")
    bigger = {"grid": {"rows": 3, "seats_per_row": 10}}

    response = staff_client.patch(f"/api/screens/{show.screen_id}", {"seat_map": bigger}, format="json")

    assert response.status_code == 200
    assert response.json()["capacity"] == 30
    seats = staff_client.get(f"/api/shows/{show.pk}/seats").json()
    assert [row["label"] for row in seats["rows"]] == ["A", "B", "C"]


def test_a_map_change_of_a_screen_with_no_coming_show_works(staff_client):
    screen = screen_of(10, name="Empty")
    make_show(screen=screen, days=-1)  # started: not locked, not checked

    response = staff_client.patch(
        f"/api/screens/{screen.pk}", {"seat_map": {"grid": {"rows": 1, "seats_per_row": 5}}}, format="json"
    )

    assert (response.status_code, response.json()["capacity"]) == (200, 5)


def test_a_map_saved_unchanged_locks_no_show(staff_client):
    # The admin sends the map with every save of a screen (a new name, say).
    screen = screen_of(10, name="Busy")
    make_show(screen=screen)

    with mock.patch.object(venues, "lock_shows", wraps=venues.lock_shows) as lock_shows:
        renamed = staff_client.patch(
            f"/api/screens/{screen.pk}", {"name": "Quiet", "seat_map": screen.seat_map}, format="json"
        )
        resized = staff_client.patch(
            f"/api/screens/{screen.pk}", {"seat_map": {"grid": {"rows": 1, "seats_per_row": 12}}}, format="json"
        )

    assert (renamed.status_code, resized.status_code) == (200, 200)
    assert lock_shows.call_count == 1  # the change of map only


class PausingMap:
    """A seat map whose document() (which screen_save calls after its in-use check, before
    it saves) says it was reached, then waits to be let go."""

    def __init__(self, seat_map: SeatMap, checked: threading.Event, go: threading.Event):
        self.seat_map, self.checked, self.go = seat_map, checked, go

    def labels(self):
        return self.seat_map.labels()

    def document(self):
        self.checked.set()
        assert self.go.wait(30)
        return self.seat_map.document()


RACING_A_MAP_CHANGE = {
    # What the show's lock serialises with a map change, each reading the map after it.
    "a booking": (10, lambda show: book_ticket(show.pk, seat="A10"), NoSuchSeat),
    "a block": (
        10,
        lambda show: catalog.seats_block(show_id=show.pk, seats=["A10"], reason="broken", now=timezone.now()),
        NoSuchSeat,
    ),
    "a capacity": (
        9,
        lambda show: catalog.show_update(show_id=show.pk, now=timezone.now(), capacity=10),
        CapacityAboveMap,
    ),
}


@postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("write", list(RACING_A_MAP_CHANGE))
def test_a_write_of_a_seat_a_map_change_drops_waits_for_it_and_fails(settings, write):
    # screen_save's in-use check read tickets and holds without a lock: a booking of A10
    # between the check and the save left a ticket on a seat the new map lacks. A write
    # that waits for the change's lock read the screen with its show, before the change.
    settings.BOOKING_LOCK_TIMEOUT_SECONDS = 30
    capacity, work, refusal = RACING_A_MAP_CHANGE[write]
    screen = screen_of(10, name="Small")  # A1..A10
    show = make_show(screen=screen, capacity=capacity)
    smaller = parse({"rows": [{"label": "A", "seats": [{"number": n} for n in range(1, 10)]}]})  # no A10
    checked, go = threading.Event(), threading.Event()
    outcomes: dict[str, object] = {}

    pausing = cast(SeatMap, PausingMap(smaller, checked, go))  # all screen_save calls of a map
    change = in_thread(
        outcomes, "change", lambda: venues.screen_save(screen=screen, seat_map=pausing, now=timezone.now())
    )
    assert checked.wait(30)  # the change found A10 unused, and holds the show's lock
    racer = in_thread(outcomes, "write", lambda: work(show))
    racer.join(1)
    waited = racer.is_alive()  # the write waits for the change...
    go.set()
    change.join(30)
    racer.join(30)

    assert waited
    assert isinstance(outcomes["change"], Screen), outcomes
    # ...and then is refused by the map the change saved.
    assert isinstance(outcomes["write"], refusal), outcomes
    assert "A10" not in Screen.objects.get(pk=screen.pk).seats.labels()
    assert not Ticket.objects.filter(show=show).exists()
    assert not SeatBlock.objects.filter(show=show).exists()
    assert Show.objects.get(pk=show.pk).capacity == 9


def test_a_screen_with_shows_is_not_deleted(staff_client):
    show = make_show()

    response = staff_client.delete(f"/api/screens/{show.screen_id}")

    assert (response.status_code, response.json()["code"]) == (409, "in_use")


# --- films -----------------------------------------------------------------------------------


def test_staff_create_read_and_filter_films(staff_client, api_client):
    created = staff_client.post(
        "/api/films", {"title": "Dune: Part Three", "runtime_minutes": 166, "rating": "PG-13"}, format="json"
    )
    staff_client.post("/api/films", {"title": "Spirited Away", "runtime_minutes": 125}, format="json")

    assert created.status_code == 201
    film = Film.objects.get(title="Dune: Part Three")
    dune = {"id": film.pk, "title": "Dune: Part Three", "runtime_minutes": 166, "rating": "PG-13", "description": ""}
    assert created.json() == dune
    assert api_client.get("/api/films", {"title": "dune"}).json() == page(dune)
    assert api_client.get(f"/api/films/{film.pk}").json() == dune


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"title": "X"}, {"runtime_minutes": ["This field is required."]}),
        ({"runtime_minutes": 90}, {"title": ["This field is required."]}),
        (
            {"title": "X", "runtime_minutes": 0},
            {"runtime_minutes": ["Ensure this value is greater than or equal to 1."]},
        ),
    ],
)
def test_invalid_film_is_a_400(staff_client, body, errors):
    response = staff_client.post("/api/films", body, format="json")

    assert (response.status_code, response.json()) == (400, errors)


def test_a_film_with_shows_is_not_deleted(staff_client):
    film = Film.objects.create(title="Dune", runtime_minutes=166)
    make_show(film=film)

    response = staff_client.delete(f"/api/films/{film.pk}")

    assert (response.status_code, response.json()["code"]) == (409, "in_use")
    assert Film.objects.filter(pk=film.pk).exists()


def test_a_film_without_shows_is_deleted(staff_client):
    film = Film.objects.create(title="Dune", runtime_minutes=166)

    assert staff_client.delete(f"/api/films/{film.pk}").status_code == 204
    assert not Film.objects.exists()
    assert timezone.now()  # nothing else changed


def test_a_bigger_map_raises_the_coming_shows_that_sold_every_seat_of_the_old_one(staff_client):
    # A show's capacity defaults to its map (API.md), and a map change applies to every show
    # at once: a show that sold the whole screen stayed at the old map's seats.
    screen = screen_of(20, name="Twenty")
    whole, capped = make_show(screen=screen), make_show(screen=screen, days=4, capacity=8)
    started = make_show(screen=screen, days=-1)

    response = staff_client.patch(
        f"/api/screens/{screen.pk}", {"seat_map": {"grid": {"rows": 3, "seats_per_row": 10}}}, format="json"
    )

    assert response.status_code == 200
    capacities = {
        s["id"]: (s["capacity"], s["seats_available"]) for s in staff_client.get("/api/shows").json()["results"]
    }
    assert (capacities[whole.pk], capacities[capped.pk]) == ((30, 30), (8, 8))  # a cap staff set stays
    assert Show.objects.get(pk=started.pk).capacity == 20  # no longer sold: left as it was
    entry = AuditEntry.objects.get(action="show.changed")
    assert (entry.object_id, entry.changes) == (str(whole.pk), {"capacity": [20, 30]})


def test_a_smaller_map_lowers_the_capacity_of_the_coming_shows_above_it(staff_client):
    Webhook.objects.create(
        url="https://example.com/hook", events=["show.changed", "show.sold_out"], secret="whsec_AAAA"
    )
    screen = screen_of(20, name="Twenty")
    full, capped = make_show(screen=screen, capacity=20), make_show(screen=screen, days=4, capacity=8)
    started = make_show(screen=screen, days=-1, capacity=20)

    response = staff_client.patch(
        f"/api/screens/{screen.pk}", {"seat_map": {"grid": {"rows": 1, "seats_per_row": 10}}}, format="json"
    )

    assert response.status_code == 200
    capacities = {s["id"]: s["capacity"] for s in staff_client.get("/api/shows").json()["results"]}
    assert (capacities[full.pk], capacities[capped.pk]) == (10, 8)
    assert Show.objects.get(pk=started.pk).capacity == 20  # over: no longer sold, left as it was
    entry = AuditEntry.objects.get(action="show.changed")
    assert (entry.actor, entry.object_id, entry.changes) == ("staff:boxoffice", str(full.pk), {"capacity": [20, 10]})
    (event,) = WebhookEvent.objects.filter(type="show.changed")
    assert event.payload["data"] == {**audit.show_data(Show.objects.get(pk=full.pk)), "changes": {"capacity": [20, 10]}}
    # The show sells out at the map's 10 seats, and says so.
    book_seats(full.pk, seats=[f"A{n}" for n in range(1, 11)])
    assert staff_client.get(f"/api/shows/{full.pk}").json()["seats_available"] == 0
    assert WebhookEvent.objects.filter(type="show.sold_out").count() == 1
