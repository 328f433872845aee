"""Changing a ticket: its show (a move), its seat, its holder's name or phone, by the
rules of booking (seating.py) and under the locks a cancel takes (sales.py)."""

import uuid
from datetime import datetime
from typing import TypeAlias

from django.db import IntegrityError, transaction
from phonenumber_field.phonenumber import PhoneNumber

from ..errors import (
    OtherCurrency,
    SeatTaken,
    TicketMovedMeanwhile,
    TicketNotChangeable,
    TicketNotFound,
    TooFewWheelchairSpaces,
)
from ..locking import lock_booking_of, lock_shows, seats_in_use
from ..models import Ticket
from ..seatmaps import seat_map_order
from . import audit, door
from .blocks import seats_sold_unblocked
from .sale_rows import customer_get_or_create, total_again
from .seating import check_not_started, choose_seats, phone_at, price_lines, sells_out, show_id_of, tariff
from .showtimes import ShowTime

Phone: TypeAlias = PhoneNumber | str


def ticket_update(
    *,
    ticket_id: uuid.UUID | str,
    now: datetime,
    name: str | None = None,
    phone_number: Phone | None = None,
    show_id: int | None = None,
    when: ShowTime | None = None,
    seat: str | None = None,
    staff: bool = False,
    actor: str = "system",
    seen_at: tuple[int, str] | None = None,
) -> Ticket:
    """Change a ticket's show, seat, name or phone, by the same rules as booking.
    `seen_at`: the show and seat where the caller saw the ticket (the admin's page); a
    ticket elsewhere under its lock is TicketMovedMeanwhile, not moved from where it is now
    (a customer's move committed before this lock had its seat replaced by the one typed
    for the show the page showed)."""
    current_show_id = Ticket.objects.filter(pk=ticket_id).values_list("show_id", flat=True).first()
    if current_show_id is None:
        raise TicketNotFound()
    if seen_at is not None and current_show_id != seen_at[0]:
        raise TicketMovedMeanwhile()
    moving = show_id is not None or when is not None
    try:
        with transaction.atomic():
            # In the transaction: an open timing made for a move refused below is undone with it.
            target_show_id = show_id_of(show_id=show_id, when=when, now=now, actor=actor) if moving else current_show_id
            shows = lock_shows([current_show_id, target_show_id])
            # The booking's lock, then the ticket's, as a cancel takes them: a cancel running
            # now commits before this reads the ticket, or waits for this change to commit;
            # a new price, and so the booking's total, is written under the booking's lock.
            lock_booking_of(ticket_id)
            tickets = Ticket.objects.select_for_update(of=("self",)).select_related("holder", "ticket_type")
            ticket = tickets.filter(pk=ticket_id).first()
            if ticket is None:  # cancelled between our read and our lock
                raise TicketNotFound()
            if ticket.show_id != current_show_id:
                # Moved by someone else between our read and our lock: a rare race,
                # settled by refusing rather than by holding a lock we didn't take.
                if seen_at is not None:
                    raise TicketMovedMeanwhile()
                raise SeatTaken("This ticket was changed meanwhile; try again.")
            if seen_at is not None and ticket.seat != seen_at[1]:
                raise TicketMovedMeanwhile()
            ticket.show = shows[current_show_id]
            if ticket.expired or ticket.show.has_started(now):
                raise TicketNotChangeable()
            target = shows[target_show_id]
            before = {"show": ticket.show_id, "seat": ticket.seat, "price": str(ticket.price)}
            sold_out = None
            if target.pk != ticket.show_id or (seat is not None and seat != ticket.seat):
                door.refuse_used(
                    Ticket.objects.filter(pk=ticket.pk), "This ticket was checked in already: it can't move."
                )
                check_not_started(target, now)
                # A booking's total, and its refund, is in one currency.
                if target.screen.venue.currency != ticket.show.screen.venue.currency:
                    raise OtherCurrency(target.screen.venue.currency, ticket.show.screen.venue.currency)
                used = seats_in_use(
                    target.pk, now=now, exclude_ticket=ticket.pk, with_tariff=True, screen=target.screen
                )
                # The ticket keeps its type; its price is that type's at the new show and seat.
                kept_type, prices = {ticket.ticket_type.key: 1}, tariff(target.pk, read=used.tariff)
                wanted = [seat] if seat else None
                # A wheelchair space's ticket moved to a seat of the service's choice keeps
                # its need: a space there, as a booking that asks for one gets.
                where = ticket.show.screen.seats.seat(ticket.seat)
                wheelchair = int(wanted is None and where is not None and where.kind == "wheelchair")
                try:
                    (ticket.seat,) = choose_seats(
                        target,
                        used,
                        wanted,
                        1,
                        wheelchair=wheelchair,
                        staff=staff,
                        prices=prices,
                        ticket_types=kept_type,
                    ).seats
                except TooFewWheelchairSpaces as exc:  # told on the show asked for: a ticket has no `wheelchair`
                    exc.subject = "show"
                    raise
                ticket.seat_order = seat_map_order(target.screen.seats)(ticket.seat)
                (line,) = price_lines(target, [ticket.seat], kept_type, prices)
                ticket.price = line.price
                ticket.show = target
                if ticket.seat in used.blocked:
                    seats_sold_unblocked(show=target, seats=[ticket.seat], actor=actor, now=now)
                if target.pk != current_show_id and sells_out(target, used, [ticket.seat]):
                    sold_out = target  # this move took the show's last seat, as a sale can
            customer = ticket.holder
            new_name = customer.name if name is None else name
            new_phone = customer.phone_number if phone_number is None else phone_at(phone_number, ticket.show)
            if (new_name, str(new_phone)) != (customer.name, str(customer.phone_number)):
                # This ticket's person only: the booking (its booker, its reference and phone)
                # and its other tickets stay as they are.
                ticket.holder = customer_get_or_create(name=new_name, phone_number=new_phone)
            ticket.save(update_fields=["show", "seat", "seat_order", "price", "holder"])
            after = {"show": ticket.show_id, "seat": ticket.seat, "price": str(ticket.price)}
            changes: dict = audit.what_changed(before, after)
            moved = bool(changes)
            if new_name != customer.name:
                changes["name"] = audit.CHANGED
            if str(new_phone) != str(customer.phone_number):
                changes["phone_number"] = audit.CHANGED
            if changes:
                action = "ticket.moved" if moved else "ticket.changed"
                entries = [audit.Entry(action, "ticket", str(ticket.pk), changes)]
                if "price" in changes:  # the booking's total follows, and says so
                    entries += total_again(ticket.booking_id)
                payload = {**audit.ticket_data(ticket), **audit.person_data(ticket.holder), "changes": changes}
                events = [audit.Event("ticket.changed", payload)]
                if sold_out is not None:
                    events.append(audit.Event("show.sold_out", audit.show_data(sold_out)))
                audit.record_many(actor=actor, now=now, entries=entries, events=events)
            return ticket
    except IntegrityError as exc:
        raise SeatTaken() from exc
