# ruff: noqa: F811  (the pytest fixture `allow_private` imported from webhooks_helpers, used as an argument)
"""A delivery run in lanes (api/services/webhook_lanes.py) that fails part-way, and a URL
whose lane finds nothing to claim: the run waits for the lanes it started before it
raises, its audit entry counts the sends that were made, and a URL whose rows another
worker holds is not started again and again. Transactional tests, as test_webhook_lanes.py's:
inside a transaction a run sends in one lane."""

import time
from collections import Counter

import pytest
from django.db import DatabaseError, Error, connection

from api.models import AuditEntry, WebhookEvent
from api.services import webhook_delivery, webhook_lanes
from api.tests.webhooks_helpers import (
    Receiver,
    allow_private,  # noqa: F401 (the fixture)
    delivered,
    hook_at,
    queue_events,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _run_entry() -> dict:
    (entry,) = AuditEntry.objects.filter(action="webhooks.sent")
    return entry.changes


def _went_away() -> None:
    raise DatabaseError("the database went away")


def _restarted() -> None:
    connection.connection.close()  # the run's own connection: the next query on it fails


@pytest.mark.parametrize(("second_look", "error"), [(_went_away, "went away"), (_restarted, "closed")])
def test_a_run_whose_look_for_due_urls_fails_waits_for_its_lanes_and_records_their_sends(
    allow_private, monkeypatch, second_look, error
):
    """The run raised at once: the slow receiver's lane, a daemon thread, died mid-send
    as the process exited (its event, which the receiver may have got, sent again after
    its lease), and the sends made had no audit entry. With the run's own connection
    broken (the database restarted), the entry, written on it, failed too, and its error
    hid the first."""
    slow, fast = Receiver(delay=1.5), Receiver()
    due_urls, looks = webhook_lanes._due_urls, Counter[str]()

    def failing(*args):
        looks["due"] += 1
        if looks["due"] > 1:  # when the fast lane ends, the run looks again: the database is gone
            second_look()
        return due_urls(*args)

    monkeypatch.setattr(webhook_lanes, "_due_urls", failing)
    try:
        slow_hook, fast_hook = hook_at(slow), hook_at(fast)
        queue_events(1)
        with pytest.raises(Error, match=error):
            webhook_lanes.webhooks_deliver_due()
        # Raised only once the slow lane had ended: its send done and recorded.
        assert (delivered(slow_hook), delivered(fast_hook)) == (1, 1)
    finally:
        slow.stop()
        fast.stop()
    assert _run_entry() == {"delivered": 2, "failed": 0, "disabled": 0}


def test_a_lane_that_fails_part_way_leaves_the_runs_sends_recorded(allow_private, monkeypatch):
    """The run's audit entry was made only when every lane ended well: a lane's failure
    lost the entry for the sends of every lane, its own made before it failed included."""
    broken, fine = Receiver(), Receiver()
    claim, claims = webhook_delivery._claim, Counter[str]()

    def failing(now, limit, unreachable=None, url=None):
        if url == broken.url:
            claims[url] += 1
            if claims[url] > 1:  # its first batch sent, the lane fails at its next claim
                raise DatabaseError("the database went away")
        return claim(now, limit, unreachable, url)

    monkeypatch.setattr(webhook_delivery, "_claim", failing)
    try:
        broken_hook, fine_hook = hook_at(broken), hook_at(fine)
        queue_events(2)
        with pytest.raises(DatabaseError, match="went away"):
            webhook_lanes.webhooks_deliver_due()
    finally:
        broken.stop()
        fine.stop()

    assert (delivered(broken_hook), delivered(fine_hook)) == (2, 2)
    assert _run_entry() == {"delivered": 4, "failed": 0, "disabled": 0}


def test_a_url_whose_lane_claims_nothing_is_not_started_again_at_once(allow_private, monkeypatch):
    """Its rows look due, but another worker is claiming them (SKIP LOCKED leaves them to
    it): its lane ended with nothing, the URL was due still, and a lane was started for it
    again at once, a thread and a database connection each, for as long as the run went on."""
    slow, held = Receiver(delay=1.5), Receiver()
    claim, tries = webhook_delivery._claim, Counter[str]()

    def held_elsewhere(now, limit, unreachable=None, url=None):
        if url == held.url:
            tries[url] += 1
            return []  # its rows locked by another worker's claim
        return claim(now, limit, unreachable, url)

    monkeypatch.setattr(webhook_delivery, "_claim", held_elsewhere)
    try:
        slow_hook, held_hook = hook_at(slow), hook_at(held)
        queue_events(1)
        started = time.monotonic()
        result = webhook_lanes.webhooks_deliver_due()
        took = time.monotonic() - started
    finally:
        slow.stop()
        held.stop()

    assert result == webhook_delivery.DeliveryResult(delivered=1) and delivered(slow_hook) == 1
    # Once at the start, then at most once a POLL_SECONDS while the slow lane runs: it was
    # hundreds, and the run, never without a lane, went on for its whole RUN_SECONDS.
    assert took < 10
    assert 1 <= tries[held.url] <= 2 + took / webhook_lanes.POLL_SECONDS, (tries, took)
    assert WebhookEvent.objects.filter(webhook=held_hook, status="pending", attempts=0).count() == 1
