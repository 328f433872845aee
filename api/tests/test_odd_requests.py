"""Requests that are odd in ways a client or a misconfigured front can make them: a form
body with a repeated field under an Idempotency-Key, HEAD where GET is for staff, a
forwarded address that is no address, a token with a NUL in it. Each a clear answer,
never a 500 and never another request's answer."""

from urllib.parse import urlencode

import pytest
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from api.models import AuditEntry, Hold, Ticket
from api.tests.conftest import ADA, make_show, screen_of

pytestmark = pytest.mark.django_db


def test_a_form_body_with_other_seats_under_the_same_key_is_refused_not_replayed(staff_client):
    # The fingerprint took a form's repeated field by its last value only: A1+A2, then A3+A2,
    # under one key, replayed the first hold for the second request. (Forms are taken from
    # clients with credentials only: test_form_bodies.py.)
    show = make_show(screen=screen_of(10), capacity=10)

    def hold(*seats: str):
        form = urlencode({"show": show.pk, "seats": seats}, doseq=True)
        return staff_client.post(
            "/api/holds", form, content_type="application/x-www-form-urlencoded", HTTP_IDEMPOTENCY_KEY="hold-1"
        )

    first, other, again = hold("A1", "A2"), hold("A3", "A2"), hold("A1", "A2")

    assert first.status_code == 201, first.json()
    assert other.status_code == 422, other.json()
    assert again.json() == first.json()
    assert Hold.objects.count() == 1


def test_head_of_a_shows_waiting_list_is_for_staff_as_get_is(api_client, staff_client):
    show = make_show()

    assert api_client.head(f"/api/shows/{show.pk}/waitlist").status_code == 401
    assert staff_client.head(f"/api/shows/{show.pk}/waitlist").status_code == 200
    assert api_client.options(f"/api/shows/{show.pk}/waitlist").status_code == 200  # anyone may POST there


