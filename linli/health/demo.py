"""The demo street's health work (SPEC H1–H9), written through the services as the demo accounts.

The street's risk areas and an isolation site; in the demo accounts' compound (the gate guard's),
returnees of each kind with their orders and today's temperatures — one report missing, one fever
escalation half done — and one returnee released yesterday by two signatures; one confirmed case
with its close contacts, epidemic points and its sealed unit (in that compound when it has a unit
without the resident's household, else elsewhere in the community), and the property's emergency
level 1. The resident account's household is left free, so that the demo resident can still go
out. Every write goes through the services and is audited as the demo account that made it.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils import timezone

from linli.accounts.choices import Role
from linli.health import rules, services
from linli.health.choices import (
    CaseKind,
    CaseSource,
    Category,
    ContactKind,
    EmergencyLevel,
    EscalationStatus,
    EscalationStep,
    OrderStatus,
    Place,
    PointKind,
    RiskLevel,
    SealLevel,
    TestResult,
    Zone,
)
from linli.health.models import FeverEscalation, Monitoring, QuarantineOrder, TemperatureReport, TestTask
from linli.registry.models import Compound, Household, Person, Street, Unit

# Made-up places: a demo must not say that a real county has a risk area.
HIGH_COUNTY = "江北省云山市青石区"
MEDIUM_COUNTY = "南江省临川市东湖区"
ENDED_COUNTY = "西岭省安平县"
OTHER_PROVINCE = "东海省望海市"


@dataclass
class HealthSeed:
    risk_areas: int = 0
    key_persons: int = 0
    orders: int = 0
    reports: int = 0
    escalations: int = 0
    cases: int = 0
    contacts: int = 0
    seals: int = 0
    sealed_households: int = 0
    released: int = 0
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "health_key_persons": self.key_persons,
            "health_orders": self.orders,
            "health_reports": self.reports,
            "health_cases": self.cases,
            "health_sealed_households": self.sealed_households,
        }


@dataclass
class Actors:
    commander: Any
    worker: Any
    grid_worker: Any
    medic: Any


def _actors(accounts: Sequence[Any]) -> Actors | None:
    by_role: dict[str, Any] = {}
    for user in accounts:
        by_role.setdefault(user.role, user)
    needed = (Role.STREET_COMMAND, Role.COMMUNITY_WORKER, Role.GRID_WORKER, Role.MEDIC)
    if any(role not in by_role for role in needed):
        return None
    return Actors(*(by_role[role] for role in needed))


class Clock:
    """Moments of the demo: days back from ``now``'s date at a time of day, never after ``now``."""

    def __init__(self, now: datetime.datetime) -> None:
        self.now = now
        self.today = timezone.localdate(now)

    def day(self, back: int) -> datetime.date:
        return self.today - datetime.timedelta(days=back)

    def at(self, back: int, hour: int, minute: int = 0) -> datetime.datetime:
        moment = timezone.make_aware(datetime.datetime.combine(self.day(back), datetime.time(hour, minute)))
        return min(moment, self.now)


def seed_health(
    street: Street,
    *,
    compound: Compound | None,
    accounts: Sequence[Any],
    keep_free: set[int],
    rng: random.Random,
    now: datetime.datetime,
    say: Callable[[str], None] = lambda message: None,
) -> HealthSeed:
    """The health demo in ``compound``; nothing when the compound or a needed account is missing."""
    result = HealthSeed()
    actors = _actors(accounts)
    if compound is None or actors is None:
        return result
    clock = Clock(now)
    _risk_areas(street, actors, clock, result)
    site = services.isolation_site_add(
        street=street,
        name="和平宾馆集中隔离点",
        address="和平路 88 号",
        rooms=120,
        phone="02150000120",
        actor=actors.commander,
    )

    households = list(Household.objects.filter(compound=compound).exclude(pk__in=keep_free).order_by("pk"))
    members: dict[int, list[Person]] = {}
    for person in Person.objects.filter(household__in=households).select_related("household").order_by("pk"):
        members.setdefault(person.household_id, []).append(person)
    households = [h for h in households if h.pk in members]
    seal_unit = _seal_unit(compound, keep_free, rng)
    others = [h for h in households if seal_unit is None or h.unit_id != seal_unit.pk]
    rng.shuffle(others)
    people = [members[h.pk][0] for h in others]

    missing = _returnees(people[:6], actors, clock, site, result)
    if seal_unit is not None:
        _case_and_seal(seal_unit, people[6:7], actors, clock, site, result)
    _today_reports(street, compound.community_id, actors, clock, missing, result)
    say(
        f"健康监测：重点人员 {result.key_persons} 人，隔离 {result.orders} 人，"
        f"病例 {result.cases} 例，封控 {result.sealed_households} 户"
    )
    return result


