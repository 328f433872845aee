"""The admin's login: guessing is refused after a few wrong passwords from one address
(django-axes, AXES_FAILURE_LIMIT, 10 by default); staff who mistype a few times still get
in; and the admin names its section as staff call it."""

from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db

GUESSER = "198.51.100.23"
LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "a-long-staff-password-1"


@pytest.fixture
def manager(db):
    return get_user_model().objects.create_user("manager", password=PASSWORD, is_staff=True, is_superuser=True)


def log_in(client: Client, password: str, address: str = GUESSER, **headers: str):
    return client.post(LOGIN, {"username": "manager", "password": password}, REMOTE_ADDR=address, headers=headers)


def logged_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == "/admin/"


def test_guesses_past_the_limit_are_refused_even_the_right_one(client, manager):
    limit = settings.AXES_FAILURE_LIMIT
    assert limit == 10

    guesses = [log_in(client, f"guess-{n}") for n in range(limit)]
    refused = log_in(client, "guess-next")
    right_one = log_in(client, PASSWORD)

    assert [guess.status_code for guess in guesses[:-1]] == [200] * (limit - 1)  # the form again
    assert b"Please enter the correct username and password" in guesses[0].content
    assert (refused.status_code, right_one.status_code) == (429, 429)
    assert b"too many login attempts" in right_one.content
    assert "_auth_user_id" not in client.session


def test_a_made_up_forwarded_for_does_not_escape(client, manager):
    """Without trusted proxies (NUM_PROXIES=0) the address is the connection's, as for the
    API's throttle: X-Forwarded-For changes nothing."""
    for n in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, f"guess-{n}", X_Forwarded_For=f"192.0.2.{n}")

    assert log_in(client, PASSWORD, X_Forwarded_For="192.0.2.200").status_code == 429


def test_staff_who_mistype_a_few_times_get_in(client, manager):
    typos = [log_in(client, typo) for typo in ("a-long-staff-pasword-1", "A-long-staff-password-1", "a-long")]

    assert [typo.status_code for typo in typos] == [200, 200, 200]
    assert logged_in(log_in(client, PASSWORD))
    assert client.get("/admin/").status_code == 200


def test_a_login_resets_the_count(client, manager):
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, f"guess-{n}")
    assert logged_in(log_in(client, PASSWORD))
    client.logout()

    # A fresh count: as many typos again before a refusal.
    typos = [log_in(client, f"typo-{n}") for n in range(settings.AXES_FAILURE_LIMIT - 1)]

    assert {typo.status_code for typo in typos} == {200}
    assert logged_in(log_in(client, PASSWORD))


def test_logging_in_as_oneself_between_guesses_at_another_account_resets_nothing_for_it(client, manager):
    """Counted by address alone, a staff member's own logins reset the count of guesses at
    the manager's password: 27 guesses in three rounds, never refused."""
    get_user_model().objects.create_user("usher", password=PASSWORD + "-usher", is_staff=True)
    for round_ in range(3):
        for n in range(settings.AXES_FAILURE_LIMIT - 1):
            log_in(client, f"guess-{round_}-{n}")
        usher = client.post(LOGIN, {"username": "usher", "password": PASSWORD + "-usher"}, REMOTE_ADDR=GUESSER)
        assert logged_in(usher)
        client.logout()

    assert log_in(client, PASSWORD).status_code == 429


def test_other_addresses_are_not_locked_out(client, manager):
    for n in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, f"guess-{n}")

    assert logged_in(log_in(Client(), PASSWORD, address="203.0.113.50"))


def test_guesses_from_one_ipv6_subscriber_are_counted_by_its_64(client, manager):
    """One IPv6 subscriber has a whole /64, which the throttle and the caps count as one
    client: so does the lockout, or a guesser changing its address at each guess would
    never be refused. Another /64 is another client; an IPv4 address is counted whole."""
    for n in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, f"guess-{n}", address=f"2001:db8:1:2::{n + 1:x}")

    assert log_in(client, PASSWORD, address="2001:db8:1:2:ffff::ffff").status_code == 429
    assert logged_in(log_in(Client(), PASSWORD, address="2001:db8:1:3::1"))
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"2001:db8:1:2::"}


def test_the_refusal_ends_after_the_cool_off(client, manager):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        for n in range(settings.AXES_FAILURE_LIMIT):
            log_in(client, f"guess-{n}")
        assert log_in(client, PASSWORD).status_code == 429

        clock.move_to(start + settings.AXES_COOLOFF_TIME + timedelta(seconds=1))

        assert logged_in(log_in(client, PASSWORD))


def test_the_admin_calls_the_section_box_office(client, manager):
    client.force_login(manager)

    page = client.get("/admin/").content.decode()

    assert ">Box office</a>" in page
    assert ">API</a>" not in page
