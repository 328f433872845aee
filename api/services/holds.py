"""Holds: seats kept off sale for a few minutes at frozen prices while the customer pays
(the first step of hold-then-pay; POST /api/bookings {"hold": ...} is the second). A
waiting list's offer is a hold too, made by the offer job (waitlist.py) through
hold_insert."""

import dataclasses
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from ..errors import HoldLimitReached, ShowNotFound, UnknownTicketType
from ..locking import SeatsInUse, lock_client, lock_show, lock_ticket_types, seats_in_use
from ..models import AuditEntry, Hold, Show, WaitlistEntry
from . import audit
from .seating import check_not_started, choose_seats, price_lines, show_id_of, tariff
from .showtimes import ShowTime


def hold_create(
    *,
    now: datetime,
    show_id: int | None = None,
    when: ShowTime | None = None,
    seats: list[str] | None = None,
    quantity: int = 1,
    ticket_types: dict[str, int] | None = None,
    wheelchair: int = 0,
    client: str = "",
    staff: bool = False,
    actor: str = "system",
) -> Hold:
    """Keep seats off sale for BOOKING_HOLD_MINUTES (until the show's start at the latest)
    while the customer pays, at today's prices, frozen in the hold's lines. A `client`
    holds at most BOOKING_MAX_HELD_SEATS_PER_CLIENT seats at once; staff are exempt (the
    box office holds for parties of any size)."""
    wanted = len(seats) if seats else quantity
    with transaction.atomic():
        show = lock_show(show_id_of(show_id=show_id, when=when, now=now, actor=actor))
        used = seats_in_use(show.pk, now=now, with_tariff=True, screen=show.screen)
        check_not_started(show, now)
        limit = settings.BOOKING_MAX_HELD_SEATS_PER_CLIENT
        if client and limit and not staff:
            lock_client(client)  # the count below and the INSERT, one request of the client at a time
            held = sum(len(s) for s in Hold.objects.live(now).filter(client=client).values_list("seats", flat=True))
            if held + wanted > limit:
                raise HoldLimitReached(limit, held)
        return hold_insert(
            show=show,
            used=used,
            now=now,
            expires_at=now + timedelta(minutes=settings.BOOKING_HOLD_MINUTES),
            seats=seats,
            quantity=quantity,
            ticket_types=ticket_types,
            wheelchair=wheelchair,
            client=client,
            staff=staff,
            actor=actor,
        )


def hold_insert(
    *,
    show: Show,
    used: SeatsInUse,
    now: datetime,
    expires_at: datetime,
    seats: list[str] | None = None,
    quantity: int = 1,
    ticket_types: dict[str, int] | None = None,
    wheelchair: int = 0,
    client: str = "",
    staff: bool = False,
    waitlist_entry: WaitlistEntry | None = None,
    actor: str = "system",
) -> Hold:
    """Hold seats of a show that this transaction has locked, `used` being its seats in use
    read under the lock: the wanted seats, or the best available (seating.choose_seats),
    priced at today's prices, frozen in the hold's lines. Raises SoldOut when they can't
    be had."""
    prices = tariff(show.pk, read=used.tariff)
    choice = choose_seats(
        show, used, seats, quantity, wheelchair=wheelchair, staff=staff, prices=prices, ticket_types=ticket_types
    )
    # The seats blocked now, which only staff may hold (by naming them): their confirm sells
    # these and lifts the block; a block made later is the house's (sales.booking_confirm).
    lines = [
        dataclasses.replace(line, blocked=line.seat in used.blocked)
        for line in price_lines(show, choice.seats, ticket_types, prices)
    ]
    # The lines freeze their types by key, with no link to them: locked, a type is not
    # deleted under the hold being made (ticket_type_delete waits, then finds the hold).
    kept = lock_ticket_types(line.ticket_type for line in lines)
    for line in lines:
        if line.ticket_type not in kept:  # deleted since the tariff was read
            raise UnknownTicketType(line.ticket_type)
    hold = Hold.objects.create(
        show=show,
        seats=choice.seats,
        lines=[line.as_json() for line in lines],
        total=sum((line.price for line in lines), Decimal("0.00")),
        client=client,
        created_at=now,
        # Never past the start: a hold of a started show can't be confirmed, so it has run out
        # (read as gone, refused as hold_expired, off the client's cap) by expires_at alone.
        expires_at=min(expires_at, show.starts_at),
        waitlist_entry=waitlist_entry,
    )
    changes = {"show": show.pk, "seats": choice.seats}
    audit.record(actor=actor, action="hold.created", obj_type="hold", obj_id=str(hold.pk), changes=changes, now=now)
    return hold


def hold_release(*, hold_id: uuid.UUID | str, now: datetime, actor: str = "system") -> bool:
    """Put the held seats back on sale at once; the purge job deletes the row later. Whether
    it was released: a hold confirmed, released or run out meanwhile stays as it is."""
    show_id = Hold.objects.filter(pk=hold_id).values_list("show_id", flat=True).first()
    if show_id is None:
        return False
    with transaction.atomic():
        # Under the show's lock, as a confirm spends the hold: the two take turns, and
        # the second finds the hold spent (never a booking and a release of one hold, nor
        # two releases with two audit entries).
        try:
            lock_show(show_id)
        except ShowNotFound:  # staff cancelled the show meanwhile, which released its holds
            return False
        if not Hold.objects.live(now).filter(pk=hold_id).end(now):
            return False
        audit.record(actor=actor, action="hold.released", obj_type="hold", obj_id=str(hold_id), changes={}, now=now)
        return True


def hold_existed(hold_id: uuid.UUID | str) -> bool:
    """Whether a hold of this id was ever made, its row gone or not: a show's cancellation
    deletes its holds at once, the purge a day after their end (jobs.SPENT_HOLDS_KEPT), and
    the hold's history (hold.created, then its end) outlives both, for AUDIT_KEEP_DAYS. One
    read of the trail's (object_type, object_id) index."""
    return AuditEntry.objects.filter(object_type="hold", object_id=str(uuid.UUID(str(hold_id)))).exists()
