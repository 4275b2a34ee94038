"""Sealing (H7): a unit or building sealed — passes suspended at the gate, members tested and reporting
once a day, supplies contactless — and unsealed only with every condition met."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.core.exceptions import ValidationError

from linli.gate import services as gate_services
from linli.gate.models import HouseholdHold
from linli.health import rules, selectors, services
from linli.health.choices import Category, MonitorSource, SealLevel
from linli.health.models import Case, Monitoring, Seal, SealedHousehold, TestTask
from linli.health.tests.conftest import Gate, Health, at, day
from linli.registry.models import Household, Person

pytestmark = pytest.mark.django_db

ALL_TICKED = {"tested": True, "no_new_case": True, "disinfected": True}


def scan(gate: Gate, moment: datetime.datetime) -> gate_services.ScanResult:
    data = gate_services.ScanInput(
        uuid=uuid.uuid4(), credential=gate.household_pass.token, direction="out", device_time=moment
    )
    return gate_services.scan_record(gate.checkpoint, gate.personas.gate_guard, data, now=moment)


def unit_households(health: Health) -> list[Household]:
    return list(Household.objects.filter(unit=health.household.unit).order_by("pk"))


def seal_unit(health: Health, moment: datetime.datetime | None = None, case: Case | None = None) -> Seal:
    return services.seal_create(
        level=SealLevel.UNIT,
        target=health.household.unit,
        actor=health.personas.community_worker,
        case=case,
        reason="单元内出现确诊病例",
        now=moment or at(20, 10),
    )


def confirmed(health: Health, home: Household, name: str = "甲") -> Case:
    return services.case_record(
        community=health.personas.tree.c1,
        name=name,
        kind="confirmed",
        confirmed_on=day(19),
        source="known",
        actor=health.personas.medic,
        person=home.members.order_by("pk").first(),
        now=at(20, 9),
    )


def test_sealing_a_unit_holds_every_household_at_the_gate(health: Health, gate: Gate) -> None:
    assert scan(gate, at(20, 9)).scan.verdict == "allowed"
    seal = seal_unit(health)
    households = unit_households(health)
    assert len(households) == 3
    assert sorted(SealedHousehold.objects.filter(seal=seal).values_list("household_id", flat=True)) == [
        h.pk for h in households
    ]
    holds = HouseholdHold.objects.filter(released_at__isnull=True)
    assert sorted(holds.values_list("household_id", "reason", "source")) == [
        (h.pk, "sealed", "health") for h in households
    ]
    refused = scan(gate, at(20, 11))
    assert (refused.scan.verdict, refused.scan.reason) == ("refused", "sealed")
    # Another unit of the same building is not sealed.
    other = health.personas.tree.households[f"{health.personas.tree.b1.code}/2单元/101"]
    assert not HouseholdHold.objects.filter(household=other).exists()
    assert (seal.level, seal.unit_id, seal.building_id, seal.disinfections_per_day) == (
        SealLevel.UNIT,
        health.household.unit_id,
        health.household.building_id,
        2,
    )


def test_a_sealed_units_members_report_once_a_day_and_are_tested_today(health: Health) -> None:
    seal = seal_unit(health)
    people = set(Person.objects.filter(household__unit=health.household.unit).values_list("pk", flat=True))
    assert len(people) == 6
    monitorings = Monitoring.objects.filter(seal=seal)
    assert {m.person_id for m in monitorings} == people
    assert {(m.source, m.starts_on, m.ends_on, m.reports_per_day) for m in monitorings} == {
        (MonitorSource.SEAL, day(20), None, 1)
    }
    tests = TestTask.objects.filter(seal=seal)
    assert {t.person_id for t in tests} == people
    assert {(t.due_on, t.result) for t in tests} == {(day(20), "pending")}
    # Once a day: due in the morning slot, not in the afternoon one.
    worker = health.personas.community_worker
    assert {m.person_id for m in selectors.chase_list(worker, day(21), 1)} == people
    assert not selectors.chase_list(worker, day(21), 2).exists()


def test_contactless_households_lists_the_sealed_ones(health: Health) -> None:
    assert not selectors.contactless_households().exists()
    seal = seal_unit(health)
    listed = set(selectors.contactless_households().values_list("household_id", flat=True))
    assert listed == {h.pk for h in unit_households(health)}
    for task in TestTask.objects.filter(seal=seal):
        services.test_result_record(task, result="negative", actor=health.personas.medic, now=at(20, 18))
    services.seal_release(seal, conditions=ALL_TICKED, actor=health.personas.community_worker, now=at(27, 10))
    assert not selectors.contactless_households().exists()


def test_sealing_the_same_unit_twice_is_refused(health: Health) -> None:
    seal_unit(health)
    with pytest.raises(ValidationError, match="已在封控中"):
        seal_unit(health, at(20, 11))
    assert Seal.objects.count() == 1
    assert SealedHousehold.objects.count() == 3


def test_a_seal_target_must_match_its_level(health: Health) -> None:
    with pytest.raises(ValidationError):
        services.seal_create(
            level=SealLevel.UNIT,
            target=health.household.building,
            actor=health.personas.community_worker,
            now=at(20, 10),
        )
    with pytest.raises(ValidationError):
        services.seal_create(level="street", target=health.household.unit, actor=None, now=at(20, 10))
    assert not Seal.objects.exists()


def test_a_building_seal_covers_its_units(health: Health) -> None:
    building = health.household.building
    seal = services.seal_create(
        level=SealLevel.BUILDING, target=building, actor=health.personas.community_worker, now=at(20, 10)
    )
    assert SealedHousehold.objects.filter(seal=seal).count() == 6  # 1单元 and 2单元, three households each
    # H3: an isolated building measures twice a day (a sealed unit once).
    assert {m.reports_per_day for m in Monitoring.objects.filter(seal=seal)} == {2}
    assert Monitoring.objects.filter(seal=seal).count() == 12
    assert seal.unit_id is None and seal.building_id == building.pk
    with pytest.raises(ValidationError, match="已在封控中"):
        services.seal_create(level=SealLevel.BUILDING, target=building, actor=None, now=at(20, 11))


def test_unseal_is_refused_with_pending_tests(health: Health) -> None:
    seal = seal_unit(health)
    first = TestTask.objects.filter(seal=seal).order_by("pk").first()
    assert first is not None
    services.test_result_record(first, result="negative", actor=health.personas.medic, now=at(20, 18))
    with pytest.raises(ValidationError) as refused:
        services.seal_release(seal, conditions=ALL_TICKED, actor=health.personas.community_worker, now=at(27, 10))
    assert refused.value.messages == ["还有 5 人的核酸检测没有结果"]
    seal.refresh_from_db()
    assert seal.is_active


def test_unseal_is_refused_with_a_positive_test(health: Health) -> None:
    seal = seal_unit(health)
    tasks = list(TestTask.objects.filter(seal=seal).order_by("pk"))
    for task in tasks:
        result = "positive" if task == tasks[-1] else "negative"
        services.test_result_record(task, result=result, actor=health.personas.medic, now=at(20, 18))
    with pytest.raises(ValidationError) as refused:
        services.seal_release(seal, conditions=ALL_TICKED, actor=health.personas.community_worker, now=at(27, 10))
    assert refused.value.messages == ["封控范围内有核酸阳性人员"]


@pytest.mark.parametrize("unticked", ["tested", "no_new_case", "disinfected"])
def test_unseal_is_refused_with_an_unticked_condition(health: Health, unticked: str) -> None:
    seal = seal_unit(health)
    for task in TestTask.objects.filter(seal=seal):
        services.test_result_record(task, result="negative", actor=health.personas.medic, now=at(20, 18))
    conditions = {**ALL_TICKED, unticked: False}
    with pytest.raises(ValidationError) as refused:
        services.seal_release(seal, conditions=conditions, actor=health.personas.community_worker, now=at(27, 10))
    assert len(refused.value.messages) == 1
    assert str(services.UNSEAL_CONDITIONS[unticked]) in refused.value.messages[0]
    assert HouseholdHold.objects.filter(released_at__isnull=True).count() == 3


def test_unseal_releases_the_holds_but_keeps_a_home_observation_order(health: Health, gate: Gate) -> None:
    worker = health.personas.community_worker
    order = services.key_person_register(
        health.person, category=Category.MEDIUM_RISK_RETURNEE, actor=worker, arrived_on=day(19), now=at(19, 20)
    ).order
    assert order is not None and order.holds_pass
    seal = seal_unit(health)
    mine = HouseholdHold.objects.filter(household=health.household, released_at__isnull=True)
    assert sorted(mine.values_list("reason", flat=True)) == ["home_observation", "sealed"]
    assert scan(gate, at(20, 11)).scan.reason == "sealed"  # sealed outranks observation
    for task in TestTask.objects.filter(seal=seal):
        services.test_result_record(task, result="negative", actor=health.personas.medic, now=at(20, 18))

    services.seal_release(seal, conditions=ALL_TICKED, actor=worker, note="14天无新增", now=at(27, 10))
    seal.refresh_from_db()
    assert (seal.unsealed_at, seal.unsealed_by, seal.unseal_note) == (at(27, 10), worker, "14天无新增")
    assert seal.unseal_conditions == ALL_TICKED
    assert list(mine.values_list("reason", flat=True)) == ["home_observation"]
    assert scan(gate, at(27, 11)).scan.reason == "observation"
    neighbours = [h for h in unit_households(health) if h != health.household]
    assert not HouseholdHold.objects.filter(household__in=neighbours, released_at__isnull=True).exists()
    # The seal's daily reports end the day before the unseal; the order's go on.
    assert {m.ends_on for m in Monitoring.objects.filter(seal=seal)} == {day(26)}
    assert Monitoring.objects.get(order=order).ends_on == order.planned_end
    assert not SealedHousehold.objects.filter(active=True).exists()
    with pytest.raises(ValidationError, match="已解封"):
        services.seal_release(seal, conditions=ALL_TICKED, actor=worker, now=at(27, 11))
    # The unit may be sealed again later.
    assert seal_unit(health, at(28, 10)).pk != seal.pk


def test_a_hold_set_by_hand_at_the_gate_survives_a_seal(health: Health) -> None:
    gate_services.hold_set(household=health.household, reason="home_observation", actor=health.personas.grid_worker)
    seal = seal_unit(health)
    for task in TestTask.objects.filter(seal=seal):
        services.test_result_record(task, result="negative", actor=health.personas.medic, now=at(20, 18))
    services.seal_release(seal, conditions=ALL_TICKED, actor=health.personas.community_worker, now=at(27, 10))
    mine = HouseholdHold.objects.filter(household=health.household, released_at__isnull=True)
    assert list(mine.values_list("reason", "source")) == [("home_observation", "")]


def test_a_case_suggests_sealing_its_unit(health: Health) -> None:
    community = health.personas.tree.c1
    assert services.seal_suggestions(community, now=at(20, 10)) == []
    case = confirmed(health, health.household)
    suggestions = services.seal_suggestions(community, now=at(20, 10))
    assert [(s.level, s.unit, s.cases) for s in suggestions] == [(SealLevel.UNIT, health.household.unit, (case,))]
    assert "1号楼1单元" in suggestions[0].reason
    seal_unit(health, case=case)
    assert services.seal_suggestions(community, now=at(20, 11)) == []
    # An asymptomatic infection suggests nothing.
    services.case_record(
        community=community,
        name="乙",
        kind="asymptomatic",
        confirmed_on=day(19),
        source="known",
        actor=health.personas.medic,
        person=health.personas.tree.households[f"{health.personas.tree.b2.code}/1单元/101"].members.first(),
        now=at(20, 9),
    )
    assert services.seal_suggestions(community, now=at(20, 11)) == []


def test_cases_in_two_units_of_one_building_suggest_the_building(health: Health) -> None:
    tree = health.personas.tree
    first = confirmed(health, health.household, "甲")
    second = confirmed(health, tree.households[f"{tree.b1.code}/2单元/201"], "乙")
    third = confirmed(health, tree.households[f"{tree.b3.code}/1单元/101"], "丙")
    suggestions = services.seal_suggestions(tree.c1, now=at(20, 10))
    by_level = {(s.level, s.building.pk if s.building else None): s for s in suggestions}
    assert set(by_level) == {(SealLevel.BUILDING, tree.b1.pk), (SealLevel.UNIT, tree.b3.pk)}
    assert set(by_level[(SealLevel.BUILDING, tree.b1.pk)].cases) == {first, second}
    assert by_level[(SealLevel.UNIT, tree.b3.pk)].cases == (third,)
    assert "2 个单元" in by_level[(SealLevel.BUILDING, tree.b1.pk)].reason
    services.seal_create(
        level=SealLevel.BUILDING, target=tree.b1, actor=health.personas.community_worker, now=at(20, 10)
    )
    assert [s.level for s in services.seal_suggestions(tree.c1, now=at(20, 11))] == [SealLevel.UNIT]


def test_the_units_case_is_neither_tested_nor_chased_by_the_seal(health: Health) -> None:
    case = confirmed(health, health.household)
    assert case.person is not None
    seal = seal_unit(health, case=case)
    people = set(Person.objects.filter(household__unit=health.household.unit).values_list("pk", flat=True))
    assert {m.person_id for m in Monitoring.objects.filter(seal=seal)} == people - {case.person.pk}
    assert {t.person_id for t in TestTask.objects.filter(seal=seal)} == people - {case.person.pk}
    for task in TestTask.objects.filter(seal=seal):
        services.test_result_record(task, result="negative", actor=health.personas.medic, now=at(20, 18))
    services.seal_release(seal, conditions=ALL_TICKED, actor=health.personas.community_worker, now=at(27, 10))
    # A case of the unit recorded without being named on the seal is left out too.
    other = confirmed(health, health.personas.tree.households[f"{health.personas.tree.b1.code}/1单元/201"], "乙")
    again = seal_unit(health, at(28, 10))
    left_out = {case.person.pk, other.person.pk if other.person else 0}
    assert {m.person_id for m in Monitoring.objects.filter(seal=again)} == people - left_out


def seal_building(health: Health, moment: datetime.datetime | None = None) -> Seal:
    return services.seal_create(
        level=SealLevel.BUILDING,
        target=health.household.building,
        actor=health.personas.community_worker,
        reason="两个单元出现确诊病例",
        now=moment or at(21, 10),
    )


def test_a_unit_or_household_inside_a_sealed_building_is_refused_naming_the_seal(health: Health) -> None:
    # given
    building = seal_building(health, at(20, 10))

    # when / then: the unit, a household of the other unit — refused, nothing added
    with pytest.raises(ValidationError) as refused:
        seal_unit(health, at(20, 11))
    assert refused.value.messages == ["该单元已在1号楼（楼栋封控，11-20 10:00 起）的封控范围内，无需重复封控"]
    other = health.personas.tree.households[f"{health.personas.tree.b1.code}/2单元/101"]
    with pytest.raises(ValidationError, match="该户已在1号楼（楼栋封控"):
        services.seal_create(level=SealLevel.HOUSEHOLD, target=other, actor=None, now=at(20, 11))
    assert list(Seal.objects.values_list("pk", flat=True)) == [building.pk]
    assert SealedHousehold.objects.count() == 6
    assert Monitoring.objects.count() == TestTask.objects.count() == 12


def test_a_household_inside_a_sealed_unit_is_refused_naming_the_seal(health: Health) -> None:
    unit = seal_unit(health)

    with pytest.raises(ValidationError) as refused:
        services.seal_create(level=SealLevel.HOUSEHOLD, target=health.household, actor=None, now=at(20, 11))

    assert refused.value.messages == ["该户已在1号楼1单元（单元封控，11-20 10:00 起）的封控范围内，无需重复封控"]
    assert list(Seal.objects.values_list("pk", flat=True)) == [unit.pk]
    assert Monitoring.objects.count() == TestTask.objects.count() == 6
    assert not SealedHousehold.objects.exclude(seal=unit).exists()


def test_sealing_a_building_around_a_sealed_unit_merges_the_unit_seal_into_it(health: Health) -> None:
    # given: the unit sealed yesterday, one member already tested negative
    unit = seal_unit(health, at(20, 10))
    unit_people = set(Person.objects.filter(household__unit=health.household.unit).values_list("pk", flat=True))
    tested = TestTask.objects.filter(seal=unit).order_by("pk").first()
    assert tested is not None
    services.test_result_record(tested, result="negative", actor=health.personas.medic, now=at(20, 18))

    # when: the whole building is sealed today
    building = seal_building(health, at(21, 10))

    # then: the unit seal ended into the building seal
    unit.refresh_from_db()
    assert (unit.is_active, unit.unsealed_at) == (False, at(21, 10))
    assert unit.unseal_note == "并入1号楼（楼栋封控，11-21 10:00 起）"
    assert not SealedHousehold.objects.filter(seal=unit, active=True).exists()
    # one active seal row per household of the building; the gate still refuses the unit's households
    active = SealedHousehold.objects.filter(active=True)
    assert sorted(active.values_list("household_id", flat=True)) == sorted(
        Household.objects.filter(building=health.household.building).values_list("pk", flat=True)
    )
    assert all(row.seal_id == building.pk for row in active)
    assert set(HouseholdHold.objects.filter(released_at__isnull=True).values_list("reason", flat=True)) == {"sealed"}
    assert HouseholdHold.objects.filter(released_at__isnull=True).count() == 6
    # nobody is monitored or tested twice: the unit's people keep their rows (now twice a day), the
    # other unit's get new ones
    people = set(Person.objects.filter(household__building=health.household.building).values_list("pk", flat=True))
    rows = list(Monitoring.objects.all())
    assert sorted(m.person_id for m in rows) == sorted(people)
    assert {(m.seal_id, m.reports_per_day) for m in rows} == {(building.pk, 2)}
    assert {m.starts_on for m in rows if m.person_id in unit_people} == {day(20)}
    assert {m.starts_on for m in rows if m.person_id not in unit_people} == {day(21)}
    tasks = list(TestTask.objects.all())
    assert sorted(t.person_id for t in tasks) == sorted(people)
    assert {t.seal_id for t in tasks} == {building.pk}
    assert TestTask.objects.get(pk=tested.pk).result == "negative"
    # the chase list asks each person once per slot
    worker = health.personas.community_worker
    assert selectors.chase_list(worker, day(22), 1).count() == len(people) == 12
    assert selectors.chase_list(worker, day(22), 2).count() == 12
    # the building's unseal waits for the unit's carried tests as well as its own
    assert services.unseal_blockers(building) == ["还有 11 人的核酸检测没有结果"]


def test_sealing_a_unit_around_a_sealed_household_merges_it(health: Health) -> None:
    household = services.seal_create(level=SealLevel.HOUSEHOLD, target=health.household, actor=None, now=at(20, 10))
    assert Monitoring.objects.filter(seal=household).count() == 2

    unit = seal_unit(health, at(21, 10))

    household.refresh_from_db()
    assert not household.is_active and household.unseal_note.startswith("并入1号楼1单元（单元封控")
    assert Monitoring.objects.filter(seal=unit).count() == TestTask.objects.filter(seal=unit).count() == 6
    assert Monitoring.objects.count() == TestTask.objects.count() == 6
    assert SealedHousehold.objects.filter(active=True).count() == 3


def test_seal_report_counts_come_from_the_street_settings_and_stay_with_the_seal(health: Health) -> None:
    street = health.personas.tree.street
    rules.settings_update(street, actor=None, unit_seal_reports_per_day=2, building_seal_reports_per_day=1)

    seal = seal_unit(health)

    assert seal.reports_per_day == 2
    assert {m.reports_per_day for m in Monitoring.objects.filter(seal=seal)} == {2}
    # A later change does not change a seal already made.
    rules.settings_update(street, actor=None, unit_seal_reports_per_day=1)
    seal.refresh_from_db()
    assert seal.reports_per_day == 2
    other = services.seal_create(level=SealLevel.BUILDING, target=health.personas.tree.b2, actor=None, now=at(20, 10))
    assert other.reports_per_day == 1
    assert {m.reports_per_day for m in Monitoring.objects.filter(seal=other)} == {1}
