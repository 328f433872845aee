"""A show's HTML page with Django's test client: the show, its prices and every seat by
status, and its booking form without JavaScript."""

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.utils import timezone

from api.errors import ShowBusy
from api.models import AuditEntry, Booking, Ticket, Venue
from api.services import blocks, sales
from api.tests.conftest import ADA as PERSON
from api.tests.conftest import add_price, book_seats, book_ticket, hold_seats, make_show, screen_of

pytestmark = pytest.mark.django_db


# --- a show's page -------------------------------------------------------------------


def test_show_page_names_the_show_and_every_seat_by_status(client, priced_dune, in_kolkata):
    book_ticket(priced_dune.pk, seat="A3")
    hold_seats(priced_dune.pk, seats=["B1", "B2"])
    blocks.seats_block(show_id=priced_dune.pk, seats=["A10"], reason="broken", now=timezone.now())

    response = client.get(f"/shows/{priced_dune.pk}/")

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    assert "<h1>Dune: Part Three</h1>" in html
    local = timezone.localtime(priced_dune.starts_at, in_kolkata.zone)
    assert f'<b>{local:%A} {local.day} {local:%B %Y}, {local:%H:%M}</b> <abbr title="Asia/Kolkata">IST</abbr>' in html
    assert "<b>Main theatre</b>, Screen 1" in html
    assert "<li>Adult: 12.50 EUR (standard)</li>" in html
    assert "<li>Child: 8.00 EUR (standard)</li>" in html
    assert "16 seats free." in html
    # Without the script: a checkbox per seat, the taken ones disabled and saying why.
    assert '<input type="checkbox" name="seats" value="A1"> A1</label>' in html
    assert '<label class="off"><input type="checkbox" name="seats" value="A3" disabled> A3 (booked)</label>' in html
    assert '<input type="checkbox" name="seats" value="B1" disabled> B1 (held)' in html
    assert '<input type="checkbox" name="seats" value="A10" disabled> A10 (not on sale)' in html
    assert html.count('type="checkbox" name="seats"') == 20
    assert '<input type="number" name="tickets-adult" data-type="adult" data-name="Adult"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    # The script, served by the service itself, and the sentences it shows.
    assert '<script src="/static/api/show.js" defer></script>' in html
    assert '<script id="sentences" type="application/json">' in html
    assert "http://" not in html.replace("http://www.w3.org", "")  # nothing from elsewhere


def test_a_show_capped_below_its_map_and_sold_out_offers_no_seat_in_its_form(client):
    # Capped at 2 on a 20-seat screen, both sold: the page said "0 seats free" and offered
    # its waiting list, yet the form without the script listed the 18 other seats as free
    # checkboxes, each refused when sent ("Try fewer seats"). The script draws them not on
    # sale (test_show_js's capped test).
    enabled = r'<input type="checkbox" name="seats" value="(\w+)"(?! disabled)'
    sold_out = make_show(days=2, capacity=2)
    book_seats(sold_out.pk, seats=["A1", "A2"])

    html = client.get(f"/shows/{sold_out.pk}/").content.decode()

    assert 'id="free-count">0 seats free.' in html
    assert re.findall(enabled, html) == []
    assert '<label class="off"><input type="checkbox" name="seats" value="A3" disabled> A3 (not on sale)' in html
    # One seat left under the cap: any free seat may be the one.
    selling = make_show(days=3, capacity=3)
    book_seats(selling.pk, seats=["A1", "A2"])
    html = client.get(f"/shows/{selling.pk}/").content.decode()
    assert 'id="free-count">1 seat free.' in html
    assert len(re.findall(enabled, html)) == 18


def test_the_prices_shown_are_those_of_the_screens_categories_and_the_phone_field_says_how(client, priced_dune):
    # Screen 1 has no premium seats: its page listed the show's premium prices all the same.
    # And a number without its country code is read as the venue's country's, unsaid.
    add_price(priced_dune, "adult", "16.00", category="premium")

    html = client.get(f"/shows/{priced_dune.pk}/").content.decode()

    assert "<li>Adult: 12.50 EUR (standard)</li>" in html
    assert "(premium)" not in html
    assert "or as dialled in India: 074104 10123." in html
    assert 'aria-describedby="phone-hint phone_number-error"' in html


