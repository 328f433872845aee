"""The catalog: shows (made of what venues.py keeps: venues, screens, films, ticket types)
and their prices. Their blocked seats: blocks.py. The moment and the show a date and time
name: showtimes.py."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from ..errors import (
    CapacityAboveMap,
    CapacityBelowTaken,
    EndsPastCalendar,
    FilmShowTitle,
    InvalidPrices,
    NoDefaultScreen,
    RelatedNotFound,
    ShowHasTickets,
    ShowOverlaps,
    ShowTimeTaken,
    StartPassedWithTickets,
    UnknownTicketType,
)
from ..locking import lock_screen, lock_screens, lock_show, lock_ticket_types, lock_tickets, seats_in_use
from ..models import (
    IN_LINE,
    Film,
    Hold,
    Screen,
    Show,
    ShowPrice,
    Ticket,
    Venue,
    WaitlistEntry,
    WaitlistStatus,
    expiry_cutoff,
)
from ..seatmaps import seat_map_order
from . import audit
from .show_maps import capacity_in_map, keep_to_map
from .showtimes import moment, moments

SHOW_FIELDS = ("title", "starts_at", "capacity", "film_id")  # what a show's audit entry compares


def _show_state(show: Show) -> dict[str, Any]:
    # The start in UTC, as stored: one moment given with another offset is no change.
    state = {f: getattr(show, f) for f in SHOW_FIELDS}
    return {**state, "starts_at": audit.utc(show.starts_at)}


# --- shows ---------------------------------------------------------------------------


# The last moment that every venue's zone can still read (UTC+14 is the furthest ahead): a
# show ending later is answered in its venue's time past the calendar's end.
LAST_MOMENT = datetime.max.replace(tzinfo=UTC) - timedelta(hours=14)


def show_times(*, starts_at: datetime, film: Film | None) -> tuple[datetime, datetime]:
    """A scheduled show's end (the film's runtime) and the end of its screen's cleaning."""
    runtime = film.runtime_minutes if film is not None else settings.BOOKING_DEFAULT_RUNTIME_MINUTES
    try:
        # In UTC: Python adds a timedelta to a zoned datetime on the wall clock, so a film
        # shown across a change of the clocks would end an hour early or late.
        ends_at = starts_at.astimezone(UTC) + timedelta(minutes=runtime)
        busy_until = ends_at + timedelta(minutes=settings.BOOKING_CLEANING_MINUTES)
    except OverflowError as exc:
        raise EndsPastCalendar() from exc
    if busy_until > LAST_MOMENT:
        raise EndsPastCalendar()
    return ends_at, busy_until


def check_no_overlap(show: Show) -> None:
    """Two shows of one screen never overlap (the exclusion constraint's rule, checked on
    every database; an open timing occupies no time)."""
    if show.busy_until == show.starts_at:
        return
    clash = (
        Show.objects.filter(screen=show.screen, starts_at__lt=show.busy_until, busy_until__gt=show.starts_at)
        .exclude(pk=show.pk)
        .exclude(busy_until=F("starts_at"))
        .order_by("starts_at")
        .first()
    )
    if clash is not None:
        raise ShowOverlaps(clash)


def _film(film_id: int) -> Film:
    """The film a show is given, its row locked against a change of it (venues.plain_save)
    until this transaction ends (call in one): a renamed film's new title reaches this show
    too."""
    film = Film.objects.select_for_update(no_key=True).filter(pk=film_id).first()
    if film is None:  # deleted since the request was read
        raise RelatedNotFound("film", film_id)
    return film


def _save_show(show: Show) -> Show:
    check_no_overlap(show)
    try:
        with transaction.atomic():
            show.save()
    except IntegrityError as exc:
        # UNIQUE (screen, starts_at), or the exclusion constraint when two staff saved
        # overlapping shows at once.
        clash = Show.objects.filter(screen=show.screen, starts_at=show.starts_at).exclude(pk=show.pk).first()
        if clash is not None:
            raise ShowTimeTaken() from exc
        raise ShowOverlaps(None) from exc
    return show


Prices = list[tuple[str, str, Decimal]]  # (ticket type key, seat category, amount)


def _set_prices(show: Show, prices: Prices) -> bool:
    """Replace the show's prices; False when they are the ones it has (in any order, 8 as
    8.00), which are left as they are: a save that changes nothing records nothing, nor
    tells the theatre's systems of a change. A hold made before keeps its own (they are
    frozen in it). Their types locked: the prices' links are checked at COMMIT, and a type
    deleted meanwhile made that COMMIT fail (a 500); now the delete waits and finds them in
    use."""
    types = lock_ticket_types(key for key, _, _ in prices)
    seen = set()
    for key, category, _ in prices:
        if key not in types:
            raise UnknownTicketType(key, subject="prices")
        if category not in settings.BOOKING_SEAT_CATEGORIES:
            raise InvalidPrices(f"No seat category is called {category!r}.")
        if (key, category) in seen:
            raise InvalidPrices(f"The price of {key} tickets in {category} seats is given twice.")
        seen.add((key, category))
    had = ShowPrice.objects.filter(show=show).values_list("ticket_type__key", "category", "amount")
    if sorted(had) == sorted(prices):
        return False
    ShowPrice.objects.filter(show=show).delete()
    ShowPrice.objects.bulk_create(
        ShowPrice(show=show, ticket_type=types[key], category=category, amount=amount)
        for key, category, amount in prices
    )
    return True


