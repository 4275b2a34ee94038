"""Sealing and unsealing (H7)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.audit.models import AuditAction
from linli.audit.services import audit_record
from linli.health import rules
from linli.health.choices import (
    MonitorSource,
    SealLevel,
    TestResult,
)
from linli.health.models import (
    Case,
    Monitoring,
    Seal,
    SealedHousehold,
    TestTask,
)
from linli.health.services._common import _actor, _monitoring_stop, _now, _placed
from linli.health.services.cases import status_of
from linli.health.services.holds import sync_household_holds
from linli.lib.wording import listed
from linli.registry.models import Building, Community, Household, Person, Unit
from linli.supplies.services.delivery import households_sealed

# ----------------------------------------------------------------------------------------------
# Sealing (H7)


@dataclass(frozen=True)
class SealSuggestion:
    level: str
    unit: Unit | None
    building: Building | None
    cases: tuple[Case, ...]
    reason: str


def seal_suggestions(community: Community, *, now: datetime.datetime | None = None) -> list[SealSuggestion]:
    """Units (or buildings) to seal, from the confirmed cases of the status window not yet sealed (H7).

    A case's unit is suggested; when cases live in two or more units of one building, the building.
    """
    finding = status_of(community, now=now)
    sealed_units = set(
        Seal.objects.filter(community_id=community.pk, unsealed_at__isnull=True, level=SealLevel.UNIT).values_list(
            "unit_id", flat=True
        )
    )
    sealed_buildings = set(
        Seal.objects.filter(community_id=community.pk, unsealed_at__isnull=True, level=SealLevel.BUILDING).values_list(
            "building_id", flat=True
        )
    )
    by_building: dict[int, dict[int, list[Case]]] = {}
    for case in finding.cases:
        if case.household is None:
            continue
        by_building.setdefault(case.household.building_id, {}).setdefault(case.household.unit_id, []).append(case)
    suggestions = []
    for building_id, units in by_building.items():
        if building_id in sealed_buildings:
            continue
        if len(units) >= 2:
            building = Building.objects.get(pk=building_id)
            cases = tuple(c for group in units.values() for c in group)
            suggestions.append(
                SealSuggestion(
                    SealLevel.BUILDING,
                    None,
                    building,
                    cases,
                    _("%(building)s 有 %(n)s 个单元出现病例") % {"building": building.name, "n": len(units)},
                )
            )
            continue
        for unit_id, cases_in_unit in units.items():
            if unit_id in sealed_units:
                continue
            unit = Unit.objects.select_related("building").get(pk=unit_id)
            suggestions.append(
                SealSuggestion(
                    SealLevel.UNIT,
                    unit,
                    unit.building,
                    tuple(cases_in_unit),
                    _("%(unit)s 出现确诊病例") % {"unit": f"{unit.building.name}{unit.name}"},
                )
            )
    return suggestions


# What each seal level seals.
SEAL_TARGETS: dict[SealLevel, type[Household] | type[Unit] | type[Building]] = {
    SealLevel.HOUSEHOLD: Household,
    SealLevel.UNIT: Unit,
    SealLevel.BUILDING: Building,
}


def _seal_households(level: str, target: Household | Unit | Building) -> list[Household]:
    if level == SealLevel.HOUSEHOLD:
        return [target]  # type: ignore[list-item]
    lookup = "unit" if level == SealLevel.UNIT else "building"
    return list(Household.objects.filter(**{lookup: target}).order_by("pk"))


def _seal_place(level: str, target: Household | Unit | Building) -> tuple[int, int | None, int | None]:
    """The (building, unit, household) ids a seal of ``level`` on ``target`` covers (None: all of it)."""
    if level == SealLevel.HOUSEHOLD:
        return target.building_id, target.unit_id, target.pk  # type: ignore[union-attr]
    if level == SealLevel.UNIT:
        return target.building_id, target.pk, None  # type: ignore[union-attr]
    return target.pk, None, None


def seal_label(seal: Seal) -> str:
    """What a seal seals, as a worker names it: "3号楼1单元（单元封控，11-20 10:10 起）"."""
    if seal.level == SealLevel.HOUSEHOLD and seal.household is not None:
        place = seal.household.address
    elif seal.level == SealLevel.UNIT and seal.unit is not None:
        place = f"{seal.building.name}{seal.unit.name}"
    else:
        place = seal.building.name
    return _("%(place)s（%(level)s封控，%(since)s 起）") % {
        "place": place,
        "level": seal.get_level_display(),
        "since": timezone.localtime(seal.sealed_at).strftime("%m-%d %H:%M"),
    }


def seal_create(
    *,
    level: str,
    target: Household | Unit | Building,
    actor: Any,
    case: Case | None = None,
    reason: str = "",
    now: datetime.datetime | None = None,
) -> Seal:
    """Seal a household, unit or building (H7), confirmed by ``actor``.

    Every household in it: passes held (the gate refuses "封控"), flagged for contactless supplies,
    every member tested today and reporting a temperature as often as the street's settings say for
    the level (H3: once a day in a sealed unit, twice in a sealed building); disinfection twice a day.

    A household is in one active seal at a time. A target already inside an active seal (the same
    one, or a unit of a sealed building, a household of a sealed unit …) is refused, naming that seal.
    Sealing around active seals (a building with a sealed unit) merges them into the new one: they
    end with a note, and their temperature rows and tests carry over — nobody is monitored or tested
    twice, and the new seal's unseal waits for the carried tests too.
    """
    moment = _now(now)
    today = timezone.localdate(moment)
    if level not in SealLevel.values:
        raise ValidationError({"level": _("请选择封控范围")})
    kind = SEAL_TARGETS[SealLevel(level)]
    if not isinstance(target, kind):
        raise ValidationError({"target": _("封控对象与封控范围不符")})
    building_id, unit_id, household_id = _seal_place(level, target)
    with transaction.atomic():
        # Every seal of a building's households queues on the building's row, whatever its level:
        # a unit and its building confirmed at the same moment must see each other (a lock on the
        # active seals would lock nothing while there are none).
        Building.objects.select_for_update().filter(pk=building_id).exists()
        active = Seal.objects.filter(unsealed_at__isnull=True).select_related("building", "unit", "household")
        covers = Q(level=SealLevel.BUILDING, building_id=building_id)
        if unit_id is not None:
            covers |= Q(level=SealLevel.UNIT, unit_id=unit_id)
        if household_id is not None:
            covers |= Q(level=SealLevel.HOUSEHOLD, household_id=household_id)
        covering = active.filter(covers).order_by("sealed_at", "pk").first()
        if covering is not None:
            if covering.level == level:
                raise ValidationError(_("该范围已在封控中"))
            raise ValidationError(
                _("该%(level)s已在%(seal)s的封控范围内，无需重复封控")
                % {"level": SealLevel(level).label, "seal": seal_label(covering)}
            )
        households = _seal_households(level, target)
        if not households:
            raise ValidationError(_("该范围内没有住户"))
        first = households[0]
        settings = rules.settings_for(first.street_id)
        seal = Seal.objects.create(
            street_id=first.street_id,
            community_id=first.community_id,
            grid_id=first.grid_id,
            compound_id=first.compound_id,
            building_id=first.building_id,
            level=level,
            unit_id=first.unit_id if level in (SealLevel.UNIT, SealLevel.HOUSEHOLD) else None,
            household=first if level == SealLevel.HOUSEHOLD else None,
            case=case,
            reason=reason,
            reports_per_day=settings.seal_reports_per_day(level),
            sealed_at=moment,
            sealed_by=_actor(actor),
        )
        merged = _seals_merge(seal, level=level, building_id=building_id, unit_id=unit_id, actor=actor, now=moment)
        SealedHousehold.objects.bulk_create([SealedHousehold(seal=seal, **_placed(h)) for h in households])
        everyone = list(Person.objects.filter(household__in=households).select_related("household"))
        # The unit's cases are in hospital and already positive: the seal neither tests nor chases
        # them (a positive seal test of theirs would keep the unit sealed for ever).
        window = settings.status_window_days
        cases = set(
            Case.objects.filter(
                person_id__in=[p.pk for p in everyone], confirmed_on__gt=today - datetime.timedelta(days=window)
            ).values_list("person_id", flat=True)
        )
        if case is not None and case.person_id:
            cases.add(case.person_id)
        members = [p for p in everyone if p.pk not in cases]
        # People of a merged seal keep their rows, now the new seal's.
        monitored = set(Monitoring.objects.filter(seal=seal).values_list("person_id", flat=True))
        tested = set(TestTask.objects.filter(seal=seal).values_list("person_id", flat=True))
        Monitoring.objects.bulk_create(
            [
                Monitoring(
                    person=p,
                    source=MonitorSource.SEAL,
                    seal=seal,
                    starts_on=today,
                    reports_per_day=seal.reports_per_day,
                    **_placed(p.household),
                )
                for p in members
                if p.pk not in monitored
            ]
        )
        TestTask.objects.bulk_create(
            [
                TestTask(person=p, seal=seal, sequence=1, due_on=today, **_placed(p.household))
                for p in members
                if p.pk not in tested
            ]
        )
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=seal,
            changes={
                "level": level,
                "target": target.pk,
                "households": len(households),
                "people": len(members),
                "cases": len(cases),
                "reports_per_day": seal.reports_per_day,
                "merged": [inner.pk for inner in merged],
            },
            street_id=first.street_id,
            community_id=first.community_id,
        )
        for household in households:
            sync_household_holds(household, actor=actor)
        households_sealed([household.pk for household in households])  # orders and bags from before the seal
    return seal


def _seals_merge(
    seal: Seal, *, level: str, building_id: int, unit_id: int | None, actor: Any, now: datetime.datetime
) -> list[Seal]:
    """End the active seals inside the new ``seal`` into it; their rows of people carry over."""
    if level == SealLevel.BUILDING:
        inside = Q(building_id=building_id, level__in=[SealLevel.UNIT, SealLevel.HOUSEHOLD])
    elif level == SealLevel.UNIT:
        inside = Q(unit_id=unit_id, level=SealLevel.HOUSEHOLD)
    else:
        return []
    inner_seals = list(Seal.objects.select_for_update().filter(inside, unsealed_at__isnull=True).order_by("pk"))
    if not inner_seals:
        return []
    note = (_("并入%(seal)s") % {"seal": seal_label(seal)})[:200]
    for inner in inner_seals:
        inner.unsealed_at = now
        inner.unsealed_by = _actor(actor)
        inner.unseal_note = note
        inner.save(update_fields=["unsealed_at", "unsealed_by", "unseal_note"])
        inner.households.update(active=False)
        Monitoring.objects.filter(seal=inner).filter(
            Q(ends_on__isnull=True) | Q(ends_on__gte=timezone.localdate(now))
        ).update(seal=seal, reports_per_day=seal.reports_per_day)
        TestTask.objects.filter(seal=inner).update(seal=seal)
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=inner,
            changes={"unsealed": now.isoformat(), "merged_into": seal.pk, "note": note},
            street_id=inner.street_id,
            community_id=inner.community_id,
        )
    return inner_seals


# The conditions an unseal is recorded with (H7): the worker ticks each; all are required.
UNSEAL_CONDITIONS: dict[str, Any] = {
    "tested": gettext_lazy("封控范围内人员核酸检测均为阴性"),
    "no_new_case": gettext_lazy("封控期间无新增病例"),
    "disinfected": gettext_lazy("已完成终末消毒"),
}


def unseal_blockers(seal: Seal) -> list[str]:
    reasons = []
    if seal.unsealed_at is not None:
        return [_("已解封")]
    tests = TestTask.objects.filter(seal=seal)
    pending = tests.filter(result=TestResult.PENDING).count()
    if pending:
        reasons.append(_("还有 %(n)s 人的核酸检测没有结果") % {"n": pending})
    if tests.filter(result=TestResult.POSITIVE).exists():
        reasons.append(_("封控范围内有核酸阳性人员"))
    return reasons


def seal_release(
    seal: Seal, *, conditions: dict[str, bool], actor: Any, note: str = "", now: datetime.datetime | None = None
) -> Seal:
    """Unseal with every condition confirmed and recorded; holds and daily reports end."""
    moment = _now(now)
    missing = [str(label) for key, label in UNSEAL_CONDITIONS.items() if not conditions.get(key)]
    with transaction.atomic():
        seal = Seal.objects.select_for_update().get(pk=seal.pk)
        blockers = unseal_blockers(seal)
        if missing:
            blockers.append(_("未确认：%(items)s") % {"items": listed(missing)})
        if blockers:
            raise ValidationError(blockers)
        seal.unsealed_at = moment
        seal.unsealed_by = _actor(actor)
        seal.unseal_conditions = {key: bool(conditions.get(key)) for key in UNSEAL_CONDITIONS}
        seal.unseal_note = (note or "").strip()[:200]
        seal.save(update_fields=["unsealed_at", "unsealed_by", "unseal_conditions", "unseal_note"])
        households = list(Household.objects.filter(pk__in=seal.households.values("household_id")))
        seal.households.update(active=False)
        _monitoring_stop(Monitoring.objects.filter(seal=seal), timezone.localdate(moment))
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=seal,
            changes={"unsealed": moment.isoformat(), "note": seal.unseal_note},
            street_id=seal.street_id,
            community_id=seal.community_id,
        )
        for household in households:
            sync_household_holds(household, actor=actor)
    return seal
