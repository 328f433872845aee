"""Waiting lists of sold-out shows: join, leave, and the offer job (`manage.py
offer_waitlist_seats`, cron every minute).

An offer is a hold (holds.hold_insert): the party's size of seats, chosen by the seat-choice
rules under the show's lock like every hold, so it counts against capacity and never
oversells; it freezes the price, and is confirmed with POST /api/bookings {"hold": ...}
(sales.booking_confirm, which marks the entry booked). An offer lasts
BOOKING_WAITLIST_OFFER_MINUTES, never past the show's start.

An entry is made, and its status stored as it changes, always under its show's lock (a
join, the offer job, leaving, a confirm); one place in line per phone is kept by a unique
index (a join reads the phone's place before the lock). What an entry reads at a moment
is derived in one place, models.WaitlistEntryQuerySet.with_status: an offer whose hold is
no longer live reads expired until the job marks it so.

Several hosts run the job at the same minute: each show's work is a transaction of its
own that first takes the job's advisory lock (jobs.OFFER_JOB_LOCK, as the purge's
batches do), then the show's lock. A host that finds the job's lock taken stops; the
show's lock alone would keep two runs from offering one seat or one entry twice.
"""

import dataclasses
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from phonenumber_field.phonenumber import PhoneNumber

from ..errors import (
    DeletedMeanwhile,
    NotSoldHere,
    PartyAboveCapacity,
    SeatsFree,
    ShowBusy,
    ShowNotFound,
    SoldOut,
    WaitlistClosed,
    WaitlistEntryNotFound,
    WaitlistLimitReached,
)
from ..locking import lock_client, lock_show, seats_in_use, try_job_lock
from ..models import IN_LINE, Show, WaitlistEntry, WaitlistEntryQuerySet, WaitlistStatus
from . import audit
from .caps import check_seats_per_hour
from .holds import hold_insert, hold_release
from .jobs import OFFER_JOB_LOCK
from .seating import choose_seats, phone_at, tariff

logger = logging.getLogger(__name__)


def _expire_lapsed(entries: WaitlistEntryQuerySet, *, now: datetime, actor: str) -> int:
    """Mark the entries among `entries` whose offer is no longer live as expired, with an
    audit entry each. Call under their show's lock."""
    lapsed = [
        str(pk)
        for pk in entries.with_status(now)
        .filter(status=WaitlistStatus.OFFERED, current_status=WaitlistStatus.EXPIRED)
        .values_list("pk", flat=True)
    ]
    if lapsed:
        WaitlistEntry.objects.filter(pk__in=lapsed).update(status=WaitlistStatus.EXPIRED)
        audit.record_many(
            actor=actor, now=now, entries=[audit.Entry("waitlist.expired", "waitlist", pk) for pk in lapsed]
        )
    return len(lapsed)


def _could_seat(show: Show, party_size: int, *, now: datetime) -> bool:
    """Whether the party could be sold seats now, by the rules an offer follows (the best
    available for its size, of the show's type for anyone): wheelchair spaces, seats the
    show prices for nobody and the single-seat rule count, not the free seats alone."""
    used = seats_in_use(show.pk, now=now, with_tariff=True, screen=show.screen)
    prices = tariff(show.pk, read=used.tariff)
    types = {prices.for_anyone.key: party_size}
    try:
        choose_seats(show, used, None, party_size, staff=False, prices=prices, ticket_types=types)
    except (SoldOut, NotSoldHere):
        return False
    return True


def _check_client_line(client: str, party_size: int, *, now: datetime) -> None:
    """An anonymous client waits for at most BOOKING_MAX_HELD_SEATS_PER_CLIENT seats at
    once, over the lists of shows to come: its offers are holds that no hold cap counts,
    and made-up phone numbers are free. Counted under the client's lock, as holds are. And
    it joins only with its party within its hourly seat cap (caps.py): an offer is booked
    beyond the cap, so the join is where the hour is counted."""
    limit = settings.BOOKING_MAX_HELD_SEATS_PER_CLIENT
    if client and limit:
        lock_client(client)
        # As the entries read (with_status): an offer that ran out or was turned down holds
        # no place, though the offer job has not marked it expired yet.
        mine = WaitlistEntry.objects.filter(client=client, show__starts_at__gt=now).with_status(now)
        waiting = mine.filter(current_status__in=IN_LINE).aggregate(seats=Sum("party_size"))["seats"] or 0
        if waiting + party_size > limit:
            raise WaitlistLimitReached(limit, waiting)
    check_seats_per_hour(client=client, wanted=party_size, now=now, field="party_size")  # its own setting, off at 0


