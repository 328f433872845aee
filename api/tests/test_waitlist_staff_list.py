"""A show's waiting list, for staff (API.md, "Waiting list"): the whole list in joining
order with each entry's status, who may read it, and what it costs in queries."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from api.models import Hold, Ticket, WaitlistEntry
from api.tests.conftest import ADA, local_iso
from api.tests.waitlist_helpers import ALAN, GRACE, join, offer_seats

pytestmark = pytest.mark.django_db


def test_staff_read_a_shows_list_in_joining_order_with_each_status(api_client, staff_client, sold_out, frozen):
    start = timezone.now()
    ids = []
    for person, party in ((ADA, 3), (GRACE, 1), (ALAN, 2)):
        response = join(api_client, sold_out, person, party_size=party)
        assert response.status_code == 201, response.json()
        ids.append(response.json()["id"])
        frozen.shift(60)
    Ticket.objects.filter(seat__in=["A3", "A4"]).delete()  # 2 seats: Ada's 3 don't fit, Grace's 1 does
    offer_seats()
    hold = Hold.objects.get(waitlist_entry_id=ids[1])

    response = staff_client.get(f"/api/shows/{sold_out.pk}/waitlist")

    assert response.status_code == 200
    assert response.json() == {
        "count": 3,
        "next": None,
        "previous": None,
        "results": [
            {
                "id": ids[0],
                "show": sold_out.pk,
                "party_size": 3,
                "position": 1,
                "status": "waiting",
                "name": ADA["name"],
                "phone_number": ADA["phone_number"],
                "joined_at": local_iso(start),
            },
            {
                "id": ids[1],
                "show": sold_out.pk,
                "party_size": 1,
                "status": "offered",
                "offer": {
                    "hold": str(hold.pk),
                    "seats": hold.seats,
                    "total": "0.00",
                    "currency": "EUR",
                    "expires_at": local_iso(timezone.now() + timedelta(minutes=10)),
                },
                "name": GRACE["name"],
                "phone_number": GRACE["phone_number"],
                "joined_at": local_iso(start + timedelta(minutes=1)),
            },
            {
                "id": ids[2],
                "show": sold_out.pk,
                "party_size": 2,
                "position": 2,
                "status": "waiting",
                "name": ALAN["name"],
                "phone_number": ALAN["phone_number"],
                "joined_at": local_iso(start + timedelta(minutes=2)),
            },
        ],
    }
    page = staff_client.get(f"/api/shows/{sold_out.pk}/waitlist/", {"page_size": 1, "page": 2}).json()
    assert [entry["id"] for entry in page["results"]] == [ids[1]]
    assert page["count"] == 3


def test_only_staff_read_a_shows_list(api_client, sold_out):
    join(api_client, sold_out)
    response = api_client.get(f"/api/shows/{sold_out.pk}/waitlist")
    assert (response.status_code, response.json()) == (401, {"detail": "Authentication credentials were not provided."})

    user = get_user_model().objects.create_user("customer", password="secret-pass-2")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    response = client.get(f"/api/shows/{sold_out.pk}/waitlist")
    assert (response.status_code, response.json()) == (403, {"detail": "Staff only."})


def test_staff_reading_an_unknown_shows_list_get_a_404(staff_client):
    response = staff_client.get("/api/shows/999999/waitlist")
    assert (response.status_code, response.json()) == (404, {"detail": "No Show matches the given query."})


def test_a_shows_list_costs_four_queries(staff_client, sold_out, django_assert_num_queries):
    for n in range(5):
        WaitlistEntry.objects.create(
            show=sold_out, name=f"P{n}", phone_number=f"+9141555501{n:02d}", party_size=1, joined_at=timezone.now()
        )
    # The token's user, the show, the page's COUNT, and the page of entries with their
    # status, position and offer in one SELECT.
    with django_assert_num_queries(4):
        response = staff_client.get(f"/api/shows/{sold_out.pk}/waitlist")
    assert response.json()["count"] == 5
