"""The Ticket part of API.md for staff: the list with its filters, and check-in at the door."""

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from api.models import Ticket
from api.services import door, jobs
from api.tests.conftest import ADA, make_show
from api.tests.tickets_helpers import ALAN, GRACE, book, page, ticket_json

pytestmark = pytest.mark.django_db


# --- GET /api/tickets (staff) ---------------------------------------------------------------


def test_list_needs_credentials(api_client, ticket):
    response = api_client.get("/api/tickets")

    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_list_is_refused_to_users_who_are_not_staff(user_client, ticket):
    response = user_client.get("/api/tickets")

    assert response.status_code == 403
    assert response.json() == {"detail": "Staff only."}


def test_list_is_refused_to_a_logged_in_session_that_is_not_staff(ticket):
    user = get_user_model().objects.create_user("customer")
    client = APIClient()
    client.force_login(user)

    response = client.get("/api/tickets")

    assert response.status_code == 403
    assert response.json() == {"detail": "Staff only."}


@pytest.fixture
def listed():
    """Three tickets at three shows: Ada at Dune (future), Grace at Oppenheimer (future,
    checked in), Alan at an old show (expired by the job)."""
    dune = make_show(days=3, hour=19, minute=30, title="Dune: Part Three")
    oppenheimer = make_show(days=5, hour=15, minute=0, title="Oppenheimer")
    old = make_show(days=-2, hour=10, minute=0, title="Metropolis")
    ada = book(dune, ADA)
    grace = book(oppenheimer, GRACE)
    alan = book(old, ALAN, now=old.starts_at - timedelta(days=1))
    door.ticket_check_in(ticket_id=grace.pk, now=oppenheimer.starts_at - timedelta(hours=1))  # doors open
    assert jobs.tickets_expire(now=timezone.now()) == 1
    # Booked in another order than the shows run: Grace first, then Alan, then Ada.
    for ticket, hour in ((grace, 1), (alan, 2), (ada, 3)):
        Ticket.objects.filter(pk=ticket.pk).update(booked_at=datetime(2026, 1, 1, hour, tzinfo=UTC))
    grace.refresh_from_db()
    return {
        # Each alone at its show: the best seat, B5.
        "ada": ticket_json(str(ada.pk), show=dune, seat="B5", **ADA),
        "grace": ticket_json(
            str(grace.pk),
            show=oppenheimer,
            seat="B5",
            **GRACE,
            checked_in_at=timezone.localtime(grace.checked_in_at).isoformat(timespec="seconds"),
        ),
        "alan": ticket_json(str(alan.pk), show=old, seat="B5", **ALAN, expired=True),
        "dune": dune,
    }


def test_list_is_ordered_by_start(staff_client, listed):
    response = staff_client.get("/api/tickets")

    assert response.status_code == 200
    assert response.json() == page(listed["alan"], listed["ada"], listed["grace"])


def test_list_default_order_is_start_then_seat(staff_client, show):
    for seat in ("A10", "A1", "A2"):  # (A3, A1, A2 would strand A2: the single-seat rule)
        book(show, seat=seat)

    response = staff_client.get("/api/tickets")

    assert [t["seat"] for t in response.json()["results"]] == ["A1", "A2", "A10"]


def test_filter_date(staff_client, listed):
    dune_day = timezone.localtime(listed["dune"].starts_at).date()

    assert staff_client.get("/api/tickets", {"date": dune_day.isoformat()}).json() == page(listed["ada"])
    assert staff_client.get("/api/tickets", {"date": (dune_day + timedelta(days=1)).isoformat()}).json() == page()


def test_filter_time(staff_client, listed):
    assert staff_client.get("/api/tickets", {"time": "15:00"}).json() == page(listed["grace"])
    assert staff_client.get("/api/tickets", {"time": "15:00:00"}).json() == page(listed["grace"])
    assert staff_client.get("/api/tickets", {"time": "16:00"}).json() == page()


def test_filter_date_and_time_together(staff_client, listed):
    dune_day = timezone.localtime(listed["dune"].starts_at).date().isoformat()

    assert staff_client.get("/api/tickets", {"date": dune_day, "time": "19:30"}).json() == page(listed["ada"])
    assert staff_client.get("/api/tickets", {"date": dune_day, "time": "15:00"}).json() == page()


