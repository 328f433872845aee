"""A webhook event's lease kept apart from when it is due: a retry staff asked for while an
attempt was in flight made the event due at once, and another worker sent it beside the
attempt (services.webhooks._claim now skips an event whose lease runs). Null on the rows
there are: an attempt in flight while this runs is leased by next_attempt_at alone, as
before."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0021_hold_created_at_is_the_requests_now"),
    ]

    operations = [
        migrations.AddField(
            model_name="webhookevent",
            name="leased_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
