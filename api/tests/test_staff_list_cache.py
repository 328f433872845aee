"""The staff ticket list's cache (STAFF_LIST_CACHE_SECONDS, api/listcache.py): an answer is
kept with the PostgreSQL snapshot it was read after, and served only while the database's
snapshot is still that one: until any write commits, whoever makes it (this service, the
admin, the cron jobs, psql). Staff read the same bytes as from the database; nobody else
reads them.

These tests commit for real (transaction=True): inside a test's transaction the snapshot
doesn't move with the test's own writes, and the cache keeps nothing there.
"""

from datetime import timedelta
from io import StringIO
from unittest import mock

import psycopg
import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from api import services
from api.models import Customer, Show, Ticket
from api.tests.conftest import postgres_only
from api.views import TicketViewSet

pytestmark = pytest.mark.django_db(transaction=True)

ADA = {"name": "Ada Lovelace", "phone_number": "+914155550123"}
GRACE = {"name": "Grace Hopper", "phone_number": "+919876543210"}
LIST = "/api/tickets"


@pytest.fixture
def kept_lists(settings):
    settings.STAFF_LIST_CACHE_SECONDS = 300


@pytest.fixture
def user_client(db) -> APIClient:
    """A logged-in user who is not staff."""
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=get_user_model().objects.create_user('fan')).key}"
    )
    return client


@pytest.fixture
def psql():
    """A connection of its own, as psql or another program would write with."""
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"],
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        password=settings["PASSWORD"],
        dbname=settings["NAME"],
        autocommit=True,
    ) as other:
        yield other


def book(show, person=ADA) -> Ticket:
    return services.ticket_book(choice=services.ShowChoice(show_id=show.pk), **person)


def from_the_cache(client, *args, **kwargs):
    """The answer, asserted to come from the cache: one query, the token's user with the
    snapshot. A commit anywhere else on the PostgreSQL server meanwhile (another database,
    autovacuum's ANALYZE) also ends a kept answer: then the list is asked for again, up to
    three times in all."""
    for _ in range(3):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(*args, **kwargs)
        if len(queries) == 1:
            return response
    pytest.fail(f"not from the cache: {len(queries)} queries each time, the last {queries.captured_queries}")


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["name"] for row in response.json()["results"]]


@postgres_only
def test_a_repeated_list_costs_only_the_token_lookup(staff_client, ticket, kept_lists):
    first = staff_client.get(LIST, {"show": ticket.show_id})

    # The token's user, with the database's snapshot in the same query; the list comes from
    # the cache.
    again = from_the_cache(staff_client, LIST, {"show": ticket.show_id})

    assert again.status_code == 200
    assert again["Content-Type"] == "application/json"
    assert again.content == first.content  # the same bytes the renderer wrote
    assert names(again) == ["Ada Lovelace"]


@postgres_only
def test_other_urls_are_kept_apart(staff_client, show, kept_lists):
    other = Show.objects.create(title="Other", starts_at=show.starts_at + timedelta(hours=3))
    book(show)
    book(other, GRACE)

    assert names(staff_client.get(LIST, {"show": show.pk})) == ["Ada Lovelace"]
    assert names(staff_client.get(LIST, {"show": other.pk})) == ["Grace Hopper"]
    assert names(staff_client.get(LIST, {"show": show.pk})) == ["Ada Lovelace"]


@postgres_only
@pytest.mark.parametrize("client_kind", ["anonymous", "not staff"])
def test_only_staff_are_answered_from_it(client_kind, staff_client, ticket, kept_lists, user_client):
    assert staff_client.get(LIST).status_code == 200  # kept now
    client = APIClient() if client_kind == "anonymous" else user_client

    response = client.get(LIST)

    assert response.status_code in (401, 403)
    assert "Ada" not in response.content.decode()


@postgres_only
def test_an_invalid_filter_is_a_400_and_not_kept(staff_client, ticket, kept_lists):
    assert staff_client.get(LIST, {"date": "tomorrow"}).status_code == 400
    assert staff_client.get(LIST, {"date": "tomorrow"}).status_code == 400


@postgres_only
def test_a_request_for_other_than_plain_json_reads_the_database(
    staff_client, ticket, kept_lists, django_assert_num_queries
):
    staff_client.get(LIST)

    with django_assert_num_queries(2):  # the token's user and the rows (one page: no COUNT)
        indented = staff_client.get(LIST, HTTP_ACCEPT="application/json; indent=4")

    assert indented.content.startswith(b'{\n    "count": 1')


