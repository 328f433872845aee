# ruff: noqa: F811  (pytest fixtures imported from webhooks_helpers, used as arguments)
"""The webhook jobs as cron runs them. `deliver_webhooks` sends batch after batch while
events are due, starting no send after webhook_lanes.RUN_SECONDS, and its summary and audit
entry count the whole run; each failed attempt is logged with the endpoint, the message id
and the reason, never the payload. `purge_expired_tickets` deletes, a week on, the events
given up and those of endpoints made inactive too, never one that may still be sent.
`--loop`, the worker, goes on after a run that lost the database. Delivery itself:
test_webhooks.py; workers at once: test_webhooks_workers.py."""

import logging
from datetime import datetime, timedelta

import pytest
import time_machine
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from api import outbound
from api.management.commands import deliver_webhooks
from api.models import AuditEntry, Webhook, WebhookEvent
from api.services import jobs, webhook_delivery, webhook_lanes, webhooks
from api.services.webhook_delivery import DeliveryResult
from api.tests.commands_helpers import NOTHING_PURGED, run
from api.tests.conftest import ADA, book_seats
from api.tests.webhooks_helpers import (
    Receiver,
    allow_private,  # noqa: F401 (the fixture)
    deliver,
    endpoint,  # noqa: F401 (the fixture)
    queue_events,
    receiver,  # noqa: F401 (the fixture)
)

pytestmark = pytest.mark.django_db


# --- a cron run: batch after batch, for a bounded time --------------------------------------


def test_a_cron_run_sends_batch_after_batch_while_events_are_due(endpoint, receiver):
    due = webhook_delivery.BATCH_SIZE + 50
    queue_events(due)
    receiver.answers = [200] * (due - 1) + [500]  # the last one fails

    with time_machine.travel(timezone.now(), tick=False):  # its retry, 5 s on, is not due during the run
        out = run("deliver_webhooks")
        assert not WebhookEvent.objects.filter(next_attempt_at__lte=timezone.now()).exists()  # none left due

    assert out == f"Delivered {due - 1} webhook events, 1 failed (0 endpoints disabled).\n"
    assert len(receiver.requests) == due
    # One entry for the run, counting all its batches.
    (entry,) = AuditEntry.objects.filter(action="webhooks.sent")
    assert entry.changes == {"delivered": due - 1, "failed": 1, "disabled": 0}


def test_a_cron_run_starts_no_send_after_its_time_and_hands_the_rest_back(endpoint, receiver, monkeypatch):
    queue_events(10)
    send = webhook_delivery._send
    started: list[float] = []

    with time_machine.travel(timezone.now(), tick=False) as traveller:
        began = timezone.now()

        def ten_seconds_each(*args):
            started.append((timezone.now() - began).total_seconds())
            answered = send(*args)
            traveller.shift(10)
            return answered

        monkeypatch.setattr(webhook_delivery, "_send", ten_seconds_each)
        out = run("deliver_webhooks")
        ended = timezone.now()

    # None after RUN_SECONDS (40), across two batches: the first stops half-way through its lease.
    assert started == [0, 10, 20, 30, 40] and webhook_lanes.RUN_SECONDS == 40
    assert out == "Delivered 5 webhook events, 0 failed (0 endpoints disabled).\n"
    # The rest are handed back untried, due at once: the next run (a minute on) sends them.
    assert WebhookEvent.objects.filter(status="pending", attempts=0, next_attempt_at__lte=ended).count() == 5


def test_a_cron_run_ends_within_its_minute_even_if_its_last_send_times_out():
    # The last send: a first look-up of its name, then a whole answer's deadline.
    last_send = outbound.RESOLVE_SECONDS + webhook_delivery.TIMEOUT_SECONDS * outbound.WHOLE_ANSWER_TIMEOUTS
    assert webhook_lanes.RUN_SECONDS + last_send <= 60


# --- the worker (--loop): run after run, through a lost database ----------------------------


