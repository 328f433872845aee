"""A show made while staff delete its venue, screen or film, or change its venue's time zone:
the check "no show uses this" reads shows under the locks that making a show takes
(PostgreSQL: on SQLite one write runs at a time); a save that changes nothing beside one
that changes something. What is changed while it is deleted, and a show moved while its
tickets move or are marked expired: test_catalog_deletes_races.py."""

from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from api.errors import InUse, Invalid
from api.models import Film, Screen, Show, TicketType, Venue
from api.seatmaps import grid, parse
from api.serializers.catalog import ShowWriteSerializer
from api.services import catalog, showtimes, venues
from api.tests.conftest import postgres_only, screen_of
from api.tests.races_helpers import race, show_maker

pytestmark = [postgres_only, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("subject", ["venue", "screen", "film"])
def test_a_delete_waits_for_a_show_being_made_and_is_refused(subject):
    # The check read shows without a lock: a show committed after it made the delete fail at
    # its COMMIT on the show's foreign key, a 500 (or, had the key cascaded, took the show).
    venue = Venue.objects.create(name="Annex")
    screen = screen_of(5, name="Annex 1", venue=venue)
    film = Film.objects.create(title="Late addition", runtime_minutes=90)
    targets: dict[str, Venue | Screen | Film] = {"venue": venue, "screen": screen, "film": film}
    target = targets[subject]

    show, change, waited = race(
        show_maker(screen, film), lambda: venues.in_use_delete(target, now=timezone.now()), pause_in=catalog.audit
    )

    assert isinstance(show, Show), show
    assert waited
    assert isinstance(change, InUse), change
    assert type(target)._default_manager.filter(pk=target.pk).exists()
    assert Show.objects.filter(pk=show.pk, screen=screen, film=film).exists()


def test_a_venues_time_zone_change_waits_for_a_show_being_made_and_is_refused():
    venue = Venue.objects.create(name="Annex", time_zone="Europe/Paris")
    screen = screen_of(5, name="Annex 1", venue=venue)

    def move_venue() -> object:
        return venues.plain_save(Venue.objects.get(pk=venue.pk), now=timezone.now(), fields={"time_zone": "Asia/Tokyo"})

    show, change, waited = race(show_maker(screen), move_venue, pause_in=catalog.audit)

    assert isinstance(show, Show), show
    assert waited
    assert isinstance(change, InUse), change
    assert Venue.objects.get(pk=venue.pk).time_zone == "Europe/Paris"


@pytest.mark.parametrize("subject", ["screen", "film"])
def test_a_show_made_while_its_screen_or_film_is_deleted_is_a_400(subject):
    # The other way round: the show waits for the delete, then finds its screen or film gone.
    venue = Venue.objects.create(name="Annex")
    screen = screen_of(5, name="Annex 1", venue=venue)
    film = Film.objects.create(title="Late addition", runtime_minutes=90)
    targets: dict[str, Screen | Film] = {"screen": screen, "film": film}
    target = targets[subject]
    pk = target.pk

    deleted, show, waited = race(
        lambda: venues.in_use_delete(target, now=timezone.now()), show_maker(screen, film), pause_in=venues.audit
    )

    assert deleted is None, deleted
    assert waited
    assert isinstance(show, Invalid), show
    assert (show.subject, show.message) == (subject, f'Invalid pk "{pk}" - object does not exist.')
    assert not Show.objects.exists()


def test_a_show_given_by_date_and_time_while_its_venues_zone_changes_is_at_that_time_in_the_new_zone():
    # The date and time were read in the zone the venue had when the request came; the show
    # waited for the zone's change, then was made at 20:00 Paris time in a Tokyo venue
    # (04:00 there).
    venue = Venue.objects.create(name="Annex", time_zone="Europe/Paris")
    screen = screen_of(5, name="Annex 1", venue=venue)
    day = timezone.localdate() + timedelta(days=3)

    def move_venue() -> object:
        return venues.plain_save(Venue.objects.get(pk=venue.pk), now=timezone.now(), fields={"time_zone": "Asia/Tokyo"})

    def make() -> Show:
        asked = ShowWriteSerializer(data={"screen": screen.pk, "date": day.isoformat(), "time": "20:00"})
        assert asked.is_valid(), asked.errors
        return catalog.show_create(**asked.validated_data, now=timezone.now())

    moved, show, waited = race(move_venue, make, pause_in=venues.audit)

    assert isinstance(moved, Venue), moved
    assert waited
    assert isinstance(show, Show), show
    assert show.starts_at == showtimes.moment(day, time(20, 0), Venue.objects.get(pk=venue.pk))
    assert timezone.localtime(show.starts_at, ZoneInfo("Asia/Tokyo")).hour == 20


# --- a save that changes nothing, beside one that changes something -----------------------
# A save whose values are the committed ones records nothing and writes nothing. Read
# without a lock, "committed" missed a change being made: that save answered 200 with its
# values, and the other change stayed.


def test_a_venue_saved_with_its_zone_beside_a_change_of_it_keeps_the_zone_it_was_saved_with():
    venue = Venue.objects.create(name="Annex", time_zone="Europe/Paris")
    as_read = Venue.objects.get(pk=venue.pk)

    moved, kept, waited = race(
        lambda: venues.plain_save(
            Venue.objects.get(pk=venue.pk), now=timezone.now(), fields={"time_zone": "Asia/Tokyo"}
        ),
        lambda: venues.plain_save(as_read, now=timezone.now(), fields={"time_zone": "Europe/Paris"}),
        pause_in=venues.audit,
    )

    assert isinstance(moved, Venue) and isinstance(kept, Venue), (moved, kept)
    assert waited
    assert Venue.objects.get(pk=venue.pk).time_zone == "Europe/Paris"  # the last save's


def test_a_screen_saved_with_its_map_beside_a_change_of_it_keeps_the_map_it_was_saved_with():
    screen = screen_of(5, name="Annex 1")
    as_read = Screen.objects.get(pk=screen.pk)
    five, six = as_read.seats, parse(grid(1, 6))

    changed, kept, waited = race(
        lambda: venues.screen_save(screen=Screen.objects.get(pk=screen.pk), seat_map=six, now=timezone.now()),
        lambda: venues.screen_save(screen=as_read, seat_map=five, now=timezone.now()),
        pause_in=venues.audit,
    )

    assert isinstance(changed, Screen) and isinstance(kept, Screen), (changed, kept)
    assert waited
    assert Screen.objects.get(pk=screen.pk).seats == five


def test_a_default_saved_as_default_beside_another_made_the_default_stays_the_default():
    adult = TicketType.objects.default()
    student = TicketType.objects.create(key="student", name="Student")
    as_read = TicketType.objects.get(pk=adult.pk)
    student.default = True

    made, kept, waited = race(
        lambda: venues.ticket_type_save(student, now=timezone.now()),
        lambda: venues.ticket_type_save(as_read, now=timezone.now()),
        pause_in=venues.audit,
    )

    assert isinstance(made, TicketType) and isinstance(kept, TicketType), (made, kept)
    assert waited
    assert list(TicketType.objects.filter(default=True).values_list("key", flat=True)) == ["adult"]


def test_a_ticket_type_renamed_while_another_becomes_the_default_leaves_that_one_the_default(staff_client):
    # The rename read "adult" as the default just before "student" became it, and saved
    # that old flag back: the default moved back to "adult", unasked, and sales naming no
    # type sold the wrong one.
    TicketType.objects.default()  # adult, the default (a flushed database has no types)
    student = TicketType.objects.create(key="student", name="Student")
    student.default = True

    made, renamed, waited = race(
        lambda: venues.ticket_type_save(student, now=timezone.now()),
        lambda: staff_client.patch("/api/ticket-types/adult", {"name": "Adults"}, format="json"),
        pause_in=venues.audit,
    )

    assert isinstance(made, TicketType), made
    assert waited
    assert getattr(renamed, "status_code", None) == 200, renamed
    assert TicketType.objects.get(key="adult").name == "Adults"
    assert list(TicketType.objects.filter(default=True).values_list("key", flat=True)) == ["student"]


def test_a_screen_renamed_beside_a_change_of_its_map_keeps_the_new_map():
    screen = screen_of(5, name="Annex 1")
    as_read = Screen.objects.get(pk=screen.pk)
    as_read.name = "Annex One"
    six = parse(grid(1, 6))

    changed, renamed, waited = race(
        lambda: venues.screen_save(screen=Screen.objects.get(pk=screen.pk), seat_map=six, now=timezone.now()),
        lambda: venues.screen_save(screen=as_read, seat_map=None, now=timezone.now()),
        pause_in=venues.audit,
    )

    assert isinstance(changed, Screen) and isinstance(renamed, Screen), (changed, renamed)
    assert waited
    saved = Screen.objects.get(pk=screen.pk)
    assert (saved.name, saved.seats) == ("Annex One", six)  # the rename wrote back no older map


def test_a_screen_made_in_a_venue_being_deleted_is_a_400():
    # It failed at COMMIT on its foreign key to the venue (a 500).
    venue = Venue.objects.create(name="Annex")

    def make() -> Screen:
        return venues.screen_save(
            screen=Screen(venue_id=venue.pk, name="Late"), seat_map=parse(grid(1, 5)), now=timezone.now()
        )

    deleted, made, waited = race(
        lambda: venues.in_use_delete(Venue.objects.get(pk=venue.pk), now=timezone.now()), make, pause_in=venues.audit
    )

    assert deleted is None, deleted
    assert waited
    assert isinstance(made, Invalid), made
    assert (made.subject, made.message) == ("venue", f'Invalid pk "{venue.pk}" - object does not exist.')
    assert not Screen.objects.filter(name="Late").exists()


def test_a_show_made_while_its_screen_is_being_moved_waits_for_the_move():
    # The move's check that no show uses the screen read committed shows only: one made
    # meanwhile landed in the new venue, its tickets read in another zone and currency.
    # show_create takes the screen's lock, as screen_save does first.
    screen = screen_of(10, name="Small")
    tokyo = Venue.objects.create(name="Tokyo", time_zone="Asia/Tokyo", currency="JPY")

    def move() -> Screen:
        moving = Screen.objects.get(pk=screen.pk)
        moving.venue = tokyo
        return venues.screen_save(screen=moving, seat_map=None, now=timezone.now())

    moved, show, waited = race(move, show_maker(screen), pause_in=venues.audit)

    assert isinstance(moved, Screen) and isinstance(show, Show), (moved, show)
    assert waited
    assert Show.objects.select_related("screen__venue").get(pk=show.pk).screen.venue == tokyo  # made after the move
