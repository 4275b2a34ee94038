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


def test_statement_numbers_the_placeholders_as_psycopg_does() -> None:
    positional = prepared.statement("SELECT %s::int, 'a%%' -- %s in a comment is not one\n, %s::text")
    assert positional == prepared.Statement(b"SELECT $1::int, 'a%' , $2::text", None)
    named = prepared.statement("SELECT %(a)s::int + %(b)s::int, %(a)s::int")
    assert named == prepared.Statement(b"SELECT $1::int + $2::int, $1::int", ("a", "b"))
    with pytest.raises(ValueError):
        prepared.statement("SELECT %s::int, %(a)s::int")


def _executions(probe: str) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans + custom_plans FROM pg_prepared_statements WHERE statement LIKE %s",
            [f"%{probe}%"],
        )
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_keeps_the_statements_prepared() -> None:
    """psycopg's own ``prepare=True`` deallocated every statement it had prepared on a connection when
    that connection rolled back (a refused order), so the next order prepared and planned again."""
    sql = "SELECT %s::integer * 2 AS linli_prepared_rollback_probe"
    assert prepared.fetch(sql, [1]) == [(2,)]
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        prepared.fetch(sql, [2])
        raise ZeroDivisionError  # the transaction is rolled back
    assert prepared.fetch(sql, [3]) == [(6,)]
    assert _executions("linli_prepared_rollback_probe") == [3]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_a_statement_deallocated_behind_its_back_is_prepared_again() -> None:
    sql = "SELECT %s::integer - 1 AS linli_prepared_gone_probe"
    assert prepared.fetch(sql, [1]) == [(0,)]
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    assert prepared.fetch(sql, [5]) == [(4,)]
    assert _executions("linli_prepared_gone_probe") == [1]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_without_db_prepared_nothing_is_prepared() -> None:
    """Behind a pooler in transaction mode (``DB_PREPARED=False``: psycopg's threshold is None) a
    prepared statement could be asked for on another server connection: none is made."""
    connection.ensure_connection()
    pg = connection.connection
    kept, pg.prepare_threshold = pg.prepare_threshold, None
    try:
        assert prepared.fetch("SELECT %(a)s::integer + %(a)s::integer AS linli_unprepared_probe", {"a": 4}) == [(8,)]
        assert _executions("linli_unprepared_probe") == []
    finally:
        pg.prepare_threshold = kept


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_a_parameter_of_another_type_gets_a_statement_of_its_own() -> None:
    sql = "SELECT %s::integer IS NULL AS linli_prepared_types_probe"
    assert prepared.fetch(sql, [None]) == [(True,)]
    assert prepared.fetch(sql, [7]) == [(False,)]
    assert prepared.fetch(sql, [8]) == [(False,)]
    assert sorted(_executions("linli_prepared_types_probe")) == [1, 2]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_a_connection_lost_mid_rush_fails_one_call_as_djangos_error_and_the_next_one_reconnects() -> None:
    """The database restarted (or the connection was cut): the call fails with Django's
    OperationalError (a 500 the gate's and the order page's clients resend with the same key), Django
    drops the connection at the end of the request, and the next call prepares on a new one."""
    import psycopg
    from django.db import OperationalError

    sql = "SELECT %s::integer + 2 AS linli_prepared_lost_probe"
    assert prepared.fetch(sql, [1]) == [(3,)]
    pid = connection.connection.info.backend_pid
    settings = connection.get_connection_params()
    with psycopg.connect(**settings, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    with pytest.raises(OperationalError):
        prepared.fetch(sql, [2])
    connection.close_if_unusable_or_obsolete()  # what request_finished does
    assert prepared.fetch(sql, [3]) == [(5,)]
    assert connection.connection.info.backend_pid != pid
