"""The seat map drawn as SVG (api/seatmap_svg.py): pure, no database.

The picture is read back as XML, as a browser would: every seat where its x puts it,
aisles as gaps, kinds and statuses told apart without colour, text escaped."""

import xml.etree.ElementTree as ET

import pytest

from api.seatmap_svg import CELL, MAX_GAP, seat_map_svg
from api.seatmaps import Row, Seat, SeatMap, grid, parse

SVG = "{http://www.w3.org/2000/svg}"

# Row A: seats 1-2, an aisle, premium 3, a wheelchair space 4 and its companion seat 5.
# Row B: 1-3, then 4 far off at x 40 (a stray x: the gap is drawn narrowed).
MAP = parse(
    {
        "rows": [
            {
                "label": "A",
                "seats": [
                    {"number": 1, "x": 1},
                    {"number": 2, "x": 2},
                    {"number": 3, "x": 4, "category": "premium"},
                    {"number": 4, "x": 5, "kind": "wheelchair"},
                    {"number": 5, "x": 6, "kind": "companion"},
                ],
            },
            {"label": "B", "seats": [{"number": 1}, {"number": 2}, {"number": 3}, {"number": 4, "x": 40}]},
        ]
    }
)


def _svg(seat_map: SeatMap, statuses: dict[str, str] | None = None) -> ET.Element:
    """The picture, parsed: it must be well-formed XML."""
    return ET.fromstring(seat_map_svg(seat_map, statuses))


def _seats(svg: ET.Element) -> dict[str, ET.Element]:
    return {g.get("data-seat", ""): g for g in svg.iter(f"{SVG}g") if g.get("data-seat")}


def _left(seat: ET.Element) -> float:
    rect = seat.find(f"{SVG}rect")
    assert rect is not None
    return float(rect.get("x", "nan"))


def _title(seat: ET.Element) -> str:
    return seat.findtext(f"{SVG}title") or ""


def _mark(seat: ET.Element) -> str:
    return seat.findtext(f"{SVG}text") or ""


def _legend(svg: ET.Element) -> list[str]:
    """The legend's words (each after its swatch)."""
    return [g.findall(f"{SVG}text")[-1].text or "" for g in svg.iter(f"{SVG}g") if g.get("class") == "legend"]


def test_every_seat_is_drawn_with_its_label_kind_and_category():
    seats = _seats(_svg(MAP))
    assert list(seats) == ["A1", "A2", "A3", "A4", "A5", "B1", "B2", "B3", "B4"]
    assert {label: _title(seat) for label, seat in seats.items()} == {
        "A1": "A1, seat, standard",
        "A2": "A2, seat, standard",
        "A3": "A3, seat, premium",
        "A4": "A4, wheelchair space, standard",
        "A5": "A5, companion seat, standard",
        "B1": "B1, seat, standard",
        "B2": "B2, seat, standard",
        "B3": "B3, seat, standard",
        "B4": "B4, seat, standard",
    }
    assert all(seat.get("data-status") is None for seat in seats.values())  # no statuses given


def test_the_picture_is_an_image_with_a_summary():
    svg = _svg(MAP)
    assert svg.get("role") == "img"
    assert svg.get("aria-label") == ("Seat map: 9 places in 2 rows; 1 wheelchair space, 1 companion seat.")


def test_seats_are_placed_by_x_so_aisles_are_gaps():
    seats = _seats(_svg(MAP))
    assert _left(seats["A2"]) - _left(seats["A1"]) == CELL  # neighbours
    assert _left(seats["A3"]) - _left(seats["A2"]) == 2 * CELL  # the aisle at x 3
    assert _left(seats["B1"]) == _left(seats["A1"])  # rows aligned by x
    assert _left(seats["B3"]) - _left(seats["A2"]) == CELL  # x 3: row A's aisle, a seat in row B
    # A stray x 40 is drawn MAX_GAP places on from x 6, the last x used before it.
    assert _left(seats["B4"]) - _left(seats["A5"]) == MAX_GAP * CELL


def test_rows_are_labelled_at_both_ends_behind_the_screen():
    svg = _svg(MAP)
    texts = [(t.text, float(t.get("y", "nan"))) for t in svg.iter(f"{SVG}text")]
    (screen_y,) = [y for text, y in texts if text == "SCREEN"]
    row_labels = [(t.text, float(t.get("y", "nan"))) for t in svg.iter(f"{SVG}text") if t.get("class") == "row-label"]
    assert [text for text, _ in row_labels] == ["A", "A", "B", "B"]
    assert screen_y < min(y for _, y in row_labels)  # the screen at the front, row A nearest


def test_kinds_are_marked_and_categories_outlined_differently():
    seats = _seats(_svg(MAP))
    assert (_mark(seats["A1"]), _mark(seats["A4"]), _mark(seats["A5"])) == ("1", "♿", "C")
    outline = {label: seats[label].find(f"{SVG}rect").get("stroke-width") for label in ("A1", "A2", "A3")}  # type: ignore[union-attr]
    assert outline["A1"] == outline["A2"] != outline["A3"]  # standard, standard, premium