@postgres_only
def test_staff_logged_in_by_session_read_the_snapshot_apart(ticket, kept_lists, django_assert_max_num_queries):
    admin = get_user_model().objects.create_superuser("root", password="secret-pass-1")
    browser = Client()
    browser.force_login(admin)
    first = browser.get(LIST, HTTP_ACCEPT="application/json")
    Customer.objects.update(name="Ada King")

    assert names(browser.get(LIST, HTTP_ACCEPT="application/json")) == ["Ada King"]
    with django_assert_max_num_queries(3):  # the session, its user, the snapshot
        again = browser.get(LIST, HTTP_ACCEPT="application/json")
    assert again.content != first.content
    assert names(again) == ["Ada King"]


def _api(method: str, path: str, body=None, staff: bool = False):
    def write(ticket: Ticket, staff_client, psql):
        client = staff_client if staff else APIClient()
        data = body(ticket) if callable(body) else body
        return getattr(client, method)(path.format(t=ticket, b=ticket.booking), data, format="json")

    return write


def _orm_update(ticket, *_):
    Customer.objects.filter(pk=ticket.booking.customer_id).update(name="Ada King")


def _orm_save(ticket, *_):
    show = Show.objects.get(pk=ticket.show_id)
    show.title = "Dune: Part Four"
    show.save()


def _raw_sql(ticket, *_):
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {Customer._meta.db_table} SET name = %s", ["Ada King"])


def _psql(ticket, staff_client, psql):
    psql.execute(f"UPDATE {Customer._meta.db_table} SET name = %s", ["Ada King"])


def _admin_check_in(ticket, *_):
    admin = get_user_model().objects.create_superuser("root", password="secret-pass-1")
    browser = Client()
    browser.force_login(admin)
    response = browser.post("/admin/api/ticket/", {"action": "check_in", "_selected_action": [str(ticket.pk)]})
    assert response.status_code == 302


def _expire(ticket, *_):
    with time_machine.travel(ticket.show.starts_at + timedelta(hours=9)):
        call_command("expire_tickets", stdout=StringIO())


def _purge(ticket, *_):
    call_command("purge_expired_tickets", stdout=StringIO())


def _other_show(ticket) -> dict:
    return {**GRACE, "show": ticket.show_id}


WRITES = {
    "book a ticket": _api("post", "/api/tickets", _other_show),
    "book by booking": _api("post", "/api/bookings", lambda t: {**_other_show(t), "quantity": 1}),
    "rename a ticket": _api("patch", "/api/tickets/{t.pk}", {"name": "Ada King"}),
    "cancel a ticket": _api("delete", "/api/tickets/{t.pk}"),
    "cancel a booking": _api("delete", "/api/bookings/{b.reference}?phone_number=%2B914155550123"),
    "check in": _api("post", "/api/tickets/{t.pk}/check-in", staff=True),
    "rename a show": _api("patch", "/api/shows/{t.show_id}", {"title": "Dune: Part Four"}, staff=True),
    "ORM update": _orm_update,
    "ORM save": _orm_save,
    "raw SQL": _raw_sql,
    "psql": _psql,
    "admin action": _admin_check_in,
    "expire job": _expire,
    "purge job": _purge,
}


@postgres_only
@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_every_write_to_what_the_list_shows_ends_the_kept_answer(
    write, staff_client, ticket, kept_lists, settings, psql
):
    if write is _purge:
        Ticket.objects.filter(pk=ticket.pk).update(expired=True)  # before the list is kept
    kept = staff_client.get(LIST).content

    response = write(ticket, staff_client, psql)
    if response is not None:
        assert response.status_code < 300, response.content

    answer = staff_client.get(LIST).content
    settings.STAFF_LIST_CACHE_SECONDS = 0
    fresh = staff_client.get(LIST).content
    assert fresh != kept  # the write changed the list ...
    assert answer == fresh  # ... and the cache's answer is the database's


