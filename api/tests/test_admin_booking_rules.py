# ruff: noqa: F811  (pytest fixtures imported from admin_helpers, used as arguments)
"""The booking rules, kept in the staff admin's forms: a ticket moved, re-seated or given
to another person, a show's capacity lowered or its start given with seconds, and tickets,
bookings and shows deleted go through the services; what they refuse is a message or a
form error, and nothing is saved."""

from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.utils import timezone

from api.admin.bookings import BookingAdmin
from api.admin.shows import ShowAdmin
from api.models import AuditEntry, Booking, Film, Show, Ticket, Venue, Webhook, WebhookEvent
from api.services import catalog, door, sales
from api.tests.admin_helpers import (
    NOW,
    _at,
    _book,
    _form_errors,
    _messages,
    frozen,  # noqa: F401 (the fixture)
    theatre,  # noqa: F401 (the fixture)
)
from api.tests.conftest import book_seats, book_ticket, hold_seats, screen_of

pytestmark = pytest.mark.django_db


class _FormReader(HTMLParser):
    """The values a browser would send from a page's fields, as they were rendered."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, str] = {}
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        name = found.get("name")
        if tag == "input" and name and found.get("type") not in ("submit", "checkbox"):
            self.data[name] = found.get("value") or ""
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select and "selected" in found:
            self.data[self._select] = found["value"] or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def _page_form(response) -> dict:
    """The form of a page already answered (one shown again), as its browser would send it."""
    reader = _FormReader()
    reader.feed(response.content.decode())
    data = {name: value for name, value in reader.data.items() if name != "csrfmiddlewaretoken"}
    return {**data, "_save": "Save"}


def _change_form(client, url: str, **changes) -> dict:
    """The change page's form as loaded, with some fields changed: what staff submit."""
    reader = _FormReader()
    reader.feed(client.get(url).content.decode())
    data = {name: value for name, value in reader.data.items() if name != "csrfmiddlewaretoken"}
    return {**data, **changes, "_save": "Save"}


def _snapshot(ticket: Ticket) -> tuple:
    ticket = Ticket.objects.select_related("holder").get(pk=ticket.pk)
    return ticket.show_id, ticket.seat, ticket.holder.name, str(ticket.holder.phone_number)


def test_a_tickets_choice_of_shows_names_each_ones_venue_and_screen(staff, frozen):
    """A film at 11:00 in two cities read alike, "Past Lives at 2026-12-08 11:00", and staff
    moved a ticket to the other city's show."""
    here = Show.objects.create(title="Past Lives", starts_at=_at(3, 11), capacity=20)
    zone = here.screen.venue.time_zone  # one local time for both
    kadikoy = Venue.objects.create(name="Odeon Kadıköy", time_zone=zone, currency="EUR", country="TR")
    there = Show.objects.create(
        title="Past Lives", starts_at=_at(3, 11), capacity=20, screen=screen_of(20, name="Salon 2", venue=kadikoy)
    )
    ticket = _book(here, seat="A3")

    page = staff.get(f"/admin/api/ticket/{ticket.pk}/change/").content.decode()

    local = f"{here.local_start:%Y-%m-%d %H:%M}"
    assert f'<option value="{here.pk}" selected>Past Lives at {local} · {here.screen}</option>' in page
    assert f'<option value="{there.pk}">Past Lives at {local} · Odeon Kadıköy: Salon 2</option>' in page