def test_statuses_are_in_titles_and_told_apart_without_colour():
    statuses = {"A1": "booked", "A2": "held", "A3": "blocked"}
    svg = _svg(MAP, statuses)
    seats = _seats(svg)
    assert _title(seats["A1"]) == "A1, seat, standard, booked"
    assert _title(seats["A3"]) == "A3, seat, premium, blocked"
    assert _title(seats["B1"]) == "B1, seat, standard, free"  # a seat not named is free
    assert {label: seat.get("data-status") for label, seat in seats.items()} == {
        **dict.fromkeys(["A4", "A5", "B1", "B2", "B3", "B4"], "free"),
        **statuses,
    }
    fills = {label: seats[label].find(f"{SVG}rect").get("fill") for label in ("A1", "A2", "A3", "B1")}  # type: ignore[union-attr]
    assert len(set(fills.values())) == 4
    assert fills["A2"] == "url(#seatmap-held)"  # a striped pattern, not a colour alone
    assert seats["A3"].find(f"{SVG}path") is not None  # blocked: crossed out
    assert all(seats[label].find(f"{SVG}path") is None for label in ("A1", "A2", "B1"))
    assert svg.get("aria-label") == (
        "Seat map: 9 places in 2 rows; 6 free, 1 held, 1 booked, 1 blocked; 1 wheelchair space, 1 companion seat."
    )


def test_the_legend_names_what_the_picture_uses():
    assert _legend(_svg(MAP, {})) == [
        "standard",
        "premium",
        "wheelchair space",
        "companion seat",
        "free",
        "held",
        "booked",
        "blocked",
    ]
    assert _legend(_svg(parse(grid(2, 3)))) == ["standard"]


def test_text_is_escaped():
    # Labels and categories are checked by the map's schema; the picture escapes them anyway.
    seat = Seat(label='A1"><script>alert(1)</script>', row=0, number=1, x=1, category="<b>vip</b>", kind="seat")
    hostile = SeatMap(rows=(Row(label="<A>", seats=(seat,)),), by_label={seat.label: seat})
    markup = seat_map_svg(hostile, {seat.label: "free"})
    assert "<script>" not in markup and "<b>" not in markup and "<A>" not in markup
    svg = ET.fromstring(markup)  # still well-formed
    (drawn,) = _seats(svg).values()
    assert drawn.get("data-seat") == seat.label
    assert _title(drawn) == 'A1"><script>alert(1)</script>, seat, <b>vip</b>, free'


def test_an_unknown_status_is_refused():
    with pytest.raises(ValueError, match="Unknown seat status sold"):
        seat_map_svg(MAP, {"A1": "sold"})


def test_a_300_seat_map_is_drawn_whole():
    seat_map = parse(grid(15, 20))
    seats = _seats(_svg(seat_map, {"O20": "booked"}))
    assert list(seats) == seat_map.labels()
    assert seats["O20"].get("data-status") == "booked"


def test_a_narrow_maps_legend_is_drawn_whole_beside_its_seats_in_the_middle():
    # A box of one or two seats a row: the picture was the map's width (80 px), and the
    # legend's "wheelchair space" and "companion seat" ran past it, cut off.
    narrow = parse(
        {
            "rows": [
                {"label": "A", "seats": [{"number": 1, "kind": "wheelchair"}, {"number": 2, "kind": "companion"}]},
                {"label": "B", "seats": [{"number": 1}]},
            ]
        }
    )
    svg = _svg(narrow, {"A1": "held"})
    width = float(svg.get("width", "nan"))
    assert svg.get("viewBox") == f"0 0 {svg.get('width')} {svg.get('height')}"
    for item in svg.iter(f"{SVG}g"):
        if item.get("class") == "legend":
            x = float((item.get("transform") or "").removeprefix("translate(").split()[0])
            text = item.findall(f"{SVG}text")[-1].text or ""
            assert x + 20 + 7 * len(text) <= width, text  # the swatch and the words, at most 7 px a letter
    # The seats in the middle, their row labelled at both ends around them.
    labels = [float(t.get("x", "nan")) for t in svg.iter(f"{SVG}text") if t.get("class") == "row-label"]
    assert labels[0] + labels[1] == width
    seats = _seats(svg)
    assert labels[0] < _left(seats["A1"]) < _left(seats["A2"]) < labels[1]
    assert _left(seats["B1"]) == _left(seats["A1"])


def test_a_row_label_of_three_letters_fits_beside_its_row():
    # Row labels may have three letters: "WWW" (31 px in bold at 11 px) was centred 14 px
    # from the picture's edge, cut off there and running into the row's first seat.
    seat_map = parse({"rows": [{"label": "WWW", "seats": [{"number": n} for n in range(1, 9)]}]})
    svg = _svg(seat_map)
    width = float(svg.get("width", "nan"))
    half = 3 * 10.4 / 2  # half the label's width
    labels = [t for t in svg.iter(f"{SVG}text") if t.get("class") == "row-label"]
    left_label, right_label = (float(t.get("x", "nan")) for t in labels)
    seats = _seats(svg)
    assert 0 <= left_label - half and left_label + half < _left(seats["WWW1"])
    assert _left(seats["WWW8"]) + 20 < right_label - half and right_label + half <= width
