"""POST /api/bookings (confirm a hold, or hold and confirm at once) and GET/DELETE
/api/bookings/{reference} with the phone-number check (API.md, "Hold and booking")."""

import contextlib
import re
import uuid
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from api.errors import TicketNotFound
from api.models import AuditEntry, Booking, Customer, Hold, SeatBlock, Ticket
from api.services import sales
from api.tests.conftest import all_at_once, book_seats, make_show, postgres_only

pytestmark = pytest.mark.django_db

# Six characters, none of the look-alikes 0/O and 1/I/L.
REFERENCE = re.compile(r"^[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{6}$")
ADA = {"name": "Ada Lovelace", "phone_number": "+914155550123"}


def local_iso(moment) -> str:
    return timezone.localtime(moment).isoformat(timespec="seconds")


def ticket_body(ticket: Ticket) -> dict:
    """A ticket as the API shows it, built from the database row."""
    ticket = Ticket.objects.select_related("show__screen__venue", "booking", "holder", "ticket_type").get(pk=ticket.pk)
    local = timezone.localtime(ticket.show.starts_at)
    return {
        "id": str(ticket.pk),
        "name": ticket.holder.name,
        "phone_number": str(ticket.holder.phone_number),
        "show": ticket.show_id,
        "title": ticket.show.title,
        "venue": ticket.show.screen.venue_id,
        "screen": ticket.show.screen_id,
        "date": local.date().isoformat(),
        "time": local.strftime("%H:%M"),
        "starts_at": local.isoformat(timespec="seconds"),
        "seat": ticket.seat,
        "ticket_type": ticket.ticket_type.key,
        "price": f"{ticket.price:.2f}",
        "currency": ticket.show.screen.venue.currency,
        "expired": ticket.expired,
        "checked_in_at": None if ticket.checked_in_at is None else local_iso(ticket.checked_in_at),
        "booking": ticket.booking.reference,
        "booked_at": local_iso(ticket.booked_at),
        "url": f"http://testserver/tickets/{ticket.pk}/",
    }


def booking_body(booking: Booking) -> dict:
    booking = Booking.objects.select_related("customer").get(pk=booking.pk)
    tickets = [ticket_body(t) for t in booking.tickets.order_by("show__starts_at", "seat")]
    return {
        "reference": booking.reference,
        "name": booking.customer.name,
        "phone_number": str(booking.customer.phone_number),
        "tickets": tickets,
        "total": f"{sum(Decimal(t['price']) for t in tickets):.2f}",
        "currency": tickets[0]["currency"],
        "created_at": local_iso(booking.created_at),
    }


def seats_available(client, show) -> int:
    return client.get(f"/api/shows/{show.pk}").json()["seats_available"]


