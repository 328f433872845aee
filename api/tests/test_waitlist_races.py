"""A waiting list's writes beside staff's changes of its show, on PostgreSQL: the join reads
its show before it takes the show's lock, and what it decides by must be read again under
the lock (API.md, "Waiting list": joining a show that has started is a 400)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from api.errors import WaitlistClosed
from api.models import WaitlistEntry
from api.services import catalog, waitlist
from api.tests.conftest import ADA, hold_seats, make_show, postgres_only, screen_of, while_held_open

pytestmark = [postgres_only, pytest.mark.django_db(transaction=True)]


def test_a_join_that_waited_for_its_show_to_be_moved_into_the_past_is_refused():
    # The join read the show before staff's move committed, still to come, and took no new
    # look under the lock: the entry was made at a show that had started, answered 201
    # "status": "expired", where a join of a started show is a 400.
    show = make_show(capacity=2, screen=screen_of(2))
    hold_seats(show.pk, quantity=2)  # sold out by a hold: no ticket, so staff may move it into the past

    outcomes = while_held_open(
        lambda: catalog.show_update(
            show_id=show.pk, starts_at=timezone.now() - timedelta(minutes=5), now=timezone.now(), actor="staff:a"
        ),
        lambda: waitlist.waitlist_join(show_id=show.pk, party_size=1, now=timezone.now(), client="ip:1", **ADA),
    )

    assert outcomes["waited"]
    assert isinstance(outcomes["second"], WaitlistClosed), outcomes
    assert not WaitlistEntry.objects.exists()
