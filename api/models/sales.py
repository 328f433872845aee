"""What is sold: customers, their bookings and tickets, and holds."""

import uuid
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from phonenumber_field.modelfields import PhoneNumberField
from phonenumber_field.phonenumber import PhoneNumber, to_python

from .catalog import Show, TicketType, default_ticket_type


def parse_phone(text: str, region: str | None = None) -> PhoneNumber | None:
    """A phone number in any format, read in `region` (a venue's country; default
    PHONENUMBER_DEFAULT_REGION) when it has no country code; None when it is not a valid
    number. Every phone number the service is given (bookings, filters, look-ups, the
    admin) goes through here."""
    number = to_python(text, region=region or settings.PHONENUMBER_DEFAULT_REGION)
    if not isinstance(number, PhoneNumber) or not number.is_valid():
        return None
    return number


def has_country_code(text: str) -> bool:
    """Whether a phone number as typed says its country itself ("+44 ...", "0044 ..."): it
    then reads the same at every venue."""
    return text.lstrip().startswith(("+", "00"))


class Customer(models.Model):
    """A person: who made a booking (Booking.customer) or holds a ticket (Ticket.holder).
    The same name and phone is the same customer."""

    name = models.CharField(max_length=100)
    phone_number = PhoneNumberField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["name", "phone_number"], name="customer_unique_name_phone"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.phone_number})"


class Booking(models.Model):
    """One confirmation of one or more tickets, found again by its reference (the PNR)."""

    reference = models.CharField(max_length=6, unique=True)
    # DO_NOTHING: the database refuses to delete a customer that a booking still links
    # (a foreign key constraint), and the purge deletes unused customers in one statement.
    customer = models.ForeignKey(Customer, on_delete=models.DO_NOTHING, related_name="bookings")
    total = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0.00"))
    # The booking's `now` (services.sales), which the hourly seat cap counts back from.
    created_at = models.DateTimeField(default=timezone.now)
    # The anonymous client (address) that made it, for the hourly seat cap; "" for staff.
    client = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        indexes = [
            # The hourly seat cap reads one client's bookings of the last hour.
            models.Index(fields=["client", "created_at"], name="booking_client_created")
        ]

    def __str__(self) -> str:
        return self.reference


class Ticket(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # DO_NOTHING: a booking is deleted once its tickets are (services.sales.booking_cancel,
    # the purge); the database refuses it before (a foreign key constraint).
    booking = models.ForeignKey(Booking, on_delete=models.DO_NOTHING, related_name="tickets")
    # The ticket's person: the booking's customer when it is made, changed for this ticket
    # alone (a guest of a group booking renamed to themself). DO_NOTHING as for the booking's
    # customer: the purge deletes a person once no booking and no ticket links them.
    holder = models.ForeignKey(Customer, on_delete=models.DO_NOTHING, related_name="tickets")
    # No index of its own: the (show, seat) unique index serves look-ups by show.
    show = models.ForeignKey(Show, on_delete=models.PROTECT, related_name="tickets", db_index=False)
    seat = models.CharField(max_length=8)  # its label in the screen's seat map, like "B4"
    # The seat's place in the map (front row first, then along the row), for lists in seat
    # order: labels sort "A10" before "A2".
    seat_order = models.PositiveIntegerField(default=0)
    ticket_type = models.ForeignKey(
        TicketType, on_delete=models.PROTECT, related_name="tickets", default=default_ticket_type
    )
    price = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("0.00"))  # as sold
    expired = models.BooleanField(default=False)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    booked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # The backstop of the never-oversell rule: one ticket per seat per show.
            models.UniqueConstraint(fields=["show", "seat"], name="ticket_unique_show_seat"),
        ]
        indexes = [
            # The purge walks expired tickets in id order, batch by batch; a partial index
            # holds only those rows, so it stays small while most tickets are live.
            models.Index(fields=["id"], condition=models.Q(expired=True), name="ticket_expired_id"),
        ]

    def __str__(self) -> str:
        return f"{self.show} seat {self.seat}"

    def is_expired(self, now: datetime) -> bool:
        """Marked by the expire job, or past its show's expiry already (the flag lags the
        job by up to its 5 minutes; the show's start does not)."""
        return self.expired or self.show.is_expired(now)


class HoldQuerySet(models.QuerySet):
    def live(self, now: datetime) -> "HoldQuerySet":
        return self.filter(expires_at__gt=now)


class Hold(models.Model):
    """Seats kept off sale while a customer pays. Taken while expires_at > now."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="holds")
    seats = models.JSONField(default=list)  # seat labels, as in Ticket.seat, in the map's order
    # What confirming the hold sells, frozen when the seats were held: one line a seat,
    # {"seat", "ticket_type", "category", "price"} (price as text: "12.50").
    lines = models.JSONField(default=list)
    total = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0.00"))
    expires_at = models.DateTimeField(db_index=True)
    # Who made the hold (user or client address), for the per-client limit.
    client = models.CharField(max_length=100, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = HoldQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["show", "expires_at"], name="hold_show_expires")]

    def __str__(self) -> str:
        return f"Hold of {len(self.seats)} at {self.show}"

    def is_live(self, now: datetime) -> bool:
        return self.expires_at > now
