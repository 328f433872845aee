"""POST /api/bookings that holds and confirms at once, the booking references, and GET/DELETE
/api/bookings/{reference} with the phone-number check (API.md, "Hold and booking"; confirming
a hold made before: test_booking_confirm.py)."""

import contextlib
import uuid

import pytest
from django.utils import timezone

from api.errors import TicketNotFound
from api.models import AuditEntry, Booking, Hold, Ticket
from api.services import sale_rows, sales
from api.tests.bookings_helpers import REFERENCE, book, booking_body, post_hold, seats_available
from api.tests.conftest import ADA, all_at_once, book_seats, make_show, postgres_only
from api.views.sales import NO_BOOKING

pytestmark = pytest.mark.django_db


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
    assert len(sale_rows.REFERENCE_ALPHABET) == len(set(sale_rows.REFERENCE_ALPHABET)) == 31
    assert not set("0O1IL") & set(sale_rows.REFERENCE_ALPHABET)
    assert sale_rows.REFERENCE_LENGTH == 6


def test_references_are_drawn_again_on_a_collision(show, monkeypatch):
    taken = book_seats(show.pk, **ADA)
    # The first draw repeats the existing reference; the second is new.
    draws = iter(list(taken.booking.reference) + list("ZZZZZ9"))
    monkeypatch.setattr(sale_rows.secrets, "choice", lambda alphabet: next(draws))

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
    assert response.json() == unknown.json() == {"detail": NO_BOOKING}


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
    assert response.json() == {"detail": NO_BOOKING}
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
                sales.booking_cancel(booking_id=booking_id, now=timezone.now())
            else:
                with contextlib.suppress(TicketNotFound):  # the booking's cancel came first
                    sales.ticket_cancel(ticket_id=ticket_id, now=timezone.now())

        all_at_once(3, cancel)

        assert not Booking.objects.filter(reference=reference).exists()
        assert AuditEntry.objects.filter(action="booking.cancelled", object_id=reference).count() == 1
        assert AuditEntry.objects.filter(action="ticket.cancelled", object_id=str(ticket.pk)).count() == 1


def test_booking_lookup_costs_few_queries(api_client, booking, django_assert_max_num_queries):
    # The phone checked, then the booking with its customer, then its tickets with their shows.
    with django_assert_max_num_queries(3):
        response = api_client.get(f"/api/bookings/{booking['reference']}", {"phone_number": ADA["phone_number"]})
    assert response.status_code == 200


def test_a_wrong_phone_costs_what_an_unknown_reference_costs(api_client, booking, django_assert_num_queries):
    """The 404s were alike, their times not: the booking and its tickets were read before
    the phone was compared, 2 ms more for a reference that exists. Now one query each."""
    for reference in (booking["reference"], "ZZZZZZ"):
        with django_assert_num_queries(1):
            response = api_client.get(f"/api/bookings/{reference}", {"phone_number": "+914155550199"})
        assert response.status_code == 404


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
    # Each field a 409 may carry (test_schema.py: the error shapes).
    assert set(components["Conflict"]["properties"]) == {"detail", "code", "checked_in_at", "seat", "seats", "waitlist"}
    assert components["Conflict"]["required"] == ["code", "detail"]

    show_item = paths["/api/shows/{id}/"]["get"]
    assert "free_seats" in components[ref(show_item["responses"]["200"]["content"])]["properties"]
