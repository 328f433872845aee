"""Properties of the seat choice (API.md (v2), "Choosing seats") over random seat maps with
aisles, wheelchair spaces, companion seats, blocked and taken seats.

The oracle below is written from the contract and the README's ranking, not from
api/seatmaps.py: it brute-forces every placement of a small map and checks the rules seat by
seat, so that a shared mistake can't make both sides agree.
"""

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from api.seatchoice import Choice, choose_best, stranded_seat
from api.seatmaps import SeatMap, parse, row_label

# --- the oracle ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    label: str
    row: int
    x: int
    kind: str


@dataclass(frozen=True)
class House:
    """A small map as the oracle reads it: rows of places, and what can't be sold."""

    rows: list[list[Place]]
    taken: frozenset[str]
    blocked: frozenset[str]

    @property
    def unavailable(self) -> frozenset[str]:
        return self.taken | self.blocked

    @property
    def places(self) -> dict[str, Place]:
        return {p.label: p for row in self.rows for p in row}


def sellable(row: list[Place], gone: frozenset[str]) -> list[Place]:
    """Places of the row anyone may be given: not gone, not a wheelchair space."""
    return [p for p in row if p.label not in gone and p.kind != "wheelchair"]


def alone(row: list[Place], gone: frozenset[str]) -> set[str]:
    """Sellable places with no sellable place at x - 1 or x + 1."""
    xs = {p.x for p in sellable(row, gone)}
    return {p.label for p in sellable(row, gone) if p.x - 1 not in xs and p.x + 1 not in xs}


def newly_alone(row: list[Place], gone: frozenset[str], taking: set[str]) -> set[str]:
    return alone(row, gone | taking) - alone(row, gone)


def side_by_side_in(row: list[Place], gone: frozenset[str], size: int) -> list[list[Place]]:
    """Every run of `size` sellable places at consecutive x in the row."""
    by_x = {p.x: p for p in sellable(row, gone)}
    runs = []
    for start in sorted(by_x):
        run = [by_x.get(start + i) for i in range(size)]
        if all(run):
            runs.append([p for p in run if p is not None])
    return runs


def rule_allows(house: House, chosen: list[str]) -> bool:
    """The single-seat rule, row by row: a row may strand a seat only when every
    side-by-side placement of as many seats in it would strand one too (a wheelchair
    space taken is no seat: it is never a neighbour). A wheelchair space chosen, and the
    companion seats chosen beside it, are where they are: taken, not judged (as the
    service gives them to a wheelchair party)."""
    places = house.places
    spaces = [places[label] for label in chosen if places[label].kind == "wheelchair"]
    fixed = {space.label for space in spaces} | {
        p.label
        for space in spaces
        for p in house.rows[space.row]
        if p.kind == "companion" and abs(p.x - space.x) == 1 and p.label in chosen
    }
    gone = house.unavailable | fixed
    for row in house.rows:
        mine = {p.label for p in row if p.label in chosen and p.label not in fixed}
        if not mine or not newly_alone(row, gone, mine):
            continue
        if any(not newly_alone(row, gone, {p.label for p in run}) for run in side_by_side_in(row, gone, len(mine))):
            return False
    return True


def sweet_spot_rank(house: House, run: list[Place]) -> tuple[float, int, int]:
    """The README's ranking: squared distance from the sweet spot (the middle of the map's
    width, round(two-thirds) of the way back), a row counting as two seats; ties to the
    front, then the left."""
    xs = [p.x for row in house.rows for p in row]
    spot_row, spot_x = round((len(house.rows) - 1) * 2 / 3), (min(xs) + max(xs)) / 2
    middle = (run[0].x + run[-1].x) / 2
    return (2 * (run[0].row - spot_row)) ** 2 + (middle - spot_x) ** 2, run[0].row, run[0].x


def companion_places(run: list[Place]) -> int:
    return sum(1 for p in run if p.kind == "companion")


def best_together(house: House, quantity: int, *, rule: bool) -> list[str] | None:
    """With the rule: the best placement that strands no seat, in any row; only when none
    does, the best the rule allows row by row (API.md: the service "never strands a seat
    when a placement without one exists"). Best: the README's companion seats kept for
    last (of those placements, the ones with the fewest companion places), then its
    sweet-spot ranking."""
    runs = [run for row in house.rows for run in side_by_side_in(row, house.unavailable, quantity)]
    if rule:
        clean = [
            run for run in runs if not newly_alone(house.rows[run[0].row], house.unavailable, {p.label for p in run})
        ]
        runs = clean or [run for run in runs if rule_allows(house, [p.label for p in run])]
    if not runs:
        return None
    fewest = min(companion_places(run) for run in runs)
    runs = [run for run in runs if companion_places(run) == fewest]
    return sorted(p.label for p in min(runs, key=lambda run: sweet_spot_rank(house, run)))


