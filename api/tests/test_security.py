"""Who may do what, what a ticket id and a booking reference grant, limits, deploy checks.

The service faces the public internet: anonymous clients may search shows, book, hold
and confirm; a ticket's id opens that one ticket; a booking reference together with its
phone number opens that one booking; everything else is staff only. No answer given to
an anonymous client ever carries another person's name or phone number.
"""

import json
import os
import secrets
import subprocess
import sys
from datetime import timedelta
from urllib.parse import urlencode

import pytest
import yaml
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from api import seatmaps
from api.authentication import TokenAuthentication
from api.models import Booking, Customer, Film, Hold, Show, Ticket
from api.services import door, waitlist
from api.tests.conftest import book_seats, hold_seats, make_show, open_timing

pytestmark = pytest.mark.django_db

MINE = {"name": "Ada Lovelace", "phone_number": "+914155550123"}
# The other person, whose details must never reach an anonymous client.
OTHER_NAME, OTHER_PHONE = "Victor Quartermaine", "+919876543210"
OTHER_PHONE_DIGITS = "9876543210"


@pytest.fixture
def people(show) -> dict:
    """My ticket, booking and hold, and another person's at the same show."""
    mine = book_seats(show.pk, quantity=2, **MINE)
    other = book_seats(show.pk, quantity=2, name=OTHER_NAME, phone_number=OTHER_PHONE)
    door.ticket_check_in(ticket_id=other.tickets[0].pk, now=show.starts_at - timedelta(hours=1))
    return {
        "show": show,
        "my_booking": mine.booking,
        "my_ticket": mine.tickets[0],
        "my_hold": hold_seats(show.pk, quantity=1, client="addr:127.0.0.1"),
        "other_booking": other.booking,
        "other_ticket": other.tickets[0],
        "other_hold": hold_seats(show.pk, quantity=1, client="addr:198.51.100.9"),
        "my_entry": waitlist.waitlist_join(show_id=show.pk, party_size=2, now=timezone.now(), **MINE)[0],
        "other_entry": waitlist.waitlist_join(
            show_id=show.pk, party_size=1, now=timezone.now(), name=OTHER_NAME, phone_number=OTHER_PHONE
        )[0],
    }


def assert_no_other_person(response) -> None:
    text = response.content.decode()
    for secret in (OTHER_NAME, "Quartermaine", OTHER_PHONE, OTHER_PHONE_DIGITS):
        assert secret not in text, f"{response.request['PATH_INFO']} leaked {secret!r}"


# --- anonymous clients ---------------------------------------------------------------


NOT_LOGGED_IN = {"detail": "Authentication credentials were not provided."}
# Django's Http404 message, which DRF passes on for a look-up that found nothing.
NO_BOOKING = {"detail": "No Booking matches the given query."}
NO_TICKET = {"detail": "No Ticket matches the given query."}


@pytest.mark.parametrize("url", ["/api/tickets", "/api/tickets/", "/api/tickets?search=Victor"])
def test_anonymous_clients_cannot_list_tickets(api_client, people, url):
    response = api_client.get(url)
    assert (response.status_code, response.json()) == (401, NOT_LOGGED_IN)


@pytest.mark.parametrize("url", ["/api/customers", "/api/customers/", "/api/people", "/api/users"])
def test_there_is_no_customer_list_at_all(api_client, staff_client, people, url):
    for client in (api_client, staff_client):
        response = client.get(url)
        assert (response.status_code, response.json()) == (404, {"detail": "Not found."})


@pytest.mark.parametrize("url", ["/api/bookings", "/api/bookings/", "/api/holds", "/api/holds/"])
def test_bookings_and_holds_cannot_be_listed(api_client, staff_client, people, url):
    # Not even by staff: a booking is found by its reference; staff list tickets instead.
    for client in (api_client, staff_client):
        response = client.get(url)
        assert (response.status_code, response.json()) == (405, {"detail": 'Method "GET" not allowed.'})


@pytest.mark.parametrize("method", ["post", "delete"])
def test_anonymous_clients_cannot_check_in(api_client, people, method):
    ticket = people["my_ticket"]  # not even with the ticket's own id
    response = getattr(api_client, method)(f"/api/tickets/{ticket.pk}/check-in")
    assert (response.status_code, response.json()) == (401, NOT_LOGGED_IN)
    assert Ticket.objects.get(pk=ticket.pk).checked_in_at is None


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("post", "", {"title": "Free show", "date": "2031-01-01", "time": "18:00"}),
        ("put", "/{id}", {"title": "Renamed", "starts_at": "2031-01-01T18:00:00Z", "capacity": 500}),
        ("patch", "/{id}", {"capacity": 500}),
        ("delete", "/{id}", None),
    ],
)
def test_anonymous_clients_cannot_write_shows(api_client, show, method, suffix, body):
    before = list(Show.objects.values())
    response = getattr(api_client, method)("/api/shows" + suffix.format(id=show.pk), body, format="json")
    assert (response.status_code, response.json()) == (401, NOT_LOGGED_IN)
    assert list(Show.objects.values()) == before


