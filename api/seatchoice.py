"""Choosing seats: best available, the single-seat rule, wheelchair spaces with their
companions (companion seats kept for last for everyone else). Pure functions of a seat
map (api/seatmaps.py) and the labels that can't be sold (booked, held, blocked): a
request in, labels out; the same state and request always give the same seats.
"""

import functools
from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from . import seataccess
from .seatmaps import Row, Seat, SeatMap
from .seatruns import free_in, free_runs, leaves_one, placements_of, strands


@dataclass(frozen=True)
class Choice:
    seats: list[str]  # in the map's order
    together: bool  # all in one row, side by side


class SweetSpot:
    """Where the house's best seat is: the middle of the map's width, about two-thirds of
    the way back from the screen. A placement ranks by its squared distance from there,
    a row counting as two seats' width (rows are further apart than seats); before that,
    by the companion seats it takes (kept for wheelchair users' companions: see Rank)."""

    ROW_WEIGHT = 2

    def __init__(self, seat_map: SeatMap) -> None:
        xs = [s.x for s in seat_map]
        self.row = round((len(seat_map.rows) - 1) * 2 / 3)
        self.x = (min(xs) + max(xs)) / 2 if xs else 0
        # The rows' indexes, nearest the sweet spot's row first (the front one of two as near).
        self.rows_nearest_first = sorted(range(len(seat_map.rows)), key=lambda i: (abs(i - self.row), i))
        # The rows with companion seats: only their placements need counting them.
        self.companion_rows = frozenset(s.row for s in seat_map if s.kind == "companion")
        self._seat_map = seat_map
        self._ranked: dict[int, list[SideBySide]] = {}

    def row_distance(self, row: int) -> float:
        """The part of any placement's distance that its row alone makes."""
        return float((self.ROW_WEIGHT * (row - self.row)) ** 2)

    def distance(self, row: int, x: int, quantity: int = 1) -> tuple[float, int, int]:
        """The rank of `quantity` seats side by side in the row, the first at x."""
        middle = x + (quantity - 1) / 2
        # Ties go to the row nearer the screen, then to the left: the same state and
        # request always give the same seats.
        return self.row_distance(row) + (middle - self.x) ** 2, row, x

    def ranked(self, quantity: int) -> "list[SideBySide]":
        """Every placement of `quantity` side by side in one row of the map, best first
        (by Rank): worked out once a map (maps are parsed once and kept) and party size, so
        that a choice reads them in order until one is free."""
        if quantity not in self._ranked:
            found = [
                SideBySide.of(run, start, quantity, _rank(self, run[start : start + quantity]))
                for row in self._seat_map.rows
                for run in free_runs(row, set())
                for start in range(len(run) - quantity + 1)
            ]
            self._ranked[quantity] = sorted(found, key=lambda placement: placement.rank)
        return self._ranked[quantity]


# A placement's rank, lowest best: the companion seats it takes, then SweetSpot.distance.
# A theatre keeps companion seats for last: the choice takes one only when no placement
# without it exists (as good by the rules before the rank: together, no seat stranded).
Rank = tuple[int, float, int, int]


def _rank(spot: SweetSpot, seats: list[Seat]) -> Rank:
    """The rank of seats side by side in one row."""
    first = seats[0]
    companions = sum(s.kind == "companion" for s in seats) if first.row in spot.companion_rows else 0
    return (companions, *spot.distance(first.row, first.x, len(seats)))


Placement = tuple[Rank, list[Seat]]  # its rank, and its seats


