"""The version-2 migration turns a version-1 database into a version-2 one without losing a
ticket (issue 17): one venue in TIME_ZONE, one screen whose map holds every seat the shows
use, shows on it as version-1 timings, seat numbers as labels."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

V1 = [("api", "0004_foreign_keys_as_constraints")]


@pytest.fixture
def migrator(transactional_db):
    """A database taken back to the version-1 schema; migrated forward again afterwards."""
    executor = MigrationExecutor(connection)
    executor.migrate(V1)
    executor.loader.build_graph()
    yield executor
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_a_version_1_database_keeps_every_ticket(migrator, settings):
    settings.BOOKING_SEATS_PER_ROW = 10
    old = migrator.loader.project_state(V1).apps
    Show, Ticket, Hold = old.get_model("api", "Show"), old.get_model("api", "Ticket"), old.get_model("api", "Hold")
    Customer, Booking = old.get_model("api", "Customer"), old.get_model("api", "Booking")
    start = timezone.now().replace(second=0, microsecond=0) + timedelta(days=2)
    small = Show.objects.create(title="Small", starts_at=start, capacity=20)
    big = Show.objects.create(title="Big", starts_at=start + timedelta(minutes=5), capacity=35)
    ada = Customer.objects.create(name="Ada Lovelace", phone_number="+914155550123")
    booking = Booking.objects.create(reference="K7QX2M", customer=ada)
    seats = {small.pk: [1, 13, 20], big.pk: [10, 11, 35]}
    ids = {}
    for show_id, numbers in seats.items():
        for number in numbers:
            ids[(show_id, number)] = Ticket.objects.create(booking=booking, show_id=show_id, seat=number).pk
    hold = Hold.objects.create(show=big, seats=[21, 22], expires_at=start)

    migrator.migrate(migrator.loader.graph.leaf_nodes())

    new = MigrationExecutor(connection).loader.project_state().apps
    Venue, Screen = new.get_model("api", "Venue"), new.get_model("api", "Screen")
    Show, Ticket, Hold = new.get_model("api", "Show"), new.get_model("api", "Ticket"), new.get_model("api", "Hold")
    (venue,) = Venue.objects.all()
    (screen,) = Screen.objects.all()
    assert (venue.name, venue.time_zone, screen.name, screen.venue_id) == ("Main theatre", "UTC", "Screen 1", venue.pk)
    # The biggest show needs 35 seats: four rows of 10, A1 to D10.
    assert screen.capacity == 40
    assert [row["label"] for row in screen.seat_map["rows"]] == ["A", "B", "C", "D"]
    for show in Show.objects.all():
        assert (show.screen_id, show.ends_at, show.busy_until) == (screen.pk, show.starts_at, show.starts_at)
    labels = {small.pk: ["A1", "B3", "B10"], big.pk: ["A10", "B1", "D5"]}
    for show_id, numbers in seats.items():
        for number, label in zip(numbers, labels[show_id], strict=True):
            ticket = Ticket.objects.get(pk=ids[(show_id, number)])
            assert (ticket.show_id, ticket.seat, ticket.seat_order, ticket.booking_id) == (
                show_id,
                label,
                number - 1,
                booking.pk,
            )
    assert Ticket.objects.count() == 6
    assert Hold.objects.get(pk=hold.pk).seats == ["C1", "C2"]
