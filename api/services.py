"""Every write that has rules: book, hold, confirm, move, cancel, check in, expire, purge.

The rule the service must never break: a show never has more tickets plus live holds than
its capacity, and no seat is sold twice, whatever the number of clients, processes or
hosts booking at once. Every write that takes seats runs in one transaction that first
locks the show row (SELECT ... FOR UPDATE); on SQLite, which has no row locks, the
IMMEDIATE transaction mode serialises writers instead (see settings). The UNIQUE (show,
seat) constraint is the backstop: if it ever fires, the client gets 409 seat_taken.
"""

import json
import secrets
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.transaction import TransactionManagementError
from django.utils import timezone
from rest_framework.exceptions import NotFound, ValidationError

from .exceptions import Conflict, IdempotencyKeyReused
from .models import Booking, Customer, Hold, IdempotencyKey, Show, Ticket, expiry_cutoff, seat_label

# Six characters without look-alikes (no 0/O, 1/I/L): 31 ** 6, about 890 million references.
REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
REFERENCE_LENGTH = 6

# How long the purge keeps holds that ran out or were released or used.
SPENT_HOLDS_KEPT = timedelta(hours=24)

# Ticket ids are UUIDs: keys from 0 to 2 ** 128.
UUID_SPACE = 1 << 128

# Keys of the cron jobs' advisory locks (any two distinct 64-bit integers).
EXPIRE_JOB_LOCK = 0x7469636B65740001
PURGE_JOB_LOCK = 0x7469636B65740002


# --- shows -------------------------------------------------------------------------


def show_for_time(*, starts_at: datetime, now: datetime) -> Show:
    """The show at this moment. With open timings, a future time without a show gets one."""
    show = Show.objects.filter(starts_at=starts_at).first()
    if show is not None:
        return show
    if not settings.BOOKING_OPEN_TIMINGS:
        raise ValidationError({"time": ["No show is scheduled at this date and time."]})
    if starts_at <= now:
        raise ValidationError({"time": ["Cannot book a show that has started."]})
    # get_or_create copes with another request creating the same show meanwhile.
    show, _ = Show.objects.get_or_create(starts_at=starts_at)
    return show


def show_create(*, title: str, starts_at: datetime, capacity: int | None = None) -> Show:
    if Show.objects.filter(starts_at=starts_at).exists():
        raise ValidationError({"starts_at": ["Another show starts at this moment."]})
    try:
        with transaction.atomic():
            return Show.objects.create(
                title=title, starts_at=starts_at, capacity=capacity or settings.BOOKING_DEFAULT_CAPACITY
            )
    except IntegrityError as exc:
        raise ValidationError({"starts_at": ["Another show starts at this moment."]}) from exc


def show_update(
    *, show_id: int, title: str | None = None, starts_at: datetime | None = None, capacity: int | None = None
) -> Show:
    with transaction.atomic():
        show = _lock_shows([show_id])[show_id]
        if capacity is not None:
            # Under the show lock, so that no booking slips in between count and save.
            taken = _taken_count(show, timezone.now())
            if capacity < taken:
                raise ValidationError({"capacity": [f"Capacity can't be lower than the {taken} seats booked or held."]})
            show.capacity = capacity
        if title is not None:
            show.title = title
        if starts_at is not None and starts_at != show.starts_at:
            if Show.objects.filter(starts_at=starts_at).exclude(pk=show.pk).exists():
                raise ValidationError({"starts_at": ["Another show starts at this moment."]})
            show.starts_at = starts_at
        show.save()
        return show


def show_delete(*, show_id: int) -> None:
    with transaction.atomic():
        show = _lock_shows([show_id])[show_id]
        if show.tickets.exists():
            raise Conflict("This show has tickets: cancel them first.", "show_has_tickets")
        show.delete()


_SHOW_COLUMNS = [field.column for field in Show._meta.concrete_fields]
_SHOW_FIELDS = [field.attname for field in Show._meta.concrete_fields]


def _lock_sql(count: int) -> str:
    """SELECT ... FOR UPDATE of `count` shows by id, in primary-key order."""
    # Written out: compiling the ORM's select_for_update() query cost more than running it,
    # on every booking. SQLite has no row locks (its IMMEDIATE transactions serialise
    # writers), and the ORM leaves FOR UPDATE out there too.
    if connection.get_autocommit():
        raise TransactionManagementError("Shows can only be locked inside a transaction.")
    columns = ", ".join(connection.ops.quote_name(column) for column in _SHOW_COLUMNS)
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    return f"SELECT {columns} FROM {Show._meta.db_table} WHERE id IN ({', '.join(['%s'] * count)}) ORDER BY id{lock}"


