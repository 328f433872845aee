"""Selling seats: holds, bookings and their tickets, moves and cancellations.

Every write that takes seats locks its show first and reads the taken and blocked seats
under the lock (api/locking.py); the UNIQUE (show, seat) constraint is the backstop, and
an IntegrityError there is a SeatTaken, never a 500.
"""

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TypeAlias

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from phonenumber_field.phonenumber import PhoneNumber

from ..errors import (
    HoldExpired,
    HoldLimitReached,
    NoSuchHold,
    NoSuchSeat,
    NotSoldHere,
    SeatTaken,
    ShowStarted,
    SingleSeatGap,
    SoldOut,
    TicketNotChangeable,
    TicketNotFound,
    UnknownTicketType,
)
from ..locking import SeatsInUse, lock_client, lock_show, lock_shows, seats_in_use
from ..models import Booking, Customer, Hold, SeatBlock, Show, ShowPrice, Ticket, TicketType
from ..seatmaps import Choice, choose_best, side_by_side, stranded_seat
from . import audit
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


@dataclass(frozen=True)
class Line:
    """One seat of a sale as priced: what a hold freezes and a booking charges."""

    seat: str
    ticket_type: str  # TicketType.key
    category: str
    price: Decimal

    def as_json(self) -> dict[str, str]:
        return {"seat": self.seat, "ticket_type": self.ticket_type, "category": self.category, "price": str(self.price)}

    @classmethod
    def from_json(cls, line: dict[str, str]) -> "Line":
        return cls(line["seat"], line["ticket_type"], line["category"], Decimal(line["price"]))


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


def _choose_seats(
    show: Show, used: SeatsInUse, wanted: list[str] | None, quantity: int, *, wheelchair: int = 0, staff: bool
) -> Choice:
    """The seats wanted, if they exist, are free and strand no single seat; else the best
    ones (seatmaps.choose_best). Blocked seats are taken for everyone but staff who name
    them; staff are exempt from the single-seat rule."""
    seat_map, taken, blocked = show.screen.seats, used.taken, used.blocked
    single_seat_rule = settings.BOOKING_SINGLE_SEAT_RULE and not staff
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
        stranded = stranded_seat(seat_map, taken | blocked, wanted) if single_seat_rule else None
        if stranded is not None:
            raise SingleSeatGap(stranded)
        # In the map's order, as a booking is read back later (GET /api/bookings/{reference}).
        seats = sorted(wanted, key=seat_map_order(seat_map))
        return Choice(seats, together=side_by_side(seat_map, seats))
    choice = choose_best(seat_map, taken | blocked, quantity, wheelchair=wheelchair, single_seat_rule=single_seat_rule)
    if choice is None:
        raise SoldOut()
    return choice


def _ticket_types() -> dict[str, TicketType]:
    """Every ticket type by key (a handful of rows: one query)."""
    types = {t.key: t for t in TicketType.objects.all()}
    if not any(t.default for t in types.values()):
        TicketType.objects.default()  # a database without types gets the fresh installation's
        types = {t.key: t for t in TicketType.objects.all()}
    return types


def _price(
    show: Show, seats: list[str], ticket_types: dict[str, int] | None, types: dict[str, TicketType]
) -> list[Line]:
    """The seats priced at the show's prices: the types go to the seats in seat order (the
    default type without ticket_types). A show without prices sells at 0.00."""
    keys = [key for key, count in (ticket_types or {}).items() for _ in range(count)]
    for key in keys:
        if key not in types:
            raise UnknownTicketType(key)
    if not keys:
        keys = [next(t.key for t in types.values() if t.default)] * len(seats)
    prices = {
        (key, category): amount
        for key, category, amount in ShowPrice.objects.filter(show=show).values_list(
            "ticket_type__key", "category", "amount"
        )
    }
    seat_map, lines = show.screen.seats, []
    for seat, key in zip(seats, keys, strict=True):
        category = seat_map.by_label[seat].category
        if prices and (key, category) not in prices:
            raise NotSoldHere(key, category)
        lines.append(Line(seat, key, category, prices.get((key, category), Decimal("0.00"))))
    return lines


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


def _booking_create(customer: Customer, total: Decimal) -> Booking:
    """A booking of this customer under a fresh random reference, drawn again if taken."""
    for _ in range(REFERENCE_DRAWS):
        try:
            with transaction.atomic():
                return Booking.objects.create(reference=_draw_reference(), customer=customer, total=total)
        except IntegrityError:
            continue  # UNIQUE (reference): draw again
    raise RuntimeError("Could not draw a free booking reference.")


