"""The number of SQL statements of the hot endpoints, pinned so that an N+1 or a stray look-up
shows up as a failing test. The comments name each statement.

Inside a test, which runs in a transaction, every transaction.atomic() is a SAVEPOINT and a
RELEASE SAVEPOINT, and those are counted; in production the outermost atomic is BEGIN and
COMMIT instead, which Django does not count. No request here touches the session table:
anonymous clients send no cookie and staff send a token.
"""

from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.utils import timezone

from api import seatmaps
from api.models import Booking, Customer, Show, Ticket
from api.tests.conftest import book_seats, book_ticket, hold_seats, make_show, open_timing

pytestmark = pytest.mark.django_db

ADA = {"name": "Ada Lovelace", "phone_number": "+914155550123"}

# On PostgreSQL an anonymous client's seat cap is one statement more: the client's advisory
# lock (locking.lock_client).
CLIENT_LOCK_STATEMENTS = 1 if connection.vendor == "postgresql" else 0

# A booking's statements (services.sales.booking_create):
# SAVEPOINT                                        booking_create's transaction.atomic()
# SELECT [set_config('lock_timeout', ..),] show WHERE id IN (..) ORDER BY id FOR UPDATE
#                                                  the show lock (locking.lock_show), on
#                                                  PostgreSQL with its wait's bound
# SELECT seat FROM ticket WHERE show UNION ALL SELECT seats FROM hold WHERE show AND live
#   UNION ALL SELECT (ticket_type LEFT JOIN showprice ON show, as one JSON array)
#                                                  the booked, held and blocked seats, and (v2,
#                                                  ticket types and prices) every ticket type (the
#                                                  default type, the tickets' foreign keys) with
#                                                  its prices at this show, to price each seat
#                                                  once they are chosen (locking.seats_in_use
#                                                  with_tariff, seating.tariff)
# the sale's rows (services.sale_rows.write_sale), on SQLite by the ORM:
# INSERT customer ON CONFLICT DO UPDATE RETURNING  the person, new or returning (upsert)
# INSERT booking                                   under a fresh reference; a taken one fails the
#                                                  sale, which runs again (sale_rows.with_a_reference)
# INSERT ticket                                    every ticket of the booking in one INSERT
# (v2, issue 20) in the same transaction:
# INSERT audit entries                             the booking's and each ticket's, one multi-row INSERT
#                                                  (services.audit.record_many)
# INSERT webhook events SELECT .. FROM webhook     the outbox rows, one per active webhook that
#                                                  wants booking.created, in one statement
# and on PostgreSQL all five as one statement:
# WITH person AS (INSERT customer ..), sale AS (INSERT booking ..), seats AS (INSERT ticket ..),
#      trail AS (INSERT audit entries ..), outbox AS (INSERT webhook events SELECT .. FROM webhook)
# SELECT sale.id, sale.customer_id FROM sale
# RELEASE SAVEPOINT
# (v2, issue 16) an anonymous client's hourly seat cap (services.caps), after the pricing:
# [SELECT pg_advisory_xact_lock(client)]           PostgreSQL: the client's bookings one at a time
# SELECT booking.created_at FROM ticket JOIN booking WHERE client AND created_at > now - 1 hour
#                                                  the client's seats of the last hour
SALE_STATEMENTS = 1 if connection.vendor == "postgresql" else 5
CAP_STATEMENTS = 1 + CLIENT_LOCK_STATEMENTS
BOOKING_STATEMENTS = 4 + SALE_STATEMENTS + CAP_STATEMENTS


def test_book_a_ticket(api_client, show, django_assert_num_queries):
    assert show.screen.seats  # this process has met the screen's map (the next test: when not)

    with django_assert_num_queries(BOOKING_STATEMENTS) as queries:
        response = api_client.post("/api/tickets", {**ADA, "show": show.pk})

    assert response.status_code == 201
    # The show lock leaves the screen's seat map unread: Screen.seats finds it by its digest.
    assert not any('."seat_map"' in query["sql"] for query in queries.captured_queries)


