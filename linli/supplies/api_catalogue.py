"""Supplies API: suppliers, catalogues, order windows, offers and schedules (S1, S2; docs/supplies.md).

Roles are ``linli.supplies.permissions`` (403 outside); records are scoped by ``linli.lib.scope``
(out of scope is 404, like missing); a service's refusal is 422 with the Chinese messages in ``detail``.
Supplier staff see their own supplier's records only.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from linli.accounts.models import User
from linli.lib import scope
from linli.lib.apiutil import ErrorOut
from linli.lib.wording import sentences
from linli.registry.models import Community, Street
from linli.supplies.models import BundlePart, Item, Offer, OrderWindow, Supplier, WindowSchedule
from linli.supplies.permissions import CATALOGUE_ROLES, STREET_ROLES, VIEW_ROLES, WINDOW_ROLES, has_role
from linli.supplies.services import catalogue

router = Router(tags=["supplies-catalogue"])

M = TypeVar("M", bound=Model)
LIST_LIMIT = 500

# Who reads windows and schedules: those who run them, and the supplier's own staff.
WINDOW_VIEW_ROLES = WINDOW_ROLES | CATALOGUE_ROLES


# ----------------------------------------------------------------------------------------------
# Shared by the supplies routers of this helper (api_stock imports these)


def require(request: HttpRequest, roles: frozenset[str]) -> Any:
    user: Any = request.user
    if not has_role(user, roles):
        raise HttpError(403, _("您的角色不能使用该功能"))
    return user


def not_found() -> HttpError:
    return HttpError(404, _("未找到该记录，或不在您的负责范围内"))


def visible_one(qs: QuerySet[M], user: Any, pk: int) -> M:
    found = scope.visible(qs, user).filter(pk=pk).first()
    if found is None:
        raise not_found()
    return found


def editable_one(qs: QuerySet[M], user: Any, pk: int) -> M:
    """A record the caller may change: 404 when it is not visible, 403 when visible but read-only."""
    found = visible_one(qs, user, pk)
    if not scope.can_edit(found, user):
        raise HttpError(403, _("您只能查看，不能修改本记录"))
    return found


def invalid(exc: ValidationError) -> Status[dict[str, Any]]:
    errors = (
        {key: [str(m) for m in messages] for key, messages in exc.message_dict.items()}
        if hasattr(exc, "error_dict")
        else {"__all__": [str(m) for m in exc.messages]}
    )
    return Status(422, {"detail": sentences(m for messages in errors.values() for m in messages), "errors": errors})


def street_of(user: Any) -> Street:
    """The caller's street (a superuser: the first)."""
    if getattr(user, "street_id", None):
        return Street.objects.get(pk=user.street_id)
    street = Street.objects.order_by("pk").first() if scope.is_unrestricted(user) else None
    if street is None:
        raise not_found()
    return street


# ----------------------------------------------------------------------------------------------
# Suppliers


class SupplierOut(Schema):
    id: int
    street_id: int
    name: str
    contact_name: str
    contact_phone: str
    address: str
    payment_code: str
    is_active: bool
    community_ids: list[int]
    staff: list[dict[str, Any]] = Field(description="关联的商超员工账号")

    @staticmethod
    def resolve_community_ids(obj: Supplier) -> list[int]:
        return sorted(c.pk for c in obj.communities.all())

    @staticmethod
    def resolve_staff(obj: Supplier) -> list[dict[str, Any]]:
        return [{"id": u.pk, "name": str(u)} for u in User.objects.filter(supplier=obj).order_by("pk")]


class SupplierIn(Schema):
    name: str = Field(max_length=100)
    community_ids: list[int] = Field(default=[], description="服务社区（本街道内）")
    contact_name: str = Field(default="", max_length=50)
    contact_phone: str = Field(default="", max_length=11)
    address: str = Field(default="", max_length=200)
    payment_code: str = Field(default="", max_length=500, description="收款码内容或付款链接")


class SupplierPatch(Schema):
    name: str | None = Field(default=None, max_length=100)
    community_ids: list[int] | None = None
    contact_name: str | None = Field(default=None, max_length=50)
    contact_phone: str | None = Field(default=None, max_length=11)
    address: str | None = Field(default=None, max_length=200)
    payment_code: str | None = Field(default=None, max_length=500)
    is_active: bool | None = None


class StaffIn(Schema):
    user_id: int
    unlink: bool = Field(default=False, description="true：解除关联")


