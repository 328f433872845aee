# ruff: noqa: F811  (the fixture `show_with_map`, imported from test_show_js.py, used as an argument)
"""The show page's script (api/static/api/show.js, run as test_show_js.py runs it) when the
show changes while its page is open: it starts, or it sells out."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from django.utils import timezone

from api.showform import SENTENCES
from api.tests.conftest import book_seats, make_show
from api.tests.test_show_js import NODE, PERSON, _held, run_script, show_with_map  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.skipif(NODE is None, reason="needs Node.js (apt-get install nodejs)")]


def _http_date(at: datetime) -> str:
    return format_datetime(at.astimezone(UTC), usegmt=True)


@pytest.mark.parametrize("when", ["holding", "held as it starts", "confirming"])
def test_a_show_that_starts_meanwhile_is_told_so_and_offers_nothing_more(api_client, show_with_map, when):
    """A hold runs out at its show's start: the page said "Your hold ran out ... hold them
    again", and the hold it offered was refused with a bare "Cannot book a show that has
    started.", the map still drawn free, every button still there to try again."""
    show, answers = show_with_map
    starts = timezone.now() + timedelta(minutes=5)
    held = _held(api_client, show)
    held["body"]["expires_at"] = starts.isoformat()  # the service ends it at the start
    late = {"Date": _http_date(starts + timedelta(seconds=1))}  # the service's clock, by then
    answers["POST /api/holds"] = [
        {"status": 400, "body": {"time": ["Cannot book a show that has started."]}, "headers": late}
    ]
    answers["POST /api/bookings"] = [
        {"status": 409, "body": {"detail": "This hold has run out...", "code": "hold_expired"}, "headers": late}
    ]
    steps: list[dict] = [{"seat": "A1"}, {"seat": "A2"}, {"click": "hold-picked"}]
    if when == "held as it starts":  # the answer came as the hold ran out
        answers["POST /api/holds"] = [{**held, "headers": late}]
    if when == "confirming":
        answers["POST /api/holds"] = [held]
        steps += [{"field": "name", "value": PERSON["name"]}, {"submit": True}]

    seen = run_script(show.pk, answers, steps, starts_at=starts.isoformat())

    assert seen["message"] == SENTENCES["started"] == "This show has started: it can no longer be booked."
    assert seen["shown"] == {"map-area": False, "tickets": False, "hold-buttons": False, "person": False}
    assert not seen["held"]
    # Before its start, the same page offers its seats.
    before = run_script(show.pk, answers, [], starts_at=starts.isoformat())
    assert before["shown"] == {"map-area": True, "tickets": True, "hold-buttons": True, "person": False}


@pytest.mark.parametrize("left", [0, 1])
def test_a_show_that_sells_out_meanwhile_offers_its_waiting_list(api_client, left):
    """The page drew no waiting list (plenty free when it was shown); the show sold out
    meanwhile. The hold's 409 redrew the map all taken, said "Try fewer seats" with none
    left, and offered no waiting list: a reload was the only way to join it. A party bigger
    than the seats left is offered it too (the page's "Not enough seats for your party?")."""
    show = make_show(days=2, capacity=20)
    url = f"/api/shows/{show.pk}/seats"
    before = api_client.get(url).json()
    show.capacity = 2 + left
    show.save(update_fields=["capacity"])
    book_seats(show.pk, quantity=2, **PERSON)
    refused = api_client.post("/api/holds", {"show": show.pk, "seats": ["A5", "A6"]}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "sold_out"
    after = api_client.get(url).json()
    assert after["seats_available"] == left
    answers = {
        f"GET {url}": [{"status": 200, "body": before}, {"status": 200, "body": after}],
        "POST /api/holds": [{"status": 409, "body": refused.json()}],
    }

    seen = run_script(show.pk, answers, [{"seat": "A5"}, {"seat": "A6"}, {"click": "hold-picked"}])

    assert seen["message"] == (SENTENCES["sold_out"] if left else SENTENCES["none_left"])
    assert seen["waitlist"] == {"shown": True, "open": True}
    # A seat refused as taken is no reason to wait: the box stays as it was.
    taken = {"status": 409, "body": {"detail": "...", "code": "seat_taken"}}
    answers = {f"GET {url}": [{"status": 200, "body": before}], "POST /api/holds": [taken]}
    seen = run_script(show.pk, answers, [{"seat": "A5"}, {"click": "hold-picked"}])
    assert seen["waitlist"] == {"shown": False, "open": False}
