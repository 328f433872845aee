"""The Idempotency-Key header on POST /api/tickets, /api/holds and /api/bookings (API.md, "Conventions")."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from api.errors import IdempotencyKeyInUse
from api.models import Booking, Hold, IdempotencyKey, Ticket
from api.tests.conftest import all_at_once, make_show, postgres_only, screen_of
from api.views.base import domain_error_response

pytestmark = pytest.mark.django_db

ADA = {"name": "Ada Lovelace", "phone_number": "+914155550123"}


def post(client, url: str, data: dict, key: str | None = None, addr: str = "127.0.0.1"):
    extra = {"REMOTE_ADDR": addr}
    if key is not None:
        extra["HTTP_IDEMPOTENCY_KEY"] = key
    return client.post(url, data, format="json", **extra)


def test_retry_of_a_ticket_replays_the_first_answer(api_client, show):
    data = {"show": show.pk, **ADA}
    first = post(api_client, "/api/tickets", data, key="order-1")

    retry = post(api_client, "/api/tickets", data, key="order-1")

    assert first.status_code == retry.status_code == 201
    assert retry.content == first.content  # the same bytes: the keys in the same order
    assert retry["Location"] == first["Location"] == f"/api/tickets/{first.json()['id']}"
    assert Ticket.objects.count() == 1
    assert Booking.objects.count() == 1


def test_retry_with_or_without_the_trailing_slash_is_the_same_request(api_client, show):
    data = {"show": show.pk, **ADA}
    first = post(api_client, "/api/tickets", data, key="order-1")

    retry = post(api_client, "/api/tickets/", data, key="order-1")

    assert retry.status_code == 201
    assert retry.content == first.content  # the same bytes: the keys in the same order
    assert Ticket.objects.count() == 1


def test_without_a_key_each_post_books_again(api_client, show):
    data = {"show": show.pk, **ADA}

    assert post(api_client, "/api/tickets", data).status_code == 201
    assert post(api_client, "/api/tickets", data).status_code == 201
    assert Ticket.objects.count() == 2
    assert not IdempotencyKey.objects.exists()


def test_retry_of_a_one_step_booking_replays_the_first_answer(api_client, show):
    data = {"show": show.pk, "quantity": 3, **ADA}
    first = post(api_client, "/api/bookings", data, key="basket-7")

    retry = post(api_client, "/api/bookings", data, key="basket-7")

    assert first.status_code == retry.status_code == 201
    assert retry.content == first.content  # the same bytes: the keys in the same order
    assert retry["Location"] == first["Location"]
    assert Ticket.objects.count() == 3
    assert Booking.objects.count() == 1


def test_retry_of_a_hold_replays_the_first_answer_and_holds_nothing_more(api_client, show):
    data = {"show": show.pk, "quantity": 2}
    first = post(api_client, "/api/holds", data, key="cart-3")

    retry = post(api_client, "/api/holds", data, key="cart-3")
    other = post(api_client, "/api/holds", {"show": show.pk, "quantity": 3}, key="cart-3")

    assert first.status_code == retry.status_code == 201
    assert retry.content == first.content  # the same bytes: the keys in the same order
    assert retry["Location"] == first["Location"] == f"/api/holds/{first.json()['id']}"
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert Hold.objects.count() == 1


def test_retry_of_a_confirm_replays_it_though_the_hold_is_spent(api_client, show):
    held = api_client.post("/api/holds", {"show": show.pk, "quantity": 2}, format="json").json()
    data = {"hold": held["id"], **ADA}
    first = post(api_client, "/api/bookings", data, key="pay-42")

    retry = post(api_client, "/api/bookings", data, key="pay-42")

    assert first.status_code == retry.status_code == 201
    assert retry.content == first.content  # the same bytes: the keys in the same order
    assert Ticket.objects.count() == 2
    # Without the key, the same confirm is refused: the hold was used.
    assert post(api_client, "/api/bookings", data).json()["code"] == "hold_expired"


@pytest.mark.parametrize(
    ("url", "other"),
    [
        ("/api/tickets", {"name": "Ada Byron"}),
        ("/api/bookings", {"quantity": 2}),
    ],
)
def test_same_key_with_another_body_is_422(api_client, show, url, other):
    data = {"show": show.pk, **ADA}
    if url == "/api/bookings":
        data["quantity"] = 1
    assert post(api_client, url, data, key="k-1").status_code == 201

    response = post(api_client, url, {**data, **other}, key="k-1")

    assert response.status_code == 422
    assert response.json() == {
        "detail": "This Idempotency-Key was used with another request body.",
        "code": "idempotency_key_reused",
    }
    assert Ticket.objects.count() == 1


def test_same_key_on_another_endpoint_is_422(api_client, show):
    data = {"show": show.pk, "seats": ["A1"], **ADA}
    assert post(api_client, "/api/bookings", data, key="k-1").status_code == 201

    response = post(api_client, "/api/tickets", {"show": show.pk, "seat": "A2", **ADA}, key="k-1")

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"


def test_keys_are_scoped_to_the_caller(api_client, staff_client, show):
    data = {"show": show.pk, **ADA}
    first = post(api_client, "/api/tickets", data, key="shared-key", addr="10.0.0.1")

    other_address = post(api_client, "/api/tickets", data, key="shared-key", addr="10.0.0.2")
    staff = post(staff_client, "/api/tickets", data, key="shared-key", addr="10.0.0.1")

    assert first.status_code == other_address.status_code == staff.status_code == 201
    assert len({first.json()["id"], other_address.json()["id"], staff.json()["id"]}) == 3
    assert Ticket.objects.count() == 3
    # Each caller's own retry still replays its own answer.
    assert post(staff_client, "/api/tickets", data, key="shared-key", addr="10.0.0.9").json() == staff.json()


@pytest.mark.parametrize("key", ["x" * 256, "", "tab\there", "new\u0085line"])
def test_invalid_key_is_400(api_client, show, key):
    response = post(api_client, "/api/tickets", {"show": show.pk, **ADA}, key=key)

    assert response.status_code == 400
    assert response.json() == {"Idempotency-Key": ["Use 1 to 255 printable ASCII characters."]}
    assert not Ticket.objects.exists()


def test_longest_key_is_accepted(api_client, show):
    key = "k" * 255
    first = post(api_client, "/api/tickets", {"show": show.pk, **ADA}, key=key)
    retry = post(api_client, "/api/tickets", {"show": show.pk, **ADA}, key=key)

    assert first.status_code == retry.status_code == 201
    assert retry.content == first.content  # the same bytes: the keys in the same order
    assert IdempotencyKey.objects.get().key == key


def test_keys_are_kept_24_hours(api_client):
    show = make_show(days=5)
    data = {"show": show.pk, **ADA}
    moment = timezone.now().replace(microsecond=0)
    with time_machine.travel(moment, tick=False):
        first = post(api_client, "/api/tickets", data, key="daily")

    with time_machine.travel(moment + timedelta(hours=24, seconds=-1), tick=False):
        assert post(api_client, "/api/tickets", data, key="daily").json() == first.json()
        assert Ticket.objects.count() == 1
    with time_machine.travel(moment + timedelta(hours=24), tick=False):
        later = post(api_client, "/api/tickets", data, key="daily")
    assert later.status_code == 201
    assert later.json()["id"] != first.json()["id"]
    assert Ticket.objects.count() == 2
    assert IdempotencyKey.objects.count() == 1


def test_a_refused_request_does_not_use_up_its_key(api_client):
    """The key is claimed in the booking's transaction: no booking, no stored answer,
    so the client's retry is tried afresh (here once a seat was freed)."""
    show = make_show(capacity=1)
    taken = post(api_client, "/api/tickets", {"show": show.pk, **ADA}).json()
    data = {"show": show.pk, "name": "Bob", "phone_number": "+914155550124"}
    refused = post(api_client, "/api/tickets", data, key="retry-me")
    assert refused.status_code == 409
    assert refused.json()["code"] == "sold_out"
    assert not IdempotencyKey.objects.exists()
    api_client.delete(f"/api/tickets/{taken['id']}")

    retry = post(api_client, "/api/tickets", data, key="retry-me")

    assert retry.status_code == 201
    assert IdempotencyKey.objects.count() == 1


