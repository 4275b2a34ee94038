"""The health API: temperatures (H3) under /api/v1/health/ — a person's reports (residents for their own
household), the chase list, the day's summary and fever escalations (docs/health.md)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Case, IntegerField, Prefetch, QuerySet, Value, When
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import PageNumberPagination, paginate

from linli.health import rules, selectors, services
from linli.health.api_common import (
    PAGE_SIZE,
    PERSON_RELATED,
    ErrorOut,
    PersonBrief,
    editable,
    invalid,
    require,
    user_name,
    visible,
)
from linli.health.choices import EscalationStatus, EscalationStep, Symptom
from linli.health.models import (
    EscalationStepRecord,
    FeverEscalation,
    HealthSettings,
    TemperatureReport,
)
from linli.health.permissions import (
    ESCALATION_ROLES,
    PROXY_REPORT_ROLES,
    VIEW_ROLES,
)
from linli.lib import scope
from linli.registry.models import Person

router = Router(tags=["health"])

REPORTS_LIMIT = 60  # a person's latest reports: 14 days of two slots, and then some


def _slot_label(slot: int) -> str:
    return _("上午") if slot == 1 else _("下午")


# ----------------------------------------------------------------------------------------------
# Temperatures (H3)


class TemperatureOut(Schema):
    id: int
    person_id: int
    household_id: int
    date: datetime.date
    slot: int = Field(description="1 上午 / 2 下午")
    slot_label: str
    temperature: Decimal
    symptoms: list[str]
    symptom_labels: list[str]
    fever: bool
    late: bool = Field(description="过了上报截止时间才报")
    by_proxy: bool = Field(description="工作人员代报")
    reported_at: datetime.datetime

    @staticmethod
    def resolve_slot_label(obj: TemperatureReport) -> str:
        return _slot_label(obj.slot)

    @staticmethod
    def resolve_symptom_labels(obj: TemperatureReport) -> list[str]:
        labels = dict(Symptom.choices)
        return [str(labels.get(code, code)) for code in obj.symptoms]


class TemperatureIn(Schema):
    temperature: float | str = Field(description="体温（℃），如 36.5")
    symptoms: list[str] = Field(default_factory=list, description="fever、cough、fatigue、sore_throat …")
    slot: int | None = Field(default=None, description="1 上午 / 2 下午；留空按当前时间")
    date: datetime.date | None = Field(default=None, description="留空为今天（居民只能报当天）")


class ReportOut(Schema):
    report: TemperatureOut
    updated: bool = Field(description="同一时段再次上报，更正了原记录")
    escalation_id: int | None = Field(description="体温偏高或发热：已启动的发热处置")


def _reporter(request: HttpRequest, person_id: int, *, write: bool) -> tuple[Any, Person]:
    """A resident for their own household's members; staff of the proxy (write) or view roles in scope."""
    user: Any = request.user
    people = Person.objects.select_related("household__building", "household__unit")
    if getattr(user, "is_resident", False):
        if not user.household_id:
            raise HttpError(403, _("只有已关联住户的居民账号可以上报本户体温"))
        found = people.filter(pk=person_id, household_id=user.household_id).first()
        if found is None:
            raise HttpError(404, _("未找到该记录，或不在您的负责范围内"))
        return user, found
    user = require(request, PROXY_REPORT_ROLES if write else VIEW_ROLES)
    return user, (editable if write else visible)(people, user, person_id)


@router.get(
    "/people/{person_id}/temperatures",
    response=list[TemperatureOut],
    summary="某人最近的体温上报（居民可看本户成员）",
)
def temperature_list(request: HttpRequest, person_id: int) -> Any:
    _user, person = _reporter(request, person_id, write=False)
    return list(TemperatureReport.objects.filter(person=person).order_by("-date", "-slot")[:REPORTS_LIMIT])