def test_a_seat_map_is_read_once_per_process(api_client, show, django_assert_num_queries):
    with mock.patch.dict(seatmaps._kept, clear=True):  # a process that has not met the map
        # SELECT seat_map FROM screen WHERE id     the map's document, parsed and kept
        with django_assert_num_queries(BOOKING_STATEMENTS + 1):
            first = api_client.post("/api/tickets", {**ADA, "show": show.pk})
        with django_assert_num_queries(BOOKING_STATEMENTS):
            second = api_client.post("/api/tickets", {**ADA, "show": show.pk})

    assert (first.status_code, second.status_code) == (201, 201)


def test_book_a_ticket_for_a_returning_customer(api_client, show, django_assert_num_queries):
    book_ticket(show.pk, **ADA)

    # The same: the customer's upsert finds the person instead of inserting one.
    with django_assert_num_queries(BOOKING_STATEMENTS):
        response = api_client.post("/api/tickets", {**ADA, "show": show.pk})

    assert response.status_code == 201
    assert Customer.objects.count() == 1


def test_book_a_ticket_by_date_and_time(api_client, show, django_assert_num_queries):
    local = timezone.localtime(show.starts_at)
    book_ticket(show.pk, **ADA)

    # As for a returning customer, plus, before the show is locked by id (services.showtimes.show_at):
    # SELECT screen JOIN venue WHERE venue = (the first venue)   v2: the default screen, whose
    #                                                  venue's zone reads the date and time
    # SELECT show JOIN screen WHERE venue AND starts_at   the show by its start: two more.
    with django_assert_num_queries(BOOKING_STATEMENTS + 2):
        response = api_client.post("/api/tickets", {**ADA, "date": local.date().isoformat(), "time": "19:30"})

    assert response.status_code == 201


@pytest.fixture
def fifty_tickets() -> None:
    """50 tickets over 5 shows, 5 bookings of 10 tickets, 5 customers."""
    for hour in range(10, 15):
        show = make_show(days=2, hour=hour, minute=0, capacity=10)
        book_seats(
            show.pk,
            name=f"Customer {hour}",
            phone_number=f"+9198765432{hour}",
            quantity=10,
        )
    assert (Ticket.objects.count(), Booking.objects.count(), Show.objects.count()) == (50, 5, 5)


def test_staff_list_of_50_tickets(staff_client, fifty_tickets, django_assert_num_queries):
    # SELECT token JOIN user                           TokenAuthentication
    # SELECT COUNT(*) FROM ticket                      the page's count (DRF's pagination)
    # SELECT ticket JOIN show, booking, customer LIMIT 50
    with django_assert_num_queries(3) as queries:
        response = staff_client.get("/api/tickets")

    assert response.status_code == 200
    assert len(response.json()["results"]) == 50
    # Nor the screens' seat maps: a JSON document of every seat, decoded for each row, it
    # cost a 50-row list of 300-seat shows some 60 ms (selectors.SEAT_MAP).
    assert '."seat_map"' not in queries.captured_queries[-1]["sql"]


def test_staff_list_of_50_tickets_filtered_and_ordered(staff_client, fifty_tickets, django_assert_num_queries):
    # The filters and the ordering are clauses of the same three statements.
    with django_assert_num_queries(3):
        response = staff_client.get("/api/tickets", {"phone_number": "098765 43210", "ordering": "-name"})

    assert response.status_code == 200
    assert len(response.json()["results"]) == 10


def test_show_search(api_client, django_assert_num_queries):
    day = timezone.now().replace(second=0, microsecond=0) + timedelta(days=1)
    shows = Show.objects.bulk_create(open_timing(day + timedelta(hours=i)) for i in range(50))
    for show in shows[:5]:
        book_ticket(show.pk, **ADA)
        hold_seats(show.pk, quantity=2)

    # SELECT COUNT(*) FROM show                        the page's count (DRF's pagination)
    # SELECT show, (tickets subquery), (holds subquery) LIMIT 50
    #                                                  the 50 rows with their counts
    # SELECT showprice JOIN ticket_type WHERE show IN (..)   v2: the page's prices, prefetched
    #                                                  (selectors.shows_with_counts): one statement
    #                                                  for the whole page, not one per show
    with django_assert_num_queries(3) as queries:
        response = api_client.get("/api/shows", {"seats": 1})
    assert '."seat_map"' not in queries.captured_queries[1]["sql"]

    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 50
    assert results[0]["seats_available"] == 17


