"""What the health module does (SPEC H1–H8): every write goes through here, in one transaction.

Refusals are ``ValidationError`` with a message in the user's language (field-keyed where a form
field is to blame). Clocks are parameters (``now``/``today``) so that tests control them; callers
pass nothing and get the current time.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.accounts.choices import Role
from linli.audit.models import AuditAction
from linli.audit.services import audit_record
from linli.gate.choices import HoldReason
from linli.gate.models import HouseholdHold
from linli.gate.services import hold_release, hold_set
from linli.health import rules
from linli.health.choices import (
    ESCALATION_ORDER,
    HOME_PLACES,
    CaseKind,
    CaseSource,
    Category,
    CommunityStatus,
    ContactKind,
    EmergencyLevel,
    EscalationStatus,
    EscalationStep,
    MonitorSource,
    OrderStatus,
    Place,
    PointKind,
    SealLevel,
    Symptom,
    TestResult,
)
from linli.health.models import (
    Case,
    CloseContact,
    EpidemicPoint,
    EscalationStepRecord,
    FeverEscalation,
    IsolationSite,
    KeyPerson,
    Monitoring,
    OrderExtension,
    PropertyEmergency,
    QuarantineOrder,
    ReleaseSignature,
    Seal,
    SealedHousehold,
    StatusRecord,
    TemperatureReport,
    TestTask,
    household_kwargs,
)
from linli.registry.models import Building, Community, Household, Person, Unit

# The two signatures a release needs (H4): the responsible cadre and the responsible medic.
CADRE_ROLES = frozenset({Role.COMMUNITY_WORKER, Role.STREET_COMMAND})
MEDIC_ROLES = frozenset({Role.MEDIC})
SIGN_CADRE = "cadre"
SIGN_MEDIC = "medic"


def _now(now: datetime.datetime | None) -> datetime.datetime:
    return now or timezone.now()


def _today(now: datetime.datetime | None) -> datetime.date:
    return timezone.localdate(_now(now))


def _actor(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def _placed(household: Household) -> dict[str, Any]:
    """A record's placement fields, with the household itself (so that the audit need not fetch it)."""
    placed = household_kwargs(household)
    del placed["household_id"]
    return {**placed, "household": household}


def _household(person: Person) -> Household:
    household = person.household
    return household


# ----------------------------------------------------------------------------------------------
# Isolation sites (H2: centralized isolation)


def isolation_site_add(
    *, street: Any, name: str, actor: Any, address: str = "", rooms: int = 0, phone: str = ""
) -> IsolationSite:
    """Add a centralized isolation site to the street's list; audited."""
    site = IsolationSite(
        street_id=getattr(street, "pk", street),
        name=(name or "").strip(),
        address=(address or "").strip(),
        rooms=rooms,
        phone=(phone or "").strip(),
    )
    site.full_clean()
    with transaction.atomic():
        site.save()
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=site,
            changes={"name": site.name, "rooms": rooms},
            street_id=site.street_id,
        )
    return site


# ----------------------------------------------------------------------------------------------
# Key persons (H1) and quarantine orders (H2)


@dataclass
class Registration:
    key_person: KeyPerson
    order: QuarantineOrder | None
    finding: rules.RiskFinding | None = None
    tests: list[TestTask] = field(default_factory=list)


def key_person_register(
    person: Person,
    *,
    category: str | None,
    actor: Any,
    origin: str = "",
    arrived_on: datetime.date | None = None,
    note: str = "",
    case: Case | None = None,
    site: IsolationSite | None = None,
    room: str = "",
    start_order: bool = True,
    starts_on: datetime.date | None = None,
    now: datetime.datetime | None = None,
) -> Registration:
    """Register a key person and apply the street's rule for the category (H1, H2).

    ``category=None`` classifies a returnee from ``origin`` and the person's travel records against
    the street's risk areas (H1): high/medium/low-risk returnee. When the rule has days, an order
    starts at once: on ``starts_on`` when given (a close contact's last contact), else on the
    arrival day when given, else today.
    """
    today = _today(now)
    household = _household(person)
    finding = None
    if arrived_on is not None and arrived_on > today:
        raise ValidationError({"arrived_on": _("到达日期不能晚于今天")})
    if starts_on is not None and starts_on > today:
        raise ValidationError({"starts_on": _("开始日期不能晚于今天")})
    if category is None:
        history: list[tuple[datetime.date | None, str]] = [(arrived_on, origin)] if origin else []
        history += [(t.date, t.place) for t in person.travel.all()]
        if not history:
            raise ValidationError({"origin": _("自动判定需要填写出发地（区县）或行程记录")})
        finding = rules.risk_of_history(household.street_id, history, today)
        category = finding.category or Category.LOW_RISK_RETURNEE
    if category not in Category.values:
        raise ValidationError({"category": _("未知的人员类别")})
    with transaction.atomic():
        Person.objects.select_for_update().filter(pk=person.pk).exists()
        if KeyPerson.objects.filter(person=person, active=True, category=category).exists():
            raise ValidationError(_("%(name)s 已登记为该类重点人员") % {"name": person.name})
        key_person = KeyPerson.objects.create(
            person=person,
            category=category,
            origin=origin,
            arrived_on=arrived_on,
            risk_level=(finding.level or "") if finding else "",
            risk_reason=finding.reason if finding else "",
            case=case,
            note=note,
            registered_by=_actor(actor),
            **_placed(household),
        )
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=key_person,
            changes={"category": category, "origin": origin},
            street_id=household.street_id,
            community_id=household.community_id,
        )
        rule = rules.rule_for(household.street_id, category)
        order = None
        tests: list[TestTask] = []
        if rule.days > 0 and start_order:
            order = order_start(
                key_person, starts_on=starts_on or arrived_on or today, actor=actor, site=site, room=room, now=now
            )
        elif rule.test_within_days:
            # Low-risk returnee: a negative test from the last N days, checked once on arrival.
            tests.append(
                TestTask.objects.create(person=person, sequence=1, due_on=arrived_on or today, **_placed(household))
            )
    return Registration(key_person=key_person, order=order, finding=finding, tests=tests)


