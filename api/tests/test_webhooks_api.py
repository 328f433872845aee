# ruff: noqa: F811  (pytest fixtures imported from webhooks_helpers, used as arguments)
"""The staff API of webhooks: an endpoint registered, read, changed and deleted, invalid
ones refused, the delivery log and a retry (also of an event deleted after the lookup),
the purge of delivered events, and anonymous clients kept out."""

import base64
import importlib
import json
from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone

from api.models import AuditEntry, Webhook, WebhookEvent
from api.services import jobs, webhooks
from api.tests.conftest import book_seats
from api.tests.webhooks_helpers import (
    allow_private,  # noqa: F401 (the fixture)
    deliver,
    endpoint,  # noqa: F401 (the fixture)
    receiver,  # noqa: F401 (the fixture)
)

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
def test_an_endpoint_made_inactive_stays_so_and_names_each_event_once(staff_client, allow_private, receiver):
    # "active": false was passed over (made active, 201), and an event named twice kept twice.
    body = {"url": receiver.url, "events": ["booking.created", "show.created", "booking.created"], "active": False}

    response = staff_client.post("/api/webhooks", body, format="json")

    assert response.status_code == 201, response.json()
    assert (response.json()["active"], response.json()["events"]) == (False, ["booking.created", "show.created"])
    webhook = Webhook.objects.get()
    assert (webhook.active, webhook.events) == (False, ["booking.created", "show.created"])
    entry = AuditEntry.objects.get(action="webhook.created")
    assert entry.changes == {"url": receiver.url, "events": ["booking.created", "show.created"], "active": False}


@pytest.mark.django_db
def test_the_audit_trail_keeps_no_credentials_of_an_endpoints_url(staff_client, allow_private, receiver):
    """A URL may carry its receiver's credentials (user:pw@, ?token=), and the trail, kept
    AUDIT_KEEP_DAYS and read by whoever may read it, held them whole, as it holds no name
    or phone number: the trail says the URL, its secrets masked."""
    port = receiver.url.split(":")[2].split("/")[0]
    url = f"http://erp:s3cret@127.0.0.1:{port}/hooks?token=t0ken&v=2"
    response = staff_client.post("/api/webhooks", {"url": url}, format="json")
    assert response.status_code == 201, response.json()
    other = f"http://erp:n3w@127.0.0.1:{port}/hooks?token=t1ken"
    webhook = response.json()["id"]
    assert staff_client.patch(f"/api/webhooks/{webhook}", {"url": other}, format="json").status_code == 200

    masked = f"http://erp:***@127.0.0.1:{port}/hooks?token=***&v=***"
    assert AuditEntry.objects.get(action="webhook.created").changes["url"] == masked
    assert AuditEntry.objects.get(action="webhook.changed").changes == {
        "url": [masked, f"http://erp:***@127.0.0.1:{port}/hooks?token=***"]
    }
    trail = staff_client.get("/api/audit", {"object": f"webhook:{webhook}"}).content.decode()
    assert not [secret for secret in ("s3cret", "n3w", "t0ken", "t1ken") if secret in trail]
    assert Webhook.objects.get().url == other  # the endpoint itself keeps them: they are sent


@pytest.mark.django_db
def test_the_entries_written_before_are_masked_by_the_migration():
    migration = importlib.import_module("api.migrations.0026_audit_webhook_urls_masked")
    now = timezone.now()

    def written(action: str, changes: dict) -> AuditEntry:
        kind = action.split(".")[0]
        return AuditEntry.objects.create(
            at=now, actor="staff:a", action=action, object_type=kind, object_id="1", changes=changes
        )

    made = written("webhook.created", {"url": "http://erp:s3cret@crm/h?token=t0ken", "events": []})
    changed = written("webhook.changed", {"url": ["http://erp:s3cret@crm/h", "https://crm/h"], "active": [True, False]})
    other = written("show.changed", {"url": "http://a:b@c/"})  # no webhook's: left as it is

    migration.mask_urls(apps, None)

    for entry in (made, changed, other):
        entry.refresh_from_db()
    assert made.changes == {"url": "http://erp:***@crm/h?token=***", "events": []}
    assert changed.changes == {"url": ["http://erp:***@crm/h", "https://crm/h"], "active": [True, False]}
    assert other.changes == {"url": "http://a:b@c/"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body, field",
    [
        ({"url": "https://example.com/x", "events": ["booking.exploded"]}, "events"),
        ({"url": "ftp://example.com/x"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "http://\u2603.net/hook"}, "url"),  # a host that Django takes and httpx can't send to
        ({"url": "https://example.com:70000/x"}, "url"),  # httpx takes it; the socket would wrap it to 4464
        ({"url": "http://exa mple.com/x"}, "url"),  # httpx takes it too
        ({"url": "http://crm_1/x"}, "url"),
        ({"url": "http://[::1/x"}, "url"),
        ({"url": "http:///x"}, "url"),
        ({"url": ""}, "url"),
        ({}, "url"),
    ],
)
def test_invalid_endpoints_are_400(staff_client, allow_private, body, field):
    response = staff_client.post("/api/webhooks", body, format="json")

    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["post", "patch"])