def test_the_phone_hint_puts_no_brackets_around_a_number_written_with_its_own(client):
    # Turkey's numbers are written "(0212) 345 67 89", and the page bracketed the example:
    # "or as dialled in Turkey ((0212) 345 67 89)."
    venue = Venue.objects.create(name="Odeon Kadıköy", time_zone="Europe/Istanbul", currency="TRY", country="TR")
    show = make_show(screen=screen_of(10, venue=venue))

    html = client.get(f"/shows/{show.pk}/").content.decode()

    hint = re.search(r'<span class="hint" id="phone-hint">([^<]*)</span>', html)
    assert hint and hint.group(1).endswith("or as dialled in Turkey: (0212) 345 67 89.")


def test_show_page_of_a_300_seat_show_is_three_queries_and_under_100_kb(client, django_assert_max_num_queries):
    show = make_show(capacity=300)
    add_price(show, "adult", "12.50")
    add_price(show, "child", "8.00")
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


def test_form_books_the_checked_seats_with_their_types(client, priced_dune):
    posted = client.post(
        f"/shows/{priced_dune.pk}/",
        {"seats": ["A4", "A5"], "tickets-adult": "1", "tickets-child": "1", **PERSON},
    )

    # Post/Redirect/Get: the booking is shown by a page that a reload can't book again.
    assert posted.status_code == 303
    assert posted["Location"] == f"/shows/{priced_dune.pk}/?booked"
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


def test_reloading_the_booked_page_books_nothing_more_and_its_address_opens_nothing(client, priced_dune):
    posted = client.post(f"/shows/{priced_dune.pk}/", {"tickets-adult": "2", **PERSON})
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
    assert (cookie["path"], cookie["httponly"], cookie["samesite"]) == (f"/shows/{priced_dune.pk}/", True, "Lax")
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


def test_a_refused_form_says_each_message_with_its_field(client, priced_dune):
    # Messages inside a list field came out as their index ("0"), and blank fields as two
    # "This field may not be blank." with no word of which.
    response = client.post(
        f"/shows/{priced_dune.pk}/", {"seats": ["A 1"], "tickets-adult": "1", "name": "", "phone_number": ""}
    )

    errors = response.context["errors"]
    assert "Name: This field may not be blank." in errors
    assert "Phone number: This field may not be blank." in errors
    assert "Seats: Not a seat label: use a row letter and a seat number, like B4." in errors
    assert "0" not in errors


def test_the_default_ticket_type_is_the_first_count_the_form_asks(client, priced_dune, staff_client):
    # The form's hint says the first line takes what the others leave, as the service gives
    # an unnamed ticket the default type: listed in the prices' order, a default made later
    # was not first.
    assert staff_client.patch("/api/ticket-types/child", {"default": True}, format="json").status_code == 200

    choices = client.get(f"/shows/{priced_dune.pk}/").context["choices"]

    assert [c.key for c in choices] == ["child", "adult"]


def test_form_books_the_best_seats_for_the_numbers_given(client, priced_dune):
    response = client.post(
        f"/shows/{priced_dune.pk}/", {"tickets-adult": "2", "tickets-child": "1", **PERSON}, follow=True
    )

    assert response.redirect_chain[0][1] == 303
    assert response.status_code == 200
    tickets = Ticket.objects.filter(show=priced_dune)
    assert sorted(str(t.price) for t in tickets) == ["12.50", "12.50", "8.00"]
    assert "Total 33.00 EUR." in response.content.decode()


def test_form_books_a_show_without_prices_as_the_default_type(client, show):
    html = client.get(f"/shows/{show.pk}/").content.decode()
    assert "No charge: every seat is 0.00 EUR." in html  # "free seating" read as unreserved seats
    assert 'name="tickets" data-type=""' in html

    response = client.post(f"/shows/{show.pk}/", {"seats": ["B5"], "tickets": "0", **PERSON})

    assert response.status_code == 303
    assert Ticket.objects.get().seat == "B5"


