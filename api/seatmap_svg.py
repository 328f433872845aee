"""A seat map drawn as SVG: for the admin's screen and show pages, and the customer's show
page. Pure: a map (and each seat's status) in, markup out; no database.

The screen is at the top, rows below it front to back, each labelled at both ends. A seat
is a rounded square placed by its `x`, so an aisle shows as a gap. Nothing is told by
colour alone: a category is the seat's outline (solid, thick, dashed, dotted), a status
its fill pattern (free: plain, held: striped, booked: solid dark, blocked: crossed out), a
wheelchair space carries ♿ and a companion seat "C". Each seat has a <title> (its label,
kind, category and status) and the picture an aria-label that sums it up.
"""

from collections import Counter
from collections.abc import Iterable

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from .seatmaps import Seat, SeatMap, categories

STATUSES = ("free", "held", "booked", "blocked")

CELL = 24  # px from one place in a row to the next, and from row to row
SEAT = 20  # the side of a seat's square
MARGIN = 28  # room for the row labels, left and right
LABEL_LETTER = 12  # px for a bold letter of a row label: "W" takes 10.4 at 11 px
SCREEN_HEIGHT = 44  # the screen's bar and the space below it
LEGEND_LINE = 20
MAX_GAP = 4  # an aisle wider than 3 empty places is drawn 3 wide, so a stray x stays on the page

# The outline of each category, by its place in BOOKING_SEAT_CATEGORIES: (width, dashes).
OUTLINES = [("1.2", "none"), ("3", "none"), ("1.8", "5 2.5"), ("1.8", "1.5 2")]
# The fill of a seat when no status is given: a light tint per category.
TINTS = ["#ffffff", "#fbe9b7", "#e6dcf5", "#dcebf7"]
FILLS = {
    "free": "#e4f3e2",
    "held": "url(#seatmap-held)",
    "booked": "#a93226",
    "blocked": "#8a8a8a",
}
TEXT = {"booked": "#ffffff", "blocked": "#ffffff"}
KIND_MARKS = {"wheelchair": "♿", "companion": "C"}
KIND_NAMES = {"seat": "seat", "wheelchair": "wheelchair space", "companion": "companion seat"}
STATUS_NAMES = {"free": "free", "held": "held", "booked": "booked", "blocked": "blocked"}

DEFS = (
    "<defs>"
    '<pattern id="seatmap-held" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
    '<rect width="6" height="6" fill="#fff4d1"/><rect width="3" height="6" fill="#e0a100"/></pattern>'
    "</defs>"
)


def seat_map_svg(seat_map: SeatMap, statuses: dict[str, str] | None = None) -> SafeString:
    """The map as an inline <svg>; with `statuses` (seat label -> free, held, booked or
    blocked; a seat not named is free), each seat drawn in its status."""
    if statuses is not None:
        unknown = set(statuses.values()) - set(STATUSES)
        if unknown:
            raise ValueError(f"Unknown seat status {', '.join(sorted(unknown))}; use one of {', '.join(STATUSES)}.")
    column = _columns(seat for seat in seat_map)
    columns = max(column.values(), default=0) + 1
    # Room for the longest row label: three letters ("WWW", 31 px) ran past the picture's
    # edge and over the row's first seat.
    margin = max([MARGIN, *(LABEL_LETTER * len(row.label) + 2 for row in seat_map.rows)])
    seats_width = 2 * margin + columns * CELL
    keys = _legend_keys(seat_map, statuses)
    # A narrow map (a box of two seats a row) is drawn in the middle of a picture as wide
    # as its legend's widest line: the legend was cut off at the map's width.
    width = max(seats_width, 2 * MARGIN + max((_key_width(text) for group in keys for _, text in group), default=0))
    left = (width - seats_width) // 2
    top = SCREEN_HEIGHT
    rows_height = len(seat_map.rows) * CELL
    legend, legend_height = _legend(keys, width=width, top=top + rows_height + 16)
    height = top + rows_height + 16 + legend_height

    parts: list[str] = [DEFS, _screen(width)]
    for index, row in enumerate(seat_map.rows):
        y = top + index * CELL
        label_y = y + CELL // 2 + 4
        parts.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="middle" class="row-label" font-weight="bold">{}</text>'
                '<text x="{}" y="{}" text-anchor="middle" class="row-label" font-weight="bold">{}</text>',
                left + margin // 2,
                label_y,
                row.label,
                left + seats_width - margin // 2,
                label_y,
                row.label,
            )
        )
        for seat in row.seats:
            status = None if statuses is None else statuses.get(seat.label, "free")
            parts.append(_seat(seat, status, x=left + margin + column[seat.x] * CELL, y=y))
    parts.append(legend)
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="seat-map" role="img" aria-label="{}" width="{}" height="{}" '
        'viewBox="0 0 {} {}" style="max-width:100%;height:auto" font-family="sans-serif" font-size="11">{}</svg>',
        _summary(seat_map, statuses),
        width,
        height,
        width,
        height,
        mark_safe("".join(parts)),  # each part built by format_html above, its text escaped
    )


