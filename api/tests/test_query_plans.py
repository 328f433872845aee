"""The hot queries are served by indexes: PostgreSQL's EXPLAIN of each names the index.

A test database holds a few rows, where a sequential scan is the cheaper plan, so each
EXPLAIN runs with enable_seqscan off: the planner then takes an index whenever one can
serve the query, and a query that no index serves still shows a Seq Scan. The plans below
in the comments are those of the `make bench` database (200-ticket door list, 1,600
shows, about 80,000 tickets) with the default settings.
"""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Exists, OuterRef
from django.http import QueryDict
from django.utils import timezone

from api import selectors
from api.filters import AuditFilter, ShowFilter, TicketFilter
from api.models import AuditEntry, Booking, Hold, Show, Ticket, expiry_cutoff
from api.tests.conftest import book_seats, hold_seats, make_show

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="reads PostgreSQL's EXPLAIN: run with DATABASE_URL=postgres://... (CI does)",
    ),
]


def plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    return explain(sql, params)


def explain(sql: str, params) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # the test's transaction only
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.fixture
def door(db):
    show = make_show(days=2, hour=19, minute=30)
    book_seats(show.pk, name="Ada", phone_number="+914155550123", quantity=3)
    hold_seats(show.pk, quantity=2)
    return show


def test_show_search_of_a_day(door):
    # Limit
    #   ->  Nested Loop (the show's screen, venue and film, by their primary keys)
    #         ->  Index Scan using show_starts_at on api_show
    #               Index Cond: ((starts_at >= $1) AND (starts_at < $2))
    #         SubPlan 1                                 tickets_booked
    #           ->  GroupAggregate
    #                 ->  Index Only Scan using ticket_unique_show_seat on api_ticket
    #                       Index Cond: (show_id = api_show.id)
    #         SubPlan 2                                 seats_held
    #           ->  GroupAggregate
    #                 ->  Index Scan using hold_show_expires on api_hold
    #                       Index Cond: ((show_id = api_show.id) AND (expires_at > $3))
    #         SubPlan 3                                 seats_blocked (v2)
    #           ->  GroupAggregate
    #                 ->  Index Only Scan using ... on api_seatblock
    #                       Index Cond: (show_id = api_show.id)
    # Three subplans: each count is selected once (selectors.shows_with_counts).
    day = timezone.localtime(door.starts_at).date().isoformat()
    shows = ShowFilter(
        QueryDict(f"date={day}"), queryset=selectors.shows_with_counts(now=timezone.now()).order_by("starts_at")
    ).qs

    text = plan(shows)

    assert "Seq Scan" not in text, text
    assert "show_starts_at" in text, text
    assert "ticket_unique_show_seat" in text, text
    assert "hold_show_expires" in text, text
    assert text.count("SubPlan") == 3, text


def test_staff_list_of_a_date_and_time(door):
    # Sort  (top-N heapsort on starts_at, seat)
    #   ->  Nested Loop
    #         ->  Nested Loop
    #               ->  Nested Loop
    #                     ->  Index Scan using show_starts_at on api_show (and its screen, venue)
    #                     ->  Index Scan using ticket_unique_show_seat on api_ticket
    #               ->  Index Scan using api_booking_pkey on api_booking
    #         ->  Index Scan using api_customer_pkey on api_customer
    local = timezone.localtime(door.starts_at)
    query = QueryDict(f"date={local.date().isoformat()}&time={local:%H:%M}")
    tickets = TicketFilter(query, queryset=selectors.tickets_with_details()).qs

    text = plan(tickets)

    assert "Seq Scan" not in text, text
    for index in ("show_starts_at", "ticket_unique_show_seat", "api_booking_pkey", "api_customer_pkey"):
        assert index in text, text


def test_a_bookings_taken_seats(door):
    # Index Only Scan using ticket_unique_show_seat on api_ticket  Index Cond: (show_id = $1)
    # Index Scan using hold_show_expires on api_hold  Index Cond: ((show_id = $1) AND (expires_at > $2))
    seats = Ticket.objects.filter(show=door).values_list("seat", flat=True)
    holds = Hold.objects.live(timezone.now()).filter(show=door).values_list("seats", flat=True)

    assert "ticket_unique_show_seat" in plan(seats)
    assert "hold_show_expires" in plan(holds)