def test_moving_a_ticket_into_a_full_show_is_refused(staff, frozen):
    ticket = _book(Show.objects.create(title="Dune", starts_at=_at(3, 19), capacity=20), seat="A3")
    full = Show.objects.create(title="Full", starts_at=_at(4, 19), capacity=2)
    _book(full, name="Grace Hopper", seat="A1")
    _book(full, name="Grace Hopper", seat="A2")
    before = _snapshot(ticket)
    url = f"/admin/api/ticket/{ticket.pk}/change/"
    for seat, message in [
        ("", "This show has no free seat left for this request."),  # the best free seat
        ("A2", "Seat A2 is already booked or held."),  # the same seat as now, there
    ]:
        form = _change_form(staff, url, show_choice=str(full.pk), seat_label=seat, name="Ada Byron")
        response = staff.post(url, form)
        # The form again, with what was typed and the refusal (redirected, it lost them).
        assert _form_errors(response) == {"__all__": [message]}
        assert response.context["adminform"].form["name"].value() == "Ada Byron"
        assert _snapshot(ticket) == before  # nothing saved, not even the new name
    assert full.tickets.count() == 2


def test_a_page_opened_before_a_move_saves_only_what_staff_changed_on_it(staff, frozen):
    """Staff opened a ticket's page; the customer moved the ticket; staff corrected the name
    on the page and saved: the move was undone, since the page's show and seat differed from
    the ticket's. What staff changed is told by the page's own values."""
    dune, later = (Show.objects.create(title=t, starts_at=_at(d, 19), capacity=20) for t, d in (("A", 3), ("B", 4)))
    ticket = _book(dune, seat="A3")
    url = f"/admin/api/ticket/{ticket.pk}/change/"
    form = _change_form(staff, url, name="Ada Byron")  # the page as loaded, then the name typed
    sales.ticket_update(ticket_id=ticket.pk, show_id=later.pk, seat="B3", now=NOW, actor="client:203.0.113.9")

    assert staff.post(url, form).status_code == 302

    assert _snapshot(ticket) == (later.pk, "B3", "Ada Byron", "+914155550123")


def test_a_show_page_opened_before_a_new_time_saves_only_what_staff_changed_on_it(staff, frozen):
    show = Show.objects.create(title="Dune", starts_at=_at(3, 19), capacity=20)
    url = f"/admin/api/show/{show.pk}/change/"
    form = _change_form(staff, url, capacity="12")
    catalog.show_update(show_id=show.pk, starts_at=_at(3, 21), now=NOW, actor="staff:bob")

    assert staff.post(url, form).status_code == 302

    show.refresh_from_db()
    assert (show.starts_at, show.capacity) == (_at(3, 21), 12)


def test_a_new_start_typed_on_a_form_shown_again_is_saved(staff, frozen):
    """The review found the page's start lost when its form came back (a refused capacity):
    the corrected form saved the capacity, reported success, and kept the old start."""
    show = Show.objects.create(title="Dune", starts_at=_at(3, 15), capacity=20)
    url = f"/admin/api/show/{show.pk}/change/"
    form = _change_form(staff, url, starts_at_1="21:00", capacity="30")  # over the map's 20
    again = staff.post(url, form)
    assert _form_errors(again) == {"capacity": ["Capacity can't be above the 20 places of the screen's seat map."]}

    assert staff.post(url, {**_page_form(again), "capacity": "8"}).status_code == 302

    show.refresh_from_db()
    assert (show.starts_at, show.capacity) == (_at(3, 21), 8)


def test_a_seat_typed_for_a_ticket_moved_meanwhile_is_refused(staff, frozen):
    """The page showed show A; the customer moved the ticket to B; staff typed seat A7 for A:
    it was applied at B, a seat nobody chose at a show staff never saw."""
    dune, later = (Show.objects.create(title=t, starts_at=_at(d, 19), capacity=20) for t, d in (("A", 3), ("B", 4)))
    ticket = _book(dune, seat="A3")
    url = f"/admin/api/ticket/{ticket.pk}/change/"
    form = _change_form(staff, url, seat_label="A7")
    sales.ticket_update(ticket_id=ticket.pk, show_id=later.pk, seat="B3", now=NOW, actor="client:203.0.113.9")

    response = staff.post(url, form)

    assert _form_errors(response) == {
        "__all__": ["This ticket was moved after this page was opened: reload it to see where it is now."]
    }
    assert _snapshot(ticket)[:2] == (later.pk, "B3")


