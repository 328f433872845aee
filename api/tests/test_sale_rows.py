"""A sale's rows (services/sale_rows.py): on PostgreSQL one statement writes the person, the
booking, its tickets, their audit entries and the outbox rows; SQLite writes the same rows by
the ORM. Both must leave the same rows and hand back what the database holds, and a failed
write (a reference drawn twice, a seat taken) must leave nothing behind."""

from unittest import mock

import pytest
from django.forms.models import model_to_dict
from django.utils import timezone

from api.errors import SeatTaken
from api.locking import SeatsInUse
from api.models import AuditEntry, Booking, Customer, Ticket, Webhook, WebhookEvent
from api.services import sales
from api.tests.conftest import book_seats, book_ticket

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
    # The audit entries (the booking and each ticket) and one outbox row for the webhook.
    actions = sorted(AuditEntry.objects.values_list("action", flat=True))
    assert actions == ["booking.created", "ticket.created", "ticket.created", "ticket.created"]
    event = WebhookEvent.objects.get()
    assert (event.webhook_id, event.type) == (webhook.pk, "booking.created")
    assert event.payload["data"]["reference"] == booking.reference
    assert [t["id"] for t in event.payload["data"]["tickets"]] == [str(t.pk) for t in sale.tickets]


def test_a_returning_person_is_the_same_customer(show):
    first = book_ticket(show.pk)
    second = book_ticket(show.pk)

    assert first.holder_id == second.holder_id == Customer.objects.get().pk
    assert model_to_dict(second.booking.customer) == model_to_dict(Customer.objects.get())


def test_a_reference_drawn_twice_is_drawn_again_and_leaves_nothing_behind(show, webhook):
    taken = book_ticket(show.pk).booking.reference
    draws = iter([taken, "NEWREF"])

    with mock.patch.object(sales, "_draw_reference", lambda: next(draws)):
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
