"""What can be booked: venues and their screens (each with a seat map), films, and shows
of a film on a screen at a moment; seats blocked at a show."""

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import iso4217
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models, transaction
from django.utils import timezone

from .. import sharedcache
from ..seatmaps import SeatMap, digest, grid, kept, parse_kept
from ..wallclock import wall_clock

ON_THE_MINUTE = "Shows start on the minute: seconds must be 00."


def validate_on_the_minute(value: time | datetime) -> None:
    """Shows start on the minute: a start time with seconds is refused."""
    if value.second or value.microsecond:
        raise ValidationError(ON_THE_MINUTE, code="seconds")


def expiry_cutoff(now: datetime) -> datetime:
    """Tickets of shows that started at or before this moment have expired (exactly 8 hours counts)."""
    return now - timedelta(hours=settings.BOOKING_EXPIRE_AFTER_HOURS)


def default_capacity() -> int:
    """The seats of the default screen (and of a version-1 show): BOOKING_DEFAULT_CAPACITY."""
    return settings.BOOKING_DEFAULT_CAPACITY


def default_seat_map() -> dict:
    """The default screen's map: BOOKING_DEFAULT_CAPACITY seats in rows of BOOKING_SEATS_PER_ROW."""
    per_row = settings.BOOKING_SEATS_PER_ROW
    return grid(-(-default_capacity() // per_row), per_row)


def default_time_zone() -> str:
    return settings.TIME_ZONE


# IANA's names but two that name no place: "localtime" is whatever the host is set to (two
# hosts could read one venue's times differently), "Factory" a zone of no offset for
# machines not yet set up.
NOT_VENUE_ZONES = frozenset({"localtime", "Factory"})


def venue_time_zones() -> list[str]:
    """The time zones a venue may be in, sorted."""
    return sorted(available_timezones() - NOT_VENUE_ZONES)


def default_currency() -> str:
    return settings.BOOKING_CURRENCY


CURRENCIES = frozenset(currency.code for currency in iso4217.Currency)  # ISO 4217's codes


def validate_currency(code: str) -> None:
    if code not in CURRENCIES:
        raise ValidationError("An ISO 4217 currency code, like EUR.", code="invalid")


def default_country() -> str:
    return settings.PHONENUMBER_DEFAULT_REGION


class VenueQuerySet(models.QuerySet):
    TIME_ZONES_KEY = "venue-time-zones"

    def time_zones(self) -> list[str]:
        """The time zones the venues are in: read on every search by date, so kept in the
        shared cache until a venue is saved or deleted (and a minute at most, for processes
        that don't share a cache)."""
        kept = sharedcache.read(self.TIME_ZONES_KEY)
        if isinstance(kept, list):
            return kept
        zones = sorted(set(Venue.objects.values_list("time_zone", flat=True)))
        sharedcache.keep(self.TIME_ZONES_KEY, zones, 60)
        return zones


def _forget_time_zones() -> None:
    """The venues' zones forgotten now, and again once the transaction commits: a search
    that read the venues before the commit kept the old list meanwhile, and a new venue's
    shows were missing from every search by date for up to a minute."""
    sharedcache.forget(VenueQuerySet.TIME_ZONES_KEY)
    transaction.on_commit(lambda: sharedcache.forget(VenueQuerySet.TIME_ZONES_KEY))


class Venue(models.Model):
    name = models.CharField(max_length=200)
    time_zone = models.CharField(max_length=64, default=default_time_zone)  # IANA
    currency = models.CharField(
        max_length=3, default=default_currency, validators=[validate_currency], help_text="ISO 4217, like EUR."
    )
    # ISO 3166 alpha-2: how a phone number without a country code is read at this venue.
    country = models.CharField(max_length=2, default=default_country)

    objects = VenueQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        _forget_time_zones()

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        _forget_time_zones()
        return super().delete(*args, **kwargs)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


class ScreenQuerySet(models.QuerySet):
    def first_of_first_venue(self) -> "ScreenQuerySet":
        """The default venue's screens, the default one first."""
        first_venue = Venue.objects.order_by("pk").values("pk")[:1]
        return self.filter(venue=models.Subquery(first_venue)).order_by("pk")

    def find_default(self) -> "Screen | None":
        """The default venue's first screen, where version-1 clients book; None when staff
        deleted every screen of the first venue. What requests read: a sale or a show made
        never makes a screen (nor brings back one staff deleted)."""
        # One statement, the venue joined: its zone reads every date and time booked.
        return self.first_of_first_venue().select_related("venue").first()

    def default(self) -> "Screen":
        """find_default(), made when missing ("Main theatre" with "Screen 1", as the
        migration makes them): for seeding, a flushed test database and the model's
        default, never for a request."""
        found = self.find_default()
        if found is not None:
            return found
        venue = Venue.objects.order_by("pk").first() or Venue.objects.create(name="Main theatre")
        return Screen.objects.create(venue=venue, name="Screen 1", seat_map=default_seat_map())


def default_screen() -> int:
    """Show.screen's default, for shows made with the ORM alone (a test's, seeding's; the
    services and the admin name a screen): the default screen's id, the fresh
    installation's made when missing. Migrations call it too, with the table as it was
    then: the id alone is read, so that columns added later are not asked for."""
    found = Screen.objects.first_of_first_venue().values_list("pk", flat=True).first()
    return found if found is not None else Screen.objects.default().pk


class Screen(models.Model):
    venue = models.ForeignKey(Venue, on_delete=models.PROTECT, related_name="screens")
    name = models.CharField(max_length=100)
    seat_map = models.JSONField()  # the full document (seatmaps.SeatMap.document())
    # seatmaps.digest(seat_map), written by save(): reads that leave the document unread
    # (.defer("seat_map")) find the parsed map by it. Write seat maps through save() only.
    seat_map_digest = models.CharField(max_length=64, editable=False, default="")
    capacity = models.PositiveIntegerField(editable=False)  # the places in the map

    objects = ScreenQuerySet.as_manager()

    class Meta:
        ordering = ["venue_id", "pk"]

    def __str__(self) -> str:
        return f"{self.venue.name}: {self.name}" if self.venue_id else self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        seats = self.seats
        self.seat_map, self.capacity = seats.document(), seats.capacity
        self.seat_map_digest = digest(self.seat_map)
        super().save(*args, **kwargs)

    @property
    def seats(self) -> SeatMap:
        """The parsed map (validated), kept per process by its digest (seatmaps.parse_kept).

        With the document left unread, the digest read with the row finds it: the 20 kB
        document of a 300-seat map is read (one query) only the first time this process
        meets that map. That later statement may read a map saved since the row was: the
        screen then takes that map's digest and capacity with it, as one refresh would.
        With the document read, or set on this instance and not saved yet, its own digest
        does; that means serialising it, so the answer is kept on this instance for as
        long as its seat_map is the same document."""
        if self.seat_map_digest and "seat_map" in self.get_deferred_fields():
            found = kept(self.seat_map_digest)
            if found is not None:
                return found
            self.seat_map_digest, found = parse_kept(self.seat_map)
            self.capacity, self._seats_memo = found.capacity, (self.seat_map, found)
            return found
        document = self.seat_map
        memo = getattr(self, "_seats_memo", None)
        if memo is None or memo[0] is not document:
            memo = self._seats_memo = (document, parse_kept(document)[1])
        return memo[1]


class Film(models.Model):
    title = models.CharField(max_length=200)
    runtime_minutes = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(1_000)])
    rating = models.CharField(max_length=20, blank=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["title", "pk"]

    def __str__(self) -> str:
        return self.title


class ShowQuerySet(models.QuerySet):
    def expired(self, now: datetime) -> "ShowQuerySet":
        return self.filter(starts_at__lte=expiry_cutoff(now))

    def not_expired(self, now: datetime) -> "ShowQuerySet":
        return self.filter(starts_at__gt=expiry_cutoff(now))


class Show(models.Model):
    """A film (or a titled event) on a screen at a moment.

    A scheduled show runs from starts_at to ends_at (the film's runtime) and keeps its
    screen busy until busy_until (ends_at plus the cleaning time): two shows of one screen
    never overlap (an exclusion constraint on PostgreSQL, made by migration 0005; the
    service checks the same everywhere). An open timing, made by booking a time that no
    show had, occupies no time: ends_at and busy_until equal starts_at.
    """

    screen = models.ForeignKey(Screen, on_delete=models.PROTECT, related_name="shows", default=default_screen)
    film = models.ForeignKey(Film, on_delete=models.PROTECT, related_name="shows", null=True, blank=True)
    title = models.CharField(max_length=200, blank=True)
    starts_at = models.DateTimeField(validators=[validate_on_the_minute])
    ends_at = models.DateTimeField()
    busy_until = models.DateTimeField()
    capacity = models.PositiveIntegerField(default=default_capacity, validators=[MinValueValidator(1)])
    # The cap staff set below the screen's places; null: every place. `capacity` is the cap
    # within the map as it stands: a map made smaller brings it down, and bigger again, back
    # up to the cap (services.venues).
    cap = models.PositiveIntegerField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ShowQuerySet.as_manager()

    # Set on shows read through selectors.shows_with_counts().
    tickets_booked: int
    seats_held: int
    seats_blocked: int  # blocked and neither booked nor held: each seat counts once
    on_sale: bool  # not started at the read's `now`
    expired: bool  # started BOOKING_EXPIRE_AFTER_HOURS or more before the read's `now`

    class Meta:
        ordering = ["starts_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(capacity__gte=1), name="show_capacity_at_least_one"),
            models.UniqueConstraint(fields=["screen", "starts_at"], name="show_unique_screen_start"),
            models.CheckConstraint(
                condition=models.Q(ends_at__gte=models.F("starts_at"), busy_until__gte=models.F("ends_at")),
                name="show_times_in_order",
            ),
        ]
        indexes = [models.Index(fields=["starts_at"], name="show_starts_at")]

    def __str__(self) -> str:
        # Where too, not only when: the admin's choice of a show listed two venues' shows of
        # a film at one local time alike, and staff moved a ticket to the other city.
        if not self.screen_id:
            return f"{self.title or 'Show'} at {self.starts_at:%Y-%m-%d %H:%M}"
        return f"{self.title or 'Show'} at {wall_clock(self.starts_at, self.zone)} · {self.screen}"

    def save(self, *args, **kwargs) -> None:
        # A show saved without its times is an open timing: it occupies no time.
        if self.ends_at is None:
            self.ends_at = self.starts_at
        if self.busy_until is None:
            self.busy_until = self.ends_at
        super().save(*args, **kwargs)

    @property
    def zone(self) -> ZoneInfo:
        return self.screen.venue.zone

    @property
    def local_start(self) -> datetime:
        return timezone.localtime(self.starts_at, self.zone)

    @property
    def seats_available(self) -> int:
        """How many more seats can be sold now: capacity less tickets and live holds, and
        never more than the free, unblocked places; never below 0; none once it started."""
        if not self.on_sale:
            return 0
        sold = self.tickets_booked + self.seats_held
        return max(min(self.capacity - sold, self.screen.capacity - sold - self.seats_blocked), 0)

    def has_started(self, now: datetime) -> bool:
        return self.starts_at <= now

    def is_expired(self, now: datetime) -> bool:
        return self.starts_at <= expiry_cutoff(now)


class SeatBlock(models.Model):
    """A seat of a show kept off sale (broken, a house seat for the box office)."""

    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="blocks")
    seat = models.CharField(max_length=8)
    reason = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["show_id", "seat"]
        constraints = [models.UniqueConstraint(fields=["show", "seat"], name="seatblock_unique_show_seat")]

    def __str__(self) -> str:
        return f"{self.seat} blocked at {self.show}"