def _shows_from_rows(ids: list[int], rows: list[tuple]) -> dict[int, Show]:
    """Show instances from the lock's rows, with the values the ORM would give (SQLite
    returns datetimes as naive text: its converters make them aware)."""
    compiler = Show.objects.none().query.get_compiler(connection=connection)
    converters = compiler.get_converters([field.get_col(Show._meta.db_table) for field in Show._meta.concrete_fields])
    if converters:
        rows = compiler.apply_converters(rows, converters)
    shows = {}
    for row in rows:
        show = Show.from_db(connection.alias, _SHOW_FIELDS, row)
        shows[show.pk] = show
    missing = [pk for pk in ids if pk not in shows]
    if missing:
        raise ValidationError({"show": [f'Invalid pk "{missing[0]}" - object does not exist.']})
    return shows


def _lock_shows(show_ids: Iterable[int]) -> dict[int, Show]:
    """Lock the shows' rows until the transaction ends, in primary-key order.

    The lock is what makes "read the taken seats, then insert" safe against every other
    booking of the same show; the fixed order keeps two moves between the same two shows
    from deadlocking.
    """
    ids = sorted(set(show_ids))
    sql = _lock_sql(len(ids))
    with connection.cursor() as cursor:
        cursor.execute(sql, ids)
        return _shows_from_rows(ids, cursor.fetchall())


def _lock_show_and_read_taken(show_id: int, now: datetime) -> tuple[Show, set[int]]:
    """Lock the show, then read its taken seats: what every booking and hold starts with.

    Two statements, so that the seat read takes its snapshot after the lock is granted and
    sees every booking committed before it. On PostgreSQL both go in one pipeline: one
    round trip with the transaction's BEGIN, where one after another took three; the
    server still runs them in order, the second after the first has its lock.
    """
    lock_sql = _lock_sql(1)
    seats_sql, seats_params = _taken_seats_query(show_id, now)
    with connection.cursor() as lock_cursor, connection.cursor() as seats_cursor:
        with _pipeline():
            lock_cursor.execute(lock_sql, [show_id])
            seats_cursor.execute(seats_sql, seats_params)
        show = _shows_from_rows([show_id], lock_cursor.fetchall())[show_id]
        return show, _taken_from_rows(seats_cursor.fetchall())


@contextmanager
def _pipeline() -> Iterator[None]:
    """On PostgreSQL, send the statements executed inside in one round trip (at the end).

    Results are read when the block ends; an error of any statement is raised there, as
    Django's error classes. Elsewhere, the statements run one by one as usual.
    """
    if connection.vendor != "postgresql":
        yield
        return
    connection.ensure_connection()
    with connection.wrap_database_errors, connection.connection.pipeline():
        yield


def _taken_seats_query(show_id: int, now: datetime, exclude_ticket: Ticket | None = None) -> tuple[str, list]:
    """One statement: rows (seat, NULL) for the tickets and (NULL, seat list) for the live holds."""
    ticket, hold = Ticket._meta.db_table, Hold._meta.db_table
    sql = f"SELECT seat, NULL FROM {ticket} WHERE show_id = %s"
    params: list = [show_id]
    if exclude_ticket is not None:
        sql += " AND id <> %s"
        params.append(Ticket._meta.pk.get_db_prep_value(exclude_ticket.pk, connection))
    sql += f" UNION ALL SELECT NULL, seats FROM {hold} WHERE show_id = %s AND expires_at > %s"
    params += [show_id, connection.ops.adapt_datetimefield_value(now)]
    return sql, params


def _taken_from_rows(rows: list[tuple]) -> set[int]:
    taken: set[int] = set()
    for seat, held in rows:
        if seat is not None:
            taken.add(seat)
        else:
            taken.update(json.loads(held))
    return taken


def taken_seats(show: Show, now: datetime, *, exclude_ticket: Ticket | None = None) -> set[int]:
    """Seats of the show that are booked or in a live hold."""
    sql, params = _taken_seats_query(show.pk, now, exclude_ticket)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return _taken_from_rows(cursor.fetchall())


