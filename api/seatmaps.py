"""The seat map of a screen: the document, its validation, labels and neighbours, and the
choice of seats. Pure Python, no database.

A map lists rows front (nearest the screen) to back; each seat has a number, a place `x`
in its row (default: its number), a `category` (the price band, default "standard") and a
`kind`: "seat", "wheelchair" (a space for a wheelchair) or "companion" (a seat beside
one). Two seats of a row are neighbours when their `x` differ by 1; a larger step is an
aisle. A seat's label is its row's label and its number ("B3"). The shorthand
{"grid": {"rows": 5, "seats_per_row": 12}} is rows A-E of seats 1-12, all "standard".
"""

import functools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import jsonschema
from django.conf import settings

KINDS = ("seat", "wheelchair", "companion")
MAX_SEATS = 3_000  # the largest cinema halls seat about 2,800
MAX_ROWS = 100
MAX_SEATS_PER_ROW = 100


def categories() -> list[str]:
    """The seat categories (price bands) a map may use: BOOKING_SEAT_CATEGORIES."""
    return list(settings.BOOKING_SEAT_CATEGORIES)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a seat map document (served at /api/seat-map-schema)."""
    seat = {
        "type": "object",
        "properties": {
            "number": {"type": "integer", "minimum": 1, "maximum": 999},
            "x": {"type": "integer", "minimum": 0, "maximum": 9_999},
            "category": {"enum": categories()},
            "kind": {"enum": list(KINDS)},
        },
        "required": ["number"],
        "additionalProperties": False,
    }
    row = {
        "type": "object",
        "properties": {
            "label": {"type": "string", "pattern": "^[A-Z]{1,3}$"},
            "seats": {"type": "array", "items": seat, "minItems": 1, "maxItems": MAX_SEATS_PER_ROW},
        },
        "required": ["label", "seats"],
        "additionalProperties": False,
    }
    grid = {
        "type": "object",
        "properties": {
            "rows": {"type": "integer", "minimum": 1, "maximum": MAX_ROWS},
            "seats_per_row": {"type": "integer", "minimum": 1, "maximum": MAX_SEATS_PER_ROW},
        },
        "required": ["rows", "seats_per_row"],
        "additionalProperties": False,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Seat map",
        "oneOf": [
            {
                "type": "object",
                "properties": {"rows": {"type": "array", "items": row, "minItems": 1, "maxItems": MAX_ROWS}},
                "required": ["rows"],
                "additionalProperties": False,
            },
            {"type": "object", "properties": {"grid": grid}, "required": ["grid"], "additionalProperties": False},
        ],
    }


ONE_OF = 'A seat map is {"rows": [...]} or {"grid": {"rows": ..., "seats_per_row": ...}}.'


class SeatMapError(ValueError):
    """A seat map document that can't be used; `problems` says why, one sentence each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Seat:
    label: str
    row: int  # 0 is the front row
    number: int
    x: int
    category: str = "standard"
    kind: str = "seat"


@dataclass(frozen=True)
class Row:
    label: str
    seats: tuple[Seat, ...]  # in x order


@dataclass(frozen=True)
class SeatMap:
    rows: tuple[Row, ...]
    by_label: dict[str, Seat] = field(repr=False, compare=False)

    @property
    def capacity(self) -> int:
        return len(self.by_label)

    def seat(self, label: str) -> Seat | None:
        return self.by_label.get(label)

    # Derived once per map (maps are parsed once and kept: parse_cached): a frozen
    # dataclass's cached_property writes the instance's __dict__, not its fields.
    @functools.cached_property
    def seats(self) -> tuple[Seat, ...]:
        """Every seat, front row first, each row by x: the map's order."""
        return tuple(seat for row in self.rows for seat in row.seats)

    @functools.cached_property
    def order(self) -> dict[str, int]:
        """Each seat's place in the map's order, by label."""
        return {seat.label: index for index, seat in enumerate(self.seats)}

    @functools.cached_property
    def sweet_spot(self) -> "SweetSpot":
        return SweetSpot(self)

    def __iter__(self) -> Iterator[Seat]:
        return iter(self.seats)

    def labels(self) -> list[str]:
        return [seat.label for seat in self.seats]

    def neighbours(self, seat: Seat) -> list[Seat]:
        """The seats beside this one in its row (x - 1 and x + 1)."""
        return [s for s in self.rows[seat.row].seats if abs(s.x - seat.x) == 1]

    def document(self) -> dict[str, Any]:
        """The map in its full form (the grid shorthand expanded, defaults written out)."""
        return {
            "rows": [
                {
                    "label": row.label,
                    "seats": [
                        {"number": s.number, "x": s.x, "category": s.category, "kind": s.kind} for s in row.seats
                    ],
                }
                for row in self.rows
            ]
        }


