"""Selling seats: bookings and their tickets, and cancellations (holds: holds.py; a
ticket's changes and moves: ticket_changes.py; the shared rules of choosing and pricing
seats: seating.py; waiting lists: waitlist.py).

Every write that takes seats locks its show first and reads the taken and blocked seats
under the lock (api/locking.py); the UNIQUE (show, seat) constraint is the backstop, and
an IntegrityError there is a SeatTaken, never a 500.
"""

import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import TypeAlias

from django.db import transaction
from django.db.models import Q, QuerySet
from phonenumber_field.phonenumber import PhoneNumber

from ..errors import (
    HoldExpired,
    NoSuchHold,
    SeatTaken,
    ShowNotFound,
    TicketNotChangeable,
    TicketNotFound,
    UnknownTicketType,
)
from ..locking import lock_booking_of, lock_show, seats_in_use
from ..models import Booking, Customer, Hold, Show, Ticket, TicketType
from ..seatmaps import seat_map_order
from . import audit, door
from .blocks import seats_sold_unblocked
from .caps import check_seats_per_hour
from .holds import hold_create, hold_existed, hold_release  # noqa: F401  (re-exported: sales.hold_create)
from .sale_rows import TOLD, UNTOLD, Sale, sale_of, total_again, with_a_reference, write_sale
from .seating import Line, check_not_started, choose_seats, phone_at, price_lines, sells_out, show_id_of, tariff
from .showtimes import ShowTime
from .ticket_changes import ticket_update  # noqa: F401  (re-exported: sales.ticket_update)
from .waitlist import waitlist_offer_booked

Phone: TypeAlias = PhoneNumber | str


# --- bookings ----------------------------------------------------------------------


def _sell(
    *,
    show: Show,
    lines: list[Line],
    types: Mapping[str, TicketType],
    unblock: bool,
    name: str,
    phone_number: Phone,
    reference: str,
    client: str,
    sold_out: bool,
    actor: str,
    now: datetime,
    hold: uuid.UUID | None = None,
    offer: bool = False,
) -> Sale:
    """The person (new or returning), a booking and its tickets, as the lines price them,
    with their audit entries and events (sale_rows.py), the `hold` confirmed among them.
    Call under the show's lock. A blocked seat that staff sell (unblock) is unblocked: the
    house seat has found its guest. An anonymous `client` is held to its hourly seat cap,
    but for a waiting list's `offer` (caps.py), whose seats count toward it all the same."""
    phone = phone_at(phone_number, show)
    if not offer:
        check_seats_per_hour(client=client, wanted=len(lines), now=now)
    total = sum((line.price for line in lines), Decimal("0.00"))
    person = Customer(name=name, phone_number=phone)
    sale = write_sale(
        show=show,
        lines=lines,
        types=types,
        seat_order=seat_map_order(show.screen.seats),
        booking=Booking(reference=reference, customer=person, total=total, client=client, created_at=now),
        sold_out=sold_out,
        actor=actor,
        now=now,
        hold=hold,
    )
    if unblock:
        seats_sold_unblocked(show=show, seats=[line.seat for line in lines], actor=actor, now=now)
    return sale


def booking_create(
    *,
    name: str,
    phone_number: Phone,
    now: datetime,
    show_id: int | None = None,
    when: ShowTime | None = None,
    seats: list[str] | None = None,
    quantity: int = 1,
    ticket_types: dict[str, int] | None = None,
    wheelchair: int = 0,
    staff: bool = False,
    client: str = "",
    actor: str = "system",
) -> Sale:
    """Book seats straight away (no hold first): the wanted ones, or the best available.
    `client`: the anonymous client, held to its hourly seat cap ("" for none)."""

    def sell(reference: str) -> Sale:
        with transaction.atomic():
            show = lock_show(show_id_of(show_id=show_id, when=when, now=now, actor=actor))
            used = seats_in_use(show.pk, now=now, with_tariff=True, screen=show.screen)
            check_not_started(show, now)
            prices = tariff(show.pk, read=used.tariff)
            choice = choose_seats(
                show,
                used,
                seats,
                quantity,
                wheelchair=wheelchair,
                staff=staff,
                prices=prices,
                ticket_types=ticket_types,
            )
            lines = price_lines(show, choice.seats, ticket_types, prices)
            return _sell(
                show=show,
                lines=lines,
                types=prices.types,
                unblock=bool(used.blocked.intersection(choice.seats)),
                name=name,
                phone_number=phone_number,
                reference=reference,
                client=client,
                sold_out=sells_out(show, used, choice.seats),
                actor=actor,
                now=now,
            )

    return with_a_reference(sell, SeatTaken())


