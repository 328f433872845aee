# ruff: noqa: F811  (pytest fixtures imported from admin_helpers and admin_catalog_helpers, used as arguments)
"""The admin of the catalog (v2): venues, screens with their seat maps drawn, films;
writes and deletes through the services, their refusals as messages or form errors; the
lists and pages at a fixed query cost (test_admin_catalog_costs.py). A show's page (its film, local time, seats and
blocks): test_admin_shows.py."""

import json

import pytest

from api.models import AuditEntry, Film, Screen, Show, Venue
from api.seatmaps import parse, row_label
from api.services import venues
from api.tests.admin_catalog_helpers import (
    AISLE_MAP,
    LABELS,
    SVG,
    _form,
    _submit,
    _svg_seats,
    film,  # noqa: F401 (the fixture)
    screen,  # noqa: F401 (the fixture)
    show,  # noqa: F401 (the fixture)
    venue,  # noqa: F401 (the fixture)
)
from api.tests.admin_helpers import (
    NOW,
    _form_errors,
    _messages,
    frozen,  # noqa: F401 (the fixture)
)
from api.tests.conftest import book_ticket

pytestmark = pytest.mark.django_db


# --- the pages -----------------------------------------------------------------------------


def test_the_catalog_pages_render_for_staff(staff, show):
    screen, venue, film = show.screen, show.screen.venue, show.film
    for url in [
        "/admin/api/venue/",
        "/admin/api/venue/add/",
        f"/admin/api/venue/{venue.pk}/change/",
        f"/admin/api/venue/{venue.pk}/delete/",
        "/admin/api/screen/",
        "/admin/api/screen/add/",
        f"/admin/api/screen/{screen.pk}/change/",
        f"/admin/api/screen/{screen.pk}/delete/",
        "/admin/api/film/",
        "/admin/api/film/add/",
        f"/admin/api/film/{film.pk}/change/",
        f"/admin/api/film/{film.pk}/delete/",
        "/admin/api/show/add/",
        f"/admin/api/show/{show.pk}/change/",
    ]:
        assert staff.get(url).status_code == 200, url


def test_the_catalog_pages_are_for_staff_only(client, show):
    for url in ["/admin/api/venue/", "/admin/api/screen/", "/admin/api/film/", f"/admin/api/show/{show.pk}/change/"]:
        response = client.get(url)
        assert (response.status_code, response["Location"]) == (302, f"/admin/login/?next={url}")


def test_the_lists_show_their_columns(staff, show):
    Screen.objects.create(venue=show.screen.venue, name="Salon 2", seat_map={"grid": {"rows": 8, "seats_per_row": 12}})
    html = staff.get("/admin/api/venue/", {"q": "Kadıköy"}).content.decode()
    for text in ["Odeon Kadıköy", "Europe/Istanbul", "TRY", "TR"]:
        assert f">{text}<" in html
    venue_id = show.screen.venue_id
    assert f'<a href="/admin/api/screen/?venue__id__exact={venue_id}">2</a>' in html  # its screens
    html = staff.get(f"/admin/api/screen/?venue__id__exact={venue_id}").content.decode()
    assert ">Salon 1<" in html and ">Salon 2<" in html and ">96<" in html and ">9<" in html
    response = staff.get("/admin/api/film/", {"q": "dune"})
    assert [film.title for film in response.context["cl"].result_list] == ["Dune: Part Two"]
    assert ">166 min (2 h 46)<" in response.content.decode() and ">PG-13<" in response.content.decode()
    assert staff.get("/admin/api/film/", {"q": "amélie"}).context["cl"].result_count == 0


# --- venues -----------------------------------------------------------------------------


def test_adding_a_venue(staff):
    data = {"name": "Kino Babylon", "time_zone": "Europe/Berlin", "currency": "EUR", "country": "DE"}
    response = staff.post("/admin/api/venue/add/", {**data, "screens-TOTAL_FORMS": 0, "screens-INITIAL_FORMS": 0})
    assert response.status_code == 302
    assert Venue.objects.filter(**data).exists()


def _entries(kind: str) -> list[tuple[str, str, dict]]:
    """The entries of venues or films, each with its object named by its own name."""
    names = dict(
        (Venue.objects if kind == "venue" else Film.objects).values_list("pk", "name" if kind == "venue" else "title")
    )
    rows = AuditEntry.objects.filter(object_type=kind).order_by("pk")
    return [(e.actor, f"{e.action} {names.get(int(e.object_id))}", e.changes) for e in rows]