def _sell(
    *,
    show: Show,
    lines: list[Line],
    types: dict[str, TicketType],
    unblock: bool,
    name: str,
    phone_number: Phone,
) -> Sale:
    """The person (new or returning), a booking and its tickets, as the lines price them.
    Call under the show's lock. A blocked seat that staff sell (unblock) is unblocked: the
    house seat has found its guest."""
    total = sum((line.price for line in lines), Decimal("0.00"))
    booking = _booking_create(customer_get_or_create(name=name, phone_number=phone_number), total)
    order = seat_map_order(show.screen.seats)
    tickets = Ticket.objects.bulk_create(
        [
            Ticket(
                booking=booking,
                show=show,
                seat=line.seat,
                seat_order=order(line.seat),
                ticket_type=types[line.ticket_type],
                price=line.price,
            )
            for line in lines
        ]
    )
    if unblock:
        SeatBlock.objects.filter(show=show, seat__in=[line.seat for line in lines]).delete()
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
    ticket_types: dict[str, int] | None = None,
    wheelchair: int = 0,
    staff: bool = False,
    actor: str = "system",
) -> Sale:
    """Book seats straight away (no hold first): the wanted ones, or the best available."""
    try:
        with transaction.atomic():
            show = lock_show(_show_id(show_id=show_id, when=when, now=now))
            used = seats_in_use(show.pk, now=now)
            _check_not_started(show, now)
            choice = _choose_seats(show, used, seats, quantity, wheelchair=wheelchair, staff=staff)
            types = _ticket_types()
            lines = _price(show, choice.seats, ticket_types, types)
            unblock = bool(used.blocked.intersection(choice.seats))
            sale = _sell(show=show, lines=lines, types=types, unblock=unblock, name=name, phone_number=phone_number)
            sold_out = len(used.taken) + len(lines) >= show.capacity
            audit.booking_created(sale, actor=actor, now=now, sold_out=show if sold_out else None)
            return sale
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
    ticket_type: str | None = None,
    staff: bool = False,
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
        actor=actor,
    )
    return sale.tickets[0]


def booking_confirm(
    *, hold_id: uuid.UUID | str, name: str, phone_number: Phone, now: datetime, actor: str = "system"
) -> Sale:
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
            # The hold's frozen lines: its prices, whatever the show's are now.
            lines = [Line.from_json(line) for line in hold.lines]
            # Staff may have held a blocked seat by naming it: selling it unblocks it.
            sale = _sell(
                show=show, lines=lines, types=_ticket_types(), unblock=True, name=name, phone_number=phone_number
            )
            # A used hold is spent: it stops counting now and the purge job deletes it.
            Hold.objects.filter(pk=hold.pk).update(expires_at=now)
            sold_out = len(seats_in_use(show.pk, now=now).booked) >= show.capacity
            audit.booking_created(sale, actor=actor, now=now, sold_out=show if sold_out else None)
            return sale
    except IntegrityError as exc:
        raise SeatTaken("A held seat was booked meanwhile.") from exc


def booking_cancel(*, booking_id: int, actor: str = "system", now: datetime | None = None) -> None:
    """Cancel every ticket of the booking; its seats are free again at once."""
    with transaction.atomic():
        reference = Booking.objects.filter(pk=booking_id).values_list("reference", flat=True).first()
        ticket_ids = [str(pk) for pk in Ticket.objects.filter(booking_id=booking_id).values_list("pk", flat=True)]
        Ticket.objects.filter(booking_id=booking_id).delete()
        Booking.objects.filter(pk=booking_id).delete()
        if reference is not None:
            entries = [audit.Entry("booking.cancelled", "booking", reference, {"tickets": ticket_ids})]
            entries += [audit.Entry("ticket.cancelled", "ticket", pk) for pk in ticket_ids]
            event = audit.Event("booking.cancelled", {"reference": reference, "tickets": ticket_ids})
            audit.record_many(actor=actor, now=now or timezone.now(), entries=entries, events=[event])


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
    actor: str = "system",
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
            ticket = Ticket.objects.select_related("booking__customer", "ticket_type").get(pk=ticket_id)
            if ticket.show_id != current_show_id:
                # Moved by someone else between our read and our lock: a rare race,
                # settled by refusing rather than by holding a lock we didn't take.
                raise SeatTaken("This ticket was changed meanwhile; try again.")
            ticket.show = shows[current_show_id]
            if ticket.expired or ticket.show.has_started(now):
                raise TicketNotChangeable()
            target = shows[target_show_id]
            before = {"show": ticket.show_id, "seat": ticket.seat}
            if target.pk != ticket.show_id or (seat is not None and seat != ticket.seat):
                _check_not_started(target, now)
                used = seats_in_use(target.pk, now=now, exclude_ticket=ticket.pk)
                (ticket.seat,) = _choose_seats(target, used, [seat] if seat else None, 1, staff=staff).seats
                ticket.seat_order = seat_map_order(target.screen.seats)(ticket.seat)
                # The ticket keeps its type; its price is that type's at the new show and seat.
                (line,) = _price(target, [ticket.seat], {ticket.ticket_type.key: 1}, _ticket_types())
                ticket.price = line.price
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
            ticket.save(update_fields=["show", "seat", "seat_order", "price"])
            changes: dict = {k: [v, getattr(ticket, f"{k}_id" if k == "show" else k)] for k, v in before.items()}
            changes = {k: v for k, v in changes.items() if v[0] != v[1]}
            moved = bool(changes)
            if new_name != customer.name:
                changes["name"] = audit.CHANGED
            if str(new_phone) != str(customer.phone_number):
                changes["phone_number"] = audit.CHANGED
            if changes:
                audit.record(
                    actor=actor,
                    action="ticket.moved" if moved else "ticket.changed",
                    obj_type="ticket",
                    obj_id=str(ticket.pk),
                    changes=changes,
                    now=now,
                    event="ticket.changed",
                    payload={**audit.ticket_data(ticket), "changes": changes},
                )
            return ticket
    except IntegrityError as exc:
        raise SeatTaken() from exc