@pytest.mark.parametrize(
    "forwarded", ["x" * 150, "not-an-address", "192.0.2.1, <script>", "fe80::1%eth0", "fe80::1%" + "x" * 300]
)
def test_a_forwarded_address_that_is_no_address_counts_as_the_connections(api_client, settings, forwarded):
    # Behind a proxy the forwarded address is the client's; a value that is no address (the
    # app's port reached directly, more proxies configured than append) overflowed the
    # columns that keep it on PostgreSQL: a 500 for a booking or a hold. An IPv6 address
    # with a zone id passed as an address: its zone, of any length, overflowed the audit
    # trail's actor column, and each zone was a client of its own.
    settings.REST_FRAMEWORK = {**django_settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    show = make_show()

    booked = api_client.post("/api/tickets", {**ADA, "show": show.pk}, HTTP_X_FORWARDED_FOR=forwarded)
    held = api_client.post(
        "/api/holds",
        {"show": show.pk, "quantity": 1},
        format="json",
        HTTP_X_FORWARDED_FOR=forwarded,
        HTTP_IDEMPOTENCY_KEY="k",
    )

    assert (booked.status_code, held.status_code) == (201, 201)
    assert Ticket.objects.get().booking.client == Hold.objects.get().client == "addr:127.0.0.1"
    assert set(AuditEntry.objects.values_list("actor", flat=True)) == {"client:127.0.0.1"}


def test_a_forwarded_address_is_read_as_an_address(api_client, settings):
    settings.REST_FRAMEWORK = {**django_settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    show = make_show()

    api_client.post(
        "/api/holds", {"show": show.pk, "quantity": 1}, format="json", HTTP_X_FORWARDED_FOR="6.6.6.6, 2001:DB8::1"
    )

    # An IPv6 client is counted by its /64, which one subscriber has whole.
    assert Hold.objects.get().client == "addr:2001:db8::/64"


def test_the_addresses_of_one_ipv6_64_share_the_caps_and_the_throttle(api_client, settings):
    """Each IPv6 address was a client of its own: two of one /64 held 10 seats each, and a
    subscriber has 2**64 of them."""
    settings.REST_FRAMEWORK = {**django_settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    settings.BOOKING_MAX_HELD_SEATS_PER_CLIENT = 3
    show = make_show()

    def hold(address: str, quantity: int):
        body = {"show": show.pk, "quantity": quantity}
        return api_client.post("/api/holds", body, format="json", HTTP_X_FORWARDED_FOR=address)

    assert hold("2001:db8:1:2::1", 3).status_code == 201
    assert hold("2001:db8:1:2::2", 1).status_code == 400  # the same /64: its cap is used up
    assert hold("2001:db8:1:3::1", 3).status_code == 201  # another /64, another client
    assert hold("203.0.113.7", 3).status_code == 201  # IPv4: each address its own
    # An IPv4 client seen as IPv4-mapped (a dual-stack socket) is its IPv4 address, not
    # ::/64, which every such client shared.
    assert hold("::ffff:198.51.100.7", 3).status_code == 201
    assert hold("::ffff:198.51.100.8", 3).status_code == 201
    assert Hold.objects.filter(client="addr:198.51.100.8").exists()

    settings.THROTTLE_ANON_RATE = "2/min"
    api_client.get("/api/shows", HTTP_X_FORWARDED_FOR="2001:db8:9:9::1")
    api_client.get("/api/shows", HTTP_X_FORWARDED_FOR="2001:db8:9:9::2")
    assert api_client.get("/api/shows", HTTP_X_FORWARDED_FOR="2001:db8:9:9::3").status_code == 429


def test_a_token_with_a_nul_in_it_is_a_401(show):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token ab\x00cd")

    response = client.get("/api/shows")

    assert (response.status_code, response.json()) == (401, {"detail": "Invalid token."})


@pytest.mark.parametrize("forwarded", ["not-an-address", "fe80::1%eth0"])
def test_an_admin_login_with_a_forwarded_value_that_is_no_address_is_the_login_form(client, settings, forwarded):
    # django-axes keeps the address in an address column: ValueError, a 500 (PostgreSQL's
    # inet takes no zone id either).
    settings.REST_FRAMEWORK = {**django_settings.REST_FRAMEWORK, "NUM_PROXIES": 1}

    response = client.post("/admin/login/", {"username": "nobody", "password": "guess"}, HTTP_X_FORWARDED_FOR=forwarded)

    assert response.status_code == 200
    assert b"Please enter the correct username and password" in response.content


@pytest.mark.parametrize("path", ["/api/health", "/api/seat-map-schema"])
def test_head_of_the_plain_reads_answers_as_get_does(api_client, path):
    # They allowed GET only: HEAD, what uptime probes send, was a 405.
    got, head = api_client.get(path), api_client.head(path)

    assert (head.status_code, head.content) == (got.status_code, b"")
    assert head["Content-Type"] == got["Content-Type"]


@pytest.mark.parametrize("digits", ["\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669", "०१२३४५६७८९"])
@pytest.mark.parametrize("kind", ["shows", "venues", "screens", "films", "webhooks"])
def test_an_item_named_by_digits_outside_ascii_is_a_404_never_the_item(staff_client, settings, kind, digits):
    # int() read "١" as 1: show 1 was read, changed and deleted through /api/shows/١ (its
    # seat map's URL, /api/shows/١/seats, was a 404 for the same id).
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    show = make_show()
    made = {
        "shows": show.pk,
        "venues": show.screen.venue_id,
        "screens": show.screen_id,
        "films": staff_client.post("/api/films", {"title": "Odd", "runtime_minutes": 90}, format="json").json()["id"],
        "webhooks": staff_client.post("/api/webhooks", {"url": "https://x.example/h"}, format="json").json()["id"],
    }[kind]
    alias = "".join(digits[int(digit)] for digit in str(made))
    assert staff_client.get(f"/api/{kind}/{made}").status_code == 200

    for method in ("get", "patch", "delete"):
        response = getattr(staff_client, method)(f"/api/{kind}/{alias}", {}, format="json")
        assert (response.status_code, response.json()) == (404, {"detail": "Not found."}), method
    if kind == "shows":  # its action that writes: a seat blocked through the alias
        blocked = staff_client.post(f"/api/shows/{alias}/blocks", {"seats": ["A1"]}, format="json")
        assert (blocked.status_code, show.blocks.count()) == (404, 0)
    assert staff_client.get(f"/api/{kind}/{made}").status_code == 200