def _taken_count(show: Show, now: datetime) -> int:
    return len(taken_seats(show, now))


def free_seats(show: Show, now: datetime) -> list[int]:
    taken = taken_seats(show, now)
    return [seat for seat in range(1, show.capacity + 1) if seat not in taken]


def _choose_seats(show: Show, taken: set[int], wanted: list[int] | None, quantity: int, field: str) -> list[int]:
    """The seats wanted, if they exist and are free; else the lowest free ones."""
    if wanted:
        for seat in wanted:
            if seat > show.capacity:
                raise ValidationError({field: [f"Seat {seat_label(seat)} does not exist at this show."]})
        clash = sorted(taken.intersection(wanted))
        if clash:
            labels = ", ".join(seat_label(seat) for seat in clash)
            raise Conflict(f"Seat {labels} is already booked or held.", "seat_taken")
        quantity = len(wanted)
    # Counted as well as chosen: tickets in seats above a lowered capacity still count.
    if len(taken) + quantity > show.capacity:
        raise Conflict("This show has no free seat left for this request.", "sold_out")
    if wanted:
        # In seat order, as a booking is read back later (GET /api/bookings/{reference}).
        return sorted(wanted)
    free = (seat for seat in range(1, show.capacity + 1) if seat not in taken)
    return [next(free) for _ in range(quantity)]


def _check_not_started(show: Show, now: datetime) -> None:
    if show.has_started(now):
        raise ValidationError({"time": ["Cannot book a show that has started."]})


# --- customers and bookings ------------------------------------------------------


def customer_get_or_create(*, name: str, phone_number: str) -> Customer:
    # INSERT ... ON CONFLICT (name, phone_number) DO UPDATE ... RETURNING id: one round
    # trip where get_or_create takes four for a new person (SELECT, SAVEPOINT, INSERT,
    # RELEASE). The update changes nothing; it is what returns an existing row's id.
    # Written out, not bulk_create(update_conflicts=True): building that statement cost
    # more than running it, on every booking.
    sql = (
        f"INSERT INTO {Customer._meta.db_table} (name, phone_number) VALUES (%s, %s) "
        "ON CONFLICT (name, phone_number) DO UPDATE SET name = EXCLUDED.name RETURNING id"
    )
    stored_phone = Customer._meta.get_field("phone_number").get_db_prep_value(phone_number, connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, [name, stored_phone])
        customer_id = cursor.fetchone()[0]
    return _as_saved(Customer(pk=customer_id, name=name, phone_number=phone_number))


def _as_saved(instance):
    """A model instance built from a row just written, marked as loaded from the database."""
    instance._state.adding, instance._state.db = False, connection.alias
    return instance


@dataclass(frozen=True)
class ShowChoice:
    """Which show a request names: its id, or its start (date + time)."""

    show_id: int | None = None
    starts_at: datetime | None = None

    def resolve(self, now: datetime) -> int:
        if self.show_id is not None:
            return self.show_id
        assert self.starts_at is not None
        return show_for_time(starts_at=self.starts_at, now=now).pk


def _issue_tickets(*, show: Show, seats: list[int], name: str, phone_number: str) -> Booking:
    """The person (new or returning), a booking with a fresh reference and its tickets.

    A seat taken meanwhile raises IntegrityError (the UNIQUE (show, seat) backstop).
    """
    booked_at = timezone.now()
    ticket_ids = [uuid.uuid4() for _ in seats]
    if connection.vendor == "postgresql":
        customer_id, booking_id, reference = _insert_booking_at_once(
            show=show, seats=seats, ticket_ids=ticket_ids, name=name, phone_number=phone_number, booked_at=booked_at
        )
    else:
        customer_id = customer_get_or_create(name=name, phone_number=phone_number).pk
        booking_id, reference = _insert_booking(customer_id, booked_at)
        _insert_tickets(booking_id=booking_id, show=show, seats=seats, ticket_ids=ticket_ids, booked_at=booked_at)
    customer = _as_saved(Customer(pk=customer_id, name=name, phone_number=phone_number))
    booking = _as_saved(Booking(pk=booking_id, reference=reference, customer=customer, created_at=booked_at))
    tickets = [
        _as_saved(Ticket(id=ticket_id, booking=booking, show=show, seat=seat, booked_at=booked_at))
        for ticket_id, seat in zip(ticket_ids, seats, strict=True)
    ]
    # What prefetch_related would leave: booking.tickets.all() answers without a query.
    prefetched = booking.tickets.all()
    prefetched._result_cache = tickets
    prefetched._prefetch_done = True
    booking._prefetched_objects_cache = {"tickets": prefetched}
    return booking