def test_adding_and_changing_venues_and_films_leaves_the_apis_entries(staff, staff_client):
    # The admin's entries are the API's for the same change, by staff:<username>.
    venue = {"name": "Kino Babylon", "time_zone": "Europe/Berlin", "currency": "EUR", "country": "DE"}
    staff.post("/admin/api/venue/add/", {**venue, "screens-TOTAL_FORMS": 0, "screens-INITIAL_FORMS": 0})
    staff_client.post("/api/venues", {**venue, "name": "Kino Arsenal"}, format="json")
    url = f"/admin/api/venue/{Venue.objects.get(name='Kino Babylon').pk}/change/"
    staff.post(url, _form(staff, url, name="Babylon Mitte"))
    staff_client.patch(f"/api/venues/{Venue.objects.get(name='Kino Arsenal').pk}", {"name": "Arsenal 2"})
    film = {"title": "Dune", "runtime_minutes": "166", "rating": "PG-13", "description": ""}
    staff.post("/admin/api/film/add/", film)
    staff_client.post("/api/films", {**film, "title": "Alien"}, format="json")
    url = f"/admin/api/film/{Film.objects.get(title='Dune').pk}/change/"
    staff.post(url, _form(staff, url, runtime_minutes="155"))
    staff_client.patch(f"/api/films/{Film.objects.get(title='Alien').pk}", {"runtime_minutes": 155})

    assert _entries("venue") == [
        ("staff:admin", "venue.created Babylon Mitte", venue),
        ("staff:boxoffice", "venue.created Arsenal 2", {**venue, "name": "Kino Arsenal"}),
        ("staff:admin", "venue.changed Babylon Mitte", {"name": ["Kino Babylon", "Babylon Mitte"]}),
        ("staff:boxoffice", "venue.changed Arsenal 2", {"name": ["Kino Arsenal", "Arsenal 2"]}),
    ]
    assert _entries("film") == [
        ("staff:admin", "film.created Dune", film),
        ("staff:boxoffice", "film.created Alien", {**film, "title": "Alien"}),
        ("staff:admin", "film.changed Dune", {"runtime_minutes": ["166", "155"]}),
        ("staff:boxoffice", "film.changed Alien", {"runtime_minutes": ["166", "155"]}),
    ]


def test_a_films_runtime_is_up_to_1000_minutes_in_the_admin_as_in_the_api(staff):
    # The API capped it, the admin took 2,000,000,000: every coming show of the film then
    # held its screen for thousands of years.
    film = {"title": "Forever", "runtime_minutes": "2000000000", "rating": "", "description": ""}

    response = staff.post("/admin/api/film/add/", film)

    assert response.status_code == 200  # the form again, with the error
    assert "Ensure this value is less than or equal to 1000." in response.content.decode()
    assert not Film.objects.exists()


def test_a_film_renamed_in_the_admin_renames_its_shows(staff, show):
    # The admin's form sets the new title on the film before the service saves it: the
    # service compares with the title as committed, not as the form left it.
    url = f"/admin/api/film/{show.film_id}/change/"

    staff.post(url, _form(staff, url, title="Dune: Part Three"))

    assert Show.objects.get(pk=show.pk).title == "Dune: Part Three"


def test_a_venue_with_shows_keeps_its_currency_in_the_admin(staff, show):
    url = f"/admin/api/venue/{show.screen.venue_id}/change/"

    response = staff.post(url, _form(staff, url, currency="EUR"))

    assert _form_errors(response) == {
        "__all__": ["Shows are sold in this venue's time zone and currency: they can't change."]
    }
    assert response.context["adminform"].form["currency"].value() == "EUR"  # as typed, to correct
    assert Venue.objects.get(pk=show.screen.venue_id).currency == "TRY"


def test_a_venue_with_a_wrong_zone_currency_or_country_is_a_form_error(staff):
    data = {"name": "Nowhere", "time_zone": "Mars/Olympus", "currency": "EUE", "country": "XX"}
    response = staff.post("/admin/api/venue/add/", {**data, "screens-TOTAL_FORMS": 0, "screens-INITIAL_FORMS": 0})
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"time_zone", "currency", "country"}
    assert errors["currency"] == ["An ISO 4217 currency code, like EUR."]
    assert not Venue.objects.filter(name="Nowhere").exists()


