"""The admin of the catalog (v2): venues, screens with their seat maps drawn, films, a
show's seats by status and its blocks; writes and deletes through the services, their
refusals as messages or form errors; the lists at a fixed query cost."""

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages

from api.models import AuditEntry, Film, Screen, SeatBlock, Show, Venue
from api.seatmaps import parse
from api.services import catalog, venues
from api.tests.conftest import book_seats, book_ticket, hold_seats

pytestmark = pytest.mark.django_db

NOW = datetime(2030, 6, 15, 12, 0, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"

# Two rows; an aisle after seat 2 of each; a premium seat; a wheelchair space and the
# companion seat beside it.
AISLE_MAP = {
    "rows": [
        {
            "label": "A",
            "seats": [
                {"number": 1},
                {"number": 2},
                {"number": 3, "x": 4, "category": "premium"},
                {"number": 4, "x": 5, "kind": "wheelchair"},
                {"number": 5, "x": 6, "kind": "companion"},
            ],
        },
        {"label": "B", "seats": [{"number": 1}, {"number": 2}, {"number": 3, "x": 4}, {"number": 4, "x": 5}]},
    ]
}
LABELS = ["A1", "A2", "A3", "A4", "A5", "B1", "B2", "B3", "B4"]


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def staff(frozen, client):
    """A client logged in as a staff superuser, after time froze (so its session is live)."""
    user = get_user_model().objects.create_superuser("admin", "admin@example.com", password=None)
    client.force_login(user)
    return client


@pytest.fixture
def venue(frozen) -> Venue:
    return Venue.objects.create(name="Odeon Kadıköy", time_zone="Europe/Istanbul", currency="TRY", country="TR")


@pytest.fixture
def screen(venue) -> Screen:
    return venues.screen_save(screen=Screen(venue=venue, name="Salon 1"), seat_map=parse(AISLE_MAP), now=NOW)


@pytest.fixture
def film(frozen) -> Film:
    return Film.objects.create(title="Dune: Part Two", runtime_minutes=166, rating="PG-13")


@pytest.fixture
def show(screen, film) -> Show:
    return catalog.show_create(starts_at=NOW + timedelta(days=3), screen_id=screen.pk, film_id=film.pk)


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def _svg_seats(html: str) -> dict[str, ET.Element]:
    """The seats drawn in the page's seat map, by label."""
    start = html.index('<svg xmlns="http://www.w3.org/2000/svg" class="seat-map"')
    end = html.index("</svg>", start) + len("</svg>")
    svg = ET.fromstring(html[start:end])
    return {g.get("data-seat", ""): g for g in svg.iter(f"{SVG}g") if g.get("data-seat")}


class _FormReader(HTMLParser):
    """The values a browser would send from a page's fields, as they were rendered."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        name = found.get("name")
        if tag == "input" and name and found.get("type") not in ("submit", "checkbox"):
            self.data[name] = found.get("value") or ""
        elif tag == "select" and "disabled" not in found:
            self._select = name
        elif tag == "option" and self._select and "selected" in found:
            self.data[self._select] = found["value"] or ""
        elif tag == "textarea" and name:
            self._textarea, self.data[name] = name, ""

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.data[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        if tag == "textarea":
            self._textarea = None


def _form(client, url: str, **changes) -> dict:
    """The page's form as loaded, with some fields changed: what staff submit."""
    reader = _FormReader()
    reader.feed(client.get(url).content.decode())
    data = {name: value for name, value in reader.data.items() if name != "csrfmiddlewaretoken"}
    # A textarea's text starts after one newline, which the browser drops.
    data = {name: value.removeprefix("\n") for name, value in data.items()}
    return {**data, **changes, "_save": "Save"}


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
        ("staff:admin", "venue.changed Babylon Mitte", {"name": "Babylon Mitte"}),
        ("staff:boxoffice", "venue.changed Arsenal 2", {"name": "Arsenal 2"}),
    ]
    assert _entries("film") == [
        ("staff:admin", "film.created Dune", film),
        ("staff:boxoffice", "film.created Alien", {**film, "title": "Alien"}),
        ("staff:admin", "film.changed Dune", {"runtime_minutes": "155"}),
        ("staff:boxoffice", "film.changed Alien", {"runtime_minutes": "155"}),
    ]


