"""The health API: the street's tables under /api/v1/health/ — the rule table (H2), risk areas (H9) and
the reporting clock (H3); the street command changes them (docs/health.md)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from linli.health import rules
from linli.health.api_common import (
    ErrorOut,
    editable,
    invalid,
    require,
    street_for,
)
from linli.health.choices import Category
from linli.health.models import (
    HealthSettings,
    MeasureRule,
    RiskArea,
)
from linli.health.permissions import (
    STREET_TABLE_ROLES,
    VIEW_ROLES,
)
from linli.lib import scope
from linli.registry.models import Street

router = Router(tags=["health"])


# ----------------------------------------------------------------------------------------------
# The street's tables (H2, H3, H9)


class RuleDefaultOut(Schema):
    days: int
    place: str
    test_days: list[int]
    test_within_days: int | None
    reports_per_day: int


class RuleOut(Schema):
    id: int
    street_id: int
    category: str
    category_label: str
    days: int
    place: str
    place_label: str
    test_days: list[int]
    tests: int
    test_within_days: int | None
    reports_per_day: int
    note: str
    updated_at: datetime.datetime
    spec_default: RuleDefaultOut = Field(description="SPEC H2 的默认值（街道可修改规则表）")

    @staticmethod
    def resolve_category_label(obj: MeasureRule) -> str:
        return str(obj.get_category_display())

    @staticmethod
    def resolve_place_label(obj: MeasureRule) -> str:
        return str(obj.get_place_display())

    @staticmethod
    def resolve_spec_default(obj: MeasureRule) -> dict[str, Any]:
        default = rules.DEFAULT_RULES[obj.category]
        return {
            "days": default.days,
            "place": default.place,
            "test_days": list(default.test_days),
            "test_within_days": default.test_within_days,
            "reports_per_day": default.reports_per_day,
        }


class RulePatch(Schema):
    """Only the fields sent are changed; orders already started keep their copy of the rule."""

    days: int | None = None
    place: str | None = None
    test_days: list[int] | None = Field(default=None, description="第几天检测，如 [1, 7, 14]")
    test_within_days: int | None = Field(default=None, description="需持几日内核酸阴性证明；null 表示不需要")
    reports_per_day: int | None = None
    note: str | None = None


def _table_editor(request: HttpRequest, street: int | None) -> tuple[Any, Street]:
    """The street command of the street (403 for other roles, 404 for another street)."""
    user = require(request, STREET_TABLE_ROLES)
    found = street_for(user, street)
    if not scope.can_edit(found, user):
        raise HttpError(404, _("未找到该记录，或不在您的负责范围内"))
    return user, found


@router.get("/rules", response=list[RuleOut], summary="街道管控措施规则表（各类重点人员的隔离天数、方式、检测日）")
def rule_list(request: HttpRequest, street: int | None = None) -> Any:
    user = require(request, VIEW_ROLES)
    table = rules.rules_table(street_for(user, street))
    order = list(Category.values)
    return sorted(table.values(), key=lambda rule: order.index(rule.category) if rule.category in order else 99)


@router.patch(
    "/rules/{rule_id}",
    response={200: RuleOut, 422: ErrorOut},
    summary="修改规则表的一行（街道指挥部；已开始的隔离不变）",
)
def rule_update(request: HttpRequest, rule_id: int, payload: RulePatch) -> Any:
    user = require(request, STREET_TABLE_ROLES)
    rule = editable(MeasureRule.objects.all(), user, rule_id)
    changes = payload.model_dump(exclude_unset=True)
    empty = [name for name, value in changes.items() if value is None and name != "test_within_days"]
    if empty:
        return invalid(ValidationError({name: [_("不能为空值")] for name in empty}))
    try:
        return rules.rule_update(rule, actor=user, **changes)
    except ValidationError as exc:
        return invalid(exc)


class RiskAreaOut(Schema):
    id: int
    street_id: int
    province: str
    county: str
    name: str
    level: str
    level_label: str
    zone: str
    zone_label: str
    starts_on: datetime.date
    ends_on: datetime.date | None
    active: bool = Field(description="今天是否有效")

    @staticmethod
    def resolve_level_label(obj: RiskArea) -> str:
        return str(obj.get_level_display())

    @staticmethod
    def resolve_zone_label(obj: RiskArea) -> str:
        return str(obj.get_zone_display()) if obj.zone else ""

    @staticmethod
    def resolve_active(obj: RiskArea) -> bool:
        today = timezone.localdate()
        return obj.starts_on <= today and (obj.ends_on is None or obj.ends_on >= today)


class RiskAreaIn(Schema):
    county: str = Field(description="区县：在此区县有旅居史即按该风险等级管理")
    name: str = Field(description="风险区名称")
    level: str = Field(description="low / medium / high")
    starts_on: datetime.date | None = Field(default=None, description="留空为今天")
    province: str = ""
    zone: str = Field(default="", description="sealed 封控区 / controlled 管控区 / prevention 防范区")
    ends_on: datetime.date | None = None


class RiskAreaEndIn(Schema):
    ends_on: datetime.date | None = Field(default=None, description="解除日期，留空为今天")


@router.get("/risk-areas", response=list[RiskAreaOut], summary="街道风险地区列表（可只看今天有效的）")
def risk_area_list(request: HttpRequest, street: int | None = None, active: bool | None = None) -> Any:
    user = require(request, VIEW_ROLES)
    found = street_for(user, street)
    areas = list(RiskArea.objects.filter(street=found)[:500])
    if active is not None:
        areas = [area for area in areas if RiskAreaOut.resolve_active(area) == active]
    return areas


@router.post("/risk-areas", response={201: RiskAreaOut, 422: ErrorOut}, summary="添加风险地区（街道指挥部）")
def risk_area_create(request: HttpRequest, payload: RiskAreaIn, street: int | None = None) -> Any:
    user, found = _table_editor(request, street)
    try:
        area = rules.risk_area_add(
            street=found,
            actor=user,
            county=payload.county,
            name=payload.name,
            level=payload.level,
            starts_on=payload.starts_on or timezone.localdate(),
            province=payload.province,
            zone=payload.zone,
            ends_on=payload.ends_on,
        )
    except ValidationError as exc:
        return invalid(exc)
    return Status(201, area)


@router.post(
    "/risk-areas/{area_id}/end", response={200: RiskAreaOut, 422: ErrorOut}, summary="解除风险地区（街道指挥部）"
)
def risk_area_end(request: HttpRequest, area_id: int, payload: RiskAreaEndIn) -> Any:
    user = require(request, STREET_TABLE_ROLES)
    area = editable(RiskArea.objects.all(), user, area_id)
    try:
        return rules.risk_area_end(area, ends_on=payload.ends_on or timezone.localdate(), actor=user)
    except ValidationError as exc:
        return invalid(exc)


class HealthSettingsOut(Schema):
    street_id: int
    morning_slot: datetime.time
    afternoon_slot: datetime.time
    report_deadline: datetime.time
    summary_due: datetime.time
    fever_threshold: Decimal
    risk_window_days: int
    status_window_days: int
    large_outbreak_cases: int
    due_community_notified: int
    due_street_informed: int
    due_centre_informed: int
    due_ambulance_sent: int
    due_at_fever_clinic: int
    due_cdc_informed: int
    unit_seal_reports_per_day: int = Field(description="封控单元（户）每日测温次数（1 或 2）")
    building_seal_reports_per_day: int = Field(description="封控楼栋每日测温次数（1 或 2）")
    updated_at: datetime.datetime


class HealthSettingsPatch(Schema):
    """Only the fields sent are changed (times as "09:00", minutes from the fever report)."""

    morning_slot: datetime.time | None = None
    afternoon_slot: datetime.time | None = None
    report_deadline: datetime.time | None = None
    summary_due: datetime.time | None = None
    fever_threshold: Decimal | None = None
    risk_window_days: int | None = None
    status_window_days: int | None = None
    large_outbreak_cases: int | None = None
    due_community_notified: int | None = None
    due_street_informed: int | None = None
    due_centre_informed: int | None = None
    due_ambulance_sent: int | None = None
    due_at_fever_clinic: int | None = None
    due_cdc_informed: int | None = None
    unit_seal_reports_per_day: int | None = None
    building_seal_reports_per_day: int | None = None


@router.get("/settings", response=HealthSettingsOut, summary="街道测温时间、发热阈值、分级统计天数与处置时限")
def settings_get(request: HttpRequest, street: int | None = None) -> HealthSettings:
    user = require(request, VIEW_ROLES)
    return rules.settings_for(street_for(user, street))


@router.patch("/settings", response={200: HealthSettingsOut, 422: ErrorOut}, summary="修改测温与处置设置（街道指挥部）")
def settings_patch(request: HttpRequest, payload: HealthSettingsPatch, street: int | None = None) -> Any:
    user, found = _table_editor(request, street)
    changes = payload.model_dump(exclude_unset=True)
    empty = [name for name, value in changes.items() if value is None]
    if empty:
        return invalid(ValidationError({name: [_("不能为空值")] for name in empty}))
    try:
        return rules.settings_update(found, actor=user, **changes)
    except ValidationError as exc:
        return invalid(exc)
