# ruff: noqa: F811  (pytest fixtures imported from admin_helpers, used as arguments)
"""The staff admin of the box office: lists at a fixed query cost, who may see and change
what, and the ticket actions. The booking rules kept in its forms:
test_admin_booking_rules.py."""

import csv
import io
from datetime import timedelta
from urllib.parse import urlencode

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api.admin.sales import CSV_HEADER
from api.models import AuditEntry, Customer, Show, Ticket, Venue
from api.tests.admin_helpers import (
    NOW,
    _at,
    _book,
    _messages,
    frozen,  # noqa: F401 (the fixture)
    theatre,  # noqa: F401 (the fixture)
)
from api.tests.conftest import make_show, screen_of

pytestmark = pytest.mark.django_db


def _result_count(response) -> int:
    assert response.status_code == 200
    return response.context["cl"].result_count


# --- the changelists, at a fixed cost ----------------------------------------------------

_today = urlencode({"created_at__gte": "2030-06-15 00:00:00+00:00", "created_at__lt": "2030-06-16 00:00:00+00:00"})

CHANGELISTS = [
    # (url, rows expected): each list alone, with each filter, and with a search.
    ("/admin/api/show/", 10),
    ("/admin/api/show/?status=upcoming", 8),
    ("/admin/api/show/?status=started", 1),
    ("/admin/api/show/?status=expired", 1),
    ("/admin/api/show/?show_date=tomorrow", 1),
    ("/admin/api/show/?show_date=week", 8),  # today's two (one started), then one a day
    ("/admin/api/show/?q=dune", 4),
    ("/admin/api/show/?status=upcoming&q=spirited", 4),
    ("/admin/api/ticket/", 200),
    ("/admin/api/ticket/?expired__exact=1", 20),
    ("/admin/api/ticket/?expired__exact=0", 180),
    ("/admin/api/ticket/?checked_in=yes", 10),
    ("/admin/api/ticket/?checked_in=no", 190),
    ("/admin/api/ticket/?show_date=today", 40),  # the show at 19:00 and the one that started at 11:00
    ("/admin/api/ticket/?show_date=tomorrow", 20),
    ("/admin/api/ticket/?show_date=week", 160),
    ("/admin/api/ticket/?show_date=past", 20),
    ("/admin/api/ticket/?q=%22Person+07%22", 6),  # bookings 7, 47 and 87, 2 tickets each
    ("/admin/api/ticket/?q=4155550107", 6),
    ("/admin/api/ticket/?q=R00042", 2),
    ("/admin/api/ticket/?q=r00+042", 2),  # a reference as people copy it: any case, spaces
    ("/admin/api/ticket/?checked_in=no&expired__exact=0&show_date=week&q=Person", 150),
    ("/admin/api/customer/", 40),
    ("/admin/api/customer/?q=%22Person+07%22", 1),
    ("/admin/api/customer/?q=%2B914155550139", 1),
    ("/admin/api/booking/", 100),
    (f"/admin/api/booking/?{_today}", 100),  # the filter's "Today"
    ("/admin/api/booking/?" + urlencode({"created_at__gte": "2030-06-16 00:00:00+00:00"}), 0),
    ("/admin/api/booking/?q=R00042", 1),
    ("/admin/api/booking/?q=r00+042", 1),
    ("/admin/api/booking/?q=%22Person+07%22", 3),
]


# Queries per page: session, user, the filtered count, the full count (not of tickets,
# people and bookings, whose tables grow by the million: admin.base.ManyRows), the page of
# rows (shows, customers and bookings with their counts as subqueries; tickets joined to
# show, booking and customer); for shows, the venues of the venue filter; by show date,
# the venues' zones (each venue's own day; kept a minute in the shared cache). Never one
# per row: the page holds 100 rows.
QUERIES = {"show": 6, "ticket": 4, "customer": 4, "booking": 4}


def _queries(url: str) -> int:
    return QUERIES[url.split("/")[3]] + ("show_date=" in url)


@pytest.mark.parametrize(("url", "rows"), CHANGELISTS)
def test_changelist_costs_a_fixed_number_of_queries(staff, theatre, django_assert_max_num_queries, url, rows):
    with django_assert_max_num_queries(_queries(url)):
        response = staff.get(url)
    assert _result_count(response) == rows
    assert len(response.context["cl"].result_list) == min(rows, 100)


