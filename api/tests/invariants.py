"""What must hold of shows under any load, read from one consistent snapshot: for the rush
tests (test_rush_holds.py, test_rush_waitlist.py)."""

from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction
from django.utils import timezone

from api import selectors
from api.models import Hold, Show, Ticket


@contextmanager
def snapshot() -> Iterator[None]:
    """One consistent view of the database for every query inside, so that a confirm
    (tickets in, hold spent) committing between two of them can't be counted twice."""
    if connection.vendor == "postgresql":
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            yield
        return
    # SQLite: a deferred read transaction, a snapshot in WAL mode. atomic() would BEGIN
    # IMMEDIATE, taking the write lock; sampled in a loop, that starves the writers.
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("BEGIN DEFERRED")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("COMMIT")


def invariant_problems(show_ids: list[int]) -> list[str]:
    """What is wrong with the shows right now, read from one consistent snapshot."""
    problems = []
    with snapshot():
        capacity = dict(Show.objects.filter(pk__in=show_ids).values_list("pk", "capacity"))
        # "now" after the snapshot is taken: every write it sees decided on an earlier now.
        now = timezone.now()
        taken: dict[int, list[str]] = defaultdict(list)
        for show_id, seat in Ticket.objects.filter(show__in=show_ids).values_list("show_id", "seat"):
            taken[show_id].append(seat)
        for show_id, seats in Hold.objects.live(now).filter(show__in=show_ids).values_list("show_id", "seats"):
            taken[show_id].extend(seats)
        available = {
            show.pk: show.seats_available for show in selectors.shows_with_counts(now=now).filter(pk__in=show_ids)
        }
    for show_id in show_ids:
        seats = taken[show_id]
        if len(seats) > capacity[show_id]:
            problems.append(f"show {show_id}: {len(seats)} seats taken of {capacity[show_id]}")
        twice = [seat for seat, n in Counter(seats).items() if n > 1]
        if twice:
            problems.append(f"show {show_id}: seats {twice} taken twice")
        # What the API shows (GET /api/shows) agrees with the rows.
        if not 0 <= available[show_id] == capacity[show_id] - len(seats):
            problems.append(f"show {show_id}: seats_available {available[show_id]}, {len(seats)} taken")
    return problems
