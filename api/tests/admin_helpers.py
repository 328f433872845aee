"""What the admin tests share: a clock frozen at NOW, a staff client logged in after it,
a clerk with only some permissions, the messages a page showed; and (test_admin.py,
test_admin_booking_rules.py) shows at given days and hours, tickets booked at them, and a
theatre of full shows."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.utils import timezone

from api.models import AuditEntry, Booking, Customer, Show, Ticket, TicketType
from api.tests.conftest import book_ticket

# Noon on a Saturday; every show of the admin tests is placed relative to it.
NOW = datetime(2030, 6, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def clerk(client, *codenames: str):
    """A staff member with only the given permissions, logged in."""
    user = get_user_model().objects.create_user("clerk", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    return user


def _at(days: int, hour: int, minute: int = 0) -> datetime:
    day = timezone.localdate() + timedelta(days=days)
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour, minute))


def _book(show: Show, name: str = "Ada Lovelace", phone: str = "+914155550123", seat: str | None = None) -> Ticket:
    return book_ticket(show.pk, name=name, phone_number=phone, seat=seat)


@pytest.fixture
def theatre(frozen) -> dict:
    """10 shows of 20 seats, full: 200 tickets in 100 bookings of 40 customers.

    8 shows are upcoming (the first two today and tomorrow), one started an hour ago
    (today, 10 tickets checked in), one started two days ago (its 20 tickets expired).
    """
    now = timezone.now()
    shows = [
        Show.objects.create(title="Dune: Part Three" if n % 2 else "Spirited Away", starts_at=_at(n, 19), capacity=20)
        for n in range(8)
    ]
    started = Show.objects.create(title="Spirited Away", starts_at=now - timedelta(hours=1), capacity=20)
    expired = Show.objects.create(title="Spirited Away", starts_at=now - timedelta(days=2), capacity=20)
    shows += [started, expired]
    customers = Customer.objects.bulk_create(
        Customer(name=f"Person {n:02d}", phone_number=f"+9141555501{n:02d}") for n in range(40)
    )
    bookings = Booking.objects.bulk_create(
        Booking(reference=f"R{n:05d}", customer=customers[n % 40]) for n in range(100)
    )
    tickets = []
    for index in range(200):
        show = shows[index // 20]
        tickets.append(
            Ticket(
                booking=bookings[index // 2],
                holder=bookings[index // 2].customer,
                show=show,
                seat=f"{'AB'[index % 20 // 10]}{index % 10 + 1}",
                seat_order=index % 20,
                expired=show is expired,
                checked_in_at=now - timedelta(minutes=30) if show is started and index % 2 else None,
            )
        )
    Ticket.objects.bulk_create(tickets)
    return {"shows": shows, "started": started, "expired": expired}


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def _form_errors(response) -> dict[str, list[str]]:
    """The errors of the admin form a refused save came back with (200, what was typed kept)."""
    assert response.status_code == 200, response
    return {field: [str(e) for e in errors] for field, errors in response.context["adminform"].form.errors.items()}


def trail() -> list[tuple[str, str, str, dict]]:
    """The audit trail as (actor, action, "type:id", changes), oldest first."""
    rows = AuditEntry.objects.order_by("id").values_list("actor", "action", "object_type", "object_id", "changes")
    return [(actor, action, f"{kind}:{key}", changes) for actor, action, kind, key, changes in rows]


def _type(key: str) -> str:
    """A ticket type's id, as a form's choice sends it."""
    return str(TicketType.objects.get(key=key).pk)


def _entries(action: str) -> list[tuple[str, str, dict]]:
    """The audit entries of an action as (actor, object id, changes), oldest first."""
    return list(AuditEntry.objects.filter(action=action).order_by("pk").values_list("actor", "object_id", "changes"))