@dataclass(frozen=True)
class SideBySide:
    """Seats side by side in one row (never a wheelchair space), and the seats beyond each
    end that the single-seat rule reads: the next one and the one after it on the left and
    on the right (None at the row's end, an aisle or a wheelchair space)."""

    rank: Rank
    labels: tuple[str, ...]
    beyond: tuple[tuple[str | None, str | None], tuple[str | None, str | None]]

    @classmethod
    def of(cls, run: list[Seat], start: int, quantity: int, rank: Rank) -> "SideBySide":
        """The placement of `quantity` from `start` of a run of neighbours (free_runs)."""

        def label(index: int) -> str | None:
            return run[index].label if 0 <= index < len(run) else None

        end = start + quantity
        left, right = (label(start - 1), label(start - 2)), (label(end), label(end + 1))
        return cls(rank, tuple(s.label for s in run[start:end]), (left, right))

    def leaves_one(self, unavailable: AbstractSet[str]) -> bool:
        """Whether taking these seats leaves a free seat alone beside them: leaves_one()
        read off the seats around the placement instead of its run."""
        (near_left, far_left), (near_right, far_right) = self.beyond
        return (
            near_left is not None and near_left not in unavailable and (far_left is None or far_left in unavailable)
        ) or (
            near_right is not None and near_right not in unavailable and (far_right is None or far_right in unavailable)
        )


def _best_in_row(
    spot: SweetSpot,
    runs: list[list[Seat]],
    quantity: int,
    *,
    single_seat_rule: bool,
    strands_one: Callable[[list[Seat]], bool] | None = None,
) -> Placement | None:
    """The best side-by-side placement of `quantity` in a row (its runs of free neighbours)
    that the rule allows: the one nearest the sweet spot that strands no seat or, when every
    placement of the row strands one, the best of them (the rule's exemption); without the
    rule, the best of all. None when none fits. Whether a placement strands a seat is read
    off its run, or asked of `strands_one` (seats beside the runs that are free, though not
    to be chosen)."""
    placements = [(run, start) for run in runs for start in range(len(run) - quantity + 1)]
    if not placements:
        return None

    def best(among: list[tuple[list[Seat], int]]) -> Placement:
        if runs[0][0].row in spot.companion_rows:
            run, start = min(among, key=lambda p: _rank(spot, p[0][p[1] : p[1] + quantity]))
            return _rank(spot, run[start : start + quantity]), run[start : start + quantity]
        run, start = min(among, key=lambda p: spot.distance(p[0][p[1]].row, p[0][p[1]].x, quantity))
        return (0, *spot.distance(run[start].row, run[start].x, quantity)), run[start : start + quantity]

    def stranding(run: list[Seat], start: int) -> bool:
        return strands_one(run[start : start + quantity]) if strands_one else leaves_one(len(run), start, quantity)

    clean = [(r, i) for r, i in placements if not stranding(r, i)] if single_seat_rule else placements
    return best(clean or placements)


def best_together(
    seat_map: SeatMap,
    unavailable: set[str],
    quantity: int,
    *,
    single_seat_rule: bool = True,
    unsellable: AbstractSet[str] = frozenset(),
) -> list[str] | None:
    """The best side-by-side placement of `quantity` seats in one row, or None.

    With the single-seat rule, the best placement that strands no seat in any row; only
    when there is none, the best that the rule allows row by row (a row whose every
    placement strands one is exempt): API.md's choice "never strands a seat when a
    placement without one exists", wherever that placement is. With no clean placement
    anywhere, every row is exempt, and that is the best free placement of all.

    The map's placements are read best first (SweetSpot.ranked): the first free one that
    strands no seat is the choice. No placement takes a seat of `unsellable` (free, but not
    sold to this party), which still counts as free for the rule: another party may buy it."""
    allowed: SideBySide | None = None
    for placement in seat_map.sweet_spot.ranked(quantity):
        if not (unavailable.isdisjoint(placement.labels) and unsellable.isdisjoint(placement.labels)):
            continue
        if not (single_seat_rule and placement.leaves_one(unavailable)):
            return list(placement.labels)
        allowed = allowed or placement
    return list(allowed.labels) if allowed else None