def _communities(user: Any, street: Street, ids: list[int]) -> list[Community]:
    found = list(scope.visible(Community.objects.filter(street=street), user).filter(pk__in=ids))
    if len(found) != len(set(ids)):
        raise not_found()
    return found


@router.get("/suppliers", response=list[SupplierOut], summary="保供商超列表")
def supplier_list(request: HttpRequest) -> Any:
    user = require(request, VIEW_ROLES)
    return list(scope.visible(Supplier.objects.prefetch_related("communities"), user).order_by("name")[:LIST_LIMIT])


@router.post("/suppliers", response={201: SupplierOut, 422: ErrorOut}, summary="指定保供商超（街道指挥部）")
def supplier_create(request: HttpRequest, payload: SupplierIn) -> Any:
    user = require(request, STREET_ROLES)
    street = street_of(user)
    communities = _communities(user, street, payload.community_ids)
    data = payload.dict(exclude={"community_ids", "name"})
    try:
        supplier = catalogue.supplier_create(
            street=street, name=payload.name, communities=communities, actor=user, **data
        )
    except ValidationError as exc:
        return invalid(exc)
    return Status(201, supplier)


@router.get("/suppliers/{supplier_id}", response=SupplierOut, summary="保供商超详情")
def supplier_detail(request: HttpRequest, supplier_id: int) -> Any:
    user = require(request, VIEW_ROLES)
    return visible_one(Supplier.objects.all(), user, supplier_id)


@router.patch("/suppliers/{supplier_id}", response={200: SupplierOut, 422: ErrorOut}, summary="修改保供商超")
def supplier_update(request: HttpRequest, supplier_id: int, payload: SupplierPatch) -> Any:
    user = require(request, STREET_ROLES)
    supplier = editable_one(Supplier.objects.select_related("street"), user, supplier_id)
    data = payload.dict(exclude_unset=True, exclude={"community_ids"})
    data = {k: v for k, v in data.items() if v is not None}
    communities = None
    if payload.community_ids is not None:
        communities = _communities(user, supplier.street, payload.community_ids)
    try:
        return catalogue.supplier_update(supplier, actor=user, communities=communities, **data)
    except ValidationError as exc:
        return invalid(exc)


@router.post("/suppliers/{supplier_id}/staff", response={200: SupplierOut, 422: ErrorOut}, summary="关联商超员工账号")
def supplier_staff(request: HttpRequest, supplier_id: int, payload: StaffIn) -> Any:
    user = require(request, STREET_ROLES)
    supplier = editable_one(Supplier.objects.select_related("street"), user, supplier_id)
    # Supplier accounts have no place in the tree: the street command links any of them (by id).
    account = User.objects.filter(pk=payload.user_id).first()
    if account is None:
        raise not_found()
    try:
        if payload.unlink:
            catalogue.supplier_staff_unlink(supplier, account, actor=user)
        else:
            catalogue.supplier_staff_link(supplier, account, actor=user)
    except ValidationError as exc:
        return invalid(exc)
    return supplier


# ----------------------------------------------------------------------------------------------
# Items and bundles


class PartOut(Schema):
    part_id: int
    name: str
    quantity: Decimal

    @staticmethod
    def resolve_name(obj: BundlePart) -> str:
        return obj.part.name


class ItemOut(Schema):
    id: int
    supplier_id: int
    name: str
    category: str
    category_label: str
    unit: str
    price: Decimal
    stock: int
    per_household_limit: int | None
    is_bundle: bool
    description: str
    is_active: bool
    parts: list[PartOut]

    @staticmethod
    def resolve_category_label(obj: Item) -> str:
        return str(obj.get_category_display())

    @staticmethod
    def resolve_parts(obj: Item) -> list[BundlePart]:
        return list(obj.parts.select_related("part").order_by("pk")) if obj.is_bundle else []


class ItemIn(Schema):
    supplier_id: int
    name: str = Field(max_length=100)
    category: str = Field(description="vegetables / eggs / fruit / pork / rice / flour / oil / salt / medicine / other")
    price: Decimal = Field(ge=0, max_digits=10, decimal_places=2)
    unit: str = Field(default="份", max_length=10)
    stock: int = Field(default=0, ge=0)
    per_household_limit: int | None = Field(default=None, ge=1, le=32767, description="每户限购，留空不限")
    is_bundle: bool = False
    description: str = Field(default="", max_length=200)


