"""Wheelchair spaces and the companion seats beside them: the seats a wheelchair party
takes around its space, for best available (api/seatchoice.py, choose_best). Pure
functions of a seat map and the labels that can't be sold."""

from collections.abc import Set as AbstractSet
from itertools import combinations

from .seatmaps import Seat, SeatMap
from .seatruns import free_in, strands


def free_companions(seat_map: SeatMap, space: Seat, taken: set[str]) -> list[Seat]:
    return [s for s in seat_map.neighbours(space) if s.kind == "companion" and s.label not in taken]


def companions_beside(
    seat_map: SeatMap,
    space: Seat,
    taken: set[str],
    count: int,
    *,
    single_seat_rule: bool,
    unsellable: AbstractSet[str] = frozenset(),
) -> list[Seat]:
    """`count` of the free companion seats beside a wheelchair space (all of them, when
    there are no more): with the rule, a choice of them that strands no seat in the row
    when one exists (as beside_block judges the party's other seats), then the nearest the sweet
    spot. A space has at most two beside it, so trying every choice costs nothing; taking
    the left one first would leave "scWcss" with A1 alone where A4 strands nothing."""
    free = free_companions(seat_map, space, taken)
    if count >= len(free):
        return free
    row, spot = seat_map.rows[space.row], seat_map.sweet_spot

    def rank(picked: list[Seat]) -> tuple[bool, tuple[float, int, int]]:
        stranding = single_seat_rule and strands(row, taken - unsellable, [s.label for s in picked]) is not None
        xs = [space.x, *(s.x for s in picked)]  # side by side: the space and its neighbours
        return stranding, spot.distance(space.row, min(xs), len(xs))

    return min((list(picked) for picked in combinations(free, max(count, 0))), key=rank)


def beside_block(
    seat_map: SeatMap,
    block: list[Seat],
    taken: set[str],
    count: int,
    *,
    single_seat_rule: bool,
    unsellable: AbstractSet[str] = frozenset(),
) -> list[str] | None:
    """`count` free seats next to `block` (a wheelchair space and its companion seats, side
    by side) in its row, so that the party sits together: taken from the free neighbours on
    either side of the block (no other wheelchair space), the way that leaves no seat newly
    alone (with the rule; the block itself is not judged, as seat choice's companions are
    not), then nearest the sweet spot. None when the row has no such seats."""
    row = seat_map.rows[block[0].row]
    low, high = min(s.x for s in block), max(s.x for s in block)
    if high - low + 1 != len(block) or count < 0:
        return None
    fixed = taken | {s.label for s in block}  # the block is where it is, as if taken: not judged
    free = {s.x: s for s in free_in(row, fixed)}
    left: list[Seat] = []  # the free neighbours leftwards of the block, nearest first
    while low - 1 - len(left) in free:
        left.append(free[low - 1 - len(left)])
    right: list[Seat] = []
    while high + 1 + len(right) in free:
        right.append(free[high + 1 + len(right)])
    options = []
    for from_left in range(count + 1):
        from_right = count - from_left
        if from_left > len(left) or from_right > len(right):
            continue
        labels = [s.label for s in left[:from_left] + right[:from_right]]
        if single_seat_rule and strands(row, fixed - unsellable, labels) is not None:
            continue
        rank = seat_map.sweet_spot.distance(block[0].row, low - from_left, len(block) + count)
        options.append((rank, labels))
    return min(options)[1] if options else None
