"""The offer job under a rush, on PostgreSQL: five runs of `offer_waitlist_seats` at once,
again and again, while clients cancel and book seats, confirm offers and let offers run
out. Whatever the interleaving: no show ever has more tickets plus live holds than seats,
no seat is booked or held twice (so no seat is offered twice), and no entry is offered
more than once (DESIGN.md, "Never oversell"; API.md, "Waiting list"). And a join beside a
confirm of the same client: both take their locks in locking.py's order."""

import itertools
import random
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from api.errors import HoldExpired, SeatTaken, ShowBusy, SoldOut
from api.locking import lock_show
from api.models import AuditEntry, Booking, Hold, Ticket, WaitlistEntry, WaitlistStatus
from api.services import sales, waitlist
from api.tests.conftest import ADA, book_seats, hold_seats, make_show, postgres_only, screen_of, while_held_open
from api.tests.invariants import invariant_problems

pytestmark = [postgres_only, pytest.mark.django_db(transaction=True)]

SHOWS = 2
JOB_RUNS = 5  # runs of the job at once, as five hosts' cron would start them
ROUNDS = 8
CANCELLERS = 3
BOOKERS = 3
ENTRIES_PER_SHOW = 24


def wait_a_little(rng: random.Random) -> None:
    threading.Event().wait(rng.uniform(0, 0.02))


