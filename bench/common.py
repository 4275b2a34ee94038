"""Helpers shared by the benchmarks: a scratch database, timing, percentiles."""

from __future__ import annotations

import contextlib
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def forget_process_caches() -> None:
    """Forget what this process cached from the database it used before (the pass signing keys).

    ``make bench`` runs every benchmark in one process, each in a scratch database of its own: a
    key cached from the previous one would sign passes that the server, reading this database's
    key of the same id, refuses as forged (it made gate_sync_20k, run after gate_scan, find none of
    its planted violations).
    """
    from linli.gate import keys

    keys.reset()


@contextlib.contextmanager
def scratch_database(name: str) -> Iterator[None]:
    """Point the default connection at a new, migrated, empty database; drop it afterwards.

    On PostgreSQL this is ``<configured name>_bench_<name>`` on the same server; on SQLite a
    temporary file. The database ``make run`` serves is never touched. Process caches of database
    rows are forgotten on the way in and out (``forget_process_caches``).
    """
    db = settings.DATABASES["default"]
    original = db.copy()
    connections.close_all()
    forget_process_caches()
    with contextlib.ExitStack() as stack:
        if db["ENGINE"].endswith("postgresql"):
            scratch = f"{db['NAME']}_bench_{name}"[:63]
            _drop_database(scratch, create=True)
            stack.callback(_drop_database, scratch)  # after the settings are restored below
            db["NAME"] = scratch
        else:
            db["NAME"] = os.path.join(stack.enter_context(tempfile.TemporaryDirectory()), f"bench_{name}.sqlite3")
        try:
            call_command("migrate", verbosity=0, interactive=False)
            yield
        finally:
            connections.close_all()
            db.update(original)
            forget_process_caches()


def _drop_database(name: str, *, create: bool = False) -> None:
    """Drop the PostgreSQL database ``name`` if it exists (and create it anew with ``create``)."""
    with connection._nodb_cursor() as cursor:  # the server's maintenance database: ours may not exist yet
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        if create:
            cursor.execute(f'CREATE DATABASE "{name}"')
    connections.close_all()


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of one call."""
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]
