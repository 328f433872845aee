"""Find your booking (api/bookingpage.py, /bookings/): a reference and the booker's phone
number open the booking, as GET /api/bookings/{reference}?phone_number= does, on a page.
A customer who booked with the show page's script had lost the booking with a reload: the
reference the page showed led nowhere."""

import re

import pytest
from django.test import Client
from django.utils import timezone

from api.bookingpage import NO_BOOKING
from api.models import Ticket
from api.services import sales
from api.showform import SENTENCES
from api.tests.conftest import ADA, add_price, book_seats, make_show, screen_of

pytestmark = pytest.mark.django_db

GRACE = {"name": "Grace Hopper", "phone_number": "+14155550199"}
URL = "/bookings/"


@pytest.fixture
def ada_booking(priced_dune) -> sales.Sale:
    """Ada's booking at priced_dune: A4 adult and A5 child, 20.50 EUR."""
    return book_seats(priced_dune.pk, seats=["A4", "A5"], ticket_types={"adult": 1, "child": 1})


def find(client: Client, reference: str, phone_number: str = ADA["phone_number"]):
    return client.post(URL, {"reference": reference, "phone_number": phone_number})


def page_text(response) -> str:
    """The page without its CSRF token (a new one at each rendering) and its tags."""
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_the_form_asks_for_a_reference_and_a_phone_number(client):
    response = client.get(URL)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    assert '<meta name="robots" content="noindex">' in html
    assert '<form method="post" action="/bookings/" class="box">' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert '<input type="text" id="reference" name="reference"' in html
    assert '<input type="tel" id="phone" name="phone_number"' in html
    # Its address looks nothing up, and carries no booking: the form is sent by POST.
    looked_up = client.get(URL, {"reference": "K7QX2M", "phone_number": ADA["phone_number"]})
    assert looked_up.status_code == 200 and "E-ticket for" not in page_text(looked_up)


def test_a_reference_and_its_phone_number_list_the_bookings_tickets(client, ada_booking, priced_dune):
    tickets = ada_booking.tickets

    response = find(client, ada_booking.booking.reference)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    text = page_text(response)
    reference = ada_booking.booking.reference
    assert f"Booking {reference} , for Ada Lovelace." in text
    local = priced_dune.local_start
    assert f"Dune: Part Three Main theatre , Screen 1 · {local:%A} {local.day} {local:%B %Y}, 19:30" in text
    assert "A4 Adult 12.50 EUR E-ticket for seat A4 A5 Child 8.00 EUR E-ticket for seat A5" in text
    assert "Total 20.50 EUR" in text
    html = response.content.decode()
    for ticket in tickets:
        assert f'<a href="/tickets/{ticket.pk}/">E-ticket for seat {ticket.seat}</a>' in html
    assert f'<a href="/shows/{priced_dune.pk}/">Dune: Part Three</a>' in html
    # Never the phone number back, nor a form to send it again.
    assert "4155550123" not in html and "<form" not in html


def test_a_reference_is_read_as_people_copy_it_and_a_local_number_as_the_api_reads_it(client, ada_booking):
    # The booker's number without its country code, read in its own country (India), as
    # GET /api/bookings/{reference} reads it; the reference in any case, with spaces.
    reference = ada_booking.booking.reference
    typed = f" {reference[:3].lower()} {reference[3:]} "

    response = find(client, typed, "04155550123")

    assert response.status_code == 200
    assert f"Booking {reference} , for Ada Lovelace." in page_text(response)


def test_tickets_at_two_shows_are_listed_by_show_with_the_total_of_those_left(client, ada_booking, priced_dune):
    later = make_show(days=4, hour=21, minute=0, title="Perfect Days")
    add_price(later, "adult", "10.00")
    add_price(later, "child", "6.00")
    moved = ada_booking.tickets[1]  # the child's ticket, to the later show, at its price there
    sales.ticket_update(ticket_id=moved.pk, show_id=later.pk, seat="B1", now=timezone.now())

    text = page_text(find(client, ada_booking.booking.reference))

    assert text.index("Dune: Part Three Main theatre") < text.index("A4 Adult 12.50 EUR")
    assert text.index("A4 Adult 12.50 EUR") < text.index("Perfect Days Main theatre") < text.index("B1 Child 6.00 EUR")
    assert "Total 18.50 EUR" in text  # Sale.total: the tickets' prices as they are now