def _draw_reference() -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


# The ticket columns the two INSERTs below write: keep them in step with the model.
TICKET_COLUMNS = "id, booking_id, show_id, seat, expired, checked_in_at, booked_at"

# PostgreSQL: the person, the booking and its tickets in one statement, one round trip
# where the three INSERTs take three; every booking's path. A taken reference inserts no
# booking and so no ticket, and the statement returns no row: draw again. (In one
# statement the three see one snapshot, which is fine here: each inserts, none reads
# what another wrote.)
BOOK_AT_ONCE_SQL = f"""
WITH customer AS (
    INSERT INTO {Customer._meta.db_table} (name, phone_number) VALUES (%s, %s)
    ON CONFLICT (name, phone_number) DO UPDATE SET name = EXCLUDED.name RETURNING id
), booking AS (
    INSERT INTO {Booking._meta.db_table} (reference, customer_id, created_at) SELECT %s, id, %s FROM customer
    ON CONFLICT (reference) DO NOTHING RETURNING id, customer_id
), ticket AS (
    INSERT INTO {Ticket._meta.db_table} ({TICKET_COLUMNS})
    SELECT seat.id, booking.id, %s, seat.number, false, NULL, %s
    FROM booking, unnest(%s::uuid[], %s::integer[]) AS seat (id, number)
)
SELECT customer_id, id FROM booking
"""


def _insert_booking_at_once(
    *, show: Show, seats: list[int], ticket_ids: list[uuid.UUID], name: str, phone_number, booked_at: datetime
) -> tuple[int, int, str]:
    stored_phone = Customer._meta.get_field("phone_number").get_db_prep_value(phone_number, connection)

    def insert(reference: str) -> tuple | None:
        with connection.cursor() as cursor:
            cursor.execute(
                BOOK_AT_ONCE_SQL, [name, stored_phone, reference, booked_at, show.pk, booked_at, ticket_ids, seats]
            )
            return cursor.fetchone()

    (customer_id, booking_id), reference = _with_a_free_reference(insert)
    return customer_id, booking_id, reference


def _insert_booking(customer_id: int, created_at: datetime) -> tuple[int, str]:
    """A booking of this customer (SQLite; PostgreSQL inserts it in BOOK_AT_ONCE_SQL)."""
    sql = (
        f"INSERT INTO {Booking._meta.db_table} (reference, customer_id, created_at) VALUES (%s, %s, %s) "
        "ON CONFLICT (reference) DO NOTHING RETURNING id"
    )

    def insert(reference: str) -> tuple | None:
        with connection.cursor() as cursor:
            cursor.execute(sql, [reference, customer_id, connection.ops.adapt_datetimefield_value(created_at)])
            return cursor.fetchone()

    (booking_id,), reference = _with_a_free_reference(insert)
    return booking_id, reference


def _with_a_free_reference(insert: Callable[[str], tuple | None]) -> tuple[tuple, str]:
    """Run insert with fresh random references until one is free: its row, and the reference.

    The INSERTs say ON CONFLICT (reference) DO NOTHING, which turns a taken reference into
    "no row returned" instead of an error that would abort the transaction: one round
    trip, where a savepoint around the INSERT takes three. (PostgreSQL, and SQLite from
    3.35.)
    """
    for _ in range(10):
        reference = _draw_reference()
        row = insert(reference)
        if row is not None:
            return row, reference
    raise RuntimeError("Could not draw a free booking reference.")


