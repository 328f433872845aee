"""A show's tariff as the sale reads it: every ticket type with its prices at the show, as
the text of one JSON array, in SQL that the taken-seat read (locking.seats_in_use) runs in
its own round trip, or tariff_json alone; and that text read back as rows of ticket types
and prices (services/seating.py keeps what it read by the text)."""

import json
from functools import cache
from typing import TypeAlias

from django.db import connection

from .models import ShowPrice, TicketType
from .rows import Columns

TICKET_TYPE = Columns(TicketType)
_TYPE_ID, _TYPE_DEFAULT = TICKET_TYPE.attnames.index("id"), TICKET_TYPE.attnames.index("default")

# A ticket type, a seat category it has a price in at the show and that price as text
# (both None: no price).
TariffRow: TypeAlias = tuple[TicketType, str | None, str | None]


def tariff_json(show_id: int | None) -> str:
    """The tariff of a show (None: the ticket types alone) in a statement of its own."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT ({tariff_sql(connection.vendor)})", [show_id])
        return cursor.fetchone()[0]


@cache
def tariff_sql(vendor: str) -> str:
    """Every ticket type, each LEFT JOINed to its prices at one show (the parameter), as the
    text of one JSON array of [the type's columns..., category, amount]: one value, so that
    it comes along with the taken seats, and the same text while the tariff stays the same
    (seating.tariff keeps what it read from it). Amounts as text, which both databases give
    exactly (SQLite keeps decimals as numbers); no types at all, "[]" on both. SQLite's
    json_group_array can't be ordered: tariff_rows orders the rows. Through JSON a type's
    columns keep their values only while they are numbers, text and booleans
    (test_rows checks TicketType's fields). Made once per process, as locking's texts."""
    q = connection.ops.quote_name
    types, prices = q(TicketType._meta.db_table), q(ShowPrice._meta.db_table)
    row = f"{TICKET_TYPE.select('t')}, p.category, CAST(p.amount AS TEXT)"
    if vendor == "postgresql":
        array = f"COALESCE(CAST(json_agg(json_build_array({row}) ORDER BY t.id, p.category) AS TEXT), '[]')"
    else:
        array = f"json_group_array(json_array({row}))"
    return f"SELECT {array} FROM {types} t LEFT JOIN {prices} p ON p.ticket_type_id = t.id AND p.show_id = %s"


def tariff_rows(document: str) -> list[TariffRow]:
    """The tariff's JSON as rows, each type loaded once: the default type's rows first, then
    by type (TicketType.Meta's order), whatever order the database aggregated them in."""
    rows = sorted(json.loads(document), key=lambda row: (not row[_TYPE_DEFAULT], row[_TYPE_ID]))
    types: dict[int, TicketType] = {}
    found: list[TariffRow] = []
    for *columns, category, amount in rows:
        ticket_type = types.get(columns[_TYPE_ID])
        if ticket_type is None:
            ticket_type = types[columns[_TYPE_ID]] = TICKET_TYPE.load(columns)
        found.append((ticket_type, category, amount))
    return found
