"""A phone number without a country code is read in the country of the venue it books at
(API.md, "Venue and screen": a venue's `country`, default PHONENUMBER_DEFAULT_REGION)."""

import json
from unittest import mock

import phonenumbers
import pytest
from django.db import connection

from api.models import Customer, Venue, plain_digits
from api.tests.conftest import book_seats, hold_seats, make_show, screen_of
from api.views.sales import NO_BOOKING

pytestmark = pytest.mark.django_db

LONDON_LOCAL = "020 7946 0958"
LONDON = "+442079460958"


@pytest.fixture
def london_show():
    venue = Venue.objects.create(name="Odeon Leicester Square", time_zone="Europe/London", currency="GBP", country="GB")
    return make_show(screen=screen_of(20, venue=venue))


def test_a_local_number_at_a_gb_venue_is_a_uk_number(api_client, london_show):
    response = api_client.post(
        "/api/tickets", {"name": "Alan Turing", "phone_number": LONDON_LOCAL, "show": london_show.pk}
    )

    assert response.status_code == 201, response.json()
    assert response.json()["phone_number"] == LONDON
    assert str(Customer.objects.get().phone_number.as_e164) == LONDON


def test_the_same_digits_at_the_default_venue_are_read_in_the_default_region(api_client, show, settings):
    assert show.screen.venue.country == settings.PHONENUMBER_DEFAULT_REGION == "IN"

    response = api_client.post("/api/tickets", {"name": "Alan Turing", "phone_number": LONDON_LOCAL, "show": show.pk})

    assert response.json()["phone_number"] == "+912079460958"


def test_a_number_with_its_country_code_reads_the_same_at_every_venue(api_client, show, london_show):
    for at in (show, london_show):
        response = api_client.post("/api/tickets", {"name": "Ada", "phone_number": "+91 415 555 0123", "show": at.pk})
        assert response.json()["phone_number"] == "+914155550123"


@pytest.mark.parametrize("number", ["0123", "020 7946 095", "call me", "+44 20"])
def test_a_number_that_is_not_valid_at_the_venue_is_a_400(api_client, london_show, number):
    response = api_client.post("/api/tickets", {"name": "Alan", "phone_number": number, "show": london_show.pk})

    assert (response.status_code, response.json()) == (400, {"phone_number": ["Enter a valid phone number."]})
    assert not Customer.objects.exists()


def test_one_step_and_held_bookings_read_it_in_the_venue_too(api_client, london_show):
    person = {"name": "Alan Turing", "phone_number": LONDON_LOCAL}
    one_step = api_client.post("/api/bookings", {**person, "show": london_show.pk, "quantity": 2})
    hold = hold_seats(london_show.pk, quantity=1)
    confirmed = api_client.post("/api/bookings", {**person, "hold": str(hold.pk)})

    for response in (one_step, confirmed):
        assert response.status_code == 201, response.json()
        assert response.json()["phone_number"] == LONDON
        assert {t["phone_number"] for t in response.json()["tickets"]} == {LONDON}


def test_a_ticket_changed_to_a_local_number_reads_it_in_its_venue(api_client, london_show):
    ticket = book_seats(london_show.pk, quantity=1).tickets[0]

    response = api_client.patch(f"/api/tickets/{ticket.pk}", {"phone_number": "0161 496 0000"})

    assert response.json()["phone_number"] == "+441614960000"


def test_a_booking_is_looked_up_with_the_local_number_of_its_venue(api_client, london_show):
    sale = book_seats(london_show.pk, quantity=1, name="Alan Turing", phone_number=LONDON)
    url = f"/api/bookings/{sale.booking.reference}"

    assert api_client.get(url, {"phone_number": LONDON_LOCAL}).status_code == 200
    assert api_client.get(url, {"phone_number": "+44 20 7946 0958"}).status_code == 200
    wrong = api_client.get(url, {"phone_number": "020 7946 0959"})
    assert (wrong.status_code, wrong.json()) == (404, {"detail": NO_BOOKING})


def test_a_booking_moved_to_another_countrys_venue_opens_with_the_local_number_it_was_booked_with(
    api_client, london_show
):
    # The look-up read a local number in the country of one of the booking's tickets'
    # venues: moved to Paris, the London booker's "020 ..." was read as French, a 404.
    paris = Venue.objects.create(name="Le Grand Rex", time_zone="Europe/Paris", currency="GBP", country="FR")
    there = make_show(days=4, screen=screen_of(20, venue=paris))
    sale = book_seats(london_show.pk, quantity=1, name="Alan Turing", phone_number=LONDON_LOCAL)
    url = f"/api/bookings/{sale.booking.reference}"
    moved = api_client.patch(f"/api/tickets/{sale.tickets[0].pk}", {"show": there.pk}, format="json")
    assert moved.status_code == 200, moved.json()

    assert api_client.get(url, {"phone_number": LONDON_LOCAL}).status_code == 200
    assert api_client.get(url, {"phone_number": "07946 0958"}).status_code == 404