def row_label(index: int) -> str:
    """Row 0 is "A", 25 "Z", 26 "AA": after Z come AA, AB, ... as spreadsheet columns do."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def grid(rows: int, seats_per_row: int) -> dict[str, Any]:
    """The full document of a grid of rows A.. and seats 1..seats_per_row."""
    return {
        "rows": [
            {"label": row_label(r), "seats": [{"number": n} for n in range(1, seats_per_row + 1)]} for r in range(rows)
        ]
    }


def parse(document: Any) -> SeatMap:
    """The seat map of a document, validated; SeatMapError names every problem found."""
    if not isinstance(document, dict):
        raise SeatMapError([ONE_OF])
    # Each form checked against its own branch of the schema, so that the problems named
    # are the seats' and rows' own, not "matches none of the forms".
    rows_form, grid_form = json_schema()["oneOf"]
    validator = jsonschema.Draft202012Validator(grid_form if "grid" in document else rows_form)
    problems = [_schema_problem(error) for error in validator.iter_errors(document)]
    if problems:
        raise SeatMapError(sorted(set(problems)))
    if "grid" in document:
        document = grid(document["grid"]["rows"], document["grid"]["seats_per_row"])
    return _build(document)


@functools.lru_cache(maxsize=256)
def parse_cached(text: str) -> SeatMap:
    """parse() of a stored map's JSON text, kept: a screen's map is read on every booking."""
    return parse(json.loads(text))


def _schema_problem(error: jsonschema.ValidationError) -> str:
    where = "/".join(str(part) for part in error.absolute_path) or "the map"
    if error.validator in ("required", "additionalProperties") and not error.absolute_path:
        return ONE_OF
    if error.validator == "enum" and error.absolute_path and error.absolute_path[-1] == "category":
        return f"{where}: unknown category {error.instance!r}; use one of {', '.join(categories())}."
    if error.validator == "enum" and error.absolute_path and error.absolute_path[-1] == "kind":
        return f"{where}: unknown kind {error.instance!r}; use one of {', '.join(KINDS)}."
    if error.validator == "minItems":
        return f"{where}: must not be empty."
    return f"{where}: {error.message}"


def _build(document: dict[str, Any]) -> SeatMap:
    problems: list[str] = []
    rows: list[Row] = []
    by_label: dict[str, Seat] = {}
    row_labels: set[str] = set()
    for index, row in enumerate(document["rows"]):
        label = row["label"]
        if label in row_labels:
            problems.append(f"Row {label} is listed twice.")
        row_labels.add(label)
        seats, places = [], set()
        for item in row["seats"]:
            x = item.get("x", item["number"])
            seat = Seat(
                label=f"{label}{item['number']}",
                row=index,
                number=item["number"],
                x=x,
                category=item.get("category", "standard"),
                kind=item.get("kind", "seat"),
            )
            if seat.label in by_label:
                problems.append(f"Seat {seat.label} is listed twice.")
            if x in places:
                problems.append(f"Two seats of row {label} are at x {x}.")
            places.add(x)
            by_label[seat.label] = seat
            seats.append(seat)
        rows.append(Row(label=label, seats=tuple(sorted(seats, key=lambda s: s.x))))
    if len(by_label) > MAX_SEATS:
        problems.append(f"A seat map holds at most {MAX_SEATS} seats ({len(by_label)} given).")
    if problems:
        raise SeatMapError(problems)
    return SeatMap(rows=tuple(rows), by_label=by_label)


# --- choosing seats ----------------------------------------------------------------------
#
# Every function below is pure: a seat map, the labels that can't be sold (booked, held,
# blocked) and a request in; labels out. The same state and request always give the same
# seats.


@dataclass(frozen=True)
class Choice:
    seats: list[str]  # in the map's order
    together: bool  # all in one row, side by side


def _free_in(row: Row, unavailable: set[str]) -> list[Seat]:
    """The row's seats that anyone may be given: free, and not wheelchair spaces."""
    return [s for s in row.seats if s.label not in unavailable and s.kind != "wheelchair"]


def _runs(row: Row, unavailable: set[str]) -> list[list[Seat]]:
    """The row's free seats as runs of neighbours (x one apart), left to right."""
    runs: list[list[Seat]] = []
    for seat in _free_in(row, unavailable):
        if runs and seat.x - runs[-1][-1].x == 1:
            runs[-1].append(seat)
        else:
            runs.append([seat])
    return runs


