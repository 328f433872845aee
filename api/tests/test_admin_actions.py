"""The admin's list actions that write: who may run them (Django's change permission, not
the view permission that shows the list), and what marking tickets expired tells; a
selection that is not of ids is refused, on every list of the site. And the search of the
lists where staff look up a person, by a phone number as people say it."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone

from api.errors import ShowBusy
from api.models import AuditEntry, Screen, Show, Ticket, Webhook, WebhookEvent
from api.services import audit, door, jobs, sales, waitlist, webhooks
from api.tests.admin_helpers import _form_errors, _messages
from api.tests.commands_helpers import marked_while_cancelled, started_with_a_ticket
from api.tests.conftest import (
    ADA,
    book_seats,
    book_ticket,
    make_show,
    postgres_only,
    while_held_open,
)
from api.tests.waitlist_helpers import EDSGER

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer(client):
    """Staff who may look at tickets and deliveries, and change nothing."""
    user = get_user_model().objects.create_user("viewer", password=None, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=["view_ticket", "view_webhookevent"]))
    client.force_login(user)
    return client


def test_staff_who_may_only_look_cant_check_in_expire_or_resend(viewer, settings):
    # The actions asked for no permission: the view permission showed the list and ran them.
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    show = make_show()
    ticket = book_seats(show.pk).tickets[0]
    endpoint = webhooks.webhook_create(url="http://127.0.0.1:9/hooks", events=[], actor="t", now=show.starts_at)
    audit.record_many(actor="t", now=show.starts_at, entries=[], events=[audit.Event("tickets.expired", {"count": 0})])
    delivery = WebhookEvent.objects.get(webhook=endpoint)

    with time_machine.travel(show.starts_at + timedelta(minutes=30)):
        page = viewer.get("/admin/api/ticket/")
        for action in ("check_in", "undo_check_in", "mark_expired"):
            viewer.post("/admin/api/ticket/", {"action": action, "_selected_action": [str(ticket.pk)]})
        log = viewer.get("/admin/api/webhookevent/")
        viewer.post("/admin/api/webhookevent/", {"action": "retry", "_selected_action": [str(delivery.pk)]})

    assert page.status_code == log.status_code == 200
    assert list(page.context["cl"].model_admin.get_actions(page.wsgi_request)) == ["export_csv"]
    assert "retry" not in log.context["cl"].model_admin.get_actions(log.wsgi_request)
    ticket.refresh_from_db()
    assert (ticket.checked_in_at, ticket.expired) == (None, False)
    assert not AuditEntry.objects.filter(action__in=["ticket.checked_in", "ticket.expired", "webhook_event.retried"])


def test_marking_tickets_expired_tells_the_theatres_systems(admin_client, settings):
    # The action wrote its entries but sent no tickets.expired, which the job's run sends.
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    show = make_show()
    tickets = book_seats(show.pk, quantity=2).tickets
    webhooks.webhook_create(url="http://127.0.0.1:9/hooks", events=["tickets.expired"], actor="t", now=show.starts_at)

    with time_machine.travel(show.starts_at + timedelta(minutes=30)):
        admin_client.post(
            "/admin/api/ticket/", {"action": "mark_expired", "_selected_action": [str(t.pk) for t in tickets]}
        )

    assert Ticket.objects.filter(expired=True).count() == 2
    (event,) = WebhookEvent.objects.filter(type="tickets.expired")
    assert event.payload["data"] == {"count": 2}


@postgres_only
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_ticket_staff_mark_expired_while_a_colleague_cancels_it_is_neither_recorded_nor_counted_as_marked():
    # tickets_mark_expired locked the tickets' shows, read the ids to mark, then UPDATEd those
    # ids and wrote an entry (and counted them in the tickets.expired event) for every id it
    # read, not for the rows the UPDATE changed. A cancel locks the booking and the ticket,
    # never the show: one committing between the read and the UPDATE left the trail saying
    # that a ticket which no longer existed was marked expired, after its ticket.cancelled.
    now = timezone.now().replace(microsecond=0)
    ticket = started_with_a_ticket(now, timedelta(hours=1))

    outcomes = marked_while_cancelled(
        ticket, now, lambda: jobs.tickets_mark_expired(ticket_ids=[str(ticket.pk)], now=now, actor="staff:b")
    )

    assert outcomes["waited"] is True, outcomes  # the marking waited for the cancel's row lock
    assert not Ticket.objects.filter(pk=ticket.pk).exists()  # cancelled
    trail = list(AuditEntry.objects.filter(object_id=str(ticket.pk)).values_list("action", flat=True).order_by("pk"))
    counted = [e.payload["data"]["count"] for e in WebhookEvent.objects.filter(type="tickets.expired")]
    assert (outcomes["second"], trail, counted) == ((0, 0), ["ticket.created", "ticket.cancelled"], []), (
        outcomes,
        trail,
        counted,
    )


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_marking_a_ticket_another_write_holds_past_the_lock_timeout_is_busy_not_a_500(settings):
    # The tickets' locks are waited for as the shows' are: ShowBusy (the admin's message).
    settings.BOOKING_LOCK_TIMEOUT_SECONDS = 0.2
    now = timezone.now().replace(microsecond=0)
    show = Show.objects.create(screen=Screen.objects.default(), starts_at=now - timedelta(hours=1), title="Late")
    ticket = book_ticket(show.pk, now=now - timedelta(days=1))

    outcomes = while_held_open(
        lambda: door.ticket_check_in(ticket_id=ticket.pk, now=now),
        lambda: jobs.tickets_mark_expired(ticket_ids=[str(ticket.pk)], now=now, actor="staff:b"),
        until_ends=True,
    )

    assert outcomes["waited"] and isinstance(outcomes["second"], ShowBusy), outcomes
    assert Ticket.objects.get(pk=ticket.pk).expired is False


def test_a_rule_refused_in_the_webhook_admin_is_told_on_its_form_not_a_500(admin_client, monkeypatch):
    # The form checks the endpoint's address, the service again: a name that turned
    # private in between left the service's refusal unhandled. The form comes back with it.
    answers = iter([None, *["The host hooks.example.test has the private or reserved address 10.0.0.1."] * 2])
    monkeypatch.setattr(webhooks.outbound, "checked_addresses", lambda host: ([], next(answers)))
    form = {"url": "https://hooks.example.test/in", "active": "on"}

    response = admin_client.post("/admin/api/webhook/add/", form)

    assert _form_errors(response) == {
        "url": [
            "The host hooks.example.test has the private or reserved address 10.0.0.1. Webhook endpoints must be on"
            " a public internet address (WEBHOOKS_ALLOW_PRIVATE=true allows others: a receiver on this machine or the"
            " theatre's network)."
        ]
    }
    assert not Webhook.objects.exists()


def test_deleting_tickets_one_of_which_was_cancelled_meanwhile_cancels_the_others(admin_client, monkeypatch):
    # The first one gone (its holder cancelled it after the list was loaded) stopped the
    # others with an error message; the tickets before it stayed cancelled.
    show = make_show()
    gone, *others = book_seats(show.pk, quantity=3).tickets
    cancel = sales.ticket_cancel

    def cancelled_meanwhile(*, ticket_id, actor, **rest):
        if ticket_id == gone.pk:
            cancel(ticket_id=ticket_id, actor="client:203.0.113.9", now=timezone.now())
        return cancel(ticket_id=ticket_id, actor=actor, **rest)

    monkeypatch.setattr(sales, "ticket_cancel", cancelled_meanwhile)
    ids = [str(t.pk) for t in (gone, *others)]
    response = admin_client.post(
        "/admin/api/ticket/", {"action": "delete_selected", "_selected_action": ids, "post": "yes"}, follow=True
    )

    assert response.status_code == 200
    assert not Ticket.objects.exists()


def test_resending_deliveries_of_an_inactive_endpoint_says_they_were_not(admin_client, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    events = [audit.Event("tickets.expired", {"count": 0})]
    webhooks.webhook_create(url="http://127.0.0.1:9/on", events=[], actor="t", now=timezone.now())
    webhooks.webhook_create(url="http://127.0.0.1:9/off", events=[], actor="t", now=timezone.now(), active=False)
    audit.record_many(actor="t", now=timezone.now(), entries=[], events=events)
    Webhook.objects.update(active=True)
    audit.record_many(actor="t", now=timezone.now(), entries=[], events=events)
    Webhook.objects.filter(url__endswith="/off").update(active=False)  # as a 410 leaves it

    response = admin_client.post(
        "/admin/api/webhookevent/",
        {"action": "retry", "_selected_action": [str(pk) for pk in WebhookEvent.objects.values_list("pk", flat=True)]},
        follow=True,
    )

    shown = [str(m) for m in response.context["messages"]]
    assert shown[0] == "2 deliveries will be sent again by the next run."
    assert shown[1].startswith("Not sent again, of inactive endpoints: 1. This endpoint is inactive")
    assert AuditEntry.objects.filter(action="webhook_event.retried").count() == 2


def test_staff_who_may_only_look_see_a_tickets_show_and_seat(viewer):
    """Its show and seat are the change form's own fields: read-only, they showed None."""
    show = make_show()
    ticket = book_seats(show.pk, seats=["B4"]).tickets[0]

    page = viewer.get(f"/admin/api/ticket/{ticket.pk}/change/").content.decode()

    assert "Dune: Part Three" in page and "B4" in page
    assert '<div class="readonly">None</div>' not in page


