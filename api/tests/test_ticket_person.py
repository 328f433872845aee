"""A ticket's person is its own (API.md, "Conventions": "A ticket's change of name or phone
changes that ticket's person only, never the other tickets of its booking"): a guest of a
group booking renames their ticket, and the booker's booking, the other tickets, the
e-tickets, the staff list, the audit trail and the webhooks each show the right person."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.utils import timezone

from api.models import AuditEntry, Customer, Ticket, Webhook, WebhookEvent
from api.services import jobs, sales
from api.tests.conftest import ADA, book_seats

pytestmark = pytest.mark.django_db

GRACE = {"name": "Grace Hopper", "phone_number": "+914155550188"}


@pytest.fixture
def party(show) -> sales.Sale:
    """Ada's booking of three tickets; the second is for her guest."""
    return book_seats(show.pk, quantity=3)


def test_renaming_one_ticket_leaves_the_booking_and_its_other_tickets_alone(api_client, staff_client, party):
    guest = party.tickets[1]

    response = api_client.patch(f"/api/tickets/{guest.pk}", GRACE)

    assert response.status_code == 200
    assert (response.json()["name"], response.json()["phone_number"]) == (GRACE["name"], GRACE["phone_number"])
    people = {
        str(t["id"]): (t["name"], t["phone_number"])
        for t in api_client.get(
            f"/api/bookings/{party.booking.reference}", {"phone_number": ADA["phone_number"]}
        ).json()["tickets"]
    }
    # The booker reads no one else's name or phone (API.md): the guest's ticket shows none.
    assert people == {
        str(party.tickets[0].pk): (ADA["name"], ADA["phone_number"]),
        str(guest.pk): (None, None),
        str(party.tickets[2].pk): (ADA["name"], ADA["phone_number"]),
    }
    staff_view = staff_client.get(f"/api/bookings/{party.booking.reference}").json()["tickets"]
    assert [(t["name"], t["phone_number"]) for t in staff_view if t["id"] == str(guest.pk)] == [tuple(GRACE.values())]
    booking = api_client.get(f"/api/bookings/{party.booking.reference}", {"phone_number": ADA["phone_number"]})
    assert (booking.json()["name"], booking.json()["phone_number"]) == (ADA["name"], ADA["phone_number"])
    # The guest's phone does not open the booker's booking.
    guest_phone = api_client.get(f"/api/bookings/{party.booking.reference}", {"phone_number": GRACE["phone_number"]})
    assert guest_phone.status_code == 404
    for ticket in (party.tickets[0], party.tickets[2]):
        assert api_client.get(f"/api/tickets/{ticket.pk}").json()["name"] == ADA["name"]


def test_a_phone_change_alone_keeps_the_name(api_client, party):
    guest = party.tickets[1]

    response = api_client.patch(f"/api/tickets/{guest.pk}", {"phone_number": GRACE["phone_number"]})

    assert (response.json()["name"], response.json()["phone_number"]) == (ADA["name"], GRACE["phone_number"])
    assert api_client.get(f"/api/tickets/{party.tickets[0].pk}").json()["phone_number"] == ADA["phone_number"]


def test_the_e_ticket_and_the_staff_lists_show_the_tickets_person(api_client, staff_client, staff_user, party):
    guest = party.tickets[1]
    api_client.patch(f"/api/tickets/{guest.pk}", GRACE)

    assert GRACE["name"] in api_client.get(f"/tickets/{guest.pk}/").content.decode()
    booker_page = api_client.get(f"/tickets/{party.tickets[0].pk}/").content.decode()
    assert ADA["name"] in booker_page and GRACE["name"] not in booker_page
    listed = staff_client.get("/api/tickets").json()["results"]
    assert sorted((t["name"], t["seat"]) for t in listed) == sorted(
        [(ADA["name"], party.tickets[0].seat), (GRACE["name"], guest.seat), (ADA["name"], party.tickets[2].seat)]
    )
    by_phone = staff_client.get("/api/tickets", {"phone_number": GRACE["phone_number"]}).json()["results"]
    assert [t["id"] for t in by_phone] == [str(guest.pk)]
    by_name = staff_client.get("/api/tickets", {"search": "hopper"}).json()["results"]
    assert [t["id"] for t in by_name] == [str(guest.pk)]
    staff_user.is_superuser = True  # the admin's permissions
    staff_user.save()
    admin = Client()
    admin.force_login(staff_user)
    html = admin.get("/admin/api/ticket/", {"q": "Hopper"}).content.decode()
    assert str(guest.pk)[:8] in html and str(party.tickets[0].pk)[:8] not in html


