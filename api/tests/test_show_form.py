"""The show page's form without the script (api/showform.py): it books the tickets the page
showed at the prices it showed, or nothing; a page refused as booked already can book
again; a double click's second sending waits as long as the first may take."""

import threading
import time

import pytest
from django.db import transaction
from django.test import Client

from api.models import AuditEntry, Booking, Show, ShowPrice, Ticket, TicketType
from api.services import sales
from api.showform import BOOKED_ALREADY, PRICES_CHANGED
from api.tests.conftest import ADA as PERSON
from api.tests.conftest import add_price, in_thread, make_show, postgres_only, screen_of

pytestmark = pytest.mark.django_db


def hidden(html: str, name: str) -> str:
    return html.split(f'name="{name}" value="', 1)[1].split('"', 1)[0]


def page_fields(client: Client, show: Show) -> dict[str, str]:
    html = client.get(f"/shows/{show.pk}/").content.decode()
    return {name: hidden(html, name) for name in ("form_key", "prices_key")}


def test_a_show_priced_for_children_only_books_picked_seats_as_children(client):
    # The page says "all child when left at 0"; the form asked for the default type, adult,
    # which this show doesn't sell, and was refused.
    matinee = make_show()
    add_price(matinee, "child", "8.00")
    assert "(all child when left at 0)" in client.get(f"/shows/{matinee.pk}/").content.decode()

    sent = {**PERSON, "seats": ["A4", "A5"], "tickets-child": "0", **page_fields(client, matinee)}
    assert client.post(f"/shows/{matinee.pk}/", sent).status_code == 303

    assert sorted(Ticket.objects.values_list("ticket_type__key", "price")) == [("child", 8), ("child", 8)]


@pytest.mark.parametrize("change", ["type dropped", "price raised"])
def test_prices_changed_since_the_page_was_shown_book_nothing_and_the_page_shows_them(client, priced_dune, change):
    # A type dropped meanwhile was left out of the booking (one ticket of the two asked);
    # a price raised was charged without the customer seeing it.
    sent = {**PERSON, "tickets-adult": "1", "tickets-child": "1", **page_fields(client, priced_dune)}
    child = ShowPrice.objects.filter(show=priced_dune, ticket_type__key="child")
    if change == "type dropped":
        child.delete()
    else:
        child.update(amount="9.50")

    refused = client.post(f"/shows/{priced_dune.pk}/", sent)

    assert refused.status_code == 409
    assert refused.context["errors"] == [PRICES_CHANGED]
    assert not Booking.objects.exists()
    # Sent again from the page that says so, with its prices: booked.
    again = {**sent, "prices_key": hidden(refused.content.decode(), "prices_key")}
    if change == "type dropped":
        again["tickets-child"] = "0"
    assert client.post(f"/shows/{priced_dune.pk}/", again).status_code == 303
    assert Ticket.objects.count() == (1 if change == "type dropped" else 2)


def test_a_price_raised_while_the_form_waits_for_the_shows_lock_is_not_charged(client, priced_dune, monkeypatch):
    # The form checked its prices_key against the prices its request read, before the sale
    # took the show's lock; staff's change committed meanwhile was charged (9.50, not 8.00).
    sent = {**PERSON, "tickets-child": "1", **page_fields(client, priced_dune)}
    booking_create = sales.booking_create

    def after_a_price_change(**kwargs):
        ShowPrice.objects.filter(show=priced_dune, ticket_type__key="child").update(amount="9.50")
        return booking_create(**kwargs)

    monkeypatch.setattr(sales, "booking_create", after_a_price_change)
    refused = client.post(f"/shows/{priced_dune.pk}/", sent)

    assert (refused.status_code, refused.context["errors"]) == (409, [PRICES_CHANGED])
    assert not Ticket.objects.exists() and not AuditEntry.objects.exists()


