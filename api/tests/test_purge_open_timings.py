"""The purge removes the open timings that passed without a ticket (API.md, "Show": a show
open timings made "that never sold a ticket is removed by the purge once its time has
passed, so clients can't litter the schedule")."""

import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from api.models import Film, Hold, Screen, Show, Ticket
from api.services import jobs, sales
from api.services.showtimes import ShowTime, show_at
from api.tests.conftest import book_ticket, hold_seats, in_thread, postgres_only

pytestmark = pytest.mark.django_db


@pytest.fixture
def now():
    return timezone.now().replace(second=0, microsecond=0)


def booked_open_timing(starts_at):
    """An open timing made as a client makes one: by naming a free date and time (on the
    default screen, made first in a database the test flushed)."""
    Screen.objects.default()
    local = timezone.localtime(starts_at)
    return show_at(when=ShowTime(day=local.date(), at=local.time()), now=starts_at - timedelta(days=1))


def untitled_show(starts_at, *, minutes: int = 0, **fields) -> Show:
    """A show of the default screen without a title, occupying `minutes` of it."""
    ends_at = starts_at + timedelta(minutes=minutes)
    return Show.objects.create(
        screen=Screen.objects.default(), starts_at=starts_at, ends_at=ends_at, busy_until=ends_at, **fields
    )


def test_a_passed_open_timing_without_a_ticket_is_purged_with_its_spent_holds(now):
    passed = booked_open_timing(now - timedelta(hours=1))
    hold_seats(passed.pk, quantity=2, now=now - timedelta(days=1))

    result = jobs.tickets_purge(now=now)

    assert result.shows == 1
    assert not Show.objects.filter(pk=passed.pk).exists()
    assert not Hold.objects.filter(show_id=passed.pk).exists()


def test_one_that_starts_right_now_has_passed(now):
    passed = booked_open_timing(now)

    assert jobs.tickets_purge(now=now).shows == 1
    assert not Show.objects.filter(pk=passed.pk).exists()


def test_the_purge_keeps_every_other_show(now):
    coming = booked_open_timing(now + timedelta(minutes=1))
    sold = booked_open_timing(now - timedelta(hours=2))
    book_ticket(sold.pk, now=now - timedelta(days=1))
    scheduled = untitled_show(now - timedelta(hours=6), minutes=120)  # staff's: it occupies the screen
    with_a_film = untitled_show(now - timedelta(hours=3), film=Film.objects.create(title="Dune", runtime_minutes=1))
    with_a_title = untitled_show(now - timedelta(hours=4), title="Premiere night")

    assert jobs.tickets_purge(now=now).shows == 0
    assert set(Show.objects.values_list("pk", flat=True)) >= {
        coming.pk,
        sold.pk,
        scheduled.pk,
        with_a_film.pk,
        with_a_title.pk,
    }


def test_an_open_timing_that_sold_stays_after_its_tickets_expire_and_go(now):
    """Once the purge took its expired tickets, the next run found it without a ticket and
    deleted it as one that never sold, with its history (API.md: "never sold a ticket")."""
    sold = booked_open_timing(now - timedelta(hours=9))
    book_ticket(sold.pk, now=now - timedelta(days=1))
    Ticket.objects.filter(show=sold).update(expired=True)  # as expire_tickets marks them

    first, second = jobs.tickets_purge(now=now), jobs.tickets_purge(now=now)

    assert (first.tickets, first.shows, second.shows) == (1, 0, 0)
    assert Show.objects.filter(pk=sold.pk).exists()


def test_an_open_timing_whose_tickets_staff_marked_expired_early_stays_after_they_go(now):
    """Staff marked a no-show's ticket expired two hours after the start (the admin's
    action): the purge deleted it at once, and its next run, still inside the 8 hours,
    found the show without a ticket and deleted it as one that never sold. The ticket now
    waits for the show's 8 hours, as those the expire job marks do."""
    sold = booked_open_timing(now - timedelta(hours=2))
    ticket = book_ticket(sold.pk, now=now - timedelta(days=1))
    assert jobs.tickets_mark_expired(ticket_ids=[str(ticket.pk)], now=now, actor="staff:alice") == (1, 0)

    first = jobs.tickets_purge(now=now)
    second = jobs.tickets_purge(now=now + timedelta(minutes=10))  # cron's next run
    over = jobs.tickets_purge(now=now + timedelta(hours=6))  # the show's 8 hours are over
    after = jobs.tickets_purge(now=now + timedelta(hours=6, minutes=10))

    assert (first.tickets, first.shows, second.tickets, second.shows) == (0, 0, 0, 0)
    assert (over.tickets, over.shows, after.shows) == (1, 0, 0)
    assert Show.objects.filter(pk=sold.pk).exists()


