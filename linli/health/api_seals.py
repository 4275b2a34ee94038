"""The health API: seals (H7) and property emergency levels (H8) under /api/v1/health/ — suggestions,
sealing a household, unit or building, unsealing with its conditions, the levels' checklists
(docs/health.md)."""

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Model, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.pagination import PageNumberPagination, paginate

from linli.health import emergency as checklists
from linli.health import services
from linli.health.api_common import PAGE_SIZE, ErrorOut, editable, invalid, require, user_name, visible
from linli.health.choices import SealLevel
from linli.health.models import (
    Case,
    PropertyEmergency,
    Seal,
    SealedHousehold,
)
from linli.health.permissions import SEAL_ROLES, VIEW_ROLES
from linli.lib import scope
from linli.registry.models import Building, Community, Household, Unit

router = Router(tags=["health"])


# ----------------------------------------------------------------------------------------------
# Seals (H7)


class SuggestionOut(Schema):
    level: str
    level_label: str
    building_id: int | None
    unit_id: int | None
    name: str
    case_ids: list[int]
    reason: str


@router.get(
    "/communities/{community_id}/seal-suggestions",
    response=list[SuggestionOut],
    summary="封控建议：统计窗口内有确诊病例、尚未封控的单元（两个及以上单元则整栋）",
)
def seal_suggestions(request: HttpRequest, community_id: int) -> Any:
    user = require(request, VIEW_ROLES)
    community = visible(Community.objects.all(), user, community_id)
    return [
        {
            "level": item.level,
            "level_label": str(SealLevel(item.level).label),
            "building_id": item.building.pk if item.building else None,
            "unit_id": item.unit.pk if item.unit else None,
            "name": (item.building.name if item.building else "") + (item.unit.name if item.unit else ""),
            "case_ids": sorted(c.pk for c in item.cases),
            "reason": item.reason,
        }
        for item in services.seal_suggestions(community)
    ]


class SealedHouseholdOut(Schema):
    household_id: int
    address: str
    active: bool

    @staticmethod
    def resolve_address(obj: SealedHousehold) -> str:
        return obj.household.address


class ConditionOut(Schema):
    key: str
    label: str


class SealOut(Schema):
    id: int
    community_id: int
    level: str
    level_label: str
    building_id: int
    unit_id: int | None
    household_id: int | None
    target: str = Field(description="封控范围：楼栋、单元或户")
    case_id: int | None
    reason: str
    disinfections_per_day: int
    reports_per_day: int = Field(description="每日测温次数（封控时按街道设置）")
    sealed_at: datetime.datetime
    sealed_by: str
    active: bool
    unsealed_at: datetime.datetime | None
    unseal_conditions: dict[str, bool]
    unseal_note: str
    households: int

    @staticmethod
    def resolve_level_label(obj: Seal) -> str:
        return str(obj.get_level_display())

    @staticmethod
    def resolve_target(obj: Seal) -> str:
        if obj.household_id:
            return obj.household.address  # type: ignore[union-attr]
        if obj.unit_id:
            return f"{obj.building.name}{obj.unit.name}"  # type: ignore[union-attr]
        return obj.building.name

    @staticmethod
    def resolve_sealed_by(obj: Seal) -> str:
        return user_name(obj.sealed_by) if obj.sealed_by_id else ""

    @staticmethod
    def resolve_active(obj: Seal) -> bool:
        return obj.is_active

    @staticmethod
    def resolve_households(obj: Seal) -> int:
        counted = getattr(obj, "household_count", None)
        return int(counted) if counted is not None else obj.households.count()


class SealDetail(SealOut):
    sealed_households: list[SealedHouseholdOut]
    blockers: list[str] = Field(description="暂不能解封的原因")
    conditions: list[ConditionOut] = Field(description="解封须逐项确认的条件")

    @staticmethod
    def resolve_sealed_households(obj: Seal) -> list[SealedHousehold]:
        return list(
            SealedHousehold.objects.filter(seal=obj)
            .select_related("household__building", "household__unit")
            .order_by("pk")
        )

    @staticmethod
    def resolve_blockers(obj: Seal) -> list[str]:
        return services.unseal_blockers(obj) if obj.is_active else []

    @staticmethod
    def resolve_conditions(obj: Seal) -> list[dict[str, str]]:
        return [{"key": key, "label": str(label)} for key, label in services.UNSEAL_CONDITIONS.items()]


