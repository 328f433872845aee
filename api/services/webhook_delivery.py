"""The sending of webhook events (the outbox that audit.record fills) to their endpoints
(webhooks.py registers them).

Signing follows Standard Webhooks v1 (https://www.standardwebhooks.com/): headers
`webhook-id` (the same on every attempt of one event), `webhook-timestamp` (Unix seconds)
and `webhook-signature`: "v1," + base64 HMAC-SHA256 of "{id}.{timestamp}.{body}" keyed by
the secret's bytes (its base64 after "whsec_"). Written here with hmac rather than with
the `standardwebhooks` package: five lines, no dependency at run time; the tests verify
them with the package, as a receiver would.

Delivery, what each lane of a run does (the runs, `manage.py deliver_webhooks`, and their
lanes, one a receiver URL, sending at once: webhook_lanes.py):
- claim: a short transaction takes due rows with SELECT ... FOR UPDATE SKIP LOCKED (on
  PostgreSQL several workers share the work, none waits for another), counts the attempt
  and moves next_attempt_at and leased_until past the claim's lease
  (WEBHOOKS_CLAIM_SECONDS): while one worker sends, no other claims the row, though staff
  ask for a retry meanwhile; if the worker dies, the row is due again when the lease
  ends. Nothing committed is lost; an event may be sent twice (at least once).
- send: outside any transaction, with httpx (10 s a read, 15 s a whole answer), never
  following redirects, only to public addresses (unless WEBHOOKS_ALLOW_PRIVATE), and only
  to the addresses checked (api/outbound.py: no DNS rebinding into the theatre's network).
- an endpoint that gives no answer (refused, timed out) is tried once a run: its other
  events claimed are recorded as failed for that reason, unsent.
- record: a 2xx is delivered; anything else is failed and tried again after
  RETRY_DELAYS (with +-10 % jitter), about three and a half days in all, then given up
  (next_attempt_at null); not before a failed answer's Retry-After (at most the longest
  delay), and after 429, 502 or 504 (the receiver under load: Standard Webhooks asks the
  sender to throttle) or a Retry-After every event at its URL waits as long, unsent and
  not counted (_rest). 410 Gone disables the endpoint. Each failed attempt is logged
  (WARNING: the endpoint, the webhook-id and why; never the payload, which holds people).
"""

import base64
import hashlib
import hmac
import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, DateTimeField, F, QuerySet, Value, When

from .. import outbound
from ..models import Webhook, WebhookEvent
from . import audit
from .webhooks import SECRET_PREFIX

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10.0
BATCH_SIZE = 100

# After the n-th failed attempt the next is tried RETRY_DELAYS[n - 1] later; after the
# last, the event is given up. 12 attempts over about 83 hours.
RETRY_DELAYS = [
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=14),
    timedelta(hours=14),
    timedelta(hours=14),
]
JITTER = 0.1  # each delay is stretched or shrunk by up to 10 %, so retries don't march in step
# Answers of a receiver under load (Standard Webhooks: throttle the requests that follow).
THROTTLING = frozenset({429, 502, 504})


# --- signing -------------------------------------------------------------------------


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The webhook-signature header's value for this message."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


# --- delivery ------------------------------------------------------------------------


@dataclass
class DeliveryResult:
    delivered: int = 0
    failed: int = 0
    disabled: int = 0  # endpoints that answered 410 Gone

    @property
    def sent(self) -> int:
        return self.delivered + self.failed


def retry_delay(attempts: int) -> timedelta | None:
    """The wait after the `attempts`-th failed attempt, jittered; None: give up."""
    if attempts > len(RETRY_DELAYS):
        return None
    return RETRY_DELAYS[attempts - 1] * random.uniform(1 - JITTER, 1 + JITTER)


