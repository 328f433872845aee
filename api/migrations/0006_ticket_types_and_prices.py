"""Ticket types (adult, the default; child; senior) and prices per show, type and seat
category; the price and type of each ticket, the total of each booking, the frozen lines
of each hold. Existing tickets become adult tickets at 0.00, as version 1 sold them."""

from decimal import Decimal

import django.core.validators
import api.models.catalog
import django.db.models.deletion
from django.db import migrations, models

TYPES = [("adult", "Adult", True), ("child", "Child", False), ("senior", "Senior", False)]


def ticket_types(apps, schema_editor):
    TicketType, Ticket = apps.get_model("api", "TicketType"), apps.get_model("api", "Ticket")
    for key, name, default in TYPES:
        TicketType.objects.get_or_create(key=key, defaults={"name": name, "default": default})
    Ticket.objects.update(ticket_type=TicketType.objects.get(key="adult"))


class Migration(migrations.Migration):
    dependencies = [("api", "0005_venues_screens_films")]

    operations = [
        migrations.CreateModel(
            name="TicketType",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.SlugField(max_length=30, unique=True)),
                ("name", models.CharField(max_length=100)),
                ("default", models.BooleanField(default=False)),
            ],
            options={
                "ordering": ["-default", "pk"],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("default", True)), fields=("default",), name="one_default_ticket_type"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="ShowPrice",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("category", models.CharField(max_length=30)),
                (
                    "amount",
                    models.DecimalField(
                        decimal_places=2, max_digits=8, validators=[django.core.validators.MinValueValidator(0)]
                    ),
                ),
                (
                    "show",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="prices", to="api.show"
                    ),
                ),
                (
                    "ticket_type",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="prices", to="api.tickettype"
                    ),
                ),
            ],
            options={
                "ordering": ["show_id", "ticket_type_id", "category"],
                "constraints": [
                    models.UniqueConstraint(fields=("show", "ticket_type", "category"), name="showprice_unique"),
                    models.CheckConstraint(
                        condition=models.Q(("amount__gte", 0)), name="showprice_amount_not_negative"
                    ),
                ],
            },
        ),
        migrations.AddField(
            model_name="booking",
            name="total",
            field=models.DecimalField(decimal_places=2, default=Decimal("0.00"), max_digits=10),
        ),
        migrations.AddField(model_name="hold", name="lines", field=models.JSONField(default=list)),
        migrations.AddField(
            model_name="hold",
            name="total",
            field=models.DecimalField(decimal_places=2, default=Decimal("0.00"), max_digits=10),
        ),
        migrations.AddField(
            model_name="ticket",
            name="price",
            field=models.DecimalField(decimal_places=2, default=Decimal("0.00"), max_digits=8),
        ),
        migrations.AddField(
            model_name="ticket",
            name="ticket_type",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.PROTECT, related_name="tickets", to="api.tickettype"
            ),
        ),
        migrations.RunPython(ticket_types, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="ticket",
            name="ticket_type",
            field=models.ForeignKey(
                default=api.models.catalog.default_ticket_type,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="tickets",
                to="api.tickettype",
            ),
        ),
    ]