class SealIn(Schema):
    case_id: int | None = Field(default=None, description="引起封控的病例")
    reason: str = Field(default="", max_length=200)


class UnsealIn(Schema):
    conditions: dict[str, bool] = Field(description="tested、no_new_case、disinfected：均须为 true")
    note: str = Field(default="", max_length=200)


def _seals() -> QuerySet[Seal]:
    return Seal.objects.select_related("building", "unit", "household__building", "household__unit", "sealed_by")


@router.get("/seals", response=list[SealOut], summary="封控列表（可按社区、是否封控中筛选）")
@paginate(PageNumberPagination, page_size=PAGE_SIZE)
def seal_list(request: HttpRequest, community: int | None = None, active: bool | None = None) -> Any:
    user = require(request, VIEW_ROLES)
    qs = scope.visible(_seals(), user).annotate(household_count=Count("households"))
    if community is not None:
        qs = qs.filter(community_id=community)
    if active is not None:
        qs = qs.filter(unsealed_at__isnull=active)
    return qs.order_by("-sealed_at", "-pk")


@router.get("/seals/{seal_id}", response=SealDetail, summary="封控详情：封控户、解封条件与暂不能解封的原因")
def seal_detail(request: HttpRequest, seal_id: int) -> Any:
    user = require(request, VIEW_ROLES)
    return visible(_seals(), user, seal_id)


@router.post(
    "/seals/{seal_id}/release",
    response={200: SealDetail, 422: ErrorOut},
    summary="解封：逐项确认条件（检测均阴性、无新增病例、终末消毒）",
)
def seal_release(request: HttpRequest, seal_id: int, payload: UnsealIn) -> Any:
    user = require(request, SEAL_ROLES)
    seal = editable(_seals(), user, seal_id)
    try:
        services.seal_release(seal, conditions=payload.conditions, note=payload.note, actor=user)
    except ValidationError as exc:
        return invalid(exc)
    return _seals().get(pk=seal.pk)


def _seal(request: HttpRequest, level: str, model: type[Model], pk: int, payload: SealIn) -> Any:
    """Seal a household, unit or building in the caller's editable scope (H7)."""
    user = require(request, SEAL_ROLES)
    target: Any = editable(model._default_manager.all(), user, pk)
    case = None
    if payload.case_id is not None:
        case = (
            scope.visible(Case.objects.all(), user).filter(pk=payload.case_id, community_id=target.community_id).first()
        )
        if case is None:
            return invalid(ValidationError({"case_id": [_("未找到该病例，或病例不属于本社区")]}))
    try:
        seal = services.seal_create(level=level, target=target, actor=user, case=case, reason=payload.reason.strip())
    except ValidationError as exc:
        return invalid(exc)
    return Status(201, _seals().get(pk=seal.pk))


SEAL_SUMMARY = "封控：本户通行证暂停、生活物资无接触配送、全员核酸、每日测温一次"


@router.post(
    "/households/{household_id}/seal", response={201: SealDetail, 422: ErrorOut}, summary=f"封控一户（{SEAL_SUMMARY}）"
)
def seal_household(request: HttpRequest, household_id: int, payload: SealIn) -> Any:
    return _seal(request, SealLevel.HOUSEHOLD, Household, household_id, payload)


@router.post(
    "/units/{unit_id}/seal", response={201: SealDetail, 422: ErrorOut}, summary=f"封控一个单元（{SEAL_SUMMARY}）"
)
def seal_unit(request: HttpRequest, unit_id: int, payload: SealIn) -> Any:
    return _seal(request, SealLevel.UNIT, Unit, unit_id, payload)


@router.post(
    "/buildings/{building_id}/seal", response={201: SealDetail, 422: ErrorOut}, summary=f"封控整栋楼（{SEAL_SUMMARY}）"
)
def seal_building(request: HttpRequest, building_id: int, payload: SealIn) -> Any:
    return _seal(request, SealLevel.BUILDING, Building, building_id, payload)


