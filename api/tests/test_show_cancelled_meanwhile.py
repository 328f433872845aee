"""A show cancelled (DELETE /api/shows/{id}) under a hold or a waiting-list entry, which go
with it: a later confirm of the hold is 409 hold_expired, as for any hold released (API.md,
"Hold and booking"); a release or a leave finds the hold or entry gone, a 404. So when the
cancellation comes between the request's first read and its lock of the show: never a 400
on a `show` the request did not send."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from api.models import AuditEntry
from api.services import catalog, holds, sales, waitlist
from api.tests.bookings_helpers import book, post_hold
from api.tests.conftest import ADA, hold_seats, make_show, screen_of
from api.tests.waitlist_helpers import GRACE, join

pytestmark = pytest.mark.django_db

HOLD_EXPIRED = "hold_expired"


def _show_cancelled_before_lock(monkeypatch, module):
    """Staff cancel the show (which releases its holds and takes its waiting list) between
    the request's first read and its lock of the show: the interleaving of two requests,
    made certain."""
    original = module.lock_show

    def cancelled_first(show_id):
        catalog.show_delete(show_id=show_id, now=timezone.now())
        return original(show_id)

    monkeypatch.setattr(module, "lock_show", cancelled_first)


def test_confirming_a_hold_that_the_shows_cancellation_released_is_409_hold_expired(api_client, show):
    held = post_hold(api_client, show, seats=["A3"])
    catalog.show_delete(show_id=show.pk, now=timezone.now())
    assert AuditEntry.objects.filter(action="hold.released", object_id=held["id"]).exists()

    response = book(api_client, hold=held["id"], **ADA)

    assert (response.status_code, response.json().get("code")) == (409, HOLD_EXPIRED), response.json()


def test_confirming_a_hold_that_ran_out_before_its_show_was_cancelled_is_409_hold_expired(api_client, show):
    """The cancellation records no release of a hold already ended: the hold's history
    (hold.created) still tells an id that existed from one never made."""
    moment = timezone.now().replace(microsecond=0)
    with time_machine.travel(moment, tick=False):
        held = post_hold(api_client, show, seats=["A3"])
    with time_machine.travel(moment + timedelta(minutes=settings.BOOKING_HOLD_MINUTES, seconds=1), tick=False):
        catalog.show_delete(show_id=show.pk, now=timezone.now())
        assert not AuditEntry.objects.filter(action="hold.released", object_id=held["id"]).exists()
        response = book(api_client, hold=held["id"], **ADA)

    assert (response.status_code, response.json().get("code")) == (409, HOLD_EXPIRED), response.json()


def test_a_confirm_racing_the_shows_cancellation_is_409_hold_expired_not_a_400_on_show(api_client, show, monkeypatch):
    held = post_hold(api_client, show, seats=["A3"])
    _show_cancelled_before_lock(monkeypatch, sales)

    response = book(api_client, hold=held["id"], **ADA)

    assert (response.status_code, response.json().get("code")) == (409, HOLD_EXPIRED), response.json()


def test_a_release_racing_the_shows_cancellation_is_a_404_not_a_400_on_show(api_client, show, monkeypatch):
    held = post_hold(api_client, show, seats=["A3"])
    _show_cancelled_before_lock(monkeypatch, holds)

    response = api_client.delete(f"/api/holds/{held['id']}")

    assert response.status_code == 404, response.content
    # Released once, by the cancellation: the release adds nothing to the hold's history.
    assert AuditEntry.objects.filter(action="hold.released", object_id=held["id"]).count() == 1


def test_leaving_a_list_racing_the_shows_cancellation_is_a_404_not_a_400_on_show(api_client, monkeypatch):
    show = make_show(capacity=2, screen=screen_of(2))
    hold_seats(show.pk, quantity=2)  # sold out by holds alone: a list opens, and the show can be deleted
    entry = join(api_client, show, GRACE, party_size=1)
    assert entry.status_code == 201, entry.json()
    _show_cancelled_before_lock(monkeypatch, waitlist)

    response = api_client.delete(f"/api/waitlist/{entry.json()['id']}")

    assert response.status_code == 404, response.content
