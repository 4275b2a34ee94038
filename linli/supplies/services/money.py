"""Payments, community credit, supplier settlement and the reconciliation of a window (SPEC S7).

Money per order:

* what the household owes (its *charge*) is the amount of its package once delivered — the order less
  its shortfall; nothing for a cancelled order, a returned package or one still on its way;
* it pays a grid worker in advance (``prepaid``) or on delivery (``on_delivery``): :class:`Payment`
  rows; money given back (a cancelled order, a shortfall, a returned package) is a negative payment
  (:func:`payment_refund`);
* for an elderly or hardship household the community pays (``credit``): a :class:`CreditEntry` of the
  delivered amount, settled after the closure (:func:`credit_settle`);
* the community pays the supplier for delivered goods (:func:`supplier_settle`).

:func:`reconciliation` checks two identities per window, every term summed from its own rows:

* goods: ``ordered = delivered + cancelled + short + returned + pending``, where ordered is Σ quantity ×
  price of every order line, cancelled is Σ ``Order.total`` of cancelled orders, short is Σ short ×
  price of live orders' lines, and delivered / returned / pending are Σ ``Package.amount`` by package
  state (a live order without a package yet counts as pending at its lines' amount less short);
* money: ``delivered = paid + credit + outstanding − held``, where paid and credit are the database
  sums of the window's payments (net of refunds) and credit entries, outstanding is what households
  still owe (per order, charge beyond paid + credit) and held is money received beyond an order's
  charge (prepaid for an order not delivered yet, or a refund still due).

A closed window is fully reconciled when both identities hold, nothing is pending, and outstanding and
held are zero: then ``ordered = delivered + cancelled + short + returned`` and ``delivered = paid + credit``.
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.audit.models import AuditAction
from linli.audit.services import audit_record
from linli.lib import scope
from linli.supplies.choices import DELIVERED_STATES, OrderStatus, PackageStatus, PaymentMode, WindowStatus
from linli.supplies.models import (
    CreditEntry,
    Order,
    OrderWindow,
    Package,
    Payment,
    SupplierSettlement,
    household_kwargs,
)

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
OPEN_PACKAGE_STATES = frozenset({PackageStatus.PACKED, PackageStatus.OUT, PackageStatus.UNDELIVERED})


def _actor(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def money(value: Any) -> Decimal:
    """A positive amount in yuan, to the cent; anything else is refused."""
    try:
        amount = Decimal(str(value)).quantize(CENT)
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise ValidationError({"amount": _("金额格式不正确")}) from exc
    if amount <= 0:
        raise ValidationError({"amount": _("金额必须大于 0")})
    return amount


def _sum(qs: QuerySet[Any], column: str = "amount") -> Decimal:
    """A column's sum to the cent (SQLite's sums drop trailing zeros: 32.5 for 32.50)."""
    return (qs.aggregate(s=Sum(column))["s"] or ZERO).quantize(CENT)


# ----------------------------------------------------------------------------------------------
# One order's money


@dataclass(frozen=True)
class OrderMoney:
    due: Decimal  # what the order comes to after its shortfall (0 when cancelled)
    charge: Decimal  # what the household owes now: the delivered amount
    paid: Decimal
    credit: Decimal

    @property
    def balance(self) -> Decimal:
        """Positive: the household still owes this; negative: money held for it."""
        return self.charge - self.paid - self.credit


def order_money(order: Order) -> OrderMoney:
    if order.status == OrderStatus.CANCELLED:
        due = ZERO
    else:
        lines = list(order.lines.all())
        due = sum((line.price * (line.quantity - line.short) for line in lines), ZERO)
    package = Package.objects.filter(order=order).first()
    if package is not None and order.status != OrderStatus.CANCELLED:
        due = package.amount
    charge = package.amount if package is not None and package.status in DELIVERED_STATES else ZERO
    if package is not None and package.status == PackageStatus.RETURNED:
        due = ZERO
    paid = _sum(Payment.objects.filter(order=order))
    credit = _sum(CreditEntry.objects.filter(order=order))
    return OrderMoney(due=due, charge=charge, paid=paid, credit=credit)


def _locked(order: Order) -> Order:
    return Order.objects.select_for_update().get(pk=order.pk)


@transaction.atomic
def payment_collect(
    order: Order, *, mode: str, amount: Any, actor: Any, now: datetime.datetime | None = None
) -> Payment:
    """Record money received for ``order``: collected in advance (``prepaid``) or on delivery."""
    if mode not in (PaymentMode.PREPAID, PaymentMode.ON_DELIVERY):
        raise ValidationError({"mode": _("收款方式只能是网格员代收或货到付款；社区记账请用记账")})
    value = money(amount)
    order = _locked(order)
    if order.status == OrderStatus.CANCELLED:
        raise ValidationError(_("订单已取消，不能收款"))
    state = order_money(order)
    if mode == PaymentMode.ON_DELIVERY and state.charge == ZERO:
        raise ValidationError(_("货到付款须在包裹送达后登记"))
    remaining = max(state.due, state.charge) - state.paid - state.credit
    if value > remaining:
        raise ValidationError({"amount": _("收款金额超过待付金额 ¥%(left)s") % {"left": max(remaining, ZERO)}})
    payment = Payment.objects.create(
        **household_kwargs(order.household),
        order=order,
        supplier_id=order.supplier_id,
        mode=mode,
        amount=value,
        collected_by=_actor(actor),
        collected_at=now or timezone.now(),
    )
    audit_record(actor=actor, action=AuditAction.CREATE, obj=payment, changes={"mode": mode, "amount": str(value)})
    return payment


@transaction.atomic
def payment_refund(order: Order, *, amount: Any, actor: Any, now: datetime.datetime | None = None) -> Payment:
    """Give back money paid beyond what the order comes to (cancelled, short, returned): a negative payment."""
    value = money(amount)
    order = _locked(order)
    state = order_money(order)
    refundable = min(state.paid, state.paid + state.credit - state.due)
    if value > refundable:
        raise ValidationError({"amount": _("退款金额超过可退金额 ¥%(left)s") % {"left": max(refundable, ZERO)}})
    last = Payment.objects.filter(order=order, amount__gt=0).order_by("-collected_at").first()
    payment = Payment.objects.create(
        **household_kwargs(order.household),
        order=order,
        supplier_id=order.supplier_id,
        mode=last.mode if last is not None else PaymentMode.PREPAID,
        amount=-value,
        collected_by=_actor(actor),
        collected_at=now or timezone.now(),
    )
    audit_record(actor=actor, action=AuditAction.CREATE, obj=payment, changes={"refund": str(value)})
    return payment


@transaction.atomic
def credit_record(order: Order, *, actor: Any, amount: Any = None, now: datetime.datetime | None = None) -> CreditEntry:
    """社区记账: the community pays what the household owes for its delivered package."""
    order = _locked(order)
    if order.status == OrderStatus.CANCELLED:
        raise ValidationError(_("订单已取消，不能记账"))
    state = order_money(order)
    if state.charge == ZERO:
        raise ValidationError(_("包裹送达后才能记账"))
    owed = state.balance
    if owed <= 0:
        raise ValidationError(_("该订单没有待付金额"))
    value = owed if amount is None else money(amount)
    if value > owed:
        raise ValidationError({"amount": _("记账金额超过待付金额 ¥%(left)s") % {"left": owed}})
    entry = CreditEntry.objects.create(
        **household_kwargs(order.household),
        order=order,
        supplier_id=order.supplier_id,
        amount=value,
        created_at=now or timezone.now(),
        created_by=_actor(actor),
    )
    audit_record(actor=actor, action=AuditAction.CREATE, obj=entry, changes={"amount": str(value)})
    return entry


@transaction.atomic
def credit_settle(entries: Iterable[CreditEntry], *, actor: Any, now: datetime.datetime | None = None) -> int:
    """Close ledger entries after the closure (the household has repaid, or the community wrote it off)."""
    ids = sorted({e.pk for e in entries})
    if not ids:
        raise ValidationError(_("请选择要清账的记账"))
    rows = list(CreditEntry.objects.select_for_update().filter(pk__in=ids, settled_at__isnull=True).order_by("pk"))
    if not rows:
        raise ValidationError(_("所选记账已全部清账"))
    moment = now or timezone.now()
    CreditEntry.objects.filter(pk__in=[r.pk for r in rows]).update(settled_at=moment, settled_by=_actor(actor))
    for row in rows:
        audit_record(actor=actor, action=AuditAction.UPDATE, obj=row, changes={"settled": True})
    return len(rows)


def _delivered_total(window: OrderWindow) -> Decimal:
    return _sum(Package.objects.filter(window=window, status__in=DELIVERED_STATES))


@transaction.atomic
def supplier_settle(
    window: OrderWindow, *, amount: Any, actor: Any, note: str = "", now: datetime.datetime | None = None
) -> SupplierSettlement:
    """Pay the supplier for the window's delivered goods; the payments collected so far go with it."""
    value = money(amount)
    window = OrderWindow.objects.select_for_update().get(pk=window.pk)
    delivered = _delivered_total(window)
    settled = _sum(SupplierSettlement.objects.filter(window=window))
    if value > delivered - settled:
        raise ValidationError(
            {"amount": _("结算金额超过应付商超金额 ¥%(left)s") % {"left": max(delivered - settled, ZERO)}}
        )
    moment = now or timezone.now()
    settlement = SupplierSettlement.objects.create(
        window=window,
        supplier_id=window.supplier_id,
        amount=value,
        paid_at=moment,
        paid_by=_actor(actor),
        note=(note or "").strip()[:200],
    )
    Payment.objects.filter(order__window=window, settlement__isnull=True).update(settlement=settlement)
    open_packages = Package.objects.filter(window=window, status__in=OPEN_PACKAGE_STATES).exists()
    if settled + value == delivered and not open_packages and window.status == WindowStatus.DELIVERED:
        window.status = WindowStatus.SETTLED
        window.save(update_fields=["status"])
    audit_record(actor=actor, action=AuditAction.CREATE, obj=settlement, changes={"amount": str(value)})
    return settlement


