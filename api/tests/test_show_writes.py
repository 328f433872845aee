"""The Show part of API.md, staff writes: schedule (POST), change (PUT, PATCH) and delete a
show, each refused to anyone who is not staff."""

import json
from datetime import UTC, datetime

import pytest
from django.utils import timezone

from api.models import AuditEntry, Film, Hold, Screen, Show, Venue, WaitlistEntry
from api.services import holds, waitlist
from api.tests.conftest import hold_seats, in_days, make_show, screen_of
from api.tests.shows_helpers import book, show_json

pytestmark = pytest.mark.django_db


# --- POST /api/shows (staff) ---------------------------------------------------------


def test_staff_schedule_a_show_by_date_and_time(staff_client):
    day = in_days(30)
    default = Screen.objects.default()

    # v2: the capacity is a sale cap within the (default) screen's 20 places.
    response = staff_client.post(
        "/api/shows", {"title": "Alien", "date": day.isoformat(), "time": "21:15", "capacity": 15}
    )

    assert response.status_code == 201
    show = Show.objects.get()
    assert show.starts_at == timezone.make_aware(datetime(day.year, day.month, day.day, 21, 15))
    assert response.json() == {
        "id": show.pk,
        "film": None,
        "title": "Alien",
        "venue": default.venue_id,
        "screen": default.pk,
        "date": day.isoformat(),
        "time": "21:15",
        "starts_at": f"{day.isoformat()}T21:15:00+00:00",
        "ends_at": f"{day.isoformat()}T23:15:00+00:00",  # BOOKING_DEFAULT_RUNTIME_MINUTES without a film
        "capacity": 15,
        "tickets_booked": 0,
        "seats_available": 15,
        "expired": False,
        "currency": "EUR",
        "prices": [],
    }


def test_staff_schedule_a_show_by_starts_at_with_default_capacity(staff_client):
    day = in_days(30)
    screen = screen_of(12)

    response = staff_client.post(
        "/api/shows", {"title": "Alien", "screen": screen.pk, "starts_at": f"{day.isoformat()}T21:15:00+05:30"}
    )

    assert response.status_code == 201
    show = Show.objects.get()
    # v2: the capacity defaults to the places of the screen's seat map.
    assert response.json() == {
        "id": show.pk,
        "film": None,
        "title": "Alien",
        "venue": screen.venue_id,
        "screen": screen.pk,
        "date": day.isoformat(),
        "time": "15:45",
        "starts_at": f"{day.isoformat()}T15:45:00+00:00",
        "ends_at": f"{day.isoformat()}T17:45:00+00:00",
        "capacity": 12,
        "tickets_booked": 0,
        "seats_available": 12,
        "expired": False,
        "currency": "EUR",
        "prices": [],
    }


def test_show_times_are_read_in_the_theatre_time_zone(staff_client, api_client):
    venue = Screen.objects.default().venue  # v2: the zone is the (default) venue's
    venue.time_zone = "Europe/Moscow"
    venue.save()
    day = in_days(30)

    response = staff_client.post("/api/shows", {"title": "Alien", "date": day.isoformat(), "time": "19:30"})

    assert response.status_code == 201
    assert response.json()["starts_at"] == f"{day.isoformat()}T19:30:00+03:00"
    assert response.json()["time"] == "19:30"
    utc = Show.objects.get().starts_at.astimezone(UTC)
    assert (utc.hour, utc.minute) == (16, 30)
    assert api_client.get("/api/shows", {"time": "19:30"}).json()["count"] == 1
    assert api_client.get("/api/shows", {"time": "16:30"}).json()["count"] == 0


def test_two_shows_cannot_start_at_the_same_moment(staff_client, dune):
    local = timezone.localtime(dune.starts_at)

    # "19:30:00" names the same show time as the existing 19:30.
    response = staff_client.post("/api/shows", {"title": "Clash", "date": local.date().isoformat(), "time": "19:30:00"})

    assert response.status_code == 400
    assert response.json() == {"starts_at": ["Another show starts at this moment."]}
    assert Show.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"title": "No time"}, {"non_field_errors": ["Give date and time, or starts_at."]}),
        ({"date": "2099-01-01"}, {"time": ["Give both date and time."]}),
        ({"date": "2099-01-01", "time": "15:00:30"}, {"time": ["Shows start on the minute: seconds must be 00."]}),
        ({"date": "2099-01-01", "time": "3 pm"}, {"time": ["Time has wrong format. Use HH:MM."]}),
        ({"starts_at": "2099-01-01T15:00:30Z"}, {"starts_at": ["Shows start on the minute: seconds must be 00."]}),
        (
            {"date": "2099-01-01", "time": "15:00", "starts_at": "2099-01-01T16:00:00Z"},
            {"starts_at": ["starts_at and date and time name different moments: give one of them."]},
        ),
        (
            {"date": "2099-01-01", "time": "15:00", "capacity": 0},
            {"capacity": ["Ensure this value is greater than or equal to 1."]},
        ),
        (
            {"date": "2099-01-01", "time": "15:00", "title": "x" * 201},
            {"title": ["Ensure this field has no more than 200 characters."]},
        ),
    ],
)
def test_create_with_invalid_body_is_a_400(staff_client, body, errors):
    response = staff_client.post("/api/shows", body)

    assert response.status_code == 400
    assert response.json() == errors
    assert not Show.objects.exists()


