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
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import jsonschema
from django.conf import settings

if TYPE_CHECKING:
    from .seatchoice import SweetSpot

KINDS = ("seat", "wheelchair", "companion")
MAX_SEATS = 3_000  # the largest cinema halls seat about 2,800
MAX_ROWS = 100
MAX_SEATS_PER_ROW = 100
ROW_LABEL = re.compile("^[A-Z]{1,3}$")


def categories() -> list[str]:
    """The seat categories (price bands) a map may use: BOOKING_SEAT_CATEGORIES."""
    return list(settings.BOOKING_SEAT_CATEGORIES)


def json_schema(*, any_category: bool = False) -> dict[str, Any]:
    """The JSON Schema of a seat map document (served at /api/seat-map-schema); with
    `any_category`, a seat's category may be any name (a stored map: see parse_kept)."""
    seat = {
        "type": "object",
        "properties": {
            "number": {"type": "integer", "minimum": 1, "maximum": 999},
            "x": {"type": "integer", "minimum": 0, "maximum": 9_999},
            "category": {"type": "string"} if any_category else {"enum": categories()},
            "kind": {"enum": list(KINDS)},
        },
        "required": ["number"],
        "additionalProperties": False,
    }
    row = {
        "type": "object",
        "properties": {
            "label": {"type": "string", "pattern": ROW_LABEL.pattern},
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

    # Derived once per map (maps are parsed once and kept: parse_kept): a frozen
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
    def by_category(self) -> dict[str, frozenset[str]]:
        """The labels of each seat category's seats."""
        found: dict[str, set[str]] = {}
        for seat in self.seats:
            found.setdefault(seat.category, set()).add(seat.label)
        return {category: frozenset(labels) for category, labels in found.items()}

    @functools.cached_property
    def sweet_spot(self) -> "SweetSpot":
        from .seatchoice import SweetSpot  # the choosing of seats builds on this module

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


def parse(document: Any, *, any_category: bool = False) -> SeatMap:
    """The seat map of a document, validated; SeatMapError names every problem found."""
    if not isinstance(document, dict):
        raise SeatMapError([ONE_OF])
    # Each form checked against its own branch of the schema, so that the problems named
    # are the seats' and rows' own, not "matches none of the forms".
    rows_form, grid_form = json_schema(any_category=any_category)["oneOf"]
    validator = jsonschema.Draft202012Validator(grid_form if "grid" in document else rows_form)
    problems = [_schema_problem(error) for error in validator.iter_errors(document)]
    if problems:
        raise SeatMapError(sorted(set(problems)))
    if "grid" in document:
        # int(): JSON Schema counts 2.0 as an integer, and so does the schema here.
        document = grid(int(document["grid"]["rows"]), int(document["grid"]["seats_per_row"]))
    return _build(document)


def digest(document: Any) -> str:
    """A stored map's fingerprint: the SHA-256 of its JSON text with sorted keys. A screen
    keeps it beside its map (Screen.seat_map_digest), so that reads which leave the map's
    document unread still find its parsed form (kept)."""
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


KEPT_MAPS = 256
_kept: dict[str, SeatMap] = {}


def kept(fingerprint: str) -> SeatMap | None:
    """The map with this digest, if this process has parsed it (parse_kept)."""
    return _kept.get(fingerprint)


def parse_kept(document: Any) -> tuple[str, SeatMap]:
    """The digest of a stored map's document and its parse(), kept by that digest for the
    process's life: a screen's map is read by every booking, hold and seat-map answer.

    Kept under the digest of the document parsed, never under one read before it: a map
    committed between the read of a screen's digest and that of its document would be
    filed under the old map's digest, and found for the old map for the process's life."""
    fingerprint = digest(document)
    found = _kept.get(fingerprint)
    if found is None:
        if len(_kept) >= KEPT_MAPS:  # maps change rarely: start again rather than track use
            _kept.clear()
        # Checked against BOOKING_SEAT_CATEGORIES when it was saved: a category dropped from
        # the setting since (no new map may use it) must not make its shows fail to load.
        found = _kept[fingerprint] = parse(document, any_category=True)
    return fingerprint, found


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
        if not ROW_LABEL.fullmatch(label):
            # Python's "$" (jsonschema's) matches before a final line break, ECMA-262's not.
            problems.append(f"rows/{index}/label: {label!r} does not match {ROW_LABEL.pattern!r}")
        if label in row_labels:
            problems.append(f"Row {label} is listed twice.")
        row_labels.add(label)
        seats, places = [], set()
        for item in row["seats"]:
            # int(): a number or x written 3.0 is the integer 3 (JSON Schema's reading), and
            # the seat's label is "A3", never "A3.0".
            number = int(item["number"])
            x = int(item.get("x", number))
            seat = Seat(
                label=f"{label}{number}",
                row=index,
                number=number,
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


def seat_map_order(seat_map: SeatMap) -> Callable[[str], int]:
    """A sort key putting seat labels in the map's order (front to back, by x)."""
    order, last = seat_map.order, len(seat_map.order)
    return lambda label: order.get(label, last)
