# ruff: noqa: F811  (pytest fixtures imported from webhooks_helpers, used as arguments)
"""A row a write reads without locking it, deleted by staff while the write runs: a
webhook endpoint (every write's events go to the active ones; one registered meanwhile
too), a ticket type (a sale sells it, a hold freezes it, a show is priced in it), a show (a
waiting list's join). The write, and the delete, each get a clear answer, never a 500 or a
false seat_taken at COMMIT.

Each test holds one side's transaction open at the moment that matters, and runs the other
side in a thread of its own (PostgreSQL: SQLite's writers take turns)."""

import threading
import time
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.utils import timezone

from api.errors import DeletedMeanwhile, EndpointsBusy, InUse, UnknownTicketType
from api.models import Booking, Hold, Show, ShowPrice, TicketType, WaitlistEntry, Webhook, WebhookEvent
from api.services import catalog, sale_rows, sales, venues, waitlist, webhooks
from api.tests.conftest import ADA, blocked, book_seats, hold_seats, make_show, postgres_only, while_held_open
from api.tests.webhooks_helpers import (
    allow_private,  # noqa: F401 (the fixture)
    endpoint,  # noqa: F401 (the fixture)
    receiver,  # noqa: F401 (the fixture)
)

pytestmark = [postgres_only, pytest.mark.django_db(transaction=True)]


@pytest.fixture(params=[True, False], ids=["endpoints seen", "none seen"])
def last_sale(request, monkeypatch):
    """What the process's last sale found (sale_rows._Endpoints): an endpoint active, so that
    a sale's statement writes its events; or none, so that it only reads whether one is."""
    monkeypatch.setattr(sale_rows._endpoints, "active", request.param)


def test_an_endpoint_deleted_during_a_sale_waits_for_it_and_takes_its_events(endpoint, last_sale):
    show = make_show()

    outcomes = while_held_open(
        lambda: book_seats(show.pk),
        lambda: webhooks.webhook_delete(webhook_id=endpoint.pk, actor="t", now=timezone.now()),
    )

    assert isinstance(outcomes["first"], sales.Sale), outcomes
    assert outcomes["second"] is None and outcomes["waited"]
    assert not Webhook.objects.exists() and not WebhookEvent.objects.exists()
    assert Booking.objects.count() == 1


def test_a_sale_during_an_endpoints_deletion_waits_and_makes_no_event_for_it(endpoint, last_sale):
    show = make_show()

    outcomes = while_held_open(
        lambda: webhooks.webhook_delete(webhook_id=endpoint.pk, actor="t", now=timezone.now()),
        lambda: book_seats(show.pk),
    )

    assert isinstance(outcomes["second"], sales.Sale), outcomes  # was a false seat_taken at COMMIT
    assert outcomes["waited"]
    assert not WebhookEvent.objects.exists() and Booking.objects.count() == 1


@pytest.mark.parametrize("how", ["registered", "reactivated", "events widened"])
def test_an_endpoint_registered_during_a_sale_waits_for_it_and_gets_the_events_of_later_ones(
    allow_private, receiver, how, last_sale
):
    """API.md: an endpoint receives the events of changes committed while it is registered
    and active, never earlier ones. A sale picks its events' endpoints at its outbox INSERT:
    one registered (or made active, or made to want the event) after that and before the
    sale's COMMIT was active when the sale committed, and got no booking.created. Now the
    change waits for the sale, which commits first (none of its events are the endpoint's),
    and the next sale's event is the endpoint's."""
    show = make_show()
    if how == "registered":
        hook = None
    else:
        events, active = (["show.changed"], True) if how == "events widened" else ([], False)
        hook = webhooks.webhook_create(url=receiver.url, events=events, actor="t", now=timezone.now(), active=active)

    def change() -> Webhook:
        if hook is None:
            return webhooks.webhook_create(url=receiver.url, events=[], actor="t", now=timezone.now())
        wanted = {"active": True} if how == "reactivated" else {"events": ["booking.created"]}
        return webhooks.webhook_update(webhook_id=hook.pk, actor="t", now=timezone.now(), **wanted)

    outcomes = while_held_open(lambda: book_seats(show.pk), change)

    assert isinstance(outcomes["first"], sales.Sale), outcomes
    assert isinstance(outcomes["second"], Webhook), outcomes
    later = book_seats(show.pk).booking.reference
    made = WebhookEvent.objects.filter(webhook=outcomes["second"], type="booking.created")
    got = [e.payload["data"]["reference"] for e in made]
    # The endpoint, saved without waiting, was active when the first sale committed: it got none.
    assert (outcomes["first"].booking.reference in got) == (not outcomes["waited"]), got
    assert outcomes["waited"] and got == [later]