@pytest.mark.parametrize("url", ["/admin/api/auditentry/?q=staff", "/admin/api/webhookevent/?status__exact=pending"])
def test_the_trail_and_the_delivery_log_count_a_filtered_page_once(staff, theatre, url):
    # Not the whole table again for "(N total)": 130 to 250 ms a load with 3,000,000 audit
    # entries or 2,000,000 tickets, where the rest of an unfiltered page took 20 ms.
    with CaptureQueriesContext(connection) as queries:
        assert staff.get(url).status_code == 200
    assert [q["sql"] for q in queries if "COUNT(" in q["sql"]] == [
        next(q["sql"] for q in queries if "COUNT(" in q["sql"] and "WHERE" in q["sql"])
    ]


def test_ticket_search_by_short_id(staff, theatre):
    ticket = Ticket.objects.order_by("pk").first()
    assert ticket is not None
    response = staff.get("/admin/api/ticket/", {"q": str(ticket.id)[:8]})
    assert [t.pk for t in response.context["cl"].result_list] == [ticket.pk]
    response = staff.get("/admin/api/ticket/", {"q": str(ticket.id)})
    assert [t.pk for t in response.context["cl"].result_list] == [ticket.pk]
    response = staff.get("/admin/api/ticket/", {"q": str(ticket.id).upper().replace("-", "")})
    assert [t.pk for t in response.context["cl"].result_list] == [ticket.pk]
    # A hyphen alone is no id's start (the start of every id): it finds no ticket by id.
    assert _result_count(staff.get("/admin/api/ticket/", {"q": "-"})) == 0


def test_a_short_id_is_not_read_as_a_phone_numbers_digits(staff, theatre):
    # The search once took the digits of any term: a short id such as "01e0a7ff" found every
    # holder whose number holds "0107", and the short id search above failed by chance.
    term = "01e0a7ff"
    assert Customer.objects.filter(phone_number__contains="0107").exists()
    response = staff.get("/admin/api/ticket/", {"q": term})
    expected = [t.pk for t in Ticket.objects.all() if str(t.pk).startswith(term)]
    assert [t.pk for t in response.context["cl"].result_list] == expected


def test_ticket_list_shows_the_columns(staff, theatre):
    ticket = Ticket.objects.select_related("holder").get(show=theatre["shows"][1], seat="B4")
    response = staff.get("/admin/api/ticket/", {"q": str(ticket.id)[:8]})
    html = response.content.decode()
    for text in [str(ticket.id)[:8], ticket.holder.name, "+914155550116", "2030-06-16 19:00", "B4"]:
        assert text in html
    assert f'href="/admin/api/booking/{ticket.booking_id}/change/">{ticket.booking.reference}</a>' in html


def test_show_list_shows_counts_and_occupancy(staff, frozen):
    show = Show.objects.create(title="Half full", starts_at=_at(3, 19), capacity=4)
    _book(show, seat="A1")
    _book(show, seat="A2")
    response = staff.get("/admin/api/show/")
    (row,) = response.context["cl"].result_list
    assert (row.tickets_booked, row.seats_available) == (2, 2)
    html = response.content.decode()
    assert "2030-06-18 19:00" in html
    assert f'<a href="/admin/api/ticket/?show__id__exact={show.pk}">2</a>' in html
    assert '<div style="width:50px;height:10px;background:#417690;border-radius:2px"></div>' in html


def test_a_started_shows_occupancy_is_its_tickets_not_full(staff, frozen):
    # A started show sells no seat (seats_available 0): the bar, capacity less that, read 100 %.
    show = Show.objects.create(title="Running", starts_at=timezone.now() + timedelta(minutes=10), capacity=4)
    _book(show, seat="A1")

    with time_machine.travel(show.starts_at + timedelta(minutes=10), tick=False):
        html = staff.get("/admin/api/show/").content.decode()

    assert '<div title="25% taken"' in html


def test_show_page_lists_its_tickets_read_only(staff, frozen):
    show = Show.objects.create(title="Dune", starts_at=_at(3, 19), capacity=20)
    ticket = _book(show, name="Grace Hopper", phone="+914155550999", seat="B4")
    html = staff.get(f"/admin/api/show/{show.pk}/change/").content.decode()
    for text in ["B4", "Grace Hopper", "+914155550999", ticket.booking.reference]:
        assert text in html
    assert 'name="tickets-0-seat"' not in html  # read-only: no inputs for the tickets


def test_customer_and_booking_pages_show_their_tickets(staff, frozen):
    show = Show.objects.create(title="Dune", starts_at=_at(3, 19), capacity=20)
    ticket = _book(show, name="Grace Hopper", seat="B3")  # B2 would leave B1 alone
    booking = ticket.booking
    html = staff.get(f"/admin/api/customer/{booking.customer_id}/change/").content.decode()
    assert booking.reference in html
    html = staff.get(f"/admin/api/booking/{booking.pk}/change/").content.decode()
    assert "B3" in html and f"/admin/api/ticket/{ticket.pk}/change/" in html
    response = staff.get(f"/admin/api/ticket/?holder__id__exact={booking.customer_id}")
    assert [t.pk for t in response.context["cl"].result_list] == [ticket.pk]