def ticket_cancel(*, ticket_id: uuid.UUID | str, actor: str = "system", now: datetime | None = None) -> None:
    """Delete the ticket (its seat is free at once), and its booking if that was the last."""
    with transaction.atomic():
        found = Ticket.objects.filter(pk=ticket_id).values_list("booking_id", "booking__reference", "show_id", "seat")
        if not found:
            raise TicketNotFound()
        ((booking_id, reference, show_id, seat),) = found
        Ticket.objects.filter(pk=ticket_id).delete()
        last = Booking.objects.filter(pk=booking_id, tickets__isnull=True).delete()[0] > 0
        data = {"id": str(ticket_id), "booking": reference, "show": show_id, "seat": seat}
        entries = [audit.Entry("ticket.cancelled", "ticket", str(ticket_id), {"show": show_id, "seat": seat})]
        events = [audit.Event("ticket.cancelled", data)]
        if last:
            entries.append(audit.Entry("booking.cancelled", "booking", reference, {"tickets": [str(ticket_id)]}))
            events.append(audit.Event("booking.cancelled", {"reference": reference, "tickets": [str(ticket_id)]}))
        audit.record_many(actor=actor, now=now or timezone.now(), entries=entries, events=events)


# --- holds ------------------------------------------------------------------------


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
    """Keep seats off sale for BOOKING_HOLD_MINUTES while the customer pays, at today's
    prices, frozen in the hold's lines."""
    wanted = len(seats) if seats else quantity
    with transaction.atomic():
        show = lock_show(_show_id(show_id=show_id, when=when, now=now))
        used = seats_in_use(show.pk, now=now)
        _check_not_started(show, now)
        limit = settings.BOOKING_MAX_HELD_SEATS_PER_CLIENT
        if client and limit:
            lock_client(client)  # the count below and the INSERT, one request of the client at a time
            held = sum(len(s) for s in Hold.objects.live(now).filter(client=client).values_list("seats", flat=True))
            if held + wanted > limit:
                raise HoldLimitReached(limit, held)
        choice = _choose_seats(show, used, seats, quantity, wheelchair=wheelchair, staff=staff)
        lines = _price(show, choice.seats, ticket_types, _ticket_types())
        hold = Hold.objects.create(
            show=show,
            seats=choice.seats,
            lines=[line.as_json() for line in lines],
            total=sum((line.price for line in lines), Decimal("0.00")),
            client=client,
            expires_at=now + timedelta(minutes=settings.BOOKING_HOLD_MINUTES),
        )
        changes = {"show": show.pk, "seats": choice.seats}
        audit.record(actor=actor, action="hold.created", obj_type="hold", obj_id=str(hold.pk), changes=changes, now=now)
        return hold


def hold_release(*, hold_id: uuid.UUID | str, now: datetime, actor: str = "system") -> None:
    """Put the held seats back on sale at once; the purge job deletes the row later."""
    with transaction.atomic():
        if Hold.objects.filter(pk=hold_id).update(expires_at=now):
            audit.record(actor=actor, action="hold.released", obj_type="hold", obj_id=str(hold_id), changes={}, now=now)
