"""The HTML pages with Django's test client: the home page, the e-ticket, and the API's links
to it (a show's page and its booking form: test_show_page.py)."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import segno
import time_machine
from django.contrib.staticfiles import finders
from django.urls import set_script_prefix
from django.utils import timezone

from api.models import Show, Venue
from api.pages import HOME_SHOW_COUNT, QR_SCALE
from api.tests.conftest import ADA as PERSON
from api.tests.conftest import book_seats, book_ticket, hold_seats, make_show, screen_of

pytestmark = pytest.mark.django_db


def book(show: Show, **person):
    return book_ticket(show.pk, **(PERSON | person))


# --- home page ---------------------------------------------------------------------


def test_home_lists_coming_shows_by_venue_and_film_with_free_seats(client, settings):
    settings.THEATRE_NAME = "Odeon Riverside"
    show = make_show(days=3, title="Dune: Part Three")
    book(show)
    hold_seats(show.pk, quantity=2)
    full = make_show(days=4, title="Sold Out Movie", capacity=1)
    book(full)
    untitled = make_show(days=5, title="")  # an open timing (it occupies no time) ...
    book(untitled)  # ... that sold a ticket: listed (one that sold nothing is not)
    later = make_show(days=6, title="Dune: Part Three")
    make_show(days=-1, title="Yesterday's Film")  # started: not a coming show
    venue = Venue.objects.create(name="Odeon Kadıköy", time_zone="Europe/Istanbul", currency="TRY")
    elsewhere = make_show(days=7, screen=screen_of(8, venue=venue), capacity=8, title="Anora")

    response = client.get("/")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    html = response.content.decode()
    assert "<title>Odeon Riverside: coming shows</title>" in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    # Venues by name, films by title, each film's times in order.
    groups = [
        (group["venue"].name, [(film["title"], [s.pk for s in film["shows"]]) for film in group["films"]])
        for group in response.context["venues"]
    ]
    assert groups == [
        ("Main theatre", [("Dune: Part Three", [show.pk, later.pk]), ("Film to be announced", [untitled.pk]),
                          ("Sold Out Movie", [full.pk])]),
        ("Odeon Kadıköy", [("Anora", [elsewhere.pk])]),
    ]  # fmt: skip
    assert html.index("Main theatre") < html.index("Dune: Part Three") < html.index("Odeon Kadıköy")
    # 20 seats less 1 ticket less 2 held, as GET /api/shows counts them; a link to each show page.
    assert "17 of 20 seats free" in html
    assert "8 of 8 seats free" in html
    assert '<span class="seats full">Sold out</span>' in html
    assert f'<a href="/shows/{show.pk}/">' in html
    assert f'<a href="/shows/{elsewhere.pk}/">' in html
    assert "Yesterday&#x27;s Film" not in html
    # Each show's time in its venue's zone.
    local = timezone.localtime(show.starts_at)
    assert f"{local:%a} {local.day} {local:%b} <b>19:30</b>" in html
    istanbul = timezone.localtime(elsewhere.starts_at, venue.zone)
    assert f"<b>{istanbul:%H:%M}</b>" in html
    assert "times in Europe/Istanbul" in html
    assert '<a href="/api/docs/">API docs</a>' in html
    assert '<a href="/admin/">Staff admin</a>' in html
    # The curl example books the first coming show.
    assert "curl -X POST http://testserver/api/tickets" in html
    assert f'"show": {show.pk},' in html


def test_home_shows_the_next_shows_in_three_queries(client, django_assert_num_queries):
    shows = [make_show(days=1 + n // 24, hour=n % 24, minute=0, title=f"Film {n}") for n in range(HOME_SHOW_COUNT + 5)]
    for show in shows[:3]:
        book(show)
    Venue.objects.time_zones()  # kept in the shared cache (a minute at most), as after any day's search

    # Three queries: the shows with their screen, venue and film, and their ticket and hold
    # counts; the day links' show counts (test_home_days.py), a week's in one; whether any
    # show comes after the week.
    with django_assert_num_queries(3):
        response = client.get("/")

    assert response.status_code == 200
    listed = response.context["shows"]
    assert [s.pk for s in listed] == [s.pk for s in sorted(shows, key=lambda s: s.starts_at)[:HOME_SHOW_COUNT]]
    assert [s.seats_available for s in listed[:4]] == [19, 19, 19, 20]


def test_home_lists_no_open_timing_that_sold_nothing(client, api_client):
    # Anyone makes one by holding seats at a free date and time, then releasing them: some
    # fifty such pairs pushed every scheduled show off the page for "Film to be announced".
    scheduled = make_show(days=2, title="Dune: Part Three")
    for hour in (10, 11, 12):
        day = (timezone.localdate() + timedelta(days=1)).isoformat()
        held = api_client.post("/api/holds", {"date": day, "time": f"{hour}:00", "quantity": 1}, format="json")
        assert held.status_code == 201, held.json()
        assert api_client.delete(f"/api/holds/{held.json()['id']}").status_code == 204
    sold = Show.objects.get(starts_at__hour=12)
    book(sold)  # an open timing with a ticket is a show people come to

    listed = client.get("/").context["shows"]

    assert [s.pk for s in listed] == [sold.pk, scheduled.pk]


def test_home_says_which_other_times_the_api_books(client, settings):
    # It said "any other future date and time": open timings reach BOOKING_OPEN_TIMINGS_DAYS
    # ahead (a 400 beyond) and are made on the default venue's screen only (API.md, "Show").
    settings.BOOKING_OPEN_TIMINGS_DAYS = 30
    html = client.get("/").content.decode()

    assert "Any other future date" not in html
    assert "a date and time of the next 30 days at which no show starts" in html
    assert "on the first venue's first screen (a request that names no screen or venue)" in html
    settings.BOOKING_OPEN_TIMINGS = False
    assert "at which no show starts" not in client.get("/").content.decode()


def test_home_without_shows(client):
    response = client.get("/")

    assert response.status_code == 200
    assert "No shows are scheduled yet." in response.content.decode()
    # The example still reads as a request to send.
    assert '"show": 1,' in response.content.decode()


def test_home_only_reads(client):
    assert client.post("/").status_code == 405


# --- e-ticket ----------------------------------------------------------------------


@pytest.fixture
def kolkata_ticket(settings, in_kolkata):
    """A ticket for 1 December 2099 at 19:30 in Kolkata (14:00 UTC), at a venue there."""
    settings.THEATRE_NAME = "Odeon Group"  # (v2) the ticket names its venue, not the theatre
    in_kolkata.name = "Odeon Riverside"
    in_kolkata.save()
    show = Show.objects.create(title="Dune: Part Three", starts_at=datetime(2099, 12, 1, 14, 0, tzinfo=UTC))
    return book_ticket(show.pk, seat="B3", **PERSON)


def test_eticket_shows_the_ticket_in_one_query(client, kolkata_ticket, django_assert_num_queries):
    ticket = kolkata_ticket

    # One query: the ticket with its show, booking and customer joined.
    with django_assert_num_queries(1):
        response = client.get(f"/tickets/{ticket.pk}/")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    # A person's name behind a capability URL: no cache may keep it.
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
    html = response.content.decode()
    assert "<title>E-ticket: Dune: Part Three, 1 Dec 2099 19:30</title>" in html
    assert '<span class="theatre">Odeon Riverside</span>' in html
    assert "<h1>Dune: Part Three</h1>" in html
    assert "<dd>Tuesday 1 December 2099</dd>" in html
    assert '<span class="big">19:30</span> <small>IST</small>' in html
    assert '<dd class="big">B3</dd>' in html
    # Not its booking's reference, which with the booker's phone opens the whole booking.
    assert ticket.booking.reference not in html
    assert "<dd>Ada Lovelace</dd>" in html
    assert "Show this code at the door" in html
    assert "Expired" not in html
    # The phone number is not printed on the ticket.
    assert "4155550123" not in html
    # The QR code is segno's code of the ticket id, inline.
    qr = segno.make(str(ticket.pk), micro=False).svg_inline(scale=QR_SCALE, light="#fff", title=f"Ticket {ticket.pk}")
    assert qr in html
    # One page on paper.
    assert "@media print" in html
    assert "@page { size: A4 portrait;" in html


def test_eticket_does_not_show_its_bookings_reference(client, priced_dune):
    # The guests of a group booking each get their own e-ticket link; the reference with the
    # booker's phone number would open, change and cancel the whole booking (API.md: a ticket
    # read later shows no reference, "booking": null).
    sale = book_seats(priced_dune.pk, quantity=3)

    html = client.get(f"/tickets/{sale.tickets[1].pk}/").content.decode()

    assert sale.booking.reference not in html
    assert "Booking reference" not in html


def test_eticket_escapes_what_people_typed(client, show):
    ticket = book(show, name="<script>alert(1)</script>")
    show.title = "Tom & <b>Jerry</b>"
    show.save()

    html = client.get(f"/tickets/{ticket.pk}/").content.decode()

    assert "<dd>&lt;script&gt;alert(1)&lt;/script&gt;</dd>" in html
    assert "<h1>Tom &amp; &lt;b&gt;Jerry&lt;/b&gt;</h1>" in html
    assert "<script>" not in html


def test_eticket_of_a_show_without_title(client):
    ticket = book(make_show(title=""))

    html = client.get(f"/tickets/{ticket.pk}/").content.decode()

    assert "<h1>Film to be announced</h1>" in html


@pytest.mark.parametrize("path", [f"/tickets/{uuid.uuid4()}/", "/tickets/not-a-uuid/", "/tickets/1/"])
def test_eticket_unknown_id_is_a_404_page(client, ticket, path, django_assert_max_num_queries, settings):
    settings.THEATRE_NAME = "Odeon Riverside"

    with django_assert_max_num_queries(1):
        response = client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "text/html; charset=utf-8"
    html = response.content.decode()
    assert "<h1>No such ticket</h1>" in html
    assert '<a href="/">Odeon Riverside: coming shows</a>' in html
    assert str(ticket.pk) not in html


def test_other_unknown_pages_are_a_404_page(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in response.content.decode()


def test_eticket_expired_by_the_job_says_so(client, ticket):
    ticket.expired = True
    ticket.save(update_fields=["expired"])

    response = client.get(f"/tickets/{ticket.pk}/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "<title>Expired ticket:" in html
    assert '<p class="expired" role="alert"><strong>Expired</strong> This ticket is no longer valid' in html
    assert "Not valid for entry" in html
    assert "Show this code at the door" not in html


@pytest.mark.parametrize(
    ("after_start", "expired"),
    [
        (timedelta(hours=8) - timedelta(seconds=1), False),
        (timedelta(hours=8), True),  # exactly 8 hours counts as expired
        (timedelta(days=2), True),
    ],
)
def test_eticket_expires_8_hours_after_the_show_before_the_job_runs(client, ticket, after_start, expired):
    with time_machine.travel(ticket.show.starts_at + after_start, tick=False):
        response = client.get(f"/tickets/{ticket.pk}/")

    assert response.status_code == 200
    html = response.content.decode()
    assert ("This ticket is no longer valid" in html) is expired
    assert ("Show this code at the door" in html) is not expired


def test_eticket_says_when_it_was_checked_in(client, ticket, in_kolkata):
    ticket.checked_in_at = datetime(2099, 12, 1, 13, 50, tzinfo=UTC)
    ticket.save(update_fields=["checked_in_at"])

    html = client.get(f"/tickets/{ticket.pk}/").content.decode()

    assert "Checked in at the door on 1 Dec 2099 at 19:20." in html


# --- links from the API ------------------------------------------------------------


def test_ticket_api_links_to_its_eticket(api_client, show):
    response = api_client.post("/api/tickets", {**PERSON, "show": show.pk}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["url"] == f"http://testserver/tickets/{body['id']}/"
    assert api_client.get(f"/api/tickets/{body['id']}").json()["url"] == body["url"]
    page = api_client.get(f"/tickets/{body['id']}/")
    assert page.status_code == 200
    assert f'<dd class="big">{body["seat"]}</dd>' in page.content.decode()


def test_each_tickets_link_is_its_own_whatever_the_host(api_client, show, settings):
    # An answer's links are made once with a stand-in id (the nil UUID), which each
    # ticket's id replaces: a host a wildcard allows may hold the stand-in too.
    settings.ALLOWED_HOSTS = [".example.com"]
    host = "00000000-0000-0000-0000-000000000000.example.com"

    response = api_client.post(
        "/api/bookings", {**PERSON, "show": show.pk, "quantity": 2}, format="json", HTTP_HOST=host
    )

    assert response.status_code == 201
    tickets = response.json()["tickets"]
    assert [t["url"] for t in tickets] == [f"http://{host}/tickets/{t['id']}/" for t in tickets]


def test_a_tickets_link_follows_where_the_app_is_mounted(api_client, show):
    """The e-ticket's path is reversed once for each script prefix (an app served under a
    path of its host: the WSGI handler sets it from SCRIPT_NAME, which the test client
    doesn't) and URL configuration, not once for all."""
    first = api_client.post("/api/tickets", {**PERSON, "show": show.pk}, format="json").json()
    set_script_prefix("/box-office/")
    try:
        mounted = api_client.post("/api/tickets", {**PERSON, "show": show.pk}, format="json").json()
    finally:
        set_script_prefix("/")

    assert mounted["url"] == f"http://testserver/box-office/tickets/{mounted['id']}/"
    assert first["url"] == f"http://testserver/tickets/{first['id']}/"