# --- screens -------------------------------------------------------------------------------


def test_the_screen_page_draws_the_map_beside_its_json(staff, screen):
    html = staff.get(f"/admin/api/screen/{screen.pk}/change/").content.decode()
    # One line of the form: the JSON and the picture side by side.
    assert 'class="form-row field-seat_map_text field-seat_map_picture"' in html
    seats = _svg_seats(html)
    assert list(seats) == LABELS
    assert seats["A4"].findtext(f"{SVG}title") == "A4, wheelchair space, standard"
    # The JSON shows what differs from each seat's defaults, one row a line.
    text = _form(staff, f"/admin/api/screen/{screen.pk}/change/")["seat_map_text"]
    assert json.loads(text) == AISLE_MAP
    assert text.splitlines()[1] == "  " + json.dumps(AISLE_MAP["rows"][0]) + ","


def test_adding_a_screen_with_the_grid_shorthand(staff, venue):
    data = {"venue": venue.pk, "name": "Salon 3", "seat_map_text": '{"grid": {"rows": 3, "seats_per_row": 4}}'}
    response = staff.post("/admin/api/screen/add/", data)
    assert response.status_code == 302
    screen = Screen.objects.get(name="Salon 3")
    assert (screen.capacity, screen.seats.labels()[-1]) == (12, "C4")


def test_changing_a_map_through_the_admin(staff, screen):
    url = f"/admin/api/screen/{screen.pk}/change/"
    bigger = {"rows": [*AISLE_MAP["rows"], {"label": "C", "seats": [{"number": 1}, {"number": 2}]}]}
    response = staff.post(url, _form(staff, url, seat_map_text=json.dumps(bigger), name="Salon Bir"))
    assert response.status_code == 302
    screen.refresh_from_db()
    assert (screen.name, screen.capacity, screen.seats.labels()[-2:]) == ("Salon Bir", 11, ["C1", "C2"])


def test_renaming_a_screen_keeps_a_map_a_colleague_changed_since_the_page_was_opened(staff, show):
    url = f"/admin/api/screen/{show.screen_id}/change/"
    page = _form(staff, url, name="Salon 1 (IMAX)")
    bigger = {"rows": [*AISLE_MAP["rows"], {"label": "C", "seats": [{"number": n} for n in range(1, 11)]}]}
    venues.screen_save(screen=Screen.objects.get(pk=show.screen_id), seat_map=parse(bigger), now=NOW, actor="bob")

    response = staff.post(url, page)

    # The page wrote back the map it showed: row C gone, the show's capacity back to 9,
    # and the audit trail saying this staff member changed the map.
    assert response.status_code == 302
    screen = Screen.objects.get(pk=show.screen_id)
    assert (screen.name, screen.capacity, Show.objects.get(pk=show.pk).capacity) == ("Salon 1 (IMAX)", 19, 19)
    entry = AuditEntry.objects.filter(action="screen.changed").latest("pk")
    assert entry.changes == {"name": ["Salon 1", "Salon 1 (IMAX)"]}


def test_a_map_typed_on_a_page_that_showed_another_is_refused(staff, screen):
    url = f"/admin/api/screen/{screen.pk}/change/"
    page = _form(staff, url, seat_map_text=json.dumps({"rows": [AISLE_MAP["rows"][0]]}))
    bigger = {"rows": [*AISLE_MAP["rows"], {"label": "C", "seats": [{"number": 1}, {"number": 2}]}]}
    venues.screen_save(screen=Screen.objects.get(pk=screen.pk), seat_map=parse(bigger), now=NOW, actor="bob")

    response = staff.post(url, page)

    # Saved, it dropped rows B and C, which staff never saw.
    assert response.context["adminform"].form.errors == {
        "seat_map_text": ["This seat map was changed after this page was opened: reload it to see it now."]
    }
    assert Screen.objects.get(pk=screen.pk).capacity == 11


