"""What a date and time name in a venue's zone: the moment (`moment`), and the show
(`show_at`, for a ShowTime), making an open timing where open timings are on and none
does."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..errors import (
    Invalid,
    NoShowAtTime,
    OpenTimingTooFar,
    SeveralShows,
    ShowStarted,
    TimeDoesNotExist,
    TimeOutOfRange,
)
from ..locking import lock_screen
from ..models import Screen, Show, Venue
from . import audit


@dataclass(frozen=True)
class ShowTime:
    """A show named by its date and time, read in its venue's zone, optionally narrowed to
    a screen or a venue (without them: the default venue's shows)."""

    day: date
    at: time
    screen_id: int | None = None
    venue_id: int | None = None


def moment(day: date, at: time, venue: Venue) -> datetime:
    """The moment of a date and time in the venue's zone; TimeOutOfRange when it leaves the
    calendar in UTC, where it is stored (9999-12-31 23:00 west of UTC is in year 10000);
    TimeDoesNotExist in the hour the clocks skip (02:30 on a spring-forward night would be
    stored as 03:30). A time the clocks go through twice is the first of the two."""
    try:
        moment = timezone.make_aware(datetime.combine(day, at), venue.zone)
        in_utc = moment.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise TimeOutOfRange() from exc
    if in_utc.astimezone(venue.zone).time() != at:
        raise TimeDoesNotExist()
    return moment


def moments(day: date, at: time, venue: Venue) -> list[datetime]:
    """The moments a date and time name in the venue's zone (moment): two, the
    first then the second, in the hour the clocks go through twice."""
    first = moment(day, at, venue)
    second = first.replace(fold=1)
    if second.utcoffset() == first.utcoffset():
        return [first]
    # In UTC: two datetimes of one zone compare by their wall clock alone, so a lookup
    # (`starts_at__in`) would keep one of them.
    return [first.astimezone(UTC), second.astimezone(UTC)]


def show_at(*, when: ShowTime, now: datetime, actor: str = "system") -> Show:
    """The one show at this date and time (at either of its moments, where the clocks go
    through it twice). With open timings, a future time without a show on the default
    screen gets one there (an open timing), at the first of its moments, recorded as made
    by `actor` (the request's client: its booking made it) with a show.created event."""
    default = Screen.objects.find_default()
    if when.screen_id is not None:
        screen = Screen.objects.select_related("venue").filter(pk=when.screen_id).first()
        if screen is None:
            raise NoShowAtTime()
        if when.venue_id is not None and screen.venue_id != when.venue_id:  # no show can be both
            raise Invalid(f"Screen {screen.pk} is not in venue {when.venue_id}.", subject="screen")
        venue, shows = screen.venue, Show.objects.filter(screen=screen)
    else:
        if when.venue_id is None:
            named = None if default is None else default.venue
        else:
            named = Venue.objects.filter(pk=when.venue_id).first()
        if named is None:
            raise NoShowAtTime()
        venue = named
        shows = Show.objects.filter(screen__venue=venue)
    # The API lists a show at the second 02:30 of the night the clocks go back as 02:30 too.
    starts = moments(when.day, when.at, venue)
    found = list(shows.filter(starts_at__in=starts)[:2])
    if len(found) > 1:
        raise SeveralShows()
    if found:
        return found[0]
    if (
        default is None
        or when.screen_id not in (None, default.pk)
        or when.venue_id not in (None, default.venue_id)
        or not settings.BOOKING_OPEN_TIMINGS
    ):
        raise NoShowAtTime()  # open timings are the default screen's alone, where they are on
    starts_at = starts[0]
    if starts_at <= now:
        raise ShowStarted()
    if starts_at > now + timedelta(days=settings.BOOKING_OPEN_TIMINGS_DAYS):
        raise OpenTimingTooFar(settings.BOOKING_OPEN_TIMINGS_DAYS)
    # Made under the screen's lock, as show_create makes a show, with the capacity read
    # under it: a map change meanwhile (venues.screen_save locks the screen, then its shows
    # to come) is done first, and this show made on the new map; or it waits, then finds
    # this show among those to come. Made on the old map, the show was not among them, and
    # its sale went on with a seat the new map drops. (In the sale's transaction, where
    # there is one: the lock is held until the sale is in.)
    with transaction.atomic():
        screen = lock_screen(default.pk)
        if screen is None:  # deleted meanwhile
            raise NoShowAtTime()
        # get_or_create copes with another request creating the same open timing meanwhile.
        show, made = Show.objects.get_or_create(
            screen=screen,
            starts_at=starts_at,
            defaults={"ends_at": starts_at, "busy_until": starts_at, "capacity": screen.capacity},
        )
        if made:  # (undone with the sale that made it, if that is refused)
            changes = {"starts_at": audit.utc(starts_at), "capacity": show.capacity, "screen": screen.pk}
            audit.record_show_created(show, {**changes, "open_timing": True}, actor=actor, now=now)
    return show
