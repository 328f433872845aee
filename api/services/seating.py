"""The rules of selling seats, shared by bookings, holds and waiting-list offers: which
show a request names, which seats it gets, at what price, and how a phone number given for
it reads. Plain functions of rows read under the show's lock; they write nothing."""

import functools
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from django.conf import settings
from phonenumber_field.phonenumber import PhoneNumber

from ..errors import (
    InvalidPhone,
    NoSuchSeat,
    NotSoldHere,
    SeatTaken,
    ShowStarted,
    SingleSeatGap,
    SoldOut,
    TooFewWheelchairSpaces,
    UnknownTicketType,
)
from ..locking import SeatsInUse
from ..models import Show, TicketType, parse_phone
from ..seatchoice import Choice, choose_best, side_by_side, stranded_seat
from ..seatmaps import seat_map_order
from ..tariffs import tariff_json, tariff_rows
from .showtimes import ShowTime, show_at

CENTS = Decimal("0.01")


@dataclass(frozen=True)
class Line:
    """One seat of a sale as priced: what a hold freezes and a booking charges."""

    seat: str
    ticket_type: str  # TicketType.key
    category: str
    price: Decimal
    blocked: bool = False  # of a hold: the seat was blocked when held (staff naming a house seat)

    def as_json(self) -> dict[str, Any]:
        line: dict[str, Any] = {
            "seat": self.seat,
            "ticket_type": self.ticket_type,
            "category": self.category,
            "price": str(self.price),
        }
        return {**line, "blocked": True} if self.blocked else line

    @classmethod
    def from_json(cls, line: dict[str, Any]) -> "Line":
        price = Decimal(line["price"])
        return cls(line["seat"], line["ticket_type"], line["category"], price, bool(line.get("blocked")))


def show_id_of(*, show_id: int | None, when: ShowTime | None, now: datetime, actor: str) -> int:
    """The show a request names: by id, or by its date and time (which may make an open
    timing, recorded as made by `actor`)."""
    if show_id is not None:
        return show_id
    if when is None:
        raise TypeError("Name a show by show_id or when.")
    return show_at(when=when, now=now, actor=actor).pk


def check_not_started(show: Show, now: datetime) -> None:
    if show.has_started(now):
        raise ShowStarted()


def sells_out(show: Show, used: SeatsInUse, seats: Collection[str]) -> bool:
    """Whether selling `seats` (chosen under the show's lock, where `used` was read) sells
    the show out (API.md's show.sold_out, "the sale that took the last seat"): a seat was
    left to sell before it and none is after, by Show.seats_available's rule with holds
    left out. A held seat is not sold: its confirm is the sale that takes it. A blocked
    seat is not for sale; staff selling one unblock it, which sells out a show that had
    none left only once: the sale that took its last seat for sale told it already."""

    def left(booked: int, blocked: int) -> int:
        return min(show.capacity - booked, show.screen.capacity - booked - blocked)

    booked, blocked = len(used.booked), len(used.blocked)
    return left(booked, blocked) > 0 >= left(booked + len(seats), len(used.blocked.difference(seats)))


def choose_seats(
    show: Show,
    used: SeatsInUse,
    wanted: list[str] | None,
    quantity: int,
    *,
    wheelchair: int = 0,
    staff: bool,
    prices: "Tariff",
    ticket_types: dict[str, int] | None = None,
) -> Choice:
    """The seats wanted, if they exist, are free and strand no single seat; else the best
    ones (seatchoice.choose_best) among those the show sells for the types asked (see
    unpriced_seats). Blocked seats are taken for everyone but staff who name them; staff
    are exempt from the single-seat rule."""
    seat_map, taken, blocked = show.screen.seats, used.taken, used.blocked
    single_seat_rule = settings.BOOKING_SINGLE_SEAT_RULE and not staff
    if wanted:
        for label in wanted:
            if seat_map.seat(label) is None:
                raise NoSuchSeat(label)
        unavailable = taken if staff else taken | blocked
        clash = sorted(unavailable.intersection(wanted), key=seat_map_order(seat_map))
        if clash:
            raise SeatTaken.seats(clash, blocked=blocked - taken)
        quantity = len(wanted)
    # Counted as well as chosen: tickets in seats above a lowered capacity still count.
    if len(taken) + quantity > show.capacity:
        raise SoldOut(show.pk)
    if wanted:
        stranded = stranded_seat(seat_map, taken | blocked, wanted) if single_seat_rule else None
        if stranded is not None:
            raise SingleSeatGap(stranded)
        # In the map's order, as a booking is read back later (GET /api/bookings/{reference}).
        seats = sorted(wanted, key=seat_map_order(seat_map))
        return Choice(seats, together=side_by_side(seat_map, seats))
    # The best of the seats the show sells for these types (none free is sold out); every
    # seat when it prices them nowhere (pricing the choice says so). A seat not sold to this
    # party is still one another may buy: not to be left lone.
    unpriced = unpriced_seats(show, ticket_types, prices)
    if len(unpriced) == seat_map.capacity:
        unpriced = frozenset()
    if wheelchair:
        check_wheelchair_spaces(show, wheelchair, unpriced)
    unavailable = taken | blocked
    unsellable = unpriced - unavailable
    choice = choose_best(
        seat_map,
        unavailable,
        quantity,
        wheelchair=wheelchair,
        single_seat_rule=single_seat_rule,
        unsellable=unsellable,
    )
    if choice is None:
        raise SoldOut(show.pk)
    return choice