def test_seats_left_at_0_are_not_booked_as_another_type_than_the_page_said(client, priced_dune):
    # The page said "all adult when left at 0"; staff made child the default meanwhile, and
    # the seats were booked as children's at 8.00 (the prices were the same, and so the key).
    assert "(all adult when left at 0)" in client.get(f"/shows/{priced_dune.pk}/").content.decode()
    sent = {**PERSON, "seats": ["A4", "A5"], **page_fields(client, priced_dune)}
    TicketType.objects.filter(key="adult").update(default=False)
    TicketType.objects.filter(key="child").update(default=True)

    refused = client.post(f"/shows/{priced_dune.pk}/", sent)

    assert (refused.status_code, refused.context["errors"]) == (409, [PRICES_CHANGED])
    assert "(all child when left at 0)" in refused.content.decode()
    assert not Ticket.objects.exists()


def test_a_page_refused_as_booked_already_books_when_its_form_is_sent_again(client):
    # It kept the same form_key: reloading or sending the page again was refused the same way.
    show = make_show(screen=screen_of(10), capacity=10)
    fields = page_fields(client, show)
    assert client.post(f"/shows/{show.pk}/", {"seats": ["A4"], **PERSON, **fields}).status_code == 303

    refused = client.post(f"/shows/{show.pk}/", {"seats": ["A8"], **PERSON, **fields})
    assert refused.status_code == 400
    assert refused.context["errors"] == [BOOKED_ALREADY]
    new_key = hidden(refused.content.decode(), "form_key")
    assert new_key != fields["form_key"]

    again = client.post(f"/shows/{show.pk}/", {"seats": ["A8"], **PERSON, **fields, "form_key": new_key})
    assert again.status_code == 303, again.context["errors"]
    assert sorted(Ticket.objects.values_list("seat", flat=True)) == ["A4", "A8"]


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_form_sent_twice_while_the_show_is_busy_shows_the_one_booking(settings):
    # The second sending waited 2 s for the first, which may wait 3 s for the show's lock
    # (BOOKING_LOCK_TIMEOUT_SECONDS): it answered the API's 409 "still running" instead.
    settings.BOOKING_LOCK_TIMEOUT_SECONDS = 3
    show = make_show(screen=screen_of(10), capacity=10)
    sent = {"tickets": "2", **PERSON, **page_fields(Client(), show)}
    locked, answers = threading.Event(), {}

    def hold_the_show() -> None:
        with transaction.atomic():
            Show.objects.select_for_update().get(pk=show.pk)
            locked.set()
            time.sleep(2.5)

    def send(name: str) -> None:
        answers[name] = Client().post(f"/shows/{show.pk}/", sent).status_code

    holder = in_thread(answers, "held", hold_the_show)
    locked.wait(10)
    first = in_thread(answers, "sent", lambda: send("first"))
    time.sleep(0.3)
    send("second")
    for thread in (holder, first):
        thread.join(30)
    assert (answers.pop("held"), answers.pop("sent")) == (None, None)  # both ran through

    assert answers == {"first": 303, "second": 303}
    assert Booking.objects.count() == 1


@pytest.mark.parametrize(("tickets", "seats"), [("2", ["B5"]), ("1", ["B5", "B6"])])
def test_a_count_that_isnt_the_seats_picked_at_a_show_without_prices_books_nothing(client, show, tickets, seats):
    """The page says the numbers add up to the seats picked (or are left at 0), and a priced
    show refuses them when they don't; at a show without prices its one count was passed
    over: 2 tickets asked, B5 picked, one ticket booked (303)."""
    response = client.post(f"/shows/{show.pk}/", {"seats": seats, "tickets": tickets, **PERSON})

    assert response.status_code == 400
    assert response.context["errors"] == [
        f"Tickets: the number ({tickets}) must be the number of seats picked ({len(seats)}), or 0."
    ]
    assert not Ticket.objects.exists()


def test_a_count_left_at_0_or_the_seats_picked_at_a_show_without_prices_books_them(client, show):
    for tickets, seats in (("0", ["B5"]), ("2", ["A5", "A6"])):
        response = client.post(f"/shows/{show.pk}/", {"seats": seats, "tickets": tickets, **PERSON})
        assert response.status_code == 303, response.context and response.context["errors"]
    assert sorted(Ticket.objects.values_list("seat", flat=True)) == ["A5", "A6", "B5"]