def _insert_tickets(
    *, booking_id: int, show: Show, seats: list[int], ticket_ids: list[uuid.UUID], booked_at: datetime
) -> None:
    """One INSERT of a booking's tickets (SQLite; PostgreSQL inserts them in BOOK_AT_ONCE_SQL)."""
    # Written out rather than bulk_create(), whose building of the statement cost more
    # than the statement, on every booking.
    row = f"({', '.join(['%s'] * 7)})"
    sql = f"INSERT INTO {Ticket._meta.db_table} ({TICKET_COLUMNS}) VALUES {', '.join([row] * len(seats))}"
    when = connection.ops.adapt_datetimefield_value(booked_at)
    params = []
    for ticket_id, seat in zip(ticket_ids, seats, strict=True):
        params += [Ticket._meta.pk.get_db_prep_value(ticket_id, connection), booking_id, show.pk, seat]
        params += [False, None, when]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def booking_create(
    *,
    choice: ShowChoice,
    name: str,
    phone_number: str,
    seats: list[int] | None = None,
    quantity: int = 1,
    now: datetime | None = None,
    seat_field: str = "seats",
) -> Booking:
    """Book seats straight away (no hold first): the wanted ones, or the lowest free."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            show_id = choice.resolve(now)
            show, taken = _lock_show_and_read_taken(show_id, now)
            _check_not_started(show, now)
            chosen = _choose_seats(show, taken, seats, quantity, seat_field)
            return _issue_tickets(show=show, seats=chosen, name=name, phone_number=phone_number)
    except IntegrityError as exc:
        raise Conflict("That seat was booked meanwhile.", "seat_taken") from exc


def ticket_book(
    *, choice: ShowChoice, name: str, phone_number: str, seat: int | None = None, now: datetime | None = None
) -> Ticket:
    """One ticket in a booking of its own: the asked seat, or the lowest free one."""
    booking = booking_create(
        choice=choice,
        name=name,
        phone_number=phone_number,
        seats=[seat] if seat else None,
        now=now,
        seat_field="seat",
    )
    return booking.tickets.all()[0]


def booking_confirm(*, hold_id: str, name: str, phone_number: str, now: datetime | None = None) -> Booking:
    """Turn a live hold into tickets: the second and last step of hold-then-pay."""
    now = now or timezone.now()
    show_id = Hold.objects.filter(pk=hold_id).values_list("show_id", flat=True).first()
    if show_id is None:
        raise ValidationError({"hold": ["No such hold."]})
    try:
        with transaction.atomic():
            show = _lock_shows([show_id])[show_id]
            # Under the show lock no other confirm or release of this hold can run.
            # None when the purge job deleted the (then expired) hold since the read above.
            hold = Hold.objects.filter(pk=hold_id).first()
            if hold is None or hold.expires_at <= now:
                raise Conflict("This hold has run out or was released; hold the seats again.", "hold_expired")
            _check_not_started(show, now)
            booking = _issue_tickets(show=show, seats=hold.seats, name=name, phone_number=phone_number)
            # A used hold is spent: it stops counting now and the purge job deletes it.
            Hold.objects.filter(pk=hold.pk).update(expires_at=now)
            return booking
    except IntegrityError as exc:
        raise Conflict("A held seat was booked meanwhile.", "seat_taken") from exc


def booking_cancel(*, booking: Booking) -> None:
    """Cancel every ticket of the booking; its seats are free again at once."""
    with transaction.atomic():
        Ticket.objects.filter(booking=booking).delete()
        booking.delete()


# --- tickets ----------------------------------------------------------------------


def _check_changeable(ticket: Ticket, now: datetime) -> None:
    if ticket.expired or ticket.show.has_started(now):
        raise Conflict("This ticket's show has started or the ticket has expired.", "ticket_expired")


def ticket_update(
    *,
    ticket_id: str,
    name: str | None = None,
    phone_number: str | None = None,
    choice: ShowChoice | None = None,
    seat: int | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Change a ticket's show time, seat, name or phone, by the same rules as booking."""
    now = now or timezone.now()
    current_show_id = Ticket.objects.filter(pk=ticket_id).values_list("show_id", flat=True).first()
    if current_show_id is None:
        raise NotFound()
    target_show_id = choice.resolve(now) if choice else current_show_id
    try:
        with transaction.atomic():
            shows = _lock_shows([current_show_id, target_show_id])
            ticket = Ticket.objects.select_related("booking__customer").get(pk=ticket_id)
            if ticket.show_id != current_show_id:
                # Moved by someone else between our read and our lock: a rare race,
                # settled by refusing rather than by holding a lock we didn't take.
                raise Conflict("This ticket was changed meanwhile; try again.", "seat_taken")
            ticket.show = shows[current_show_id]
            _check_changeable(ticket, now)
            target = shows[target_show_id]
            if target.pk != ticket.show_id or (seat is not None and seat != ticket.seat):
                _check_not_started(target, now)
                taken = taken_seats(target, now, exclude_ticket=ticket)
                ticket.seat = _choose_seats(target, taken, [seat] if seat else None, 1, "seat")[0]
                ticket.show = target
            customer = ticket.booking.customer
            new_name = customer.name if name is None else name
            new_phone = customer.phone_number if phone_number is None else phone_number
            if (new_name, str(new_phone)) != (customer.name, str(customer.phone_number)):
                # The person's details belong to the booking: every ticket of it follows.
                ticket.booking.customer = customer_get_or_create(name=new_name, phone_number=new_phone)
                ticket.booking.save(update_fields=["customer"])
            ticket.save(update_fields=["show", "seat"])
            return ticket
    except IntegrityError as exc:
        raise Conflict("That seat was booked meanwhile.", "seat_taken") from exc


