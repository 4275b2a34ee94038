"""Writing many rows fast: COPY on PostgreSQL, ``executemany`` on SQLite."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from django.core.management.color import no_style
from django.db import connection, models


class Table:
    """A model's columns in a fixed order: the ones the caller fills, then every other one with its default.

    Rows are plain tuples in the order of ``given``, which keeps building a million of them cheap;
    a field added to the model later gets its default instead of breaking the seed.
    """

    def __init__(self, model: type[models.Model], given: Sequence[str]) -> None:
        fields = {f.attname: f for f in model._meta.concrete_fields}
        unknown = set(given) - set(fields)
        if unknown:
            raise ValueError(f"{model.__name__} has no fields {sorted(unknown)}")
        # Columns left out: every other field at its default, except an auto id (the database numbers it).
        rest = [
            f
            for attname, f in fields.items()
            if attname not in given and not (f.primary_key and isinstance(f, models.AutoField))
        ]
        self.model = model
        self.columns = [fields[name].column for name in given] + [f.column for f in rest]
        self.tail = tuple(f.get_default() for f in rest)

    def write(self, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        quote = connection.ops.quote_name
        table = quote(self.model._meta.db_table)
        columns = ", ".join(quote(c) for c in self.columns)
        tail = self.tail
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # COPY: ~320k rows/s against ~80k for executemany (PERFORMANCE.md).
                with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row + tail)
            else:
                marks = ", ".join(["%s"] * len(self.columns))
                cursor.executemany(
                    f"INSERT INTO {table} ({columns}) VALUES ({marks})",
                    [[_sqlite_value(v) for v in row + tail] for row in rows],
                )


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, datetime.date):
        return connection.ops.adapt_datefield_value(value)
    return value


def next_id(model: type[models.Model]) -> int:
    """The first free primary key; rows written with explicit ids start here (the seed runs alone)."""
    last = model._default_manager.aggregate(last=models.Max("pk"))["last"]
    return (last or 0) + 1


def reset_sequences(*model_list: type[models.Model]) -> None:
    """Move PostgreSQL's id sequences past the ids written explicitly (SQLite needs nothing)."""
    statements = connection.ops.sequence_reset_sql(no_style(), list(model_list))
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def analyze(*model_list: type[models.Model]) -> None:
    """Fresh planner statistics, so that the first searches after a big seed use the indexes.

    Outside a transaction PostgreSQL also gets a VACUUM: it marks the new pages all-visible, which
    lets the search indexes answer scoped searches without reading the rows (index-only scans);
    autovacuum would get there too, only later.
    """
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute("ANALYZE")
            return
        command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
        tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in model_list)
        cursor.execute(f"{command} {tables}")
