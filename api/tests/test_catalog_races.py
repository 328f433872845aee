"""A show made while staff delete its venue, screen or film, or change its venue's time zone:
the check "no show uses this" reads shows under the locks that making a show takes
(PostgreSQL: on SQLite one write runs at a time). A show moved while a ticket moves to an
open timing of its screen: both lock the screen, then the shows; or while staff mark its
tickets expired: the marking reads the start under the show's lock."""

import threading
from collections.abc import Callable
from datetime import time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.utils import timezone

from api.errors import DeletedMeanwhile, DomainError, InUse, Invalid
from api.locking import lock_screen
from api.models import Film, Screen, Show, Ticket, TicketType, Venue, Webhook
from api.seatmaps import grid, parse
from api.serializers.catalog import ShowWriteSerializer
from api.services import catalog, jobs, sales, showtimes, venues, webhooks
from api.tests.conftest import RACE_WAIT, blocked, book_ticket, in_thread, make_show, postgres_only, screen_of

pytestmark = [postgres_only, pytest.mark.django_db(transaction=True)]

FIRST = "first"


def race(first: Callable[[], Any], then: Callable[[], Any], *, pause_in: Any) -> tuple[object, object, bool]:
    """Run `first`, paused in its transaction once it calls `pause_in.record` or
    `.record_many` (its audit entry: its rows are written, not yet committed); run `then`
    meanwhile, then let `first` commit. The two outcomes (what each returned, or the
    exception it raised), and whether `then` waited for `first`."""
    written, go = threading.Event(), threading.Event()
    outcomes: dict[str, object] = {}
    originals = {name: getattr(pause_in, name) for name in ("record", "record_many")}

    def pausing(name: str) -> Callable[..., None]:
        def call(**kwargs: Any) -> None:
            originals[name](**kwargs)
            if threading.current_thread().name == FIRST:
                written.set()
                assert go.wait(30)

        return call

    for name in originals:
        setattr(pause_in, name, pausing(name))
    try:
        leader = in_thread(outcomes, "first", first, name=FIRST)
        assert written.wait(30)
        follower = in_thread(outcomes, "then", then)
        follower.join(1)
        waited = follower.is_alive()
        go.set()
        leader.join(30)
        follower.join(30)
    finally:
        for name, original in originals.items():
            setattr(pause_in, name, original)
    return outcomes["first"], outcomes["then"], waited


def show_maker(screen: Screen, film: Film | None = None) -> Callable[[], Show]:
    # The ids read now: a delete sets its instance's pk to None.
    starts_at, screen_id, film_id = timezone.now() + timedelta(days=2), screen.pk, film.pk if film else None
    return lambda: catalog.show_create(starts_at=starts_at, screen_id=screen_id, film_id=film_id, title="Late addition")


@pytest.mark.parametrize("subject", ["venue", "screen", "film"])
def test_a_delete_waits_for_a_show_being_made_and_is_refused(subject):
    # The check read shows without a lock: a show committed after it made the delete fail at
    # its COMMIT on the show's foreign key, a 500 (or, had the key cascaded, took the show).
    venue = Venue.objects.create(name="Annex")
    screen = screen_of(5, name="Annex 1", venue=venue)
    film = Film.objects.create(title="Late addition", runtime_minutes=90)
    targets: dict[str, Venue | Screen | Film] = {"venue": venue, "screen": screen, "film": film}
    target = targets[subject]

    show, change, waited = race(show_maker(screen, film), lambda: venues.in_use_delete(target), pause_in=catalog.audit)

    assert isinstance(show, Show), show
    assert waited
    assert isinstance(change, InUse), change
    assert type(target)._default_manager.filter(pk=target.pk).exists()
    assert Show.objects.filter(pk=show.pk, screen=screen, film=film).exists()


