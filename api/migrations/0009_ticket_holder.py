"""Each ticket gets its own person (Ticket.holder), so that changing one ticket's name or
phone leaves the other tickets of its booking alone. Existing tickets start with their
booking's customer, as they were shown until now. The column becomes NOT NULL in 0009:
PostgreSQL refuses an ALTER TABLE in the transaction that queued this UPDATE's deferred
foreign key checks."""

import django.db.models.deletion
from django.db import migrations, models


def holders_from_bookings(apps, schema_editor):
    Ticket = apps.get_model("api", "Ticket")
    Booking = apps.get_model("api", "Booking")
    customer = Booking.objects.filter(pk=models.OuterRef("booking_id")).values("customer_id")[:1]
    Ticket.objects.filter(holder__isnull=True).update(holder_id=models.Subquery(customer))


class Migration(migrations.Migration):
    dependencies = [("api", "0008_waitlist")]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="holder",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="tickets",
                to="api.customer",
            ),
        ),
        migrations.RunPython(holders_from_bookings, migrations.RunPython.noop),
    ]
