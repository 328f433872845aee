"""The cron jobs' work: mark expired tickets, purge what is no longer needed (the waiting
lists' offer job is in waitlist.py).

Several hosts run the same crontab: each transaction first takes the job's advisory lock
(locking.try_job_lock) and stops when another host has it. Both jobs are set-based
(UPDATE ... WHERE, DELETE in batches of keys) and compare-and-set: running one twice
changes nothing the second time.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import (
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from ..locking import lock_shows, lock_tickets, lock_tickets_unread, try_job_lock
from ..models import (
    AuditEntry,
    Booking,
    Customer,
    Hold,
    IdempotencyKey,
    Show,
    Ticket,
    WaitlistEntry,
    Webhook,
    WebhookEvent,
    expiry_cutoff,
)
from . import audit

# Keys of the cron jobs' advisory locks (any two distinct 64-bit integers).
EXPIRE_JOB_LOCK = 0x7469636B65740001
PURGE_JOB_LOCK = 0x7469636B65740002
OFFER_JOB_LOCK = 0x7469636B65740003  # the waiting lists' offers (services/waitlist.py)

# How long the purge keeps holds that ran out, were released or used: a late confirm
# finds the row and answers 409 hold_expired; past it, the hold's audit history tells it
# from an id never made (holds.hold_existed), one read more on that rare path.
SPENT_HOLDS_KEPT = timedelta(hours=24)

# Rows per purge transaction: each stays well under a second (bench/README.md).
PURGE_BATCH_SIZE = 5_000

# Webhook events are kept this long for the delivery log (audit entries for
# AUDIT_KEEP_DAYS): a delivered one from its delivery; one given up, or one of an endpoint
# made inactive, from its making (the only time the row keeps). Never one of an active
# endpoint with an attempt due or in flight (a retry staff asked for). Their payloads hold
# names and phone numbers.
DELIVERED_EVENTS_KEPT = timedelta(days=7)


def tickets_expire(*, now: datetime, actor: str = "job:expire_tickets") -> int | None:
    """Mark tickets whose show started BOOKING_EXPIRE_AFTER_HOURS ago or more as expired.

    One UPDATE, after the locks of the shows it expires and of their tickets, and the run's
    audit entry (its count; a tickets.expired event when it marked any); None when another
    host is running the job at this moment.
    """
    with transaction.atomic():
        if not try_job_lock(EXPIRE_JOB_LOCK):
            return None
        past_shows = Show.objects.expired(now).values("pk")
        # Locked first, in a statement of their own, those with tickets to mark: a show
        # staff are moving to the future (show_update holds its lock, then writes its
        # tickets' flag) is waited for, then read as moved and left out. The UPDATE read the
        # shows unlocked, as of its start: one that waited for a ticket's row meanwhile
        # marked a moved show's tickets expired. FOR NO KEY UPDATE, the ORM's lock next to
        # SHARE: the links of rows inserted meanwhile (FOR KEY SHARE) don't wait for it.
        # In id order, as every lock of shows; nothing locks a ticket, then its show. (A
        # move meanwhile waits for this run, up to its lock_timeout: 503 busy past it.)
        to_mark = past_shows.filter(Exists(Ticket.objects.filter(show=OuterRef("pk"), expired=False)))
        list(to_mark.select_for_update(no_key=True).order_by("pk").values_list("pk", flat=True))
        # Then their tickets, in id order, before the UPDATE, which takes them in its scan
        # order (the heap's, an index's): a staff cancel of a booking of a started show locks
        # the booking, then its tickets by id, never their show, and held the first by id
        # while the UPDATE held the second and waited for the first, a deadlock that failed
        # the run or the cancel (a 500). Under the shows' locks no other ticket comes to
        # match: the UPDATE changes the rows locked here, unread (a run after days without
        # one marks many).
        tickets = Ticket.objects.filter(expired=False, show__in=past_shows)
        lock_tickets_unread(tickets)
        marked = tickets.update(expired=True)
        audit.record(
            actor=actor,
            action="tickets.expired",
            obj_type="job",
            obj_id="expire_tickets",
            changes={"marked": marked},
            now=now,
            event="tickets.expired" if marked else None,
            payload={"count": marked},
        )
        return marked


def tickets_mark_expired(*, ticket_ids: list[str], now: datetime, actor: str) -> tuple[int, int]:
    """Staff mark these tickets expired before the job would (a no-show's, say): those
    whose show has started only, since an expired ticket is deleted by the purge (once its
    show's hours are over), and one of a show to come would be a cancellation with no
    cancellation's events. An entry per ticket and a tickets.expired event, as the job's
    run. How many were marked, and how many left alone because their show has not started."""
    with transaction.atomic():
        chosen = Ticket.objects.filter(pk__in=ticket_ids, expired=False)
        started = chosen.filter(show__starts_at__lte=now)
        # The started shows locked, then read again, as tickets_expire does: a colleague
        # moving one to the future (show_update holds its lock, then sets its tickets' flag
        # to follow the new time) is waited for, then read as moved, and its tickets stay
        # valid. Read unlocked, the start was the one before the move, and the ticket of a
        # show to come was marked expired, for the purge to delete with no cancellation's
        # events. (A show with tickets is never moved into the past: one not started at the
        # first read needs no lock. The wait is bounded as a booking's: ShowBusy past it.)
        lock_shows(started.values_list("show_id", flat=True))
        # Then the tickets, read again under their locks: a colleague's cancel locks a
        # ticket's booking and row, never its show, and one committed after the read of the
        # ids, before the UPDATE, was recorded and counted as marked expired though the
        # UPDATE found no row. (Shows, then tickets: the order of show_update and of
        # tickets_expire; a cancel or a move locks the booking, then the ticket.)
        marked = [str(pk) for pk in lock_tickets(started)]
        waiting = chosen.count() - len(marked)
        Ticket.objects.filter(pk__in=marked).update(expired=True)
        entries = [audit.Entry("ticket.expired", "ticket", pk, {"expired": [False, True]}) for pk in marked]
        events = [audit.Event("tickets.expired", {"count": len(marked)})] if marked else []
        audit.record_many(actor=actor, now=now, entries=entries, events=events)
        return len(marked), waiting


@dataclass
class PurgeResult:
    tickets: int = 0
    bookings: int = 0
    customers: int = 0
    holds: int = 0
    idempotency_keys: int = 0
    audit_entries: int = 0
    webhook_events: int = 0
    waitlist_entries: int = 0
    shows: int = 0  # open timings that passed without selling a ticket
    skipped: bool = False  # another host was purging: the rest is left to it


class _PurgeElsewhere(Exception):
    """Another host holds the purge's lock."""


class _PurgeRun:
    """A purge run's counts and its audit entry, which each batch that deletes anything
    writes in its own transaction: a run killed midway leaves in the trail what its
    committed batches deleted. (Written once at the end, it left nothing of them.)"""

    def __init__(self, *, actor: str, now: datetime) -> None:
        self.actor, self.now = actor, now
        self.result = PurgeResult()
        self.entry_id: int | None = None

    def counts(self) -> dict[str, int]:
        return {k: v for k, v in asdict(self.result).items() if k != "skipped"}

    def deleted(self, what: str, count: int) -> None:
        """`count` rows of `what` deleted by the batch whose transaction this is."""
        if not count:
            return
        setattr(self.result, what, getattr(self.result, what) + count)
        if self.entry_id is None:
            self.entry_id = audit.record_entry(actor=self.actor, now=self.now, entry=self._entry())
        else:
            AuditEntry.objects.filter(pk=self.entry_id).update(changes=self.counts())

    def _entry(self) -> audit.Entry:
        return audit.Entry("tickets.purged", "job", "purge_expired_tickets", self.counts())

    @contextmanager
    def batch(self) -> Iterator[None]:
        """One batch: a transaction of its own that first takes the purge's lock. Rolled
        back, its counts are too."""
        before, entry_id = PurgeResult(**asdict(self.result)), self.entry_id
        try:
            with transaction.atomic():
                if not try_job_lock(PURGE_JOB_LOCK):
                    raise _PurgeElsewhere()
                yield
        except BaseException:
            self.result, self.entry_id = before, entry_id
            raise

    def end(self) -> PurgeResult:
        """The run's entry, with its counts, if no batch wrote one: a run with nothing to
        purge says so (one skipped for another host's does not)."""
        if self.entry_id is None and not self.result.skipped:
            with transaction.atomic():
                audit.record_entry(actor=self.actor, now=self.now, entry=self._entry())
        return self.result


def _delete_expired_tickets(run: _PurgeRun, batch_size: int, now: datetime) -> None:
    """Delete expired tickets of shows past their BOOKING_EXPIRE_AFTER_HOURS, batch by
    batch, in id order along the partial index of expired ids. A batch is the next
    batch_size expired ids: its transaction reads where it ends, then deletes up to there.

    One staff marked expired earlier (a no-show's) is kept until its show's hours are over:
    until then a show keeps every ticket it sold but those cancelled, which is what tells
    an open timing that sold from one that never did (passed_open_timings; deleted at
    once, the ticket left its show looking unsold). The expire job's tickets all pass.
    Those kept are told by the shows started and still in their hours (a few hours' worth,
    hashed once a batch; a show to come has no expired ticket), not by the shows past them
    (which only grow: looked up for each ticket of a batch)."""
    expired = Ticket.objects.filter(expired=True).order_by("pk")
    in_their_hours = Show.objects.not_expired(now).filter(starts_at__lte=now).values("pk")
    after = None
    while True:
        with run.batch():
            batch = expired if after is None else expired.filter(pk__gt=after)
            last = batch.values_list("pk", flat=True)[batch_size - 1 : batch_size].first()
            if last is not None:
                batch = batch.filter(pk__lte=last)
            done = batch.exclude(show__in=in_their_hours)
            # Locked in id order first, as a cancel takes a booking's tickets: the DELETE
            # alone took them in its scan order, and deadlocked with a staff cancel.
            lock_tickets_unread(done, to_delete=True)
            run.deleted("tickets", done.order_by().delete()[0])
        if last is None:  # that batch was the rest
            return
        after = last


def _delete_unused(
    run: _PurgeRun,
    what: str,
    model: type[Booking | Customer],
    links: list[tuple[type[Ticket | Booking], str]],
    batch_size: int,
) -> None:
    """Delete the rows of `model` (the run's `what`) that no row links to, through any of
    the `links` (a model and its field), one range of batch_size ids at a time.

    The database evaluates the filter at each DELETE. A row that becomes used meanwhile
    (a booking reusing a customer) makes the foreign key refuse the batch (ON DELETE
    RESTRICT on PostgreSQL, at the end of the DELETE; at COMMIT on SQLite): that range is
    left for the next run.
    """
    ids = model.objects.order_by().values_list("pk", flat=True)
    low, high = ids.order_by("pk").first(), ids.order_by("-pk").first()
    if low is None or high is None:
        return
    for start in range(low, high + 1, batch_size):
        end = start + batch_size
        # The range is given to the links too: PostgreSQL then reads the two index ranges
        # side by side (a merge anti-join) instead of looking up each row's links one by
        # one (bench/README.md, "Purge benchmark", has the A/B).
        unused = model.objects.filter(pk__gte=start, pk__lt=end)
        for linked_from, link in links:
            linked = linked_from.objects.filter(**{f"{link}__gte": start, f"{link}__lt": end, link: OuterRef("pk")})
            unused = unused.exclude(Exists(linked))
        try:
            with run.batch():
                run.deleted(what, unused.delete()[0])
        except IntegrityError:
            continue


def _delete_old(run: _PurgeRun, what: str, rows: QuerySet, batch_size: int) -> None:
    """Delete `rows` (the run's `what`) a batch of ids at a time, each batch in its own
    short transaction (which checks the rows' condition again), counting the rows of their
    model (not what their deletion cascades to)."""
    while True:
        batch = list(rows.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not batch:
            return
        with run.batch():
            # Locked first, passing over the rows another transaction holds (a booking
            # holds its show's lock, and may be adding a ticket to a show taken for passed
            # without one): those are left for the next run. Those locked here are checked
            # again by the DELETE, which sees what committed before the lock.
            free = list(rows.filter(pk__in=batch).select_for_update(skip_locked=True).values_list("pk", flat=True))
            # The rows of this model only: a show's holds and prices go with it (CASCADE).
            done = rows.filter(pk__in=free).delete()[1].get(rows.model._meta.label, 0) if free else 0
            run.deleted(what, done)
        if len(batch) < batch_size or not done:  # the rest, or nothing more this run
            return


def passed_open_timings(now: datetime) -> QuerySet[Show]:
    """The shows that booking made (open timings: untitled, no film, occupying no time)
    whose time has passed without a ticket: nobody can book them any more, and left alone
    they would litter the schedule. (A show with a ticket stays; so does one staff titled.)

    Only until a purge has run past their hours: until then their tickets, had they any,
    are still there (the purge deletes no ticket of a show before its hours are over, not
    even one staff marked expired at the start), so "no ticket" means none was sold, or
    each was cancelled. Later it may mean that the purge took them, and the show that sold
    them stays (API.md removes an open timing "that never sold a ticket"). Bounded by `now`
    alone, those that passed while cron was stopped for 8 hours stayed for good.

    The latest run but this one (at its `now`) is read from its audit entry, written with
    its first batch that deleted anything; none yet (a fresh installation, or one upgraded
    from version 1, whose purge left none): this run's `now`. Read by each statement, so a
    batch reads it under the purge's lock: a run on another host that took tickets
    meanwhile is seen with them, its clock ahead or not. This run's own entry is left out
    as one at its `now` that deleted no ticket (its shows go first); another run's at the
    same `now` (a clock set back, two hosts in one instant) counts once it deleted one."""
    runs = AuditEntry.objects.filter(object_type="job", object_id="purge_expired_tickets").exclude(
        at=now, changes__tickets=0
    )
    last_run = Coalesce(Subquery(runs.order_by("-at").values("at")[:1]), Value(now))
    hours = Value(now - expiry_cutoff(now), output_field=DurationField())  # BOOKING_EXPIRE_AFTER_HOURS
    return (
        Show.objects.alias(purged_up_to=ExpressionWrapper(last_run - hours, output_field=DateTimeField()))
        .filter(
            starts_at__lte=now,
            starts_at__gt=F("purged_up_to"),
            title="",
            film__isnull=True,
            busy_until=F("starts_at"),
            ends_at=F("starts_at"),
        )
        .exclude(Exists(Ticket.objects.filter(show=OuterRef("pk"))))
    )


def tickets_purge(
    *, now: datetime, batch_size: int = PURGE_BATCH_SIZE, actor: str = "job:purge_expired_tickets"
) -> PurgeResult:
    """Delete open timings that passed without a ticket, expired tickets (once their shows'
    hours are over), then the bookings and customers left without any, spent holds,
    idempotency keys older than a day, audit entries older than AUDIT_KEEP_DAYS, webhook
    events a week on (delivered ones a week after their delivery; those given up, with no
    attempt left, and those of an inactive endpoint a week after their making; never one
    that an active endpoint may still be sent: due, in flight, or retried and not sent
    again yet), and the waiting lists of expired shows (with their offers' holds); in short
    transactions. The run's counts are its audit entry, brought up to date by each batch."""
    run = _PurgeRun(actor=actor, now=now)
    try:
        _delete_old(run, "shows", passed_open_timings(now), batch_size)
        _delete_expired_tickets(run, batch_size, now)
        _delete_unused(run, "bookings", Booking, [(Ticket, "booking")], batch_size)
        _delete_unused(run, "customers", Customer, [(Booking, "customer"), (Ticket, "holder")], batch_size)
        # In batches too: after an on-sale rush, or days without the job, one DELETE of
        # them all would be one long transaction.
        _delete_old(run, "holds", Hold.objects.filter(expires_at__lte=now - SPENT_HOLDS_KEPT), batch_size)
        kept_since = now - timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)
        _delete_old(run, "idempotency_keys", IdempotencyKey.objects.filter(created_at__lte=kept_since), batch_size)
        old_entries = AuditEntry.objects.filter(at__lt=now - timedelta(days=settings.AUDIT_KEEP_DAYS))
        _delete_old(run, "audit_entries", old_entries, batch_size)
        # Of an active endpoint, not one with an attempt to come: a retry of an old event
        # (still "delivered" or given up until it is sent again) would be lost, though its
        # request was answered 202. An inactive endpoint is sent nothing; made active
        # again, it gets the events of its last week.
        week_ago = now - DELIVERED_EVENTS_KEPT  # the keeping time
        delivered = Q(status=WebhookEvent.Status.DELIVERED, delivered_at__lt=week_ago, next_attempt_at__isnull=True)
        given_up = Q(status=WebhookEvent.Status.FAILED, created_at__lt=week_ago, next_attempt_at__isnull=True)
        # A subquery, not a join: the batch's FOR UPDATE then locks the events only.
        inactive = Q(webhook__in=Webhook.objects.filter(active=False).values("pk"), created_at__lt=week_ago)
        _delete_old(run, "webhook_events", WebhookEvent.objects.filter(delivered | given_up | inactive), batch_size)
        # Along with the shows' tickets: the expire job's cutoff, one indexed subquery.
        ended = WaitlistEntry.objects.filter(show__in=Show.objects.expired(now).values("pk"))
        _delete_old(run, "waitlist_entries", ended, batch_size)
    except _PurgeElsewhere:
        run.result.skipped = True
    return run.end()