def test_a_map_typed_over_one_a_colleague_saved_before_the_saves_lock_is_refused(staff, screen, monkeypatch):
    # The page's map was compared with the screen's as the POST read it, unlocked: a map a
    # colleague saved between that read and the save's lock was replaced, unseen, by the
    # one typed over the old map (rows B and C dropped).
    url = f"/admin/api/screen/{screen.pk}/change/"
    page = _form(staff, url, seat_map_text=json.dumps({"rows": [AISLE_MAP["rows"][0]]}))
    bigger = {"rows": [*AISLE_MAP["rows"], {"label": "C", "seats": [{"number": 1}, {"number": 2}]}]}
    save = venues.screen_save

    def saved_meanwhile(**kwargs):
        save(screen=Screen.objects.get(pk=screen.pk), seat_map=parse(bigger), now=NOW, actor="bob")
        return save(**kwargs)

    monkeypatch.setattr(venues, "screen_save", saved_meanwhile)

    response = staff.post(url, page)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "__all__": ["This seat map was changed after this page was opened: reload it to see it now."]
    }
    # Never the page's map (one row, 5 places). (The colleague's save, in the test's one
    # transaction, was rolled back with the page's.)
    assert Screen.objects.get(pk=screen.pk).capacity == 9


def a_large_hall(rows: int, seats_per_row: int) -> dict:
    """A hall as large multiplexes have them: two aisles (after seat 5 and before the last
    five), the back third of the rows premium."""

    def seat(row: int, n: int) -> dict:
        found: dict = {"number": n, "x": n + (n > 5) + (n > seats_per_row - 5)}
        return found | ({"category": "premium"} if row >= rows - rows // 3 else {})

    return {
        "rows": [
            {"label": row_label(r), "seats": [seat(r, n) for n in range(1, seats_per_row + 1)]} for r in range(rows)
        ]
    }


@pytest.mark.parametrize("rows, seats_per_row", [(30, 30), (45, 40)])
def test_a_large_halls_page_is_saved_as_the_browser_sends_it(staff, venue, rows, seats_per_row):
    # 900 and 1,800 seats. The page sent the map url-encoded, and twice (the text and the
    # copy of what it showed): a hall of about 600 seats was over the 64 KiB body limit, and
    # even a rename was a 400.
    hall = venues.screen_save(
        screen=Screen(venue=venue, name="Salon 9"), seat_map=parse(a_large_hall(rows, seats_per_row)), now=NOW
    )
    url = f"/admin/api/screen/{hall.pk}/change/"

    assert _submit(staff, url, name="Salon 9 (IMAX)").status_code == 302
    hall.refresh_from_db()
    assert (hall.name, hall.capacity) == ("Salon 9 (IMAX)", rows * seats_per_row)

    # And a change of the map itself: the back row one seat shorter.
    page = _form(staff, url)
    lines = page["seat_map_text"].splitlines()
    last = json.loads(lines[-2].rstrip(","))
    last["seats"].pop()
    lines[-2] = json.dumps(last)
    assert _submit(staff, url, seat_map_text="\n".join(lines)).status_code == 302
    hall.refresh_from_db()
    assert hall.capacity == rows * seats_per_row - 1


def test_a_page_opened_before_the_digest_still_keeps_a_colleagues_map(staff, screen):
    # Such a page carries a copy of the map it showed (initial-seat_map_text), not its
    # digest: read as no page at all, it dropped the colleague's rows. (Found by a review
    # helper.)
    url = f"/admin/api/screen/{screen.pk}/change/"
    page = _form(staff, url, seat_map_text=json.dumps({"rows": [AISLE_MAP["rows"][0]]}))
    page.pop("seat_map_shown")
    bigger = {"rows": [*AISLE_MAP["rows"], {"label": "C", "seats": [{"number": 1}, {"number": 2}]}]}
    venues.screen_save(screen=Screen.objects.get(pk=screen.pk), seat_map=parse(bigger), now=NOW, actor="bob")

    response = staff.post(url, {**page, "initial-seat_map_text": json.dumps(AISLE_MAP)})

    assert response.context["adminform"].form.errors == {
        "seat_map_text": ["This seat map was changed after this page was opened: reload it to see it now."]
    }
    assert Screen.objects.get(pk=screen.pk).capacity == 11


def test_a_forged_page_whose_shown_map_is_no_digest_is_refused_not_a_500(staff, screen):
    # What the page showed was a copy of the map, read with json.loads, unguarded: nested
    # deep enough, a RecursionError, a 500. It is now the map's digest, which a forged page
    # can only get wrong.
    url = f"/admin/api/screen/{screen.pk}/change/"
    page = _form(staff, url, seat_map_text=json.dumps({"rows": [AISLE_MAP["rows"][0]]}))

    response = staff.post(url, {**page, "seat_map_shown": "[" * 5_000 + "]" * 5_000})

    assert response.context["adminform"].form.errors == {
        "seat_map_text": ["This seat map was changed after this page was opened: reload it to see it now."]
    }
    assert Screen.objects.get(pk=screen.pk).capacity == 9


def test_a_bad_seat_map_is_a_form_error_naming_the_problems(staff, screen):
    url = f"/admin/api/screen/{screen.pk}/change/"
    bad = {"rows": [{"label": "A", "seats": [{"number": 1}, {"number": 1, "x": 2}, {"number": 2, "kind": "sofa"}]}]}
    response = staff.post(url, _form(staff, url, seat_map_text=json.dumps(bad)))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "seat_map_text": ["rows/0/seats/2/kind: unknown kind 'sofa'; use one of seat, wheelchair, companion."]
    }
    bad = {"rows": [{"label": "A", "seats": [{"number": 1}, {"number": 1, "x": 2}]}]}
    response = staff.post(url, _form(staff, url, seat_map_text=json.dumps(bad)))
    assert response.context["adminform"].form.errors == {"seat_map_text": ["Seat A1 is listed twice."]}
    response = staff.post(url, _form(staff, url, seat_map_text='{"rows": ['))
    assert response.context["adminform"].form.errors == {"seat_map_text": ["Enter a valid JSON."]}
    assert 'name="seat_map_text"' in response.content.decode()  # the text given, to fix
    screen.refresh_from_db()
    assert screen.seats.labels() == LABELS