def test_filter_show(staff_client, listed):
    assert staff_client.get("/api/tickets", {"show": listed["dune"].pk}).json() == page(listed["ada"])
    assert staff_client.get("/api/tickets", {"show": 999999}).json() == page()


def test_filter_expired(staff_client, listed):
    assert staff_client.get("/api/tickets", {"expired": "true"}).json() == page(listed["alan"])
    assert staff_client.get("/api/tickets", {"expired": "false"}).json() == page(listed["ada"], listed["grace"])


def test_filter_checked_in(staff_client, listed):
    assert staff_client.get("/api/tickets", {"checked_in": "true"}).json() == page(listed["grace"])
    assert staff_client.get("/api/tickets", {"checked_in": "false"}).json() == page(listed["alan"], listed["ada"])


def test_filter_phone_number_in_any_format(staff_client, listed):
    assert staff_client.get("/api/tickets", {"phone_number": "098765 43210"}).json() == page(listed["grace"])
    assert staff_client.get("/api/tickets", {"phone_number": "+919876543211"}).json() == page()


@pytest.mark.parametrize("param", ["show", "venue", "screen"])
@pytest.mark.parametrize("value", ["99999999999999999999", "1.5", "0"])
def test_an_id_filter_no_row_can_have_matches_nothing(staff_client, listed, param, value):
    # Past 64 bits SQLite raised OverflowError (a 500) where PostgreSQL matched nothing.
    staff_client.raise_request_exception = False

    response = staff_client.get("/api/tickets", {param: value})

    assert (response.status_code, response.json()) == (200, page())


def test_search_name_or_phone_contains(staff_client, listed):
    assert staff_client.get("/api/tickets", {"search": "hopper"}).json() == page(listed["grace"])
    assert staff_client.get("/api/tickets", {"search": "5550123"}).json() == page(listed["ada"])
    assert staff_client.get("/api/tickets", {"search": "Babbage"}).json() == page()


def test_search_reads_digits_only_in_what_is_written_as_a_phone_number(staff_client, listed):
    assert staff_client.get("/api/tickets", {"search": "(555) 01-23"}).json() == page(listed["ada"])
    # Letters among the digits are not a phone number: an id's start such as "5e55a0b1c23".
    assert staff_client.get("/api/tickets", {"search": "5e55a0b1c23"}).json() == page()


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("starts_at", ["alan", "ada", "grace"]),
        ("-starts_at", ["grace", "ada", "alan"]),
        ("booked_at", ["grace", "alan", "ada"]),
        ("-booked_at", ["ada", "alan", "grace"]),
        ("name", ["ada", "alan", "grace"]),
        ("-name", ["grace", "alan", "ada"]),
    ],
)
def test_ordering(staff_client, listed, ordering, expected):
    response = staff_client.get("/api/tickets", {"ordering": ordering})

    assert response.status_code == 200
    assert response.json() == page(*(listed[key] for key in expected))


@pytest.mark.parametrize(
    ("parameter", "value", "message"),
    [
        ("date", "2026-13-01", "Enter a valid date."),
        ("date", "01/02/2026", "Enter a valid date."),
        ("time", "25:00", "Enter a valid time."),
        ("time", "15:00:30", "Shows start on the minute: seconds must be 00."),
        ("show", "dune", "Enter a number."),
        ("phone_number", "12345", None),
        ("ordering", "seat", "Select a valid choice. seat is not one of the available choices."),
        # Read as "not given" by Django's boolean field: every row came back, with a 200.
        ("expired", "maybe", "Give true or false."),
        ("checked_in", "yes please", "Give true or false."),
    ],
)
def test_filter_value_that_is_not_valid_is_a_400_on_that_parameter(staff_client, listed, parameter, value, message):
    response = staff_client.get("/api/tickets", {parameter: value})

    assert response.status_code == 400
    assert list(response.json()) == [parameter]
    if message is not None:
        assert response.json() == {parameter: [message]}


@pytest.mark.parametrize("ordering", ["booked_at", "-name", "starts_at"])
def test_an_ordered_list_breaks_ties_by_id(staff_client, listed, ordering):
    # A booking's tickets share booked_at, and people share names: rows that tie in the
    # order asked for could repeat or go missing from one page to the next.
    with CaptureQueriesContext(connection) as queries:
        assert staff_client.get("/api/tickets", {"ordering": ordering}).status_code == 200

    (listing,) = [q["sql"] for q in queries.captured_queries if "LIMIT" in q["sql"] and "api_ticket" in q["sql"]]
    assert re.search(r'ORDER BY .*"api_ticket"\."id" ASC( LIMIT|$)', listing), listing


