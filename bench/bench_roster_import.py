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
from pathlib import Path

from stdnum.cn import ric

NAME = "roster_import_100k"

COMMUNITY = "幸福社区"
GRIDS = ("第一网格", "第二网格")
COMPOUNDS = ("阳光小区", "和谐家园", "锦绣花园", "春晓苑")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华平刚桂兰"
RELATIONS = ("户主", "配偶", "子女", "父母")


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
