"""What becomes of waiting lists after the offer job (API.md, "Waiting list"), with time
frozen: the purge deletes expired shows' lists with their offers; the admin shows a show's
list in joining order, and staff remove entries there; a show deleted with its list."""

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from api.errors import ShowNotFound
from api.models import AuditEntry, Hold, Show, Ticket, WaitlistEntry
from api.services import catalog, jobs, waitlist
from api.tests.conftest import ADA, book_seats, hold_seats, make_show, screen_of
from api.tests.waitlist_helpers import ALAN, EDSGER, GRACE, offer_seats
from api.tests.waitlist_offer_helpers import cancel, entry_of, join, offer_of

pytestmark = pytest.mark.django_db


# --- the purge --------------------------------------------------------------------------


def test_the_purge_deletes_the_lists_of_expired_shows_with_their_offers(api_client, frozen):
    past = make_show(capacity=4, screen=screen_of(4))
    later = make_show(days=5, capacity=4, screen=screen_of(4))
    # Offers made shortly before the first show: their holds are not yet old enough for
    # the purge of spent holds (a day), so the entries' purge takes the first show's.
    frozen.move_to(past.starts_at - timedelta(minutes=5))
    for show in (past, later):
        book_seats(show.pk, quantity=4)
        join(api_client, show, GRACE, 1, frozen)
        join(api_client, show, ALAN, 1, frozen)
        Ticket.objects.filter(show=show, seat="A4").delete()
    offer_seats()
    assert Hold.objects.filter(waitlist_entry__isnull=False).count() == 2

    frozen.move_to(past.starts_at + timedelta(hours=8))  # the expire job's cutoff
    out = StringIO()
    call_command("purge_expired_tickets", stdout=out)

    assert out.getvalue() == (
        "Deleted 0 expired tickets, 0 bookings, 0 customers, 0 holds and 0 idempotency keys.\n"
        "Deleted 2 waiting-list entries of expired shows.\n"
    )
    assert set(WaitlistEntry.objects.values_list("show_id", flat=True)) == {later.pk}
    assert set(Hold.objects.values_list("show_id", flat=True)) == {later.pk}
    assert jobs.tickets_purge(now=timezone.now()).waitlist_entries == 0


# --- the admin --------------------------------------------------------------------------


def test_the_admin_shows_a_shows_list_in_order_and_staff_remove_entries(api_client, staff, row_of_ten, frozen):
    other_show = make_show(days=6, capacity=1, screen=screen_of(1, name="Other"))
    book_seats(other_show.pk, quantity=1)
    join(api_client, other_show, EDSGER, 1, frozen)
    ids = [join(api_client, row_of_ten, person, 1, frozen) for person in (GRACE, ALAN, ADA)]
    cancel(api_client, row_of_ten, "A4")
    offer_seats()
    hold = offer_of(ids[0])

    show_page = staff.get(f"/admin/api/show/{row_of_ten.pk}/change/").content.decode()
    url = f"/admin/api/waitlistentry/?show__id__exact={row_of_ten.pk}"
    assert f'<a href="{url.replace("&", "&amp;")}">In joining order</a>: 1 offered, 2 waiting.' in show_page

    page = staff.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    names = [m.group(1) for m in re.finditer(r'<td class="field-name">([^<]+)</td>', html)]
    statuses = [m.group(1) for m in re.finditer(r'<td class="field-status_display">([^<]+)</td>', html)]
    assert names == [GRACE["name"], ALAN["name"], ADA["name"]]  # in joining order; not Edsger's show
    assert statuses == ["offered", "waiting", "waiting"]
    assert "A4 held until" in html

    response = staff.post(url, {"action": "remove", "_selected_action": [ids[0], ids[2]]}, follow=True)

    assert "2 entries removed from the waiting list." in response.content.decode()
    assert [entry_of(api_client, e)["status"] for e in ids] == ["left", "waiting", "left"]
    assert entry_of(api_client, ids[1])["position"] == 1
    assert not Hold.objects.live(timezone.now()).filter(pk=hold.pk).exists()  # A4 is on sale again
    assert AuditEntry.objects.filter(actor="staff:admin", action="waitlist.left").count() == 2
    # An entry's page is read-only, and nobody deletes one: it is removed, and says so.
    entry_page = staff.get(f"/admin/api/waitlistentry/{ids[0]}/change/").content.decode()
    assert 'name="_save"' not in entry_page and "Grace Hopper" in entry_page
    assert staff.get(f"/admin/api/waitlistentry/{ids[0]}/delete/").status_code == 403


