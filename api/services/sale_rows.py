"""A sale's rows: the person (new or returning), the booking, its tickets, and the audit
entries and webhook events that report it, all in the caller's transaction.

On PostgreSQL they are written in one statement: data-modifying WITH queries, each INSERT
taking the ids the one before it returned (the person's, then the booking's). A booking
made by the ORM costs five statements here (the person's upsert, the booking, the tickets,
the entries, the outbox rows), each compiled in Python and a round trip of its own; one
statement served more bookings, at less CPU each, in a same-run A/B (bench/README.md).
SQLite writes the same rows by the ORM, statement by statement.

Either way the sale comes back as the database holds it: instances loaded with the
values written and the ids the database gave (Model.from_db, as a query loads rows).
"""

import json
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection
from django.db.models import Model, Sum
from phonenumber_field.phonenumber import PhoneNumber

from ..errors import SeatTaken
from ..models import AuditEntry, Booking, Customer, Show, Ticket, TicketType, Webhook, phone_text
from . import audit
from .seating import Line


@dataclass(frozen=True)
class Sale:
    """What a booking made: the booking (with its customer, the booker) and its tickets
    (each with its holder), in seat order."""

    booking: Booking
    tickets: list[Ticket]

    @property
    def total(self) -> Decimal:
        """What its tickets cost: the booking's total, or the refund of a cancel's tickets.
        Not the booking's stored total, which the purge leaves as it was when it deletes the
        expired tickets of a booking that keeps others (moved to a later show)."""
        return sum((ticket.price for ticket in self.tickets), Decimal("0.00")).quantize(CENT)

    @property
    def currency(self) -> str:
        """What its tickets are priced in: their venue's currency (a move to a venue of
        another is refused, so one for them all), BOOKING_CURRENCY for a sale of none."""
        return self.tickets[0].show.screen.venue.currency if self.tickets else settings.BOOKING_CURRENCY


# Six characters without look-alikes (no 0/O, 1/I/L): 31 ** 6, about 890 million references.
CENT = Decimal("0.01")
FOREIGN_KEY_VIOLATION = "23503"  # PostgreSQL's SQLSTATE

REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
REFERENCE_LENGTH = 6
REFERENCE_DRAWS = 10

TOLD = ("booking__customer", "show__screen__venue", "ticket_type", "holder")  # what an event tells of a ticket
UNTOLD = "show__screen__seat_map"  # read along TOLD, the screen's map would be decoded for every ticket


class _Endpoints:
    """Whether the last sale of this process found a webhook endpoint active. While none is,
    a sale builds no events: its statement only tells whether one is now (_one_statement),
    and the sale that finds one writes the events in a statement more."""

    active = True


_endpoints = _Endpoints()


def _draw_reference() -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


def with_a_reference(sell: Callable[[str], Sale], seat_taken: SeatTaken) -> Sale:
    """Run a sale's transaction, `sell`, under a freshly drawn booking reference.

    A reference already taken (rarer than 1 in 890 million a sale) fails the whole
    transaction, which then runs again with another: cheaper than a savepoint around every
    booking's INSERT. So does a ticket type that staff deleted after the sale read it (its
    link is checked at the INSERT, migration 0017): run again, the sale refuses the type.
    Any other IntegrityError is the UNIQUE (show, seat) backstop."""
    for _ in range(REFERENCE_DRAWS):
        reference = _draw_reference()
        try:
            return sell(reference)
        except IntegrityError as exc:
            if _broken_link(exc):
                continue
            if not Booking.objects.filter(reference=reference).exists():
                raise seat_taken from exc
    raise RuntimeError("Could not draw a free booking reference.")


def _broken_link(exc: IntegrityError) -> bool:
    """A foreign key violated: a row the transaction read (unlocked) was deleted meanwhile."""
    return getattr(exc.__cause__, "sqlstate", None) == FOREIGN_KEY_VIOLATION


