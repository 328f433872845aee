"""The waiting list's endpoints for the people who wait, whole bodies (API.md, "Waiting
list"): join a sold-out show's list, read and leave an entry; the sold-out answer that
offers the list; every error. Staff's read of a show's list: test_waitlist_staff_list.py."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from api.models import AuditEntry, Hold, Screen, Ticket, Venue, WaitlistEntry
from api.services import waitlist
from api.tests.conftest import ADA, book_seats, local_iso, make_show, screen_of
from api.tests.waitlist_helpers import ALAN, GRACE, join, offer_seats

pytestmark = pytest.mark.django_db

SOLD_OUT_DETAIL = "This show has no free seat left for this request."
NO_ENTRY = {"detail": "No WaitlistEntry matches the given query."}


# --- joining -------------------------------------------------------------------------


def test_joining_a_sold_out_show_takes_the_next_place_in_line(api_client, sold_out, frozen):
    first = join(api_client, sold_out, ADA, party_size=2)

    entry = WaitlistEntry.objects.get()
    assert (first.status_code, first.json()) == (
        201,
        {"id": str(entry.pk), "show": sold_out.pk, "party_size": 2, "position": 1, "status": "waiting"},
    )
    assert first["Location"] == f"/api/waitlist/{entry.pk}"
    assert (entry.name, entry.phone_number, entry.joined_at) == (ADA["name"], ADA["phone_number"], timezone.now())

    frozen.shift(1)
    second = join(api_client, sold_out, GRACE, party_size=1)
    other = WaitlistEntry.objects.exclude(pk=entry.pk).get()
    assert (second.status_code, second.json()) == (
        201,
        {"id": str(other.pk), "show": sold_out.pk, "party_size": 1, "position": 2, "status": "waiting"},
    )


def test_a_second_join_by_the_same_phone_answers_200_with_the_existing_entry(api_client, sold_out):
    first = join(api_client, sold_out, ADA, party_size=2).json()

    # Another way of writing the number, another name, another party: the same place. A
    # phone number is no secret, so the answer leaves out the entry's id (its capability).
    again = join(api_client, sold_out, {"name": "Ada King", "phone_number": "+91 41555 50123"}, party_size=5)

    assert (again.status_code, again.json()) == (200, {k: v for k, v in first.items() if k != "id"})
    assert "Location" not in again
    assert WaitlistEntry.objects.count() == 1
    assert WaitlistEntry.objects.get().party_size == 2
    # Another show's list is another line.
    other_show = make_show(days=4, capacity=4, screen=screen_of(4))
    book_seats(other_show.pk, quantity=4)
    assert join(api_client, other_show, ADA).status_code == 201


def test_a_local_number_is_read_in_the_venues_country(api_client):
    # As a booking reads it (issue 16): at a London venue, 020 7946 0958 is +44 20 7946 0958,
    # whatever PHONENUMBER_DEFAULT_REGION says, and written either way it is one place in line.
    london = Venue.objects.create(name="London", time_zone="Europe/London", currency="GBP", country="GB")
    show = make_show(days=4, capacity=4, screen=screen_of(4, venue=london))
    book_seats(show.pk, quantity=4)
    first = join(api_client, show, {"name": "Grace", "phone_number": "020 7946 0958"}, party_size=2)
    again = join(api_client, show, {"name": "Grace", "phone_number": "+44 20 7946 0958"}, party_size=2)

    assert first.status_code == 201
    assert (again.status_code, again.json()) == (200, {k: v for k, v in first.json().items() if k != "id"})
    assert str(WaitlistEntry.objects.get().phone_number) == "+442079460958"


def test_a_show_that_can_seat_the_party_now_says_book_them(api_client):
    """Joined while the show had seats, the offers held them out of every client's hold
    cap: seven made-up phone numbers with parties of 10 took 50 seats off sale. A party
    larger than the seats free joins; so does anyone once someone is waiting."""
    show = make_show(days=4, capacity=4, screen=screen_of(4))
    book_seats(show.pk, quantity=2)

    refused = join(api_client, show, ADA, party_size=2)

    assert refused.status_code == 409
    assert refused.json() == {
        "code": "seats_available",
        "detail": "This show can seat a party of 2 now: book the seats; its waiting list is for parties it can't.",
    }
    assert join(api_client, show, GRACE, party_size=3).status_code == 201
    assert join(api_client, show, ALAN, party_size=1).status_code == 201  # behind Grace, who waits
    assert WaitlistEntry.objects.count() == 2


def test_a_free_place_the_party_cant_be_sold_opens_the_list(api_client):
    """A wheelchair space left free is not a seat for anyone else: the booking said
    sold_out and pointed at the waiting list, and the join said the seat was free."""
    row = {"label": "A", "seats": [{"number": 1}, {"number": 2}, {"number": 3, "kind": "wheelchair"}]}
    screen = Screen.objects.create(venue=Venue.objects.get(), name="Access", seat_map={"rows": [row]})
    show = make_show(days=4, capacity=3, screen=screen)
    book_seats(show.pk, quantity=2)

    booking = api_client.post("/api/tickets", {**ADA, "show": show.pk}, format="json")
    join_ = join(api_client, show, GRACE, party_size=1)

    assert (booking.status_code, booking.json()["code"]) == (409, "sold_out")
    assert join_.status_code == 201, join_.json()


@pytest.mark.parametrize(
    "body, errors",
    [
        ({**ADA, "party_size": 0}, {"party_size": ["Ensure this value is greater than or equal to 1."]}),
        ({**ADA, "party_size": 11}, {"party_size": ["Ensure this value is less than or equal to 10."]}),
        ({**ADA, "party_size": "two"}, {"party_size": ["A valid integer is required."]}),
        (
            {},
            {
                "name": ["This field is required."],
                "phone_number": ["This field is required."],
                "party_size": ["This field is required."],
            },
        ),
        ({**ADA, "phone_number": "12", "party_size": 1}, {"phone_number": ["Enter a valid phone number."]}),
        ({**ADA, "name": "x" * 101, "party_size": 1}, {"name": ["Ensure this field has no more than 100 characters."]}),
    ],
)
def test_a_bad_join_is_a_400_that_names_the_field(api_client, sold_out, body, errors):
    response = api_client.post(f"/api/shows/{sold_out.pk}/waitlist", body, format="json")
    assert (response.status_code, response.json()) == (400, errors)
    assert not WaitlistEntry.objects.exists()


def test_a_party_larger_than_the_shows_screen_is_a_400(api_client, sold_out):
    # Four seats: a party of five could never be offered seats, and would wait until the show.
    response = join(api_client, sold_out, party_size=5)
    assert (response.status_code, response.json()) == (
        400,
        {"party_size": ["This show's screen has 4 seats: a larger party can't be offered seats."]},
    )
    assert not WaitlistEntry.objects.exists()
    assert join(api_client, sold_out, party_size=4).status_code == 201
    # A show capped below its screen's seats may be raised to them: the party may wait.
    capped = make_show(days=4, capacity=4, screen=screen_of(10))
    book_seats(capped.pk, quantity=4)
    assert join(api_client, capped, party_size=6).status_code == 201


def test_joining_a_show_that_has_started_is_a_400(api_client, sold_out):
    with time_machine.travel(sold_out.starts_at, tick=False):  # exactly the start counts as started
        response = join(api_client, sold_out)
    assert (response.status_code, response.json()) == (
        400,
        {"non_field_errors": ["This show has started: its waiting list is closed."]},
    )
    assert not WaitlistEntry.objects.exists()


@pytest.mark.parametrize("url", ["/api/shows/999999/waitlist", "/api/shows/999999/waitlist/"])
def test_joining_an_unknown_show_is_a_404(api_client, url):
    response = api_client.post(url, {**ADA, "party_size": 1}, format="json")
    assert (response.status_code, response.json()) == (404, {"detail": "No Show matches the given query."})


def test_joining_is_throttled_like_every_anonymous_write(api_client, sold_out, settings):
    settings.THROTTLE_ANON_RATE = "2/min"
    assert join(api_client, sold_out, ADA).status_code == 201
    assert join(api_client, sold_out, GRACE).status_code == 201
    response = join(api_client, sold_out, ALAN)
    assert (response.status_code, response.json()) == (
        429,
        {"detail": "Request was throttled. Expected available in 60 seconds."},
    )
    assert response["Retry-After"] == "60"
    assert WaitlistEntry.objects.count() == 2


# --- the sold-out answer offers the list --------------------------------------------------


@pytest.mark.parametrize(
    "url, body",
    [
        ("/api/tickets", {**GRACE}),
        ("/api/holds", {"quantity": 1}),
        ("/api/bookings", {**GRACE, "quantity": 2}),
    ],
)
def test_the_sold_out_answer_carries_the_shows_waiting_list(api_client, sold_out, url, body):
    response = api_client.post(url, {"show": sold_out.pk, **body}, format="json")

    assert (response.status_code, response.json()) == (
        409,
        {"detail": SOLD_OUT_DETAIL, "code": "sold_out", "waitlist": f"/api/shows/{sold_out.pk}/waitlist"},
    )
    assert join(api_client, sold_out, GRACE).status_code == 201  # the link works as it is given


def test_a_move_to_a_sold_out_show_offers_that_shows_list(api_client, sold_out):
    ticket = book_seats(make_show(days=5).pk, **GRACE).tickets[0]
    response = api_client.patch(f"/api/tickets/{ticket.pk}", {"show": sold_out.pk}, format="json")
    assert (response.status_code, response.json()) == (
        409,
        {"detail": SOLD_OUT_DETAIL, "code": "sold_out", "waitlist": f"/api/shows/{sold_out.pk}/waitlist"},
    )


# --- an entry: read it, leave ---------------------------------------------------------------


def test_an_entry_reads_waiting_then_offered_then_booked(api_client, sold_out, frozen):
    entry_id = join(api_client, sold_out, GRACE, party_size=2).json()["id"]
    url = f"/api/waitlist/{entry_id}"
    waiting = {"id": entry_id, "show": sold_out.pk, "party_size": 2, "position": 1, "status": "waiting"}
    assert (api_client.get(url).status_code, api_client.get(url).json()) == (200, waiting)
    assert api_client.get(url + "/").json() == waiting

    ada_booking = Ticket.objects.get(seat="A1").booking.reference
    api_client.delete(f"/api/bookings/{ada_booking}?phone_number=%2B914155550123")  # all four seats free
    offer_seats()

    hold = Hold.objects.get(waitlist_entry_id=entry_id)
    offered = {
        "id": entry_id,
        "show": sold_out.pk,
        "party_size": 2,
        "status": "offered",
        "offer": {
            "hold": str(hold.pk),
            "seats": hold.seats,
            "total": "0.00",
            "currency": "EUR",
            "expires_at": local_iso(timezone.now() + timedelta(minutes=settings.BOOKING_WAITLIST_OFFER_MINUTES)),
        },
    }
    assert api_client.get(url).json() == offered
    assert len(hold.seats) == 2

    confirmed = api_client.post("/api/bookings", {"hold": str(hold.pk), **GRACE}, format="json")
    assert confirmed.status_code == 201, confirmed.json()
    reference = confirmed.json()["reference"]
    assert [t["seat"] for t in confirmed.json()["tickets"]] == hold.seats
    booked = {"id": entry_id, "show": sold_out.pk, "party_size": 2, "status": "booked", "booking": reference}
    assert api_client.get(url).json() == booked
    # Leaving after the wait ended changes nothing.
    assert api_client.delete(url).status_code == 204
    assert api_client.get(url).json() == booked


def test_a_phone_number_alone_never_opens_someone_elses_entry(api_client, staff_client, sold_out):
    entry_id = join(api_client, sold_out, GRACE, party_size=2).json()["id"]
    ada_booking = Ticket.objects.get(seat="A1").booking.reference
    api_client.delete(f"/api/bookings/{ada_booking}?phone_number=%2B914155550123")
    offer_seats()
    hold = Hold.objects.get(waitlist_entry_id=entry_id)

    # Someone who knows Grace's number "joins" again: told the place, not given its keys.
    mallory = {"name": "Mallory", "phone_number": GRACE["phone_number"]}
    again = join(api_client, sold_out, mallory, party_size=4)

    assert (again.status_code, again.json()) == (
        200,
        {"show": sold_out.pk, "party_size": 2, "status": "offered"},
    )
    assert str(hold.pk) not in again.content.decode()
    # Staff, who read the whole list anyway, get the entry as it is.
    assert join(staff_client, sold_out, mallory).json()["offer"]["hold"] == str(hold.pk)


def test_an_offer_that_ran_out_reads_expired_at_once(api_client, sold_out, frozen):
    entry_id = join(api_client, sold_out, GRACE, party_size=1).json()["id"]
    Ticket.objects.filter(seat="A4").delete()
    offer_seats()

    frozen.shift(timedelta(minutes=settings.BOOKING_WAITLIST_OFFER_MINUTES))  # exactly its end

    expired = {"id": entry_id, "show": sold_out.pk, "party_size": 1, "status": "expired"}
    assert api_client.get(f"/api/waitlist/{entry_id}").json() == expired
    assert WaitlistEntry.objects.get().status == "offered"  # until the job marks it
    offer_seats()
    assert WaitlistEntry.objects.get().status == "expired"
    assert api_client.get(f"/api/waitlist/{entry_id}").json() == expired


def test_turning_an_offer_down_by_releasing_its_hold_reads_expired(api_client, sold_out):
    entry_id = join(api_client, sold_out, GRACE, party_size=1).json()["id"]
    Ticket.objects.filter(seat="A4").delete()
    offer_seats()
    hold = Hold.objects.get(waitlist_entry_id=entry_id)

    assert api_client.delete(f"/api/holds/{hold.pk}").status_code == 204

    assert api_client.get(f"/api/waitlist/{entry_id}").json()["status"] == "expired"


def test_leaving_takes_the_entry_out_of_line(api_client, sold_out, frozen):
    ada = join(api_client, sold_out, ADA, party_size=2).json()["id"]
    frozen.shift(1)
    grace = join(api_client, sold_out, GRACE, party_size=1).json()["id"]

    response = api_client.delete(f"/api/waitlist/{ada}")

    assert (response.status_code, response.content) == (204, b"")
    left = {"id": ada, "show": sold_out.pk, "party_size": 2, "status": "left"}
    assert api_client.get(f"/api/waitlist/{ada}").json() == left
    assert api_client.get(f"/api/waitlist/{grace}").json()["position"] == 1
    assert api_client.delete(f"/api/waitlist/{ada}").status_code == 204  # again: nothing changes
    assert api_client.get(f"/api/waitlist/{ada}").json() == left
    # A new join by the same phone is a new place, at the back.
    frozen.shift(1)
    again = join(api_client, sold_out, ADA, party_size=2)
    assert (again.status_code, again.json()["position"]) == (201, 2)


def test_leaving_an_entry_purged_while_waiting_for_the_lock_is_a_404(api_client, sold_out, monkeypatch):
    ada = join(api_client, sold_out, ADA, party_size=2).json()["id"]
    lock_show = waitlist.lock_show

    def purged_meanwhile(show_id):  # the purge deletes the entry while the leave waits
        WaitlistEntry.objects.filter(pk=ada).delete()
        return lock_show(show_id)

    monkeypatch.setattr(waitlist, "lock_show", purged_meanwhile)

    response = api_client.delete(f"/api/waitlist/{ada}")

    assert response.status_code == 404
    assert not AuditEntry.objects.filter(action="waitlist.left").exists()


def test_leaving_with_a_live_offer_puts_its_seats_back_on_sale_at_once(api_client, sold_out):
    entry_id = join(api_client, sold_out, GRACE, party_size=1).json()["id"]
    Ticket.objects.filter(seat="A4").delete()
    offer_seats()
    hold = Hold.objects.get(waitlist_entry_id=entry_id)
    assert api_client.get(f"/api/shows/{sold_out.pk}").json()["free_seats"] == []

    assert api_client.delete(f"/api/waitlist/{entry_id}").status_code == 204

    assert api_client.get(f"/api/waitlist/{entry_id}").json()["status"] == "left"
    assert api_client.get(f"/api/holds/{hold.pk}").status_code == 404
    assert api_client.get(f"/api/shows/{sold_out.pk}").json()["free_seats"] == ["A4"]
    confirm = api_client.post("/api/bookings", {"hold": str(hold.pk), **GRACE}, format="json")
    assert (confirm.status_code, confirm.json()["code"]) == (409, "hold_expired")


@pytest.mark.parametrize(
    "entry_id, answer",
    [
        ("00000000-0000-4000-8000-000000000000", NO_ENTRY),
        # Not a UUID at all: DRF's plain 404, as for a ticket id.
        ("not-a-uuid", {"detail": "Not found."}),
        ("1", {"detail": "Not found."}),
    ],
)
@pytest.mark.parametrize("method", ["get", "delete"])
def test_an_unknown_entry_is_a_404(api_client, sold_out, entry_id, answer, method):
    join(api_client, sold_out)
    response = getattr(api_client, method)(f"/api/waitlist/{entry_id}")
    assert (response.status_code, response.json()) == (404, answer)
    assert WaitlistEntry.objects.get().status == "waiting"


def test_the_waitlist_is_not_a_list_anyone_can_read(api_client, staff_client, sold_out):
    join(api_client, sold_out)
    for client in (api_client, staff_client):
        response = client.get("/api/waitlist")
        assert (response.status_code, response.json()) == (404, {"detail": "Not found."})


def test_one_client_waits_for_at_most_the_hold_caps_seats(api_client, staff_client, settings):
    """Offers are holds no hold cap counts, and phone numbers cost nothing: one address
    joined with five made-up numbers and took a nearly full show's last seats off sale."""
    settings.BOOKING_MAX_HELD_SEATS_PER_CLIENT = 4
    shows = [make_show(days=4 + n, capacity=2, screen=screen_of(2, name=f"Full {n}")) for n in range(3)]
    for show in shows:
        book_seats(show.pk, quantity=2)
    people = [{"name": f"Made up {n}", "phone_number": f"+9141555501{n:02d}"} for n in range(5)]

    first = join(api_client, shows[0], people[0], party_size=2)
    second = join(api_client, shows[1], people[1], party_size=2)
    third = join(api_client, shows[2], people[2], party_size=1)
    elsewhere = join(api_client, shows[2], people[3], party_size=1, REMOTE_ADDR="198.51.100.20")
    box_office = join(staff_client, shows[2], people[4], party_size=2)

    assert (first.status_code, second.status_code) == (201, 201)
    assert (third.status_code, third.json()) == (
        400,
        {"non_field_errors": ["One client can wait for at most 4 seats at once (4 in line now)."]},
    )
    assert (elsewhere.status_code, box_office.status_code) == (201, 201)  # another address; staff are exempt
