"""The per-client hold cap under concurrency (issue 16): five or fifty holds of one client
sent at once, over several shows, never hold more than BOOKING_MAX_HELD_SEATS_PER_CLIENT
seats (version 1 reached 50 seats with 5 simultaneous requests)."""

import pytest
from django.utils import timezone

from api.errors import HoldLimitReached
from api.models import Hold
from api.tests.conftest import all_at_once, hold_seats, make_show, postgres_only

pytestmark = [postgres_only, pytest.mark.django_db(transaction=True)]

CLIENT = "addr:203.0.113.7"


@pytest.mark.parametrize(("requests", "quantity"), [(5, 10), (50, 1)])
def test_holds_sent_at_once_never_pass_the_cap(settings, requests, quantity):
    settings.BOOKING_MAX_HELD_SEATS_PER_CLIENT = 10
    shows = [make_show(days=2, hour=10 + n, minute=0, capacity=20).pk for n in range(5)]

    def hold(n: int) -> str:
        try:
            hold_seats(shows[n % len(shows)], quantity=quantity, client=CLIENT)
        except HoldLimitReached:
            return "refused"
        return "held"

    answers = all_at_once(requests, hold)

    held = sum(
        len(seats) for seats in Hold.objects.live(timezone.now()).filter(client=CLIENT).values_list("seats", flat=True)
    )
    assert held == 10
    assert answers.count("held") == 10 // quantity
    assert answers.count("refused") == requests - 10 // quantity