def sale_of(booking_id: int) -> Sale:
    """A booking as it stands, read back: its booker, and its tickets in seat order with
    their holders (what audit.booking_data tells)."""
    tickets = Ticket.objects.filter(booking_id=booking_id).select_related(*TOLD).defer(UNTOLD)
    tickets = tickets.order_by("seat_order", "pk")
    return Sale(Booking.objects.select_related("customer").get(pk=booking_id), list(tickets))


def total_again(booking_id: int) -> list[audit.Entry]:
    """A booking's total follows its tickets: a move re-prices one, a cancel takes one away.
    Call under the booking's lock. The booking's audit entry when its total changed."""
    reference, before = Booking.objects.filter(pk=booking_id).values_list("reference", "total").get()
    total = Ticket.objects.filter(booking_id=booking_id).aggregate(total=Sum("price"))["total"] or Decimal("0.00")
    total = total.quantize(CENT)  # SQLite's sum drops the zeros: 24, not 24.00
    if total == before:
        return []
    Booking.objects.filter(pk=booking_id).update(total=total)
    return [audit.Entry("booking.changed", "booking", reference, {"total": [str(before), str(total)]})]


def customer_get_or_create(*, name: str, phone_number: PhoneNumber | str) -> Customer:
    """The customer with this name and phone, made on first use: one upsert, safe when two
    bookings of a new person run at once."""
    (customer,) = Customer.objects.bulk_create(
        [Customer(name=name, phone_number=phone_number)],
        update_conflicts=True,
        unique_fields=["name", "phone_number"],
        update_fields=["name"],
    )
    return customer


def write_sale(
    *,
    show: Show,
    lines: list[Line],
    types: Mapping[str, TicketType],
    seat_order: Callable[[str], int],
    booking: Booking,
    sold_out: bool,
    actor: str,
    now: datetime,
    hold: uuid.UUID | None = None,
) -> Sale:
    """Write `booking` (unsaved, and so its customer: a name and phone) with a ticket for
    each line, and its audit entries and events (show.sold_out too when `sold_out`; the
    `hold` it confirms, hold.confirmed, among the entries: no statement more)."""
    customer = booking.customer
    tickets = [
        Ticket(
            booking=booking,
            holder=customer,  # every ticket is the booker's until it is given a person of its own
            show=show,
            seat=line.seat,
            seat_order=seat_order(line.seat),
            ticket_type=types[line.ticket_type],
            price=line.price,
            booked_at=now,  # the moment its booking.created entry gives
        )
        for line in lines
    ]
    sale = Sale(booking, tickets)
    entries = audit.booking_entries(sale, hold=hold)

    def events() -> list[audit.Event]:
        return audit.booking_events(sale, sold_out=show if sold_out else None)

    if connection.vendor != "postgresql":
        customer = customer_get_or_create(name=customer.name, phone_number=customer.phone_number)
        booking.customer = customer
        booking.save(force_insert=True)
        for ticket in tickets:
            ticket.booking, ticket.holder = booking, customer
        Ticket.objects.bulk_create(tickets)
        audit.record_many(actor=actor, now=now, entries=entries, events=events())
        return sale

    told = _endpoints.active  # what the last sale of this process found
    with connection.cursor() as cursor:
        cursor.execute(
            *_one_statement(customer, booking, tickets, entries, events() if told else None, actor=actor, now=now)
        )
        booking.id, customer.id, _endpoints.active = cursor.fetchone()
    if _endpoints.active and not told:  # an endpoint made active since: the events in a statement more
        audit.outbox(events(), now)
    booking.customer_id = customer.id
    customer, booking = _loaded(customer), _loaded(booking)
    booking.customer = customer
    loaded = []
    for ticket in tickets:
        ticket.booking_id, ticket.holder_id = booking.id, customer.id
        twin = _loaded(ticket)
        twin.booking, twin.holder, twin.show, twin.ticket_type = booking, customer, show, ticket.ticket_type
        loaded.append(twin)
    return Sale(booking, loaded)