def test_read_a_ticket(api_client, ticket, django_assert_num_queries):
    # SELECT ticket JOIN show, booking, customer WHERE id
    with django_assert_num_queries(1):
        response = api_client.get(f"/api/tickets/{ticket.pk}")

    assert response.status_code == 200


def test_read_a_show_with_its_free_seats(api_client, show, django_assert_num_queries):
    # SELECT show with its counts JOIN screen, venue LEFT JOIN film WHERE id
    # SELECT showprice JOIN ticket_type WHERE show IN (id)   v2: its prices (the prefetch)
    # SELECT seat FROM ticket ... UNION ALL SELECT seats FROM hold ...   free_seats
    with django_assert_num_queries(3):
        response = api_client.get(f"/api/shows/{show.pk}")

    assert response.status_code == 200


def test_show_search_of_more_than_one_page(api_client, django_assert_num_queries):
    day = timezone.now().replace(second=0, microsecond=0) + timedelta(days=1)
    Show.objects.bulk_create(open_timing(day + timedelta(minutes=i)) for i in range(51))

    # SELECT COUNT(*) FROM show                        every page is counted
    # SELECT show ... LIMIT 50
    # SELECT showprice JOIN ticket_type WHERE show IN (..)   v2: the page's prices (the prefetch)
    with django_assert_num_queries(3):
        first = api_client.get("/api/shows")
    # SELECT COUNT(*) FROM show
    # SELECT show ... LIMIT 50 OFFSET 50
    # SELECT showprice JOIN ticket_type WHERE show IN (..)   v2: the page's prices (the prefetch)
    with django_assert_num_queries(3):
        second = api_client.get("/api/shows", {"page": 2})

    assert first.status_code == second.status_code == 200
    first, second = first.json(), second.json()
    assert (first["count"], len(first["results"]), first["previous"]) == (51, 50, None)
    assert first["next"] == "http://testserver/api/shows?page=2"
    assert (second["count"], len(second["results"]), second["next"]) == (51, 1, None)
    assert second["previous"] == "http://testserver/api/shows"


def test_staff_list_of_more_than_one_page(staff_client, fifty_tickets, django_assert_num_queries):
    # SELECT token JOIN user
    # SELECT COUNT(*) FROM ticket                      every page is counted, on the tickets
    #                                                  alone: the booking and the customer
    #                                                  are columns shown, not filters
    # SELECT ticket JOIN show, booking, customer ... LIMIT 20 OFFSET 20
    with django_assert_num_queries(3) as queries:
        response = staff_client.get("/api/tickets", {"page_size": 20, "page": 2})

    assert response.status_code == 200
    body = response.json()
    assert (body["count"], len(body["results"])) == (50, 20)
    assert body["next"].endswith("page=3&page_size=20")
    count = next(q["sql"] for q in queries.captured_queries if "COUNT(*)" in q["sql"])
    assert "api_customer" not in count and "api_booking" not in count


@pytest.mark.parametrize("page", ["9223372036854775807", "99999999999999999999999"])
def test_a_page_far_past_the_end_is_a_404(api_client, staff_client, fifty_tickets, page):
    assert api_client.get("/api/shows", {"page": page}).status_code == 404
    assert staff_client.get("/api/tickets", {"page": page}).status_code == 404


@pytest.mark.parametrize("page", ["1", "01", ""])
def test_the_first_page_however_written(api_client, page, django_assert_num_queries):
    make_show(days=1)

    # SELECT COUNT(*) FROM show
    # SELECT show ... LIMIT 50
    # SELECT showprice JOIN ticket_type WHERE show IN (..)   v2: its prices (the prefetch)
    with django_assert_num_queries(3):
        response = api_client.get("/api/shows", {"page": page})

    assert response.status_code == 200
    body = response.json()
    assert (body["count"], len(body["results"]), body["next"], body["previous"]) == (1, 1, None, None)


@pytest.mark.parametrize("page", ["2", "0", "1.5", "one"])
def test_an_invalid_page_is_a_404(api_client, page):
    make_show(days=1)

    response = api_client.get("/api/shows", {"page": page})

    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid page."}
