"""API of the gate for the community and the street, under /api/v1/gate/: a compound's rules and
checkpoints (A1, A10), the duty roster and signing in and out (A8), the live board (A3), the daily
board (A9).

As on the pages: objects are read through ``linli.lib.scope`` (out of scope is 404), writes need the
role (403), bad input is a 400 with the Chinese message per field (``linli.lib.apiutil.bad_request``).
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from pydantic import Field, StrictInt

from linli.gate import board, duty, rules, services
from linli.gate.models import Checkpoint, DutyAssignment, GateAlert, GateRules, QuotaViolation, Shift
from linli.lib import scope
from linli.lib.apiutil import ErrorOut, bad_request, tree_staff
from linli.registry.models import Compound

router = Router(tags=["gate"])


def _staff(request: HttpRequest) -> Any:
    return tree_staff(request, _("只有工作人员可以使用门岗管理"))


def _get(qs: Any, user: Any, message: str, *, editable: bool = False, **kwargs: Any) -> Any:
    try:
        if editable:
            return scope.get_editable_or_404(qs, user, **kwargs)
        return scope.get_visible_or_404(qs, user, **kwargs)
    except Http404 as exc:
        raise HttpError(404, message) from exc


def _compound(user: Any, compound_id: int) -> Compound:
    return _get(Compound.objects.all(), user, _("未找到该小区，或不在您的负责范围内"), pk=compound_id)


def _checkpoint(user: Any, checkpoint_id: int) -> Checkpoint:
    checkpoint = _get(
        Checkpoint.objects.select_related("compound"), user, _("未找到该卡口，或不在您的负责范围内"), pk=checkpoint_id
    )
    if getattr(user, "checkpoint_id", None) and user.checkpoint_id != checkpoint.pk and not user.is_superuser:
        raise HttpError(404, _("未找到该卡口，或不在您的负责范围内"))
    return checkpoint


def _require_rules_role(user: Any, obj: Any) -> None:
    if not rules.can_set_rules(user):
        raise HttpError(403, _("只有社区干部和街道指挥部可以修改出入规则和卡口"))
    if not scope.can_edit(obj, user):
        raise HttpError(403, _("您不能修改该小区的出入规则"))


def _require_arranger(user: Any, obj: Any) -> None:
    if not duty.can_arrange(user):
        raise HttpError(403, _("只有社区干部、网格员和街道指挥部可以排班"))
    if not scope.can_edit(obj, user):
        raise HttpError(403, _("您不能为该卡口排班"))


def _errors(exc: ValidationError) -> Status[dict[str, Any]]:
    if hasattr(exc, "error_dict"):
        return bad_request(exc.message_dict)
    return bad_request({"__all__": list(exc.messages)})


# --- rules ----------------------------------------------------------------------------------------


class RulesOut(Schema):
    compound_id: int
    compound: str
    risk_level: str
    risk_level_label: str
    closed: bool
    log_when_open: bool
    mode: str
    outings_per_period: int
    period_days: int
    max_hours_out: Decimal
    out_from: datetime.time
    out_until: datetime.time
    period_anchor: datetime.date
    six: dict[str, bool]
    six_done: int
    six_total: int
    six_complete: bool
    updated_at: datetime.datetime


class RulesIn(Schema):
    """Only the fields sent are changed."""

    risk_level: Literal["low", "medium", "high"] | None = None
    log_when_open: bool | None = None
    mode: Literal["quota", "ticket"] | None = None
    # Strict: a JSON true is not 1 (the services refuse booleans; lax parsing turned them into 1).
    outings_per_period: StrictInt | None = None
    period_days: StrictInt | None = None
    max_hours_out: Decimal | None = None
    out_from: datetime.time | None = None
    out_until: datetime.time | None = None
    period_anchor: datetime.date | None = None
    six: dict[str, bool] | None = Field(default=None, description="六个一：six_entrance、six_team … → 是否落实")


def _rules_out(gate_rules: GateRules, compound: Compound) -> dict[str, Any]:
    return {
        "compound_id": compound.pk,
        "compound": compound.name,
        "risk_level": gate_rules.risk_level,
        "risk_level_label": str(gate_rules.get_risk_level_display()),
        "closed": gate_rules.is_closed,
        "log_when_open": gate_rules.log_when_open,
        "mode": gate_rules.mode,
        "outings_per_period": gate_rules.outings_per_period,
        "period_days": gate_rules.period_days,
        "max_hours_out": gate_rules.max_hours_out,
        "out_from": gate_rules.out_from,
        "out_until": gate_rules.out_until,
        "period_anchor": gate_rules.period_anchor,
        "six": {name: getattr(gate_rules, name) for name in GateRules.SIX_FIELDS},
        "six_done": gate_rules.six_done,
        "six_total": len(GateRules.SIX_FIELDS),
        "six_complete": gate_rules.six_done == len(GateRules.SIX_FIELDS),
        "updated_at": gate_rules.updated_at,
    }


@router.get("/compounds/{compound_id}/rules", response=RulesOut, summary="小区出入规则")
def rules_get(request: HttpRequest, compound_id: int) -> Any:
    user = _staff(request)
    compound = _compound(user, compound_id)
    return _rules_out(services.rules_for(compound), compound)


@router.patch("/compounds/{compound_id}/rules", response={200: RulesOut, 400: ErrorOut}, summary="修改小区出入规则")
def rules_patch(request: HttpRequest, compound_id: int, payload: RulesIn) -> Any:
    user = _staff(request)
    compound = _compound(user, compound_id)
    _require_rules_role(user, compound)
    changes = payload.dict(exclude_unset=True, exclude={"six"})
    changes = {key: value for key, value in changes.items() if value is not None}
    for name, value in (payload.six or {}).items():
        if name not in GateRules.SIX_FIELDS:
            return bad_request({"six": [_("未知的“六个一”项目：%(name)s") % {"name": name}]})
        changes[name] = bool(value)
    try:
        gate_rules = rules.rules_update(rules=services.rules_for(compound), actor=user, request=request, **changes)
    except ValidationError as exc:
        return _errors(exc)
    return _rules_out(gate_rules, compound)


# --- checkpoints ----------------------------------------------------------------------------------


class CheckpointAdminOut(Schema):
    id: int
    code: str
    name: str
    note: str
    is_active: bool
    compound_id: int


class CheckpointCreateIn(Schema):
    name: str = Field(max_length=100)
    note: str = Field(default="", max_length=200)


class CheckpointPatchIn(Schema):
    name: str | None = Field(default=None, max_length=100)
    note: str | None = Field(default=None, max_length=200)
    is_active: bool | None = None


def _checkpoint_out(checkpoint: Checkpoint) -> dict[str, Any]:
    return {
        "id": checkpoint.pk,
        "code": checkpoint.code,
        "name": checkpoint.name,
        "note": checkpoint.note,
        "is_active": checkpoint.is_active,
        "compound_id": checkpoint.compound_id,
    }


@router.get("/compounds/{compound_id}/checkpoints", response=list[CheckpointAdminOut], summary="小区的卡口（含已停用）")
def compound_checkpoints(request: HttpRequest, compound_id: int) -> Any:
    user = _staff(request)
    compound = _compound(user, compound_id)
    return [_checkpoint_out(c) for c in Checkpoint.objects.filter(compound=compound).order_by("-is_active", "code")]


@router.post(
    "/compounds/{compound_id}/checkpoints",
    response={201: CheckpointAdminOut, 400: ErrorOut},
    summary="新增卡口（按默认班次建立值班表）",
)
def compound_checkpoint_create(request: HttpRequest, compound_id: int, payload: CheckpointCreateIn) -> Any:
    user = _staff(request)
    compound = _compound(user, compound_id)
    _require_rules_role(user, compound)
    try:
        checkpoint = services.checkpoint_create(compound=compound, name=payload.name, note=payload.note, actor=user)
    except services.GateError as exc:
        return bad_request({"name": [str(exc)]})
    except ValidationError as exc:
        return _errors(exc)
    return Status(201, _checkpoint_out(checkpoint))


@router.patch(
    "/checkpoints/{checkpoint_id}",
    response={200: CheckpointAdminOut, 400: ErrorOut},
    summary="修改卡口（改名、备注、停用或启用）",
)
def checkpoint_patch(request: HttpRequest, checkpoint_id: int, payload: CheckpointPatchIn) -> Any:
    user = _staff(request)
    checkpoint = _checkpoint(user, checkpoint_id)
    _require_rules_role(user, checkpoint)
    try:
        checkpoint = rules.checkpoint_update(
            checkpoint=checkpoint,
            actor=user,
            name=payload.name,
            note=payload.note,
            is_active=payload.is_active,
            request=request,
        )
    except ValidationError as exc:
        return _errors(exc)
    return _checkpoint_out(checkpoint)


# --- shifts and the roster ------------------------------------------------------------------------


class ShiftOut(Schema):
    id: int
    checkpoint_id: int
    name: str
    starts: datetime.time
    ends: datetime.time
    overnight: bool
    min_staff: int


class ShiftIn(Schema):
    name: str = Field(max_length=20)
    starts: datetime.time
    ends: datetime.time
    min_staff: StrictInt  # a JSON true is not 1, as in RulesIn


class ShiftPatchIn(Schema):
    name: str | None = Field(default=None, max_length=20)
    starts: datetime.time | None = None
    ends: datetime.time | None = None
    min_staff: StrictInt | None = None


def _shift_out(shift: Shift) -> dict[str, Any]:
    return {
        "id": shift.pk,
        "checkpoint_id": shift.checkpoint_id,
        "name": shift.name,
        "starts": shift.starts,
        "ends": shift.ends,
        "overnight": shift.overnight,
        "min_staff": shift.min_staff,
    }


@router.get("/checkpoints/{checkpoint_id}/shifts", response=list[ShiftOut], summary="卡口的班次")
def shift_list(request: HttpRequest, checkpoint_id: int) -> Any:
    user = _staff(request)
    checkpoint = _checkpoint(user, checkpoint_id)
    return [_shift_out(s) for s in checkpoint.shifts.order_by("order", "starts")]


@router.post("/checkpoints/{checkpoint_id}/shifts", response={201: ShiftOut, 400: ErrorOut}, summary="新增班次")
def shift_add(request: HttpRequest, checkpoint_id: int, payload: ShiftIn) -> Any:
    user = _staff(request)
    checkpoint = _checkpoint(user, checkpoint_id)
    _require_arranger(user, checkpoint)
    try:
        shift = duty.shift_create(checkpoint=checkpoint, actor=user, request=request, **payload.dict())
    except ValidationError as exc:
        return _errors(exc)
    return Status(201, _shift_out(shift))


@router.patch("/shifts/{shift_id}", response={200: ShiftOut, 400: ErrorOut}, summary="修改班次")
def shift_patch(request: HttpRequest, shift_id: int, payload: ShiftPatchIn) -> Any:
    user = _staff(request)
    shift = _get(Shift.objects.all(), user, _("未找到该班次，或不在您的负责范围内"), pk=shift_id)
    _checkpoint(user, shift.checkpoint_id)
    _require_arranger(user, shift)
    try:
        shift = duty.shift_update(shift=shift, actor=user, request=request, **payload.dict(exclude_unset=True))
    except ValidationError as exc:
        return _errors(exc)
    return _shift_out(shift)


class AssignmentOut(Schema):
    id: int
    shift_id: int
    shift: str
    checkpoint_id: int
    date: datetime.date
    user_id: int | None
    person: str
    volunteer: bool
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    signed_in_at: datetime.datetime | None
    signed_out_at: datetime.datetime | None


class AssignmentIn(Schema):
    """A staff account (``user_id``) or a volunteer (``name`` and ``phone``) on the shift of ``date``."""

    date: datetime.date | None = Field(default=None, description="默认：该班次下一个尚未结束的日期")
    user_id: int | None = None
    name: str = Field(default="", max_length=50, description="志愿者姓名")
    phone: str = Field(default="", max_length=20, description="志愿者手机号")


def _assignment_out(assignment: DutyAssignment) -> dict[str, Any]:
    start, end = duty.shift_bounds(assignment.shift, assignment.date)
    return {
        "id": assignment.pk,
        "shift_id": assignment.shift_id,
        "shift": assignment.shift.name,
        "checkpoint_id": assignment.shift.checkpoint_id,
        "date": assignment.date,
        "user_id": assignment.user_id,
        "person": duty.assignment_label(assignment),
        "volunteer": assignment.user_id is None,
        "starts_at": start,
        "ends_at": end,
        "signed_in_at": assignment.signed_in_at,
        "signed_out_at": assignment.signed_out_at,
    }


class CellOut(Schema):
    shift_id: int
    date: datetime.date
    assigned: int
    min_staff: int
    missing: int
    gap: bool
    ended: bool
    assignments: list[AssignmentOut]


class RosterOut(Schema):
    checkpoint_id: int
    start: datetime.date
    days: int
    today: datetime.date
    shifts: list[ShiftOut]
    cells: list[CellOut]
    gaps: int


@router.get("/checkpoints/{checkpoint_id}/roster", response=RosterOut, summary="值班表（缺人的班次提前标出）")
def roster(request: HttpRequest, checkpoint_id: int, start: datetime.date | None = None, days: int = 7) -> Any:
    user = _staff(request)
    checkpoint = _checkpoint(user, checkpoint_id)
    if not 1 <= days <= duty.MAX_DAYS:
        raise HttpError(400, _("天数应在1到%(n)s之间") % {"n": duty.MAX_DAYS})
    if start is not None and duty.date_error(start):
        raise HttpError(400, duty.date_error(start) or "")
    week = duty.roster(checkpoint, start or duty.duty_day(checkpoint.shifts.all()), days)  # as the page
    return {
        "checkpoint_id": checkpoint.pk,
        "start": week.dates[0],
        "days": len(week.dates),
        "today": week.today,
        "shifts": [_shift_out(shift) for shift, _cells in week.rows],
        "cells": [
            {
                "shift_id": cell.shift.pk,
                "date": cell.date,
                "assigned": cell.count,
                "min_staff": cell.shift.min_staff,
                "missing": cell.missing,
                "gap": cell.gap,
                "ended": cell.ended,
                "assignments": [_assignment_out(a) for a in cell.assignments],
            }
            for _shift, cells in week.rows
            for cell in cells
        ],
        "gaps": len(week.gaps),
    }


@router.post(
    "/shifts/{shift_id}/assignments", response={201: AssignmentOut, 400: ErrorOut}, summary="排班（工作人员或志愿者）"
)
def assignment_add(request: HttpRequest, shift_id: int, payload: AssignmentIn) -> Any:
    user = _staff(request)
    shift = _get(Shift.objects.select_related("checkpoint__compound"), user, _("未找到该班次"), pk=shift_id)
    _checkpoint(user, shift.checkpoint_id)
    _require_arranger(user, shift)
    person = None
    if payload.user_id is not None:
        person = duty.staff_candidates(shift.checkpoint, user).filter(pk=payload.user_id).first()
        if person is None:
            return bad_request({"user_id": [_("该账号不在本卡口的负责范围内，不能排班")]})
    try:
        assignment = duty.assignment_add(
            shift=shift,
            date=payload.date or duty.next_date(shift),
            actor=user,
            user=person,
            volunteer_name=payload.name,
            volunteer_phone=payload.phone,
            request=request,
        )
    except ValidationError as exc:
        return _errors(exc)
    return Status(201, _assignment_out(assignment))


class DoneOut(Schema):
    detail: str


def _assignment(user: Any, assignment_id: int) -> DutyAssignment:
    return _get(
        DutyAssignment.objects.select_related("shift", "user"),
        user,
        _("未找到该排班，或不在您的负责范围内"),
        pk=assignment_id,
    )


@router.post(
    "/assignments/{assignment_id}/sign-in",
    response={200: AssignmentOut, 400: ErrorOut},
    summary="签到（本人的班次，开始前30分钟起）",
)
def assignment_sign_in(request: HttpRequest, assignment_id: int) -> Any:
    user = _staff(request)
    assignment = _assignment(user, assignment_id)
    try:
        assignment = duty.sign_in(assignment=assignment, user=user)
    except duty.DutyError as exc:
        return Status(400, {"detail": str(exc), "errors": {}})
    return _assignment_out(assignment)


@router.post(
    "/assignments/{assignment_id}/sign-out",
    response={200: AssignmentOut, 400: ErrorOut},
    summary="签退（本人的班次，结束后2小时内）",
)
def assignment_sign_out(request: HttpRequest, assignment_id: int) -> Any:
    user = _staff(request)
    assignment = _assignment(user, assignment_id)
    try:
        assignment = duty.sign_out(assignment=assignment, user=user)
    except duty.DutyError as exc:
        return Status(400, {"detail": str(exc), "errors": {}})
    return _assignment_out(assignment)


# Registered after sign-in and sign-out: the scope sweep's control calls endpoints in schema order.
@router.delete("/assignments/{assignment_id}", response={200: DoneOut, 400: ErrorOut}, summary="移除排班")
def assignment_delete(request: HttpRequest, assignment_id: int) -> Any:
    user = _staff(request)
    assignment = _assignment(user, assignment_id)
    _require_arranger(user, assignment)
    try:
        duty.assignment_remove(assignment=assignment, actor=user, request=request)
    except duty.DutyError as exc:
        return Status(400, {"detail": str(exc), "errors": {}})
    return {"detail": _("已移除排班")}


@router.get("/duty/mine", response=list[AssignmentOut], summary="我的班次（昨天起）")
def duty_mine(request: HttpRequest) -> Any:
    user = _staff(request)
    return [_assignment_out(a) for a in duty.my_assignments(user)]


# --- live board -----------------------------------------------------------------------------------


class OutRowOut(Schema):
    household_id: int
    room: str
    members: list[str]
    phone_masked: str
    out_since: datetime.datetime
    due_at: datetime.datetime | None
    overdue: bool
    overdue_minutes: int


class AlertOut(Schema):
    id: int
    kind: str
    kind_label: str
    household_id: int | None
    room: str
    person: str
    detail: str
    checkpoint: str
    created_at: datetime.datetime


class ViolationOut(Schema):
    id: int
    household_id: int
    room: str
    period_start: datetime.date
    allowed: int
    counted: int


class LiveOut(Schema):
    compound_id: int
    compound: str
    now: datetime.datetime
    out_count: int
    overdue_count: int
    out: list[OutRowOut]
    alerts: list[AlertOut]
    violations: list[ViolationOut]


@router.get("/compounds/{compound_id}/live", response=LiveOut, summary="实时：外出中、超时未归、未处理预警")
def live(request: HttpRequest, compound_id: int) -> Any:
    user = _staff(request)
    compound = _compound(user, compound_id)
    data = board.live_compound(compound)
    return {
        "compound_id": compound.pk,
        "compound": compound.name,
        "now": data.now,
        "out_count": data.out_count,
        "overdue_count": data.overdue_count,
        "out": [
            {
                "household_id": row.household_id,
                "room": row.room,
                "members": row.members,
                "phone_masked": row.phone,
                "out_since": row.out_since,
                "due_at": row.due_at,
                "overdue": row.overdue,
                "overdue_minutes": row.overdue_minutes,
            }
            for row in data.out
        ],
        "alerts": [
            {
                "id": alert.pk,
                "kind": alert.kind,
                "kind_label": str(alert.get_kind_display()),
                "household_id": alert.household_id,
                "room": alert.household.address if alert.household else "",
                "person": board.alert_person(alert),
                "detail": alert.detail,
                "checkpoint": alert.checkpoint.name if alert.checkpoint else "",
                "created_at": alert.created_at,
            }
            for alert in data.alerts
        ],
        "violations": [
            {
                "id": v.pk,
                "household_id": v.household_id,
                "room": v.household.address,
                "period_start": v.period_start,
                "allowed": v.allowed,
                "counted": v.counted,
            }
            for v in data.violations
        ],
    }


class OverviewOut(Schema):
    compound_id: int
    compound: str
    risk_level: str
    out: int
    overdue: int
    alerts: int
    violations: int


@router.get("/live", response=list[OverviewOut], summary="实时：各小区外出、超时、预警数")
def live_overview(request: HttpRequest) -> Any:
    user = _staff(request)
    return [
        {
            "compound_id": row.compound.pk,
            "compound": row.compound.name,
            "risk_level": row.risk_level or "low",
            "out": row.out,
            "overdue": row.overdue,
            "alerts": row.alerts,
            "violations": row.violations,
        }
        for row in board.live_overview(user)
    ]


def _ack_role(user: Any, obj: Any) -> None:
    if not (rules.can_acknowledge(user) and scope.can_edit(obj, user)):
        raise HttpError(403, _("只有社区干部、网格员和街道指挥部可以处理预警"))


class AckOut(Schema):
    id: int
    acknowledged: bool
    detail: str


@router.post("/alerts/{alert_id}/ack", response=AckOut, summary="预警标记为已处理")
def alert_ack(request: HttpRequest, alert_id: int) -> Any:
    user = _staff(request)
    alert = _get(GateAlert.objects.all(), user, _("未找到该预警，或不在您的负责范围内"), pk=alert_id)
    _ack_role(user, alert)
    done = rules.alert_acknowledge(alert=alert, actor=user)
    return {"id": alert.pk, "acknowledged": True, "detail": _("已标记为已处理") if done else _("此前已处理")}


@router.post("/violations/{violation_id}/ack", response=AckOut, summary="超次外出标记为已处理")
def violation_ack(request: HttpRequest, violation_id: int) -> Any:
    user = _staff(request)
    violation = _get(QuotaViolation.objects.all(), user, _("未找到该记录，或不在您的负责范围内"), pk=violation_id)
    _ack_role(user, violation)
    done = rules.violation_acknowledge(violation=violation, actor=user)
    return {"id": violation.pk, "acknowledged": True, "detail": _("已标记为已处理") if done else _("此前已处理")}


# --- daily board ----------------------------------------------------------------------------------


class BoardOut(Schema):
    compound_id: int
    compound: str
    date: datetime.date
    out_by_hour: list[int]
    in_by_hour: list[int]
    total_out: int
    total_in: int
    refused: int
    visitors: int
    visitors_left: int
    visitors_refused: int
    parcels: int
    parcels_picked_up: int


@router.get("/compounds/{compound_id}/board", response=BoardOut, summary="出入公示：某日分时段出入人次")
def board_data(request: HttpRequest, compound_id: int, date: datetime.date | None = None) -> Any:
    user = _staff(request)
    compound = _compound(user, compound_id)
    if date is not None and duty.date_error(date):
        raise HttpError(400, duty.date_error(date) or "")
    day = board.board_day(compound, date or timezone.localdate())
    return {
        "compound_id": compound.pk,
        "compound": compound.name,
        "date": day.date,
        "out_by_hour": day.out_by_hour,
        "in_by_hour": day.in_by_hour,
        "total_out": day.total_out,
        "total_in": day.total_in,
        "refused": day.refused,
        "visitors": day.visitors,
        "visitors_left": day.visitors_left,
        "visitors_refused": day.visitors_refused,
        "parcels": day.parcels,
        "parcels_picked_up": day.parcels_picked_up,
    }