def post_hold(client, show, **data) -> dict:
    response = client.post("/api/holds", {"show": show.pk, **data}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def book(client, **data):
    return client.post("/api/bookings", data, format="json")


# --- confirming a hold ---------------------------------------------------------------


def test_confirming_a_hold_of_two_seats_makes_one_booking_of_two_tickets(api_client, show):
    held = post_hold(api_client, show, seats=["A3", "A4"])
    assert seats_available(api_client, show) == 18

    response = book(api_client, hold=held["id"], name=" Ada Lovelace ", phone_number="041555 50123")

    assert response.status_code == 201, response.json()
    booking = Booking.objects.get()
    body = response.json()
    assert body == booking_body(booking)
    assert REFERENCE.match(body["reference"])
    assert response["Location"] == f"/api/bookings/{body['reference']}"
    assert (body["name"], body["phone_number"]) == ("Ada Lovelace", "+914155550123")
    assert [t["seat"] for t in body["tickets"]] == ["A3", "A4"]
    assert {t["booking"] for t in body["tickets"]} == {body["reference"]}
    assert Ticket.objects.filter(booking=booking).count() == 2
    # The hold is spent: gone from the API, its seats now counted as tickets instead.
    assert api_client.get(f"/api/holds/{held['id']}").status_code == 404
    show_body = api_client.get(f"/api/shows/{show.pk}").json()
    assert (show_body["tickets_booked"], show_body["seats_available"]) == (2, 18)
    assert "A3" not in show_body["free_seats"]


def test_a_hold_can_be_confirmed_once(api_client, show):
    held = post_hold(api_client, show, quantity=2)
    assert book(api_client, hold=held["id"], **ADA).status_code == 201

    response = book(api_client, hold=held["id"], **ADA)

    assert response.status_code == 409
    assert response.json() == {
        "detail": "This hold has run out or was released; hold the seats again.",
        "code": "hold_expired",
    }
    assert Ticket.objects.count() == 2


def test_confirming_an_expired_hold_is_409_hold_expired(api_client, show):
    moment = timezone.now().replace(microsecond=0)
    with time_machine.travel(moment, tick=False):
        held = post_hold(api_client, show, seats=["A3", "A4"])

    with time_machine.travel(moment + timedelta(minutes=settings.BOOKING_HOLD_MINUTES, seconds=1), tick=False):
        response = book(api_client, hold=held["id"], **ADA)

    assert response.status_code == 409
    assert response.json() == {
        "detail": "This hold has run out or was released; hold the seats again.",
        "code": "hold_expired",
    }
    assert not Ticket.objects.exists()
    assert not Booking.objects.exists()


def test_confirming_a_hold_after_the_purge_job_ran_is_still_409_hold_expired(api_client, show):
    moment = timezone.now().replace(microsecond=0)
    with time_machine.travel(moment, tick=False):
        held = post_hold(api_client, show, seats=["A3"])
    later = moment + timedelta(minutes=settings.BOOKING_HOLD_MINUTES, seconds=1)
    with time_machine.travel(later, tick=False):
        call_command("purge_expired_tickets", stdout=StringIO())
        response = book(api_client, hold=held["id"], **ADA)

    assert response.status_code == 409
    assert response.json()["code"] == "hold_expired"


def test_confirming_a_hold_just_before_it_expires_works(api_client, show):
    moment = timezone.now().replace(microsecond=0)
    with time_machine.travel(moment, tick=False):
        held = post_hold(api_client, show, seats=["A3"])

    with time_machine.travel(moment + timedelta(minutes=settings.BOOKING_HOLD_MINUTES, seconds=-1), tick=False):
        assert book(api_client, hold=held["id"], **ADA).status_code == 201


def test_confirming_a_released_hold_is_409_hold_expired(api_client, show):
    held = post_hold(api_client, show, seats=["A3"])
    assert api_client.delete(f"/api/holds/{held['id']}").status_code == 204

    response = book(api_client, hold=held["id"], **ADA)

    assert response.status_code == 409
    assert response.json()["code"] == "hold_expired"
    assert not Ticket.objects.exists()


def test_confirming_a_hold_whose_seat_was_taken_meanwhile_is_409(api_client, show):
    """The UNIQUE (show, seat) backstop: a seat sold under a hold (e.g. by a direct
    database write) gives 409 seat_taken, never a 500."""
    held = post_hold(api_client, show, seats=["A3"])
    customer = Customer.objects.create(name="Bob", phone_number="+914155550124")
    other = Booking.objects.create(reference="BBBBBB", customer=customer)
    Ticket.objects.create(booking=other, holder=customer, show=show, seat="A3")

    response = book(api_client, hold=held["id"], **ADA)

    assert response.status_code == 409
    assert response.json() == {"detail": "A held seat was booked meanwhile.", "code": "seat_taken"}
    assert Booking.objects.count() == 1


# Two app hosts whose clocks disagree: the hold runs out at `expiry`; host B (clock ahead)
# no longer counts it, host A (clock behind) still calls it live when it confirms.
HOLD_EXPIRED = {"detail": "This hold has run out or was released; hold the seats again.", "code": "hold_expired"}


def test_a_confirm_whose_clock_is_behind_does_not_sell_past_the_capacity(api_client):
    show = make_show(capacity=2)  # a sale cap below the map's 20 seats
    book_seats(show.pk, seats=["A1"])
    held = post_hold(api_client, show, seats=["A2"])
    expiry = Hold.objects.get().expires_at
    with time_machine.travel(expiry + timedelta(seconds=1), tick=False):  # host B: the last seat
        other = {"name": "Bob", "phone_number": "+914155550124"}
        assert (
            api_client.post("/api/tickets", {"show": show.pk, "seat": "B1", **other}, format="json").status_code == 201
        )

    with time_machine.travel(expiry - timedelta(seconds=1), tick=False):  # host A
        response = book(api_client, hold=held["id"], **ADA)

    assert response.status_code == 409
    assert response.json() == HOLD_EXPIRED
    assert sorted(Ticket.objects.values_list("seat", flat=True)) == ["A1", "B1"]


def test_a_confirm_whose_clock_is_behind_does_not_sell_seats_another_live_hold_has(api_client, show):
    first = sales.hold_create(show_id=show.pk, seats=["A1", "A2"], now=timezone.now())
    later = first.expires_at + timedelta(seconds=1)
    second = sales.hold_create(show_id=show.pk, seats=["A1", "A2"], now=later)  # host B

    with time_machine.travel(first.expires_at - timedelta(seconds=1), tick=False):  # host A
        response = book(api_client, hold=str(first.pk), **ADA)

    assert response.status_code == 409
    assert response.json() == HOLD_EXPIRED
    assert not Ticket.objects.exists()
    # The other hold is still good for its seats.
    assert sales.booking_confirm(hold_id=second.pk, now=later, **ADA).booking.tickets.count() == 2


def test_a_confirm_whose_clock_is_behind_does_not_sell_a_seat_blocked_meanwhile(api_client, staff_client, show):
    held = post_hold(api_client, show, seats=["A3"])
    expiry = Hold.objects.get().expires_at
    with time_machine.travel(expiry + timedelta(seconds=1), tick=False):  # host B: A3 is a house seat now
        blocked = staff_client.post(f"/api/shows/{show.pk}/blocks", {"seats": ["A3"]}, format="json")
        assert blocked.status_code == 201, blocked.json()

    with time_machine.travel(expiry - timedelta(seconds=1), tick=False):  # host A
        response = book(api_client, hold=held["id"], **ADA)

    assert response.status_code == 409
    assert response.json() == HOLD_EXPIRED
    assert not Ticket.objects.exists()
    assert list(SeatBlock.objects.filter(show=show).values_list("seat", flat=True)) == ["A3"]  # still the house's


def test_a_blocked_seat_that_staff_held_by_name_is_sold_and_unblocked_by_the_confirm(staff_client, show):
    assert staff_client.post(f"/api/shows/{show.pk}/blocks", {"seats": ["A3"]}, format="json").status_code == 201
    held = post_hold(staff_client, show, seats=["A3"])

    response = book(staff_client, hold=held["id"], **ADA)

    assert response.status_code == 201, response.json()
    assert [t["seat"] for t in response.json()["tickets"]] == ["A3"]
    assert not SeatBlock.objects.exists()


def test_a_house_seat_staff_held_on_a_host_whose_clock_is_behind_is_still_theirs_to_sell(staff_client, show):
    # The confirm told a block newer than the hold by the two hosts' clocks: staff who block
    # a seat, then hold it on a host a few seconds behind, had their own confirm refused.
    # The hold now says which of its seats were blocked when it was made.
    block_at = timezone.now()
    with time_machine.travel(block_at, tick=False):  # host B
        assert staff_client.post(f"/api/shows/{show.pk}/blocks", {"seats": ["A3"]}, format="json").status_code == 201
    with time_machine.travel(block_at - timedelta(seconds=5), tick=False):  # host A, 5 s behind
        held = post_hold(staff_client, show, seats=["A3"])
        response = book(staff_client, hold=held["id"], **ADA)

    assert response.status_code == 201, response.json()
    assert not SeatBlock.objects.exists()
    # The hold's answer shows its lines as API.md has them, without the confirm's flag.
    assert held["lines"] == [{"seat": "A3", "ticket_type": "adult", "category": "standard", "price": "0.00"}]


@pytest.mark.parametrize(
    ("hold", "errors"),
    [
        ("00000000-0000-4000-8000-000000000000", {"hold": ["No such hold."]}),
        ("not-a-uuid", {"hold": ["Must be a valid UUID."]}),
    ],
)
def test_a_hold_that_never_existed_is_400_on_hold(api_client, show, hold, errors):
    response = book(api_client, hold=hold, **ADA)

    assert response.status_code == 400
    assert response.json() == errors


def test_a_hold_with_show_or_seats_is_400(api_client, show):
    held = post_hold(api_client, show, quantity=1)

    response = book(api_client, hold=held["id"], show=show.pk, quantity=1, **ADA)

    assert response.status_code == 400
    assert response.json() == {"hold": ["Give a hold, or quantity, show; not both."]}


@pytest.mark.parametrize(
    ("person", "errors"),
    [
        ({"name": "Ada"}, {"phone_number": ["This field is required."]}),
        ({"phone_number": "+914155550123"}, {"name": ["This field is required."]}),
        ({"name": "Ada", "phone_number": "12"}, {"phone_number": ["Enter a valid phone number."]}),
        ({"name": "   ", "phone_number": "+914155550123"}, {"name": ["This field may not be blank."]}),
    ],
)
def test_confirming_needs_the_persons_details(api_client, show, person, errors):
    held = post_hold(api_client, show, quantity=1)

    response = book(api_client, hold=held["id"], **person)

    assert response.status_code == 400
    assert response.json() == errors
    assert api_client.get(f"/api/holds/{held['id']}").status_code == 200


# --- hold and confirm in one step ----------------------------------------------------


def test_book_named_seats_in_one_step(api_client, show):
    response = book(api_client, show=show.pk, seats=["B2", "B1"], **ADA)

    assert response.status_code == 201, response.json()
    booking = Booking.objects.get()
    assert response.json() == booking_body(booking)
    assert [t["seat"] for t in response.json()["tickets"]] == ["B1", "B2"]
    assert not Hold.objects.exists()
    assert seats_available(api_client, show) == 18


def test_book_a_quantity_in_one_step_takes_the_best_free_seats(api_client, show, ticket):
    assert ticket.seat == "B5"  # the sweet spot of 2 rows of 10: the middle of row B
    post_hold(api_client, show, seats=["B6"])

    response = book(api_client, show=show.pk, quantity=3, **ADA)

    assert response.status_code == 201, response.json()
    # Neither booked nor held, together, nearest the sweet spot: three in row B would sit
    # 2.5 seats off its middle (and strand a seat); A4-A6 sit one row in front, 0.5 off.
    assert [t["seat"] for t in response.json()["tickets"]] == ["A4", "A5", "A6"]
    assert seats_available(api_client, show) == 15


def test_book_by_date_and_time_in_one_step(api_client, show):
    local = timezone.localtime(show.starts_at)

    response = book(api_client, date=local.date().isoformat(), time=local.strftime("%H:%M"), quantity=2, **ADA)

    assert response.status_code == 201, response.json()
    assert {t["show"] for t in response.json()["tickets"]} == {show.pk}


def test_book_a_held_seat_in_one_step_is_409_seat_taken(api_client, show):
    post_hold(api_client, show, seats=["A3"])

    response = book(api_client, show=show.pk, seats=["A3", "A4"], **ADA)

    assert response.status_code == 409
    assert response.json() == {"detail": "Seat A3 is already booked or held.", "code": "seat_taken"}
    assert not Ticket.objects.exists()


def test_book_more_than_free_in_one_step_is_409_sold_out(api_client):
    show = make_show(capacity=3)
    post_hold(api_client, show, quantity=2)

    response = book(api_client, show=show.pk, quantity=2, **ADA)

    assert response.status_code == 409
    assert response.json() == {
        "detail": "This show has no free seat left for this request.",
        "code": "sold_out",
        "waitlist": f"/api/shows/{show.pk}/waitlist",
    }
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"quantity": 11}, {"quantity": ["Ensure this value is less than or equal to 10."]}),
        ({"seats": ["A1"], "quantity": 1}, {"non_field_errors": ["Give either seats, quantity or ticket_types."]}),
        ({}, {"non_field_errors": ["Give either seats, quantity or ticket_types."]}),
        ({"seats": ["Z1"]}, {"seats": ["Seat Z1 does not exist at this show."]}),
    ],
)
def test_book_in_one_step_with_bad_seats_is_400(api_client, show, data, errors):
    response = book(api_client, show=show.pk, **ADA, **data)

    assert response.status_code == 400
    assert response.json() == errors
    assert not Ticket.objects.exists()


