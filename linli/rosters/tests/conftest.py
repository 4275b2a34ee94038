"""Building roster .xlsx files for the tests, with openpyxl, the way users' files come."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from linli.lib.testing import make_id_number
from linli.rosters.layout import headers

HEADERS = headers()


def person_row(**values: Any) -> list[Any]:
    """A valid row in the personas' street: 幸福社区 / 第一网格 / 阳光小区 / 1号楼 / 1单元 / 301."""
    row = {
        "社区": "幸福社区",
        "网格": "第一网格",
        "小区": "阳光小区",
        "楼栋": "1号楼",
        "单元": "1单元",
        "房号": "301",
        "姓名": "王小明",
        "身份证号": make_id_number("19700101"),
        "手机号": "13700001111",
        "与户主关系": "户主",
        "居住类型": "常住",
        "健康码": "绿码",
        "重点人群": "",
        "帮扶人": "",
        "帮扶人电话": "",
        "房东姓名": "",
        "房东电话": "",
        "备注": "",
    }
    for key, value in values.items():
        row[key] = value
    return [row[header] for header in HEADERS]


def write_xlsx(
    path: Path, rows: list[list[Any]], header: list[str] | None = None, *, before: Sequence[list[Any]] = ()
) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "台账"
    for extra in before:
        sheet.append(extra)
    sheet.append(header if header is not None else HEADERS)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


@pytest.fixture
def roster(tmp_path: Path) -> Callable[..., Path]:
    """``roster([person_row(...), ...], header=None, before=[])`` -> the path of a new .xlsx."""
    counter = iter(range(1, 1000))

    def make(rows: list[list[Any]], header: list[str] | None = None, **kwargs: Any) -> Path:
        return write_xlsx(tmp_path / f"roster{next(counter)}.xlsx", rows, header, **kwargs)

    return make


@pytest.fixture(autouse=True)
def inline_imports(settings: Any, tmp_path: Path) -> None:
    """Imports run inline in tests, and uploads go to a throwaway folder."""
    settings.ROSTER_IMPORT_IN_BACKGROUND = False
    settings.MEDIA_ROOT = str(tmp_path / "media")
