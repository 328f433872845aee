# ruff: noqa: F811  (the pytest fixture `allow_private` imported from webhooks_helpers, used as an argument)
"""Delivery in lanes, one a receiver URL (api/services/webhook_lanes.py): a slow receiver
holds up no other's events; each receiver still gets its events in order, one at a time;
at most WEBHOOKS_LANES send at once; a run's lanes keep its guarantees (a dead endpoint
tried once a run, a 410 disabling its endpoint, one audit entry with the run's counts).

The runs here are in transactional tests: a run inside a transaction (as the other webhook
tests' are) sends in one lane, since other connections can't see what it hasn't committed."""

import threading
import time
from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from api import outbound
from api.models import AuditEntry, Webhook, WebhookEvent
from api.services import webhook_delivery, webhook_lanes
from api.tests.conftest import in_thread
from api.tests.webhooks_helpers import (
    Receiver,
    allow_private,  # noqa: F401 (the fixture)
    delivered,
    hook_at,
    queue_events,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _wait(condition, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_slow_receiver_holds_up_no_other_endpoints_events(allow_private):
    """A receiver answering in 9 s held every other endpoint's events behind its own, one
    after another: here 2 s for each of 3 events, and the fast endpoint's events waited
    for all three."""
    slow, fast = Receiver(delay=2.0), Receiver()
    try:
        slow_hook, fast_hook = hook_at(slow), hook_at(fast)
        queue_events(3)
        # The slow endpoint's events are the oldest due: one lane would send them first.
        WebhookEvent.objects.filter(webhook=slow_hook).update(next_attempt_at=F("next_attempt_at") - timedelta(1))
        outcome: dict = {}
        run = in_thread(outcome, "run", webhook_lanes.webhooks_deliver_due)

        assert _wait(lambda: delivered(fast_hook) == 3)
        assert delivered(slow_hook) < 3  # the slow one's run has not ended: the fast one's didn't wait for it
        run.join(60)
    finally:
        slow.stop()
        fast.stop()

    assert outcome["run"] == webhook_delivery.DeliveryResult(delivered=6)
    # The slow receiver got its events in order, one at a time.
    in_order = list(WebhookEvent.objects.filter(webhook=slow_hook).order_by("pk").values_list("message_id", flat=True))
    assert [r["headers"]["webhook-id"] for r in slow.requests] == in_order
    assert slow.most_at_once == 1
    (entry,) = AuditEntry.objects.filter(action="webhooks.sent")
    assert entry.changes == {"delivered": 6, "failed": 0, "disabled": 0}


def test_at_most_webhooks_lanes_receivers_are_sent_to_at_once(allow_private, settings, monkeypatch):
    settings.WEBHOOKS_LANES = 2
    receivers = [Receiver(delay=1.0) for _ in range(3)]
    send, lock = webhook_delivery._send, threading.Lock()
    sending = {"now": 0, "most": 0}

    def counted(*args):
        with lock:
            sending["now"] += 1
            sending["most"] = max(sending["most"], sending["now"])
        try:
            return send(*args)
        finally:
            with lock:
                sending["now"] -= 1

    monkeypatch.setattr(webhook_delivery, "_send", counted)
    try:
        for receiver in receivers:
            hook_at(receiver)
        queue_events(1)
        result = webhook_lanes.webhooks_deliver_due()
    finally:
        for receiver in receivers:
            receiver.stop()

    assert result.delivered == 3 and [len(r.requests) for r in receivers] == [1, 1, 1]
    assert sending["most"] == 2


def test_a_runs_lanes_keep_its_guarantees(allow_private, monkeypatch):
    """A dead endpoint is tried once a run (its lane not started again, though its events
    are due again at once here), a 410 disables its endpoint and hands back the rest, and
    the run's counts, summed over its lanes, make one audit entry."""
    monkeypatch.setattr(webhook_delivery, "TIMEOUT_SECONDS", 0.2)
    monkeypatch.setattr(webhook_delivery, "RETRY_DELAYS", [timedelta(0)] * len(webhook_delivery.RETRY_DELAYS))
    hung, gone, fine = Receiver(delay=2.0), Receiver(), Receiver()
    gone.answers = [410]
    try:
        dead_hook, gone_hook, _ = hook_at(hung), hook_at(gone), hook_at(fine)
        queue_events(3)
        result = webhook_lanes.webhooks_deliver_due()
    finally:
        for receiver in (hung, gone, fine):
            receiver.stop()

    assert (result.delivered, result.failed, result.disabled) == (3, 3 + 1, 1)
    assert [len(r.requests) for r in (hung, gone, fine)] == [1, 1, 3]
    assert set(WebhookEvent.objects.filter(webhook=dead_hook).values_list("attempts", "status")) == {(1, "failed")}
    assert not Webhook.objects.get(pk=gone_hook.pk).active
    assert WebhookEvent.objects.filter(webhook=gone_hook, attempts=0, status="pending").count() == 2
    (entry,) = AuditEntry.objects.filter(action="webhooks.sent")
    assert entry.changes == {"delivered": 3, "failed": 4, "disabled": 1}


def test_a_polls_batch_is_sent_in_lanes(allow_private):
    slow, fast = Receiver(delay=2.0), Receiver()
    try:
        slow_hook, fast_hook = hook_at(slow), hook_at(fast)
        queue_events(2)
        WebhookEvent.objects.filter(webhook=slow_hook).update(next_attempt_at=F("next_attempt_at") - timedelta(1))
        outcome: dict = {}
        poll = in_thread(outcome, "poll", lambda: webhook_lanes.webhooks_deliver(now=timezone.now()))

        assert _wait(lambda: delivered(fast_hook) == 2)
        assert delivered(slow_hook) < 2
        poll.join(60)
    finally:
        slow.stop()
        fast.stop()
    assert outcome["poll"] == webhook_delivery.DeliveryResult(delivered=4)


def _look_up_at_once(hosts: list[str]) -> dict[str, str | None]:
    """Each host's refusal by a Sender of its own, all at once, as a run's lanes do."""
    refusals: dict[str, str | None] = {}

    def look_up(host: str) -> None:
        with outbound.Sender(timeout=1) as sender:
            refusals[host] = sender.refusal(host)

    lanes = [threading.Thread(target=look_up, args=(host,)) for host in hosts]
    for lane in lanes:
        lane.start()
    for lane in lanes:
        lane.join()
    return refusals


def _slow_getaddrinfo(monkeypatch, seconds: float) -> None:
    getaddrinfo = outbound.socket.getaddrinfo

    def slow_getaddrinfo(host, *args, **kwargs):
        time.sleep(seconds)
        return getaddrinfo("127.0.0.1", *args, **kwargs)

    monkeypatch.setattr(outbound.socket, "getaddrinfo", slow_getaddrinfo)


def _loopback(host: str) -> str:
    return f"The host {host} has the private or reserved address 127.0.0.1."


def test_lanes_looking_up_their_hosts_at_once_wait_for_a_free_look_up(monkeypatch):
    """With every Sender's look-up slot held, a name past them was refused at once: a
    healthy name was refused for its run. (Here one slot, for two lanes.)"""
    monkeypatch.setattr(outbound, "_sender_lookups", threading.BoundedSemaphore(1))
    _slow_getaddrinfo(monkeypatch, 0.3)
    hosts = [f"lane{n}.example.test" for n in range(2)]

    assert _look_up_at_once(hosts) == {host: _loopback(host) for host in hosts}


def test_as_many_lanes_as_a_run_may_have_each_get_the_whole_time_to_resolve(monkeypatch):
    """A run's lanes (up to 16) shared four look-up slots, the wait for one counted in the
    5 s a name has to resolve: with a resolver taking 2 s, a third wave of lanes had 1 s
    left, and healthy hosts were refused "can't be resolved in time", each of their events
    a failed attempt."""
    _slow_getaddrinfo(monkeypatch, 2.0)
    hosts = [f"lane{n}.example.test" for n in range(16)]  # WEBHOOKS_LANES' most

    started = time.monotonic()
    refusals = _look_up_at_once(hosts)

    assert refusals == {host: _loopback(host) for host in hosts}
    assert time.monotonic() - started < outbound.RESOLVE_SECONDS  # at once, not in waves


def test_a_host_whose_look_up_hangs_holds_one_slot_however_many_runs_ask(monkeypatch):
    """Each run's lane started a look-up of its own of a host whose name server never
    answers, and each outlived its 5 s: after sixteen runs they held every Sender's slot,
    and healthy hosts were refused "can't be resolved in time"."""
    monkeypatch.setattr(outbound, "RESOLVE_SECONDS", 0.2)
    answer = threading.Event()
    getaddrinfo = outbound.socket.getaddrinfo

    def silent_for_one(host, *args, **kwargs):
        if host == "silent.example.test":
            answer.wait(30)
        return getaddrinfo("127.0.0.1", *args, **kwargs)

    monkeypatch.setattr(outbound.socket, "getaddrinfo", silent_for_one)
    try:
        for _ in range(outbound.SENDER_LOOKUPS + 2):  # a lane a run, every run
            refusal = outbound.checked_addresses("silent.example.test", queue=True)[1]
            assert refusal == "The host silent.example.test can't be resolved in time."
        stuck = [t for t in threading.enumerate() if t.name == "resolve silent.example.test"]

        assert len(stuck) == 1
        assert outbound.checked_addresses("fine.example.test", queue=True)[1] == _loopback("fine.example.test")
    finally:
        answer.set()