def _asked_wait(answer: outbound.Answer | str) -> timedelta | None:
    """How long a failed answer asks the endpoint to be left alone: its Retry-After, at most
    the schedule's longest delay (a receiver can't park its events past their giving up);
    without one, the first retry's delay after a throttling status. None: not asked."""
    if not isinstance(answer, outbound.Answer) or 200 <= answer.status < 300:
        return None
    if answer.retry_after is not None:
        return timedelta(seconds=min(answer.retry_after, RETRY_DELAYS[-1].total_seconds()))
    return RETRY_DELAYS[0] if answer.status in THROTTLING else None


def _after_lease(event: WebhookEvent, next_attempt_at: datetime | None) -> Case:
    """`next_attempt_at` in place of this attempt's lease; but if the row no longer holds
    the lease, staff asked for a retry (delivery_retry) while the attempt was in flight:
    that retry stands, so the event is sent once more after this attempt."""
    return Case(
        When(next_attempt_at=event.next_attempt_at, then=Value(next_attempt_at, output_field=DateTimeField())),
        default=F("next_attempt_at"),
    )


def due_events(now: datetime) -> QuerySet[WebhookEvent]:
    """Events of active endpoints due at `now`, but those in flight: a retry staff asked for
    during an attempt is due at once, and waits for the attempt's lease (_record ends it)."""
    return WebhookEvent.objects.filter(next_attempt_at__lte=now, webhook__active=True).exclude(leased_until__gt=now)


def _claim(
    now: datetime, limit: int, unreachable: Mapping[int, str] | None = None, url: str | None = None
) -> list[WebhookEvent]:
    """Due events of active endpoints (those at `url` only, a lane's), but those found
    `unreachable` in this run."""
    lease_ends = now + timedelta(seconds=settings.WEBHOOKS_CLAIM_SECONDS)
    due = due_events(now)
    if url is not None:
        due = due.filter(webhook__url=url)
    with transaction.atomic():
        # SKIP LOCKED: rows another worker is claiming right now are left to it. Only the
        # event rows are locked (of=self), not their webhooks.
        due = (
            due.select_for_update(skip_locked=True, of=("self",))
            .select_related("webhook")
            .exclude(webhook_id__in=list(unreachable or ()))
            .order_by("next_attempt_at", "pk")[:limit]
        )
        events = list(due)
        if events:
            WebhookEvent.objects.filter(pk__in=[e.pk for e in events]).update(
                attempts=F("attempts") + 1, next_attempt_at=lease_ends, leased_until=lease_ends
            )
        for event in events:
            event.attempts += 1
            event.next_attempt_at = lease_ends  # so that _record tells its lease from a retry asked for meanwhile
    return events


def _send(sender: outbound.Sender, event: WebhookEvent) -> outbound.Answer | str:
    """POST the event; the answer, or why there was none (refused, timed out)."""
    body = json.dumps(event.payload, separators=(",", ":")).encode()
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "webhook-id": event.message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(event.webhook.secret, event.message_id, timestamp, body),
    }
    return sender.post(event.webhook.url, content=body, headers=headers)


def _record(
    event: WebhookEvent, answer: outbound.Answer | str, now: datetime, result: DeliveryResult, actor: str
) -> None:
    """Record the attempt: `answer` is the endpoint's, or why there was none."""
    status = answer.status if isinstance(answer, outbound.Answer) else None
    # Compare-and-set on the attempt count: if the lease ran out and another worker took
    # the row meanwhile, its answer is the one that counts.
    mine = WebhookEvent.objects.filter(pk=event.pk, attempts=event.attempts)
    if status is not None and 200 <= status < 300:
        mine.update(
            status=WebhookEvent.Status.DELIVERED,
            response_status=status,
            delivered_at=now,
            next_attempt_at=_after_lease(event, None),
            leased_until=None,
        )
        result.delivered += 1
        return
    delay = retry_delay(event.attempts)
    asked = _asked_wait(answer)
    if delay is not None and asked is not None:
        delay = max(delay, asked)
    mine.update(
        status=WebhookEvent.Status.FAILED,
        response_status=status,
        next_attempt_at=_after_lease(event, None if delay is None else now + delay),
        leased_until=None,
    )
    result.failed += 1
    logger.warning(
        "Webhook endpoint %s: event %s failed (attempt %s%s): %s",
        event.webhook_id,
        event.message_id,
        event.attempts,
        ", given up" if delay is None else "",
        answer if status is None else f"HTTP {status}",
    )
    if status == 410:
        with transaction.atomic():
            if Webhook.objects.filter(pk=event.webhook_id, active=True).update(active=False):
                result.disabled += 1
                audit.record(
                    actor=actor,
                    action="webhook.disabled",
                    obj_type="webhook",
                    obj_id=str(event.webhook_id),
                    changes={"active": [True, False], "response_status": 410},
                    now=now,
                )


