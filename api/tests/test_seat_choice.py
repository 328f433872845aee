"""Choosing seats (API.md (v2), "Choosing seats"): pure functions of the seat map and the
seats that can't be sold. Pictures: one line a row, front first; `.` free, `x` taken,
`|` an aisle, `W` a wheelchair space, `c` a companion seat; the chosen seats as `*`."""

from hypothesis import given
from hypothesis import strategies as st

from api.seatchoice import choose_best, stranded_seat
from api.seatmaps import SeatMap, grid, parse, row_label


def house(picture: str) -> tuple[SeatMap, set[str]]:
    """A map and its unavailable seats from a picture (see the module's doc)."""
    rows, taken = [], set()
    for index, line in enumerate(picture.strip().splitlines()):
        label, seats, x, number = row_label(index), [], 0, 0
        for char in line.strip():
            x += 1
            if char == "|":
                continue
            number += 1
            seat: dict[str, int | str] = {"number": number, "x": x}
            if char == "W":
                seat["kind"] = "wheelchair"
            elif char == "c":
                seat["kind"] = "companion"
            elif char == "x":
                taken.add(f"{label}{number}")
            seats.append(seat)
        rows.append({"label": label, "seats": seats})
    return parse({"rows": rows}), taken


def chosen(seat_map: SeatMap, taken: set[str], quantity: int, **options) -> list[str]:
    choice = choose_best(seat_map, taken, quantity, **options)
    assert choice is not None
    return choice.seats


def picture(seat_map: SeatMap, taken: set[str], chosen: list[str]) -> str:
    lines = []
    for row in seat_map.rows:
        line, x = "", row.seats[0].x
        for seat in row.seats:
            line += "|" * (seat.x - x - 1) if line else ""
            x = seat.x
            line += (
                "*"
                if seat.label in chosen
                else "x"
                if seat.label in taken
                else {"wheelchair": "W", "companion": "c"}.get(seat.kind, ".")
            )
        lines.append(line)
    return "\n".join(lines)


def test_a_party_sits_together_nearest_the_sweet_spot():
    # Six rows: the sweet spot is row D (index round(5 * 2/3) = 3, two-thirds back), in the middle.
    seat_map, taken = house("\n".join(["." * 10] * 6))

    choice = choose_best(seat_map, taken, 2)

    assert choice is not None and choice.together
    assert choice.seats == ["D5", "D6"]


def test_taken_seats_push_the_party_aside_but_keep_it_together():
    seat_map, taken = house(
        """
        ..........
        ..........
        ..........
        xxxxxxxxxx
        ..........
        """
    )

    choice = choose_best(seat_map, taken, 4)

    # Row D (the sweet spot of five rows: index round(4 * 2/3) = 3) is full: the nearest
    # rows, C and E, tie; C is nearer the screen.
    assert choice is not None
    assert picture(seat_map, taken, choice.seats).splitlines()[2] == "...****..."


def test_the_same_state_always_gives_the_same_seats():
    seat_map, taken = house("\n".join(["...x..x..."] * 5))

    assert len({tuple(chosen(seat_map, taken, 3)) for _ in range(5)}) == 1


def test_a_party_is_split_only_when_no_row_can_seat_it_together():
    seat_map, taken = house(
        """
        xx...xxx
        xxx..xxx
        x...xxxx
        """
    )

    choice = choose_best(seat_map, taken, 5)

    assert choice is not None and not choice.together
    # Over two rows, the largest groups first: three in row A or C, then two.
    rows = {label[0] for label in choice.seats}
    assert len(rows) == 2 and len(choice.seats) == 5


def test_a_split_party_takes_the_fewest_rows_even_in_several_groups():
    # No row seats four side by side; row B seats them in two pairs, one row where A's or
    # C's three would need a second row for the fourth (the README's picture).
    seat_map, taken = house(
        """
        ...xxxx
        x..x..x
        ...xxxx
        """
    )

    choice = choose_best(seat_map, taken, 4)

    assert choice is not None and not choice.together
    assert picture(seat_map, taken, choice.seats).splitlines()[1] == "x**x**x"


def test_sold_out_when_the_party_does_not_fit():
    seat_map, taken = house("xx..x")

    assert choose_best(seat_map, taken, 3) is None


def test_aisles_part_neighbours():
    seat_map, taken = house("...|...")

    choice = choose_best(seat_map, taken, 4)

    assert choice is not None and not choice.together  # an aisle is not a neighbour


