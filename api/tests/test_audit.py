"""The audit trail: every write path leaves an entry, no entry holds a name or a phone
number, only staff read it, the purge keeps it for AUDIT_KEEP_DAYS."""

import json
from datetime import UTC, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api.models import AuditEntry, Booking, Show, Ticket, WebhookEvent
from api.services import jobs
from api.tests.conftest import PRICES, book_seats, hold_seats, make_show

pytestmark = pytest.mark.django_db

# The people of these tests: nothing of them may appear in an entry.
ZOE = {"name": "Zoe Quartermaine", "phone_number": "+914155550177"}
NEW_NAME, NEW_PHONE = "Yusuf Brightwater", "+914155550188"
SECRETS = ["Zoe", "Quartermaine", "Yusuf", "Brightwater", "4155550177", "4155550188"]


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("alice", password="secret-pass-1")
    client.force_login(user)
    return client


def actions() -> set[tuple[str, str]]:
    return set(AuditEntry.objects.values_list("actor", "action"))


def test_every_write_path_leaves_an_entry(staff_client, api_client, admin_client):
    show = make_show(days=2, capacity=20)
    staff = "staff:boxoffice"
    client = "client:127.0.0.1"

    # --- the API, as a client ---
    ticket = api_client.post("/api/tickets", {**ZOE, "show": show.pk}, format="json").json()
    booking = api_client.post("/api/bookings", {**ZOE, "show": show.pk, "quantity": 2}, format="json").json()
    hold = api_client.post("/api/holds", {"show": show.pk, "quantity": 1}, format="json").json()
    api_client.post("/api/bookings", {**ZOE, "hold": hold["id"]}, format="json")
    hold = api_client.post("/api/holds", {"show": show.pk, "quantity": 1}, format="json").json()
    assert api_client.delete(f"/api/holds/{hold['id']}").status_code == 204
    other = Show.objects.exclude(pk=show.pk).first() or make_show(days=4, capacity=20)
    response = api_client.patch(f"/api/tickets/{ticket['id']}", {"show": other.pk, "name": NEW_NAME}, format="json")
    assert response.status_code == 200, response.json()
    response = api_client.patch(f"/api/tickets/{ticket['id']}", {"phone_number": NEW_PHONE}, format="json")
    assert response.status_code == 200
    phone = ZOE["phone_number"]
    assert api_client.delete(f"/api/bookings/{booking['reference']}?phone_number={phone}").status_code == 204
    assert api_client.delete(f"/api/tickets/{ticket['id']}").status_code == 204
    for action in (
        "ticket.created",
        "booking.created",
        "hold.created",
        "hold.confirmed",
        "hold.released",
        "ticket.moved",
    ):
        assert (client, action) in actions(), action
    for action in ("ticket.changed", "booking.cancelled", "ticket.cancelled"):
        assert (client, action) in actions(), action

    # --- the API, as staff ---
    sold = staff_client.post("/api/tickets", {**ZOE, "show": show.pk}, format="json").json()
    with time_machine.travel(show.starts_at - timedelta(hours=1)):  # the doors are open
        assert staff_client.post(f"/api/tickets/{sold['id']}/check-in").status_code == 200
        assert staff_client.delete(f"/api/tickets/{sold['id']}/check-in").status_code == 200
    starts = (timezone.now() + timedelta(days=9)).replace(second=0, microsecond=0)
    new_show = staff_client.post("/api/shows", {"starts_at": starts.isoformat(), "title": "Audit"}, format="json")
    assert new_show.status_code == 201, new_show.json()
    new_id = new_show.json()["id"]
    assert staff_client.patch(f"/api/shows/{new_id}", {"capacity": 10}, format="json").status_code == 200
    assert staff_client.post(f"/api/shows/{new_id}/blocks", {"seats": ["A1"]}, format="json").status_code == 201
    assert staff_client.delete(f"/api/shows/{new_id}/blocks/A1").status_code == 204
    assert staff_client.delete(f"/api/shows/{new_id}").status_code == 204
    venue = staff_client.post("/api/venues", {"name": "Annex"}, format="json").json()
    assert staff_client.patch(f"/api/venues/{venue['id']}", {"name": "Annexe"}, format="json").status_code == 200
    film = staff_client.post("/api/films", {"title": "Audit", "runtime_minutes": 90}, format="json").json()
    assert staff_client.delete(f"/api/films/{film['id']}").status_code == 204
    screen = {"venue": venue["id"], "name": "One", "seat_map": {"rows": [{"label": "A", "seats": 2}]}}
    response = staff_client.post("/api/screens", screen, format="json")
    kind = staff_client.post("/api/ticket-types", {"key": "student", "name": "Student"}, format="json")
    assert kind.status_code == 201
    assert staff_client.delete("/api/ticket-types/student").status_code == 204
    expected = [
        "ticket.checked_in",
        "ticket.check_in_undone",
        "show.created",
        "show.changed",
        "seats.blocked",
        "seats.unblocked",
        "show.cancelled",
        "venue.created",
        "venue.changed",
        "film.created",
        "film.deleted",
        "ticket_type.created",
        "ticket_type.deleted",
    ]
    if response.status_code == 201:
        expected.append("screen.created")
    for action in expected:
        assert (staff, action) in actions(), action

    # --- the admin ---
    admin_ticket = Ticket.objects.filter(show=show).first()
    assert admin_ticket is not None
    selected = {"_selected_action": [str(admin_ticket.pk)]}
    with time_machine.travel(show.starts_at - timedelta(hours=1)):  # the doors are open
        admin_client.post("/admin/api/ticket/", {"action": "check_in", **selected})
        admin_client.post("/admin/api/ticket/", {"action": "undo_check_in", **selected})
    with time_machine.travel(show.starts_at + timedelta(hours=1)):  # a no-show's ticket
        admin_client.post("/admin/api/ticket/", {"action": "mark_expired", **selected})
    some_booking = Booking.objects.exclude(tickets=admin_ticket).filter(tickets__isnull=False).first()
    assert some_booking is not None
    admin_client.post(f"/admin/api/booking/{some_booking.pk}/delete/", {"post": "yes"})
    for action in ("ticket.checked_in", "ticket.check_in_undone", "ticket.expired", "booking.cancelled"):
        assert ("staff:alice", action) in actions(), action

    # --- the jobs ---
    call_command("expire_tickets", stdout=open("/dev/null", "w"))
    with time_machine.travel(show.starts_at + timedelta(hours=8)):  # the marked ticket's show is over
        call_command("purge_expired_tickets", stdout=open("/dev/null", "w"))
    call_command("deliver_webhooks", stdout=open("/dev/null", "w"))
    assert ("job:expire_tickets", "tickets.expired") in actions()
    assert ("job:purge_expired_tickets", "tickets.purged") in actions()
    purge = AuditEntry.objects.filter(action="tickets.purged").get()
    assert purge.changes["tickets"] == 1  # the ticket staff marked expired

    # No entry holds a name or a phone number.
    every_entry = json.dumps(list(AuditEntry.objects.values("object_id", "changes", "actor")))
    for secret in SECRETS:
        assert secret not in every_entry
    changed = AuditEntry.objects.filter(object_id=ticket["id"], action="ticket.changed").values_list(
        "changes", flat=True
    )
    assert list(changed) == [{"phone_number": "changed"}]


