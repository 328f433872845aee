"""The models, by domain: catalog (shows), sales (customers, bookings, tickets, holds),
ops (the service's own records)."""

from .catalog import Show, ShowQuerySet, default_capacity, expiry_cutoff, validate_on_the_minute
from .ops import IdempotencyKey
from .sales import Booking, Customer, Hold, HoldQuerySet, Ticket, parse_phone

__all__ = [
    "Booking",
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
