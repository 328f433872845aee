"""What is sold: customers, their bookings and tickets, holds, and the waiting lists of
sold-out shows."""

import unicodedata
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Case, Count, Exists, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce, Least
from django.utils import timezone
from phonenumber_field.modelfields import PhoneNumberField
from phonenumber_field.phonenumber import PhoneNumber, to_python

from .catalog import Show, TicketType, default_ticket_type


def plain_digits(text: str) -> str:
    """A phone number as typed on any keyboard, in ASCII: full-width characters (NFKC), any
    script's digits (Arabic-Indic, Devanagari...) as 0-9 and any dash (an en dash from
    autocorrect) as "-", as the number's parser reads them. ASCII is all of that already."""
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKC", text)
    return "".join(
        str(unicodedata.decimal(c)) if c.isdecimal() else "-" if unicodedata.category(c) == "Pd" else c for c in text
    )


def parse_phone(text: str, region: str | None = None) -> PhoneNumber | None:
    """A phone number in any format, read in `region` (a venue's country; default
    PHONENUMBER_DEFAULT_REGION) when it has no country code; None when it is not a valid
    number. Every phone number the service is given (bookings, filters, look-ups, the
    admin) goes through here."""
    number = to_python(plain_digits(text), region=region or settings.PHONENUMBER_DEFAULT_REGION)
    if not isinstance(number, PhoneNumber) or not number.is_valid():
        return None
    return number


def phone_text(number: PhoneNumber | str) -> str:
    """A phone number as E.164 text ("+442079460958"), as it is stored.

    Formatted, not validated again: every number the service holds was valid when it was
    read (parse_phone), and a PhoneNumber's str() and the ORM's write each check it anew,
    a walk through the country's number patterns each time."""
    return number.as_e164 if isinstance(number, PhoneNumber) else str(number)


def plain_reference(text: str) -> str:
    """A booking reference as people copy it, any case, spaces anywhere ("k7q x2m"), as
    it is stored ("K7QX2M")."""
    return "".join(text.split()).upper()


