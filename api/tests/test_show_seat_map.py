"""The seat map of a show (GET /api/shows/{id}/seats) and blocked seats (API.md (v2),
"Show"), and a screen's map changed under its shows."""

from decimal import Decimal

import pytest
from django.utils import timezone

from api import seatmaps
from api.models import AuditEntry, Screen, SeatBlock, Show, ShowPrice, TicketType
from api.seatmaps import grid, parse
from api.services import venues
from api.tests.conftest import ADA, book_seats, book_ticket, hold_seats, make_show, screen_of

pytestmark = pytest.mark.django_db

AISLE_MAP = {
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
    ]
}


# --- the seat map of a show ---------------------------------------------------------------


@pytest.fixture
def aisle_show() -> Show:
    screen = Screen.objects.create(venue=Screen.objects.default().venue, name="Aisle", seat_map=AISLE_MAP)
    return make_show(screen=screen, capacity=5)


def test_the_seat_map_of_a_show_tells_every_seat_apart(api_client, aisle_show, django_assert_num_queries):
    # By staff, exempt from the single-seat rule: A1 alone would leave A2 alone by the aisle
    # (409 single_seat_gap) until the hold takes it.
    book_ticket(aisle_show.pk, seat="A1", staff=True)
    hold_seats(aisle_show.pk, seats=["A2"])
    SeatBlock.objects.create(show=aisle_show, seat="A5", reason="broken")
    adult = TicketType.objects.default()
    ShowPrice.objects.create(show=aisle_show, ticket_type=adult, category="standard", amount=Decimal("9.50"))

    # The show with its screen and venue; its prices with their types; the booked, held
    # and blocked seats (locking.seats_in_use).
    with django_assert_num_queries(3):
        response = api_client.get(f"/api/shows/{aisle_show.pk}/seats")

    assert response.status_code == 200
    assert response.json() == {
        "show": aisle_show.pk,
        "screen": aisle_show.screen_id,
        "rows": [
            {
                "label": "A",
                "seats": [
                    {"label": "A1", "x": 1, "category": "standard", "kind": "seat", "status": "booked"},
                    {"label": "A2", "x": 2, "category": "standard", "kind": "seat", "status": "held"},
                    {"label": "A3", "x": 4, "category": "premium", "kind": "seat", "status": "free"},
                    {"label": "A4", "x": 5, "category": "standard", "kind": "wheelchair", "status": "free"},
                    {"label": "A5", "x": 6, "category": "standard", "kind": "companion", "status": "blocked"},
                ],
            }
        ],
        "prices": [{"ticket_type": "adult", "category": "standard", "amount": "9.50"}],
        "currency": "EUR",
        "seats_available": 2,  # A3 and A4 (added: the page's count, under a show's cap too)
    }
    assert "Ada" not in response.content.decode()


def test_a_show_capped_below_its_map_says_how_many_can_be_sold_not_how_many_are_free(api_client, client):
    # Capacity 3 on a 10-seat screen, 3 sold: the home page said sold out, the show page
    # "7 seats free", and every pick was refused as sold out.
    show = make_show(screen=screen_of(10), capacity=3)
    book_seats(show.pk, seats=["A1", "A2", "A3"])

    seats = api_client.get(f"/api/shows/{show.pk}/seats").json()
    page = client.get(f"/shows/{show.pk}/").content.decode()

    assert sum(s["status"] == "free" for row in seats["rows"] for s in row["seats"]) == 7
    assert seats["seats_available"] == 0
    assert '<p class="facts" id="free-count">0 seats free.</p>' in page


@pytest.mark.parametrize("pk", ["999999", "9" * 30, "x1", "\u00b2"])
def test_the_seat_map_of_an_unknown_show_is_a_404(api_client, pk):
    # Ids no show can have too: past BigAutoField's largest, not a number, a digit outside ASCII.
    response = api_client.get(f"/api/shows/{pk}/seats")

    assert (response.status_code, response.json()) == (404, {"detail": "No Show matches the given query."})


