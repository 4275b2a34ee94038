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


def test_compact_drops_comments_and_spaces_but_keeps_quoted_text() -> None:
    sql = "SELECT 'a -- b',  \"x  y\" -- a comment\n  FROM  t\n WHERE a - 1 > 0 AND b = 'it''s  --'  -- end\n"
    assert prepared.compact(sql) == "SELECT 'a -- b', \"x  y\" FROM t WHERE a - 1 > 0 AND b = 'it''s  --'"
    assert prepared.compact("SELECT $x$ -- kept $x$") == "SELECT $x$ -- kept $x$"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_hot_statements_stay_in_psycopgs_query_cache() -> None:
    """psycopg converts a statement's placeholders once per text only up to 4,096 bytes; past that it
    parses the text again on every call. The order and scan statements are sent within the limit."""
    from psycopg import _queries

    from linli.gate import services as gate
    from linli.supplies.services import ordering, rush

    statements = [rush._sql(), gate._ONLINE_SQL, *(ordering._insert_sql(n, True, True) for n in (1, 3, 10))]
    for sql in statements:
        assert len(prepared._sent(sql).encode()) <= _queries.MAX_CACHED_STATEMENT_LENGTH, sql[:80]
    long_sql = "SELECT %(a)s::integer + 1 " + "-- " + "x" * 5000 + "\n"
    prepared.fetch(long_sql, {"a": 1})
    hits = _queries._query2pg.cache_info().hits
    assert prepared.fetch(long_sql, {"a": 2}) == [(3,)]
    assert _queries._query2pg.cache_info().hits == hits + 1
