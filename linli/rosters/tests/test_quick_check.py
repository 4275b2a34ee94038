"""The short path of row checking (``RowChecker._quick``) gives exactly what the full path gives."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from linli.lib.testing import Personas, make_id_number
from linli.rosters.reader import RosterSheet
from linli.rosters.tests.conftest import HEADERS, person_row
from linli.rosters.validation import Places, RowChecker


def _checkers(path: Path, user: Any) -> tuple[RowChecker, RowChecker]:
    """Two checkers of the same file: one as the import uses it, one that never takes the short path."""
    sheet = RosterSheet(path)
    quick = RowChecker(header=sheet.header, places=Places(user), formulas=sheet.formulas)
    full = RowChecker(header=sheet.header, places=Places(user), formulas=sheet.formulas)
    full._quick_enabled = False
    return quick, full


def _rows() -> list[list[Any]]:
    """Rows of every kind: plain ones, ones the full path normalises, bad ones, repeats."""
    first_id, second_id, third_id = make_id_number("19700101"), make_id_number("19800101"), make_id_number()
    bad_check = first_id[:17] + ("0" if first_id[17] != "0" else "1")
    with_x = next(number for number in (make_id_number("19900101") for _ in range(200)) if number.endswith("X"))
    row = person_row
    return [
        row(姓名="甲", 身份证号=first_id),
        row(姓名="乙", 身份证号=second_id, 房号="302", 手机号="+86 139-0000-1234", 与户主关系="妻子"),
        row(
            姓名="丙",
            身份证号=with_x.lower(),
            房号="302",
            重点人群="独居、慢性病",
            帮扶人="李",
            帮扶人电话="13811112222",
        ),
        row(姓名="丁", 身份证号=" ".join([third_id[:6], third_id[6:14], third_id[14:]]), 房号="303"),
        row(姓名="戊", 身份证号=first_id, 房号="304"),  # a repeated ID number
        row(姓名="己", 身份证号=bad_check, 房号="305"),
        row(姓名="庚", 身份证号="", 房号="306", 手机号="1370000111"),  # a phone one digit short
        row(姓名="庚", 身份证号="", 房号="306"),  # the same name in a household, without ID numbers
        row(姓名="辛", 身份证号=make_id_number(), 房号="307", 与户主关系="外星人", 健康码="紫码"),
        row(姓名="壬", 身份证号=make_id_number(), 房号="308", 重点人群="独居、勇士"),
        row(姓名="癸", 身份证号=make_id_number(), 房号="", 小区="新月小区"),
        row(
            姓名="子",
            身份证号=make_id_number(),
            小区="新月小区",
            楼栋="9号楼",
            房号="101",
            房东姓名="赵",
            房东电话="13600001111",
        ),
        row(姓名="丑", 身份证号=make_id_number(), 小区="新月小区", 楼栋="9号楼", 房号="101", 房东姓名="钱"),
        row(姓名="寅", 身份证号=make_id_number(), 社区="别的社区", 房号="309"),
        row(姓名="卯" * 51, 身份证号=make_id_number(), 房号="310"),  # too long
        row(姓名="辰", 身份证号=make_id_number(), 房号="311", 手机号=13700002222),  # a phone typed as a number
        row(姓名="巳", 身份证号=make_id_number(), 房号="３１２", 居住类型="租户", 健康码="RED"),
        row(姓名="【示例】张三"),
        ["", "", "", "", "", "", "", "", ""],
        row(姓名="", 身份证号=make_id_number(), 房号="313"),
        row(姓名="午", 身份证号=make_id_number(), 房号="314", 备注="\0"),
        row(姓名="未", 身份证号=make_id_number(), 房号="315")[:9],  # a short row: the cells after 手机号 missing
        row(姓名=" 申 ", 身份证号=f" {make_id_number()} ", 房号=" 316 ", 与户主关系=" 户主 "),
    ]


@pytest.mark.parametrize("worker", ["community_worker", "grid_worker"])
def test_the_short_path_agrees_with_the_full_one(personas: Personas, roster: Callable[..., Path], worker: str) -> None:
    rows = _rows()
    # The file gives the header; the rows are handed to the checkers as calamine would hand them.
    quick, full = _checkers(roster(rows[:1]), getattr(personas, worker))

    for number, cells in enumerate(rows, start=2):
        assert quick.check(number, list(cells)) == full.check(number, list(cells)), (number, cells)

    assert quick.seen_ids == full.seen_ids
    assert quick.seen_names == full.seen_names
    assert quick.households == full.households
    assert quick.by_ref == full.by_ref
    assert quick.skipped_examples == full.skipped_examples
    assert quick.places.planned == full.places.planned


def test_plain_rows_take_the_short_path(personas: Personas, roster: Callable[..., Path]) -> None:
    rows = [person_row(姓名="甲", 身份证号=make_id_number()), person_row(姓名="乙", 身份证号="", 手机号="")]
    quick, _full = _checkers(roster(rows), personas.community_worker)
    checked: list[Any] = []

    def refuse(number: int, cells: list[Any]) -> Any:
        raise AssertionError(f"row {number} took the full path")

    quick._check_full = refuse  # type: ignore[method-assign]
    for number, cells in enumerate(rows, start=2):
        checked.append(quick.check(number, cells))

    assert [row[2] for row in checked] == ["甲", "乙"]
    assert checked[1][3] is None  # no ID number: NULL, as the full path stages it


def test_a_file_with_yes_no_flag_columns_takes_the_full_path(personas: Personas, roster: Callable[..., Path]) -> None:
    header = [*HEADERS, "是否独居"]
    path = roster([[*person_row(姓名="甲", 身份证号=make_id_number()), "是"]], header=header)
    quick, full = _checkers(path, personas.community_worker)

    assert not quick._quick_enabled
    cells = [*person_row(姓名="甲", 身份证号=make_id_number()), "是"]
    assert quick.check(2, list(cells)) == full.check(2, list(cells))
