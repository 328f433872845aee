"""Shows: schedule, change, cancel; the show a booking names by its time."""

from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction

from ..errors import CapacityBelowTaken, NoShowAtTime, ShowHasTickets, ShowStarted, ShowTimeTaken
from ..locking import lock_show, taken_seats
from ..models import Show


def show_at(*, starts_at: datetime, now: datetime) -> Show:
    """The show at this moment. With open timings, a future time without a show gets one."""
    show = Show.objects.filter(starts_at=starts_at).first()
    if show is not None:
        return show
    if not settings.BOOKING_OPEN_TIMINGS:
        raise NoShowAtTime()
    if starts_at <= now:
        raise ShowStarted()
    # get_or_create copes with another request creating the same show meanwhile.
    show, _ = Show.objects.get_or_create(starts_at=starts_at)
    return show


def show_create(*, title: str = "", starts_at: datetime, capacity: int | None = None) -> Show:
    try:
        with transaction.atomic():
            return Show.objects.create(
                title=title, starts_at=starts_at, capacity=capacity or settings.BOOKING_DEFAULT_CAPACITY
            )
    except IntegrityError as exc:  # UNIQUE (starts_at)
        raise ShowTimeTaken() from exc


def show_update(
    *,
    show_id: int,
    now: datetime,
    title: str | None = None,
    starts_at: datetime | None = None,
    capacity: int | None = None,
) -> Show:
    try:
        with transaction.atomic():
            show = lock_show(show_id)
            if capacity is not None:
                # Under the show lock, so that no booking slips in between count and save.
                taken = len(taken_seats(show.pk, now=now))
                if capacity < taken:
                    raise CapacityBelowTaken(taken)
                show.capacity = capacity
            if title is not None:
                show.title = title
            if starts_at is not None:
                show.starts_at = starts_at
            show.save()
            return show
    except IntegrityError as exc:  # UNIQUE (starts_at)
        raise ShowTimeTaken() from exc


def show_delete(*, show_id: int) -> None:
    with transaction.atomic():
        show = lock_show(show_id)
        if show.tickets.exists():
            raise ShowHasTickets()
        show.delete()