def order_start(
    key_person: KeyPerson,
    *,
    starts_on: datetime.date,
    actor: Any,
    site: IsolationSite | None = None,
    room: str = "",
    now: datetime.datetime | None = None,
) -> QuarantineOrder:
    """Start the quarantine order the key person's rule calls for: tests, monitoring, pass hold."""
    person = key_person.person
    household = _household(person)
    rule = rules.rule_for(household.street_id, key_person.category)
    if rule.days <= 0:
        raise ValidationError(_("该类人员无需隔离"))
    if rule.place == Place.CENTRALIZED and site is not None and site.street_id != household.street_id:
        raise ValidationError({"site": _("隔离点不属于本街道")})
    with transaction.atomic():
        order = QuarantineOrder(
            person=person,
            key_person=key_person,
            category=key_person.category,
            place=rule.place,
            site=site if rule.place == Place.CENTRALIZED else None,
            room=room if rule.place == Place.CENTRALIZED else "",
            starts_on=starts_on,
            days=rule.days,
            planned_end=starts_on + datetime.timedelta(days=rule.days),
            reports_per_day=rule.reports_per_day,
            holds_pass=rule.place in HOME_PLACES,
            started_by=_actor(actor),
            **_placed(household),
        )
        try:
            with transaction.atomic():
                order.save()
        except IntegrityError:
            raise ValidationError(_("%(name)s 已有进行中的隔离医学观察") % {"name": person.name}) from None
        for sequence, day in enumerate(rule.test_days or [], start=1):
            TestTask.objects.create(
                person=person,
                order=order,
                sequence=sequence,
                due_on=starts_on + datetime.timedelta(days=day - 1),
                **_placed(household),
            )
        if order.reports_per_day:
            # From tomorrow (H3): the day of registration is not chased.
            Monitoring.objects.create(
                person=person,
                source=MonitorSource.ORDER,
                order=order,
                starts_on=max(starts_on, _today(now)) + datetime.timedelta(days=1),
                ends_on=order.planned_end,
                reports_per_day=order.reports_per_day,
                **_placed(household),
            )
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=order,
            changes={"category": order.category, "place": order.place, "days": order.days},
            street_id=household.street_id,
            community_id=household.community_id,
        )
        sync_household_holds(household, actor=actor)
    return order


def order_extend(order: QuarantineOrder, *, days: int, reason: str, actor: Any) -> OrderExtension:
    """Move the planned end later by ``days``, for a reason (tests and monitoring follow)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("请填写延期原因")})
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 60:
        raise ValidationError({"days": _("延长天数须在 1 到 60 之间")})
    with transaction.atomic():
        order = QuarantineOrder.objects.select_for_update().get(pk=order.pk)
        if order.status != OrderStatus.ACTIVE:
            raise ValidationError(_("该隔离已结束，不能延期"))
        previous = order.planned_end
        order.planned_end = previous + datetime.timedelta(days=days)
        order.days += days
        order.save(update_fields=["planned_end", "days"])
        extension = OrderExtension.objects.create(
            order=order,
            days=days,
            reason=reason,
            previous_end=previous,
            new_end=order.planned_end,
            created_by=_actor(actor),
        )
        Monitoring.objects.filter(order=order).update(ends_on=order.planned_end)
        # The new period's last day gets a test (as the rule's last test day is the period's last
        # day): a release needs a negative result taken after the reason for the extension.
        last_day = order.planned_end - datetime.timedelta(days=1)
        if not TestTask.objects.filter(order=order, due_on=last_day).exists():
            _order_test_create(order, due_on=last_day)
        # Signatures given for the old end no longer stand.
        order.signatures.all().delete()
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=order,
            changes={"planned_end": [str(previous), str(order.planned_end)], "reason": reason},
            street_id=order.street_id,
            community_id=order.community_id,
        )
    return extension


def test_result_record(task: TestTask, *, result: str, actor: Any, now: datetime.datetime | None = None) -> TestTask:
    """Record a test's result (negative / positive)."""
    if result not in (TestResult.NEGATIVE, TestResult.POSITIVE):
        raise ValidationError({"result": _("请选择阴性或阳性")})
    moment = _now(now)
    with transaction.atomic():
        task = TestTask.objects.select_for_update().get(pk=task.pk)
        before = task.result
        task.result = result
        task.result_at = moment
        task.sampled_at = task.sampled_at or moment
        task.recorded_by = _actor(actor)
        task.save(update_fields=["result", "result_at", "sampled_at", "recorded_by"])
        if task.order_id:
            # Any signature given before this result no longer stands.
            ReleaseSignature.objects.filter(order_id=task.order_id).delete()
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=task,
            changes={"result": [before, result]},
            street_id=task.street_id,
            community_id=task.community_id,
        )
    return task