def test_the_purge_walks_the_partial_index_of_expired_tickets(door):
    # Index Only Scan using ticket_expired_id on api_ticket  Index Cond: (id > $1)
    # (the batch's last id: services.jobs._delete_expired_tickets)
    Ticket.objects.filter(show=door).update(expired=True)
    after = uuid.UUID(int=0)
    batch_end = Ticket.objects.filter(expired=True, pk__gt=after).order_by("pk").values_list("pk", flat=True)[9:10]

    text = plan(batch_end)

    assert "ticket_expired_id" in text, text
    assert "Seq Scan" not in text, text


def test_the_purge_finds_a_bookings_tickets_by_index(door):
    # Nested Loop Anti Join
    #   ->  Index Scan using api_booking_pkey on api_booking  Index Cond: ((id >= $1) AND (id < $2))
    #   ->  Index Only Scan using api_ticket_booking_id_... on api_ticket  Index Cond: (booking_id = api_booking.id)
    unused = Booking.objects.filter(pk__gte=1, pk__lt=10_001).exclude(
        Exists(Ticket.objects.filter(booking=OuterRef("pk")))
    )

    text = plan(unused)

    assert "Seq Scan" not in text, text
    assert "api_ticket_booking_id" in text, text


def test_the_expire_job_finds_started_shows_by_index(door):
    # Update on api_ticket  ->  Hash Join (at scale: most tickets are looked at once)
    #   ->  Seq Scan on api_ticket  Filter: (NOT expired)
    #   ->  Hash  ->  Index Scan using show_starts_at on api_show  Index Cond: (starts_at <= $1)
    cutoff = expiry_cutoff(timezone.now() + timedelta(days=3))
    past = Show.objects.filter(starts_at__lte=cutoff).values("pk")
    tickets = Ticket.objects.filter(expired=False, show__in=past)

    text = plan(tickets)

    assert "show_starts_at" in text, text
    assert "ticket_unique_show_seat" in text, text


# Every index of the tables a booking writes (the outbox's when webhooks are set), and what
# reads it: each one is kept up to date by every sale. An index that appears here unasked
# (unique=True or db_index=True on a CharField builds a second, varchar_pattern_ops one on
# PostgreSQL) fails the test.
SALE_INDEXES = {
    "api_customer": {
        "api_customer_pkey",
        "customer_unique_name_phone",  # a returning person's upsert
    },
    "api_booking": {
        "api_booking_pkey",
        "booking_unique_reference",  # look-ups by reference
        "api_booking_customer_id_a1d988f7",  # the purge: a person still linked
        "booking_client_created",  # the hourly seat cap
    },
    "api_ticket": {
        "api_ticket_pkey",
        "ticket_unique_show_seat",  # the taken seats, the door list, the oversell backstop
        "api_ticket_booking_id_be136328",  # a booking's tickets
        "api_ticket_holder_id_5f92e514",  # the purge: a person still linked
        "ticket_expired_id",  # the purge's batches (partial: a sale never writes it)
    },
    "api_auditentry": {
        "api_auditentry_pkey",
        "api_auditentry_at_cf051702",  # the trail newest first, by date, and its purge
        "audit_object_at",  # one object's history
    },
    "api_webhookevent": {
        "api_webhookevent_pkey",
        "webhookevent_unique_message_id",  # the webhook-id header, unique
        "webhookevent_due",  # the deliverer's due events (partial)
        "webhookevent_log",  # an endpoint's deliveries, newest first
    },
}