def test_an_endpoints_registration_behind_a_stuck_write_is_busy_not_a_wait_for_ever(allow_private, settings, last_sale):
    """Waited for as long as a show's lock is (BOOKING_LOCK_TIMEOUT_SECONDS): a write stuck
    between its INSERT and its COMMIT, and every write queued behind the registration's
    wait, would otherwise wait as long as it."""
    settings.BOOKING_LOCK_TIMEOUT_SECONDS = 0.3
    show = make_show()

    outcomes = while_held_open(
        lambda: book_seats(show.pk),
        lambda: webhooks.webhook_create(url="http://127.0.0.1:9/", events=[], actor="t", now=timezone.now()),
        until_ends=True,
    )

    assert isinstance(outcomes["first"], sales.Sale), outcomes
    assert isinstance(outcomes["second"], EndpointsBusy), outcomes
    assert outcomes["waited"], outcomes
    assert not Webhook.objects.exists()


@pytest.fixture
def student() -> TicketType:
    return TicketType.objects.create(key="student", name="Student")


def test_a_ticket_type_deleted_during_a_sale_of_it_is_in_use(student):
    show = make_show()

    outcomes = while_held_open(
        lambda: book_seats(show.pk, ticket_types={"student": 1}),
        lambda: venues.ticket_type_delete(student, now=timezone.now()),
    )

    assert isinstance(outcomes["first"], sales.Sale), outcomes  # its COMMIT failed
    assert isinstance(outcomes["second"], InUse) and outcomes["waited"]
    assert TicketType.objects.filter(key="student").exists()


def test_a_sale_of_a_ticket_type_being_deleted_refuses_the_type(student):
    show = make_show()

    outcomes = while_held_open(
        lambda: venues.ticket_type_delete(student, now=timezone.now()),
        lambda: book_seats(show.pk, ticket_types={"student": 1}),
    )

    assert outcomes["first"] is None and outcomes["waited"]  # at its ticket's INSERT (migration 0017)
    assert isinstance(outcomes["second"], UnknownTicketType), outcomes  # was a false seat_taken
    assert not Booking.objects.exists()


def test_a_ticket_type_deleted_during_a_hold_of_it_is_in_use(student):
    # A hold freezes its lines' types by key, with no link: the delete read the holds
    # without seeing this one, and the hold committed with a type gone, answered 201 and
    # then refused at its confirm (unknown ticket type).
    show = make_show()

    outcomes = while_held_open(
        lambda: hold_seats(show.pk, ticket_types={"student": 1}),
        lambda: venues.ticket_type_delete(student, now=timezone.now()),
    )

    assert isinstance(outcomes["second"], InUse) and outcomes["waited"], outcomes
    sale = sales.booking_confirm(hold_id=outcomes["first"].pk, now=timezone.now(), **ADA)
    assert [t.ticket_type.key for t in sale.tickets] == ["student"]


def test_a_hold_of_a_ticket_type_being_deleted_refuses_the_type(student):
    show = make_show()

    outcomes = while_held_open(
        lambda: venues.ticket_type_delete(student, now=timezone.now()),
        lambda: hold_seats(show.pk, ticket_types={"student": 1}),
    )

    assert outcomes["first"] is None and outcomes["waited"], outcomes
    assert isinstance(outcomes["second"], UnknownTicketType), outcomes  # was a hold of a type gone
    assert not Hold.objects.exists()


def set_student_prices(show_id: int) -> Callable[[], Show]:
    return lambda: catalog.show_update(
        show_id=show_id, now=timezone.now(), prices=[("student", "standard", Decimal("7.00"))]
    )


def test_a_ticket_type_deleted_while_a_shows_prices_of_it_are_set_is_in_use(student):
    # The prices' links are checked at COMMIT: the delete, not seeing them, took the type,
    # and the show's change failed at its COMMIT (IntegrityError, a 500).
    show = make_show()

    outcomes = while_held_open(
        set_student_prices(show.pk), lambda: venues.ticket_type_delete(student, now=timezone.now())
    )

    assert isinstance(outcomes["first"], Show), outcomes
    assert isinstance(outcomes["second"], InUse) and outcomes["waited"], outcomes
    assert ShowPrice.objects.filter(show=show, ticket_type=student).exists()


def test_prices_set_of_a_ticket_type_being_deleted_refuse_the_type(student):
    show = make_show()

    outcomes = while_held_open(
        lambda: venues.ticket_type_delete(student, now=timezone.now()), set_student_prices(show.pk)
    )

    assert outcomes["first"] is None and outcomes["waited"], outcomes
    assert isinstance(outcomes["second"], UnknownTicketType), outcomes  # was an IntegrityError
    assert not ShowPrice.objects.exists()


def test_a_join_of_a_waiting_list_while_staff_delete_the_show_finds_it_gone():
    show = make_show(capacity=1)
    hold_seats(show.pk, quantity=1)  # sold out by a hold, and without tickets: it can be deleted

    def join():
        return waitlist.waitlist_join(show_id=show.pk, party_size=1, now=timezone.now(), **ADA)

    outcomes = while_held_open(lambda: catalog.show_delete(show_id=show.pk, now=timezone.now()), join)

    assert isinstance(outcomes["second"], DeletedMeanwhile), outcomes  # was a 500 (DoesNotExist)
    assert not WaitlistEntry.objects.exists()


def test_the_waits_are_locks_not_sleeps():
    """`blocked` reads a thread still running half a second on: one that isn't waiting ends sooner."""
    quick = threading.Thread(target=time.sleep, args=(0.01,))
    quick.start()
    assert not blocked(quick)
