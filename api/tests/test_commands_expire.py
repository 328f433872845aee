# ruff: noqa: F811  (the pytest fixture `shows` imported from commands_helpers, used as an argument)
"""`expire_tickets`, one run at a time (API.md, "Time, expiry and clean-up"; DESIGN.md,
"Cron jobs"), and expired tickets and started shows through the API.

Time is frozen with time-machine: a ticket expires once its show started 8 hours ago or
more, exactly 8 hours included. Runs at once, on PostgreSQL: test_commands_races.py.
"""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api.models import Ticket
from api.services import jobs
from api.tests.commands_helpers import (
    STARTS,
    book,
    expired_flags,
    run,
    shows,  # noqa: F401 (the fixture)
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def tickets(shows) -> dict[str, list[str]]:
    """Two tickets at the show that starts at STARTS, one at a show two days later."""
    past, later = shows
    return {
        "past": [str(t.pk) for t in book(past, "Ada Lovelace", "+914155550101", seats=2).tickets.all()],
        "later": [str(t.pk) for t in book(later, "Grace Hopper", "+914155550102").tickets.all()],
    }


# --- expire_tickets -----------------------------------------------------------------


@pytest.mark.parametrize(
    "after_start, marked",
    [
        (timedelta(hours=7, minutes=59), 0),
        (timedelta(hours=8) - timedelta(microseconds=1), 0),
        (timedelta(hours=8), 2),  # exactly 8 hours counts as expired
        (timedelta(days=1), 2),
    ],
)
def test_expire_marks_tickets_from_8_hours_after_the_start(tickets, after_start, marked):
    with time_machine.travel(STARTS + after_start, tick=False):
        assert run("expire_tickets") == f"Marked {marked} tickets expired.\n"

    is_expired = marked > 0
    assert expired_flags() == {
        tickets["past"][0]: is_expired,
        tickets["past"][1]: is_expired,
        tickets["later"][0]: False,  # a show to come is never touched
    }


def test_expire_run_twice_changes_nothing_the_second_time(tickets):
    with time_machine.travel(STARTS + timedelta(hours=8), tick=False):
        assert run("expire_tickets") == "Marked 2 tickets expired.\n"
        after_first = expired_flags()
        assert run("expire_tickets") == "Marked 0 tickets expired.\n"
    assert expired_flags() == after_first


def test_expire_is_one_update_that_loads_no_ticket(tickets):
    with CaptureQueriesContext(connection) as queries:
        jobs.tickets_expire(now=STARTS + timedelta(hours=8))
    statements = [q["sql"] for q in queries.captured_queries if "api_ticket" in q["sql"]]
    # The lock of the shows with tickets to mark (ids alone), of their tickets in id order
    # (a count alone), then the UPDATE.
    shows_lock, tickets_lock, update = statements
    assert shows_lock.startswith('SELECT "api_show"."id" AS "pk" FROM "api_show" WHERE ')
    assert tickets_lock.startswith('SELECT count(*) FROM (SELECT "api_ticket"."id" AS "pk" FROM "api_ticket" WHERE ')
    # SQLite's writers take turns: no row lock.
    row_lock = ' FOR NO KEY UPDATE OF "api_ticket"' if connection.vendor == "postgresql" else ""
    assert tickets_lock.endswith(f" ORDER BY 1 ASC{row_lock}) locked")  # 1: the id
    assert update.startswith('UPDATE "api_ticket" SET "expired" = ')


# --- through the API ------------------------------------------------------------------------


def test_a_ticket_marked_expired_cannot_be_changed_or_checked_in(api_client, staff_client, tickets, shows):
    past, later = shows
    ticket_id = tickets["past"][0]
    with time_machine.travel(STARTS + timedelta(hours=8), tick=False):
        assert run("expire_tickets") == "Marked 2 tickets expired.\n"
        before = api_client.get(f"/api/tickets/{ticket_id}").json()
        assert before["expired"] is True

        for body in ({"name": "Ada King"}, {"show": later.pk}, {"seat": "B1"}):
            response = api_client.patch(f"/api/tickets/{ticket_id}", body)
            assert (response.status_code, response.json()) == (
                409,
                {"detail": "This ticket's show has started or the ticket has expired.", "code": "ticket_expired"},
            )
        for method in (staff_client.post, staff_client.delete):
            response = method(f"/api/tickets/{ticket_id}/check-in")
            assert (response.status_code, response.json()) == (
                409,
                {"detail": "This ticket has expired.", "code": "ticket_expired"},
            )
        assert api_client.get(f"/api/tickets/{ticket_id}").json() == before


@pytest.mark.parametrize("after_start", [timedelta(minutes=1), timedelta(hours=9)])
def test_booking_a_show_that_has_started_stays_a_400(api_client, shows, after_start):
    past, _ = shows
    person = {"name": "Ada Lovelace", "phone_number": "+914155550101"}
    local = timezone.localtime(STARTS)
    with time_machine.travel(STARTS + after_start, tick=False):
        for where in ({"show": past.pk}, {"date": local.date().isoformat(), "time": local.strftime("%H:%M")}):
            response = api_client.post("/api/tickets", {**person, **where})
            assert (response.status_code, response.json()) == (400, {"time": ["Cannot book a show that has started."]})
    assert not Ticket.objects.exists()
