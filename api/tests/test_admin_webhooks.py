# ruff: noqa: F811  (pytest fixtures imported from admin_helpers, used as arguments)
"""The admin of webhook endpoints and their delivery log: the signing secret, "shown only
in this answer" (API.md, Webhooks), is never read back through a list's query string."""

import pytest
from django.utils import timezone

from api.models import Webhook
from api.services import audit, webhooks
from api.tests.admin_helpers import clerk, frozen  # noqa: F401 (the fixture)

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