def test_book_a_started_show_is_400(api_client):
    show = make_show(days=0, hour=0, minute=0)

    response = book(api_client, show=show.pk, quantity=1, **ADA)

    assert response.status_code == 400
    assert response.json() == {"time": ["Cannot book a show that has started."]}


def test_a_single_ticket_is_a_booking_of_one(api_client, show):
    response = api_client.post("/api/tickets", {"show": show.pk, **ADA}, format="json")
    reference = response.json()["booking"]

    booking = api_client.get(f"/api/bookings/{reference}", {"phone_number": ADA["phone_number"]})

    assert booking.status_code == 200
    assert [t["id"] for t in booking.json()["tickets"]] == [response.json()["id"]]


# --- references ----------------------------------------------------------------------


def test_reference_alphabet_has_no_look_alikes():
    assert len(sales.REFERENCE_ALPHABET) == len(set(sales.REFERENCE_ALPHABET)) == 31
    assert not set("0O1IL") & set(sales.REFERENCE_ALPHABET)
    assert sales.REFERENCE_LENGTH == 6


def test_references_are_drawn_again_on_a_collision(show, monkeypatch):
    taken = book_seats(show.pk, **ADA)
    # The first draw repeats the existing reference; the second is new.
    draws = iter(list(taken.booking.reference) + list("ZZZZZ9"))
    monkeypatch.setattr(sales.secrets, "choice", lambda alphabet: next(draws))

    sale = book_seats(show.pk, **ADA)

    assert sale.booking.reference == "ZZZZZ9"
    assert Booking.objects.count() == 2


