"""Supplies API: aggregation at cut-off, purchase orders, shortfall allocation, pick lists and labels
(SPEC S4, S5; docs/supplies.md).

``WINDOW_ROLES`` aggregate a window (in their editable scope); ``PACKING_ROLES`` (the supplier's staff
and the staff who print for it) read purchase orders, allocate shortfalls and download pick lists and
labels. A supplier's staff see only their supplier's purchase orders. Out of scope is 404; a service's
refusal is 422 with a Chinese ``detail``.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, F, Sum
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from pydantic import Field

from linli.audit.models import AuditAction
from linli.audit.services import audit_record
from linli.health.api_common import invalid, not_found
from linli.lib import scope
from linli.lib.apiutil import ErrorOut
from linli.lib.wording import listed
from linli.supplies.labels import DEFAULT_SIZE, SIZES, labels_pdf
from linli.supplies.models import DropOffPoint, OrderWindow, Package, PurchaseLine, PurchaseOrder
from linli.supplies.permissions import PACKING_ROLES, WINDOW_ROLES, has_role
from linli.supplies.picklist import door_title, picklist_pdf, picklist_xlsx
from linli.supplies.services.aggregation import aggregate, shortfall_allocate

router = Router(tags=["supplies-packing"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PURCHASE_ROLES = PACKING_ROLES | WINDOW_ROLES


def require(request: HttpRequest, roles: frozenset[str]) -> Any:
    """The caller, when its role is in ``roles``; else 403."""
    user: Any = request.user
    if not has_role(user, roles):
        raise HttpError(403, _("您的角色不能使用该功能"))
    return user


class PurchaseOut(Schema):
    id: int
    window_id: int
    window: str
    supplier: str
    community: str
    delivery_on: datetime.date
    orders: int
    total: Decimal = Field(description="订购金额（汇总时）")
    packed_total: Decimal = Field(description="应配金额：扣除缺货后商超实际配送、住户应付的金额")
    short_units: int
    created_at: datetime.datetime
    confirmed_at: datetime.datetime | None


class LineOut(Schema):
    offer_id: int
    name: str
    unit: str
    price: Decimal
    drop_off_id: int | None
    drop_off: str
    quantity: int = Field(description="订购数量")
    short: int
    packed: int = Field(description="应配数量（订购减缺货）")
    amount: Decimal = Field(description="订购金额")
    packed_amount: Decimal = Field(description="应配金额（订购金额减缺货金额）")


class ItemTotalOut(Schema):
    offer_id: int
    name: str
    unit: str
    quantity: int
    short: int
    packed: int


class PurchaseDetailOut(PurchaseOut):
    lines: list[LineOut]
    items: list[ItemTotalOut]
    packages_by_drop_off: dict[str, int]


class AvailableIn(Schema):
    offer_id: int
    units: int = Field(ge=0)


class ShortfallIn(Schema):
    available: list[AvailableIn] = Field(min_length=1)


class ShortfallOut(Schema):
    purchase_id: int
    orders_changed: int
    order_ids: list[int]


def purchases_for(user: Any) -> Any:
    return scope.visible(PurchaseOrder.objects.select_related("window__supplier", "window__community"), user)


def cents(value: Any) -> Decimal:
    # SQLite sums decimals as floats (2.2 × 3 = 6.6000000000000005).
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


SHORT_AMOUNT = Sum(F("lines__short") * F("lines__offer__price"))


def purchase_out(purchase: PurchaseOrder, short_units: int | None = None, short_amount: Any = None) -> dict[str, Any]:
    """A purchase order's facts; ``packed_total`` is what the supplier delivers after any shortfall."""
    window = purchase.window
    if short_units is None or short_amount is None:
        sums = PurchaseOrder.objects.filter(pk=purchase.pk).aggregate(s=Sum("lines__short"), a=SHORT_AMOUNT)
        short_units, short_amount = int(sums["s"] or 0), sums["a"]
    return {
        "id": purchase.pk,
        "window_id": window.pk,
        "window": str(window),
        "supplier": window.supplier.name,
        "community": window.community.name,
        "delivery_on": window.delivery_on,
        "orders": purchase.orders,
        "total": purchase.total,
        "packed_total": purchase.total - cents(short_amount),
        "short_units": short_units,
        "created_at": purchase.created_at,
        "confirmed_at": purchase.confirmed_at,
    }