def test_list_is_paginated_by_50(staff_client):
    show = make_show(capacity=60)
    for _ in range(55):
        book(show)

    first = staff_client.get("/api/tickets").json()
    second = staff_client.get("/api/tickets", {"page": 2}).json()

    assert (first["count"], len(first["results"]), len(second["results"])) == (55, 50, 5)
    assert first["next"] == "http://testserver/api/tickets?page=2"
    # 6 rows of 10, filled best first from the sweet spot (row D): A1, A2, A9, A10 and
    # F10 are left, so the second page ends with row F's F5 to F9.
    assert [t["seat"] for t in second["results"]] == ["F5", "F6", "F7", "F8", "F9"]


# --- POST / DELETE /api/tickets/{id}/check-in (staff) -------------------------------------


def test_check_in(staff_client, ticket, show):
    with time_machine.travel(show.starts_at - timedelta(minutes=10), tick=False):
        response = staff_client.post(f"/api/tickets/{ticket.pk}/check-in")

    assert response.status_code == 200
    checked_in_at = timezone.localtime(show.starts_at - timedelta(minutes=10)).isoformat()
    assert response.json() == ticket_json(str(ticket.pk), show=show, seat="B5", **ADA, checked_in_at=checked_in_at)


def test_second_check_in_is_a_409_with_the_first_time(staff_client, ticket, show):
    with time_machine.travel(show.starts_at - timedelta(minutes=10), tick=False):
        staff_client.post(f"/api/tickets/{ticket.pk}/check-in")
    response = staff_client.post(f"/api/tickets/{ticket.pk}/check-in")

    assert response.status_code == 409
    assert response.json() == {
        "detail": "This ticket was checked in already.",
        "code": "already_checked_in",
        "checked_in_at": timezone.localtime(show.starts_at - timedelta(minutes=10)).isoformat(),
    }


def test_check_in_of_an_expired_ticket_is_a_409(staff_client, ticket, show):
    with time_machine.travel(show.starts_at + timedelta(hours=8)):
        response = staff_client.post(f"/api/tickets/{ticket.pk}/check-in")

    assert response.status_code == 409
    assert response.json() == {"detail": "This ticket has expired.", "code": "ticket_expired"}


def test_undo_check_in(staff_client, ticket, show):
    with time_machine.travel(show.starts_at - timedelta(minutes=10)):
        staff_client.post(f"/api/tickets/{ticket.pk}/check-in")

        response = staff_client.delete(f"/api/tickets/{ticket.pk}/check-in")

        assert response.status_code == 200
        assert response.json() == ticket_json(str(ticket.pk), show=show, seat="B5", **ADA)
        assert staff_client.post(f"/api/tickets/{ticket.pk}/check-in").status_code == 200


def test_undo_check_in_of_an_expired_ticket_is_a_409(staff_client, ticket, show):
    with time_machine.travel(show.starts_at - timedelta(minutes=10)):
        assert staff_client.post(f"/api/tickets/{ticket.pk}/check-in").status_code == 200

    with time_machine.travel(show.starts_at + timedelta(hours=8)):
        response = staff_client.delete(f"/api/tickets/{ticket.pk}/check-in")

    assert response.status_code == 409
    assert response.json() == {"detail": "This ticket has expired.", "code": "ticket_expired"}


@pytest.mark.parametrize("method", ["post", "delete"])
def test_check_in_needs_credentials(api_client, ticket, method):
    response = getattr(api_client, method)(f"/api/tickets/{ticket.pk}/check-in")

    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}


@pytest.mark.parametrize("method", ["post", "delete"])
def test_check_in_is_refused_to_users_who_are_not_staff(user_client, ticket, method):
    response = getattr(user_client, method)(f"/api/tickets/{ticket.pk}/check-in")

    assert response.status_code == 403
    assert response.json() == {"detail": "Staff only."}
    ticket.refresh_from_db()
    assert ticket.checked_in_at is None


def test_check_in_of_an_unknown_ticket_is_a_404(staff_client):
    response = staff_client.post(f"/api/tickets/{uuid.uuid4()}/check-in")

    assert response.status_code == 404
    assert response.json() == {"detail": "No Ticket matches the given query."}
