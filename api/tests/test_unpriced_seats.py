"""Seats of a category that a show prices nowhere are not on sale (API.md, "Show" and
"Ticket types and prices"): they count in no seats_available, no free_seats and no search,
read blocked on the seat map and the show's page, and a show whose only free seats are
such is sold out for its waiting list. A show without prices sells every seat, as before."""

import pytest
from django.utils import timezone

from api.models import Screen, ScreenSeat, SeatBlock, Show, WaitlistEntry
from api.seatmaps import grid, parse
from api.services import venues
from api.tests.conftest import add_price, book_seats, hold_seats, make_show
from api.tests.waitlist_helpers import join, offer_seats

pytestmark = pytest.mark.django_db

STANDARD = ["A1", "A2", "A3", "A4"]
PREMIUM = ["B1", "B2", "B3", "B4"]


def split_map(premium: list[str]) -> dict:
    """Rows A and B of 4 seats each, the seats `premium` names premium, the others standard."""
    rows = grid(2, 4)["rows"]
    for row in rows:
        for seat in row["seats"]:
            if f"{row['label']}{seat['number']}" in premium:
                seat["category"] = "premium"
    return {"rows": rows}


@pytest.fixture
def split() -> Show:
    """A show of 8 seats, row B premium, without prices yet."""
    screen = Screen.objects.create(venue=Screen.objects.default().venue, name="Split", seat_map=split_map(PREMIUM))
    return make_show(screen=screen, capacity=8)


def counts(client, show: Show) -> dict:
    """Every answer that says what the show has on sale."""
    seat_map = client.get(f"/api/shows/{show.pk}/seats").json()
    detail = client.get(f"/api/shows/{show.pk}").json()
    listed = client.get("/api/shows").json()["results"]
    return {
        "list": next(s["seats_available"] for s in listed if s["id"] == show.pk),
        "detail": detail["seats_available"],
        "seat map": seat_map["seats_available"],
        "free_seats": detail["free_seats"],
        "statuses": {seat["label"]: seat["status"] for row in seat_map["rows"] for seat in row["seats"]},
    }


def found_by_seats(client, show: Show, seats: int) -> bool:
    return show.pk in [s["id"] for s in client.get(f"/api/shows?seats={seats}").json()["results"]]


def test_seats_of_a_category_the_show_prices_nowhere_are_not_on_sale(staff_client, api_client, split):
    add_price(split, "adult", "10.00")  # standard only

    found = counts(api_client, split)

    assert (found["list"], found["detail"], found["seat map"]) == (4, 4, 4)
    assert found["free_seats"] == STANDARD
    assert found["statuses"] == {**dict.fromkeys(STANDARD, "free"), **dict.fromkeys(PREMIUM, "blocked")}
    assert (found_by_seats(api_client, split, 4), found_by_seats(api_client, split, 5)) == (True, False)
    assert found_by_seats(staff_client, split, 5) is False  # staff read the database too
    # What the answers say is what a sale finds: the premium seats are refused.
    held = api_client.post("/api/holds", {"show": split.pk, "seats": ["B1", "B2"]}, format="json")
    assert held.status_code == 400
    assert api_client.post("/api/holds", {"show": split.pk, "quantity": 5}, format="json").status_code == 409


def test_unpriced_seats_already_booked_held_or_blocked_are_counted_once(api_client, split):
    # Sold at 0.00 while the show had no prices; then staff price the standard seats alone.
    book_seats(split.pk, seats=["A1", "B1"], staff=True)
    hold_seats(split.pk, seats=["B2"], staff=True)
    SeatBlock.objects.create(show=split, seat="B3", reason="house")
    add_price(split, "adult", "10.00")

    found = counts(api_client, split)

    # A2 to A4 are on sale; B4 is free but unpriced; B1 to B3 are off sale already.
    assert (found["list"], found["detail"], found["seat map"]) == (3, 3, 3)
    assert found["free_seats"] == ["A2", "A3", "A4"]
    assert [found["statuses"][label] for label in ["A1", "B1", "B2", "B3", "B4"]] == [
        "booked",
        "booked",
        "held",
        "blocked",
        "blocked",
    ]
    assert (found_by_seats(api_client, split, 3), found_by_seats(api_client, split, 4)) == (True, False)