def test_create_with_malformed_json_is_a_400(staff_client):
    response = staff_client.post("/api/shows", '{"title": ', content_type="application/json")

    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")


# --- show writes are staff-only ---------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/api/shows"), ("put", "/api/shows/{id}"), ("patch", "/api/shows/{id}"), ("delete", "/api/shows/{id}")],
)
def test_show_writes_need_credentials(api_client, dune, method, path):
    body = {"title": "Hacked", "date": "2099-01-01", "time": "10:00"}

    response = getattr(api_client, method)(path.format(id=dune.pk), body)

    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert Show.objects.get().title == "Dune: Part Three"


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/api/shows"), ("put", "/api/shows/{id}"), ("patch", "/api/shows/{id}"), ("delete", "/api/shows/{id}")],
)
def test_show_writes_are_refused_to_users_who_are_not_staff(user_client, dune, method, path):
    body = {"title": "Hacked", "date": "2099-01-01", "time": "10:00"}

    response = getattr(user_client, method)(path.format(id=dune.pk), body)

    assert response.status_code == 403
    assert response.json() == {"detail": "Staff only."}
    assert Show.objects.get().title == "Dune: Part Three"


# --- PUT / PATCH /api/shows/{id} (staff) ------------------------------------------------


def test_put_replaces_title_time_and_capacity(staff_client, dune):
    day = in_days(10)

    response = staff_client.put(
        f"/api/shows/{dune.pk}", {"title": "Dune (70 mm)", "date": day.isoformat(), "time": "20:00", "capacity": 15}
    )

    assert response.status_code == 200
    dune.refresh_from_db()
    assert (dune.title, dune.capacity) == ("Dune (70 mm)", 15)
    assert response.json() == show_json(dune)
    assert response.json()["starts_at"] == f"{day.isoformat()}T20:00:00+00:00"


def test_a_shows_own_answer_put_back_is_taken_with_a_change_in_it(staff_client, dune):
    # The answer has date, time and starts_at: sent back whole (GET, change, PUT) it was a
    # 400 "Give either starts_at or date and time", though all three name one moment.
    body = staff_client.get(f"/api/shows/{dune.pk}").json()
    entries = AuditEntry.objects.count()

    assert staff_client.put(f"/api/shows/{dune.pk}", body, format="json").status_code == 200
    assert AuditEntry.objects.count() == entries  # as it was: nothing changed
    response = staff_client.put(f"/api/shows/{dune.pk}", {**body, "title": "Dune (70 mm)"}, format="json")

    assert response.status_code == 200, response.json()
    dune.refresh_from_db()
    assert (dune.title, response.json()["starts_at"]) == ("Dune (70 mm)", body["starts_at"])


def test_put_without_a_time_is_a_400(staff_client, dune):
    response = staff_client.put(f"/api/shows/{dune.pk}", {"title": "Dune (70 mm)"})

    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Give date and time, or starts_at."]}


def test_patch_capacity_down_to_the_tickets_booked(staff_client, dune):
    book(dune, 3)

    response = staff_client.patch(f"/api/shows/{dune.pk}", {"capacity": 3})

    assert response.status_code == 200
    dune.refresh_from_db()
    assert response.json() == {**show_json(dune, booked=3), "capacity": 3, "seats_available": 0}


def test_capacity_below_the_tickets_booked_is_a_400(staff_client, dune):
    book(dune, 3)

    response = staff_client.patch(f"/api/shows/{dune.pk}", {"capacity": 2})

    assert response.status_code == 400
    assert response.json() == {"capacity": ["Capacity can't be lower than the 3 seats booked or held."]}
    dune.refresh_from_db()
    assert dune.capacity == 20


def test_patch_of_unknown_show_is_a_404(staff_client):
    response = staff_client.patch("/api/shows/999999", {"title": "Nothing"})

    assert response.status_code == 404
    assert response.json() == {"detail": "No Show matches the given query."}


# --- DELETE /api/shows/{id} (staff) -----------------------------------------------------


def test_delete_a_show_without_tickets(staff_client, dune):
    response = staff_client.delete(f"/api/shows/{dune.pk}")

    assert response.status_code == 204
    assert response.content == b""
    assert not Show.objects.exists()


def test_delete_a_show_with_tickets_is_a_409(staff_client, dune):
    book(dune)

    response = staff_client.delete(f"/api/shows/{dune.pk}/")

    assert response.status_code == 409
    assert response.json() == {"detail": "This show has tickets: cancel them first.", "code": "show_has_tickets"}
    assert Show.objects.filter(pk=dune.pk).exists()