def test_each_show_is_listed_once_when_another_starts_at_the_same_moment(client, priced_dune):
    # Tickets come in start and seat order: a ticket moved to another screen's show at the
    # same moment fell between two of its first show's, and that show was listed twice.
    booking = book_seats(priced_dune.pk, seats=["A1", "A5", "A10"])
    beside = make_show(days=3, title="Perfect Days", screen=screen_of(20, name="Screen 2"))
    add_price(beside, "adult", "12.50")
    moved = next(ticket for ticket in booking.tickets if ticket.seat == "A5")
    sales.ticket_update(ticket_id=moved.pk, show_id=beside.pk, seat="A5", now=timezone.now())

    text = page_text(find(client, booking.booking.reference))

    assert text.count("Dune: Part Three Main theatre") == 1, text
    assert text.count("Perfect Days Main theatre") == 1, text
    assert text.index("A1 Adult") < text.index("A10 Adult") < text.index("A5 Adult")


def test_a_booking_whose_tickets_are_gone_says_so(client, ada_booking):
    Ticket.objects.filter(booking=ada_booking.booking).delete()  # as the purge leaves one, a moment

    response = find(client, ada_booking.booking.reference)

    assert response.status_code == 200
    assert "This booking has no tickets any more" in page_text(response)
    assert "Total" not in page_text(response)


def test_an_unknown_reference_and_a_wrong_phone_number_get_the_same_404(client, ada_booking):
    reference = ada_booking.booking.reference
    unknown = "ZZZZZZ" if reference != "ZZZZZZ" else "YYYYYY"
    answers = {
        "unknown reference": (find(client, unknown), unknown),
        "wrong phone": (find(client, reference, GRACE["phone_number"]), reference),
        "not a phone number": (find(client, reference, "12"), reference),
    }

    texts = set()
    for what, (response, typed) in answers.items():
        assert response.status_code == 404, what
        text = page_text(response)
        assert NO_BOOKING in text, what
        # The form again, with what was typed, to correct it.
        assert 'id="reference" name="reference"' in response.content.decode(), what
        assert f'value="{typed}"' in response.content.decode(), what
        assert "Ada Lovelace" not in text and "A4" not in text, what
        texts.add(text.replace(typed, "REFERENCE").replace("12", GRACE["phone_number"]))
    assert len(texts) == 1  # nothing tells which of the two was wrong


def test_my_phone_number_never_opens_another_persons_booking(client, ada_booking, priced_dune):
    graces = book_seats(priced_dune.pk, seats=["B1", "B2"], **GRACE)

    response = find(client, graces.booking.reference, ADA["phone_number"])

    assert response.status_code == 404
    text = page_text(response)
    assert "Grace Hopper" not in text and "B1" not in text and "E-ticket" not in text
    assert "Grace Hopper" in page_text(find(client, graces.booking.reference, GRACE["phone_number"]))


