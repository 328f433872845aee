"""What shows are made of: venues, screens and their seat maps, films, ticket types. Saved
and deleted by staff; a change that would strand a sold seat or a show is refused."""

from collections.abc import Collection
from datetime import datetime
from typing import Any, TypeVar

from django.db import IntegrityError, transaction
from django.db.models import Case, Q, When

from ..errors import (
    DefaultTicketTypeNeeded,
    DeletedMeanwhile,
    FilmRuntimeOverlaps,
    InUse,
    Invalid,
    RelatedNotFound,
    SeatMapChangedMeanwhile,
    ShowOverlaps,
    TicketTypeKeyTaken,
)
from ..locking import lock_screen, lock_screens, lock_shows, lock_tickets
from ..models import Film, Hold, Screen, Show, Ticket, TicketType, Venue
from ..seatmaps import SeatMap, digest, seat_map_order
from . import audit, catalog
from .show_maps import keep_to_map, shows_follow_map


def screen_save(
    *,
    screen: Screen,
    seat_map: SeatMap | None,
    now: datetime,
    actor: str = "system",
    given: Collection[str] = ("venue", "name"),
    seat_map_over: str | None = None,
) -> Screen:
    """Save a screen: of a change, the fields in `given` ("venue", "name") as set on
    `screen`, the others as committed (a colleague's rename since it was read is kept).
    `seat_map_over`: the digest (seatmaps.digest) of the map that `seat_map` was typed over;
    a committed map other than it is SeatMapChangedMeanwhile (the admin compared it
    unlocked, and a map a colleague saved before this lock was replaced unseen). One
    that has shows stays in its venue (InUse). A new seat map applies to every show of the
    screen at once, and may not drop a seat booked or held for a show
    that has not started (show_maps.keep_to_map: SeatInUse). The coming shows' capacities
    follow the new map (show_maps.shows_follow_map, a show.changed each); every show's
    tickets take their seats' places in it (_tickets_follow_map)."""
    locked: dict[int, Show] = {}
    with transaction.atomic():
        # The venue's row before the screen's (as plain_save and in_use_delete lock a venue,
        # then its screens): a venue deleted meanwhile is a 400, not a foreign key failing
        # at COMMIT, and one being deleted deletes this screen too or is deleted after it.
        venue = Venue.objects.select_for_update(no_key=True).filter(pk=screen.venue_id)
        if not list(venue.values_list("pk", flat=True)):
            raise RelatedNotFound("venue", screen.venue_id)
        # Then the screen's row as committed, locked as show_create locks it: a show made
        # meanwhile is in before the checks below, or is made after this change, on the
        # screen as it now is; a change of the map made meanwhile is what this one is
        # compared with.
        committed = None
        if screen.pk is not None:
            committed = lock_screen(screen.pk)
            if committed is None:
                raise DeletedMeanwhile("Screen")
            if seat_map is not None and seat_map_over is not None and digest(committed.seat_map) != seat_map_over:
                raise SeatMapChangedMeanwhile()
            # (A venue kept as committed is not the one locked above: one being deleted
            # locks this screen before deleting it, and so waits for this change.)
            if "venue" not in given:
                screen.venue_id = committed.venue_id
            if "name" not in given:
                screen.name = committed.name
        if committed is not None:
            # A show's zone and currency are its venue's: its tickets, sold in one, would
            # read in another.
            if committed.venue_id != screen.venue_id and Show.objects.filter(screen=screen).exists():
                raise InUse("Shows use this screen: it can't move to another venue.")
            if seat_map is None:  # this instance's map may be older than the committed one
                screen.seat_map = committed.seat_map
        changes: dict[str, Any] = {"venue": screen.venue_id, "name": screen.name}
        if committed is not None:  # a change records what it changes, [old, new]
            changes = audit.what_changed({"venue": committed.venue_id, "name": committed.name}, changes)
        if seat_map is not None:
            if committed is not None and seat_map != committed.seats:  # a map saved unchanged locks nothing
                changes["seat_map"] = "changed"
                coming = Show.objects.filter(screen=screen, starts_at__gt=now)
                # The coming shows' locks (a sale takes its show's): a sale of one of them is
                # done and seen by the check below, or waits, then reads the new map
                # (locking.seats_in_use).
                locked = lock_shows(coming.values_list("pk", flat=True))
                dropped = set(committed.seats.labels()) - set(seat_map.labels())
                keep_to_map(list(locked), dropped, order=seat_map_order(committed.seats), now=now, actor=actor)
            screen.seat_map = seat_map.document()
            if screen.pk is None:
                changes["seat_map"] = "changed"
        if committed is not None and not changes:  # saved as it was
            return screen
        action = "screen.changed" if screen.pk is not None else "screen.created"
        screen.save()
        audit.record(actor=actor, action=action, obj_type="screen", obj_id=str(screen.pk), changes=changes, now=now)
        if committed is not None:
            shows_follow_map(screen, list(locked.values()), was=committed.capacity, now=now, actor=actor)
            if "seat_map" in changes:
                _tickets_follow_map(screen, was=committed.seats)
        return screen


