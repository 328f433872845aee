"""A show's start changed by staff (PUT, PATCH): the parts of a date and time, the venue's
zone, another show's moment, a time that has passed, the holds it ends."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from api.models import AuditEntry, Hold, Show, Ticket, Venue
from api.serializers.catalog import ShowWriteSerializer
from api.services import catalog, jobs
from api.tests.conftest import book_seats, hold_seats, in_days, make_show, screen_of
from api.tests.shows_helpers import book

pytestmark = pytest.mark.django_db


def test_a_patch_of_the_time_alone_keeps_the_date_and_of_the_date_alone_keeps_the_time(staff_client):
    """{"time": "10:30"} was a 400 on `date` ("Give both date and time."), a field the client
    never sent. The show's own date and time are read in its venue's zone."""
    istanbul = Venue.objects.create(name="Kadikoy", time_zone="Europe/Istanbul", currency="TRY", country="TR")
    screen = screen_of(10, name="Salon 1", venue=istanbul)
    day, later = in_days(5).isoformat(), in_days(6).isoformat()
    made = staff_client.post(
        "/api/shows", {"screen": screen.pk, "title": "X", "date": day, "time": "23:30"}, format="json"
    ).json()

    earlier = staff_client.patch(f"/api/shows/{made['id']}", {"time": "10:30"}, format="json")
    moved = staff_client.patch(f"/api/shows/{made['id']}", {"date": later}, format="json")

    assert (earlier.status_code, earlier.json()["starts_at"]) == (200, f"{day}T10:30:00+03:00")
    assert (moved.status_code, moved.json()["starts_at"]) == (200, f"{later}T10:30:00+03:00")
    refused = staff_client.put(f"/api/shows/{made['id']}", {"title": "X", "time": "11:00"}, format="json")
    assert refused.json() == {"date": ["Give both date and time."]}  # a PUT says the whole show


def test_a_patch_of_the_time_alone_keeps_a_date_a_colleague_set_meanwhile():
    """The date was filled in from the show as the request read it: a colleague's new date,
    saved between that read and this save, was written back (a review, a helper)."""
    show = make_show(days=3, hour=19, minute=0)
    asked = ShowWriteSerializer(Show.objects.get(pk=show.pk), data={"time": "10:30"}, partial=True)
    assert asked.is_valid(), asked.errors
    moved = show.starts_at + timedelta(days=1)
    catalog.show_update(show_id=show.pk, now=timezone.now(), starts_at=moved, actor="staff:bob")

    catalog.show_update(show_id=show.pk, now=timezone.now(), actor="staff:alice", **asked.validated_data)

    local = Show.objects.get(pk=show.pk).local_start
    assert (local.date(), f"{local:%H:%M}") == (timezone.localtime(moved, local.tzinfo).date(), "10:30")


def test_a_date_alone_beside_starts_at_is_checked_against_it(staff_client):
    show = make_show(days=3, hour=19, minute=0)
    day = show.local_start.date().isoformat()
    at_eight = show.local_start.replace(hour=20).isoformat()

    agrees = staff_client.patch(f"/api/shows/{show.pk}", {"date": day, "starts_at": at_eight}, format="json")
    other_day = in_days(9).isoformat()
    disagrees = staff_client.patch(f"/api/shows/{show.pk}", {"date": other_day, "starts_at": at_eight}, format="json")

    assert (agrees.status_code, agrees.json()["time"]) == (200, "20:00")
    assert disagrees.json() == {"starts_at": ["starts_at and date and time name different moments: give one of them."]}


def test_moving_a_show_onto_another_show_time_is_a_400(staff_client, dune, oppenheimer):
    local = timezone.localtime(oppenheimer.starts_at)

    response = staff_client.patch(f"/api/shows/{dune.pk}", {"date": local.date().isoformat(), "time": "15:00"})

    assert response.status_code == 400
    assert response.json() == {"starts_at": ["Another show starts at this moment."]}


def test_a_show_moved_earlier_ends_its_holds_by_its_new_start(staff_client, api_client, dune):
    """A hold never lasts past its show's start (services.holds.hold_insert), moved or not."""
    held = hold_seats(dune.pk, seats=["A3"])  # for 10 minutes
    new_start = (timezone.now() + timedelta(minutes=5)).replace(second=0, microsecond=0)

    moved = staff_client.patch(f"/api/shows/{dune.pk}", {"starts_at": new_start.isoformat()}, format="json")

    assert moved.status_code == 200, moved.json()
    assert Hold.objects.get().expires_at == new_start
    with time_machine.travel(new_start, tick=False):
        assert api_client.get(f"/api/holds/{held.pk}").status_code == 404


