# ruff: noqa: F811  (pytest fixtures imported from admin_helpers, used as arguments)
"""The booking rules, kept in the staff admin's forms: a ticket moved, re-seated or given
to another person, a show's capacity lowered or its start given with seconds, and tickets,
bookings and shows deleted go through the services; what they refuse is a message or a
form error, and nothing is saved. Deletes and a booking's page: test_admin_deletes.py."""

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.utils import timezone

from api.models import Film, Show, Ticket, Venue
from api.services import catalog, sales
from api.tests.admin_helpers import (
    NOW,
    _at,
    _book,
    _form_errors,
    frozen,  # noqa: F401 (the fixture)
    theatre,  # noqa: F401 (the fixture)
)
from api.tests.conftest import book_ticket, hold_seats, screen_of

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
