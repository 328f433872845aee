"""The models, by domain: catalog (shows), sales (customers, bookings, tickets, holds),
ops (the service's own records)."""

from .catalog import (
    Film,
    Screen,
    SeatBlock,
    Show,
    ShowPrice,
    ShowQuerySet,
    TicketType,
    Venue,
    default_capacity,
    default_country,
    default_currency,
    default_screen,
    default_time_zone,
    expiry_cutoff,
    validate_on_the_minute,
)
from .ops import IdempotencyKey
from .sales import Booking, Customer, Hold, HoldQuerySet, Ticket, parse_phone

__all__ = [
    "Booking",
    "Film",
    "Screen",
    "SeatBlock",
    "ShowPrice",
    "TicketType",
    "Venue",
    "default_country",
    "default_currency",
    "default_screen",
    "default_time_zone",
    "Customer",
    "Hold",
    "HoldQuerySet",
    "IdempotencyKey",
    "Show",
    "ShowQuerySet",
    "Ticket",
    "default_capacity",
    "expiry_cutoff",
    "parse_phone",
    "validate_on_the_minute",
]