def _columns(seats: Iterable[Seat]) -> dict[int, int]:
    """The column of each x used in the map: x as it is, but a gap wider than MAX_GAP is
    narrowed (the same for every row, so the rows stay aligned)."""
    column: dict[int, int] = {}
    previous = None
    for x in sorted({seat.x for seat in seats}):
        column[x] = 0 if previous is None else column[previous] + min(x - previous, MAX_GAP)
        previous = x
    return column


def outline(category: str) -> tuple[str, str]:
    """A category's outline: (stroke width, dashes). The show page's script draws with the
    same (pages.show_page passes them)."""
    known = categories()
    index = known.index(category) if category in known else len(known)
    return OUTLINES[index % len(OUTLINES)]


def outlines() -> dict[str, dict[str, str]]:
    """Every category's outline, {category: {"width", "dash"}}, for the show page's script."""
    return {category: dict(zip(("width", "dash"), outline(category), strict=True)) for category in categories()}


def _tint(category: str) -> str:
    known = categories()
    index = known.index(category) if category in known else len(known)
    return TINTS[index % len(TINTS)]


def _seat(seat: Seat, status: str | None, *, x: int, y: int) -> str:
    inset = (CELL - SEAT) // 2
    width, dashes = outline(seat.category)
    fill = _tint(seat.category) if status is None else FILLS[status]
    title = f"{seat.label}, {KIND_NAMES.get(seat.kind, seat.kind)}, {seat.category}"
    if status is not None:
        title += f", {STATUS_NAMES[status]}"
    left, top = x + inset, y + inset
    cross = ""
    if status == "blocked":
        cross = format_html(
            '<path d="M{} {}L{} {}M{} {}L{} {}" stroke="#ffffff" stroke-width="1.5"/>',
            left + 3,
            top + 3,
            left + SEAT - 3,
            top + SEAT - 3,
            left + SEAT - 3,
            top + 3,
            left + 3,
            top + SEAT - 3,
        )
    mark = KIND_MARKS.get(seat.kind, str(seat.number))
    return format_html(
        '<g class="seat seat-{} seat-{}" data-seat="{}"{}><title>{}</title>'
        '<rect x="{}" y="{}" width="{}" height="{}" rx="4" fill="{}" stroke="#222222" stroke-width="{}" '
        'stroke-dasharray="{}"/>{}<text x="{}" y="{}" text-anchor="middle" font-size="{}" fill="{}">{}</text></g>',
        seat.kind,
        status or "plain",
        seat.label,
        format_html(' data-status="{}"', status) if status is not None else "",
        title,
        left,
        top,
        SEAT,
        SEAT,
        fill,
        width,
        dashes,
        cross,
        x + CELL // 2,
        y + CELL // 2 + 4,
        12 if seat.kind in KIND_MARKS else 9,
        TEXT.get(status or "", "#222222"),
        mark,
    )


