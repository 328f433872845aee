"""The admin's login: guessing is refused after a few wrong passwords from one address
(django-axes, AXES_FAILURE_LIMIT, 10 by default); staff who mistype a few times still get
in; and the admin names its section as staff call it. A token's key is shown once, when it
is made. The accounts' changes and their audit entries: test_admin_accounts.py."""

from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from api.tests.admin_helpers import _messages, clerk
from api.tests.conftest import STAFF_PASSWORD as PASSWORD

pytestmark = pytest.mark.django_db

GUESSER = "198.51.100.23"
LOGIN = "/admin/login/?next=/admin/"


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


# --- users, groups and tokens: audited --------------------------------------------------


@pytest.mark.parametrize(
    "page",
    [
        "/admin/auth/user/",
        "/admin/auth/group/",
        "/admin/authtoken/tokenproxy/",
        "/admin/axes/accessattempt/",
        "/admin/axes/accessfailurelog/",
    ],
)
def test_the_account_pages_and_django_axes_pages_still_open(client, manager, page):
    client.force_login(manager)
    log_in(Client(), "a guess")  # an access attempt for axes' list

    assert client.get(page).status_code == 200
    assert client.get(page + "add/").status_code in (200, 403)  # axes' lists are read-only


@pytest.mark.parametrize(
    ("codenames", "kept"), [(["view_accessattempt"], True), (["view_accessattempt", "delete_accessattempt"], False)]
)
def test_cleaning_up_login_attempts_asks_for_the_right_to_delete_them(client, codenames, kept):
    """axes' "Clean up expired attempts" deletes every attempt past the cool-off, whatever
    was selected: axes offered it to anyone who may view the list, and staff who may only
    view it deleted the record of a password guesser's attempts."""
    clerk(client, *codenames)  # first: a login cleans up the expired attempts itself
    log_in(Client(), "a guess")
    attempt = AccessAttempt.objects.get()
    AccessAttempt.objects.filter(pk=attempt.pk).update(attempt_time=timezone.now() - timedelta(days=1))
    offered = "cleanup_expired_attempts" in client.get("/admin/axes/accessattempt/").content.decode()
    action = {"action": "cleanup_expired_attempts", "_selected_action": [attempt.pk]}

    response = client.post("/admin/axes/accessattempt/", action)

    assert offered is not kept
    assert response.status_code in (200, 302)
    assert AccessAttempt.objects.filter(pk=attempt.pk).exists() is kept


# --- API keys: shown once ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("page", "codename"),
    [
        ("/admin/authtoken/tokenproxy/", "view_tokenproxy"),
        ("/admin/authtoken/tokenproxy/{user}/change/", "view_tokenproxy"),
        ("/admin/authtoken/tokenproxy/{user}/history/", "view_tokenproxy"),
        ("/admin/authtoken/tokenproxy/{user}/delete/", "delete_tokenproxy"),
        ("/admin/auth/user/{user}/delete/", "delete_user"),  # which lists the user's token
    ],
)
def test_the_token_pages_do_not_show_a_staff_members_api_key(client, page, codename):
    """A key is the staff member: whoever reads it acts in the API as them, and the audit
    trail names them. DRF's TokenAdmin listed every key in full (and titled a token's page
    with it) to anyone who may view tokens."""
    door = get_user_model().objects.create_user("door-scanner", is_staff=True)
    key = Token.objects.create(user=door).key
    clerk(client, "view_tokenproxy", "view_user", codename)

    response = client.get(page.format(user=door.pk))

    assert response.status_code == 200
    assert key not in response.content.decode()
    assert "door-scanner" in response.content.decode()


def test_a_token_made_in_the_admin_shows_its_key_once_and_logs_its_user(client, manager):
    client.force_login(manager)
    scanner = get_user_model().objects.create_user("scanner", is_staff=True)

    made = client.post("/admin/authtoken/tokenproxy/add/", {"user": scanner.pk}, follow=True)

    key = Token.objects.get(user=scanner).key
    assert _messages(made)[0] == f"The token's key (shown once, keep it): {key}"
    assert key not in client.get("/admin/").content.decode()  # "Recent actions"
    assert LogEntry.objects.get(action_flag=ADDITION).object_repr == "API token of scanner"


@pytest.mark.parametrize(
    "query",
    [
        "/admin/authtoken/tokenproxy/?key__startswith=",
        "/admin/authtoken/tokenproxy/?pk__gte=",
        "/admin/auth/user/?auth_token__gte=",
    ],
)
def test_a_key_cannot_be_read_back_through_a_lists_query_string(client, manager, query):
    """Each list showed the token's row, or its user's, for one prefix of the key and not
    another: the key a character at a time (the tokens' pk is the key)."""
    key = Token.objects.create(user=manager).key
    client.force_login(manager)

    responses = [client.get(query + value) for value in (key[:8], "~")]

    assert [r.status_code for r in responses] == [400, 400]