def test_booking_api_links_each_ticket_to_its_eticket(api_client, show):
    response = api_client.post("/api/bookings", {**PERSON, "show": show.pk, "quantity": 2}, format="json")

    assert response.status_code == 201
    tickets = response.json()["tickets"]
    assert [t["url"] for t in tickets] == [f"http://testserver/tickets/{t['id']}/" for t in tickets]
    reference = response.json()["reference"]
    again = api_client.get(f"/api/bookings/{reference}", {"phone_number": PERSON["phone_number"]})
    assert [t["url"] for t in again.json()["tickets"]] == [t["url"] for t in tickets]
    for ticket in tickets:
        html = api_client.get(f"/tickets/{ticket['id']}/").content.decode()
        assert f'<dd class="big">{ticket["seat"]}</dd>' in html
        assert reference not in html  # the guest's page: see test_eticket_does_not_show_its_bookings_reference


def test_the_icon_is_the_pages_not_a_404_for_each(client):
    """Browsers ask every page's /favicon.ico (the admin's pages too): a 404, logged each
    time, before the pages had an icon."""
    response = client.get("/favicon.ico")

    assert (response.status_code, response["Location"]) == (302, "/static/api/favicon.svg")
    assert b'<link rel="icon" href="/static/api/favicon.svg"' in client.get("/").content
    icon = finders.find("api/favicon.svg")
    assert icon and open(icon, encoding="utf-8").read().startswith("<svg ")