def test_invalid_body_with_a_key_is_400_and_stores_nothing(api_client, show):
    response = post(api_client, "/api/tickets", {"show": show.pk, "name": "Ada"}, key="k-2")

    assert response.status_code == 400
    assert response.json() == {"phone_number": ["This field is required."]}
    assert not IdempotencyKey.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("url", ["/api/tickets", "/api/bookings"])
@postgres_only
def test_ten_concurrent_requests_with_one_key_book_once(url):
    """Ten retries of one request arrive together: one books, the others replay its answer
    or, while it still runs, are told 409 idempotency_key_in_use. Never a second booking."""
    show = make_show()
    data = {"show": show.pk, **ADA}
    if url == "/api/bookings":
        data["quantity"] = 2

    def send(_: int) -> tuple[int, dict]:
        response = post(APIClient(), url, data, key="same-click")
        return response.status_code, response.json()

    answers = all_at_once(10, send)

    assert len(answers) == 10
    created = [body for status, body in answers if status == 201]
    busy = [body for status, body in answers if status == 409]
    assert len(created) + len(busy) == 10, answers
    assert created, answers
    assert all(body == created[0] for body in created)
    assert all(
        body == {"detail": "A request with this Idempotency-Key is still running.", "code": "idempotency_key_in_use"}
        for body in busy
    )
    assert Booking.objects.count() == 1
    assert Ticket.objects.count() == (1 if url == "/api/tickets" else 2)
    ticket_ids = {t["id"] for t in created[0]["tickets"]} if url == "/api/bookings" else {created[0]["id"]}
    assert set(map(str, Ticket.objects.values_list("pk", flat=True))) == ticket_ids


