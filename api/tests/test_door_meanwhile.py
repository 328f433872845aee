"""The door beside a ticket's other writes, at once (PostgreSQL): a check-in that waited for
a move of the same ticket to another show checks it in at the show the ticket is now at,
as if it came after the move."""

from datetime import timedelta

import pytest
from django.utils import timezone

from api.models import Screen, Show, Ticket
from api.services import audit, door, sales
from api.tests.conftest import ADA, book_ticket, postgres_only, screen_of
from api.tests.races_helpers import race

pytestmark = [postgres_only, pytest.mark.django_db(transaction=True)]


def two_shows_soon() -> tuple[Show, Show]:
    """Two shows whose doors are open (BOOKING_CHECK_IN_OPENS_MINUTES, 90), on two screens."""
    now = timezone.now().replace(second=0, microsecond=0)
    first = Show.objects.create(screen=Screen.objects.default(), starts_at=now + timedelta(minutes=60), title="One")
    second = Show.objects.create(screen=screen_of(20, name="Two"), starts_at=now + timedelta(minutes=70), title="Two")
    return first, second


def move(ticket_id, show_id: int):
    return lambda: sales.ticket_update(ticket_id=ticket_id, show_id=show_id, now=timezone.now(), actor="client:x")


def test_a_check_in_that_waited_for_a_move_checks_the_ticket_in_where_it_moved():
    first, second = two_shows_soon()
    ticket = book_ticket(first.pk, **ADA)

    moved, admitted, waited = race(
        move(ticket.pk, second.pk),
        lambda: door.ticket_check_in(ticket_id=ticket.pk, now=timezone.now(), actor="staff:door"),
        pause_in=audit,
    )

    assert waited  # the check-in waited for the move's ticket lock
    assert isinstance(moved, Ticket), moved
    assert isinstance(admitted, Ticket), admitted  # not TicketNotFound: the ticket exists
    assert admitted.show_id == second.pk
    ticket.refresh_from_db()
    assert (ticket.show_id, ticket.checked_in_at) == (second.pk, admitted.checked_in_at)
