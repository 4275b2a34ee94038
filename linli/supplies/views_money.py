"""Supplies pages: money per window — the reconciliation with a bar chart, orders to collect, owing,
credit and refunds, the credit ledger with its settle action, the supplier settlement, and the
reconciliation workbook (SPEC S7; docs/supplies.md)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.lib import scope
from linli.lib.views import as_id
from linli.lib.wording import sentences
from linli.supplies.api_money import xlsx_response
from linli.supplies.choices import PaymentMode, WindowStatus
from linli.supplies.forms_money import PaymentForm, RefundForm, SettlementForm
from linli.supplies.models import CreditEntry, Order, OrderWindow
from linli.supplies.permissions import MONEY_ROLES, WINDOW_ROLES, has_role
from linli.supplies.services import money

ZERO = Decimal("0.00")


def _require(user: Any, roles: frozenset[str]) -> None:
    if not has_role(user, roles):
        raise PermissionDenied(_("您的角色不能使用该功能"))


def _windows(user: Any) -> Any:
    return (
        scope.visible(OrderWindow.objects.select_related("supplier"), user)
        .exclude(status=WindowStatus.DRAFT)
        .order_by("-delivery_on", "-pk")
    )


@login_required
def index(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    _require(user, MONEY_ROLES)
    windows = list(_windows(user)[:60])
    return render(request, "supplies/money/index.html", {"windows": windows})


def _chart(totals: money.Amounts) -> list[dict[str, Any]]:
    """Bars for the chart, each as a share of what was ordered."""
    top = max(totals.ordered, totals.delivered, Decimal("0.01"))
    rows = []
    for key, label in money.amount_columns():
        if key == "ordered" or getattr(totals, key) or key in ("delivered", "paid", "credit"):
            value = getattr(totals, key)
            rows.append({"key": key, "label": label, "value": value, "pct": int(min(100, value * 100 / top))})
    return rows


@login_required
def window_money(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    _require(user, MONEY_ROLES)
    window = scope.get_visible_or_404(OrderWindow.objects.select_related("supplier"), user, pk=pk)
    rec = money.reconciliation(window, user=user)
    credits = (
        scope.visible(CreditEntry.objects.filter(order__window=window), user)
        .select_related("household__compound", "household__building", "household__unit")
        .order_by("settled_at", "-created_at")
    )
    context = {
        "window": window,
        "rec": rec,
        "totals": rec.totals,
        "chart": _chart(rec.totals),
        "to_collect": [o for o in rec.orders if o.prepaid_due > 0],
        "owing": [o for o in rec.orders if o.owed > 0],
        "held": [
            o for o in rec.orders if o.amounts.held > 0 and (o.cancelled or o.amounts.delivered or o.amounts.returned)
        ],
        "credits": credits,
        "can_settle": has_role(user, WINDOW_ROLES),
        "settlement_form": SettlementForm(
            initial={"amount": rec.suppliers[0].owed if rec.suppliers and rec.suppliers[0].owed > 0 else None}
        ),
        "CREDIT": PaymentMode.CREDIT,
    }
    return render(request, "supplies/money/window.html", context)


def _order(user: Any, pk: int) -> Order:
    return scope.get_editable_or_404(Order.objects.select_related("household"), user, pk=pk)


def _done(request: HttpRequest, order_or_window: Any, call: Any, success: str) -> HttpResponse:
    try:
        call()
    except ValidationError as exc:
        messages.error(request, sentences(exc.messages))
    else:
        messages.success(request, success)
    window_id = getattr(order_or_window, "window_id", None) or order_or_window.pk
    return redirect("supplies:money_window", pk=window_id)


@login_required
@require_POST
def pay(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    _require(user, MONEY_ROLES)
    order = _order(user, pk)
    form = PaymentForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写正确的金额"))
        return redirect("supplies:money_window", pk=order.window_id)
    data = form.cleaned_data
    return _done(
        request,
        order,
        lambda: money.payment_collect(order, mode=data["mode"], amount=data["amount"], actor=user),
        _("已登记收款 ¥%(amount)s") % {"amount": data["amount"]},
    )


@login_required
@require_POST
def refund(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    _require(user, MONEY_ROLES)
    order = _order(user, pk)
    form = RefundForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写正确的金额"))
        return redirect("supplies:money_window", pk=order.window_id)
    amount = form.cleaned_data["amount"]
    return _done(
        request,
        order,
        lambda: money.payment_refund(order, amount=amount, actor=user),
        _("已登记退款 ¥%(amount)s") % {"amount": amount},
    )


@login_required
@require_POST
def credit(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    _require(user, MONEY_ROLES)
    order = _order(user, pk)
    return _done(request, order, lambda: money.credit_record(order, actor=user), _("已记入社区记账"))


@login_required
@require_POST
def credit_settle(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    _require(user, WINDOW_ROLES)
    window = scope.get_visible_or_404(OrderWindow.objects.all(), user, pk=pk)
    ids = [number for v in request.POST.getlist("entry") if (number := as_id(v)) is not None]
    entries = list(scope.editable(CreditEntry.objects.filter(order__window=window, pk__in=ids), user))
    return _done(
        request,
        window,
        lambda: money.credit_settle(entries, actor=user),
        _("已清账 %(n)d 笔") % {"n": len(entries)},
    )


@login_required
@require_POST
def settle(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    _require(user, WINDOW_ROLES)
    window = scope.get_editable_or_404(OrderWindow.objects.all(), user, pk=pk)
    form = SettlementForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写正确的金额"))
        return redirect("supplies:money_window", pk=window.pk)
    data = form.cleaned_data
    return _done(
        request,
        window,
        lambda: money.supplier_settle(window, amount=data["amount"], note=data["note"], actor=user),
        _("已与商超结算 ¥%(amount)s") % {"amount": data["amount"]},
    )


@login_required
def window_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    _require(user, MONEY_ROLES)
    window = scope.get_visible_or_404(OrderWindow.objects.select_related("supplier"), user, pk=pk)
    return xlsx_response(request, user, [window])


@login_required
def all_xlsx(request: HttpRequest) -> HttpResponse:
    """The reconciliation of the windows listed on the index (or those chosen with ``?window=``)."""
    user: Any = request.user
    _require(user, MONEY_ROLES)
    windows = _windows(user)
    chosen = [number for v in request.GET.getlist("window") if (number := as_id(v)) is not None]
    windows = windows.filter(pk__in=chosen) if chosen else windows[:60]
    return xlsx_response(request, user, list(windows))


urlpatterns: list[URLPattern] = [
    path("money/", index, name="money_index"),
    path("money/reconciliation.xlsx", all_xlsx, name="money_xlsx_all"),
    path("money/windows/<int:pk>/", window_money, name="money_window"),
    path("money/windows/<int:pk>/reconciliation.xlsx", window_xlsx, name="money_xlsx"),
    path("money/windows/<int:pk>/credits/settle/", credit_settle, name="money_credit_settle"),
    path("money/windows/<int:pk>/settle/", settle, name="money_settle"),
    path("money/orders/<int:pk>/pay/", pay, name="money_pay"),
    path("money/orders/<int:pk>/refund/", refund, name="money_refund"),
    path("money/orders/<int:pk>/credit/", credit, name="money_credit"),
]
