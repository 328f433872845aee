"""Webhook delivery runs (`manage.py deliver_webhooks`), in lanes: one a receiver URL.

A run sent every endpoint's events one after another: one slow but healthy receiver (9 s
an answer, within its timeout) held every other theatre system's events behind its own,
and a run, which starts no send after RUN_SECONDS, left them to the next, minutes late.
Now each URL with events due has a lane of its own: a thread, with its own database
connection (closed when the lane ends) and its own outbound.Sender, that claims that URL's
due events and sends them in order, one at a time, as a run did; lanes of different URLs
send at once, at most WEBHOOKS_LANES of them (a URL past those waits for a free lane).
Endpoints registered at one URL share its lane: one receiver gets one request at a time
from a run, and outbound's guard (no request where a given-up one still runs) holds.

The rest is as it was, lane by lane (api/services/webhook_delivery.py): a claim's lease, a batch
starting no send after half of it, a dead endpoint tried once a run, a 410 handing the
rest of its batch back. The run starts no lane, claim or send after RUN_SECONDS, and its
counts, summed over its lanes, make one audit entry.

One lane (WEBHOOKS_LANES=1), or a run called inside a transaction (a test's: other
connections would neither see its rows nor get past its locks), sends in the caller's
thread, every URL's events in one lane, as before lanes.
"""

import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone

from ..models import WebhookEvent
from . import audit, webhook_delivery
from .webhook_delivery import BATCH_SIZE, DeliveryResult

logger = logging.getLogger(__name__)

# A cron run (every minute) claims and starts no send after this: with its last send timed
# out (15 s for a whole answer, outbound.Sender.post, and 5 s for a first DNS look-up) it
# is over before the next run.
RUN_SECONDS = 40.0
# How often a run with lanes sending looks for URLs with events due and no lane yet (events
# made, or retries come due, meanwhile).
POLL_SECONDS = 1.0

Unreachable = dict[int, str]  # endpoints that gave no answer this run, and why
# A URL and its lane's work: it adds its counts to the DeliveryResult it is given (the
# run's, even when the lane fails part-way) and returns the endpoints that gave no answer.
Lane = tuple[str, Callable[[DeliveryResult], Unreachable]]


def _lease_half(claimed_at: datetime) -> datetime:
    """When a batch claimed at `claimed_at` stops sending: half-way through its lease, so
    that no send (15 s at most for a whole answer: outbound.Sender.post) can outlast it."""
    return claimed_at + timedelta(seconds=settings.WEBHOOKS_CLAIM_SECONDS / 2)


def _one_lane() -> bool:
    return settings.WEBHOOKS_LANES == 1 or connection.in_atomic_block


def _add(result: DeliveryResult, more: DeliveryResult) -> None:
    result.delivered += more.delivered
    result.failed += more.failed
    result.disabled += more.disabled


def _run_lanes(next_lanes: Callable[[set[str], int], list[Lane]], result: DeliveryResult, dead: Unreachable) -> None:
    """Run each lane that next_lanes(URLs not to start, lanes free) gives, in a thread of its
    own, at most WEBHOOKS_LANES at once, until it gives none and none runs; asked again
    when a lane ends and every POLL_SECONDS. Each lane's counts are added to `result` (a
    failed lane's too, up to its failure), its endpoints that gave no answer to `dead`.

    An error, a lane's or next_lanes' own (the database gone), starts no more lanes and is
    raised once the running ones end: a send the run left behind would be cut off as the
    process exits, and its event, which the receiver may have got, sent again after its
    lease. A URL whose lane sent nothing (its rows claimed by another worker meanwhile:
    its events look due, but are locked) is not started again until POLL_SECONDS on.
    The threads are daemons: a worker stopped (^C) doesn't wait for their sends, whose
    events are due again when their lease ends."""
    ended: queue.Queue[tuple[str, DeliveryResult, Unreachable | BaseException]] = queue.Queue()
    running: set[str] = set()
    resting: dict[str, float] = {}  # URLs whose lane sent nothing: when they may start again
    error: BaseException | None = None

    def lane(url: str, work: Callable[[DeliveryResult], Unreachable]) -> None:
        sent = DeliveryResult()
        outcome: Unreachable | BaseException
        try:
            try:
                outcome = work(sent)
            finally:
                connection.close()  # the lane's own (each thread has one), closed before the run ends
        except BaseException as exc:  # noqa: BLE001 (raised in the run's thread)
            outcome = exc
        ended.put((url, sent, outcome))

    while True:
        if error is None and len(running) < settings.WEBHOOKS_LANES:
            now = time.monotonic()
            resting = {url: until for url, until in resting.items() if until > now}
            try:
                lanes = next_lanes(running | set(resting), settings.WEBHOOKS_LANES - len(running))
            except Exception as exc:  # noqa: BLE001 (raised once the running lanes end)
                error, lanes = exc, []
            for url, work in lanes:
                try:
                    threading.Thread(target=lane, args=(url, work), name="webhook lane", daemon=True).start()
                except RuntimeError as exc:  # can't start a thread: as any error, once the others end
                    error = error or exc
                    break
                running.add(url)
        if not running:
            break
        try:
            url, sent, outcome = ended.get(timeout=POLL_SECONDS)
        except queue.Empty:
            continue
        running.discard(url)
        _add(result, sent)
        if not sent.sent:
            resting[url] = time.monotonic() + POLL_SECONDS
        if isinstance(outcome, BaseException):
            error = error or outcome
        else:
            dead.update(outcome)
    if error is not None:
        raise error