@postgres_only
def test_any_committed_write_ends_the_kept_answer(staff_client, show, kept_lists, django_assert_num_queries):
    """A hold writes only the holds table, which the list doesn't show: the snapshot can't
    tell, and the list is read again (the price of needing nothing from the writers)."""
    book(show)
    staff_client.get(LIST)
    assert APIClient().post("/api/holds", {"show": show.pk, "quantity": 2}).status_code == 201

    with django_assert_num_queries(2):  # the token with the snapshot, then the rows again
        assert names(staff_client.get(LIST)) == ["Ada Lovelace"]


@postgres_only
def test_an_answer_read_before_a_write_commits_is_not_served_after_it(staff_client, ticket, kept_lists):
    """The snapshot is read before the answer is computed: an answer that a write
    committed during is kept under a snapshot that no later one equals."""
    read_the_database = TicketViewSet._list

    def read_then_a_write_commits(view):
        response = read_the_database(view)
        Customer.objects.update(name="Ada King")  # autocommit: committed now
        return response

    with mock.patch.object(TicketViewSet, "_list", read_then_a_write_commits):
        assert names(staff_client.get(LIST)) == ["Ada Lovelace"]  # computed before the write, then kept

    assert names(staff_client.get(LIST)) == ["Ada King"]


@postgres_only
def test_a_write_still_running_ends_the_answer_when_it_commits(staff_client, ticket, kept_lists, psql):
    psql.execute("BEGIN")
    psql.execute(f"UPDATE {Customer._meta.db_table} SET name = %s", ["Ada King"])
    assert names(staff_client.get(LIST)) == ["Ada Lovelace"]  # kept, with the write running
    assert names(from_the_cache(staff_client, LIST)) == ["Ada Lovelace"]

    psql.execute("COMMIT")

    assert names(staff_client.get(LIST)) == ["Ada King"]


@postgres_only
def test_a_write_that_rolls_back_keeps_the_answer(staff_client, ticket, kept_lists):
    staff_client.get(LIST)

    with pytest.raises(RuntimeError), transaction.atomic():
        Customer.objects.update(name="Ada King")
        raise RuntimeError("the write fails after its UPDATE")
    staff_client.get(LIST)  # the rolled-back transaction was running when the answer was kept

    assert names(from_the_cache(staff_client, LIST)) == ["Ada Lovelace"]


@postgres_only
def test_nothing_is_kept_inside_a_transaction(staff_client, ticket, kept_lists, django_assert_num_queries):
    """Its own writes don't move the snapshot that a transaction reads."""
    with transaction.atomic():
        assert names(staff_client.get(LIST)) == ["Ada Lovelace"]
        Customer.objects.update(name="Ada King")
        with django_assert_num_queries(2):  # the token and the rows: not the kept answer
            assert names(staff_client.get(LIST)) == ["Ada King"]


@postgres_only
def test_the_answer_lasts_at_most_the_setting(staff_client, ticket, kept_lists, settings, django_assert_num_queries):
    settings.STAFF_LIST_CACHE_SECONDS = 5
    with time_machine.travel(timezone.now(), tick=False) as clock:
        staff_client.get(LIST)

        clock.shift(timedelta(seconds=4))
        from_the_cache(staff_client, LIST)
        clock.shift(timedelta(seconds=2))
        with django_assert_num_queries(2):
            assert names(staff_client.get(LIST)) == ["Ada Lovelace"]


@postgres_only
def test_shared_redis_serves_the_kept_answer(staff_client, ticket, kept_lists, redis_cache):
    first = staff_client.get(LIST).content
    assert from_the_cache(staff_client, LIST).content == first

    Customer.objects.update(name="Ada King")

    assert names(staff_client.get(LIST)) == ["Ada King"]


@postgres_only
def test_without_redis_the_list_comes_from_the_database(staff_client, ticket, settings, caplog):
    settings.STAFF_LIST_CACHE_SECONDS = 300
    settings.CACHES = {
        "default": {
            "BACKEND": "booking.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }

    assert names(staff_client.get(LIST)) == ["Ada Lovelace"]
    Customer.objects.update(name="Ada King")
    assert names(staff_client.get(LIST)) == ["Ada King"]
    assert "the cache can't be read" in caplog.text


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite case: CI runs the suite on SQLite too")
def test_sqlite_lists_are_read_from_the_database_each_time(staff_client, ticket, kept_lists, django_assert_num_queries):
    staff_client.get(LIST)
    Customer.objects.update(name="Ada King")

    with django_assert_num_queries(2):  # the token and the rows
        assert names(staff_client.get(LIST)) == ["Ada King"]
