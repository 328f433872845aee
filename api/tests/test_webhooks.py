"""Webhooks: the outbox written with the change, Standard Webhooks v1 signatures checked
by the specification's own library, a real HTTP receiver, retries, 410, redirects, private
addresses, the staff API; on PostgreSQL, a worker killed mid-batch and two workers at once."""

import base64
import http.server
import os
import re
import secrets
import signal
import ssl
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook as Verifier
from standardwebhooks.webhooks import WebhookVerificationError

from api.models import AuditEntry, Webhook, WebhookEvent
from api.services import audit, jobs, sales, webhooks
from api.tests.conftest import ADA, all_at_once, book_seats, postgres_only
from api.tests.test_throttle_redis import database_url


class Receiver:
    """A local HTTP endpoint in a thread: records each request, answers the next status
    of `answers` (then 200)."""

    def __init__(
        self, delay: float = 0.0, host: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None
    ) -> None:
        self.requests: list[dict] = []
        self.answers: list[int] = []
        self.delay = delay
        self.in_flight: dict[str, int] = {}
        self.overlaps: list[str] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["content-length"]))
                message_id = self.headers["webhook-id"]
                with receiver.lock:
                    if receiver.in_flight.get(message_id):
                        receiver.overlaps.append(message_id)
                    receiver.in_flight[message_id] = receiver.in_flight.get(message_id, 0) + 1
                    receiver.requests.append({"headers": dict(self.headers), "body": body, "path": self.path})
                    status = receiver.answers.pop(0) if receiver.answers else 200
                if receiver.delay:
                    time.sleep(receiver.delay)
                with receiver.lock:
                    receiver.in_flight[message_id] -= 1
                self.send_response(status)
                if status in (301, 302, 307, 308):
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.url = f"{'https' if tls else 'http'}://{host}:{self.port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture
def allow_private(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True


@pytest.fixture
def endpoint(db, receiver, allow_private) -> Webhook:
    return webhooks.webhook_create(url=receiver.url, events=[], actor="staff:test", now=timezone.now())


def deliver(after: timedelta = timedelta(0)) -> webhooks.DeliveryResult:
    return webhooks.webhooks_deliver(now=timezone.now() + after, clock=lambda: timezone.now() + after)


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
        "webhook-signature": webhooks.sign(endpoint.secret, headers["webhook-id"], old, request["body"]),
    }
    with pytest.raises(WebhookVerificationError, match="too old"):
        Verifier(endpoint.secret).verify(request["body"], replayed)
    # The same signing a minute ago verifies: the signature itself is the specification's.
    recent = int(time.time()) - 60
    fresh = {**replayed, "webhook-timestamp": str(recent)}
    fresh["webhook-signature"] = webhooks.sign(endpoint.secret, headers["webhook-id"], recent, request["body"])
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
    monkeypatch.setattr(webhooks.random, "uniform", lambda low, high: low)  # the shortest jitter
    delays = [webhooks.retry_delay(n) for n in range(1, len(webhooks.RETRY_DELAYS) + 1)]
    assert all(delay is not None for delay in delays)
    total = sum((delay for delay in delays if delay is not None), timedelta())
    assert total >= timedelta(days=3)
    assert webhooks.retry_delay(len(webhooks.RETRY_DELAYS) + 1) is None


@pytest.mark.django_db
def test_a_given_up_event_has_no_next_attempt(endpoint, receiver, show):
    book_seats(show.pk)
    WebhookEvent.objects.update(attempts=len(webhooks.RETRY_DELAYS))
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
    send = webhooks._send
    retried: list[datetime] = []

    def send_then_staff_retry(*args):
        # The answer is on its way back, not yet recorded, when staff ask for a retry.
        answered = send(*args)
        if not retried:
            retried.append(timezone.now())
            webhooks.delivery_retry(delivery_id=event.pk, actor="staff:test", now=retried[0])
        return answered

    monkeypatch.setattr(webhooks, "_send", send_then_staff_retry)

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


# --- the staff API -------------------------------------------------------------------


