"""Supplies pages: aggregation, purchase orders, shortfalls, pick lists and labels (SPEC S4, S5).

Who: ``WINDOW_ROLES`` aggregate a window ("汇总" once its cut-off has passed); ``PACKING_ROLES`` — the
supplier's staff (their own supplier's purchase orders only) and the community and street staff who
print for it — read purchase orders, enter the supplier's available quantities (the shortfall is then
allocated fairly and every affected household told) and download pick lists and labels. Out of scope
is 404, a role outside the sets 403; writes go through ``linli.supplies.services.aggregation``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.audit.models import AuditAction
from linli.audit.services import audit_record
from linli.lib import scope
from linli.lib.views import as_id
from linli.supplies.api_packing import SHORT_AMOUNT, XLSX, cents, item_totals, packages_by_drop_off, purchase_lines
from linli.supplies.choices import PackageStatus, WindowStatus
from linli.supplies.forms_packing import LabelSizeForm, ShortfallForm
from linli.supplies.labels import DEFAULT_SIZE, SIZES, labels_pdf
from linli.supplies.models import DropOffPoint, OrderWindow, Package, PurchaseLine, PurchaseOrder
from linli.supplies.permissions import PACKING_ROLES, WINDOW_ROLES, has_role
from linli.supplies.picklist import door_title, picklist_pdf, picklist_xlsx
from linli.supplies.services.aggregation import aggregate, shortfall_allocate

PURCHASE_ROLES = PACKING_ROLES | WINDOW_ROLES
LIST_LIMIT = 200


def require(user: Any, roles: frozenset[str]) -> None:
    if not has_role(user, roles):
        raise PermissionDenied(_("您的角色不能使用本页面"))


def _purchases(user: Any) -> Any:
    return scope.visible(PurchaseOrder.objects.select_related("window__supplier", "window__community"), user)


def _purchase(user: Any, pk: int) -> PurchaseOrder:
    require(user, PURCHASE_ROLES)
    purchase = _purchases(user).filter(pk=pk).first()
    if purchase is None:
        raise Http404
    return purchase


@login_required
def purchase_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    require(user, PURCHASE_ROLES)
    due: list[OrderWindow] = []
    if has_role(user, WINDOW_ROLES):
        due = list(
            scope.editable(OrderWindow.objects.select_related("supplier", "community"), user)
            .filter(status=WindowStatus.PUBLISHED, cutoff_at__lte=timezone.now())
            .order_by("cutoff_at")[:LIST_LIMIT]
        )
    purchases = list(
        _purchases(user)
        .annotate(short_units=Sum("lines__short"), short_amount=SHORT_AMOUNT)
        .order_by("-created_at")[:LIST_LIMIT]
    )
    for purchase in purchases:
        # What the supplier delivers and is paid after a shortfall; the ordered total is shown struck beside it.
        purchase.packed_total = purchase.total - cents(purchase.short_amount)  # type: ignore[attr-defined]
    return render(request, "supplies/packing/purchases.html", {"due": due, "purchases": purchases})


@login_required
@require_POST
def window_aggregate(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    require(user, WINDOW_ROLES)
    window = scope.editable(OrderWindow.objects.all(), user).filter(pk=pk).first()
    if window is None:
        raise Http404
    try:
        purchase = aggregate(window, actor=user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("supplies:purchase_list")
    messages.success(
        request, _("已汇总：%(n)d 个订单，%(total)s 元。") % {"n": purchase.orders, "total": purchase.total}
    )
    return redirect("supplies:purchase_detail", pk=purchase.pk)


def _detail_context(user: Any, purchase: PurchaseOrder, form: ShortfallForm | None = None) -> dict[str, Any]:
    items = item_totals(purchase)
    started = Package.objects.filter(window_id=purchase.window_id).exclude(status=PackageStatus.PACKED).exists()
    can_allocate = scope.can_edit(purchase, user) and not started and bool(items)
    points = [
        (point.pk, point.name)
        for point in DropOffPoint.objects.filter(
            pk__in=PurchaseLine.objects.filter(purchase=purchase, drop_off__isnull=False).values("drop_off_id")
        ).order_by("name")
    ]
    lines = purchase_lines(purchase)
    return {
        "purchase": purchase,
        "window": purchase.window,
        "items": items,
        "lines": lines,
        "packed_total": purchase.total - sum((line["amount"] - line["packed_amount"] for line in lines), Decimal("0")),
        "packages": packages_by_drop_off(purchase),
        "door_title": door_title(),
        "points": points,
        "has_door": PurchaseLine.objects.filter(purchase=purchase, drop_off__isnull=True).exists(),
        "can_allocate": can_allocate,
        "started": started,
        "form": form or (ShortfallForm(items=items) if can_allocate else None),
        "size_form": LabelSizeForm(),
    }


@login_required
def purchase_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    purchase = _purchase(user, pk)
    return render(request, "supplies/packing/purchase.html", _detail_context(user, purchase))


@login_required
@require_POST
def purchase_shortfall(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    purchase = _purchase(user, pk)
    if not scope.can_edit(purchase, user):
        raise PermissionDenied(_("您只能查看，不能修改本采购单"))
    form = ShortfallForm(request.POST, items=item_totals(purchase))
    if form.is_valid():
        try:
            orders = shortfall_allocate(purchase, form.available(), actor=user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("缺货已分配，已通知 %(n)d 户。") % {"n": len(orders)})
            return redirect("supplies:purchase_detail", pk=purchase.pk)
    context = _detail_context(user, purchase, form)
    return render(request, "supplies/packing/purchase.html", context, status=422)


def _download(user: Any, purchase: PurchaseOrder, content: bytes, content_type: str, filename: str) -> HttpResponse:
    window = purchase.window
    audit_record(
        actor=user,
        action=AuditAction.EXPORT,
        obj=purchase,
        changes={"file": filename},
        street_id=window.street_id,
        community_id=window.community_id,
    )
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _point(request: HttpRequest, purchase: PurchaseOrder) -> DropOffPoint | None:
    raw = request.GET.get("drop_off", "")
    if not raw:
        return None
    point_id = as_id(raw)
    if point_id is None or not PurchaseLine.objects.filter(purchase=purchase, drop_off_id=point_id).exists():
        raise Http404
    return DropOffPoint.objects.get(pk=point_id)


@login_required
def purchase_picklist_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    purchase = _purchase(user, pk)
    point = _point(request, purchase)
    content = picklist_pdf(purchase, point, households=request.GET.get("households") == "1")
    return _download(user, purchase, content, "application/pdf", f"picklist-{purchase.pk}.pdf")


@login_required
def purchase_picklist_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    purchase = _purchase(user, pk)
    content = picklist_xlsx(purchase, households=request.GET.get("households") == "1")
    return _download(user, purchase, content, XLSX, f"picklist-{purchase.pk}.xlsx")


@login_required
def purchase_labels(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    purchase = _purchase(user, pk)
    size = request.GET.get("size") or DEFAULT_SIZE
    if size not in SIZES:
        raise Http404
    packages = Package.objects.filter(window_id=purchase.window_id)
    point = _point(request, purchase)
    if point is not None:
        packages = packages.filter(drop_off=point)
    elif request.GET.get("door") == "1":
        packages = packages.filter(drop_off__isnull=True)
    content = labels_pdf(packages, size=size)
    return _download(user, purchase, content, "application/pdf", f"labels-{purchase.pk}-{size}.pdf")


urlpatterns: list[URLPattern] = [
    path("purchases/", purchase_list, name="purchase_list"),
    path("purchases/<int:pk>/", purchase_detail, name="purchase_detail"),
    path("purchases/<int:pk>/shortfall/", purchase_shortfall, name="purchase_shortfall"),
    path("purchases/<int:pk>/picklist.pdf", purchase_picklist_pdf, name="purchase_picklist_pdf"),
    path("purchases/<int:pk>/picklist.xlsx", purchase_picklist_xlsx, name="purchase_picklist_xlsx"),
    path("purchases/<int:pk>/labels.pdf", purchase_labels, name="purchase_labels"),
    path("windows/<int:pk>/aggregate/", window_aggregate, name="window_aggregate"),
]