def _order_test_create(order: QuarantineOrder, *, due_on: datetime.date) -> TestTask:
    sequence = (order.tests.order_by("-sequence").values_list("sequence", flat=True).first() or 0) + 1
    return TestTask.objects.create(
        person_id=order.person_id,
        order=order,
        sequence=sequence,
        due_on=due_on,
        street_id=order.street_id,
        community_id=order.community_id,
        grid_id=order.grid_id,
        compound_id=order.compound_id,
        building_id=order.building_id,
        unit_id=order.unit_id,
        household_id=order.household_id,
    )


def test_add(order: QuarantineOrder, *, due_on: datetime.date, actor: Any) -> TestTask:
    """An extra test for an active order (a release needs a negative latest test)."""
    with transaction.atomic():
        order = QuarantineOrder.objects.select_for_update().get(pk=order.pk)
        if order.status != OrderStatus.ACTIVE:
            raise ValidationError(_("该隔离已结束，不能再安排检测"))
        if due_on < order.starts_on:
            raise ValidationError({"due_on": _("检测日期不能早于隔离开始日期")})
        task = _order_test_create(order, due_on=due_on)
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=task,
            changes={"due_on": str(due_on)},
            street_id=order.street_id,
            community_id=order.community_id,
        )
    return task


# ----------------------------------------------------------------------------------------------
# Release (H4)


def release_blockers(order: QuarantineOrder, *, now: datetime.datetime | None = None) -> list[str]:
    """Why the order cannot be released yet (empty when it can, signatures aside)."""
    today = _today(now)
    reasons: list[str] = []
    if order.status != OrderStatus.ACTIVE:
        return [_("该隔离已结束")]
    if today < order.planned_end:
        left = (order.planned_end - today).days
        reasons.append(
            _("隔离期未满：%(end)s 期满，还差 %(left)s 天") % {"end": order.planned_end.isoformat(), "left": left}
        )
    latest = (
        TestTask.objects.filter(person_id=order.person_id, due_on__gte=order.starts_on)
        .exclude(result=TestResult.PENDING)
        .order_by("-result_at", "-pk")
        .first()
    )
    if latest is None:
        reasons.append(_("没有核酸检测结果，解除前须检测阴性"))
    elif latest.result != TestResult.NEGATIVE:
        reasons.append(_("最近一次核酸检测结果为阳性"))
    pending = TestTask.objects.filter(order=order, result=TestResult.PENDING, due_on__lte=today).count()
    if pending:
        reasons.append(_("还有 %(n)s 次到期的核酸检测没有结果") % {"n": pending})
    last_report = (
        TemperatureReport.objects.filter(person_id=order.person_id, date__gte=order.starts_on)
        .order_by("-date", "-slot")
        .first()
    )
    if last_report is not None and (last_report.fever or last_report.symptoms):
        reasons.append(_("最近一次健康上报有发热或症状"))
    if FeverEscalation.objects.filter(person_id=order.person_id, status=EscalationStatus.OPEN).exists():
        reasons.append(_("有未完成的发热处置"))
    return reasons


def signing_role(user: Any) -> str | None:
    role = getattr(user, "role", None)
    if role in CADRE_ROLES:
        return SIGN_CADRE
    if role in MEDIC_ROLES:
        return SIGN_MEDIC
    return None


@dataclass
class SignOutcome:
    signature: ReleaseSignature
    released: bool


def release_sign(order: QuarantineOrder, *, actor: Any, now: datetime.datetime | None = None) -> SignOutcome:
    """Sign the order's release as the cadre or the medic; the second signature releases it (H4).

    Refused, with every reason, while a condition is not met; refused for a role that cannot sign,
    for a role that has signed already, and for the same account signing twice.
    """
    role = signing_role(actor)
    if role is None:
        raise ValidationError(_("只有社区干部（责任干部）和医务人员可以签字解除隔离"))
    with transaction.atomic():
        order = QuarantineOrder.objects.select_for_update().get(pk=order.pk)
        blockers = release_blockers(order, now=now)
        if blockers:
            raise ValidationError(blockers)
        signatures = list(order.signatures.all())
        if any(s.signer_id == actor.pk for s in signatures):
            raise ValidationError(_("您已签字；解除须由责任干部和医务人员两人分别签字"))
        if any(s.role == role for s in signatures):
            raise ValidationError(
                _("已有%(role)s签字，还需要另一方签字")
                % {"role": _("责任干部") if role == SIGN_CADRE else _("医务人员")}
            )
        signature = ReleaseSignature.objects.create(order=order, signer=actor, role=role)
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=order,
            changes={"signed": role},
            street_id=order.street_id,
            community_id=order.community_id,
        )
        released = len(signatures) + 1 >= 2
        if released:
            _order_end(order, status=OrderStatus.RELEASED, actor=actor, note=_("期满解除"), now=now)
    return SignOutcome(signature=signature, released=released)


def order_end(
    order: QuarantineOrder, *, status: str, actor: Any, note: str, now: datetime.datetime | None = None
) -> QuarantineOrder:
    """End an order otherwise than by release: transferred (to hospital, a site) or cancelled."""
    if status not in (OrderStatus.TRANSFERRED, OrderStatus.CANCELLED):
        raise ValidationError(_("只能转运或撤销"))
    if not (note or "").strip():
        raise ValidationError({"note": _("请填写说明")})
    with transaction.atomic():
        order = QuarantineOrder.objects.select_for_update().get(pk=order.pk)
        if order.status != OrderStatus.ACTIVE:
            raise ValidationError(_("该隔离已结束"))
        _order_end(order, status=status, actor=actor, note=note.strip(), now=now)
    return order


