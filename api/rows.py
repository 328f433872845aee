"""Model instances from the rows of hand-written SQL, loaded as the ORM loads them.

The statements every booking runs (the show lock, the taken seats with the tariff) and
every staff request runs (its token and user) are written in SQL (locking.py,
authentication.py). `Columns` names a model's columns in such a SELECT and
turns each row's slice of them back into an instance: the backend's converters (SQLite
gives datetimes as text), then `Model.from_db`, as a query does. Django's RawQuerySet does
the same for any query, but works out the columns and converters again on every run: for
the show lock, a statement of one row, that was more Python than running it
(bench/README.md).
"""

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar, cast

from django.db import connection
from django.db.models import Model

M = TypeVar("M", bound=Model)
Converter = Callable[[Any, Any, Any], Any]


class Columns(Generic[M]):
    """The columns of `model` stored in its table (but `leave_out`: they load deferred)."""

    def __init__(self, model: type[M], *, leave_out: Sequence[str] = ()) -> None:
        self.model = model
        self.fields = [f for f in model._meta.concrete_fields if f.name not in leave_out and f.column]
        self.columns = [cast(str, f.column) for f in self.fields]
        self.attnames = [f.attname for f in self.fields]
        self._converters: dict[str, list[tuple[int, Any, list[Converter]]]] = {}

    def __len__(self) -> int:
        return len(self.fields)

    def select(self, table_alias: str) -> str:
        """The columns for a SELECT list, from the table under `table_alias`."""
        q = connection.ops.quote_name
        return ", ".join(f"{table_alias}.{q(column)}" for column in self.columns)

    def load(self, values: Sequence[Any]) -> M:
        """The instance whose columns are `values`, in the order of select()."""
        converters = self._converters.get(connection.vendor)
        if converters is None:
            converters = self._converters[connection.vendor] = self._converters_now()
        if converters:
            values = list(values)
            for index, column, functions in converters:
                for convert in functions:
                    values[index] = convert(values[index], column, connection)
        return self.model.from_db(connection.alias, self.attnames, values)

    def _converters_now(self) -> list[tuple[int, Any, list[Converter]]]:
        table = self.model._meta.db_table
        found = []
        for index, field in enumerate(self.fields):
            column = field.get_col(table)
            functions = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
            if functions:
                found.append((index, column, functions))
        return found
