"""Cancelling once the show has started: a customer can't (a no-show's refund, or one for a
film half seen, is the theatre's to give), as a change is refused then (409 ticket_expired);
staff can, through the API and the admin (a show called off midway)."""

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command

from api.models import Booking, Ticket, Webhook, WebhookEvent
from api.tests.conftest import ADA, book_seats, make_show

pytestmark = pytest.mark.django_db


@pytest.fixture
def sale():
    # Before: 204 for both, and booking.cancelled (whom to refund) sent, after the film.
    Webhook.objects.create(url="https://example.com/hook", secret="whsec_dGVzdA==", events=[])
    return book_seats(make_show().pk, quantity=2)


def _booking_url(sale) -> str:
    return f"/api/bookings/{sale.booking.reference}?phone_number={ADA['phone_number'].replace('+', '%2B')}"


def _after(sale, hours: float):
    return time_machine.travel(sale.tickets[0].show.starts_at + timedelta(hours=hours), tick=False)


@pytest.mark.parametrize("hours", [0, 0.5, 9])
def test_a_customer_cannot_cancel_a_ticket_or_a_booking_once_the_show_has_started(api_client, sale, hours):
    with _after(sale, hours):
        if hours > 8:
            call_command("expire_tickets", verbosity=0)  # and marked expired
        one = api_client.delete(f"/api/tickets/{sale.tickets[0].pk}")
        whole = api_client.delete(_booking_url(sale))

    assert [one.status_code, whole.status_code] == [409, 409]
    assert one.json()["code"] == whole.json()["code"] == "ticket_expired"
    assert Ticket.objects.count() == 2
    assert not WebhookEvent.objects.filter(type__endswith=".cancelled").exists()


def test_a_customer_cancels_until_the_show_starts(api_client, sale):
    with _after(sale, -1 / 60):
        assert api_client.delete(f"/api/tickets/{sale.tickets[0].pk}").status_code == 204
        assert api_client.delete(_booking_url(sale)).status_code == 204

    assert not Booking.objects.exists()


def test_staff_cancel_a_started_shows_tickets_through_the_api_and_the_admin(staff_client, staff, sale):
    with _after(sale, 0.5):
        assert staff_client.delete(f"/api/tickets/{sale.tickets[0].pk}").status_code == 204
        page = f"/admin/api/booking/{sale.booking.pk}/delete/"
        assert staff.post(page, {"post": "yes"}).status_code == 302

    assert not Ticket.objects.exists()
    assert WebhookEvent.objects.filter(type="booking.cancelled").count() == 1