def _order_end(order: QuarantineOrder, *, status: str, actor: Any, note: str, now: datetime.datetime | None) -> None:
    moment = _now(now)
    order.status = status
    order.ended_at = moment
    order.ended_by = _actor(actor)
    order.end_note = note
    order.save(update_fields=["status", "ended_at", "ended_by", "end_note"])
    _monitoring_stop(Monitoring.objects.filter(order=order), timezone.localdate(moment))
    if order.key_person_id:
        KeyPerson.objects.filter(pk=order.key_person_id).update(active=False)
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=order,
        changes={"status": [OrderStatus.ACTIVE, status], "note": note},
        street_id=order.street_id,
        community_id=order.community_id,
    )
    sync_household_holds(order.household, actor=actor)


def _monitoring_stop(monitorings: Any, today: datetime.date) -> None:
    """No report is owed from today on (today's are not chased either)."""
    yesterday = today - datetime.timedelta(days=1)
    monitorings.filter(Q(ends_on__isnull=True) | Q(ends_on__gt=yesterday)).update(ends_on=yesterday)


# The ``source`` of the gate holds this module sets and releases.
HOLD_SOURCE = "health"


def sync_household_holds(household: Household, *, actor: Any) -> None:
    """Make the household's gate holds match its orders and seals (the gate refuses with the reason).

    Home observation: held while any member has an active order at home. Sealed: held while the
    household is in an active seal. Releasing one member's order keeps the hold for another's.
    """
    home = QuarantineOrder.objects.filter(household=household, status=OrderStatus.ACTIVE, holds_pass=True).exists()
    sealed = SealedHousehold.objects.filter(household=household, active=True).exists()
    # Only holds this module set are ours to release: a hold set by hand at the gate (or an
    # imported one) stays until someone releases it there.
    ours = set(
        HouseholdHold.objects.filter(household=household, released_at__isnull=True, source=HOLD_SOURCE).values_list(
            "reason", flat=True
        )
    )
    for reason, wanted in ((HoldReason.HOME_OBSERVATION, home), (HoldReason.SEALED, sealed)):
        if wanted:
            hold_set(household=household, reason=reason, actor=actor, source=HOLD_SOURCE)
        elif reason in ours:
            hold_release(household=household, reason=reason, actor=actor)


# ----------------------------------------------------------------------------------------------
# Temperatures (H3)


def _decimal(value: Any, *, places: Decimal) -> Decimal | None:
    """``value`` as a finite decimal rounded to ``places``, or None (NaN and infinities included:
    a NaN compares by raising, not by answering False)."""
    try:
        number = Decimal(str(value).strip())
        if not number.is_finite():
            return None
        return number.quantize(places)
    except (ArithmeticError, ValueError):
        return None


def slot_for(street_id: int, moment: datetime.datetime) -> int:
    """The slot a report made at ``moment`` belongs to: afternoon from the afternoon slot's time."""
    settings = rules.settings_for(street_id)
    return 2 if timezone.localtime(moment).time() >= settings.afternoon_slot else 1


def parse_symptoms(values: Iterable[str]) -> list[str]:
    clean = sorted({v for v in values if v})
    unknown = [v for v in clean if v not in Symptom.values]
    if unknown:
        raise ValidationError({"symptoms": _("未知的症状：%(s)s") % {"s": "、".join(unknown)}})
    return clean


@dataclass
class ReportOutcome:
    report: TemperatureReport
    escalation: FeverEscalation | None
    updated: bool


def temperature_report(
    person: Person,
    *,
    temperature: Decimal | float | str,
    actor: Any,
    symptoms: Sequence[str] = (),
    date: datetime.date | None = None,
    slot: int | None = None,
    now: datetime.datetime | None = None,
) -> ReportOutcome:
    """Record a temperature for a day's slot; a reading above the threshold opens a fever escalation.

    The report is the person's own when the account is the person's household's resident account,
    otherwise a report on their behalf (代报). A second report for the same slot corrects the first
    (audited), it does not add a row.
    """
    moment = _now(now)
    household = _household(person)
    settings = rules.settings_for(household.street_id)
    value = _decimal(temperature, places=Decimal("0.1"))
    if value is None:
        raise ValidationError({"temperature": _("请填写体温，如 36.5")})
    if not Decimal("34.0") <= value <= Decimal("43.0"):
        raise ValidationError({"temperature": _("体温须在 34.0 到 43.0 ℃ 之间，请核对")})
    day = date or timezone.localdate(moment)
    if day > timezone.localdate(moment):
        raise ValidationError({"date": _("不能上报未来日期的体温")})
    the_slot = slot or slot_for(household.street_id, moment)
    if the_slot not in (1, 2):
        raise ValidationError({"slot": _("时段须为上午或下午")})
    clean = parse_symptoms(symptoms)
    fever = value > settings.fever_threshold or Symptom.FEVER in clean
    deadline = timezone.make_aware(datetime.datetime.combine(day, settings.report_deadline))
    own = getattr(actor, "household_id", None) == household.pk and getattr(actor, "role", None) == Role.RESIDENT
    with transaction.atomic():
        Person.objects.select_for_update().filter(pk=person.pk).exists()
        report = TemperatureReport.objects.filter(person=person, date=day, slot=the_slot).first()
        updated = report is not None
        before = str(report.temperature) if report else None
        if report is None:
            report = TemperatureReport(person=person, date=day, slot=the_slot, **_placed(household))
        report.temperature = value
        report.symptoms = clean
        report.fever = fever
        report.reported_at = moment
        report.reported_by = _actor(actor)
        report.by_proxy = not own
        # A correction does not change whether the slot was reported in time.
        report.late = report.late if updated else moment > deadline
        report.save()
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE if updated else AuditAction.CREATE,
            obj=report,
            changes={"temperature": [before, str(value)] if updated else str(value), "symptoms": clean},
            street_id=household.street_id,
            community_id=household.community_id,
        )
        escalation = None
        if fever:
            escalation = escalation_open(
                person, temperature=value, source=_("健康上报"), actor=actor, report=report, now=moment
            )
    return ReportOutcome(report=report, escalation=escalation, updated=updated)