@router.post(
    "/people/{person_id}/temperatures",
    response={200: ReportOut, 201: ReportOut, 422: ErrorOut},
    summary="上报体温（居民报本户成员；工作人员代报）；体温偏高自动启动发热处置",
)
def temperature_create(request: HttpRequest, person_id: int, payload: TemperatureIn) -> Any:
    user, person = _reporter(request, person_id, write=True)
    if getattr(user, "is_resident", False) and payload.date not in (None, timezone.localdate()):
        return invalid(ValidationError({"date": [_("居民只能上报当天的体温")]}))
    try:
        outcome = services.temperature_report(
            person,
            temperature=payload.temperature,
            symptoms=payload.symptoms,
            slot=payload.slot,
            date=payload.date,
            actor=user,
        )
    except ValidationError as exc:
        return invalid(exc)
    body = {
        "report": outcome.report,
        "updated": outcome.updated,
        "escalation_id": outcome.escalation.pk if outcome.escalation else None,
    }
    return Status(200 if outcome.updated else 201, body)


class ChaseRowOut(Schema):
    person_id: int
    name: str
    phone_masked: str
    household_id: int
    community_id: int
    address: str
    source: str = Field(description="order 隔离 / seal 封控")
    order_id: int | None
    seal_id: int | None
    reports_per_day: int


class ChaseOut(Schema):
    date: datetime.date
    slot: int
    slot_label: str
    report_deadline: datetime.time
    due: int = Field(description="应报人数")
    reported: int
    missing: int
    truncated: bool
    rows: list[ChaseRowOut] = Field(description="未报人员，按楼栋、户排序")


def _clock(user: Any) -> HealthSettings:
    street_id = getattr(user, "street_id", None)
    return rules.settings_for(street_id) if street_id else HealthSettings()


def _day(date: datetime.date | None) -> datetime.date:
    today = timezone.localdate()
    if date is not None and date > today:
        raise HttpError(422, _("不能查看未来的日期"))
    return date or today


@router.get("/chase", response=ChaseOut, summary="未报体温名单（某日某时段；默认今天、当前时段）")
def chase(request: HttpRequest, date: datetime.date | None = None, slot: int | None = None) -> Any:
    user = require(request, VIEW_ROLES)
    clock = _clock(user)
    day = _day(date)
    if slot is None:
        slot = 2 if timezone.localtime().time() >= clock.afternoon_slot else 1
    if slot not in selectors.SLOTS:
        raise HttpError(422, _("时段须为 1（上午）或 2（下午）"))
    found = selectors.chase(user, day, slot)
    rows = [
        {
            "person_id": row.person_id,
            "name": row.name,
            "phone_masked": row.masked_phone,
            "household_id": row.household_id,
            "community_id": row.community_id,
            "address": row.address,
            "source": row.source,
            "order_id": row.order_id,
            "seal_id": row.seal_id,
            "reports_per_day": row.reports_per_day,
        }
        for row in found.rows
    ]
    return {
        "date": day,
        "slot": slot,
        "slot_label": _slot_label(slot),
        "report_deadline": clock.report_deadline,
        "due": found.due,
        "reported": found.reported,
        "missing": found.missing,
        "truncated": found.truncated,
        "rows": rows,
    }


class SummaryRowOut(Schema):
    community_id: int
    community_name: str
    monitored: int
    reported_morning: int
    reported_afternoon: int
    missing_morning: int
    missing_afternoon: int
    fever: int
    symptoms: int
    open_escalations: int


class SummaryOut(Schema):
    date: datetime.date
    summary_due: datetime.time = Field(description="社区汇总报街道的时间")
    rows: list[SummaryRowOut]
    totals: dict[str, int]


@router.get("/summary", response=SummaryOut, summary="每日体温汇总（按社区：应报、已报、未报、发热、症状）")
def summary(request: HttpRequest, date: datetime.date | None = None) -> Any:
    user = require(request, VIEW_ROLES)
    day = _day(date)
    rows = selectors.daily_summary(user, day)
    keys = [name for name in SummaryRowOut.model_fields if name not in ("community_id", "community_name")]
    totals = {key: sum(getattr(row, key) for row in rows) for key in keys}
    return {"date": day, "summary_due": _clock(user).summary_due, "rows": rows, "totals": totals}


