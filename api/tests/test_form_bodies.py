"""Form bodies (urlencoded, multipart) at the API: another site can make a visitor's
browser send one with a plain HTML form, so they are taken only from clients that sign
in (api/parsers.py). Anonymous clients send JSON, as API.md has it."""

from urllib.parse import urlencode

import pytest
from django.test.client import MULTIPART_CONTENT, encode_multipart
from rest_framework.test import APIClient

from ..models import Booking, Hold, Ticket
from .conftest import ADA, make_show, screen_of

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"
MULTIPART_BOUNDARY = MULTIPART_CONTENT.replace("BoUnDaRyStRiNg", "BoUnDaRy")
SEND_JSON = "Send the body as JSON (Content-Type: application/json): a form is taken only from a client that signs in."


def _anonymous_writes(show_pk: int) -> list[tuple[str, dict]]:
    return [
        ("/api/tickets", {**ADA, "show": show_pk}),
        ("/api/bookings", {**ADA, "show": show_pk, "quantity": 1}),
        ("/api/holds", {"show": show_pk, "seats": "A1"}),
        (f"/api/shows/{show_pk}/waitlist", {**ADA, "party_size": 1}),
    ]


def test_an_anonymous_form_body_is_415_json_and_nothing_is_made(api_client):
    show = make_show(screen=screen_of(10), capacity=10)
    for url, fields in _anonymous_writes(show.pk):
        response = api_client.post(url, urlencode(fields), content_type=FORM)
        assert (response.status_code, response.json()) == (415, {"detail": SEND_JSON}), url
    assert not Ticket.objects.exists() and not Booking.objects.exists() and not Hold.objects.exists()


def test_an_anonymous_multipart_body_is_415_too(api_client):
    show = make_show(screen=screen_of(10), capacity=10)
    body = encode_multipart("BoUnDaRy", {**ADA, "show": show.pk})
    response = api_client.post(
        "/api/tickets", body, content_type=MULTIPART_CONTENT.replace("BoUnDaRyStRiNg", "BoUnDaRy")
    )
    assert (response.status_code, response.json()) == (415, {"detail": SEND_JSON})
    assert not Ticket.objects.exists()


def test_the_same_request_as_json_books(api_client):
    show = make_show(screen=screen_of(10), capacity=10)
    response = api_client.post("/api/tickets", {**ADA, "show": show.pk}, format="json")
    assert response.status_code == 201, response.json()


def test_a_refused_form_leaves_its_idempotency_key_free(api_client):
    show = make_show(screen=screen_of(10), capacity=10)
    fields = {"show": show.pk, "seats": ["A1"]}
    refused = api_client.post(
        "/api/holds", urlencode(fields, doseq=True), content_type=FORM, HTTP_IDEMPOTENCY_KEY="hold-1"
    )
    held = api_client.post("/api/holds", fields, format="json", HTTP_IDEMPOTENCY_KEY="hold-1")
    assert refused.status_code == 415
    assert held.status_code == 201, held.json()
    assert Hold.objects.count() == 1


def test_a_client_with_a_token_may_still_send_a_form(staff_client):
    show = make_show(screen=screen_of(10), capacity=10)
    response = staff_client.post("/api/holds", urlencode({"show": show.pk, "seats": "A2"}), content_type=FORM)
    assert response.status_code == 201, response.json()
    assert Hold.objects.get().seats == ["A2"]


def test_a_signed_in_session_sending_a_form_needs_its_csrf_token(staff_user):
    show = make_show(screen=screen_of(10), capacity=10)
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(staff_user)
    response = browser.post("/api/holds", urlencode({"show": show.pk, "seats": "A3"}), content_type=FORM)
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert not Hold.objects.exists()


@pytest.mark.parametrize(
    "credentials",
    [
        {"HTTP_AUTHORIZATION": "Basic c3RhZ2luZzpzdGFnaW5n"},  # a staging site's HTTP auth, sent by the browser
        {"HTTP_AUTHORIZATION": "Bearer abc"},
        {"HTTP_COOKIE": "sessionid=not-a-session"},
    ],
)
def test_a_header_or_a_cookie_that_signs_nobody_in_is_still_anonymous(api_client, credentials):
    """Any Authorization header, or any session cookie, let a form through: a browser sends
    a site's Basic credentials on its own, and another site's form then booked with them."""
    show = make_show(screen=screen_of(10), capacity=10)

    response = api_client.post(
        "/api/holds", urlencode({"show": show.pk, "seats": "A1"}), content_type=FORM, **credentials
    )

    assert (response.status_code, response.json()) == (415, {"detail": SEND_JSON})
    assert not Hold.objects.exists()


def test_a_signed_in_browser_posting_the_browsable_apis_form_books(staff_user):
    """The browsable API's form: a session, its csrftoken cookie, the token in the body. Its
    CSRF check reads the body, and the form parser's question "signed in?" started the
    check again: a RecursionError, a 500."""
    show = make_show(screen=screen_of(10), capacity=10)
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(staff_user)
    browser.get("/admin/")  # a page with a form: Django sets the csrftoken cookie
    token = browser.cookies["csrftoken"].value

    fields = {"show": show.pk, "seats": "A4", "csrfmiddlewaretoken": token}
    response = browser.post("/api/holds", encode_multipart("BoUnDaRy", fields), content_type=MULTIPART_BOUNDARY)

    assert response.status_code == 201, response.content
    assert Hold.objects.get().seats == ["A4"]
