"""Two staff adding one ticket type key at once (API.md (v2), "Ticket types and prices"),
by the API or in the admin: the serializer's and the form's checks of the key read it before
the save's transaction, and nothing locks a key not made yet, so the second save's INSERT
waits for the first's, then breaks the unique index. It is told as a key already taken, the
words of those checks, never a 500; one type is made."""

import pytest
from django.utils import timezone

from api.models import AuditEntry, TicketType
from api.services import venues
from api.tests.admin_helpers import _form_errors
from api.tests.conftest import postgres_only, while_held_open

pytestmark = [postgres_only, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

VETERAN = {"key": "veteran", "name": "Veteran"}


def made_by_a_colleague() -> TicketType:
    return venues.ticket_type_save(TicketType(**VETERAN), now=timezone.now(), actor="staff:a")


def test_two_staff_adding_one_ticket_type_key_at_once_is_a_400_not_a_500(staff_client):
    staff_client.raise_request_exception = False

    outcomes = while_held_open(
        made_by_a_colleague, lambda: staff_client.post("/api/ticket-types", VETERAN, format="json")
    )

    assert outcomes["waited"] is True, outcomes  # the INSERT waited for the colleague's
    assert TicketType.objects.filter(key="veteran").count() == 1
    response = outcomes["second"]
    assert response.status_code == 400, (response.status_code, response.content[:200])
    # The answer of the serializer's own check, once the colleague's type is there.
    again = staff_client.post("/api/ticket-types", VETERAN, format="json")
    assert response.json() == again.json() == {"key": ["ticket type with this key already exists."]}
    assert list(AuditEntry.objects.filter(object_type="ticket_type").values_list("actor", flat=True)) == ["staff:a"]


def test_two_staff_adding_one_ticket_type_key_at_once_in_the_admin_is_a_form_error_not_a_500(admin_client):
    admin_client.raise_request_exception = False

    outcomes = while_held_open(made_by_a_colleague, lambda: admin_client.post("/admin/api/tickettype/add/", VETERAN))

    assert outcomes["waited"] is True, outcomes
    assert TicketType.objects.filter(key="veteran").count() == 1
    # The form again, with what staff typed and the refusal on the key.
    assert _form_errors(outcomes["second"]) == {"key": ["ticket type with this key already exists."]}
    assert list(AuditEntry.objects.filter(object_type="ticket_type").values_list("actor", flat=True)) == ["staff:a"]
