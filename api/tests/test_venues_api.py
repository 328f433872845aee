"""Venues, screens with their seat maps, and films (API.md (v2), "Venue and screen", "Film");
changing the seat map of a screen that has shows: test_seat_map_changes.py."""

from urllib.parse import urlencode

import pytest
from django.utils import timezone

from api.models import AuditEntry, Film, Screen, Venue
from api.seatmaps import MAX_SEATS
from api.tests.conftest import make_show

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
        ({"name": "X", "currency": "eur"}, {"currency": ["An ISO 4217 currency code, like EUR."]}),
        # Three capital letters, but no currency's: it was taken (a typo priced every ticket in it).
        ({"name": "X", "currency": "ZZZ"}, {"currency": ["An ISO 4217 currency code, like EUR."]}),
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


@pytest.mark.parametrize("levels", [33, 900, 10_000])
def test_a_seat_map_nested_too_deep_in_a_form_is_a_400(staff_client, levels):
    # A form's field is JSON text that DRF reads itself, past the JSON parser's bound on
    # nesting: 10,000 brackets each way (within the body limit) ran out of stack, a 500.
    venue = Screen.objects.default().venue
    text = "[" * levels + "]" * levels
    form = {"venue": venue.pk, "name": "Deep", "seat_map": text}

    answers = [
        staff_client.post("/api/screens", form, format="multipart"),
        staff_client.post("/api/screens", urlencode(form), content_type="application/x-www-form-urlencoded"),
    ]

    for response in answers:
        assert response.status_code == 400
        assert response.json() == {"seat_map": ["Nested deeper than 32 levels."]}
    assert not Screen.objects.filter(name="Deep").exists()
    # A map written as text in a form is still read as JSON.
    grid = {**form, "seat_map": '{"grid": {"rows": 2, "seats_per_row": 3}}'}
    assert staff_client.post("/api/screens", grid, format="multipart").json()["capacity"] == 6


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


def test_the_films_title_filter_is_any_case_in_every_script(api_client):
    # On SQLite icontains is LIKE, which folds ASCII letters only: "AMÉLIE" found no "Amélie".
    amelie = Film.objects.create(title="Amélie", runtime_minutes=122)
    Film.objects.create(title="Amer", runtime_minutes=90)

    assert [f["id"] for f in api_client.get("/api/films", {"title": "AMÉLIE"}).json()["results"]] == [amelie.pk]


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