def test_an_event_name_with_a_lone_surrogate_is_a_400(staff_client, allow_private, receiver, method):
    # JSON's "\ud800" is a lone surrogate: the 400 quoting it could not be encoded, a 500.
    body = json.dumps({"url": receiver.url, "events": ["booking.created", "\ud800"]})  # escaped: ASCII
    path = "/api/webhooks"
    if method == "patch":
        path += f"/{staff_client.post(path, {'url': receiver.url}, format='json').json()['id']}"

    response = getattr(staff_client, method)(path, body, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"events": {"1": ["Surrogate characters are not allowed: U+D800."]}}


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["http://crm:8080/hooks", "https://intranet/h?x=1", "http://user:pw@crm/h"])
def test_a_system_on_the_theatres_network_by_its_name_alone_is_an_endpoint(
    staff_client, admin_client, allow_private, url
):
    # API.md: `url` is http or https; DRF's URLField (Django's URLValidator) asked for a dot
    # in the host, or localhost, and refused an internal system by its name.
    made = staff_client.post("/api/webhooks", {"url": url}, format="json")
    assert made.status_code == 201, made.json()
    moved = staff_client.patch(f"/api/webhooks/{made.json()['id']}", {"url": "http://erp:9000/in"}, format="json")
    assert moved.status_code == 200, moved.json()

    page = admin_client.post("/admin/api/webhook/add/", {"url": "http://pos/hooks", "active": "on"})
    assert page.status_code == 302, page.content.decode()[:2000]
    assert Webhook.objects.filter(url="http://pos/hooks").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["put", "patch"])
def test_an_endpoint_whose_host_turned_private_can_be_switched_off_with_its_url_sent_unchanged(
    staff_client, settings, method
):
    """README: the URL is checked when registered or changed, not when staff switch the
    endpoint off (its host gone, or private addresses no longer allowed). A PUT sends the
    URL whole (as does a PATCH of the object read back): it was checked again, and the
    endpoint could only be deleted, with its delivery log. (Addresses, not names: no DNS.)"""
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    hook = webhooks.webhook_create(url="http://10.1.2.3/hook", events=[], actor="t", now=timezone.now())
    settings.WEBHOOKS_ALLOW_PRIVATE = False

    body = {"url": hook.url, "events": [], "active": False}
    response = getattr(staff_client, method)(f"/api/webhooks/{hook.pk}", body, format="json")

    assert response.status_code == 200, response.json()
    assert response.json() == {**body, "id": hook.pk, "created_at": response.json()["created_at"]}
    assert not Webhook.objects.get(pk=hook.pk).active
    assert AuditEntry.objects.get(action="webhook.changed").changes == {"active": [True, False]}
    # A URL that is a change is still checked.
    moved = staff_client.patch(f"/api/webhooks/{hook.pk}", {"url": "http://10.1.2.4/hook"}, format="json")
    assert moved.status_code == 400 and "private or reserved address" in moved.json()["url"][0]


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
def test_the_delivery_log_is_newest_first(staff_client, endpoint, show, frozen):
    """API.md: "the delivery log of that endpoint, newest first", page by page."""
    book_seats(show.pk, seats=["A1"])
    frozen.shift(1)
    book_seats(show.pk, seats=["A2"], name="Grace Hopper", phone_number="+914155550199")
    made = list(WebhookEvent.objects.order_by("created_at").values_list("pk", flat=True))

    first = staff_client.get(f"/api/webhooks/{endpoint.pk}/deliveries?page_size=1").json()
    second = staff_client.get(f"/api/webhooks/{endpoint.pk}/deliveries?page_size=1&page=2").json()

    assert [first["count"], first["results"][0]["id"], second["results"][0]["id"]] == [2, made[1], made[0]]


def test_a_retry_for_an_inactive_endpoint_is_a_409_not_a_202_never_sent(staff_client, endpoint, receiver, show):
    receiver.answers = [410]  # Gone: the endpoint is disabled
    book_seats(show.pk)
    deliver()
    event = WebhookEvent.objects.get()

    response = staff_client.post(f"/api/webhooks/{endpoint.pk}/deliveries/{event.pk}/retry")

    assert (response.status_code, response.json()["code"]) == (409, "endpoint_inactive")
    assert not AuditEntry.objects.filter(action="webhook_event.retried").exists()
    staff_client.patch(f"/api/webhooks/{endpoint.pk}", {"active": True}, format="json")
    assert staff_client.post(f"/api/webhooks/{endpoint.pk}/deliveries/{event.pk}/retry").status_code == 202
    assert deliver().delivered == 1


@pytest.mark.parametrize("ids", ["{big}/deliveries/{event}", "{endpoint}/deliveries/{big}", "{big}/deliveries/{big}"])
def test_a_retry_for_ids_past_the_columns_range_is_a_404(staff_client, endpoint, receiver, show, ids):
    # The endpoint's id was looked up as the event's foreign key: past 64 bits, SQLite's
    # OverflowError, a 500 (a pk lookup Django keeps to no row).
    book_seats(show.pk)
    event = WebhookEvent.objects.get()
    path = ids.format(big=10**23, endpoint=endpoint.pk, event=event.pk)

    response = staff_client.post(f"/api/webhooks/{path}/retry")

    assert response.status_code == 404, response.content
    assert "detail" in response.json()


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