class ItemPatch(Schema):
    name: str | None = Field(default=None, max_length=100)
    category: str | None = None
    price: Decimal | None = Field(default=None, ge=0, max_digits=10, decimal_places=2)
    unit: str | None = Field(default=None, max_length=10)
    per_household_limit: int | None = Field(default=None, ge=0, le=32767, description="0：不限购")
    is_bundle: bool | None = None
    description: str | None = Field(default=None, max_length=200)
    is_active: bool | None = None


class PartIn(Schema):
    part_id: int
    quantity: Decimal = Field(gt=0, max_digits=8, decimal_places=2)


class PartsIn(Schema):
    parts: list[PartIn]


def _items(user: Any) -> QuerySet[Item]:
    return scope.visible(Item.objects.all(), user)


@router.get("/items", response=list[ItemOut], summary="商品目录（可按商超、类别筛选）")
def item_list(request: HttpRequest, supplier: int | None = None, category: str | None = None) -> Any:
    user = require(request, VIEW_ROLES)
    qs = _items(user).prefetch_related("parts__part")
    if supplier is not None:
        qs = qs.filter(supplier_id=supplier)
    if category:
        qs = qs.filter(category=category)
    return list(qs.order_by("supplier_id", "category", "name")[:LIST_LIMIT])


@router.post("/items", response={201: ItemOut, 422: ErrorOut}, summary="新增商品（商超员工或街道）")
def item_create(request: HttpRequest, payload: ItemIn) -> Any:
    user = require(request, CATALOGUE_ROLES)
    supplier = editable_one(Supplier.objects.select_related("street"), user, payload.supplier_id)
    try:
        item = catalogue.item_create(supplier=supplier, actor=user, **payload.dict(exclude={"supplier_id"}))
    except ValidationError as exc:
        return invalid(exc)
    return Status(201, item)


@router.get("/items/{item_id}", response=ItemOut, summary="商品详情")
def item_detail(request: HttpRequest, item_id: int) -> Any:
    user = require(request, VIEW_ROLES)
    return visible_one(Item.objects.all(), user, item_id)


@router.patch("/items/{item_id}", response={200: ItemOut, 422: ErrorOut}, summary="修改商品")
def item_update(request: HttpRequest, item_id: int, payload: ItemPatch) -> Any:
    user = require(request, CATALOGUE_ROLES)
    item = editable_one(Item.objects.all(), user, item_id)
    data = {k: v for k, v in payload.dict(exclude_unset=True).items() if v is not None or k == "per_household_limit"}
    try:
        return catalogue.item_update(item, actor=user, **data)
    except ValidationError as exc:
        return invalid(exc)


@router.put("/items/{item_id}/parts", response={200: ItemOut, 422: ErrorOut}, summary="设置套餐内容")
def item_parts(request: HttpRequest, item_id: int, payload: PartsIn) -> Any:
    user = require(request, CATALOGUE_ROLES)
    bundle = editable_one(Item.objects.select_related("supplier"), user, item_id)
    ids = [p.part_id for p in payload.parts]
    found = {i.pk: i for i in _items(user).filter(pk__in=ids)}
    if len(found) != len(set(ids)):
        raise not_found()
    try:
        catalogue.bundle_set_parts(bundle, [(found[p.part_id], p.quantity) for p in payload.parts], actor=user)
    except ValidationError as exc:
        return invalid(exc)
    return bundle


# ----------------------------------------------------------------------------------------------
# Windows and offers


class CatalogueOfferOut(Schema):
    id: int
    item_id: int
    name: str
    category: str
    unit: str
    price: Decimal
    per_household_limit: int | None
    quantity: int
    reserved: int
    buckets: int
    remaining: int = Field(description="剩余可售（普通）")
    remaining_reserved: int = Field(description="剩余预留（封控、隔离户）")


class CatalogueWindowOut(Schema):
    id: int
    supplier_id: int
    supplier_name: str
    community_id: int
    community_name: str
    schedule_id: int | None
    title: str
    opens_at: datetime.datetime
    cutoff_at: datetime.datetime
    delivery_on: datetime.date
    status: str
    status_label: str
    published_at: datetime.datetime | None

    @staticmethod
    def resolve_supplier_name(obj: OrderWindow) -> str:
        return obj.supplier.name

    @staticmethod
    def resolve_community_name(obj: OrderWindow) -> str:
        return obj.community.name

    @staticmethod
    def resolve_status_label(obj: OrderWindow) -> str:
        return str(obj.get_status_display())


