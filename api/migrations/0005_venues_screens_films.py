"""Version 2: venues with screens and seat maps, films, shows on a screen.

An existing installation becomes one venue ("Main theatre", in TIME_ZONE) with one screen
("Screen 1") whose map holds every seat that its shows, tickets and holds use, in rows of
BOOKING_SEATS_PER_ROW; every show moves to that screen as a version-1 timing (it occupies
no time, so no two existing shows can overlap); seat numbers become labels ("B3"). No
ticket is lost. A fresh installation gets the same venue and screen with
BOOKING_DEFAULT_CAPACITY seats: the version-1 theatre.
"""

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import api.models.catalog

BATCH = 2_000


def _row_label(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _label(seat: int, per_row: int) -> str:
    row, number = divmod(seat - 1, per_row)
    return f"{_row_label(row)}{number + 1}"


def to_version_2(apps, schema_editor):
    Venue, Screen = apps.get_model("api", "Venue"), apps.get_model("api", "Screen")
    Show, Ticket, Hold = apps.get_model("api", "Show"), apps.get_model("api", "Ticket"), apps.get_model("api", "Hold")
    per_row = settings.BOOKING_SEATS_PER_ROW
    highest = max(
        settings.BOOKING_DEFAULT_CAPACITY,
        Show.objects.aggregate(n=models.Max("capacity"))["n"] or 0,
        max((int(seat) for seat in Ticket.objects.values_list("seat", flat=True).iterator()), default=0),
        max((max(seats, default=0) for seats in Hold.objects.values_list("seats", flat=True).iterator()), default=0),
    )
    rows = -(-highest // per_row)
    seat_map = {
        "rows": [
            {
                "label": _row_label(r),
                "seats": [
                    {"number": n, "x": n, "category": "standard", "kind": "seat"} for n in range(1, per_row + 1)
                ],
            }
            for r in range(rows)
        ]
    }
    venue = Venue.objects.create(
        name="Main theatre",
        time_zone=settings.TIME_ZONE,
        currency=getattr(settings, "BOOKING_CURRENCY", "EUR"),
        country=settings.PHONENUMBER_DEFAULT_REGION,
    )
    screen = Screen.objects.create(venue=venue, name="Screen 1", seat_map=seat_map, capacity=rows * per_row)
    Show.objects.update(screen=screen, ends_at=models.F("starts_at"), busy_until=models.F("starts_at"))
    batch = []
    for ticket in Ticket.objects.only("pk", "seat").iterator(chunk_size=BATCH):
        number = int(ticket.seat)
        ticket.seat, ticket.seat_order = _label(number, per_row), number - 1
        batch.append(ticket)
        if len(batch) == BATCH:
            Ticket.objects.bulk_update(batch, ["seat", "seat_order"])
            batch = []
    Ticket.objects.bulk_update(batch, ["seat", "seat_order"])
    for hold in Hold.objects.all().iterator():
        hold.seats = [_label(number, per_row) for number in hold.seats]
        hold.save(update_fields=["seats"])


def no_overlap_on_postgresql(apps, schema_editor):
    """Two shows of one screen never overlap: an exclusion constraint over the time each
    keeps its screen busy (an open timing's range, [starts_at, starts_at), is empty and
    overlaps nothing). PostgreSQL only; the service checks the same on every database."""
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    schema_editor.execute(
        "ALTER TABLE api_show ADD CONSTRAINT show_no_overlap_on_screen EXCLUDE USING gist "
        "(screen_id WITH =, tstzrange(starts_at, busy_until, '[)') WITH &&)"
    )


class Migration(migrations.Migration):
    dependencies = [("api", "0004_foreign_keys_as_constraints")]

    operations = [
        migrations.CreateModel(
            name="Venue",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=200)),
                ("time_zone", models.CharField(default=api.models.catalog.default_time_zone, max_length=64)),
                ("currency", models.CharField(default=api.models.catalog.default_currency, max_length=3)),
                ("country", models.CharField(default=api.models.catalog.default_country, max_length=2)),
            ],
            options={"ordering": ["pk"]},
        ),
        migrations.CreateModel(
            name="Screen",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100)),
                ("seat_map", models.JSONField()),
                ("capacity", models.PositiveIntegerField(editable=False)),
                (
                    "venue",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="screens", to="api.venue"
                    ),
                ),
            ],
            options={"ordering": ["venue_id", "pk"]},
        ),
        migrations.CreateModel(
            name="Film",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("title", models.CharField(max_length=200)),
                (
                    "runtime_minutes",
                    models.PositiveIntegerField(validators=[django.core.validators.MinValueValidator(1)]),
                ),
                ("rating", models.CharField(blank=True, max_length=20)),
                ("description", models.TextField(blank=True)),
            ],
            options={"ordering": ["title", "pk"]},
        ),
        migrations.AddField(
            model_name="show",
            name="screen",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.PROTECT, related_name="shows", to="api.screen"
            ),
        ),
        migrations.AddField(
            model_name="show",
            name="film",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="shows",
                to="api.film",
            ),
        ),
        migrations.AddField(model_name="show", name="ends_at", field=models.DateTimeField(null=True)),
        migrations.AddField(model_name="show", name="busy_until", field=models.DateTimeField(null=True)),
        migrations.AlterField(model_name="ticket", name="seat", field=models.CharField(max_length=8)),
        migrations.AddField(model_name="ticket", name="seat_order", field=models.PositiveIntegerField(default=0)),
        migrations.RunPython(to_version_2, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="show",
            name="screen",
            field=models.ForeignKey(
                default=api.models.catalog.default_screen,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="shows",
                to="api.screen",
            ),
        ),
        migrations.AlterField(model_name="show", name="ends_at", field=models.DateTimeField()),
        migrations.AlterField(model_name="show", name="busy_until", field=models.DateTimeField()),
        migrations.AlterField(
            model_name="show",
            name="starts_at",
            field=models.DateTimeField(validators=[api.models.catalog.validate_on_the_minute]),
        ),
        migrations.AlterModelOptions(name="show", options={"ordering": ["starts_at", "pk"]}),
        migrations.AddIndex(model_name="show", index=models.Index(fields=["starts_at"], name="show_starts_at")),
        migrations.AddConstraint(
            model_name="show",
            constraint=models.UniqueConstraint(fields=("screen", "starts_at"), name="show_unique_screen_start"),
        ),
        migrations.AddConstraint(
            model_name="show",
            constraint=models.CheckConstraint(
                condition=models.Q(("busy_until__gte", models.F("ends_at")), ("ends_at__gte", models.F("starts_at"))),
                name="show_times_in_order",
            ),
        ),
        migrations.CreateModel(
            name="SeatBlock",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("seat", models.CharField(max_length=8)),
                ("reason", models.CharField(blank=True, max_length=100)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "show",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="blocks", to="api.show"
                    ),
                ),
            ],
            options={
                "ordering": ["show_id", "seat"],
                "constraints": [models.UniqueConstraint(fields=("show", "seat"), name="seatblock_unique_show_seat")],
            },
        ),
        migrations.RunPython(no_overlap_on_postgresql, migrations.RunPython.noop, elidable=False),
    ]
