"""Ticket types; prices, frozen in holds (API.md (v2), "Ticket types and prices"). How
best-available chooses among the seats a show sells: test_seat_choice_api.py."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from api.models import AuditEntry, Booking, Hold, ShowPrice, Ticket, TicketType
from api.services import venues
from api.tests.conftest import ADA, PRICES, all_at_once, book_ticket, make_show, postgres_only

pytestmark = pytest.mark.django_db


def test_a_fresh_installation_has_adult_child_and_senior(api_client):
    response = api_client.get("/api/ticket-types")

    assert response.status_code == 200
    assert response.json()["results"] == [
        {"key": "adult", "name": "Adult", "default": True},
        {"key": "child", "name": "Child", "default": False},
        {"key": "senior", "name": "Senior", "default": False},
    ]


def test_staff_add_a_ticket_type_and_make_it_the_default(staff_client):
    response = staff_client.post("/api/ticket-types", {"key": "student", "name": "Student", "default": True})

    assert response.status_code == 201
    assert TicketType.objects.default().key == "student"
    assert TicketType.objects.filter(default=True).count() == 1
    # The type that stopped being the default is in the trail too (it wasn't).
    entries = AuditEntry.objects.filter(object_type="ticket_type").order_by("pk")
    assert [(e.action, e.object_id, e.changes) for e in entries] == [
        ("ticket_type.changed", "adult", {"default": [True, False]}),
        ("ticket_type.created", "student", {"key": "student", "name": "Student", "default": True}),
    ]


def test_the_default_type_stays_the_default_until_another_takes_its_place(staff_client):
    response = staff_client.patch("/api/ticket-types/adult", {"default": False}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "default": ["One ticket type is always the default: make another one the default instead."]
    }
    assert TicketType.objects.default().key == "adult"
    assert staff_client.post("/api/tickets", {**ADA, "show": make_show().pk}).json()["ticket_type"] == "adult"


def test_a_ticket_types_key_stays_once_made(staff_client):
    # Holds freeze their lines by key: a renamed key would leave them naming no type.
    response = staff_client.patch("/api/ticket-types/child", {"key": "kid", "name": "Kid"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"key": ["A ticket type's key can't change; add a new type instead."]}
    assert TicketType.objects.get(key="child").name == "Child"
    assert staff_client.patch("/api/ticket-types/child", {"name": "Kid"}, format="json").status_code == 200


def test_a_ticket_types_key_is_lowercase(staff_client):
    # "ADULT" was made beside "adult": a second type that read as the same one.
    response = staff_client.post("/api/ticket-types", {"key": "ADULT", "name": "Adult"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"key": ["Enter a key of lowercase letters, numbers, underscores or hyphens."]}
    assert list(TicketType.objects.values_list("key", flat=True)) == ["adult", "child", "senior"]
    made = staff_client.post("/api/ticket-types", {"key": "student-2", "name": "Student"}, format="json")
    assert made.status_code == 201, made.json()


def test_a_ticket_type_in_use_is_not_deleted(staff_client, priced):
    response = staff_client.delete("/api/ticket-types/child")

    assert (response.status_code, response.json()["code"]) == (409, "in_use")


def hold_a_child_then_stop_selling_children(api_client, staff_client, show) -> dict:
    """A live hold of a child ticket; then staff take the child price off the show, so
    that no price or ticket uses the type any more."""
    held = api_client.post("/api/holds", {"show": show.pk, "ticket_types": {"child": 1}}, format="json")
    assert held.status_code == 201, held.json()
    adults_only = [p for p in PRICES if p["ticket_type"] != "child"]
    assert staff_client.patch(f"/api/shows/{show.pk}", {"prices": adults_only}, format="json").status_code == 200
    return held.json()


def test_a_ticket_type_that_a_live_hold_uses_is_not_deleted(api_client, staff_client, priced):
    hold = hold_a_child_then_stop_selling_children(api_client, staff_client, priced)

    response = staff_client.delete("/api/ticket-types/child")

    assert response.status_code == 409
    assert response.json() == {
        "detail": "Live holds use this ticket type: it can be deleted once they are confirmed or run out.",
        "code": "in_use",
    }
    booked = api_client.post("/api/bookings", {"hold": hold["id"], **ADA}, format="json")
    assert booked.status_code == 201, booked.json()
    assert [(t["ticket_type"], t["price"]) for t in booked.json()["tickets"]] == [("child", "8.00")]
    # Once no live hold uses it, it goes.
    assert staff_client.delete("/api/ticket-types/child").status_code == 409  # a ticket uses it now
    Ticket.objects.all().delete()
    assert staff_client.delete("/api/ticket-types/child").status_code == 204


def test_confirming_a_hold_whose_ticket_type_is_gone_is_400_on_hold(api_client, staff_client, priced):
    """A host whose clock runs ahead takes the hold for expired and deletes its type; the
    confirm, on a host whose clock runs behind, still calls the hold live."""
    hold = hold_a_child_then_stop_selling_children(api_client, staff_client, priced)
    expires_at = Hold.objects.get(pk=hold["id"]).expires_at
    venues.ticket_type_delete(TicketType.objects.get(key="child"), now=expires_at + timedelta(seconds=1))

    with time_machine.travel(expires_at - timedelta(seconds=1), tick=False):
        response = api_client.post("/api/bookings", {"hold": hold["id"], **ADA}, format="json")

    assert response.status_code == 400
    assert response.json() == {"hold": ["No ticket type is called 'child'."]}
    assert not Booking.objects.exists()


def test_the_show_lists_its_prices(api_client, priced):
    body = api_client.get(f"/api/shows/{priced.pk}").json()

    assert sorted(body["prices"], key=str) == sorted(PRICES, key=str)
    assert body["currency"] == "EUR"


def test_a_hold_freezes_its_prices(api_client, staff_client, priced):
    held = api_client.post("/api/holds", {"show": priced.pk, "ticket_types": {"adult": 1, "child": 1}}, format="json")
    assert held.status_code == 201, held.json()
    hold = held.json()
    assert hold["together"] is True
    assert [line["ticket_type"] for line in hold["lines"]] == ["adult", "child"]  # types in seat order
    assert [line["price"] for line in hold["lines"]] == ["12.50", "8.00"]
    assert (hold["total"], hold["currency"]) == ("20.50", "EUR")

    # Staff raise the prices a minute later; the hold is confirmed at the prices it froze.
    raised = [{**p, "amount": "99.00"} for p in PRICES]
    assert staff_client.patch(f"/api/shows/{priced.pk}", {"prices": raised}, format="json").status_code == 200
    booked = api_client.post("/api/bookings", {"hold": hold["id"], **ADA}, format="json")

    assert booked.status_code == 201
    body = booked.json()
    assert (body["total"], body["currency"]) == ("20.50", "EUR")
    assert [(t["seat"], t["ticket_type"], t["price"]) for t in body["tickets"]] == [
        (line["seat"], line["ticket_type"], line["price"]) for line in hold["lines"]
    ]
    assert Booking.objects.get().total == Decimal("20.50")


def test_a_premium_seat_costs_the_premium_price(api_client, priced):
    response = api_client.post("/api/tickets", {**ADA, "show": priced.pk, "seat": "C3"})

    assert response.status_code == 201
    assert (response.json()["ticket_type"], response.json()["price"]) == ("adult", "16.00")


def test_a_type_the_prices_do_not_name_is_a_400(api_client, priced):
    senior = api_client.post("/api/tickets", {**ADA, "show": priced.pk, "ticket_type": "senior"})
    child_premium = api_client.post(
        "/api/holds", {"show": priced.pk, "seats": ["C1"], "ticket_types": {"child": 1}}, format="json"
    )
    unknown = api_client.post("/api/tickets", {**ADA, "show": priced.pk, "ticket_type": "pensioner"})

    # Each on the field the request named: a ticket's `ticket_type`, a hold's `ticket_types`.
    assert (senior.status_code, senior.json()) == (
        400,
        {"ticket_type": ["This show sells no senior tickets in standard seats."]},
    )
    assert child_premium.json() == {"ticket_types": ["This show sells no child tickets in premium seats."]}
    assert unknown.json() == {"ticket_type": ["No ticket type is called 'pensioner'."]}
    assert not Ticket.objects.exists()


def test_a_show_without_prices_sells_at_zero_as_the_default_type(api_client, show):
    response = api_client.post("/api/tickets", {**ADA, "show": show.pk})

    assert (response.json()["ticket_type"], response.json()["price"], response.json()["currency"]) == (
        "adult",
        "0.00",
        "EUR",
    )


def test_ticket_types_must_add_up_to_the_seats_named(api_client, priced):
    response = api_client.post(
        "/api/holds", {"show": priced.pk, "seats": ["A1", "A2"], "ticket_types": {"adult": 1}}, format="json"
    )

    assert response.json() == {"ticket_types": ["The ticket types must add up to the seats named."]}


def test_a_moved_ticket_keeps_its_type_at_the_new_price(api_client, priced):
    ticket = api_client.post("/api/tickets", {**ADA, "show": priced.pk, "ticket_type": "adult", "seat": "A1"}).json()

    moved = api_client.patch(f"/api/tickets/{ticket['id']}", {"seat": "C1"})

    assert moved.status_code == 200
    assert (moved.json()["ticket_type"], moved.json()["price"]) == ("adult", "16.00")


def test_a_bookings_total_is_the_sum_of_its_tickets_after_a_move_and_a_cancel(api_client, staff_client, priced):
    # A move re-prices its ticket and a cancel takes one away: the total stayed as booked.
    booked = api_client.post(
        "/api/bookings", {**ADA, "show": priced.pk, "seats": ["A1", "A2", "A3"]}, format="json"
    ).json()
    first, second, _ = booked["tickets"]
    assert booked["total"] == "37.50"

    assert api_client.patch(f"/api/tickets/{first['id']}", {"seat": "C1"}).status_code == 200  # premium: 16.00
    assert api_client.delete(f"/api/tickets/{second['id']}").status_code == 204
    again = staff_client.get(f"/api/bookings/{booked['reference']}").json()

    assert [t["price"] for t in again["tickets"]] == ["12.50", "16.00"]
    assert again["total"] == "28.50"


def test_a_move_to_a_seat_that_does_not_sell_the_tickets_type_is_a_400_on_seat(api_client, priced):
    # A move names no type (the ticket keeps its own): the seat is what doesn't fit.
    child = api_client.post("/api/tickets", {**ADA, "show": priced.pk, "ticket_type": "child", "seat": "A1"}).json()

    moved = api_client.patch(f"/api/tickets/{child['id']}", {"seat": "C1"})

    assert (moved.status_code, moved.json()) == (400, {"seat": ["This show sells no child tickets in premium seats."]})


def test_invalid_prices_are_a_400(staff_client, show):
    bad = [
        ([{"ticket_type": "adult", "category": "gold", "amount": "1.00"}], "No seat category is called 'gold'."),
        ([{"ticket_type": "nobody", "category": "standard", "amount": "1.00"}], "No ticket type is called 'nobody'."),
        (
            [{"ticket_type": "adult", "category": "standard", "amount": "1"}] * 2,
            "The price of adult tickets in standard seats is given twice.",
        ),
    ]
    for prices, message in bad:
        response = staff_client.patch(f"/api/shows/{show.pk}", {"prices": prices}, format="json")
        assert (response.status_code, response.json()) == (400, {"prices": [message]})
    negative = staff_client.patch(
        f"/api/shows/{show.pk}",
        {"prices": [{"ticket_type": "adult", "category": "standard", "amount": "-1"}]},
        format="json",
    )
    assert negative.status_code == 400
    assert not ShowPrice.objects.exists()


def test_a_hold_that_ran_out_must_be_held_again_at_todays_prices(api_client, staff_client, priced):
    hold = api_client.post("/api/holds", {"show": priced.pk, "quantity": 1}, format="json").json()
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        response = api_client.post("/api/bookings", {"hold": hold["id"], **ADA}, format="json")

    assert (response.status_code, response.json()["code"]) == (409, "hold_expired")
    assert book_ticket(priced.pk).price == Decimal("12.50")


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_new_defaults_at_once_leave_one_default():
    # Each save makes the old default plain, then its own type the default: without a
    # lock, the second save's snapshot missed the first's new default (a unique-index 500).
    for attempt in range(5):
        keys = [f"a{attempt}", f"b{attempt}"]
        for key in keys:
            venues.ticket_type_save(TicketType(key=key, name=key), now=timezone.now())

        def make_default(n: int, keys: list[str] = keys) -> None:
            ticket_type = TicketType.objects.get(key=keys[n])
            ticket_type.default = True
            venues.ticket_type_save(ticket_type, now=timezone.now())

        all_at_once(2, make_default)
        assert TicketType.objects.filter(default=True).count() == 1


@pytest.mark.parametrize("row", [{"ticket_type": "adult", "category": "standard"}, {"amount": "1.00"}, {}])
def test_a_price_row_missing_a_field_is_the_same_400_in_a_patch_as_in_a_post(staff_client, priced, row):
    # A PATCH's partial reached the nested rows: DRF skipped their missing fields, a 500.
    patched = staff_client.patch(f"/api/shows/{priced.pk}", {"prices": [row]}, format="json")
    put = staff_client.put(
        f"/api/shows/{priced.pk}", {"starts_at": priced.starts_at.isoformat(), "prices": [row]}, format="json"
    )

    assert patched.status_code == 400, patched.json()
    assert patched.json() == put.json()
    missing = {name for name in ("ticket_type", "category", "amount") if name not in row}
    assert set(patched.json()["prices"]["0"]) == missing
    assert ShowPrice.objects.filter(show=priced).count() == len(PRICES)


def test_the_types_go_to_the_seats_in_the_theatres_order_whatever_the_keys_order(api_client, priced):
    """A JSON object's keys have no order: {"child": 1, "adult": 1} gave the first seat to
    the child, {"adult": 1, "child": 1} to the adult, and where the first seat was premium,
    the two totals differed (or one was refused)."""
    lines = []
    for types in ({"child": 1, "adult": 1}, {"adult": 1, "child": 1}):
        body = {"show": priced.pk, "seats": ["A1", "A2"], "ticket_types": types}
        held = api_client.post("/api/holds", body, format="json")
        assert held.status_code == 201, held.json()
        lines.append([(line["seat"], line["ticket_type"]) for line in held.json()["lines"]])
        assert api_client.delete(f"/api/holds/{held.json()['id']}").status_code == 204

    assert lines == [[("A1", "adult"), ("A2", "child")]] * 2
