"""A show remembers the cap staff set below its screen's places: a map made smaller brought
the cap down to its places, and made bigger again raised the show to every place. Shows
made before have none; the first map change records the cap of a show below the old map
(services.venues._shows_follow_map)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0018_waitlist_entry_client"),
    ]

    operations = [
        migrations.AddField(
            model_name="show",
            name="cap",
            field=models.PositiveIntegerField(blank=True, editable=False, null=True),
        ),
    ]