def test_dropping_a_booked_seat_from_the_map_is_refused_with_a_message(staff, show):
    book_ticket(show.pk, seat="B4")
    url = f"/admin/api/screen/{show.screen_id}/change/"
    smaller = {"rows": [AISLE_MAP["rows"][0], {"label": "B", "seats": [{"number": 1}]}]}
    response = staff.post(url, _form(staff, url, seat_map_text=json.dumps(smaller)))
    message = "Seat B4 is booked or held for a show to come: the seat map must keep it."
    assert _form_errors(response) == {"__all__": [message]}
    assert Screen.objects.get(pk=show.screen_id).seats.labels() == LABELS


@pytest.mark.parametrize("model", ["screen", "venue", "film"])
def test_deleting_what_a_show_uses_is_refused_with_a_message(staff, show, model):
    thing = {"screen": show.screen, "venue": show.screen.venue, "film": show.film}[model]
    url = f"/admin/api/{model}/{thing.pk}/delete/"
    page = staff.get(url)
    assert page.status_code == 200 and "Cannot delete" not in page.content.decode()  # the service decides
    response = staff.post(url, {"post": "yes"})
    change = f"/admin/api/{model}/{thing.pk}/change/"
    assert (response.status_code, response["Location"]) == (302, change)
    assert _messages(staff.get(change)) == ["Shows still use this: it can't be deleted."]
    assert type(thing).objects.filter(pk=thing.pk).exists()


def test_deleting_what_no_show_uses(staff, screen, film):
    venue = screen.venue
    assert (
        "<li>Screen: Odeon Kadıköy: Salon 1</li>" in staff.get(f"/admin/api/venue/{venue.pk}/delete/").content.decode()
    )
    response = staff.post(f"/admin/api/venue/{venue.pk}/delete/", {"post": "yes"})
    assert (response.status_code, response["Location"]) == (302, "/admin/api/venue/")
    assert not Venue.objects.filter(pk=venue.pk).exists()
    assert not Screen.objects.filter(pk=screen.pk).exists()  # its screens go with it
    response = staff.post(f"/admin/api/film/{film.pk}/delete/", {"post": "yes"})
    assert (response.status_code, response["Location"]) == (302, "/admin/api/film/")
    assert not Film.objects.exists()


def test_venues_screens_and_films_are_deleted_one_at_a_time(staff, show):
    # The bulk action would report deletions the service refused.
    for model in ["venue", "screen", "film"]:
        response = staff.get(f"/admin/api/{model}/")
        assert response.context["cl"].result_count >= 1
        assert response.context["action_form"] is None  # no bulk action left
        assert "delete_selected" not in response.content.decode()