def check_wheelchair_spaces(show: Show, wheelchair: int, unpriced: Collection[str]) -> None:
    """More wheelchair spaces asked for than the show can ever sell this party is a 400,
    not sold out: no sale or waiting list ends it. Only the spaces it sells for the types
    asked count (not `unpriced`): one in a category they have no price in is no space for
    them, however free."""
    spaces = [seat.label for seat in show.screen.seats if seat.kind == "wheelchair"]
    sold = sum(1 for label in spaces if label not in unpriced)
    if wheelchair > sold:
        raise TooFewWheelchairSpaces(len(spaces), priced=sold)


@dataclass(frozen=True)
class Tariff:
    """What a sale is priced by: every ticket type by key, and a show's prices by (ticket
    type key, seat category); no prices means the show sells at 0.00."""

    types: Mapping[str, TicketType]
    prices: Mapping[tuple[str, str], Decimal]

    @property
    def default(self) -> TicketType:
        return next(t for t in self.types.values() if t.default)

    @property
    def for_anyone(self) -> TicketType:
        """The type of a party that asked for none (a waiting list's offer): the default,
        unless the show prices it nowhere (a children's matinee priced for `child` alone),
        then the first type it prices, as GET /api/ticket-types lists them."""
        priced = {key for key, _category in self.prices}
        if not priced or self.default.key in priced:
            return self.default
        return next(t for t in self.types.values() if t.key in priced)


def tariff(show_id: int | None = None, *, read: str | None = None) -> Tariff:
    """The ticket types with the show's prices (none without a show): `read` with the taken
    seats (locking.seats_in_use with_tariff), else in a statement of its own."""
    found = _tariff_of(tariff_json(show_id) if read is None else read)
    if not any(t.default for t in found.types.values()):
        TicketType.objects.default()  # a database without types gets the fresh installation's
        found = _tariff_of(tariff_json(show_id))
    return found


@functools.lru_cache(maxsize=256)
def _tariff_of(document: str) -> Tariff:
    """The tariff that the database's JSON text of it reads as, kept by that text: it stays
    the same while nobody changes the types or the show's prices, and shows priced alike
    share it. Loading it anew for every sale cost a booking measurably (bench/README.md,
    "2026-12-04, evening"). What is kept is only read: the mappings are read-only, and a
    sale only points its tickets at the types."""
    types: dict[str, TicketType] = {}
    prices: dict[tuple[str, str], Decimal] = {}
    for ticket_type, category, amount in tariff_rows(document):  # a type's row again for each price
        types.setdefault(ticket_type.key, ticket_type)
        if category is not None and amount is not None:
            prices[(ticket_type.key, category)] = Decimal(amount).quantize(CENTS)
    return Tariff(MappingProxyType(types), MappingProxyType(prices))


def unpriced_seats(show: Show, ticket_types: dict[str, int] | None, tariff: Tariff) -> frozenset[str]:
    """The show's seats in the categories it has no price in for one of the types asked
    (the default type without ticket_types): the best seats are chosen among the others.
    None at a show without prices (it sells at 0.00)."""
    if not tariff.prices:
        return frozenset()
    keys = [key for key, count in (ticket_types or {}).items() if count] or [tariff.default.key]
    return frozenset().union(
        *(
            labels
            for category, labels in show.screen.seats.by_category.items()
            if any((key, category) not in tariff.prices for key in keys)
        )
    )


def price_lines(show: Show, seats: list[str], ticket_types: dict[str, int] | None, tariff: Tariff) -> list[Line]:
    """The seats priced by the tariff of the show: the types go to the seats in seat order
    (the default type without ticket_types), in the order GET /api/ticket-types lists them
    (the default first, then as made): a JSON object's keys have no order, and {"child": 1,
    "adult": 1} priced the first seat, a premium one, otherwise than {"adult": 1, "child": 1}."""
    asked = ticket_types or {}
    for key in asked:
        if key not in tariff.types:
            raise UnknownTicketType(key)
    listed = sorted(tariff.types.values(), key=lambda t: (not t.default, t.pk))
    keys = [t.key for t in listed for _ in range(asked.get(t.key, 0))]
    if not keys:
        keys = [tariff.default.key] * len(seats)
    prices = tariff.prices
    seat_map, lines = show.screen.seats, []
    for seat, key in zip(seats, keys, strict=True):
        category = seat_map.by_label[seat].category
        if prices and (key, category) not in prices:
            raise NotSoldHere(key, category)
        lines.append(Line(seat, key, category, prices.get((key, category), Decimal("0.00"))))
    return lines


def phone_at(phone_number: PhoneNumber | str, show: Show) -> PhoneNumber:
    """The phone number as given for a booking at this show: one without a country code is
    read in the show's venue's country (a GB venue's 020 7946 0958 is +44 20 7946 0958)."""
    if isinstance(phone_number, PhoneNumber):
        return phone_number
    number = parse_phone(phone_number, region=show.screen.venue.country)
    if number is None:
        raise InvalidPhone()
    return number
