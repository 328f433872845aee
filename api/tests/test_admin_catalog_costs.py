# ruff: noqa: F811  (pytest fixtures imported from admin_helpers and admin_catalog_helpers, used as arguments)
"""The catalog's admin at a fixed query cost (a list or a page costs the same however many
rows it holds), and its pages saving what staff changed on them, not what a colleague
changed since. The rest of the catalog's admin: test_admin_v2.py."""

import json

import pytest

from api.models import AuditEntry, Film, Screen, Venue
from api.seatmaps import parse
from api.services import blocks, venues
from api.tests.admin_catalog_helpers import (
    AISLE_MAP,
    _form,
    film,  # noqa: F401 (the fixture)
    screen,  # noqa: F401 (the fixture)
    show,  # noqa: F401 (the fixture)
    venue,  # noqa: F401 (the fixture)
)
from api.tests.admin_helpers import (
    NOW,
    frozen,  # noqa: F401 (the fixture)
)
from api.tests.conftest import book_ticket

pytestmark = pytest.mark.django_db

# --- the lists, at a fixed cost ---------------------------------------------------------------


@pytest.fixture
def catalog_of_many(frozen) -> None:
    """6 venues of 3 screens each, 12 films."""
    for v in range(6):
        venue = Venue.objects.create(name=f"Venue {v}", time_zone=["UTC", "Europe/Istanbul"][v % 2])
        for s in range(3):
            venues.screen_save(screen=Screen(venue=venue, name=f"Screen {s}"), seat_map=parse(AISLE_MAP), now=NOW)
    Film.objects.bulk_create(Film(title=f"Film {n}", runtime_minutes=90 + n) for n in range(12))


# Queries per page: the session, the user, the count of rows (filtered and in all), and
# the page of rows: venues with their screens counted (Count() in the same SELECT),
# screens joined to their venue; and for screens, the venues of the venue filter.
QUERIES = {"venue": 5, "screen": 6, "film": 5}


@pytest.mark.parametrize(
    ("url", "rows"),
    [
        ("/admin/api/venue/", 7),  # and the default venue
        ("/admin/api/venue/?q=venue+1", 1),
        ("/admin/api/screen/", 19),
        ("/admin/api/screen/?q=%22venue+1%22", 3),
        ("/admin/api/film/", 12),
        ("/admin/api/film/?q=film+1", 3),  # Film 1, 10, 11
    ],
)
def test_changelist_costs_a_fixed_number_of_queries(staff, catalog_of_many, django_assert_num_queries, url, rows):
    Screen.objects.default()  # made before counting
    with django_assert_num_queries(QUERIES[url.split("/")[3]]):
        response = staff.get(url)
    assert response.context["cl"].result_count == rows


def test_the_cost_does_not_grow_with_the_rows(staff, frozen, django_assert_num_queries):
    Screen.objects.default()
    Film.objects.create(title="Alone", runtime_minutes=90)
    for model, queries in QUERIES.items():
        with django_assert_num_queries(queries):
            assert staff.get(f"/admin/api/{model}/").status_code == 200


# Queries of a show's page: the session, the user, the show (with its screen, venue,
# film and counts), its prices (the rows, and their digest the form carries), blocks and
# tickets (each with the show, for the row's heading), the screens, films and ticket types
# of the forms' choices, the seats in use, and the statuses of its waiting list.
SHOW_PAGE_QUERIES = 12


def test_the_show_page_costs_the_same_however_many_tickets_and_blocks(staff, show, django_assert_num_queries):
    url = f"/admin/api/show/{show.pk}/change/"
    staff.get(url)  # a running server's caches (content types) warm, as other tests left them
    with django_assert_num_queries(SHOW_PAGE_QUERIES):
        staff.get(url)
    # Blocks first, then tickets for seats left alone: none strands a free seat.
    blocks.seats_block(show_id=show.pk, seats=["A2", "B2", "B3"], reason="house", now=NOW)
    for seat in ["A1", "B1", "B4"]:
        book_ticket(show.pk, seat=seat)
    with django_assert_num_queries(SHOW_PAGE_QUERIES):
        html = staff.get(url).content.decode()
    assert html.count('data-status="booked"') == 3 and html.count('data-status="blocked"') == 3