@pytest.mark.parametrize(
    "number, message",
    [
        ("+91 415 555\x00 0123", "Null characters are not allowed."),
        ("020 7946\ud800 0958", "Surrogate characters are not allowed: U+D800."),
        ("   ", "This field may not be blank."),
        (None, "This field may not be null."),
    ],
)
def test_a_phone_number_is_checked_as_text_before_it_is_read(api_client, london_show, number, message):
    """The text checks every request field gets (blank, NUL and surrogate characters) run
    on the phone number as typed, before it is read as a number."""
    body = json.dumps({"name": "Alan", "phone_number": number, "show": london_show.pk})  # \ud800 escaped
    response = api_client.post("/api/tickets", body, content_type="application/json")

    assert (response.status_code, response.json()) == (400, {"phone_number": [message]})
    assert not Customer.objects.exists()


@pytest.mark.parametrize("phone", ["+914155550123", "04155550123"])
def test_a_booking_validates_its_phone_number_once(api_client, show, phone):
    # Read once (PhoneField, or in the venue's country: parse_phone), then formatted where it
    # is written and sent (phone_text); a PhoneNumber's str() and the ORM's write would each
    # walk the country's number patterns again. On SQLite the sale's rows are the ORM's
    # (services/sale_rows.py), whose write of the person checks it twice more.
    checks = 1 if connection.vendor == "postgresql" else 3
    with mock.patch.object(phonenumbers, "is_valid_number", wraps=phonenumbers.is_valid_number) as is_valid:
        response = api_client.post("/api/tickets", {"name": "Alan Turing", "phone_number": phone, "show": show.pk})

    assert response.status_code == 201, response.json()
    assert response.json()["phone_number"] == "+914155550123"
    assert is_valid.call_count == checks


@pytest.mark.parametrize(
    "typed",
    [
        "(+44) 20 7946 0958",  # the country code in brackets, as many write it
        "０２０ ７９４６ ０９５８",  # full-width, from a Japanese or Chinese keyboard
        "(+٤٤) ٢٠ ٧٩٤٦ ٠٩٥٨",  # Arabic-Indic digits
        "tel:+44-20-7946-0958",  # a tel: link (RFC 3966), as a page's "call us" gives it
        "TEL:0044 20 7946 0958",
    ],
)
def test_a_number_in_any_script_or_with_a_bracketed_country_code_books(api_client, london_show, typed):
    # Refused as invalid by a booking, though the booking's look-up read them.
    response = api_client.post("/api/tickets", {"name": "Alan Turing", "phone_number": typed, "show": london_show.pk})

    assert (response.status_code, response.json()["phone_number"]) == (201, LONDON), response.json()


def test_ascii_is_already_plain():
    """plain_digits hands ASCII back as it is: what its reading of any script makes of each
    ASCII character (read here beside an Arabic-Indic zero, so that the text isn't ASCII)."""
    for code in range(128):
        assert plain_digits(chr(code) + "\u0660") == chr(code) + "0", repr(chr(code))


@pytest.mark.parametrize(
    "typed",
    [
        "020\u20137946 0958",  # an en dash, as autocorrect writes one
        "020 7946 0958 ext. 5",  # an extension, which the number drops
        "020 7946 0958 x5",
        "020 7946 0958 #5",
        "[020] 7946 0958",
        "tel:020-7946-0958",
    ],
)
def test_a_local_number_as_people_write_it_books(api_client, london_show, typed):
    # Version 1 read each of these; version 2's check of a local number refused them.
    response = api_client.post("/api/tickets", {"name": "Alan Turing", "phone_number": typed, "show": london_show.pk})

    assert (response.status_code, response.json()["phone_number"]) == (201, LONDON), response.json()


def test_a_lookup_reads_the_number_as_a_booking_does(api_client, london_show):
    sale = book_seats(london_show.pk, quantity=1, name="Alan Turing", phone_number=LONDON)

    response = api_client.get(f"/api/bookings/{sale.booking.reference}", {"phone_number": "020\u20137946 0958"})

    assert response.status_code == 200


@pytest.mark.parametrize("listed", ["venue", "screen", "show"])
def test_the_staff_list_reads_a_local_number_in_the_listed_venues_country(staff_client, london_show, listed):
    """The door at a London venue searched for 020 7946 0958: a 400, read as an Indian
    number (PHONENUMBER_DEFAULT_REGION). The door's own filter is its screen."""
    ticket = book_seats(london_show.pk, quantity=1, name="Alan Turing", phone_number=LONDON).tickets[0]
    ids = {"venue": london_show.screen.venue_id, "screen": london_show.screen_id, "show": london_show.pk}

    found = staff_client.get("/api/tickets", {"phone_number": LONDON_LOCAL, listed: ids[listed]})

    assert found.status_code == 200, found.json()
    assert [t["id"] for t in found.json()["results"]] == [str(ticket.pk)]


@pytest.mark.parametrize("typed", ["020 7946 0958", "(20) 7946-0958", "7946 0958", "+44 20 7946 0958"])
def test_the_staff_search_finds_a_phone_number_as_people_say_it(staff_client, london_show, typed):
    # A substring of the stored +442079460958: "7946 0958" with its space found nothing.
    ticket = book_seats(london_show.pk, quantity=1, name="Alan Turing", phone_number=LONDON).tickets[0]

    found = staff_client.get("/api/tickets", {"search": typed, "venue": london_show.screen.venue_id})

    assert [t["id"] for t in found.json()["results"]] == [str(ticket.pk)]