# Seats per UPDATE of _tickets_follow_map: three parameters each, under the 999 of an old SQLite.
SEATS_PER_UPDATE = 300


def _tickets_follow_map(screen: Screen, *, was: SeatMap) -> None:
    """Give the tickets of the screen's shows the place of their seat in the new map: lists
    order them by it (Ticket.seat_order, written at the sale), and a seat map that turns a
    row round or moves rows would otherwise leave them in the old map's order. Every show's,
    a started one's too: the door reads the list of the show running now, and staff that of
    yesterday's until the purge. Those shows sell no more (seating.check_not_started), and
    the coming ones are locked: no ticket is sold meanwhile at the old place. One UPDATE for
    the seats whose place changed (SEATS_PER_UPDATE a statement), not one per ticket."""
    seat_map = screen.seats
    if seat_map.labels() == was.labels():  # new categories, kinds or aisles: the order stands
        return
    old, new = seat_map_order(was), seat_map_order(seat_map)
    # A seat the map drops (kept by a started show's ticket) goes last, as seat_map_order puts it.
    labels = [*seat_map.order, *(label for label in was.order if label not in seat_map.order)]
    moved = [label for label in labels if old(label) != new(label)]
    tickets = Ticket.objects.filter(show__screen=screen)
    # Locked first, in id order (bounded: ShowBusy past BOOKING_LOCK_TIMEOUT_SECONDS), as
    # every write of several tickets takes them: the UPDATEs below take them in their scan
    # order, and a cancel of a booking of two of them (its booking's lock, then its tickets
    # by id, never their show) held the first by id while an UPDATE held the second and
    # waited for the first: a deadlock, one of the two failed (a 500). Every ticket of the
    # screen, not those of the seats moved: one statement, whatever the seats (SQLite's
    # limit on parameters).
    lock_tickets(tickets)
    for start in range(0, len(moved), SEATS_PER_UPDATE):
        batch = moved[start : start + SEATS_PER_UPDATE]
        tickets.filter(seat__in=batch).update(seat_order=Case(*(When(seat=label, then=new(label)) for label in batch)))


# The fields of a venue or film that what uses it reads: a film's shows follow its title
# and runtime; a venue's sold tickets are read in its zone and currency.
FOLLOWED = {Film: ("title", "runtime_minutes"), Venue: ("time_zone", "currency")}


VenueOrFilm = TypeVar("VenueOrFilm", bound=Venue | Film)


def plain_save(instance: VenueOrFilm, *, fields: dict[str, Any], actor: str = "system", now: datetime) -> VenueOrFilm:
    """Save a venue or a film with `fields` set on it; its entry ("venue.created",
    "film.changed"...) lists the fields given (of a change, those it changes, [old, new]),
    as text. A change keeps the fields not given as committed. A film's shows follow a new
    title or runtime; a venue with shows keeps its time zone and currency (InUse)."""
    with transaction.atomic():
        done = "changed" if instance.pk is not None else "created"
        # As committed (the admin's form has already set its values on the instance).
        # Locked: a change being made meanwhile is committed first, and compared with.
        rows = type(instance).objects.select_for_update(no_key=True).filter(pk=instance.pk)
        names = [f.attname for f in instance._meta.concrete_fields if not f.primary_key]
        committed = rows.values(*names).first() if done == "changed" else None
        if done == "changed" and committed is None:
            raise DeletedMeanwhile(type(instance).__name__)
        before = None
        if committed is not None:
            before = {name: committed[name] for name in fields}
            # The fields not given as committed: a colleague's change of them since this
            # instance was read (or a page showed it) is kept, not written back.
            for name in names:
                if name not in fields:
                    setattr(instance, name, committed[name])
        for name, value in fields.items():
            setattr(instance, name, value)
        if before is not None:
            # A change records the fields it changes; saved as it was, it records nothing.
            fields = {name: value for name, value in fields.items() if before[name] != getattr(instance, name)}
            if not fields:
                return instance
        # As text: made, the values given; changed, [old, new] of those it changes.
        made = {name: str(value) for name, value in fields.items()}
        changes = made if before is None else audit.what_changed({k: str(before[k]) for k in fields}, made)
        changed = [name for name in FOLLOWED[type(instance)] if before is not None and name in fields]
        if changed and isinstance(instance, Venue):
            _lock_against_new_shows(instance)
            if Show.objects.filter(screen__venue=instance).exists():
                raise InUse("Shows are sold in this venue's time zone and currency: they can't change.")
        instance.save()
        kind = str(instance._meta.model_name)
        audit.record(
            actor=actor,
            action=f"{kind}.{done}",
            obj_type=kind,
            obj_id=str(instance.pk),
            changes=changes,
            now=now,
        )
        if changed and isinstance(instance, Film):
            _shows_follow_film(instance, now=now, actor=actor)
        return instance


