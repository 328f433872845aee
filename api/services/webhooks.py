"""Webhook endpoints: registering, changing and deleting them, and a retry staff ask for.
Their events (the outbox that audit.record fills) are signed and sent by
webhook_delivery.py, in runs and lanes (webhook_lanes.py, `manage.py deliver_webhooks`).

An endpoint's URL is checked when it is registered or changed (check_url): its form, and,
unless WEBHOOKS_ALLOW_PRIVATE, that its host is on a public address (api/outbound.py); the
deliverer checks the addresses again at every send.
"""

import base64
import secrets
from datetime import datetime
from typing import Any

import httpx
from django.conf import settings
from django.db import transaction

from .. import outbound
from ..errors import DeletedMeanwhile, DeliveryNotFound, EndpointInactive, EventsChangedMeanwhile, WebhookUrlRefused
from ..locking import lock_webhook_endpoints
from ..models import Webhook, WebhookEvent
from . import audit

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    """A signing secret, as Standard Webhooks writes one: "whsec_" and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


# --- endpoints -----------------------------------------------------------------------


def check_url(url: str) -> None:
    """Refuse (WebhookUrlRefused) an endpoint not on http(s), not a URL
    (outbound.well_formed), or not on a public address."""
    if not outbound.well_formed(url):
        raise WebhookUrlRefused("Enter a valid http or https URL.")
    try:
        parts = httpx.URL(url)  # as the deliverer will read it: httpx refuses some hosts that urlsplit takes
    except httpx.InvalidURL as exc:
        raise WebhookUrlRefused(f"The URL can't be sent to: {exc}.") from exc
    if parts.scheme not in ("http", "https") or not parts.raw_host:
        raise WebhookUrlRefused("The URL must be http or https, with a host.")
    if parts.port is not None and not 1 <= parts.port <= 65535:
        raise WebhookUrlRefused("The URL's port must be 1 to 65535.")  # httpx takes 70000, the socket wraps it
    if settings.WEBHOOKS_ALLOW_PRIVATE:
        return
    reason = outbound.checked_addresses(parts.raw_host.decode("ascii"))[1]  # the name the deliverer resolves
    if reason:
        raise WebhookUrlRefused(f"{reason} {WebhookUrlRefused.message}")


def webhook_create(*, url: str, events: list[str], actor: str, now: datetime, active: bool = True) -> Webhook:
    """Register an endpoint: after the writes in flight, so that it receives the events of
    every write committed after it, none of those before (locking.lock_webhook_endpoints)."""
    check_url(url)
    with transaction.atomic():
        lock_webhook_endpoints()
        webhook = Webhook.objects.create(url=url, events=events, active=active, secret=new_secret())
        changes: dict[str, Any] = {"url": outbound.masked(url), "events": events}
        if not active:
            changes["active"] = False
        audit.record(
            actor=actor, action="webhook.created", obj_type="webhook", obj_id=str(webhook.pk), changes=changes, now=now
        )
    return webhook


def webhook_update(
    *,
    webhook_id: int,
    actor: str,
    now: datetime,
    url: str | None = None,
    events: list[str] | None = None,
    active: bool | None = None,
    events_over: list[str] | None = None,
) -> Webhook:
    """Change an endpoint. Asked to set `active` or `events`, it first waits for the writes
    in flight (locking.lock_webhook_endpoints: one committed after this change reads the
    endpoint as changed). Asked, not only when they change: that table lock comes before
    the row's lock, which the change is read under (taken after it, two changes could
    deadlock, each holding the other's way). `events_over`: the events that `events` was
    ticked over (the admin's page); others committed are EventsChangedMeanwhile, not
    replaced unseen. A `url` the endpoint has is no change, and is not checked again (a
    PUT sends it whole, and one switching off an endpoint whose host has gone was refused
    for it); changed meanwhile by a colleague, theirs is kept, as the admin's page keeps it."""
    if url is not None and url == Webhook.objects.filter(pk=webhook_id).values_list("url", flat=True).first():
        url = None
    if url is not None:
        check_url(url)
    with transaction.atomic():
        if active is not None or events is not None:
            lock_webhook_endpoints()
        webhook = Webhook.objects.select_for_update().filter(pk=webhook_id).first()
        if webhook is None:
            raise DeletedMeanwhile("Webhook")
        if events is not None and events_over is not None and set(webhook.events) != set(events_over):
            raise EventsChangedMeanwhile()
        wanted = {"url": url, "events": events, "active": active}
        changes = {k: [getattr(webhook, k), v] for k, v in wanted.items() if v is not None and getattr(webhook, k) != v}
        if not changes:  # saved as it was: nothing to record
            return webhook
        for field, (_, value) in changes.items():
            setattr(webhook, field, value)
        webhook.save()
        if "url" in changes:  # the trail keeps no credentials (outbound.masked)
            changes["url"] = [outbound.masked(url) for url in changes["url"]]
        audit.record(
            actor=actor, action="webhook.changed", obj_type="webhook", obj_id=str(webhook.pk), changes=changes, now=now
        )
    return webhook


def webhook_delete(*, webhook_id: int, actor: str, now: datetime) -> None:
    """Delete the endpoint and its events. Its lock first: a write making events for it
    (audit.outbox_insert, FOR KEY SHARE) commits before, and its events go too; one after
    finds it gone and makes none."""
    with transaction.atomic():
        if not list(Webhook.objects.select_for_update().filter(pk=webhook_id).values_list("pk", flat=True)):
            return
        Webhook.objects.filter(pk=webhook_id).delete()
        audit.record(
            actor=actor, action="webhook.deleted", obj_type="webhook", obj_id=str(webhook_id), changes={}, now=now
        )


def delivery_retry(*, delivery_id: int, actor: str, now: datetime) -> WebhookEvent:
    """Send the event again (same webhook-id) at the next run of the job, whatever its status;
    asked for while an attempt is in flight, once more after it (webhook_delivery._record
    leaves it standing, and no worker claims it while the attempt's lease runs). Returns the
    event as it now stands."""
    with transaction.atomic():
        # An inactive endpoint is sent nothing: a retry accepted would never be sent.
        if WebhookEvent.objects.filter(pk=delivery_id, webhook__active=False).exists():
            raise EndpointInactive()
        if not WebhookEvent.objects.filter(pk=delivery_id).update(next_attempt_at=now):
            raise DeliveryNotFound()  # purged, or deleted with its endpoint, meanwhile
        event = WebhookEvent.objects.get(pk=delivery_id)  # locked by the UPDATE until the commit
        audit.record(
            actor=actor,
            action="webhook_event.retried",
            obj_type="webhook_event",
            obj_id=str(delivery_id),
            changes={},
            now=now,
        )
    return event