def waitlist_join(
    *,
    show_id: int,
    name: str,
    phone_number: PhoneNumber | str,
    party_size: int,
    now: datetime,
    client: str = "",
    actor: str = "system",
) -> tuple[WaitlistEntry, bool]:
    """Join the show's waiting list at the back; whether a new entry was made. A phone
    number already in line for the show gets its entry back, unchanged. An offer of its
    that ran out ended that place: the join takes a new one. `client`: the anonymous
    client, held to its cap of seats waited for ("" for none)."""
    show = Show.objects.select_related("screen__venue").defer("screen__seat_map").filter(pk=show_id).first()
    if show is None:
        raise ShowNotFound(show_id)
    if show.has_started(now):
        raise WaitlistClosed()
    phone_number = phone_at(phone_number, show)  # a local number in the venue's country
    mine = WaitlistEntry.objects.filter(show_id=show_id, phone_number=phone_number, status__in=IN_LINE)
    found = mine.with_status(now).first()
    if found is not None and found.current_status != WaitlistStatus.EXPIRED:
        return found, False
    # A new place only (a join again answers the place it has). The screen's seats, not the
    # show's capacity: staff may raise that up to them, and seats then come free.
    if party_size > show.screen.capacity:
        raise PartyAboveCapacity(show.screen.capacity)
    # A list opens when the show can't seat the party: joined while it can, and nobody in
    # line for the seats free, the offers would hold seats anyone may book, beyond any
    # client's hold cap (a few made-up phone numbers took a show off sale).
    in_line = WaitlistEntry.objects.filter(show_id=show_id, status=WaitlistStatus.WAITING).exists()
    if not in_line and _could_seat(show, party_size, now=now):
        raise SeatsFree(party_size)
    try:
        with transaction.atomic():
            # The show's lock first, then the client's (locking.py's order), in both paths: a
            # new place's entry locks the show's row anyway (its link, FOR KEY SHARE at
            # COMMIT), and taken after the client's lock, it waited for a confirm of the same
            # client at this show that holds the show's lock and waits for the client's.
            # Its start read again under the lock: staff may have moved it into the past since
            # the read above (a show without tickets may be), and the list closed with it.
            if lock_show(show_id).has_started(now):
                raise WaitlistClosed()
            if found is not None:
                _expire_lapsed(mine, now=now, actor=actor)
            _check_client_line(client, party_size, now=now)
            entry = WaitlistEntry.objects.create(
                show_id=show_id,
                name=name,
                phone_number=phone_number,
                party_size=party_size,
                client=client,
                joined_at=now,
            )
            changes = {"show": show_id, "party_size": party_size}
            audit.record(
                actor=actor,
                action="waitlist.joined",
                obj_type="waitlist",
                obj_id=str(entry.pk),
                changes=changes,
                now=now,
            )
            return entry, True
    except ShowNotFound:  # staff deleted the show after it was read above
        raise DeletedMeanwhile("Show") from None
    except IntegrityError:
        # The same phone joined at the same moment (the unique index): that entry is its
        # place, unless it was left meanwhile, or the show deleted since (its list with it).
        found = mine.first()
        if found is None:
            raise DeletedMeanwhile("Show") from None
        return found, False


def waitlist_leave(*, entry_id: uuid.UUID | str, now: datetime, actor: str = "system") -> bool:
    """Leave the waiting list (or be removed by staff): an entry in line reads left, and
    the seats of its live offer go back on sale at once. An entry whose wait has ended
    (booked, expired, left) stays as it is. Whether the entry was in line."""
    show_id = WaitlistEntry.objects.filter(pk=entry_id).values_list("show_id", flat=True).first()
    if show_id is None:
        raise WaitlistEntryNotFound()
    with transaction.atomic():
        try:
            lock_show(show_id)  # against the offer job and a confirm of the offer meanwhile
        except ShowNotFound:  # staff cancelled the show since the read above: its list went with it
            raise WaitlistEntryNotFound() from None
        entry = WaitlistEntry.objects.with_status(now).select_related("offer").filter(pk=entry_id).first()
        if entry is None:  # the purge took it (its show long over) while this waited
            raise WaitlistEntryNotFound()
        if entry.current_status not in IN_LINE:
            return False
        WaitlistEntry.objects.filter(pk=entry.pk).update(status=WaitlistStatus.LEFT)
        audit.record(
            actor=actor,
            action="waitlist.left",
            obj_type="waitlist",
            obj_id=str(entry.pk),
            changes={"status": [entry.current_status, WaitlistStatus.LEFT]},
            now=now,
        )
        if entry.current_status == WaitlistStatus.OFFERED:
            hold_release(hold_id=entry.offer.pk, now=now, actor=actor)
        return True


def waitlist_offer_booked(*, entry_id: uuid.UUID, reference: str, now: datetime, actor: str = "system") -> None:
    """The entry whose offer a booking confirmed reads booked, with the booking's reference.
    Call in the confirm's transaction, under the show's lock (sales.booking_confirm). One
    the offer job marked expired too: a job's clock ahead of the confirm's took the offer
    for lapsed, and the confirm (which recounts the seats) found it live."""
    in_wait = [WaitlistStatus.OFFERED, WaitlistStatus.EXPIRED]
    if WaitlistEntry.objects.filter(pk=entry_id, status__in=in_wait).update(
        status=WaitlistStatus.BOOKED, booking=reference
    ):
        audit.record(
            actor=actor,
            action="waitlist.booked",
            obj_type="waitlist",
            obj_id=str(entry_id),
            changes={"booking": reference},
            now=now,
        )


