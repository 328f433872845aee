"""The staff ticket list's cache (STAFF_LIST_CACHE_SECONDS, api/listcache.py): an answer is
kept until the next committed write to tickets, shows, bookings or customers, whichever
code writes; staff read the same bytes as from the database, and nobody else reads them."""

from datetime import timedelta
from io import StringIO
from unittest import mock

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone
from psycopg import sql
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from api import listcache, services
from api.models import Booking, Customer, Show, Ticket
from api.views import TicketViewSet

pytestmark = pytest.mark.django_db

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
def commits(django_capture_on_commit_callbacks):
    """Runs what a test's write registers on commit, as a real commit would, when it ends."""

    def run():
        return django_capture_on_commit_callbacks(execute=True)

    return run


def book(show, person=ADA) -> Ticket:
    return services.ticket_book(choice=services.ShowChoice(show_id=show.pk), **person)


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["name"] for row in response.json()["results"]]


def test_a_repeated_list_costs_only_the_token_lookup(staff_client, ticket, kept_lists, django_assert_num_queries):
    first = staff_client.get(LIST, {"show": ticket.show_id})

    with django_assert_num_queries(1):  # the token's user; the list comes from the cache
        again = staff_client.get(LIST, {"show": ticket.show_id})

    assert again.status_code == 200
    assert again["Content-Type"] == "application/json"
    assert again.content == first.content  # the same bytes the renderer wrote
    assert names(again) == ["Ada Lovelace"]


def test_other_urls_are_kept_apart(staff_client, show, kept_lists):
    other = Show.objects.create(title="Other", starts_at=show.starts_at + timedelta(hours=3))
    book(show)
    book(other, GRACE)

    assert names(staff_client.get(LIST, {"show": show.pk})) == ["Ada Lovelace"]
    assert names(staff_client.get(LIST, {"show": other.pk})) == ["Grace Hopper"]
    assert names(staff_client.get(LIST, {"show": show.pk})) == ["Ada Lovelace"]


@pytest.mark.parametrize("client_kind", ["anonymous", "not staff"])
def test_only_staff_are_answered_from_it(client_kind, staff_client, ticket, kept_lists, user_client):
    assert staff_client.get(LIST).status_code == 200  # kept now
    client = APIClient() if client_kind == "anonymous" else user_client

    response = client.get(LIST)

    assert response.status_code in (401, 403)
    assert "Ada" not in response.content.decode()


def test_an_invalid_filter_is_a_400_and_not_kept(staff_client, ticket, kept_lists):
    assert staff_client.get(LIST, {"date": "tomorrow"}).status_code == 400
    assert staff_client.get(LIST, {"date": "tomorrow"}).status_code == 400


def test_a_request_for_other_than_plain_json_reads_the_database(
    staff_client, ticket, kept_lists, django_assert_num_queries
):
    staff_client.get(LIST)

    with django_assert_num_queries(2):  # the token's user and the rows (one page: no COUNT)
        indented = staff_client.get(LIST, HTTP_ACCEPT="application/json; indent=4")

    assert indented.content.startswith(b'{\n    "count": 1')


def test_writes_to_other_tables_keep_the_answer(staff_client, show, kept_lists, commits, django_assert_num_queries):
    book(show)
    staff_client.get(LIST)

    with commits():  # a hold writes only the holds table
        assert APIClient().post("/api/holds", {"show": show.pk, "quantity": 2}).status_code == 201

    with django_assert_num_queries(1):
        assert names(staff_client.get(LIST)) == ["Ada Lovelace"]


def _api(method: str, path: str, body=None, staff: bool = False):
    def write(ticket: Ticket, staff_client):
        client = staff_client if staff else APIClient()
        data = body(ticket) if callable(body) else body
        return getattr(client, method)(path.format(t=ticket, b=ticket.booking), data, format="json")

    return write


def _orm_update(ticket, _):
    Customer.objects.filter(pk=ticket.booking.customer_id).update(name="Ada King")


def _orm_save(ticket, _):
    show = Show.objects.get(pk=ticket.show_id)
    show.title = "Dune: Part Four"
    show.save()


def _raw_sql(ticket, _):
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {Customer._meta.db_table} SET name = %s", ["Ada King"])


def _admin_check_in(ticket, _):
    admin = get_user_model().objects.create_superuser("root", password="secret-pass-1")
    browser = Client()
    browser.force_login(admin)
    response = browser.post("/admin/api/ticket/", {"action": "check_in", "_selected_action": [str(ticket.pk)]})
    assert response.status_code == 302


def _expire(ticket, _):
    with time_machine.travel(ticket.show.starts_at + timedelta(hours=9)):
        call_command("expire_tickets", stdout=StringIO())


def _purge(ticket, _):
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
    "admin action": _admin_check_in,
    "expire job": _expire,
    "purge job": _purge,
}


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_every_write_to_what_the_list_shows_ends_the_kept_answer(
    write, staff_client, ticket, kept_lists, commits, settings
):
    if write is _purge:
        # Expired before the list is kept: only the purge's own DELETEs may end it.
        with commits():
            Ticket.objects.filter(pk=ticket.pk).update(expired=True)
    kept = staff_client.get(LIST).content

    with commits():
        response = write(ticket, staff_client)
    if response is not None:
        assert response.status_code < 300, response.content

    answer = staff_client.get(LIST).content
    settings.STAFF_LIST_CACHE_SECONDS = 0
    fresh = staff_client.get(LIST).content
    assert fresh != kept  # the write changed the list ...
    assert answer == fresh  # ... and the cache's answer is the database's


