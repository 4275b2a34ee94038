"""The health API: key persons and their quarantine orders under /api/v1/health/ (SPEC H1, H2, H4) —
registration (by category or from the risk areas), tests, extensions, ends and the two release
signatures (docs/health.md)."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.pagination import PageNumberPagination, paginate

from linli.health import services
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
from linli.health.api_tables import RiskAreaOut
from linli.health.models import (
    IsolationSite,
    KeyPerson,
    OrderExtension,
    QuarantineOrder,
    ReleaseSignature,
    TestTask,
)
from linli.health.permissions import (
    REGISTER_ROLES,
    SIGN_ROLES,
    TEST_ROLES,
    VIEW_ROLES,
)
from linli.lib import scope
from linli.registry.models import Person

router = Router(tags=["health"])


# ----------------------------------------------------------------------------------------------
# Key persons and orders (H1, H2, H4)


class TestOut(Schema):
    id: int
    person_id: int
    order_id: int | None
    seal_id: int | None
    sequence: int
    due_on: datetime.date
    result: str
    result_label: str
    sampled_at: datetime.datetime | None
    result_at: datetime.datetime | None

    @staticmethod
    def resolve_result_label(obj: TestTask) -> str:
        return str(obj.get_result_display())


class OrderBrief(Schema):
    id: int
    status: str
    status_label: str
    place: str
    place_label: str
    starts_on: datetime.date
    planned_end: datetime.date

    @staticmethod
    def resolve_status_label(obj: QuarantineOrder) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_place_label(obj: QuarantineOrder) -> str:
        return str(obj.get_place_display())


class KeyPersonOut(Schema):
    id: int
    person_id: int
    person: PersonBrief
    household_id: int
    community_id: int
    category: str
    category_label: str
    origin: str
    arrived_on: datetime.date | None
    risk_level: str
    risk_reason: str
    case_id: int | None
    note: str
    active: bool
    registered_at: datetime.datetime
    order: OrderBrief | None = Field(description="最近一次隔离医学观察")

    @staticmethod
    def resolve_category_label(obj: KeyPerson) -> str:
        return str(obj.get_category_display())

    @staticmethod
    def resolve_order(obj: KeyPerson) -> QuarantineOrder | None:
        return next(iter(obj.orders.all()), None)


class QuarantineOrderOut(Schema):
    id: int
    person_id: int
    person: PersonBrief
    household_id: int
    community_id: int
    key_person_id: int | None
    category: str
    category_label: str
    place: str
    place_label: str
    site: str | None
    room: str
    starts_on: datetime.date = Field(description="第 1 天")
    days: int
    planned_end: datetime.date = Field(description="期满可解除的日期：开始日期加天数")
    reports_per_day: int
    status: str
    status_label: str
    holds_pass: bool = Field(description="本户通行证是否因此暂停（居家隔离、居家观察）")
    created_at: datetime.datetime
    ended_at: datetime.datetime | None
    end_note: str

    @staticmethod
    def resolve_category_label(obj: QuarantineOrder) -> str:
        return str(obj.get_category_display())

    @staticmethod
    def resolve_place_label(obj: QuarantineOrder) -> str:
        return str(obj.get_place_display())

    @staticmethod
    def resolve_site(obj: QuarantineOrder) -> str | None:
        return obj.site.name if obj.site is not None else None

    @staticmethod
    def resolve_status_label(obj: QuarantineOrder) -> str:
        return str(obj.get_status_display())


class SignatureOut(Schema):
    role: str = Field(description="cadre 责任干部 / medic 医务人员")
    role_label: str
    signer: str
    signed_at: datetime.datetime

    @staticmethod
    def resolve_role_label(obj: ReleaseSignature) -> str:
        return _("责任干部") if obj.role == services.SIGN_CADRE else _("医务人员")

    @staticmethod
    def resolve_signer(obj: ReleaseSignature) -> str:
        return user_name(obj.signer)


class ExtensionOut(Schema):
    days: int
    reason: str
    previous_end: datetime.date
    new_end: datetime.date
    created_at: datetime.datetime


class OrderDetail(QuarantineOrderOut):
    tests: list[TestOut]
    extensions: list[ExtensionOut]
    signatures: list[SignatureOut]
    signatures_missing: list[str] = Field(description="还需要的签字：cadre、medic")
    blockers: list[str] = Field(description="暂不能解除的原因（为空且两人签字即解除）")

    @staticmethod
    def resolve_tests(obj: QuarantineOrder) -> list[TestTask]:
        return list(TestTask.objects.filter(order=obj).order_by("sequence", "pk"))

    @staticmethod
    def resolve_extensions(obj: QuarantineOrder) -> list[OrderExtension]:
        return list(obj.extensions.all())

    @staticmethod
    def resolve_signatures(obj: QuarantineOrder) -> list[ReleaseSignature]:
        return list(obj.signatures.select_related("signer").order_by("signed_at", "pk"))

    @staticmethod
    def resolve_signatures_missing(obj: QuarantineOrder) -> list[str]:
        if not obj.is_active:
            return []
        signed = set(obj.signatures.values_list("role", flat=True))
        return [role for role in (services.SIGN_CADRE, services.SIGN_MEDIC) if role not in signed]

    @staticmethod
    def resolve_blockers(obj: QuarantineOrder) -> list[str]:
        return services.release_blockers(obj) if obj.is_active else []


def _orders() -> QuerySet[QuarantineOrder]:
    return QuarantineOrder.objects.select_related("site", *PERSON_RELATED)


class FindingOut(Schema):
    level: str | None
    reason: str
    areas: list[RiskAreaOut]


class RegistrationOut(Schema):
    key_person: KeyPersonOut
    order: OrderDetail | None
    finding: FindingOut | None = Field(description="自动判定时：按哪个风险地区判定")
    tests: list[TestOut] = Field(description="无需隔离时安排的核酸查验（如低风险地区返乡人员）")


class RegisterIn(Schema):
    category: str | None = Field(
        default=None, description="人员类别；留空或 auto 按出发地和行程记录对照风险地区自动判定（H1）"
    )
    origin: str = Field(default="", max_length=100, description="出发地（区县）")
    arrived_on: datetime.date | None = Field(default=None, description="到达日期：隔离从这一天算起（第 1 天）")
    starts_on: datetime.date | None = Field(default=None, description="隔离开始日期（如密接的末次接触日）")
    note: str = Field(default="", max_length=200)
    site_id: int | None = Field(default=None, description="集中隔离点")
    room: str = Field(default="", max_length=20)


def _key_persons() -> QuerySet[KeyPerson]:
    return KeyPerson.objects.select_related(*PERSON_RELATED).prefetch_related(
        Prefetch("orders", queryset=QuarantineOrder.objects.order_by("-pk"))
    )


@router.get("/key-persons", response=list[KeyPersonOut], summary="重点人员列表（可按类别、隔离状态、社区、姓名筛选）")
@paginate(PageNumberPagination, page_size=PAGE_SIZE)
def key_person_list(
    request: HttpRequest,
    category: str | None = None,
    status: str | None = None,
    community: int | None = None,
    active: bool | None = None,
    q: str | None = None,
) -> Any:
    user = require(request, VIEW_ROLES)
    qs = scope.visible(_key_persons(), user)
    if category:
        qs = qs.filter(category=category)
    if status == "none":
        qs = qs.filter(~Exists(QuarantineOrder.objects.filter(key_person=OuterRef("pk"))))
    elif status:
        qs = qs.filter(Exists(QuarantineOrder.objects.filter(key_person=OuterRef("pk"), status=status)))
    if community is not None:
        qs = qs.filter(community_id=community)
    if active is not None:
        qs = qs.filter(active=active)
    if q and q.strip():
        qs = qs.filter(person__name__contains=q.strip())
    return qs.order_by("-registered_at", "-pk")


@router.post(
    "/people/{person_id}/key-person",
    response={201: RegistrationOut, 422: ErrorOut},
    summary="登记重点人员：按类别或自动判定，按规则表开始隔离医学观察",
)
def key_person_register(request: HttpRequest, person_id: int, payload: RegisterIn) -> Any:
    user = require(request, REGISTER_ROLES)
    person = editable(Person.objects.select_related("household"), user, person_id)
    category = payload.category if payload.category not in (None, "", "auto") else None
    site = None
    if payload.site_id is not None:
        site = scope.visible(IsolationSite.objects.all(), user).filter(pk=payload.site_id).first()
        if site is None:
            return invalid(ValidationError({"site_id": [_("未找到该集中隔离点")]}))
    try:
        registration = services.key_person_register(
            person,
            category=category,
            actor=user,
            origin=payload.origin.strip(),
            arrived_on=payload.arrived_on,
            starts_on=payload.starts_on,
            note=payload.note.strip(),
            site=site,
            room=payload.room.strip(),
        )
    except ValidationError as exc:
        return invalid(exc)
    finding = registration.finding
    return Status(
        201,
        {
            "key_person": _key_persons().get(pk=registration.key_person.pk),
            "order": _orders().get(pk=registration.order.pk) if registration.order else None,
            "finding": {"level": finding.level, "reason": finding.reason, "areas": list(finding.areas)}
            if finding
            else None,
            "tests": registration.tests,
        },
    )


@router.get("/orders", response=list[QuarantineOrderOut], summary="隔离医学观察列表（可按状态、类别、方式、社区筛选）")
@paginate(PageNumberPagination, page_size=PAGE_SIZE)
def order_list(
    request: HttpRequest,
    status: str | None = None,
    category: str | None = None,
    place: str | None = None,
    community: int | None = None,
    q: str | None = None,
) -> Any:
    user = require(request, VIEW_ROLES)
    qs = scope.visible(_orders(), user)
    for field, value in (("status", status), ("category", category), ("place", place)):
        if value:
            qs = qs.filter(**{field: value})
    if community is not None:
        qs = qs.filter(community_id=community)
    if q and q.strip():
        qs = qs.filter(person__name__contains=q.strip())
    return qs.order_by("-starts_on", "-pk")


@router.get("/orders/{order_id}", response=OrderDetail, summary="隔离详情：检测、延期、签字与不能解除的原因")
def order_detail(request: HttpRequest, order_id: int) -> Any:
    user = require(request, VIEW_ROLES)
    return visible(_orders(), user, order_id)


class SignOut(Schema):
    released: bool = Field(description="两人签字已齐，已解除")
    signature: SignatureOut
    order: OrderDetail


@router.post(
    "/orders/{order_id}/sign",
    response={200: SignOut, 422: ErrorOut},
    summary="签字解除隔离（责任干部、医务人员各一人；第二人签字即解除）",
)
def order_sign(request: HttpRequest, order_id: int) -> Any:
    user = require(request, SIGN_ROLES)
    order = editable(_orders(), user, order_id)
    try:
        outcome = services.release_sign(order, actor=user)
    except ValidationError as exc:
        return invalid(exc)
    return {"released": outcome.released, "signature": outcome.signature, "order": _orders().get(pk=order.pk)}


class ExtendIn(Schema):
    days: int = Field(description="延长天数（1–60）")
    reason: str = Field(max_length=200, description="延期原因")


@router.post("/orders/{order_id}/extend", response={200: OrderDetail, 422: ErrorOut}, summary="延长隔离（需写明原因）")
def order_extend(request: HttpRequest, order_id: int, payload: ExtendIn) -> Any:
    user = require(request, REGISTER_ROLES)
    order = editable(_orders(), user, order_id)
    try:
        services.order_extend(order, days=payload.days, reason=payload.reason, actor=user)
    except ValidationError as exc:
        return invalid(exc)
    return _orders().get(pk=order.pk)


class EndIn(Schema):
    status: str = Field(description="transferred 已转运 / cancelled 已撤销（期满解除请签字）")
    note: str = Field(max_length=200, description="说明")


@router.post("/orders/{order_id}/end", response={200: OrderDetail, 422: ErrorOut}, summary="结束隔离：转运或撤销")
def order_end(request: HttpRequest, order_id: int, payload: EndIn) -> Any:
    user = require(request, REGISTER_ROLES)
    order = editable(_orders(), user, order_id)
    try:
        services.order_end(order, status=payload.status, note=payload.note, actor=user)
    except ValidationError as exc:
        return invalid(exc)
    return _orders().get(pk=order.pk)


class ResultIn(Schema):
    result: str = Field(description="negative 阴性 / positive 阳性")


@router.post("/tests/{test_id}/result", response={200: TestOut, 422: ErrorOut}, summary="录入核酸检测结果")
def test_result(request: HttpRequest, test_id: int, payload: ResultIn) -> Any:
    user = require(request, TEST_ROLES)
    task = editable(TestTask.objects.all(), user, test_id)
    try:
        return services.test_result_record(task, result=payload.result, actor=user)
    except ValidationError as exc:
        return invalid(exc)
