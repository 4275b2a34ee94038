"""The importer finds the header and recognises the usual Chinese names of its columns."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from linli.lib.testing import Personas, make_id_number
from linli.registry.models import Person
from linli.rosters.layout import match_header, normalise_header
from linli.rosters.models import ImportStatus
from linli.rosters.services import roster_import
from linli.rosters.tests.conftest import HEADERS, person_row


def test_header_variants_map_to_the_same_columns() -> None:
    for text, key in [
        ("公民身份号码", "id_number"),
        ("身份证号码", "id_number"),
        ("证件号码", "id_number"),
        ("联系电话", "phone"),
        ("手机号码", "phone"),
        ("楼号", "building"),
        ("楼栋号", "building"),
        ("门牌号", "room"),
        ("房间号", "room"),
        ("户主关系", "relation"),
        ("与户主关系", "relation"),
        ("姓　名", "name"),  # a full-width space
        ("*姓名", "name"),
        ("身份证号\n(18位)", "id_number"),
        ("ＩＤ", None),
        ("是否独居", "flag:lives_alone"),
    ]:
        assert match_header(text) == key, text
    assert normalise_header(" 房 号（必填） ") == "房号"


def test_a_roster_with_other_header_names_imports(personas: Personas, roster: Callable[..., Path]) -> None:
    header = [
        "社区名称",
        "所属网格",
        "小区名称",
        "楼号",
        "单元号",
        "门牌号",
        "姓 名",
        "公民身份号码",
        "联系电话",
        "户主关系",
    ]
    id_number = make_id_number("19650303")
    path = roster(
        [["幸福社区", "第一网格", "阳光小区", "1号楼", "1单元", "401", "赵六", id_number, "13911112222", "本人"]],
        header,
    )

    job = roster_import(path=path, user=personas.community_worker)

    assert job.status == ImportStatus.DONE, job.errors
    person = Person.objects.get(id_number=id_number)
    assert (person.name, person.phone, person.relation, person.household.room) == (
        "赵六",
        "13911112222",
        "householder",
        "401",
    )


def test_a_title_row_merged_above_the_header_is_skipped(personas: Personas, roster: Callable[..., Path]) -> None:
    path = roster([person_row(姓名="标题下")], before=[["幸福社区人员台账（2022年4月）"], []])
    from openpyxl import load_workbook

    workbook = load_workbook(path)
    workbook.active.merge_cells("A1:R1")  # type: ignore[union-attr]
    workbook.save(path)

    job = roster_import(path=path, user=personas.community_worker)

    assert job.status == ImportStatus.DONE, job.errors
    assert Person.objects.filter(name="标题下").exists()
    assert job.errors == []


def test_a_two_row_header_with_merged_cells_is_understood(personas: Personas, tmp_path: Path) -> None:
    # 住址 spans 楼栋/单元/房号 on the row below; 姓名 and 身份证号 are merged down over both rows.
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["小区", "住址", None, None, "姓名", "身份证号"])
    sheet.append([None, "楼栋", "单元", "房号", None, None])
    for cells in ("A1:A2", "B1:D1", "E1:E2", "F1:F2"):
        sheet.merge_cells(cells)
    id_number = make_id_number("19880808")
    sheet.append(["阳光小区", "1号楼", "2单元", "502", "钱七", id_number])
    path = tmp_path / "two-rows.xlsx"
    workbook.save(path)

    job = roster_import(path=path, user=personas.community_worker)

    assert job.status == ImportStatus.DONE, job.errors
    person = Person.objects.get(id_number=id_number)
    assert (person.household.unit.name, person.household.room) == ("2单元", "502")


def test_merged_cells_in_the_data_count_for_every_row_they_cover(
    personas: Personas, roster: Callable[..., Path]
) -> None:
    path = roster([person_row(姓名="甲"), person_row(姓名="乙", 小区="", 楼栋="", 单元="", 房号="")])
    from openpyxl import load_workbook

    workbook = load_workbook(path)
    sheet = workbook.active
    assert sheet is not None
    for column in "CDEF":  # 小区 … 房号 merged down over the household's two rows
        sheet.merge_cells(f"{column}2:{column}3")
    workbook.save(path)

    job = roster_import(path=path, user=personas.community_worker)

    assert job.status == ImportStatus.DONE, job.errors
    assert Person.objects.get(name="乙").household == Person.objects.get(name="甲").household


def test_unknown_columns_are_ignored_and_said_so(personas: Personas, roster: Callable[..., Path]) -> None:
    path = roster([[*person_row(姓名="多列"), "O型"]], [*HEADERS, "血型"])

    job = roster_import(path=path, user=personas.community_worker)

    assert job.status == ImportStatus.DONE
    assert any("血型" in note for note in job.summary["notes"])


def test_a_missing_required_column_refuses_the_file(personas: Personas, roster: Callable[..., Path]) -> None:
    header = [h for h in HEADERS if h != "房号"]
    row = person_row()
    del row[HEADERS.index("房号")]
    before = Person.objects.count()

    job = roster_import(path=roster([row], header), user=personas.community_worker)

    assert job.status == ImportStatus.REJECTED
    assert job.errors[0]["reason"] == "缺少必填列“房号”"
    assert Person.objects.count() == before


def test_a_sheet_without_a_recognisable_header_fails_with_a_reason(
    personas: Personas, roster: Callable[..., Path]
) -> None:
    job = roster_import(path=roster([["1", "2"]], ["甲", "乙"]), user=personas.community_worker)

    assert job.status == ImportStatus.FAILED
    assert "没有找到表头" in job.message


def test_yes_no_columns_per_vulnerable_flag_are_read(personas: Personas, roster: Callable[..., Path]) -> None:
    id_number = make_id_number("19400101")
    path = roster([[*person_row(姓名="孤老", 身份证号=id_number), "是", "否"]], [*HEADERS, "是否独居", "空巢老人"])

    job = roster_import(path=path, user=personas.community_worker)

    assert job.status == ImportStatus.DONE, job.errors
    person = Person.objects.get(id_number=id_number)
    assert (person.lives_alone, person.empty_nest) == (True, False)


def test_choice_columns_accept_labels_and_common_words(personas: Personas, roster: Callable[..., Path]) -> None:
    rows: list[Any] = [
        person_row(姓名="甲", 与户主关系="妻子", 居住类型="租户", 健康码="黄", 重点人群="独居老人，残疾人"),
    ]

    job = roster_import(path=roster(rows), user=personas.community_worker)

    assert job.status == ImportStatus.DONE, job.errors
    person = Person.objects.get(name="甲", household__room="301")
    assert (person.relation, person.residency, person.health_code) == ("spouse", "tenant", "yellow")
    assert (person.lives_alone, person.disabled, person.empty_nest) == (True, True, False)