# ----------------------------------------------------------------------------------------------
# Fever escalation (H3)


def escalation_open(
    person: Person,
    *,
    temperature: Decimal | None,
    source: str,
    actor: Any,
    report: TemperatureReport | None = None,
    now: datetime.datetime | None = None,
) -> FeverEscalation:
    """Open the fever escalation with its timed steps; an open one for the person is reused."""
    moment = _now(now)
    household = _household(person)
    settings = rules.settings_for(household.street_id)
    with transaction.atomic():
        # One open escalation per person: concurrent fevers of one person queue on the person's row.
        Person.objects.select_for_update().filter(pk=person.pk).exists()
        existing = FeverEscalation.objects.filter(person=person, status=EscalationStatus.OPEN).first()
        if existing is not None:
            if temperature is not None and (existing.temperature is None or temperature > existing.temperature):
                existing.temperature = temperature
                existing.save(update_fields=["temperature"])
            return existing
        escalation = FeverEscalation.objects.create(
            person=person,
            report=report,
            temperature=temperature,
            source=source[:20],
            opened_at=moment,
            opened_by=_actor(actor),
            **_placed(household),
        )
        EscalationStepRecord.objects.bulk_create(
            [
                EscalationStepRecord(
                    escalation=escalation,
                    step=step,
                    position=position,
                    due_at=moment + datetime.timedelta(minutes=settings.step_due_minutes(step)),
                )
                for position, step in enumerate(ESCALATION_ORDER, start=1)
            ]
        )
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=escalation,
            changes={"temperature": str(temperature) if temperature is not None else "", "source": source},
            street_id=household.street_id,
            community_id=household.community_id,
        )
    return escalation


# A step that must wait for another (the ambulance goes once the centre knows, and so on).
STEP_NEEDS = {
    EscalationStep.STREET_INFORMED: EscalationStep.COMMUNITY_NOTIFIED,
    EscalationStep.CENTRE_INFORMED: EscalationStep.COMMUNITY_NOTIFIED,
    EscalationStep.AMBULANCE_SENT: EscalationStep.CENTRE_INFORMED,
    EscalationStep.AT_FEVER_CLINIC: EscalationStep.AMBULANCE_SENT,
    EscalationStep.CDC_INFORMED: EscalationStep.CENTRE_INFORMED,
}


def escalation_step_done(
    escalation: FeverEscalation, *, step: str, actor: Any, note: str = "", now: datetime.datetime | None = None
) -> EscalationStepRecord:
    """Record a step as done, with the time and the person; the last step closes the escalation."""
    moment = _now(now)
    if step not in EscalationStep.values:
        raise ValidationError({"step": _("未知的处置环节")})
    with transaction.atomic():
        escalation = FeverEscalation.objects.select_for_update().get(pk=escalation.pk)
        records = {r.step: r for r in escalation.steps.select_for_update()}
        record = records[step]
        if record.done_at is not None:
            raise ValidationError(
                _("该环节已于 %(t)s 完成") % {"t": timezone.localtime(record.done_at).strftime("%m-%d %H:%M")}
            )
        needed = STEP_NEEDS.get(EscalationStep(step))
        if needed is not None and records[needed].done_at is None:
            raise ValidationError(_("请先完成“%(needed)s”") % {"needed": EscalationStep(needed).label})
        record.done_at = moment
        record.done_by = _actor(actor)
        record.note = (note or "").strip()[:200]
        record.save(update_fields=["done_at", "done_by", "note"])
        if all(r.done_at is not None for r in records.values()):
            escalation.status = EscalationStatus.CLOSED
            escalation.closed_at = moment
            escalation.save(update_fields=["status", "closed_at"])
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=escalation,
            changes={"step": step, "note": record.note},
            street_id=escalation.street_id,
            community_id=escalation.community_id,
        )
    return record


def steps_overdue(escalation: FeverEscalation, *, now: datetime.datetime | None = None) -> list[EscalationStepRecord]:
    moment = _now(now)
    return [s for s in escalation.steps.all() if s.done_at is None and s.due_at < moment]


# ----------------------------------------------------------------------------------------------
# Cases, contacts, epidemic points (H5, H6) and the community status (H5)


