"""On PostgreSQL, the links the purge deletes along (a ticket's booking and holder, a
booking's customer) refuse a delete with ON DELETE RESTRICT instead of Django's NO ACTION.

Both refuse to delete a row that is still linked. NO ACTION first looks whether the key
came back (another row with the deleted id, inserted in the same transaction), then
whether it is still linked: two look-ups for every deleted row, at COMMIT. RESTRICT makes
the second alone, at the end of the DELETE: the purge's bookings and customers cost about
half of what they did (bench/README.md, "Purge benchmark"). Nothing here deletes a row
and puts its id back, so the first look-up never finds anything. The inserts' checks stay
deferred (DEFERRABLE INITIALLY DEFERRED, as Django makes them).

Each constraint is dropped and added again under its name in one ALTER TABLE, NOT VALID
(no table scan while the tables are locked), then validated on its own, which reads the
table without blocking writes: hence a migration outside one transaction.

Django keeps no trace of this in its migration state: an AlterField that rebuilds one of
these foreign keys would make it NO ACTION again. test_migrations checks that they are
RESTRICT. SQLite keeps Django's constraints.
"""

from django.db import migrations

# Model and field of each link, for their tables and columns as the migration state has them.
LINKS = [("Ticket", "booking"), ("Ticket", "holder"), ("Booking", "customer")]


def on_delete(action):
    def alter(apps, schema_editor):
        connection = schema_editor.connection
        if connection.vendor != "postgresql":
            return
        q = schema_editor.quote_name
        for model_name, field_name in LINKS:
            model = apps.get_model("api", model_name)
            field = model._meta.get_field(field_name)
            table, column = model._meta.db_table, field.column
            with connection.cursor() as cursor:
                constraints = connection.introspection.get_constraints(cursor, table)
            (name,) = [n for n, c in constraints.items() if c["foreign_key"] and c["columns"] == [column]]
            schema_editor.execute(
                f"ALTER TABLE {q(table)} DROP CONSTRAINT {q(name)}, ADD CONSTRAINT {q(name)}"
                f" FOREIGN KEY ({q(column)}) REFERENCES {q(field.related_model._meta.db_table)}"
                f" ({q(field.target_field.column)}) ON DELETE {action} DEFERRABLE INITIALLY DEFERRED NOT VALID"
            )
            schema_editor.execute(f"ALTER TABLE {q(table)} VALIDATE CONSTRAINT {q(name)}")

    return alter


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("api", "0012_screen_seat_map_digest"),
    ]

    operations = [
        migrations.RunPython(on_delete("RESTRICT"), on_delete("NO ACTION"), elidable=False),
    ]