def test_a_venues_time_zone_change_waits_for_a_show_being_made_and_is_refused():
    venue = Venue.objects.create(name="Annex", time_zone="Europe/Paris")
    screen = screen_of(5, name="Annex 1", venue=venue)

    def move_venue() -> object:
        return venues.plain_save(Venue.objects.get(pk=venue.pk), fields={"time_zone": "Asia/Tokyo"})

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

    deleted, show, waited = race(lambda: venues.in_use_delete(target), show_maker(screen, film), pause_in=venues.audit)

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
        return venues.plain_save(Venue.objects.get(pk=venue.pk), fields={"time_zone": "Asia/Tokyo"})

    def make() -> Show:
        asked = ShowWriteSerializer(data={"screen": screen.pk, "date": day.isoformat(), "time": "20:00"})
        assert asked.is_valid(), asked.errors
        return catalog.show_create(now=timezone.now(), **asked.validated_data)

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
        lambda: venues.plain_save(Venue.objects.get(pk=venue.pk), fields={"time_zone": "Asia/Tokyo"}),
        lambda: venues.plain_save(as_read, fields={"time_zone": "Europe/Paris"}),
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
        lambda: venues.ticket_type_save(student), lambda: venues.ticket_type_save(as_read), pause_in=venues.audit
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
        lambda: venues.ticket_type_save(student),
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
        lambda: venues.in_use_delete(Venue.objects.get(pk=venue.pk)), make, pause_in=venues.audit
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


def _deleted_meanwhile(then: object, model_name: str) -> None:
    assert isinstance(then, DeletedMeanwhile), then
    assert then.message == f"No {model_name} matches the given query."


def test_a_screen_moved_while_it_is_deleted_stays_deleted():
    # The move found no committed row and saved the screen anyway: Django's save() inserted it
    # again, in the venue it moved to, after its screen.deleted entry.
    screen = screen_of(5, name="Mover")
    annex = Venue.objects.create(name="Annex")

    def move() -> Screen:
        moving = Screen.objects.get(pk=screen.pk)
        moving.venue = annex
        return venues.screen_save(screen=moving, seat_map=None, now=timezone.now())

    deleted, moved, waited = race(
        lambda: venues.in_use_delete(Screen.objects.get(pk=screen.pk)), move, pause_in=venues.audit
    )

    assert deleted is None, deleted
    assert waited
    _deleted_meanwhile(moved, "Screen")
    assert not Screen.objects.filter(pk=screen.pk).exists()


@pytest.mark.parametrize("model", [Venue, Film])
def test_a_venue_or_film_changed_while_it_is_deleted_stays_deleted(model):
    made = (
        Venue.objects.create(name="Annex") if model is Venue else Film.objects.create(title="Gone", runtime_minutes=90)
    )
    field = "name" if model is Venue else "title"

    def rename() -> object:
        return venues.plain_save(model.objects.get(pk=made.pk), fields={field: "Renamed"})

    deleted, renamed, waited = race(
        lambda: venues.in_use_delete(model.objects.get(pk=made.pk)), rename, pause_in=venues.audit
    )

    assert deleted is None, deleted
    assert waited
    _deleted_meanwhile(renamed, model.__name__)
    assert not model.objects.filter(pk=made.pk).exists()


def test_a_ticket_type_renamed_while_it_is_deleted_stays_deleted():
    made = TicketType.objects.create(key="student", name="Student")

    def rename() -> TicketType:
        renaming = TicketType.objects.get(pk=made.pk)
        renaming.name = "Students"
        return venues.ticket_type_save(renaming)

    deleted, renamed, waited = race(
        lambda: venues.ticket_type_delete(TicketType.objects.get(pk=made.pk)), rename, pause_in=venues.audit
    )

    assert deleted is None, deleted
    assert waited
    _deleted_meanwhile(renamed, "TicketType")
    assert not TicketType.objects.filter(pk=made.pk).exists()


def test_a_ticket_type_made_the_default_meanwhile_is_not_deleted():
    # The delete read "default" from the instance it was given: it deleted the type another
    # request had just made the default, and left the service with none (sales without
    # types need one).
    made = TicketType.objects.create(key="student", name="Student")
    as_read = TicketType.objects.get(pk=made.pk)  # not the default when the delete's form was read

    def make_default() -> TicketType:
        becoming = TicketType.objects.get(pk=made.pk)
        becoming.default = True
        return venues.ticket_type_save(becoming)

    made_default, deleted, waited = race(
        make_default, lambda: venues.ticket_type_delete(as_read), pause_in=venues.audit
    )

    assert isinstance(made_default, TicketType), made_default
    assert waited
    assert isinstance(deleted, InUse), deleted
    assert TicketType.objects.get(default=True).pk == made.pk


