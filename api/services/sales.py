"""Selling seats: holds, bookings and their tickets, moves and cancellations.

Every write that takes seats locks its show first and reads the taken and blocked seats
under the lock (api/locking.py); the UNIQUE (show, seat) constraint is the backstop, and
an IntegrityError there is a SeatTaken, never a 500.
"""

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeAlias

from django.conf import settings
from django.db import IntegrityError, transaction
from phonenumber_field.phonenumber import PhoneNumber

from ..errors import (
    HoldExpired,
    HoldLimitReached,
    NoSuchHold,
    NoSuchSeat,
    SeatTaken,
    ShowStarted,
    SoldOut,
    TicketNotChangeable,
    TicketNotFound,
)
from ..locking import SeatsInUse, lock_show, lock_shows, seats_in_use
from ..models import Booking, Customer, Hold, SeatBlock, Show, Ticket
from ..seatmaps import lowest_free
from .catalog import ShowTime, seat_map_order, show_at

# Six characters without look-alikes (no 0/O, 1/I/L): 31 ** 6, about 890 million references.
REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
REFERENCE_LENGTH = 6
REFERENCE_DRAWS = 10

Phone: TypeAlias = PhoneNumber | str


@dataclass(frozen=True)
class Sale:
    """What a booking made: the booking (with its customer) and its tickets, in seat order."""

    booking: Booking
    tickets: list[Ticket]


# --- rules ---------------------------------------------------------------------------


def _show_id(*, show_id: int | None, when: ShowTime | None, now: datetime) -> int:
    """The show a request names: by id, or by its date and time (which may make an open timing)."""
    if show_id is not None:
        return show_id
    if when is None:
        raise TypeError("Name a show by show_id or when.")
    return show_at(when=when, now=now).pk


def _check_not_started(show: Show, now: datetime) -> None:
    if show.has_started(now):
        raise ShowStarted()


def _choose_seats(show: Show, used: SeatsInUse, wanted: list[str] | None, quantity: int, *, staff: bool) -> list[str]:
    """The seats wanted, if they exist and are free; else the first free ones. Blocked
    seats are taken for everyone but staff who name them."""
    seat_map, taken, blocked = show.screen.seats, used.taken, used.blocked
    if wanted:
        for label in wanted:
            if seat_map.seat(label) is None:
                raise NoSuchSeat(label)
        unavailable = taken if staff else taken | blocked
        clash = sorted(unavailable.intersection(wanted), key=seat_map_order(seat_map))
        if clash:
            raise SeatTaken.seats(clash)
        quantity = len(wanted)
    # Counted as well as chosen: tickets in seats above a lowered capacity still count.
    if len(taken) + quantity > show.capacity:
        raise SoldOut()
    if wanted:
        # In the map's order, as a booking is read back later (GET /api/bookings/{reference}).
        return sorted(wanted, key=seat_map_order(seat_map))
    chosen = lowest_free(seat_map, taken | blocked, quantity)
    if len(chosen) < quantity:
        raise SoldOut()
    return chosen


# --- customers and bookings ------------------------------------------------------


def customer_get_or_create(*, name: str, phone_number: Phone) -> Customer:
    """The customer with this name and phone, made on first use: one upsert, safe when two
    bookings of a new person run at once."""
    (customer,) = Customer.objects.bulk_create(
        [Customer(name=name, phone_number=phone_number)],
        update_conflicts=True,
        unique_fields=["name", "phone_number"],
        update_fields=["name"],
    )
    return customer


def _draw_reference() -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


def _booking_create(customer: Customer) -> Booking:
    """A booking of this customer under a fresh random reference, drawn again if taken."""
    for _ in range(REFERENCE_DRAWS):
        try:
            with transaction.atomic():
                return Booking.objects.create(reference=_draw_reference(), customer=customer)
        except IntegrityError:
            continue  # UNIQUE (reference): draw again
    raise RuntimeError("Could not draw a free booking reference.")


def _sell(*, show: Show, seats: list[str], name: str, phone_number: Phone, blocked: set[str] | None = None) -> Sale:
    """The person (new or returning), a booking and its tickets. Call under the show's lock.
    A blocked seat that staff sell is unblocked: the house seat has found its guest.
    `blocked`: the show's blocked seats when the caller read them (no DELETE unless one of
    them is sold); None: not known, so any block of the seats is deleted."""
    booking = _booking_create(customer_get_or_create(name=name, phone_number=phone_number))
    order = seat_map_order(show.screen.seats)
    tickets = Ticket.objects.bulk_create(
        [Ticket(booking=booking, show=show, seat=seat, seat_order=order(seat)) for seat in seats]
    )
    if blocked is None or blocked.intersection(seats):
        SeatBlock.objects.filter(show=show, seat__in=seats).delete()
    return Sale(booking=booking, tickets=tickets)


def booking_create(
    *,
    name: str,
    phone_number: Phone,
    now: datetime,
    show_id: int | None = None,
    when: ShowTime | None = None,
    seats: list[str] | None = None,
    quantity: int = 1,
    staff: bool = False,
) -> Sale:
    """Book seats straight away (no hold first): the wanted ones, or the first free."""
    try:
        with transaction.atomic():
            show = lock_show(_show_id(show_id=show_id, when=when, now=now))
            used = seats_in_use(show.pk, now=now)
            _check_not_started(show, now)
            chosen = _choose_seats(show, used, seats, quantity, staff=staff)
            return _sell(show=show, seats=chosen, name=name, phone_number=phone_number, blocked=used.blocked)
    except IntegrityError as exc:  # UNIQUE (show, seat): the backstop
        raise SeatTaken() from exc


