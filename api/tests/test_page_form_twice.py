"""The show page's form without JavaScript, sent twice (a double click): one booking, and
the answer the browser shows (the second's) is that booking."""

import pytest
from django.http import HttpRequest
from django.test import Client

from api.models import Booking, Ticket
from api.pages import BOOKED_COOKIE, BOOKED_SALT
from api.showform import BOOKED_ALREADY
from api.tests.conftest import all_at_once, make_show, postgres_only, screen_of

PERSON = {"name": "Ada Lovelace", "phone_number": "+914155550123"}


def form_key(client: Client, show) -> str:
    html = client.get(f"/shows/{show.pk}/").content.decode()
    return html.split('name="form_key" value="', 1)[1].split('"', 1)[0]


@pytest.mark.django_db
@pytest.mark.parametrize("form", [{"seats": ["A4", "A5"]}, {"tickets": "2"}])
def test_a_form_sent_twice_books_once_and_both_answers_show_that_booking(form):
    # The best seats were booked twice (two references, the first never shown), and picked
    # seats were refused the second time as taken, by the customer's own first click.
    show = make_show(screen=screen_of(10), capacity=10)
    client = Client()
    sent = {**form, **PERSON, "form_key": form_key(client, show)}

    first = client.post(f"/shows/{show.pk}/", sent)
    second = client.post(f"/shows/{show.pk}/", sent)

    assert first.status_code == second.status_code == 303
    (booking,) = Booking.objects.all()
    # The same reference in both cookies, read as the page reads it: the raw values differ
    # when the two answers straddle a second (each signature carries its own timestamp).
    assert _booked(first) == _booked(second) == booking.reference
    page = client.get(second["Location"]).content.decode()
    assert f'Your booking reference is <strong class="ref">{booking.reference}</strong>' in page
    assert Ticket.objects.count() == 2


@pytest.mark.django_db
def test_a_booked_form_sent_again_with_other_choices_says_so_in_a_sentence():
    # (Back to the page, other seats, sent again.) It said "This Idempotency-Key was used
    # with another request body.", the API's words.
    show = make_show(screen=screen_of(10), capacity=10)
    client = Client()
    key = form_key(client, show)
    assert client.post(f"/shows/{show.pk}/", {"seats": ["A4"], **PERSON, "form_key": key}).status_code == 303

    again = client.post(f"/shows/{show.pk}/", {"seats": ["A6"], **PERSON, "form_key": key})

    assert again.status_code == 400
    assert again.context["errors"] == [BOOKED_ALREADY]
    assert Ticket.objects.count() == 1


@pytest.mark.django_db
def test_a_page_shown_afresh_is_a_new_booking():
    show = make_show(screen=screen_of(10), capacity=10)
    client = Client()

    for _ in range(2):
        assert (
            client.post(
                f"/shows/{show.pk}/", {"tickets": "1", **PERSON, "form_key": form_key(client, show)}
            ).status_code
            == 303
        )

    assert Booking.objects.count() == 2


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_form_sent_twice_at_once_books_once():
    show = make_show(screen=screen_of(10), capacity=10)
    key = form_key(Client(), show)

    answers = all_at_once(2, lambda n: Client().post(f"/shows/{show.pk}/", {"tickets": "2", **PERSON, "form_key": key}))

    assert [a.status_code for a in answers] == [303, 303]
    assert Booking.objects.count() == 1
    # One booking's reference in both (each signed when its answer was made: the signatures'
    # timestamps differ when the two answers straddle a second).
    assert {_booked(a) for a in answers} == {Booking.objects.get().reference}


def _booked(answer) -> str | None:
    """The reference an answer's booked cookie holds, as the page reads it."""
    request = HttpRequest()
    request.COOKIES[BOOKED_COOKIE] = answer.cookies[BOOKED_COOKIE].value
    return request.get_signed_cookie(BOOKED_COOKIE, salt=BOOKED_SALT)
