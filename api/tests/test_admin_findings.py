# ruff: noqa: F811  (pytest fixtures imported from admin_helpers and admin_catalog_helpers, used as arguments)
"""What an exploratory run of the staff admin found: a booking with a checked-in ticket
deleted (one or in bulk) is refused with a message, never a 500; a show's page opens
read-only for staff who may only view shows; a new show's capacity is blank (every place
of its screen) unless typed; a webhook added inactive stays inactive; a seat map nested
too deep is a form error; the ticket page says how a blank seat is chosen; the number
inputs say their real minimum, and the waiting list's action counts in good English; the
lists of shows and tickets read each venue's own day, and a list's odd query is no 500."""

import re
from datetime import timedelta

import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import Client

from api.models import AuditEntry, Booking, Film, Screen, Show, Ticket, Webhook
from api.seatmaps import parse
from api.services import venues, waitlist
from api.tests.admin_catalog_helpers import (
    LABELS,
    _form,
    film,  # noqa: F401 (the fixture)
    screen,  # noqa: F401 (the fixture)
    show,  # noqa: F401 (the fixture)
    venue,  # noqa: F401 (the fixture)
)
from api.tests.admin_helpers import (
    NOW,
    _messages,
    clerk,
    frozen,  # noqa: F401 (the fixture)
    theatre,  # noqa: F401 (the fixture)
)
from api.tests.conftest import ADA, book_seats, book_ticket

pytestmark = pytest.mark.django_db

CHECKED_IN = "A ticket of this booking was checked in already: it can't be cancelled."


# --- bookings ------------------------------------------------------------------------------


def _checked_in_booking(theatre: dict) -> Booking:
    """A booking at the show that started an hour ago, one of its two tickets checked in."""
    return Booking.objects.filter(tickets__show=theatre["started"], tickets__checked_in_at__isnull=False).earliest("pk")


def test_deleting_a_booking_with_a_checked_in_ticket_is_refused_with_a_message(staff, theatre):
    # The service refuses (a 409 in the API); the admin had no handler for it: a 500.
    booking = _checked_in_booking(theatre)
    url = f"/admin/api/booking/{booking.pk}/delete/"

    response = staff.post(url, {"post": "yes"})

    change_url = f"/admin/api/booking/{booking.pk}/change/"
    assert (response.status_code, response["Location"]) == (302, change_url)
    assert _messages(staff.get(change_url)) == [CHECKED_IN]
    assert Ticket.objects.filter(booking=booking).count() == 2
    assert not LogEntry.objects.filter(action_flag=DELETION).exists()


def test_deleting_selected_bookings_one_with_a_checked_in_ticket_deletes_none(staff, theatre):
    # All or none, as the shows' bulk delete: the booking before the refused one stays too,
    # and so does the admin's log, which would say it was deleted.
    upcoming = Booking.objects.filter(tickets__show=theatre["shows"][0]).earliest("pk")
    used = _checked_in_booking(theatre)
    assert upcoming.pk < used.pk  # cancelled first, then the refusal
    selected = [str(upcoming.pk), str(used.pk)]

    response = staff.post(
        "/admin/api/booking/", {"action": "delete_selected", "_selected_action": selected, "post": "yes"}
    )

    assert response.status_code == 302
    assert _messages(staff.get("/admin/api/booking/")) == [CHECKED_IN]
    assert Booking.objects.filter(pk__in=selected).count() == 2
    assert Ticket.objects.count() == 200
    assert not LogEntry.objects.filter(action_flag=DELETION).exists()
    assert not AuditEntry.objects.filter(action="booking.cancelled").exists()


# --- shows ---------------------------------------------------------------------------------