# --- the offer job -----------------------------------------------------------------------


@dataclass(frozen=True)
class Offer:
    show_id: int
    entry_id: uuid.UUID
    seats: list[str]
    expires_at: datetime


@dataclass
class OfferRun:
    offers: list[Offer] = field(default_factory=list)
    expired: int = 0  # lapsed offers marked expired
    passed: list[int] = field(default_factory=list)  # shows locked too long by others, or deleted: next run
    failed: dict[int, Exception] = field(default_factory=dict)  # shows whose turn raised (logged): next run
    skipped: bool = False  # another host was offering: the rest is left to it


def _offer_at(show_id: int, *, now: datetime, actor: str) -> tuple[list[Offer], int]:
    """One show's turn, under its lock: mark its lapsed offers expired, then offer the free
    seats to the waiting entries in joining order, each party that fits a hold of its size.
    A party that does not fit keeps its place; the smaller ones behind it may be served."""
    show = lock_show(show_id)
    expired = _expire_lapsed(WaitlistEntry.objects.filter(show=show), now=now, actor=actor)
    if show.has_started(now):
        return [], expired
    used = seats_in_use(show.pk, now=now, with_tariff=True, screen=show.screen)
    free = show.capacity - len(used.taken)
    ends = now + timedelta(minutes=settings.BOOKING_WAITLIST_OFFER_MINUTES)  # hold_insert ends it by the start
    offers = []
    waiting = WaitlistEntry.objects.filter(show=show, status=WaitlistStatus.WAITING, party_size__lte=free)
    # An entry asks for no types: its offer is the show's type for anyone (the default,
    # unless the show sells it nowhere).
    offered = tariff(show.pk, read=used.tariff).for_anyone.key
    for entry in waiting.in_line_order():
        try:
            hold = hold_insert(
                show=show,
                used=used,
                now=now,
                expires_at=ends,
                quantity=entry.party_size,
                ticket_types={offered: entry.party_size},
                waitlist_entry=entry,
                actor=actor,
            )
        except (SoldOut, NotSoldHere):
            continue  # does not fit now: keeps its place
        used = dataclasses.replace(used, held=used.held | set(hold.seats))  # the tariff read stays
        WaitlistEntry.objects.filter(pk=entry.pk).update(status=WaitlistStatus.OFFERED)
        audit.record(
            actor=actor,
            action="waitlist.offered",
            obj_type="waitlist",
            obj_id=str(entry.pk),
            changes={"hold": str(hold.pk), "seats": hold.seats},
            now=now,
            event="waitlist.offered",
            payload=audit.waitlist_offer_data(entry, hold),
        )
        offers.append(Offer(show.pk, entry.pk, hold.seats, hold.expires_at))
    return offers, expired


def waitlist_offer_seats(*, now: datetime, actor: str = "job:offer_waitlist_seats") -> OfferRun:
    """Offer the seats that came free to the waiting lists of shows to come, show by show;
    the run's counts are its audit entry (written when it changed anything)."""
    run = OfferRun()
    # The shows to come with someone waiting, or with an offer to mark expired; not those
    # whose every entry holds a live offer.
    work = WaitlistEntry.objects.with_status(now).filter(show__starts_at__gt=now)
    work = work.filter(
        Q(status=WaitlistStatus.WAITING) | Q(status=WaitlistStatus.OFFERED, current_status=WaitlistStatus.EXPIRED)
    )
    for show_id in list(work.order_by("show_id").values_list("show_id", flat=True).distinct()):
        try:
            with transaction.atomic():
                if not try_job_lock(OFFER_JOB_LOCK):
                    run.skipped = True
                    break
                offers, expired = _offer_at(show_id, now=now, actor=actor)
        except (ShowBusy, ShowNotFound):  # locked too long by others, or deleted meanwhile
            run.passed.append(show_id)
            continue
        except Exception as exc:  # noqa: BLE001 (one show's fault: logged, and the run goes on)
            # Rolled back, this show's turn alone; the others are served, and the command
            # fails at the end (cron's log gets the traceback).
            logger.exception("Offering waiting-list seats at show %s failed.", show_id)
            run.failed[show_id] = exc
            continue
        run.offers += offers
        run.expired += expired
    if run.offers or run.expired:
        changes = {"offered": len(run.offers), "seats": sum(len(o.seats) for o in run.offers), "expired": run.expired}
        with transaction.atomic():
            audit.record(
                actor=actor,
                action="waitlist.offers_made",
                obj_type="job",
                obj_id="offer_waitlist_seats",
                changes=changes,
                now=now,
            )
    return run