# ----------------------------------------------------------------------------------------------
# Reconciliation


@dataclass
class Amounts:
    ordered: Decimal = ZERO
    cancelled: Decimal = ZERO
    short: Decimal = ZERO
    delivered: Decimal = ZERO
    returned: Decimal = ZERO
    pending: Decimal = ZERO
    paid: Decimal = ZERO
    credit: Decimal = ZERO
    credit_unsettled: Decimal = ZERO
    outstanding: Decimal = ZERO
    held: Decimal = ZERO

    @property
    def goods_balanced(self) -> bool:
        return self.ordered == self.delivered + self.cancelled + self.short + self.returned + self.pending

    @property
    def money_balanced(self) -> bool:
        return self.delivered == self.paid + self.credit + self.outstanding - self.held

    @property
    def balanced(self) -> bool:
        return self.goods_balanced and self.money_balanced

    @property
    def closed(self) -> bool:
        """Nothing on its way, nothing owed, nothing held: ordered = delivered + cancelled + short + returned
        and delivered = paid + credit."""
        return self.balanced and self.pending == self.outstanding == self.held == ZERO

    def add(self, other: Amounts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass
class HouseholdRow:
    household_id: int
    address: str
    payment_mode: str
    amounts: Amounts


@dataclass
class SupplierRow:
    supplier_id: int
    name: str
    delivered: Decimal
    settled: Decimal

    @property
    def owed(self) -> Decimal:
        return self.delivered - self.settled


@dataclass
class OrderRow:
    """One order's money, for the pages' action lists (collect, credit, refund)."""

    order_id: int
    household_id: int
    address: str
    payment_mode: str  # the PaymentMode value
    cancelled: bool
    amounts: Amounts

    @property
    def owed(self) -> Decimal:
        return self.amounts.outstanding

    @property
    def prepaid_due(self) -> Decimal:
        """What a prepaid order still has to collect before delivery: its amount less what came in."""
        if self.cancelled or self.payment_mode != PaymentMode.PREPAID or self.amounts.delivered:
            return ZERO
        return max(self.amounts.pending - self.amounts.paid - self.amounts.credit, ZERO)


@dataclass
class Reconciliation:
    window: OrderWindow
    totals: Amounts
    households: list[HouseholdRow] = field(default_factory=list)
    suppliers: list[SupplierRow] = field(default_factory=list)
    partial: bool = False  # only the viewer's part of the community
    orders: list[OrderRow] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return self.totals.balanced


def reconciliation(window: OrderWindow, *, user: Any = None) -> Reconciliation:
    """The window's goods and money, in total, per household and per supplier (see the module's doc).

    With ``user``, only the orders that account may see (a grid worker: their grid)."""
    orders_qs = Order.objects.filter(window=window)
    partial = False
    if user is not None and not scope.is_unrestricted(user):
        orders_qs = scope.visible(orders_qs, user)
        partial = scope.user_level(user) not in (None, "street", "community")
    orders = list(
        orders_qs.select_related("household__compound", "household__building", "household__unit")
        .prefetch_related("lines")
        .order_by("building_id", "unit_id", "household_id", "pk")
    )
    order_ids = [o.pk for o in orders]
    packages = {p.order_id: p for p in Package.objects.filter(order_id__in=order_ids)}
    paid_by_order: dict[int, Decimal] = {}
    for order_id, amount in Payment.objects.filter(order_id__in=order_ids).values_list("order_id", "amount"):
        paid_by_order[order_id] = paid_by_order.get(order_id, ZERO) + amount
    credit_by_order: dict[int, Decimal] = {}
    unsettled_by_order: dict[int, Decimal] = {}
    for order_id, amount, settled_at in CreditEntry.objects.filter(order_id__in=order_ids).values_list(
        "order_id", "amount", "settled_at"
    ):
        credit_by_order[order_id] = credit_by_order.get(order_id, ZERO) + amount
        if settled_at is None:
            unsettled_by_order[order_id] = unsettled_by_order.get(order_id, ZERO) + amount

    rows: dict[int, HouseholdRow] = {}
    order_rows: list[OrderRow] = []
    totals = Amounts()
    for order in orders:
        a = Amounts()
        lines = list(order.lines.all())
        a.ordered = sum((line.price * line.quantity for line in lines), ZERO)
        package = packages.get(order.pk)
        charge = ZERO
        if order.status == OrderStatus.CANCELLED:
            a.cancelled = order.total
        else:
            a.short = sum((line.price * line.short for line in lines), ZERO)
            if package is None:
                a.pending = a.ordered - a.short
            elif package.status in DELIVERED_STATES:
                a.delivered = charge = package.amount
            elif package.status == PackageStatus.RETURNED:
                a.returned = package.amount
            else:
                a.pending = package.amount
        paid = paid_by_order.get(order.pk, ZERO)
        credit = credit_by_order.get(order.pk, ZERO)
        balance = charge - paid - credit
        a.outstanding = max(balance, ZERO)
        a.held = max(-balance, ZERO)
        a.credit_unsettled = unsettled_by_order.get(order.pk, ZERO)
        # paid and credit are summed by the database below; per household they come from the rows here.
        a.paid, a.credit = paid, credit
        row = rows.get(order.household_id)
        if row is None:
            row = rows[order.household_id] = HouseholdRow(
                order.household_id, order.household.full_address, order.get_payment_mode_display(), Amounts()
            )
        if order.status != OrderStatus.CANCELLED:
            row.payment_mode = order.get_payment_mode_display()
        row.amounts.add(a)
        totals.add(a)
        order_rows.append(
            OrderRow(
                order.pk,
                order.household_id,
                order.household.full_address,
                order.payment_mode,
                order.status == OrderStatus.CANCELLED,
                a,
            )
        )
    # The totals' money comes from the database's own sums, not from the per-order loop.
    totals.paid = _sum(Payment.objects.filter(order__in=orders_qs))
    totals.credit = _sum(CreditEntry.objects.filter(order__in=orders_qs))

    suppliers = []
    if not partial:
        supplier = window.supplier
        suppliers.append(
            SupplierRow(
                supplier.pk,
                supplier.name,
                _sum(Package.objects.filter(window=window, status__in=DELIVERED_STATES)),
                _sum(SupplierSettlement.objects.filter(window=window)),
            )
        )
    return Reconciliation(window, totals, list(rows.values()), suppliers, partial, order_rows)


# The amounts in the order the pages and the workbook show them, with their Chinese headings.
def amount_columns() -> list[tuple[str, str]]:
    return [
        ("ordered", _("订购金额")),
        ("cancelled", _("取消")),
        ("short", _("缺货")),
        ("delivered", _("已送达")),
        ("returned", _("退回")),
        ("pending", _("配送中")),
        ("paid", _("已收款")),
        ("credit", _("社区记账")),
        ("credit_unsettled", _("记账未清")),
        ("outstanding", _("待收")),
        ("held", _("预收待退/待配送")),
    ]


def _window_label(window: OrderWindow) -> str:
    return f"{window} {window.delivery_on:%Y-%m-%d}"


def reconciliation_xlsx(windows: Sequence[OrderWindow], *, user: Any = None) -> bytes:
    """A workbook: 汇总 (one row per window), 分户 (one row per household and window), 商超结算."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    columns = amount_columns()
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = _("汇总")
    bold = Font(bold=True)
    summary.append([_("窗口编号"), _("窗口"), _("商超"), *[label for _key, label in columns], _("平衡")])
    per_household = book.create_sheet(_("分户"))
    per_household.append([_("窗口编号"), _("户"), _("付款方式"), *[label for _key, label in columns]])
    per_supplier = book.create_sheet(_("商超结算"))
    per_supplier.append([_("窗口编号"), _("商超"), _("应付（已送达）"), _("已结算"), _("未结算")])
    for sheet in (summary, per_household, per_supplier):
        for cell in sheet[1]:
            cell.font = bold
    for window in windows:
        rec = reconciliation(window, user=user)
        summary.append(
            [
                window.pk,
                _window_label(window),
                window.supplier.name,
                *[float(getattr(rec.totals, key)) for key, _label in columns],
                _("是") if rec.balanced else _("否"),
            ]
        )
        for row in rec.households:
            per_household.append(
                [window.pk, row.address, row.payment_mode, *[float(getattr(row.amounts, key)) for key, _l in columns]]
            )
        for s in rec.suppliers:
            per_supplier.append([window.pk, s.name, float(s.delivered), float(s.settled), float(s.owed)])
    for sheet in (summary, per_household, per_supplier):
        for column_cells in sheet.columns:
            letter = column_cells[0].column_letter
            sheet.column_dimensions[letter].width = max(
                10, min(30, 2 + max(len(str(c.value or "")) for c in column_cells) * 2)
            )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
