"""Prepared statements for the few hottest SQL statements (PostgreSQL only), and model instances
built from their rows.

Django's PostgreSQL backend binds parameters on the client (psycopg's ``ClientCursor``): every
execution sends the whole statement as text, and PostgreSQL parses and plans it again. For a statement
run thousands of times a second (the gate's online scan, the supplies order), :func:`fetch` prepares
it on the default connection — so inside the same transaction as the ORM's statements — once per
connection and parameter types, and then only binds and executes it: one libpq call
(``PQexecPrepared``, which releases the GIL while it waits), the parameters dumped and the row loaded
by psycopg's adapters for that connection (Django's included). psycopg's own ``execute(prepare=True)``
did the same through its cursor's generators and wait loop: ~280,000 more instructions per call of
the scan (``docs/benchmarks.md``, "One libpq call"), and psycopg's rollback deallocated every statement it had
prepared on the connection, so a refused order made the next one prepare and plan again.

Database errors come out as Django's (``django.db.IntegrityError`` and so on), as from the ORM; the
statement is logged in ``connection.queries`` when Django logs queries (DEBUG, the tests), and goes
through Django's own cursor when execute wrappers are installed. With ``DB_PREPARED`` off (behind a
pooler in transaction mode: psycopg's ``prepare_threshold`` is None) the statement is sent with its
parameters each time, unnamed, and nothing is prepared.
"""

from __future__ import annotations

import itertools
import re
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models.base import ModelState

_SQL_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|\s+|[^'\"\s-]+|-")
_PLACEHOLDER = re.compile(rb"%(%|s|\((\w+)\)s)")


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


@dataclass(frozen=True, slots=True)
class Statement:
    """A statement as sent: ``$n`` placeholders, and the names of the parameters in their order
    (None: positional ``%s``)."""

    text: bytes
    names: tuple[str, ...] | None


_statements: dict[str, Statement] = {}


def statement(sql: str) -> Statement:
    """``sql`` (``%s`` or ``%(name)s`` placeholders, ``%%`` for a percent sign, as psycopg takes them)
    compacted and with ``$n`` placeholders; a name used twice is one parameter. Once per text."""
    found = _statements.get(sql)
    if found is not None:
        return found
    names: dict[str, int] = {}
    positional = 0

    def placeholder(match: re.Match[bytes]) -> bytes:
        nonlocal positional
        if match.group(1) == b"%":
            return b"%"
        name = match.group(2)
        if name is None:
            positional += 1
            return b"$%d" % positional
        index = names.setdefault(name.decode(), len(names) + 1)
        return b"$%d" % index

    text = _PLACEHOLDER.sub(placeholder, compact(sql).encode())
    if positional and names:
        raise ValueError("a statement takes %s or %(name)s placeholders, not both")
    found = Statement(text, tuple(names) if names else None)
    if len(_statements) >= 256:  # statements built per call with changing texts: keep it bounded
        _statements.clear()
    _statements[sql] = found
    return found


@dataclass(slots=True)
class _Session:
    """What :func:`fetch` keeps per psycopg connection: its adapters, and the statements prepared."""

    transformer: Any
    prepared: dict[tuple[bytes, tuple[int, ...]], bytes] = field(default_factory=dict)
    numbers: Any = field(default_factory=itertools.count)


_sessions: weakref.WeakKeyDictionary[Any, _Session] = weakref.WeakKeyDictionary()


def fetch(sql: str, params: Sequence[Any] | Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` (``%s`` placeholders, or ``%(name)s`` with a mapping: a name used twice is
    one parameter), run prepared on the default connection."""
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
        rows = _run(db.connection, statement(sql), params)
    if db.queries_logged:
        db.queries_log.append({"sql": f"{sql} {tuple(params)!r}", "time": f"{time.monotonic() - started:.3f}"})
    return rows


def _run(conn: Any, sent: Statement, params: Sequence[Any] | Mapping[str, Any]) -> list[tuple[Any, ...]]:
    from psycopg import pq
    from psycopg.adapt import PyFormat, Transformer

    session = _sessions.get(conn)
    if session is None:
        session = _sessions[conn] = _Session(Transformer(conn))
    values = [params[name] for name in sent.names] if sent.names is not None else list(params)  # type: ignore[call-overload]
    tx = session.transformer
    dumped = tx.dump_sequence(values, [PyFormat.AUTO] * len(values))
    types, formats = tx.types, tx.formats
    pgconn = conn.pgconn
    if conn.prepare_threshold is None:  # DB_PREPARED off: nothing is prepared
        result = pgconn.exec_params(sent.text, dumped, types, formats)
    else:
        key = (sent.text, types)
        name = session.prepared.get(key)
        if name is None:
            name = b"linli_%d" % next(session.numbers)
            made = pgconn.prepare(name, sent.text, types)
            if made.status != pq.ExecStatus.COMMAND_OK:
                raise _error(conn, made)
            session.prepared[key] = name
        result = pgconn.exec_prepared(name, dumped, formats)
        if result.status == pq.ExecStatus.FATAL_ERROR and result.error_field(pq.DiagnosticField.SQLSTATE) == b"26000":
            # The statement is gone (DEALLOCATE ALL or DISCARD ALL on this connection): prepared again
            # next time; asked again now unless that error ended a transaction block.
            session.prepared.clear()
            if pgconn.transaction_status == pq.TransactionStatus.IDLE:
                return _run(conn, sent, params)
    if result.status == pq.ExecStatus.TUPLES_OK:
        tx.set_pgresult(result)
        return list(tx.load_rows(0, result.ntuples, tuple))
    if result.status == pq.ExecStatus.COMMAND_OK:
        return []
    raise _error(conn, result)


def _error(conn: Any, result: Any) -> Exception:
    """The psycopg error of a failed ``result``, as psycopg's cursor would raise it."""
    from psycopg import errors, pq

    if conn.pgconn.status != pq.ConnStatus.OK:  # the connection is lost (the server restarted…)
        message = result.error_message.decode(conn.info.encoding, "replace").strip()
        return errors.OperationalError(f"the connection to the database was lost: {message}")
    return errors.error_from_result(result, encoding=conn.info.encoding)


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