def test_the_worker_goes_on_after_a_run_that_lost_the_database_and_ends_at_any_other_error(monkeypatch, caplog):
    """A dropped connection (a restart, a failover, pg_terminate_backend) ended the worker,
    and events piled up until someone started it again. test_webhooks_workers.py drops a
    real one on PostgreSQL."""
    outcomes: list[Exception | DeliveryResult] = [
        OperationalError("terminating connection due to administrator command\nSSL connection has been closed"),
        InterfaceError("connection already closed"),
        DeliveryResult(delivered=1),
        OperationalError("server closed the connection unexpectedly"),
        RuntimeError("a bug"),  # not the database's: the worker ends, as before (exit 1)
    ]

    def run_once() -> DeliveryResult:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr(deliver_webhooks, "webhooks_deliver_due", run_once)
    waits: list[float] = []
    monkeypatch.setattr(deliver_webhooks.time, "sleep", waits.append)
    closed: list[bool] = []  # (the test's own connection stays open: its transaction is the test)
    monkeypatch.setattr(deliver_webhooks.connections, "close_all", lambda: closed.append(True))

    with caplog.at_level(logging.WARNING), pytest.raises(RuntimeError, match="a bug"):
        run("deliver_webhooks", "--loop")

    assert waits == [1, 2, 1]  # twice as long after a second loss in a row; from 1 again after a run
    assert closed == [True, True, True]
    assert [r.getMessage() for r in caplog.records] == [
        "Lost the database (OperationalError: terminating connection due to administrator command); next run in 1 s.",
        "Lost the database (InterfaceError: connection already closed); next run in 2 s.",
        "Lost the database (OperationalError: server closed the connection unexpectedly); next run in 1 s.",
    ]
    assert {r.levelname for r in caplog.records} == {"WARNING"}