def _lone(row: Row, unavailable: set[str]) -> set[str]:
    """Free seats of the row with no free neighbour: a run of one."""
    return {run[0].label for run in _runs(row, unavailable) if len(run) == 1}


def _strands(row: Row, unavailable: set[str], taking: Iterable[str]) -> str | None:
    """The seat that taking these seats of the row would leave lone (one that was not lone
    before), or None."""
    after = unavailable | set(taking)
    new = _lone(row, after) - _lone(row, unavailable)
    if not new:
        return None
    order = {s.label: s.x for s in row.seats}
    return min(new, key=lambda label: order[label])


def _placements(row: Row, unavailable: set[str], quantity: int) -> list[list[Seat]]:
    """Every way to seat `quantity` side by side in the row, left to right."""
    return [
        run[start : start + quantity] for run in _runs(row, unavailable) for start in range(len(run) - quantity + 1)
    ]


def _leaves_one(run_length: int, start: int, quantity: int) -> bool:
    """Whether seating `quantity` from `start` of a run of free neighbours leaves one seat
    alone at either end of it. Only the run taken from changes, and its seats had a free
    neighbour before (a run of one can only be taken whole): this is _strands for a
    side-by-side placement, in arithmetic."""
    return start == 1 or run_length - quantity - start == 1


class SweetSpot:
    """Where the house's best seat is: the middle of the map's width, about two-thirds of
    the way back from the screen. A placement ranks by its squared distance from there,
    a row counting as two seats' width (rows are further apart than seats)."""

    ROW_WEIGHT = 2

    def __init__(self, seat_map: SeatMap) -> None:
        xs = [s.x for s in seat_map]
        self.row = round((len(seat_map.rows) - 1) * 2 / 3)
        self.x = (min(xs) + max(xs)) / 2 if xs else 0

    def distance(self, row: int, x: int, quantity: int = 1) -> tuple[float, int, int]:
        """The rank of `quantity` seats side by side in the row, the first at x."""
        middle = x + (quantity - 1) / 2
        rows = (self.ROW_WEIGHT * (row - self.row)) ** 2
        # Ties go to the row nearer the screen, then to the left: the same state and
        # request always give the same seats.
        return rows + (middle - self.x) ** 2, row, x


Runs = list[list[list[Seat]]]  # each row's runs of free neighbours (_runs), front row first


def _all_runs(seat_map: SeatMap, unavailable: set[str]) -> Runs:
    return [_runs(row, unavailable) for row in seat_map.rows]


def _best_placement(spot: SweetSpot, runs_by_row: Runs, quantity: int, *, single_seat_rule: bool) -> list[Seat] | None:
    """The side-by-side placement of `quantity` nearest the sweet spot, or None.

    With the single-seat rule, a row's placements that strand a seat are left out, unless
    every placement in that row would (the rule's exemption)."""
    best: tuple[float, int, int] | None = None
    chosen: list[Seat] | None = None
    for runs in runs_by_row:
        placements = [(run, start) for run in runs for start in range(len(run) - quantity + 1)]
        if single_seat_rule:
            placements = [(r, i) for r, i in placements if not _leaves_one(len(r), i, quantity)] or placements
        for run, start in placements:
            distance = spot.distance(run[start].row, run[start].x, quantity)
            if best is None or distance < best:
                best, chosen = distance, run[start : start + quantity]
    return chosen


def best_together(
    seat_map: SeatMap, unavailable: set[str], quantity: int, *, single_seat_rule: bool = True
) -> list[str] | None:
    """The best side-by-side placement of `quantity` seats in one row, or None."""
    runs = _all_runs(seat_map, unavailable)
    chosen = _best_placement(seat_map.sweet_spot, runs, quantity, single_seat_rule=single_seat_rule)
    return [s.label for s in chosen] if chosen else None