def test_the_service_never_strands_a_single_seat_when_it_can_help_it():
    # Three free in a row of four: taking the middle two for a pair would leave A1 or A4
    # alone; the pair goes to an end.
    seat_map, taken = house("x...")

    choice = choose_best(seat_map, taken, 2)

    assert choice is not None
    assert choice.seats in (["A3", "A4"], ["A2", "A3"])
    assert stranded_seat(seat_map, taken, choice.seats) is None


def test_a_single_seat_rule_exemption_when_every_placement_strands():
    # Three free between taken seats: any pair leaves one alone; that's allowed.
    seat_map, taken = house("x...x")

    choice = choose_best(seat_map, taken, 2)

    assert choice is not None and choice.together
    assert stranded_seat(seat_map, taken, choice.seats) is None  # exempt


def test_naming_seats_that_strand_one_is_refused_with_the_seat():
    seat_map, taken = house("x.....")

    assert stranded_seat(seat_map, taken, ["A3", "A4"]) == "A2"
    assert stranded_seat(seat_map, taken, ["A2", "A3"]) is None


def test_a_wheelchair_space_named_with_its_companion_is_judged_as_the_choice_gives_them():
    # The service gives a wheelchair party the space and the companion seats beside it,
    # whatever they leave when nothing better is free; naming A3+A4 was a 409 on A2. (The
    # choice itself takes A4+A5 here: A3+A4 leaves A2 alone, A4+A5 nothing.)
    seat_map, taken = house("x.cWc..")

    given = choose_best(seat_map, taken, 2, wheelchair=1)

    assert given is not None and given.seats == ["A4", "A5"]
    assert stranded_seat(seat_map, taken, ["A4", "A5"]) is None
    assert stranded_seat(seat_map, taken, ["A3", "A4"]) is None
    # A seat named beside them is judged as ever: A6 leaves A5 (and A7) lone.
    assert stranded_seat(seat_map, taken, ["A3", "A4", "A6"]) == "A5"


def test_seats_lone_before_the_request_do_not_count():
    seat_map, taken = house("x.x....")

    assert stranded_seat(seat_map, taken, ["A4", "A5"]) is None  # A2 was lone already


def test_the_rule_off_takes_the_best_placement_whatever_it_leaves():
    seat_map, taken = house(".....")

    on = choose_best(seat_map, taken, 3)
    off = choose_best(seat_map, taken, 3, single_seat_rule=False)

    assert off is not None and on is not None
    assert off.seats == ["A2", "A3", "A4"]  # the middle, leaving A1 and A5 alone
    assert on.seats == ["A1", "A2", "A3"]


def test_a_split_party_is_seated_in_the_row_that_strands_no_seat():
    # No row seats three side by side, and both seat all three. B, the sweet spot's row
    # ("..|.."), was chosen and B4 left alone; A ("..|.") takes all three cleanly.
    seat_map, taken = house(
        """
        ..|.
        ..|..
        """
    )

    assert chosen(seat_map, taken, 3) == ["A1", "A2", "A3"]
    # Without the rule, the nearest rows as ever.
    assert chosen(seat_map, taken, 3, single_seat_rule=False) == ["B1", "B2", "B3"]


def test_wheelchair_spaces_go_only_to_those_who_ask():
    seat_map, taken = house("..cWc..")

    assert "A4" not in chosen(seat_map, taken, 6)
    assert choose_best(seat_map, taken, 7) is None  # the space is not for a party of seven


def test_a_party_of_one_gets_an_ordinary_seat_before_a_companion_seat():
    """A party of one got D6, the companion seat beside the space, the free seat nearest
    the sweet spot, while ordinary seats were free: companion seats are kept for last."""
    seat_map, taken = house(
        """
        ..........
        ..........
        ..........
        ...cWc....
        ..........
        ..........
        """
    )

    # D7 would leave D6 lone; D8 is further than C5 (a row counts as two seats).
    assert chosen(seat_map, taken, 1) == ["C5"]
    assert chosen(seat_map, taken, 2, wheelchair=1) == ["D5", "D6"]  # a wheelchair party gets one (the middle)


def test_companion_seats_are_taken_when_nothing_else_seats_the_party_together():
    seat_map, taken = house("xxcWcxx")
    assert chosen(seat_map, taken, 1) == ["A3"]  # the last seats left

    seat_map, taken = house(".xcWc.x")
    assert chosen(seat_map, taken, 2) == ["A5", "A6"]  # together first: A1 + a companion would split


def test_a_wheelchair_request_gets_a_space_and_its_companions():
    seat_map, taken = house(
        """
        ..........
        ..cWc.cWc.
        """
    )

    choice = choose_best(seat_map, taken, 3, wheelchair=1)

    assert choice is not None
    assert choice.seats == ["B3", "B4", "B5"]