def test_the_audit_entry_names_no_person_and_the_webhook_carries_the_new_one(api_client, party):
    Webhook.objects.create(url="https://example.com/hook", events=["ticket.changed"], secret="whsec_AAAA")
    guest = party.tickets[1]

    api_client.patch(f"/api/tickets/{guest.pk}", GRACE)

    entry = AuditEntry.objects.get(object_type="ticket", object_id=str(guest.pk), action="ticket.changed")
    assert entry.changes == {"name": "changed", "phone_number": "changed"}
    (event,) = WebhookEvent.objects.filter(type="ticket.changed")
    data = event.payload["data"] if "data" in event.payload else event.payload
    assert (data["id"], data["name"], data["phone_number"]) == (str(guest.pk), GRACE["name"], GRACE["phone_number"])


def test_the_purge_keeps_a_person_while_a_ticket_names_them(api_client, party, show):
    guest = party.tickets[1]
    api_client.patch(f"/api/tickets/{guest.pk}", GRACE)
    grace = Customer.objects.get(name=GRACE["name"])

    assert jobs.tickets_purge(now=timezone.now()).customers == 0
    assert Customer.objects.filter(pk=grace.pk).exists()

    api_client.patch(f"/api/tickets/{guest.pk}", {"name": "Grace B. Hopper"})  # Grace is no one's now
    assert jobs.tickets_purge(now=timezone.now()).customers == 1
    assert not Customer.objects.filter(pk=grace.pk).exists()
    assert Customer.objects.filter(name=ADA["name"]).exists()  # the booker's booking still names her


# --- the migration: every existing ticket's person is its booking's customer -------------

BEFORE = [("api", "0008_waitlist")]


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_existing_tickets_their_bookings_person():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        old = executor.loader.project_state(BEFORE).apps
        Show, Screen, Ticket_ = (
            old.get_model("api", "Show"),
            old.get_model("api", "Screen"),
            old.get_model("api", "Ticket"),
        )
        Customer_, Booking = old.get_model("api", "Customer"), old.get_model("api", "Booking")
        starts = timezone.now().replace(second=0, microsecond=0) + timedelta(days=2)
        # A transactional test before may have emptied the tables the migrations filled.
        screen = Screen.objects.first() or Screen.objects.create(
            venue=old.get_model("api", "Venue").objects.create(
                name="Main", time_zone="UTC", currency="EUR", country="IN"
            ),
            name="Screen 1",
            seat_map={"rows": [{"label": "A", "seats": [{"number": n} for n in range(1, 11)]}]},
            capacity=10,
        )
        show = Show.objects.create(screen=screen, starts_at=starts, ends_at=starts, busy_until=starts, capacity=10)
        made = {}
        for n, name in enumerate(["Ada Lovelace", "Alan Turing"]):
            person = Customer_.objects.create(name=name, phone_number=f"+91415555012{n}")
            booking = Booking.objects.create(reference=f"MIGRA{n}", customer=person)
            for seat in (f"A{2 * n + 1}", f"A{2 * n + 2}"):
                made[Ticket_.objects.create(booking=booking, show=show, seat=seat).pk] = person.pk
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    assert dict(Ticket.objects.filter(pk__in=made).values_list("pk", "holder_id")) == made