def test_a_webhook_changed_while_it_is_deleted_is_not_found(settings):
    # The change's .get() raised DoesNotExist: a 500.
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    made = webhooks.webhook_create(url="http://127.0.0.1:9/hook", events=[], actor="staff:test", now=timezone.now())

    deleted, changed, waited = race(
        lambda: webhooks.webhook_delete(webhook_id=made.pk, actor="staff:test", now=timezone.now()),
        lambda: webhooks.webhook_update(webhook_id=made.pk, actor="staff:test", now=timezone.now(), active=False),
        pause_in=venues.audit,
    )

    assert deleted is None, deleted
    _deleted_meanwhile(changed, "Webhook")
    assert not Webhook.objects.filter(pk=made.pk).exists()


def test_a_ticket_moved_to_an_open_timing_and_its_started_show_moved_to_the_future_take_turns(settings):
    # The ticket's move makes the open timing under the screen's lock, then locks the shows;
    # show_update locked the show, then the screen (_to_come_again): queued behind a map
    # change, each got one lock and waited for the other's; PostgreSQL killed one (a 500).
    settings.BOOKING_LOCK_TIMEOUT_SECONDS = 5  # past deadlock_timeout (1 s): the detector decides
    show = make_show()
    ticket = book_ticket(show.pk, seat="A1")
    started = timezone.now() - timedelta(minutes=30)
    Show.objects.filter(pk=show.pk).update(starts_at=started, ends_at=started, busy_until=started)
    local = timezone.localtime(timezone.now() + timedelta(days=2)).replace(hour=10, minute=5, second=0, microsecond=0)
    no_show_then = showtimes.ShowTime(day=local.date(), at=local.time())
    outcomes: dict[str, object] = {}
    held, release = threading.Event(), threading.Event()

    def map_change() -> None:  # the screen's lock, as screen_save holds it
        with transaction.atomic():
            assert lock_screen(show.screen.pk) is not None
            held.set()
            assert release.wait(RACE_WAIT)

    def ticket_moved() -> object:
        return sales.ticket_update(ticket_id=ticket.pk, when=no_show_then, now=timezone.now())

    def show_moved() -> object:
        return catalog.show_update(show_id=show.pk, starts_at=timezone.now() + timedelta(days=1), now=timezone.now())

    holder = in_thread(outcomes, "map", map_change)
    try:
        assert held.wait(RACE_WAIT)
        moves = [in_thread(outcomes, "ticket", ticket_moved)]
        assert blocked(moves[0])  # first in the screen's queue
        moves.append(in_thread(outcomes, "show", show_moved))
        assert blocked(moves[1])
    finally:
        release.set()
    for thread in (holder, *moves):
        thread.join(RACE_WAIT)

    # One waited for the other: the ticket of a started show refused (or moved), the show moved.
    assert not isinstance(outcomes["ticket"], Exception) or isinstance(outcomes["ticket"], DomainError), outcomes
    assert isinstance(outcomes["show"], Show), outcomes


def test_tickets_staff_mark_expired_while_their_show_is_moved_to_the_future_stay_valid():
    # The marking read which tickets' shows had started, then marked those ids, with no lock
    # of the shows: a move to tomorrow written meanwhile (its lock held, its tickets' flag
    # already set to follow the new time) committed after it, and the ticket of a show to
    # come stayed expired; the next purge deleted it, with no cancellation's events.
    now = timezone.now().replace(second=0, microsecond=0)
    show = Show.objects.create(screen=Screen.objects.default(), starts_at=now - timedelta(hours=1), title="Late")
    ticket = book_ticket(show.pk, now=now - timedelta(days=1))

    moved, marked, waited = race(
        lambda: catalog.show_update(show_id=show.pk, now=now, starts_at=now + timedelta(days=1), actor="staff:a"),
        lambda: jobs.tickets_mark_expired(ticket_ids=[str(ticket.pk)], now=now, actor="staff:b"),
        pause_in=catalog.audit,
    )

    assert isinstance(moved, Show) and marked == (0, 1) and waited, (moved, marked, waited)
    assert Ticket.objects.get(pk=ticket.pk).expired is False
    jobs.tickets_purge(now=now)
    assert Ticket.objects.filter(pk=ticket.pk).exists()
