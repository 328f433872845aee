"""A row's free seats as runs of neighbours, and what taking some of them would leave
alone: the single-seat rule's reading of one row, under seat choice (api/seatchoice.py)."""

from collections.abc import Iterable

from .seatmaps import Row, Seat


def free_in(row: Row, unavailable: set[str]) -> list[Seat]:
    """The row's seats that anyone may be given: free, and not wheelchair spaces."""
    return [s for s in row.seats if s.label not in unavailable and s.kind != "wheelchair"]


def free_runs(row: Row, unavailable: set[str]) -> list[list[Seat]]:
    """The row's free seats as runs of neighbours (x one apart), left to right."""
    runs: list[list[Seat]] = []
    for seat in free_in(row, unavailable):
        if runs and seat.x - runs[-1][-1].x == 1:
            runs[-1].append(seat)
        else:
            runs.append([seat])
    return runs


def _lone(row: Row, unavailable: set[str]) -> set[str]:
    """Free seats of the row with no free neighbour: a run of one."""
    return {run[0].label for run in free_runs(row, unavailable) if len(run) == 1}


def strands(row: Row, unavailable: set[str], taking: Iterable[str]) -> str | None:
    """The seat that taking these seats of the row would leave lone (one that was not lone
    before), or None."""
    after = unavailable | set(taking)
    new = _lone(row, after) - _lone(row, unavailable)
    if not new:
        return None
    order = {s.label: s.x for s in row.seats}
    return min(new, key=lambda label: order[label])


def placements_of(row: Row, unavailable: set[str], quantity: int) -> list[list[Seat]]:
    """Every way to seat `quantity` side by side in the row, left to right."""
    return [
        run[start : start + quantity] for run in free_runs(row, unavailable) for start in range(len(run) - quantity + 1)
    ]


def leaves_one(run_length: int, start: int, quantity: int) -> bool:
    """Whether seating `quantity` from `start` of a run of free neighbours leaves one seat
    alone at either end of it. Only the run taken from changes, and its seats had a free
    neighbour before (a run of one can only be taken whole): this is strands() for a
    side-by-side placement, in arithmetic."""
    return start == 1 or run_length - quantity - start == 1
