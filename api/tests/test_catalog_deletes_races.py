"""A venue, screen, film, ticket type or webhook changed while staff delete it stays deleted
(its change is a 404 or a 400, never a row brought back); a show moved while a ticket moves
to an open timing of its screen, or while staff mark its tickets expired; a past show
deleted while the purge takes its waiting list (PostgreSQL).
Shows made while what they use is deleted: test_catalog_races.py."""

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

import pytest
from django.db import connections, transaction
from django.db.models import Model
from django.utils import timezone

from api.errors import DeletedMeanwhile, DomainError, InUse
from api.locking import lock_screen
from api.models import Film, Hold, Screen, Show, Ticket, TicketType, Venue, WaitlistEntry
from api.services import catalog, jobs, sales, showtimes, venues, webhooks
from api.tests.conftest import RACE_WAIT, blocked, book_ticket, in_thread, make_show, postgres_only, screen_of
from api.tests.races_helpers import race, wait_until_backends_wait_on_locks

pytestmark = [postgres_only, pytest.mark.django_db(transaction=True)]


Made = TypeVar("Made", bound=Model)


def stays_deleted(made: Made, delete: Callable[[Made], object], change: Callable[[Made], object]) -> None:
    """`change` of `made`, read again, run while `delete` of it (read again too) has written
    its entry and not committed: the change waits, then finds it gone (DeletedMeanwhile),
    and nothing brings the row back."""
    rows = type(made)._default_manager
    deleted, then, waited = race(
        lambda: delete(rows.get(pk=made.pk)), lambda: change(rows.get(pk=made.pk)), pause_in=venues.audit
    )
    assert deleted is None, deleted
    assert waited
    assert isinstance(then, DeletedMeanwhile), then
    assert then.message == f"No {type(made).__name__} matches the given query."
    assert not rows.filter(pk=made.pk).exists()


def test_a_screen_moved_while_it_is_deleted_stays_deleted():
    # The move found no committed row and saved the screen anyway: Django's save() inserted it
    # again, in the venue it moved to, after its screen.deleted entry.
    annex = Venue.objects.create(name="Annex")

    def move(moving: Screen) -> Screen:
        moving.venue = annex
        return venues.screen_save(screen=moving, seat_map=None, now=timezone.now())

    stays_deleted(screen_of(5, name="Mover"), lambda it: venues.in_use_delete(it, now=timezone.now()), move)


@pytest.mark.parametrize("model", [Venue, Film])
def test_a_venue_or_film_changed_while_it_is_deleted_stays_deleted(model):
    made = (
        Venue.objects.create(name="Annex") if model is Venue else Film.objects.create(title="Gone", runtime_minutes=90)
    )
    field = "name" if model is Venue else "title"

    stays_deleted(
        made,
        lambda it: venues.in_use_delete(it, now=timezone.now()),
        lambda it: venues.plain_save(it, now=timezone.now(), fields={field: "Renamed"}),
    )


def test_a_ticket_type_renamed_while_it_is_deleted_stays_deleted():
    def rename(renaming: TicketType) -> TicketType:
        renaming.name = "Students"
        return venues.ticket_type_save(renaming, now=timezone.now())

    stays_deleted(
        TicketType.objects.create(key="student", name="Student"),
        lambda it: venues.ticket_type_delete(it, now=timezone.now()),
        rename,
    )


def test_a_ticket_type_made_the_default_meanwhile_is_not_deleted():
    # The delete read "default" from the instance it was given: it deleted the type another
    # request had just made the default, and left the service with none (sales without
    # types need one).
    made = TicketType.objects.create(key="student", name="Student")
    as_read = TicketType.objects.get(pk=made.pk)  # not the default when the delete's form was read

    def make_default() -> TicketType:
        becoming = TicketType.objects.get(pk=made.pk)
        becoming.default = True
        return venues.ticket_type_save(becoming, now=timezone.now())

    made_default, deleted, waited = race(
        make_default, lambda: venues.ticket_type_delete(as_read, now=timezone.now()), pause_in=venues.audit
    )

    assert isinstance(made_default, TicketType), made_default
    assert waited
    assert isinstance(deleted, InUse), deleted
    assert TicketType.objects.get(default=True).pk == made.pk


def test_a_webhook_changed_while_it_is_deleted_is_not_found(settings):
    # The change's .get() raised DoesNotExist: a 500.
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    made = webhooks.webhook_create(url="http://127.0.0.1:9/hook", events=[], actor="staff:test", now=timezone.now())

    stays_deleted(
        made,
        lambda hook: webhooks.webhook_delete(webhook_id=hook.pk, actor="staff:test", now=timezone.now()),
        lambda hook: webhooks.webhook_update(webhook_id=hook.pk, actor="staff:test", now=timezone.now(), active=False),
    )


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


def test_a_past_show_deleted_while_the_purge_deletes_its_waiting_list_does_not_deadlock():
    # The show's delete (its lock, then Django's cascade: its holds, the waiting list's
    # offers among them, then the entries) and the purge's batch of expired shows' lists
    # (the entries locked, SKIP LOCKED, then their offers' holds, then them) took an offer's
    # hold and its entry in opposite orders. Staff delete a show called off (its bookings
    # cancelled) the day after; the purge takes its list from 8 hours after its start. A
    # third connection holds the hold, so that the delete waits there first.
    now = timezone.now().replace(microsecond=0)
    show = Show.objects.create(title="Called off", starts_at=now - timedelta(hours=9))
    entry = WaitlistEntry.objects.create(
        show=show, name="Grace Hopper", phone_number="+914155550124", party_size=1, joined_at=now - timedelta(hours=11)
    )
    offer = Hold.objects.create(
        show=show,
        seats=["A1"],
        waitlist_entry=entry,
        created_at=now - timedelta(hours=10),
        expires_at=now - timedelta(hours=9, minutes=50),
    )
    other = connections.create_connection("default")
    outcomes: dict = {}
    try:
        other.set_autocommit(False)
        with other.cursor() as cursor:
            cursor.execute("SELECT id FROM api_hold WHERE id = %s FOR UPDATE", [offer.pk])
        delete = in_thread(outcomes, "delete", lambda: catalog.show_delete(show_id=show.pk, actor="staff:a", now=now))
        assert wait_until_backends_wait_on_locks(1)  # the delete, at the hold
        purge = in_thread(outcomes, "purge", lambda: jobs.tickets_purge(now=now).waitlist_entries)
        # The purge waits too (at the hold), or passes over the entry the delete holds.
        while purge.is_alive() and not wait_until_backends_wait_on_locks(2, seconds=0.1):
            pass
        other.rollback()
        delete.join(RACE_WAIT)
        purge.join(RACE_WAIT)
    finally:
        other.close()

    assert outcomes["delete"] is None and outcomes["purge"] in (0, 1), outcomes
    assert not Show.objects.filter(pk=show.pk).exists()
    assert not WaitlistEntry.objects.exists() and not Hold.objects.exists()