def _loaded(instance: Model) -> Any:
    """The instance as the database now holds it (every field as written), loaded as a
    query loads a row."""
    names = [field.attname for field in instance._meta.concrete_fields]
    return type(instance).from_db(connection.alias, names, [getattr(instance, name) for name in names])


def _one_statement(
    customer: Customer,
    booking: Booking,
    tickets: list[Ticket],
    entries: list[audit.Entry],
    events: list[audit.Event] | None,
    *,
    actor: str,
    now: datetime,
) -> tuple[str, list[Any]]:
    """The sale's rows in one statement (PostgreSQL), and its parameters; it answers the
    booking's id, the person's, and whether a webhook endpoint is active. A JSON array each
    (jsonb_to_recordset) carries the tickets and the entries, so that the statement's text,
    and its prepared plan, is the same for any party size (one more text for a sale that
    also reports the show sold out). One JSON text a table rather than an array a column:
    psycopg adapted the eleven arrays in Python, item by item (bench/README.md has the
    profile and the A/B).

    `events` None writes no outbox rows (no endpoint was active at the last sale). The
    endpoints are read FOR KEY SHARE either way, as audit.outbox_insert reads them: that
    takes the table's ROW SHARE lock, which an endpoint's registration waits for
    (locking.lock_webhook_endpoints), so none can become active between this statement and
    the COMMIT unseen."""
    customers, bookings, tickets_table, entries_table, webhooks = (
        m._meta.db_table for m in (Customer, Booking, Ticket, AuditEntry, Webhook)
    )
    phone = phone_text(customer.phone_number)  # as the ORM stores it
    outbox, outbox_params = audit.outbox_insert(events, now) if events is not None else ("", [])
    sql = f"""
        WITH person AS (
            INSERT INTO {customers} (name, phone_number) VALUES (%s, %s)
            ON CONFLICT (name, phone_number) DO UPDATE SET name = EXCLUDED.name
            RETURNING id
        ), sale AS (
            INSERT INTO {bookings} (reference, customer_id, total, created_at, client)
            SELECT %s, person.id, %s, %s, %s FROM person
            RETURNING id, customer_id
        ), seats AS (
            INSERT INTO {tickets_table} (id, booking_id, holder_id, show_id, seat, seat_order, ticket_type_id, price,
                                 expired, checked_in_at, booked_at)
            SELECT t.id, sale.id, sale.customer_id, t.show_id, t.seat, t.seat_order, t.ticket_type_id, t.price,
                   false, NULL, t.booked_at
            FROM sale, jsonb_to_recordset(%s::jsonb) AS t(id uuid, show_id bigint, seat text, seat_order integer,
                                                          ticket_type_id bigint, price numeric, booked_at timestamptz)
        ), trail AS (
            INSERT INTO {entries_table} (at, actor, action, object_type, object_id, changes)
            SELECT %s, %s, e.action, e.object_type, e.object_id, e.changes
            FROM jsonb_to_recordset(%s::jsonb) AS e(action text, object_type text, object_id text, changes jsonb)
        ){f", outbox AS ({outbox})" if outbox else ""}
        SELECT sale.id, sale.customer_id, EXISTS (SELECT FROM {webhooks} w WHERE w.active FOR KEY SHARE OF w) FROM sale
    """
    params = [
        customer.name,
        phone,
        booking.reference,
        booking.total,
        booking.created_at,
        booking.client,
        json.dumps(
            [
                {
                    "id": str(t.id),
                    "show_id": t.show_id,
                    "seat": t.seat,
                    "seat_order": t.seat_order,
                    "ticket_type_id": t.ticket_type_id,
                    "price": str(t.price),
                    "booked_at": t.booked_at.isoformat(),  # every digit (DjangoJSONEncoder keeps milliseconds)
                }
                for t in tickets
            ]
        ),
        now,
        actor,
        json.dumps(
            [
                {"action": e.action, "object_type": e.obj_type, "object_id": str(e.obj_id), "changes": e.changes}
                for e in entries
            ],
            cls=DjangoJSONEncoder,
        ),
        *outbox_params,
    ]
    return sql, params
