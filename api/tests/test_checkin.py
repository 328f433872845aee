"""POST/DELETE /api/tickets/{id}/check-in: admitting a ticket at the door, once (API.md, "Ticket")."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from api.models import AuditEntry, Ticket, Venue, Webhook, WebhookEvent
from api.tests.conftest import ADA, all_at_once, book_seats, book_ticket, local_iso, make_show, postgres_only, screen_of

pytestmark = pytest.mark.django_db


def check_in_url(ticket) -> str:
    return f"/api/tickets/{ticket.pk}/check-in"


@pytest.fixture
def frozen(show):
    """An hour before the show: its doors are open (BOOKING_CHECK_IN_OPENS_MINUTES, 90)."""
    moment = show.starts_at - timedelta(hours=1)
    with time_machine.travel(moment, tick=False):
        yield moment


def test_check_in_marks_the_ticket_used(staff_client, api_client, ticket, frozen):
    before = api_client.get(f"/api/tickets/{ticket.pk}").json()

    response = staff_client.post(check_in_url(ticket))

    assert response.status_code == 200, response.json()
    # Staff see the booking's reference; its holder's later read does not (v2).
    assert response.json() == {**before, "checked_in_at": local_iso(frozen), "booking": ticket.booking.reference}
    ticket.refresh_from_db()
    assert ticket.checked_in_at == frozen
    # The ticket holder sees it too.
    assert api_client.get(f"/api/tickets/{ticket.pk}").json()["checked_in_at"] == local_iso(frozen)


def test_check_in_with_a_trailing_slash(staff_client, ticket, frozen):
    assert staff_client.post(check_in_url(ticket) + "/").status_code == 200
    assert staff_client.delete(check_in_url(ticket) + "/").status_code == 200


def test_second_scan_is_409_already_checked_in(staff_client, ticket, frozen):
    assert staff_client.post(check_in_url(ticket)).status_code == 200

    with time_machine.travel(frozen + timedelta(minutes=3), tick=False):
        response = staff_client.post(check_in_url(ticket))

    assert response.status_code == 409
    assert response.json() == {
        "detail": "This ticket was checked in already.",
        "code": "already_checked_in",
        "checked_in_at": local_iso(frozen),
    }
    ticket.refresh_from_db()
    assert ticket.checked_in_at == frozen


def test_second_scan_gives_checked_in_at_as_the_ticket_does_in_the_venues_zone(staff_client, settings):
    # TIME_ZONE is UTC; the ticket reads its times in its venue's zone (API.md,
    # "Conventions"), and the 409 says when it was checked in the same way.
    settings.TIME_ZONE = "UTC"
    istanbul = Venue.objects.create(name="Kino Moda", time_zone="Europe/Istanbul", currency="TRY", country="TR")
    show = make_show(screen=screen_of(10, name="Salon 1", venue=istanbul))
    ticket = book_ticket(show.pk)
    with time_machine.travel(show.starts_at - timedelta(hours=1), tick=False):
        admitted = staff_client.post(check_in_url(ticket)).json()
        refused = staff_client.post(check_in_url(ticket))

    assert admitted["checked_in_at"].endswith("+03:00")
    assert refused.status_code == 409
    assert refused.json() == {
        "detail": "This ticket was checked in already.",
        "code": "already_checked_in",
        "checked_in_at": admitted["checked_in_at"],
    }


def test_undo_check_in(staff_client, ticket, frozen):
    checked_in = staff_client.post(check_in_url(ticket)).json()

    response = staff_client.delete(check_in_url(ticket))

    assert response.status_code == 200
    assert response.json() == {**checked_in, "checked_in_at": None}
    ticket.refresh_from_db()
    assert ticket.checked_in_at is None
    # Undone, the ticket can be scanned again.
    assert staff_client.post(check_in_url(ticket)).status_code == 200


def test_undo_of_a_ticket_not_checked_in_is_200_and_changes_nothing(staff_client, ticket, frozen, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    Webhook.objects.create(url="https://example.com/hook", events=[], secret="whsec_AAAA")
    before = staff_client.get(f"/api/tickets/{ticket.pk}").json()

    responses = [staff_client.delete(check_in_url(ticket)) for _ in range(2)]

    assert [(r.status_code, r.json()) for r in responses] == [(200, before)] * 2
    # Nothing was undone: no entry, no ticket.check_in_undone.
    assert not AuditEntry.objects.filter(object_id=str(ticket.pk), action="ticket.check_in_undone").exists()
    assert not WebhookEvent.objects.filter(type="ticket.check_in_undone").exists()
    # A check-in undone twice is undone once.
    staff_client.post(check_in_url(ticket))
    staff_client.delete(check_in_url(ticket))
    staff_client.delete(check_in_url(ticket))
    assert AuditEntry.objects.filter(object_id=str(ticket.pk), action="ticket.check_in_undone").count() == 1
    assert WebhookEvent.objects.filter(type="ticket.check_in_undone").count() == 1


@pytest.mark.parametrize("method", ["post", "delete"])
def test_check_in_is_for_staff_only(api_client, ticket, method):
    response = getattr(api_client, method)(check_in_url(ticket))

    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert response["WWW-Authenticate"] == "Token"

    user = get_user_model().objects.create_user("customer")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    response = getattr(client, method)(check_in_url(ticket))
    assert response.status_code == 403
    assert response.json() == {"detail": "Staff only."}

    ticket.refresh_from_db()
    assert ticket.checked_in_at is None


@pytest.mark.parametrize("method", ["post", "delete"])
@pytest.mark.parametrize("ticket_id", ["00000000-0000-4000-8000-000000000000", "not-a-uuid"])
def test_check_in_of_an_unknown_ticket_is_404(staff_client, method, ticket_id):
    response = getattr(staff_client, method)(f"/api/tickets/{ticket_id}/check-in")

    assert response.status_code == 404
    assert list(response.json()) == ["detail"]


@pytest.mark.parametrize("method", ["post", "delete"])
def test_check_in_of_an_expired_ticket_is_409_ticket_expired(staff_client, method):
    show = make_show(days=1, hour=10, minute=0)
    ticket = book_ticket(show.pk, name="Ada Lovelace", phone_number="+914155550123")

    # Exactly 8 hours after the start counts as expired, even before the job marks it.
    with time_machine.travel(show.starts_at + timedelta(hours=8), tick=False):
        response = getattr(staff_client, method)(check_in_url(ticket))

    assert response.status_code == 409
    assert response.json() == {"detail": "This ticket has expired.", "code": "ticket_expired"}


def test_check_in_just_before_expiry_works(staff_client):
    show = make_show(days=1, hour=10, minute=0)
    ticket = book_ticket(show.pk, name="Ada Lovelace", phone_number="+914155550123")

    with time_machine.travel(show.starts_at + timedelta(hours=8, seconds=-1), tick=False):
        assert staff_client.post(check_in_url(ticket)).status_code == 200


def test_check_in_of_a_ticket_marked_expired_is_409(staff_client, ticket):
    Ticket.objects.filter(pk=ticket.pk).update(expired=True)

    response = staff_client.post(check_in_url(ticket))

    assert response.status_code == 409
    assert response.json()["code"] == "ticket_expired"


def test_check_in_is_not_throttled_for_staff(staff_client, ticket, settings):
    settings.THROTTLE_ANON_RATE = "1/min"

    for _ in range(3):
        assert staff_client.post(check_in_url(ticket)).status_code in (200, 409)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_scanners_admit_a_ticket_once(staff_user, ticket, show):
    """Two door scanners read the same ticket at the same moment: one admits it, the
    other is told it was used. The ticket row lock makes them take turns."""
    token = Token.objects.create(user=staff_user).key

    def scan(_: int) -> tuple[int, dict]:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        response = client.post(check_in_url(ticket))
        return response.status_code, response.json()

    with time_machine.travel(show.starts_at - timedelta(hours=1)):  # the doors are open
        answers = all_at_once(2, scan)

    assert sorted(status for status, _ in answers) == [200, 409]
    admitted = next(body for status, body in answers if status == 200)
    refused = next(body for status, body in answers if status == 409)
    assert refused == {
        "detail": "This ticket was checked in already.",
        "code": "already_checked_in",
        "checked_in_at": admitted["checked_in_at"],
    }
    ticket.refresh_from_db()
    assert local_iso(ticket.checked_in_at) == admitted["checked_in_at"]


# --- the doors open BOOKING_CHECK_IN_OPENS_MINUTES (90) before the start (v2) -------------


def test_check_in_91_minutes_before_the_start_is_409_too_early(staff_client, ticket, show):
    with time_machine.travel(show.starts_at - timedelta(minutes=91), tick=False):
        response = staff_client.post(check_in_url(ticket))

    opens = timezone.localtime(show.starts_at - timedelta(minutes=90))
    assert response.status_code == 409
    assert response.json() == {
        "detail": f"Check-in for this show opens at {opens:%Y-%m-%d %H:%M}.",
        "code": "too_early",
    }
    ticket.refresh_from_db()
    assert ticket.checked_in_at is None


def test_check_in_90_minutes_before_the_start_is_admitted(staff_client, ticket, show):
    doors_open = show.starts_at - timedelta(minutes=90)
    with time_machine.travel(doors_open, tick=False):
        response = staff_client.post(check_in_url(ticket))

    assert response.status_code == 200
    assert response.json()["checked_in_at"] == local_iso(doors_open)


def test_the_doors_opening_is_a_setting(staff_client, ticket, show, settings):
    settings.BOOKING_CHECK_IN_OPENS_MINUTES = 30
    with time_machine.travel(show.starts_at - timedelta(minutes=31), tick=False):
        assert staff_client.post(check_in_url(ticket)).json()["code"] == "too_early"
    with time_machine.travel(show.starts_at - timedelta(minutes=30), tick=False):
        assert staff_client.post(check_in_url(ticket)).status_code == 200


def test_undo_is_not_bound_by_the_doors(staff_client, ticket, show):
    Ticket.objects.filter(pk=ticket.pk).update(checked_in_at=show.starts_at - timedelta(minutes=60))

    with time_machine.travel(show.starts_at - timedelta(days=1), tick=False):
        response = staff_client.delete(check_in_url(ticket))

    assert (response.status_code, response.json()["checked_in_at"]) == (200, None)


def test_a_ticket_used_at_the_door_is_neither_cancelled_nor_moved(staff_client, api_client, show, frozen):
    # Its holder cancelled it (204) or moved it to another show, checked in there too, while
    # the guest sat in the seat, which was then sold again.
    sale = book_seats(show.pk, quantity=2, **ADA)
    used, other = sale.tickets
    assert staff_client.post(check_in_url(used)).status_code == 200
    was_used = {"code": "already_checked_in", "checked_in_at": local_iso(frozen)}

    cancelled = api_client.delete(f"/api/tickets/{used.pk}")
    moved = api_client.patch(f"/api/tickets/{used.pk}", {"seat": "J10"}, format="json")
    booking_cancelled = api_client.delete(f"/api/bookings/{sale.booking.reference}?phone_number={ADA['phone_number']}")
    renamed = api_client.patch(f"/api/tickets/{used.pk}", {"name": "Ada King"}, format="json")

    assert (cancelled.status_code, cancelled.json()) == (
        409,
        {"detail": "This ticket was checked in already: it can't be cancelled.", **was_used},
    )
    assert (moved.status_code, moved.json()) == (
        409,
        {"detail": "This ticket was checked in already: it can't move.", **was_used},
    )
    assert (booking_cancelled.status_code, booking_cancelled.json()) == (
        409,
        {"detail": "A ticket of this booking was checked in already: it can't be cancelled.", **was_used},
    )
    assert renamed.status_code == 200  # a new name moves nobody
    assert sorted(Ticket.objects.values_list("seat", flat=True)) == sorted([used.seat, other.seat])
    # Staff undo the check-in (a mistaken scan): then it goes as any ticket does.
    assert staff_client.delete(check_in_url(used)).status_code == 200
    assert api_client.delete(f"/api/tickets/{used.pk}").status_code == 204
