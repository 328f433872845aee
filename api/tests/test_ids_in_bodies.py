"""A row named by its id in a request body (a show's screen, venue and film, a screen's
venue, a booking's screen or venue) is a whole number, as the body's `show` is, and as
filters.IdFilter reads one in a query string. DRF's PrimaryKeyRelatedField handed the JSON
number to queryset.get(pk=...), whose int() took 1.9 as row 1: a show scheduled on screen 1,
a screen added to venue 1, an open timing made on screen 1."""

import pytest

from api.models import Film, Screen, Show
from api.tests.conftest import ADA, in_days

pytestmark = pytest.mark.django_db

NOT_AN_ID = {"venue": ["A valid integer is required."]}


def not_ids(pk: int) -> list[object]:
    """Values near a row's id that are not one: a fraction of it, a boolean, a fraction as text."""
    return [pk + 0.9, pk + 0.5, True, f"{pk}.5", [pk]]


@pytest.mark.parametrize("as_sent", [str, float])
def test_an_id_written_as_text_or_as_a_whole_decimal_is_that_row(staff_client, as_sent):
    screen = Screen.objects.default()
    film = Film.objects.create(title="Dune", runtime_minutes=155)

    response = staff_client.post(
        "/api/shows",
        {"screen": as_sent(screen.pk), "film": as_sent(film.pk), "date": str(in_days(9)), "time": "10:00"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert (response.json()["screen"], response.json()["film"]) == (screen.pk, film.pk)


@pytest.mark.parametrize("field", ["screen", "venue", "film"])
@pytest.mark.parametrize("index", range(5))
def test_a_show_scheduled_on_a_row_that_is_not_an_id_is_a_400(staff_client, field, index):
    screen = Screen.objects.default()
    film = Film.objects.create(title="Dune", runtime_minutes=155)
    pks = {"screen": screen.pk, "venue": screen.venue_id, "film": film.pk}

    response = staff_client.post(
        "/api/shows",
        {**pks, field: not_ids(pks[field])[index], "date": str(in_days(9)), "time": "10:00"},
        format="json",
    )

    assert (response.status_code, response.json()) == (400, {field: ["A valid integer is required."]})
    assert not Show.objects.exists()


@pytest.mark.parametrize("index", range(5))
def test_a_screen_added_to_a_venue_that_is_not_an_id_is_a_400(staff_client, index):
    venue = Screen.objects.default().venue

    response = staff_client.post(
        "/api/screens",
        {"venue": not_ids(venue.pk)[index], "name": "Screen 9", "seat_map": {"grid": {"rows": 1, "seats_per_row": 2}}},
        format="json",
    )

    assert (response.status_code, response.json()) == (400, NOT_AN_ID)
    assert Screen.objects.count() == 1


@pytest.mark.parametrize(("path", "body"), [("/api/tickets", ADA), ("/api/holds", {"quantity": 1})])
@pytest.mark.parametrize("field", ["screen", "venue"])
@pytest.mark.parametrize("index", range(5))
def test_a_booking_on_a_screen_or_venue_that_is_not_an_id_is_a_400(api_client, path, body, field, index):
    screen = Screen.objects.default()
    pk = screen.pk if field == "screen" else screen.venue_id

    response = api_client.post(
        path,
        {**body, "date": str(in_days(4)), "time": "11:00", field: not_ids(pk)[index]},
        format="json",
        headers={"Idempotency-Key": f"{field}-{index}"},
    )

    assert (response.status_code, response.json()) == (400, {field: ["A valid integer is required."]})
    assert not Show.objects.exists()  # nor an open timing made for it