def case_record(
    *,
    community: Community,
    name: str,
    kind: str,
    confirmed_on: datetime.date,
    source: str,
    actor: Any,
    person: Person | None = None,
    onset_date: datetime.date | None = None,
    isolated_on: datetime.date | None = None,
    source_note: str = "",
    cluster: str = "",
    address: str = "",
    note: str = "",
    now: datetime.datetime | None = None,
) -> Case:
    """Record a case and recompute the community's status (H5)."""
    today = _today(now)
    errors: dict[str, str] = {}
    if kind not in CaseKind.values:
        errors["kind"] = _("请选择病例类型")
    if source not in CaseSource.values:
        errors["source"] = _("请选择感染来源是否明确")
    if confirmed_on > today:
        errors["confirmed_on"] = _("确诊日期不能晚于今天")
    if onset_date and onset_date > confirmed_on:
        errors["onset_date"] = _("发病日期不能晚于确诊日期")
    if person is not None and person.household.community_id != community.pk:
        errors["person"] = _("该人员不属于本社区")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        case = Case.objects.create(
            street_id=community.street_id,
            community=community,
            person=person,
            household=person.household if person else None,
            name=(name or (person.name if person else "")).strip(),
            kind=kind,
            onset_date=onset_date,
            confirmed_on=confirmed_on,
            isolated_on=isolated_on,
            source=source,
            source_note=source_note,
            cluster=cluster.strip(),
            address=address,
            note=note,
            created_by=_actor(actor),
        )
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=case,
            changes={"kind": kind, "confirmed_on": str(confirmed_on), "source": source},
            street_id=community.street_id,
            community_id=community.pk,
        )
        status_refresh(community, now=now)
    return case


def contact_add(
    case: Case,
    *,
    person: Person,
    kind: str,
    actor: Any,
    last_contact_on: datetime.date | None = None,
    register: bool = True,
    site: IsolationSite | None = None,
    now: datetime.datetime | None = None,
) -> CloseContact:
    """Link a close contact to a case and, in the same step, register them as a key person (H6).

    The close contact's observation (H2: 14 days centralized) counts from the last contact when it
    is known, else from today.
    """
    errors: dict[str, str] = {}
    if kind not in ContactKind.values:
        errors["kind"] = _("请选择接触方式")
    if last_contact_on is not None and last_contact_on > _today(now):
        errors["last_contact_on"] = _("末次接触日期不能晚于今天")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        try:
            with transaction.atomic():
                contact = CloseContact.objects.create(
                    case=case, person=person, name=person.name, kind=kind, last_contact_on=last_contact_on
                )
        except IntegrityError:
            raise ValidationError(_("%(name)s 已是该病例的密切接触者") % {"name": person.name}) from None
        if (
            register
            and not KeyPerson.objects.filter(person=person, category=Category.CLOSE_CONTACT, active=True).exists()
        ):
            registration = key_person_register(
                person,
                category=Category.CLOSE_CONTACT,
                actor=actor,
                arrived_on=None,
                starts_on=last_contact_on,
                case=case,
                site=site,
                start_order=not QuarantineOrder.objects.filter(person=person, status=OrderStatus.ACTIVE).exists(),
                note=_("病例 %(name)s 的密切接触者") % {"name": case.name},
                now=now,
            )
            contact.key_person = registration.key_person
            contact.save(update_fields=["key_person"])
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=contact,
            changes={"case": case.pk, "kind": kind},
            street_id=case.street_id,
            community_id=case.community_id,
        )
    return contact


# An epidemic point is a place the case stayed more than this long (H6).
POINT_MIN_HOURS = Decimal("1")
# … from this many days before onset until isolation (H6).
POINT_DAYS_BEFORE_ONSET = 3


def point_window(case: Case, *, now: datetime.datetime | None = None) -> tuple[datetime.date, datetime.date] | None:
    if case.onset_date is None:
        return None
    return case.onset_date - datetime.timedelta(days=POINT_DAYS_BEFORE_ONSET), case.isolated_on or _today(now)


def point_add(
    case: Case,
    *,
    kind: str,
    place: str,
    visited_on: datetime.date,
    hours: Decimal | float | str,
    actor: Any,
    household: Household | None = None,
    note: str = "",
    now: datetime.datetime | None = None,
) -> EpidemicPoint:
    """Record an epidemic point; only places in the H6 window and over 1 hour qualify."""
    window = point_window(case, now=now)
    errors: dict[str, str] = {}
    if window is None:
        errors["visited_on"] = _("请先填写病例的发病日期：疫点从发病前 3 天算起")
    elif not window[0] <= visited_on <= window[1]:
        errors["visited_on"] = _("到访日期须在 %(start)s 至 %(end)s 之间（发病前 3 天至隔离）") % {
            "start": window[0].isoformat(),
            "end": window[1].isoformat(),
        }
    if kind not in PointKind.values:
        errors["kind"] = _("请选择疫点类型")
    stay = _decimal(hours, places=Decimal("0.1"))
    if stay is None or stay <= POINT_MIN_HOURS:
        errors["hours"] = _("停留超过 1 小时的场所才列为疫点")
    elif stay > Decimal("999.9"):
        errors["hours"] = _("停留小时数过大，请核对")
    if not (place or "").strip():
        errors["place"] = _("请填写地点")
    if errors or stay is None:
        raise ValidationError(errors)
    with transaction.atomic():
        point = EpidemicPoint.objects.create(
            case=case, kind=kind, place=place.strip(), visited_on=visited_on, hours=stay, household=household, note=note
        )
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=point,
            changes={"place": point.place, "visited_on": str(visited_on)},
            street_id=case.street_id,
            community_id=case.community_id,
        )
    return point