def fewest_rows(house: House, quantity: int) -> int | None:
    """The fewest rows whose sellable places can seat the party (not side by side)."""
    free = sorted((len(sellable(row, house.unavailable)) for row in house.rows), reverse=True)
    for rows in range(1, len(free) + 1):
        if sum(free[:rows]) >= quantity:
            return rows
    return None


# --- random houses ---------------------------------------------------------------------------

STATES = ["free", "free", "free", "taken", "blocked"]
KIND = ["seat", "seat", "seat", "seat", "wheelchair", "companion"]


@st.composite
def houses(draw) -> tuple[House, dict]:
    """A map of 1 to 4 rows of 1 to 8 places, aisles anywhere, a mix of kinds and states,
    and its document."""
    rows, document = [], []
    for r in range(draw(st.integers(1, 4))):
        label, places, seats, x = row_label(r), [], [], draw(st.integers(0, 2))
        for number in range(1, draw(st.integers(1, 8)) + 1):
            x += draw(st.sampled_from([1, 1, 1, 2, 3]))  # a step over 1 is an aisle
            kind = draw(st.sampled_from(KIND))
            places.append((Place(f"{label}{number}", r, x, kind), draw(st.sampled_from(STATES))))
            seats.append({"number": number, "x": x, "kind": kind})
        rows.append(places)
        document.append({"label": label, "seats": seats})
    taken = frozenset(p.label for row in rows for p, state in row if state == "taken")
    blocked = frozenset(p.label for row in rows for p, state in row if state == "blocked")
    house = House(rows=[[p for p, _ in row] for row in rows], taken=taken, blocked=blocked)
    return house, {"rows": document}


def choose(seat_map: SeatMap, house: House, quantity: int, **options) -> Choice | None:
    return choose_best(seat_map, set(house.unavailable), quantity, **options)


# --- the properties --------------------------------------------------------------------------

PROPERTY = settings(max_examples=200, deadline=None)


@PROPERTY
@given(houses(), st.integers(1, 6), st.booleans())
def test_best_available_obeys_the_contract(drawn, quantity, rule):
    house, document = drawn
    seat_map = parse(document)

    choice = choose(seat_map, house, quantity, single_seat_rule=rule)

    free = sum(len(sellable(row, house.unavailable)) for row in house.rows)
    if choice is None:
        assert free < quantity  # sold out only when the party can't be seated at all
        return
    places = house.places
    # Free seats only, never a wheelchair space, as many as asked, in the map's order.
    assert len(choice.seats) == len(set(choice.seats)) == quantity
    assert not set(choice.seats) & house.taken and not set(choice.seats) & house.blocked
    assert all(places[label].kind != "wheelchair" for label in choice.seats)
    assert choice.seats == [label for label in seat_map.labels() if label in choice.seats]
    # Together whenever some row can seat the party, and then the best placement.
    together = best_together(house, quantity, rule=rule)
    if together is not None:
        assert choice.together
        assert sorted(choice.seats) == together
    else:
        assert not choice.together
        assert len({places[label].row for label in choice.seats}) == fewest_rows(house, quantity)
    if rule:
        assert rule_allows(house, choice.seats)


@PROPERTY
@given(houses(), st.integers(1, 6), st.randoms(use_true_random=False))
def test_the_same_state_and_request_give_the_same_seats(drawn, quantity, shuffler):
    house, document = drawn
    first = choose(parse(document), house, quantity)

    # The same map listed in another order, and the unavailable seats gathered in another order.
    rows = document["rows"]
    shuffled = {"rows": [{**row, "seats": shuffler.sample(row["seats"], len(row["seats"]))} for row in rows]}
    gone = list(house.unavailable)
    shuffler.shuffle(gone)
    again = choose_best(parse(shuffled), set(gone), quantity)

    assert first == again
    assert first == choose(parse(document), house, quantity)