def _screen(width: int) -> str:
    """The screen's side of the room: a bar across the top, labelled."""
    return format_html(
        '<path d="M{} 10Q{} 2 {} 10" fill="none" stroke="#555555" stroke-width="3"/>'
        '<text x="{}" y="28" text-anchor="middle" letter-spacing="4" fill="#555555">SCREEN</text>',
        MARGIN,
        width // 2,
        width - MARGIN,
        width // 2,
    )


Key = tuple[str, str]  # a legend's item: a swatch's markup at 0,0, and its text


def _key_width(text: str) -> int:
    """An item's width in the legend: the swatch, a rough width of the text at 11 px."""
    return 20 + 7 * len(text)


def _legend_keys(seat_map: SeatMap, statuses: dict[str, str] | None) -> list[list[Key]]:
    """What the picture uses, in groups: the categories and kinds in the map, then the
    statuses (none without them)."""
    order = categories()
    used = sorted({seat.category for seat in seat_map}, key=lambda c: (order.index(c) if c in order else len(order), c))
    groups: list[list[Key]] = [[], [], []]
    for category in used:
        line, dashes = outline(category)
        swatch = format_html(
            '<rect width="14" height="14" rx="3" fill="{}" stroke="#222222" stroke-width="{}" stroke-dasharray="{}"/>',
            "#ffffff" if statuses is not None else _tint(category),
            line,
            dashes,
        )
        groups[0].append((swatch, category))
    for kind, mark in KIND_MARKS.items():
        if any(seat.kind == kind for seat in seat_map):
            swatch = format_html(
                '<rect width="14" height="14" rx="3" fill="#ffffff" stroke="#222222"/>'
                '<text x="7" y="11" text-anchor="middle" font-size="10">{}</text>',
                mark,
            )
            groups[1].append((swatch, KIND_NAMES[kind]))
    for status in STATUSES if statuses is not None else ():
        cross = '<path d="M3 3L11 11M11 3L3 11" stroke="#ffffff" stroke-width="1.5"/>' if status == "blocked" else ""
        swatch = format_html(
            '<rect width="14" height="14" rx="3" fill="{}" stroke="#222222"/>{}', FILLS[status], mark_safe(cross)
        )
        groups[2].append((swatch, STATUS_NAMES[status]))
    return groups


def _legend(groups: list[list[Key]], *, width: int, top: int) -> tuple[str, int]:
    """The legend's groups, a line each (wrapped to the width); its markup and its height."""
    parts, y = [], top - LEGEND_LINE
    for group in filter(None, groups):
        x, y = MARGIN, y + LEGEND_LINE
        for key, text in group:
            item_width = _key_width(text) + 16  # and a space
            if x + item_width > width and x > MARGIN:
                x, y = MARGIN, y + LEGEND_LINE
            parts.append(
                format_html(
                    '<g class="legend" transform="translate({} {})">{}<text x="20" y="11">{}</text></g>',
                    x,
                    y,
                    key,
                    text,
                )
            )
            x += item_width
    return mark_safe("".join(parts)), y + LEGEND_LINE - top


def _summary(seat_map: SeatMap, statuses: dict[str, str] | None) -> str:
    """What the picture shows, in words: places, rows, and the count per status or kind."""
    text = f"Seat map: {seat_map.capacity} places in {len(seat_map.rows)} rows"
    if statuses is not None:
        counts = Counter(statuses.get(seat.label, "free") for seat in seat_map)
        text += "; " + ", ".join(f"{counts[status]} {STATUS_NAMES[status]}" for status in STATUSES)
    kinds = Counter(seat.kind for seat in seat_map)
    special = [
        f"{kinds[kind]} {KIND_NAMES[kind]}{'s' if kinds[kind] > 1 else ''}" for kind in KIND_MARKS if kinds[kind]
    ]
    if special:
        text += "; " + ", ".join(special)
    return text + "."