@pytest.mark.parametrize("job_lock", [True, False], ids=["with the job's lock", "show locks alone"])
def test_five_offer_runs_during_a_rush_never_oversell_nor_offer_twice(monkeypatch, job_lock):
    if not job_lock:
        # As if the advisory lock were lost (a pooler that drops it): the show's lock must
        # be enough on its own.
        monkeypatch.setattr(waitlist, "try_job_lock", lambda key: True)
    rng = random.Random(19)
    shows = [make_show(days=2 + n, capacity=20) for n in range(SHOWS)]
    show_ids = [show.pk for show in shows]
    # Sold out: ten bookings of two seats each.
    bookings = [book_seats(show.pk, quantity=2, name=f"Early {n}").booking.pk for show in shows for n in range(10)]
    rng.shuffle(bookings)
    for show in shows:
        for n in range(ENTRIES_PER_SHOW):
            waitlist.waitlist_join(
                show_id=show.pk,
                name=f"Waiting {n}",
                phone_number=f"+91415556{show.pk % 10}{n:03d}",
                party_size=rng.choice([1, 1, 2, 2, 3]),
                now=timezone.now(),
            )

    done = threading.Event()
    samples: list[list[str]] = []
    runs: list[waitlist.OfferRun] = []
    confirmed: list[str] = []
    lapsed: list[str] = []

    def job(n: int) -> None:
        for _ in range(ROUNDS):
            runs.append(waitlist.waitlist_offer_seats(now=timezone.now()))
            wait_a_little(random.Random(n))

    def canceller(n: int) -> None:
        mine = bookings[n::CANCELLERS]  # every early booking is cancelled, one canceller's each
        for booking_id in mine:
            sales.booking_cancel(booking_id=booking_id, now=timezone.now())
            wait_a_little(random.Random(n))

    def booker(n: int) -> None:
        # Walk-ins race the job for the first show's freed seats; the second show's go to
        # its waiting list alone, so that offers are made however fast bookings are.
        local = random.Random(100 + n)
        for _ in range(20):
            try:
                book_seats(show_ids[0], quantity=local.choice([1, 2]), name=f"Walk-in {n}")
            except (SoldOut, ShowBusy):
                pass
            wait_a_little(local)

    def confirmer(n: int) -> None:
        # 30 tries, and on until one offer is confirmed (on a loaded machine the offers can
        # come late), for at most 20 s more.
        deadline = time.monotonic() + 20
        for attempt in itertools.count():
            if attempt >= 30 and (confirmed or time.monotonic() > deadline):
                break
            offer = Hold.objects.live(timezone.now()).filter(waitlist_entry__isnull=False).order_by("?").first()
            if offer is not None:
                try:
                    sale = sales.booking_confirm(
                        hold_id=offer.pk, name="Confirmer", phone_number="+914155550199", now=timezone.now()
                    )
                    confirmed.append(sale.booking.reference)
                except (HoldExpired, SeatTaken, ShowBusy):
                    pass
            wait_a_little(random.Random(200 + n))

    def lapser(n: int) -> None:
        # Some people never answer: their offer runs out (its end moved a second into the
        # past, as the clock would after BOOKING_WAITLIST_OFFER_MINUTES). Under the show's
        # lock, as time would: between two confirms, never during one, so that an offer
        # lapsed here stays lapsed (a confirm that had read it live just before would book
        # it). As the confirmer: on until one.
        deadline = time.monotonic() + 20
        for attempt in itertools.count():
            if attempt >= 30 and (lapsed or time.monotonic() > deadline):
                break
            offer = Hold.objects.live(timezone.now()).filter(waitlist_entry__isnull=False).order_by("?").first()
            if offer is not None:
                try:
                    with transaction.atomic():
                        lock_show(offer.show_id)
                        now = timezone.now()
                        if Hold.objects.live(now).filter(pk=offer.pk).update(expires_at=now - timedelta(seconds=1)):
                            lapsed.append(str(offer.waitlist_entry_id))
                except ShowBusy:
                    pass
            wait_a_little(random.Random(300 + n))

    roles = [job] * JOB_RUNS + [canceller] * CANCELLERS + [booker] * BOOKERS + [confirmer, lapser]
    barrier = threading.Barrier(len(roles) + 1)
    crashes: list[BaseException] = []

    def run(role, n: int) -> None:
        try:
            barrier.wait(timeout=60)
            role(n)
        except BaseException as exc:  # a crash must fail the test, not vanish with the thread
            crashes.append(exc)
        finally:
            connection.close()

    def sampler() -> None:
        try:
            barrier.wait(timeout=60)
            while not done.is_set():
                samples.append(invariant_problems(show_ids))
        except BaseException as exc:
            crashes.append(exc)
        finally:
            connection.close()

    counts: Counter = Counter()
    threads = []
    for role in roles:
        threads.append(threading.Thread(target=run, args=(role, counts[role])))
        counts[role] += 1
    watcher = threading.Thread(target=sampler)
    watcher.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    done.set()
    watcher.join(timeout=60)

    assert not crashes, crashes
    assert samples, "the sampler never ran"
    assert [problems for problems in samples if problems] == []
    # The job once more, alone, then the final state.
    waitlist.waitlist_offer_seats(now=timezone.now())
    assert invariant_problems(show_ids) == []

    # Each entry was offered at most once: one hold each (the one-to-one link), one
    # "waitlist.offered" entry each, by whichever run made it.
    offers = Hold.objects.filter(waitlist_entry__isnull=False)
    per_entry = offers.values("waitlist_entry").annotate(n=Count("*")).values_list("n", flat=True)
    assert set(per_entry) == {1}
    offered_trail = Counter(AuditEntry.objects.filter(action="waitlist.offered").values_list("object_id", flat=True))
    assert set(offered_trail.values()) == {1}
    assert set(offered_trail) == {str(pk) for pk in offers.values_list("waitlist_entry", flat=True)}
    # No two runs offered one entry (what the runs reported, the last run's aside).
    made = [offer.entry_id for r in runs for offer in r.offers]
    assert made and len(made) == len(set(made)) <= offers.count()
    # Every offer is the party's size, at its entry's show.
    for hold in offers.select_related("waitlist_entry"):
        entry = hold.waitlist_entry
        assert entry is not None and (len(hold.seats), hold.show_id) == (entry.party_size, entry.show_id)

    # What each entry reads agrees with its offer.
    now = timezone.now()
    entries = WaitlistEntry.objects.with_status(now).select_related("offer")
    for entry in entries:
        has_offer = Hold.objects.filter(waitlist_entry=entry).exists()
        if entry.current_status == WaitlistStatus.WAITING:
            assert not has_offer
        elif entry.current_status == WaitlistStatus.OFFERED:
            assert entry.offer.is_live(now)
        elif entry.current_status == WaitlistStatus.BOOKED:
            booking = Booking.objects.get(reference=entry.booking)
            tickets = sorted(Ticket.objects.filter(booking=booking).values_list("seat", flat=True))
            assert tickets == sorted(entry.offer.seats)
        else:
            assert entry.current_status == WaitlistStatus.EXPIRED and has_offer
    # The rush did what it meant to: offers made, confirmed, passed on.
    statuses = Counter(entry.current_status for entry in entries)
    assert offers.count() >= 10, (offers.count(), statuses)
    assert statuses[WaitlistStatus.BOOKED] == len(confirmed) > 0, statuses
    assert 0 < statuses[WaitlistStatus.EXPIRED] == len(set(lapsed)), statuses


def test_a_join_and_a_confirm_of_one_client_at_one_show_do_not_deadlock():
    # The join (a new place) took the client's lock (its cap of seats waited for), and its
    # entry's link locked the show's row at COMMIT, behind a confirm at that show by the same
    # client (one office's address) that held the show's lock and waited for the client's:
    # a deadlock, which PostgreSQL broke by failing one of the two (503 to a customer).
    client = "ip:203.0.113.9"
    show = make_show(capacity=2, screen=screen_of(2))
    hold = hold_seats(show.pk, quantity=2, client=client)  # sold out by the hold
    bob = {"name": "Bob Babbage", "phone_number": "+914155550199"}

    outcomes = while_held_open(
        lambda: waitlist.waitlist_join(show_id=show.pk, party_size=1, now=timezone.now(), client=client, **bob),
        lambda: sales.booking_confirm(hold_id=hold.pk, now=timezone.now(), client=client, **ADA),
    )

    assert outcomes["first"][1] is True, outcomes  # a new place
    assert isinstance(outcomes["second"], sales.Sale), outcomes
    assert outcomes["waited"]  # for the show's lock, the join's first