def test_bad_token_is_401_even_where_anonymous_clients_may_go(api_client, show):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = api_client.get("/api/shows")
    assert (response.status_code, response.json()) == (401, {"detail": "Invalid token."})


def test_a_token_is_its_user_while_that_user_is_active(staff_user):
    # api/authentication.py reads the token and its user by hand: DRF's answers, and the user's
    # fields as the ORM loads them.
    token = Token.objects.create(user=staff_user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get("/api/tickets").status_code == 200

    user, found = TokenAuthentication().authenticate_credentials(token.key)
    assert (found.pk, found.user_id, found.created) == (token.pk, staff_user.pk, token.created)
    assert found.user is user
    assert {f.attname: getattr(user, f.attname) for f in user._meta.concrete_fields} == {
        f.attname: getattr(staff_user, f.attname) for f in staff_user._meta.concrete_fields
    }
    staff_user.is_active = False
    staff_user.save(update_fields=["is_active"])
    response = client.get("/api/tickets")
    assert (response.status_code, response.json()) == (401, {"detail": "User inactive or deleted."})
    token.delete()
    response = client.get("/api/tickets")
    assert (response.status_code, response.json()) == (401, {"detail": "Invalid token."})


def test_a_logged_in_user_who_is_not_staff_is_refused_staff_operations(people):
    user = get_user_model().objects.create_user("customer", password="secret-pass-2")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    staff_only = {"detail": "Staff only."}
    assert (client.get("/api/tickets").status_code, client.get("/api/tickets").json()) == (403, staff_only)
    check_in = client.post(f"/api/tickets/{people['other_ticket'].pk}/check-in")
    assert (check_in.status_code, check_in.json()) == (403, staff_only)
    write = client.patch(f"/api/shows/{people['show'].pk}", {"capacity": 500}, format="json")
    assert (write.status_code, write.json()) == (403, staff_only)
    # And another person's booking still needs its phone number.
    other = client.get(f"/api/bookings/{people['other_booking'].reference}")
    assert (other.status_code, other.json()) == (404, NO_BOOKING)


# --- what a ticket id and a booking reference grant ----------------------------------


def test_a_ticket_id_opens_that_ticket_only(api_client, people):
    mine, other = people["my_ticket"], people["other_ticket"]
    response = api_client.get(f"/api/tickets/{mine.pk}")
    assert response.status_code == 200
    assert (response.json()["id"], response.json()["name"]) == (str(mine.pk), MINE["name"])
    assert_no_other_person(response)
    # Someone else's ticket is found only by its own id, never through mine.
    nested = api_client.get(f"/api/tickets/{mine.pk}/{other.pk}")
    assert (nested.status_code, nested.json()) == (404, {"detail": "Not found."})  # no such URL
    query = api_client.get(f"/api/tickets/{mine.pk}", {"id": other.pk})
    assert (query.status_code, query.json()["id"]) == (200, str(mine.pk))
    assert_no_other_person(query)


def test_a_ticket_id_changes_and_cancels_that_ticket_only(api_client, people):
    mine, other = people["my_ticket"], people["other_ticket"]
    response = api_client.patch(f"/api/tickets/{mine.pk}", {"name": "Ada King"}, format="json")
    assert (response.status_code, response.json()["name"]) == (200, "Ada King")
    assert_no_other_person(response)
    assert Ticket.objects.get(pk=other.pk).holder.name == OTHER_NAME
    assert api_client.delete(f"/api/tickets/{mine.pk}").status_code == 204
    assert Ticket.objects.filter(pk=other.pk).exists()


@pytest.mark.parametrize("ticket_id", ["00000000-0000-4000-8000-000000000000", "1", "../1", "%00", "x" * 300])
def test_an_unknown_or_malformed_ticket_id_is_404(api_client, people, ticket_id):
    response = api_client.get(f"/api/tickets/{ticket_id}")
    assert response.status_code == 404
    assert response.json() in ({"detail": "Not found."}, NO_TICKET)


def test_a_reference_with_its_phone_opens_that_booking_only(api_client, people):
    mine = people["my_booking"]
    for phone in (MINE["phone_number"], "+91 41555 50123", "04155550123"):
        response = api_client.get(f"/api/bookings/{mine.reference.lower()}", {"phone_number": phone})
        assert response.status_code == 200, phone
        body = response.json()
        assert (body["reference"], body["name"], body["phone_number"]) == (mine.reference, *MINE.values())
        assert {t["id"] for t in body["tickets"]} == {str(t.pk) for t in mine.tickets.all()}
        assert_no_other_person(response)


@pytest.mark.parametrize("method", ["get", "delete"])
def test_a_reference_without_its_own_phone_is_404_like_an_unknown_one(api_client, people, method):
    other = people["other_booking"]
    unknown = getattr(api_client, method)(f"/api/bookings/ZZZZZZ?{urlencode({'phone_number': OTHER_PHONE})}")
    assert (unknown.status_code, unknown.json()) == (404, NO_BOOKING)
    for phone in (MINE["phone_number"], "+919876543211", OTHER_PHONE_DIGITS[::-1]):
        response = getattr(api_client, method)(f"/api/bookings/{other.reference}?{urlencode({'phone_number': phone})}")
        assert (response.status_code, response.json()) == (404, NO_BOOKING), phone
    # No phone, or not a phone number at all: 404 too.
    for query in ("", "?phone_number=", "?phone_number=not+a+phone"):
        response = getattr(api_client, method)(f"/api/bookings/{other.reference}{query}")
        assert response.status_code == 404, query
        assert response.json() in (NO_BOOKING, {"detail": "Not found."}), query
    assert Ticket.objects.filter(booking=other).count() == 2


def test_a_hold_id_shows_seats_but_no_person(api_client, people):
    response = api_client.get(f"/api/holds/{people['other_hold'].pk}")
    assert response.status_code == 200
    # (v2) its lines name seats, ticket types and prices: still no person.
    assert set(response.json()) == {"id", "show", "seats", "expires_at", "together", "lines", "total", "currency"}


def test_no_anonymous_answer_carries_another_persons_details(api_client, people):
    """Walk every operation of the schema that an anonymous client may call with GET.

    The client knows what it was given (its ticket id, its reference and phone, its
    hold) and what is public (shows), and guesses: the other person's reference, hold,
    name and phone number, sent as every query parameter the operation declares.
    """
    schema = yaml.safe_load(api_client.get("/api/schema/").content)
    mine = people["my_booking"]
    screen = people["show"].screen
    film = Film.objects.create(title="Dune: Part Three", runtime_minutes=166)
    path_values = {
        "/api/venues/{id}/": [screen.venue_id],
        "/api/screens/{id}/": [screen.pk],
        "/api/films/{id}/": [film.pk],
        "/api/shows/{id}/": [people["show"].pk],
        "/api/shows/{id}/seats/": [people["show"].pk],
        "/api/tickets/{id}/": [people["my_ticket"].pk],
        "/api/holds/{id}/": [people["my_hold"].pk, people["other_hold"].pk],
        "/api/bookings/{reference}/": [mine.reference, people["other_booking"].reference],
        "/api/shows/{id}/waitlist/": [people["show"].pk],
        "/api/waitlist/{id}/": [people["my_entry"].pk, people["other_entry"].pk],
    }
    # Every query parameter is tried with the other person's details and with nothing.
    probes = [OTHER_PHONE, OTHER_NAME, "Victor", OTHER_PHONE_DIGITS, MINE["phone_number"], ""]
    other_reference = people["other_booking"].reference
    answered = set()
    for path, item in schema["paths"].items():
        if "get" not in item:
            continue
        operation = item["get"]
        # The walk sends more requests than an anonymous client may in a minute: each
        # operation starts with fresh throttle counters (the throttle has tests of its own).
        cache.clear()
        names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
        urls = [path.replace("{id}", str(v)).replace("{reference}", str(v)) for v in path_values.get(path, [None])]
        for url in urls:
            for probe in probes:
                if url.endswith(f"/{other_reference}/") and probe in (OTHER_PHONE, OTHER_PHONE_DIGITS):
                    continue  # a reference with its own phone is that booking's key
                response = api_client.get(url, {name: probe for name in names})
                assert response.status_code < 500, url
                assert_no_other_person(response)
                if response.status_code == 200:
                    answered.add(operation["operationId"])
    # Pages for people: the home page and my e-ticket.
    for url in ("/", f"/tickets/{people['my_ticket'].pk}/"):
        response = api_client.get(url)
        assert response.status_code == 200
        assert_no_other_person(response)
    # The anonymous operations really answered (the walk is not vacuous); the staff
    # list refused them.
    assert answered == {
        "health_retrieve",
        "venues_list",
        "venues_retrieve",
        "screens_list",
        "screens_retrieve",
        "seat_map_schema_retrieve",
        "films_list",
        "films_retrieve",
        "ticket_types_list",
        "shows_list",
        "shows_retrieve",
        "shows_seats_retrieve",
        "tickets_retrieve",
        "holds_retrieve",
        "bookings_retrieve",
        "waitlist_retrieve",
    }


def test_the_staff_list_is_where_other_people_appear(staff_client, people):
    response = staff_client.get("/api/tickets", {"search": "Victor"})
    assert response.status_code == 200
    assert {t["name"] for t in response.json()["results"]} == {OTHER_NAME}


# --- limits --------------------------------------------------------------------------


TOO_LARGE = {"detail": "The request body is larger than this service accepts."}


@pytest.mark.parametrize("url", ["/api/tickets", "/api/holds", "/api/bookings"])
def test_a_body_over_the_size_limit_is_413_json(api_client, show, url):
    big = {**MINE, "show": show.pk, "quantity": 1, "padding": "x" * django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE}
    response = api_client.post(url, json.dumps(big), content_type="application/json")
    assert (response.status_code, response.json()) == (413, TOO_LARGE)
    assert not Ticket.objects.exists() and not Hold.objects.exists()


def test_an_oversized_form_body_is_413_json_too(api_client, show):
    body = "name=" + "x" * django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = api_client.post("/api/tickets", body, content_type="application/x-www-form-urlencoded")
    assert (response.status_code, response.json()) == (413, TOO_LARGE)


def test_a_staff_write_over_the_size_limit_is_413_json(staff_client, show):
    body = json.dumps({"title": "x" * django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE})
    response = staff_client.patch(f"/api/shows/{show.pk}", body, content_type="application/json")
    assert (response.status_code, response.json()) == (413, TOO_LARGE)


def test_a_form_with_too_many_fields_is_400_json(api_client, show):
    body = "&".join(f"f{i}=1" for i in range(django_settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    response = api_client.post("/api/tickets", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "The number of GET/POST parameters exceeded settings.DATA_UPLOAD_MAX_NUMBER_FIELDS."
    }


def test_a_body_just_under_the_limit_is_read(api_client, show):
    padding = "x" * (django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE - 200)
    response = api_client.post("/api/tickets", {**MINE, "show": show.pk, "padding": padding}, format="json")
    assert response.status_code == 201


def test_page_size_is_capped_at_500(staff_client):
    first = make_show()
    Show.objects.bulk_create(open_timing(first.starts_at + timedelta(hours=i), title="Many") for i in range(1, 501))
    response = staff_client.get("/api/shows", {"page_size": 100_000})
    body = response.json()
    assert response.status_code == 200
    assert (body["count"], len(body["results"])) == (501, 500)
    assert body["next"] == "http://testserver/api/shows?page=2&page_size=100000"


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"quantity": 11}, {"quantity": ["Ensure this value is less than or equal to 10."]}),
        (
            {"seats": [f"A{n}" for n in range(1, 11)] + ["B1"]},
            {"seats": ["Ensure this field has no more than 10 elements."]},
        ),
    ],
)
@pytest.mark.parametrize("url", ["/api/holds", "/api/bookings"])
def test_a_hold_takes_at_most_10_seats(api_client, url, data, errors):
    show = make_show(capacity=50)
    response = api_client.post(url, {"show": show.pk, **MINE, **data}, format="json")
    assert (response.status_code, response.json()) == (400, errors)
    assert not Hold.objects.exists() and not Ticket.objects.exists()