def test_staff_who_may_only_view_shows_see_a_shows_page_read_only(client, show):
    # ShowForm reached for its screen field, which a read-only form doesn't have: a 500.
    user = get_user_model().objects.create_user("viewer", password=None, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename="view_show"))
    client.force_login(user)

    response = client.get(f"/admin/api/show/{show.pk}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Dune: Part Two" in page and "Salon 1" in page
    # The start in the venue's time, as the form shows it (not the model's, in TIME_ZONE).
    assert f'<div class="readonly">{show.local_start:%Y-%m-%d %H:%M}</div>' in page
    assert 'name="_save"' not in page and 'name="capacity"' not in page


@pytest.fixture
def big_screen(venue) -> Screen:
    """30 places: more than BOOKING_DEFAULT_CAPACITY (20)."""
    return venues.screen_save(
        screen=Screen(venue=venue, name="Salon 2"), seat_map=parse({"grid": {"rows": 3, "seats_per_row": 10}}), now=NOW
    )


def test_a_show_added_as_the_form_comes_sells_every_place_of_its_screen(staff, big_screen, film):
    # The form came with Capacity 20 filled in (BOOKING_DEFAULT_CAPACITY): saved as shown,
    # a show on a bigger screen sold 20 seats; blank means every place of the map.
    url = "/admin/api/show/add/"
    day = (NOW + timedelta(days=5)).astimezone(big_screen.venue.zone).date()
    form = _form(staff, url, screen=str(big_screen.pk), film=str(film.pk))
    assert form["capacity"] == ""

    response = staff.post(url, {**form, "starts_at_0": f"{day:%Y-%m-%d}", "starts_at_1": "19:30"})

    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    assert Show.objects.get().capacity == 30


def _min_of(response, name: str) -> str:
    """The min attribute of the page's number input `name`: what the browser lets staff type."""
    found = re.search(rf'<input type="number" name="{name}"[^>]* min="(-?\d+)"', response.content.decode())
    assert found, name
    return found.group(1)


def test_a_capacity_below_one_says_the_real_minimum(staff, show):
    # The model's minimum is 1, the form field's (PositiveIntegerField's) 0: -1 was told
    # "greater than or equal to 0", and the input let the browser take 0.
    url = f"/admin/api/show/{show.pk}/change/"
    assert _min_of(staff.get(url), "capacity") == _min_of(staff.get("/admin/api/show/add/"), "capacity") == "1"

    for capacity in ("-1", "0"):
        response = staff.post(url, _form(staff, url, capacity=capacity))
        assert response.context["adminform"].form.errors == {
            "capacity": ["Ensure this value is greater than or equal to 1."]
        }


def test_a_films_runtime_below_one_says_the_real_minimum(staff):
    assert _min_of(staff.get("/admin/api/film/add/"), "runtime_minutes") == "1"

    for runtime in ("-5", "0"):
        film = {"title": "Short", "runtime_minutes": runtime, "rating": "", "description": ""}
        response = staff.post("/admin/api/film/add/", film)
        assert response.context["adminform"].form.errors == {
            "runtime_minutes": ["Ensure this value is greater than or equal to 1."]
        }
    assert not Film.objects.exists()


# --- webhooks, screens, tickets, the waiting list -------------------------------------------


def test_a_webhook_added_with_active_unticked_is_inactive(staff, settings):
    # save_model left `active` out of webhook_create, which makes an endpoint active.
    settings.WEBHOOKS_ALLOW_PRIVATE = True

    response = staff.post("/admin/api/webhook/add/", {"url": "https://hooks.example.test/in"})

    assert response.status_code == 302
    assert Webhook.objects.get().active is False
    assert AuditEntry.objects.get(action="webhook.created").changes["active"] is False


@pytest.mark.parametrize("levels", [33, 900, 5_000])
def test_a_seat_map_nested_too_deep_is_a_form_error(staff, screen, levels):
    # 900 levels was a 500 (RecursionError); the API answers such a body with a 400.
    url = f"/admin/api/screen/{screen.pk}/change/"
    text = "[" * levels + "]" * levels

    response = staff.post(url, _form(staff, url, seat_map_text=text))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"seat_map_text": ["Nested deeper than 32 levels."]}
    assert text in response.content.decode()  # given back as typed, to fix
    screen.refresh_from_db()
    assert screen.seats.labels() == LABELS


