"""What the body of a ticket booking (POST /api/tickets) may hold: the person's name and
phone number, a show id, well-formed JSON, and fields the client may not set."""

import uuid

import pytest
from django.utils import timezone

from api.models import Customer, Hold, Ticket
from api.tests.conftest import ADA, hold_seats, in_days
from api.tests.tickets_helpers import ticket_json

pytestmark = pytest.mark.django_db

JSON_QUOTES = "JSON parse error - Expecting property name enclosed in double quotes: "


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("098765 43210", "+919876543210"),  # read in PHONENUMBER_DEFAULT_REGION (IN)
        ("9876543210", "+919876543210"),
        ("+91 98765-43210", "+919876543210"),
        ("+1 (415) 555-0123", "+14155550123"),
    ],
)
def test_phone_number_is_returned_in_e164(api_client, show, given, stored):
    response = api_client.post("/api/tickets", {"name": "Ada Lovelace", "phone_number": given, "show": show.pk})

    assert response.status_code == 201
    assert response.json()["phone_number"] == stored
    assert str(Customer.objects.get().phone_number) == stored


def test_name_is_trimmed_and_may_be_100_characters(api_client, show):
    name = "N" * 100

    response = api_client.post("/api/tickets", {"name": f"  {name}  ", "phone_number": "9876543210", "show": show.pk})

    assert response.status_code == 201
    assert response.json()["name"] == name


def test_the_same_person_booking_again_is_the_same_customer(api_client, show):
    api_client.post("/api/tickets", {**ADA, "show": show.pk})
    api_client.post("/api/tickets", {"name": "Ada Lovelace", "phone_number": "04155550123", "show": show.pk})

    assert Customer.objects.count() == 1
    assert Ticket.objects.filter(holder__name="Ada Lovelace").count() == 2


WRONG_DATE = "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"phone_number": "+914155550123"}, {"name": ["This field is required."]}),
        ({"name": "Ada"}, {"phone_number": ["This field is required."]}),
        ({**ADA, "name": "   "}, {"name": ["This field may not be blank."]}),
        ({**ADA, "name": "x" * 101}, {"name": ["Ensure this field has no more than 100 characters."]}),
        # Invisible but not a space, so not stripped: it was taken as a name.
        ({**ADA, "name": "\u200b\u200b"}, {"name": ["A name needs a letter or a digit."]}),
        ({**ADA, "name": "--"}, {"name": ["A name needs a letter or a digit."]}),
        # Control characters and text reversal: for logs, CSV exports and what a name shows.
        ({**ADA, "name": "Ada\nLovelace"}, {"name": ["A name can't contain control characters."]}),
        ({**ADA, "name": "a\u001b[31mred"}, {"name": ["A name can't contain control characters."]}),
        ({**ADA, "name": "x\u202egnp.exe"}, {"name": ["A name can't contain control characters."]}),
        ({**ADA, "name": "Ada\u2028Lovelace"}, {"name": ["A name can't contain control characters."]}),
        ({**ADA, "name": ["Ada"]}, {"name": ["Not a valid string."]}),
        ({**ADA, "phone_number": "+12345"}, {"phone_number": ["Enter a valid phone number."]}),
        ({**ADA, "phone_number": "call me"}, {"phone_number": ["Enter a valid phone number."]}),
        ({**ADA, "phone_number": None}, {"phone_number": ["This field may not be null."]}),
        ({**ADA, "show": "first"}, {"show": ["A valid integer is required."]}),
        ({**ADA, "show": 999999}, {"show": ['Invalid pk "999999" - object does not exist.']}),
        (
            {**ADA, "date": "2099-02-30", "time": "10:00"},
            {"date": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."]},
        ),
        ({**ADA, "date": "2099-01-01", "time": "25:00"}, {"time": ["Time has wrong format. Use HH:MM."]}),
        # Python's fromisoformat reads an offset too: the aware time failed when the moment
        # was made, a 400 on `date` ("This date is out of range.") for a date that is fine.
        *[
            ({**ADA, "date": str(in_days(3)), "time": at}, {"time": ["Time has wrong format. Use HH:MM."]})
            for at in ("19:30+01", "1930Z", "19:30:00Z", "T1930")
        ],
        # Python's fromisoformat reads these; API.md and the filters say YYYY-MM-DD.
        *[
            ({**ADA, "date": day, "time": "10:00"}, {"date": [WRONG_DATE]})
            for day in ("2099-W50", "20991208", "2099W502", "2099-12-8", "2099-12-08\n", "２０９９-12-08")
        ],
        ({**ADA, "date": "2099-01-01"}, {"time": ["This field is required with date."]}),
        ({**ADA, "time": "10:00"}, {"date": ["This field is required with time."]}),
        (
            {**ADA, "show": 1, "date": "2099-01-01", "time": "10:00"},
            {"show": ["Give either show, or date and time (and screen or venue); not show with date and time."]},
        ),
        # Told it had sent a date and time, which it had not.
        (
            {**ADA, "show": 1, "screen": 1},
            {"show": ["Give either show, or date and time (and screen or venue); not show with screen."]},
        ),
        (
            {**ADA, "show": 1, "time": "10:00", "venue": 1},
            {"show": ["Give either show, or date and time (and screen or venue); not show with time and venue."]},
        ),
        (ADA, {"non_field_errors": ["Give a show, or a date and a time."]}),
    ],
)
def test_invalid_booking_is_a_400(api_client, body, errors):
    response = api_client.post("/api/tickets", body)

    assert response.status_code == 400
    assert response.json() == errors
    assert not Ticket.objects.exists()


