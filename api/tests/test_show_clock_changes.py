"""Shows across a change of the clocks (API.md (v2), "Show"): a film runs its runtime in
real time, and a date and time the clocks go through twice names either moment, put back
as it reads, booked by it, and an open timing at the first. The rest of shows on screens:
test_screens_and_shows.py."""

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.utils import timezone

from api.models import Film, Screen, Show, Venue
from api.seatmaps import grid
from api.tests.conftest import ADA, book_ticket, make_show, screen_of

pytestmark = pytest.mark.django_db


def _last_sunday(year: int, month: int) -> date:
    day = date(year, month + 1, 1) - timedelta(days=1)
    return day - timedelta(days=(day.weekday() + 1) % 7)


@pytest.mark.parametrize(
    ("month", "at", "offset_at_end"),
    [(3, "00:00", "+01:00"), (10, "01:30", "+00:00")],  # London's clocks go forward, then back
)
def test_a_film_across_a_change_of_the_clocks_runs_its_runtime(staff_client, month, at, offset_at_end):
    dune_film = Film.objects.create(title="Dune", runtime_minutes=166)
    # The end was the start's wall clock plus the runtime: 106 minutes of real time in
    # March, 226 in October, so a show 20 minutes into the film's real run was accepted.
    london = Venue.objects.create(name="Curzon", time_zone="Europe/London", currency="GBP", country="GB")
    screen = Screen.objects.create(venue=london, name="Screen 1", seat_map=grid(6, 10))
    day = _last_sunday(timezone.localdate().year + 2, month)

    made = staff_client.post(
        "/api/shows", {"screen": screen.pk, "film": dune_film.pk, "date": day.isoformat(), "time": at}, format="json"
    )

    assert made.status_code == 201, made.json()
    show = Show.objects.get(pk=made.json()["id"])
    assert show.ends_at - show.starts_at == timedelta(minutes=166)
    assert made.json()["ends_at"].endswith(offset_at_end)
    inside = show.ends_at - timedelta(minutes=20)  # still showing the film
    overlapping = staff_client.post(
        "/api/shows", {"screen": screen.pk, "title": "Late", "starts_at": inside.isoformat()}, format="json"
    )
    assert overlapping.status_code == 400, overlapping.json()
    assert list(overlapping.json()) == ["starts_at"]
    assert f"Show {show.pk}" in overlapping.json()["starts_at"][0]


@pytest.fixture
def half_past_two_twice() -> Iterator[tuple[date, datetime, datetime]]:
    """The night Berlin's clocks go back next year, when 02:30 is two moments: its date,
    the first 02:30 (summer time) and the second (an hour later, winter time); a week
    before it, when a free time there may be booked as an open timing."""
    day = _last_sunday(timezone.localdate().year + 1, 10)
    first = datetime.combine(day, time(0, 30), tzinfo=UTC)
    with time_machine.travel(first - timedelta(days=7)):
        yield day, first, first + timedelta(hours=1)


@pytest.mark.parametrize("time_zone", ["UTC", "Europe/Berlin"])
def test_a_show_at_the_second_of_two_half_past_twos_put_back_as_it_reads_stays_there(
    staff_client, half_past_two_twice, settings, time_zone
):
    # Its answer's date and time name both 02:30s; its starts_at tells which. (DRF reads
    # starts_at into TIME_ZONE's zone: compared there with the venue's moments, it matched
    # neither 02:30.)
    settings.TIME_ZONE = time_zone
    day, first, second = half_past_two_twice
    berlin = Venue.objects.create(name="Kino", time_zone="Europe/Berlin", currency="EUR", country="DE")
    show = make_show(screen=screen_of(10, venue=berlin), capacity=10)
    Show.objects.filter(pk=show.pk).update(starts_at=second, ends_at=second, busy_until=second)
    body = staff_client.get(f"/api/shows/{show.pk}").json()
    assert (body["date"], body["time"]) == (day.isoformat(), "02:30")

    response = staff_client.put(f"/api/shows/{show.pk}", {**body, "title": "Late"}, format="json")

    assert response.status_code == 200, response.json()
    show.refresh_from_db()
    assert (show.title, show.starts_at) == ("Late", second)
    moved = staff_client.put(f"/api/shows/{show.pk}", {**body, "starts_at": first.isoformat()}, format="json")
    assert (moved.status_code, show.starts_at) == (200, second)  # the first 02:30: date and time name it too
    show.refresh_from_db()
    assert show.starts_at == first
    # A new show given both: at the moment starts_at names, not the first of date and time's.
    made = staff_client.post("/api/shows", {**body, "starts_at": second.isoformat(), "time": "02:30"}, format="json")
    assert made.status_code == 201, made.json()
    assert Show.objects.get(pk=made.json()["id"]).starts_at == second


@pytest.mark.parametrize("at_default_venue", [True, False])
def test_a_show_at_the_second_of_two_half_past_twos_is_booked_by_its_date_and_time(
    api_client, half_past_two_twice, at_default_venue
):
    # The time was read as the first 02:30 only: at the default venue the booking went to a
    # new open timing an hour before the show listed at 02:30, elsewhere it was a 400.
    day, _, second = half_past_two_twice
    if at_default_venue:
        Venue.objects.filter(pk=Screen.objects.default().venue_id).update(time_zone="Europe/Berlin")
        screen, named = Screen.objects.default(), {}
    else:
        berlin = Venue.objects.create(name="Kino", time_zone="Europe/Berlin", currency="EUR", country="DE")
        screen, named = screen_of(10, venue=berlin), {"venue": berlin.pk}
    show = Show.objects.create(screen=screen, starts_at=second, title="Late night")

    response = api_client.post("/api/tickets", {**ADA, "date": day.isoformat(), "time": "02:30", **named})

    assert response.status_code == 201, response.json()
    assert (response.json()["show"], response.json()["time"]) == (show.pk, "02:30")
    assert Show.objects.count() == 1  # no open timing made