def test_a_seat_map_32_levels_deep_is_read_as_a_seat_map(staff, screen):
    # The limit is the API's: 32 levels are read (and refused as a map, not as JSON).
    url = f"/admin/api/screen/{screen.pk}/change/"
    response = staff.post(url, _form(staff, url, seat_map_text="[" * 32 + "]" * 32))
    assert "Nested deeper" not in " ".join(response.context["adminform"].form.errors["seat_map_text"])


def test_the_ticket_page_says_a_blank_seat_at_another_show_is_the_best_available(staff, show):
    ticket = book_ticket(show.pk)

    page = staff.get(f"/admin/api/ticket/{ticket.pk}/change/").content.decode()

    assert "Blank keeps the seat, or takes the best available one at another show." in page
    assert "lowest free seat" not in page


def test_removing_one_waiting_list_entry_says_one_entry(staff, sold_out):
    entry, _ = waitlist.waitlist_join(show_id=sold_out.pk, **ADA, party_size=2, now=NOW)
    selected = {"action": "remove", "_selected_action": [str(entry.pk)]}

    response = staff.post("/admin/api/waitlistentry/", selected, follow=True)

    assert "1 entry removed from the waiting list." in response.content.decode()


# --- tickets by show date --------------------------------------------------------------------


def test_the_show_date_filter_reads_each_venues_own_day(staff, screen):
    # "Today" was the server's day (TIME_ZONE, UTC here): a show at 01:30 on the 16th in
    # Istanbul, 22:30 UTC on the 15th, was listed as today's on the 15th, and not tomorrow's.
    late = Show.objects.create(screen=screen, title="Late", starts_at=NOW.replace(hour=22, minute=30), capacity=10)
    ticket = book_ticket(late.pk, **ADA)

    def listed(day: str) -> list:
        response = staff.get("/admin/api/ticket/", {"show_date": day})
        return [t.pk for t in response.context["cl"].result_list]

    assert listed("today") == []
    assert listed("tomorrow") == [ticket.pk]
    assert listed("week") == [ticket.pk]
    assert listed("past") == []


def test_the_show_list_filters_by_each_venues_own_day_and_has_no_drill_down_in_utc(staff, screen):
    # The list's date drill-down grouped days in TIME_ZONE (UTC here): this show, at 01:30
    # on the 16th in Istanbul, was listed under the 15th.
    late = Show.objects.create(screen=screen, title="Late", starts_at=NOW.replace(hour=22, minute=30), capacity=10)

    def listed(day: str) -> list:
        response = staff.get("/admin/api/show/", {"show_date": day})
        return [show.pk for show in response.context["cl"].result_list]

    assert (listed("today"), listed("tomorrow")) == ([], [late.pk])
    assert "starts_at__year=" not in staff.get("/admin/api/show/").content.decode()
    assert "show__starts_at__year=" not in staff.get("/admin/api/ticket/").content.decode()


@pytest.mark.parametrize(
    "query",
    [
        "/admin/api/show/?starts_at__year=10000",
        "/admin/api/show/?starts_at__year=-5",
        "/admin/api/show/?starts_at__year=99999999999999999999",
        "/admin/api/ticket/?booked_at__year=-5",
        "/admin/api/auditentry/?at__year=9999",
        "/admin/api/auditentry/?at__year=9999&at__month=12",
        "/admin/api/auditentry/?at__year=99999999999999999999",
        # Other apps' lists, on the same site: auth's, axes', DRF's tokens' (its own ChangeList).
        "/admin/auth/user/?date_joined__year=-5",
        "/admin/axes/accessattempt/?attempt_time__year=99999999999999999999",
        "/admin/authtoken/tokenproxy/?created__year=-5",
        # A number past 64 bits in an id__in, the form the admin's own links take.
        "/admin/api/show/?id__in=99999999999999999999999",
        "/admin/api/booking/?id__in=1,99999999999999999999999",
        "/admin/auth/group/?id__in=99999999999999999999999",
        "/admin/axes/accesslog/?id__in=99999999999999999999999",
    ],
)
def test_a_year_or_number_out_of_range_in_any_lists_query_is_not_a_500(staff, query):
    # A year-9999 link of the drill-down (a show typed in for 9999-12-30 offered one), or
    # one typed by hand, was a 500: a ValueError or OverflowError in Django's list. So was
    # the number on SQLite, refused as the list was counted.
    staff.raise_request_exception = False

    response = staff.get(query)

    if "id__in=" in query and connection.vendor == "postgresql":
        # PostgreSQL compares the number, and the list shows no row.
        assert (response.status_code, response.context["cl"].result_count) == (200, 0)
    else:
        assert (response.status_code, response["Location"]) == (302, query.split("?")[0] + "?e=1")