# ----------------------------------------------------------------------------------------------
# Fever escalations (H3)


class StepOut(Schema):
    step: str
    label: str
    position: int
    due_at: datetime.datetime
    done_at: datetime.datetime | None
    done_by: str
    note: str
    overdue: bool = Field(description="未完成且已过应完成时间")
    ready: bool = Field(description="前置环节已完成，可以办理")


class EscalationOut(Schema):
    id: int
    person_id: int
    person: PersonBrief
    household_id: int
    community_id: int
    temperature: Decimal | None
    source: str
    opened_at: datetime.datetime
    status: str
    status_label: str
    closed_at: datetime.datetime | None
    overdue: bool = Field(description="有环节超时未完成")
    steps: list[StepOut]

    @staticmethod
    def resolve_status_label(obj: FeverEscalation) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_overdue(obj: FeverEscalation) -> bool:
        now = timezone.now()
        return any(step.done_at is None and step.due_at < now for step in obj.steps.all())

    @staticmethod
    def resolve_steps(obj: FeverEscalation) -> list[dict[str, Any]]:
        now = timezone.now()
        steps = list(obj.steps.all())
        undone = {s.step for s in steps if s.done_at is None}
        return [
            {
                "step": s.step,
                "label": str(s.get_step_display()),
                "position": s.position,
                "due_at": s.due_at,
                "done_at": s.done_at,
                "done_by": user_name(s.done_by) if s.done_by_id else "",
                "note": s.note,
                "overdue": s.done_at is None and s.due_at < now,
                "ready": s.done_at is None and services.STEP_NEEDS.get(EscalationStep(s.step)) not in undone,
            }
            for s in steps
        ]


class StepIn(Schema):
    step: str = Field(description="community_notified、street_informed、centre_informed、ambulance_sent …")
    note: str = Field(default="", max_length=200)


def _escalations() -> QuerySet[FeverEscalation]:
    steps = EscalationStepRecord.objects.select_related("done_by").order_by("position")
    return FeverEscalation.objects.select_related(*PERSON_RELATED).prefetch_related(Prefetch("steps", queryset=steps))


@router.get("/escalations", response=list[EscalationOut], summary="发热处置列表（处置中的在前，超时环节标出）")
@paginate(PageNumberPagination, page_size=PAGE_SIZE)
def escalation_list(request: HttpRequest, status: str | None = None, community: int | None = None) -> Any:
    user = require(request, VIEW_ROLES)
    qs = scope.visible(_escalations(), user)
    if status:
        qs = qs.filter(status=status)
    if community is not None:
        qs = qs.filter(community_id=community)
    open_first = Case(When(status=EscalationStatus.OPEN, then=Value(0)), default=Value(1), output_field=IntegerField())
    return qs.annotate(open_first=open_first).order_by("open_first", "-opened_at", "-pk")


@router.get("/escalations/{escalation_id}", response=EscalationOut, summary="发热处置详情：六个环节的应完成与完成时间")
def escalation_detail(request: HttpRequest, escalation_id: int) -> Any:
    user = require(request, VIEW_ROLES)
    return visible(_escalations(), user, escalation_id)


@router.post(
    "/escalations/{escalation_id}/steps",
    response={200: EscalationOut, 422: ErrorOut},
    summary="记录处置环节完成（时间、经办人）；六个环节完成即结束",
)
def escalation_step(request: HttpRequest, escalation_id: int, payload: StepIn) -> Any:
    user = require(request, ESCALATION_ROLES)
    escalation = editable(_escalations(), user, escalation_id)
    try:
        services.escalation_step_done(escalation, step=payload.step, note=payload.note, actor=user)
    except ValidationError as exc:
        return invalid(exc)
    return _escalations().get(pk=escalation.pk)
