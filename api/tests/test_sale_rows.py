"""A sale's rows (services/sale_rows.py): on PostgreSQL one statement writes the person, the
booking, its tickets, their audit entries and the outbox rows; SQLite writes the same rows by
the ORM. Both must leave the same rows and hand back what the database holds, and a failed
write (a reference drawn twice, a seat taken) must leave nothing behind."""

import re
from unittest import mock

import pytest
from django.db import connection
from django.forms.models import model_to_dict
from django.utils import timezone

from api.errors import SeatTaken
from api.locking import SeatsInUse
from api.models import AuditEntry, Booking, Customer, Ticket, Webhook, WebhookEvent
from api.services import audit, blocks, sale_rows, sales
from api.tests.conftest import book_seats, book_ticket, hold_seats, make_show, postgres_only, screen_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def webhook(db) -> Webhook:
    return Webhook.objects.create(url="https://example.com/hook", secret="whsec_dGVzdA==", events=["booking.created"])


def fields(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def test_a_sale_comes_back_as_the_database_holds_it(show, webhook):
    sale = book_seats(show.pk, quantity=3, name="Grace Hopper", phone_number="+914155550124")

    booking = Booking.objects.get()
    assert fields(sale.booking) == fields(booking)
    assert (
        fields(sale.booking.customer)
        == fields(Customer.objects.get())
        == {
            "id": booking.customer_id,
            "name": "Grace Hopper",
            "phone_number": "+914155550124",
        }
    )
    stored = {ticket.pk: fields(ticket) for ticket in Ticket.objects.all()}
    assert [fields(ticket) for ticket in sale.tickets] == [stored[ticket.pk] for ticket in sale.tickets]
    assert [t.seat for t in sale.tickets] == sorted(stored[t.pk]["seat"] for t in sale.tickets)
    assert all(t.holder_id == t.booking.customer_id == booking.customer_id for t in sale.tickets)
    # Loaded, not merely built: saving a ticket again updates its row.
    assert not any(t._state.adding for t in [*sale.tickets, sale.booking, sale.booking.customer])
    ticket = sale.tickets[0]
    ticket.seat_order = 99
    ticket.save(update_fields=["seat_order"])
    assert Ticket.objects.get(pk=ticket.pk).seat_order == 99
    # Stored as the ORM stores a number: E.164 text (a PhoneNumber compares equal to other spellings).
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT phone_number FROM {Customer._meta.db_table}")
        assert cursor.fetchall() == [("+914155550124",)]
    # The audit entries (the booking, then each ticket in seat order) and one outbox row.
    assert list(AuditEntry.objects.order_by("pk").values_list("action", "object_id")) == [
        ("booking.created", booking.reference),
        *[("ticket.created", str(t.pk)) for t in sale.tickets],
    ]
    event = WebhookEvent.objects.get()
    assert (event.webhook_id, event.type) == (webhook.pk, "booking.created")
    assert event.payload["data"]["reference"] == booking.reference
    assert [t["id"] for t in event.payload["data"]["tickets"]] == [str(t.pk) for t in sale.tickets]
    assert event.payload["data"]["phone_number"] == "+914155550124"
    assert {t["phone_number"] for t in event.payload["data"]["tickets"]} == {"+914155550124"}


def test_a_returning_person_is_the_same_customer(show):
    first = book_ticket(show.pk)
    second = book_ticket(show.pk)

    assert first.holder_id == second.holder_id == Customer.objects.get().pk
    assert model_to_dict(second.booking.customer) == model_to_dict(Customer.objects.get())


def test_a_person_the_orm_wrote_is_found_by_a_sale_of_a_number_without_its_country_code(show):
    # show's venue is in India: 0 415 555 0124 there is +91 415 555 0124.
    known = sale_rows.customer_get_or_create(name="Grace Hopper", phone_number="+914155550124")

    ticket = book_ticket(show.pk, name="Grace Hopper", phone_number="04155550124")

    assert ticket.holder_id == known.pk
    assert Customer.objects.count() == 1


def inserted_columns(sql: str) -> dict[str, list[str]]:
    """Each table an INSERT of the statement writes, with its column list."""
    return {
        table: [column.strip() for column in columns.split(",")]
        for table, columns in re.findall(r"INSERT INTO (\w+) \(([^)]*)\)", sql)
    }


def test_the_statement_writes_every_column_of_each_row(show, webhook):
    """A field added to a model with a default in Python must be added to the statement too
    (the ORM path and SQLite would fill it; PostgreSQL's statement would not)."""
    sale = book_seats(show.pk, quantity=2)
    entries, events = audit.booking_entries(sale), audit.booking_events(sale)
    sql, params = sale_rows._one_statement(
        sale.booking.customer, sale.booking, sale.tickets, entries, events, actor="test", now=timezone.now()
    )

    def stored(model, *, but=()) -> list[str]:
        return [f.column for f in model._meta.concrete_fields if f.column not in but]

    assert inserted_columns(sql) == {
        Customer._meta.db_table: stored(Customer, but=["id"]),
        Booking._meta.db_table: stored(Booking, but=["id"]),
        Ticket._meta.db_table: stored(Ticket),
        AuditEntry._meta.db_table: stored(AuditEntry, but=["id"]),
        WebhookEvent._meta.db_table: [
            "webhook_id",
            "message_id",
            "type",
            "payload",
            "status",
            "attempts",
            "next_attempt_at",
            "created_at",
        ],
    }
    assert sql.count("%s") == len(params)


@pytest.mark.parametrize("party", [2, 1])
def test_the_sale_of_the_last_seats_reports_the_show_sold_out(webhook, party):
    webhook.events = []  # every event
    webhook.save()
    small = make_show(days=2, capacity=2)
    if party == 1:
        book_ticket(small.pk)  # the other seat

    book_seats(small.pk, quantity=party)

    types = list(WebhookEvent.objects.order_by("pk").values_list("type", flat=True))
    assert types[-2:] == ["booking.created", "show.sold_out"]
    assert types.count("show.sold_out") == 1


def test_a_sale_that_leaves_a_seat_reports_no_sold_out(webhook):
    webhook.events = []
    webhook.save()
    small = make_show(days=2, capacity=3)

    book_seats(small.pk, quantity=2)

    assert not WebhookEvent.objects.filter(type="show.sold_out").exists()


@pytest.mark.parametrize("left", [0, 1])
def test_a_confirmed_hold_of_the_last_seats_reports_the_show_sold_out(webhook, left):
    webhook.events = ["show.sold_out"]
    webhook.save()
    small = make_show(days=2, capacity=3 + left)
    book_ticket(small.pk)
    hold = hold_seats(small.pk, quantity=2)

    sales.booking_confirm(hold_id=hold.pk, name="Grace Hopper", phone_number="+914155550124", now=timezone.now())

    sold_out = WebhookEvent.objects.filter(type="show.sold_out")
    assert sold_out.count() == (1 if left == 0 else 0)
    if left == 0:
        assert sold_out.get().payload["data"]["id"] == small.pk


def test_a_show_whose_last_seat_is_held_is_reported_sold_out_once_by_the_confirm(webhook):
    """A one-step sale of the last free seat while the other is held leaves the show not
    yet sold out (the hold may run out); the hold's confirm then sells the last seat."""
    webhook.events = ["show.sold_out"]
    webhook.save()
    small = make_show(days=2, capacity=2)
    hold = hold_seats(small.pk, seats=["A1"])

    book_seats(small.pk, seats=["B1"])

    assert not WebhookEvent.objects.filter(type="show.sold_out").exists()
    sales.booking_confirm(hold_id=hold.pk, name="Grace Hopper", phone_number="+914155550124", now=timezone.now())
    sold_out = WebhookEvent.objects.filter(type="show.sold_out")
    assert sold_out.count() == 1
    assert sold_out.get().payload["data"]["id"] == small.pk


def test_the_sale_of_the_last_seat_not_blocked_reports_the_show_sold_out_once(webhook):
    """A seat blocked is not for sale: the sale of the others sold the show out, and said
    nothing when it counted only booked seats against the capacity. Staff then selling the
    house seat take nothing from a show already told sold out: no second event."""
    webhook.events = ["show.sold_out"]
    webhook.save()
    small = make_show(days=2, screen=screen_of(3))
    blocks.seats_block(show_id=small.pk, seats=["A3"], reason="house seat", now=timezone.now())

    book_seats(small.pk, quantity=2)
    sold_out = WebhookEvent.objects.filter(type="show.sold_out")
    assert [event.payload["data"]["id"] for event in sold_out] == [small.pk]

    book_seats(small.pk, seats=["A3"], staff=True)
    assert sold_out.count() == 1
    assert Ticket.objects.filter(show=small).count() == 3


def test_a_reference_drawn_twice_is_drawn_again_and_leaves_nothing_behind(show, webhook):
    taken = book_ticket(show.pk).booking.reference
    draws = iter([taken, "NEWREF"])

    with mock.patch.object(sale_rows, "_draw_reference", lambda: next(draws)):
        sale = book_seats(show.pk, quantity=2, name="Grace Hopper", phone_number="+914155550124")

    assert sale.booking.reference == "NEWREF"
    assert Booking.objects.count() == 2
    assert Ticket.objects.count() == 3
    assert Customer.objects.count() == 2
    assert AuditEntry.objects.filter(action="booking.created").count() == 2
    assert WebhookEvent.objects.count() == 2


def test_a_seat_sold_past_the_lock_is_a_seat_taken_and_leaves_nothing_behind(show, webhook):
    book_ticket(show.pk, seat="A1")
    nothing_used = SeatsInUse(booked=set(), held=set(), blocked=set())

    # As if the seat read had missed the sale: the UNIQUE (show, seat) constraint refuses it.
    with mock.patch.object(sales, "seats_in_use", return_value=nothing_used), pytest.raises(SeatTaken):
        sales.ticket_book(
            show_id=show.pk, seat="A1", name="Grace Hopper", phone_number="+914155550124", now=timezone.now()
        )

    assert Ticket.objects.count() == Booking.objects.count() == Customer.objects.count() == 1
    assert AuditEntry.objects.filter(action="booking.created").count() == 1
    assert WebhookEvent.objects.count() == 1


@pytest.mark.parametrize("last_sale_found", [True, False], ids=["endpoints seen", "none seen"])
def test_a_sale_writes_its_events_whatever_the_last_sale_found(show, webhook, monkeypatch, last_sale_found):
    """A process whose last sale found no endpoint active builds no events for the next
    (PostgreSQL): that sale finds the endpoint registered meanwhile and writes its events
    in a statement more, with the same payload as when they ride in the sale's statement."""
    monkeypatch.setattr(sale_rows._endpoints, "active", last_sale_found)

    sale = book_seats(show.pk, quantity=2, name="Grace Hopper", phone_number="+914155550124")

    event = WebhookEvent.objects.get(type="booking.created")
    assert event.payload["data"] == audit.booking_data(sale)
    assert [t["id"] for t in event.payload["data"]["tickets"]] == [str(t.pk) for t in sale.tickets]
    if connection.vendor == "postgresql":  # SQLite's sales build their events always
        assert sale_rows._endpoints.active


@postgres_only
def test_a_sale_with_no_endpoint_active_builds_no_events(show, monkeypatch):
    """Nothing reads a sale's events while no endpoint is active: after the first sale finds
    none, the next ones don't build them (the booking.created payload was 4 % of a booking's
    instructions, bench/README.md), and say so for the next."""
    book_seats(show.pk)  # finds no endpoint
    assert not sale_rows._endpoints.active
    monkeypatch.setattr(audit, "booking_data", mock.Mock(side_effect=AssertionError("built")))

    book_seats(show.pk, quantity=2)

    assert Booking.objects.count() == 2 and not WebhookEvent.objects.exists()
    assert not sale_rows._endpoints.active