@pytest.mark.parametrize(
    "query",
    [
        # The database read a regular expression, and one it can't read ("(") was a 500;
        # auth's groups and axes' lists had no such check (SQLite's error read as an outage,
        # a 503 page).
        "/admin/api/show/?title__regex=(",
        "/admin/auth/group/?name__regex=(",
        "/admin/axes/accessattempt/?username__iregex=(",
        # Django doesn't split a range's "a,b": each character was a parameter, a 500.
        "/admin/api/film/?title__range=a,b",
        "/admin/api/ticket/?seat__range=A1,B9",
        "/admin/auth/group/?name__range=a,z",
        # SQLite has no containment for JSON: a 500 there.
        "/admin/api/webhook/?events__contains=1",
        "/admin/api/auditentry/?changes__contains=1",
        "/admin/api/screen/?seat_map__contains=1",
        "/admin/api/webhookevent/?webhook__events__contains=1",
        # Through a show's blocks, tickets, prices...: Django's list is then DISTINCT, which
        # PostgreSQL can't order by the shows' ordering (expressions): a 500 there.
        "/admin/api/show/?blocks__isnull=False",
        "/admin/api/show/?tickets__isnull=False",
    ],
)
def test_a_lookup_the_database_would_fail_on_is_refused_on_any_list(staff, show, query):
    # Found by a review helper (all but the first). Rows on every list, for the database to read.
    book_ticket(show.pk)
    Group.objects.create(name="ushers")
    Client().post("/admin/login/", {"username": "nobody", "password": "wrong"})  # axes' row
    staff.raise_request_exception = False

    assert staff.get(query).status_code == 400


def test_deleting_a_booking_names_its_tickets_and_asks_for_the_right_to_delete_them(client, show):
    # A booking deleted is cancelled with its tickets; Django follows no DO_NOTHING link,
    # so the page named the booking alone, and "delete booking" alone cancelled its tickets.
    # (Found by a review helper.)
    booking = book_seats(show.pk, quantity=2).booking
    user = clerk(client, "view_booking", "delete_booking")
    url = f"/admin/api/booking/{booking.pk}/delete/"

    page = client.get(url)

    assert page.context["perms_lacking"] == {"ticket"}
    assert [str(item).split(" seat ")[0] for item in page.context["deleted_objects"][-1]] == [
        f"Ticket (cancelled): {show}"
    ] * 2
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert Ticket.objects.filter(booking=booking).count() == 2

    user.user_permissions.add(Permission.objects.get(codename="delete_ticket"))
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not Ticket.objects.filter(booking=booking).exists()


def test_a_new_venues_page_starts_at_the_defaults_a_new_venue_has_in_the_api(staff, settings):
    # The zone and country are chosen from lists declared on the form, which take no
    # default from the model: the page showed Africa/Abidjan and AC (the lists' first), and
    # a venue saved with only its name typed read phone numbers as Ascension Island's.
    settings.PHONENUMBER_DEFAULT_REGION = "GB"
    settings.TIME_ZONE = "Europe/London"

    form = staff.get("/admin/api/venue/add/").context["adminform"].form

    assert (form["time_zone"].value(), form["country"].value(), form["currency"].value()) == (
        "Europe/London",
        "GB",
        settings.BOOKING_CURRENCY,
    )