@pytest.mark.parametrize(
    ("form", "status", "sentence"),
    [
        ({}, 400, "Pick at least one seat, or say how many tickets you want."),
        ({"tickets-adult": "many"}, 400, "Give the number of adult tickets as a whole number."),
        (
            {"seats": ["A1", "A2"], "tickets-child": "1"},
            400,
            "Tickets: the number (1) must be the number of seats picked (2), or 0.",
        ),
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
def test_form_says_what_went_wrong_in_a_sentence_and_keeps_the_choice(client, priced_dune, form, status, sentence):
    book_ticket(priced_dune.pk, seat="A5")
    book_seats(priced_dune.pk, seats=["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B9", "B10"])

    response = client.post(
        f"/shows/{priced_dune.pk}/", {**form, "name": "Grace Hopper", "phone_number": "+14155550199"}
    )

    assert response.status_code == status
    html = response.content.decode()
    assert sentence in html
    assert 'value="Grace Hopper"' in html  # what was typed stays
    for seat in form.get("seats", []):
        if seat not in {"A5", "Z9"}:
            assert f'value="{seat}" checked>' in html
    assert Ticket.objects.filter(show=priced_dune).count() == 11


@pytest.mark.parametrize(
    ("count", "said"),
    [
        ("11", "Tickets: Ensure this value is less than or equal to 10."),
        ("two", "Give the number of tickets as a whole number."),
    ],
)
def test_form_at_a_show_without_prices_names_its_count_as_the_page_does(client, show, count, said):
    # Its one line is "Tickets", sent to the service as the quantity: refused, it read
    # "quantity: Ensure ..." (a name the page shows nowhere) or "the number of tickets tickets".
    response = client.post(f"/shows/{show.pk}/", {"tickets": count, **PERSON})

    assert response.status_code == 400
    assert response.context["errors"] == [said]


def test_form_needs_a_name_and_a_valid_phone(client, priced_dune):
    response = client.post(f"/shows/{priced_dune.pk}/", {"seats": ["A4", "A5"], "name": "", "phone_number": "12"})

    assert response.status_code == 400
    html = response.content.decode()
    assert "This field may not be blank." in html
    assert "Enter a valid phone number." in html
    assert not Ticket.objects.exists()


def test_form_tells_a_refused_name_and_phone_beside_their_fields(client, priced_dune):
    # Only the alert above the seat list said why: the inputs had no aria-invalid and their
    # notes (#name-error, #phone_number-error, which aria-describedby names) stayed hidden
    # and empty, so a screen reader in the name field heard nothing. The script marks them.
    response = client.post(f"/shows/{priced_dune.pk}/", {"seats": ["A4"], "name": "", "phone_number": "12"})

    assert response.status_code == 400
    html = response.content.decode()
    assert re.search(r'<input type="text" id="name"[^>]* aria-invalid="true">', html)
    assert re.search(r'<input type="tel" id="phone"[^>]* aria-invalid="true">', html)
    assert '<span class="field-error" id="name-error">This field may not be blank.</span>' in html
    assert '<span class="field-error" id="phone_number-error">Enter a valid phone number.</span>' in html
    # Refused by the service (no number of the venue's country): only that field is marked.
    response = client.post(f"/shows/{priced_dune.pk}/", {"seats": ["A4"], "name": "Grace", "phone_number": "12345"})
    html = response.content.decode()
    assert re.findall(r'<input [^>]*id="(\w+)"[^>]* aria-invalid="true">', html) == ["phone"]
    assert '<span class="field-error" id="phone_number-error">Enter a valid phone number.</span>' in html
    assert '<span class="field-error" id="name-error" hidden></span>' in html


def test_form_without_its_csrf_token_is_refused(priced_dune):
    client = Client(enforce_csrf_checks=True)
    page = client.get(f"/shows/{priced_dune.pk}/")
    token = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[0]

    assert client.post(f"/shows/{priced_dune.pk}/", {"seats": ["A4", "A5"], **PERSON}).status_code == 403
    assert not Ticket.objects.exists()
    answer = client.post(f"/shows/{priced_dune.pk}/", {"seats": ["A4", "A5"], "csrfmiddlewaretoken": token, **PERSON})
    assert answer.status_code == 303


def test_form_is_throttled_as_the_api_is(client, priced_dune, settings):
    settings.THROTTLE_ANON_RATE = "1/min"
    assert client.post(f"/shows/{priced_dune.pk}/", {"seats": ["A4", "A5"], **PERSON}).status_code == 303

    response = client.post(f"/shows/{priced_dune.pk}/", {"seats": ["B4", "B5"], **PERSON})

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
    # When, in minutes, as the page's script says it (it said "try again later").
    minutes = -(-int(response["Retry-After"]) // 60)
    assert (
        f"You have booked as many seats as one customer may book in an hour. You can book more in {minutes} minutes."
        in response.content.decode()
    )
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
