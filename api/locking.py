"""The show lock and the taken-seat read: what every write that takes seats starts with.

The rule the service must never break: a show never has more tickets plus live holds than
its capacity, and no seat is sold twice, whatever the number of clients, processes or
hosts booking at once. Every write that takes seats runs in one transaction that first
locks the show row (SELECT ... FOR UPDATE), then reads the taken seats: the read's
snapshot is taken after the lock is granted, so it sees every booking committed before.
On SQLite, which has no row locks, the IMMEDIATE transaction mode serialises writers
instead (see settings). The UNIQUE (show, seat) constraint is the backstop.

A show's lock is waited for at most BOOKING_LOCK_TIMEOUT_SECONDS (PostgreSQL's
lock_timeout, for this transaction only): a transaction stuck on one show makes the
requests for that show fail fast with ShowBusy (503 busy), instead of piling every worker
up behind it. Only lock waits are bounded: no statement_timeout, which could cancel a
COMMIT waiting for its synchronous replica.

A write that takes several locks takes them in one order: a venue, then screens (by id),
then shows (by id), then a booking, then tickets (by id: a write of several tickets locks
them first, lock_tickets or lock_tickets_unread, as an UPDATE or a DELETE of several takes
them in its scan order), then a client (the key share of ticket types may come after any
of them: whoever locks a type FOR UPDATE takes no lock after it). A map change
(venues.screen_save), a show made (catalog.show_create), an open timing made in a sale's
or a move's transaction (showtimes.show_at) and a show moved (catalog.show_update) each
lock the screen before a show: taken the other way round, two of them deadlock (a 500).

The show lock and the taken-seat read are written in SQL, as DESIGN.md has them: every
booking runs both, and the lock's ORM form cost more Python than any other statement of
a booking. The taken-seat read gets tickets, live holds and blocks in one round trip, and
for a sale the tariff (every ticket type with its prices at the show) in the same one, as
JSON text (tariffs.py; services/seating.py keeps what it reads by that text): the two earn
their lines in a same-run A/B (bench/README.md, "2026-12-04, night").
"""

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import OperationalError, connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from .errors import ClientBusy, DomainError, EndpointsBusy, ShowBusy, ShowNotFound
from .models import Booking, Hold, Screen, SeatBlock, Show, Ticket, TicketType, Venue, Webhook
from .rows import Columns
from .tariffs import TICKET_TYPE, tariff_sql

# PostgreSQL's SQLSTATE when lock_timeout ran out.
LOCK_NOT_AVAILABLE = "55P03"


def _lock_timeout() -> str:
    """BOOKING_LOCK_TIMEOUT_SECONDS as PostgreSQL's lock_timeout reads it, in whole
    milliseconds and never 0, which is PostgreSQL's "no timeout": the settings take any
    wait above 0, and 0.0004 s was sent as '0ms', a booking then waiting for ever."""
    return f"{max(1, round(settings.BOOKING_LOCK_TIMEOUT_SECONDS * 1000))}ms"


@contextmanager
def _waits_bounded(busy: type[DomainError] = ShowBusy) -> Iterator[None]:
    """A lock waited for past lock_timeout as `busy` (a 503 that says to retry), not a bare
    OperationalError (a 500)."""
    try:
        yield
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            raise busy() from exc
        raise


def _bounded(rows: QuerySet) -> QuerySet:
    """The rows with a column that sets lock_timeout before they are locked (PostgreSQL):
    bounded as a show's lock is, first lock of the transaction or not."""
    if connection.vendor != "postgresql":
        return rows
    return rows.annotate(lock_timeout=RawSQL("set_config('lock_timeout', %s, true)", [_lock_timeout()]))


# A show locked comes with its screen (all but the seat map, which Screen.seats finds by its
# digest) and venue: they price, seat and date a sale.
_SHOW, _SCREEN, _VENUE = Columns(Show), Columns(Screen, leave_out=["seat_map"]), Columns(Venue)


@cache
def _shows_sql(count: int, *, lock: bool, vendor: str) -> str:
    """SELECT the shows with their screens and venues; locked, FOR UPDATE OF the show
    alone: screen and venue come along unlocked, so bookings of other shows on the same
    screen don't queue behind this one. Locked on PostgreSQL, the first column sets the
    transaction's lock_timeout (SET LOCAL): the select list is computed as a row is read,
    before it is locked, so the wait for the lock is already bounded, and costs no round
    trip of its own. (Each text is made once: see _seats_sql.)"""
    q = connection.ops.quote_name
    postgres_lock = lock and vendor == "postgresql"
    timeout = "set_config('lock_timeout', %s, true)" if postgres_lock else "NULL"
    sql = (
        f"SELECT {timeout}, {_SHOW.select('s')}, {_SCREEN.select('sc')}, {_VENUE.select('v')}"
        f" FROM {q(Show._meta.db_table)} s"
        f" JOIN {q(Screen._meta.db_table)} sc ON sc.id = s.screen_id"
        f" JOIN {q(Venue._meta.db_table)} v ON v.id = sc.venue_id"
        f" WHERE s.id IN ({', '.join(['%s'] * count)}) ORDER BY s.id"
    )
    return sql + (" FOR UPDATE OF s" if postgres_lock else "")


