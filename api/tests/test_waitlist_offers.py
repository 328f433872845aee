"""The offer job, `manage.py offer_waitlist_seats` (API.md, "Waiting list"), with time frozen:
seats that come free are offered at the next run, in joining order, as holds that last
BOOKING_WAITLIST_OFFER_MINUTES and never past the show's start; a lapsed offer passes to
the next entry in the same run; a party that does not fit keeps its place while smaller
ones behind it are served. Then what a run leaves (audit entries and the waitlist.offered
event) and runs that find the job's lock taken or a show failing. The purge of expired
shows' lists and the admin's view of a list: test_waitlist_purge_and_admin.py."""

from datetime import timedelta
from io import StringIO
from uuid import UUID

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone

from api.models import AuditEntry, Hold, Show, Ticket, WaitlistEntry, Webhook, WebhookEvent
from api.services import waitlist, webhooks
from api.tests.conftest import ADA, add_price, book_seats, hold_seats, local_iso, make_show, screen_of
from api.tests.waitlist_helpers import ALAN, EDSGER, GRACE, offer_seats
from api.tests.waitlist_offer_helpers import cancel, entry_of, join, offer_of

pytestmark = pytest.mark.django_db

OFFER_MINUTES = 10  # BOOKING_WAITLIST_OFFER_MINUTES' default
NOTHING = "Made 0 offers of 0 seats; 0 lapsed offers expired.\n"


def offered(show: Show, seats: str, entry_id: str, until) -> str:
    """The job's line for one offer."""
    return f"Offered {seats} at show {show.pk} to waiting-list entry {entry_id} until {local_iso(until)}.\n"


def test_a_cancellation_is_offered_at_the_next_run(api_client, row_of_ten, frozen):
    grace = join(api_client, row_of_ten, GRACE, 1, frozen)
    alan = join(api_client, row_of_ten, ALAN, 1, frozen)
    assert offer_seats() == NOTHING  # sold out: nothing to offer

    cancel(api_client, row_of_ten, "A4")
    # Until the job runs, the seat is on sale to anyone; the entry still waits.
    assert entry_of(api_client, grace)["status"] == "waiting"

    now = timezone.now()
    assert offer_seats() == (
        offered(row_of_ten, "A4", grace, now + timedelta(minutes=OFFER_MINUTES))
        + "Made 1 offers of 1 seats; 0 lapsed offers expired.\n"
    )
    hold = offer_of(grace)
    assert (hold.seats, hold.expires_at, hold.client) == (["A4"], now + timedelta(minutes=OFFER_MINUTES), "")
    assert entry_of(api_client, grace)["status"] == "offered"
    assert entry_of(api_client, alan)["position"] == 1
    # The offer is a hold: the seat is off sale to everyone else.
    response = api_client.post("/api/tickets", {**EDSGER, "show": row_of_ten.pk}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "sold_out")
    assert offer_seats() == NOTHING  # again at once: nothing changes


def test_a_show_priced_only_for_a_type_other_than_the_default_offers_that_type(api_client, frozen):
    """A children's matinee priced for `child` alone: an offer is a hold of no types asked,
    the default's (adult), which the show does not sell, so every run skipped every entry
    ("Made 0 offers") and its list was a queue that never moved; and with no seat it could
    sell the default, the list took joins while seats were free."""
    show = make_show(capacity=4, screen=screen_of(4))
    add_price(show, "child", "6.00")
    response = api_client.post(f"/api/shows/{show.pk}/waitlist", {**GRACE, "party_size": 1}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "seats_available")  # 4 free child seats
    book_seats(show.pk, quantity=4, ticket_types={"child": 4})
    grace = join(api_client, show, GRACE, 2, frozen)
    cancel(api_client, show, "A1", "A2")

    now = timezone.now()
    assert offer_seats() == (
        offered(show, "A1, A2", grace, now + timedelta(minutes=OFFER_MINUTES))
        + "Made 1 offers of 2 seats; 0 lapsed offers expired.\n"
    )
    offer = entry_of(api_client, grace)["offer"]
    assert (offer["seats"], offer["total"]) == (["A1", "A2"], "12.00")
    assert sorted(offer_of(grace).lines, key=str) == sorted(
        [
            {"seat": "A1", "ticket_type": "child", "category": "standard", "price": "6.00"},
            {"seat": "A2", "ticket_type": "child", "category": "standard", "price": "6.00"},
        ],
        key=str,
    )