@pytest.mark.parametrize("show_id", [2**63, 10**20])
@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("post", "/api/tickets", ADA),
        ("post", "/api/holds", {"quantity": 1}),
        ("post", "/api/bookings", {"quantity": 1, **ADA}),
        ("patch", "/api/tickets/{ticket}", {}),
    ],
)
def test_a_show_id_past_the_largest_id_is_a_400(api_client, ticket, method, url, body, show_id):
    """Too large for a 64-bit id, it can't be bound as a query parameter (an OverflowError
    on SQLite): the request is refused before it reaches the database."""
    response = getattr(api_client, method)(url.format(ticket=ticket.pk), {**body, "show": show_id}, format="json")

    assert response.status_code == 400
    assert response.json() == {"show": ["Ensure this value is less than or equal to 9223372036854775807."]}
    assert Ticket.objects.get() == ticket


@pytest.mark.parametrize(
    ("payload", "errors"),
    [
        ('{"name": "Ada", ', {"detail": f"{JSON_QUOTES}line 1 column 17 (char 16)"}),
        ("{'name': 'Ada'}", {"detail": f"{JSON_QUOTES}line 1 column 2 (char 1)"}),
        ("[1, 2]", {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
        ('"just a string"', {"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]}),
        ("null", {"non_field_errors": ["No data provided"]}),
    ],
)
def test_malformed_json_is_a_400(api_client, payload, errors):
    response = api_client.post("/api/tickets", payload, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == errors


def test_body_that_is_not_json_is_a_415(api_client):
    response = api_client.post("/api/tickets", "<ticket/>", content_type="text/xml")

    assert response.status_code == 415
    assert response.json() == {"detail": 'Unsupported media type "text/xml" in request.'}


def test_read_only_fields_sent_by_the_client_are_ignored(api_client, show):
    sent_id = str(uuid.uuid4())
    response = api_client.post(
        "/api/tickets",
        {
            **ADA,
            "show": show.pk,
            "id": sent_id,
            "expired": True,
            "booking": "ZZZZZZ",
            "checked_in_at": "2020-01-01T00:00:00Z",
            "booked_at": "2020-01-01T00:00:00Z",
        },
    )

    assert response.status_code == 201
    body = response.json()
    assert body == ticket_json(body["id"], show=show, seat="B5", **ADA)  # the best seat
    assert body["id"] != sent_id
    assert body["booking"] != "ZZZZZZ"
    ticket = Ticket.objects.get()
    assert (ticket.expired, ticket.checked_in_at) == (False, None)
    assert ticket.booked_at.year == timezone.now().year


# A neighbouring endpoint's field is refused, not passed over as DRF passes over a field it
# doesn't declare: each of these answered 201 with something else than the client asked.
@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"seats": ["B7"]}, "seats"),  # booked B5, the best seat
        ({"quantity": 3}, "quantity"),  # booked one ticket
        ({"ticket_types": {"child": 1}}, "ticket_types"),  # booked an adult
        ({"wheelchair": 1}, "wheelchair"),  # booked B5, no wheelchair space
    ],
)
def test_a_ticket_refuses_the_fields_of_a_booking_of_several(api_client, show, extra, field):
    response = api_client.post("/api/tickets", {**ADA, "show": show.pk, **extra}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert not Ticket.objects.exists()


def test_a_tickets_move_refuses_the_fields_of_a_booking_of_several(api_client, ticket):
    response = api_client.patch(f"/api/tickets/{ticket.pk}", {"seats": ["C1"]}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["seats"]
    assert Ticket.objects.get().seat == ticket.seat


@pytest.mark.parametrize(("extra", "field"), [({"seat": "A5"}, "seat"), ({"ticket_type": "child"}, "ticket_type")])
def test_a_hold_and_a_confirm_refuse_the_fields_of_one_ticket(api_client, show, extra, field):
    held = api_client.post("/api/holds", {"show": show.pk, "quantity": 1, **extra}, format="json")  # held B5
    hold = hold_seats(show.pk, seats=["B5"])
    confirmed = api_client.post("/api/bookings", {"hold": str(hold.pk), **ADA, **extra}, format="json")
    booked = api_client.post("/api/bookings", {"show": show.pk, "quantity": 1, **ADA, **extra}, format="json")

    for response in (held, confirmed, booked):
        assert response.status_code == 400
        assert list(response.json()) == [field]
    assert Hold.objects.count() == 1 and not Ticket.objects.exists()


def test_a_refused_neighbours_field_is_told_beside_the_bodys_other_faults(api_client, show):
    response = api_client.post("/api/tickets", {"name": "", "show": show.pk, "quantity": 2}, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"name", "phone_number", "quantity"}