@pytest.mark.parametrize("to_show", ["B", "A"])
def test_a_seat_typed_for_a_ticket_moved_before_the_saves_lock_is_refused(staff, frozen, monkeypatch, to_show):
    """The page's place was compared with the ticket's as the POST read it, unlocked, and
    the service read the ticket's show again itself: a customer's move (to B3 at B, or to
    B3 at A) committed between the two had its seat replaced by the one staff typed."""
    dune, later = (Show.objects.create(title=t, starts_at=_at(d, 19), capacity=20) for t, d in (("A", 3), ("B", 4)))
    ticket = _book(dune, seat="A3")
    url = f"/admin/api/ticket/{ticket.pk}/change/"
    form = _change_form(staff, url, seat_label="A7")
    update = sales.ticket_update

    def moved_meanwhile(**kwargs):
        to = later if to_show == "B" else dune
        update(ticket_id=ticket.pk, show_id=to.pk, seat="B3", now=NOW, actor="client:203.0.113.9")
        return update(**kwargs)

    monkeypatch.setattr(sales, "ticket_update", moved_meanwhile)

    response = staff.post(url, form)

    assert _form_errors(response) == {
        "__all__": ["This ticket was moved after this page was opened: reload it to see where it is now."]
    }
    # Never A7 at B. (The customer's move, in the test's one transaction, was rolled back
    # with the page's save.)
    assert _snapshot(ticket)[:2] == (dune.pk, "A3")


def test_taking_a_booked_seat_is_refused(staff, frozen):
    show = Show.objects.create(title="Dune", starts_at=_at(3, 19), capacity=20)
    ticket = _book(show, seat="A4")
    _book(show, name="Grace Hopper", seat="A5")
    before = _snapshot(ticket)
    url = f"/admin/api/ticket/{ticket.pk}/change/"
    response = staff.post(url, _change_form(staff, url, seat_label="A5"))
    assert _form_errors(response) == {"__all__": ["Seat A5 is already booked or held."]}
    response = staff.post(url, _change_form(staff, url, seat_label="C1"))
    assert _form_errors(response) == {"__all__": ["Seat C1 does not exist at this show."]}
    assert _snapshot(ticket) == before


def test_a_ticket_of_a_started_show_cant_be_changed(staff, frozen):
    started = Show.objects.create(title="Dune", starts_at=NOW - timedelta(hours=1), capacity=20)
    ticket = book_ticket(
        started.pk,
        name="Ada Lovelace",
        phone_number="+914155550123",
        now=NOW - timedelta(hours=2),
    )
    before = _snapshot(ticket)
    url = f"/admin/api/ticket/{ticket.pk}/change/"
    response = staff.post(url, _change_form(staff, url, seat_label="A9"))
    assert _form_errors(response) == {"__all__": ["This ticket's show has started or the ticket has expired."]}
    assert _snapshot(ticket) == before


def test_a_bad_seat_label_is_a_form_error(staff, frozen):
    ticket = _book(Show.objects.create(title="Dune", starts_at=_at(3, 19), capacity=20), seat="A4")
    before = _snapshot(ticket)
    url = f"/admin/api/ticket/{ticket.pk}/change/"
    response = staff.post(url, _change_form(staff, url, seat_label="4B"))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"seat_label": ["4B is not a seat label like B4."]}
    assert _snapshot(ticket) == before


def test_moving_a_ticket_and_changing_the_person(staff, frozen):
    ticket = _book(Show.objects.create(title="Dune", starts_at=_at(3, 19), capacity=20), seat="A4")
    other = Show.objects.create(title="Later", starts_at=_at(5, 21), capacity=20)
    _book(other, name="Grace Hopper", seat="A1")
    url = f"/admin/api/ticket/{ticket.pk}/change/"
    form = _change_form(staff, url)
    assert (form["show_choice"], form["seat_label"], form["name"]) == (str(ticket.show_id), "A4", "Ada Lovelace")
    response = staff.post(url, {**form, "show_choice": str(other.pk), "seat_label": ""})
    assert (response.status_code, response["Location"]) == (302, "/admin/api/ticket/")
    assert _snapshot(ticket) == (other.pk, "B5", "Ada Lovelace", "+914155550123")  # the best free seat there
    form = _change_form(staff, url, seat_label="b7", name="Ada Byron", phone_number="04155550199")
    response = staff.post(url, form)
    assert response.status_code == 302
    assert _snapshot(ticket) == (other.pk, "B7", "Ada Byron", "+914155550199")