def _shows(ids: list[int], *, lock: bool) -> dict[int, Show]:
    params: list[Any] = list(ids)
    if lock and connection.vendor == "postgresql":
        params.insert(0, _lock_timeout())
    screen_at, venue_at = 1 + len(_SHOW), 1 + len(_SHOW) + len(_SCREEN)
    shows = {}
    with connection.cursor() as cursor:
        cursor.execute(_shows_sql(len(ids), lock=lock, vendor=connection.vendor), params)
        for row in cursor.fetchall():
            show = _SHOW.load(row[1:screen_at])
            show.screen = _SCREEN.load(row[screen_at:venue_at])
            show.screen.venue = _VENUE.load(row[venue_at:])
            shows[show.pk] = show
    return shows


def lock_shows(show_ids: Iterable[int]) -> dict[int, Show]:
    """Lock the shows' rows until the transaction ends, in primary-key order, and return
    them with their screens and venues.

    The fixed order keeps two moves between the same two shows from deadlocking. Written
    in SQL (the ORM's form of it cost more Python than any other statement of a booking:
    bench/README.md).
    """
    ids = sorted(set(show_ids))
    if not ids:  # nothing to lock (and "IN ()" is no SQL)
        return {}
    with _waits_bounded():
        shows = _shows(ids, lock=True)
    for show_id in ids:
        if show_id not in shows:
            raise ShowNotFound(show_id)
    return shows


def show_with_screen(show_id: int) -> Show | None:
    """The show with its screen and venue, as lock_show reads it but unlocked: the seat
    map's answer, read as often as bookings are made."""
    return _shows([show_id], lock=False).get(show_id)


def lock_show(show_id: int) -> Show:
    return lock_shows([show_id])[show_id]


def lock_screens(screens: QuerySet[Screen]) -> list[Screen]:
    """Lock these screens' rows (FOR NO KEY UPDATE) until the transaction ends, in primary-key
    order, and return them as now committed: a map change is done before a show is made or
    moved on the screen, or waits for it and then finds it among the shows to come.

    Bounded as a show's lock is, first lock of the transaction or not: a column sets
    lock_timeout before the row is locked (as lock_shows' statement does), and a wait past
    it is ShowBusy (503 busy), not a bare OperationalError.
    """
    with _waits_bounded():
        return list(_bounded(screens.order_by("pk").select_for_update(no_key=True)))


def lock_screen(screen_id: int) -> Screen | None:
    """The screen locked as lock_screens locks it; None when there is no such screen (deleted
    since the request was read)."""
    found = lock_screens(Screen.objects.filter(pk=screen_id))
    return found[0] if found else None


def lock_tickets(tickets: QuerySet[Ticket]) -> list[UUID]:
    """Lock these tickets' rows (FOR UPDATE OF the ticket alone: not its show, locked first,
    nor its booking) until the transaction ends, in primary-key order, and return the ids of
    those that still match as now committed: one cancelled meanwhile is left out, one changed
    meanwhile is checked again against the filter. Bounded as lock_screens is: ShowBusy past
    BOOKING_LOCK_TIMEOUT_SECONDS."""
    rows = _bounded(tickets.order_by("pk").select_for_update(of=("self",)))
    columns = ["pk", "lock_timeout"] if connection.vendor == "postgresql" else ["pk"]
    with _waits_bounded():
        return [row[0] for row in rows.values_list(*columns)]


def lock_tickets_unread(tickets: QuerySet[Ticket], *, to_delete: bool = False) -> None:
    """Lock these tickets' rows (FOR NO KEY UPDATE, what an UPDATE of their flags takes, or
    FOR UPDATE `to_delete`, what a DELETE takes; OF the ticket alone) until the transaction
    ends, in primary-key order, as lock_tickets, for an UPDATE or a DELETE of them all to
    follow: the rows stay in the database (one row comes back, their count), however many
    (the expire job's after days without a run, a purge's batch). Waited for as long as it
    takes: a job's wait, not a request's."""
    rows = tickets.order_by("pk").select_for_update(no_key=not to_delete, of=("self",)).values("pk")
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM ({sql}) locked", params)