def test_seats_available_counts_blocked_places(api_client, aisle_show):
    SeatBlock.objects.create(show=aisle_show, seat="A5")
    SeatBlock.objects.create(show=aisle_show, seat="A3")

    body = api_client.get(f"/api/shows/{aisle_show.pk}").json()

    # capacity 5 of 5 places, two blocked: three can be sold.
    assert (body["capacity"], body["seats_available"], body["free_seats"]) == (5, 3, ["A1", "A2", "A4"])


def _seats_available_everywhere(client, show) -> tuple[int, int, int, int, bool]:
    """The show's seats_available as the search, the show, and its seat map say, its
    free seats, and whether the `seats` search for that many finds it."""
    one = client.get(f"/api/shows/{show.pk}").json()
    listed = client.get("/api/shows", {"screen": show.screen_id}).json()["results"]
    seat_map = client.get(f"/api/shows/{show.pk}/seats").json()
    wanted = client.get("/api/shows", {"screen": show.screen_id, "seats": one["seats_available"]}).json()
    (in_list,) = [s["seats_available"] for s in listed if s["id"] == show.pk]
    found = show.pk in [s["id"] for s in wanted["results"]]
    return in_list, one["seats_available"], seat_map["seats_available"], len(one["free_seats"]), found


def test_a_blocked_seat_staff_hold_or_sell_counts_once(staff_client):
    # A house seat that staff hold by naming it is held and blocked: the search and the
    # show counted it twice (places - sold - held - blocked: 8), the seat map once (9).
    show = make_show(screen=screen_of(10), capacity=10)
    assert staff_client.post(f"/api/shows/{show.pk}/blocks", {"seats": ["A3", "A4"]}, format="json").status_code == 201
    held = staff_client.post("/api/holds", {"show": show.pk, "seats": ["A3"]}, format="json")
    assert held.status_code == 201, held.json()

    assert _seats_available_everywhere(staff_client, show) == (8, 8, 8, 8, True)

    # Sold by staff, a blocked seat is unblocked: booked, it counts once too.
    assert staff_client.post("/api/tickets", {**ADA, "show": show.pk, "seat": "A4"}).status_code == 201
    assert _seats_available_everywhere(staff_client, show) == (8, 8, 8, 8, True)


# --- blocked seats -------------------------------------------------------------------------


def test_staff_block_and_unblock_seats(staff_client, api_client, show):
    response = staff_client.post(f"/api/shows/{show.pk}/blocks", {"seats": ["C5", "b6"], "reason": "house"})
    assert response.status_code == 400
    assert response.json() == {"seats": ["Seat C5 does not exist at this show."]}

    response = staff_client.post(f"/api/shows/{show.pk}/blocks", {"seats": ["B5", "b6"], "reason": "house"})

    assert response.status_code == 201
    assert response.json() == [
        {"show": show.pk, "seat": "B5", "reason": "house"},
        {"show": show.pk, "seat": "B6", "reason": "house"},
    ]
    booked = api_client.post("/api/tickets", {**ADA, "show": show.pk, "seat": "B5"})
    # Not "already booked or held", which it isn't.
    assert (booked.status_code, booked.json()) == (409, {"detail": "Seat B5 is not on sale.", "code": "seat_taken"})
    book_ticket(show.pk, seat="B4")
    party = api_client.post("/api/bookings", {**ADA, "show": show.pk, "seats": ["B4", "B5", "B6"]}, format="json")
    assert party.json()["detail"] == "Seats B4, B5, B6 are already booked or held, or not on sale."
    assert staff_client.delete(f"/api/shows/{show.pk}/blocks/B5").status_code == 204
    assert staff_client.delete(f"/api/shows/{show.pk}/blocks/B5").status_code == 404
    assert api_client.post("/api/tickets", {**ADA, "show": show.pk, "seat": "B5"}).status_code == 201
    assert api_client.post("/api/tickets", {**ADA, "show": show.pk, "seat": "B6"}).json()["detail"] == (
        "Seat B6 is not on sale."
    )