def test_many_references_are_well_formed_and_distinct(show):
    references = [book_seats(show.pk, **ADA).booking.reference for _ in range(20)]

    assert all(REFERENCE.match(reference) for reference in references)
    assert len(set(references)) == 20


# --- look-up and cancel by reference --------------------------------------------------


@pytest.fixture
def booking(api_client, show) -> dict:
    response = book(api_client, show=show.pk, seats=["A3", "A4"], **ADA)
    assert response.status_code == 201
    return response.json()


@pytest.mark.parametrize("phone", ["+914155550123", "04155550123", "41555 50123", "+91 41555-50123"])
def test_get_booking_with_the_phone_number_in_any_format(api_client, booking, phone):
    for reference in (booking["reference"], booking["reference"].lower()):
        for url in (f"/api/bookings/{reference}", f"/api/bookings/{reference}/"):
            response = api_client.get(url, {"phone_number": phone})
            assert response.status_code == 200, response.json()
            assert response.json() == booking


def test_get_booking_with_an_unencoded_plus_in_the_query(api_client, booking):
    # curl users write ?phone_number=+91...; the + arrives as a space and still matches.
    response = api_client.get(f"/api/bookings/{booking['reference']}?phone_number=+914155550123")

    assert response.status_code == 200
    assert response.json() == booking


