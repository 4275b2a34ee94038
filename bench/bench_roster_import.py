"""roster_import_100k: rows/s of a 100,000-row roster .xlsx, from reading the file to committed rows.

The ceiling is measured in the same run on the same file: python-calamine reads it and every row
goes straight into a bare PostgreSQL COPY into a plain table with the roster's columns (no checks,
no tree, no indexes) — the fastest any importer of this file could be here. Our import runs as a
community worker into an empty community (so it creates the compounds, buildings, units,
households and people) in a subprocess, which gives its peak memory: the child's maximum resident
set size (``getrusage(RUSAGE_CHILDREN).ru_maxrss``), Python, Django and calamine's copy of the sheet
included. ``BENCH_ROSTER_ROWS`` changes the row count, ``BENCH_ROSTER_REPEAT`` the number of runs
(the median is reported).
"""

from __future__ import annotations

import datetime
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from stdnum.cn import ric

from bench.common import is_postgres, median, scratch_database

NAME = "roster_import_100k"

COMMUNITY = "幸福社区"
GRIDS = ("第一网格", "第二网格")
COMPOUNDS = ("阳光小区", "和谐家园", "锦绣花园", "春晓苑")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华平刚桂兰"
RELATIONS = ("户主", "配偶", "子女", "父母")
FILE_VERSION = "v1"  # change when make_roster changes, so that a kept file is made again