def test_a_tickets_moments_read_in_its_venues_time(staff, frozen):
    """The ticket's page, and the show's and booking's lists of tickets, gave booked_at and
    checked_in_at in TIME_ZONE (UTC here) without saying so; staff at a Tokyo venue read
    them nine hours out."""
    venue = Venue.objects.create(name="Toho Hibiya", time_zone="Asia/Tokyo", currency="JPY", country="JP")
    show = make_show(screen=screen_of(20, venue=venue))
    ticket = _book(show, seat="B3")
    Ticket.objects.filter(pk=ticket.pk).update(checked_in_at=NOW + timedelta(minutes=5))
    tokyo = "2030-06-15 21:05:00 +0900"  # NOW (noon UTC) and five minutes, in Tokyo

    page = staff.get(f"/admin/api/ticket/{ticket.pk}/change/").content.decode()
    assert tokyo in page and "2030-06-15 21:00:00 +0900" in page  # checked in; booked at NOW
    for url in [f"/admin/api/show/{show.pk}/change/", f"/admin/api/booking/{ticket.booking_id}/change/"]:
        assert tokyo in staff.get(url).content.decode(), url


def test_admin_is_titled_with_the_theatre_name(staff):
    response = staff.get("/admin/")
    assert response.status_code == 200
    assert f"{settings.THEATRE_NAME} administration" in response.content.decode()


# --- access ------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/admin/", "/admin/api/ticket/", "/admin/api/show/1/change/"])
def test_non_staff_user_is_sent_to_the_login_page(client, url):
    user = get_user_model().objects.create_user("customer", password="secret-pass-1")
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/admin/login/?next={url}"


def test_anonymous_is_sent_to_the_login_page(client):
    response = client.get("/admin/api/ticket/")
    assert (response.status_code, response["Location"]) == (302, "/admin/login/?next=/admin/api/ticket/")


def test_tickets_are_not_added_in_the_admin(staff):
    assert staff.get("/admin/api/ticket/add/").status_code == 403


def test_customers_are_not_deleted_in_the_admin(staff):
    # The purge deletes a person once no booking is left, guarded against a booking that
    # reuses them meanwhile; the admin's delete would not be (Booking.customer has no
    # database constraint).
    eve = Customer.objects.create(name="Eve Left", phone_number="+914155550105")

    assert staff.get(f"/admin/api/customer/{eve.pk}/delete/").status_code == 403
    response = staff.post("/admin/api/customer/", {"action": "delete_selected", "_selected_action": [eve.pk]})

    assert Customer.objects.filter(pk=eve.pk).exists()
    assert response.status_code in (200, 302)


def test_customers_are_not_changed_in_the_admin(staff, frozen):
    # The API changes a ticket's person (the ticket then names another customer record),
    # never a customer record: a change here would rename every booking and ticket of the
    # person at once, with no entry in the audit trail.
    show = Show.objects.create(title="Dune", starts_at=_at(3, 19), capacity=20)
    ada = _book(show, seat="A4").holder
    url = f"/admin/api/customer/{ada.pk}/change/"
    page = staff.get(url)
    assert page.status_code == 200 and 'name="name"' not in page.content.decode()  # shown, not a field
    assert "Ada Lovelace" in page.content.decode()
    entries = AuditEntry.objects.count()
    form = {"name": "Grace Hopper", "phone_number": "+914155550199"}
    response = staff.post(url, {**form, "bookings-TOTAL_FORMS": 1, "bookings-INITIAL_FORMS": 1})
    assert response.status_code == 403
    ada.refresh_from_db()
    assert (ada.name, str(ada.phone_number)) == ("Ada Lovelace", "+914155550123")
    assert AuditEntry.objects.count() == entries


# --- actions -----------------------------------------------------------------------------


def _act(client, action: str, tickets, follow: bool = True):
    return client.post(
        "/admin/api/ticket/", {"action": action, "_selected_action": [str(t.pk) for t in tickets]}, follow=follow
    )


