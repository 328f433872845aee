"""Writes of several tickets take them in id order (locking.py's order), whatever order an
UPDATE or a DELETE would take them in: a cancel of a booking (its tickets by id, never
their show) beside the expire job and beside a seat map change, which each hold the shows
and then update the tickets, and beside the purge, which deletes them. Each test makes
two tickets of one booking whose ids run against their rows, and a third connection holds
the first, so that the cancel waits there while the other write reaches the second: taken
in scan order, that was a deadlock, which PostgreSQL broke after deadlock_timeout by
failing one of the two (a job's run, or a 500). The admin's list actions on tickets run in
one transaction (AllOrNoneActions) and take theirs in id order too."""

import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from api.errors import AlreadyCheckedIn
from api.models import AuditEntry, Booking, Customer, Screen, Show, Ticket
from api.seatmaps import parse
from api.services import jobs, sales, venues
from api.tests.commands_helpers import expired_flags
from api.tests.conftest import ADA, RACE_WAIT, in_thread, make_show, postgres_only, screen_of
from api.tests.races_helpers import wait_until_backends_wait_on_locks

pytestmark = [postgres_only, pytest.mark.django_db(transaction=True)]

# The second by id first in the heap and in seat order (and, for ids 2 and 3, in the hash of
# ids that Django's UPDATE ... WHERE id IN (SELECT ... JOIN api_show) goes through).
FIRST, SECOND, THIRD = uuid.UUID(int=2), uuid.UUID(int=3), uuid.UUID(int=4)


def booking_of_two(show: Show, reference: str = "CANCEL") -> Booking:
    """A booking of two tickets, SECOND (A1) written before FIRST (A2)."""
    ada = Customer.objects.get_or_create(name=ADA["name"], phone_number=ADA["phone_number"])[0]
    booking = Booking.objects.create(reference=reference, customer=ada)
    Ticket.objects.bulk_create(
        [
            Ticket(id=SECOND, booking=booking, holder=ada, show=show, seat="A1"),
            Ticket(id=FIRST, booking=booking, holder=ada, show=show, seat="A2"),
        ]
    )
    return booking


@contextmanager
def waiting_at(
    ticket_id: uuid.UUID, outcomes: dict, name: str, write: Callable[[], object]
) -> Iterator[Callable[[str, Callable[[], object]], None]]:
    """The write (its outcome `name`) started while another connection holds the ticket,
    and waiting there; the body starts the other write with the function given (a name for
    its outcome, the write); once it waits too, the ticket is let go and both end."""
    other = connections.create_connection("default")
    threads = []

    def beside(name: str, write: Callable[[], object]) -> None:
        threads.append(in_thread(outcomes, name, write))

    try:
        other.set_autocommit(False)
        with other.cursor() as cursor:
            cursor.execute("SELECT id FROM api_ticket WHERE id = %s FOR UPDATE", [ticket_id])
        threads.append(in_thread(outcomes, name, write))
        assert wait_until_backends_wait_on_locks(1)  # the write, at the ticket
        yield beside
        assert wait_until_backends_wait_on_locks(2)  # and the other write
        other.rollback()
        for thread in threads:
            thread.join(RACE_WAIT)
    finally:
        other.close()


def cancel_waiting_at_the_first_ticket(
    booking: Booking, outcomes: dict, **cancel: Any
) -> AbstractContextManager[Callable[[str, Callable[[], object]], None]]:
    """The booking's cancel started while another connection holds FIRST, and waiting there."""
    return waiting_at(FIRST, outcomes, "cancel", lambda: sales.booking_cancel(booking_id=booking.pk, **cancel))


def test_a_booking_staff_cancel_while_the_expire_job_marks_its_tickets_does_not_deadlock():
    # The job's UPDATE took the tickets in its scan order, after their show's lock.
    now = timezone.now().replace(microsecond=0)
    show = Show.objects.create(title="Past", starts_at=now - timedelta(hours=9))
    cancelled = booking_of_two(show)
    kept = Booking.objects.create(reference="KEPT23", customer=cancelled.customer)
    Ticket.objects.create(id=THIRD, booking=kept, holder=kept.customer, show=show, seat="A3")
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM api_ticket ORDER BY ctid")
        assert [row[0] for row in cursor.fetchall()] == [SECOND, FIRST, THIRD]
    outcomes: dict = {}

    with cancel_waiting_at_the_first_ticket(cancelled, outcomes, actor="staff:a", now=now, staff=True) as beside:
        beside("job", lambda: jobs.tickets_expire(now=now))

    assert outcomes == {"cancel": None, "job": 1}
    assert expired_flags() == {str(THIRD): True}
    assert not Booking.objects.filter(pk=cancelled.pk).exists()


def test_a_booking_cancelled_while_a_map_change_reorders_its_tickets_does_not_deadlock():
    # The map change holds the coming shows' locks; its UPDATE of the seats' places took the
    # tickets in its scan order. A customer's cancel of a coming show, no staff needed.
    screen = screen_of(20, name="Twenty")  # A1..A10, B1..B10
    booking = booking_of_two(make_show(screen=screen))
    b_in_front = parse(
        {
            "rows": [
                {"label": "B", "seats": [{"number": n} for n in range(1, 11)]},
                {"label": "A", "seats": [{"number": n} for n in range(1, 11)]},
            ]
        }
    )
    outcomes: dict = {}

    with cancel_waiting_at_the_first_ticket(booking, outcomes, now=timezone.now()) as beside:
        beside("change", lambda: venues.screen_save(screen=screen, seat_map=b_in_front, now=timezone.now()))

    assert outcomes["cancel"] is None and isinstance(outcomes["change"], Screen), outcomes
    assert not Ticket.objects.exists()
    assert Screen.objects.get(pk=screen.pk).seats.labels()[0] == "B1"


