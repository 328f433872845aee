"""The HTML pages with Django's test client: the home page and the e-ticket."""

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import segno
import time_machine
from django.contrib.staticfiles import finders
from django.test import Client
from django.utils import timezone

from api.errors import ShowBusy
from api.models import AuditEntry, Booking, Screen, Show, ShowPrice, Ticket, TicketType, Venue
from api.pages import HOME_SHOW_COUNT, QR_SCALE
from api.services import catalog, sales
from api.tests.conftest import book_seats, book_ticket, hold_seats, make_show, screen_of

pytestmark = pytest.mark.django_db

PERSON = {"name": "Ada Lovelace", "phone_number": "+914155550123"}


@pytest.fixture
def client() -> Client:
    return Client()


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


def test_home_shows_the_next_shows_in_one_query(client, django_assert_num_queries):
    shows = [make_show(days=1 + n // 24, hour=n % 24, minute=0, title=f"Film {n}") for n in range(HOME_SHOW_COUNT + 5)]
    for show in shows[:3]:
        book(show)

    # One query: the shows with their screen, venue and film, and their ticket and hold counts.
    with django_assert_num_queries(1):
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
def in_kolkata(db) -> Venue:
    """The default venue (where version-1 shows play) is in Kolkata."""
    venue = Screen.objects.default().venue
    venue.time_zone = "Asia/Kolkata"
    venue.save()
    return venue


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


def test_eticket_does_not_show_its_bookings_reference(client, priced):
    # The guests of a group booking each get their own e-ticket link; the reference with the
    # booker's phone number would open, change and cancel the whole booking (API.md: a ticket
    # read later shows no reference, "booking": null).
    sale = book_seats(priced.pk, quantity=3)

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


# --- a show's page -------------------------------------------------------------------


def _price(show: Show, key: str, amount: str, category: str = "standard") -> None:
    ShowPrice.objects.create(show=show, ticket_type=TicketType.objects.get(key=key), category=category, amount=amount)


@pytest.fixture
def priced(db) -> Show:
    show = make_show(days=3, title="Dune: Part Three")
    _price(show, "adult", "12.50")
    _price(show, "child", "8.00")
    return show


def test_show_page_names_the_show_and_every_seat_by_status(client, priced, in_kolkata):
    book_ticket(priced.pk, seat="A3")
    hold_seats(priced.pk, seats=["B1", "B2"])
    catalog.seats_block(show_id=priced.pk, seats=["A10"], reason="broken", now=timezone.now())

    response = client.get(f"/shows/{priced.pk}/")

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    assert "<h1>Dune: Part Three</h1>" in html
    local = timezone.localtime(priced.starts_at, in_kolkata.zone)
    assert f'<b>{local:%A} {local.day} {local:%B %Y}, {local:%H:%M}</b> <abbr title="Asia/Kolkata">IST</abbr>' in html
    assert "<b>Main theatre</b>, Screen 1" in html
    assert "<li>Adult: 12.50 EUR (standard)</li>" in html
    assert "<li>Child: 8.00 EUR (standard)</li>" in html
    assert "16 seats free." in html
    # Without the script: a checkbox per seat, the taken ones disabled and saying why.
    assert '<input type="checkbox" name="seats" value="A1"> A1</label>' in html
    assert '<label class="off"><input type="checkbox" name="seats" value="A3" disabled> A3 (booked)</label>' in html
    assert '<input type="checkbox" name="seats" value="B1" disabled> B1 (held)' in html
    assert '<input type="checkbox" name="seats" value="A10" disabled> A10 (blocked)' in html
    assert html.count('type="checkbox" name="seats"') == 20
    assert '<input type="number" name="tickets-adult" data-type="adult" data-name="Adult"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    # The script, served by the service itself, and the sentences it shows.
    assert '<script src="/static/api/show.js" defer></script>' in html
    assert '<script id="sentences" type="application/json">' in html
    assert "http://" not in html.replace("http://www.w3.org", "")  # nothing from elsewhere


def test_show_page_of_a_300_seat_show_is_three_queries_and_under_100_kb(client, django_assert_max_num_queries):
    show = make_show(capacity=300)
    _price(show, "adult", "12.50")
    _price(show, "child", "8.00")
    book_seats(show.pk, quantity=4)

    # The show with its screen, venue and film (and counts); its prices with their types;
    # the seats in use.
    with django_assert_max_num_queries(3):
        response = client.get(f"/shows/{show.pk}/")

    assert response.status_code == 200
    html = response.content
    assert html.count(b'type="checkbox" name="seats"') == 300
    scripts = re.findall(r'<script src="/static/([^"]+)"', html.decode())
    assert scripts == ["api/show.js"]
    weight = len(html) + sum(Path(str(finders.find(path))).stat().st_size for path in scripts)
    assert weight < 100_000, f"HTML and scripts weigh {weight} bytes"


@pytest.mark.parametrize("path", ["/shows/999999/", "/shows/99999999999999999999999/"])
def test_show_page_of_an_unknown_show_is_a_404_page(client, path):
    response = client.get(path)

    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in response.content.decode()


def test_show_page_of_a_show_that_started_books_nothing(client):
    show = make_show(days=-1)

    html = client.get(f"/shows/{show.pk}/").content.decode()
    assert "This show has started: it can no longer be booked." in html
    assert "<form" not in html
    response = client.post(f"/shows/{show.pk}/", {"seats": ["A1"], **PERSON})
    assert response.status_code == 400
    assert not Ticket.objects.exists()


# --- the form without JavaScript -------------------------------------------------------


def test_form_books_the_checked_seats_with_their_types(client, priced):
    posted = client.post(
        f"/shows/{priced.pk}/",
        {"seats": ["A4", "A5"], "tickets-adult": "1", "tickets-child": "1", **PERSON},
    )

    # Post/Redirect/Get: the booking is shown by a page that a reload can't book again.
    assert posted.status_code == 303
    assert posted["Location"] == f"/shows/{priced.pk}/?booked"
    response = client.get(posted["Location"])
    assert response.status_code == 200
    tickets = list(Ticket.objects.order_by("seat").select_related("ticket_type", "booking__customer"))
    assert [(t.seat, t.ticket_type.key, str(t.price)) for t in tickets] == [
        ("A4", "adult", "12.50"),
        ("A5", "child", "8.00"),
    ]
    booking = tickets[0].booking
    assert booking.customer.name == "Ada Lovelace"
    html = response.content.decode()
    assert f'Your booking reference is <strong class="ref">{booking.reference}</strong>. Total 20.50 EUR.' in html
    for ticket in tickets:
        assert f'<a href="/tickets/{ticket.pk}/">E-ticket for seat {ticket.seat}</a>' in html
    assert "<form" not in html
    # The change is in the audit trail under the client's address.
    assert AuditEntry.objects.filter(action="booking.created", actor="client:127.0.0.1").exists()


def test_reloading_the_booked_page_books_nothing_more_and_its_address_opens_nothing(client, priced):
    posted = client.post(f"/shows/{priced.pk}/", {"tickets-adult": "2", **PERSON})
    reference = Booking.objects.get().reference

    for _ in range(2):  # the page the browser lands on, and a reload of it
        html = client.get(posted["Location"]).content.decode()
        assert f'Your booking reference is <strong class="ref">{reference}</strong>.' in html
    assert Ticket.objects.count() == 2
    # The booking is this browser's (an HttpOnly cookie of the show's page), not the
    # address's: the address, shared or found in a history, shows another browser nothing.
    # (It carried the reference, readable in its signed token, which with the booker's phone
    # opens the whole booking.)
    cookie = posted.cookies["booked"]
    assert (cookie["path"], cookie["httponly"], cookie["samesite"]) == (f"/shows/{priced.pk}/", True, "Lax")
    assert reference not in posted["Location"]
    stranger = Client().get(posted["Location"]).content.decode()
    assert reference not in stranger and "Your booking reference" not in stranger
    forged = Client()
    forged.cookies["booked"] = reference
    assert "Your booking reference" not in forged.get(posted["Location"]).content.decode()
    # The cookie names a booking of this show only.
    other = make_show(days=5)
    client.cookies["booked"]["path"] = "/"
    assert "Your booking reference" not in client.get(f"/shows/{other.pk}/?booked").content.decode()


def test_a_refused_form_says_each_message_with_its_field(client, priced):
    # Messages inside a list field came out as their index ("0"), and blank fields as two
    # "This field may not be blank." with no word of which.
    response = client.post(
        f"/shows/{priced.pk}/", {"seats": ["A 1"], "tickets-adult": "1", "name": "", "phone_number": ""}
    )

    errors = response.context["errors"]
    assert "Name: This field may not be blank." in errors
    assert "Phone number: This field may not be blank." in errors
    assert "Seats: Not a seat label: use a row letter and a seat number, like B4." in errors
    assert "0" not in errors


def test_the_default_ticket_type_is_the_first_count_the_form_asks(client, priced, staff_client):
    # The form's hint says the first line takes what the others leave, as the service gives
    # an unnamed ticket the default type: listed in the prices' order, a default made later
    # was not first.
    assert staff_client.patch("/api/ticket-types/child", {"default": True}, format="json").status_code == 200

    choices = client.get(f"/shows/{priced.pk}/").context["choices"]

    assert [c.key for c in choices] == ["child", "adult"]


def test_form_books_the_best_seats_for_the_numbers_given(client, priced):
    response = client.post(f"/shows/{priced.pk}/", {"tickets-adult": "2", "tickets-child": "1", **PERSON}, follow=True)

    assert response.redirect_chain[0][1] == 303
    assert response.status_code == 200
    tickets = Ticket.objects.filter(show=priced)
    assert sorted(str(t.price) for t in tickets) == ["12.50", "12.50", "8.00"]
    assert "Total 33.00 EUR." in response.content.decode()


def test_form_books_a_show_without_prices_as_the_default_type(client, show):
    html = client.get(f"/shows/{show.pk}/").content.decode()
    assert "Free seating: every seat 0.00 EUR" in html
    assert 'name="tickets" data-type=""' in html

    response = client.post(f"/shows/{show.pk}/", {"seats": ["B5"], "tickets": "0", **PERSON})

    assert response.status_code == 303
    assert Ticket.objects.get().seat == "B5"


@pytest.mark.parametrize(
    ("form", "status", "sentence"),
    [
        ({}, 400, "Pick at least one seat, or say how many tickets you want."),
        ({"tickets-adult": "many"}, 400, "Give the number of adult tickets as a whole number."),
        ({"seats": ["A1", "A2"], "tickets-child": "1"}, 400, "The ticket types must add up to the seats named."),
        ({"seats": ["Z9"]}, 400, "Seat Z9 does not exist at this show."),
        # A2 and A3 taken would leave A1 alone at the row's end.
        (
            {"seats": ["A2", "A3"]},
            409,
            "That choice would leave seat A1 on its own, and nobody could book a single seat there. "
            "Take it too, or choose seats that leave no gap.",
        ),
        ({"seats": ["A5"]}, 409, "Someone has just taken one of those seats."),
        ({"tickets-adult": "10"}, 409, "Sorry, this show doesn&#x27;t have that many seats left."),
    ],
)
def test_form_says_what_went_wrong_in_a_sentence_and_keeps_the_choice(client, priced, form, status, sentence):
    book_ticket(priced.pk, seat="A5")
    book_seats(priced.pk, seats=["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B9", "B10"])

    response = client.post(f"/shows/{priced.pk}/", {**form, "name": "Grace Hopper", "phone_number": "+14155550199"})

    assert response.status_code == status
    html = response.content.decode()
    assert sentence in html
    assert 'value="Grace Hopper"' in html  # what was typed stays
    for seat in form.get("seats", []):
        if seat not in {"A5", "Z9"}:
            assert f'value="{seat}" checked>' in html
    assert Ticket.objects.filter(show=priced).count() == 11


def test_form_needs_a_name_and_a_valid_phone(client, priced):
    response = client.post(f"/shows/{priced.pk}/", {"seats": ["A4", "A5"], "name": "", "phone_number": "12"})

    assert response.status_code == 400
    html = response.content.decode()
    assert "This field may not be blank." in html
    assert "Enter a valid phone number." in html
    assert not Ticket.objects.exists()


def test_form_without_its_csrf_token_is_refused(priced):
    client = Client(enforce_csrf_checks=True)
    page = client.get(f"/shows/{priced.pk}/")
    token = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[0]

    assert client.post(f"/shows/{priced.pk}/", {"seats": ["A4", "A5"], **PERSON}).status_code == 403
    assert not Ticket.objects.exists()
    answer = client.post(f"/shows/{priced.pk}/", {"seats": ["A4", "A5"], "csrfmiddlewaretoken": token, **PERSON})
    assert answer.status_code == 303


def test_form_is_throttled_as_the_api_is(client, priced, settings):
    settings.THROTTLE_ANON_RATE = "1/min"
    assert client.post(f"/shows/{priced.pk}/", {"seats": ["A4", "A5"], **PERSON}).status_code == 303

    response = client.post(f"/shows/{priced.pk}/", {"seats": ["B4", "B5"], **PERSON})

    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60  # as the API's 429 tells it
    assert "Too many requests from your connection." in response.content.decode()
    assert Ticket.objects.count() == 2


@pytest.mark.parametrize("count", ["²", "٣", "9" * 5000, "-1", "+2", "1.0"])
def test_form_takes_a_ticket_count_of_ascii_digits_only(client, show, count):
    # "²".isdigit() is true and int() then raised (a 500), as it did for 5000 digits.
    response = client.post(f"/shows/{show.pk}/", {"tickets": count, **PERSON})

    assert response.status_code == 400
    assert "tickets as a whole number." in response.content.decode()
    assert not Ticket.objects.exists()


def test_form_is_held_to_the_hourly_seat_cap_as_the_api_is(client, api_client, settings):
    settings.BOOKING_MAX_SEATS_PER_CLIENT_PER_HOUR = 3
    show = make_show(capacity=20)
    for _ in range(2):  # the API and the form count the same client (127.0.0.1) together
        booked = api_client.post("/api/tickets", {**PERSON, "show": show.pk}, format="json")
        assert booked.status_code == 201
    assert client.post(f"/shows/{show.pk}/", {"tickets": "1", **PERSON}).status_code == 303

    response = client.post(f"/shows/{show.pk}/", {"tickets": "2", **PERSON})

    assert response.status_code == 429
    assert 3000 <= int(response["Retry-After"]) <= 3600  # when the hour's first seat frees
    assert "One client can book at most 3 seats an hour: try again later." in response.content.decode()
    assert Ticket.objects.filter(show=show).count() == 3
    api_answer = api_client.post("/api/tickets", {**PERSON, "show": show.pk}, format="json")
    assert api_answer.status_code == 429
    assert abs(int(api_answer["Retry-After"]) - int(response["Retry-After"])) <= 1


def test_form_busy_is_a_503_with_retry_after_as_the_api_is(client, show, settings, monkeypatch):
    settings.BOOKING_LOCK_TIMEOUT_SECONDS = 2.5

    def busy(**kwargs):
        raise ShowBusy()

    monkeypatch.setattr(sales, "booking_create", busy)

    response = client.post(f"/shows/{show.pk}/", {"tickets": "1", **PERSON})

    assert response.status_code == 503
    assert response["Retry-After"] == "3"