def test_saving_an_unchanged_expired_ticket_changes_nothing(staff, theatre):
    ticket = Ticket.objects.filter(show=theatre["expired"]).first()
    assert ticket is not None
    before = _snapshot(ticket)
    url = f"/admin/api/ticket/{ticket.pk}/change/"
    response = staff.post(url, _change_form(staff, url))
    assert (response.status_code, response["Location"]) == (302, "/admin/api/ticket/")
    assert _snapshot(ticket) == before


def test_lowering_capacity_below_the_tickets_is_refused(staff, frozen):
    show = Show.objects.create(title="Dune", starts_at=_at(3, 19, 30), capacity=20)
    for seat in ("A1", "A2", "B5"):
        _book(show, seat=seat)
    url = f"/admin/api/show/{show.pk}/change/"
    response = staff.post(url, _change_form(staff, url, capacity="2"))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "capacity": ["Capacity can't be lower than the 3 seats booked or held."]
    }
    assert "B5" in response.content.decode()  # the page again, with its tickets
    show.refresh_from_db()
    assert show.capacity == 20
    response = staff.post(url, _change_form(staff, url, capacity="3"))
    assert (response.status_code, response["Location"]) == (302, "/admin/api/show/")
    show.refresh_from_db()
    assert show.capacity == 3
    assert show.tickets.count() == 3


def test_a_live_hold_counts_against_a_lowered_capacity(staff, frozen):
    show = Show.objects.create(title="Dune", starts_at=_at(3, 19, 30), capacity=20)
    _book(show, seat="A1")
    hold_seats(show.pk, seats=["A2", "A3"])
    url = f"/admin/api/show/{show.pk}/change/"
    response = staff.post(url, _change_form(staff, url, capacity="2"))
    assert response.context["adminform"].form.errors == {
        "capacity": ["Capacity can't be lower than the 3 seats booked or held."]
    }


def test_a_show_starts_on_the_minute(staff, frozen):
    url = "/admin/api/show/add/"
    form = _change_form(staff, url, title="Dune", starts_at_0="2030-06-18", starts_at_1="19:30:15", capacity="20")
    response = staff.post(url, form)
    assert response.context["adminform"].form.errors == {
        "starts_at": ["Shows start on the minute: seconds must be 00."]
    }
    assert not Show.objects.exists()
    response = staff.post(url, {**form, "starts_at_1": "19:30"})
    assert response.status_code == 302
    assert Show.objects.get().starts_at == _at(3, 19, 30)


def test_a_show_the_service_refuses_comes_back_as_typed_with_the_reason(staff, frozen):
    """The service's refusal (a film's show still running) redirected to an empty form with
    a message: staff typed the show again. The form comes back as typed, the reason on its
    field."""
    film = Film.objects.create(title="Dune", runtime_minutes=150)
    dune = catalog.show_create(starts_at=_at(3, 18), film_id=film.pk, now=timezone.now())
    url = "/admin/api/show/add/"
    form = _change_form(staff, url, title="Arrival", starts_at_0="2030-06-18", starts_at_1="19:30", capacity="12")

    response = staff.post(url, form)

    (reason,) = _form_errors(response)["starts_at"]
    assert reason.startswith(f"Show {dune.pk} (Dune, 2030-06-18 18:00) keeps this screen busy until 20:45")
    assert response.context["adminform"].form["title"].value() == "Arrival"
    assert Show.objects.count() == 1


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
    data = _change_form(staff, url)
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
