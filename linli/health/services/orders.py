"""Isolation sites, key persons (H1), quarantine orders and their tests (H2), release (H4)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.choices import Role
from linli.audit.models import AuditAction
from linli.audit.services import audit_record, diff, snapshot
from linli.health import rules
from linli.health.choices import (
    HOME_PLACES,
    Category,
    EscalationStatus,
    MonitorSource,
    OrderStatus,
    Place,
    TestResult,
)
from linli.health.models import (
    Case,
    FeverEscalation,
    IsolationSite,
    KeyPerson,
    Monitoring,
    OrderExtension,
    QuarantineOrder,
    ReleaseSignature,
    TemperatureReport,
    TestTask,
)
from linli.health.services._common import _actor, _household, _monitoring_stop, _now, _placed, _today
from linli.health.services.holds import sync_household_holds
from linli.lib.wording import listed
from linli.registry.models import Person

# The two signatures a release needs (H4): the responsible cadre and the responsible medic.
CADRE_ROLES = frozenset({Role.COMMUNITY_WORKER, Role.STREET_COMMAND})
MEDIC_ROLES = frozenset({Role.MEDIC})
SIGN_CADRE = "cadre"
SIGN_MEDIC = "medic"


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


# The fields of a site the street may change.
SITE_FIELDS = frozenset({"name", "address", "rooms", "phone"})


def isolation_site_update(site: IsolationSite, *, actor: Any, **changes: Any) -> IsolationSite:
    """Change a centralized isolation site of the street's list; audited with what changed."""
    unknown = sorted(set(changes) - SITE_FIELDS)
    if unknown:
        raise ValidationError(_("不能修改：%(fields)s") % {"fields": listed(unknown)})
    with transaction.atomic():
        site = IsolationSite.objects.select_for_update().get(pk=site.pk)
        before = snapshot(site)
        for name, value in changes.items():
            setattr(site, name, value.strip() if isinstance(value, str) else value)
        site.full_clean()
        site.save()
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=site,
            changes=diff(before, snapshot(site)),
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