def ticket_book(
    *,
    name: str,
    phone_number: Phone,
    now: datetime,
    show_id: int | None = None,
    when: ShowTime | None = None,
    seat: str | None = None,
    staff: bool = False,
) -> Ticket:
    """One ticket in a booking of its own: the asked seat, or the first free one."""
    sale = booking_create(
        name=name,
        phone_number=phone_number,
        now=now,
        show_id=show_id,
        when=when,
        seats=[seat] if seat else None,
        staff=staff,
    )
    return sale.tickets[0]


def booking_confirm(*, hold_id: uuid.UUID | str, name: str, phone_number: Phone, now: datetime) -> Sale:
    """Turn a live hold into tickets: the second and last step of hold-then-pay."""
    show_id = Hold.objects.filter(pk=hold_id).values_list("show_id", flat=True).first()
    if show_id is None:
        raise NoSuchHold()
    try:
        with transaction.atomic():
            show = lock_show(show_id)
            # Under the show lock no other confirm or release of this hold can run. None
            # when the purge job deleted the (then expired) hold since the read above.
            hold = Hold.objects.filter(pk=hold_id).first()
            if hold is None or not hold.is_live(now):
                raise HoldExpired()
            _check_not_started(show, now)
            sale = _sell(show=show, seats=hold.seats, name=name, phone_number=phone_number)
            # A used hold is spent: it stops counting now and the purge job deletes it.
            Hold.objects.filter(pk=hold.pk).update(expires_at=now)
            return sale
    except IntegrityError as exc:
        raise SeatTaken("A held seat was booked meanwhile.") from exc


def booking_cancel(*, booking_id: int) -> None:
    """Cancel every ticket of the booking; its seats are free again at once."""
    with transaction.atomic():
        Ticket.objects.filter(booking_id=booking_id).delete()
        Booking.objects.filter(pk=booking_id).delete()


# --- tickets ----------------------------------------------------------------------


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
) -> Ticket:
    """Change a ticket's show, seat, name or phone, by the same rules as booking."""
    current_show_id = Ticket.objects.filter(pk=ticket_id).values_list("show_id", flat=True).first()
    if current_show_id is None:
        raise TicketNotFound()
    moving = show_id is not None or when is not None
    target_show_id = _show_id(show_id=show_id, when=when, now=now) if moving else current_show_id
    try:
        with transaction.atomic():
            shows = lock_shows([current_show_id, target_show_id])
            ticket = Ticket.objects.select_related("booking__customer").get(pk=ticket_id)
            if ticket.show_id != current_show_id:
                # Moved by someone else between our read and our lock: a rare race,
                # settled by refusing rather than by holding a lock we didn't take.
                raise SeatTaken("This ticket was changed meanwhile; try again.")
            ticket.show = shows[current_show_id]
            if ticket.expired or ticket.show.has_started(now):
                raise TicketNotChangeable()
            target = shows[target_show_id]
            if target.pk != ticket.show_id or (seat is not None and seat != ticket.seat):
                _check_not_started(target, now)
                used = seats_in_use(target.pk, now=now, exclude_ticket=ticket.pk)
                ticket.seat = _choose_seats(target, used, [seat] if seat else None, 1, staff=staff)[0]
                ticket.seat_order = seat_map_order(target.screen.seats)(ticket.seat)
                ticket.show = target
                if ticket.seat in used.blocked:
                    SeatBlock.objects.filter(show=target, seat=ticket.seat).delete()
            customer = ticket.booking.customer
            new_name = customer.name if name is None else name
            new_phone = customer.phone_number if phone_number is None else phone_number
            if (new_name, str(new_phone)) != (customer.name, str(customer.phone_number)):
                # The person's details belong to the booking: every ticket of it follows.
                ticket.booking.customer = customer_get_or_create(name=new_name, phone_number=new_phone)
                ticket.booking.save(update_fields=["customer"])
            ticket.save(update_fields=["show", "seat", "seat_order"])
            return ticket
    except IntegrityError as exc:
        raise SeatTaken() from exc


def ticket_cancel(*, ticket_id: uuid.UUID | str) -> None:
    """Delete the ticket (its seat is free at once), and its booking if that was the last."""
    with transaction.atomic():
        booking_id = Ticket.objects.filter(pk=ticket_id).values_list("booking_id", flat=True).first()
        if booking_id is None:
            raise TicketNotFound()
        Ticket.objects.filter(pk=ticket_id).delete()
        Booking.objects.filter(pk=booking_id, tickets__isnull=True).delete()


# --- holds ------------------------------------------------------------------------


def hold_create(
    *,
    now: datetime,
    show_id: int | None = None,
    when: ShowTime | None = None,
    seats: list[str] | None = None,
    quantity: int = 1,
    client: str = "",
    staff: bool = False,
) -> Hold:
    """Keep seats off sale for BOOKING_HOLD_MINUTES while the customer pays."""
    wanted = len(seats) if seats else quantity
    with transaction.atomic():
        show = lock_show(_show_id(show_id=show_id, when=when, now=now))
        used = seats_in_use(show.pk, now=now)
        _check_not_started(show, now)
        limit = settings.BOOKING_MAX_HELD_SEATS_PER_CLIENT
        if client and limit:
            held = sum(len(s) for s in Hold.objects.live(now).filter(client=client).values_list("seats", flat=True))
            if held + wanted > limit:
                raise HoldLimitReached(limit, held)
        chosen = _choose_seats(show, used, seats, quantity, staff=staff)
        return Hold.objects.create(
            show=show,
            seats=chosen,
            client=client,
            expires_at=now + timedelta(minutes=settings.BOOKING_HOLD_MINUTES),
        )


def hold_release(*, hold_id: uuid.UUID | str, now: datetime) -> None:
    """Put the held seats back on sale at once; the purge job deletes the row later."""
    Hold.objects.filter(pk=hold_id).update(expires_at=now)