def test_check_in_action(staff, theatre):
    upcoming = list(Ticket.objects.filter(show=theatre["shows"][3]).order_by("seat")[:3])
    expired = Ticket.objects.filter(show=theatre["expired"]).first()
    early = Ticket.objects.filter(show=theatre["shows"][4]).first()  # the next day's show
    assert expired is not None and early is not None
    doors_open = theatre["shows"][3].starts_at - timedelta(hours=1)
    Ticket.objects.filter(pk=upcoming[0].pk).update(checked_in_at=doors_open - timedelta(minutes=5))
    with time_machine.travel(doors_open, tick=False):
        response = _act(staff, "check_in", [*upcoming, expired, early])
    assert response.status_code == 200
    assert _messages(response) == [
        "Checked in 2 tickets.",
        "Left unchanged: 1 checked in already, 1 expired, 1 too early.",
    ]
    checked = dict(
        Ticket.objects.filter(pk__in=[t.pk for t in [*upcoming, expired, early]]).values_list("pk", "checked_in_at")
    )
    assert checked == {
        upcoming[0].pk: doors_open - timedelta(minutes=5),
        upcoming[1].pk: doors_open,
        upcoming[2].pk: doors_open,
        expired.pk: None,
        early.pk: None,
    }
    assert Ticket.objects.filter(checked_in_at__isnull=False).count() == 10 + 3


def test_undo_check_in_action(staff, theatre):
    checked = list(Ticket.objects.filter(show=theatre["started"], checked_in_at__isnull=False)[:4])
    untouched = Ticket.objects.filter(show=theatre["started"], checked_in_at__isnull=True).first()
    response = _act(staff, "undo_check_in", [*checked, untouched])
    assert _messages(response) == ["Undid the check-in of 4 tickets."]
    assert not Ticket.objects.filter(pk__in=[t.pk for t in checked], checked_in_at__isnull=False).exists()
    assert Ticket.objects.filter(checked_in_at__isnull=False).count() == 10 - 4


def test_mark_expired_action(staff, theatre):
    # Tickets of a started show only (no-shows): an expired ticket is deleted by the next
    # purge, and one of a show to come would be a cancellation without its events. It
    # marked any ticket before, the upcoming show's in this test among them.
    chosen = list(Ticket.objects.filter(show=theatre["started"])[:5])
    coming = list(Ticket.objects.filter(show=theatre["shows"][2])[:2])
    response = _act(staff, "mark_expired", [*chosen, *coming])
    assert _messages(response) == ["Marked 5 tickets expired.", "Left unchanged: 2 of a show not started yet."]
    assert set(Ticket.objects.filter(expired=True, show=theatre["started"]).values_list("pk", flat=True)) == {
        t.pk for t in chosen
    }
    assert Ticket.objects.filter(expired=True).count() == 20 + 5


def test_export_csv_action(staff, frozen):
    show = Show.objects.create(title="Dune", starts_at=_at(3, 19, 30), capacity=20)
    first = _book(show, name="Ada Lovelace", phone="+914155550123", seat="A3")
    # Seats that leave no free seat alone (B2 would strand B1, A5 would strand A4).
    second = _book(show, name="=HYPERLINK(evil)", phone="+914155550124", seat="B3")
    _book(show, name="Not Selected", phone="+914155550125", seat="A6")
    Ticket.objects.filter(pk=first.pk).update(checked_in_at=NOW)
    response = _act(staff, "export_csv", [second, first], follow=False)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="tickets-20300615-1200.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [
        CSV_HEADER,
        [
            str(first.pk),
            "Ada Lovelace",
            "+914155550123",
            "Dune",
            "2030-06-18T19:30+00:00",
            "A3",
            first.booking.reference,
            "no",
            "2030-06-15T12:00:00+00:00",
            "2030-06-15T12:00:00+00:00",
        ],
        [
            str(second.pk),
            "'=HYPERLINK(evil)",  # kept as text by spreadsheets, never run as a formula
            "+914155550124",
            "Dune",
            "2030-06-18T19:30+00:00",
            "B3",
            second.booking.reference,
            "no",
            "",
            "2030-06-15T12:00:00+00:00",
        ],
    ]


def test_export_csv_gives_a_tickets_times_in_its_venues_zone_as_the_api_does(staff, frozen, api_client):
    # The start was in the venue's zone, the check-in and booking times in TIME_ZONE: one
    # row, two clocks, and not the times the ticket's own page and API answer give.
    istanbul = Venue.objects.create(name="Kadikoy", time_zone="Europe/Istanbul", currency="TRY", country="TR")
    show = make_show(screen=screen_of(10, venue=istanbul), capacity=10)
    ticket = _book(show)
    Ticket.objects.filter(pk=ticket.pk).update(checked_in_at=NOW)

    response = _act(staff, "export_csv", [ticket], follow=False)

    (row,) = list(csv.reader(io.StringIO(response.content.decode())))[1:]
    read = api_client.get(f"/api/tickets/{ticket.pk}").json()
    answered = (read["starts_at"].replace(":00+", "+"), read["checked_in_at"], read["booked_at"])
    assert (row[4], row[8], row[9]) == answered
    assert row[8:] == ["2030-06-15T15:00:00+03:00", "2030-06-15T15:00:00+03:00"]
