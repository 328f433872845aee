"""Limits on what one request or one client may ask: body size, form fields, page size,
seats per hold and per client, and the throttle behind a proxy."""

import json
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from api.models import Film, Hold, Show, Ticket
from api.tests.conftest import ADA as MINE
from api.tests.conftest import make_show, open_timing

pytestmark = pytest.mark.django_db

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


def _film_with_a_file_part(size: int) -> dict:
    return {"title": "Big", "runtime_minutes": "100", "poster": SimpleUploadedFile("poster.bin", b"x" * size)}


def test_a_multipart_body_over_the_size_limit_is_413_json_file_parts_and_all(staff_client):
    """Django counts a multipart body's fields against the limit, never its file parts: a 2 MB
    file part (which the view ignores) was read whole and the film made, 201."""
    response = staff_client.post("/api/films", _film_with_a_file_part(2 * 1024 * 1024), format="multipart")
    assert (response.status_code, response.json()) == (413, TOO_LARGE)
    assert not Film.objects.exists()


def test_a_signed_in_browsers_multipart_form_over_the_size_limit_is_413_json(staff_user):
    """The browsable API's form, from a session: its CSRF check reads the body (the token in
    the form) before the view does, and is held to the limit as the view is."""
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(staff_user)
    browser.get("/admin/")  # a page with a form: Django sets the csrftoken cookie
    fields = {**_film_with_a_file_part(100 * 1024), "csrfmiddlewaretoken": browser.cookies["csrftoken"].value}
    response = browser.post("/api/films", fields, format="multipart")
    assert (response.status_code, response.json()) == (413, TOO_LARGE)
    assert not Film.objects.exists()


def test_a_multipart_body_under_the_size_limit_is_read(staff_client):
    response = staff_client.post("/api/films", _film_with_a_file_part(10 * 1024), format="multipart")
    assert response.status_code == 201, response.json()
    assert Film.objects.get().title == "Big"


def test_a_form_with_too_many_fields_is_400_json(staff_client, show):
    # A client with credentials: an anonymous one's form is refused unread (test_form_bodies.py).
    body = "&".join(f"f{i}=1" for i in range(django_settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    response = staff_client.post("/api/tickets", body, content_type="application/x-www-form-urlencoded")
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
