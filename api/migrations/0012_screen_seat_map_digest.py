"""Screens keep their seat map's digest, by which reads that leave the map unread find its
parsed form (Screen.seats); existing screens get theirs here."""

import hashlib
import json

from django.db import migrations, models


def fill_digests(apps, schema_editor):
    Screen = apps.get_model("api", "Screen")
    for screen in Screen.objects.all():
        # As seatmaps.digest computes it (written out: a migration must not change with the app).
        text = json.dumps(screen.seat_map, sort_keys=True)
        screen.seat_map_digest = hashlib.sha256(text.encode()).hexdigest()
        screen.save(update_fields=["seat_map_digest"])


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0011_booking_client"),
    ]

    operations = [
        migrations.AddField(
            model_name="screen",
            name="seat_map_digest",
            field=models.CharField(default="", editable=False, max_length=64),
        ),
        migrations.RunPython(fill_digests, migrations.RunPython.noop),
    ]