def has_country_code(text: str) -> bool:
    """Whether a phone number as typed says its country itself ("+44 ...", "0044 ...",
    "(+44) ...", a tel: link "tel:+44..."): it then reads the same at every venue."""
    text = text.lstrip(" (")
    if text[:4].lower() == "tel:":
        text = text[4:].lstrip(" (")
    return text.startswith(("+", "00"))


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

    # Unique by a constraint rather than unique=True, which on PostgreSQL also builds a
    # second index for LIKE 'X%' look-ups that nothing makes: every booking would write it.
    reference = models.CharField(max_length=6)
    # DO_NOTHING: the database refuses to delete a customer that a booking still links
    # (a foreign key constraint), and the purge deletes unused customers in one statement.
    customer = models.ForeignKey(Customer, on_delete=models.DO_NOTHING, related_name="bookings")
    total = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0.00"))
    # The booking's `now` (services.sales), which the hourly seat cap counts back from.
    created_at = models.DateTimeField(default=timezone.now)
    # The anonymous client (address) that made it, for the hourly seat cap; "" for staff.
    client = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["reference"], name="booking_unique_reference")]
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
    # No index: a house has a handful of ticket types, so one would narrow no search (the
    # check that PROTECT makes when a type is deleted reads the table either way), and
    # every sale would write it.
    ticket_type = models.ForeignKey(
        TicketType, on_delete=models.PROTECT, related_name="tickets", default=default_ticket_type, db_index=False
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

    def end(self, now: datetime) -> int:
        """End the holds (released, or spent by their confirm): their seats stop counting at
        once. They read as run out at `now` and at every moment since they were made, so a
        request that read the clock before this one, and waited for the show's lock
        meanwhile (a second release, a confirm), finds them ended too."""
        return self.update(expires_at=Least(Value(now, output_field=models.DateTimeField()), F("created_at")))

    def end_by_start(self, show: Show) -> int:
        """The show's holds (its waiting list's offers too) end by its start, as hold_insert
        makes them: kept after staff move the show earlier."""
        return self.filter(show=show, expires_at__gt=show.starts_at).update(expires_at=show.starts_at)

    def extend_by_start(self, show: Show, *, was: datetime, now: datetime) -> int:
        """end_by_start's twin, once staff move the show later: its live holds that its old
        start (`was`) cut short (hold_insert, end_by_start) get their own length back, from
        when they were made, BOOKING_HOLD_MINUTES (a waiting list's offer:
        BOOKING_WAITLIST_OFFER_MINUTES), never past the new start. A customer paying would
        otherwise lose the seats at a start the show no longer has. One UPDATE."""
        length = Case(
            When(waitlist_entry__isnull=True, then=Value(timedelta(minutes=settings.BOOKING_HOLD_MINUTES))),
            default=Value(timedelta(minutes=settings.BOOKING_WAITLIST_OFFER_MINUTES)),
            output_field=models.DurationField(),
        )
        start = Value(show.starts_at, output_field=models.DateTimeField())
        cut_short = self.filter(show=show, expires_at=was, expires_at__gt=now)
        return cut_short.update(expires_at=Least(F("created_at") + length, start))


class Hold(models.Model):
    """Seats kept off sale while a customer pays. Taken while expires_at > now, which is
    never past the show's start (services.holds.hold_insert, HoldQuerySet.end_by_start): a
    hold of a show that has started can't be confirmed, and has run out, by this one rule."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of its own: the (show, expires_at) index serves look-ups by show.
    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="holds", db_index=False)
    seats = models.JSONField(default=list)  # seat labels, as in Ticket.seat, in the map's order
    # What confirming the hold sells, frozen when the seats were held: one line a seat,
    # {"seat", "ticket_type", "category", "price"} (price as text: "12.50").
    lines = models.JSONField(default=list)
    total = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0.00"))
    expires_at = models.DateTimeField(db_index=True)
    # Who made the hold (user or client address), for the per-client limit.
    client = models.CharField(max_length=100, blank=True)
    # The `now` of the request that made it (services.holds.hold_insert), which expires_at
    # counts from; not the clock at the INSERT, which may be later (a wait for the lock).
    created_at = models.DateTimeField(default=timezone.now)
    # A waiting list's offer is a hold of the entry's party (services/waitlist.py). One to
    # one: the database itself never lets an entry be offered twice.
    waitlist_entry = models.OneToOneField(
        "WaitlistEntry", on_delete=models.CASCADE, null=True, blank=True, related_name="offer"
    )

    objects = HoldQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["show", "expires_at"], name="hold_show_expires"),
            # An Index, not db_index=True: PostgreSQL would build a second one for LIKE.
            models.Index(fields=["client"], name="hold_client"),
        ]

    def __str__(self) -> str:
        return f"Hold of {len(self.seats)} at {self.show}"

    def is_live(self, now: datetime) -> bool:
        return self.expires_at > now


class WaitlistStatus(models.TextChoices):
    WAITING = "waiting"
    OFFERED = "offered"  # its offer (a hold) is live; reads expired once it is not
    BOOKED = "booked"  # the offer was confirmed: WaitlistEntry.booking
    EXPIRED = "expired"  # the offer ran out or was turned down
    LEFT = "left"  # left the list, or removed by staff


# Still in line: what a join by the same phone finds again (API.md: it answers that entry).
IN_LINE = [WaitlistStatus.WAITING, WaitlistStatus.OFFERED]


class WaitlistEntryQuerySet(models.QuerySet):
    def with_status(self, now: datetime) -> "WaitlistEntryQuerySet":
        """Each entry with `current_status`, what it reads at `now`, and `position` (1 is next
        in line; waiting entries only). The one place where an entry's status is derived: an
        offer whose hold is no longer live (it ran out, or was released) reads expired before
        the offer job marks it so, and so does an entry still waiting when its show starts."""
        live_offer = Exists(Hold.objects.live(now).filter(waitlist_entry=OuterRef("pk")))
        ahead = (
            WaitlistEntry.objects.filter(show=OuterRef("show"), status=WaitlistStatus.WAITING)
            .filter(Q(joined_at__lt=OuterRef("joined_at")) | Q(joined_at=OuterRef("joined_at"), pk__lt=OuterRef("pk")))
            .order_by()
            .values("show")
            .annotate(n=Count("*"))
            .values("n")
        )
        # A list closes when its show starts: a party still waiting then waited in vain.
        started = Q(show__starts_at__lte=now)
        return self.annotate(
            current_status=Case(
                When(~live_offer, status=WaitlistStatus.OFFERED, then=Value(WaitlistStatus.EXPIRED)),
                When(started, status=WaitlistStatus.WAITING, then=Value(WaitlistStatus.EXPIRED)),
                default=F("status"),
                output_field=models.CharField(),
            ),
            position=Case(
                When(started, then=None),
                When(status=WaitlistStatus.WAITING, then=Coalesce(Subquery(ahead), 0) + 1),
                default=None,
                output_field=models.IntegerField(),
            ),
        )

    def in_line_order(self) -> "WaitlistEntryQuerySet":
        """In the order people joined."""
        return self.order_by("joined_at", "pk")


class WaitlistEntry(models.Model):
    """A party waiting for seats at a sold-out show. The offer job (services/waitlist.py)
    offers seats that come free as a hold of the party's size, in joining order. The id
    is the entry's capability, like a ticket's."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of its own: the (show, joined_at) index serves look-ups by show.
    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="waitlist", db_index=False)
    name = models.CharField(max_length=100)
    phone_number = PhoneNumberField()
    party_size = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(10)])
    status = models.CharField(max_length=8, choices=WaitlistStatus.choices, default=WaitlistStatus.WAITING)
    # Who joined, as a hold's client: the address its seats waited for count against ("" for
    # staff, who are exempt).
    client = models.CharField(max_length=100, blank=True, default="")
    # The reference of the booking the offer became: a record, not a foreign key, so that
    # cancelling and purging bookings stay the plain DELETEs they are (and the entry still
    # says how its wait ended).
    booking = models.CharField(max_length=6, blank=True)
    joined_at = models.DateTimeField()

    objects = WaitlistEntryQuerySet.as_manager()

    # Set on entries read through WaitlistEntryQuerySet.with_status().
    current_status: str
    position: int | None

    class Meta:
        verbose_name_plural = "waiting list entries"
        constraints = [
            models.CheckConstraint(condition=Q(party_size__gte=1, party_size__lte=10), name="waitlist_party_1_to_10"),
            # One place in line per phone number and show, however many joins arrive at once.
            models.UniqueConstraint(
                fields=["show", "phone_number"], condition=Q(status__in=IN_LINE), name="waitlist_one_place_per_phone"
            ),
        ]
        indexes = [models.Index(fields=["show", "joined_at"], name="waitlist_show_line")]

    def __str__(self) -> str:
        return f"Party of {self.party_size} waiting for {self.show}"
