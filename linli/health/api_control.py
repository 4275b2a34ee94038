"""The health API: cases (H5, H6) under /api/v1/health/ — cases with their close contacts and epidemic
points, and the community epidemic status they make (docs/health.md)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.pagination import PageNumberPagination, paginate

from linli.health import rules, services
from linli.health.api_common import PAGE_SIZE, ErrorOut, address_of, editable, invalid, require, visible
from linli.health.choices import CommunityStatus, OrderStatus
from linli.health.models import (
    Case,
    CloseContact,
    EpidemicPoint,
    IsolationSite,
    QuarantineOrder,
    StatusRecord,
)
from linli.health.permissions import CASE_ROLES, VIEW_ROLES
from linli.lib import scope
from linli.registry.models import Community, Household, Person

router = Router(tags=["health"])

HISTORY_LIMIT = 50


# ----------------------------------------------------------------------------------------------
# Cases, close contacts, epidemic points (H5, H6)


class ContactOut(Schema):
    id: int
    case_id: int
    person_id: int | None
    name: str
    kind: str
    kind_label: str
    last_contact_on: datetime.date | None
    key_person_id: int | None
    order_id: int | None = Field(description="该人员进行中的隔离医学观察")
    created_at: datetime.datetime

    @staticmethod
    def resolve_kind_label(obj: CloseContact) -> str:
        return str(obj.get_kind_display())

    @staticmethod
    def resolve_order_id(obj: CloseContact) -> int | None:
        if obj.person_id is None:
            return None
        return (
            QuarantineOrder.objects.filter(person_id=obj.person_id, status=OrderStatus.ACTIVE)
            .values_list("pk", flat=True)
            .first()
        )


class PointOut(Schema):
    id: int
    case_id: int
    kind: str
    kind_label: str
    place: str
    household_id: int | None
    visited_on: datetime.date
    hours: Decimal
    note: str

    @staticmethod
    def resolve_kind_label(obj: EpidemicPoint) -> str:
        return str(obj.get_kind_display())


class CaseOut(Schema):
    id: int
    community_id: int
    name: str
    kind: str
    kind_label: str
    person_id: int | None
    household_id: int | None
    address: str
    onset_date: datetime.date | None
    confirmed_on: datetime.date
    isolated_on: datetime.date | None
    source: str
    source_label: str
    source_note: str
    cluster: str
    note: str
    created_at: datetime.datetime

    @staticmethod
    def resolve_kind_label(obj: Case) -> str:
        return str(obj.get_kind_display())

    @staticmethod
    def resolve_source_label(obj: Case) -> str:
        return str(obj.get_source_display())

    @staticmethod
    def resolve_address(obj: Case) -> str:
        return obj.address or address_of(obj.household)


class OnsetWindowOut(Schema):
    start: datetime.date
    end: datetime.date


class CaseDetail(CaseOut):
    contacts: list[ContactOut]
    points: list[PointOut]
    point_window: OnsetWindowOut | None = Field(description="疫点的时间范围：发病前 3 天至隔离（H6）")

    @staticmethod
    def resolve_contacts(obj: Case) -> list[CloseContact]:
        return list(obj.contacts.order_by("pk"))

    @staticmethod
    def resolve_points(obj: Case) -> list[EpidemicPoint]:
        return list(obj.points.order_by("visited_on", "pk"))

    @staticmethod
    def resolve_point_window(obj: Case) -> dict[str, datetime.date] | None:
        window = services.point_window(obj)
        return {"start": window[0], "end": window[1]} if window else None


class CaseIn(Schema):
    name: str = Field(default="", max_length=50, description="姓名；关联人员时可留空")
    kind: str = Field(default="confirmed", description="confirmed 确诊病例 / asymptomatic 无症状感染者")
    source: str = Field(description="known 来源明确 / unknown 来源不明")
    confirmed_on: datetime.date | None = Field(default=None, description="确诊（报告）日期，留空为今天")
    person_id: int | None = Field(default=None, description="本社区台账中的人员")
    onset_date: datetime.date | None = None
    isolated_on: datetime.date | None = None
    source_note: str = Field(default="", max_length=200)
    cluster: str = Field(default="", max_length=100, description="聚集范围：同一家庭、场所的病例填同一名称")
    address: str = Field(default="", max_length=200)
    note: str = Field(default="", max_length=200)


class ContactIn(Schema):
    kind: str = Field(default="home", description="home 共同居住 / class / work / carer / vehicle / other")
    last_contact_on: datetime.date | None = Field(default=None, description="末次接触日期：集中观察从这一天算起")
    as_key_person: bool = Field(default=True, description="同时登记为重点人员（密切接触者）并开始集中医学观察")
    site_id: int | None = Field(default=None, description="集中隔离点")


class PointIn(Schema):
    kind: str = Field(
        default="household", description="household / office / vehicle / flight / ward / building / other"
    )
    place: str = Field(max_length=200)
    visited_on: datetime.date
    hours: float | str = Field(description="停留小时数（超过 1 小时才列为疫点）")
    household_id: int | None = None
    note: str = Field(default="", max_length=200)


def _cases() -> QuerySet[Case]:
    return Case.objects.select_related("household__building", "household__unit")


@router.get("/cases", response=list[CaseOut], summary="病例列表（可按社区、类型筛选）")
@paginate(PageNumberPagination, page_size=PAGE_SIZE)
def case_list(request: HttpRequest, community: int | None = None, kind: str | None = None) -> Any:
    user = require(request, VIEW_ROLES)
    qs = scope.visible(_cases(), user)
    if community is not None:
        qs = qs.filter(community_id=community)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-confirmed_on", "-pk")


@router.post(
    "/communities/{community_id}/cases",
    response={201: CaseDetail, 422: ErrorOut},
    summary="登记病例（确诊或无症状），重新判定社区疫情分级",
)
def case_create(request: HttpRequest, community_id: int, payload: CaseIn) -> Any:
    user = require(request, CASE_ROLES)
    community = editable(Community.objects.all(), user, community_id)
    person = None
    if payload.person_id is not None:
        person = (
            scope.visible(Person.objects.select_related("household"), user)
            .filter(pk=payload.person_id, household__community_id=community.pk)
            .first()
        )
        if person is None:
            return invalid(ValidationError({"person_id": [_("该人员不属于本社区")]}))
    try:
        case = services.case_record(
            community=community,
            name=payload.name,
            kind=payload.kind,
            confirmed_on=payload.confirmed_on or timezone.localdate(),
            source=payload.source,
            actor=user,
            person=person,
            onset_date=payload.onset_date,
            isolated_on=payload.isolated_on,
            source_note=payload.source_note,
            cluster=payload.cluster,
            address=payload.address,
            note=payload.note,
        )
    except ValidationError as exc:
        return invalid(exc)
    return Status(201, _cases().get(pk=case.pk))


@router.get("/cases/{case_id}", response=CaseDetail, summary="病例详情：密切接触者、疫点")
def case_detail(request: HttpRequest, case_id: int) -> Any:
    user = require(request, VIEW_ROLES)
    return visible(_cases(), user, case_id)


@router.post(
    "/cases/{case_id}/contacts/{person_id}",
    response={201: ContactOut, 422: ErrorOut},
    summary="登记密切接触者，并登记为重点人员、开始集中医学观察（H6）",
)
def contact_create(request: HttpRequest, case_id: int, person_id: int, payload: ContactIn) -> Any:
    user = require(request, CASE_ROLES)
    case = editable(_cases(), user, case_id)
    person = editable(Person.objects.select_related("household"), user, person_id)
    site = None
    if payload.site_id is not None:
        site = scope.visible(IsolationSite.objects.all(), user).filter(pk=payload.site_id).first()
        if site is None:
            return invalid(ValidationError({"site_id": [_("未找到该集中隔离点")]}))
    try:
        contact = services.contact_add(
            case,
            person=person,
            kind=payload.kind,
            actor=user,
            last_contact_on=payload.last_contact_on,
            register=payload.as_key_person,
            site=site,
        )
    except ValidationError as exc:
        return invalid(exc)
    return Status(201, contact)


@router.post("/cases/{case_id}/points", response={201: PointOut, 422: ErrorOut}, summary="登记疫点（停留超过 1 小时）")
def point_create(request: HttpRequest, case_id: int, payload: PointIn) -> Any:
    user = require(request, CASE_ROLES)
    case = editable(_cases(), user, case_id)
    household = None
    if payload.household_id is not None:
        household = scope.visible(Household.objects.all(), user).filter(pk=payload.household_id).first()
        if household is None:
            return invalid(ValidationError({"household_id": [_("未找到该住户")]}))
    try:
        point = services.point_add(
            case,
            kind=payload.kind,
            place=payload.place,
            visited_on=payload.visited_on,
            hours=payload.hours,
            actor=user,
            household=household,
            note=payload.note,
        )
    except ValidationError as exc:
        return invalid(exc)
    return Status(201, point)


# ----------------------------------------------------------------------------------------------
# The community epidemic status (H5)


class MeasureOut(Schema):
    number: int
    name: str


class StatusRecordOut(Schema):
    status: str
    status_label: str
    explanation: str
    case_ids: list[int]
    since: datetime.datetime

    @staticmethod
    def resolve_status_label(obj: StatusRecord) -> str:
        return str(obj.get_status_display())


class StatusOut(Schema):
    community_id: int
    community: str
    as_of: datetime.date
    window_days: int
    status: str
    status_label: str
    strategy: str
    measures: list[MeasureOut]
    explanation: str
    case_ids: list[int] = Field(description="统计窗口内计入的确诊病例")
    outbreaks: list[list[int]] = Field(description="每起暴发的病例")
    sporadic_unknown: list[int] = Field(description="来源不明的散发病例")
    history: list[StatusRecordOut]


@router.get(
    "/communities/{community_id}/status",
    response=StatusOut,
    summary="社区疫情分级：状态、策略、措施、判定依据、相关病例与变化记录",
)
def community_status(request: HttpRequest, community_id: int) -> Any:
    user = require(request, VIEW_ROLES)
    community = visible(Community.objects.all(), user, community_id)
    now = timezone.now()
    finding = services.status_of(community, now=now)
    settings = rules.settings_for(community.street_id)
    return {
        "community_id": community.pk,
        "community": community.name,
        "as_of": timezone.localdate(now),
        "window_days": settings.status_window_days,
        "status": finding.status,
        "status_label": str(CommunityStatus(finding.status).label),
        "strategy": finding.strategy,
        "measures": [{"number": number, "name": name} for number, name in finding.measures],
        "explanation": finding.explanation,
        "case_ids": finding.case_ids,
        "outbreaks": [sorted(c.pk for c in group) for group in finding.outbreaks],
        "sporadic_unknown": sorted(c.pk for c in finding.sporadic_unknown),
        "history": list(StatusRecord.objects.filter(community=community).order_by("-since", "-pk")[:HISTORY_LIMIT]),
    }