def test_a_lapsed_offer_passes_to_the_next_entry_in_the_same_run(api_client, row_of_ten, frozen):
    grace = join(api_client, row_of_ten, GRACE, 1, frozen)
    alan = join(api_client, row_of_ten, ALAN, 1, frozen)
    cancel(api_client, row_of_ten, "A4")
    offered_at = timezone.now()
    offer_seats()
    ends = offered_at + timedelta(minutes=OFFER_MINUTES)

    frozen.move_to(ends - timedelta(seconds=1))
    assert offer_seats() == NOTHING  # still live
    assert entry_of(api_client, grace)["status"] == "offered"

    frozen.move_to(ends)  # exactly its end: no longer live
    assert offer_seats() == (
        offered(row_of_ten, "A4", alan, ends + timedelta(minutes=OFFER_MINUTES))
        + "Made 1 offers of 1 seats; 1 lapsed offers expired.\n"
    )
    assert entry_of(api_client, grace) == {"id": grace, "show": row_of_ten.pk, "party_size": 1, "status": "expired"}
    assert WaitlistEntry.objects.get(pk=grace).status == "expired"
    assert entry_of(api_client, alan)["offer"]["seats"] == ["A4"]
    # Grace's hold is spent, not reused: each offer is a hold of its own.
    assert Hold.objects.filter(show=row_of_ten).count() == 2


def test_offers_end_at_the_shows_start(api_client, frozen):
    show = make_show(capacity=4, screen=screen_of(4))
    book_seats(show.pk, quantity=4)
    grace = join(api_client, show, GRACE, 1, frozen)
    alan = join(api_client, show, ALAN, 1, frozen)
    Ticket.objects.filter(seat="A4").delete()

    frozen.move_to(show.starts_at - timedelta(minutes=4))
    assert offer_seats() == (
        offered(show, "A4", grace, show.starts_at) + "Made 1 offers of 1 seats; 0 lapsed offers expired.\n"
    )
    assert offer_of(grace).expires_at == show.starts_at
    assert entry_of(api_client, grace)["offer"]["expires_at"] == local_iso(show.starts_at)

    frozen.move_to(show.starts_at)
    assert entry_of(api_client, grace)["status"] == "expired"
    frozen.move_to(show.starts_at + timedelta(minutes=1))
    assert offer_seats() == NOTHING  # the seat is free again, but the show has started
    # Its list closed: Alan waited in vain (it read "waiting", position 1, after the start).
    assert entry_of(api_client, alan) == {"id": alan, "show": show.pk, "party_size": 1, "status": "expired"}
    assert not Hold.objects.filter(waitlist_entry_id=UUID(alan)).exists()


def test_a_party_that_does_not_fit_keeps_its_place_while_a_smaller_one_behind_is_served(api_client, row_of_ten, frozen):
    three = join(api_client, row_of_ten, GRACE, 3, frozen)
    two = join(api_client, row_of_ten, ALAN, 2, frozen)
    one = join(api_client, row_of_ten, EDSGER, 1, frozen)
    cancel(api_client, row_of_ten, "A5", "A6")

    now = timezone.now()
    assert offer_seats() == (
        offered(row_of_ten, "A5, A6", two, now + timedelta(minutes=OFFER_MINUTES))
        + "Made 1 offers of 2 seats; 0 lapsed offers expired.\n"
    )
    assert [entry_of(api_client, e).get("position") for e in (three, two, one)] == [1, None, 2]

    # Three seats come free: the party of three, still first in line, gets them before the
    # party of one that joined after it.
    cancel(api_client, row_of_ten, "A1", "A2", "A3")
    assert offer_seats() == (
        offered(row_of_ten, "A1, A2, A3", three, now + timedelta(minutes=OFFER_MINUTES))
        + "Made 1 offers of 3 seats; 0 lapsed offers expired.\n"
    )
    assert entry_of(api_client, one)["position"] == 1


def test_several_entries_are_served_in_one_run_in_joining_order(api_client, row_of_ten, frozen):
    first = join(api_client, row_of_ten, GRACE, 2, frozen)
    second = join(api_client, row_of_ten, ALAN, 2, frozen)
    cancel(api_client, row_of_ten, "A1", "A2", "A9", "A10")

    out = offer_seats()

    assert out.splitlines()[-1] == "Made 2 offers of 4 seats; 0 lapsed offers expired."
    assert [line.split(" to waiting-list entry ")[1][:36] for line in out.splitlines()[:2]] == [first, second]
    seats = [entry_of(api_client, e)["offer"]["seats"] for e in (first, second)]
    assert sorted(seats) == [["A1", "A2"], ["A9", "A10"]]


