"""Supplies pages: the stock dashboard with days of cover (S8), the daily stock and price reports (S9),
supplier staff checks with today's checklist (S10), and the street's supplies settings.

Supplier staff report for their own supplier (scope via ``SUPPLIER_LOOKUP``); the street command may
report for any supplier of its street; community workers read. Writes go through
``linli.supplies.services.stock``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.lib import scope
from linli.lib.views import apply_errors
from linli.lib.wording import listed
from linli.supplies.forms_stock import PriceForm, SettingsForm, StaffCheckForm, StockForm
from linli.supplies.models import Item, PriceReport, StaffCheck, StockReport, Supplier
from linli.supplies.permissions import CATALOGUE_ROLES, STREET_ROLES, has_role
from linli.supplies.services import stock
from linli.supplies.services.stock import TEST_RESULTS
from linli.supplies.views_catalogue import form_status, posted_data, require, require_edit, street_of

LOG_LIMIT = 100


def _bar(cover: stock.Cover, scale: int) -> int:
    """The cover bar's length in percent: ``scale`` days or more fill it; no stock leaves it empty,
    demand or not (with no demand, any stock fills it: nothing runs out)."""
    if cover.on_hand <= 0:
        return 0
    if cover.days is None:
        return 100
    return max(0, min(100, int(cover.days * 100 / scale)))


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The street's view: each supplier × item with its days of cover as a bar (red under the minimum),
    the items running short first with a forecast, and today's price and staff-check flags."""
    user: Any = request.user
    require(user, CATALOGUE_ROLES)
    street = street_of(user)
    settings = stock.settings_for(street)
    suppliers = list(scope.visible(Supplier.objects.filter(street=street, is_active=True), user).order_by("name"))
    covers = stock.days_of_cover(suppliers, settings=settings) if suppliers else []
    scale = max(14, settings.min_cover_days * 2)
    marker = settings.min_cover_days * 100 // scale
    by_supplier: dict[int, list[dict[str, Any]]] = {s.pk: [] for s in suppliers}
    for cover in covers:
        by_supplier[cover.item.supplier_id].append({"cover": cover, "bar": _bar(cover, scale)})
    now = timezone.now()
    flags = stock.street_flags(suppliers, now=now)
    prices = {s.pk: stock.price_status(s, now=now) for s in suppliers}
    groups = [
        {
            "supplier": s,
            "rows": by_supplier[s.pk],
            "flags": flags.get(s.pk, {}),
            "prices": prices[s.pk],
            "can_report": scope.can_edit(s, user),
        }
        for s in suppliers
    ]
    context = {
        "street": street,
        "settings": settings,
        "groups": groups,
        "short": [c for c in covers if c.flagged],
        "marker": marker,
        "scale": scale,
        "today": timezone.localdate(now),
    }
    return render(request, "supplies/stock/dashboard.html", context)


def _supplier(user: Any, pk: int) -> Supplier:
    return scope.get_visible_or_404(Supplier.objects.select_related("street"), user, pk=pk)


def _items(supplier: Supplier) -> Any:
    return Item.objects.filter(supplier=supplier, is_active=True).order_by("category", "name")


@login_required
def stock_report(request: HttpRequest, pk: int) -> HttpResponse:
    """Today's stock of each item of one supplier (a second report today corrects the first)."""
    user: Any = request.user
    require(user, CATALOGUE_ROLES)
    supplier = _supplier(user, pk)
    can_edit = scope.can_edit(supplier, user)
    today = timezone.localdate()
    reported = {r.item_id: r for r in StockReport.objects.filter(supplier=supplier, date=today)}
    items = _items(supplier)
    form = StockForm(posted_data(request), items=items, initial_values={pk: r.quantity for pk, r in reported.items()})
    if request.method == "POST":
        require_edit(supplier, user, CATALOGUE_ROLES)
        if form.is_valid():
            try:
                done = stock.stock_reports_bulk(supplier, form.values(), actor=user)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("已上报 %(n)s 项库存。") % {"n": len(done)})
                return redirect("supplies:stock_report", pk=supplier.pk)
    context = {
        "supplier": supplier,
        "form": form,
        "rows": [(item, field, reported.get(item.pk)) for item, field in form.rows()],
        "can_edit": can_edit,
        "today": today,
        "missing": sum(1 for item in form.items if item.pk not in reported),
    }
    return render(request, "supplies/stock/stock_report.html", context, status=form_status(request))


