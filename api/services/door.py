"""At the door: check a ticket in, or undo it."""

import uuid
from datetime import datetime

from django.db import transaction

from ..errors import AlreadyCheckedIn, TicketExpired, TicketNotFound
from ..models import Ticket


def _lock_ticket(ticket_id: uuid.UUID | str, now: datetime) -> Ticket:
    # The ticket row lock makes two scanners reading the same ticket take turns, so only
    # one of them sees it unused.
    ticket = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("show__screen__venue", "booking__customer", "ticket_type")
        .filter(pk=ticket_id)
        .first()
    )
    if ticket is None:
        raise TicketNotFound()
    if ticket.is_expired(now):
        raise TicketExpired()
    return ticket


def ticket_check_in(*, ticket_id: uuid.UUID | str, now: datetime) -> Ticket:
    """Admit a ticket at the door, once."""
    with transaction.atomic():
        ticket = _lock_ticket(ticket_id, now)
        if ticket.checked_in_at is not None:
            raise AlreadyCheckedIn(ticket.checked_in_at)
        ticket.checked_in_at = now
        ticket.save(update_fields=["checked_in_at"])
        return ticket


def ticket_check_in_undo(*, ticket_id: uuid.UUID | str, now: datetime) -> Ticket:
    with transaction.atomic():
        ticket = _lock_ticket(ticket_id, now)
        ticket.checked_in_at = None
        ticket.save(update_fields=["checked_in_at"])
        return ticket