@PROPERTY
@given(houses(), st.integers(1, 6))
def test_a_wheelchair_request_gets_one_space_and_the_companions_beside_it(drawn, quantity):
    house, document = drawn
    seat_map = parse(document)

    choice = choose(seat_map, house, quantity, wheelchair=1)

    places, gone = house.places, house.unavailable
    spaces = [p for p in places.values() if p.kind == "wheelchair" and p.label not in gone]
    free = sum(len(sellable(row, gone)) for row in house.rows)
    if choice is None:
        assert not spaces or free < quantity - 1
        return
    assert len(choice.seats) == len(set(choice.seats)) == quantity
    assert not set(choice.seats) & gone
    (space,) = [places[label] for label in choice.seats if places[label].kind == "wheelchair"]
    beside = [
        p for p in house.rows[space.row] if p.kind == "companion" and abs(p.x - space.x) == 1 and p.label not in gone
    ]
    assert sum(p.label in choice.seats for p in beside) == min(quantity - 1, len(beside))
    # The companions beside the space come first, even when they leave a seat alone in its
    # row ("..Wc." strands the last seat); the rest of the party keeps the rule elsewhere.
    assert rule_allows(house, [label for label in choice.seats if places[label].row != space.row])


@PROPERTY
@given(houses(), st.data())
def test_named_seats_are_refused_exactly_when_they_strand_one(drawn, data):
    house, document = drawn
    seat_map = parse(document)
    # Wheelchair spaces too: a customer may name one, with its companion seats.
    free = [p.label for row in house.rows for p in row if p.label not in house.unavailable]
    wanted = data.draw(st.lists(st.sampled_from(free), min_size=1, max_size=4, unique=True)) if free else []
    if not wanted:
        return

    stranded = stranded_seat(seat_map, set(house.unavailable), wanted)

    assert (stranded is None) == rule_allows(house, wanted)
    if stranded is not None:  # the seat named is one the request would leave alone
        row = house.rows[house.places[stranded].row]
        assert stranded in newly_alone(row, house.unavailable, set(wanted))


# --- the oracle's own checks, on pictures one can verify by eye ------------------------------


def test_the_oracle_reads_the_rule_as_the_contract_words_it():
    row = [Place(f"A{n}", 0, n, "seat") for n in range(1, 6)]
    house = House(rows=[row], taken=frozenset({"A1"}), blocked=frozenset())

    assert not rule_allows(house, ["A3", "A4"])  # A2 left alone, and A2 A3 would leave none
    assert rule_allows(house, ["A2", "A3"])
    assert rule_allows(House(rows=[row[:4]], taken=frozenset({"A1"}), blocked=frozenset()), ["A2"])  # A3 A4 stay


def test_a_row_that_strands_none_is_chosen_over_a_nearer_row_that_is_only_exempt():
    # Rows A (4 seats) and B (3, nearer the sweet spot), a party of 2: B2+B3 strands B1 (B's
    # every placement strands one, so the row is exempt), A1+A2 strands nothing. The choice
    # took B2+B3.
    rows = [[Place(f"A{n}", 0, n, "seat") for n in range(1, 5)], [Place(f"B{n}", 1, n, "seat") for n in range(1, 4)]]
    house = House(rows=rows, taken=frozenset(), blocked=frozenset())
    document = {"rows": [{"label": r[0].label[0], "seats": [{"number": p.x} for p in r]} for r in rows]}

    choice = choose(parse(document), house, 2, single_seat_rule=True)

    assert choice is not None and choice.seats == best_together(house, 2, rule=True) == ["A1", "A2"]


def test_the_oracle_takes_a_named_space_and_its_companions_as_they_are():
    row = [Place("A1", 0, 1, "seat"), Place("A2", 0, 2, "seat"), Place("A3", 0, 3, "companion")]
    row += [Place("A4", 0, 4, "wheelchair"), Place("A5", 0, 5, "companion")]
    row += [Place(f"A{n}", 0, n, "seat") for n in (6, 7, 8)]
    house = House(rows=[row], taken=frozenset({"A1"}), blocked=frozenset())

    assert rule_allows(house, ["A3", "A4"])  # A2 left alone, as the choice would leave it
    assert not rule_allows(house, ["A3"])  # a companion seat alone is a seat like any: A8 strands none


def test_the_oracle_ranks_as_the_readme_pictures_it():
    rows = [[Place(f"{row_label(r)}{n}", r, n, "seat") for n in range(1, 11)] for r in range(6)]
    empty = House(rows=rows, taken=frozenset(), blocked=frozenset())

    assert best_together(empty, 2, rule=True) == ["D5", "D6"]
    assert best_together(empty, 4, rule=True) == ["D4", "D5", "D6", "D7"]
    row_d_full = House(rows=rows, taken=frozenset(p.label for p in rows[3]), blocked=frozenset())
    assert best_together(row_d_full, 2, rule=True) == ["C5", "C6"]  # C and E tie: nearer the screen
    assert fewest_rows(row_d_full, 21) == 3
