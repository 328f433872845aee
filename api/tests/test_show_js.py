"""The show page's script (api/static/api/show.js) run by Node against a stand-in page
(show_js_harness.js) and the API's answers: what it sends and what it tells the customer.
The browser tests (test_browser_show.py) drive the whole page; these need no browser."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders

from api.models import Hold
from api.seatmap_svg import outlines
from api.showform import SENTENCES
from api.tests.conftest import add_price, book_seats, make_show

NODE = shutil.which("node")
HARNESS = Path(__file__).with_name("show_js_harness.js")

pytestmark = [pytest.mark.django_db, pytest.mark.skipif(NODE is None, reason="needs Node.js (apt-get install nodejs)")]

PERSON = {"name": "Ada Lovelace", "phone_number": "+914155550123"}


def run_script(
    show_id: int,
    answers: dict[str, list[dict]],
    steps: list[dict],
    counts: tuple[tuple[str, str], ...] = (("", "Tickets"),),
    starts_at: str = "",
    waitlist: bool = False,
) -> dict:
    """Run show.js with these answers ("METHOD url": answers in turn) and these steps; what
    it sent (fetch calls) and the page's message afterwards."""
    assert NODE is not None
    given = {
        "script": finders.find("api/show.js"),
        "show": show_id,
        "sentences": SENTENCES,
        "outlines": outlines(),
        "counts": counts,
        "answers": answers,
        "steps": steps,
        "starts_at": starts_at,
        "waitlist": waitlist,  # the page drew its waiting list's box (few seats free)
    }
    done = subprocess.run([NODE, str(HARNESS)], input=json.dumps(given), capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def show_with_map(api_client):
    show = make_show(days=2)
    seats = api_client.get(f"/api/shows/{show.pk}/seats")
    return show, {f"GET /api/shows/{show.pk}/seats": [{"status": 200, "body": seats.json()}]}


def _held(api_client, show, quantity: int = 2) -> dict:
    held = api_client.post("/api/holds", {"show": show.pk, "quantity": quantity}, format="json")
    assert held.status_code == 201
    return {"status": 201, "body": held.json()}


def test_a_refusal_of_one_ticket_type_is_a_sentence_not_an_object(api_client, show_with_map):
    show, answers = show_with_map
    # 12 adults typed in the count (the hold buttons send no form: max="10" checks nothing).
    refused = api_client.post("/api/holds", {"show": show.pk, "ticket_types": {"adult": 12}}, format="json")
    assert refused.json() == {"ticket_types": {"adult": ["Ensure this value is less than or equal to 10."]}}
    answers["POST /api/holds"] = [{"status": 400, "body": refused.json()}]

    seen = run_script(
        show.pk, answers, [{"count": 0, "value": "12"}, {"click": "hold-best"}], counts=(("adult", "Adult"),)
    )

    assert seen["sent"][-1]["body"] == {"show": show.pk, "ticket_types": {"adult": 12}}
    assert seen["message"] == "Ensure this value is less than or equal to 10."


def test_a_show_capped_below_its_map_and_sold_out_says_so_and_offers_no_seat(api_client):
    # Its free seats were drawn free and pickable, the page said "0 seats free", and a hold
    # answered "Try fewer seats".
    show = make_show(days=2, capacity=2)
    book_seats(show.pk, quantity=2, **PERSON)
    seats = api_client.get(f"/api/shows/{show.pk}/seats").json()
    assert seats["seats_available"] == 0 and any(s["status"] == "free" for r in seats["rows"] for s in r["seats"])

    seen = run_script(show.pk, {f"GET /api/shows/{show.pk}/seats": [{"status": 200, "body": seats}]}, [])

    assert seen["message"] == SENTENCES["none_left"] == "Sorry, this show is sold out. Try another show."
    assert seen["free_statuses"] == []  # every seat drawn booked or not on sale
    # The same map with seats left to sell draws its free seats free.
    selling = {**seats, "seats_available": 5}
    seen = run_script(show.pk, {f"GET /api/shows/{show.pk}/seats": [{"status": 200, "body": selling}]}, [])
    assert seen["message"] == "" and len(seen["free_statuses"]) > 5


def test_the_hourly_seat_cap_is_told_with_when_it_frees(api_client, show_with_map, settings):
    # Told as the request rate's throttle ("wait a minute"), though the seats free only as
    # the hour's bookings leave it.
    show, answers = show_with_map
    settings.BOOKING_MAX_SEATS_PER_CLIENT_PER_HOUR = 2
    held = _held(api_client, show)
    assert api_client.post("/api/bookings", {"hold": held["body"]["id"], **PERSON}, format="json").status_code == 201
    again = _held(api_client, show)
    capped = api_client.post("/api/bookings", {"hold": again["body"]["id"], **PERSON}, format="json")
    assert capped.status_code == 429
    answers["POST /api/holds"] = [again]
    answers["POST /api/bookings"] = [
        {"status": 429, "body": capped.json(), "headers": {"Retry-After": capped["Retry-After"]}}
    ]
    person = [{"field": "name", "value": PERSON["name"]}, {"field": "phone_number", "value": PERSON["phone_number"]}]

    seen = run_script(show.pk, answers, [{"count": 0, "value": "2"}, {"click": "hold-best"}, *person, {"submit": True}])

    assert seen["message"] == SENTENCES["seats_per_hour"].replace("{minutes}", "60 minutes")


def test_leaving_the_page_releases_the_hold(api_client, show_with_map):
    show, answers = show_with_map
    held = _held(api_client, show)
    answers["POST /api/holds"] = [held]
    answers[f"DELETE /api/holds/{held['body']['id']}"] = [{"status": 204, "body": None}]

    leave: list[dict] = [{"window": "pagehide"}, {"window": "pageshow", "event": {"persisted": True}}]

    seen = run_script(show.pk, answers, [{"count": 0, "value": "2"}, {"click": "hold-best"}, *leave])

    # Else the seats stay held for 10 minutes, and count against the customer's own cap of
    # held seats when the page is opened again.
    release, back = seen["sent"][-2:]
    assert (release["method"], release["url"], release["keepalive"]) == (
        "DELETE",
        f"/api/holds/{held['body']['id']}",
        True,
    )
    assert release["headers"]["X-CSRFToken"] == "the-csrf-token"
    # Back from the browser's page cache: no hold shown, and the map read afresh.
    assert not seen["held"]
    assert (back["method"], back["url"], back["headers"]["Cache-Control"]) == (
        "GET",
        f"/api/shows/{show.pk}/seats",
        "no-cache",
    )


def test_leaving_the_page_after_booking_releases_nothing(api_client, show_with_map):
    show, answers = show_with_map
    answers["POST /api/holds"] = [_held(api_client, show)]
    answers["POST /api/bookings"] = [
        {"status": 201, "body": {"reference": "K7QX2M", "tickets": [], "total": "0.00", "currency": "EUR"}}
    ]
    steps: list[dict] = [
        {"count": 0, "value": "2"},
        {"click": "hold-best"},
        {"field": "name", "value": "Ada"},
        {"submit": True},
    ]

    seen = run_script(show.pk, answers, [*steps, {"window": "pagehide"}])

    assert "K7QX2M" in seen["done"]
    assert [call["method"] for call in seen["sent"] if "/api/holds/" in call["url"]] == []


def test_confirming_again_after_a_lost_answer_is_the_same_booking(api_client, show_with_map):
    show, answers = show_with_map
    held = _held(api_client, show)
    answers["POST /api/holds"] = [held]
    booked = {"reference": "K7QX2M", "tickets": [], "total": "0.00", "currency": "EUR"}
    # The first confirm booked, but its answer never came back (the connection dropped).
    answers["POST /api/bookings"] = [{"fail": True}, {"status": 201, "body": booked}]
    person = [{"field": "name", "value": PERSON["name"]}, {"field": "phone_number", "value": PERSON["phone_number"]}]

    seen = run_script(
        show.pk,
        answers,
        [{"count": 0, "value": "2"}, {"click": "hold-best"}, *person, {"submit": True}, {"submit": True}],
    )

    # Both carry one key: the service answers the retry with the first booking (API.md,
    # Idempotency-Key), where without it the retry is refused as hold_expired, the hold spent.
    confirms = [call for call in seen["sent"] if call["url"] == "/api/bookings"]
    assert [call["body"] for call in confirms] == [{"hold": held["body"]["id"], **PERSON}] * 2
    keys = {call["headers"].get("Idempotency-Key") for call in confirms}
    assert keys == {f"confirm-{held['body']['id']}"}
    assert "K7QX2M" in seen["done"]


TIMED_OUT = {  # the front's 504 (deploy/haproxy/errors/504.http)
    "status": 504,
    "body": {"detail": "The app host did not answer in time; the request may or may not...", "code": "unavailable"},
}
REUSED = {
    "status": 422,
    "body": {"detail": "This Idempotency-Key was used with another request body.", "code": "idempotency_key_reused"},
}


@pytest.mark.parametrize("lost", [{"fail": True}, TIMED_OUT], ids=["no answer", "the front's 504"])
def test_a_corrected_confirm_after_a_lost_answer_shows_the_booking_made(api_client, show_with_map, lost):
    """The first confirm booked and its answer was lost; the customer corrected the name and
    confirmed again: refused as the key's other body (422), the page said it had booked but
    never showed the reference. It asks again with what booked, and shows that booking."""
    show, answers = show_with_map
    held = _held(api_client, show)
    answers["POST /api/holds"] = [held]
    booked = {"reference": "K7QX2M", "tickets": [], "total": "0.00", "currency": "EUR"}
    # The first booked (its answer lost); the second, corrected, lost its answer too; the
    # third is refused as another body; sent again as it was, the first's is its booking.
    answers["POST /api/bookings"] = [lost, lost, REUSED, {"status": 201, "body": booked}]
    typed = [{"field": "name", "value": "Ada Lovelac"}, {"field": "phone_number", "value": PERSON["phone_number"]}]
    corrected = [{"field": "name", "value": "Ada Lovelace"}]
    again = [{"field": "name", "value": "Ada  Lovelace"}]
    steps: list[dict] = [{"count": 0, "value": "2"}, {"click": "hold-best"}, *typed, {"submit": True}]

    seen = run_script(show.pk, answers, [*steps, *corrected, {"submit": True}, *again, {"submit": True}])

    confirms = [call["body"]["name"] for call in seen["sent"] if call["url"] == "/api/bookings"]
    assert confirms == ["Ada Lovelac", "Ada Lovelace", "Ada  Lovelace", "Ada Lovelac"]
    assert "K7QX2M" in seen["done"]


def test_holding_again_after_a_lost_answer_is_the_same_hold(api_client, show_with_map):
    show, answers = show_with_map
    held = _held(api_client, show)
    # The first hold was made, but its answer never came back; then the customer asks again,
    # then for other seats.
    answers["POST /api/holds"] = [{"fail": True}, held]
    answers[f"DELETE /api/holds/{held['body']['id']}"] = [{"status": 204, "body": None}]
    two, three = {"count": 0, "value": "2"}, {"count": 0, "value": "3"}

    seen = run_script(show.pk, answers, [two, {"click": "hold-best"}, {"click": "hold-best"}])
    changed = run_script(
        show.pk,
        {**answers, "POST /api/holds": [{"fail": True}, held]},
        [two, {"click": "hold-best"}, three, {"click": "hold-best"}],
    )

    # One key for the one request sent twice: the service answers the second with the hold
    # the first made (API.md, Idempotency-Key), where without it a second hold kept two more
    # seats, and counted against the customer's cap, for ten minutes.
    first, again = [call for call in seen["sent"] if call["url"] == "/api/holds"]
    assert first["body"] == again["body"] == {"show": show.pk, "quantity": 2}
    assert re.fullmatch("hold-[0-9a-f]{32}", first["headers"]["Idempotency-Key"])
    assert again["headers"]["Idempotency-Key"] == first["headers"]["Idempotency-Key"]
    assert seen["held"]
    # Another request is another key, once the hold the lost one may have made is let go:
    # asked for again with its key (answered with that hold), then released. It kept its
    # seats, and counted against the customer's cap of held seats, for ten minutes: a party
    # of 6 that lost its answer and asked for 5 was refused, "at most 10 seats at once".
    first, asked_again, other = [call for call in changed["sent"] if call["url"] == "/api/holds"]
    assert asked_again["body"] == first["body"]
    assert asked_again["headers"]["Idempotency-Key"] == first["headers"]["Idempotency-Key"]
    released = [call for call in changed["sent"] if call["method"] == "DELETE"]
    assert [call["url"] for call in released] == [f"/api/holds/{held['body']['id']}"]
    assert changed["sent"].index(released[0]) < changed["sent"].index(other)
    assert other["body"] == {"show": show.pk, "quantity": 3}
    assert other["headers"]["Idempotency-Key"] != first["headers"]["Idempotency-Key"]


def test_the_key_a_hold_sends_makes_its_retry_the_first_hold(api_client, show):
    headers = {"HTTP_IDEMPOTENCY_KEY": "hold-" + "ab" * 16}
    asked = {"show": show.pk, "quantity": 2}

    first = api_client.post("/api/holds", asked, format="json", **headers)
    again = api_client.post("/api/holds", asked, format="json", **headers)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert Hold.objects.count() == 1


def test_the_key_a_confirm_sends_makes_its_retry_the_first_booking(api_client, show):
    hold = api_client.post("/api/holds", {"show": show.pk, "quantity": 2}, format="json").json()
    confirm = {"hold": hold["id"], **PERSON}
    headers = {"HTTP_IDEMPOTENCY_KEY": f"confirm-{hold['id']}"}

    mistyped = api_client.post("/api/bookings", {**confirm, "phone_number": "12"}, format="json", **headers)
    first = api_client.post("/api/bookings", confirm, format="json", **headers)
    again = api_client.post("/api/bookings", confirm, format="json", **headers)

    # A refused confirm keeps no key: corrected, it books.
    assert (mistyped.status_code, first.status_code, again.status_code) == (400, 201, 201)
    assert again.json() == first.json()


def test_a_typed_count_of_another_type_leaves_the_first_the_rest_of_the_seats(show_with_map):
    """Three seats picked made three adults; a child typed then left three adults, and the
    hold was refused ("must add up") until the adults were corrected by hand."""
    show, answers = show_with_map
    kinds = (("adult", "Adult"), ("child", "Child"))

    seen = run_script(
        show.pk, answers, [{"seat": "A1"}, {"seat": "A2"}, {"seat": "A3"}, {"count": 1, "value": "1"}], counts=kinds
    )

    assert seen["counts"] == ["2", "1"]
    # With no seat picked the counts are the party "best seats" asks for: left as typed.
    typed = run_script(show.pk, answers, [{"count": 0, "value": "2"}, {"count": 1, "value": "1"}], counts=kinds)
    assert typed["counts"] == ["2", "1"]
    # A seat unpicked still takes its count away.
    unpicked = run_script(show.pk, answers, [{"seat": "A1"}, {"seat": "A1"}], counts=kinds)
    assert unpicked["counts"] == ["0", "0"]


def test_seats_taken_meanwhile_are_unpicked_with_their_tickets(api_client):
    """Three seats picked made three adults; one taken meanwhile, the hold's 409 redrew the
    map and unpicked it, but the adults stayed three: the next hold sent two seats with three
    adults, refused "must add up to the seats named", which "please choose again" doesn't
    explain."""
    show = make_show(days=2)
    add_price(show, "adult", "12.50")
    add_price(show, "child", "8.00")
    kinds = (("adult", "Adult"), ("child", "Child"))
    url = f"/api/shows/{show.pk}/seats"
    before = api_client.get(url).json()
    book_seats(show.pk, seats=["A3"], **PERSON)
    after = api_client.get(url).json()
    taken = api_client.post(
        "/api/holds", {"show": show.pk, "seats": ["A1", "A2", "A3"], "ticket_types": {"adult": 3}}, format="json"
    )
    held = api_client.post(
        "/api/holds", {"show": show.pk, "seats": ["A1", "A2"], "ticket_types": {"adult": 2}}, format="json"
    )
    assert (taken.status_code, held.status_code) == (409, 201)
    answers = {
        f"GET {url}": [{"status": 200, "body": before}, {"status": 200, "body": after}],
        "POST /api/holds": [{"status": 409, "body": taken.json()}, {"status": 201, "body": held.json()}],
    }
    pick = [{"seat": "A1"}, {"seat": "A2"}, {"seat": "A3"}]
    hold_twice = [{"click": "hold-picked"}, {"click": "hold-picked"}]

    seen = run_script(show.pk, answers, [*pick, *hold_twice], counts=kinds)

    holds = [s["body"] for s in seen["sent"] if s["method"] == "POST"]
    assert holds == [
        {"show": show.pk, "seats": ["A1", "A2", "A3"], "ticket_types": {"adult": 3}},
        {"show": show.pk, "seats": ["A1", "A2"], "ticket_types": {"adult": 2}},
    ]
    assert seen["counts"] == ["2", "0"] and seen["held"]
    # Three children typed (no adult left): the seat taken takes a child away.
    seen = run_script(show.pk, answers, [*pick, {"count": 1, "value": "3"}, *hold_twice], counts=kinds)
    holds = [s["body"] for s in seen["sent"] if s["method"] == "POST"]
    assert [h["ticket_types"] for h in holds] == [{"child": 3}, {"child": 2}]


def test_a_refused_phone_number_is_told_beside_its_field(api_client, show_with_map):
    # The form's alert is above the map, some 750 px from the field, which said nothing of
    # it to a screen reader either (found trying the page as a newcomer).
    show, answers = show_with_map
    answers["POST /api/holds"] = [_held(api_client, show)]
    held = answers["POST /api/holds"][0]["body"]["id"]
    refused = api_client.post("/api/bookings", {"name": "Ada", "phone_number": "12345", "hold": held}, format="json")
    booked = {"reference": "K7QX2M", "tickets": [], "total": "0.00", "currency": "EUR"}
    answers["POST /api/bookings"] = [{"status": 400, "body": refused.json()}, {"status": 201, "body": booked}]
    person = [{"field": "name", "value": "Ada"}, {"field": "phone_number", "value": "12345"}]
    steps: list[dict] = [{"count": 0, "value": "2"}, {"click": "hold-best"}, *person, {"submit": True}]

    seen = run_script(show.pk, answers, steps)

    assert seen["fields"]["phone_number"] == {"note": refused.json()["phone_number"][0], "invalid": "true"}
    assert seen["fields"]["name"] == {"note": "", "invalid": None}
    assert refused.json()["phone_number"][0] in seen["message"]

    # Corrected and booked: the note goes.
    seen = run_script(
        show.pk, answers, [*steps, {"field": "phone_number", "value": PERSON["phone_number"]}, {"submit": True}]
    )
    assert seen["fields"]["phone_number"] == {"note": "", "invalid": None}


@pytest.mark.parametrize("status", [502, 503, 504])
def test_the_fronts_may_or_may_not_answer_is_a_sentence_for_a_customer(api_client, show_with_map, status):
    # The page said the front's answer as it stands, for a program: "...Retry it with the
    # same Idempotency-Key." The page does that itself; the customer needs only to try again.
    show, answers = show_with_map
    front = Path(settings.BASE_DIR) / "deploy" / "haproxy" / "errors" / f"{status}.http"
    body = json.loads(front.read_text().split("\n\n", 1)[1])
    assert body["code"] == "unavailable" and "Idempotency-Key" in body["detail"]
    held = _held(api_client, show)
    answers["POST /api/holds"] = [{"status": status, "body": body}, held]
    answers["POST /api/bookings"] = [{"status": status, "body": body}]
    hold: list[dict] = [{"count": 0, "value": "2"}, {"click": "hold-best"}]

    seen = run_script(show.pk, answers, hold)
    confirmed = run_script(show.pk, answers, [*hold, *hold, {"field": "name", "value": "Ada"}, {"submit": True}])

    assert "Idempotency-Key" not in seen["message"] and "Idempotency-Key" not in confirmed["message"]
    assert seen["message"] == confirmed["message"] == SENTENCES["unavailable"]