def _hand_back(event: WebhookEvent, due: datetime) -> None:
    """An event claimed but not sent: due again at `due`, its attempt not counted."""
    WebhookEvent.objects.filter(pk=event.pk, attempts=event.attempts).update(
        attempts=F("attempts") - 1, next_attempt_at=due, leased_until=None
    )


def _send_claimed(
    events: list[WebhookEvent],
    sender: outbound.Sender,
    until: datetime,
    actor: str,
    clock: Callable[[], datetime],
    result: DeliveryResult,
    unreachable: dict[int, str],
) -> None:
    """Send the events claimed, starting none after `until`: the rest is handed back, due
    at once. An endpoint that gave no answer (it refused the connection, or timed out) is
    added to `unreachable` with why: its other events claimed are not sent, but recorded
    as failed for that reason, each moving on its own retry schedule (so a dead endpoint's
    events are given up in time, as if each had been tried), and the run claims no more of
    them. One dead endpoint costs a run (or a worker's poll) one timeout, not one for each
    of its events while the other endpoints' events wait behind it. After a 410 Gone, its
    other events claimed are handed back unsent, as an inactive endpoint's wait. After an
    answer that asks for a wait (_asked_wait: 429, 502, 504, a Retry-After), every event
    at its URL waits as long (_rest)."""
    gone: set[int] = set()
    resting: dict[str, datetime] = {}  # URLs that asked for a wait, and until when
    for n, event in enumerate(events):
        if clock() > until:
            for left in events[n:]:  # due at once, but those of a receiver that asked for a wait
                _hand_back(left, resting.get(left.webhook.url, clock()))
            return
        if event.webhook_id in gone:
            _hand_back(event, clock())
            continue
        if event.webhook.url in resting:
            _hand_back(event, resting[event.webhook.url])
            continue
        if event.webhook_id in unreachable:
            _record(event, unreachable[event.webhook_id], clock(), result, actor)
            continue
        answer = _send(sender, event)
        if not isinstance(answer, outbound.Answer):
            unreachable[event.webhook_id] = f"not sent, the endpoint gave no answer this run ({answer})"
        elif answer.status == 410:
            gone.add(event.webhook_id)
        elif (wait := _asked_wait(answer)) is not None:
            resting[event.webhook.url] = _rest(event.webhook.url, clock(), clock() + wait)
        _record(event, answer, clock(), result, actor)


def _rest(url: str, now: datetime, until: datetime) -> datetime:
    """A receiver asked for a wait: every event at its URL (of any endpoint there) due
    before `until` and not in flight is due then, its attempts not counted; this batch's
    others are handed back due then (_send_claimed). So nothing more goes to it before,
    from this lane's next batch, the next run or another host's worker. A new event made
    meanwhile is sent when due, and, answered with a wait again, makes the rest wait
    again: one request a run at most."""
    WebhookEvent.objects.filter(webhook__url=url, next_attempt_at__lt=until).exclude(leased_until__gt=now).update(
        next_attempt_at=until
    )
    return until


def _sender() -> outbound.Sender:
    return outbound.Sender(timeout=TIMEOUT_SECONDS, allow_private=settings.WEBHOOKS_ALLOW_PRIVATE)