def make_roster(path: Path, rows: int) -> None:
    """A valid roster of ``rows`` people: 4 compounds, 25 buildings each, 4 units, up to 4 people a room."""
    from openpyxl import Workbook

    from linli.rosters.layout import headers

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("台账")
    sheet.append(headers())
    born = datetime.date(1950, 1, 1)
    for i in range(rows):
        household, member = divmod(i, 3)
        compound = household % len(COMPOUNDS)
        rest = household // len(COMPOUNDS)
        building, rest = rest % 25 + 1, rest // 25
        unit, rest = rest % 4 + 1, rest // 4
        room = f"{rest // 4 % 30 + 1}{rest % 4 + 1:02d}"
        birth = born + datetime.timedelta(days=i // 900)
        body = f"310104{birth:%Y%m%d}{i % 900 + 100:03d}"
        id_number = body + ric.calc_check_digit(body + "0")
        vulnerable = "独居、慢性病" if i % 50 == 0 else ("空巢" if i % 23 == 0 else "")
        helper = ("李帮扶", f"137{i % 100000000:08d}") if vulnerable else ("", "")
        landlord = ("赵房东", f"136{i % 100000000:08d}") if household % 9 == 0 else ("", "")
        sheet.append(
            [
                COMMUNITY,
                GRIDS[compound % 2],
                COMPOUNDS[compound],
                f"{building}号楼",
                f"{unit}单元",
                room,
                SURNAMES[i % len(SURNAMES)] + GIVEN[i % len(GIVEN)] + GIVEN[(i // 7) % len(GIVEN)],
                id_number,
                f"139{i:08d}",
                RELATIONS[min(member, 3)],
                "常住" if i % 11 else "租住",
                "绿码",
                vulnerable,
                helper[0],
                helper[1],
                landlord[0],
                landlord[1],
                "",
            ]
        )
    workbook.save(path)


def _database_url() -> str:
    """The URL of the database the default connection points at now (the scratch one)."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    from urllib.parse import quote

    auth = quote(db.get("USER") or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def _reset() -> str:
    """An empty registry with one street, one community of two grids and its community worker."""
    from linli.accounts.choices import Role
    from linli.accounts.models import User
    from linli.registry import services

    tables = [
        "registry_travelrecord",
        "registry_person",
        "registry_household",
        "registry_unit",
        "registry_building",
        "registry_compound",
        "registry_grid",
        "registry_community",
        "registry_street",
        "rosters_importjob",
        "audit_auditevent",
        "accounts_user",
    ]
    with connection.cursor() as cursor:
        if is_postgres():
            cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
            cursor.execute("DROP TABLE IF EXISTS bench_roster_ceiling")
        else:
            for table in tables:
                cursor.execute(f"DELETE FROM {table}")
    street = services.street_create(code="310104001", name="和平街道")
    community = services.community_create(street=street, name=COMMUNITY)
    for grid in GRIDS:
        services.grid_create(community=community, name=grid)
    user = User(username="bench-community", role=Role.COMMUNITY_WORKER)
    user.set_scope(community)
    user.save()
    return user.username


def _ceiling(path: Path) -> float:
    """Seconds to read the file with calamine and COPY every row, as it is, into a plain table."""
    from python_calamine import CalamineWorkbook

    from linli.rosters.layout import headers

    columns = ", ".join(f"c{i} text" for i in range(len(headers())))
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE bench_roster_ceiling ({columns})")
    started = time.perf_counter()
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
    rows = sheet.iter_rows()
    next(rows)  # the header
    with connection.cursor() as cursor, cursor.connection.transaction():
        with cursor.copy("COPY bench_roster_ceiling FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_roster_ceiling")
    return seconds


def _indexed_floor(path: Path) -> float:
    """Seconds to read the file and COPY its people and households, unchecked, into copies of the
    registry's person and household tables with all their indexes: what index upkeep alone costs."""
    from python_calamine import CalamineWorkbook

    with connection.cursor() as cursor:
        for table in ("person", "household"):
            cursor.execute(f"DROP TABLE IF EXISTS bench_{table}")
            cursor.execute(f"CREATE TABLE bench_{table} (LIKE registry_{table} INCLUDING INDEXES INCLUDING IDENTITY)")
    now = datetime.datetime.now(datetime.UTC)
    started = time.perf_counter()
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
    rows = sheet.iter_rows()
    next(rows)
    households: dict[tuple[Any, ...], int] = {}
    person_columns = (
        "household_id, name, id_number, id_tail, phone, phone_tail, gender, relation, residency, health_code,"
        " lives_alone, empty_nest, left_behind, disabled, chronic_illness, infant, pregnant, no_smartphone, hardship,"
        " helper_name, helper_phone, note, created_at, updated_at"
    )
    flags = (False,) * 9
    with connection.cursor() as cursor, cursor.connection.transaction():
        with cursor.copy(f"COPY bench_person ({person_columns}) FROM STDIN") as copy:
            for row in rows:
                key = tuple(row[:6])
                household = households.setdefault(key, len(households) + 1)
                id_number, phone = str(row[7]), str(row[8])
                copy.write_row(
                    (
                        household,
                        row[6],
                        id_number,
                        id_number[-4:],
                        phone,
                        phone[-4:],
                        "M",
                        "other",
                        "resident",
                        "green",
                        *flags,
                        row[13],
                        row[14],
                        row[17],
                        now,
                        now,
                    )
                )
        household_columns = (
            "code, street_id, community_id, grid_id, compound_id, building_id, unit_id, room, is_rented,"
            " landlord_name, landlord_phone, note, created_at, updated_at"
        )
        with cursor.copy(f"COPY bench_household ({household_columns}) FROM STDIN") as copy:
            for key, number in households.items():
                unit = hash(key[:5]) % 100000
                copy.write_row((f"H{number}", 1, 1, 1, 1, 1, unit, f"{key[5]}-{number}", False, "", "", "", now, now))
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_person, bench_household")
    return seconds


def _may_skip_checks() -> bool | None:
    """Whether the import will skip the foreign-key checks that cannot fail (``rosters.direct``)."""
    if not is_postgres():
        return None
    from linli.registry.models import Person
    from linli.rosters.direct import _may_skip_triggers

    with connection.cursor() as cursor:
        return _may_skip_triggers(cursor, Person._meta.db_table)


def _import_in_child(path: Path, username: str) -> dict[str, Any]:
    env = {**os.environ, "DATABASE_URL": _database_url(), "DJANGO_SETTINGS_MODULE": "linli.settings"}
    done = subprocess.run(
        [sys.executable, "-m", "bench.bench_roster_import", str(path), username],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parent.parent,
    )
    if done.returncode:
        raise RuntimeError(f"the import child failed:\n{done.stdout}\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["children_maxrss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return result


def child_main(path: str, username: str) -> None:
    """In the child: import the file as the community worker and print seconds and peak memory."""
    import django

    django.setup()
    from linli.accounts.models import User
    from linli.rosters.services import roster_import

    user = User.objects.select_related("street", "community").get(username=username)
    started = time.perf_counter()
    job = roster_import(path=path, user=user)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "seconds": seconds,
                "status": job.status,
                "message": job.message,
                "created_people": job.created_people,
                "peak_mb": peak_mb,
            },
            ensure_ascii=False,
        )
    )


def run() -> dict[str, Any]:
    rows = int(os.environ.get("BENCH_ROSTER_ROWS", "100000"))
    repeat = max(1, int(os.environ.get("BENCH_ROSTER_REPEAT", "3")))
    runs: list[dict[str, Any]] = []
    # Writing the file with openpyxl takes longer than importing it: it is kept between runs.
    path = Path(settings.VAR_DIR) / "bench" / f"roster_{rows}_{FILE_VERSION}.xlsx"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".xlsx", delete=False) as tmp:
            make_roster(Path(tmp.name), rows)
        os.replace(tmp.name, path)
    with scratch_database("roster"):
        skips_checks = _may_skip_checks()
        for _ in range(repeat):
            username = _reset()
            ceiling_s = _ceiling(path) if is_postgres() else None
            floor_s = _indexed_floor(path) if is_postgres() else None
            result = _import_in_child(path, username)
            if result["status"] != "done" or result["created_people"] != rows:
                raise RuntimeError(f"the import did not import every row: {result}")
            runs.append({"ceiling_s": ceiling_s, "floor_s": floor_s, **result})
    seconds = median([r["seconds"] for r in runs])
    value = rows / seconds
    out: dict[str, Any] = {
        "value": round(value),
        "unit": "rows/s",
        "rows": rows,
        "runs": len(runs),
        "seconds": round(seconds, 2),
        "seconds_each": [round(r["seconds"], 2) for r in runs],
        "peak_mb": round(max(r["peak_mb"] for r in runs)),
        "peak_note": "maximum resident set size of the import's child process (getrusage RUSAGE_SELF in the child)",
    }
    if is_postgres():
        ceiling = rows / median([r["ceiling_s"] for r in runs])
        out.update(
            ceiling=round(ceiling),
            ratio=round(value / ceiling, 3),
            ceiling_seconds_each=[round(r["ceiling_s"], 2) for r in runs],
            ceiling_note="python-calamine read + bare COPY of the same rows into a plain 18-column text table",
            indexed_copy=round(rows / median([r["floor_s"] for r in runs])),
            indexed_copy_seconds_each=[round(r["floor_s"], 2) for r in runs],
            skips_checks=skips_checks,
            skips_checks_note=(
                "whether this role may run the import's COPYs of its own new rows without their row-by-row"
                " foreign-key checks (superuser, or GRANT SET ON PARAMETER session_replication_role)"
            ),
            indexed_copy_note=(
                "same read + COPY of the people and households, unchecked, into copies of registry_person and"
                " registry_household with all their indexes: the cost of index upkeep alone"
            ),
        )
    else:
        out["note"] = "SQLite: no COPY, so no ceiling; value only"
    return out


if __name__ == "__main__":
    child_main(sys.argv[1], sys.argv[2])