def test_an_answer_read_before_a_write_commits_is_not_served_after_it(staff_client, ticket, kept_lists, commits):
    """The generation is read before the answer is computed, and replaced once a write
    commits: an answer older than the write is kept under the generation before it."""
    read_the_database = TicketViewSet._list

    def read_then_a_write_commits(view):
        response = read_the_database(view)
        with commits():
            Customer.objects.update(name="Ada King")
        return response

    with mock.patch.object(TicketViewSet, "_list", read_then_a_write_commits):
        assert names(staff_client.get(LIST)) == ["Ada Lovelace"]  # computed before the write, then kept

    assert names(staff_client.get(LIST)) == ["Ada King"]


def test_a_write_that_rolls_back_keeps_the_answer(staff_client, ticket, kept_lists, commits, django_assert_num_queries):
    staff_client.get(LIST)

    with commits(), pytest.raises(RuntimeError):
        with transaction.atomic():
            Customer.objects.update(name="Ada King")
            raise RuntimeError("the write fails after its UPDATE")

    with django_assert_num_queries(1):
        assert names(staff_client.get(LIST)) == ["Ada Lovelace"]


def test_a_lost_generation_is_started_again(staff_client, ticket, kept_lists):
    """An evicted or flushed generation: no answer kept before is served."""
    kept = staff_client.get(LIST).content
    cache.delete(listcache.GENERATION_KEY)
    Customer.objects.update(name="Ada King")  # no commit hook runs: only the lost key tells

    assert names(staff_client.get(LIST)) == ["Ada King"]
    assert staff_client.get(LIST).content != kept


def test_the_answer_lasts_at_most_the_setting(staff_client, ticket, kept_lists, settings):
    settings.STAFF_LIST_CACHE_SECONDS = 5
    with time_machine.travel(timezone.now(), tick=False) as clock:
        staff_client.get(LIST)
        Customer.objects.update(name="Ada King")  # as by psql: no commit hook runs

        clock.shift(timedelta(seconds=4))
        assert names(staff_client.get(LIST)) == ["Ada Lovelace"]
        clock.shift(timedelta(seconds=2))
        assert names(staff_client.get(LIST)) == ["Ada King"]


def test_shared_redis_serves_the_kept_answer(staff_client, ticket, kept_lists, redis_cache, commits):
    first = staff_client.get(LIST).content
    assert staff_client.get(LIST).content == first

    with commits():
        Customer.objects.update(name="Ada King")

    assert names(staff_client.get(LIST)) == ["Ada King"]


def test_only_select_statements_leave_the_generation(kept_lists, commits):
    with commits() as hooks:
        list(Ticket.objects.select_for_update().filter(show_id=-1))
        list(Customer.objects.all())
    assert hooks == []

    with commits() as hooks:
        Booking.objects.filter(pk=-1).update(reference="ABCDEF")  # an UPDATE, of no row
    assert hooks == [listcache._new_generation]


@pytest.mark.django_db(transaction=True)
def test_real_commits_end_the_answer(staff_client, show, kept_lists):
    """Outside a test transaction: autocommit statements and atomic blocks really commit."""
    book(show)
    assert names(staff_client.get(LIST)) == ["Ada Lovelace"]

    assert APIClient().post(LIST, {**GRACE, "show": show.pk}, format="json").status_code == 201
    assert names(staff_client.get(LIST)) == ["Ada Lovelace", "Grace Hopper"]

    Customer.objects.filter(name="Grace Hopper").update(name="Grace Brewster")  # autocommit
    assert names(staff_client.get(LIST)) == ["Ada Lovelace", "Grace Brewster"]


@pytest.mark.django_db(transaction=True)
def test_a_transaction_managed_by_hand_tells_at_once(kept_lists, show):
    before = listcache._start_generation()
    transaction.set_autocommit(False)
    try:
        Show.objects.filter(pk=show.pk).update(title="Dune: Part Four")
        assert cache.get(listcache.GENERATION_KEY) != before  # no commit hook would run
        transaction.commit()
    finally:
        transaction.set_autocommit(True)


def test_processes_sharing_redis_tell_of_writes_whatever_their_setting(settings, redis_cache, commits):
    settings.STAFF_LIST_CACHE_SECONDS = 0  # a shell or a job set up without the cache
    before = listcache._start_generation()

    with commits():
        Customer.objects.update(name="Ada King")

    assert cache.get(listcache.GENERATION_KEY) != before


def test_without_redis_the_list_comes_from_the_database(staff_client, ticket, settings, commits, caplog):
    settings.STAFF_LIST_CACHE_SECONDS = 300
    settings.CACHES = {
        "default": {
            "BACKEND": "booking.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }

    assert names(staff_client.get(LIST)) == ["Ada Lovelace"]
    with commits():  # the write commits; telling the lists fails, and is logged
        Customer.objects.update(name="Ada King")
    assert names(staff_client.get(LIST)) == ["Ada King"]
    assert "the cache can't be read" in caplog.text
    assert "Could not start a new staff list generation" in caplog.text


def test_mixed_case_and_composed_sql_count_as_writes():
    assert listcache._writes_watched_table("UPDATE API_TICKET SET expired = true")
    assert listcache._writes_watched_table(sql.SQL("DELETE FROM api_ticket"))
    assert listcache._writes_watched_table("  with b as (insert into api_booking ...) select 1")
    assert not listcache._writes_watched_table("SELECT seat FROM api_ticket WHERE show_id = %s FOR UPDATE")
    assert not listcache._writes_watched_table("INSERT INTO api_hold (show_id) VALUES (1)")