def test_a_user_who_is_no_longer_staff_is_recorded_as_a_client(staff_user, staff_client):
    # Box-office staff who left: their terminal's token still names them, but what it does
    # is a client's (API.md: "staff:alice" | "client:<address>"), never staff's.
    staff_user.is_staff = False
    staff_user.save(update_fields=["is_staff"])
    show = make_show(days=2)

    assert staff_client.post("/api/tickets", {"show": show.pk, **ZOE}, format="json").status_code == 201

    assert actions() == {("client:127.0.0.1", "booking.created"), ("client:127.0.0.1", "ticket.created")}


def test_a_move_reads_seat_old_and_new(staff_client):
    show = make_show(days=2)
    ticket = staff_client.post("/api/tickets", {**ZOE, "show": show.pk, "seat": "A1"}, format="json").json()

    staff_client.patch(f"/api/tickets/{ticket['id']}", {"seat": "B4"}, format="json")

    response = staff_client.get("/api/audit", {"object": f"ticket:{ticket['id']}"})
    assert response.status_code == 200
    entries = response.json()["results"]
    assert [(e["action"], e["changes"]) for e in entries] == [
        ("ticket.moved", {"seat": ["A1", "B4"]}),
        ("ticket.created", {"show": show.pk, "seat": "A1"}),
    ]
    assert entries[0]["object"] == f"ticket:{ticket['id']}"
    assert entries[0]["actor"] == "staff:boxoffice"
    assert set(entries[0]) == {"id", "at", "actor", "action", "object", "changes"}


