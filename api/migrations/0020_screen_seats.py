"""A screen's seats as rows with their category (ScreenSeat, written by Screen.save()): the
show search counts the free seats of the categories a show prices nowhere in SQL, which
can't read them from the map's JSON document on both databases alike. Existing screens get
theirs here."""

import django.db.models.deletion
from django.db import migrations, models


def fill_seats(apps, schema_editor):
    Screen = apps.get_model("api", "Screen")
    ScreenSeat = apps.get_model("api", "ScreenSeat")
    for screen in Screen.objects.all():
        # A stored map is in its full form (seatmaps.SeatMap.document()); read here as that
        # form reads (written out: a migration must not change with the app).
        ScreenSeat.objects.bulk_create(
            ScreenSeat(screen=screen, label=f"{row['label']}{seat['number']}", category=seat.get("category", "standard"))
            for row in screen.seat_map["rows"]
            for seat in row["seats"]
        )


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0019_show_cap_outlives_a_smaller_map"),
    ]

    operations = [
        migrations.CreateModel(
            name="ScreenSeat",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("label", models.CharField(max_length=8)),
                ("category", models.CharField(max_length=30)),
                (
                    "screen",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="seat_rows",
                        to="api.screen",
                    ),
                ),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("screen", "label"), name="screenseat_unique_label")],
            },
        ),
        migrations.RunPython(fill_seats, migrations.RunPython.noop),
    ]
