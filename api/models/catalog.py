"""Shows: what can be booked, and when."""

from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone


def default_capacity() -> int:
    return settings.BOOKING_DEFAULT_CAPACITY


ON_THE_MINUTE = "Shows start on the minute: seconds must be 00."


def validate_on_the_minute(value: time | datetime) -> None:
    """Shows start on the minute: a start time with seconds is refused."""
    if value.second or value.microsecond:
        raise ValidationError(ON_THE_MINUTE, code="seconds")


def expiry_cutoff(now: datetime) -> datetime:
    """Tickets of shows that started at or before this moment have expired (exactly 8 hours counts)."""
    return now - timedelta(hours=settings.BOOKING_EXPIRE_AFTER_HOURS)


class ShowQuerySet(models.QuerySet):
    def expired(self, now: datetime) -> "ShowQuerySet":
        return self.filter(starts_at__lte=expiry_cutoff(now))

    def not_expired(self, now: datetime) -> "ShowQuerySet":
        return self.filter(starts_at__gt=expiry_cutoff(now))


class Show(models.Model):
    title = models.CharField(max_length=200, blank=True)
    starts_at = models.DateTimeField(unique=True, validators=[validate_on_the_minute])
    capacity = models.PositiveIntegerField(default=default_capacity, validators=[MinValueValidator(1)])
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ShowQuerySet.as_manager()

    # Set on shows read through selectors.shows_with_counts().
    tickets_booked: int
    seats_held: int

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
        """How many more seats can be sold now: capacity less tickets and live holds, never
        below 0 (a lowered capacity can leave more tickets than seats)."""
        return max(self.capacity - self.tickets_booked - self.seats_held, 0)

    def has_started(self, now: datetime) -> bool:
        return self.starts_at <= now

    def is_expired(self, now: datetime) -> bool:
        return self.starts_at <= expiry_cutoff(now)