def ticket_cancel(*, ticket: Ticket) -> None:
    """Delete the ticket (its seat is free at once) and its booking if that was the last."""
    with transaction.atomic():
        ticket.delete()
        Booking.objects.filter(pk=ticket.booking_id, tickets__isnull=True).delete()


def _lock_ticket(ticket_id: str) -> Ticket:
    ticket = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("show", "booking__customer")
        .filter(pk=ticket_id)
        .first()
    )
    if ticket is None:
        raise NotFound()
    return ticket


def ticket_check_in(*, ticket_id: str, now: datetime | None = None) -> Ticket:
    """Admit a ticket at the door, once."""
    now = now or timezone.now()
    with transaction.atomic():
        # The ticket row lock makes two scanners reading the same ticket take turns, so
        # only one of them sees it unused.
        ticket = _lock_ticket(ticket_id)
        if ticket.expired or ticket.show.is_expired(now):
            raise Conflict("This ticket has expired.", "ticket_expired")
        if ticket.checked_in_at is not None:
            raise Conflict(
                "This ticket was checked in already.",
                "already_checked_in",
                checked_in_at=timezone.localtime(ticket.checked_in_at).isoformat(timespec="seconds"),
            )
        ticket.checked_in_at = now
        ticket.save(update_fields=["checked_in_at"])
        return ticket


def ticket_check_in_undo(*, ticket_id: str, now: datetime | None = None) -> Ticket:
    now = now or timezone.now()
    with transaction.atomic():
        ticket = _lock_ticket(ticket_id)
        if ticket.expired or ticket.show.is_expired(now):
            raise Conflict("This ticket has expired.", "ticket_expired")
        ticket.checked_in_at = None
        ticket.save(update_fields=["checked_in_at"])
        return ticket


# --- holds ------------------------------------------------------------------------


def hold_create(
    *,
    choice: ShowChoice,
    seats: list[int] | None = None,
    quantity: int = 1,
    client: str = "",
    now: datetime | None = None,
) -> Hold:
    """Keep seats off sale for BOOKING_HOLD_MINUTES while the customer pays."""
    now = now or timezone.now()
    wanted = len(seats) if seats else quantity
    with transaction.atomic():
        show_id = choice.resolve(now)
        show, taken = _lock_show_and_read_taken(show_id, now)
        _check_not_started(show, now)
        limit = settings.BOOKING_MAX_HELD_SEATS_PER_CLIENT
        if client and limit:
            held = sum(len(s) for s in Hold.objects.live(now).filter(client=client).values_list("seats", flat=True))
            if held + wanted > limit:
                raise ValidationError(
                    {"non_field_errors": [f"One client can hold at most {limit} seats at once ({held} held now)."]}
                )
        chosen = _choose_seats(show, taken, seats, quantity, "seats")
        return Hold.objects.create(
            show=show,
            seats=chosen,
            client=client,
            expires_at=now + timedelta(minutes=settings.BOOKING_HOLD_MINUTES),
        )


def hold_release(*, hold: Hold, now: datetime | None = None) -> None:
    """Put the held seats back on sale at once; the purge job deletes the row later."""
    Hold.objects.filter(pk=hold.pk).update(expires_at=now or timezone.now())


# --- idempotent retries -------------------------------------------------------------


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: dict
    location: str = ""