def test_a_films_runtime_is_up_to_1000_minutes_in_the_admin_as_in_the_api(staff):
    # The API capped it, the admin took 2,000,000,000: every coming show of the film then
    # held its screen for thousands of years.
    film = {"title": "Forever", "runtime_minutes": "2000000000", "rating": "", "description": ""}

    response = staff.post("/admin/api/film/add/", film)

    assert response.status_code == 200  # the form again, with the error
    assert "Ensure this value is less than or equal to 1000." in response.content.decode()
    assert not Film.objects.exists()


def test_a_shows_film_stays_and_gives_it_its_title_in_the_admin(staff, show):
    # Both were saved as "changed successfully" with nothing changed: the service keeps a
    # show's film, and a film show's title is the film's.
    url = f"/admin/api/show/{show.pk}/change/"

    no_film = staff.post(url, _form(staff, url, film=""))
    retitled = staff.post(url, _form(staff, url, title="Something else"))

    assert no_film.status_code == retitled.status_code == 200  # the form again, with the error
    assert "A show&#x27;s film can&#x27;t be removed; give another film." in no_film.content.decode()
    assert "A show of a film has the film&#x27;s title" in retitled.content.decode()
    show.refresh_from_db()
    assert (show.film_id, show.title) == (show.film.pk, "Dune: Part Two")


def test_a_shows_time_in_the_admin_is_the_venues_local_time(staff, screen, film):
    # The form read and showed it in TIME_ZONE (UTC here): 19:30 typed for an Istanbul
    # show was 22:30 there, and the change page showed 16:30 for a 19:30 show.
    day = (NOW + timedelta(days=5)).astimezone(screen.venue.zone).date()
    url = "/admin/api/show/add/"
    form = _form(staff, url, screen=str(screen.pk), film=str(film.pk), capacity="")
    response = staff.post(url, {**form, "starts_at_0": f"{day:%Y-%m-%d}", "starts_at_1": "19:30"})

    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    show = Show.objects.get()
    assert (show.local_start.date(), f"{show.local_start:%H:%M}") == (day, "19:30")
    page = staff.get(f"/admin/api/show/{show.pk}/change/").content.decode()
    assert 'name="starts_at_1" value="19:30:00"' in page
    assert "Local time at the venue (Europe/Istanbul)." in page


def test_a_show_in_the_hour_the_clocks_go_through_twice_stays_put_when_saved(staff, film):
    # 02:30 on the night Berlin's clocks go back is two moments; the form showed the local
    # time and read it back as the first, so saving the capacity of a show at the second
    # moved it an hour earlier.
    berlin = Venue.objects.create(name="Kino", time_zone="Europe/Berlin", currency="EUR", country="DE")
    screen = venues.screen_save(screen=Screen(venue=berlin, name="1"), seat_map=parse(AISLE_MAP), now=NOW)
    second = datetime(2030, 10, 27, 1, 30, tzinfo=UTC)  # 02:30 CET, after 02:30 CEST
    show = catalog.show_create(starts_at=second, screen_id=screen.pk, film_id=film.pk)
    url = f"/admin/api/show/{show.pk}/change/"

    response = staff.post(url, _form(staff, url, capacity="8"))

    assert response.status_code == 302
    show.refresh_from_db()
    assert (show.starts_at, show.capacity) == (second, 8)


def test_a_time_the_clocks_skip_at_the_venue_is_a_form_error(staff, film):
    berlin = Venue.objects.create(name="Kino", time_zone="Europe/Berlin", currency="EUR", country="DE")
    screen = venues.screen_save(screen=Screen(venue=berlin, name="1"), seat_map=parse(AISLE_MAP), now=NOW)
    url = "/admin/api/show/add/"
    form = _form(staff, url, screen=str(screen.pk), film=str(film.pk), capacity="")

    # 2031-03-30: Berlin's clocks go from 02:00 to 03:00.
    response = staff.post(url, {**form, "starts_at_0": "2031-03-30", "starts_at_1": "02:30"})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "starts_at": ["This time does not exist on this date in the venue's time zone (the clocks go forward)."]
    }
    assert not Show.objects.exists()


def test_a_film_renamed_in_the_admin_renames_its_shows(staff, show):
    # The admin's form sets the new title on the film before the service saves it: the
    # service compares with the title as committed, not as the form left it.
    url = f"/admin/api/film/{show.film_id}/change/"

    staff.post(url, _form(staff, url, title="Dune: Part Three"))

    assert Show.objects.get(pk=show.pk).title == "Dune: Part Three"