class TicketTypeQuerySet(models.QuerySet):
    def default(self) -> "TicketType":
        """The default type; a database without types (a test's flushed one) gets the
        fresh installation's: adult (the default), child and senior."""
        found = TicketType.objects.filter(default=True).first()
        if found is not None:
            return found
        for key, name in (("adult", "Adult"), ("child", "Child"), ("senior", "Senior")):
            TicketType.objects.get_or_create(key=key, defaults={"name": name, "default": key == "adult"})
        return TicketType.objects.get(default=True)


def default_ticket_type() -> int:
    return TicketType.objects.default().pk


class TicketType(models.Model):
    """Adult, child, senior...: what a ticket is sold as. One is the default."""

    # Lowercase: "ADULT" beside "adult" was a second type that read as the same one, and
    # clients send keys as written.
    key = models.SlugField(
        max_length=30,
        unique=True,
        validators=[
            RegexValidator(r"\A[a-z0-9_-]+\Z", "Enter a key of lowercase letters, numbers, underscores or hyphens.")
        ],
    )
    name = models.CharField(max_length=100)
    default = models.BooleanField(default=False)

    objects = TicketTypeQuerySet.as_manager()

    class Meta:
        ordering = ["-default", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["default"], condition=models.Q(default=True), name="one_default_ticket_type"
            )
        ]

    def __str__(self) -> str:
        return self.name


class ShowPrice(models.Model):
    """The amount a ticket type costs in a seat category at a show, in its venue's currency."""

    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="prices")
    ticket_type = models.ForeignKey(TicketType, on_delete=models.PROTECT, related_name="prices")
    category = models.CharField(max_length=30)
    amount = models.DecimalField(max_digits=8, decimal_places=2, validators=[MinValueValidator(0)])

    class Meta:
        ordering = ["show_id", "ticket_type_id", "category"]
        constraints = [
            models.UniqueConstraint(fields=["show", "ticket_type", "category"], name="showprice_unique"),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="showprice_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_type} {self.category}: {self.amount}"