@pytest.mark.parametrize(
    ("changelist", "shown"),
    [
        ("/admin/api/ticket/", "ticket"),
        ("/admin/api/booking/", "reference"),
        ("/admin/api/customer/", "Ada Lovelace"),
        ("/admin/api/waitlistentry/", "Ada Lovelace"),
    ],
)
def test_a_list_where_staff_look_up_a_person_finds_a_phone_number_as_people_say_it(admin_client, changelist, shown):
    """Searched as typed, "(415) 555-0123" found nothing: the stored +914155550123 doesn't
    contain it. The ticket list read it as a phone number; the lists of bookings, customers
    and waiting-list entries, where staff "look up a person", did not."""
    sale = book_seats(make_show().pk)  # Ada's, +914155550123
    full = make_show(days=4, capacity=1)
    book_seats(full.pk, **EDSGER)
    waitlist.waitlist_join(show_id=full.pk, **ADA, party_size=1, now=timezone.now())

    page = admin_client.get(changelist, {"q": "(415) 555-0123"})

    expected = {"ticket": str(sale.tickets[0].pk)[:8], "reference": sale.booking.reference}.get(shown, shown)
    assert expected in page.content.decode()
    assert page.context["cl"].result_count == 1


@pytest.mark.parametrize(
    ("changelist", "action"),
    [
        ("/admin/api/ticket/", "check_in"),
        ("/admin/api/ticket/", "export_csv"),
        ("/admin/api/ticket/", "delete_selected"),
        ("/admin/api/waitlistentry/", "remove"),
        ("/admin/api/show/", "delete_selected"),
        ("/admin/api/booking/", "delete_selected"),
        ("/admin/api/webhookevent/", "retry"),
        ("/admin/auth/user/", "delete_selected"),  # Django's, DRF's and axes' own lists too
        ("/admin/auth/group/", "delete_selected"),
        ("/admin/axes/accessattempt/", "cleanup_expired_attempts"),
    ],
)
@pytest.mark.parametrize("selected", ["abc", "", "99999999999999999999", "1.5"])
def test_a_selection_that_is_not_an_id_is_refused_not_a_500(admin_client, changelist, action, selected):
    """_selected_action was filtered on as posted: a value that is not a primary key ("abc",
    a ticket id that is not a UUID) raised in the query (ValueError, ValidationError)."""
    ticket = book_seats(make_show().pk).tickets[0]

    response = admin_client.post(changelist, {"action": action, "_selected_action": [selected], "post": "yes"})

    assert (response.status_code, response["Location"]) == (302, changelist)
    assert _messages(response) == [
        "Items must be selected in order to perform actions on them. No items have been changed."
    ]
    assert Ticket.objects.filter(pk=ticket.pk, checked_in_at=None).exists()
