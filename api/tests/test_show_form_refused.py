"""The show page's form without JavaScript, shown again after a refusal: what the customer
chose stays chosen, as far as it still can be, so that the form sent again books."""

import pytest

from api.models import Ticket
from api.tests.conftest import ADA as PERSON
from api.tests.conftest import book_ticket

pytestmark = pytest.mark.django_db


def test_a_seat_taken_meanwhile_comes_off_the_counts_so_the_form_sent_again_books(client, priced_dune):
    # The taken seat was unchecked but its ticket stayed in the counts (1 adult, 1 child for
    # one seat): sent again, the form was refused for a mismatch the customer didn't make.
    book_ticket(priced_dune.pk, seat="A5")
    form = {"seats": ["A4", "A5"], "tickets-adult": "1", "tickets-child": "1", **PERSON}

    refused = client.post(f"/shows/{priced_dune.pk}/", form)

    assert refused.status_code == 409
    html = refused.content.decode()
    assert 'value="A4" checked>' in html and 'value="A5" disabled>' in html
    assert [(choice.key, value) for choice, value in refused.context["count_fields"]] == [
        ("adult", "0"),
        ("child", "1"),
    ]
    again = {"seats": ["A4"], "tickets-adult": "0", "tickets-child": "1", **PERSON}
    assert client.post(f"/shows/{priced_dune.pk}/", again).status_code == 303
    assert Ticket.objects.get(seat="A4").ticket_type.key == "child"


def test_counts_that_did_not_add_up_to_the_seats_stay_as_typed(client, priced_dune):
    book_ticket(priced_dune.pk, seat="A5")

    refused = client.post(f"/shows/{priced_dune.pk}/", {"seats": ["A4", "A5"], "tickets-adult": "0", **PERSON})

    assert refused.status_code == 409
    assert [value for _, value in refused.context["count_fields"]] == ["0", "0"]


def test_a_seat_taken_meanwhile_is_told_without_a_map_the_form_has_not(client, priced_dune):
    # "The map shows what is still free": without the script the page is a list of seats.
    book_ticket(priced_dune.pk, seat="A5")

    refused = client.post(f"/shows/{priced_dune.pk}/", {"seats": ["A4", "A5"], **PERSON})

    assert refused.status_code == 409
    [said] = refused.context["errors"]
    assert said.startswith("Someone has just taken one of those seats.")
    assert "map" not in said