@pytest.mark.parametrize(
    ("url", "data", "made"),
    [
        ("/api/bookings", {"quantity": 2, **ADA}, (4, 0)),
        ("/api/tickets", ADA, (2, 0)),
        ("/api/holds", {"quantity": 2}, (0, 2)),
    ],
)
def test_a_request_anyone_could_send_is_not_replayed_to_another_address(api_client, show, url, data, made):
    """A key alone proves nothing ("aaaaaaaaaaaaaaaa" is a guess away): a hold's body is
    just a show and a number, and replayed to anyone sending it, one client got another's
    hold, then booked its seats. Without a secret in the body, a key is its address's."""
    key, body = "aaaaaaaaaaaaaaaa", {"show": show.pk, **data}
    first = post(api_client, url, body, key=key, addr="203.0.113.10")

    other = post(api_client, url, body, key=key, addr="198.51.100.20")

    assert first.status_code == other.status_code == 201
    assert (Ticket.objects.count(), Hold.objects.count()) == made  # each its own


def test_a_confirm_retried_from_another_address_replays_the_booking(api_client, show):
    """A phone that moved from WiFi to mobile data retries from another address: keyed by
    address, the retry was told the hold had run out, and the customer held and booked
    again. A confirm carries its hold's id, which only the holder has: its key is
    recognised from any address."""
    hold = post(api_client, "/api/holds", {"show": show.pk, "quantity": 1}, addr="203.0.113.10").json()
    body, key = {"hold": hold["id"], **ADA}, f"confirm-{hold['id']}"
    first = post(api_client, "/api/bookings", body, key=key, addr="203.0.113.10")

    retry = post(api_client, "/api/bookings", body, key=key, addr="198.51.100.20")

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.content == first.content  # the same bytes: the keys in the same order


def test_customers_confirming_their_own_holds_under_one_key_both_book(api_client, show):
    """Every anonymous confirm shared one scope: customer B's first confirm, under a key
    customer A had used for A's own hold, was refused as a reuse (422), though B never sent
    it. A confirm's key is its hold's; each retry still replays its own booking."""
    key = "confirm-booking-1"
    hold_a = post(api_client, "/api/holds", {"show": show.pk, "quantity": 1}, addr="203.0.113.10").json()["id"]
    hold_b = post(api_client, "/api/holds", {"show": show.pk, "quantity": 1}, addr="198.51.100.20").json()["id"]
    body_a = {"hold": hold_a, **ADA}
    body_b = {"hold": hold_b, "name": "Bea", "phone_number": "+914155550124"}
    a = post(api_client, "/api/bookings", body_a, key=key, addr="203.0.113.10")

    b = post(api_client, "/api/bookings", body_b, key=key, addr="198.51.100.20")

    assert (a.status_code, b.status_code) == (201, 201), b.json()
    assert a.json()["reference"] != b.json()["reference"]
    assert post(api_client, "/api/bookings", body_a, key=key, addr="198.51.100.20").json() == a.json()
    assert set(IdempotencyKey.objects.values_list("scope", flat=True)) == {f"hold:{hold_a}", f"hold:{hold_b}"}