def test_deleting_a_show_records_each_live_hold_and_waiting_list_entry_it_removes(staff_client):
    """API.md, Audit trail: one entry for each thing a change changed. The live hold and
    the party in line go with the show (CASCADE), each recorded as ended, in the delete's
    transaction; a hold released before changes nothing by going and is not recorded
    again. (Only show.cancelled was recorded: the client's hold just vanished.)"""
    show = make_show(capacity=2)
    now = timezone.now()
    let_go = hold_seats(show.pk, quantity=1, client="client:203.0.113.7")
    holds.hold_release(hold_id=let_go.pk, now=now)
    hold = hold_seats(show.pk, quantity=2, client="client:203.0.113.9", actor="client:203.0.113.9")
    entry, made = waitlist.waitlist_join(
        show_id=show.pk, name="Grace Hopper", phone_number="+919876543210", party_size=1, now=now
    )
    assert made

    response = staff_client.delete(f"/api/shows/{show.pk}")

    assert response.status_code == 204
    assert not Hold.objects.exists()
    assert not WaitlistEntry.objects.exists()
    cancelled = AuditEntry.objects.get(action="show.cancelled")
    recorded = AuditEntry.objects.filter(at__gte=cancelled.at)
    changes = {(e.actor, e.action, e.object_type, e.object_id, json.dumps(e.changes, sort_keys=True)) for e in recorded}
    assert changes == {
        ("staff:boxoffice", "show.cancelled", "show", str(show.pk), "{}"),
        ("staff:boxoffice", "hold.released", "hold", str(hold.pk), '{"reason": "show cancelled"}'),
        (
            "staff:boxoffice",
            "waitlist.left",
            "waitlist",
            str(entry.pk),
            '{"reason": "show cancelled", "status": ["waiting", "left"]}',
        ),
    }


def test_delete_unknown_show_is_a_404(staff_client):
    response = staff_client.delete("/api/shows/999999")

    assert response.status_code == 404
    assert response.json() == {"detail": "No Show matches the given query."}


def test_a_title_other_than_its_films_is_a_400_not_ignored(staff_client):
    # A show of a film takes the film's title: another one sent answered 200 (or 201) with
    # the film's title, as if it had been taken.
    film = Film.objects.create(title="Dune: Part Three", runtime_minutes=166)
    day = in_days(5).isoformat()
    made = staff_client.post("/api/shows", {"film": film.pk, "date": day, "time": "19:30"}, format="json")
    show_id = made.json()["id"]
    refused = {"title": ["A show of a film has the film's title, 'Dune: Part Three': rename the film instead."]}

    retitled = staff_client.patch(f"/api/shows/{show_id}", {"title": "Retitled"}, format="json")
    made_titled = staff_client.post(
        "/api/shows", {"film": film.pk, "title": "Other", "date": day, "time": "22:30"}, format="json"
    )
    same = staff_client.patch(f"/api/shows/{show_id}", {"title": "Dune: Part Three", "capacity": 10}, format="json")

    assert made.status_code == 201, made.json()
    assert (retitled.status_code, retitled.json()) == (400, refused)
    assert (made_titled.status_code, made_titled.json()) == (400, refused)
    assert same.status_code == 200, same.json()
    assert Show.objects.get(pk=show_id).title == "Dune: Part Three"


def test_a_show_written_with_a_venue_is_at_that_venue(staff_client):
    """A show reads `venue`, its screen's; a POST naming one and no screen was made on the
    default venue's first screen, its time read in that venue's zone (201, at the wrong
    theatre), and a PATCH naming another venue was ignored."""
    istanbul = Venue.objects.create(name="Kadikoy", time_zone="Europe/Istanbul", currency="TRY", country="TR")
    salon = screen_of(10, name="Salon 1", venue=istanbul)
    day = in_days(5).isoformat()
    default = Screen.objects.default()

    def post(**body):
        return staff_client.post("/api/shows", {"title": "X", "date": day, "time": "19:00", **body}, format="json")

    made = post(venue=istanbul.pk)
    assert made.status_code == 201, made.json()
    assert (made.json()["venue"], made.json()["screen"]) == (istanbul.pk, salon.pk)
    assert made.json()["starts_at"] == f"{day}T19:00:00+03:00"
    assert post(venue=istanbul.pk, screen=default.pk).json() == {
        "venue": [f"Screen {default.pk} is not in venue {istanbul.pk}."]
    }
    moved = staff_client.patch(f"/api/shows/{made.json()['id']}", {"venue": default.venue_id}, format="json")
    assert moved.json() == {"venue": ["A show can't move to another venue; schedule a new one."]}
    same = staff_client.patch(f"/api/shows/{made.json()['id']}", {"venue": istanbul.pk, "time": "20:00", "date": day})
    assert (same.status_code, same.json()["starts_at"]) == (200, f"{day}T20:00:00+03:00")

    screen_of(20, name="Salon 2", venue=istanbul)
    empty = Venue.objects.create(name="Not built yet", time_zone="Europe/Istanbul", currency="TRY", country="TR")
    assert post(venue=istanbul.pk, time="22:00").json() == {
        "screen": [f"Venue {istanbul.pk} has several screens: name one."]
    }
    assert post(venue=empty.pk).json() == {"venue": ["This venue has no screen."]}
    assert Show.objects.count() == 1