def test_a_ticket_put_back_with_its_own_date_and_time_stays_at_its_show(api_client, half_past_two_twice):
    # A rename sending back the date and time it read moved the ticket to a new open
    # timing at the first 02:30, at a price of 0.00.
    day, _, second = half_past_two_twice
    Venue.objects.filter(pk=Screen.objects.default().venue_id).update(time_zone="Europe/Berlin")
    show = Show.objects.create(screen=Screen.objects.default(), starts_at=second, title="Late night")
    ticket = book_ticket(show.pk)
    read = api_client.get(f"/api/tickets/{ticket.pk}").json()
    assert (read["date"], read["time"]) == (day.isoformat(), "02:30")

    body = {"name": "Ada King", "phone_number": read["phone_number"], "date": read["date"], "time": read["time"]}
    response = api_client.put(f"/api/tickets/{ticket.pk}", body, format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["show"], response.json()["name"]) == (show.pk, "Ada King")
    assert Show.objects.count() == 1


def test_an_open_timing_at_a_time_the_clocks_go_through_twice_starts_at_the_first(api_client, half_past_two_twice):
    day, first, _ = half_past_two_twice
    Venue.objects.filter(pk=Screen.objects.default().venue_id).update(time_zone="Europe/Berlin")

    response = api_client.post("/api/tickets", {**ADA, "date": day.isoformat(), "time": "02:30"})

    assert response.status_code == 201, response.json()
    assert Show.objects.get(pk=response.json()["show"]).starts_at == first


def test_shows_at_both_half_past_twos_are_a_400_that_says_to_name_one(api_client, half_past_two_twice):
    day, first, second = half_past_two_twice
    Venue.objects.filter(pk=Screen.objects.default().venue_id).update(time_zone="Europe/Berlin")
    for at, title in ((first, "Night"), (second, "Late night")):
        Show.objects.create(screen=Screen.objects.default(), starts_at=at, title=title)

    response = api_client.post("/api/tickets", {**ADA, "date": day.isoformat(), "time": "02:30"})

    assert response.status_code == 400
    assert response.json() == {"show": ["Several shows start at this date and time: give show, screen or venue."]}


def test_a_patch_of_the_time_alone_to_one_the_clocks_skip_is_a_400_on_time(staff_client):
    """The half given is made a moment with the show's other half under its lock
    (catalog.show_update): 01:30 on the night London's clocks go forward is no moment."""
    london = Venue.objects.create(name="Curzon", time_zone="Europe/London", currency="GBP", country="GB")
    screen = Screen.objects.create(venue=london, name="Screen 1", seat_map=grid(6, 10))
    day = _last_sunday(timezone.localdate().year + 2, 3).isoformat()
    made = staff_client.post("/api/shows", {"screen": screen.pk, "title": "X", "date": day, "time": "10:00"}).json()

    skipped = staff_client.patch(f"/api/shows/{made['id']}", {"time": "01:30"}, format="json")

    assert (skipped.status_code, list(skipped.json())) == (400, ["time"])
    assert Show.objects.get(pk=made["id"]).local_start.hour == 10


@pytest.mark.parametrize("sent", [["date"], ["time"], ["date", "time"]])
def test_a_show_at_the_second_of_two_half_past_twos_patched_with_its_own_date_or_time_stays_there(
    staff_client, half_past_two_twice, sent
):
    # Made a moment anew, the date and time it reads were the first 02:30: a PATCH sending
    # back what it read, or a PUT without starts_at, moved the show an hour earlier.
    _, _, second = half_past_two_twice
    berlin = Venue.objects.create(name="Kino", time_zone="Europe/Berlin", currency="EUR", country="DE")
    show = Show.objects.create(screen=screen_of(10, venue=berlin), starts_at=second, title="Late night")
    body = staff_client.get(f"/api/shows/{show.pk}").json()

    response = staff_client.patch(f"/api/shows/{show.pk}", {key: body[key] for key in sent}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["starts_at"] == body["starts_at"]
    show.refresh_from_db()
    assert show.starts_at == second


def test_the_two_shows_at_one_time_of_the_night_the_clocks_go_back_read_apart(admin_client):
    # 01:30 on that night is 00:30 UTC, then 01:30 UTC: the admin's lists and choices of a
    # show, and the overlap's message, gave both as "01:30".
    london = Venue.objects.create(name="Curzon", time_zone="Europe/London", currency="GBP", country="GB")
    screen = Screen.objects.create(venue=london, name="Screen 1", seat_map=grid(6, 10))
    day = _last_sunday(timezone.localdate().year + 2, 10)
    first, second = (
        Show.objects.create(screen=screen, title=title, starts_at=datetime.combine(day, time(hour, 30), tzinfo=UTC))
        for title, hour in (("First", 0), ("Second", 1))
    )
    evening = Show.objects.create(screen=screen, title="Evening", starts_at=datetime.combine(day, time(19), tzinfo=UTC))

    assert str(first) == f"First at {day} 01:30 (+0100) · Curzon: Screen 1"
    assert str(second) == f"Second at {day} 01:30 (+0000) · Curzon: Screen 1"
    assert str(evening) == f"Evening at {day} 19:00 · Curzon: Screen 1"  # once that night: as it reads
    listed = admin_client.get("/admin/api/show/", {"screen__id__exact": screen.pk}).content.decode()
    assert f"{day} 01:30 (+0100)" in listed and f"{day} 01:30 (+0000)" in listed