def _shows_follow_film(film: Film, *, now: datetime, actor: str) -> None:
    """A show's title is its film's, and its end the film's runtime after its start: a
    renamed film renames every show of it, a new runtime moves the end of those to come
    (a show.changed each), and is refused (Invalid) when one would then overlap another
    show of its screen."""
    # Locked as show_update locks a show, so that a change of one of them meanwhile is
    # done before, or waits and reads the new title and times.
    ids = Show.objects.filter(film=film).filter(Q(starts_at__gt=now) | ~Q(title=film.title)).values_list("pk")
    shows = lock_shows(pk for (pk,) in ids)
    changed: list[tuple[Show, dict[str, Any]]] = []
    for show in shows.values():
        if show.film_id != film.pk:
            continue  # given another film meanwhile (the lock read it again)
        changes: dict[str, Any] = {}
        if show.title != film.title:
            changes["title"] = [show.title, film.title]
            show.title = film.title
        if show.starts_at > now:
            ends_at, show.busy_until = catalog.show_times(starts_at=show.starts_at, film=film)
            if ends_at != show.ends_at:
                changes["ends_at"] = [audit.utc(show.ends_at), audit.utc(ends_at)]  # as show_update's starts_at
                show.ends_at = ends_at
        if changes:
            changed.append((show, changes))
    if not changed:
        return
    for show, _ in changed:
        # One at a time, the exclusion constraint (PostgreSQL) checking each in turn.
        try:
            with transaction.atomic():
                Show.objects.filter(pk=show.pk).update(
                    title=show.title, ends_at=show.ends_at, busy_until=show.busy_until
                )
        except IntegrityError as exc:
            raise FilmRuntimeOverlaps(show, ShowOverlaps(None)) from exc
    for show, _ in changed:
        try:
            catalog.check_no_overlap(show)
        except ShowOverlaps as exc:
            raise FilmRuntimeOverlaps(show, exc) from exc
    entries = [audit.Entry("show.changed", "show", str(show.pk), changes) for show, changes in changed]
    events = [audit.Event("show.changed", {**audit.show_data(show), "changes": changes}) for show, changes in changed]
    audit.record_many(actor=actor, now=now, entries=entries, events=events)


def _lock_against_new_shows(instance: Venue | Screen | Film) -> None:
    """Lock what a show made of this venue, screen or film locks (catalog.show_create: its
    screen and its film; show_update: a new film), so that the check for shows that follows
    in this transaction sees a show being made meanwhile, or that show waits for this change
    and is made with it done (or fails: its screen or film is gone)."""
    if isinstance(instance, Film):
        list(Film.objects.select_for_update(no_key=True).filter(pk=instance.pk).values_list("pk", flat=True))
        return
    if isinstance(instance, Venue):
        # The venue's row first, as plain_save locks it, then its screens.
        list(Venue.objects.select_for_update(no_key=True).filter(pk=instance.pk).values_list("pk", flat=True))
        screens = Screen.objects.filter(venue=instance)
    else:
        screens = Screen.objects.filter(pk=instance.pk)
    lock_screens(screens.only("pk"))


def in_use_delete(instance: Venue | Screen | Film, *, actor: str = "system", now: datetime) -> None:
    """Delete a venue, screen or film that no show uses (InUse otherwise)."""
    if isinstance(instance, Venue):
        shows = Show.objects.filter(screen__venue=instance)
    elif isinstance(instance, Screen):
        shows = Show.objects.filter(screen=instance)
    else:
        shows = Show.objects.filter(film=instance)
    with transaction.atomic():
        _lock_against_new_shows(instance)
        if shows.exists():
            raise InUse()
        entries = []
        if isinstance(instance, Venue):  # its screens go with it, each recorded as a screen deleted alone is
            screens = instance.screens.all()
            entries = [
                audit.Entry("screen.deleted", "screen", str(pk), {}) for pk in screens.values_list("pk", flat=True)
            ]
            screens.delete()
        kind, pk = str(instance._meta.model_name), str(instance.pk)
        instance.delete()
        entries.append(audit.Entry(f"{kind}.deleted", kind, pk, {}))
        audit.record_many(actor=actor, now=now, entries=entries)


