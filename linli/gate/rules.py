"""The community's side of the gate: a compound's rules and checkpoints, and acknowledging alerts (A1, A3, A10).

Each write is one transaction and audited. Callers have checked that the account may edit the
compound (``scope.editable``) and holds the role (:func:`can_set_rules`, :func:`can_acknowledge`).
Reading the rules goes through ``services.rules_for`` (get-or-create with the defaults).
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.choices import Role
from linli.audit.models import AuditAction
from linli.audit.services import audit_record, diff, snapshot
from linli.gate.choices import QuotaMode, RiskLevel
from linli.gate.models import Checkpoint, GateAlert, GateRules, GateScan, QuotaViolation

# Who sets a compound's rules and its checkpoints: the community worker and the street (A1, A10).
RULE_ROLES = frozenset({Role.STREET_COMMAND, Role.COMMUNITY_WORKER})
# Who acknowledges alerts and quota violations on the live board: the same, and the grid worker.
ACK_ROLES = frozenset({Role.STREET_COMMAND, Role.COMMUNITY_WORKER, Role.GRID_WORKER})

RULE_FIELDS: tuple[str, ...] = (
    "risk_level",
    "log_when_open",
    "mode",
    "outings_per_period",
    "period_days",
    "max_hours_out",
    "out_from",
    "out_until",
    "period_anchor",
    *GateRules.SIX_FIELDS,
)
MAX_PERIOD_DAYS = 30
MAX_OUTINGS = 20
MAX_HOURS_OUT = Decimal(24)


def can_set_rules(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and (user.is_superuser or user.role in RULE_ROLES))


def can_acknowledge(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and (user.is_superuser or user.role in ACK_ROLES))


def rules_errors(values: dict[str, Any]) -> dict[str, list[str]]:
    """Every problem with a full set of rule values, per field, in Chinese."""
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if values.get("risk_level") not in RiskLevel.values:
        add("risk_level", _("请选择风险等级：低、中或高"))
    if values.get("mode") not in QuotaMode.values:
        add("mode", _("请选择管控方式：限次外出或出入券"))
    period_days = values.get("period_days")
    if not isinstance(period_days, int) or isinstance(period_days, bool):
        add("period_days", _("周期天数应为整数"))
    elif period_days < 1:
        add("period_days", _("周期天数至少为1天"))
    elif period_days > MAX_PERIOD_DAYS:
        add("period_days", _("周期天数不能超过%(n)s天") % {"n": MAX_PERIOD_DAYS})
    outings = values.get("outings_per_period")
    if not isinstance(outings, int) or isinstance(outings, bool):
        add("outings_per_period", _("每周期外出次数应为整数"))
    elif outings < 1:
        add("outings_per_period", _("每周期外出次数至少为1次"))
    elif outings > MAX_OUTINGS:
        add("outings_per_period", _("每周期外出次数不能超过%(n)s次") % {"n": MAX_OUTINGS})
    try:
        hours = Decimal(str(values.get("max_hours_out")))
    except (InvalidOperation, ValueError):
        add("max_hours_out", _("每次外出最长小时数应为数字，如 3 或 2.5"))
    else:
        if not hours.is_finite():
            add("max_hours_out", _("每次外出最长小时数应为数字，如 3 或 2.5"))
        elif hours <= 0:
            add("max_hours_out", _("每次外出最长小时数必须大于0"))
        elif hours > MAX_HOURS_OUT:
            add("max_hours_out", _("每次外出最长不能超过24小时"))
        elif hours != hours.quantize(Decimal("0.1")):
            add("max_hours_out", _("每次外出最长小时数最多保留一位小数"))
    out_from, out_until = values.get("out_from"), values.get("out_until")
    if not isinstance(out_from, datetime.time):
        add("out_from", _("请填写允许外出的开始时间，如 06:00"))
    if not isinstance(out_until, datetime.time):
        add("out_until", _("请填写允许外出的结束时间，如 20:00"))
    if isinstance(out_from, datetime.time) and isinstance(out_until, datetime.time) and out_from == out_until:
        add("out_until", _("允许外出的开始和结束时间不能相同"))
    if not isinstance(values.get("period_anchor"), datetime.date):
        add("period_anchor", _("请填写周期起算日"))
    return errors


def rules_update(*, rules: GateRules, actor: Any, request: HttpRequest | None = None, **changes: Any) -> GateRules:
    """Change some of a compound's rules; all or nothing. A risk-level change is audited like every change."""
    unknown = set(changes) - set(RULE_FIELDS)
    if unknown:
        raise ValueError(f"unknown rule fields: {sorted(unknown)}")
    with transaction.atomic():
        locked = GateRules.objects.select_for_update().get(pk=rules.pk)
        before = snapshot(locked, list(RULE_FIELDS))
        values = {name: getattr(locked, name) for name in RULE_FIELDS}
        values.update(changes)
        if "max_hours_out" in changes and changes["max_hours_out"] is not None:
            try:
                values["max_hours_out"] = Decimal(str(changes["max_hours_out"]))
            except (InvalidOperation, ValueError):
                pass  # reported by rules_errors
        errors = rules_errors(values)
        if errors:
            raise ValidationError(errors)
        for name, value in values.items():
            setattr(locked, name, value)
        locked.updated_by = actor if getattr(actor, "is_authenticated", False) else None
        locked.save()
        changed = diff(before, snapshot(locked, list(RULE_FIELDS)))
        if changed:
            audit_record(actor=actor, action=AuditAction.UPDATE, obj=locked, changes=changed, request=request)
        if {"period_days", "period_anchor"} & set(changed):
            _rewindow_recent_scans(locked, before_days=int(before.get("period_days") or 1))
    return locked