def test_one_that_passed_while_the_purge_did_not_run_is_purged_by_its_next_run(now):
    """Cron stopped for 20 hours: the open timings that passed meanwhile were past their 8
    hours at the next run, and none was ever purged (the schedule kept them for good). No
    run had taken their tickets yet, so the one without a ticket never sold."""
    jobs.tickets_purge(now=now - timedelta(hours=20))  # the last run before cron stopped
    unsold = booked_open_timing(now - timedelta(hours=19))
    sold = booked_open_timing(now - timedelta(hours=18))
    book_ticket(sold.pk, now=now - timedelta(days=1))
    Ticket.objects.filter(show=sold).update(expired=True)  # as expire_tickets marks them

    first, second = jobs.tickets_purge(now=now), jobs.tickets_purge(now=now + timedelta(minutes=10))

    assert (first.shows, first.tickets, second.shows) == (1, 1, 0)
    assert not Show.objects.filter(pk=unsold.pk).exists()
    assert Show.objects.filter(pk=sold.pk).exists()


def test_one_whose_tickets_another_hosts_run_took_meanwhile_stays(now):
    # Two hosts' runs of one cron minute, the other's clock a second ahead: its batches
    # took the tickets first, and this run, reading only the runs before its own `now`,
    # found the show without any.
    jobs.tickets_purge(now=now - timedelta(minutes=10))
    sold = booked_open_timing(now - timedelta(hours=8, minutes=5))
    book_ticket(sold.pk, now=now - timedelta(days=1))
    Ticket.objects.filter(show=sold).update(expired=True)

    other, this = jobs.tickets_purge(now=now + timedelta(seconds=1)), jobs.tickets_purge(now=now)

    assert (other.tickets, other.shows, this.shows) == (1, 0, 0)
    assert Show.objects.filter(pk=sold.pk).exists()


def test_one_whose_tickets_a_run_at_the_same_moment_took_stays(now):
    # Two runs whose clocks read the same `now` (two hosts in one cron minute, a clock set
    # back, a frozen one): the second left out the first's entry with its own, read the
    # bound from the run before, and took the show that the first had emptied for unsold.
    jobs.tickets_purge(now=now - timedelta(hours=20))
    sold = booked_open_timing(now - timedelta(hours=9))
    book_ticket(sold.pk, now=now - timedelta(days=1))
    Ticket.objects.filter(show=sold).update(expired=True)

    first, second = jobs.tickets_purge(now=now), jobs.tickets_purge(now=now)

    assert (first.tickets, first.shows, second.shows) == (1, 0, 0)
    assert Show.objects.filter(pk=sold.pk).exists()


def test_the_command_says_how_many_it_deleted_and_a_second_run_none(now):
    for hours in (1, 2, 3):
        booked_open_timing(now - timedelta(hours=hours))

    out = StringIO()
    call_command("purge_expired_tickets", stdout=out)
    again = StringIO()
    call_command("purge_expired_tickets", stdout=again)

    assert "Deleted 3 open timings that passed without a ticket.\n" in out.getvalue()
    assert "open timings" not in again.getvalue()
    assert Show.objects.count() == 0


def test_one_booked_after_the_batch_was_read_is_kept(now, monkeypatch):
    # A booking by a host whose clock is behind, committed between the batch's read and its
    # DELETE: the DELETE checks the condition again.
    racing = booked_open_timing(now)
    purge_batch = jobs._PurgeRun.batch
    booked: list[Ticket] = []

    def booking_meanwhile(run):
        if not booked:
            booked.append(book_ticket(racing.pk, now=now - timedelta(seconds=1)))
        return purge_batch(run)

    monkeypatch.setattr(jobs._PurgeRun, "batch", booking_meanwhile)
    result = jobs.tickets_purge(now=now)

    assert booked and Show.objects.filter(pk=racing.pk).exists()
    assert result.shows == 0


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_one_being_booked_while_the_purge_deletes_it_is_passed_over_and_the_run_goes_on(now, monkeypatch):
    # The booking held the show's lock, not yet committed: the purge's DELETE waited for it,
    # and then failed at COMMIT on the new ticket's foreign key, which stopped the run with
    # a traceback before the tickets, bookings and the rest were purged.
    racing = booked_open_timing(now)
    spent = hold_seats(booked_open_timing(now + timedelta(days=2)).pk, quantity=1, now=now - timedelta(days=2))
    locked, go = threading.Event(), threading.Event()
    check = sales.check_seats_per_hour
    outcome: dict[str, object] = {}

    def pausing_check(**kwargs):
        check(**kwargs)
        locked.set()  # the booking holds the show's lock, its ticket not yet written
        assert go.wait(30)

    monkeypatch.setattr(sales, "check_seats_per_hour", pausing_check)
    booking = in_thread(outcome, "ticket", lambda: book_ticket(racing.pk, now=now - timedelta(seconds=1)))
    assert locked.wait(30)
    threading.Timer(1, go.set).start()  # the booking goes on while the purge runs
    try:
        result = jobs.tickets_purge(now=now)
    finally:
        go.set()
        booking.join(30)

    assert isinstance(outcome["ticket"], Ticket), outcome
    assert Show.objects.filter(pk=racing.pk).exists()
    assert result.shows == 0
    assert result.holds == 1  # the run went on
    assert not Hold.objects.filter(pk=spent.pk).exists()