def test_a_show_with_tickets_cant_move_to_a_time_that_has_passed(staff_client, api_client):
    # A mistyped day saved, marked its tickets expired at once, and the next purge deleted
    # them: moved back, the show had sold nothing.
    show = Show.objects.get(
        pk=staff_client.post(
            "/api/shows", {"title": "Late", "date": in_days(3).isoformat(), "time": "20:00"}, format="json"
        ).json()["id"]
    )
    empty = Show.objects.get(
        pk=staff_client.post(
            "/api/shows", {"title": "Empty", "date": in_days(3).isoformat(), "time": "23:00"}, format="json"
        ).json()["id"]
    )
    book(show)
    yesterday = (timezone.now() - timedelta(days=1)).replace(microsecond=0, second=0)

    moved = staff_client.patch(f"/api/shows/{show.pk}", {"starts_at": yesterday.isoformat()}, format="json")
    moved_empty = staff_client.patch(f"/api/shows/{empty.pk}", {"starts_at": yesterday.isoformat()}, format="json")

    assert (moved.status_code, moved.json()) == (
        400,
        {"starts_at": ["A show with tickets can't move to a time that has passed: they would expire and be purged."]},
    )
    assert Show.objects.get(pk=show.pk).starts_at == show.starts_at
    assert not Show.objects.get(pk=show.pk).tickets.filter(expired=True).exists()
    assert moved_empty.status_code == 200, moved_empty.json()  # nothing sold: staff may correct it


def test_a_starts_at_without_an_offset_is_read_at_the_shows_venue(staff_client):
    """It was read in TIME_ZONE: an Istanbul show asked for at 10:00 was made at 18:00."""
    istanbul = Venue.objects.create(name="Kadikoy", time_zone="Europe/Istanbul", currency="TRY", country="TR")
    screen = screen_of(10, name="Salon 1", venue=istanbul)
    day = in_days(5).isoformat()

    made = staff_client.post(
        "/api/shows", {"screen": screen.pk, "title": "Naive", "starts_at": f"{day}T10:00:00"}, format="json"
    )
    moved = staff_client.patch(f"/api/shows/{made.json()['id']}", {"starts_at": f"{day}T11:30"}, format="json")

    assert made.status_code == 201, made.json()
    assert (made.json()["time"], made.json()["starts_at"]) == ("10:00", f"{day}T10:00:00+03:00")
    assert moved.json()["starts_at"] == f"{day}T11:30:00+03:00"


def test_a_show_moved_to_the_future_records_each_ticket_it_makes_valid_again(staff_client):
    """Staff marked a no-show's ticket expired, then moved the show, entered on the wrong
    day, to the future: the ticket is valid again, and its history said nothing of it (a
    review of the trail, a helper): it ended "ticket.expired"."""
    show = make_show(days=2)
    ticket = book_seats(show.pk, now=show.starts_at - timedelta(days=1)).tickets[0]
    started = show.starts_at + timedelta(hours=1)
    assert jobs.tickets_mark_expired(ticket_ids=[str(ticket.pk)], now=started, actor="staff:alice")[0] == 1
    later = (show.starts_at + timedelta(days=2)).replace(second=0, microsecond=0)

    with time_machine.travel(started, tick=False):  # the show has started: its no-shows may be marked
        response = staff_client.patch(f"/api/shows/{show.pk}", {"starts_at": later.isoformat()}, format="json")

    assert response.status_code == 200, response.json()
    assert not Ticket.objects.get(pk=ticket.pk).expired
    history = AuditEntry.objects.filter(object_type="ticket", object_id=str(ticket.pk)).order_by("pk")
    assert [(e.action, e.changes) for e in history][-2:] == [
        ("ticket.expired", {"expired": [False, True]}),
        ("ticket.changed", {"expired": [True, False]}),
    ]
    assert history.filter(action="ticket.changed").get().actor == AuditEntry.objects.get(action="show.changed").actor


def test_a_time_beside_a_starts_at_past_the_calendar_in_the_venues_zone_is_a_400(staff_client):
    """9999-12-31 22:00 UTC is in year 10000 in Istanbul: reading the starts_at's local time
    for the half given beside it was a 500 (a review, a helper)."""
    istanbul = Venue.objects.create(name="Kadikoy", time_zone="Europe/Istanbul", currency="TRY", country="TR")
    screen = screen_of(10, name="Salon 1", venue=istanbul)
    body = {"screen": screen.pk, "title": "X", "starts_at": "9999-12-31T22:00:00Z", "time": "01:00"}

    response = staff_client.post("/api/shows", body, format="json")

    # On starts_at, the value past the calendar (it named date, a field not sent).
    assert (response.status_code, list(response.json())) == (400, ["starts_at"])