def test_a_sale_writes_no_index_that_nothing_reads(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename, indexname FROM pg_indexes WHERE tablename = ANY(%s)", [list(SALE_INDEXES)])
        found: dict[str, set[str]] = {table: set() for table in SALE_INDEXES}
        for table, name in cursor.fetchall():
            found[table].add(name)

    assert found == SALE_INDEXES


def test_the_audit_trail_of_some_days_reads_the_index_of_at(db):
    # Index Scan using api_auditentry_at_cf051702 on api_auditentry
    #   Index Cond: ((at >= $1) AND (at < $2))
    # at__date cast every entry's moment to a date: on 3,000,000 entries a sequential scan,
    # 1.17 s a page (its count and its rows), where the range takes 25 ms.
    query = QueryDict("date_after=2026-03-01&date_before=2026-03-02&action=booking.created")
    entries = AuditFilter(query, queryset=AuditEntry.objects.order_by("-at", "-pk")).qs

    text = plan(entries)

    assert "Index Cond: ((at >= " in text, text
    assert "Seq Scan" not in text, text


@pytest.mark.parametrize(
    ("url", "index"),
    [("/admin/api/booking/", "api_ticket_booking_id"), ("/admin/api/customer/", "api_ticket_holder_id")],
)
def test_the_admins_lists_of_bookings_and_people_count_the_tickets_of_the_page_alone(door, admin_client, url, index):
    # Limit
    #   ->  Nested Loop  (the page's rows, with their person)
    #   SubPlan 1  ->  GroupAggregate  ->  Index Only Scan using api_ticket_booking_id_... (booking_id = api_booking.id)
    # Count() joined every booking (person) to its tickets and grouped them all before the
    # page's 100 were picked: 6.9 s (9.0 s) a page with 1,000,000 bookings and 2,000,000
    # tickets, where each row of the page counting its own takes 0.8 s (0.3 s).
    page = admin_client.get(url).context["cl"].queryset[:100]

    text = plan(page)

    assert "SubPlan" in text, text
    assert index in text, text
    assert "Aggregate" not in text.split("SubPlan")[0], text


def test_the_admins_ticket_search_finds_a_reference_and_an_id_by_their_indexes(door, admin_client):
    # Nested Loop
    #   ->  HashAggregate  ->  Append  (the tickets found: by person, by reference, by id)
    #         ->  Nested Loop  ->  Seq Scan on api_customer (the people's list's search)
    #                          ->  Index Scan using api_ticket_holder_id_... (holder_id = v0.id)
    #         ->  Nested Loop  ->  Index Scan using booking_unique_reference (reference = 'K7QX2M')
    #                          ->  Index Scan using api_ticket_booking_id_... (booking_id = u0.id)
    #         ->  Index Scan using api_ticket_pkey  (id >= '...0000' AND id <= '...ffff')
    #   ->  Index Scan using api_ticket_pkey on api_ticket (the page's tickets, their show...)
    # The words were matched against every ticket joined to its person and booking: 10 to 12 s
    # a search for a reference, an id's start or a phone number with 2,000,000 tickets; 1.1 s
    # now, the scan of the people's names (1,000,000) most of it.
    ticket = Ticket.objects.filter(show=door).select_related("booking").first()
    assert ticket is not None
    for term in (ticket.booking.reference.lower(), str(ticket.pk)[:8]):
        page = admin_client.get("/admin/api/ticket/", {"q": term}).context["cl"].queryset[:100]

        text = plan(page)

        assert "booking_unique_reference" in text, text
        assert "api_ticket_holder_id" in text, text
        assert "Seq Scan on api_ticket" not in text, text
    assert "Index Cond: ((id >= " in text, text


def test_the_admins_booking_search_finds_a_reference_by_its_index(door, admin_client):
    # HashAggregate  ->  Append
    #   ->  Nested Loop  ->  Seq Scan on api_customer  ->  Index Scan using api_booking_customer_id_...
    #   ->  Index Scan using booking_unique_reference  (reference = 'K7QX2M')
    # 2.8 s a search with 1,000,000 bookings joined to their people; 0.9 s now.
    booking = Booking.objects.filter(tickets__show=door).first()
    assert booking is not None
    page = admin_client.get("/admin/api/booking/", {"q": booking.reference.lower()}).context["cl"].queryset[:100]

    text = plan(page)

    assert "booking_unique_reference" in text, text
    assert "api_booking_customer_id" in text, text
    assert "Seq Scan on api_booking" not in text, text


def test_the_admins_list_of_bookings_reads_the_newest_by_the_primary_key(door, admin_client):
    # Limit  ->  Nested Loop  ->  Index Scan Backward using api_booking_pkey on api_booking
    # Newest first by created_at sorted every booking (no index): 0.41 s a page of
    # 1,000,000 bookings, where the primary key's order takes 2 ms.
    page = admin_client.get("/admin/api/booking/").context["cl"].queryset[:100]

    text = plan(page)

    assert "Index Scan Backward using api_booking_pkey" in text, text
    assert "Sort" not in text, text
