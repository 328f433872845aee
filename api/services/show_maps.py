"""A show to come keeps to its screen's seat map: every seat booked or held for it is in the
map, no seat outside it is blocked (a block counts against the seats available), and its
capacity is no larger than the map (its sold-out test counts up to it). Kept where a map
changes, for the shows to come (venues.screen_save), and where a started show becomes one
to come again (catalog.show_update), having been left out of the map changes since it
started."""

from collections.abc import Callable
from datetime import datetime

from ..errors import SeatInUse
from ..models import Hold, Screen, SeatBlock, Show, Ticket
from . import audit


def keep_to_map(
    show_ids: list[int], dropped: set[str], *, order: Callable[[str], int], now: datetime, actor: str
) -> None:
    """At these shows (locked), the seats of `dropped`, which the map has no more: none may
    be booked or held (SeatInUse, naming them in `order`), and their blocks go."""
    if not dropped:
        return
    booked = Ticket.objects.filter(show__in=show_ids, seat__in=dropped).values_list("seat", flat=True)
    held = {
        seat
        for seats in Hold.objects.live(now).filter(show__in=show_ids).values_list("seats", flat=True)
        for seat in seats
    }
    in_use = sorted(set(booked) | (held & dropped), key=lambda label: (order(label), label))
    if in_use:
        raise SeatInUse(in_use)
    _unblock_dropped(show_ids, dropped, order=order, now=now, actor=actor)


def _unblock_dropped(
    show_ids: list[int], dropped: set[str], *, order: Callable[[str], int], now: datetime, actor: str
) -> None:
    """Remove the blocks of seats a new map drops at these (locked) shows: a block counts
    against the seats available (selectors.shows_with_counts), and a seat no longer in the
    map can't hide one that is."""
    blocks = SeatBlock.objects.filter(show__in=show_ids, seat__in=dropped)
    by_show: dict[int, list[str]] = {}
    for show_id, seat in blocks.values_list("show_id", "seat"):
        by_show.setdefault(show_id, []).append(seat)
    if not by_show:
        return
    blocks.delete()
    changes = {"reason": "dropped from the seat map"}
    entries = [
        audit.Entry("seats.unblocked", "show", str(show_id), {"unblocked": sorted(seats, key=order), **changes})
        for show_id, seats in sorted(by_show.items())
    ]
    audit.record_many(actor=actor, now=now, entries=entries)


def capacity_in_map(cap: int | None, places: int) -> int:
    """A show's capacity in a map of `places`: every place of it, or the cap staff set
    where the map has room for it."""
    return min(cap or places, places)


def shows_follow_map(screen: Screen, shows: list[Show], *, was: int, now: datetime, actor: str) -> None:
    """Set those (locked) shows' capacity to the screen's new map (capacity_in_map). A
    show's capacity is never above its map (every booked or held seat is in the map,
    keep_to_map checked), so a smaller map brings a cap down, and the cap, kept, takes it
    back up when the map grows again. A show below the old map's places (`was`) without a
    cap recorded (made before caps were, or by hand) is capped where it stands."""
    following, capped = [], []
    for show in shows:
        cap = show.cap if show.cap is not None else (show.capacity if show.capacity < was else None)
        capacity = capacity_in_map(cap, screen.capacity)
        if cap != show.cap:
            show.cap = cap
            capped.append(show)
        if capacity != show.capacity:
            following.append((show, {"capacity": [show.capacity, capacity]}))
            show.capacity = capacity
    Show.objects.bulk_update({*capped, *(show for show, _ in following)}, ["capacity", "cap"])
    entries = [audit.Entry("show.changed", "show", str(show.pk), changes) for show, changes in following]
    events = [audit.Event("show.changed", {**audit.show_data(show), "changes": changes}) for show, changes in following]
    if entries:
        audit.record_many(actor=actor, now=now, entries=entries, events=events)
