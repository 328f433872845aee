"""A hold's release racing its confirm or another release (API.md, "Hold and booking"): never
both, recorded once; and a hold made at its request's moment. The rest of holds:
test_holds_api.py."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from api.models import AuditEntry, Hold, Ticket
from api.services import sales
from api.tests.conftest import all_at_once, hold_seats, make_show, postgres_only

pytestmark = pytest.mark.django_db


def released_entries(hold_id) -> int:
    return AuditEntry.objects.filter(action="hold.released", object_id=str(hold_id)).count()


def test_a_release_that_finds_its_hold_confirmed_meanwhile_changes_nothing(show):
    """DELETE read the hold live; the confirm committed before the release ran."""
    made = sales.hold_create(show_id=show.pk, seats=["A1"], now=timezone.now())
    sales.booking_confirm(hold_id=made.pk, name="Ada Lovelace", phone_number="+914155550123", now=timezone.now())
    spent_at = Hold.objects.get(pk=made.pk).expires_at

    released = sales.hold_release(hold_id=made.pk, now=timezone.now())

    assert released is False
    assert released_entries(made.pk) == 0  # its history ends with its booking
    assert Hold.objects.get(pk=made.pk).expires_at == spent_at


@pytest.mark.django_db(transaction=True)
@postgres_only
def test_two_releases_of_one_hold_at_once_release_it_once():
    show = make_show()
    made = sales.hold_create(show_id=show.pk, seats=["A1"], now=timezone.now())

    answers = all_at_once(2, lambda _: APIClient().delete(f"/api/holds/{made.pk}").status_code)

    assert sorted(answers) == [204, 404]
    assert released_entries(made.pk) == 1


@pytest.mark.django_db(transaction=True)
@postgres_only
def test_a_release_racing_the_confirm_of_its_hold_never_both_succeed():
    show = make_show()
    made = sales.hold_create(show_id=show.pk, seats=["A1", "A2"], now=timezone.now())
    person = {"name": "Ada Lovelace", "phone_number": "+914155550123"}

    def send(n: int) -> tuple[str, int]:
        if n == 0:
            return "release", APIClient().delete(f"/api/holds/{made.pk}").status_code
        return "confirm", APIClient().post("/api/bookings", {"hold": str(made.pk), **person}, format="json").status_code

    answers = dict(all_at_once(2, send))

    assert answers in ({"release": 404, "confirm": 201}, {"release": 204, "confirm": 409}), answers
    assert released_entries(made.pk) == (answers["release"] == 204)
    assert Ticket.objects.count() == (2 if answers["confirm"] == 201 else 0)


def test_a_hold_is_made_at_its_requests_now_which_it_lasts_from(db):
    # The request read the clock, then waited (for the show's lock, say): the hold counts
    # its minutes, and ends (HoldQuerySet.end, extend_by_start), from that moment, not
    # from the INSERT's clock, which auto_now_add wrote over the value given.
    show = make_show()
    then = timezone.now() - timedelta(seconds=30)

    hold = hold_seats(show.pk, quantity=2, now=then)

    stored = Hold.objects.get(pk=hold.pk)
    assert stored.created_at == then
    assert stored.expires_at == then + timedelta(minutes=settings.BOOKING_HOLD_MINUTES)