def test_a_raised_capacity_and_a_lapsed_hold_are_offered_too(api_client, staff_client, frozen):
    show = make_show(capacity=4, screen=screen_of(10))  # a sale cap below the map's 10 seats
    book_seats(show.pk, seats=["A1", "A2", "A3"])
    stranger = hold_seats(show.pk, seats=["A4"])  # the last seat, held by someone paying
    grace = join(api_client, show, GRACE, 2, frozen)
    alan = join(api_client, show, ALAN, 1, frozen)
    assert offer_seats() == NOTHING

    assert staff_client.patch(f"/api/shows/{show.pk}", {"capacity": 6}, format="json").status_code == 200
    offer_seats()
    assert entry_of(api_client, grace)["status"] == "offered"

    frozen.move_to(stranger.expires_at)  # the stranger's hold runs out
    offer_seats()
    assert entry_of(api_client, alan)["offer"]["seats"] == ["A4"]


def test_a_confirmed_offer_reads_booked_with_its_booking(api_client, row_of_ten, frozen):
    grace = join(api_client, row_of_ten, GRACE, 2, frozen)
    cancel(api_client, row_of_ten, "A5", "A6")
    offer_seats()
    hold = offer_of(grace)

    # Confirmed with another name and phone: the hold is the key, as for any hold.
    response = api_client.post("/api/bookings", {"hold": str(hold.pk), **ADA}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert [t["seat"] for t in body["tickets"]] == ["A5", "A6"]
    assert entry_of(api_client, grace) == {
        "id": grace,
        "show": row_of_ten.pk,
        "party_size": 2,
        "status": "booked",
        "booking": body["reference"],
    }
    assert WaitlistEntry.objects.get(pk=grace).status == "booked"
    assert offer_seats() == NOTHING
    # The booking's own life goes on: cancelled later, the entry still says how its wait ended.
    api_client.delete(f"/api/bookings/{body['reference']}?phone_number=%2B914155550123")
    assert entry_of(api_client, grace)["booking"] == body["reference"]


def test_an_offer_confirmed_by_a_host_whose_clock_is_behind_the_jobs_reads_booked(api_client, row_of_ten, frozen):
    # The job, on a host whose clock runs ahead, marked the offer expired (nobody else
    # waits, so its seats went to no one); the confirm, on a host whose clock is behind,
    # still found the hold live and booked. The entry read "expired" with a booking made.
    grace = join(api_client, row_of_ten, GRACE, 2, frozen)
    cancel(api_client, row_of_ten, "A5", "A6")
    offer_seats()
    hold = offer_of(grace)
    with time_machine.travel(timezone.now() + timedelta(minutes=OFFER_MINUTES, seconds=1), tick=False):
        offer_seats()  # the job's host: the offer has lapsed
    assert WaitlistEntry.objects.get(pk=grace).status == "expired"

    response = api_client.post("/api/bookings", {"hold": str(hold.pk), **ADA}, format="json")

    assert response.status_code == 201, response.json()
    assert entry_of(api_client, grace)["status"] == "booked"
    assert entry_of(api_client, grace)["booking"] == response.json()["reference"]


def test_a_phone_whose_offer_lapsed_joins_again_at_the_back(api_client, row_of_ten, frozen):
    grace = join(api_client, row_of_ten, GRACE, 1, frozen)
    alan = join(api_client, row_of_ten, ALAN, 1, frozen)
    cancel(api_client, row_of_ten, "A4")
    offer_seats()
    frozen.shift(timedelta(minutes=OFFER_MINUTES))

    frozen.shift(1)
    again = api_client.post(f"/api/shows/{row_of_ten.pk}/waitlist", {**GRACE, "party_size": 1}, format="json")

    assert (again.status_code, again.json()["position"]) == (201, 2)
    assert again.json()["id"] != grace
    assert WaitlistEntry.objects.get(pk=grace).status == "expired"
    assert offer_seats().splitlines()[-1] == "Made 1 offers of 1 seats; 0 lapsed offers expired."
    assert entry_of(api_client, alan)["status"] == "offered"


def test_the_job_leaves_an_audit_trail_and_sends_waitlist_offered(api_client, row_of_ten, frozen, settings):
    endpoint = Webhook.objects.create(
        url="https://hooks.example.com/sms", events=["waitlist.offered"], secret=webhooks.new_secret()
    )
    grace = join(api_client, row_of_ten, GRACE, 2, frozen)
    alan = join(api_client, row_of_ten, ALAN, 1, frozen)
    cancel(api_client, row_of_ten, "A5", "A6")
    now = timezone.now()
    offer_seats()
    hold = offer_of(grace)

    (event,) = WebhookEvent.objects.filter(webhook=endpoint)
    assert (event.type, event.payload["type"]) == ("waitlist.offered", "waitlist.offered")
    assert event.payload["data"] == {
        "id": grace,
        "show": row_of_ten.pk,
        "starts_at": row_of_ten.starts_at.isoformat(),
        "name": GRACE["name"],
        "phone_number": GRACE["phone_number"],
        "party_size": 2,
        "offer": {
            "hold": str(hold.pk),
            "seats": ["A5", "A6"],
            "total": "0.00",
            "currency": "EUR",
            "expires_at": (now + timedelta(minutes=OFFER_MINUTES)).isoformat(),
        },
    }

    frozen.shift(timedelta(minutes=OFFER_MINUTES))
    offer_seats()  # Grace's offer lapses, Alan is offered A5

    def trail(entry_id: str) -> list[tuple[str, str, dict]]:
        entries = AuditEntry.objects.filter(object_type="waitlist", object_id=entry_id).order_by("at", "pk")
        return [(e.actor, e.action, e.changes) for e in entries]

    job = "job:offer_waitlist_seats"
    alan_hold = offer_of(alan)
    assert trail(grace) == [
        ("client:127.0.0.1", "waitlist.joined", {"show": row_of_ten.pk, "party_size": 2}),
        (job, "waitlist.offered", {"hold": str(hold.pk), "seats": ["A5", "A6"]}),
        (job, "waitlist.expired", {}),
    ]
    assert trail(alan)[-1] == (job, "waitlist.offered", {"hold": str(alan_hold.pk), "seats": alan_hold.seats})
    assert AuditEntry.objects.filter(action="hold.created", object_id=str(hold.pk), actor=job).exists()
    # One entry per run that changed anything, with its counts.
    runs = AuditEntry.objects.filter(object_type="job", object_id="offer_waitlist_seats").order_by("at")
    assert [(r.actor, r.action, r.changes) for r in runs] == [
        (job, "waitlist.offers_made", {"offered": 1, "seats": 2, "expired": 0}),
        (job, "waitlist.offers_made", {"offered": 1, "seats": 1, "expired": 1}),
    ]
    offer_seats()
    assert runs.count() == 2


def test_a_run_that_finds_the_jobs_lock_taken_does_nothing(api_client, row_of_ten, frozen, monkeypatch):
    join(api_client, row_of_ten, GRACE, 1, frozen)
    cancel(api_client, row_of_ten, "A4")
    monkeypatch.setattr("api.services.waitlist.try_job_lock", lambda key: False)

    assert offer_seats() == "Another host is offering waiting-list seats right now; nothing to do.\n"
    assert not Hold.objects.exists()


def test_a_show_that_fails_is_logged_and_the_others_are_still_served(
    api_client, row_of_ten, frozen, monkeypatch, caplog
):
    # One show's error (a bug, a database error) stopped the whole run: the shows after it
    # in the run waited for the next minute's, and the same error stopped that one too.
    broken = make_show(days=4, capacity=10, screen=screen_of(10, name="Broken"))
    book_seats(broken.pk, quantity=10)
    for show in (broken, row_of_ten):
        join(api_client, show, GRACE, 1, frozen)
    cancel(api_client, row_of_ten, "A4")
    Ticket.objects.filter(show=broken, seat="A4").delete()
    offer_at = waitlist._offer_at

    def failing(show_id, **kwargs):
        if show_id == broken.pk:
            raise RuntimeError("a bug")
        return offer_at(show_id, **kwargs)

    monkeypatch.setattr(waitlist, "_offer_at", failing)
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="1 show failed"):
        call_command("offer_waitlist_seats", stdout=out, stderr=err)

    assert not Hold.objects.filter(show=broken).exists()
    assert Hold.objects.filter(show=row_of_ten).count() == 1
    assert "Made 1 offers of 1 seats; 0 lapsed offers expired.\n" in out.getvalue()
    assert err.getvalue() == f"Failed at show {broken.pk}: RuntimeError: a bug (the traceback is in the log).\n"
    (record,) = [r for r in caplog.records if r.levelname == "ERROR"]
    assert record.getMessage() == f"Offering waiting-list seats at show {broken.pk} failed."
    assert record.exc_info is not None


