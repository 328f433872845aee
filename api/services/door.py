"""At the door: check a ticket in, or undo it."""

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet

from ..errors import AlreadyCheckedIn, TicketExpired, TicketNotFound, TooEarly
from ..locking import lock_tickets
from ..models import Ticket
from . import audit


def refuse_used(tickets: QuerySet[Ticket], message: str) -> None:
    """A ticket checked in has been used: its guest is in the seat, which a cancel or a move
    would sell again (staff undo the check-in first). AlreadyCheckedIn with `message` for
    the first of `tickets` checked in; call with the tickets locked."""
    used = tickets.filter(checked_in_at__isnull=False).select_related("show__screen__venue").first()
    if used is not None and used.checked_in_at is not None:
        raise AlreadyCheckedIn(used.checked_in_at, used.show.zone, message)


def _lock_ticket(ticket_id: uuid.UUID | str, now: datetime) -> Ticket:
    # The ticket row lock makes two scanners reading the same ticket take turns, so only
    # one of them sees it unused. Locked alone, then read: locked with its show joined, a
    # ticket that a move to another show committed while this waited came back as none (a
    # 404), since PostgreSQL checks the row it waited for against the show row read
    # before the wait (test_door_meanwhile.py).
    if not lock_tickets(Ticket.objects.filter(pk=ticket_id)):
        raise TicketNotFound()
    ticket = (
        Ticket.objects.select_related("show__screen__venue", "booking", "ticket_type")
        .defer("show__screen__seat_map")  # a check-in draws no seat: the map stays unread
        .get(pk=ticket_id)
    )
    if ticket.is_expired(now):
        raise TicketExpired()
    return ticket


def _record(ticket: Ticket, action: str, *, before: datetime | None, actor: str, now: datetime) -> None:
    """The entry and event of a check-in or its undoing: `checked_in_at` [before, after]."""
    changes = {"checked_in_at": [audit.utc(moment) if moment else None for moment in (before, ticket.checked_in_at)]}
    audit.record(
        actor=actor,
        action=action,
        obj_type="ticket",
        obj_id=str(ticket.pk),
        changes=changes,
        now=now,
        event=action,
        payload=audit.ticket_data(ticket),
    )


def ticket_check_in(*, ticket_id: uuid.UUID | str, now: datetime, actor: str = "system") -> Ticket:
    """Admit a ticket at the door, once."""
    with transaction.atomic():
        ticket = _lock_ticket(ticket_id, now)
        if ticket.checked_in_at is not None:
            raise AlreadyCheckedIn(ticket.checked_in_at, ticket.show.zone)
        # The doors open BOOKING_CHECK_IN_OPENS_MINUTES before the start, and not earlier.
        opens_at = ticket.show.starts_at - timedelta(minutes=settings.BOOKING_CHECK_IN_OPENS_MINUTES)
        if now < opens_at:
            raise TooEarly(opens_at, ticket.show.zone)
        ticket.checked_in_at = now
        ticket.save(update_fields=["checked_in_at"])
        _record(ticket, "ticket.checked_in", before=None, actor=actor, now=now)
        return ticket


def ticket_check_in_undo(*, ticket_id: uuid.UUID | str, now: datetime, actor: str = "system") -> Ticket:
    """Undo a ticket's check-in. A ticket not checked in (never, or undone already) is
    returned unchanged: nothing was undone, so no entry and no event."""
    with transaction.atomic():
        ticket = _lock_ticket(ticket_id, now)
        if ticket.checked_in_at is None:
            return ticket
        before, ticket.checked_in_at = ticket.checked_in_at, None
        ticket.save(update_fields=["checked_in_at"])
        _record(ticket, "ticket.check_in_undone", before=before, actor=actor, now=now)
        return ticket
