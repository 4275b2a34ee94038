"""Broken files: every bad row is reported (row, column, reason in Chinese) and nothing is written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from linli.lib.idnumbers import id_number_error
from linli.lib.testing import Personas, make_id_number
from linli.registry.models import Building, Compound, Household, Person, Unit
from linli.rosters import services
from linli.rosters.models import ImportStatus
from linli.rosters.services import roster_import
from linli.rosters.tests.conftest import person_row


def counts() -> tuple[int, int, int, int, int]:
    return (
        Compound.objects.count(),
        Building.objects.count(),
        Unit.objects.count(),
        Household.objects.count(),
        Person.objects.count(),
    )


def bad_id(id_number: str) -> str:
    last = "0" if id_number[-1] != "0" else "1"
    return id_number[:-1] + last


def import_broken(personas: Personas, path: Path) -> Any:
    before = counts()
    job = roster_import(path=path, user=personas.community_worker)
    assert counts() == before, "a broken file must write nothing"
    assert job.status == ImportStatus.REJECTED
    return job


def test_a_bad_check_digit_is_reported_with_row_column_and_reason(
    personas: Personas, roster: Callable[..., Path]
) -> None:
    good = make_id_number("19700101")
    wrong = bad_id(make_id_number("19710101"))
    path = roster(
        [person_row(身份证号=good, 小区="新建小区"), person_row(姓名="错号", 身份证号=wrong, 小区="新建小区")]
    )

    job = import_broken(personas, path)

    assert job.error_count == 1
    [error] = job.errors
    assert (error["row"], error["column"], error["cell"]) == (3, "身份证号", "H3")
    assert error["reason"] == "身份证号校验位错误"
    assert error["value"] == wrong[:3] + "*" * 11 + wrong[-4:]  # masked in the report
    assert not Compound.objects.filter(name="新建小区").exists()


def test_a_duplicated_id_number_names_the_first_row(personas: Personas, roster: Callable[..., Path]) -> None:
    id_number = make_id_number("19800202")
    path = roster([person_row(身份证号=id_number), person_row(姓名="重复", 身份证号=id_number, 房号="302")])

    job = import_broken(personas, path)

    assert [(e["row"], e["reason"]) for e in job.errors] == [(3, "与第2行的身份证号重复")]


def test_empty_required_cells_are_each_reported(personas: Personas, roster: Callable[..., Path]) -> None:
    path = roster([person_row(姓名=""), person_row(姓名="无房号", 房号="", 楼栋="")])

    job = import_broken(personas, path)

    reported = [(e["row"], e["column"], e["reason"]) for e in job.errors]
    assert reported == [(2, "姓名", "请填写姓名"), (3, "楼栋", "请填写楼栋"), (3, "房号", "请填写房号")]
    assert job.error_count == 2


def test_every_bad_row_of_a_file_is_reported_at_once(personas: Personas, roster: Callable[..., Path]) -> None:
    rows = [
        person_row(手机号="12345"),
        person_row(姓名="好人"),
        person_row(姓名="坏码", 健康码="紫码"),
        person_row(姓名="坏标签", 重点人群="独居、外星人"),
    ]

    job = import_broken(personas, roster(rows))

    assert [(e["row"], e["column"]) for e in job.errors] == [(2, "手机号"), (4, "健康码"), (5, "重点人群")]
    assert job.errors[0]["reason"] == "手机号应为以1开头的11位数字"
    assert "外星人" in job.errors[2]["reason"]
    assert job.errors[0]["value"] == "*****"  # a phone is masked even when it is wrong


def test_merged_header_cells_do_not_break_the_import(personas: Personas, roster: Callable[..., Path]) -> None:
    # A header cell merged across two columns: the second is empty, the file still imports.
    path = roster([person_row(姓名="合并表头")])
    workbook = load_workbook(path)
    sheet = workbook.active
    assert sheet is not None
    sheet.insert_cols(19)
    sheet["R1"] = "备注"
    sheet.merge_cells("R1:S1")
    workbook.save(path)

    job = roster_import(path=path, user=personas.community_worker)

    assert job.status == ImportStatus.DONE, job.errors
    assert Person.objects.filter(name="合并表头").exists()


def test_a_formula_without_a_value_is_reported_as_a_formula_cell(
    personas: Personas, roster: Callable[..., Path]
) -> None:
    path = roster([person_row(姓名="公式"), person_row(姓名="正常", 身份证号=make_id_number("19900909"))])
    workbook = load_workbook(path)
    sheet = workbook.active
    assert sheet is not None
    sheet["F2"] = '="30"&"1"'  # openpyxl saves formulas without a computed value, as some tools do
    workbook.save(path)

    job = import_broken(personas, path)

    [error] = job.errors
    assert (error["row"], error["column"], error["cell"]) == (2, "房号", "F2")
    assert "公式单元格" in error["reason"]


def test_a_2mb_text_cell_is_a_row_error_not_a_crash(personas: Personas, roster: Callable[..., Path]) -> None:
    path = roster([person_row(姓名="长备注", 备注="很" * 2_000_000), person_row(姓名="x" * 2_000_000, 房号="302")])

    job = import_broken(personas, path)

    assert [(e["row"], e["column"]) for e in job.errors] == [(2, "备注"), (3, "姓名")]
    assert all(e["reason"].startswith("内容过长") for e in job.errors)
    assert all(len(e["value"]) <= 31 for e in job.errors)  # the report holds a short extract only


def test_an_id_number_stored_as_a_number_gets_a_hint(personas: Personas, roster: Callable[..., Path]) -> None:
    # Excel keeps 15 significant digits: the last ones of an ID typed as a number are lost.
    def typed_as_number() -> float:
        # Only an all-digit ID can have been typed as a number (the next serial may end in X).
        digits = make_id_number("19750505")
        while not digits.isdigit():
            digits = make_id_number("19750505")
        return float(f"{float(digits):.15g}")

    number = typed_as_number()
    while id_number_error(str(int(number))) is None:  # the rounding may land on a valid number by chance
        number = typed_as_number()

    job = import_broken(personas, roster([person_row(身份证号=number)]))

    assert "存成了数字" in job.errors[0]["reason"]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "旧版 Excel"),
        ("list.csv", "姓名,身份证号\n张三,1\n".encode(), "不支持 CSV"),
        ("junk.xlsx", b"not a spreadsheet at all", "不是有效的 Excel"),
        ("cut.xlsx", b"PK\x03\x04" + b"\0" * 50, "无法读取文件"),
    ],
)
def test_files_that_are_not_xlsx_fail_with_a_clear_reason(
    personas: Personas, tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)

    job = roster_import(path=path, user=personas.community_worker)

    assert job.status == ImportStatus.FAILED
    assert reason in job.message


def test_a_broken_row_is_never_half_imported_with_new_places(personas: Personas, roster: Callable[..., Path]) -> None:
    rows = [
        person_row(小区="全新小区", 楼栋="9号楼", 姓名=f"新人{i}", 身份证号=make_id_number("19920101"))
        for i in range(3)
    ]
    rows.append(person_row(小区="全新小区", 楼栋="9号楼", 姓名="", 身份证号=make_id_number("19920102")))

    import_broken(personas, roster(rows))

    assert not Compound.objects.filter(name="全新小区").exists()


def test_a_bad_row_after_chunks_already_written_rolls_everything_back(
    personas: Personas, roster: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # On PostgreSQL chunks are written while the rest is checked: a late bad row must undo them.
    monkeypatch.setattr(services, "CHUNK_ROWS", 2)
    rows = [person_row(小区="分块小区", 姓名=f"人{i}", 身份证号=make_id_number()) for i in range(5)]
    rows.append(person_row(小区="分块小区", 姓名="迟到的坏行", 身份证号="12345"))

    job = import_broken(personas, roster(rows))

    assert [e["row"] for e in job.errors] == [7]
    assert not Compound.objects.filter(name="分块小区").exists()


def test_only_good_rows_across_chunks_keeps_every_good_row(
    personas: Personas, roster: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "CHUNK_ROWS", 2)
    rows = [
        person_row(小区="分块小区", 房号=f"{i // 2 + 1}01", 姓名=f"人{i}", 身份证号=make_id_number()) for i in range(5)
    ]
    rows.insert(2, person_row(姓名="坏行", 身份证号="12345"))

    job = roster_import(path=roster(rows), user=personas.community_worker, only_good_rows=True)

    assert (job.status, job.created_people, job.created_households, job.error_count) == (ImportStatus.DONE, 5, 3, 1)
    assert Person.objects.filter(household__compound__name="分块小区").count() == 5


def test_a_database_error_while_writing_fails_the_job_and_writes_nothing(
    personas: Personas, roster: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A household whose room was renamed keeps its old code: a new household for the old room
    # number would get the same code, which the database refuses half-way through the write.
    monkeypatch.setattr(services, "CHUNK_ROWS", 2)
    unit = personas.tree.units[f"{personas.tree.b1.code}/1单元"]
    Household.objects.filter(unit=unit, room="201").update(room="201A")
    rows = [person_row(小区="先写的小区", 姓名=f"人{i}", 身份证号=make_id_number()) for i in range(3)]
    rows.append(person_row(房号="201", 姓名="撞号", 身份证号=make_id_number()))
    before = counts()

    job = roster_import(path=roster(rows), user=personas.community_worker)

    assert job.status == ImportStatus.FAILED
    assert "没有写入任何数据" in job.message
    assert counts() == before