@pytest.mark.parametrize(
    ("reference", "phone_number", "field", "said"),
    [
        ("K7Q!2M", ADA["phone_number"], "reference", "A booking reference is 6 letters and digits, such as K7QX2M."),
        ("K7QX2MM", ADA["phone_number"], "reference", "A booking reference is 6 letters and digits"),
        ("X" * 5000, ADA["phone_number"], "reference", "A booking reference is 6 letters and digits"),
        ("K7Q\x00X2", ADA["phone_number"], "reference", "Null characters are not allowed."),
        ("", ADA["phone_number"], "reference", "This field is required."),
        ("K7QX2M", "", "phone_number", "This field is required."),
        ("K7QX2M", "+9" + "1" * 60, "phone_number", "Ensure this value has at most 50 characters"),
        ("K7QX2M", "+91\x004155550123", "phone_number", "Null characters are not allowed."),
    ],
)
def test_what_cant_be_a_look_up_is_a_400_page_that_says_why_beside_its_field(
    client, ada_booking, reference, phone_number, field, said
):
    response = find(client, reference, phone_number)

    assert response.status_code == 400
    html = response.content.decode()
    note = re.search(rf'<span class="field-error" id="{field}-error">([^<]*)</span>', html)
    assert note is not None and said in note.group(1)
    invalid = re.findall(r'<input [^>]*id="([\w-]+)"[^>]*aria-invalid="true"', html)
    assert invalid == [{"reference": "reference", "phone_number": "phone"}[field]]
    assert NO_BOOKING not in html


def test_a_post_without_the_forms_csrf_token_is_refused(ada_booking):
    response = find(Client(enforce_csrf_checks=True), ada_booking.booking.reference)

    assert response.status_code == 403
    assert "Ada Lovelace" not in response.content.decode()


def test_look_ups_are_throttled_with_the_apis_on_one_count(client, api_client, ada_booking, settings):
    settings.THROTTLE_ANON_RATE = "3/min"
    reference = ada_booking.booking.reference
    # The API's anonymous look-up and the page's count together: guessing by the page is no
    # faster. Showing the form is no look-up, and counts nothing.
    assert api_client.get(f"/api/bookings/{reference}", {"phone_number": GRACE["phone_number"]}).status_code == 404
    assert client.get(URL).status_code == 200
    assert find(client, reference, GRACE["phone_number"]).status_code == 404
    assert find(client, reference).status_code == 200

    throttled = find(client, reference)

    assert throttled.status_code == 429
    assert 1 <= int(throttled["Retry-After"]) <= 60
    text = page_text(throttled)
    assert SENTENCES["throttled"] in text
    assert "Ada Lovelace" not in text and "E-ticket" not in text
    assert 'id="reference" name="reference"' in throttled.content.decode()  # the form, to send again
    assert api_client.get(f"/api/bookings/{reference}", {"phone_number": ADA["phone_number"]}).status_code == 429


def test_the_page_is_three_queries_however_many_tickets_and_shows(
    client, ada_booking, priced_dune, django_assert_max_num_queries
):
    later = make_show(days=4, title="Perfect Days")
    sales.ticket_update(ticket_id=ada_booking.tickets[0].pk, show_id=later.pk, now=timezone.now())
    reference = ada_booking.booking.reference

    # SELECT customer.phone_number FROM booking JOIN customer WHERE reference  (found or not)
    # SELECT booking JOIN customer WHERE reference
    # SELECT ticket JOIN show, screen (no seat map), venue, customer, ticket type WHERE booking
    with django_assert_max_num_queries(3):
        assert find(client, reference).status_code == 200
    # Not found: the phone's one query, whether the reference exists or not.
    with django_assert_max_num_queries(1):
        assert find(client, reference, GRACE["phone_number"]).status_code == 404
    with django_assert_max_num_queries(1):
        assert find(client, "ZZZZZ9").status_code == 404
    with django_assert_max_num_queries(0):
        assert find(client, "bad!").status_code == 400


# --- the links to it ----------------------------------------------------------------------


def test_the_home_page_links_to_it(client):
    assert '<a href="/bookings/">Find your booking</a>' in client.get("/").content.decode()


def test_the_no_script_forms_booking_says_to_keep_the_reference_and_links_to_it(client, priced_dune):
    posted = client.post(f"/shows/{priced_dune.pk}/", {"tickets-adult": "2", **ADA})

    html = client.get(posted["Location"]).content.decode()

    keep = SENTENCES["keep_reference"]
    assert f'<p class="keep">{keep} <a href="/bookings/">Find your booking</a></p>' in html