def _purchase(request: HttpRequest, purchase_id: int) -> tuple[Any, PurchaseOrder]:
    user = require(request, PURCHASE_ROLES)
    purchase = purchases_for(user).filter(pk=purchase_id).first()
    if purchase is None:
        raise not_found()
    return user, purchase


@router.post(
    "/windows/{window_id}/aggregate",
    response={200: PurchaseOut, 201: PurchaseOut, 422: ErrorOut},
    summary="截单后汇总为采购单（幂等：再次调用返回同一采购单）",
)
def window_aggregate(request: HttpRequest, window_id: int) -> Any:
    user = require(request, WINDOW_ROLES)
    window = scope.editable(OrderWindow.objects.all(), user).filter(pk=window_id).first()
    if window is None:
        raise not_found()
    existed = PurchaseOrder.objects.filter(window_id=window.pk).exists()
    try:
        purchase = aggregate(window, actor=user)
    except ValidationError as exc:
        return invalid(exc)
    purchase = purchases_for(user).get(pk=purchase.pk)
    return Status(200 if existed else 201, purchase_out(purchase))


@router.get("/purchases", response=list[PurchaseOut], summary="采购单列表")
def purchase_list(request: HttpRequest, window_id: int | None = None) -> Any:
    user = require(request, PURCHASE_ROLES)
    purchases = (
        purchases_for(user).annotate(short_units=Sum("lines__short"), short_amount=SHORT_AMOUNT).order_by("-created_at")
    )
    if window_id is not None:
        purchases = purchases.filter(window_id=window_id)
    return [purchase_out(p, int(p.short_units or 0), p.short_amount) for p in purchases[:200]]


def purchase_lines(purchase: PurchaseOrder) -> list[dict[str, Any]]:
    """Each item at each drop-off point: ordered, short, and what is packed and charged (as the pick list)."""
    rows = PurchaseLine.objects.filter(purchase=purchase).select_related("offer", "drop_off")
    return [
        {
            "offer_id": line.offer_id,
            "name": line.offer.name,
            "unit": line.offer.unit,
            "price": line.offer.price,
            "drop_off_id": line.drop_off_id,
            "drop_off": line.drop_off.name if line.drop_off else door_title(),
            "quantity": line.quantity,
            "short": line.short,
            "packed": line.quantity - line.short,
            "amount": line.amount,
            "packed_amount": line.amount - line.offer.price * line.short,
        }
        for line in rows.order_by("offer__category", "offer__name", "drop_off__name")
    ]


def item_totals(purchase: PurchaseOrder) -> list[dict[str, Any]]:
    rows = (
        PurchaseLine.objects.filter(purchase=purchase)
        .values("offer_id", "offer__name", "offer__unit", "offer__category")
        .annotate(quantity=Sum("quantity"), short=Sum("short"))
        .order_by("offer__category", "offer__name")
    )
    return [
        {
            "offer_id": r["offer_id"],
            "name": r["offer__name"],
            "unit": r["offer__unit"],
            "quantity": int(r["quantity"]),
            "short": int(r["short"]),
            "packed": int(r["quantity"]) - int(r["short"]),
        }
        for r in rows
    ]


def packages_by_drop_off(purchase: PurchaseOrder) -> dict[str, int]:
    counts = (
        Package.objects.filter(window_id=purchase.window_id)
        .values("drop_off_id", "drop_off__name")
        .annotate(n=Count("pk"))
        .order_by("drop_off__name")
    )
    return {(r["drop_off__name"] or door_title()): r["n"] for r in counts}


