"""What the webhook tests share: a local HTTP receiver, an endpoint registered at it, a
delivery run, and events put in the outbox."""

import http.server
import ssl
import threading
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook as Verifier

from api.models import Webhook, WebhookEvent
from api.services import audit, webhook_delivery, webhook_lanes, webhooks


class Receiver:
    """A local HTTP endpoint in a thread: records each request, answers the next status
    of `answers` (then 200), each with `retry_after` as its Retry-After if set."""

    def __init__(
        self,
        delay: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: ssl.SSLContext | None = None,
        trickle: float = 0.0,
    ) -> None:
        self.requests: list[dict] = []
        self.answers: list[int] = []
        self.retry_after: str | None = None
        self.delay = delay
        self.trickle = trickle  # seconds between the bytes of a 20-byte answer
        self.in_flight: dict[str, int] = {}
        self.overlaps: list[str] = []
        self.at_once = self.most_at_once = 0  # requests being answered, and the most at one time
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
                    receiver.at_once += 1
                    receiver.most_at_once = max(receiver.most_at_once, receiver.at_once)
                    receiver.requests.append({"headers": dict(self.headers), "body": body, "path": self.path})
                    status = receiver.answers.pop(0) if receiver.answers else 200
                if receiver.delay:
                    time.sleep(receiver.delay)
                with receiver.lock:
                    receiver.in_flight[message_id] -= 1
                    receiver.at_once -= 1
                self.send_response(status)
                if status in (301, 302, 307, 308):
                    self.send_header("Location", "/elsewhere")
                if receiver.retry_after is not None:
                    self.send_header("Retry-After", receiver.retry_after)
                self.send_header("Content-Length", "20" if receiver.trickle else "0")
                self.end_headers()
                for _ in range(20 if receiver.trickle else 0):  # each byte well within a read's timeout
                    self.wfile.flush()
                    time.sleep(receiver.trickle)
                    self.wfile.write(b".")

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


def deliver(after: timedelta = timedelta(0)) -> webhook_delivery.DeliveryResult:
    return webhook_lanes.webhooks_deliver(now=timezone.now() + after, clock=lambda: timezone.now() + after)


def queue_events(count: int) -> None:
    """`count` tickets.expired events in the outbox, one row each for every active endpoint."""
    events = [audit.Event("tickets.expired", {"count": n}) for n in range(count)]
    with transaction.atomic():
        audit.record_many(actor="test", now=timezone.now(), entries=[], events=events)


def hook_at(receiver: Receiver) -> Webhook:
    """An endpoint at `receiver`, for every event."""
    return webhooks.webhook_create(url=receiver.url, events=[], actor="t", now=timezone.now())


def delivered(hook: Webhook) -> int:
    """How many of `hook`'s events were delivered."""
    return WebhookEvent.objects.filter(webhook=hook, status="delivered").count()


def verify(secret: str, request: dict) -> dict:
    """The specification's check, by its own library, as a receiver would run it."""
    headers = {k.lower(): v for k, v in request["headers"].items()}
    return Verifier(secret).verify(request["body"], headers)
