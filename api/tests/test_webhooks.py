# ruff: noqa: F811  (pytest fixtures imported from webhooks_helpers, used as arguments)
"""Webhooks delivered: the outbox written with the change, Standard Webhooks v1 signatures
checked by the specification's own library, a real HTTP receiver, retries, 410, redirects,
private addresses, and the README's example verifying a delivery. A receiver that asks for
a wait: test_webhook_waits.py; the staff API: test_webhooks_api.py; several workers at once
(PostgreSQL): test_webhooks_workers.py."""

import http.server
import re
import threading
import time
import tracemalloc
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook as Verifier
from standardwebhooks.webhooks import WebhookVerificationError

from api import outbound
from api.models import Webhook, WebhookEvent
from api.services import audit, sales, webhook_delivery, webhooks
from api.tests.conftest import ADA, book_seats
from api.tests.webhooks_helpers import (
    allow_private,  # noqa: F401 (the fixture)
    deliver,
    endpoint,  # noqa: F401 (the fixture)
    receiver,  # noqa: F401 (the fixture)
    verify,
)

# --- delivery ------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_booking_delivers_booking_created_signed_by_the_specification(endpoint, receiver, show):
    sale = book_seats(show.pk, quantity=2)

    result = deliver()

    assert (result.delivered, result.failed) == (1, 0)
    (request,) = receiver.requests
    body = verify(endpoint.secret, request)
    assert body["type"] == "booking.created"
    assert body["data"]["reference"] == sale.booking.reference
    assert body["data"]["name"] == ADA["name"]
    assert [t["id"] for t in body["data"]["tickets"]] == [str(t.pk) for t in sale.tickets]
    headers = {k.lower(): v for k, v in request["headers"].items()}
    event = WebhookEvent.objects.get()
    assert headers["webhook-id"] == event.message_id
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    assert headers["webhook-signature"].startswith("v1,")
    assert (event.status, event.attempts, event.response_status, event.next_attempt_at) == ("delivered", 1, 200, None)


@pytest.mark.django_db
def test_a_cancellation_carries_the_booking_and_its_people_as_the_booking_did(endpoint, show):
    # API.md: "data carries what the event is about (a booking with its reference, tickets
    # and the person's details)". booking.cancelled carried the reference and the tickets'
    # ids, ticket.cancelled four fields and no person: a theatre's system could not tell
    # whom to refund or send a message.
    whole = book_seats(show.pk, quantity=2)
    one_by_one = book_seats(show.pk, quantity=2, name="Grace Hopper", phone_number="+919876543210")
    first, last = one_by_one.tickets
    created = {e.payload["data"]["reference"]: e.payload["data"] for e in WebhookEvent.objects.all()}

    sales.booking_cancel(booking_id=whole.booking.pk, now=timezone.now())
    sales.ticket_cancel(ticket_id=first.pk, now=timezone.now())
    sales.ticket_cancel(ticket_id=last.pk, now=timezone.now())

    sent = [(e.type, e.payload["data"]) for e in WebhookEvent.objects.exclude(type="booking.created").order_by("pk")]
    grace = {"name": "Grace Hopper", "phone_number": "+919876543210"}
    assert sent == [
        ("booking.cancelled", created[whole.booking.reference]),
        ("ticket.cancelled", {**audit.ticket_data(first), **grace}),
        ("ticket.cancelled", {**audit.ticket_data(last), **grace}),
        (
            "booking.cancelled",
            {
                **created[one_by_one.booking.reference],
                "total": "0.00",
                "tickets": [{**audit.ticket_data(last), **grace}],
            },
        ),
    ]


@pytest.mark.django_db
def test_a_tampered_body_or_an_old_timestamp_fails_verification(endpoint, receiver, show):
    book_seats(show.pk)
    deliver()
    (request,) = receiver.requests
    headers = {k.lower(): v for k, v in request["headers"].items()}

    tampered = request["body"].replace(b"booking.created", b"booking.cancelled")
    with pytest.raises(WebhookVerificationError):
        Verifier(endpoint.secret).verify(tampered, headers)

    # Signed correctly, but over five minutes ago: a replay.
    old = int(time.time()) - 301
    replayed = {
        **headers,
        "webhook-timestamp": str(old),
        "webhook-signature": webhook_delivery.sign(endpoint.secret, headers["webhook-id"], old, request["body"]),
    }
    with pytest.raises(WebhookVerificationError, match="too old"):
        Verifier(endpoint.secret).verify(request["body"], replayed)
    # The same signing a minute ago verifies: the signature itself is the specification's.
    recent = int(time.time()) - 60
    fresh = {**replayed, "webhook-timestamp": str(recent)}
    fresh["webhook-signature"] = webhook_delivery.sign(endpoint.secret, headers["webhook-id"], recent, request["body"])
    assert Verifier(endpoint.secret).verify(request["body"], fresh)["type"] == "booking.created"