@router.get("/purchases/{purchase_id}", response=PurchaseDetailOut, summary="采购单详情（按商品与投放点）")
def purchase_detail(request: HttpRequest, purchase_id: int) -> Any:
    _user, purchase = _purchase(request, purchase_id)
    return {
        **purchase_out(purchase),
        "lines": purchase_lines(purchase),
        "items": item_totals(purchase),
        "packages_by_drop_off": packages_by_drop_off(purchase),
    }


@router.post(
    "/purchases/{purchase_id}/shortfall",
    response={200: ShortfallOut, 422: ErrorOut},
    summary="登记商超可供数量并公平分配缺货（通知受影响住户）",
)
def purchase_shortfall(request: HttpRequest, purchase_id: int, payload: ShortfallIn) -> Any:
    user, purchase = _purchase(request, purchase_id)
    if not scope.can_edit(purchase, user):
        raise not_found()
    available: dict[int, int] = {}
    for row in payload.available:
        if row.offer_id in available:
            return invalid(ValidationError(_("同一商品只能填写一次")))
        available[row.offer_id] = row.units
    try:
        orders = shortfall_allocate(purchase, available, actor=user)
    except ValidationError as exc:
        return invalid(exc)
    return {"purchase_id": purchase.pk, "orders_changed": len(orders), "order_ids": [o.pk for o in orders]}


def _drop_off(purchase: PurchaseOrder, drop_off_id: int | None) -> DropOffPoint | None:
    if drop_off_id is None:
        return None
    used = PurchaseLine.objects.filter(purchase=purchase, drop_off_id=drop_off_id).exists()
    point = DropOffPoint.objects.filter(pk=drop_off_id).first() if used else None
    if point is None:
        raise not_found()
    return point


def _download(
    user: Any, purchase: PurchaseOrder, content: bytes, content_type: str, filename: str, kind: str
) -> HttpResponse:
    window = purchase.window
    audit_record(
        actor=user,
        action=AuditAction.EXPORT,
        obj=purchase,
        changes={"file": kind},
        street_id=window.street_id,
        community_id=window.community_id,
    )
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@router.get("/purchases/{purchase_id}/picklist.pdf", summary="拣货单（PDF，可按投放点）")
def picklist_pdf_download(
    request: HttpRequest, purchase_id: int, drop_off_id: int | None = None, households: bool = False
) -> HttpResponse:
    user, purchase = _purchase(request, purchase_id)
    point = _drop_off(purchase, drop_off_id)
    content = picklist_pdf(purchase, point, households=households)
    return _download(user, purchase, content, "application/pdf", f"picklist-{purchase.pk}.pdf", "picklist.pdf")


@router.get("/purchases/{purchase_id}/picklist.xlsx", summary="拣货单（Excel，每个投放点一页）")
def picklist_xlsx_download(request: HttpRequest, purchase_id: int, households: bool = False) -> HttpResponse:
    user, purchase = _purchase(request, purchase_id)
    content = picklist_xlsx(purchase, households=households)
    return _download(user, purchase, content, XLSX, f"picklist-{purchase.pk}.xlsx", "picklist.xlsx")


@router.get(
    "/purchases/{purchase_id}/labels.pdf",
    response={200: None, 422: ErrorOut},
    summary="包裹标签（PDF；size = a4-2x4、a4-3x7、100x100、100x150）",
)
def labels_download(
    request: HttpRequest,
    purchase_id: int,
    size: str = DEFAULT_SIZE,
    drop_off_id: int | None = None,
    door: bool = False,
) -> Any:
    user, purchase = _purchase(request, purchase_id)
    if size not in SIZES:
        return invalid(ValidationError(_("标签尺寸只能是：%(sizes)s") % {"sizes": listed(SIZES)}))
    packages = Package.objects.filter(window_id=purchase.window_id)
    if drop_off_id is not None:
        point = _drop_off(purchase, drop_off_id)
        packages = packages.filter(drop_off=point)
    elif door:  # the bags delivered to the door (sealed households and compounds without a point)
        packages = packages.filter(drop_off__isnull=True)
    content = labels_pdf(packages, size=size)
    return _download(user, purchase, content, "application/pdf", f"labels-{purchase.pk}-{size}.pdf", "labels.pdf")
