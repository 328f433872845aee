import re
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from phonenumber_field.modelfields import PhoneNumberField

_LABEL_RE = re.compile(r"^([A-Z]+)([1-9][0-9]*)$")


def seat_label(seat: int) -> str:
    """Seat 13 with 10 seats a row is "B3"; after row Z come AA, AB, ... like spreadsheet columns."""
    row, number = divmod(seat - 1, settings.BOOKING_SEATS_PER_ROW)
    letters = ""
    row += 1
    while row:
        row, rest = divmod(row - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return f"{letters}{number + 1}"


def seat_number(label: str) -> int | None:
    """The seat number of a label ("B3" -> 13), or None when the label is not well formed."""
    match = _LABEL_RE.match(label.strip().upper())
    if not match:
        return None
    letters, number = match.group(1), int(match.group(2))
    if number > settings.BOOKING_SEATS_PER_ROW:
        return None
    row = 0
    for letter in letters:
        row = row * 26 + (ord(letter) - ord("A") + 1)
    return (row - 1) * settings.BOOKING_SEATS_PER_ROW + number


class JSONArrayLength(models.Func):
    """The length of a JSON array column, on PostgreSQL (jsonb) and SQLite alike."""

    function = "JSON_ARRAY_LENGTH"
    output_field = models.IntegerField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, function="JSONB_ARRAY_LENGTH", **extra_context)


def default_capacity() -> int:
    return settings.BOOKING_DEFAULT_CAPACITY


def expiry_cutoff(now: datetime) -> datetime:
    """Shows that started at or before this moment have expired tickets."""
    return now - timedelta(hours=settings.BOOKING_EXPIRE_AFTER_HOURS)


class ShowQuerySet(models.QuerySet):
    def expired(self, now: datetime) -> "ShowQuerySet":
        return self.filter(starts_at__lte=expiry_cutoff(now))


class Show(models.Model):
    title = models.CharField(max_length=200, blank=True)
    starts_at = models.DateTimeField(unique=True)
    capacity = models.PositiveIntegerField(default=default_capacity, validators=[MinValueValidator(1)])
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ShowQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(capacity__gte=1), name="show_capacity_at_least_one"),
        ]

    def __str__(self) -> str:
        local = timezone.localtime(self.starts_at)
        return f"{self.title or 'Show'} at {local:%Y-%m-%d %H:%M}"

    @property
    def seats_available(self) -> int:
        """Capacity less tickets and live holds, for a show read with views.shows_with_counts()."""
        return self.capacity - self.tickets_booked - self.seats_held

    def has_started(self, now: datetime) -> bool:
        return self.starts_at <= now

    def is_expired(self, now: datetime) -> bool:
        return self.starts_at <= expiry_cutoff(now)


class Customer(models.Model):
    """The person's details of a ticket: the same name and phone is the same customer."""

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
    # No database constraint: PostgreSQL checked it once per deleted customer, 3 of the
    # purge's 11 s (bench/README.md). The link holds by construction: a booking links a
    # customer only through services.customer_get_or_create, whose upsert writes that
    # customer's row in the booking's transaction, and the purge deletes customers in
    # REPEATABLE READ batches that fail on a row written after their snapshot
    # (services._guard_customer_deletes); nothing else deletes customers (the admin
    # can't). The ORM still protects, and test_state_machine checks it.
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="bookings", db_constraint=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.reference


class Ticket(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No database constraint: PostgreSQL checks it once per deleted booking, which made the
    # purge of orphaned bookings take 8 of its 14 s (bench/README.md). The link holds by
    # construction: tickets are only inserted with a booking made in the same transaction
    # and never move to another booking; a booking is only deleted with its tickets or once
    # it has none. The ORM still cascades, and test_state_machine checks the link.
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="tickets", db_constraint=False)
    # No index of its own: the (show, seat) unique index serves look-ups by show.
    show = models.ForeignKey(Show, on_delete=models.PROTECT, related_name="tickets", db_index=False)
    seat = models.PositiveIntegerField(validators=[MinValueValidator(1)])
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
        return f"{self.show} seat {self.seat_label}"

    @property
    def seat_label(self) -> str:
        return seat_label(self.seat)


class HoldQuerySet(models.QuerySet):
    def live(self, now: datetime) -> "HoldQuerySet":
        return self.filter(expires_at__gt=now)


class Hold(models.Model):
    """Seats kept off sale while a customer pays. Taken while expires_at > now."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="holds")
    seats = models.JSONField(default=list)  # seat numbers, as in Ticket.seat
    expires_at = models.DateTimeField(db_index=True)
    # Who made the hold (user or client address), for the per-client limit.
    client = models.CharField(max_length=100, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = HoldQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["show", "expires_at"], name="hold_show_expires")]

    def __str__(self) -> str:
        return f"Hold of {len(self.seats)} at {self.show}"


class IdempotencyKey(models.Model):
    """A client's Idempotency-Key and the first answer given to it, replayed on retries."""

    scope = models.CharField(max_length=100)  # the caller: user id or client address
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField()
    location = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_unique_scope_key"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.scope})"
