"""Prepared statements for the few hottest SQL statements (PostgreSQL only), and model instances
built from their rows.

Django's PostgreSQL backend binds parameters on the client (psycopg's ``ClientCursor``): every
execution sends the whole statement as text, and PostgreSQL parses and plans it again. For a statement
run thousands of times a second (the gate's online scan, the supplies order), :func:`fetch` runs it
through a plain psycopg cursor on the same connection — so inside the same transaction as the ORM's
statements — with ``prepare=True``: the server parses and plans it once per connection and then only
binds and executes. Database errors come out as Django's (``django.db.IntegrityError`` and so on), as
from the ORM; the statement is logged in ``connection.queries`` when Django logs queries (DEBUG, the
tests), and goes through Django's own cursor when execute wrappers are installed.

Django's backend sets psycopg's ``prepare_threshold`` to None, which turns ``prepare=True`` off too;
linli's settings give it a threshold no statement reaches instead (``DB_PREPARED``), so only these
explicit statements are prepared (the ORM's client-side binding cursors never are).
"""

from __future__ import annotations

import re
import time
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models.base import ModelState

_cursors: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()  # psycopg connection -> its cursor

# psycopg turns a statement's %s / %(name)s placeholders into $n once per text and caches that, but
# only for texts of at most 4,096 bytes (psycopg._queries.MAX_CACHED_STATEMENT_LENGTH); a longer one
# is parsed again on every execution (~31 µs for the 4.6 KB order statement). So a long statement
# is sent compacted: without its comments and with each run of whitespace as one space.
COMPACT_FROM = 2048
_compacted: dict[str, str] = {}
_SQL_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|\s+|[^'\"\s-]+|-")


def compact(sql: str) -> str:
    """``sql`` without ``--`` comments, each run of whitespace one space; quoted text kept as it is.
    A text with dollar quoting (``$$``, ``$tag$``) is returned as it is."""
    if "$" in sql:
        return sql
    parts: list[str] = []
    for token in _SQL_TOKENS.findall(sql):
        if token.startswith("--") or token.isspace():
            token = " "
        if token == " " and (not parts or parts[-1] == " "):
            continue
        parts.append(token)
    return "".join(parts).strip()


def _sent(sql: str) -> str:
    """The text :func:`fetch` sends for ``sql`` (long ones compacted, once per text)."""
    if len(sql) < COMPACT_FROM:
        return sql
    sent = _compacted.get(sql)
    if sent is None:
        if len(_compacted) >= 256:  # statements built per call with changing texts: keep it bounded
            _compacted.clear()
        sent = _compacted[sql] = compact(sql)
    return sent


def fetch(sql: str, params: Sequence[Any] | Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` (``%s`` placeholders, or ``%(name)s`` with a mapping: a name used twice is
    one parameter), run prepared on the default connection."""
    import psycopg  # PostgreSQL only

    db = connections[DEFAULT_DB_ALIAS]  # the proxy `connection` looks this up on every attribute
    if db.execute_wrappers:
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            return [tuple(row) for row in cursor.fetchall()] if cursor.description else []
    db.ensure_connection()
    if db.in_atomic_block:
        db.validate_no_broken_transaction()
    started = time.monotonic()
    with db.wrap_database_errors:
        # One cursor per connection, kept: a new one copies the connection's adapters map.
        kept: psycopg.Cursor[Any] | None = _cursors.get(db.connection)
        if kept is None or kept.closed:
            kept = _cursors[db.connection] = psycopg.Cursor(db.connection)
        done = kept.execute(_sent(sql), params, prepare=True)
        # Not ``done.description``: it builds a Column object per column (~1 µs each, 50+ here).
        result = done.pgresult
        rows = done.fetchall() if result is not None and result.nfields else []
    if db.queries_logged:
        db.queries_log.append({"sql": f"{sql} {tuple(params)!r}", "time": f"{time.monotonic() - started:.3f}"})
    return rows


def loaded(model: Any, values: dict[str, Any]) -> Any:
    """A ``model`` instance as loaded from the database with these fields (attribute names; the others
    deferred): what ``Model.from_db`` gives, without running ``__init__`` over every field. Only for
    models without ``pre_init``/``post_init`` receivers (linli's have none; the gate's tests check)."""
    instance = model.__new__(model)
    instance.__dict__.update(values)
    state = ModelState()
    state.adding = False
    state.db = DEFAULT_DB_ALIAS
    instance._state = state
    return instance