def test_a_venue_with_shows_keeps_its_currency_in_the_admin(staff, show):
    url = f"/admin/api/venue/{show.screen.venue_id}/change/"

    response = staff.post(url, _form(staff, url, currency="EUR"), follow=True)

    assert "Shows are sold in this venue's time zone and currency: they can't change." in _messages(response)
    assert Venue.objects.get(pk=show.screen.venue_id).currency == "TRY"


def test_a_venue_with_a_wrong_zone_currency_or_country_is_a_form_error(staff):
    data = {"name": "Nowhere", "time_zone": "Mars/Olympus", "currency": "eur", "country": "XX"}
    response = staff.post("/admin/api/venue/add/", {**data, "screens-TOTAL_FORMS": 0, "screens-INITIAL_FORMS": 0})
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"time_zone", "currency", "country"}
    assert errors["currency"] == ["An ISO 4217 code of three capital letters, like EUR."]
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
    assert (response.status_code, response["Location"]) == (302, url)
    assert _messages(staff.get(url)) == ["Seat B4 is booked or held for a show to come: the seat map must keep it."]
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


# --- shows ---------------------------------------------------------------------------------


def test_the_show_page_shows_each_seat_by_status(staff, show):
    # Seats that leave no free seat alone (A1 alone would strand A2, B1 alone B2).
    book_ticket(show.pk, seat="A3")
    hold_seats(show.pk, seats=["A1", "A2"])
    catalog.seats_block(show_id=show.pk, seats=["A4"], reason="broken", now=NOW)
    html = staff.get(f"/admin/api/show/{show.pk}/change/").content.decode()
    seats = _svg_seats(html)
    assert list(seats) == LABELS
    assert {label: seat.get("data-status") for label, seat in seats.items()} == {
        **dict.fromkeys(LABELS, "free"),
        "A3": "booked",
        "A1": "held",
        "A2": "held",
        "A4": "blocked",
    }
    assert seats["A4"].findtext(f"{SVG}title") == "A4, wheelchair space, standard, blocked"
    assert "9 places: 5 free, 2 held, 1 booked, 1 blocked. Capacity for sale: 9." in html
    assert "Odeon Kadıköy</a> (Europe/Istanbul)" in html  # the venue
    assert 'name="blocks-0-seat"' not in html  # existing blocks are removed, not edited


def test_a_show_stays_on_its_screen(staff, show, venue):
    other = venues.screen_save(screen=Screen(venue=venue, name="Salon 2"), seat_map=parse(AISLE_MAP), now=NOW)
    url = f"/admin/api/show/{show.pk}/change/"
    response = staff.post(url, _form(staff, url, screen=str(other.pk)))
    assert response.status_code == 302
    assert Show.objects.get(pk=show.pk).screen_id == show.screen_id


def _blocks_form(client, url: str, rows: list[dict], **changes) -> dict:
    """The show's form with new blocked-seat rows added."""
    data = _form(client, url, **changes)
    initial = int(data["blocks-INITIAL_FORMS"])
    for n, row in enumerate(rows, start=initial):
        data |= {f"blocks-{n}-{field}": value for field, value in row.items()}
        data[f"blocks-{n}-show"] = data.get(f"blocks-{n}-show", "")
    data["blocks-TOTAL_FORMS"] = str(initial + len(rows))
    return data


def test_blocking_and_unblocking_seats_in_the_admin(staff, show):
    url = f"/admin/api/show/{show.pk}/change/"
    rows = [{"seat": " a3 ", "reason": "house"}, {"seat": "B2", "reason": "broken"}]
    response = staff.post(url, _blocks_form(staff, url, rows))
    assert response.status_code == 302
    assert sorted(SeatBlock.objects.values_list("seat", "reason")) == [("A3", "house"), ("B2", "broken")]
    data = _form(staff, url)
    (a3,) = [n for n in range(2) if data[f"blocks-{n}-id"] == str(SeatBlock.objects.get(seat="A3").pk)]
    response = staff.post(url, {**data, f"blocks-{a3}-DELETE": "on"})
    assert response.status_code == 302
    assert list(SeatBlock.objects.values_list("seat", flat=True)) == ["B2"]