# ----------------------------------------------------------------------------------------------
# Property emergency levels (H8)


class ChecklistItemOut(Schema):
    code: str
    text: str
    derived: bool = Field(description="方案未逐条写明，由其第 4–7 节推出")
    done: bool


class EmergencyOut(Schema):
    id: int
    community_id: int
    company: str
    level: int
    level_label: str
    set_at: datetime.datetime
    set_by: str
    ended_at: datetime.datetime | None
    active: bool
    done: int
    total: int
    checklist: list[ChecklistItemOut]

    @staticmethod
    def resolve_level_label(obj: PropertyEmergency) -> str:
        return str(obj.get_level_display())

    @staticmethod
    def resolve_set_by(obj: PropertyEmergency) -> str:
        return user_name(obj.set_by) if obj.set_by_id else ""

    @staticmethod
    def resolve_active(obj: PropertyEmergency) -> bool:
        return obj.ended_at is None

    @staticmethod
    def resolve_done(obj: PropertyEmergency) -> int:
        return checklists.progress(obj)[0]

    @staticmethod
    def resolve_total(obj: PropertyEmergency) -> int:
        return checklists.progress(obj)[1]

    @staticmethod
    def resolve_checklist(obj: PropertyEmergency) -> list[dict[str, Any]]:
        return [
            {"code": item.code, "text": str(item.text), "derived": item.derived, "done": done}
            for item, done in checklists.checklist(obj)
        ]


class EmergencyIn(Schema):
    company: str = Field(max_length=100, description="物业公司")
    level: int = Field(description="3 三级（预警）/ 2 二级（高度戒备）/ 1 一级（紧急）")


class TickIn(Schema):
    item: str = Field(description="清单事项代码，如 l3_meeting")
    done: bool = True


def _emergencies() -> QuerySet[PropertyEmergency]:
    return PropertyEmergency.objects.select_related("set_by")


@router.get("/emergencies", response=list[EmergencyOut], summary="物业应急等级（可按社区、是否在启动中筛选）")
@paginate(PageNumberPagination, page_size=PAGE_SIZE)
def emergency_list(request: HttpRequest, community: int | None = None, active: bool | None = None) -> Any:
    user = require(request, VIEW_ROLES)
    qs = scope.visible(_emergencies(), user)
    if community is not None:
        qs = qs.filter(community_id=community)
    if active is not None:
        qs = qs.filter(ended_at__isnull=active)
    return qs.order_by("-set_at", "-pk")


@router.post(
    "/communities/{community_id}/emergencies",
    response={201: EmergencyOut, 422: ErrorOut},
    summary="启动（或调整）物业公司应急等级，原等级同时结束",
)
def emergency_create(request: HttpRequest, community_id: int, payload: EmergencyIn) -> Any:
    user = require(request, SEAL_ROLES)
    community = editable(Community.objects.all(), user, community_id)
    try:
        found = services.emergency_set(community=community, company=payload.company, level=payload.level, actor=user)
    except ValidationError as exc:
        return invalid(exc)
    return Status(201, _emergencies().get(pk=found.pk))


@router.get("/emergencies/{emergency_id}", response=EmergencyOut, summary="应急等级及其处置清单")
def emergency_detail(request: HttpRequest, emergency_id: int) -> Any:
    user = require(request, VIEW_ROLES)
    return visible(_emergencies(), user, emergency_id)


@router.post(
    "/emergencies/{emergency_id}/tick",
    response={200: EmergencyOut, 422: ErrorOut},
    summary="勾选（或取消）处置清单事项",
)
def emergency_tick(request: HttpRequest, emergency_id: int, payload: TickIn) -> Any:
    user = require(request, SEAL_ROLES)
    found = editable(_emergencies(), user, emergency_id)
    try:
        services.emergency_tick(found, item=payload.item, done=payload.done, actor=user)
    except ValidationError as exc:
        return invalid(exc)
    return _emergencies().get(pk=found.pk)
