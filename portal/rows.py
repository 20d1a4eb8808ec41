"""
Model instances from a statement written by hand.

A few hot reads are written as SQL because composing them cost the ORM more than the database
takes to answer. `Columns` keeps such a statement honest: it names every concrete column of a
model under a table alias, and turns those columns of a row back into an instance with the
same values the ORM would give (each field's database converters applied, so SQLite's text
dates and JSON come back as the ORM's).
"""

from collections.abc import Callable, Iterator, Sequence
from functools import cache
from itertools import islice
from typing import Any

from django.db import connections
from django.db.models import Field, Model

Converter = Callable[[Any, Any, Any], Any]


@cache
def converters(field: Field, alias: str, using: str) -> tuple[list[Converter], Any]:
    """A field's converters on a database, and the column expression they expect."""
    connection = connections[using]
    column = field.get_col(alias)
    return connection.ops.get_db_converters(column) + field.get_db_converters(connection), column


def convert(field: Field, value: Any, using: str = "default") -> Any:
    """One column of `field` from a hand-written statement, as the ORM would give it."""
    found, column = converters(field, field.model._meta.db_table, using)
    connection = connections[using]
    for converter in found:
        value = converter(value, column, connection)
    return value


def join_by_id(vendor: str, table: str, alias: str, key: str) -> str:
    """
    SQL that joins to each row so far the row of `table` (as `alias`) whose id is `key`.

    On PostgreSQL, each is looked up by its primary key in a lateral subquery that the
    planner may not flatten (OFFSET 0). A plain join to a few rows from a hand-written read
    is planned as a hash of the whole other table, which at 500 providers and 1,000 types
    costs more than the read itself. SQLite looks rows up by key whichever way it is written.
    """
    if vendor == "postgresql":
        return f"CROSS JOIN LATERAL (SELECT * FROM {table} WHERE id = {key} OFFSET 0) {alias}"
    return f"JOIN {table} {alias} ON {alias}.id = {key}"


class Columns[M: Model]:
    """A model's concrete columns under a table alias (`sql`), and instances back (`build`)."""

    def __init__(self, model: type[M], alias: str):
        self.model = model
        self.alias = alias
        self.fields: tuple[Field, ...] = tuple(model._meta.concrete_fields)
        self.attnames = [field.attname for field in self.fields]
        self.sql = ", ".join(f'{alias}."{field.column}"' for field in self.fields)
        self._converting: dict[str, list[tuple[int, list[Converter], Any]]] = {}
        self.pk_index = self.fields.index(model._meta.pk)

    def __len__(self) -> int:
        return len(self.fields)

    def converting(self, using: str) -> list[tuple[int, list[Converter], Any]]:
        """(position, converters, column) of each column that has converters on a database."""
        found = self._converting.get(using)
        if found is None:
            found = self._converting[using] = [
                (index, *converters(field, self.alias, using))
                for index, field in enumerate(self.fields)
                if converters(field, self.alias, using)[0]
            ]
        return found

    def build(self, values: Sequence, using: str = "default", **annotations: Any) -> M:
        """
        An instance from this model's columns of a row, in the order of `sql`, with
        `annotations` as attributes, as the ORM sets those of `annotate()`.
        """
        if len(values) != len(self.fields):
            raise ValueError(f"{len(values)} values for {len(self.fields)} columns")
        connection = connections[using]
        converted = list(values)
        for index, found, column in self.converting(using):
            value = converted[index]
            for converter in found:
                value = converter(value, column, connection)
            converted[index] = value
        instance = self.model.from_db(using, self.attnames, converted)
        for name, value in annotations.items():
            setattr(instance, name, value)
        return instance

    def build_next(self, values: Iterator, using: str = "default", **annotations: Any) -> M:
        """`build` from the next len(self) values: a row that holds several models' columns."""
        return self.build(list(islice(values, len(self))), using, **annotations)

    def build_next_or_none(self, values: Iterator, using: str = "default") -> M | None:
        """`build_next`, or None where an outer join found no row (its primary key is null)."""
        mine = list(islice(values, len(self)))
        return None if mine[self.pk_index] is None else self.build(mine, using)

    def build_shared(self, values: Iterator, built: dict[Any, M], using: str = "default") -> M:
        """
        `build_next`, once per primary key: the instance in `built` when a row before held
        the same one (the provider of each of a client's appointments, say). For reading.
        """
        mine = list(islice(values, len(self)))
        key = mine[self.pk_index]
        if key not in built:
            built[key] = self.build(mine, using)
        return built[key]
