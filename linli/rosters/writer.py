"""Writing checked rows: all at the end (SQLite, dry runs), or chunk by chunk while checking goes on (PostgreSQL).

Both writers do the same thing to each batch of good rows (``_write_batch``): refuse ID numbers
registered outside the importer's scope, create the missing places, upsert households and
people. Both keep everything in ONE transaction that is committed only when the whole file was
good (or the user asked for the good rows only) — a bad row anywhere means nothing is written.

On PostgreSQL the database's share of an import (index upkeep on the registry tables) costs as
much as reading and checking the file, so ``ThreadedWriter`` overlaps the two: the checking
thread hands chunks of good rows to a writer thread that has the connection to itself, inside
one open transaction; the checking thread saves progress on a second connection. Chunks that are
all new are COPY'd straight into the registry by ``direct.DirectCopy``; the first that is not,
and every one after it, go through ``_write_batch``. SQLite allows
one writer at a time, so there the rows are staged while checking (progress committed as it
goes) and written in one short transaction at the end.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction

from linli.rosters.direct import DirectCopy
from linli.rosters.staging import Staging, create_places, write_households, write_people
from linli.rosters.validation import Places

# A household as the writer gets it: (ref, unit ref, room, landlord name, landlord phone).
HouseholdRow = tuple[int, int, str, str, str]


@dataclass
class WriteResult:
    created_people: int = 0
    updated_people: int = 0
    created_households: int = 0
    places: dict[str, int] = field(default_factory=lambda: {"compounds": 0, "buildings": 0, "units": 0})
    # (row, ID number) of people already registered outside the importer's scope.
    outside: list[tuple[int, str]] = field(default_factory=list)
    rows_written: int = 0
    committed: bool = False


class _Rollback(Exception):
    pass


# What the checking thread puts on the writer's queue: (_CHUNK, rows, households), then (_FINISH, commit, audit).
_CHUNK = object()
_FINISH = object()


@dataclass
class WriteTarget:
    """What every batch needs to know about the import."""

    places: Places
    columns_in_file: set[str]
    level: str | None  # the importer's scope (None: unrestricted)
    node_id: int | None
    only_good_rows: bool


def _write_batch(
    staging: Staging,
    target: WriteTarget,
    households: dict[int, HouseholdRow],
    ids: dict[int, int],
    result: WriteResult,
    *,
    write: bool,
) -> bool:
    """Write the staged rows; False when an ID registered elsewhere means the whole import is refused."""
    outside = staging.ids_outside(target.level, target.node_id)
    result.outside.extend(outside)
    if outside and not target.only_good_rows:
        return False
    if not write:
        return True
    if outside:
        staging.remove_rows(number for number, _id in outside)
        used = staging.household_refs()
        households = {ref: row for ref, row in households.items() if ref in used}
    if not staging.people:
        return True
    created = create_places(target.places, {row[1] for row in households.values()}, ids)
    for key, count in created.items():
        result.places[key] += count
    rows = [(ref, ids.get(unit, unit), room, name, phone) for ref, unit, room, name, phone in households.values()]
    result.created_households += write_households(rows, staging)
    people_created, people_updated = write_people(
        staging=staging, columns_in_file=target.columns_in_file, level=target.level, node_id=target.node_id
    )
    result.created_people += people_created
    result.updated_people += people_updated
    result.rows_written += staging.people
    return True


class InlineWriter:
    """Stages every good row while checking; writes them all in one transaction at the end."""

    def __init__(self, staging: Staging, target: WriteTarget) -> None:
        self.staging = staging
        self.target = target
        self.households: dict[int, HouseholdRow] = {}

    def add(self, rows: list[tuple[Any, ...]], households: list[HouseholdRow]) -> None:
        self.staging.add_people(rows)
        for row in households:
            self.households[row[0]] = row

    def finish(self, *, commit: bool, audit: Callable[[WriteResult], None]) -> WriteResult:
        """``commit`` False: check the staged rows against the registry only (dry run, or bad rows)."""
        result = WriteResult()
        if not commit:
            _write_batch(self.staging, self.target, self.households, {}, result, write=False)
            return result
        try:
            with transaction.atomic():
                if not _write_batch(self.staging, self.target, self.households, {}, result, write=True):
                    raise _Rollback
                if result.rows_written:
                    audit(result)
                result.committed = True
        except _Rollback:
            result.committed = False
        return result


class ThreadedWriter:
    """Writes chunks of good rows in a second thread while the first one goes on checking.

    The writer thread borrows the checking thread's connection (and with it any transaction the
    caller has open, as in tests); the checking thread must not use that connection until
    ``finish`` returns — it saves progress through ``progress_connection`` instead.
    """

    def __init__(self, staging: Staging, target: WriteTarget) -> None:
        self.staging = staging
        self.target = target
        self.connection = connections[DEFAULT_DB_ALIAS]
        self.keep_writing = True
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=4)
        self.result = WriteResult()
        self.error: BaseException | None = None
        self.connection.inc_thread_sharing()
        self.thread = threading.Thread(target=self._run, daemon=True, name="roster-writer")
        self.thread.start()

    def add(self, rows: list[tuple[Any, ...]], households: list[HouseholdRow]) -> None:
        if self.error is not None:
            return  # the writer has failed; finish() reports it
        self.queue.put((_CHUNK, rows, households))

    def stop_writing(self) -> None:
        """A bad row means nothing will be committed: only check the remaining chunks."""
        self.keep_writing = False

    def finish(self, *, commit: bool, audit: Callable[[WriteResult], None]) -> WriteResult:
        self.queue.put((_FINISH, commit, audit))
        self.thread.join()
        self.connection.dec_thread_sharing()
        if self.error is not None:
            raise self.error
        return self.result

    def _count(self, counts: dict[str, int]) -> None:
        result = self.result
        result.created_people += counts["people"]
        result.rows_written += counts["people"]
        result.created_households += counts["households"]
        for key in result.places:
            result.places[key] += counts[key]

    def _run(self) -> None:
        connections[DEFAULT_DB_ALIAS] = self.connection
        ids: dict[int, int] = {}
        refused = False
        finished = False
        direct: DirectCopy | None = None
        try:
            with transaction.atomic():
                direct = DirectCopy(self.target.places)
                while True:
                    kind, *item = self.queue.get()
                    if kind is _FINISH:
                        finished = True
                        commit, audit = item
                        break
                    rows, households = item
                    if self.keep_writing and not refused:
                        counts = direct.write(rows, households, ids)
                        if counts is not None:
                            self._count(counts)
                            continue
                    self.staging.clear()
                    self.staging.add_people(rows)
                    batch = {row[0]: row for row in households}
                    write = self.keep_writing and not refused
                    accepted = _write_batch(self.staging, self.target, batch, ids, self.result, write=write)
                    refused = refused or not accepted
                if not commit or refused or not self.keep_writing:
                    raise _Rollback
                if self.result.rows_written:
                    audit(self.result)
                self.result.committed = True
        except _Rollback:
            self.result.committed = False
        except BaseException as exc:  # noqa: BLE001 - handed to the checking thread by finish()
            self.error = exc
            while not finished:  # let the checking thread finish handing over its chunks
                finished = self.queue.get()[0] is _FINISH
        finally:
            if direct is not None and self.connection.in_atomic_block and not self.connection.needs_rollback:
                with contextlib.suppress(DatabaseError):
                    direct.close()  # the caller's transaction goes on (as in tests)
            del connections[DEFAULT_DB_ALIAS]


def progress_connection() -> Any:
    """A second connection, for progress saved while the writer thread holds the first."""
    return connections.create_connection(DEFAULT_DB_ALIAS)