def _check_title(film: Film | None, title: str | None) -> None:
    """A show of a film has the film's title: another one given is refused, not passed over
    (its own, or none, is fine)."""
    if film is not None and title not in (None, "", film.title):
        raise FilmShowTitle(film.title)


def show_create(
    *,
    starts_at: datetime,
    screen_id: int | None = None,
    film_id: int | None = None,
    title: str = "",
    capacity: int | None = None,
    prices: Prices | None = None,
    local: tuple[date, time] | None = None,
    actor: str = "system",
    now: datetime,
) -> Show:
    """A show on the screen (the default one if none). `local`: the date and time it was
    asked for, which make starts_at in the venue's zone as it stands under the screen's
    lock (a zone changed since the request was read is the one the show is made in)."""
    with transaction.atomic():
        # The screen and the film locked against a change of them until the show is in
        # (venues.screen_save moving the screen, venues.plain_save renaming the film): it
        # is made with what they are once that change is done.
        if screen_id is None:
            default = Screen.objects.find_default()
            if default is None:  # staff deleted the default venue's screens: a request makes none
                raise NoDefaultScreen()
            screen_id = default.pk
        screen = lock_screen(screen_id)
        if screen is None:  # deleted since the request was read
            raise RelatedNotFound("screen", screen_id)
        film = None if film_id is None else _film(film_id)
        _check_title(film, title)
        if local is not None:
            starts_at = moment(*local, Venue.objects.get(pk=screen.venue_id))
        if capacity is not None and capacity > screen.capacity:
            raise CapacityAboveMap(screen.capacity)
        ends_at, busy_until = show_times(starts_at=starts_at, film=film)
        show = Show(
            screen=screen,
            film=film,
            title=film.title if film is not None else title,
            starts_at=starts_at,
            ends_at=ends_at,
            busy_until=busy_until,
            capacity=capacity or screen.capacity,
            cap=capacity if capacity is not None and capacity < screen.capacity else None,
        )
        _save_show(show)
        if prices:
            _set_prices(show, prices)
        changes = {**_show_state(show), "screen": screen.pk, **({"prices": "set"} if prices else {})}
        audit.record_show_created(show, changes, actor=actor, now=now)
    return show


def _to_come_again(show: Show, *, now: datetime, actor: str) -> None:
    """A started show moved to the future is a show to come again: it keeps to its screen's
    map as they do (show_maps), though the map's changes since it started left it out: a
    seat it uses that the map dropped refuses the move (SeatInUse), and its capacity follows
    the map. Call under the screen's lock, then the show's (show_update): a map change
    meanwhile is done, and read below, or waits for this change and then finds the show
    among those to come."""
    used = seats_in_use(show.pk, now=now, screen=show.screen)  # with the map as now committed
    seat_map = show.screen.seats
    dropped = {seat for seat in used.booked | used.held | used.blocked if seat_map.seat(seat) is None}
    keep_to_map([show.pk], dropped, order=seat_map_order(seat_map), now=now, actor=actor)
    show.capacity = capacity_in_map(show.cap, show.screen.capacity)