def test_a_show_without_prices_sells_every_seat_as_before(api_client, split):
    found = counts(api_client, split)

    assert (found["list"], found["detail"], found["seat map"]) == (8, 8, 8)
    assert found["free_seats"] == [*STANDARD, *PREMIUM]
    assert set(found["statuses"].values()) == {"free"}
    assert found_by_seats(api_client, split, 8)
    sold = api_client.post(
        "/api/bookings", {"show": split.pk, "seats": ["B1", "B2"], "name": "Ada", "phone_number": "+914155550123"}
    )
    assert (sold.status_code, sold.json()["total"]) == (201, "0.00")


def test_a_category_priced_for_one_ticket_type_is_on_sale(api_client, split):
    add_price(split, "adult", "10.00")
    add_price(split, "child", "14.00", category="premium")  # children only, in premium

    found = counts(api_client, split)

    assert (found["list"], found["detail"], found["seat map"]) == (8, 8, 8)
    assert set(found["statuses"].values()) == {"free"}


def test_a_show_whose_only_free_seats_are_unpriced_is_sold_out_for_its_waiting_list(api_client, split):
    add_price(split, "adult", "10.00")
    sale = book_seats(split.pk, seats=STANDARD, staff=True)

    found = counts(api_client, split)
    assert (found["list"], found["detail"], found["seat map"], found["free_seats"]) == (0, 0, 0, [])
    assert not found_by_seats(api_client, split, 1)
    sold_out = api_client.post("/api/holds", {"show": split.pk, "quantity": 1}, format="json")
    assert (sold_out.status_code, sold_out.json()["code"]) == (409, "sold_out")
    # The list opens (not "seats_available": book them), and no offer holds a premium seat.
    assert join(api_client, split, party_size=1).status_code == 201
    offer_seats()
    assert WaitlistEntry.objects.get().status == "waiting"

    # A standard seat comes free: it is offered.
    assert api_client.delete(f"/api/tickets/{sale.tickets[1].pk}").status_code == 204
    offer_seats()
    entry = WaitlistEntry.objects.select_related("offer").get()
    assert (entry.status, entry.offer.seats) == ("offered", ["A2"])


def test_the_show_page_offers_no_unpriced_seat(client, split):
    add_price(split, "adult", "10.00")

    html = client.get(f"/shows/{split.pk}/").content.decode()

    assert "4 seats free." in html
    assert '<input type="checkbox" name="seats" value="A1"> A1</label>' in html
    assert '<input type="checkbox" name="seats" value="B1" disabled> B1 premium (blocked)</label>' in html


def test_the_search_follows_a_seat_map_that_moves_seats_between_categories(api_client, split):
    add_price(split, "adult", "10.00")
    screen = split.screen

    venues.screen_save(screen=screen, seat_map=parse(split_map(["B3", "B4"])), now=timezone.now())

    assert dict(ScreenSeat.objects.filter(screen=screen).values_list("label", "category")) == {
        label: "premium" if label in ("B3", "B4") else "standard" for label in [*STANDARD, *PREMIUM]
    }
    found = counts(api_client, split)
    assert (found["list"], found["detail"], found["seat map"]) == (6, 6, 6)
    assert found_by_seats(api_client, split, 6) and not found_by_seats(api_client, split, 7)


def test_a_price_for_the_default_type_alone_is_what_a_quantity_sells(api_client, split):
    """The premium seats priced for children alone count as on sale; a request for the
    default type's seats is still given standard ones (as it was)."""
    add_price(split, "adult", "10.00")
    add_price(split, "child", "14.00", category="premium")
    held = api_client.post("/api/holds", {"show": split.pk, "quantity": 2}, format="json").json()

    assert [line["category"] for line in held["lines"]] == ["standard", "standard"]
    assert held["total"] == "20.00"