def test_the_venue_page_costs_the_same_however_many_screens(staff, venue, django_assert_num_queries):
    url = f"/admin/api/venue/{venue.pk}/change/"
    staff.get(url)  # the process's content types read once (the admin's log needs the venue's)
    with django_assert_num_queries(4):  # the session, the user, the venue, its screens
        staff.get(url)
    for n in range(3):
        venues.screen_save(screen=Screen(venue=venue, name=f"Salon {n}"), seat_map=parse(AISLE_MAP), now=NOW)
    with django_assert_num_queries(4):
        assert "Salon 2" in staff.get(url).content.decode()


# --- a page saves what staff changed on it, not what a colleague changed since -------------


def test_a_venue_page_keeps_a_field_a_colleague_changed_since_it_was_opened(staff, venue):
    url = f"/admin/api/venue/{venue.pk}/change/"
    page = _form(staff, url, name="Odeon Kadıköy Sahne")
    venues.plain_save(Venue.objects.get(pk=venue.pk), fields={"country": "CY"}, actor="bob", now=NOW)

    response = staff.post(url, page)

    # The page showed TR and sent it back: the colleague's CY was undone, unseen.
    assert response.status_code == 302
    assert Venue.objects.values_list("name", "country").get(pk=venue.pk) == ("Odeon Kadıköy Sahne", "CY")
    entry = AuditEntry.objects.filter(action="venue.changed").latest("pk")
    assert (entry.actor, entry.changes) == ("staff:admin", {"name": ["Odeon Kadıköy", "Odeon Kadıköy Sahne"]})


def test_a_film_page_keeps_a_runtime_a_colleague_changed_since_it_was_opened(staff, film):
    url = f"/admin/api/film/{film.pk}/change/"
    page = _form(staff, url, rating="R")
    venues.plain_save(Film.objects.get(pk=film.pk), fields={"runtime_minutes": 170}, actor="bob", now=NOW)

    assert staff.post(url, page).status_code == 302

    assert Film.objects.values_list("runtime_minutes", "rating").get(pk=film.pk) == (170, "R")


def test_a_screen_page_keeps_a_name_a_colleague_changed_since_it_was_opened(staff, screen):
    url = f"/admin/api/screen/{screen.pk}/change/"
    bigger = {"rows": [*AISLE_MAP["rows"], {"label": "C", "seats": [{"number": 1}, {"number": 2}]}]}
    page = _form(staff, url, seat_map_text=json.dumps(bigger))
    renamed = Screen.objects.get(pk=screen.pk)
    renamed.name = "Salon 1 (IMAX)"
    venues.screen_save(screen=renamed, seat_map=None, now=NOW, actor="bob")

    assert staff.post(url, page).status_code == 302

    assert Screen.objects.values_list("name", "capacity").get(pk=screen.pk) == ("Salon 1 (IMAX)", 11)


def test_saving_a_screen_read_before_a_rename_keeps_the_rename_unless_it_gives_a_name(screen):
    # The API's PATCH reads the screen, then saves it with the fields the request gave.
    stale = Screen.objects.get(pk=screen.pk)
    renamed = Screen.objects.get(pk=screen.pk)
    renamed.name = "Salon 1 (IMAX)"
    venues.screen_save(screen=renamed, seat_map=None, now=NOW, actor="bob")

    venues.screen_save(screen=stale, seat_map=None, now=NOW, given=[])
    assert Screen.objects.get(pk=screen.pk).name == "Salon 1 (IMAX)"

    stale.name = "Salon Bir"
    venues.screen_save(screen=stale, seat_map=None, now=NOW, given=["name"])
    assert Screen.objects.get(pk=screen.pk).name == "Salon Bir"
