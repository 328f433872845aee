# ruff: noqa: F811  (pytest fixtures imported from admin_helpers, used as arguments)
"""Tickets, bookings and shows deleted in the staff admin go through the services (a bulk
delete is all or none), and a booking's page, all read-only, saves nothing back."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.models import DELETION, LogEntry

from api.admin.bookings import BookingAdmin
from api.admin.shows import ShowAdmin
from api.models import AuditEntry, Booking, Show, Ticket, Webhook, WebhookEvent
from api.services import catalog, door, sales
from api.tests.admin_catalog_helpers import _form
from api.tests.admin_helpers import (
    NOW,
    _at,
    _book,
    _messages,
    frozen,  # noqa: F401 (the fixture)
)
from api.tests.conftest import book_seats

pytestmark = pytest.mark.django_db


def test_deleting_a_ticket_cancels_it(staff, frozen):
    show = Show.objects.create(title="Dune", starts_at=_at(3, 19), capacity=20)
    ticket = _book(show, seat="A4")
    response = staff.post(f"/admin/api/ticket/{ticket.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Ticket.objects.exists()
    assert not Booking.objects.exists()  # a booking left without tickets goes too


def test_deleting_a_booking_cancels_its_tickets(staff, frozen):
    show = Show.objects.create(title="Dune", starts_at=_at(3, 19), capacity=20)
    booking = book_seats(show.pk, name="Ada Lovelace", phone_number="+914155550123", quantity=2).booking
    kept = _book(show, name="Grace Hopper", seat="A8")  # A9 would leave A10 alone
    response = staff.post(f"/admin/api/booking/{booking.pk}/delete/", {"post": "yes"})
    assert (response.status_code, response["Location"]) == (302, "/admin/api/booking/")
    assert list(Ticket.objects.values_list("pk", flat=True)) == [kept.pk]
    assert list(Booking.objects.values_list("pk", flat=True)) == [kept.booking_id]


def test_a_show_with_tickets_is_not_deleted(staff, frozen):
    show = Show.objects.create(title="Dune", starts_at=_at(3, 19), capacity=20)
    _book(show, seat="A4")
    response = staff.post(f"/admin/api/show/{show.pk}/delete/", {"post": "yes"})
    assert response.status_code == 200  # Django's "would require deleting protected objects" page
    assert "Cannot delete show" in response.content.decode()
    assert Show.objects.filter(pk=show.pk).exists()


def test_deleting_shows_in_bulk_goes_through_the_service(staff, frozen, settings):
    # Django's delete_selected would run queryset.delete(): no entry, no show.cancelled.
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    Webhook.objects.create(url="https://example.com/hook", events=["show.cancelled"], secret="whsec_AAAA")
    shows = [Show.objects.create(title="Dune", starts_at=_at(3, hour), capacity=20) for hour in (15, 19)]
    ids = [str(show.pk) for show in shows]
    response = staff.post("/admin/api/show/", {"action": "delete_selected", "_selected_action": ids, "post": "yes"})
    assert (response.status_code, response["Location"]) == (302, "/admin/api/show/")
    assert not Show.objects.exists()
    entries = AuditEntry.objects.filter(action="show.cancelled").values_list("actor", "object_id")
    assert sorted(entries) == [("staff:admin", show_id) for show_id in sorted(ids)]
    events = WebhookEvent.objects.filter(type="show.cancelled").values_list("payload__data__id", flat=True)
    assert sorted(events) == sorted(show.pk for show in shows)


def test_a_bulk_delete_the_service_refuses_deletes_nothing(staff, frozen, monkeypatch):
    # A ticket booked between the confirmation page's check and the delete: the service
    # refuses under the show's lock; none of the selected shows goes, and staff are told.
    shows = [Show.objects.create(title="Dune", starts_at=_at(3, hour), capacity=20) for hour in (15, 19)]
    _book(shows[1], seat="A4")
    ids = [str(show.pk) for show in shows]
    original = ShowAdmin.get_deleted_objects

    def unprotected(self, objs, request):
        deleted, counts, perms_needed, _protected = original(self, objs, request)
        return deleted, counts, perms_needed, []

    monkeypatch.setattr(ShowAdmin, "get_deleted_objects", unprotected)
    response = staff.post("/admin/api/show/", {"action": "delete_selected", "_selected_action": ids, "post": "yes"})
    assert (response.status_code, response["Location"]) == (302, "/admin/api/show/")
    assert _messages(staff.get("/admin/api/show/")) == ["This show has tickets: cancel them first."]
    assert Show.objects.count() == 2
    assert not AuditEntry.objects.filter(action="show.cancelled").exists()
    # Nor does the admin's own history say they were deleted (Django logs before deleting).
    assert not LogEntry.objects.filter(action_flag=DELETION).exists()


def test_a_bulk_cancel_of_tickets_with_one_checked_in_cancels_none(staff, frozen):
    """It cancelled the tickets before the checked-in one (and their booking), said only
    that one couldn't be, and the admin's history logged all four as deleted."""
    show = Show.objects.create(title="Dune", starts_at=NOW + timedelta(minutes=30), capacity=20)
    tickets = book_seats(show.pk, quantity=4).tickets
    door.ticket_check_in(ticket_id=tickets[2].pk, now=NOW)
    ids = [str(t.pk) for t in tickets]

    response = staff.post("/admin/api/ticket/", {"action": "delete_selected", "_selected_action": ids, "post": "yes"})

    assert response.status_code == 302
    assert _messages(staff.get("/admin/api/ticket/")) == ["This ticket was checked in already: it can't be cancelled."]
    assert Ticket.objects.filter(show=show).count() == 4
    assert not AuditEntry.objects.filter(action__in=["ticket.cancelled", "booking.cancelled"]).exists()
    assert not LogEntry.objects.filter(action_flag=DELETION).exists()


@pytest.mark.parametrize("meanwhile", ["a ticket cancelled", "the booking cancelled"])
def test_a_save_of_a_bookings_page_writes_nothing_back(staff, monkeypatch, meanwhile):
    """Its fields are all read-only, yet a save wrote the whole row back as the POST had
    read it, unlocked: a colleague's cancel of one ticket committed meanwhile had its total
    put back, and a booking cancelled meanwhile was made again, with no ticket."""
    show = Show.objects.create(title="Dune", starts_at=_at(3, 19), capacity=20)
    catalog.show_update(show_id=show.pk, now=NOW, prices=[("adult", "standard", Decimal("10.00"))])
    sale = book_seats(show.pk, quantity=2)
    url = f"/admin/api/booking/{sale.booking.pk}/change/"
    data = _form(staff, url)
    read = BookingAdmin.get_object

    def cancelled_meanwhile(self, request, object_id, from_field=None):
        booking = read(self, request, object_id, from_field)
        if meanwhile == "a ticket cancelled":
            sales.ticket_cancel(ticket_id=sale.tickets[0].pk, staff=True, now=NOW)
        else:
            sales.booking_cancel(booking_id=sale.booking.pk, staff=True, now=NOW)
        return booking

    monkeypatch.setattr(BookingAdmin, "get_object", cancelled_meanwhile)

    assert staff.post(url, data).status_code == 302
    left = list(Booking.objects.filter(pk=sale.booking.pk).values_list("total", flat=True))
    assert left == ([Decimal("10.00")] if meanwhile == "a ticket cancelled" else [])