def _best_split(seat_map: SeatMap, unavailable: set[str], quantity: int, *, single_seat_rule: bool) -> list[str] | None:
    """The party over as few rows as possible (the seats of a row need not be side by
    side): the rows nearest the sweet spot that can still seat the rest in that many rows,
    each given as many of the party as it can take (_fill_row)."""
    spot = seat_map.sweet_spot
    free = [len(_free_in(row, unavailable)) for row in seat_map.rows]
    most_first = sorted(free, reverse=True)
    if sum(most_first) < quantity:
        return None
    fewest = next(n for n in range(1, len(free) + 1) if sum(most_first[:n]) >= quantity)
    nearest_first = sorted(range(len(free)), key=lambda i: (abs(i - spot.row), i))
    chosen: list[str] = []
    left, picked = quantity, set()
    for rows_after in range(fewest - 1, -1, -1):
        ranked = sorted((free[i] for i in nearest_first if i not in picked), reverse=True)
        for index in nearest_first:
            if index in picked or not free[index]:
                continue
            # The most the other rows can seat in rows_after rows: the largest counts but this row's.
            if rows_after >= len(ranked) or free[index] >= ranked[rows_after]:
                others = sum(ranked[: rows_after + 1]) - free[index]
            else:
                others = sum(ranked[:rows_after])
            if free[index] + others >= left:
                break
        picked.add(index)
        count = min(free[index], left)
        chosen += _fill_row(seat_map.rows[index], unavailable, count, spot, single_seat_rule=single_seat_rule)
        left -= count
    return chosen


def _fill_row(row: Row, unavailable: set[str], count: int, spot: SweetSpot, *, single_seat_rule: bool) -> list[str]:
    """`count` of the row's free seats (at most as many as it has): side by side where a
    run can take them (the best placement), else its largest runs whole, nearest the sweet
    spot first, until the rest fits in one. Whole runs strand nothing."""
    taken, chosen = set(unavailable), list[str]()
    while count:
        runs = _runs(row, taken)
        placement = _best_placement(spot, [runs], count, single_seat_rule=single_seat_rule)
        if placement is not None:
            return chosen + [s.label for s in placement]
        run = min(runs, key=lambda run: (-len(run), spot.distance(run[0].row, run[0].x, len(run))))
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
) -> Choice | None:
    """The best seats for a party of `quantity`, `wheelchair` of whom need a wheelchair
    space (with the rest of the party in the companion seats beside them where they are
    free); None when the party can't be seated.

    All together in one row whenever possible, nearest the sweet spot; otherwise over as
    few rows as possible. With the single-seat rule, a placement never leaves a free seat
    lone in its row when a placement that doesn't exists.
    """
    taken = set(unavailable)
    chosen: list[str] = []
    spot = seat_map.sweet_spot
    beside = quantity - wheelchair  # the rest of the party, beside the spaces where they can be
    for _ in range(wheelchair):
        spaces = [s for s in seat_map if s.kind == "wheelchair" and s.label not in taken]
        if not spaces:
            return None

        def companions(space: Seat) -> list[Seat]:
            return [s for s in seat_map.neighbours(space) if s.kind == "companion" and s.label not in taken]

        # The space with the most free companion seats beside it, nearest the sweet spot.
        space = min(spaces, key=lambda s: (-len(companions(s)), spot.distance(s.row, s.x)))
        chosen.append(space.label)
        taken.add(space.label)
        for companion in companions(space)[:beside]:
            chosen.append(companion.label)
            taken.add(companion.label)
            beside -= 1
    left = quantity - len(chosen)
    if left <= 0:
        return Choice(_in_map_order(seat_map, chosen), together=side_by_side(seat_map, chosen))
    together = best_together(seat_map, taken, left, single_seat_rule=single_seat_rule)
    rest = together or _best_split(seat_map, taken, left, single_seat_rule=single_seat_rule)
    if rest is None:
        return None
    chosen += rest
    return Choice(_in_map_order(seat_map, chosen), together=side_by_side(seat_map, chosen))


def side_by_side(seat_map: SeatMap, labels: list[str]) -> bool:
    seats = sorted((seat_map.by_label[label] for label in labels), key=lambda s: (s.row, s.x))
    return len({s.row for s in seats}) == 1 and all(b.x - a.x == 1 for a, b in zip(seats, seats[1:], strict=False))


def stranded_seat(seat_map: SeatMap, unavailable: set[str], wanted: list[str]) -> str | None:
    """The seat that taking `wanted` would strand, judged row by row (see choose_best), or
    None. A row is exempt when every side-by-side placement of as many seats in it would
    strand one too."""
    by_row: dict[int, list[str]] = {}
    for label in wanted:
        by_row.setdefault(seat_map.by_label[label].row, []).append(label)
    for index, labels in sorted(by_row.items()):
        row = seat_map.rows[index]
        stranded = _strands(row, unavailable, labels)
        if stranded is None:
            continue
        placements = _placements(row, unavailable, len(labels))
        if all(_strands(row, unavailable, [s.label for s in p]) for p in placements):
            continue  # no placement of that many here avoids it
        return stranded
    return None