def idempotent_call(
    *,
    scope: str,
    key: str,
    request_hash: str,
    action: Callable[[], StoredResponse],
    now: datetime | None = None,
) -> StoredResponse:
    """Run action once per (scope, key); a retry gets the first answer again.

    The key is claimed in the same transaction as the booking the action makes, so a key
    is stored if and only if its booking is. While the first request runs, the
    transaction-scoped advisory lock on the key turns a concurrent retry away with 409.
    """
    now = now or timezone.now()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", [f"{scope}\n{key}"])
                if not cursor.fetchone()[0]:
                    raise Conflict("A request with this Idempotency-Key is still running.", "idempotency_key_in_use")
        kept_since = now - timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)
        stored = IdempotencyKey.objects.filter(scope=scope, key=key).first()
        if stored is not None and stored.created_at > kept_since:
            if stored.request_hash != request_hash:
                raise IdempotencyKeyReused()
            return StoredResponse(stored.status_code, stored.body, stored.location)
        if stored is not None:  # older than 24 hours and not purged yet: forgotten
            stored.delete()
        response = action()
        IdempotencyKey.objects.create(
            scope=scope,
            key=key,
            request_hash=request_hash,
            status_code=response.status_code,
            body=response.body,
            location=response.location,
        )
        return response


# --- the life-cycle jobs --------------------------------------------------------------


def _try_job_lock(key: int) -> bool:
    """On PostgreSQL, whether this transaction got the job's advisory lock.

    Held until the transaction ends, so it works behind PgBouncer in transaction mode.
    Another host holding it is running the same job: this one can stop.
    """
    if connection.vendor != "postgresql":
        return True  # SQLite serialises writers anyway
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [key])
        return bool(cursor.fetchone()[0])