@dataclass(frozen=True)
class SeatsInUse:
    """A show's seats that can't be sold now: booked, held (live holds) or blocked; and,
    read with them when asked, the show's tariff as JSON text (seating.tariff reads it)."""

    booked: set[str]
    held: set[str]
    blocked: set[str]
    tariff: str | None = None

    @property
    def taken(self) -> set[str]:
        """Booked or held: what counts against the show's capacity."""
        return self.booked | self.held


def seats_in_use(
    show_id: int,
    *,
    now: datetime,
    exclude_ticket: UUID | None = None,
    exclude_hold: UUID | None = None,
    with_tariff: bool = False,
    screen: Screen | None = None,
) -> SeatsInUse:
    """The show's booked, held and blocked seats, in one statement (read under the show's
    lock to rely on them), but for the seat of `exclude_ticket` (a ticket moving) and of
    `exclude_hold` (a hold confirming); `with_tariff`, its tariff too (a sale prices what
    it chose).

    `screen`, the show's screen as lock_shows read it, gets the seat map now committed:
    a map change (venues.screen_save) holds the lock of every coming show of its screen,
    and a sale that waited for that lock read the screen with the show, in a snapshot from
    before the change (PostgreSQL), where a seat the new map drops still exists. This
    statement's snapshot is from after the lock: its digest tells, and on a change (rare)
    the map is read again."""
    params: list = [show_id]
    if exclude_ticket is not None:
        params.append(Ticket._meta.pk.get_db_prep_value(exclude_ticket, connection))
    params += [show_id, connection.ops.adapt_datetimefield_value(now)]
    if exclude_hold is not None:
        params.append(Hold._meta.pk.get_db_prep_value(exclude_hold, connection))
    params += [show_id, show_id] if with_tariff else [show_id]
    if screen is not None:
        params.append(screen.pk)
    parts = (exclude_ticket is not None, exclude_hold is not None, with_tariff, screen is not None)
    sql = _seats_sql(*parts, connection.vendor)
    booked, held, blocked, tariff, seat_map_digest = set(), set(), set(), None, None
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for kind, seat, document in cursor.fetchall():
            if kind == "t":  # most rows: a show's tickets
                booked.add(seat)
            elif kind == "h":
                held.update(json.loads(document))
            elif kind == "b":
                blocked.add(seat)
            elif kind == "p":
                tariff = document
            else:
                seat_map_digest = seat
    if screen is not None and seat_map_digest != screen.seat_map_digest:
        screen.refresh_from_db(fields=["seat_map", "seat_map_digest", "capacity"])
    return SeatsInUse(booked, held, blocked, tariff)


@cache
def _seats_sql(exclude_ticket: bool, exclude_hold: bool, with_tariff: bool, with_map: bool, vendor: str) -> str:
    """seats_in_use's statement, for its parameters in the order it adds them. Each text is
    made once per process (as _shows_sql's): made anew for every sale, the two texts cost
    150,000 of a booking's 6.1 million instructions (callgrind; bench/README.md, 2026-12-07)."""
    ticket, hold, block = Ticket._meta.db_table, Hold._meta.db_table, SeatBlock._meta.db_table
    sql = f"SELECT 't', seat, NULL FROM {ticket} WHERE show_id = %s"
    if exclude_ticket:
        sql += " AND id <> %s"
    # The third column is JSON as text on both databases, the holds' seats and the tariff.
    sql += f" UNION ALL SELECT 'h', NULL, CAST(seats AS TEXT) FROM {hold} WHERE show_id = %s AND expires_at > %s"
    if exclude_hold:
        sql += " AND id <> %s"
    sql += f" UNION ALL SELECT 'b', seat, NULL FROM {block} WHERE show_id = %s"
    if with_tariff:
        sql += f" UNION ALL SELECT 'p', NULL, ({tariff_sql(vendor)})"
    if with_map:
        sql += f" UNION ALL SELECT 'm', seat_map_digest, NULL FROM {Screen._meta.db_table} WHERE id = %s"
    return sql