def ticket_book(
    *,
    name: str,
    phone_number: Phone,
    now: datetime,
    show_id: int | None = None,
    when: ShowTime | None = None,
    seat: str | None = None,
    ticket_type: str | None = None,
    staff: bool = False,
    client: str = "",
    actor: str = "system",
) -> Ticket:
    """One ticket in a booking of its own: the asked seat, or the best available one."""
    sale = booking_create(
        name=name,
        phone_number=phone_number,
        now=now,
        show_id=show_id,
        when=when,
        seats=[seat] if seat else None,
        ticket_types={ticket_type: 1} if ticket_type else None,
        staff=staff,
        client=client,
        actor=actor,
    )
    return sale.tickets[0]


def booking_confirm(
    *,
    hold_id: uuid.UUID | str,
    name: str,
    phone_number: Phone,
    now: datetime,
    client: str = "",
    actor: str = "system",
) -> Sale:
    """Turn a live hold into tickets: the second and last step of hold-then-pay."""
    show_id = Hold.objects.filter(pk=hold_id).values_list("show_id", flat=True).first()
    if show_id is None:
        # Gone with its cancelled show, or purged a day after its end: it has ended, as one
        # released has. Only an id never made is a 400.
        if hold_existed(hold_id):
            raise HoldExpired()
        raise NoSuchHold()

    def sell(reference: str) -> Sale:
        with transaction.atomic():
            try:
                show = lock_show(show_id)
            except ShowNotFound:  # staff cancelled the show since the read above, its holds with it
                raise HoldExpired() from None
            # Under the show lock no other confirm or release of this hold can run. None
            # when the purge job deleted the (then expired) hold since the read above.
            hold = Hold.objects.filter(pk=hold_id).first()
            # A hold runs out by its show's start (holds.hold_insert): a started show is the
            # hold's end, never a 400 on a `time` this request did not send.
            if hold is None or not hold.is_live(now) or show.has_started(now):
                raise HoldExpired()
            # The hold's frozen lines: its prices, whatever the show's are now. Staff may
            # have held a blocked seat by naming it: selling it unblocks it.
            lines = [Line.from_json(line) for line in hold.lines]
            # Counted again, this hold left out (and with the screen's map as now committed):
            # a host whose clock runs ahead of `now` has taken the hold for expired, and may
            # have sold or held its seats, or the last seats under the show's capacity, meanwhile.
            used = seats_in_use(show.pk, now=now, exclude_hold=hold.pk, with_tariff=True, screen=show.screen)
            # ticket_type_delete refuses a type that a live hold uses, by its host's clock: a
            # hold that clock took for expired is refused here, not sold without a type.
            types = tariff(show.pk, read=used.tariff).types
            for line in lines:
                if line.ticket_type not in types:
                    raise UnknownTicketType(line.ticket_type, subject="hold")
            seats = {line.seat for line in lines}
            if used.booked & seats:
                raise SeatTaken("A held seat was booked meanwhile.")
            if used.held & seats or len(used.taken) + len(lines) > show.capacity:
                raise HoldExpired()
            # Staff may block a seat once its hold has run out by their clock: a seat blocked
            # now that was not when it was held is the house's, not sold (nor lifted) by
            # this late confirm. One blocked then is a seat staff held by naming it.
            if any(line.seat in used.blocked and not line.blocked for line in lines):
                raise HoldExpired()
            # So may a map change (venues.screen_save) by its clock: keep_to_map then let the
            # new map drop a held seat. The hold ended with its seat (the map re-read above).
            if any(show.screen.seats.seat(line.seat) is None for line in lines):
                raise HoldExpired()
            sale = _sell(
                show=show,
                lines=lines,
                types=types,
                unblock=True,
                name=name,
                phone_number=phone_number,
                reference=reference,
                client=client,
                sold_out=sells_out(show, used, seats),
                actor=actor,
                now=now,
                hold=hold.pk,
                offer=hold.waitlist_entry_id is not None,
            )
            # A used hold is spent (hold.confirmed, with the sale's entries): it stops counting
            # now and the purge job deletes it.
            Hold.objects.filter(pk=hold.pk).end(now)
            if hold.waitlist_entry_id is not None:  # a waiting list's offer, taken
                waitlist_offer_booked(entry_id=hold.waitlist_entry_id, reference=reference, now=now, actor=actor)
            return sale

    return with_a_reference(sell, SeatTaken("A held seat was booked meanwhile."))