@pytest.mark.django_db
def test_a_rolled_back_booking_sends_nothing(endpoint, receiver, show):
    with pytest.raises(RuntimeError), transaction.atomic():
        book_seats(show.pk)
        assert WebhookEvent.objects.count() == 1  # written with the booking...
        raise RuntimeError("the payment failed")

    assert WebhookEvent.objects.count() == 0  # ...and gone with it
    assert deliver().sent == 0
    assert receiver.requests == []


@pytest.mark.django_db
def test_an_endpoint_only_gets_the_events_it_asked_for(receiver, allow_private, show):
    wants_cancel = webhooks.webhook_create(
        url=receiver.url, events=["booking.cancelled"], actor="t", now=timezone.now()
    )
    inactive = webhooks.webhook_create(url=receiver.url, events=[], actor="t", now=timezone.now())
    webhooks.webhook_update(webhook_id=inactive.pk, actor="t", now=timezone.now(), active=False)

    book_seats(show.pk)

    assert WebhookEvent.objects.count() == 0
    assert wants_cancel.deliveries.count() == 0


@pytest.mark.django_db
def test_a_failure_is_retried_with_the_same_webhook_id(endpoint, receiver, show):
    receiver.answers = [500]
    book_seats(show.pk)

    assert deliver().failed == 1
    event = WebhookEvent.objects.get()
    assert (event.status, event.attempts, event.response_status) == ("failed", 1, 500)
    # The first retry waits about 5 seconds (with jitter): not due at once...
    assert event.next_attempt_at is not None
    assert timedelta(seconds=4) < event.next_attempt_at - timezone.now() < timedelta(seconds=6)
    assert deliver().sent == 0

    assert deliver(after=timedelta(seconds=10)).delivered == 1

    first, second = receiver.requests
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"] == event.message_id
    event.refresh_from_db()
    assert (event.status, event.attempts, event.response_status, event.next_attempt_at) == ("delivered", 2, 200, None)


@pytest.mark.django_db
def test_410_gone_disables_the_endpoint(endpoint, receiver, show):
    receiver.answers = [410]
    book_seats(show.pk)

    deliver()

    endpoint.refresh_from_db()
    assert endpoint.active is False
    book_seats(show.pk)  # no outbox row for a disabled endpoint
    assert WebhookEvent.objects.count() == 1
    assert deliver(after=timedelta(days=1)).sent == 0
    assert len(receiver.requests) == 1


@pytest.mark.django_db
def test_a_redirect_is_a_failure_and_is_not_followed(endpoint, receiver, show):
    receiver.answers = [302]
    book_seats(show.pk)

    assert deliver().failed == 1

    assert [r["path"] for r in receiver.requests] == ["/hooks"]  # never to /elsewhere
    assert WebhookEvent.objects.get().response_status == 302


