"""Shows of films on screens (API.md (v2), "Show"): times in the venue's zone, overlaps,
several shows at one moment, the seat map of a show and blocked seats."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from api.models import Film, Screen, SeatBlock, Show, ShowPrice, TicketType, Venue
from api.seatmaps import grid, parse
from api.services import venues
from api.tests.conftest import ADA, book_seats, book_ticket, hold_seats, make_show, postgres_only, screen_of

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


@pytest.fixture
def istanbul() -> Venue:
    return Venue.objects.create(name="Odeon Kadıköy", time_zone="Europe/Istanbul", currency="TRY", country="TR")


@pytest.fixture
def dune() -> Film:
    return Film.objects.create(title="Dune: Part Three", runtime_minutes=166, rating="PG-13")


def in_days(days: int):
    return timezone.localdate() + timedelta(days=days)


def test_staff_schedule_a_film_on_a_screen_in_the_venues_zone(staff_client, istanbul, dune):
    screen = Screen.objects.create(venue=istanbul, name="Screen 1", seat_map=grid(12, 10))
    day = in_days(5)

    response = staff_client.post(
        "/api/shows", {"screen": screen.pk, "film": dune.pk, "date": day.isoformat(), "time": "19:30"}, format="json"
    )

    assert response.status_code == 201, response.json()
    show = Show.objects.get()
    assert response.json() == {
        "id": show.pk,
        "film": dune.pk,
        "title": "Dune: Part Three",
        "venue": istanbul.pk,
        "screen": screen.pk,
        "date": day.isoformat(),
        "time": "19:30",
        "starts_at": f"{day.isoformat()}T19:30:00+03:00",
        "ends_at": f"{day.isoformat()}T22:16:00+03:00",
        "capacity": 120,
        "tickets_booked": 0,
        "seats_available": 120,
        "expired": False,
        "currency": "TRY",
        "prices": [],  # v2: none set yet
    }
    assert show.busy_until - show.ends_at == timedelta(minutes=15)  # BOOKING_CLEANING_MINUTES


def test_a_capacity_above_the_map_is_a_400(staff_client):
    day = in_days(5)

    response = staff_client.post(
        "/api/shows", {"title": "Big", "date": day.isoformat(), "time": "19:30", "capacity": 21}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"capacity": ["Capacity can't be above the 20 places of the screen's seat map."]}


def test_two_shows_on_one_screen_never_overlap(staff_client, dune):
    day = in_days(5)
    first = staff_client.post("/api/shows", {"film": dune.pk, "date": day.isoformat(), "time": "18:00"}, format="json")
    show = Show.objects.get(pk=first.json()["id"])

    # Dune runs 166 minutes to 20:46, then 15 minutes of cleaning: 21:01 is the first free minute.
    clash = staff_client.post("/api/shows", {"title": "Late", "date": day.isoformat(), "time": "21:00"}, format="json")
    fits = staff_client.post("/api/shows", {"title": "Later", "date": day.isoformat(), "time": "21:01"}, format="json")
    before = staff_client.post(
        "/api/shows", {"title": "Early", "date": day.isoformat(), "time": "16:00"}, format="json"
    )

    assert clash.status_code == 400
    assert clash.json() == {
        "starts_at": [
            f"Show {show.pk} (Dune: Part Three, {day.isoformat()} 18:00) keeps this screen busy until 21:01 "
            "(with cleaning): shows of one screen can't overlap."
        ]
    }
    assert fits.status_code == 201
    # 16:00 + 120 minutes (no film) + 15 of cleaning ends at 18:15, into Dune's 18:00.
    assert before.status_code == 400
    assert Show.objects.count() == 2


def test_moving_a_show_onto_another_is_refused(staff_client):
    day = in_days(5)
    a = staff_client.post("/api/shows", {"title": "A", "date": day.isoformat(), "time": "10:00"}, format="json")
    b = staff_client.post("/api/shows", {"title": "B", "date": day.isoformat(), "time": "14:00"}, format="json")

    response = staff_client.patch(f"/api/shows/{b.json()['id']}", {"date": day.isoformat(), "time": "11:00"})

    assert response.status_code == 400
    assert list(response.json()) == ["starts_at"]
    assert Show.objects.get(pk=a.json()["id"]).starts_at.hour == 10


@postgres_only
def test_the_database_refuses_an_overlap_the_check_did_not_see():
    """Two staff requests racing past the service's check both reach the INSERT: the
    exclusion constraint refuses the second (PostgreSQL)."""
    screen = Screen.objects.default()
    start = timezone.now().replace(second=0, microsecond=0) + timedelta(days=3)
    Show.objects.create(
        screen=screen, starts_at=start, ends_at=start + timedelta(hours=2), busy_until=start + timedelta(hours=2)
    )
    later = start + timedelta(hours=1)
    with pytest.raises(IntegrityError, match="show_no_overlap_on_screen"), transaction.atomic():
        end = later + timedelta(hours=2)
        Show.objects.create(screen=screen, starts_at=later, ends_at=end, busy_until=end)
    assert connection.vendor == "postgresql"


def test_open_timings_never_conflict(api_client):
    day = in_days(4)
    for at in ("19:30", "19:35"):
        response = api_client.post("/api/tickets", {**ADA, "date": day.isoformat(), "time": at})
        assert response.status_code == 201, response.json()
    assert Show.objects.count() == 2


def test_several_shows_at_one_moment_on_different_screens(api_client, staff_client):
    day = in_days(5)
    big = Screen.objects.create(venue=Screen.objects.default().venue, name="Screen 2", seat_map=grid(3, 10))
    main = staff_client.post("/api/shows", {"title": "Main", "date": day.isoformat(), "time": "20:00"}, format="json")
    other = staff_client.post(
        "/api/shows", {"title": "Other", "screen": big.pk, "date": day.isoformat(), "time": "20:00"}, format="json"
    )
    assert main.status_code == other.status_code == 201

    ambiguous = api_client.post("/api/tickets", {**ADA, "date": day.isoformat(), "time": "20:00"})
    narrowed = api_client.post("/api/tickets", {**ADA, "date": day.isoformat(), "time": "20:00", "screen": big.pk})

    assert ambiguous.status_code == 400
    assert ambiguous.json() == {"show": ["Several shows start at this date and time: give show, screen or venue."]}
    assert narrowed.status_code == 201
    assert (narrowed.json()["show"], narrowed.json()["screen"]) == (other.json()["id"], big.pk)


def test_date_and_time_are_read_in_the_venues_zone(api_client, istanbul):
    screen = Screen.objects.create(venue=istanbul, name="Screen 1", seat_map=grid(2, 10))
    day = in_days(6)
    show = make_show(days=6, hour=16, minute=30, screen=screen)  # 16:30 UTC is 19:30 in Istanbul

    response = api_client.post("/api/tickets", {**ADA, "date": day.isoformat(), "time": "19:30", "venue": istanbul.pk})

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["show"], body["time"], body["starts_at"]) == (show.pk, "19:30", f"{day.isoformat()}T19:30:00+03:00")


def test_a_time_at_another_venue_never_makes_an_open_timing(api_client, istanbul):
    Screen.objects.create(venue=istanbul, name="Screen 1", seat_map=grid(2, 10))

    response = api_client.post(
        "/api/tickets", {**ADA, "date": in_days(6).isoformat(), "time": "10:00", "venue": istanbul.pk}
    )

    assert (response.status_code, response.json()) == (400, {"time": ["No show is scheduled at this date and time."]})
    assert not Show.objects.exists()


def test_open_timings_reach_at_most_60_days(api_client):
    response = api_client.post("/api/tickets", {**ADA, "date": in_days(61).isoformat(), "time": "19:30"})

    assert response.status_code == 400
    assert response.json() == {"date": ["Shows can be booked at most 60 days ahead without a scheduled show."]}


def test_filters_venue_screen_and_film(api_client, istanbul, dune):
    screen = Screen.objects.create(venue=istanbul, name="Screen 1", seat_map=grid(2, 10))
    there = make_show(days=3, screen=screen, film=dune)
    here = make_show(days=3, hour=10)

    def ids(**query) -> list[int]:
        return [s["id"] for s in api_client.get("/api/shows", query).json()["results"]]

    assert ids(venue=istanbul.pk) == [there.pk]
    assert ids(venue=here.screen.venue_id) == [here.pk]
    assert ids(screen=screen.pk) == [there.pk]
    assert ids(film=dune.pk) == [there.pk]
    assert ids(film=dune.pk + 1) == []


@pytest.mark.parametrize("param", ["venue", "screen", "film"])
@pytest.mark.parametrize("value", ["99999999999999999999", str(2**63), "-99999999999999999999", "1.5", "0"])
def test_an_id_filter_no_row_can_have_matches_nothing(api_client, dune, param, value):
    # Past 64 bits SQLite raised OverflowError (a 500) where PostgreSQL matched nothing;
    # 1.5 matched id 1 on both.
    make_show(film=dune)
    api_client.raise_request_exception = False

    response = api_client.get("/api/shows", {param: value})

    assert (response.status_code, response.json()["results"]) == (200, [])
    assert api_client.get("/api/shows", {param: "many"}).json() == {param: ["Enter a number."]}


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
    assert (booked.status_code, booked.json()["code"]) == (409, "seat_taken")
    assert staff_client.delete(f"/api/shows/{show.pk}/blocks/B5").status_code == 204
    assert staff_client.delete(f"/api/shows/{show.pk}/blocks/B5").status_code == 404
    assert api_client.post("/api/tickets", {**ADA, "show": show.pk, "seat": "B5"}).status_code == 201


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


def test_screens_filtered_by_venue_match_nothing_for_an_unknown_one(api_client):
    # As every other id filter does (?show=, ?venue= of shows and tickets); it was a 400
    # "Select a valid choice" for a venue deleted since the client read it.
    annex = Venue.objects.create(name="Annex")
    small = Screen.objects.create(venue=annex, name="Small", seat_map=grid(1, 5))

    mine = api_client.get(f"/api/screens?venue={annex.pk}")
    unknown = api_client.get(f"/api/screens?venue={annex.pk + 1000}")
    not_a_number = api_client.get("/api/screens?venue=first")

    assert [s["id"] for s in mine.json()["results"]] == [small.pk]
    assert (unknown.status_code, unknown.json()["results"]) == (200, [])
    assert (not_a_number.status_code, not_a_number.json()) == (400, {"venue": ["Enter a number."]})