def test_a_confirm_ends_the_holds_history_with_the_booking_it_made(staff_client, api_client):
    """A confirm spends the hold: its history ends there, naming the booking, as a release
    or a show's cancellation ends it. On PostgreSQL the entry is one of the sale's one
    statement (sale_rows.py): no INSERT of its own."""
    show = make_show(days=2)
    hold = api_client.post("/api/holds", {"show": show.pk, "seats": ["A3"]}, format="json").json()

    with CaptureQueriesContext(connection) as statements:
        booking = api_client.post("/api/bookings", {**ZOE, "hold": hold["id"]}, format="json")
    assert booking.status_code == 201, booking.json()

    response = staff_client.get("/api/audit", {"object": f"hold:{hold['id']}"})
    assert [(e["action"], e["actor"], e["changes"]) for e in response.json()["results"]] == [
        ("hold.confirmed", "client:127.0.0.1", {"booking": booking.json()["reference"]}),
        ("hold.created", "client:127.0.0.1", {"show": show.pk, "seats": ["A3"]}),
    ]
    if connection.vendor == "postgresql":
        audit_table = AuditEntry._meta.db_table
        assert not [q["sql"] for q in statements if q["sql"].lstrip().startswith(f'INSERT INTO "{audit_table}"')]


def test_the_filters(staff_client, api_client):
    show = make_show(days=2)
    booking = api_client.post("/api/bookings", {**ZOE, "show": show.pk, "quantity": 2}, format="json").json()
    staff_client.post("/api/shows", {"starts_at": show.starts_at.isoformat(), "title": "x"}, format="json")
    today = timezone.localdate().isoformat()

    def count(**params) -> int:
        response = staff_client.get("/api/audit", params)
        assert response.status_code == 200
        return response.json()["count"]

    assert count(object=f"booking:{booking['reference'].lower()}") == 1
    assert count(object="booking:NOSUCH") == 0
    assert count(object=f"show:{show.pk}") == 0
    assert count(actor="client:127.0.0.1") == 3  # the booking and its two tickets
    assert count(actor="staff:nobody") == 0
    assert count(action="booking.created") == 1
    assert count(action="show.moved") == 0
    assert (
        count(date_after=today, date_before=today) == 3 + AuditEntry.objects.filter(actor__startswith="staff").count()
    )
    assert count(date_after=(timezone.localdate() + timedelta(days=1)).isoformat()) == 0
    assert staff_client.get("/api/audit", {"date_after": "soon"}).status_code == 400
    # YYYY-MM-DD only, as the show search's: Django's default formats read 01/02/2026 as
    # 2 January, a European client's 1 February.
    for day in ("01/02/2026", "Feb 1 2026", "1 Feb, 2026"):
        for side in ("date_after", "date_before"):
            refused = staff_client.get("/api/audit", {side: day})
            assert refused.status_code == 400 and side in refused.json(), (day, side)
    assert count(date_before="9999-12-31") == AuditEntry.objects.count()  # the calendar's last day is one


def test_the_object_filter_finds_an_id_in_any_form_its_url_takes(staff_client):
    """GET /api/tickets/{id} (and a hold's, a waiting-list entry's URL) takes the id in
    capitals or without hyphens, as a scanner or a person may type it; booking:<ref> is
    read case-blind. ticket:<ID> found nothing: an empty history, not the ticket's."""
    show = make_show(days=2)
    ticket = book_seats(show.pk, quantity=1).tickets[0]
    hold = hold_seats(show.pk, quantity=1)
    upper = str(ticket.pk).upper()
    assert staff_client.get(f"/api/tickets/{upper}").status_code == 200

    def count(key: str) -> int:
        response = staff_client.get("/api/audit", {"object": key})
        assert response.status_code == 200
        return response.json()["count"]

    assert count(f"ticket:{ticket.pk}") == 1
    assert count(f"ticket:{upper}") == count(f"ticket:{ticket.pk.hex}") == 1
    assert count(f"hold:{hold.pk.hex.upper()}") == 1
    assert count(f"ticket:{hold.pk}") == 0  # another kind's id
    assert count("ticket:not-a-ticket") == count(f"ticket:{ticket.pk}x") == 0  # as show:abc finds nothing
    assert count("show:abc") == 0


def test_anonymous_clients_cant_read_the_trail_and_nobody_writes_it(api_client, staff_client):
    assert api_client.get("/api/audit").status_code == 401
    assert staff_client.post("/api/audit", {}, format="json").status_code == 405