@pytest.mark.django_db
def test_register_read_change_delete_an_endpoint(staff_client, allow_private, receiver):
    response = staff_client.post("/api/webhooks", {"url": receiver.url, "events": ["booking.created"]}, format="json")

    assert response.status_code == 201
    body = response.json()
    secret = body.pop("secret")
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    webhook = Webhook.objects.get()
    assert body == {
        "id": webhook.pk,
        "url": receiver.url,
        "events": ["booking.created"],
        "active": True,
        "created_at": body["created_at"],
    }
    # The secret is never shown again.
    assert "secret" not in staff_client.get(f"/api/webhooks/{webhook.pk}").json()
    assert "secret" not in staff_client.get("/api/webhooks").json()["results"][0]

    response = staff_client.patch(f"/api/webhooks/{webhook.pk}", {"active": False, "events": []}, format="json")
    assert response.status_code == 200
    assert (response.json()["active"], response.json()["events"]) == (False, [])

    assert staff_client.delete(f"/api/webhooks/{webhook.pk}/").status_code == 204
    assert not Webhook.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body, field",
    [
        ({"url": "https://example.com/x", "events": ["booking.exploded"]}, "events"),
        ({"url": "ftp://example.com/x"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "http://\u2603.net/hook"}, "url"),  # a host that Django takes and httpx can't send to
        ({"url": "https://example.com:70000/x"}, "url"),  # httpx takes it; the socket would wrap it to 4464
        ({}, "url"),
    ],
)
def test_invalid_endpoints_are_400(staff_client, allow_private, body, field):
    response = staff_client.post("/api/webhooks", body, format="json")

    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.django_db
def test_the_delivery_log_and_a_retry(staff_client, endpoint, receiver, show):
    receiver.answers = [500]
    book_seats(show.pk)
    deliver()
    event = WebhookEvent.objects.get()

    response = staff_client.get(f"/api/webhooks/{endpoint.pk}/deliveries")

    assert response.status_code == 200
    assert response.json() == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [
            {
                "id": event.pk,
                "message_id": event.message_id,
                "type": "booking.created",
                "status": "failed",
                "attempts": 1,
                "response_status": 500,
                "next_attempt_at": response.json()["results"][0]["next_attempt_at"],
            }
        ],
    }

    response = staff_client.post(f"/api/webhooks/{endpoint.pk}/deliveries/{event.pk}/retry")
    assert response.status_code == 202
    assert deliver().delivered == 1  # due at once, no 5 s wait
    assert [r["headers"]["webhook-id"] for r in receiver.requests] == [event.message_id] * 2
    assert staff_client.post(f"/api/webhooks/{endpoint.pk}/deliveries/999999/retry").status_code == 404


@pytest.mark.django_db
def test_the_purge_keeps_an_old_delivered_event_until_its_retry_is_sent(endpoint, receiver, show):
    book_seats(show.pk)
    book_seats(show.pk)
    deliver()
    old, retried = WebhookEvent.objects.order_by("pk")
    week_later = timezone.now() + jobs.DELIVERED_EVENTS_KEPT + timedelta(minutes=1)
    webhooks.delivery_retry(delivery_id=retried.pk, actor="staff:test", now=week_later)

    assert jobs.tickets_purge(now=week_later).webhook_events == 1

    assert list(WebhookEvent.objects.values_list("pk", flat=True)) == [retried.pk]
    assert deliver(after=week_later - timezone.now()).delivered == 1
    assert [r["headers"]["webhook-id"] for r in receiver.requests][-1] == retried.message_id
    # Sent again, it is kept a week from this delivery.
    assert jobs.tickets_purge(now=week_later + timedelta(minutes=1)).webhook_events == 0
    assert jobs.tickets_purge(now=week_later + jobs.DELIVERED_EVENTS_KEPT + timedelta(minutes=2)).webhook_events == 1


