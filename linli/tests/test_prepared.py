"""linli.lib.prepared: its statements are prepared on the server (PostgreSQL), and give the ORM's errors."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from linli.lib import prepared

pytestmark = pytest.mark.django_db


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_fetch_prepares_the_statement_once_per_connection() -> None:
    """Django turns psycopg's prepared statements off unless OPTIONS name a threshold (settings does):
    without it, ``prepare=True`` is silently ignored and every execution is parsed and planned again."""
    sql = "SELECT %s::integer + 1 AS linli_prepared_probe"
    assert prepared.fetch(sql, [1]) == [(2,)]
    assert prepared.fetch(sql, [41]) == [(42,)]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans + custom_plans FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%linli_prepared_probe%"],
        )
        assert cursor.fetchall() == [(2,)]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_fetch_raises_djangos_integrity_error() -> None:
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE linli_prepared_t (id integer PRIMARY KEY)")
    prepared.fetch("INSERT INTO linli_prepared_t VALUES (%s)", [1])
    with pytest.raises(IntegrityError), transaction.atomic():
        prepared.fetch("INSERT INTO linli_prepared_t VALUES (%s)", [1])
