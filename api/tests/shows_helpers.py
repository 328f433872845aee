"""The API's picture of a show and the small helpers the show API's tests share
(test_shows_api.py, test_show_writes.py). Their shows, `dune` and `oppenheimer`, are
fixtures in conftest.py."""

from django.utils import timezone

from api.models import Show
from api.tests.conftest import ADA, book_ticket


def show_json(show: Show, *, booked: int = 0, held: int = 0, expired: bool = False) -> dict:
    """The API's picture of a show, built from the row (its local date and time)."""
    local = timezone.localtime(show.starts_at)
    return {
        "id": show.pk,
        "film": show.film_id,
        "title": show.title,
        "venue": show.screen.venue_id,
        "screen": show.screen_id,
        "date": local.date().isoformat(),
        "time": local.strftime("%H:%M"),
        "starts_at": local.isoformat(),
        "ends_at": timezone.localtime(show.ends_at).isoformat(),
        "capacity": show.capacity,
        "tickets_booked": booked,
        # None once it has started: nothing more can be sold (API.md: "can be sold now").
        "seats_available": 0 if show.starts_at <= timezone.now() else show.capacity - booked - held,
        "expired": expired,
        "currency": "EUR",
        "prices": [],  # v2: none set for these shows
    }


def book(show: Show, count: int = 1) -> None:
    for _ in range(count):
        book_ticket(show.pk, **ADA)