MEASURES: dict[int, Any] = {
    1: gettext_lazy("组织动员"),
    2: gettext_lazy("健康教育"),
    3: gettext_lazy("信息告知"),
    4: gettext_lazy("疫区返回人员管理"),
    5: gettext_lazy("环境卫生治理"),
    6: gettext_lazy("物资准备"),
    7: gettext_lazy("密切接触者管理"),
    8: gettext_lazy("消毒"),
    9: gettext_lazy("疫区封锁"),
    10: gettext_lazy("限制人员聚集"),
}
# H5: the strategy and the measures (1–6, 1–8, 1–10) each status calls for.
STRATEGY = {
    CommunityStatus.NO_CASE: (gettext_lazy("外防输入"), 6),
    CommunityStatus.CASE: (gettext_lazy("内防扩散、外防输出"), 8),
    CommunityStatus.OUTBREAK: (gettext_lazy("内防扩散、外防输出"), 8),
    CommunityStatus.TRANSMISSION: (gettext_lazy("内防蔓延、外防输出"), 10),
}


@dataclass
class StatusFinding:
    """A community's status and the cases that made it."""

    status: str
    cases: list[Case]
    outbreaks: list[list[Case]]
    sporadic_unknown: list[Case]
    explanation: str

    @property
    def strategy(self) -> str:
        return str(STRATEGY[CommunityStatus(self.status)][0])

    @property
    def measures(self) -> list[tuple[int, str]]:
        return [(n, str(MEASURES[n])) for n in range(1, STRATEGY[CommunityStatus(self.status)][1] + 1)]

    @property
    def case_ids(self) -> list[int]:
        return sorted(c.pk for c in self.cases)


def _cluster_keys(case: Case) -> list[str]:
    keys = []
    if case.cluster:
        keys.append(f"c:{case.cluster}")
    if case.household_id:
        unit_id = case.household.unit_id if case.household else None
        keys.append(f"u:{unit_id}" if unit_id else f"h:{case.household_id}")
    return keys


