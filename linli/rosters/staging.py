"""Staging and writing good rows: into session temp tables, then into the registry set-based.

Rows reach the temp tables by COPY (PostgreSQL) or executemany (SQLite); from there a few
statements per batch (INSERT … SELECT … ON CONFLICT, UPDATE … FROM) create households and people
or update them — people by ID number, else by household and name — so that a re-import never
duplicates anyone. When and in which transaction this runs is ``writer.py``'s business.

The INSERT column lists are built from the models, so a field another app adds later gets its
default here too.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import connection, models
from django.utils import timezone

from linli.registry.models import Building, Community, Compound, Grid, Household, Person, Unit
from linli.rosters.layout import VULNERABLE_FIELDS
from linli.rosters.validation import Places

PERSON_TABLE = "roster_stage_person"
HOUSEHOLD_TABLE = "roster_stage_household"
# The staged person, in the order RowChecker.check builds it.
PERSON_COLUMNS: tuple[str, ...] = (
    "row_no",
    "household_ref",
    "name",
    "id_number",
    "id_tail",
    "phone",
    "phone_tail",
    "gender",
    "birth_date",
    "relation",
    "residency",
    "health_code",
    *VULNERABLE_FIELDS,
    "helper_name",
    "helper_phone",
    "note",
)
_TYPES = {"row_no": "integer", "household_ref": "integer", "birth_date": "date"}
HOUSEHOLD_COLUMNS = ("ref", "unit_id", "room", "landlord_name", "landlord_phone")
# The fields that come with an ID number.
ID_FIELDS = ("id_number", "id_tail", "birth_date", "gender")
# Person fields an import may change, by the roster column that carries them.
FIELDS_BY_COLUMN: dict[str, tuple[str, ...]] = {
    "phone": ("phone", "phone_tail"),
    "relation": ("relation",),
    "residency": ("residency",),
    "health_code": ("health_code",),
    "vulnerable": VULNERABLE_FIELDS,
    "helper_name": ("helper_name",),
    "helper_phone": ("helper_phone",),
    "note": ("note",),
    **{f"flag:{field}": (field,) for field in VULNERABLE_FIELDS},
}


def _column_type(name: str) -> str:
    if name in VULNERABLE_FIELDS:
        return "boolean"
    return _TYPES.get(name, "text")


class Staging:
    """The temp tables of one import on the current connection."""

    def __init__(self) -> None:
        self.postgres = connection.vendor == "postgresql"
        self.people = 0
        # Staged people without an ID number: when there are none, their statements are skipped.
        self.without_id = 0

    def create(self) -> None:
        self.drop()
        person_columns = ", ".join(f"{name} {_column_type(name)}" for name in PERSON_COLUMNS)
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMP TABLE {PERSON_TABLE} ({person_columns})")
            cursor.execute(
                f"CREATE TEMP TABLE {HOUSEHOLD_TABLE} (ref integer PRIMARY KEY, unit_id bigint, room text,"
                " landlord_name text, landlord_phone text)"
            )

    def drop(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {PERSON_TABLE}")
            cursor.execute(f"DROP TABLE IF EXISTS {HOUSEHOLD_TABLE}")

    def _load(self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        with connection.cursor() as cursor:
            if self.postgres:
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(columns))
                cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", _sqlite_rows(rows))

    def add_people(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self._load(PERSON_TABLE, PERSON_COLUMNS, rows)
        self.people += len(rows)
        self.without_id += sum(1 for row in rows if row[3] is None)

    def add_households(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self._load(HOUSEHOLD_TABLE, HOUSEHOLD_COLUMNS, rows)

    def clear(self) -> None:
        with connection.cursor() as cursor:
            if self.postgres:
                cursor.execute(f"TRUNCATE {PERSON_TABLE}, {HOUSEHOLD_TABLE}")
            else:
                cursor.execute(f"DELETE FROM {PERSON_TABLE}")
                cursor.execute(f"DELETE FROM {HOUSEHOLD_TABLE}")
        self.people = 0
        self.without_id = 0

    def ids_outside(self, level: str | None, node_id: int | None) -> list[tuple[int, str]]:
        """(row, ID number) of staged people already registered in a household outside the scope."""
        if level is None:
            return []
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT s.row_no, s.id_number FROM {PERSON_TABLE} s"
                f" JOIN {Person._meta.db_table} p ON p.id_number = s.id_number"
                f" JOIN {Household._meta.db_table} h ON h.id = p.household_id"
                f" WHERE h.{level}_id <> %s ORDER BY s.row_no",
                [node_id],
            )
            return list(cursor.fetchall())

    def household_refs(self) -> set[int]:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT DISTINCT household_ref FROM {PERSON_TABLE}")
            return {row[0] for row in cursor.fetchall()}

    def remove_rows(self, numbers: Iterable[int]) -> None:
        numbers = list(numbers)
        with connection.cursor() as cursor:
            for start in range(0, len(numbers), 500):
                chunk = numbers[start : start + 500]
                marks = ", ".join(["%s"] * len(chunk))
                cursor.execute(f"DELETE FROM {PERSON_TABLE} WHERE row_no IN ({marks})", chunk)
                self.people -= cursor.rowcount


def _sqlite_rows(rows: Iterable[tuple[Any, ...]]) -> list[Any]:
    return [tuple(value.isoformat() if isinstance(value, datetime.date) else value for value in row) for row in rows]


# --- creating the places the file names ---


def _codes_by_parent(model: type[models.Model], parent_field: str, parents: Iterable[int]) -> dict[int, set[str]]:
    codes: dict[int, set[str]] = {}
    rows = model._default_manager.filter(**{f"{parent_field}__in": list(parents)}).values_list(parent_field, "code")
    for parent, code in rows:
        codes.setdefault(parent, set()).add(code)
    return codes


def _numbered(taken: set[str], make: Callable[[str, int], str], prefix: str) -> tuple[str, int]:
    """The next code after the ones already there (the registry services' scheme), skipping any taken."""
    number = len(taken) + 1
    while make(prefix, number) in taken:
        number += 1
    code = make(prefix, number)
    taken.add(code)
    return code, number


def create_places(
    places: Places, unit_refs: Iterable[int], ids: dict[int, int], *, created_units: set[int] | None = None
) -> dict[str, int]:
    """Create the planned compounds, buildings and units these units need; fills ``ids`` {ref: id}
    and ``created_units`` with the ids of the units created here (not those found made by someone else).

    Codes follow ``linli.registry.services``: compound ``<community>-001``, building
    ``<compound>-B01``, unit ``<building>-U1``, numbered after the ones already there. A node that
    someone else created since the file was checked is used instead of a second one. A handful of
    queries per level, whatever the number of nodes.
    """
    needed: dict[str, list[int]] = {"compound": [], "building": [], "unit": []}
    stack = [ref for ref in set(unit_refs) if ref < 0 and ref not in ids]
    seen: set[int] = set()
    while stack:
        ref = stack.pop()
        if ref in seen:
            continue
        seen.add(ref)
        plan = places.planned[ref]
        needed[plan.level].append(ref)
        if plan.level != "compound" and plan.parent < 0 and plan.parent not in ids:
            stack.append(plan.parent)
    counts = {"compounds": 0, "buildings": 0, "units": 0}
    if not seen:
        return counts
    lock_communities(places.planned[ref].community_id for ref in seen)
    levels: tuple[tuple[str, Any, Any, str, Callable[[str, int], str]], ...] = (
        ("compound", Compound, Grid, "grid_id", lambda code, n: f"{code}-{n:03d}"),
        ("building", Building, Compound, "compound_id", lambda code, n: f"{code}-B{n:02d}"),
        ("unit", Unit, Building, "building_id", lambda code, n: f"{code}-U{n}"),
    )
    for level, model, parent_model, parent_field, make in levels:
        refs = sorted(needed[level], reverse=True)  # in the order the file named them
        if not refs:
            continue
        parent_of = {ref: ids.get(places.planned[ref].parent, places.planned[ref].parent) for ref in refs}
        names = {places.planned[ref].name for ref in refs}
        existing = {
            (parent, name): pk
            for parent, name, pk in model._default_manager.filter(
                **{f"{parent_field}__in": set(parent_of.values()), "name__in": names}
            ).values_list(parent_field, "name", "pk")
        }
        parents = {p.pk: p for p in parent_model._default_manager.filter(pk__in=set(parent_of.values()))}
        if level == "compound":
            # Compounds are numbered per community, not per grid.
            community_codes = {
                p.community_id: p.community.code
                for p in parent_model._default_manager.filter(pk__in=set(parent_of.values())).select_related(
                    "community"
                )
            }
            taken = _codes_by_parent(model, "community_id", community_codes)
        else:
            taken = _codes_by_parent(model, parent_field, parents)
        new: list[tuple[int, Any]] = []
        for ref in refs:
            plan = places.planned[ref]
            parent = parents[parent_of[ref]]
            found = existing.get((parent.pk, plan.name))
            if found is not None:
                ids[ref] = found
                continue
            ancestors = {f"{name}_id": getattr(parent, f"{name}_id") for name in ("street", "community")}
            if level == "compound":
                code, _number = _numbered(
                    taken.setdefault(parent.community_id, set()), make, community_codes[parent.community_id]
                )
                node = model(**ancestors, grid_id=parent.pk, code=code, name=plan.name)
            else:
                code, number = _numbered(taken.setdefault(parent.pk, set()), make, parent.code)
                ancestors["grid_id"] = parent.grid_id
                if level == "unit":
                    ancestors["compound_id"] = parent.compound_id
                node = model(**ancestors, **{parent_field: parent.pk}, code=code, name=plan.name, number=number)
            new.append((ref, node))
        model._default_manager.bulk_create([node for _ref, node in new])
        for ref, node in new:
            ids[ref] = node.pk
        if level == "unit" and created_units is not None:
            created_units.update(node.pk for _ref, node in new)
        counts[f"{level}s"] += len(new)
    return counts


# --- writing households and people ---


def _insert_parts(
    model: type[models.Model], given: dict[str, str], now: datetime.datetime
) -> tuple[str, str, list[Any]]:
    """(column list, select list, params) of an INSERT … SELECT for ``model``.

    ``given`` maps field attnames to SQL expressions; every other column gets its model default.
    """
    columns, exprs, params = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.attname in given:
            exprs.append(given[field.attname])
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            value: Any = now
        else:
            value = field.get_default()
        exprs.append("%s")
        params.append(field.get_db_prep_save(value, connection))
    return ", ".join(columns), ", ".join(exprs), params


def _differs(pairs: Iterable[tuple[str, str]]) -> str:
    operator = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    return " OR ".join(f"{left} {operator} {right}" for left, right in pairs)


def write_households(households: Iterable[tuple[Any, ...]], staging: Staging) -> int:
    """Insert the households that are new, fill in landlords; the number of households created."""
    table = Household._meta.db_table
    staging.add_households(list(households))
    now = timezone.now()
    columns, exprs, params = _insert_parts(
        Household,
        {
            "code": "u.code || '-' || s.room",
            "street_id": "u.street_id",
            "community_id": "u.community_id",
            "grid_id": "u.grid_id",
            "compound_id": "u.compound_id",
            "building_id": "u.building_id",
            "unit_id": "u.id",
            "room": "s.room",
            "is_rented": "s.landlord_name <> ''",
            "landlord_name": "s.landlord_name",
            "landlord_phone": "s.landlord_phone",
        },
        now,
    )
    upsert = (
        f"INSERT INTO {table} ({columns}) SELECT {exprs} FROM {HOUSEHOLD_TABLE} s"
        f" JOIN {Unit._meta.db_table} u ON u.id = s.unit_id WHERE true"
        f" ON CONFLICT (unit_id, room) DO UPDATE SET"
        f" landlord_name = CASE WHEN excluded.landlord_name <> '' THEN excluded.landlord_name"
        f" ELSE {table}.landlord_name END,"
        f" landlord_phone = CASE WHEN excluded.landlord_phone <> '' THEN excluded.landlord_phone"
        f" ELSE {table}.landlord_phone END,"
        f" is_rented = {table}.is_rented OR excluded.is_rented, updated_at = excluded.updated_at"
        f" WHERE (excluded.landlord_name <> '' AND excluded.landlord_name <> {table}.landlord_name)"
        f" OR (excluded.landlord_phone <> '' AND excluded.landlord_phone <> {table}.landlord_phone)"
    )
    with connection.cursor() as cursor:
        if staging.postgres:
            # A row PostgreSQL inserted (not updated) has no xmax: one statement counts what it created.
            cursor.execute(
                f"WITH done AS ({upsert} RETURNING xmax = 0 AS created) SELECT count(*) FROM done WHERE created", params
            )
            return cursor.fetchone()[0]
        cursor.execute(
            f"SELECT count(*) FROM {HOUSEHOLD_TABLE} s JOIN {table} h ON h.unit_id = s.unit_id AND h.room = s.room"
        )
        existing = cursor.fetchone()[0]
        cursor.execute(f"SELECT count(*) FROM {HOUSEHOLD_TABLE}")
        total = cursor.fetchone()[0]
        cursor.execute(upsert, params)
    return total - existing


def write_people(
    *, staging: Staging, columns_in_file: set[str], level: str | None, node_id: int | None
) -> tuple[int, int]:
    """Upsert the staged people: by ID number, else by household and name; (created, updated).

    Only the fields whose column is in the file are changed on people already registered. A person
    registered outside the importer's scope is never touched (the rows were refused before; the
    guard in the conflict clause keeps it so even if someone registers them meanwhile).
    """
    table = Person._meta.db_table
    household_table = Household._meta.db_table
    now = timezone.now()
    changed = ["household_id", "name"]
    for column in sorted(columns_in_file):
        changed.extend(f for f in FIELDS_BY_COLUMN.get(column, ()) if f not in changed)
    staged = {name: f"s.{name}" for name in PERSON_COLUMNS if name not in ("row_no", "household_ref")}
    columns, exprs, params = _insert_parts(Person, {"household_id": "h.id", **staged}, now)
    source = (
        f" FROM {PERSON_TABLE} s JOIN {HOUSEHOLD_TABLE} sh ON sh.ref = s.household_ref"
        f" JOIN {household_table} h ON h.unit_id = sh.unit_id AND h.room = sh.room"
    )
    guard = ""
    guard_params: list[Any] = []
    if level is not None:
        guard = (
            f" AND EXISTS (SELECT 1 FROM {household_table} g WHERE g.id = {table}.household_id AND g.{level}_id = %s)"
        )
        guard_params = [node_id]
    db_now = connection.ops.adapt_datetimefield_value(now)
    kept = [name for name in changed if name != "household_id"]
    with connection.cursor() as cursor:
        # Someone registered without an ID number whose number the file now gives: the same name in
        # the same household is the same person, who gets the number (and the file's other fields).
        adopted = [*kept, *(name for name in ID_FIELDS if name not in kept)]
        cursor.execute(
            f"UPDATE {table} SET {', '.join(f'{name} = src.{name}' for name in adopted)}, updated_at = %s"
            f" FROM (SELECT h.id AS household_id, s.*{source} WHERE s.id_number IS NOT NULL"
            f" AND NOT EXISTS (SELECT 1 FROM {table} p WHERE p.id_number = s.id_number)) AS src"
            f" WHERE {table}.household_id = src.household_id AND {table}.name = src.name"
            f" AND {table}.id_number IS NULL",
            [db_now],
        )
        adopted_count = cursor.rowcount
        assignments = ", ".join(f"{name} = excluded.{name}" for name in changed)
        upsert = (
            f"INSERT INTO {table} ({columns}) SELECT {exprs}{source} WHERE s.id_number IS NOT NULL"
            f" ON CONFLICT (id_number) DO UPDATE SET {assignments}, updated_at = excluded.updated_at"
            f" WHERE ({_differs((f'{table}.{name}', f'excluded.{name}') for name in changed)}){guard}"
        )
        if staging.postgres:
            # A row PostgreSQL inserted (not updated) has no xmax: one statement counts both.
            cursor.execute(
                f"WITH done AS ({upsert} RETURNING xmax = 0 AS created)"
                " SELECT count(*) FILTER (WHERE created), count(*) FILTER (WHERE NOT created) FROM done",
                params + guard_params,
            )
            created, updated = cursor.fetchone()
            updated += adopted_count
        else:
            cursor.execute(f"SELECT count(*) FROM {PERSON_TABLE} WHERE id_number IS NOT NULL")
            with_id = cursor.fetchone()[0]
            cursor.execute(f"SELECT count(*) FROM {PERSON_TABLE} s JOIN {table} p ON p.id_number = s.id_number")
            matched = cursor.fetchone()[0]
            cursor.execute(upsert, params + guard_params)
            created = with_id - matched
            updated = cursor.rowcount - created + adopted_count
        if not staging.without_id:
            return created, updated

        # People without an ID number: the same name in the same household is the same person.
        unnamed = f"{source} WHERE s.id_number IS NULL"
        cursor.execute(
            f"UPDATE {table} SET {', '.join(f'{name} = src.{name}' for name in kept)},"
            f" updated_at = %s FROM (SELECT h.id AS household_id, s.*{unnamed}) AS src"
            f" WHERE {table}.household_id = src.household_id AND {table}.name = src.name"
            f" AND ({_differs((f'{table}.{name}', f'src.{name}') for name in kept)})",
            [db_now],
        )
        updated += cursor.rowcount
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {exprs}{unnamed} AND NOT EXISTS"
            f" (SELECT 1 FROM {table} p WHERE p.household_id = h.id AND p.name = s.name)",
            params,
        )
        created += cursor.rowcount
    return created, updated


def lock_communities(community_ids: Iterable[int]) -> None:
    """Serialise imports that create places in the same community (codes are numbered per community).

    Locks are taken in primary-key order so that two imports never wait on each other in a circle.
    """
    ids = sorted(set(community_ids))
    if ids and connection.features.has_select_for_update:
        list(Community.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))