def test_a_wheelchair_pair_takes_the_companion_seat_that_strands_no_seat_on_either_side():
    # The left companion seat was taken first: A2+A3 of ".cWc.." left A1 alone, while the
    # mirrored "..cWc." got A3+A4 right.
    for row, seats in ((".cWc..", ["A3", "A4"]), ("..cWc.", ["A3", "A4"])):
        seat_map, taken = house(row)
        assert chosen(seat_map, taken, 2, wheelchair=1) == seats, row


def test_two_wheelchair_users_companion_seat_strands_no_seat_either():
    # Two spaces: the first (two companion seats beside it) takes the one companion.
    seat_map, taken = house(
        """
        .cWc..
        W.....
        """
    )

    assert chosen(seat_map, taken, 3, wheelchair=2) == ["A3", "A4", "B1"]


def test_a_wheelchair_partys_others_sit_beside_the_space_when_its_row_has_room():
    """A party of four with one wheelchair user got the space and its companion seat, and
    the other two five rows away, though the seats beside them were free."""
    seat_map, taken = house(
        """
        ....Wc..
        ........
        ........
        """
    )

    choice = choose_best(seat_map, taken, 4, wheelchair=1)

    assert choice is not None and choice.together
    assert set(choice.seats) >= {"A5", "A6"} and {label[0] for label in choice.seats} == {"A"}


def test_a_wheelchair_party_picks_the_space_whose_row_seats_it_together():
    # The first space by the old order (two companions, nearer the middle) has no room for
    # six; the other's row has.
    seat_map, taken = house(
        """
        x.cWcx..
        ..Wc....
        """
    )

    choice = choose_best(seat_map, taken, 6, wheelchair=1)

    assert choice is not None and choice.together
    assert {label[0] for label in choice.seats} == {"B"} and "B3" in choice.seats


def test_a_wheelchair_party_is_split_rather_than_strand_a_seat_beside_it():
    # Two more beside "Wc" in "Wc..." leave B5 alone, or take B3 and B4 and leave B5 alone:
    # the rule keeps it from happening, and the two sit together elsewhere.
    seat_map, taken = house(
        """
        .......
        Wc...x.
        """
    )

    choice = choose_best(seat_map, taken, 4, wheelchair=1)

    assert choice is not None and not choice.together
    assert {"B1", "B2"} <= set(choice.seats) and "B5" not in choice.seats


def test_a_wheelchair_request_with_no_space_free_is_refused():
    seat_map, taken = house("..cxc..")

    assert choose_best(seat_map, taken, 2, wheelchair=1) is None


@given(
    rows=st.integers(1, 6),
    per_row=st.integers(1, 12),
    taken_bits=st.integers(0, 2**72 - 1),
    quantity=st.integers(1, 6),
)
def test_the_choice_is_free_seats_and_never_strands_when_it_can_be_helped(rows, per_row, taken_bits, quantity):
    seat_map = parse(grid(rows, per_row))
    labels = seat_map.labels()
    taken = {label for i, label in enumerate(labels) if taken_bits >> i & 1}

    choice = choose_best(seat_map, taken, quantity)

    if choice is None:
        return
    assert len(choice.seats) == len(set(choice.seats)) == quantity
    assert not taken & set(choice.seats)
    if choice.together:
        assert stranded_seat(seat_map, taken, choice.seats) is None


def test_a_maps_placements_are_ranked_once_each_and_best_first():
    """SweetSpot.ranked, which the choice reads in order: every side-by-side placement of
    the party in the map once (never a wheelchair space, never across an aisle), by rank."""
    seat_map, _ = house(
        """
        Wc..|...
        ........
        """
    )
    spot = seat_map.sweet_spot
    ranked = spot.ranked(2)
    expected = {("A2", "A3"), ("A3", "A4"), ("A5", "A6"), ("A6", "A7")}
    expected |= {(f"B{n}", f"B{n + 1}") for n in range(1, 8)}
    assert sorted(p.labels for p in ranked) == sorted(expected)
    assert [p.rank for p in ranked] == sorted(p.rank for p in ranked)
    assert ranked[0].labels == ("B4", "B5")  # the back row is the sweet spot's here
    assert spot.ranked(2) is ranked  # worked out once a map and party size
    # What the rule reads beside each end: A2 A3 has the space's side closed, A4 free, A5 past the aisle.
    (a2a3,) = (p for p in ranked if p.labels == ("A2", "A3"))
    assert a2a3.beyond == ((None, None), ("A4", None))
    assert a2a3.leaves_one(set()) and not a2a3.leaves_one({"A4"})
