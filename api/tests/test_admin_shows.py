# ruff: noqa: F811  (pytest fixtures imported from admin_helpers and admin_catalog_helpers, used as arguments)
"""The admin of a show (v2): its film, which gives it its title; its start in the venue's
local time, through the nights the clocks change; its seats drawn by status; its blocked
seats, written through the services, what they refuse a message or a form error."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from api.models import AuditEntry, Film, Screen, SeatBlock, Show, Venue
from api.seatmaps import parse
from api.services import blocks, catalog, venues
from api.tests.admin_catalog_helpers import (
    AISLE_MAP,
    LABELS,
    SVG,
    _form,
    _svg_seats,
    film,  # noqa: F401 (the fixture)
    screen,  # noqa: F401 (the fixture)
    show,  # noqa: F401 (the fixture)
    venue,  # noqa: F401 (the fixture)
)
from api.tests.admin_helpers import (
    NOW,
    _form_errors,
    frozen,  # noqa: F401 (the fixture)
)
from api.tests.conftest import book_seats, book_ticket, hold_seats

pytestmark = pytest.mark.django_db


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


def test_a_show_given_another_film_in_the_admin_takes_its_title(staff, show):
    # The form sends the old film's title back as it was shown: it is no title typed, so
    # the service (which refuses a film show's title other than its film's) isn't given it.
    other = Film.objects.create(title="Arrival", runtime_minutes=116)
    url = f"/admin/api/show/{show.pk}/change/"

    response = staff.post(url, _form(staff, url, film=str(other.pk)))

    assert response.status_code == 302, response.content.decode()[:500]
    show.refresh_from_db()
    assert (show.film_id, show.title) == (other.pk, "Arrival")


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


def test_an_admin_save_keeps_the_cap_a_smaller_map_brought_down_and_a_blank_clears_it(staff, screen, film):
    """The admin sends the capacity it shows with every save: a title saved after a smaller
    map had brought a cap of 25 down to 20 made 20 the cap. Blank is every place."""
    thirty, twenty = (
        parse({"grid": {"rows": 3, "seats_per_row": 10}}),
        parse({"grid": {"rows": 2, "seats_per_row": 10}}),
    )
    screen = venues.screen_save(screen=screen, seat_map=thirty, now=NOW)
    show = catalog.show_create(
        now=timezone.now(), starts_at=NOW + timedelta(days=3), screen_id=screen.pk, title="Gala", capacity=25
    )
    url = f"/admin/api/show/{show.pk}/change/"
    venues.screen_save(screen=screen, seat_map=twenty, now=NOW)

    assert staff.post(url, _form(staff, url, title="Gala night")).status_code == 302
    venues.screen_save(screen=screen, seat_map=thirty, now=NOW)
    assert Show.objects.get(pk=show.pk).capacity == 25

    assert staff.post(url, _form(staff, url, capacity="")).status_code == 302
    assert (Show.objects.get(pk=show.pk).capacity, Show.objects.get(pk=show.pk).cap) == (30, None)


def test_a_save_with_the_start_untouched_keeps_a_move_a_colleague_made_meanwhile(staff, show, monkeypatch):
    # The start the form read (unlocked, as the POST began) was sent with every save: a
    # colleague's move committed before the save's lock was moved back.
    url = f"/admin/api/show/{show.pk}/change/"
    data = _form(staff, url, capacity="5")
    moved = show.starts_at + timedelta(days=1)
    update = catalog.show_update

    def moved_meanwhile(**kwargs):
        Show.objects.filter(pk=show.pk).update(starts_at=moved, ends_at=moved, busy_until=moved)
        return update(**kwargs)

    monkeypatch.setattr(catalog, "show_update", moved_meanwhile)

    assert staff.post(url, data).status_code == 302
    show.refresh_from_db()
    assert (show.starts_at, show.capacity) == (moved, 5)


def test_a_blank_capacity_is_every_place_of_the_map_as_it_stands_under_the_lock(staff, screen, monkeypatch):
    # Blank, "every place of the screen's seat map", was sent as the map's size the form read,
    # unlocked, as the POST began: a larger map a colleague saved before the save's lock was
    # left with a cap at the old size, its new seats never sold.
    twenty, thirty = (parse({"grid": {"rows": rows, "seats_per_row": 10}}) for rows in (2, 3))
    screen = venues.screen_save(screen=screen, seat_map=twenty, now=NOW)
    show = catalog.show_create(
        now=timezone.now(), starts_at=NOW + timedelta(days=3), screen_id=screen.pk, title="Gala", capacity=15
    )
    url = f"/admin/api/show/{show.pk}/change/"
    data = _form(staff, url, capacity="")
    update = catalog.show_update

    def map_grown_meanwhile(**kwargs):
        venues.screen_save(screen=Screen.objects.get(pk=screen.pk), seat_map=thirty, now=NOW)
        return update(**kwargs)

    monkeypatch.setattr(catalog, "show_update", map_grown_meanwhile)

    assert staff.post(url, data).status_code == 302
    show.refresh_from_db()
    assert (show.capacity, show.cap) == (30, None)


def test_a_show_in_the_hour_the_clocks_go_through_twice_stays_put_when_saved(staff, film):
    # 02:30 on the night Berlin's clocks go back is two moments; the form showed the local
    # time and read it back as the first, so saving the capacity of a show at the second
    # moved it an hour earlier.
    berlin = Venue.objects.create(name="Kino", time_zone="Europe/Berlin", currency="EUR", country="DE")
    screen = venues.screen_save(screen=Screen(venue=berlin, name="1"), seat_map=parse(AISLE_MAP), now=NOW)
    second = datetime(2030, 10, 27, 1, 30, tzinfo=UTC)  # 02:30 CET, after 02:30 CEST
    show = catalog.show_create(starts_at=second, screen_id=screen.pk, film_id=film.pk, now=timezone.now())
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


# --- shows ---------------------------------------------------------------------------------


def test_the_show_page_shows_each_seat_by_status(staff, show):
    # Seats that leave no free seat alone (A1 alone would strand A2, B1 alone B2).
    book_ticket(show.pk, seat="A3")
    hold_seats(show.pk, seats=["A1", "A2"])
    blocks.seats_block(show_id=show.pk, seats=["A4"], reason="broken", now=NOW)
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


def test_removing_a_block_in_the_admin_leaves_one_a_colleague_made_again_meanwhile(staff, show, monkeypatch):
    """The page removed the block it showed by its seat's label: a colleague's removal and
    new block of that seat (a broken seat now a house seat), committed before this save's
    lock, went with it, a block staff never saw."""
    url = f"/admin/api/show/{show.pk}/change/"
    blocks.seats_block(show_id=show.pk, seats=["A3"], reason="broken", now=NOW)
    data = _form(staff, url)
    lock = blocks.lock_show

    def blocked_again_meanwhile(show_id):
        monkeypatch.setattr(blocks, "lock_show", lock)
        blocks.seat_unblock(show_id=show_id, seat="A3", now=NOW)
        blocks.seats_block(show_id=show_id, seats=["A3"], reason="house", now=NOW)
        return lock(show_id)

    monkeypatch.setattr(blocks, "lock_show", blocked_again_meanwhile)

    response = staff.post(url, {**data, "blocks-0-DELETE": "on"})

    assert response.status_code == 200  # the page again, with the refusal
    assert "This seat was blocked again after this page was opened" in response.content.decode()
    # (The colleague's change, made in this request's transaction here, is rolled back with it.)
    assert list(SeatBlock.objects.values_list("seat", flat=True)) == ["A3"]


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
    assert _form_errors(response) == {"__all__": [message]}
    assert not SeatBlock.objects.exists()
    assert Show.objects.get(pk=show.pk).capacity == 9  # the map's nine places: nothing saved


def test_a_seat_label_that_is_not_one_is_a_form_error(staff, show):
    url = f"/admin/api/show/{show.pk}/change/"
    response = staff.post(url, _blocks_form(staff, url, [{"seat": "A-1", "reason": ""}]))
    assert response.status_code == 200
    (formset,) = [f for f in response.context["inline_admin_formsets"] if f.formset.prefix == "blocks"]
    assert formset.formset.errors == [{"seat": ["A-1 is not a seat label like B4."]}]


def test_the_list_orders_the_shows_by_the_services_clock_to_come_first(staff, screen, film):
    # The order read "started" by the database server's clock (NOW()), the status filter
    # and the services by the app's: at NOW (here a clock ahead of the database's), every
    # show read as to come, and the one that had started was listed first.
    started, later, next_one = (
        catalog.show_create(
            now=timezone.now(), starts_at=NOW + timedelta(hours=hours), screen_id=screen.pk, film_id=film.pk
        )
        for hours in (-1, 24, 4)
    )

    page = staff.get("/admin/api/show/").content.decode()

    listed = [int(pk) for pk in re.findall(r'href="/admin/api/show/(\d+)/change/', page)]
    assert listed == [next_one.pk, later.pk, started.pk]
    upcoming = staff.get("/admin/api/show/?status=upcoming").content.decode()
    assert f"/admin/api/show/{started.pk}/change/" not in upcoming
