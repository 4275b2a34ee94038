"""An import writes only inside the importer's scope, and says nothing about anyone else's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from linli.lib.testing import Personas, make_id_number
from linli.registry.models import Compound, Person
from linli.rosters.models import ImportStatus
from linli.rosters.services import roster_import
from linli.rosters.tests.conftest import person_row


def test_a_community_worker_cannot_import_into_another_community(
    personas: Personas, roster: Callable[..., Path]
) -> None:
    # The outsider works for 团结社区 (C2); 阳光小区 belongs to 幸福社区 (C1).
    path = roster([person_row(社区="幸福社区", 姓名="越界")])
    before = Person.objects.filter(household__community=personas.tree.c1).count()

    job = roster_import(path=path, user=personas.outsider)

    assert job.status == ImportStatus.REJECTED
    assert [(e["column"], e["reason"]) for e in job.errors] == [("社区", "社区“幸福社区”不在您的管辖范围内")]
    assert Person.objects.filter(household__community=personas.tree.c1).count() == before


def test_without_a_community_column_rows_stay_in_the_importers_own_community(
    personas: Personas, roster: Callable[..., Path]
) -> None:
    # Naming C1's compound from C2 creates a compound of that name in C2; C1's is never touched.
    path = roster([person_row(社区="", 网格="第一网格", 姓名="本社区人")])

    job = roster_import(path=path, user=personas.outsider)

    assert job.status == ImportStatus.DONE, job.errors
    household = Person.objects.get(name="本社区人").household
    assert (household.community, household.grid) == (personas.tree.c2, personas.tree.g3)
    assert household.compound != personas.tree.p1
    assert Compound.objects.filter(name="阳光小区").count() == 2


def test_an_id_registered_in_another_community_is_refused_without_saying_where(
    personas: Personas, roster: Callable[..., Path]
) -> None:
    person = Person.objects.filter(household__community=personas.tree.c1).first()
    assert person is not None
    path = roster([person_row(社区="", 网格="", 小区="团结新村", 楼栋="1号楼", 姓名="冒名", 身份证号=person.id_number)])

    job = roster_import(path=path, user=personas.outsider)

    assert job.status == ImportStatus.REJECTED
    [error] = job.errors
    assert error["column"] == "身份证号"
    report = str(job.errors) + job.message
    for secret in ("幸福社区", "阳光小区", "和谐家园", person.name, str(person.id_number)):
        assert secret not in report
    person.refresh_from_db()
    assert person.household.community == personas.tree.c1 and person.name != "冒名"


def test_an_id_elsewhere_is_skipped_but_the_rest_imported_in_only_good_rows_mode(
    personas: Personas, roster: Callable[..., Path]
) -> None:
    person = Person.objects.filter(household__community=personas.tree.c1).first()
    assert person is not None
    rows = [
        person_row(社区="", 网格="", 小区="团结新村", 姓名="冒名", 身份证号=person.id_number, 房号="909"),
        person_row(社区="", 网格="", 小区="团结新村", 姓名="新邻居", 身份证号=make_id_number(), 房号="910"),
    ]

    job = roster_import(path=roster(rows), user=personas.outsider, only_good_rows=True)

    assert (job.status, job.created_people, job.error_count, job.created_households) == (ImportStatus.DONE, 1, 1, 1)
    person.refresh_from_db()
    assert person.household.community == personas.tree.c1


def test_a_grid_worker_is_limited_to_their_grid(personas: Personas, roster: Callable[..., Path]) -> None:
    # 和谐家园 is in 第二网格 (G2); the grid worker covers 第一网格 (G1).
    rows = [
        person_row(网格="", 小区="和谐家园", 姓名="别的网格"),
        person_row(网格="第二网格", 小区="新网格小区", 姓名="填错网格", 身份证号=make_id_number()),
    ]

    job = roster_import(path=roster(rows), user=personas.grid_worker)

    assert job.status == ImportStatus.REJECTED
    assert [(e["row"], e["reason"]) for e in job.errors] == [
        (2, "小区“和谐家园”不在您的管辖范围内"),
        (3, "网格“第二网格”不在您的管辖范围内"),
    ]


def test_a_grid_workers_new_compound_lands_in_their_grid(personas: Personas, roster: Callable[..., Path]) -> None:
    job = roster_import(path=roster([person_row(网格="", 小区="网格新村")]), user=personas.grid_worker)

    assert job.status == ImportStatus.DONE, job.errors
    assert Compound.objects.get(name="网格新村").grid == personas.tree.g1
    assert job.grid == personas.tree.g1


def test_a_new_compound_needs_a_grid_when_the_community_has_several(
    personas: Personas, roster: Callable[..., Path]
) -> None:
    job = roster_import(path=roster([person_row(网格="", 小区="无网格小区")]), user=personas.community_worker)

    assert job.status == ImportStatus.REJECTED
    assert job.errors[0]["reason"] == "新小区“无网格小区”须填写所属网格"

    job = roster_import(path=roster([person_row(网格="第二网格", 小区="无网格小区")]), user=personas.community_worker)

    assert job.status == ImportStatus.DONE
    assert Compound.objects.get(name="无网格小区").grid == personas.tree.g2


def test_a_compound_named_with_the_wrong_grid_is_refused(personas: Personas, roster: Callable[..., Path]) -> None:
    job = roster_import(path=roster([person_row(网格="第二网格", 小区="阳光小区")]), user=personas.community_worker)

    assert job.errors[0]["reason"] == "小区“阳光小区”不在所填的网格中"


def test_a_street_worker_names_the_community_of_each_row(personas: Personas, roster: Callable[..., Path]) -> None:
    rows = [
        person_row(社区="团结社区", 网格="第一网格", 小区="团结新村", 姓名="街道导入"),
        person_row(社区="", 姓名="缺社区"),
    ]

    job = roster_import(path=roster(rows), user=personas.street_command, only_good_rows=True)

    assert (job.created_people, job.error_count) == (1, 1)
    assert Person.objects.get(name="街道导入").household.community == personas.tree.c2
    assert job.errors[0]["reason"] == "请填写社区"


def test_the_operator_imports_anywhere_but_must_name_the_community(
    personas: Personas, roster: Callable[..., Path]
) -> None:
    job = roster_import(path=roster([person_row(社区="团结社区", 网格="第一网格", 小区="团结新村", 姓名="操作员导入")]))

    assert job.status == ImportStatus.DONE, job.errors
    assert Person.objects.get(name="操作员导入").household.community == personas.tree.c2
