"""An Idempotency-Key's stored answer is its JSON as text: jsonb ordered the answer's keys
its own way, so a retry got the same JSON in other bytes than the first answer. The rows
kept are cast (jsonb's text, read back as the same JSON); the table holds a day of keys."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0023_webhook_url_any_host"),
    ]

    operations = [
        migrations.AlterField(
            model_name="idempotencykey",
            name="body",
            field=models.TextField(),
        ),
    ]