def classify(
    cases: Sequence[Case], *, today: datetime.date, window_days: int = 14, large_outbreak_cases: int = 5
) -> StatusFinding:
    """The community status of H5 from its case records.

    Counted: confirmed cases (not asymptomatic infections) confirmed within the last ``window_days``
    days, today included (today − 13 … today for 14). Cases in one small range — the same cluster
    name (a family, a site), the same unit (which holds the household) — form an outbreak when
    there are two or more. Community transmission: two or more sporadic cases (in no outbreak) of
    unknown source, or two or more outbreaks of at least ``large_outbreak_cases`` cases.
    """
    first_day = today - datetime.timedelta(days=window_days - 1)
    counted = sorted(
        (c for c in cases if c.kind == CaseKind.CONFIRMED and first_day <= c.confirmed_on <= today),
        key=lambda c: (c.confirmed_on, c.pk or 0),
    )
    # Union the cases that share a small range.
    parent = list(range(len(counted)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for index, case in enumerate(counted):
        for key in _cluster_keys(case):
            if key in owner:
                parent[find(index)] = find(owner[key])
            else:
                owner[key] = index
    groups: dict[int, list[Case]] = {}
    for index, case in enumerate(counted):
        groups.setdefault(find(index), []).append(case)
    outbreaks = [g for g in groups.values() if len(g) >= 2]
    # By position, not pk: a preview may classify cases not saved yet (their pk is None).
    sporadic = [c for index, c in enumerate(counted) if len(groups[find(index)]) < 2]
    sporadic_unknown = [c for c in sporadic if c.source == CaseSource.UNKNOWN]
    large = [g for g in outbreaks if len(g) >= large_outbreak_cases]

    def names(group: Iterable[Case]) -> str:
        return "、".join(f"{c.name}（{c.confirmed_on:%m-%d}）" for c in group)

    window_text = _("近 %(days)s 天（%(start)s 至 %(end)s）") % {
        "days": window_days,
        "start": first_day.isoformat(),
        "end": today.isoformat(),
    }
    if len(sporadic_unknown) >= 2 or len(large) >= 2:
        status = CommunityStatus.TRANSMISSION
        parts = []
        if len(sporadic_unknown) >= 2:
            parts.append(
                _("%(n)s 例来源不明的散发病例：%(names)s")
                % {"n": len(sporadic_unknown), "names": names(sporadic_unknown)}
            )
        if len(large) >= 2:
            parts.append(
                _("%(n)s 起较大规模暴发（每起 %(size)s 例及以上）") % {"n": len(large), "size": large_outbreak_cases}
            )
        explanation = window_text + _("出现") + "；".join(parts)
    elif outbreaks:
        status = CommunityStatus.OUTBREAK
        explanation = (
            window_text
            + _("在同一家庭、场所或单元等小范围内出现 2 例及以上确诊病例：")
            + "；".join(names(g) for g in outbreaks)
        )
    elif counted:
        status = CommunityStatus.CASE
        explanation = window_text + _("出现确诊病例，尚无续发：") + names(counted)
    else:
        status = CommunityStatus.NO_CASE
        explanation = window_text + _("无确诊病例")
    return StatusFinding(
        status=status, cases=counted, outbreaks=outbreaks, sporadic_unknown=sporadic_unknown, explanation=explanation
    )


def status_of(community: Community, *, now: datetime.datetime | None = None) -> StatusFinding:
    today = _today(now)
    settings = rules.settings_for(community.street_id)
    first_day = today - datetime.timedelta(days=settings.status_window_days - 1)
    cases = list(
        Case.objects.filter(community=community, confirmed_on__gte=first_day, confirmed_on__lte=today).select_related(
            "household"
        )
    )
    return classify(
        cases,
        today=today,
        window_days=settings.status_window_days,
        large_outbreak_cases=settings.large_outbreak_cases,
    )


def status_refresh(community: Community, *, now: datetime.datetime | None = None) -> StatusFinding:
    """Recompute the status; a change (or a different set of cases) is recorded in the history."""
    with transaction.atomic():
        Community.objects.select_for_update().filter(pk=community.pk).exists()
        finding = status_of(community, now=now)
        last = StatusRecord.objects.filter(community=community).order_by("-since", "-pk").first()
        if last is None or last.status != finding.status or last.case_ids != finding.case_ids:
            if last is not None or finding.status != CommunityStatus.NO_CASE:
                StatusRecord.objects.create(
                    street_id=community.street_id,
                    community=community,
                    status=finding.status,
                    explanation=finding.explanation,
                    case_ids=finding.case_ids,
                    since=_now(now),
                )
    return finding


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
    every member tested today and reporting a temperature once a day (twice in a sealed building,
    H3); disinfection twice a day.
    """
    moment = _now(now)
    today = timezone.localdate(moment)
    if level not in SealLevel.values:
        raise ValidationError({"level": _("请选择封控范围")})
    kind = SEAL_TARGETS[SealLevel(level)]
    if not isinstance(target, kind):
        raise ValidationError({"target": _("封控对象与封控范围不符")})
    with transaction.atomic():
        # One seal of a target at a time: two workers confirming the same unit queue on its row
        # (a lock on the active seals would lock nothing while there are none).
        kind.objects.select_for_update().filter(pk=target.pk).exists()
        households = _seal_households(level, target)
        if not households:
            raise ValidationError(_("该范围内没有住户"))
        first = households[0]
        active = Seal.objects.filter(unsealed_at__isnull=True, level=level)
        same = {
            SealLevel.HOUSEHOLD: active.filter(household_id=target.pk),
            SealLevel.UNIT: active.filter(unit_id=target.pk),
            SealLevel.BUILDING: active.filter(building_id=target.pk),
        }[SealLevel(level)]
        if same.exists():
            raise ValidationError(_("该范围已在封控中"))
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
            sealed_at=moment,
            sealed_by=_actor(actor),
        )
        SealedHousehold.objects.bulk_create([SealedHousehold(seal=seal, **_placed(h)) for h in households])
        everyone = list(Person.objects.filter(household__in=households).select_related("household"))
        # The unit's cases are in hospital and already positive: the seal neither tests nor chases
        # them (a positive seal test of theirs would keep the unit sealed for ever).
        window = rules.settings_for(first.street_id).status_window_days
        cases = set(
            Case.objects.filter(
                person_id__in=[p.pk for p in everyone], confirmed_on__gt=today - datetime.timedelta(days=window)
            ).values_list("person_id", flat=True)
        )
        if case is not None and case.person_id:
            cases.add(case.person_id)
        members = [p for p in everyone if p.pk not in cases]
        Monitoring.objects.bulk_create(
            [
                Monitoring(
                    person=p,
                    source=MonitorSource.SEAL,
                    seal=seal,
                    starts_on=today,
                    reports_per_day=rules.SEAL_REPORTS_PER_DAY[SealLevel(level)],
                    **_placed(p.household),
                )
                for p in members
            ]
        )
        TestTask.objects.bulk_create(
            [TestTask(person=p, seal=seal, sequence=1, due_on=today, **_placed(p.household)) for p in members]
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
            },
            street_id=first.street_id,
            community_id=first.community_id,
        )
        for household in households:
            sync_household_holds(household, actor=actor)
    return seal


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
            blockers.append(_("未确认：%(items)s") % {"items": "、".join(missing)})
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


# ----------------------------------------------------------------------------------------------
# Property emergency levels (H8)


def emergency_set(
    *, community: Community, company: str, level: int, actor: Any, now: datetime.datetime | None = None
) -> PropertyEmergency:
    """Start (or change) a property company's emergency level; the previous level ends."""
    company = (company or "").strip()
    if not company:
        raise ValidationError({"company": _("请填写物业公司")})
    if level not in EmergencyLevel.values:
        raise ValidationError({"level": _("请选择应急等级")})
    moment = _now(now)
    with transaction.atomic():
        PropertyEmergency.objects.select_for_update().filter(
            community=community, company=company, ended_at__isnull=True
        ).update(ended_at=moment)
        emergency = PropertyEmergency.objects.create(
            street_id=community.street_id,
            community=community,
            company=company,
            level=level,
            set_at=moment,
            set_by=_actor(actor),
        )
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=emergency,
            changes={"company": company, "level": level},
            street_id=community.street_id,
            community_id=community.pk,
        )
    return emergency


def emergency_tick(emergency: PropertyEmergency, *, item: str, done: bool, actor: Any) -> PropertyEmergency:
    """Tick (or untick) an item of the level's procedure checklist."""
    from linli.health.emergency import items_for

    codes = {i.code for i in items_for(emergency.level)}
    if item not in codes:
        raise ValidationError({"item": _("该等级没有这一事项")})
    with transaction.atomic():
        emergency = PropertyEmergency.objects.select_for_update().get(pk=emergency.pk)
        items = set(emergency.done_items or [])
        items.add(item) if done else items.discard(item)
        emergency.done_items = sorted(items)
        emergency.save(update_fields=["done_items"])
        audit_record(actor=actor, action=AuditAction.UPDATE, obj=emergency, changes={"item": item, "done": done})
    return emergency