@pytest.mark.parametrize("query", [{"phone_number": "+914155550124"}, {"phone_number": "nonsense"}, {}])
def test_wrong_phone_is_404_like_an_unknown_reference(api_client, booking, query):
    unknown = api_client.get("/api/bookings/ZZZZZZ", {"phone_number": ADA["phone_number"]})

    response = api_client.get(f"/api/bookings/{booking['reference']}", query)

    assert unknown.status_code == response.status_code == 404
    assert response.json() == unknown.json() == {"detail": "No Booking matches the given query."}


def test_staff_need_no_phone(staff_client, booking):
    response = staff_client.get(f"/api/bookings/{booking['reference']}")

    assert response.status_code == 200
    assert response.json() == booking


def test_cancel_booking_frees_every_seat(api_client, show, booking):
    ids = [t["id"] for t in booking["tickets"]]
    assert seats_available(api_client, show) == 18

    response = api_client.delete(f"/api/bookings/{booking['reference']}?phone_number=%2B914155550123")

    assert response.status_code == 204
    assert response.content == b""
    assert not Ticket.objects.filter(pk__in=ids).exists()
    assert not Booking.objects.exists()
    for ticket_id in ids:
        assert api_client.get(f"/api/tickets/{ticket_id}").status_code == 404
    assert seats_available(api_client, show) == 20
    assert (
        api_client.get(f"/api/bookings/{booking['reference']}", {"phone_number": ADA["phone_number"]}).status_code
        == 404
    )
    assert book(api_client, show=show.pk, seats=["A3", "A4"], **ADA).status_code == 201


def test_cancel_with_a_wrong_phone_is_404_and_cancels_nothing(api_client, booking):
    response = api_client.delete(f"/api/bookings/{booking['reference']}?phone_number=%2B914155550124")

    assert response.status_code == 404
    assert response.json() == {"detail": "No Booking matches the given query."}
    assert Ticket.objects.count() == 2


