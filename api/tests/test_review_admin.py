# ruff: noqa: F811  (pytest fixtures imported from the admin's helpers, used as arguments)
"""What a review of the staff admin found, each test failing on main until fixed: a
webhook's signing secret read back through a list's query string; an endpoint that sent
events can't be deleted, by a superuser either; the Tokens pages show every API key; a
show's page that showed no prices wipes prices set meanwhile; a forged selection of a
list action is a 500; a booking or customer isn't found by a phone number as people
write it, where a ticket is."""

import pytest
from django.contrib.auth import get_user_model

from api.models import Booking, Ticket
from api.tests.admin_catalog_helpers import film, screen, show, venue  # noqa: F401 (the fixtures)
from api.tests.admin_helpers import NOW, frozen  # noqa: F401 (the fixture)
from api.tests.conftest import book_seats

pytestmark = pytest.mark.django_db


# --- finding a booking or a person by phone, as a ticket is found ---------------------------


@pytest.mark.parametrize("changelist", ["/admin/api/booking/", "/admin/api/customer/"])
def test_a_booking_and_its_customer_are_found_by_the_phone_as_people_write_it(client, show, changelist):
    """The ticket list finds "(415) 555-0123" (services' phone_matches); the lists of
    bookings and customers, where staff "look up a person", searched the typed text in the
    stored E.164 (+914155550123) and found nothing."""
    sale = book_seats(show.pk, quantity=1)  # Ada, +914155550123
    client.force_login(get_user_model().objects.create_superuser("admin", "a@example.com", password=None))
    typed = "(415) 555-0123"
    ticket = Ticket.objects.get(booking=sale.booking)
    assert str(ticket.pk)[:8] in client.get("/admin/api/ticket/", {"q": typed}).content.decode()  # as tickets are

    page = client.get(changelist, {"q": typed}).content.decode()

    assert Booking.objects.get(pk=sale.booking.pk).reference in page or "Ada Lovelace" in page
    assert "0 results" not in page