def test_the_worker_still_stops_at_ctrl_c(monkeypatch):
    def interrupted() -> DeliveryResult:
        raise KeyboardInterrupt

    monkeypatch.setattr(deliver_webhooks, "webhooks_deliver_due", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run("deliver_webhooks", "--loop")


# --- each failed attempt is logged, with its reason ----------------------------------------


def failure_logged(caplog: pytest.LogCaptureFixture) -> str:
    """The one message logged, a WARNING of the webhooks' logger; it never holds the
    payload's person."""
    (record,) = caplog.records
    assert (record.name, record.levelno) == ("api.services.webhook_delivery", logging.WARNING)
    message = record.getMessage()
    assert ADA["name"] not in message and ADA["phone_number"][-10:] not in message
    return message


def test_an_answer_trickled_a_byte_at_a_time_times_out_as_a_whole(allow_private):
    """httpx's timeout is for each read: a receiver sending its answer a byte every 0.1 s
    held a send for as long as it liked (a run, then past its lease, another host's)."""
    trickling = Receiver(trickle=0.1)  # 20 bytes: 2 s
    try:
        with outbound.Sender(timeout=0.5, allow_private=True) as sender:
            answer = sender.post(trickling.url, content=b"{}", headers={"webhook-id": "msg_1"})
    finally:
        trickling.stop()

    assert answer == "ReadTimeout: no whole answer within 0.75 s"


def test_no_second_request_goes_where_one_given_up_still_runs(allow_private):
    """A request given up at its deadline runs on until its connection ends (one still
    connecting outlives its sender's close): a worker polling every second could start one
    more a second for each receiver trickling answers."""
    trickling = Receiver(trickle=0.1)
    try:
        with outbound.Sender(timeout=0.2, allow_private=True) as sender:
            first = sender.post(trickling.url, content=b"{}", headers={"webhook-id": "msg_1"})
            second = sender.post(trickling.url, content=b"{}", headers={"webhook-id": "msg_2"})
    finally:
        trickling.stop()

    assert first == "ReadTimeout: no whole answer within 0.3 s"
    assert second == "ReadTimeout: an earlier request to it is still unanswered"
    assert [r["headers"]["webhook-id"] for r in trickling.requests] == ["msg_1"]


def test_an_endpoint_that_answers_410_is_sent_no_more_of_the_run(allow_private, receiver):
    """410 Gone disables the endpoint, which is sent nothing: the rest of the batch still
    went to it. They wait, unsent, as an inactive endpoint's events do."""
    hook = webhooks.webhook_create(url=receiver.url, events=[], actor="t", now=timezone.now())
    receiver.answers = [410]
    queue_events(4)

    result = webhook_lanes.webhooks_deliver_due()

    assert (len(receiver.requests), result.failed, result.disabled) == (1, 1, 1)
    assert not Webhook.objects.get(pk=hook.pk).active
    waiting = WebhookEvent.objects.filter(webhook=hook, attempts=0)
    assert waiting.count() == 3 and not waiting.exclude(status="pending").exists()


def test_an_endpoint_that_gives_no_answer_is_tried_once_a_run_and_holds_up_no_other(
    allow_private, receiver, monkeypatch, caplog
):
    """A receiver that hung cost the run a timeout for each of its events, while every
    other endpoint's events waited behind them (one a timeout). Its first timeout now
    counts for its other events claimed: each failed (not sent), on its own retry
    schedule, so that a dead endpoint's events are still given up in time."""
    hung = Receiver(delay=2.0)
    try:
        monkeypatch.setattr(webhook_delivery, "TIMEOUT_SECONDS", 0.2)
        dead = webhooks.webhook_create(url=hung.url, events=[], actor="t", now=timezone.now())
        webhooks.webhook_create(url=receiver.url, events=[], actor="t", now=timezone.now())
        queue_events(5)  # five events for each endpoint

        with caplog.at_level(logging.WARNING):
            result = webhook_lanes.webhooks_deliver_due()
    finally:
        hung.stop()

    assert len(receiver.requests) == 5 and result.delivered == 5
    assert len(hung.requests) == 1 and result.failed == 5
    left = WebhookEvent.objects.filter(webhook=dead)
    assert set(left.values_list("attempts", "status")) == {(1, "failed")}
    retry = webhook_delivery.RETRY_DELAYS[0] * (1 + webhook_delivery.JITTER)
    assert left.filter(next_attempt_at__lte=timezone.now() + retry).count() == 5
    unsent = [r.getMessage() for r in caplog.records if "not sent, the endpoint gave no answer" in r.getMessage()]
    assert len(unsent) == 4 and "ReadTimeout" in unsent[0]


def test_a_failed_attempt_is_logged_with_the_answers_status(endpoint, receiver, show, caplog):
    receiver.answers = [503]
    book_seats(show.pk)
    event = WebhookEvent.objects.get()

    with caplog.at_level(logging.WARNING):
        deliver()
        assert failure_logged(caplog) == (
            f"Webhook endpoint {endpoint.pk}: event {event.message_id} failed (attempt 1): HTTP 503"
        )
        caplog.clear()
        assert deliver(after=timedelta(seconds=10)).delivered == 1

    assert caplog.records == []  # a delivery is not a warning


@pytest.mark.parametrize("level", [logging.INFO, logging.DEBUG])
def test_a_delivery_logs_no_credential_of_its_url(allow_private, receiver, show, caplog, level):
    # A URL may carry its receiver's credentials (http://user:pw@crm/h, a ?token=): with
    # LOG_LEVEL=INFO, httpx's line for each request wrote the whole URL into the job's log.
    url = receiver.url.replace("http://", "http://erp:pa55word@") + "?token=t0ken"
    webhooks.webhook_create(url=url, events=[], actor="t", now=timezone.now())
    book_seats(show.pk)

    with caplog.at_level(level):
        assert deliver().delivered == 1

    assert receiver.requests[0]["headers"]["Authorization"].startswith("Basic ")  # sent, to the receiver only
    assert "pa55word" not in caplog.text and "t0ken" not in caplog.text


def test_a_refused_connection_is_logged_with_its_exception(allow_private, show, caplog):
    nobody = webhooks.webhook_create(url="http://127.0.0.1:9/nobody", events=[], actor="t", now=timezone.now())
    book_seats(show.pk)
    event = WebhookEvent.objects.get()

    with caplog.at_level(logging.WARNING):
        deliver()

    prefix = f"Webhook endpoint {nobody.pk}: event {event.message_id} failed (attempt 1): ConnectError: "
    assert failure_logged(caplog).startswith(prefix)


def test_a_private_address_refused_at_delivery_is_logged_with_why(endpoint, receiver, settings, show, caplog):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    book_seats(show.pk)
    event = WebhookEvent.objects.get()

    with caplog.at_level(logging.WARNING):
        deliver()

    assert failure_logged(caplog) == (
        f"Webhook endpoint {endpoint.pk}: event {event.message_id} failed (attempt 1): "
        "The host 127.0.0.1 has the private or reserved address 127.0.0.1."
    )


def test_a_timeout_given_up_is_logged_as_given_up(allow_private, show, monkeypatch, caplog):
    slow = Receiver(delay=2.0)
    try:
        monkeypatch.setattr(webhook_delivery, "TIMEOUT_SECONDS", 0.2)
        hook = webhooks.webhook_create(url=slow.url, events=[], actor="t", now=timezone.now())
        book_seats(show.pk)
        WebhookEvent.objects.update(attempts=len(webhook_delivery.RETRY_DELAYS))  # the last attempt left
        event = WebhookEvent.objects.get()

        with caplog.at_level(logging.WARNING):
            deliver()
    finally:
        slow.stop()

    attempt = len(webhook_delivery.RETRY_DELAYS) + 1
    assert failure_logged(caplog) == (
        f"Webhook endpoint {hook.pk}: event {event.message_id} failed (attempt {attempt}, given up): "
        "ReadTimeout: timed out"
    )


# --- the purge: a week on, whatever became of them ------------------------------------------


@pytest.fixture
def outbox(allow_private) -> tuple[datetime, dict[str, WebhookEvent]]:
    """When the purge runs, and events of every kind: those it deletes are named `gone_*`.
    `stopped` is an endpoint made inactive; it is sent nothing (its events are not claimed)."""
    now = timezone.now()
    week = jobs.DELIVERED_EVENTS_KEPT
    active = webhooks.webhook_create(url="https://theatre.example/hooks", events=[], actor="t", now=now)
    stopped = webhooks.webhook_create(url="https://theatre.example/old", events=[], actor="t", now=now)
    webhooks.webhook_update(webhook_id=stopped.pk, actor="t", now=now, active=False)
    failed, pending, delivered = "failed", "pending", "delivered"
    kinds: dict[str, tuple[Webhook, str, timedelta, datetime | None]] = {
        # name: endpoint, status, age, next attempt
        "gone_given_up": (active, failed, week + timedelta(seconds=1), None),
        "given_up_a_week_ago": (active, failed, week, None),
        "given_up_this_week": (active, failed, week - timedelta(days=1), None),
        "failing_with_a_retry_to_come": (active, failed, week * 2, now + timedelta(hours=14)),
        "given_up_retried_by_staff": (active, failed, week * 2, now),
        "given_up_in_flight": (active, failed, week * 2, now + timedelta(seconds=50)),  # the lease
        "pending_due": (active, pending, week * 2, now - week),  # the deliverer stopped a while
        "gone_delivered": (active, delivered, week + timedelta(seconds=1), None),
        "gone_stopped_pending": (stopped, pending, week + timedelta(seconds=1), now - week),
        "gone_stopped_failing": (stopped, failed, week * 2, now + timedelta(hours=14)),
        "gone_stopped_given_up": (stopped, failed, week * 2, None),
        "stopped_pending_this_week": (stopped, pending, week - timedelta(days=1), now - timedelta(days=1)),
    }
    events = {
        name: WebhookEvent.objects.create(
            webhook=webhook,
            message_id=f"msg_{name}",
            type="booking.created",
            payload={"type": "booking.created", "data": {"name": ADA["name"], "phone_number": ADA["phone_number"]}},
            status=status,
            attempts=0 if status == pending else 12,
            next_attempt_at=next_attempt_at,
            created_at=now - age,
            delivered_at=now - age if status == delivered else None,
        )
        for name, (webhook, status, age, next_attempt_at) in kinds.items()
    }
    return now, events


def test_the_purge_deletes_given_up_events_and_those_of_inactive_endpoints_a_week_on(outbox):
    now, events = outbox

    with time_machine.travel(now, tick=False):
        out = run("purge_expired_tickets")

    kept = set(WebhookEvent.objects.values_list("message_id", flat=True))
    assert kept == {f"msg_{name}" for name in events if not name.startswith("gone_")}
    assert out == NOTHING_PURGED + "Deleted 0 old audit entries and 5 old webhook events.\n"
    (entry,) = AuditEntry.objects.filter(action="tickets.purged")
    assert entry.changes["webhook_events"] == 5
    assert jobs.tickets_purge(now=now).webhook_events == 0  # run again, nothing more


def test_an_endpoint_made_active_again_keeps_its_events_that_may_still_be_sent(outbox):
    now, events = outbox
    Webhook.objects.filter(pk=events["gone_stopped_failing"].webhook_id).update(active=True)

    jobs.tickets_purge(now=now)

    kept = set(WebhookEvent.objects.values_list("message_id", flat=True))
    assert {"msg_gone_stopped_pending", "msg_gone_stopped_failing"} <= kept  # their attempts are to come
    assert "msg_gone_stopped_given_up" not in kept  # given up a week ago: gone, as on any endpoint