def _risk_areas(street: Street, actors: Actors, clock: Clock, result: HealthSeed) -> None:
    areas = (
        (HIGH_COUNTY, "青石区金桥街道", RiskLevel.HIGH, Zone.SEALED, 6, None),
        (MEDIUM_COUNTY, "东湖区望江社区", RiskLevel.MEDIUM, Zone.CONTROLLED, 12, None),
        (ENDED_COUNTY, "安平县城关镇", RiskLevel.MEDIUM, Zone.CONTROLLED, 40, 20),
    )
    for county, name, level, zone, started, ended in areas:
        rules.risk_area_add(
            street=street,
            province=county[:3],
            county=county,
            name=name,
            level=level,
            zone=zone,
            starts_on=clock.day(started),
            ends_on=clock.day(ended) if ended is not None else None,
            actor=actors.commander,
        )
        result.risk_areas += 1


def _seal_unit(compound: Compound, keep_free: set[int], rng: random.Random) -> Unit | None:
    """A unit with two or more households and none of the kept-free ones: in ``compound`` when it
    has one (the demo guard then meets sealed households), else elsewhere in its community."""
    rows = Household.objects.filter(community_id=compound.community_id, members__isnull=False).values_list(
        "unit_id", "compound_id", "pk"
    )
    households: dict[int, set[int]] = {}
    where: dict[int, int] = {}
    for unit_id, compound_id, pk in rows:
        households.setdefault(unit_id, set()).add(pk)
        where[unit_id] = compound_id
    blocked = set(Household.objects.filter(pk__in=keep_free).values_list("unit_id", flat=True))
    eligible = sorted(unit for unit, found in households.items() if len(found) >= 2 and unit not in blocked)
    inside = [unit for unit in eligible if where[unit] == compound.pk]
    if not (inside or eligible):
        return None
    return Unit.objects.select_related("building", "compound").get(pk=rng.choice(inside or eligible))


def _register(
    person: Person,
    actors: Actors,
    clock: Clock,
    result: HealthSeed,
    *,
    arrived: int,
    category: str | None = None,
    origin: str = "",
    **extra: Any,
) -> services.Registration:
    registration = services.key_person_register(
        person,
        category=category,
        origin=origin,
        arrived_on=clock.day(arrived),
        actor=actors.worker,
        now=clock.at(arrived, 14),
        **extra,
    )
    result.key_persons += 1
    result.orders += registration.order is not None
    return registration


def _report(
    person: Person, actor: Any, moment: datetime.datetime, result: HealthSeed, value: str = "36.5", **extra: Any
) -> services.ReportOutcome:
    outcome = services.temperature_report(person, temperature=value, actor=actor, now=moment, **extra)
    result.reports += 1
    result.escalations += outcome.escalation is not None and not outcome.updated
    return outcome


def _yesterday(person: Person, actor: Any, clock: Clock, result: HealthSeed, value: str = "36.4") -> None:
    _report(person, actor, clock.at(1, 8, 50), result, value, date=clock.day(1), slot=1)
    _report(person, actor, clock.at(1, 15, 10), result, value, date=clock.day(1), slot=2)


def _negatives_due(order: QuarantineOrder | None, actor: Any, clock: Clock) -> None:
    """Results for the order's tests due before today (today's are still being taken)."""
    if order is None:
        return
    for task in TestTask.objects.filter(order=order, due_on__lt=clock.today, result=TestResult.PENDING):
        back = (clock.today - task.due_on).days
        services.test_result_record(task, result=TestResult.NEGATIVE, actor=actor, now=clock.at(back, 18))