def booking_cancel(*, booking_id: int, actor: str = "system", now: datetime, staff: bool = False) -> None:
    """Cancel every ticket of the booking; its seats are free again at once. A booking
    gone meanwhile (cancelled at the same time) is left as it is. Only staff cancel one
    with a ticket whose show has started (_check_cancellable)."""
    with transaction.atomic():
        # The booking's row lock first, then its tickets' (as ticket_cancel): the cancels of
        # one booking and of its tickets take turns, and each reads what the one before left.
        booking = Booking.objects.select_for_update().filter(pk=booking_id)
        reference = booking.values_list("reference", flat=True).first()
        if reference is None:
            return
        tickets = Ticket.objects.select_for_update().filter(booking_id=booking_id).order_by("pk")
        ticket_ids = [str(pk) for pk in tickets.values_list("pk", flat=True)]
        _check_cancellable(Ticket.objects.filter(booking_id=booking_id), staff=staff, now=now)
        door.refuse_used(
            Ticket.objects.filter(booking_id=booking_id),
            "A ticket of this booking was checked in already: it can't be cancelled.",
        )
        # The event tells the booking as booking.created did: whom to refund or tell.
        event = audit.Event("booking.cancelled", audit.booking_data(sale_of(booking_id)))
        Ticket.objects.filter(booking_id=booking_id).delete()
        Booking.objects.filter(pk=booking_id).delete()
        entries = [audit.Entry("booking.cancelled", "booking", reference, {"tickets": ticket_ids})]
        entries += [audit.Entry("ticket.cancelled", "ticket", pk) for pk in ticket_ids]
        audit.record_many(actor=actor, now=now, entries=entries, events=[event])


def _check_cancellable(tickets: QuerySet[Ticket], *, staff: bool, now: datetime) -> None:
    """A ticket whose show has started, or that has expired, is cancelled by staff only (a
    show called off midway): a customer's refund for a show that has begun (or a no-show's)
    is the theatre's decision, as a change of such a ticket is refused (ticket_update)."""
    if not staff and tickets.filter(Q(expired=True) | Q(show__starts_at__lte=now)).exists():
        raise TicketNotChangeable()


# --- tickets ----------------------------------------------------------------------


def ticket_cancel(*, ticket_id: uuid.UUID | str, actor: str = "system", now: datetime, staff: bool = False) -> None:
    """Delete the ticket (its seat is free at once), and its booking if that was the last.

    The booking's row lock, then the ticket's (the order of booking_cancel; a change locks
    the ticket after the show's lock, a check-in the ticket alone): two cancels of one ticket,
    or of the last two tickets of a booking, take turns. The second of one ticket finds
    it gone (TicketNotFound); of the last two, the second finds its ticket the last and
    cancels the booking too. Only staff cancel a ticket whose show has started."""
    with transaction.atomic():
        found = lock_booking_of(ticket_id)
        # Read again under the locks: a cancel or a move may have committed meanwhile.
        ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).values_list("show_id", "seat").first()
        if found is None or ticket is None:
            raise TicketNotFound()
        (booking_id, reference), (show_id, seat) = found, ticket
        _check_cancellable(Ticket.objects.filter(pk=ticket_id), staff=staff, now=now)
        door.refuse_used(
            Ticket.objects.filter(pk=ticket_id), "This ticket was checked in already: it can't be cancelled."
        )
        # The events tell the ticket with its person, and the booking its last ticket ends,
        # as ticket.changed and booking.created tell them.
        gone = Ticket.objects.select_related(*TOLD).defer(UNTOLD).get(pk=ticket_id)
        Ticket.objects.filter(pk=ticket_id).delete()
        last = Booking.objects.filter(pk=booking_id, tickets__isnull=True).delete()[0] > 0
        entries = [audit.Entry("ticket.cancelled", "ticket", str(ticket_id), {"show": show_id, "seat": seat})]
        if not last:
            entries += total_again(booking_id)
        events = [audit.Event("ticket.cancelled", {**audit.ticket_data(gone), **audit.person_data(gone.holder)})]
        if last:
            entries.append(audit.Entry("booking.cancelled", "booking", reference, {"tickets": [str(ticket_id)]}))
            events.append(audit.Event("booking.cancelled", audit.booking_data(Sale(gone.booking, [gone]))))
        audit.record_many(actor=actor, now=now, entries=entries, events=events)
