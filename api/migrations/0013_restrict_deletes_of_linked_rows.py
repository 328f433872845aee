"""On PostgreSQL, the links the purge deletes along (a ticket's booking and holder, a
booking's customer) refuse a delete with ON DELETE RESTRICT instead of Django's NO ACTION.

Both refuse to delete a row that is still linked. NO ACTION first looks whether the key
came back (another row with the deleted id, inserted in the same transaction), then
whether it is still linked: two look-ups for every deleted row and every key that links
it, at COMMIT. RESTRICT makes the second alone, at the end of the DELETE: the purge's
bookings took 0.54 times as long, its customers (two keys link them) 0.60 times, in a
same-run A/B (bench/README.md, "Purge benchmark"). Nothing here deletes a row and puts its
id back, so the first look-up never finds anything. The inserts' checks stay deferred
(DEFERRABLE INITIALLY DEFERRED, as Django makes them).

Each constraint is dropped and added again under its name in one ALTER TABLE, NOT VALID
(no table scan while the tables are locked), then validated on its own, which reads the
table without blocking writes: hence a migration outside one transaction. The ALTER locks
the table and the one it points to (ACCESS EXCLUSIVE) for a moment; it gives up after
LOCK_TIMEOUT rather than queue every booking behind a long transaction: run the migration
again then.

Django keeps no trace of this in its migration state: an AlterField that rebuilds one of
these foreign keys would make it NO ACTION again. api/tests/test_foreign_keys.py checks
that they are RESTRICT. SQLite keeps Django's constraints.
"""

from django.db import migrations

# Model and field of each link, for their tables and columns as the migration state has them.
LINKS = [("Ticket", "booking"), ("Ticket", "holder"), ("Booking", "customer")]

LOCK_TIMEOUT = "5s"


def _on_delete(apps, schema_editor, action: str) -> None:
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    q = schema_editor.quote_name
    for model_name, field_name in LINKS:
        model = apps.get_model("api", model_name)
        field = model._meta.get_field(field_name)
        table, column, target = model._meta.db_table, field.column, field.related_model._meta.db_table
        with connection.cursor() as cursor:
            constraints = connection.introspection.get_constraints(cursor, table)
        names = [
            name
            for name, c in constraints.items()
            if c["columns"] == [column] and c["foreign_key"] and c["foreign_key"][0] == target
        ]
        if len(names) != 1:
            raise RuntimeError(f"Expected one foreign key on {table}.{column} to {target}, found {names}.")
        name = q(names[0])
        schema_editor.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
        try:
            schema_editor.execute(
                f"ALTER TABLE {q(table)} DROP CONSTRAINT {name}, ADD CONSTRAINT {name}"
                f" FOREIGN KEY ({q(column)}) REFERENCES {q(target)} ({q(field.target_field.column)})"
                f" ON DELETE {action} DEFERRABLE INITIALLY DEFERRED NOT VALID"
            )
        finally:
            schema_editor.execute("RESET lock_timeout")
        schema_editor.execute(f"ALTER TABLE {q(table)} VALIDATE CONSTRAINT {name}")


def restrict(apps, schema_editor):
    _on_delete(apps, schema_editor, "RESTRICT")


def no_action(apps, schema_editor):
    """As Django makes them (and as they were before this migration)."""
    _on_delete(apps, schema_editor, "NO ACTION")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("api", "0012_screen_seat_map_digest"),
    ]

    operations = [
        migrations.RunPython(restrict, no_action, elidable=False),
    ]