def _returnees(people: list[Person], actors: Actors, clock: Clock, site: Any, result: HealthSeed) -> list[int]:
    """Up to six returnees, one of each kind; the ids of those whose report today is to stay missing."""
    missing: list[int] = []

    def medium(person: Person) -> None:
        # Classified from the origin: the county has a medium-risk area (H1). Home isolation holds the pass.
        order = _register(person, actors, clock, result, arrived=5, origin=MEDIUM_COUNTY + "望江路 12 号").order
        _negatives_due(order, actors.medic, clock)
        _yesterday(person, actors.grid_worker, clock, result)

    def high(person: Person) -> None:
        # High-risk: 14 days at the isolation site, three tests; the site's medic reports for them.
        registration = _register(person, actors, clock, result, arrived=3, origin=HIGH_COUNTY, site=site, room="305")
        _negatives_due(registration.order, actors.medic, clock)
        _yesterday(person, actors.medic, clock, result, "36.7")

    def other_province(person: Person) -> None:
        # 7 days home observation; no report yet today: on the chase list.
        _register(person, actors, clock, result, arrived=2, category=Category.OTHER_PROVINCE, origin=OTHER_PROVINCE)
        _yesterday(person, actors.grid_worker, clock, result)
        missing.append(person.pk)

    def monitored_with_fever(person: Person) -> None:
        # Home health monitoring; today's 38.2 opened the fever escalation, half of its steps done.
        registration = _register(
            person, actors, clock, result, arrived=8, category=Category.RETURNEE_MONITORING, origin=OTHER_PROVINCE
        )
        _negatives_due(registration.order, actors.medic, clock)
        _yesterday(person, actors.grid_worker, clock, result)
        outcome = _report(person, actors.grid_worker, clock.at(0, 9, 5), result, "38.2", symptoms=["cough"])
        if outcome.escalation is None:
            return
        done = (
            (EscalationStep.COMMUNITY_NOTIFIED, actors.worker, 8, "网格员电话报告"),
            (EscalationStep.STREET_INFORMED, actors.worker, 15, "已报街道指挥部"),
            (EscalationStep.CENTRE_INFORMED, actors.worker, 20, "已报社区卫生服务中心"),
        )
        for step, actor, minutes, note in done:
            moment = min(outcome.report.reported_at + datetime.timedelta(minutes=minutes), clock.now)
            services.escalation_step_done(outcome.escalation, step=step, actor=actor, note=note, now=moment)

    def low(person: Person) -> None:
        # The area in this county ended 20 days ago: a low-risk returnee, a negative test on arrival.
        registration = _register(person, actors, clock, result, arrived=1, origin=ENDED_COUNTY)
        for task in registration.tests:
            services.test_result_record(task, result=TestResult.NEGATIVE, actor=actors.medic, now=clock.at(1, 17))

    def released(person: Person) -> None:
        # Arrived 15 days ago from the medium-risk county: released yesterday by the cadre and the medic.
        order = _register(
            person, actors, clock, result, arrived=15, category=Category.MEDIUM_RISK_RETURNEE, origin=MEDIUM_COUNTY
        ).order
        if order is None:
            return
        _negatives_due(order, actors.medic, clock)
        _report(person, actors.grid_worker, clock.at(1, 8, 45), result, "36.3", date=clock.day(1), slot=1)
        if services.release_blockers(order, now=clock.at(1, 10)):
            return
        services.release_sign(order, actor=actors.worker, now=clock.at(1, 10))
        result.released += services.release_sign(order, actor=actors.medic, now=clock.at(1, 10, 5)).released

    steps = [medium, high, other_province, monitored_with_fever, low, released]
    for person, step in zip(people, steps, strict=False):
        step(person)
    return missing