def _best_split(
    seat_map: SeatMap,
    unavailable: set[str],
    quantity: int,
    *,
    single_seat_rule: bool,
    unsellable: AbstractSet[str] = frozenset(),
) -> list[str] | None:
    """The party over as few rows as possible (the seats of a row need not be side by
    side). Rows are taken nearest the sweet spot first, each given as many of the party as
    it can take (_fill_row): all but the last whole, so only the last can strand a seat, or
    a whole row one of `unsellable` beside the seats taken.
    Of the sets of rows that seat the party so, the first (nearest) whose fill strands no
    seat, with the rule; only when none does, the first of all. A nearer row that would
    leave one alone lost to no row that seats its share cleanly. `unavailable` includes
    `unsellable`: never chosen, but free to the rule, as stranded_seat judges named seats."""
    sold = set(unavailable) - set(unsellable)
    spot = seat_map.sweet_spot
    order = spot.rows_nearest_first
    free = [len(free_in(row, unavailable)) for row in seat_map.rows]
    most_first = sorted(free, reverse=True)
    if sum(most_first) < quantity:
        return None
    fewest = next(n for n in range(1, len(free) + 1) if sum(most_first[:n]) >= quantity)

    @functools.cache
    def fill(index: int, count: int) -> tuple[list[str], bool]:
        """The row's seats for `count`, and whether they strand one (with the rule)."""
        row = seat_map.rows[index]
        labels = _fill_row(row, unavailable, count, spot, single_seat_rule=single_seat_rule, sold=sold)
        return labels, single_seat_rule and strands(row, sold, labels) is not None

    @functools.cache
    def first_rows(after: int, rows: int, left: int, clean: bool) -> tuple[int, ...] | None:
        """The first `rows` rows from position `after` of the order on that seat `left`
        (cleanly, if `clean`), or None. Memoized: a choice in a full house is quick."""
        if left > sum(most_first[:rows]):
            return None  # even the rows with the most free seats can't
        for position in range(after, len(order)):
            index = order[position]
            count = min(free[index], left)
            if count == left and rows == 1 and not (clean and fill(index, count)[1]):
                return (index,)
            if count and count < left and rows > 1 and not (clean and fill(index, count)[1]):
                rest = first_rows(position + 1, rows - 1, left - count, clean)
                if rest is not None:
                    return (index, *rest)
        return None

    chosen = (single_seat_rule and first_rows(0, fewest, quantity, True)) or first_rows(0, fewest, quantity, False)
    assert chosen is not None  # the fewest rows that can seat the party do
    labels, left = list[str](), quantity
    for index in chosen:
        labels += fill(index, min(free[index], left))[0]
        left = quantity - len(labels)
    return labels


def _fill_row(
    row: Row, unavailable: set[str], count: int, spot: SweetSpot, *, single_seat_rule: bool, sold: set[str]
) -> list[str]:
    """`count` of the row's free seats (at most as many as it has): side by side where a
    run can take them (the best placement, by Rank), else its largest runs whole (of as
    large, the better ranked first) until the rest fits in one. Whole runs strand nothing
    in themselves. `sold`: `unavailable` less the seats free but not to be chosen, which a
    placement must not leave lone either."""
    taken, chosen = set(unavailable), list[str]()

    def strands_one(seats: list[Seat]) -> bool:
        return strands(row, sold | set(chosen), [s.label for s in seats]) is not None

    judge = strands_one if len(sold) < len(unavailable) else None  # else: read off the runs
    while count:
        runs = free_runs(row, taken)
        found = _best_in_row(spot, runs, count, single_seat_rule=single_seat_rule, strands_one=judge)
        if found is not None:
            return chosen + [s.label for s in found[1]]
        run = min(runs, key=lambda run: (-len(run), _rank(spot, run)))
        chosen += [s.label for s in run]
        taken |= {s.label for s in run}
        count -= len(run)
    return chosen


def _in_map_order(seat_map: SeatMap, labels: Iterable[str]) -> list[str]:
    return sorted(labels, key=seat_map.order.__getitem__)


