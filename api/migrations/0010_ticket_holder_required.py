import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("api", "0009_ticket_holder")]

    operations = [
        migrations.AlterField(
            model_name="ticket",
            name="holder",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.DO_NOTHING, related_name="tickets", to="api.customer"
            ),
        ),
    ]
