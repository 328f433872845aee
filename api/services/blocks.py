"""A show's blocked seats (broken, house seats kept for the box office): kept off sale,
under the show's lock, as a sale takes seats."""

from datetime import datetime

from django.db import transaction

from ..errors import BlockChangedMeanwhile, NoSuchSeat, SeatTaken
from ..locking import lock_show, seats_in_use
from ..models import SeatBlock, Show
from . import audit


def seats_block(
    *, show_id: int, seats: list[str], reason: str, now: datetime, actor: str = "system"
) -> list[SeatBlock]:
    """Keep seats of a show off sale (broken, house seats). A booked or held seat can't be blocked."""
    with transaction.atomic():
        show = lock_show(show_id)
        used = seats_in_use(show.pk, now=now, screen=show.screen)  # with the map as now committed
        seat_map = show.screen.seats
        for label in seats:
            if seat_map.seat(label) is None:
                raise NoSuchSeat(label)
        clash = [label for label in seats if label in used.taken]
        if clash:
            raise SeatTaken.seats(clash)
        new = [SeatBlock(show=show, seat=label, reason=reason) for label in seats if label not in used.blocked]
        if new:  # seats blocked already stay as they were, and a change of nothing records nothing
            SeatBlock.objects.bulk_create(new)
            changes = {"blocked": [b.seat for b in new], "reason": reason}
            audit.record(
                actor=actor, action="seats.blocked", obj_type="show", obj_id=str(show_id), changes=changes, now=now
            )
        return list(SeatBlock.objects.filter(show=show, seat__in=seats))


def seats_sold_unblocked(*, show: Show, seats: list[str], actor: str, now: datetime) -> None:
    """Blocked seats that staff sold (a house seat has found its guest) are unblocked,
    and recorded so as an unblock by hand is. Call under the show's lock."""
    blocks = SeatBlock.objects.filter(show=show, seat__in=seats)
    unblocked = sorted(blocks.values_list("seat", flat=True), key=seats.index)
    if unblocked:
        blocks.delete()
        changes = {"unblocked": unblocked, "reason": "sold"}
        audit.record(
            actor=actor, action="seats.unblocked", obj_type="show", obj_id=str(show.pk), changes=changes, now=now
        )


def seat_unblock(
    *, show_id: int, seat: str, actor: str = "system", now: datetime, shown_block: int | None = None
) -> None:
    """`shown_block`: the block a page showed (the admin's); the seat blocked since by
    another is BlockChangedMeanwhile."""
    with transaction.atomic():
        lock_show(show_id)
        blocked = SeatBlock.objects.filter(show_id=show_id, seat=seat)
        if shown_block is not None and blocked.exclude(pk=shown_block).exists():
            raise BlockChangedMeanwhile()
        if not blocked.delete()[0]:
            return  # not blocked (any more): nothing changed, nothing to record
        audit.record(
            actor=actor,
            action="seats.unblocked",
            obj_type="show",
            obj_id=str(show_id),
            changes={"unblocked": [seat]},
            now=now,
        )