def choose_best(
    seat_map: SeatMap,
    unavailable: set[str],
    quantity: int,
    *,
    wheelchair: int = 0,
    single_seat_rule: bool = True,
    unsellable: AbstractSet[str] = frozenset(),
) -> Choice | None:
    """The best seats for a party of `quantity`, `wheelchair` of whom need a wheelchair
    space (with the rest of the party in the companion seats beside them where they are
    free); None when the party can't be seated.

    All together in one row whenever possible, nearest the sweet spot; otherwise over as
    few rows as possible. With the single-seat rule, a placement never leaves a free seat
    lone in its row when a placement that doesn't exists. Companion seats come last (Rank):
    seats chosen side by side take one only when no placement with fewer would do; a
    wheelchair party's companion seats beside its space are its own. A companion seat is
    still a seat that must not be left lone. `unsellable`: free seats not sold to this
    party, never chosen, though a seat that must not be left lone (in a placement side by
    side, split over rows or beside a wheelchair space).
    """
    taken = set(unavailable) | set(unsellable)  # for the wheelchair spaces and a split
    chosen: list[str] = []
    spot = seat_map.sweet_spot
    beside = quantity - wheelchair  # the rest of the party, beside the spaces where they can be

    def party_beside(space: Seat) -> list[Seat]:
        return seataccess.companions_beside(
            seat_map, space, taken, beside, single_seat_rule=single_seat_rule, unsellable=unsellable
        )

    for _ in range(wheelchair):
        spaces = [s for s in seat_map if s.kind == "wheelchair" and s.label not in taken]
        if not spaces:
            return None
        # The space with the most free companion seats beside it, nearest the sweet spot.
        spaces.sort(key=lambda s: (-len(seataccess.free_companions(seat_map, s, taken)), spot.distance(s.row, s.x)))
        if wheelchair == 1:
            # One space: the first in that order whose row seats the whole party with it.
            for space in spaces:
                block = [space, *party_beside(space)]
                rest = seataccess.beside_block(
                    seat_map,
                    block,
                    taken,
                    quantity - len(block),
                    single_seat_rule=single_seat_rule,
                    unsellable=unsellable,
                )
                if rest is not None:
                    party = [s.label for s in block] + rest
                    return Choice(_in_map_order(seat_map, party), together=side_by_side(seat_map, party))
        space = spaces[0]
        chosen.append(space.label)
        taken.add(space.label)
        for companion in party_beside(space):
            chosen.append(companion.label)
            taken.add(companion.label)
            beside -= 1
    left = quantity - len(chosen)
    if left <= 0:
        return Choice(_in_map_order(seat_map, chosen), together=side_by_side(seat_map, chosen))
    together = best_together(
        seat_map, taken - set(unsellable), left, single_seat_rule=single_seat_rule, unsellable=unsellable
    )
    rest = together or _best_split(seat_map, taken, left, single_seat_rule=single_seat_rule, unsellable=unsellable)
    if rest is None:
        return None
    chosen += rest
    return Choice(_in_map_order(seat_map, chosen), together=side_by_side(seat_map, chosen))


def side_by_side(seat_map: SeatMap, labels: list[str]) -> bool:
    """Whether the seats, each of the map, are all in one row of it, each beside the next."""
    seats = sorted((seat_map.by_label[label] for label in labels), key=lambda s: (s.row, s.x))
    return len({s.row for s in seats}) == 1 and all(b.x - a.x == 1 for a, b in zip(seats, seats[1:], strict=False))


def stranded_seat(seat_map: SeatMap, unavailable: set[str], wanted: list[str]) -> str | None:
    """The seat that taking `wanted` would strand, judged row by row (see choose_best), or
    None. A row is exempt when every side-by-side placement of as many seats in it would
    strand one too. A wheelchair space named, and the companion seats named beside it, go
    where they are, as choose_best gives them to a wheelchair party: taken, not judged."""
    seats = [seat_map.by_label[label] for label in wanted]
    spaces = [seat for seat in seats if seat.kind == "wheelchair"]
    fixed = {s.label for space in spaces for s in seat_map.neighbours(space) if s.kind == "companion"}
    fixed = (fixed & set(wanted)) | {space.label for space in spaces}
    unavailable = unavailable | fixed
    by_row: dict[int, list[str]] = {}
    for seat in seats:
        if seat.label not in fixed:
            by_row.setdefault(seat.row, []).append(seat.label)
    for index, labels in sorted(by_row.items()):
        row = seat_map.rows[index]
        stranded = strands(row, unavailable, labels)
        if stranded is None:
            continue
        placements = placements_of(row, unavailable, len(labels))
        if all(strands(row, unavailable, [s.label for s in p]) for p in placements):
            continue  # no placement of that many here avoids it
        return stranded
    return None