def test_a_show_that_failed_before_another_host_took_over_still_fails_the_command(
    api_client, row_of_ten, frozen, monkeypatch
):
    join(api_client, row_of_ten, GRACE, 1, frozen)
    other = make_show(days=4, capacity=10, screen=screen_of(10, name="Other"))
    book_seats(other.pk, quantity=10)
    join(api_client, other, ALAN, 1, frozen)
    monkeypatch.setattr(waitlist, "_offer_at", lambda show_id, **kwargs: 1 / 0)
    locks = iter([True, False])  # the second show's turn finds another host offering
    monkeypatch.setattr(waitlist, "try_job_lock", lambda key: next(locks))

    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="1 show failed"):
        call_command("offer_waitlist_seats", stdout=out, stderr=err)

    assert "ZeroDivisionError" in err.getvalue()
    assert out.getvalue().endswith("Another host is offering waiting-list seats right now; left the rest to it.\n")


def test_an_offer_that_ran_out_holds_no_place_in_the_clients_line_cap(api_client, row_of_ten, frozen, settings):
    # Until the offer job next ran, the lapsed offer (its entry already reading expired)
    # still counted its 4 seats against the client's cap: "4 in line now".
    settings.BOOKING_MAX_HELD_SEATS_PER_CLIENT = 4
    other = make_show(days=4, capacity=4, screen=screen_of(4, name="Other"))
    book_seats(other.pk, quantity=4)
    grace = join(api_client, row_of_ten, GRACE, 4, frozen)
    cancel(api_client, row_of_ten, "A1", "A2", "A3", "A4")
    offer_seats()
    frozen.shift(timedelta(minutes=OFFER_MINUTES, seconds=1))
    assert entry_of(api_client, grace)["status"] == "expired"

    joined = api_client.post(f"/api/shows/{other.pk}/waitlist", {**ALAN, "party_size": 1}, format="json")

    assert joined.status_code == 201, joined.json()