def lock_ticket_types(keys: Iterable[str]) -> dict[str, TicketType]:
    """The ticket types of these keys that exist, by key, locked FOR KEY SHARE until the
    transaction ends (one statement, in primary-key order).

    For a write that names types without a link to them checked now: a hold freezes its
    lines' types by key, and a show's prices link to theirs at COMMIT (Django's foreign
    keys are checked there). ticket_type_delete locks its type FOR UPDATE, then looks for
    what uses it: it waits for this transaction and finds what it made (InUse), or this one
    waits for the delete and finds the type gone (missing here). Sales, prices and holds of
    the type don't wait for one another (a sale's ticket takes the same lock at its INSERT,
    migration 0017), nor a rename (FOR NO KEY UPDATE). SQLite serialises writers anyway."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    q = connection.ops.quote_name
    sql = (
        f"SELECT {TICKET_TYPE.select('t')} FROM {q(TicketType._meta.db_table)} t"
        f" WHERE t.{q('key')} IN ({', '.join(['%s'] * len(wanted))}) ORDER BY t.id"
    )
    if connection.vendor == "postgresql":
        sql += " FOR KEY SHARE"
    with _waits_bounded(), connection.cursor() as cursor:  # past the show lock's lock_timeout
        cursor.execute(sql, wanted)
        types = [TICKET_TYPE.load(row) for row in cursor.fetchall()]
    return {t.key: t for t in types}


def try_job_lock(key: int) -> bool:
    """On PostgreSQL, whether this transaction got the cron job's advisory lock.

    Transaction-scoped, so it works behind PgBouncer in transaction mode; another host
    holding it is running the same job, and this one can stop. SQLite serialises
    writers anyway.
    """
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [key])
        return bool(cursor.fetchone()[0])


def try_key_lock(text: str) -> bool:
    """On PostgreSQL, whether this transaction got the advisory lock named by `text` (an
    Idempotency-Key in its scope). SQLite serialises writers anyway."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", [text])
        return bool(cursor.fetchone()[0])


def lock_booking_of(ticket_id: UUID | str) -> tuple[int, str] | None:
    """Lock the booking of this ticket until the transaction ends, and say its id and
    reference (None: no such ticket). Every write of a booking's tickets takes the booking's
    lock before a ticket's (cancels, moves), so two of them on one booking take turns."""
    tickets_booking = Ticket.objects.filter(pk=ticket_id).values("booking_id")
    return Booking.objects.select_for_update().filter(pk__in=tickets_booking).values_list("pk", "reference").first()


def lock_bookings(booking_ids: Iterable[int]) -> list[int]:
    """Lock these bookings' rows (FOR UPDATE, as a cancel does) until the transaction ends,
    in primary-key order, and return the ids of those that exist. For a write of several
    bookings' tickets (the admin's cancel of the selected bookings or tickets): every booking
    first, then the tickets of them all by id (lock_tickets). Booking by booking, each one's
    tickets after it, the tickets of two bookings were taken against their ids, and
    deadlocked with the writes that take them by id (the expire job, a map change)."""
    ids = sorted(set(booking_ids))
    return list(Booking.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))


def lock_client(client: str) -> None:
    """On PostgreSQL, wait for the lock of one client (an address or a user) until the
    transaction ends: two holds or bookings of the same client, on any shows and hosts,
    then count that client's held seats (or seats booked in the last hour) one after the
    other, so the per-client caps can't be passed by sending requests at once. Take it
    after the show's lock, and no other lock after it but the key share of ticket types (a
    hold's lock_ticket_types, a sale's ticket's link): whoever locks a type waits for no
    show's or client's lock after it. SQLite serialises writers anyway."""
    if connection.vendor != "postgresql":
        return
    with _waits_bounded(ClientBusy), connection.cursor() as cursor:  # past the show lock's lock_timeout
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 1))", [client])


def lock_webhook_endpoints() -> None:
    """On PostgreSQL, lock the webhook endpoints' table until the transaction ends, after
    every write that is making events (take it before any lock of an endpoint's row). Call
    before registering an endpoint or widening what one receives (made active, its events
    changed).

    A write picks its events' endpoints at its outbox INSERT ... SELECT (audit.outbox_insert),
    not at its COMMIT. Its FOR KEY SHARE locks the endpoints it returned, never one still to
    be registered, or inactive, or not wanting the event: that one, saved between the
    INSERT and the COMMIT, was registered and active when the write committed, yet had none
    of its events (API.md: "the events of changes committed while it is registered and
    active"). But FOR KEY SHARE also takes the table's ROW SHARE lock, rows returned or not,
    held until the write's COMMIT; and of the two modes that conflict with ROW SHARE
    (PostgreSQL's "Explicit Locking", table-level lock modes), EXCLUSIVE is the one that lets
    plain reads (ACCESS SHARE: the lists, the delivery job's reads) go on. So this waits for
    the writes in flight, which commit before the endpoint is saved, none of their events
    its ("never earlier ones"); a write that comes after waits for this transaction, then
    reads the endpoint as committed.

    Waited for at most BOOKING_LOCK_TIMEOUT_SECONDS (lock_timeout, for this transaction), as
    a show's lock is: a write stuck between its INSERT and its COMMIT makes the change fail
    with EndpointsBusy (503 busy), instead of waiting for ever, with every write that makes
    events queued behind the wait. On SQLite writers take turns (IMMEDIATE): no write is
    between its INSERT and its COMMIT while this one writes.
    """
    if connection.vendor != "postgresql":
        return
    with _waits_bounded(EndpointsBusy), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [_lock_timeout()])
        cursor.execute(f"LOCK TABLE {connection.ops.quote_name(Webhook._meta.db_table)} IN EXCLUSIVE MODE")