@pytest.mark.parametrize("hold", ["h" * 300, 7, None, ["a"], "00000000-0000-4000-8000-00000000000g"])
def test_a_confirm_whose_hold_is_no_id_is_400_under_a_key(api_client, show, hold):
    """The key's scope is the hold's id only when the body gives one (the scope's column is
    100 characters): anything else is the address's, and the body's 400 stores no key."""
    response = post(api_client, "/api/bookings", {"hold": hold, **ADA}, key="confirm-1")

    assert (response.status_code, list(response.json())) == (400, ["hold"])
    assert not IdempotencyKey.objects.exists()


def test_a_staff_callers_confirm_is_not_replayed_to_an_anonymous_one(api_client, staff_client, show):
    hold = post(api_client, "/api/holds", {"show": show.pk, "quantity": 1}, addr="10.0.0.1").json()
    body, key = {"hold": hold["id"], **ADA}, f"confirm-{hold['id']}"
    assert post(staff_client, "/api/bookings", body, key=key, addr="10.0.0.1").status_code == 201

    anonymous = post(api_client, "/api/bookings", body, key=key, addr="10.0.0.1")

    assert (anonymous.status_code, anonymous.json()["code"]) == (409, "hold_expired")


@pytest.mark.parametrize("key", ["café-order-1", "ключ-1", "\U0001f39f\ufe0f-1"])
def test_a_key_outside_printable_ascii_is_400(api_client, show, key):
    """A header's bytes are read as Latin-1: UTF-8 keys were taken or refused by chance
    (café stored as cafÃ©, ключ refused)."""
    response = post(api_client, "/api/tickets", {"show": show.pk, **ADA}, key=key.encode().decode("latin-1"))

    assert response.status_code == 400
    assert response.json() == {"Idempotency-Key": ["Use 1 to 255 printable ASCII characters."]}


def test_a_retry_while_the_first_runs_is_told_when_to_come_back():
    response = domain_error_response(IdempotencyKeyInUse(), None)

    assert (response.status_code, response.data["code"]) == (409, "idempotency_key_in_use")
    assert response["Retry-After"] == "1"


def test_a_retry_replays_though_what_its_body_names_was_deleted_since(api_client):
    """The body was read before the key: once the hold was released and its show and screen
    deleted, the same request with the same key was a 400 on `screen`, not the first answer."""
    screen = screen_of(10, name="Studio")
    show = make_show(screen=screen, days=2)
    local = timezone.localtime(show.starts_at)
    body = {"date": local.date().isoformat(), "time": local.strftime("%H:%M"), "screen": screen.pk, "quantity": 1}
    key = "0b9e2a4c-5d6f-4a1b-8c7d-9e0f1a2b3c4d"
    first = post(api_client, "/api/holds", body, key=key)
    assert first.status_code == 201, first.json()
    Hold.objects.all().delete()
    show.delete()
    screen.delete()

    retry = post(api_client, "/api/holds", body, key=key)

    assert (retry.status_code, retry.json()) == (201, first.json())


@pytest.mark.parametrize("body", ["null", "[]", '"hold"', "3"])
def test_a_body_that_is_no_object_with_a_key_is_a_400(api_client, body):
    """A confirm is told by its body's `hold`: a body of null was a 500 (found by the fuzz
    test), and a string containing "hold" was taken for a confirm."""
    response = api_client.post(
        "/api/bookings", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1", REMOTE_ADDR="10.0.0.1"
    )

    assert response.status_code == 400
    assert not IdempotencyKey.objects.exists()