def test_staff_cancel_without_phone(staff_client, booking):
    assert staff_client.delete(f"/api/bookings/{booking['reference']}").status_code == 204
    assert not Ticket.objects.exists()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_booking_and_its_ticket_cancelled_at_once_are_cancelled_once():
    """DELETE /api/bookings/{reference} twice and DELETE /api/tickets/{id} at once: the
    booking's row lock makes them take turns, and each reads what the one before left."""
    for day in range(1, 4):  # a race may hide in one try
        sale = book_seats(make_show(days=day).pk, quantity=2)
        reference, ticket = sale.booking.reference, sale.tickets[0]

        def cancel(n: int, booking_id: int = sale.booking.pk, ticket_id: uuid.UUID = ticket.pk) -> None:
            if n < 2:
                sales.booking_cancel(booking_id=booking_id)
            else:
                with contextlib.suppress(TicketNotFound):  # the booking's cancel came first
                    sales.ticket_cancel(ticket_id=ticket_id)

        all_at_once(3, cancel)

        assert not Booking.objects.filter(reference=reference).exists()
        assert AuditEntry.objects.filter(action="booking.cancelled", object_id=reference).count() == 1
        assert AuditEntry.objects.filter(action="ticket.cancelled", object_id=str(ticket.pk)).count() == 1


def test_booking_lookup_costs_few_queries(api_client, booking, django_assert_max_num_queries):
    # The booking with its customer, then its tickets with their shows.
    with django_assert_max_num_queries(2):
        response = api_client.get(f"/api/bookings/{booking['reference']}", {"phone_number": ADA["phone_number"]})
    assert response.status_code == 200


# --- the OpenAPI schema --------------------------------------------------------------


def test_schema_describes_holds_bookings_and_check_in(api_client):
    response = api_client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    # The router's optional slash is written as a trailing slash in the schema's paths.
    paths, components = schema["paths"], schema["components"]["schemas"]

    def ref(content: dict) -> str:
        return content["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]

    hold_create = paths["/api/holds/"]["post"]
    assert ref(hold_create["requestBody"]["content"]) == "HoldCreateRequest"
    assert ref(hold_create["responses"]["201"]["content"]) == "Hold"
    assert {"400", "409", "429"} <= set(hold_create["responses"])
    hold_item = paths["/api/holds/{id}/"]
    assert ref(hold_item["get"]["responses"]["200"]["content"]) == "Hold"
    assert {"204", "404"} <= set(hold_item["delete"]["responses"])
    assert set(components["HoldCreateRequest"]["properties"]) == {
        "show", "date", "time", "screen", "venue", "seats", "quantity", "ticket_types", "wheelchair"
    }  # fmt: skip
    assert set(components["Hold"]["properties"]) == {
        "id", "show", "seats", "expires_at", "together", "lines", "total", "currency"
    }  # fmt: skip

    booking_create = paths["/api/bookings/"]["post"]
    assert ref(booking_create["requestBody"]["content"]) == "BookingCreateRequest"
    assert ref(booking_create["responses"]["201"]["content"]) == "Booking"
    assert {"400", "409", "422", "429"} <= set(booking_create["responses"])
    assert "Idempotency-Key" in {p["name"] for p in booking_create["parameters"]}
    assert set(components["BookingCreateRequest"]["properties"]) == {
        "show", "date", "time", "screen", "venue", "seats", "quantity", "ticket_types", "wheelchair", "hold", "name",
        "phone_number"
    }  # fmt: skip
    assert set(components["Booking"]["properties"]) == {
        "reference", "name", "phone_number", "tickets", "total", "currency", "created_at"
    }  # fmt: skip
    assert components["Booking"]["properties"]["tickets"]["items"]["$ref"].endswith("/Ticket")
    booking_item = paths["/api/bookings/{reference}/"]
    assert ref(booking_item["get"]["responses"]["200"]["content"]) == "Booking"
    assert {"204", "404"} <= set(booking_item["delete"]["responses"])
    for method in ("get", "delete"):
        assert "phone_number" in {p["name"] for p in booking_item[method]["parameters"]}

    ticket_create = paths["/api/tickets/"]["post"]
    assert "Idempotency-Key" in {p["name"] for p in ticket_create["parameters"]}
    assert "422" in ticket_create["responses"]
    check_in = paths["/api/tickets/{id}/check-in/"]
    for method in ("post", "delete"):
        assert "requestBody" not in check_in[method]
        assert ref(check_in[method]["responses"]["200"]["content"]) == "Ticket"
        assert {"401", "403", "404", "409"} <= set(check_in[method]["responses"])
    assert ref(check_in["post"]["responses"]["409"]["content"]) == "Conflict"
    assert set(components["Conflict"]["properties"]) == {"detail", "code", "checked_in_at"}
    assert components["Conflict"]["required"] == ["code", "detail"]

    show_item = paths["/api/shows/{id}/"]["get"]
    assert "free_seats" in components[ref(show_item["responses"]["200"]["content"])]["properties"]
