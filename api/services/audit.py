"""The audit trail and the webhooks' outbox, written inside the caller's transaction.

Every service write calls `record` (or `record_many`) once, in its transaction: the audit
entries in one INSERT, and for an event one outbox row (WebhookEvent) per active webhook
that wants it, in one INSERT ... SELECT over the webhooks, two statements however many
webhooks there are. A sale is the exception: its entries and events (booking_entries,
booking_events) are written with its rows (sale_rows.py), inside its one statement on
PostgreSQL and by record_many on SQLite. A write rolled back leaves neither; one committed
leaves both, whatever happens to the process afterwards.

Entries never hold a name or a phone number: `changes` says "name": "changed" instead.
Events do carry them (`data` of a booking), since their endpoints are the theatre's own.
"""

import json
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection

from ..models import AuditEntry, Customer, Hold, Show, Ticket, WaitlistEntry, Webhook, WebhookEvent, phone_text

if TYPE_CHECKING:
    from .sale_rows import Sale

# The events an endpoint may ask for (API.md, "Webhooks").
EVENT_TYPES = (
    "booking.created",
    "booking.cancelled",
    "ticket.changed",
    "ticket.cancelled",
    "ticket.checked_in",
    "ticket.check_in_undone",
    "show.created",
    "show.changed",
    "show.cancelled",
    "show.sold_out",
    "waitlist.offered",
    "tickets.expired",
)

CHANGED = "changed"  # what an entry says of a changed name or phone number


