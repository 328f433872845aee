"""Drop the indexes that no query reads, which every write of their tables kept up to date.

- `Booking.reference`, `WebhookEvent.message_id` (unique=True) and `Hold.client`
  (db_index=True) each had, on PostgreSQL, a second index with varchar_pattern_ops, for
  LIKE 'X%' look-ups that nothing makes (the admin's searches are LIKE '%x%', which no
  btree serves). Their uniqueness (and Hold.client's index) are now declared in Meta, which
  builds one plain index each.
- `Ticket.ticket_type`: a house has a handful of ticket types, so its index narrowed no
  search; every ticket sold wrote it.
- `Hold.show` and `WebhookEvent.webhook`: the (show, expires_at) and (webhook,
  -created_at) indexes serve look-ups by their first column.

The three foreign keys lose their index alone (DROP INDEX): Django's AlterField would drop
and add the constraint again, reading the whole table to validate it.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.migrations.operations.base import Operation

import api.models.catalog

# (model, field, the field as it is now, Django's name for its index): the table is
# api_<model> and the column <field>_id.
FOREIGN_KEY_INDEXES = [
    (
        "ticket",
        "ticket_type",
        models.ForeignKey(
            db_index=False,
            default=api.models.catalog.default_ticket_type,
            on_delete=django.db.models.deletion.PROTECT,
            related_name="tickets",
            to="api.tickettype",
        ),
        "api_ticket_ticket_type_id_80789461",
    ),
    (
        "hold",
        "show",
        models.ForeignKey(
            db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="holds", to="api.show"
        ),
        "api_hold_show_id_a94efefb",
    ),
    (
        "webhookevent",
        "webhook",
        models.ForeignKey(
            db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="deliveries", to="api.webhook"
        ),
        "api_webhookevent_webhook_id_0d79b8cb",
    ),
]


def _drop_index(model: str, name: str, field: models.Field, index: str) -> migrations.SeparateDatabaseAndState:
    return migrations.SeparateDatabaseAndState(
        state_operations=[migrations.AlterField(model_name=model, name=name, field=field)],
        database_operations=[
            migrations.RunSQL(
                f'DROP INDEX IF EXISTS "{index}"',
                reverse_sql=f'CREATE INDEX "{index}" ON "api_{model}" ("{name}_id")',
            )
        ],
    )


def _unique_by_constraint(model: str, field: str, max_length: int, name: str) -> list[Operation]:
    """The field's unique=True (and its LIKE twin) dropped, a UniqueConstraint in its place."""
    return [
        migrations.AlterField(model_name=model, name=field, field=models.CharField(max_length=max_length)),
        migrations.AddConstraint(model_name=model, constraint=models.UniqueConstraint(fields=(field,), name=name)),
    ]


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0013_restrict_deletes_of_linked_rows"),
    ]

    operations = [
        *_unique_by_constraint("booking", "reference", 6, "booking_unique_reference"),
        *_unique_by_constraint("webhookevent", "message_id", 64, "webhookevent_unique_message_id"),
        migrations.AlterField(
            model_name="hold",
            name="client",
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.AddIndex(
            model_name="hold",
            index=models.Index(fields=["client"], name="hold_client"),
        ),
        *(_drop_index(*index) for index in FOREIGN_KEY_INDEXES),
    ]