@login_required
def price_report(request: HttpRequest, pk: int) -> HttpResponse:
    """Today's price of each item, due by the street's time (15:00); rises beyond the threshold flagged."""
    user: Any = request.user
    require(user, CATALOGUE_ROLES)
    supplier = _supplier(user, pk)
    can_edit = scope.can_edit(supplier, user)
    now = timezone.now()
    status = stock.price_status(supplier, now=now)
    reported = {r.item_id: r for r in status["reports"]}
    items = _items(supplier)
    form = PriceForm(posted_data(request), items=items, initial_values={pk: r.price for pk, r in reported.items()})
    if request.method == "POST":
        require_edit(supplier, user, CATALOGUE_ROLES)
        if form.is_valid():
            by_id = {item.pk: item for item in form.items}
            try:
                with transaction.atomic():
                    done = [
                        stock.price_report(item=by_id[pk], price=price, actor=user, now=now)
                        for pk, price in form.values().items()
                    ]
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("已上报 %(n)s 项价格。") % {"n": len(done)})
                abnormal = [r.item.name for r in done if r.is_abnormal]
                if abnormal:
                    messages.warning(
                        request,
                        _("以下商品价格涨幅超过阈值，已标记异常并提示街道：%(names)s") % {"names": listed(abnormal)},
                    )
                return redirect("supplies:price_report", pk=supplier.pk)
    previous: dict[int, Any] = {}
    for row in (
        PriceReport.objects.filter(supplier=supplier, date__lt=timezone.localdate(now))
        .order_by("item_id", "-date")
        .values("item_id", "price")
    ):
        previous.setdefault(row["item_id"], row["price"])
    context = {
        "supplier": supplier,
        "form": form,
        "rows": [(item, field, reported.get(item.pk), previous.get(item.pk)) for item, field in form.rows()],
        "status": status,
        "settings": stock.settings_for(supplier.street_id),
        "can_edit": can_edit,
    }
    return render(request, "supplies/stock/price_report.html", context, status=form_status(request))


@login_required
def staff_checks(request: HttpRequest, pk: int) -> HttpResponse:
    """Today's checklist of one supplier (who is due a temperature, the site's disinfection, tests) and the log."""
    user: Any = request.user
    require(user, CATALOGUE_ROLES)
    supplier = _supplier(user, pk)
    can_edit = scope.can_edit(supplier, user)
    initial = {"staff_name": request.GET.get("name", "")[:50], "kind": request.GET.get("kind", "temperature")}
    form = StaffCheckForm(posted_data(request), initial=initial)
    if request.method == "POST":
        require_edit(supplier, user, CATALOGUE_ROLES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                check = stock.staff_check_record(
                    supplier=supplier,
                    kind=data["kind"],
                    staff_name=data["staff_name"],
                    temperature=data["temperature"],
                    result=data["result"] if data["kind"] == "test" else data["note"],
                    actor=user,
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                if check.is_abnormal:
                    messages.warning(
                        request,
                        _("%(name)s 的记录异常，请立即停止上岗并报告社区。") % {"name": check.staff_name},
                    )
                else:
                    messages.success(request, _("已记录：%(name)s。") % {"name": check.staff_name})
                return redirect("supplies:staff_checks", pk=supplier.pk)
    checklist = stock.staff_checklist(supplier)
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    log = list(StaffCheck.objects.filter(supplier=supplier, at__gte=start).order_by("-at", "-pk")[:LOG_LIMIT])
    context = {
        "supplier": supplier,
        "form": form,
        "checklist": checklist,
        "log": log,
        "results": TEST_RESULTS,
        "can_edit": can_edit,
        "now": timezone.now(),
    }
    return render(request, "supplies/stock/staff_checks.html", context, status=form_status(request))


@login_required
def settings_page(request: HttpRequest) -> HttpResponse:
    """The street's supplies thresholds: shown to supplies staff, changed by the street command."""
    user: Any = request.user
    require(user, CATALOGUE_ROLES)
    street = street_of(user)
    found = stock.settings_for(street)
    can_edit = has_role(user, STREET_ROLES) and scope.can_edit(street, user)
    form = SettingsForm(request.POST if can_edit and request.method == "POST" else None, instance=found)
    if request.method == "POST":
        require_edit(street, user, STREET_ROLES)
        if form.is_valid():
            try:
                stock.settings_update(street, actor=user, **form.cleaned_data)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("已保存保供设置。"))
                return redirect("supplies:settings")
    context = {"form": form, "street": street, "can_edit": can_edit}
    return render(request, "supplies/stock/settings.html", context, status=form_status(request))


urlpatterns: list[URLPattern] = [
    path("stock/", dashboard, name="stock"),
    path("stock/<int:pk>/report/", stock_report, name="stock_report"),
    path("stock/<int:pk>/prices/", price_report, name="price_report"),
    path("stock/<int:pk>/checks/", staff_checks, name="staff_checks"),
    path("settings/", settings_page, name="settings"),
]
