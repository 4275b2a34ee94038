"""What an import writes: places, households and people, updated by ID number, never duplicated."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction

from linli.audit.models import AuditAction, AuditEvent
from linli.lib.testing import Personas, make_id_number
from linli.registry import services as registry_services
from linli.registry.models import Building, Compound, Household, Person, Unit
from linli.rosters import services
from linli.rosters.models import ImportJob, ImportStatus
from linli.rosters.services import roster_import
from linli.rosters.tests.conftest import HEADERS, person_row


def test_new_places_are_created_with_the_registry_code_scheme(personas: Personas, roster: Callable[..., Path]) -> None:
    c1 = personas.tree.c1
    rows = [
        person_row(小区="新月小区", 楼栋="3号楼", 单元="1单元", 房号="101", 姓名="甲", 身份证号=make_id_number()),
        person_row(小区="新月小区", 楼栋="3号楼", 单元="2单元", 房号="101", 姓名="乙", 身份证号=make_id_number()),
        person_row(小区="阳光小区", 楼栋="1号楼", 单元="3单元", 房号="101", 姓名="丙", 身份证号=make_id_number()),
    ]

    job = roster_import(path=roster(rows), user=personas.community_worker)

    assert job.status == ImportStatus.DONE, job.errors
    compound = Compound.objects.get(name="新月小区")
    # The same codes the registry services would have given: compound n+1 of the community, …
    assert (compound.code, compound.grid, compound.community) == (f"{c1.code}-003", personas.tree.g1, c1)
    building = Building.objects.get(compound=compound)
    assert (building.code, building.number, building.name) == (f"{compound.code}-B01", 1, "3号楼")
    assert list(Unit.objects.filter(building=building).values_list("code", "number")) == [
        (f"{building.code}-U1", 1),
        (f"{building.code}-U2", 2),
    ]
    third = Unit.objects.get(building=personas.tree.b1, name="3单元")
    assert (third.code, third.number) == (f"{personas.tree.b1.code}-U3", 3)
    household = Person.objects.get(name="丙").household
    assert household.code == f"{third.code}-101"
    assert (household.street_id, household.community_id, household.grid_id) == (
        c1.street_id,
        c1.pk,
        personas.tree.g1.pk,
    )
    assert (job.created_people, job.created_households, job.summary["compounds"], job.summary["units"]) == (3, 3, 1, 3)


def test_people_get_their_derived_fields(personas: Personas, roster: Callable[..., Path]) -> None:
    id_number = make_id_number("19561224")
    path = roster([person_row(身份证号=id_number.lower(), 手机号="+86 139-0000-1234")])

    roster_import(path=path, user=personas.community_worker)

    person = Person.objects.get(id_number=id_number)
    assert (person.id_tail, person.phone, person.phone_tail) == (id_number[-4:], "13900001234", "1234")
    assert person.birth_date == datetime.date(1956, 12, 24)
    assert person.gender == ("M" if int(id_number[16]) % 2 else "F")


def test_reimport_updates_people_by_id_number_instead_of_duplicating(
    personas: Personas, roster: Callable[..., Path]
) -> None:
    id_number = make_id_number("19660606")
    roster_import(path=roster([person_row(身份证号=id_number, 手机号="13700000001")]), user=personas.community_worker)
    total = Person.objects.count()

    job = roster_import(
        path=roster([person_row(身份证号=id_number, 手机号="13700000002", 重点人群="空巢")]),
        user=personas.community_worker,
    )

    assert (job.status, job.created_people, job.updated_people) == (ImportStatus.DONE, 0, 1)
    assert Person.objects.count() == total
    person = Person.objects.get(id_number=id_number)
    assert (person.phone, person.phone_tail, person.empty_nest) == ("13700000002", "0002", True)


def test_a_registered_person_moves_to_the_household_the_file_names(
    personas: Personas, roster: Callable[..., Path]
) -> None:
    person = Person.objects.filter(household__compound=personas.tree.p2).first()
    assert person is not None and person.id_number

    job = roster_import(
        path=roster([person_row(姓名=person.name, 身份证号=person.id_number)]), user=personas.community_worker
    )

    assert (job.created_people, job.updated_people) == (0, 1)
    person.refresh_from_db()
    assert (person.household.compound, person.household.room) == (personas.tree.p1, "301")


def test_people_without_an_id_number_are_matched_by_household_and_name(
    personas: Personas, roster: Callable[..., Path]
) -> None:
    household = personas.tree.households[f"{personas.tree.b1.code}/1单元/101"]
    registry_services.person_create(household=household, name="小宝", relation="grandchild")
    before = Person.objects.count()
    path = roster([person_row(房号="101", 姓名="小宝", 身份证号="", 与户主关系="孙子", 重点人群="婴幼儿")])

    job = roster_import(path=path, user=personas.community_worker)

    assert (job.created_people, job.updated_people) == (0, 1)
    assert Person.objects.count() == before
    assert Person.objects.get(household=household, name="小宝").infant is True


def test_two_nameless_ids_with_the_same_name_in_one_household_are_refused(
    personas: Personas, roster: Callable[..., Path]
) -> None:
    path = roster([person_row(姓名="同名", 身份证号=""), person_row(姓名="同名", 身份证号="")])

    job = roster_import(path=path, user=personas.community_worker)

    assert job.status == ImportStatus.REJECTED
    assert "同一户中已有同名的人（第2行）" in job.errors[0]["reason"]


def test_columns_missing_from_the_file_keep_what_is_registered(personas: Personas, roster: Callable[..., Path]) -> None:
    person = Person.objects.filter(household__compound=personas.tree.p1, phone__gt="").first()
    assert person is not None
    header = ["小区", "楼栋", "单元", "房号", "姓名", "身份证号", "备注"]
    household = person.household
    row = [
        household.compound.name,
        household.building.name,
        household.unit.name,
        household.room,
        person.name,
        person.id_number,
        "已核实",
    ]

    job = roster_import(path=roster([row], header), user=personas.community_worker)

    assert job.updated_people == 1
    phone = person.phone
    person.refresh_from_db()
    assert (person.phone, person.note) == (phone, "已核实")


def test_landlords_are_recorded_on_the_household(personas: Personas, roster: Callable[..., Path]) -> None:
    rows = [
        person_row(房号="808", 姓名="租客甲", 居住类型="租住", 身份证号=make_id_number()),
        person_row(
            房号="808",
            姓名="租客乙",
            居住类型="租住",
            房东姓名="周房东",
            房东电话="13600006666",
            身份证号=make_id_number(),
        ),
    ]

    roster_import(path=roster(rows), user=personas.community_worker)

    household = Household.objects.get(unit__building=personas.tree.b1, unit__name="1单元", room="808")
    assert (household.landlord_name, household.landlord_phone, household.is_rented) == ("周房东", "13600006666", True)


def test_only_good_rows_mode_writes_the_good_rows_and_reports_the_bad(
    personas: Personas, roster: Callable[..., Path]
) -> None:
    good = make_id_number("19730303")
    rows = [person_row(身份证号=good, 小区="好小区"), person_row(姓名="坏行", 身份证号="123", 小区="坏小区")]

    job = roster_import(path=roster(rows), user=personas.community_worker, only_good_rows=True)

    assert (job.status, job.created_people, job.error_count) == (ImportStatus.DONE, 1, 1)
    assert "1行有错误，未导入" in job.message
    assert Person.objects.filter(id_number=good).exists()
    assert not Person.objects.filter(name="坏行").exists()
    assert not Compound.objects.filter(name="坏小区").exists()


def test_a_dry_run_checks_everything_and_writes_nothing(personas: Personas, roster: Callable[..., Path]) -> None:
    before = (Compound.objects.count(), Person.objects.count(), AuditEvent.objects.count())

    job = roster_import(path=roster([person_row(小区="试试小区")]), user=personas.community_worker, dry_run=True)

    assert (job.status, job.error_count) == (ImportStatus.DONE, 0)
    assert "仅校验：1行可以导入" in job.message
    assert (Compound.objects.count(), Person.objects.count(), AuditEvent.objects.count()) == before


def test_one_audit_event_records_the_whole_import(personas: Personas, roster: Callable[..., Path]) -> None:
    before = AuditEvent.objects.count()
    rows = [person_row(姓名=f"人{i}", 身份证号=make_id_number(), 小区="审计小区") for i in range(5)]

    job = roster_import(path=roster(rows), user=personas.community_worker)

    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.latest("id")
    assert (event.action, event.actor, event.object_pk) == (AuditAction.IMPORT, personas.community_worker, str(job.pk))
    assert (event.changes["created_people"], event.changes["compounds"], event.community_id) == (
        5,
        1,
        personas.tree.c1.pk,
    )


def test_the_job_records_its_progress_and_outcome(personas: Personas, roster: Callable[..., Path]) -> None:
    rows = [person_row(姓名=f"人{i}", 身份证号=make_id_number()) for i in range(3)]

    job = roster_import(path=roster([*rows, [""] * len(HEADERS)]), user=personas.community_worker)

    job = ImportJob.objects.get(pk=job.pk)
    assert (job.status, job.total_rows, job.processed_rows, job.percent) == (ImportStatus.DONE, 3, 3, 100)
    assert job.finished_at is not None
    assert (job.created_by, job.community) == (personas.community_worker, personas.tree.c1)


def test_the_templates_example_row_is_skipped(personas: Personas, roster: Callable[..., Path]) -> None:
    job = roster_import(path=roster([person_row(姓名="【示例】张三")]), user=personas.community_worker)

    assert (job.status, job.created_people) == (ImportStatus.DONE, 0)
    assert job.message == "没有可导入的行"
    assert "已跳过模板中的示例行" in job.summary["notes"]


def test_someone_registered_without_an_id_number_gets_the_one_the_file_gives(
    personas: Personas, roster: Callable[..., Path]
) -> None:
    household = personas.tree.households[f"{personas.tree.b1.code}/1单元/102"]
    baby = registry_services.person_create(household=household, name="新生儿", relation="child")
    id_number = make_id_number("20220301")
    path = roster([person_row(房号="102", 姓名="新生儿", 身份证号=id_number, 与户主关系="子女", 手机号="")])

    job = roster_import(path=path, user=personas.community_worker)

    assert (job.created_people, job.updated_people) == (0, 1)
    baby.refresh_from_db()
    assert (baby.id_number, baby.id_tail, baby.birth_date) == (id_number, id_number[-4:], datetime.date(2022, 3, 1))


def test_a_landlord_is_added_to_a_registered_household(personas: Personas, roster: Callable[..., Path]) -> None:
    household = personas.tree.households[f"{personas.tree.b1.code}/1单元/201"]
    row = person_row(房号="201", 姓名="新租客", 身份证号=make_id_number(), 房东姓名="孙房东", 房东电话="13500005555")

    job = roster_import(path=roster([row]), user=personas.community_worker)

    assert (job.created_people, job.created_households) == (1, 0)
    household.refresh_from_db()
    assert (household.landlord_name, household.landlord_phone, household.is_rented) == ("孙房东", "13500005555", True)
    assert household.members.count() == 3


def test_chunks_with_and_without_id_less_people_create_then_update_each_once(
    personas: Personas, roster: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Chunks whose people all have ID numbers skip the by-name statements; the counts must not care.
    monkeypatch.setattr(services, "CHUNK_ROWS", 2)
    people = [("101", "甲", make_id_number()), ("101", "乙", make_id_number()), ("102", "丙", "")]
    people += [("102", "丁", make_id_number()), ("103", "戊", "")]

    def rows(phones: dict[str, str]) -> list[list[Any]]:
        return [
            person_row(小区="分块小区", 房号=room, 姓名=name, 身份证号=id_number, 手机号=phones.get(name, ""))
            for room, name, id_number in people
        ]

    first = roster_import(path=roster(rows({})), user=personas.community_worker)
    again = roster_import(path=roster(rows({"丙": "13700000009", "丁": "13700000008"})), user=personas.community_worker)

    assert (first.status, first.created_people, first.updated_people, first.created_households) == (
        ImportStatus.DONE,
        5,
        0,
        3,
    )
    assert (again.status, again.created_people, again.updated_people, again.created_households) == (
        ImportStatus.DONE,
        0,
        2,
        0,
    )
    written = Person.objects.filter(household__compound__name="分块小区")
    assert sorted(written.values_list("name", "phone")) == [
        ("丁", "13700000008"),
        ("丙", "13700000009"),
        ("乙", ""),
        ("戊", ""),
        ("甲", ""),
    ]


def test_a_file_that_turns_from_new_to_registered_half_way_updates_the_registered(
    personas: Personas, roster: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # On PostgreSQL new chunks are copied straight into the registry; the first chunk that names a
    # registered person or room goes, with every chunk after it, through the upserts instead.
    monkeypatch.setattr(services, "CHUNK_ROWS", 2)
    known = make_id_number("19800808")
    roster_import(path=roster([person_row(房号="102", 姓名="老住户", 身份证号=known)]), user=personas.community_worker)
    before = (Person.objects.count(), Household.objects.count())
    rows = [
        person_row(小区="新建小区", 房号="101", 姓名="甲", 身份证号=make_id_number()),
        person_row(小区="新建小区", 房号="102", 姓名="乙", 身份证号=make_id_number()),
        person_row(房号="102", 姓名="老住户", 身份证号=known, 手机号="13700000077"),
        person_row(房号="102", 姓名="新家人", 身份证号=make_id_number()),
        person_row(小区="新建小区", 房号="103", 姓名="丙", 身份证号=make_id_number()),
    ]

    job = roster_import(path=roster(rows), user=personas.community_worker)

    assert (job.status, job.created_people, job.updated_people, job.created_households) == (
        ImportStatus.DONE,
        4,
        1,
        3,
    )
    assert (Person.objects.count(), Household.objects.count()) == (before[0] + 4, before[1] + 3)
    person = Person.objects.get(id_number=known)
    assert person.phone == "13700000077"
    assert set(person.household.members.values_list("name", flat=True)) >= {"老住户", "新家人"}


def test_a_landlord_named_on_a_later_row_of_a_household_split_across_chunks_is_kept(
    personas: Personas, roster: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "CHUNK_ROWS", 2)
    rows = [
        person_row(小区="分块小区", 房号="101", 姓名="甲", 身份证号=make_id_number()),
        person_row(小区="分块小区", 房号="101", 姓名="乙", 身份证号=make_id_number()),
        person_row(小区="分块小区", 房号="101", 姓名="丙", 身份证号=make_id_number(), 房东姓名="孙房东"),
        person_row(小区="分块小区", 房号="101", 姓名="丁", 身份证号=make_id_number(), 房东电话="13500005555"),
    ]

    job = roster_import(path=roster(rows), user=personas.community_worker)

    assert (job.status, job.created_people, job.created_households) == (ImportStatus.DONE, 4, 1)
    household = Household.objects.get(compound__name="分块小区")
    assert (household.landlord_name, household.landlord_phone, household.is_rented) == ("孙房东", "13500005555", True)
    assert household.members.count() == 4


@pytest.mark.skipif(connection.vendor != "postgresql", reason="deferred foreign keys are PostgreSQL's")
def test_the_registry_foreign_keys_are_deferred_again_after_an_import(
    personas: Personas, roster: Callable[..., Path]
) -> None:
    # The import checks them as it copies; the rest of the caller's transaction must not notice.
    roster_import(
        path=roster([person_row(小区="新建小区", 姓名="甲", 身份证号=make_id_number())]), user=personas.community_worker
    )
    household = Household.objects.get(compound__name="新建小区")

    with transaction.atomic():
        orphan = Person.objects.create(household_id=household.pk + 10**9, name="暂缺户")
        orphan.household_id = household.pk
        orphan.save()

    assert Person.objects.filter(name="暂缺户", household=household).exists()


def test_rows_are_checked_with_the_cyclic_collector_off_and_it_is_on_again_after(
    personas: Personas, roster: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc

    from linli.rosters.validation import RowChecker

    seen: list[bool] = []
    check = RowChecker.check

    def watched(self: RowChecker, number: int, cells: list[Any]) -> Any:
        seen.append(gc.isenabled())
        return check(self, number, cells)

    monkeypatch.setattr(RowChecker, "check", watched)
    assert gc.isenabled()

    job = roster_import(path=roster([person_row(身份证号=make_id_number())]), user=personas.community_worker)

    assert job.status == ImportStatus.DONE, job.errors
    assert seen == [False]
    assert gc.isenabled()


def _replication_role() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('session_replication_role')")
        return cursor.fetchone()[0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the replica role is PostgreSQL's")
@pytest.mark.parametrize("half_registered", [False, True], ids=["all-new", "new-then-registered"])
def test_the_foreign_keys_of_the_rest_of_the_transaction_are_checked_after_an_import(
    personas: Personas, roster: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, half_registered: bool
) -> None:
    # The people's COPY skips its row-by-row checks (their households are the import's own); the
    # statements after it, in the same transaction, must be checked again — also when a chunk's
    # savepoint was rolled back because it named someone already registered.
    monkeypatch.setattr(services, "CHUNK_ROWS", 2)
    known = make_id_number()
    if half_registered:
        first = roster([person_row(房号="102", 姓名="老住户", 身份证号=known)])
        roster_import(path=first, user=personas.community_worker)
    rows = [person_row(小区="新建小区", 房号=f"10{i}", 姓名=f"新{i}", 身份证号=make_id_number()) for i in range(3)]
    # A new room: its household is copied, then the people's COPY meets the registered ID number.
    rows.append(person_row(房号="109", 姓名="老住户", 身份证号=known if half_registered else make_id_number()))

    job = roster_import(path=roster(rows), user=personas.community_worker)

    assert (job.status, job.updated_people) == (ImportStatus.DONE, int(half_registered))
    assert _replication_role() == "origin"
    with pytest.raises(IntegrityError), transaction.atomic():
        Person.objects.create(household_id=10**12, name="无此户")
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the replica role is PostgreSQL's")
def test_people_are_copied_with_their_checks_by_a_role_that_may_not_skip_them(
    personas: Personas, roster: Callable[..., Path]
) -> None:
    from linli.rosters.direct import _may_skip_triggers

    with connection.cursor() as cursor:
        assert _may_skip_triggers(cursor, Person._meta.db_table)  # the test database's owner may
        cursor.execute("CREATE ROLE linli_plain_importer NOLOGIN")
        cursor.execute("GRANT ALL ON ALL TABLES IN SCHEMA public TO linli_plain_importer")
        cursor.execute("GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO linli_plain_importer")
        cursor.execute("SET LOCAL ROLE linli_plain_importer")
        assert not _may_skip_triggers(cursor, Person._meta.db_table)

    job = roster_import(
        path=roster([person_row(小区="新建小区", 姓名="甲", 身份证号=make_id_number())]), user=personas.community_worker
    )

    assert (job.status, job.created_people) == (ImportStatus.DONE, 1)
    assert _replication_role() == "origin"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the replica role is PostgreSQL's")
@pytest.mark.django_db
def test_a_role_that_may_not_skip_the_checks_is_told_how_once(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from linli.rosters import direct

    monkeypatch.setattr(direct, "_hinted", False)
    with connection.cursor() as cursor:
        cursor.execute("CREATE ROLE linli_plain_importer NOLOGIN")
        cursor.execute("SET LOCAL ROLE linli_plain_importer")
        with caplog.at_level("INFO", logger="linli.rosters.direct"):
            assert not direct._may_skip_triggers(cursor, Person._meta.db_table)
            assert not direct._may_skip_triggers(cursor, Household._meta.db_table)

    hints = [record.getMessage() for record in caplog.records if "session_replication_role" in record.getMessage()]
    assert len(hints) == 1
    assert "GRANT SET ON PARAMETER session_replication_role TO" in hints[0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the replica role is PostgreSQL's")
@pytest.mark.django_db
def test_a_trigger_on_the_people_table_keeps_the_checks_on() -> None:
    # The replica role would silently skip a trigger someone added to the table (an audit, say).
    from linli.rosters.direct import _may_skip_triggers

    table = Person._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION pg_temp.linli_noop() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END'"
        )
        cursor.execute(
            f"CREATE TRIGGER linli_noop BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION pg_temp.linli_noop()"
        )
        assert not _may_skip_triggers(cursor, table)
        cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER linli_noop")
        assert _may_skip_triggers(cursor, table)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the replica role is PostgreSQL's")
@pytest.mark.django_db
def test_rows_written_under_the_replica_role_skip_their_foreign_key_checks_and_only_they() -> None:
    from linli.rosters.direct import _replica_role

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        with _replica_role(cursor, True):
            Person.objects.create(household_id=10**12, name="不查")
        assert _replication_role() == "origin"
        with pytest.raises(IntegrityError), transaction.atomic():
            Person.objects.create(household_id=10**12 + 1, name="要查")
        transaction.set_rollback(True)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the replica role is PostgreSQL's")
def test_only_households_in_units_the_import_created_skip_their_units_check(
    personas: Personas, roster: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A unit registered before the import could be deleted by someone else meanwhile: the households
    # copied into it keep their check. One the import created is the transaction's own.
    from linli.rosters import direct

    copies: list[tuple[bool, set[int]]] = []
    copy_households = direct.DirectCopy._copy_households

    def watched(self: direct.DirectCopy, cursor: Any, rows: list[Any], ids: dict[int, int], *args: Any) -> Any:
        role = cursor.connection.execute("SELECT current_setting('session_replication_role')").fetchone()[0]
        copies.append((role == "replica", {ids.get(row[1], row[1]) for row in rows}))
        return copy_households(self, cursor, rows, ids, *args)

    monkeypatch.setattr(direct.DirectCopy, "_copy_households", watched)
    registered_unit = Unit.objects.get(building__compound__name="阳光小区", building__name="1号楼", name="1单元")
    rows = [
        person_row(房号="1801", 姓名="甲", 身份证号=make_id_number()),
        person_row(小区="新建小区", 房号="101", 姓名="乙", 身份证号=make_id_number()),
        person_row(房号="1802", 姓名="丙", 身份证号=make_id_number()),
    ]

    job = roster_import(path=roster(rows), user=personas.community_worker)

    assert (job.status, job.created_households, job.created_people) == (ImportStatus.DONE, 3, 3)
    new_unit = Unit.objects.get(building__compound__name="新建小区")
    assert sorted(copies) == [(False, {registered_unit.pk}), (True, {new_unit.pk})]
    assert _replication_role() == "origin"
    households = Household.objects.filter(members__name__in=["甲", "乙", "丙"])
    assert sorted(households.values_list("unit_id", "room")) == sorted(
        [(registered_unit.pk, "1801"), (new_unit.pk, "101"), (registered_unit.pk, "1802")]
    )


def test_a_unit_someone_else_created_since_the_check_is_used_and_not_counted_as_the_imports(
    personas: Personas,
) -> None:
    from linli.rosters.staging import create_places
    from linli.rosters.validation import Places

    places = Places(personas.community_worker)
    mine = places.resolve("幸福社区", "第一网格", "阳光小区", "1号楼", "新单元甲")
    theirs = places.resolve("幸福社区", "第一网格", "阳光小区", "1号楼", "新单元乙")
    building = Building.objects.get(compound__name="阳光小区", name="1号楼")
    registry_services.unit_create(building=building, name="新单元乙")
    ids: dict[int, int] = {}
    created: set[int] = set()

    with transaction.atomic():
        counts = create_places(places, [mine, theirs], ids, created_units=created)

    assert counts["units"] == 1
    assert created == {Unit.objects.get(building=building, name="新单元甲").pk}
    assert ids[theirs] == Unit.objects.get(building=building, name="新单元乙").pk