def test_a_booking_staff_cancel_while_the_purge_deletes_its_tickets_does_not_deadlock():
    # The purge's DELETE of expired tickets took them in its scan order. Staff cancel
    # expired tickets (a refund after a show called off midway).
    now = timezone.now().replace(microsecond=0)
    show = Show.objects.create(title="Long past", starts_at=now - timedelta(hours=9))
    cancelled = booking_of_two(show)
    Ticket.objects.update(expired=True)
    outcomes: dict = {}

    with cancel_waiting_at_the_first_ticket(cancelled, outcomes, actor="staff:a", now=now, staff=True) as beside:
        beside("purge", lambda: jobs.tickets_purge(now=now).tickets)

    assert outcomes == {"cancel": None, "purge": 0}
    assert not Ticket.objects.exists()
    assert not Booking.objects.filter(pk=cancelled.pk).exists()


def admin_action(changelist: str, action: str, ids: list[Any], **more: str) -> Callable[[], int]:
    """A list action of the admin run by a staff superuser on the rows of `ids`: its status."""
    user = get_user_model().objects.create_superuser("admin", "admin@example.com", password=None)
    client = Client()
    client.force_login(user)
    selected = {"action": action, "_selected_action": [str(pk) for pk in ids], **more}
    return lambda: client.post(f"/admin/api/{changelist}/", selected).status_code


def test_a_booking_cancelled_while_staff_check_its_tickets_in_does_not_deadlock():
    # The admin's check-in of the selected tickets (one transaction, AllOrNoneActions) took
    # them in the list's order, seat order: A1 (SECOND), then A2 (FIRST). A customer's
    # cancel before the show, its doors open, takes them by id.
    show = Show.objects.create(title="Soon", starts_at=timezone.now() + timedelta(minutes=30))
    booking = booking_of_two(show)
    check_in = admin_action("ticket", "check_in", [FIRST, SECOND])
    outcomes: dict = {}

    with cancel_waiting_at_the_first_ticket(booking, outcomes, now=timezone.now()) as beside:
        beside("check_in", check_in)

    assert outcomes == {"cancel": None, "check_in": 302}
    assert not Ticket.objects.exists()
    assert not AuditEntry.objects.filter(action="ticket.checked_in").exists()


def test_a_booking_cancelled_while_staff_undo_its_check_ins_does_not_deadlock():
    # The same with the undoing of the check-ins (the cancel is then refused: used tickets).
    show = Show.objects.create(title="Soon", starts_at=timezone.now() + timedelta(minutes=30))
    booking = booking_of_two(show)
    Ticket.objects.update(checked_in_at=timezone.now())
    undo = admin_action("ticket", "undo_check_in", [FIRST, SECOND])
    outcomes: dict = {}

    with cancel_waiting_at_the_first_ticket(booking, outcomes, now=timezone.now()) as beside:
        beside("undo", undo)

    assert isinstance(outcomes.pop("cancel"), AlreadyCheckedIn), outcomes
    assert outcomes == {"undo": 302}
    assert not Ticket.objects.filter(checked_in_at__isnull=False).exists()


def two_bookings_against_their_ids(show: Show) -> list[Booking]:
    """Two bookings of a ticket each, the first booking's the second ticket by id (SECOND)."""
    ada = Customer.objects.get_or_create(name=ADA["name"], phone_number=ADA["phone_number"])[0]
    bookings = [Booking.objects.create(reference=reference, customer=ada) for reference in ("BOOKA2", "BOOKB3")]
    for booking, ticket_id, seat in zip(bookings, (SECOND, FIRST), ("A1", "A2"), strict=True):
        Ticket.objects.create(id=ticket_id, booking=booking, holder=ada, show=show, seat=seat)
    return bookings


@pytest.mark.parametrize("changelist", ["booking", "ticket"])
def test_staff_cancelling_two_bookings_while_the_expire_job_marks_their_tickets_does_not_deadlock(changelist):
    # The admin's delete of the selected bookings, or of their tickets (one transaction),
    # cancelled them booking by booking, each booking's tickets after its lock: the first
    # booking's ticket SECOND, then the second's FIRST, against the job's id order (its
    # shows', then their tickets').
    now = timezone.now().replace(microsecond=0)
    show = Show.objects.create(title="Past", starts_at=now - timedelta(hours=9))
    bookings = two_bookings_against_their_ids(show)
    selected = [b.pk for b in bookings] if changelist == "booking" else [SECOND, FIRST]
    delete = admin_action(changelist, "delete_selected", selected, post="yes")
    outcomes: dict = {}

    with waiting_at(SECOND, outcomes, "delete", delete) as beside:
        beside("job", lambda: jobs.tickets_expire(now=now))

    assert outcomes == {"delete": 302, "job": 0}
    assert not Ticket.objects.exists()
    assert not Booking.objects.exists()