def ticket_type_save(
    ticket_type: TicketType,
    *,
    actor: str = "system",
    now: datetime,
    given: Collection[str] = ("name", "default"),
) -> TicketType:
    """Save a ticket type: of a change, the fields in `given` ("name", "default") as set on
    `ticket_type`, the others as committed (a PATCH of its name, read before a colleague
    made another type the default, wrote its old "default" back and took the default from
    that type). A new default takes the place of the old one. The default can't stop being
    it but by another taking its place: sales without types need one."""
    with transaction.atomic():
        # Locked (every type's row when this one is to be the default, or may be as
        # committed, as below, in one order), so that a change committed meanwhile is the
        # one compared with.
        types = TicketType.objects.select_for_update(no_key=True).order_by("pk")
        every = ticket_type.default or "default" not in given
        list((types if every else types.filter(pk=ticket_type.pk)).values_list("pk", flat=True))
        before = TicketType.objects.filter(pk=ticket_type.pk).first() if ticket_type.pk is not None else None
        if ticket_type.pk is not None and before is None:
            raise DeletedMeanwhile("TicketType")
        if before is not None:
            for name in {"name", "default"} - set(given):
                setattr(ticket_type, name, getattr(before, name))
        if before is not None and before.key != ticket_type.key:
            # Holds freeze their lines by key, and clients send keys: a key stays once made.
            raise Invalid("A ticket type's key can't change; add a new type instead.", subject="key")
        if before is not None and before.default and not ticket_type.default:
            raise DefaultTicketTypeNeeded()
        changes: dict[str, Any] = {"key": ticket_type.key, "name": ticket_type.name, "default": ticket_type.default}
        if before is not None:  # a change records what it changes, [old, new]; saved as it was, nothing
            changes = audit.what_changed({name: getattr(before, name) for name in changes}, changes)
            if not changes:
                return ticket_type
        if ticket_type.default:
            # Every type's row was locked above: a new default saved meanwhile by another
            # request is then committed, and the UPDATE below (a statement, so a snapshot,
            # taken after the lock) sees it and makes it plain, not the unique index. NO KEY
            # UPDATE, which the foreign-key checks of sales committing meanwhile (FOR KEY
            # SHARE of their types) don't wait for, nor this for them.
            old_defaults = TicketType.objects.filter(default=True).exclude(pk=ticket_type.pk)
            was_default = list(old_defaults.values_list("key", flat=True))
            old_defaults.update(default=False)
        else:
            was_default = []
        action = "ticket_type.changed" if ticket_type.pk is not None else "ticket_type.created"
        try:
            # In a savepoint: a new type's key was checked free before this transaction (the
            # serializer, the admin's form), and nothing locks a key not made yet. A colleague
            # adding the same key meanwhile commits first: this INSERT waits for theirs, then
            # breaks the unique index.
            with transaction.atomic():
                ticket_type.save()
        except IntegrityError:
            if ticket_type.pk is None and TicketType.objects.filter(key=ticket_type.key).exists():
                raise TicketTypeKeyTaken() from None
            raise
        # The type that stopped being the default changed too: its entry says so.
        entries = [
            audit.Entry("ticket_type.changed", "ticket_type", key, {"default": [True, False]}) for key in was_default
        ]
        entries.append(audit.Entry(action, "ticket_type", ticket_type.key, changes))
        audit.record_many(actor=actor, now=now, entries=entries)
        return ticket_type


def ticket_type_delete(ticket_type: TicketType, *, actor: str = "system", now: datetime) -> None:
    """Delete a ticket type that no ticket, price or live hold uses (InUse otherwise), nor
    the default."""
    with transaction.atomic():
        # As committed, under its lock (ticket_type_save locks the rows it changes): a type
        # made the default meanwhile is the default here.
        committed = TicketType.objects.select_for_update().filter(pk=ticket_type.pk).first()
        if committed is None:
            return  # deleted meanwhile: nothing left to do
        ticket_type = committed
        if ticket_type.default:
            raise InUse("The default ticket type can't be deleted: make another one the default first.")
        if ticket_type.tickets.exists() or ticket_type.prices.exists():
            raise InUse("Tickets or show prices use this ticket type: it can't be deleted.")
        # A hold froze its lines, types by key, and its confirm sells them (API.md): no
        # foreign key guards them. Read in Python: SQLite can't search JSON for a value,
        # and a type is deleted far more rarely than seats are held.
        held = Hold.objects.live(now).values_list("lines", flat=True)
        if any(line["ticket_type"] == ticket_type.key for lines in held.iterator() for line in lines):
            raise InUse("Live holds use this ticket type: it can be deleted once they are confirmed or run out.")
        key = ticket_type.key
        ticket_type.delete()
        audit.record(
            actor=actor,
            action="ticket_type.deleted",
            obj_type="ticket_type",
            obj_id=key,
            changes={},
            now=now,
        )