def test_the_admin_view_is_read_only(admin_client):
    make_show()
    entry = AuditEntry.objects.create(at=timezone.now(), actor="x", action="y", object_type="show", object_id="1")
    assert admin_client.get("/admin/api/auditentry/?object_type=show&object_id=1").status_code == 200
    assert admin_client.get("/admin/api/auditentry/add/").status_code == 403
    assert admin_client.post(f"/admin/api/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_an_objects_history_in_the_admin_reads_its_entries_not_the_whole_trail(admin_client):
    make_show()
    AuditEntry.objects.create(at=timezone.now(), actor="x", action="y", object_type="show", object_id="1")
    with CaptureQueriesContext(connection) as queries:
        page = admin_client.get("/admin/api/auditentry/?object_type=show&object_id=1")
    assert [entry.action for entry in page.context["cl"].result_list] == ["y"]
    # The filters' choices were two DISTINCTs of every entry: 1.1 s a history with 3,000,000.
    # (The date drill-down's reads the object's entries alone.)
    assert not [q["sql"] for q in queries if 'DISTINCT "api_auditentry"' in q["sql"]]
    assert admin_client.get("/admin/api/auditentry/").context["cl"].has_filters  # the whole trail keeps them


def test_the_purge_deletes_entries_past_audit_keep_days(settings):
    now = timezone.now()
    old = AuditEntry.objects.create(at=now - timedelta(days=401), actor="x", action="y", object_type="t", object_id="1")
    kept = AuditEntry.objects.create(
        at=now - timedelta(days=399), actor="x", action="y", object_type="t", object_id="2"
    )

    call_command("purge_expired_tickets", stdout=open("/dev/null", "w"))

    assert not AuditEntry.objects.filter(pk=old.pk).exists()
    assert AuditEntry.objects.filter(pk=kept.pk).exists()
    run = AuditEntry.objects.get(action="tickets.purged")
    assert (run.actor, run.changes["audit_entries"]) == ("job:purge_expired_tickets", 1)


def test_a_save_that_changes_nothing_records_nothing_and_a_change_names_what_it_changes(staff_client, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True  # the endpoint's name is not looked up
    # Shows and tickets already did; a venue, film, screen, ticket type or webhook saved as
    # it was wrote an entry that listed every field given, or an empty one.
    venue = staff_client.post("/api/venues", {"name": "Annex", "currency": "EUR"}, format="json").json()
    film = staff_client.post("/api/films", {"title": "Audit", "runtime_minutes": 90}, format="json").json()
    seat_map = {"grid": {"rows": 1, "seats_per_row": 2}}
    screen = staff_client.post(
        "/api/screens", {"venue": venue["id"], "name": "One", "seat_map": seat_map}, format="json"
    )
    kind = staff_client.post("/api/ticket-types", {"key": "student", "name": "Student"}, format="json")
    hook = {"url": "https://hooks.example.com/in", "events": ["booking.created"]}
    webhook = staff_client.post("/api/webhooks", hook, format="json")
    assert (screen.status_code, kind.status_code, webhook.status_code) == (201, 201, 201)
    made = AuditEntry.objects.count()

    unchanged = [
        (f"/api/venues/{venue['id']}", {"name": "Annex", "currency": "EUR"}),
        (f"/api/films/{film['id']}", {"title": "Audit", "runtime_minutes": 90}),
        (f"/api/screens/{screen.json()['id']}", {"name": "One", "seat_map": seat_map}),
        ("/api/ticket-types/student", {"name": "Student"}),
        (f"/api/webhooks/{webhook.json()['id']}", {"events": ["booking.created"]}),
    ]
    for url, body in unchanged:
        response = staff_client.patch(url, body, format="json")
        assert response.status_code == 200, (url, response.json())
    assert AuditEntry.objects.count() == made

    staff_client.patch(f"/api/venues/{venue['id']}", {"name": "Annexe", "currency": "EUR"}, format="json")
    staff_client.patch(f"/api/screens/{screen.json()['id']}", {"name": "Uno", "seat_map": seat_map}, format="json")
    staff_client.patch("/api/ticket-types/student", {"name": "Students"}, format="json")
    changed = AuditEntry.objects.filter(pk__gt=AuditEntry.objects.order_by("pk")[made - 1].pk).order_by("pk")
    assert [(e.action, e.changes) for e in changed] == [
        ("venue.changed", {"name": ["Annex", "Annexe"]}),
        ("screen.changed", {"name": ["One", "Uno"]}),
        ("ticket_type.changed", {"name": ["Student", "Students"]}),
    ]


def test_a_shows_prices_saved_as_they_are_record_nothing_nor_send_an_event(staff_client, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    show = make_show()
    hook = {"url": "https://hooks.example.com/in", "events": ["show.changed"]}
    assert staff_client.post("/api/webhooks", hook, format="json").status_code == 201
    assert staff_client.patch(f"/api/shows/{show.pk}", {"prices": PRICES}, format="json").status_code == 200
    made, sent = AuditEntry.objects.count(), WebhookEvent.objects.count()

    # The same prices in another order, 8 for 8.00: each such save wrote "prices changed"
    # and told the theatre's systems of a change that never was.
    same = [{**price, "amount": price["amount"].removesuffix(".00")} for price in reversed(PRICES)]
    assert staff_client.patch(f"/api/shows/{show.pk}", {"prices": same}, format="json").status_code == 200
    assert (AuditEntry.objects.count(), WebhookEvent.objects.count()) == (made, sent)

    dearer = [{**PRICES[0], "amount": "99.00"}, *PRICES[1:]]
    assert staff_client.patch(f"/api/shows/{show.pk}", {"prices": dearer}, format="json").status_code == 200
    entry = AuditEntry.objects.latest("pk")
    assert (entry.action, entry.changes) == ("show.changed", {"prices": "changed"})
    assert WebhookEvent.objects.count() == sent + 1


def test_a_show_a_booking_makes_at_a_free_time_is_recorded_as_its_clients_and_undone_with_a_refused_sale(
    api_client, staff_client
):
    # An open timing (a booking by a date and time with no show) made a show with no entry:
    # its history was empty, though the purge may delete it later.
    day = (timezone.localdate() + timedelta(days=5)).isoformat()
    response = api_client.post("/api/tickets", {**ZOE, "date": day, "time": "11:15"}, format="json")
    assert response.status_code == 201
    show = Show.objects.get(pk=response.json()["show"])

    history = staff_client.get("/api/audit", {"object": f"show:{show.pk}"}).json()["results"]
    assert [(e["action"], e["actor"]) for e in history] == [("show.created", "client:127.0.0.1")]
    assert history[0]["changes"] == {
        "starts_at": show.starts_at.astimezone(UTC).isoformat(),
        "capacity": show.capacity,
        "screen": show.screen_id,
        "open_timing": True,
    }
    # A sale refused at another free time takes its show and the show's entry with it.
    refused = api_client.post("/api/tickets", {**ZOE, "date": day, "time": "12:15", "seat": "Z99"}, format="json")
    assert refused.status_code == 400
    assert Show.objects.count() == 1
    assert not AuditEntry.objects.filter(action="show.created").exclude(object_id=str(show.pk)).exists()


def test_a_purge_stopped_midway_leaves_in_the_trail_what_its_batches_deleted(monkeypatch):
    """The batches commit as they go, but the run's entry was written at its end: a purge
    killed after deleting the expired tickets left no trace of them, and the next run said 0."""
    show = make_show(days=2)
    for ticket in book_seats(show.pk, quantity=5).tickets:
        Ticket.objects.filter(pk=ticket.pk).update(expired=True)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # as the process dies after the tickets' batches

    monkeypatch.setattr(jobs, "_delete_unused", killed)
    with pytest.raises(KeyboardInterrupt):
        jobs.tickets_purge(now=show.starts_at + timedelta(hours=8), batch_size=2)  # the show is over

    run = AuditEntry.objects.get(action="tickets.purged")
    assert (run.changes["tickets"], run.changes["bookings"]) == (5, 0)
    assert not Ticket.objects.exists()


def test_a_purge_batch_rolled_back_takes_its_counts_and_its_entry_with_it():
    run = jobs._PurgeRun(actor="job:purge_expired_tickets", now=timezone.now())
    with pytest.raises(RuntimeError), run.batch():
        run.deleted("tickets", 3)  # the first batch to delete: it writes the run's entry
        raise RuntimeError("the batch fails at its end (a foreign key at COMMIT on SQLite)")
    assert (run.entry_id, run.result.tickets, AuditEntry.objects.filter(action="tickets.purged").count()) == (
        None,
        0,
        0,
    )

    with run.batch():
        run.deleted("tickets", 2)

    assert AuditEntry.objects.get(action="tickets.purged").changes["tickets"] == run.result.tickets == 2
