# ruff: noqa: F811  (the pytest fixture `allow_private` imported from webhooks_helpers, used as an argument)
"""Webhook delivery workers at once, on PostgreSQL: nothing is lost when a worker is killed
mid-batch, a worker outlives its connection dropped by the server, and two workers never
send the same event at once."""

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from api.models import WebhookEvent
from api.services import audit, webhook_delivery, webhook_lanes, webhooks
from api.tests.conftest import all_at_once, postgres_only
from api.tests.servers import database_url
from api.tests.webhooks_helpers import (
    Receiver,
    allow_private,  # noqa: F401 (the fixture)
)

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
        assert len(received) - 500 <= webhook_delivery.BATCH_SIZE
    finally:
        receiver.stop()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_worker_goes_on_when_the_server_drops_its_connection(tmp_path, allow_private):
    """The server closes the worker's connection (a restart, a failover, an idle timeout at
    PgBouncer): the worker ended with a traceback, and events piled up until someone
    started it again. It now says so, opens a new connection and sends what comes due."""
    receiver = Receiver()
    worker = _worker(tmp_path, "worker")
    log = tmp_path / "worker.log"
    name = connection.settings_dict["NAME"]
    others = "FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
    try:
        webhooks.webhook_create(url=receiver.url, events=[], actor="t", now=timezone.now())

        def worker_connected() -> bool:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT count(*) {others}", [name])
                return cursor.fetchone()[0] > 0

        assert _wait(worker_connected, 30), log.read_text()
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT pg_terminate_backend(pid) {others}", [name])
        assert _wait(lambda: worker.poll() is not None or "Lost the database" in log.read_text(), 30)
        assert worker.poll() is None, log.read_text()  # it ended, with a traceback

        _events(3)
        assert _wait(lambda: len(receiver.requests) == 3, 30), log.read_text()
        assert worker.poll() is None, log.read_text()
        assert "Traceback" not in log.read_text()
    finally:
        worker.terminate()
        worker.wait(timeout=30)
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
            while (result := webhook_lanes.webhooks_deliver(now=timezone.now(), limit=20)).sent:
                sent += result.sent
            return sent

        counts = all_at_once(2, work)

        assert sum(counts) == 300 and min(counts) > 0  # both worked, and shared the work
        received = [r["headers"]["webhook-id"] for r in receiver.requests]
        assert len(received) == len(set(received)) == 300
        assert receiver.overlaps == []
    finally:
        receiver.stop()
