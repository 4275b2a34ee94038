"""Prepared statements for the few hottest SQL statements (PostgreSQL only).

Django's PostgreSQL backend binds parameters on the client (psycopg's ``ClientCursor``): every
execution sends the whole statement as text, and PostgreSQL parses and plans it again. For a statement
run thousands of times a second (the supplies order), :func:`execute` runs it through a plain psycopg
cursor on the same connection — so inside the same transaction as the ORM's statements — with
``prepare=True``: the server parses and plans it once per connection and then only binds and executes.
Database errors come out as Django's (``django.db.IntegrityError`` and so on), as from the ORM.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from django.db import connection


def execute(sql: str, params: Sequence[Any]) -> psycopg.Cursor[Any]:
    """Run ``sql`` (``%s`` placeholders) prepared on the default connection; the cursor, to fetch from."""
    connection.ensure_connection()
    connection.validate_no_broken_transaction()
    with connection.wrap_database_errors:
        cursor = psycopg.Cursor(connection.connection)
        cursor.execute(sql, params, prepare=True)
    return cursor
