# ruff: noqa: F811  (pytest fixtures imported from webhooks_helpers, used as arguments)
"""A receiver that asks for a wait: a failed answer's Retry-After (seconds or an HTTP date),
up to the retry schedule's longest delay, and 429, 502 or 504 without one; every event at
its URL waits as long, past the batch and the run, and a success's Retry-After holds
nothing back. The rest of delivery: test_webhooks.py."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from api import outbound
from api.models import WebhookEvent
from api.services import webhook_delivery, webhook_lanes
from api.tests.conftest import book_seats
from api.tests.webhooks_helpers import (
    allow_private,  # noqa: F401 (the fixture)
    deliver,
    endpoint,  # noqa: F401 (the fixture)
    hook_at,
    queue_events,
    receiver,  # noqa: F401 (the fixture)
    verify,
)


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