def test_one_client_holds_at_most_the_set_number_of_seats(api_client, settings):
    settings.BOOKING_MAX_HELD_SEATS_PER_CLIENT = 12
    shows = [make_show(days=d, capacity=50) for d in (3, 4)]
    assert api_client.post("/api/holds", {"show": shows[0].pk, "quantity": 10}, format="json").status_code == 201
    # Over all shows, and a made-up X-Forwarded-For doesn't make a new client.
    refused = api_client.post(
        "/api/holds", {"show": shows[1].pk, "quantity": 3}, format="json", HTTP_X_FORWARDED_FOR="192.0.2.55"
    )
    assert (refused.status_code, refused.json()) == (
        400,
        {"non_field_errors": ["One client can hold at most 12 seats at once (10 held now)."]},
    )
    assert api_client.post("/api/holds", {"show": shows[1].pk, "quantity": 2}, format="json").status_code == 201
    other = api_client.post("/api/holds", {"show": shows[1].pk, "quantity": 10}, format="json", REMOTE_ADDR="192.0.2.9")
    assert other.status_code == 201
    # So nobody can hold a whole show: 50 seats need 5 clients at the default limit.
    assert sum(len(h.seats) for h in Hold.objects.all()) == 22


def test_a_made_up_forwarded_for_does_not_escape_the_throttle(api_client, show, settings):
    settings.THROTTLE_ANON_RATE = "3/min"
    statuses = [api_client.get("/api/shows", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}").status_code for i in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_behind_one_proxy_the_forwarded_address_is_the_client(api_client, show, settings):
    settings.THROTTLE_ANON_RATE = "1/min"
    settings.REST_FRAMEWORK = {**django_settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    # The proxy appends the address it saw; what the client wrote before it is ignored.
    first = api_client.get("/api/shows", HTTP_X_FORWARDED_FOR="6.6.6.6, 192.0.2.1")
    again = api_client.get("/api/shows", HTTP_X_FORWARDED_FOR="7.7.7.7, 192.0.2.1")
    other = api_client.get("/api/shows", HTTP_X_FORWARDED_FOR="6.6.6.6, 192.0.2.2")
    assert [first.status_code, again.status_code, other.status_code] == [200, 429, 200]


# --- deployment ----------------------------------------------------------------------


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY", "SECURE_HTTPS")}
    environment.update(env, DJANGO_SETTINGS_MODULE="booking.settings")
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=django_settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


DEPLOY = {"DEBUG": "false", "ALLOWED_HOSTS": "booking.example.com"}


def test_deploy_check_passes_with_debug_off_a_real_secret_and_https():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        **DEPLOY,
        SECRET_KEY=secrets.token_urlsafe(50),
        SECURE_HTTPS="true",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_deploy_check_fails_without_https():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **DEPLOY, SECRET_KEY=secrets.token_urlsafe(50))
    assert result.returncode == 1
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr, warning


def test_the_development_secret_is_refused_with_debug_off():
    result = _manage("check", **DEPLOY)
    assert result.returncode == 1
    assert "Set SECRET_KEY: the development key is refused when DEBUG is off." in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        # 800,000 days took the purge's cutoff out of the calendar: every run failed.
        ("AUDIT_KEEP_DAYS", "800000", "AUDIT_KEEP_DAYS=800000: give a whole number from 1 to 36600."),
        ("BOOKING_HOLD_MINUTES", "0", "BOOKING_HOLD_MINUTES=0: give a whole number from 1 to 1440."),
        ("BOOKING_CLEANING_MINUTES", "-5", "BOOKING_CLEANING_MINUTES=-5: give a whole number from 0 to 1440."),
        (
            "BOOKING_DEFAULT_CAPACITY",
            "3000",  # in rows of 10: 300 rows, which no seat map may have
            "BOOKING_DEFAULT_CAPACITY=3000 in rows of BOOKING_SEATS_PER_ROW=10 makes 300 rows of 3000 places: a"
            " seat map has at most 100 rows and 3000 places.",
        ),
        (
            "BOOKING_LOCK_TIMEOUT_SECONDS",
            "0",
            "BOOKING_LOCK_TIMEOUT_SECONDS=0.0: give a number of seconds above 0, at most 60.",
        ),
    ],
)
def test_a_whole_number_setting_out_of_its_range_stops_the_service_at_start(variable, value, message):
    result = _manage("check", DEBUG="true", **{variable: value})
    assert result.returncode == 1
    assert f"ImproperlyConfigured: {message}" in result.stderr


def test_the_largest_default_screen_the_settings_allow_is_a_seat_map():
    # booking/settings.py checks BOOKING_DEFAULT_CAPACITY and BOOKING_SEATS_PER_ROW against
    # the seat map's limits, written there as numbers.
    assert (seatmaps.MAX_ROWS, seatmaps.MAX_SEATS_PER_ROW, seatmaps.MAX_SEATS) == (100, 100, 3_000)
    assert seatmaps.parse(seatmaps.grid(100, 30)).capacity == 3_000
    assert _manage("check", DEBUG="true", BOOKING_DEFAULT_CAPACITY="3000", BOOKING_SEATS_PER_ROW="30").returncode == 0


def test_a_customer_is_never_exposed_by_a_booking_of_someone_else(api_client, people):
    """Same person booking again is the same customer; a new booking shows only itself."""
    response = api_client.post("/api/bookings", {"show": people["show"].pk, "quantity": 1, **MINE}, format="json")
    assert response.status_code == 201
    assert_no_other_person(response)
    assert Customer.objects.filter(name=MINE["name"]).count() == 1
    assert Booking.objects.filter(customer__name=MINE["name"]).count() == 2
