"""Who may do what, and what a ticket id and a booking reference grant (limits on requests:
test_request_limits.py; deploy checks: test_deploy_checks.py).

The service faces the public internet: anonymous clients may search shows, book, hold
and confirm; a ticket's id opens that one ticket; a booking reference together with its
phone number opens that one booking; everything else is staff only. No answer given to
an anonymous client ever carries another person's name or phone number.
"""

from datetime import timedelta
from urllib.parse import urlencode

import pytest
import yaml
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from api.authentication import TokenAuthentication
from api.models import Booking, Customer, Film, Show, Ticket, WaitlistEntry
from api.services import door, webhooks
from api.tests.conftest import ADA as MINE
from api.tests.conftest import book_seats, hold_seats
from api.views import sales as views_sales

pytestmark = pytest.mark.django_db

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
        # In line as if the show had been full when they joined (it has seats free: a join
        # now is refused, and this is about who may read an entry, not about joining).
        "my_entry": WaitlistEntry.objects.create(show=show, party_size=2, joined_at=timezone.now(), **MINE),
        "other_entry": WaitlistEntry.objects.create(
            show=show, party_size=1, joined_at=timezone.now(), name=OTHER_NAME, phone_number=OTHER_PHONE
        ),
    }


def assert_no_other_person(response) -> None:
    text = response.content.decode()
    for secret in (OTHER_NAME, "Quartermaine", OTHER_PHONE, OTHER_PHONE_DIGITS):
        assert secret not in text, f"{response.request['PATH_INFO']} leaked {secret!r}"


# --- anonymous clients ---------------------------------------------------------------


NOT_LOGGED_IN = {"detail": "Authentication credentials were not provided."}
# Django's Http404 message, which DRF passes on for a look-up that found nothing.
NO_BOOKING = {"detail": views_sales.NO_BOOKING}
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


def test_a_booking_read_by_its_booker_names_no_one_its_tickets_were_given_to(api_client, staff_client, people):
    # A ticket's holder changed its person through the ticket's id (API.md: that ticket's
    # person only); the booker's look-up then answered the new person's name and phone.
    mine, ticket = people["my_booking"], people["my_ticket"]
    given = {"name": OTHER_NAME, "phone_number": OTHER_PHONE}
    assert api_client.patch(f"/api/tickets/{ticket.pk}", given, format="json").status_code == 200

    response = api_client.get(f"/api/bookings/{mine.reference}", {"phone_number": MINE["phone_number"]})

    assert response.status_code == 200
    people_shown = {t["id"]: (t["name"], t["phone_number"]) for t in response.json()["tickets"]}
    assert people_shown.pop(str(ticket.pk)) == (None, None)
    assert set(people_shown.values()) == {(MINE["name"], MINE["phone_number"])}
    assert_no_other_person(response)
    staff_view = staff_client.get(f"/api/bookings/{mine.reference}").json()
    assert {(t["name"], t["phone_number"]) for t in staff_view["tickets"]} >= {(OTHER_NAME, OTHER_PHONE)}


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


def test_a_customer_is_never_exposed_by_a_booking_of_someone_else(api_client, people):
    """Same person booking again is the same customer; a new booking shows only itself."""
    response = api_client.post("/api/bookings", {"show": people["show"].pk, "quantity": 1, **MINE}, format="json")
    assert response.status_code == 201
    assert_no_other_person(response)
    assert Customer.objects.filter(name=MINE["name"]).count() == 1
    assert Booking.objects.filter(customer__name=MINE["name"]).count() == 2


def test_the_browsable_api_shows_an_anonymous_client_no_more_than_the_json(api_client, people):
    """The browsable API (Accept: text/html) serializes an item again, through the view's
    get_serializer, for its PUT and PATCH forms: with the view's own context, so a ticket
    read anonymously hides its booking there too (API.md: "booking": null); a booking,
    hold or waiting-list entry shows only what its JSON does."""
    mine = people["my_booking"]
    html = {"HTTP_ACCEPT": "text/html"}
    ticket = api_client.get(f"/api/tickets/{people['my_ticket'].pk}", **html)
    assert (ticket.status_code, ticket["Content-Type"].split(";")[0]) == (200, "text/html")
    assert mine.reference not in ticket.content.decode()
    found = api_client.get(f"/api/bookings/{mine.reference}", {"phone_number": MINE["phone_number"]}, **html)
    assert found.status_code == 200
    assert MINE["name"] in found.content.decode()
    # Another's booking, by its reference without its phone: the page shows nothing of it.
    refused = api_client.get(f"/api/bookings/{people['other_booking'].reference}", **html)
    assert refused.status_code == 404
    for response in (ticket, found, refused):
        assert_no_other_person(response)
    for url in (f"/api/holds/{people['other_hold'].pk}", f"/api/waitlist/{people['other_entry'].pk}"):
        response = api_client.get(url, **html)
        assert response.status_code == 200, url
        assert_no_other_person(response)


def test_no_cache_keeps_an_answer_that_names_a_person_or_carries_a_capability(api_client, staff_client, people):
    """A ticket, a booking, a hold and a waiting-list entry, read or made: a name, a phone
    number, a booking reference, a hold's id. Their pages (the e-ticket, "Find your
    booking", an entry's page) are never cached; the API's answers had no Cache-Control at
    all, which lets a shared cache (a CDN, a proxy's default TTL) keep a copy and serve it
    after the ticket was changed or cancelled. (The answers to a POST, PATCH or DELETE no
    cache keeps unless told to: RFC 9111.)"""
    show, mine = people["show"], people["my_booking"]
    answers = [
        api_client.get(f"/api/tickets/{people['my_ticket'].pk}"),
        api_client.get(f"/api/bookings/{mine.reference}", {"phone_number": MINE["phone_number"]}),
        api_client.get(f"/api/holds/{people['my_hold'].pk}"),
        api_client.get(f"/api/waitlist/{people['my_entry'].pk}"),
        staff_client.get("/api/tickets", {"show": show.pk}),
        staff_client.get(f"/api/shows/{show.pk}/waitlist"),
    ]

    for response in answers:
        assert response.status_code in (200, 201), response.request["PATH_INFO"]
        directives = {d.strip() for d in response.get("Cache-Control", "").split(",")}
        assert {"no-store", "private"} <= directives, response.request["PATH_INFO"]


def test_no_cache_keeps_the_audit_trail_or_the_webhook_endpoints(staff_client, people, settings):
    """Staff's other lists carry capabilities too: the audit trail names every ticket by its
    id ("ticket:<id>"), a booking by its reference and a client by its address; an endpoint's
    URL may carry the receiver's credentials (http://user:pw@crm/h, a ?token=). They were sent
    with no Cache-Control, as the tickets' list was before it was sent with never-cache
    headers: a shared cache in front could keep them and serve them to whoever asked."""
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    hook = webhooks.webhook_create(
        url="http://crm:pw@127.0.0.1:9/hook?token=t0p", events=[], actor="staff:test", now=timezone.now()
    )
    audit = staff_client.get("/api/audit", {"object": f"ticket:{people['my_ticket'].pk}"})
    assert str(people["my_ticket"].pk) in audit.content.decode()
    answers = [
        audit,
        staff_client.get("/api/webhooks"),
        staff_client.get(f"/api/webhooks/{hook.pk}"),
        staff_client.get(f"/api/webhooks/{hook.pk}/deliveries"),
    ]

    for response in answers:
        assert response.status_code == 200, response.request["PATH_INFO"]
        directives = {d.strip() for d in response.get("Cache-Control", "").split(",")}
        assert {"no-store", "private"} <= directives, response.request["PATH_INFO"]
