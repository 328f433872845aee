# ruff: noqa: F811  (pytest fixtures imported from admin_helpers and admin_catalog_helpers, used as arguments)
"""The admin of webhook endpoints and their delivery log: the signing secret, "shown only
in this answer" (API.md, Webhooks), is never read back through a list's query string; an
endpoint that was sent events is deleted with its log, through the service."""

import socket

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from api import outbound
from api.models import AuditEntry, Webhook, WebhookEvent
from api.services import audit, webhooks
from api.tests.admin_catalog_helpers import _form, film, screen, show, venue  # noqa: F401 (the fixtures)
from api.tests.admin_helpers import clerk, frozen  # noqa: F401 (the fixture)
from api.tests.conftest import book_seats

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint(frozen, settings) -> Webhook:
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    return webhooks.webhook_create(url="https://erp.example.com/hook", events=[], actor="staff:x", now=timezone.now())


@pytest.mark.parametrize(
    ("changelist", "lookup"),
    [
        ("/admin/api/webhook/", "secret__startswith"),
        ("/admin/api/webhook/", "secret__gte"),
        ("/admin/api/webhook/", "deliveries__webhook__secret__startswith"),
        ("/admin/api/webhookevent/", "webhook__secret__startswith"),
    ],
)
def test_a_webhooks_secret_cannot_be_read_back_through_the_lists_query_string(client, endpoint, changelist, lookup):
    """Django allows any lookup on a model's own fields in a list's query string: a list
    that shows the endpoint for one prefix of its secret and not for another tells the
    secret a character at a time (?secret__gte= halves the range each request)."""
    audit.record_many(actor="t", now=timezone.now(), entries=[], events=[audit.Event("tickets.expired", {"count": 0})])
    clerk(client, "view_webhook", "view_webhookevent")
    right, wrong = endpoint.secret[:12], "whsec_~~~~~~"
    if lookup.endswith("__gte"):
        right, wrong = "whsec_", "whsec_~"  # every secret sorts after the first, none after the second

    responses = [client.get(f"{changelist}?{lookup}={value}") for value in (right, wrong)]

    assert [r.status_code for r in responses] == [400, 400]
    assert not any(endpoint.url in r.content.decode() for r in responses)


@pytest.mark.parametrize("how", ["its page", "the list's action"])
def test_an_endpoint_that_was_sent_events_can_be_deleted_by_a_superuser(client, endpoint, show, how):
    """The delivery log is read-only (no one may delete its rows), and Django asked for that
    right for each event going with the endpoint: the delete was a 403 for everyone."""
    book_seats(show.pk, quantity=1)  # a booking.created in the endpoint's outbox
    assert WebhookEvent.objects.filter(webhook=endpoint).exists()
    client.force_login(get_user_model().objects.create_superuser("admin", "a@example.com", password=None))

    if how == "its page":
        response = client.post(f"/admin/api/webhook/{endpoint.pk}/delete/", {"post": "yes"})
    else:
        data = {"action": "delete_selected", "_selected_action": [endpoint.pk], "post": "yes"}
        response = client.post("/admin/api/webhook/", data)

    assert response.status_code == 302
    assert not Webhook.objects.filter(pk=endpoint.pk).exists()
    assert AuditEntry.objects.filter(action="webhook.deleted", object_id=str(endpoint.pk)).exists()


@pytest.mark.parametrize(("codenames", "status"), [(["view_webhook", "delete_webhook"], 302), (["view_webhook"], 403)])
def test_deleting_an_endpoint_asks_for_the_right_to_delete_endpoints_alone(client, endpoint, show, codenames, status):
    book_seats(show.pk, quantity=1)
    clerk(client, *codenames)

    response = client.post(f"/admin/api/webhook/{endpoint.pk}/delete/", {"post": "yes"})

    assert response.status_code == status
    assert Webhook.objects.filter(pk=endpoint.pk).exists() is (status == 403)


def _superuser(client) -> None:
    client.force_login(get_user_model().objects.create_superuser("admin", "a@example.com", password=None))


def test_an_endpoint_whose_host_no_longer_resolves_can_be_switched_off(client, endpoint, settings, monkeypatch):
    """The page checked the URL again on every save, as if typed anew: an endpoint whose
    receiver's name has gone (or that private addresses no longer allow) could only be
    deleted, with its delivery log, where the API's PATCH {"active": false} worked."""
    # Gone names, answered here: asked of the name server, they were traffic off this machine.
    monkeypatch.setattr(outbound.socket, "getaddrinfo", _no_such_name)
    Webhook.objects.filter(pk=endpoint.pk).update(url="https://erp.invalid/hook")
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    _superuser(client)
    page = _form(client, f"/admin/api/webhook/{endpoint.pk}/change/")
    # "active" unticked: a browser sends no unticked box (nor does _form keep any).

    response = client.post(f"/admin/api/webhook/{endpoint.pk}/change/", page)

    assert response.status_code == 302
    assert not Webhook.objects.get(pk=endpoint.pk).active
    # A URL typed anew is still checked.
    response = client.post(f"/admin/api/webhook/{endpoint.pk}/change/", {**page, "url": "https://erp2.invalid/hook"})
    assert "can&#x27;t be resolved" in response.content.decode()


def _no_such_name(host: str, *args: object, **kwargs: object) -> list:
    raise socket.gaierror(socket.EAI_NONAME, f"{host}: no such name")


def test_switching_an_endpoint_off_keeps_the_events_a_colleague_chose_meanwhile(client, endpoint):
    _superuser(client)
    page = _form(client, f"/admin/api/webhook/{endpoint.pk}/change/")
    # "active" unticked, the events (none ticked: every event) as shown.
    webhooks.webhook_update(webhook_id=endpoint.pk, actor="staff:bob", now=timezone.now(), events=["show.cancelled"])

    assert client.post(f"/admin/api/webhook/{endpoint.pk}/change/", page).status_code == 302

    # The page wrote back the events it showed (all of them), undoing bob's choice.
    endpoint.refresh_from_db()
    assert (endpoint.active, endpoint.events) == (False, ["show.cancelled"])


def test_events_ticked_on_a_page_that_showed_others_are_refused(client, endpoint):
    # The page's events are saved as the whole list it sends: one ticked on a page that
    # showed every event replaced the one event a colleague had chosen meanwhile.
    _superuser(client)
    url = f"/admin/api/webhook/{endpoint.pk}/change/"
    page = _form(client, url, active="on", events=["booking.created"])
    webhooks.webhook_update(webhook_id=endpoint.pk, actor="staff:bob", now=timezone.now(), events=["show.cancelled"])

    response = client.post(url, page)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "__all__": ["The events were changed after this page was opened: reload it to see them as they are now."]
    }
    endpoint.refresh_from_db()
    assert endpoint.events == ["show.cancelled"]
