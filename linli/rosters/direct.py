"""PostgreSQL's fast path: COPY the households an import creates, and their people, straight into the registry.

The general path (``staging.py``) stages every chunk in temp tables and upserts from there, which
costs the database far more than a plain COPY into the registry tables. Most of a large
import is new, though: new households full of people whose ID numbers nobody has registered. For
those the upsert has nothing to decide, and this module COPYs them into ``registry_household`` and
``registry_person`` directly, household ids taken from the table's own sequence.

Whether a chunk is all new is left to the database's unique indexes, which check it anyway: the
chunk is written under a savepoint, and a unique violation — a room already registered, an ID
number already known (inside the importer's scope or not), a household code taken — rolls the
savepoint back and hands the chunk, and every chunk after it, to the general path, which updates,
refuses or fails exactly as it would have without this one. So a re-import costs one small
rolled-back chunk more than before, and a new file is written at close to COPY speed.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from typing import Any

from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from linli.registry.models import Household, Person, Unit
from linli.rosters.staging import PERSON_COLUMNS, create_places
from linli.rosters.validation import Places

logger = logging.getLogger(__name__)
# The missing privilege is logged once per process.
_hinted = False

# The staged person tuple from "name" on is the registry row's (see staging.PERSON_COLUMNS).
_STAGED_PERSON_FIELDS = PERSON_COLUMNS[2:]
_HOUSEHOLD_FIELDS = (
    "id",
    "code",
    "street_id",
    "community_id",
    "grid_id",
    "compound_id",
    "building_id",
    "unit_id",
    "room",
    "is_rented",
    "landlord_name",
    "landlord_phone",
    "created_at",
    "updated_at",
)


def _other_fields(model: type[models.Model], given: Sequence[str]) -> tuple[list[str], tuple[Any, ...]]:
    """The columns of ``model`` not in ``given`` and their model defaults, as COPY takes them."""
    columns, values = [], []
    for field in model._meta.concrete_fields:
        if field.attname in given or field.primary_key:
            continue
        columns.append(field.column)
        values.append(field.get_db_prep_save(field.get_default(), connection))
    return columns, tuple(values)


def _column_types(cursor: Any, table: str, columns: list[str]) -> list[int]:
    """The type oids of ``columns``, which a binary COPY needs."""
    cursor.execute("SELECT attname, atttypid FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0", [table])
    types = dict(cursor.fetchall())
    return [types[column] for column in columns]


@contextlib.contextmanager
def _copy(cursor: Any, table: str, columns: list[str], types: list[int]) -> Iterator[Any]:
    """A binary COPY into ``table``: a fraction of a text COPY's work for the client, and less for the server."""
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(types)
        yield copy


def _may_set_replica_role(cursor: Any) -> bool:
    """Whether this role may set ``session_replication_role`` (see ``_may_skip_triggers``); logs the
    GRANT that would allow it, once per process, when it may not."""
    global _hinted
    if connection.pg_version < 150000:  # type: ignore[attr-defined]
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    else:
        cursor.execute("SELECT has_parameter_privilege('session_replication_role', 'SET')")
    if cursor.fetchone()[0]:
        return True
    if not _hinted:
        _hinted = True
        logger.info(
            "roster imports check every copied row's foreign keys; they would skip the checks that cannot"
            " fail (~10%% faster) if this role may set session_replication_role: GRANT SET ON PARAMETER"
            " session_replication_role TO %s",
            connection.settings_dict.get("USER") or "<role>",
        )
    return False


def _may_skip_triggers(cursor: Any, table: str, *, may_set: bool | None = None) -> bool:
    """Whether a COPY into ``table`` may run with ``session_replication_role = replica``.

    That role skips the row-by-row foreign-key checks (and every ordinary trigger) of the statements
    run under it. Only two COPYs run so, and only because their checks could never fail: the
    people's, each of whose rows names a household this same transaction has just inserted — a row
    no other transaction can see, let alone delete — and the households' in units it has just
    created (an index probe and a row lock per row, ~20% of the database's work on an import). It
    needs the right to set the parameter (a superuser, or ``GRANT SET ON PARAMETER
    session_replication_role``, PostgreSQL 15+: README, Configuration; ``may_set`` when already
    asked) and a table without triggers of its own, which the role would silently skip too;
    otherwise the checks run as usual.
    """
    if not (_may_set_replica_role(cursor) if may_set is None else may_set):
        return False
    cursor.execute(
        "SELECT count(*) FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal AND tgenabled <> 'D'",
        [table],
    )
    return cursor.fetchone()[0] == 0