def _today_reports(
    street: Street, community_id: int, actors: Actors, clock: Clock, missing: list[int], result: HealthSeed
) -> None:
    """Today's slots that have begun, for everyone monitored in the community but ``missing``.

    The grid worker reports for people at home (代报), the site's medic for people in centralized
    isolation. A slot begins at its time; the morning's is open from midnight.
    """
    clock_settings = rules.settings_for(street)
    slots = [(1, clock.at(0, 8, 55))]
    afternoon = timezone.make_aware(datetime.datetime.combine(clock.today, clock_settings.afternoon_slot))
    if clock.now >= afternoon + datetime.timedelta(minutes=10):
        slots.append((2, afternoon + datetime.timedelta(minutes=10)))
    at_site = set(
        QuarantineOrder.objects.filter(
            community_id=community_id, status=OrderStatus.ACTIVE, place=Place.CENTRALIZED
        ).values_list("person_id", flat=True)
    )
    feverish = set(
        FeverEscalation.objects.filter(community_id=community_id, status=EscalationStatus.OPEN).values_list(
            "person_id", flat=True
        )
    )
    for slot, moment in slots:
        due = (
            Monitoring.objects.filter(
                Q(ends_on__isnull=True) | Q(ends_on__gte=clock.today),
                starts_on__lte=clock.today,
                reports_per_day__gte=slot,
                community_id=community_id,
            )
            .exclude(person_id__in=missing)
            .exclude(person_id__in=TemperatureReport.objects.filter(date=clock.today, slot=slot).values("person_id"))
            .select_related("person__household")
            .order_by("person_id")
        )
        seen: set[int] = set()
        for monitoring in due:
            person = monitoring.person
            if person.pk in seen:
                continue
            seen.add(person.pk)
            actor = actors.medic if person.pk in at_site else actors.grid_worker
            value = "37.9" if person.pk in feverish else f"36.{rng_digit(person.pk, slot)}"
            _report(person, actor, moment, result, value, date=clock.today, slot=slot)


def rng_digit(person_id: int, slot: int) -> int:
    """A normal reading's tenth, the same for a person and slot on every seed: 36.2 … 36.8."""
    return 2 + (person_id * 7 + slot * 3) % 7


def _case_and_seal(
    unit: Unit,
    outside: list[Person],
    actors: Actors,
    clock: Clock,
    site: Any,
    result: HealthSeed,
) -> None:
    """A confirmed case in ``unit``: its close contacts, epidemic points, the unit sealed (H5–H8)."""
    home = Household.objects.filter(unit=unit, members__isnull=False).order_by("pk").first()
    if home is None:
        return
    patient, *family = list(Person.objects.filter(household=home).select_related("household").order_by("pk"))
    compound = unit.compound
    case = services.case_record(
        community=home.community,
        name=patient.name,
        kind=CaseKind.CONFIRMED,
        confirmed_on=clock.day(1),
        onset_date=clock.day(3),
        isolated_on=clock.day(1),
        source=CaseSource.KNOWN,
        source_note=f"{HIGH_COUNTY[3:]}旅居史",
        person=patient,
        address=f"{unit.building.name}{unit.name}{home.room}",
        actor=actors.medic,
        now=clock.at(1, 20),
    )
    result.cases += 1
    for person in family[:2]:
        services.contact_add(
            case,
            person=person,
            kind=ContactKind.HOME,
            last_contact_on=clock.day(1),
            site=site,
            actor=actors.medic,
            now=clock.at(1, 21),
        )
        result.contacts += 1
    for person in outside:
        services.contact_add(
            case,
            person=person,
            kind=ContactKind.WORK,
            last_contact_on=clock.day(2),
            site=site,
            actor=actors.medic,
            now=clock.at(1, 21),
        )
        result.contacts += 1
    services.point_add(
        case,
        kind=PointKind.HOUSEHOLD,
        place=case.address,
        household=home,
        visited_on=clock.day(2),
        hours="20",
        actor=actors.medic,
        now=clock.at(1, 21),
    )
    services.point_add(
        case,
        kind=PointKind.OTHER,
        place="和平菜市场",
        visited_on=clock.day(3),
        hours="1.5",
        note="上午采购，未全程佩戴口罩",
        actor=actors.medic,
        now=clock.at(1, 21),
    )
    seal = services.seal_create(
        level=SealLevel.UNIT,
        target=unit,
        case=case,
        reason="单元内出现确诊病例，实行硬隔离",
        actor=actors.worker,
        now=clock.at(1, 22),
    )
    result.seals += 1
    result.sealed_households = seal.households.count()
    # The unit was tested this morning; half of the results are in.
    tasks = list(TestTask.objects.filter(seal=seal).order_by("pk"))
    for task in tasks[: len(tasks) // 2]:
        if task.person_id != patient.pk:
            services.test_result_record(task, result=TestResult.NEGATIVE, actor=actors.medic, now=clock.at(0, 8, 30))
    # A case inside the property: level 1 (H8).
    services.emergency_set(
        community=home.community,
        company=compound.property_company or compound.name,
        level=EmergencyLevel.LEVEL_1,
        actor=actors.worker,
        now=clock.at(1, 22),
    )