def test_a_show_moved_earlier_ends_its_offers_by_its_new_start(api_client, staff_client, row_of_ten, frozen):
    # The offer kept its end, 5 minutes past the new start: the entry read "offered" at a
    # show that had started, its seat held.
    grace = join(api_client, row_of_ten, GRACE, 1, frozen)
    cancel(api_client, row_of_ten, "A4")
    offer_seats()  # held for 10 minutes
    new_start = (timezone.now() + timedelta(minutes=5)).replace(second=0, microsecond=0)
    moved = staff_client.patch(f"/api/shows/{row_of_ten.pk}", {"starts_at": new_start.isoformat()}, format="json")
    assert moved.status_code == 200, moved.json()

    assert Hold.objects.get(waitlist_entry_id=UUID(grace)).expires_at == new_start
    frozen.move_to(new_start + timedelta(minutes=1))
    assert entry_of(api_client, grace)["status"] == "expired"


def test_a_show_moved_later_gives_its_offers_and_holds_cut_short_their_time_back(
    api_client, staff_client, row_of_ten, frozen, settings
):
    # They kept the end its earlier start gave them: a customer paying lost the seats at a
    # start the show no longer had, an hour before it.
    settings.BOOKING_HOLD_MINUTES = 15  # an offer's: OFFER_MINUTES
    grace = join(api_client, row_of_ten, GRACE, 1, frozen)
    cancel(api_client, row_of_ten, "A4", "A5")
    offer_seats()
    held, made = hold_seats(row_of_ten.pk, quantity=1), timezone.now()
    sooner = (made + timedelta(minutes=5)).replace(second=0)
    for start in (sooner, sooner + timedelta(hours=1)):  # a minute apart
        moved = staff_client.patch(f"/api/shows/{row_of_ten.pk}", {"starts_at": start.isoformat()}, format="json")
        assert moved.status_code == 200, moved.json()
        frozen.shift(60)

    assert offer_of(grace).expires_at == made + timedelta(minutes=OFFER_MINUTES)
    assert Hold.objects.get(pk=held.pk).expires_at == made + timedelta(minutes=15)
