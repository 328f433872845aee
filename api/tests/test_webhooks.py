# ruff: noqa: F811  (pytest fixtures imported from webhooks_helpers, used as arguments)
"""Webhooks delivered: the outbox written with the change, Standard Webhooks v1 signatures
checked by the specification's own library, a real HTTP receiver, retries, 410, redirects,
private addresses, and the README's example verifying a delivery. The staff API:
test_webhooks_api.py; several workers at once (PostgreSQL): test_webhooks_workers.py."""

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook as Verifier
from standardwebhooks.webhooks import WebhookVerificationError

from api import outbound
from api.models import Webhook, WebhookEvent
from api.services import audit, sales, webhook_delivery, webhook_lanes, webhooks
from api.tests.conftest import ADA, book_seats
from api.tests.webhooks_helpers import (
    allow_private,  # noqa: F401 (the fixture)
    deliver,
    endpoint,  # noqa: F401 (the fixture)
    hook_at,
    queue_events,
    receiver,  # noqa: F401 (the fixture)
)


def verify(secret: str, request: dict) -> dict:
    """The specification's check, by its own library, as a receiver would run it."""
    headers = {k.lower(): v for k, v in request["headers"].items()}
    return Verifier(secret).verify(request["body"], headers)


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

    sales.booking_cancel(booking_id=whole.booking.pk)
    sales.ticket_cancel(ticket_id=first.pk)
    sales.ticket_cancel(ticket_id=last.pk)

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


def due_in(event: WebhookEvent) -> float:
    event.refresh_from_db()
    assert event.next_attempt_at is not None
    return (event.next_attempt_at - timezone.now()).total_seconds()


@pytest.mark.django_db
@pytest.mark.parametrize("status", [503, 500, 429])
def test_a_failure_with_retry_after_waits_that_long_and_the_endpoints_other_events_too(
    endpoint, receiver, show, status
):
    receiver.answers, receiver.retry_after = [status], "3600"
    first, second = book_seats(show.pk), book_seats(show.pk)

    result = deliver()

    # Standard Webhooks: a Retry-After is "taken into consideration when scheduling the
    # next attempt". The other event claimed with it is not sent, nor counted: it waits too.
    assert (result.delivered, result.failed, len(receiver.requests)) == (0, 1, 1)
    tried, waiting = WebhookEvent.objects.order_by("pk")
    assert (tried.status, tried.attempts, tried.response_status) == ("failed", 1, status)
    assert 3590 < due_in(tried) <= 3600 * 1.1  # not the schedule's 5 s; its own jitter above the hour
    assert (waiting.status, waiting.attempts) == ("pending", 0)
    assert 3590 < due_in(waiting) <= 3600
    assert deliver(after=timedelta(minutes=30)).sent == 0
    assert deliver(after=timedelta(hours=2)).delivered == 2
    assert {first.booking.reference, second.booking.reference} == {
        verify(endpoint.secret, r)["data"]["reference"] for r in receiver.requests[1:]
    }


@pytest.mark.django_db
@pytest.mark.parametrize("status", [429, 502, 504])
def test_a_receiver_under_load_is_throttled_without_retry_after(endpoint, receiver, show, status):
    receiver.answers = [status]
    book_seats(show.pk), book_seats(show.pk)

    assert deliver().failed == 1

    # "Recommended to throttle the requests": the second event waits for the first's retry.
    assert len(receiver.requests) == 1
    tried, waiting = WebhookEvent.objects.order_by("pk")
    assert (waiting.status, waiting.attempts) == ("pending", 0)
    assert 4 < due_in(waiting) <= 5 and 4 < due_in(tried) < 6
    assert deliver(after=timedelta(seconds=10)).delivered == 2


@pytest.mark.django_db
def test_a_wait_asked_for_holds_back_every_event_at_the_url_past_the_batch_and_the_run(endpoint, receiver):
    # The wait was kept for the batch alone: the lane's next batch (events past the first
    # 100), the next run and another endpoint registered at the same URL went on at once.
    hook_at(receiver)  # a second endpoint at the same URL
    queue_events(webhook_delivery.BATCH_SIZE)  # a row each for both endpoints: two batches
    receiver.answers, receiver.retry_after = [429], "3600"

    webhook_lanes.webhooks_deliver_due(seconds=5)
    assert deliver(after=timedelta(minutes=1)).sent == 0

    assert len(receiver.requests) == 1
    hour = timezone.now() + timedelta(minutes=59)
    assert not WebhookEvent.objects.filter(next_attempt_at__lt=hour).exists()
    assert WebhookEvent.objects.filter(attempts=0).count() == 2 * webhook_delivery.BATCH_SIZE - 1
    # A batch a call: the rest is sent once the hour is over.
    assert sum(deliver(after=timedelta(hours=2)).delivered for _ in range(3)) == 2 * webhook_delivery.BATCH_SIZE


@pytest.mark.django_db
def test_a_wait_asked_for_as_the_batch_runs_out_of_time_still_holds(endpoint, receiver):
    # The answer came back after the batch's half-lease: the rest of the batch was handed
    # back due at once, and the next run sent it to the receiver that asked for an hour.
    queue_events(3)
    receiver.answers, receiver.retry_after = [429], "3600"
    base = timezone.now()
    webhook_lanes.webhooks_deliver(now=base, clock=lambda: base + timedelta(seconds=31 if receiver.requests else 0))

    assert deliver(after=timedelta(minutes=1)).sent == 0
    assert len(receiver.requests) == 1
    assert WebhookEvent.objects.filter(attempts=0, next_attempt_at__gt=base + timedelta(minutes=59)).count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("retry_after", [str(10**12), "9" * 400, "Fri, 31 Dec 9999 23:59:59 GMT"])
def test_a_retry_after_is_honoured_up_to_the_schedules_longest_delay(endpoint, receiver, show, retry_after):
    receiver.answers, receiver.retry_after = [503], retry_after
    book_seats(show.pk)

    deliver()

    longest = webhook_delivery.RETRY_DELAYS[-1].total_seconds()
    assert longest * 0.99 < due_in(WebhookEvent.objects.get()) <= longest


@pytest.mark.django_db
def test_a_retry_after_on_the_last_attempt_still_gives_up(endpoint, receiver, show):
    book_seats(show.pk)
    WebhookEvent.objects.update(attempts=len(webhook_delivery.RETRY_DELAYS))
    receiver.answers, receiver.retry_after = [503], "60"

    deliver()

    event = WebhookEvent.objects.get()
    assert (event.status, event.next_attempt_at) == ("failed", None)


@pytest.mark.django_db
def test_a_success_with_retry_after_holds_nothing_back(endpoint, receiver, show):
    receiver.retry_after = "3600"
    book_seats(show.pk), book_seats(show.pk)

    assert deliver().delivered == 2
    assert len(receiver.requests) == 2


@pytest.mark.parametrize(
    "header, seconds",
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 3600.0),  # an hour after the `now` given
        ("Wed, 21 Oct 2015 05:28:00 GMT", 0.0),  # past: at once
        (None, None),
        ("", None),
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("\u0663", None),  # a digit to str.isdigit, not to HTTP
        ("Wed, 21 Oct 2015 07:28:00", 3600.0),  # no zone: GMT, as RFC 9110 has every HTTP-date
    ],
)
def test_retry_after_is_read_as_http_has_it(header, seconds):
    now = datetime(2015, 10, 21, 6, 28, tzinfo=UTC).timestamp()
    assert outbound.retry_after_seconds(header, now) == seconds


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