@contextlib.contextmanager
def _replica_role(cursor: Any, on: bool) -> Iterator[None]:
    """``session_replication_role = replica`` for the statements inside (see ``_may_skip_triggers``).

    Set with ``SET LOCAL``: a savepoint rolled back because of an error inside undoes it too.
    """
    if not on:
        yield
        return
    cursor.execute(
        "SELECT current_setting('session_replication_role'), set_config('session_replication_role', 'replica', true)"
    )
    before = cursor.fetchone()[0]
    yield
    cursor.execute("SELECT set_config('session_replication_role', %s, true)", [before])


def _unique_violation(exc: BaseException) -> bool:
    import psycopg

    return isinstance(exc, (psycopg.errors.UniqueViolation, IntegrityError))


class DirectCopy:
    """Writes chunks of an import by COPY while they are all new; says so when one is not."""

    def __init__(self, places: Places) -> None:
        self.places = places
        self.enabled = True
        # Households written here: ref -> [id, landlord name, landlord phone] as in the database.
        self.households: dict[int, list[Any]] = {}
        # Units: id -> (code, street, community, grid, compound, building).
        self.units: dict[int, tuple[Any, ...]] = {}
        person_given = ("household_id", *_STAGED_PERSON_FIELDS, "created_at", "updated_at")
        extra, self.person_extra = _other_fields(Person, person_given)
        self.person_columns = [*person_given, *extra]
        extra, self.household_extra = _other_fields(Household, _HOUSEHOLD_FIELDS)
        self.household_columns = [*_HOUSEHOLD_FIELDS, *extra]
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [Household._meta.db_table])
            self.sequence = cursor.fetchone()[0]
            self.person_types = _column_types(cursor, Person._meta.db_table, self.person_columns)
            self.household_types = _column_types(cursor, Household._meta.db_table, self.household_columns)
            # The foreign keys of the rows copied here are checked as each COPY ends, while the rest of
            # the file is still being read, rather than all together at commit, with nothing to overlap.
            cursor.execute(
                "SELECT quote_ident(conname) FROM pg_constraint WHERE contype = 'f' AND condeferred"
                " AND conrelid IN (%s::regclass, %s::regclass)",
                [Person._meta.db_table, Household._meta.db_table],
            )
            self.foreign_keys = ", ".join(row[0] for row in cursor.fetchall())
            if self.foreign_keys:
                cursor.execute(f"SET CONSTRAINTS {self.foreign_keys} IMMEDIATE")
            may_set = _may_set_replica_role(cursor)
            self.people_unchecked = _may_skip_triggers(cursor, Person._meta.db_table, may_set=may_set)
            self.households_unchecked = _may_skip_triggers(cursor, Household._meta.db_table, may_set=may_set)
        # The units this import created (in this transaction): households in them need no check either.
        self.own_units: set[int] = set()

    def close(self) -> None:
        """Defer the foreign keys again, for whatever else the surrounding transaction does."""
        if self.foreign_keys:
            with connection.cursor() as cursor:
                cursor.execute(f"SET CONSTRAINTS {self.foreign_keys} DEFERRED")

    def write(
        self, rows: list[tuple[Any, ...]], households: list[tuple[int, int, str, str, str]], ids: dict[int, int]
    ) -> dict[str, int] | None:
        """Write a chunk; its counts (people, households, places), or None when it must take the general path.

        ``ids`` (place ref -> id) gains the places created, unless the chunk is handed back.
        """
        if not self.enabled or not rows:
            return None
        new_ids = dict(ids)
        new_units: set[int] = set()
        savepoint = transaction.savepoint()
        try:
            counts = create_places(self.places, {row[1] for row in households}, new_ids, created_units=new_units)
            created = self._households(households, new_ids, self.own_units | new_units)
            self._people(rows, created)
        except Exception as exc:
            transaction.savepoint_rollback(savepoint)
            if not _unique_violation(exc):
                raise
            self.enabled = False
            return None
        transaction.savepoint_commit(savepoint)
        ids.update(new_ids)
        self.own_units |= new_units
        self.households.update(created)
        return {"people": len(rows), "households": len(created), **counts}

    def _households(
        self, households: list[tuple[int, int, str, str, str]], ids: dict[int, int], own_units: set[int]
    ) -> dict[int, list[Any]]:
        """COPY the households not written yet; update the landlord of those written by an earlier chunk.

        Those in units this transaction created are copied without their unit's foreign-key check
        where the role allows it (see ``_may_skip_triggers``), the others with it.
        """
        new = [row for row in households if row[0] not in self.households]
        changed = []
        for ref, _unit, _room, name, phone in households:
            written = self.households.get(ref)
            if written is not None and ((name and name != written[1]) or (phone and phone != written[2])):
                changed.append((ref, name or written[1], phone or written[2]))
        now = timezone.now()
        created: dict[int, list[Any]] = {}
        with connection.cursor() as cursor:
            units = {ids.get(row[1], row[1]) for row in new} - self.units.keys()
            if units:
                cursor.execute(
                    "SELECT id, code, street_id, community_id, grid_id, compound_id, building_id"
                    f" FROM {Unit._meta.db_table} WHERE id = ANY(%s)",
                    [list(units)],
                )
                for unit_id, *rest in cursor.fetchall():
                    self.units[unit_id] = tuple(rest)
            if new:
                cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [self.sequence, len(new)])
                household_ids = iter([row[0] for row in cursor.fetchall()])
                for unchecked in (True, False):
                    group = [row for row in new if (ids.get(row[1], row[1]) in own_units) is unchecked]
                    if group:
                        with _replica_role(cursor, unchecked and self.households_unchecked):
                            created.update(self._copy_households(cursor, group, ids, household_ids, now))
            for ref, name, phone in changed:
                written = self.households[ref]
                cursor.execute(
                    f"UPDATE {Household._meta.db_table} SET landlord_name = %s, landlord_phone = %s,"
                    " is_rented = is_rented OR %s, updated_at = %s WHERE id = %s",
                    [name, phone, bool(name), now, written[0]],
                )
                written[1:] = [name, phone]
        return created

    def _copy_households(
        self,
        cursor: Any,
        rows: list[tuple[int, int, str, str, str]],
        ids: dict[int, int],
        household_ids: Iterator[int],
        now: Any,
    ) -> dict[int, list[Any]]:
        """COPY these households, ids taken in turn from ``household_ids``: {ref: [id, landlord name, phone]}."""
        created: dict[int, list[Any]] = {}
        extra = self.household_extra
        with _copy(cursor, Household._meta.db_table, self.household_columns, self.household_types) as copy:
            for ref, unit_ref, room, name, phone in rows:
                pk = next(household_ids)
                unit = ids.get(unit_ref, unit_ref)
                code, *ancestors = self.units[unit]
                row = (pk, f"{code}-{room}", *ancestors, unit, room, bool(name), name, phone, now, now, *extra)
                copy.write_row(row)
                created[ref] = [pk, name, phone]
        return created

    def _people(self, rows: list[tuple[Any, ...]], created: dict[int, list[Any]]) -> None:
        now = timezone.now()
        known = self.households
        extra = self.person_extra
        with (
            connection.cursor() as cursor,
            _replica_role(cursor, self.people_unchecked),
            _copy(cursor, Person._meta.db_table, self.person_columns, self.person_types) as copy,
        ):
            write = copy.write_row
            for row in rows:
                household = created.get(row[1]) or known[row[1]]
                write((household[0], *row[2:], now, now, *extra))