def test_the_admins_catalog_writes_name_the_staff_member(staff, show):
    # Each entry says who made the change: "staff:<username>", never "system".
    url = f"/admin/api/show/{show.pk}/change/"
    staff.post(url, _blocks_form(staff, url, [{"seat": "A3", "reason": "house"}]))
    data = _form(staff, url)
    staff.post(url, {**data, "blocks-0-DELETE": "on"})
    screen_url = f"/admin/api/screen/{show.screen_id}/change/"
    staff.post(screen_url, _form(staff, screen_url, name="Salon Bir"))
    film = Film.objects.create(title="Old", runtime_minutes=90)
    staff.post(f"/admin/api/film/{film.pk}/delete/", {"post": "yes"})
    venue = Venue.objects.create(name="Annex", time_zone="Europe/Istanbul", currency="TRY", country="TR")
    spare = venues.screen_save(screen=Screen(venue=venue, name="Spare"), seat_map=parse(AISLE_MAP), now=NOW)
    staff.post(f"/admin/api/screen/{spare.pk}/delete/", {"post": "yes"})
    staff.post(f"/admin/api/venue/{venue.pk}/delete/", {"post": "yes"})
    done = ["seats.blocked", "seats.unblocked", "screen.changed", "film.deleted", "screen.deleted", "venue.deleted"]
    entries = AuditEntry.objects.filter(action__in=done)
    assert sorted(entries.values_list("action", "actor")) == sorted((action, "staff:admin") for action in done)


@pytest.mark.parametrize(
    ("seat", "message"),
    [
        ("A1", "Seat A1 is already booked or held."),  # booked
        ("B1", "Seat B1 is already booked or held."),  # held
        ("C9", "Seat C9 does not exist at this show."),
    ],
)
def test_blocking_a_booked_held_or_unknown_seat_is_refused(staff, show, seat, message):
    book_seats(show.pk, seats=["A1", "A2"])  # A1 or B1 alone would strand A2 or B2
    hold_seats(show.pk, seats=["B1", "B2"])
    url = f"/admin/api/show/{show.pk}/change/"
    # With a change of capacity (a film show's title is its film's, no longer ignored if
    # changed): nothing of the form is saved.
    response = staff.post(url, _blocks_form(staff, url, [{"seat": seat, "reason": "house"}], capacity="6"))
    assert (response.status_code, response["Location"]) == (302, url)
    assert _messages(staff.get(url)) == [message]
    assert not SeatBlock.objects.exists()
    assert Show.objects.get(pk=show.pk).capacity == 9  # the map's nine places: nothing saved


def test_a_seat_label_that_is_not_one_is_a_form_error(staff, show):
    url = f"/admin/api/show/{show.pk}/change/"
    response = staff.post(url, _blocks_form(staff, url, [{"seat": "A-1", "reason": ""}]))
    assert response.status_code == 200
    (formset,) = [f for f in response.context["inline_admin_formsets"] if f.formset.prefix == "blocks"]
    assert formset.formset.errors == [{"seat": ["A-1 is not a seat label like B4."]}]


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
# film and counts), its prices, blocks and tickets (each with the show, for the row's
# heading), the screens, films and ticket types of the forms' choices, the seats in use,
# and the statuses of its waiting list.
SHOW_PAGE_QUERIES = 11


def test_the_show_page_costs_the_same_however_many_tickets_and_blocks(staff, show, django_assert_num_queries):
    url = f"/admin/api/show/{show.pk}/change/"
    with django_assert_num_queries(SHOW_PAGE_QUERIES):
        staff.get(url)
    # Blocks first, then tickets for seats left alone: none strands a free seat.
    catalog.seats_block(show_id=show.pk, seats=["A2", "B2", "B3"], reason="house", now=NOW)
    for seat in ["A1", "B1", "B4"]:
        book_ticket(show.pk, seat=seat)
    with django_assert_num_queries(SHOW_PAGE_QUERIES):
        html = staff.get(url).content.decode()
    assert html.count('data-status="booked"') == 3 and html.count('data-status="blocked"') == 3


def test_the_venue_page_costs_the_same_however_many_screens(staff, venue, django_assert_num_queries):
    url = f"/admin/api/venue/{venue.pk}/change/"
    with django_assert_num_queries(4):  # the session, the user, the venue, its screens
        staff.get(url)
    for n in range(3):
        venues.screen_save(screen=Screen(venue=venue, name=f"Salon {n}"), seat_map=parse(AISLE_MAP), now=NOW)
    with django_assert_num_queries(4):
        assert "Salon 2" in staff.get(url).content.decode()