class WindowDetail(CatalogueWindowOut):
    offers: list[CatalogueOfferOut]

    @staticmethod
    def resolve_offers(obj: OrderWindow) -> list[Offer]:
        return obj.offer_rows  # type: ignore[attr-defined, no-any-return]


class WindowIn(Schema):
    supplier_id: int
    community_id: int | None = Field(default=None, description="留空：该商超服务的本人辖区内全部社区")
    opens_at: datetime.datetime
    cutoff_at: datetime.datetime
    delivery_on: datetime.date
    title: str = Field(default="", max_length=100)


class OfferIn(Schema):
    item_id: int
    quantity: int = Field(ge=0, le=10_000_000)
    price: Decimal | None = Field(default=None, ge=0, max_digits=10, decimal_places=2)
    per_household_limit: int | None = Field(default=None, ge=1, le=32767)
    reserved: int | None = Field(default=None, ge=0, description="留空：按街道设置的预留比例")
    buckets: int | None = Field(default=None, ge=1, le=64, description="留空：按数量自动分桶")


class OfferPatch(Schema):
    quantity: int | None = Field(default=None, ge=0, le=10_000_000)
    price: Decimal | None = Field(default=None, ge=0, max_digits=10, decimal_places=2)
    per_household_limit: int | None = Field(default=None, ge=0, le=32767, description="0：不限购（仅草稿）")


def window_detail_data(window: OrderWindow) -> OrderWindow:
    """A window carrying its offers and what is left of each (from the bucket rows), for ``WindowDetail``."""
    offers = list(window.offers.order_by("category", "name"))
    left = catalogue.remaining_by_offer(offers)
    for offer in offers:
        offer.remaining, offer.remaining_reserved = left.get(offer.pk, (0, 0))  # type: ignore[attr-defined]
    window.offer_rows = offers  # type: ignore[attr-defined]
    return window


def _windows(user: Any) -> QuerySet[OrderWindow]:
    return scope.visible(OrderWindow.objects.select_related("supplier", "community"), user)


@router.get("/windows", response=list[CatalogueWindowOut], summary="订购窗口列表")
def window_list(
    request: HttpRequest, supplier: int | None = None, community: int | None = None, status: str | None = None
) -> Any:
    user = require(request, WINDOW_VIEW_ROLES)
    qs = _windows(user)
    if supplier is not None:
        qs = qs.filter(supplier_id=supplier)
    if community is not None:
        qs = qs.filter(community_id=community)
    if status:
        qs = qs.filter(status=status)
    return list(qs.order_by("-opens_at", "-pk")[:LIST_LIMIT])


@router.post(
    "/windows",
    response={201: list[CatalogueWindowOut], 422: ErrorOut},
    summary="创建订购窗口（一个社区或全部服务社区）",
)
def window_create(request: HttpRequest, payload: WindowIn) -> Any:
    user = require(request, WINDOW_ROLES)
    supplier = visible_one(Supplier.objects.all(), user, payload.supplier_id)
    editable_communities = scope.editable(Community.objects.all(), user)
    if payload.community_id is not None:
        communities = [visible_one(editable_communities, user, payload.community_id)]
    else:
        communities = list(editable_communities.filter(pk__in=supplier.communities.values("pk")))
        if not communities:
            return invalid(ValidationError({"community_id": _("该商超不服务您辖区内的社区")}))
    try:
        windows = catalogue.windows_create_for_street(
            supplier=supplier,
            communities=communities,
            opens_at=payload.opens_at,
            cutoff_at=payload.cutoff_at,
            delivery_on=payload.delivery_on,
            title=payload.title,
            actor=user,
        )
    except ValidationError as exc:
        return invalid(exc)
    return Status(201, windows)


@router.get("/windows/{window_id}", response=WindowDetail, summary="订购窗口详情（上架商品与剩余数量）")
def window_detail(request: HttpRequest, window_id: int) -> Any:
    user = require(request, WINDOW_VIEW_ROLES)
    return window_detail_data(visible_one(_windows(user), user, window_id))


@router.post("/windows/{window_id}/publish", response={200: WindowDetail, 422: ErrorOut}, summary="发布窗口给居民")
def window_publish(request: HttpRequest, window_id: int) -> Any:
    user = require(request, WINDOW_ROLES)
    window = editable_one(_windows(user), user, window_id)
    try:
        catalogue.window_publish(window, actor=user)
    except ValidationError as exc:
        return invalid(exc)
    return window_detail_data(window)


