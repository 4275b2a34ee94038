"""Supplies API: payments and refunds, community credit, supplier settlements and a window's
reconciliation, as JSON and as .xlsx (SPEC S7; docs/supplies.md).

``MONEY_ROLES`` collect and record credit; ``WINDOW_ROLES`` settle credit and pay suppliers. Every list
is scoped (a grid worker sees their grid's households); a supplier's staff see their own settlements.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from pydantic import Field

from linli.accounts.choices import Role
from linli.audit.models import AuditAction
from linli.audit.services import audit_record
from linli.health.api_common import ErrorOut, invalid, not_found, user_name
from linli.lib import scope
from linli.supplies.api_delivery import _one, require
from linli.supplies.models import CreditEntry, Order, OrderWindow, Payment, SupplierSettlement
from linli.supplies.permissions import MONEY_ROLES, WINDOW_ROLES
from linli.supplies.services import money

router = Router(tags=["supplies-money"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class MoneyPaymentOut(Schema):
    id: int
    order_id: int
    window_id: int
    household_id: int
    address: str
    mode: str
    mode_label: str
    amount: Decimal
    collected_by: str
    collected_at: datetime.datetime
    settlement_id: int | None


def payment_out(p: Payment) -> dict[str, Any]:
    return {
        "id": p.pk,
        "order_id": p.order_id,
        "window_id": p.order.window_id,
        "household_id": p.household_id,
        "address": p.household.address,
        "mode": p.mode,
        "mode_label": str(p.get_mode_display()),
        "amount": p.amount,
        "collected_by": user_name(p.collected_by) if p.collected_by_id else "",
        "collected_at": p.collected_at,
        "settlement_id": p.settlement_id,
    }


PAYMENT_RELATED = ("order", "household__building", "household__unit", "collected_by")


class MoneyPaymentIn(Schema):
    order_id: int
    mode: Literal["prepaid", "on_delivery"]
    amount: Decimal = Field(max_digits=12, decimal_places=2)


class MoneyRefundIn(Schema):
    order_id: int
    amount: Decimal = Field(max_digits=12, decimal_places=2)


@router.get("/payments", response=list[MoneyPaymentOut], summary="收款记录")
def payment_list(request: HttpRequest, window_id: int | None = None) -> Any:
    user = require(request, MONEY_ROLES)
    payments = scope.visible(Payment.objects.select_related(*PAYMENT_RELATED), user)
    if window_id is not None:
        payments = payments.filter(order__window_id=window_id)
    return [payment_out(p) for p in payments.order_by("-collected_at")[:500]]


def _order(user: Any, order_id: int) -> Order:
    return _one(Order.objects.select_related("household__building", "household__unit"), user, order_id, edit=True)


@router.post("/payments", response={201: MoneyPaymentOut, 422: ErrorOut}, summary="登记收款（网格员代收 / 货到付款）")
def payment_create(request: HttpRequest, payload: MoneyPaymentIn) -> Any:
    user = require(request, MONEY_ROLES)
    order = _order(user, payload.order_id)
    try:
        payment = money.payment_collect(order, mode=payload.mode, amount=payload.amount, actor=user)
    except ValidationError as exc:
        return invalid(exc)
    return Status(201, payment_out(Payment.objects.select_related(*PAYMENT_RELATED).get(pk=payment.pk)))


@router.post("/refunds", response={201: MoneyPaymentOut, 422: ErrorOut}, summary="退款（取消、缺货、退回的预收款）")
def refund_create(request: HttpRequest, payload: MoneyRefundIn) -> Any:
    user = require(request, MONEY_ROLES)
    order = _order(user, payload.order_id)
    try:
        payment = money.payment_refund(order, amount=payload.amount, actor=user)
    except ValidationError as exc:
        return invalid(exc)
    return Status(201, payment_out(Payment.objects.select_related(*PAYMENT_RELATED).get(pk=payment.pk)))


class MoneyCreditOut(Schema):
    id: int
    order_id: int
    window_id: int
    household_id: int
    address: str
    amount: Decimal
    created_at: datetime.datetime
    settled_at: datetime.datetime | None


def credit_out(c: CreditEntry) -> dict[str, Any]:
    return {
        "id": c.pk,
        "order_id": c.order_id,
        "window_id": c.order.window_id,
        "household_id": c.household_id,
        "address": c.household.address,
        "amount": c.amount,
        "created_at": c.created_at,
        "settled_at": c.settled_at,
    }


CREDIT_RELATED = ("order", "household__building", "household__unit")


class MoneyCreditIn(Schema):
    order_id: int


class MoneyCreditSettleIn(Schema):
    ids: list[int] = Field(min_length=1, max_length=1000)


@router.get("/credits", response=list[MoneyCreditOut], summary="社区记账台账")
def credit_list(request: HttpRequest, window_id: int | None = None, unsettled: bool = False) -> Any:
    user = require(request, MONEY_ROLES)
    credits = scope.visible(CreditEntry.objects.select_related(*CREDIT_RELATED), user)
    if window_id is not None:
        credits = credits.filter(order__window_id=window_id)
    if unsettled:
        credits = credits.filter(settled_at__isnull=True)
    return [credit_out(c) for c in credits.order_by("-created_at")[:1000]]


@router.post("/credits", response={201: MoneyCreditOut, 422: ErrorOut}, summary="社区记账：社区代付已送达订单")
def credit_create(request: HttpRequest, payload: MoneyCreditIn) -> Any:
    user = require(request, MONEY_ROLES)
    order = _order(user, payload.order_id)
    try:
        entry = money.credit_record(order, actor=user)
    except ValidationError as exc:
        return invalid(exc)
    return Status(201, credit_out(CreditEntry.objects.select_related(*CREDIT_RELATED).get(pk=entry.pk)))


class MoneySettledOut(Schema):
    settled: int


@router.post("/credits/settle", response={200: MoneySettledOut, 422: ErrorOut}, summary="记账清账（封控结束后）")
def credit_settle(request: HttpRequest, payload: MoneyCreditSettleIn) -> Any:
    user = require(request, WINDOW_ROLES)
    entries = list(scope.editable(CreditEntry.objects.filter(pk__in=payload.ids), user))
    if len(entries) != len(set(payload.ids)):
        raise not_found()
    try:
        return {"settled": money.credit_settle(entries, actor=user)}
    except ValidationError as exc:
        return invalid(exc)


class MoneySettlementOut(Schema):
    id: int
    window_id: int
    supplier_id: int
    amount: Decimal
    paid_at: datetime.datetime
    note: str


class MoneySettlementIn(Schema):
    window_id: int
    amount: Decimal = Field(max_digits=12, decimal_places=2)
    note: str = Field(default="", max_length=200)


def settlement_out(s: SupplierSettlement) -> dict[str, Any]:
    return {
        "id": s.pk,
        "window_id": s.window_id,
        "supplier_id": s.supplier_id,
        "amount": s.amount,
        "paid_at": s.paid_at,
        "note": s.note,
    }


@router.get("/settlements", response=list[MoneySettlementOut], summary="商超结算记录（商超员工看到本商超的）")
def settlement_list(request: HttpRequest, window_id: int | None = None) -> Any:
    user = require(request, MONEY_ROLES | WINDOW_ROLES | {Role.SUPPLIER})
    rows = scope.visible(SupplierSettlement.objects.all(), user)
    if window_id is not None:
        rows = rows.filter(window_id=window_id)
    return [settlement_out(s) for s in rows.order_by("-paid_at")[:500]]


@router.post("/settlements", response={201: MoneySettlementOut, 422: ErrorOut}, summary="与商超结算")
def settlement_create(request: HttpRequest, payload: MoneySettlementIn) -> Any:
    user = require(request, WINDOW_ROLES)
    window = _one(OrderWindow.objects.all(), user, payload.window_id, edit=True)
    try:
        settlement = money.supplier_settle(window, amount=payload.amount, note=payload.note, actor=user)
    except ValidationError as exc:
        return invalid(exc)
    return Status(201, settlement_out(settlement))


# ----------------------------------------------------------------------------------------------
# Reconciliation


class ReconAmountsOut(Schema):
    ordered: Decimal
    cancelled: Decimal
    short: Decimal
    delivered: Decimal
    returned: Decimal
    pending: Decimal
    paid: Decimal
    credit: Decimal
    credit_unsettled: Decimal
    outstanding: Decimal
    held: Decimal


class ReconHouseholdOut(Schema):
    household_id: int
    address: str
    payment_mode: str
    amounts: ReconAmountsOut


class ReconSupplierOut(Schema):
    supplier_id: int
    name: str
    delivered: Decimal
    settled: Decimal
    owed: Decimal


class ReconciliationOut(Schema):
    window_id: int
    totals: ReconAmountsOut
    goods_balanced: bool
    money_balanced: bool
    balanced: bool
    closed: bool
    partial: bool
    households: list[ReconHouseholdOut]
    suppliers: list[ReconSupplierOut]


def _amounts(a: money.Amounts) -> dict[str, Decimal]:
    return {key: getattr(a, key) for key, _label in money.amount_columns()}


@router.get("/windows/{window_id}/reconciliation", response=ReconciliationOut, summary="窗口对账")
def reconciliation(request: HttpRequest, window_id: int) -> Any:
    user = require(request, MONEY_ROLES)
    window = _one(OrderWindow.objects.select_related("supplier"), user, window_id)
    rec = money.reconciliation(window, user=user)
    return {
        "window_id": window.pk,
        "totals": _amounts(rec.totals),
        "goods_balanced": rec.totals.goods_balanced,
        "money_balanced": rec.totals.money_balanced,
        "balanced": rec.balanced,
        "closed": rec.totals.closed,
        "partial": rec.partial,
        "households": [
            {
                "household_id": h.household_id,
                "address": h.address,
                "payment_mode": h.payment_mode,
                "amounts": _amounts(h.amounts),
            }
            for h in rec.households
        ],
        "suppliers": [
            {
                "supplier_id": s.supplier_id,
                "name": s.name,
                "delivered": s.delivered,
                "settled": s.settled,
                "owed": s.owed,
            }
            for s in rec.suppliers
        ],
    }


def xlsx_response(request: HttpRequest, user: Any, windows: list[OrderWindow]) -> HttpResponse:
    data = money.reconciliation_xlsx(windows, user=user)
    audit_record(
        actor=user,
        action=AuditAction.EXPORT,
        model="supplies.OrderWindow",
        object_repr=_("对账表 %(n)d 个窗口") % {"n": len(windows)},
        changes={"windows": [w.pk for w in windows]},
        street_id=windows[0].street_id if windows else None,
        community_id=windows[0].community_id if windows else None,
        request=request,
    )
    response = HttpResponse(data, content_type=XLSX)
    name = f"reconciliation-{windows[0].pk}.xlsx" if len(windows) == 1 else "reconciliation.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@router.get("/windows/{window_id}/reconciliation.xlsx", summary="窗口对账表（.xlsx）")
def reconciliation_xlsx(request: HttpRequest, window_id: int) -> HttpResponse:
    user = require(request, MONEY_ROLES)
    window = _one(OrderWindow.objects.select_related("supplier"), user, window_id)
    return xlsx_response(request, user, [window])