def test_a_receivers_long_answer_is_read_to_its_end_but_not_kept():
    """Only an answer's status and Retry-After count: its body was kept whole in memory, so
    a receiver (or a URL registered by mistake, a download) answering a large one as fast as
    the network goes grew a worker by gigabytes within its 15 s, in each lane at once."""
    size, chunk = 64 * 2**20, b"x" * 2**20

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers["content-length"]))
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            for _ in range(size // len(chunk)):
                self.wfile.write(chunk)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    tracemalloc.start()
    try:
        with outbound.Sender(timeout=10, allow_private=True) as sender:
            url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
            answer = sender.post(url, content=b"{}", headers={"content-type": "application/json"})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        server.shutdown()
        server.server_close()

    assert answer == outbound.Answer(200)
    assert peak < 16 * 2**20, f"{peak / 2**20:.0f} MiB held for a {size / 2**20:.0f} MiB answer"


@pytest.mark.django_db
def test_a_refused_connection_is_a_failure(allow_private, show):
    webhooks.webhook_create(url="http://127.0.0.1:9/nobody-listens", events=[], actor="t", now=timezone.now())
    book_seats(show.pk)

    assert deliver().failed == 1
    event = WebhookEvent.objects.get()
    assert (event.status, event.response_status) == ("failed", None)


@pytest.mark.django_db
def test_private_addresses_are_refused_without_the_setting(staff_client, receiver, settings, show):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    for url in ("http://127.0.0.1:8000/x", "http://10.1.2.3/x", "http://[::1]/x", "http://localhost/x"):
        response = staff_client.post("/api/webhooks", {"url": url}, format="json")
        assert response.status_code == 400, url
        assert list(response.json()) == ["url"]

    # Registered while allowed, then refused at delivery: nothing is sent.
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    webhooks.webhook_create(url=receiver.url, events=[], actor="t", now=timezone.now())
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    book_seats(show.pk)
    assert deliver().failed == 1
    assert receiver.requests == []


@pytest.mark.django_db
def test_an_endpoint_that_cant_be_sent_to_fails_its_own_events_only(endpoint, receiver, show):
    # Saved before check_url refused such hosts: httpx's InvalidURL is not an HTTPError.
    Webhook.objects.create(url="http://\u2603.net/hook", events=[], secret=webhooks.new_secret())
    book_seats(show.pk)

    result = deliver()

    assert (result.delivered, result.failed) == (1, 1)
    assert len(receiver.requests) == 1
    assert WebhookEvent.objects.get(webhook__url__contains="net").status == "failed"


def test_the_retry_schedule_lasts_at_least_three_days_then_gives_up(monkeypatch):
    monkeypatch.setattr(webhook_delivery.random, "uniform", lambda low, high: low)  # the shortest jitter
    delays = [webhook_delivery.retry_delay(n) for n in range(1, len(webhook_delivery.RETRY_DELAYS) + 1)]
    assert all(delay is not None for delay in delays)
    total = sum((delay for delay in delays if delay is not None), timedelta())
    assert total >= timedelta(days=3)
    assert webhook_delivery.retry_delay(len(webhook_delivery.RETRY_DELAYS) + 1) is None


@pytest.mark.django_db
def test_a_given_up_event_has_no_next_attempt(endpoint, receiver, show):
    book_seats(show.pk)
    WebhookEvent.objects.update(attempts=len(webhook_delivery.RETRY_DELAYS))
    receiver.answers = [503]

    deliver()

    event = WebhookEvent.objects.get()
    assert (event.status, event.next_attempt_at) == ("failed", None)


@pytest.mark.django_db
@pytest.mark.parametrize("answer, status", [(200, "delivered"), (500, "failed")])
def test_a_retry_asked_for_during_an_attempt_sends_once_more(endpoint, receiver, show, monkeypatch, answer, status):
    receiver.answers = [answer]
    book_seats(show.pk)
    event = WebhookEvent.objects.get()
    send = webhook_delivery._send
    retried: list[datetime] = []

    def send_then_staff_retry(*args):
        # The answer is on its way back, not yet recorded, when staff ask for a retry.
        answered = send(*args)
        if not retried:
            retried.append(timezone.now())
            webhooks.delivery_retry(delivery_id=event.pk, actor="staff:test", now=retried[0])
        return answered

    monkeypatch.setattr(webhook_delivery, "_send", send_then_staff_retry)

    deliver()

    event.refresh_from_db()
    # The attempt's answer is logged, and the retry still stands: due at once, not None
    # (delivered) nor the 5 s of the first failure's schedule.
    assert (event.status, event.attempts, event.response_status) == (status, 1, answer)
    assert event.next_attempt_at == retried[0]
    assert deliver().delivered == 1
    assert [r["headers"]["webhook-id"] for r in receiver.requests] == [event.message_id] * 2
    event.refresh_from_db()
    assert (event.status, event.attempts, event.next_attempt_at) == ("delivered", 2, None)


@pytest.mark.django_db
def test_a_retry_asked_for_during_an_attempt_waits_for_it_no_other_worker_sends_it_meanwhile(
    endpoint, receiver, show, monkeypatch
):
    book_seats(show.pk)
    event = WebhookEvent.objects.get()
    send = webhook_delivery._send
    claimed_meanwhile: list[list[WebhookEvent]] = []

    def staff_retry_then_another_worker_polls(*args):
        webhooks.delivery_retry(delivery_id=event.pk, actor="staff:test", now=timezone.now())
        # Another host's worker polls while this attempt's request is still out: the
        # retry made the event due, but its lease runs.
        claimed_meanwhile.append(webhook_delivery._claim(timezone.now(), webhook_delivery.BATCH_SIZE))
        return send(*args)

    monkeypatch.setattr(webhook_delivery, "_send", staff_retry_then_another_worker_polls)

    deliver()

    assert claimed_meanwhile == [[]]
    assert len(receiver.requests) == 1
    event.refresh_from_db()
    assert (event.status, event.attempts, event.leased_until) == ("delivered", 1, None)
    monkeypatch.setattr(webhook_delivery, "_send", send)
    assert deliver().delivered == 1  # the retry, after the attempt
    assert [r["headers"]["webhook-id"] for r in receiver.requests] == [event.message_id] * 2


# --- the README's example --------------------------------------------------------------


def readme_example() -> str:
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    match = re.search(r"<!-- verify-example -->\s*```python\n(.*?)```", readme, re.S)
    assert match, "README.md lost its signature example"
    return match.group(1)


@pytest.mark.django_db
def test_the_readme_example_verifies_a_delivery(endpoint, receiver, show):
    example = readme_example()
    assert len([line for line in example.splitlines() if line.strip()]) <= 12  # lines of code
    book_seats(show.pk)
    deliver()
    (request,) = receiver.requests
    headers = {k.lower(): v for k, v in request["headers"].items()}
    namespace: dict = {}
    exec(compile(example, "README.md", "exec"), namespace)  # defines verify(secret, headers, body)

    assert namespace["verify"](endpoint.secret, headers, request["body"])["type"] == "booking.created"
    with pytest.raises(ValueError):
        namespace["verify"](endpoint.secret, headers, request["body"] + b" ")
    old = {**headers, "webhook-timestamp": str(int(time.time()) - 301)}
    old["webhook-signature"] = webhook_delivery.sign(
        endpoint.secret, headers["webhook-id"], int(old["webhook-timestamp"]), request["body"]
    )
    with pytest.raises(ValueError):
        namespace["verify"](endpoint.secret, old, request["body"])