def test_blocking_a_seat_blocked_already_records_nothing(staff_client, show):
    # It recorded {"blocked": [], "reason": ""}, a change of nothing (the seat kept its reason).
    assert staff_client.post(f"/api/shows/{show.pk}/blocks", {"seats": ["B5"], "reason": "house"}).status_code == 201

    again = staff_client.post(f"/api/shows/{show.pk}/blocks", {"seats": ["B5"], "reason": "broken"})

    assert (again.status_code, again.json()) == (201, [{"show": show.pk, "seat": "B5", "reason": "house"}])
    assert list(AuditEntry.objects.filter(action="seats.blocked").values_list("changes", flat=True)) == [
        {"blocked": ["B5"], "reason": "house"}
    ]


def test_anonymous_clients_cannot_block(api_client, show):
    response = api_client.post(f"/api/shows/{show.pk}/blocks", {"seats": ["B5"]})

    assert (response.status_code, response.json()) == (401, {"detail": "Authentication credentials were not provided."})
    assert api_client.delete(f"/api/shows/{show.pk}/blocks/B5").status_code == 401


def test_a_booked_or_held_seat_cannot_be_blocked(staff_client, show):
    book_ticket(show.pk, seat="A1")
    hold_seats(show.pk, seats=["A2"])

    for seat in ("A1", "A2"):
        response = staff_client.post(f"/api/shows/{show.pk}/blocks", {"seats": [seat]})
        assert response.status_code == 409
        assert response.json() == {"detail": f"Seat {seat} is already booked or held.", "code": "seat_taken"}
    assert not SeatBlock.objects.exists()


def test_staff_may_book_a_blocked_seat_by_naming_it(staff_client, show):
    SeatBlock.objects.create(show=show, seat="A1", reason="house")

    response = staff_client.post("/api/tickets", {**ADA, "show": show.pk, "seat": "A1"})

    assert response.status_code == 201
    assert not SeatBlock.objects.exists()  # the house seat has found its guest


def test_a_blocked_seat_sold_or_moved_to_by_staff_is_recorded_unblocked(staff_client, show):
    # The block went with no entry: the show's trail ended at "seats.blocked".
    SeatBlock.objects.bulk_create([SeatBlock(show=show, seat=seat, reason="house") for seat in ("A1", "A2")])
    sold = staff_client.post("/api/tickets", {**ADA, "show": show.pk, "seat": "A1"}, format="json")
    moved = staff_client.patch(f"/api/tickets/{sold.json()['id']}", {"seat": "A2"}, format="json")

    assert (sold.status_code, moved.status_code) == (201, 200)
    entries = AuditEntry.objects.filter(action="seats.unblocked", object_id=str(show.pk)).order_by("pk")
    assert [e.changes for e in entries] == [
        {"unblocked": ["A1"], "reason": "sold"},
        {"unblocked": ["A2"], "reason": "sold"},
    ]


def test_the_service_never_chooses_a_blocked_seat(api_client, show):
    # B5 is the seat best-available chooses first on the default 2x10 screen.
    SeatBlock.objects.create(show=show, seat="B5")

    response = api_client.post("/api/tickets", {**ADA, "show": show.pk})

    assert response.json()["seat"] == "B6"  # the next best, beside it


def test_a_blocked_seat_is_sold_out_when_nothing_else_is_free(api_client):
    screen = Screen.objects.create(venue=Screen.objects.default().venue, name="Two", seat_map=grid(1, 2))
    show = make_show(screen=screen)
    SeatBlock.objects.create(show=show, seat="A1")
    book_ticket(show.pk)

    response = api_client.post("/api/tickets", {**ADA, "show": show.pk})

    assert (response.status_code, response.json()["code"]) == (409, "sold_out")


