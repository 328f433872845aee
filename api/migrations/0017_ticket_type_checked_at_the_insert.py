"""On PostgreSQL, a ticket's link to its ticket type is checked at the INSERT, not at
COMMIT (DEFERRABLE INITIALLY IMMEDIATE; Django makes it INITIALLY DEFERRED).

A sale reads the ticket types without locking them. Checked at COMMIT, a type deleted
meanwhile (ticket_type_delete found no ticket committed with it) failed the sale there:
a 500 when a transaction around the sale (an Idempotency-Key's) commits it, else a false
409 seat_taken. Checked at the INSERT, the check locks the type (FOR KEY SHARE) until the
sale commits: a delete then waits for the sale and finds its ticket (409 in_use); a sale
after a delete waits for it, and its failed check runs the sale again, which refuses the
type as unknown (400). The check costs what it cost at COMMIT.

Django keeps no trace of this in its migration state (as 0013); api/tests/test_foreign_keys.py
checks it. SQLite, whose writers take turns, keeps Django's constraint.
"""

from django.db import migrations

LOCK_TIMEOUT = "5s"


def _initially(apps, schema_editor, when: str) -> None:
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    ticket = apps.get_model("api", "Ticket")
    field = ticket._meta.get_field("ticket_type")
    table, target = ticket._meta.db_table, field.related_model._meta.db_table
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    names = [
        name
        for name, c in constraints.items()
        if c["columns"] == [field.column] and c["foreign_key"] and c["foreign_key"][0] == target
    ]
    if len(names) != 1:
        raise RuntimeError(f"Expected one foreign key on {table}.{field.column} to {target}, found {names}.")
    q = schema_editor.quote_name
    # For this migration's transaction alone: a lock wait past it fails the migration (run
    # it again), with PostgreSQL's own error, rather than queue every booking behind it.
    schema_editor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    schema_editor.execute(f"ALTER TABLE {q(table)} ALTER CONSTRAINT {q(names[0])} DEFERRABLE INITIALLY {when}")


def immediate(apps, schema_editor):
    _initially(apps, schema_editor, "IMMEDIATE")


def deferred(apps, schema_editor):
    _initially(apps, schema_editor, "DEFERRED")


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0016_venue_currency_iso4217"),
    ]

    operations = [
        migrations.RunPython(immediate, deferred, elidable=False),
    ]