@pytest.mark.django_db
def test_a_retry_of_an_event_deleted_after_the_lookup_is_a_404_and_records_nothing(
    staff_client, endpoint, receiver, show, monkeypatch
):
    book_seats(show.pk)
    event = WebhookEvent.objects.get()
    retry = webhooks.delivery_retry

    def deleted_first(**kwargs):  # the endpoint deleted (and its events) just after the view's lookup
        WebhookEvent.objects.filter(pk=event.pk).delete()
        return retry(**kwargs)

    monkeypatch.setattr(webhooks, "delivery_retry", deleted_first)

    response = staff_client.post(f"/api/webhooks/{endpoint.pk}/deliveries/{event.pk}/retry")

    assert response.status_code == 404
    assert response.json() == {"detail": "No WebhookEvent matches the given query."}
    assert not AuditEntry.objects.filter(action="webhook_event.retried").exists()


@pytest.mark.django_db
def test_anonymous_clients_cant_see_webhooks(api_client, endpoint):
    assert api_client.get("/api/webhooks").status_code == 401
    assert api_client.post("/api/webhooks", {"url": "https://example.com/"}, format="json").status_code == 401
    assert api_client.get(f"/api/webhooks/{endpoint.pk}/deliveries").status_code == 401


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
    old["webhook-signature"] = webhooks.sign(
        endpoint.secret, headers["webhook-id"], int(old["webhook-timestamp"]), request["body"]
    )
    with pytest.raises(ValueError):
        namespace["verify"](endpoint.secret, old, request["body"])


# --- several processes (PostgreSQL) ------------------------------------------------------


def _events(count: int) -> None:
    events = [audit.Event("tickets.expired", {"count": n}) for n in range(count)]
    with transaction.atomic():
        audit.record_many(actor="test", now=timezone.now(), entries=[], events=events)


def _worker(tmp_path: Path, name: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "booking.settings",
        "DATABASE_URL": database_url(),
        "WEBHOOKS_ALLOW_PRIVATE": "true",
        "WEBHOOKS_CLAIM_SECONDS": "8",
        "REDIS_URL": "",
        "SECRET_KEY": secrets.token_urlsafe(50),
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "deliver_webhooks", "--loop", "--sleep", "0.2"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=(tmp_path / f"{name}.log").open("w"),
        stderr=subprocess.STDOUT,
    )


def _wait(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_nothing_is_lost_when_the_worker_is_killed_mid_batch(tmp_path, allow_private):
    receiver = Receiver(delay=0.01)
    try:
        webhooks.webhook_create(url=receiver.url, events=[], actor="t", now=timezone.now())
        _events(500)
        ids = set(WebhookEvent.objects.values_list("message_id", flat=True))
        assert len(ids) == 500

        worker = _worker(tmp_path, "first")
        assert _wait(lambda: len(receiver.requests) >= 150, 60), (tmp_path / "first.log").read_text()
        worker.send_signal(signal.SIGKILL)  # kill -9, mid-batch
        worker.wait()
        delivered_before = WebhookEvent.objects.filter(status="delivered").count()
        assert 0 < delivered_before < 500

        worker = _worker(tmp_path, "second")
        try:
            assert _wait(lambda: WebhookEvent.objects.filter(status="delivered").count() == 500, 90)
        finally:
            worker.terminate()
            worker.wait(timeout=30)

        received = [r["headers"]["webhook-id"] for r in receiver.requests]
        assert set(received) == ids  # every event, at least once
        # Each webhook-id is one row of the log, delivered; at most the killed batch twice.
        log = list(WebhookEvent.objects.values_list("message_id", "status"))
        assert len(log) == 500 and {status for _, status in log} == {"delivered"}
        assert len(received) - 500 <= webhooks.BATCH_SIZE
    finally:
        receiver.stop()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_workers_never_send_the_same_event_at_once(allow_private):
    receiver = Receiver(delay=0.005)
    try:
        webhooks.webhook_create(url=receiver.url, events=[], actor="t", now=timezone.now())
        _events(300)

        def work(n: int) -> int:
            sent = 0
            while (result := webhooks.webhooks_deliver(now=timezone.now(), limit=20)).sent:
                sent += result.sent
            return sent

        counts = all_at_once(2, work)

        assert sum(counts) == 300 and min(counts) > 0  # both worked, and shared the work
        received = [r["headers"]["webhook-id"] for r in receiver.requests]
        assert len(received) == len(set(received)) == 300
        assert receiver.overlaps == []
    finally:
        receiver.stop()