@router.post("/windows/{window_id}/offers", response={201: WindowDetail, 422: ErrorOut}, summary="上架商品")
def offer_create(request: HttpRequest, window_id: int, payload: OfferIn) -> Any:
    user = require(request, WINDOW_ROLES)
    window = editable_one(_windows(user), user, window_id)
    item = visible_one(Item.objects.all(), user, payload.item_id)
    if window.offers.filter(item=item).exists():
        return invalid(ValidationError({"item_id": _("该商品已在本窗口上架，请修改数量")}))
    reserved = (
        payload.reserved if payload.reserved is not None else catalogue.default_reserved(window, payload.quantity)
    )
    try:
        catalogue.offer_add(
            window,
            item,
            payload.quantity,
            price=payload.price,
            per_household_limit=payload.per_household_limit,
            reserved=reserved,
            buckets=payload.buckets or catalogue.default_buckets(payload.quantity),
        )
    except ValidationError as exc:
        return invalid(exc)
    return Status(201, window_detail_data(window))


@router.patch("/offers/{offer_id}", response={200: WindowDetail, 422: ErrorOut}, summary="修改上架数量、价格或限购")
def offer_update(request: HttpRequest, offer_id: int, payload: OfferPatch) -> Any:
    user = require(request, WINDOW_ROLES)
    offer = editable_one(Offer.objects.select_related("window"), user, offer_id)
    data = payload.dict(exclude_unset=True)
    try:
        catalogue.offer_update(
            offer,
            quantity=data.get("quantity"),
            price=data.get("price"),
            per_household_limit=data["per_household_limit"] if "per_household_limit" in data else "",
            actor=user,
        )
    except ValidationError as exc:
        return invalid(exc)
    return window_detail_data(offer.window)


# ----------------------------------------------------------------------------------------------
# Schedules


class ScheduleOut(Schema):
    id: int
    supplier_id: int
    community_id: int
    order_weekdays: list[int]
    opens_time: datetime.time
    cutoff_time: datetime.time
    delivery_after_days: int
    is_active: bool


class ScheduleIn(Schema):
    supplier_id: int
    community_id: int
    order_weekdays: list[int] = Field(description="下单日：1 周一 … 7 周日")
    opens_time: datetime.time = datetime.time(8, 0)
    cutoff_time: datetime.time = datetime.time(20, 0)
    delivery_after_days: int = Field(default=1, ge=0, le=7)


class GenerateIn(Schema):
    days: int = Field(default=catalogue.GENERATE_DAYS, ge=1, le=31, description="生成今后多少天内的窗口")


@router.get("/schedules", response=list[ScheduleOut], summary="订购周期列表")
def schedule_list(request: HttpRequest) -> Any:
    user = require(request, WINDOW_VIEW_ROLES)
    return list(scope.visible(WindowSchedule.objects.all(), user).order_by("supplier_id", "community_id", "pk"))


@router.post(
    "/schedules", response={201: ScheduleOut, 422: ErrorOut}, summary="创建订购周期（如周一、周五下单，次日配送）"
)
def schedule_create(request: HttpRequest, payload: ScheduleIn) -> Any:
    user = require(request, WINDOW_ROLES)
    supplier = visible_one(Supplier.objects.all(), user, payload.supplier_id)
    community = visible_one(scope.editable(Community.objects.all(), user), user, payload.community_id)
    try:
        schedule = catalogue.schedule_create(
            supplier=supplier, community=community, actor=user, **payload.dict(exclude={"supplier_id", "community_id"})
        )
    except ValidationError as exc:
        return invalid(exc)
    return Status(201, schedule)


@router.post(
    "/schedules/{schedule_id}/generate",
    response={200: list[CatalogueWindowOut], 422: ErrorOut},
    summary="按周期生成今后的窗口（已存在的不重复生成）",
)
def schedule_generate(request: HttpRequest, schedule_id: int, payload: GenerateIn) -> Any:
    user = require(request, WINDOW_ROLES)
    schedule = editable_one(WindowSchedule.objects.all(), user, schedule_id)
    try:
        return catalogue.schedule_generate(schedule, days=payload.days, actor=user)
    except ValidationError as exc:
        return invalid(exc)