def test_a_show_with_a_waiting_list_is_deleted_in_the_admin_as_through_the_api(api_client, staff, row_of_ten, frozen):
    # Called off: its tickets cancelled, and the people waiting offered the seats.
    for person in (GRACE, ALAN):
        join(api_client, row_of_ten, person, 2, frozen)
    cancel(api_client, row_of_ten, *(f"A{n}" for n in range(1, 11)))
    offer_seats()
    url = f"/admin/api/show/{row_of_ten.pk}/delete/"

    page, response = staff.get(url), staff.post(url, {"post": "yes"})

    # Django asked for the right to delete waiting list entries, which nobody has (they
    # are removed, never deleted alone): the page said so and the POST was a 403, for a
    # superuser too, while the API's DELETE of the show went through.
    assert "Are you sure you want to delete the show" in page.content.decode()
    assert response.status_code == 302
    assert not WaitlistEntry.objects.exists() and not Hold.objects.exists()
    cancelled = AuditEntry.objects.filter(action="show.cancelled").values_list("actor", "object_id")
    assert list(cancelled) == [("staff:admin", str(row_of_ten.pk))]


def test_a_join_whose_show_is_deleted_just_after_it_commits_is_a_404(api_client, monkeypatch):
    # The view read the entry back with .get() after the join committed: a show deleted in
    # between (its list with it) made that a DoesNotExist, a 500.
    show = make_show(capacity=1, screen=screen_of(1))
    hold_seats(show.pk, quantity=1)  # sold out by a hold: no ticket, so staff may delete it
    joined = waitlist.waitlist_join

    def join_then_show_deleted(**kwargs):
        made = joined(**kwargs)
        catalog.show_delete(show_id=show.pk, actor="staff:a", now=timezone.now())  # another request, right after
        return made

    monkeypatch.setattr(waitlist, "waitlist_join", join_then_show_deleted)

    response = api_client.post(f"/api/shows/{show.pk}/waitlist", {**ADA, "party_size": 1}, format="json")

    assert (response.status_code, response.json()) == (404, {"detail": "No Show matches the given query."})


def test_a_join_whose_show_is_deleted_before_its_lock_answers_as_an_unknown_show(api_client, monkeypatch):
    # The show deleted between the view's read and the join's lock said "No show matches
    # the given query.", where an unknown show, and one deleted just after the join, say
    # "No Show ..." (get_object_or_404's words).
    show = make_show(capacity=1, screen=screen_of(1))
    hold_seats(show.pk, quantity=1)  # sold out
    unknown = api_client.post("/api/shows/999999/waitlist", {**ADA, "party_size": 1}, format="json")

    def show_gone(show_id: int) -> None:
        raise ShowNotFound(show_id)

    monkeypatch.setattr(waitlist, "lock_show", show_gone)
    gone = api_client.post(f"/api/shows/{show.pk}/waitlist", {**ADA, "party_size": 1}, format="json")

    assert (gone.status_code, gone.json()) == (unknown.status_code, unknown.json())
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "No Show matches the given query."})


def test_removing_entries_whose_show_was_cancelled_meanwhile_is_no_500(api_client, staff, frozen, monkeypatch):
    # The list was read with both entries; a colleague cancels the show (its list goes with
    # it) before the action reaches them.
    show = make_show(capacity=2, screen=screen_of(2))
    hold_seats(show.pk, quantity=2)  # sold out by holds alone: a list opens, and the show can be deleted
    ids = [join(api_client, show, person, 1, frozen) for person in (GRACE, ALAN)]
    leave = waitlist.waitlist_leave

    def show_cancelled_first(**kwargs):
        if Show.objects.filter(pk=show.pk).exists():
            catalog.show_delete(show_id=show.pk, now=timezone.now(), actor="staff:other")
        return leave(**kwargs)

    monkeypatch.setattr(waitlist, "waitlist_leave", show_cancelled_first)
    url = "/admin/api/waitlistentry/"

    response = staff.post(url, {"action": "remove", "_selected_action": ids}, follow=True)

    assert response.status_code == 200
    assert "0 entries removed from the waiting list (2 had left the line already)." in response.content.decode()
