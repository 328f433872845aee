"""A hold's created_at is the `now` of the request that made it, which its expires_at counts
from (services.holds.hold_insert), not the clock at the INSERT: auto_now_add overwrote any
value given. No change in the database (the default is Python's)."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0020_admin_log_forgets_token_keys"),
    ]

    operations = [
        migrations.AlterField(
            model_name="hold",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
    ]