def show_update(
    *,
    show_id: int,
    now: datetime,
    title: str | None = None,
    starts_at: datetime | None = None,
    capacity: int | None = None,
    film_id: int | None = None,
    prices: Prices | None = None,
    local: tuple[date | None, time | None] | None = None,
    every_place: bool = False,
    actor: str = "system",
) -> Show:
    """Change a show; its capacity under its lock, so that no booking slips in between the
    count and the save. `local`: a new date and time in the venue's zone, or one of them
    alone (a PATCH's), the other the show's own as it stands under its lock. `every_place`:
    the capacity is every place of the screen's map as it stands under the lock (the
    admin's blank; the size the caller read, unlocked, was a cap once a colleague's larger
    map was saved meanwhile)."""
    with transaction.atomic():
        if starts_at is not None or local is not None:
            # A move may bring a started show back (_to_come_again): its screen's lock first,
            # then the show's (locking.py's order; a show never changes screen).
            lock_screens(Screen.objects.filter(pk__in=Show.objects.filter(pk=show_id).values("screen_id")).only("pk"))
        show = lock_show(show_id)
        if local is not None:
            own = show.local_start
            named = moments(local[0] or own.date(), local[1] or own.time(), show.screen.venue)
            # The show's own moment where the date and time name it (one of two the night the
            # clocks go back): its 02:30 sent back as it reads stays at the second 02:30.
            starts_at = show.starts_at if show.starts_at in named else named[0]
        before, before_start = _show_state(show), show.starts_at
        was_open_timing, was_started = show.busy_until == show.starts_at, show.has_started(now)
        if film_id is not None and film_id != show.film_id:
            show.film = _film(film_id)
            show.title = show.film.title
        if show.film is not None:
            _check_title(show.film, title)
        elif title is not None:
            show.title = title
        if starts_at is not None and starts_at != show.starts_at:
            # A mistyped day would mark its tickets expired at once, for the purge to take.
            if starts_at <= now and Ticket.objects.filter(show=show).exists():
                raise StartPassedWithTickets()
            show.starts_at = starts_at
        if was_open_timing and show.film_id is None:
            show.ends_at = show.busy_until = show.starts_at  # still an open timing
        else:
            show.ends_at, show.busy_until = show_times(starts_at=show.starts_at, film=show.film)
        if was_started and not show.has_started(now):
            _to_come_again(show, now=now, actor=actor)
        if every_place:
            capacity = show.screen.capacity
        if capacity is not None:
            # The seats in use, and the screen's map as now committed (a map change that
            # this lock waited for may have made it smaller: locking.seats_in_use).
            taken = len(seats_in_use(show.pk, now=now, screen=show.screen).taken)
            if capacity > show.screen.capacity:
                raise CapacityAboveMap(show.screen.capacity)
            if capacity < taken:
                raise CapacityBelowTaken(taken)
            # Below the map, a cap it keeps through map changes; every place, none.
            show.cap = capacity if capacity < show.screen.capacity else None
            show.capacity = capacity
        prices_changed = prices is not None and _set_prices(show, prices)
        _save_show(show)
        if show.starts_at < before_start:
            Hold.objects.end_by_start(show)  # a hold never lasts past its show's start
        elif show.starts_at > before_start:
            Hold.objects.extend_by_start(show, was=before_start, now=now)  # nor ends by an old one
        tickets_changed: list[audit.Entry] = []
        if show.starts_at != before_start:
            # Its tickets' expired flag (the expire job's or staff's) follows the new time at
            # once: moved to the future, an expired ticket is valid again, not purged as spent.
            # Each is recorded, read under its lock (a cancel locks a ticket, not its show).
            expired = show.starts_at <= expiry_cutoff(now)
            flipped = lock_tickets(Ticket.objects.filter(show=show).exclude(expired=expired))
            Ticket.objects.filter(pk__in=flipped).update(expired=expired)
            changed = {"expired": [not expired, expired]}
            tickets_changed = [audit.Entry("ticket.changed", "ticket", str(pk), changed) for pk in flipped]
        after = _show_state(show)
        changes: dict[str, Any] = audit.what_changed(before, after)
        if prices_changed:
            changes["prices"] = "changed"
        if not changes:  # saved as it was (the admin's page saving its prices alone)
            return show
        audit.record_many(
            actor=actor,
            now=now,
            entries=[audit.Entry("show.changed", "show", str(show.pk), changes), *tickets_changed],
            events=[audit.Event("show.changed", {**audit.show_data(show), "changes": changes})],
        )
        return show


def _ended_with_show(show: Show, now: datetime) -> list[audit.Entry]:
    """The entries of what a show's delete ends with it: each live hold (an offer too)
    released, each waiting-list entry in line left, as if let go one by one. Their
    histories end with their removal, not in mid-air. A hold or entry already ended (its
    release, confirm or run-out, or its booking, leaving or expiry, recorded or read as
    such) changes nothing by going, as when the purge takes it. One read of each's ids,
    however many: the CASCADE deletes the rows."""
    holds = Hold.objects.live(now).filter(show=show).values_list("pk", flat=True)
    in_line = WaitlistEntry.objects.filter(show=show).with_status(now).filter(current_status__in=IN_LINE)
    reason = {"reason": "show cancelled"}
    return [audit.Entry("hold.released", "hold", str(pk), reason) for pk in holds] + [
        audit.Entry("waitlist.left", "waitlist", str(pk), {"status": [status, WaitlistStatus.LEFT], **reason})
        for pk, status in in_line.values_list("pk", "current_status")
    ]


def show_delete(*, show_id: int, actor: str = "system", now: datetime) -> None:
    """Delete a show that sold no ticket, with its holds and waiting list (CASCADE), each
    live one recorded as ended by it in the same transaction."""
    with transaction.atomic():
        show = lock_show(show_id)  # holds and the waiting list change under it: the ids stay
        if show.tickets.exists():
            raise ShowHasTickets()
        # Its waiting list's entries locked (in id order) before the CASCADE, which deletes
        # their offers' holds first, then them: the purge of expired shows' lists locks the
        # entries, then deletes their holds, and the two deadlocked over an offer and its
        # entry (a show called off, deleted the day after).
        list(WaitlistEntry.objects.filter(show=show).order_by("pk").select_for_update().values_list("pk", flat=True))
        data = audit.show_data(show)
        ended = _ended_with_show(show, now)
        show.delete()
        audit.record_many(
            actor=actor,
            now=now,
            entries=[audit.Entry("show.cancelled", "show", str(show_id)), *ended],
            events=[audit.Event("show.cancelled", data)],
        )