def _record_run(result: DeliveryResult, actor: str, now: datetime, *, failing: bool = False) -> None:
    """The run's audit entry. `failing`: the run is raising an error, which this must not
    hide (the entry then only logged as lost when it can't be written either)."""
    # The run's own connection may be the error (the database restarted under it): Django
    # opens a new one at the next query only once the broken one is closed. (Never inside
    # a transaction, a test's: that close would end it.)
    if failing and not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()
    try:
        _write_run(result, actor, now)
    except Exception:
        if not failing:
            raise
        logger.exception("The webhook run's audit entry could not be written either")


def _write_run(result: DeliveryResult, actor: str, now: datetime) -> None:
    with transaction.atomic():
        changes = {"delivered": result.delivered, "failed": result.failed, "disabled": result.disabled}
        audit.record(
            actor=actor, action="webhooks.sent", obj_type="job", obj_id="deliver_webhooks", changes=changes, now=now
        )


def webhooks_deliver(
    *,
    now: datetime,
    limit: int = BATCH_SIZE,
    actor: str = "job:deliver_webhooks",
    clock: Callable[[], datetime] = timezone.now,
) -> DeliveryResult:
    """Send one batch of due events (claimed together, as workers polling share them),
    each URL's in a lane; `clock` times the answers (the sends take a while)."""
    result = DeliveryResult()
    events = webhook_delivery._claim(now, limit)
    if not events:
        return result
    by_url: dict[str, list[WebhookEvent]] = {}
    for event in events:
        by_url.setdefault(event.webhook.url, []).append(event)

    def send(batch: list[WebhookEvent], sent: DeliveryResult) -> Unreachable:
        dead = Unreachable()
        with webhook_delivery._sender() as sender:
            webhook_delivery._send_claimed(batch, sender, _lease_half(now), actor, clock, sent, dead)
        return dead

    try:
        if _one_lane() or len(by_url) == 1:
            send(events, result)
        else:
            waiting = list(by_url.items())

            def next_lanes(running: set[str], free: int) -> list[Lane]:
                starting, waiting[:free] = waiting[:free], []
                return [(url, partial(send, batch)) for url, batch in starting]

            _run_lanes(next_lanes, result, Unreachable())
    except Exception:  # what was sent is recorded, a run that failed part-way too
        _record_run(result, actor, clock(), failing=True)
        raise
    _record_run(result, actor, clock())
    return result


def _due_urls(now: datetime, running: set[str], dead: Unreachable, count: int) -> list[str]:
    """Up to `count` URLs with events due, but those in `running` (in a lane, or resting),
    those waiting longest first; events of inactive endpoints and of those that gave no
    answer this run are not counted. (Rows another worker is claiming count: a lane then
    claims nothing, and its URL rests, _run_lanes.)"""
    due = (
        webhook_delivery.due_events(now)
        .exclude(webhook_id__in=list(dead))
        .exclude(webhook__url__in=running)
        .values("webhook__url")
        .annotate(first_due=Min("next_attempt_at"))
        .order_by("first_due", "webhook__url")
    )
    return [row["webhook__url"] for row in due[:count]]


def _send_due(
    url: str | None, dead: Unreachable, ends: datetime, actor: str, clock: Callable[[], datetime], sent: DeliveryResult
) -> Unreachable:
    """A lane: batch after batch of the events due at `url` (None: at every URL), claiming
    and starting no send after `ends`; its counts added to `sent`, and `dead` with the
    endpoints that gave no answer."""
    with webhook_delivery._sender() as sender:  # one for the lane: its host resolved once, connections kept
        while (now := clock()) <= ends and (events := webhook_delivery._claim(now, BATCH_SIZE, dead, url)):
            webhook_delivery._send_claimed(events, sender, min(_lease_half(now), ends), actor, clock, sent, dead)
    return dead


def webhooks_deliver_due(
    *,
    seconds: float = RUN_SECONDS,
    actor: str = "job:deliver_webhooks",
    clock: Callable[[], datetime] = timezone.now,
) -> DeliveryResult:
    """Send batch after batch while events are due (a cron run), each URL's in a lane,
    starting no lane, claim or send after `seconds`; the run's counts, and one audit entry
    with them when it sent any."""
    result = DeliveryResult()
    ends = clock() + timedelta(seconds=seconds)
    dead = Unreachable()  # endpoints that gave no answer, and why: left to the next run
    try:
        if _one_lane():
            _send_due(None, dead, ends, actor, clock, result)
        else:

            def next_lanes(running: set[str], free: int) -> list[Lane]:
                if (now := clock()) > ends:
                    return []
                # Each lane gets the run's dead endpoints as they stand (another at its URL).
                return [
                    (url, partial(_send_due, url, dict(dead), ends, actor, clock))
                    for url in _due_urls(now, running, dead, free)
                ]

            _run_lanes(next_lanes, result, dead)
    except Exception:  # what was sent is recorded, a run that failed part-way too
        if result.sent:
            _record_run(result, actor, clock(), failing=True)
        raise
    if result.sent:
        _record_run(result, actor, clock())
    return result