def test_a_screens_parsed_map_follows_its_document(db):
    # Kept on the instance (a sale reads it three times), but never past a new document.
    screen = Screen.objects.create(venue=Screen.objects.default().venue, name="Memo", seat_map=grid(2, 3))
    first = screen.seats
    assert screen.seats is first and first.capacity == 6

    screen.seat_map = grid(3, 3)

    assert screen.seats.capacity == 9
    screen.save()
    assert Screen.objects.get(pk=screen.pk).capacity == 9


def test_reads_that_leave_the_map_unread_follow_a_changed_map(api_client):
    # The show lock reads the screen's digest of its map, not the map (Screen.seats): a new
    # map has a new digest, so the next booking sells from it, in this process as in any.
    screen = Screen.objects.create(venue=Screen.objects.default().venue, name="Grows", seat_map=grid(1, 2))
    show = make_show(screen=screen)
    book_seats(show.pk, quantity=2)
    assert api_client.post("/api/tickets", {**ADA, "show": show.pk}).json()["code"] == "sold_out"
    first_digest = screen.seat_map_digest

    venues.screen_save(screen=screen, seat_map=parse(grid(2, 2)), now=timezone.now())

    locked = Show.objects.select_related("screen").defer("screen__seat_map").get(pk=show.pk)
    assert locked.screen.seat_map_digest not in ("", first_digest)
    assert locked.screen.seats.capacity == 4
    response = api_client.post("/api/tickets", {**ADA, "show": show.pk})
    assert (response.status_code, response.json()["seat"][0]) == (201, "B")


def test_a_map_changed_between_the_digest_and_the_document_is_kept_under_its_own(db, monkeypatch):
    # Screen.seats, with the document left unread (the lock's read, the seat map answer's),
    # fetches it in a later statement: a map committed in between was kept under the digest
    # read before it, for the process's life. When staff then put the old map back, this
    # process read it as the new one, and Screen.save (parsing through the same store)
    # wrote the new one.
    monkeypatch.setattr(seatmaps, "_kept", {})
    screen = screen_of(10)  # A1-A10
    ten = screen.seat_map
    read = Screen.objects.defer("seat_map").get(pk=screen.pk)  # the digest of the ten
    venues.screen_save(screen=Screen.objects.get(pk=screen.pk), seat_map=parse(grid(1, 5)), now=timezone.now())
    seatmaps._kept.clear()  # what that change parsed is in its own process, not this one's

    assert (read.seats.capacity, read.capacity) == (5, 5)  # the map read, with its digest
    assert read.seat_map_digest == Screen.objects.get(pk=screen.pk).seat_map_digest

    venues.screen_save(screen=Screen.objects.get(pk=screen.pk), seat_map=parse(ten), now=timezone.now())

    stored = Screen.objects.get(pk=screen.pk)
    assert (stored.capacity, len(stored.seat_map["rows"][0]["seats"])) == (10, 10)
    assert Screen.objects.defer("seat_map").get(pk=screen.pk).seats.capacity == 10


def test_a_category_dropped_from_the_setting_leaves_its_shows_on_sale(api_client, settings):
    # Stored maps were checked against BOOKING_SEAT_CATEGORIES on every load: once premium
    # left it, every show of a screen with premium seats was a 500 (the seat map, holds,
    # bookings, the show's page). No new map may use it; the stored ones stay readable.
    rows = grid(2, 5)["rows"]
    rows[1]["seats"][0]["category"] = "premium"
    screen = Screen.objects.create(venue=Screen.objects.default().venue, name="Banded", seat_map={"rows": rows})
    show = make_show(screen=screen, capacity=10)
    seatmaps._kept.clear()  # as a process started after the change
    settings.BOOKING_SEAT_CATEGORIES = ["standard", "vip"]

    seats = api_client.get(f"/api/shows/{show.pk}/seats")
    booked = api_client.post("/api/tickets", {**ADA, "show": show.pk}, format="json")
    page = api_client.get(f"/shows/{show.pk}/")

    assert seats.status_code == 200, seats.content
    assert [s["category"] for s in seats.json()["rows"][1]["seats"]][:2] == ["premium", "standard"]
    assert booked.status_code == 201, booked.json()
    assert page.status_code == 200