def _commit_without_waiting_for_disk() -> None:
    """This transaction's COMMIT returns before PostgreSQL has flushed it to disk.

    For the purge's hundreds of batches: waiting for a disk flush at each commit was a
    large share of its time. A crash can lose the last batches' deletes, never make
    anything half done: those rows are still expired and the next run deletes them.
    Only in a transaction of its own: inside a caller's, SET LOCAL would last until the
    caller's commit.
    """
    if connection.vendor == "postgresql" and len(connection.atomic_blocks) == 1:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _guard_customer_deletes() -> None:
    """Keep this transaction from deleting a customer that a booking links meanwhile.

    Booking.customer has no database constraint (see the model). In a transaction of its
    own: REPEATABLE READ, so that deleting a customer row written after the snapshot (by
    a booking's upsert) fails the transaction instead. Inside a caller's transaction,
    whose level is set already: a lock on the customer table, which waits for the
    bookings writing to it and holds new ones until the caller commits. (PostgreSQL;
    SQLite serialises writers anyway.)
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        if len(connection.atomic_blocks) == 1:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        else:
            cursor.execute(f"LOCK TABLE {Customer._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")


def _is_serialization_failure(exc: OperationalError) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) == "40001"


def tickets_expire(*, now: datetime | None = None) -> int | None:
    """Mark tickets whose show started BOOKING_EXPIRE_AFTER_HOURS ago or more as expired.

    One UPDATE; compare-and-set, so a second run changes nothing. None when another host
    is running the job at this moment.
    """
    now = now or timezone.now()
    # "show_id IN (SELECT id FROM show ...)" rather than a join: Django turns an UPDATE
    # over a join into "id IN (SELECT ... FROM ticket JOIN show)", a second scan of tickets.
    past_shows = Show.objects.filter(starts_at__lte=expiry_cutoff(now)).values("pk")
    with transaction.atomic():
        if not _try_job_lock(EXPIRE_JOB_LOCK):
            return None
        return Ticket.objects.filter(expired=False, show__in=past_shows).update(expired=True)


@dataclass
class PurgeResult:
    tickets: int = 0
    bookings: int = 0
    customers: int = 0
    holds: int = 0
    idempotency_keys: int = 0
    skipped: bool = False


def tickets_purge(*, now: datetime | None = None, batch_size: int = 10_000) -> PurgeResult:
    """Delete expired tickets, then what they leave behind, in short transactions.

    Rows are deleted in key ranges (never loaded into Python), each range in its own
    transaction that takes the job's advisory lock: if another host is purging, this run
    stops and leaves the rest to it. The SQL is idempotent, so runs that overlap anyway
    end with the same rows as one run.

    batch_size: measured with bench/purge.py, 10,000 keeps every transaction under half
    a second on a busy 2-core machine (0.15 s at most in the last runs).
    """
    now = now or timezone.now()
    result = PurgeResult()

    def batch(work: Callable[[], int], *, deletes_customers: bool = False) -> int | None:
        with transaction.atomic():
            if deletes_customers:
                _guard_customer_deletes()
            if not _try_job_lock(PURGE_JOB_LOCK):
                return None
            _commit_without_waiting_for_disk()
            return work()

    # Batches are key ranges of the expired tickets' ids, deleted without reading them
    # first. Ticket ids are random (UUID4: the model's default and _issue_tickets), spread
    # evenly over the 128-bit key space, so a range holds a share of the expired tickets
    # as large as its share of the space: the first range is tiny, and each next one is
    # sized from what the last one held, aiming at batch_size rows, at most doubling.
    # Ids that grow with time (UUID7, say) would break that estimate: keep them random.
    # Finding each batch's last id by counting batch_size rows along the index instead
    # read every expired ticket twice: 15 % of the purge.
    start, width = 0, UUID_SPACE >> 32
    while start < UUID_SPACE:
        end = min(start + width, UUID_SPACE)
        in_range = Ticket.objects.filter(expired=True, pk__gte=uuid.UUID(int=start))
        if end < UUID_SPACE:
            in_range = in_range.filter(pk__lt=uuid.UUID(int=end))
        deleted = batch(lambda qs=in_range: qs.delete()[0])
        if deleted is None:
            result.skipped = True
            return result
        result.tickets += deleted
        start = end
        width = width * 2 if deleted == 0 else max(min(width * batch_size // deleted, width * 2), 1)

    for model, field, child, child_fk in (
        (Booking, "bookings", Ticket, "booking_id"),
        (Customer, "customers", Booking, "customer_id"),
    ):
        deleted = _delete_orphans(model, child, child_fk, batch, batch_size)
        if deleted is None:
            result.skipped = True
            return result
        setattr(result, field, deleted)

    # A hold that ran out is kept a day before it goes: a late confirm then still answers
    # 409 hold_expired rather than "no such hold". Only live holds count against seats.
    holds = batch(lambda: Hold.objects.filter(expires_at__lte=now - SPENT_HOLDS_KEPT).delete()[0])
    keys = batch(
        lambda: IdempotencyKey.objects.filter(
            created_at__lte=now - timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)
        ).delete()[0]
    )
    if holds is None or keys is None:
        result.skipped = True
        return result
    result.holds, result.idempotency_keys = holds, keys
    return result


def _delete_orphans(
    model: type[Booking | Customer],
    child: type[Ticket | Booking],
    child_fk: str,
    batch: Callable[..., int | None],
    batch_size: int,
) -> int | None:
    """Delete rows of model that no row of child points to, one id range at a time.

    Neither link has a database constraint (see the models): customers are deleted in
    REPEATABLE READ batches (_guard_customer_deletes). A booking links a customer only
    through the upsert of customer_get_or_create, which writes the customer's row; if it
    did so after the batch's snapshot, deleting that row fails the batch instead of
    deleting a customer whose booking the batch could not see, and the range waits for
    the next run. A booking whose upsert comes after the batch deleted the row gets a new
    customer row. Bookings need no such care: tickets are only ever added with a new
    booking.
    """
    table, child_table = model._meta.db_table, child._meta.db_table
    bounds = model.objects.order_by().values_list("pk", flat=True)
    low, high = bounds.order_by("pk").first(), bounds.order_by("-pk").first()
    if low is None:
        return 0
    sql = (
        f"DELETE FROM {table} WHERE id >= %s AND id < %s AND NOT EXISTS "
        f"(SELECT 1 FROM {child_table} WHERE {child_table}.{child_fk} = {table}.id)"
    )
    total = 0
    for start in range(low, high + 1, batch_size):

        def work(start: int = start) -> int:
            with connection.cursor() as cursor:
                cursor.execute(sql, [start, start + batch_size])
                return cursor.rowcount

        try:
            deleted = batch(work, deletes_customers=model is Customer)
        except OperationalError as exc:
            if not _is_serialization_failure(exc):
                raise
            deleted = 0  # a booking reused a customer of this range meanwhile: next run
        if deleted is None:
            return None
        total += deleted
    return total
