"""manage.py import_roster and export_roster."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from python_calamine import CalamineWorkbook

from linli.lib.testing import Personas, make_id_number
from linli.registry.models import Person
from linli.rosters.tests.conftest import HEADERS, person_row


def test_import_roster_imports_a_good_file(
    personas: Personas, roster: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    id_number = make_id_number()
    call_command("import_roster", str(roster([person_row(身份证号=id_number)])), "--user", "community")

    assert Person.objects.filter(id_number=id_number).exists()
    assert "已导入1行：新增1人" in capsys.readouterr().out


def test_import_roster_exits_1_with_the_report_and_writes_nothing(
    personas: Personas, roster: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = roster([person_row(姓名="好"), person_row(姓名="", 房号="302")])
    before = Person.objects.count()

    with pytest.raises(CommandError) as raised:
        call_command("import_roster", str(path), "--user", "community")

    assert raised.value.returncode == 1
    assert "第3行 姓名（G3）：请填写姓名" in capsys.readouterr().out
    assert Person.objects.count() == before


def test_import_roster_dry_run_writes_nothing(
    personas: Personas, roster: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    before = Person.objects.count()

    call_command("import_roster", str(roster([person_row()])), "--dry-run", "--user", "community")

    assert Person.objects.count() == before
    assert "仅校验" in capsys.readouterr().out


def test_import_roster_only_good_rows_writes_the_good_and_still_exits_1(
    personas: Personas, roster: Callable[..., Path]
) -> None:
    path = roster([person_row(姓名="留下", 身份证号=make_id_number()), person_row(姓名="", 房号="302")])

    with pytest.raises(CommandError) as raised:
        call_command("import_roster", str(path), "--only-good-rows", "--user", "community")

    assert raised.value.returncode == 1
    assert Person.objects.filter(name="留下").exists()


def test_import_roster_without_a_user_is_the_operator(personas: Personas, roster: Callable[..., Path]) -> None:
    call_command("import_roster", str(roster([person_row(姓名="操作员")])))

    assert Person.objects.get(name="操作员").household.community == personas.tree.c1


def test_import_roster_refuses_unknown_users_and_missing_files(
    personas: Personas, roster: Callable[..., Path], tmp_path: Path
) -> None:
    with pytest.raises(CommandError, match="没有账号"):
        call_command("import_roster", str(roster([person_row()])), "--user", "nobody")
    with pytest.raises(CommandError, match="无权导入"):
        call_command("import_roster", str(roster([person_row()])), "--user", "guard")
    with pytest.raises(CommandError, match="找不到文件"):
        call_command("import_roster", str(tmp_path / "missing.xlsx"))


def test_import_roster_exits_2_on_a_file_it_cannot_read(personas: Personas, tmp_path: Path) -> None:
    path = tmp_path / "bad.xlsx"
    path.write_bytes(b"garbage")

    with pytest.raises(CommandError) as raised:
        call_command("import_roster", str(path))

    assert raised.value.returncode == 2


def test_export_roster_writes_everyone_or_one_users_scope(personas: Personas, tmp_path: Path) -> None:
    everyone, outsider = tmp_path / "all.xlsx", tmp_path / "c2.xlsx"

    call_command("export_roster", str(everyone))
    call_command("export_roster", str(outsider), "--user", "outsider")

    rows = CalamineWorkbook.from_path(str(everyone)).get_sheet_by_index(0).to_python()
    assert rows[0] == HEADERS
    assert len(rows) - 1 == Person.objects.count()
    c2_rows = CalamineWorkbook.from_path(str(outsider)).get_sheet_by_index(0).to_python()[1:]
    assert len(c2_rows) == Person.objects.filter(household__community=personas.tree.c2).count()
    assert {row[0] for row in c2_rows} == {"团结社区"}