def what_changed(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """A change's `changes`: each field of `after` whose value differs from `before`'s, as
    [old, new] (API.md's form, {"seat": ["A1", "B4"]})."""
    return {name: [before[name], value] for name, value in after.items() if before[name] != value}


@dataclass(frozen=True)
class Entry:
    action: str  # "ticket.moved"
    obj_type: str  # "ticket"
    obj_id: str
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    type: str  # one of EVENT_TYPES
    data: dict[str, Any]


def record(
    *,
    actor: str,
    action: str,
    obj_type: str,
    obj_id: str,
    changes: dict[str, Any],
    now: datetime,
    event: str | None = None,
    payload: dict[str, Any] | None = None,
) -> None:
    """One audit entry, and the event `event` with `payload` as its data if given."""
    events = [Event(event, payload or {})] if event else []
    record_many(actor=actor, now=now, entries=[Entry(action, obj_type, str(obj_id), changes)], events=events)


def record_show_created(show: Show, changes: dict[str, Any], *, actor: str, now: datetime) -> None:
    """A show made (by staff, or as an open timing by a client's booking): its entry, and
    show.created with the show's data."""
    record(
        actor=actor,
        action="show.created",
        obj_type="show",
        obj_id=str(show.pk),
        changes=changes,
        now=now,
        event="show.created",
        payload=show_data(show),
    )


def _row(actor: str, now: datetime, entry: Entry) -> AuditEntry:
    return AuditEntry(
        at=now,
        actor=actor,
        action=entry.action,
        object_type=entry.obj_type,
        object_id=str(entry.obj_id),
        changes=entry.changes,
    )


def record_many(*, actor: str, now: datetime, entries: Iterable[Entry], events: Sequence[Event] = ()) -> None:
    """Several entries in one INSERT, and the events' outbox rows in one more."""
    AuditEntry.objects.bulk_create(_row(actor, now, e) for e in entries)
    if events:
        outbox(events, now)


def record_entry(*, actor: str, now: datetime, entry: Entry) -> int:
    """One audit entry, to be brought up to date later (a purge run's counts): its id."""
    row = _row(actor, now, entry)
    row.save(force_insert=True)
    return row.pk


def outbox(events: Sequence[Event], now: datetime) -> None:
    """The events' outbox rows, one per active webhook wanting each, in one INSERT."""
    sql, params = outbox_insert(events, now)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def outbox_insert(events: Sequence[Event], now: datetime) -> tuple[str, list[Any]]:
    """INSERT ... SELECT: one outbox row per event and per active webhook wanting it.

    The one statement of this module in SQL (the ORM has no INSERT ... SELECT): without
    it, a write would read the webhooks first, a statement more. The webhook's id ends
    the message id, so each row's is unique without knowing the webhooks beforehand. (A
    sale on PostgreSQL runs it inside its own statement: sale_rows.py.)

    On PostgreSQL the endpoints read are locked FOR KEY SHARE, as the rows' foreign key
    check locks them at COMMIT, but now: an endpoint deleted meanwhile (webhook_delete
    locks it FOR UPDATE first) is then either waited for and skipped, or deleted after
    this write's commit with the events it made. Checked at COMMIT alone, its deletion
    failed the write there: a sale was a 500, or a false seat_taken.
    """
    webhook, outbox = Webhook._meta.db_table, WebhookEvent._meta.db_table
    postgres = connection.vendor == "postgresql"
    payload_sql = "CAST(%s AS jsonb)" if postgres else "%s"
    rows, params = [], []
    stamp = now.isoformat()
    for event in events:
        rows.append(f"SELECT CAST(%s AS TEXT) AS type, {payload_sql} AS payload, CAST(%s AS TEXT) AS msg")
        body = {"type": event.type, "timestamp": stamp, "data": event.data}
        params += [event.type, json.dumps(body, cls=DjangoJSONEncoder), f"msg_{secrets.token_hex(12)}_"]
    if postgres:
        wants = "(jsonb_array_length(w.events) = 0 OR w.events @> jsonb_build_array(e.type))"
    else:
        listed = "EXISTS (SELECT 1 FROM json_each(w.events) j WHERE j.value = e.type)"
        wants = f"(json_array_length(w.events) = 0 OR {listed})"
    at = connection.ops.adapt_datetimefield_value(now)
    sql = (
        f"INSERT INTO {outbox} (webhook_id, message_id, type, payload, status, attempts, next_attempt_at, created_at) "
        f"SELECT w.id, e.msg || CAST(w.id AS TEXT), e.type, e.payload, %s, 0, %s, %s "
        f"FROM {webhook} w, ({' UNION ALL '.join(rows)}) e WHERE w.active AND {wants}"
        + (" FOR KEY SHARE OF w" if postgres else "")
    )
    return sql, [WebhookEvent.Status.PENDING, at, at, *params]


# --- what the events carry -----------------------------------------------------------


def utc(moment: datetime) -> str:
    """A moment as every entry and event gives it: UTC, ISO 8601. (A datetime's own offset
    varied with where it came from: a show made from a date and time carried its venue's,
    one read back from the database UTC, and one event mixed the two.)"""
    return moment.astimezone(UTC).isoformat()


def show_data(show: Show) -> dict[str, Any]:
    return {
        "id": show.pk,
        "title": show.title,
        "screen": show.screen_id,
        "starts_at": utc(show.starts_at),
        "capacity": show.capacity,
    }


def ticket_data(ticket: Ticket) -> dict[str, Any]:
    """The ticket as an event carries it (its booking's reference, never a person: see booking_data)."""
    return {
        "id": str(ticket.pk),
        "booking": ticket.booking.reference,
        "show": ticket.show_id,
        "starts_at": utc(ticket.show.starts_at),
        "seat": ticket.seat,
        "ticket_type": ticket.ticket_type.key,
        "price": str(ticket.price),
        "currency": ticket.show.screen.venue.currency,
        "checked_in_at": utc(ticket.checked_in_at) if ticket.checked_in_at else None,
    }


def person_data(person: Customer) -> dict[str, Any]:
    """A person's details, for the theatre's own systems (never in an audit entry)."""
    return {"name": person.name, "phone_number": phone_text(person.phone_number)}


def booking_data(sale: "Sale") -> dict[str, Any]:
    """The booking with its booker's details, and each ticket with its holder's."""
    booking = sale.booking
    return {
        "reference": booking.reference,
        **person_data(booking.customer),
        "total": str(sale.total),
        # A booking's tickets share one; a booking the purge emptied (its tickets expired and
        # deleted, the booking not yet) has none: the service's, as its answer says.
        "currency": sale.currency,
        "tickets": [{**ticket_data(t), **person_data(t.holder)} for t in sale.tickets],
    }


def waitlist_offer_data(entry: WaitlistEntry, hold: Hold) -> dict[str, Any]:
    """A waiting list's offer, as waitlist.offered carries it: the entry, its person (whom
    the theatre's systems tell), and the hold to confirm."""
    return {
        "id": str(entry.pk),
        "show": entry.show_id,
        "starts_at": utc(hold.show.starts_at),
        "name": entry.name,
        "phone_number": phone_text(entry.phone_number),
        "party_size": entry.party_size,
        "offer": {
            "hold": str(hold.pk),
            "seats": hold.seats,
            "total": str(hold.total),
            "currency": hold.show.screen.venue.currency,
            "expires_at": utc(hold.expires_at),
        },
    }


def booking_entries(sale: "Sale", *, hold: uuid.UUID | None = None) -> list[Entry]:
    """The entries of a new booking: the booking and each ticket, and the hold it confirmed,
    which it ends. Written with the sale's rows (sale_rows.py)."""
    tickets = sale.tickets
    entries = [
        Entry(
            "booking.created",
            "booking",
            sale.booking.reference,
            {"tickets": [str(t.pk) for t in tickets], "total": str(sale.booking.total)},
        )
    ]
    entries += [Entry("ticket.created", "ticket", str(t.pk), {"show": t.show_id, "seat": t.seat}) for t in tickets]
    if hold is not None:
        entries.append(Entry("hold.confirmed", "hold", str(hold), {"booking": sale.booking.reference}))
    return entries


def booking_events(sale: "Sale", *, sold_out: Show | None = None) -> list[Event]:
    """The events of a new booking; show.sold_out too when this sale took the show's last
    seat. Written with the sale's rows, when an endpoint is active (sale_rows.py)."""
    events = [Event("booking.created", booking_data(sale))]
    if sold_out is not None:
        events.append(Event("show.sold_out", show_data(sold_out)))
    return events
