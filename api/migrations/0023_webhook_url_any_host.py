"""A webhook endpoint's URL is text judged by services.webhooks.check_url, not a URLField:
its validator refused a host of one label (http://crm:8080/hooks, a theatre's own system by
its name on its network). No change in the database (varchar(500) either way)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0022_webhook_event_lease"),
    ]

    operations = [
        migrations.AlterField(
            model_name="webhook",
            name="url",
            field=models.CharField(max_length=500),
        ),
    ]