def _rewindow_recent_scans(rules: GateRules, *, before_days: int) -> None:
    """Put the recent scans into the windows of the new period length or anchor.

    A household's outings are counted per window (``GateScan.period_start``); without this, an
    outing made before the change would not count in the window that now contains it.
    """
    from linli.gate import quota, services

    qrules = services.quota_rules(rules)
    since = timezone.now() - datetime.timedelta(days=max(before_days, rules.period_days) + 1)
    scans = list(
        GateScan.objects.filter(compound_id=rules.compound_id, household__isnull=False, device_time__gte=since).only(
            "pk", "device_time", "period_start"
        )
    )
    for scan in scans:
        scan.period_start = quota.period_start(qrules, scan.device_time)
    GateScan.objects.bulk_update(scans, ["period_start"], batch_size=500)


def _checkpoint_name(checkpoint: Checkpoint | None, compound_id: int, name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": [_("请填写卡口名称")]})
    if len(name) > 100:
        raise ValidationError({"name": [_("卡口名称不能超过100个字")]})
    if "\x00" in name:  # PostgreSQL refuses it in any text, a lookup too
        raise ValidationError({"name": [_("卡口名称不能包含空字符")]})
    others = Checkpoint.objects.filter(compound_id=compound_id, name=name)
    if checkpoint is not None:
        others = others.exclude(pk=checkpoint.pk)
    if others.exists():
        raise ValidationError({"name": [_("本小区已有同名卡口")]})
    return name


def checkpoint_update(
    *,
    checkpoint: Checkpoint,
    actor: Any,
    name: str | None = None,
    note: str | None = None,
    is_active: bool | None = None,
    request: HttpRequest | None = None,
) -> Checkpoint:
    """Rename, annotate, deactivate or reactivate a checkpoint (its scans and roster stay)."""
    with transaction.atomic():
        locked = Checkpoint.objects.select_for_update().get(pk=checkpoint.pk)
        before = snapshot(locked, ["name", "note", "is_active"])
        if name is not None:
            locked.name = _checkpoint_name(locked, locked.compound_id, name)
        if note is not None:
            note = note.strip()
            if len(note) > 200:
                raise ValidationError({"note": [_("备注不能超过200个字")]})
            locked.note = note
        if is_active is not None:
            locked.is_active = is_active
        changed = diff(before, snapshot(locked, ["name", "note", "is_active"]))
        if changed:
            locked.save(update_fields=["name", "note", "is_active"])
            audit_record(actor=actor, action=AuditAction.UPDATE, obj=locked, changes=changed, request=request)
    return locked


def alert_acknowledge(*, alert: GateAlert, actor: Any) -> bool:
    """Mark an alert handled; False when someone already had (a second click changes nothing)."""
    with transaction.atomic():
        done = GateAlert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(
            acknowledged_at=timezone.now(), acknowledged_by=actor if getattr(actor, "is_authenticated", False) else None
        )
        if done:
            audit_record(actor=actor, action=AuditAction.UPDATE, obj=alert, changes={"acknowledged": [None, "yes"]})
    return bool(done)


def violation_acknowledge(*, violation: QuotaViolation, actor: Any) -> bool:
    with transaction.atomic():
        done = QuotaViolation.objects.filter(pk=violation.pk, acknowledged_at__isnull=True).update(
            acknowledged_at=timezone.now(), acknowledged_by=actor if getattr(actor, "is_authenticated", False) else None
        )
        if done:
            audit_record(actor=actor, action=AuditAction.UPDATE, obj=violation, changes={"acknowledged": [None, "yes"]})
    return bool(done)
