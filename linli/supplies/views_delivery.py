"""Supplies pages: drop-off points and their signs, delivery runs per window, undelivered packages, and
the volunteer's phone page 我的配送 with its hand-over scanner (SPEC S6; docs/supplies.md).

The scanner works offline like the gate's checkpoint page: a service worker served under
``/supplies/delivery/`` keeps the page and its static files, the page keeps its scans in IndexedDB with
a client uuid and the phone's time, and sends them to ``POST /api/v1/supplies/handovers/sync``.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from linli.lib import scope
from linli.lib.views import offline_worker
from linli.lib.wording import sentences, separators
from linli.registry.models import Building, Compound
from linli.supplies.choices import DELIVERED_STATES, PackageStatus, WindowStatus
from linli.supplies.forms_delivery import DropOffForm, ResolveForm, RunForm, UndeliveredForm
from linli.supplies.models import DeliveryRun, DropOffPoint, OrderWindow, Package
from linli.supplies.permissions import DELIVERY_ADMIN_ROLES, DELIVERY_ROLES, has_role
from linli.supplies.services import delivery
from linli.supplies.sign import served_text, sign_pdf

SHELL_FILES = (
    "linli/app.css",
    "supplies/delivery.css",
    "supplies/handover.js",
    "supplies/handover_store.js",
    "gate/vendor/jsQR.js",
    "linli/qrcamera.js",
    "linli/kept.js",
)
DELIVERED = list(DELIVERED_STATES)


def _require(user: Any, roles: frozenset[str]) -> None:
    if not has_role(user, roles):
        raise PermissionDenied(_("您的角色不能使用该功能"))


def _get(qs: Any, user: Any, pk: int, *, edit: bool = False) -> Any:
    return (scope.get_editable_or_404 if edit else scope.get_visible_or_404)(qs, user, pk=pk)


# ----------------------------------------------------------------------------------------------
# Index and drop-off points


@login_required
def index(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    _require(user, DELIVERY_ROLES)
    if not has_role(user, DELIVERY_ADMIN_ROLES):
        return redirect("supplies:delivery_mine")
    windows = (
        scope.visible(OrderWindow.objects.select_related("supplier"), user)
        .filter(status__in=[WindowStatus.AGGREGATED, WindowStatus.DELIVERED, WindowStatus.SETTLED])
        .annotate(
            n_packages=Count("packages", distinct=True),
            n_delivered=Count("packages", filter=Q(packages__status__in=DELIVERED), distinct=True),
            n_problems=Count("packages", filter=Q(packages__status=PackageStatus.UNDELIVERED), distinct=True),
        )
        .order_by("-delivery_on", "-pk")[:60]
    )
    return render(request, "supplies/delivery/index.html", {"windows": windows})


def _point_form(user: Any, data: Any = None, initial: Any = None) -> DropOffForm:
    compounds = scope.editable(Compound.objects.all(), user).order_by("name")
    buildings = scope.editable(Building.objects.select_related("compound"), user).order_by("compound__name", "name")
    return DropOffForm(data, initial=initial, compounds=compounds, buildings=buildings)


@login_required
def drop_offs(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    _require(user, DELIVERY_ROLES)
    can_edit = has_role(user, DELIVERY_ADMIN_ROLES)
    form = _point_form(user, request.POST if request.method == "POST" else None) if can_edit else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied(_("您的角色不能使用该功能"))
        if form.is_valid():
            try:
                delivery.drop_off_create(
                    compound=form.cleaned_data["compound"],
                    name=form.cleaned_data["name"],
                    location=form.cleaned_data["location"],
                    buildings=form.cleaned_data["buildings"],
                    actor=user,
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("已添加投放点"))
                return redirect("supplies:drop_offs")
    points = list(
        scope.visible(DropOffPoint.objects.prefetch_related("buildings"), user).order_by("compound_id", "name")
    )
    compounds = dict(Compound.objects.filter(pk__in={p.compound_id for p in points}).values_list("pk", "name"))
    rows = [{"point": p, "compound": compounds.get(p.compound_id, ""), "serves": served_text(p)} for p in points]
    return render(request, "supplies/delivery/drop_offs.html", {"rows": rows, "form": form, "can_edit": can_edit})


@login_required
def drop_off_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    _require(user, DELIVERY_ADMIN_ROLES)
    point = _get(DropOffPoint.objects.all(), user, pk, edit=True)
    initial = {
        "compound": point.compound_id,
        "name": point.name,
        "location": point.location,
        "buildings": list(point.buildings.all()),
        "is_active": point.is_active,
    }
    form = _point_form(user, request.POST if request.method == "POST" else None, initial=initial)
    form.fields["compound"].disabled = True
    if request.method == "POST" and form.is_valid():
        try:
            delivery.drop_off_update(
                point,
                name=form.cleaned_data["name"],
                location=form.cleaned_data["location"],
                buildings=form.cleaned_data["buildings"],
                is_active=form.cleaned_data["is_active"],
                actor=user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("已保存"))
            return redirect("supplies:drop_offs")
    return render(request, "supplies/delivery/drop_off_edit.html", {"point": point, "form": form})


@login_required
def drop_off_sign(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    _require(user, DELIVERY_ROLES)
    point = _get(DropOffPoint.objects.all(), user, pk)
    response = HttpResponse(sign_pdf(point), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="drop-off-{point.pk}.pdf"'
    return response


# ----------------------------------------------------------------------------------------------
# A window's delivery


def _volunteers(user: Any, window: OrderWindow) -> Any:
    from linli.accounts.models import User

    return (
        scope.visible(User.objects.filter(is_active=True, role__in=DELIVERY_ROLES, is_superuser=False), user)
        .filter(community_id=window.community_id)
        .order_by("role", "display_name", "username")
    )


@login_required
def window_delivery(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    _require(user, DELIVERY_ADMIN_ROLES)
    window = _get(OrderWindow.objects.select_related("supplier"), user, pk)
    packages = scope.visible(Package.objects.filter(window=window), user)
    points = scope.editable(DropOffPoint.objects.filter(community_id=window.community_id, is_active=True), user)
    compounds = scope.editable(Compound.objects.filter(community_id=window.community_id), user).order_by("name")
    form = RunForm(
        request.POST if request.method == "POST" else None,
        points=points.order_by("compound_id", "name"),
        compounds=compounds,
        volunteers=_volunteers(user, window),
    )
    if request.method == "POST" and form.is_valid():
        try:
            run = delivery.run_create(
                window=window,
                drop_off=form.cleaned_data["drop_off"],
                compound=form.cleaned_data["compound"],
                volunteer=form.cleaned_data["volunteer"],
                actor=user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("已派给 %(name)s") % {"name": run.volunteer})
            return redirect("supplies:delivery_window", pk=window.pk)
    by_point = (
        packages.values("drop_off_id", "drop_off__name")
        .annotate(
            total=Count("pk"),
            waiting=Count("pk", filter=Q(run__isnull=True, status=PackageStatus.PACKED)),
            delivered=Count("pk", filter=Q(status__in=DELIVERED)),
        )
        .order_by("drop_off__name")
    )
    runs = (
        scope.visible(
            DeliveryRun.objects.filter(window=window).select_related("compound", "drop_off", "volunteer"), user
        )
        .annotate(n=Count("packages"), done=Count("packages", filter=Q(packages__status__in=DELIVERED)))
        .order_by("-created_at")
    )
    problems = scope.visible(delivery.open_problems(window), user)
    context = {
        "window": window,
        "by_point": by_point,
        "runs": runs,
        "problems": problems,
        "form": form,
        "resolve_form": ResolveForm(),
    }
    return render(request, "supplies/delivery/window.html", context)


@login_required
@require_POST
def package_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    _require(user, DELIVERY_ADMIN_ROLES)
    package = _get(Package.objects.all(), user, pk, edit=True)
    form = ResolveForm(request.POST)
    if form.is_valid():
        try:
            delivery.package_resolve(
                package, resolution=form.cleaned_data["resolution"], note=form.cleaned_data["note"], actor=user
            )
            messages.success(request, _("已处理"))
        except ValidationError as exc:
            messages.error(request, sentences(exc.messages))
    else:
        messages.error(request, _("请选择处理结果"))
    return redirect("supplies:delivery_window", pk=package.window_id)


# ----------------------------------------------------------------------------------------------
# The volunteer's page


def _my_packages(user: Any) -> Any:
    """The packages of the volunteer's runs: assigned to them, whichever building they are in."""
    runs = scope.visible(DeliveryRun.objects.filter(volunteer_id=user.pk), user)
    return Package.objects.filter(run__in=runs).select_related(
        "household__building", "household__unit", "run__compound"
    )


@login_required
@require_POST
def package_undelivered(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    _require(user, DELIVERY_ROLES)
    package = _my_packages(user).filter(pk=pk).first() or _get(Package.objects.all(), user, pk, edit=True)
    form = UndeliveredForm(request.POST)
    if form.is_valid():
        reason, client_uuid = form.cleaned_data["reason"], form.cleaned_data.get("client_uuid")
        try:
            if client_uuid:  # the form sent again (a double tap, a resent post): recorded once
                delivery.package_undelivered_once(package, reason=reason, actor=user, client_uuid=client_uuid)
            else:
                delivery.package_undelivered(package, reason=reason, actor=user)
            messages.success(request, _("已登记未送达：%(address)s") % {"address": package.household.address})
        except ValidationError as exc:
            messages.error(request, sentences(exc.messages))
    else:
        messages.error(request, _("请填写未送达原因"))
    return redirect("supplies:delivery_mine")


def _page_strings() -> dict[str, str]:
    return {
        # The punctuation the script puts between a household's members and between messages.
        **separators(),
        "online": _("在线"),
        "offline": _("离线"),
        "queued": _("待同步 {n} 条"),
        "synced": _("已全部同步"),
        "rejected_title": _("{n} 条被服务器拒收，请核对这些包裹："),
        "rejected_item": _("{bag}：{reason}"),
        "undelivered_label": _("无法送达"),
        "login_needed": _("登录已失效：扫码照常离线记录，请重新登录后同步"),
        "need_code": _("请扫描包裹标签上的二维码，或输入交接码"),
        "not_mine_offline": _("离线：该包裹不在您的配送清单中，已记录，联网后由服务器核验"),
        "not_kept": _("手机存储已满，本次交付未能记录：请联网后重扫，或手工登记"),
        "photo_not_kept": _("手机存储已满，门口照片未能保存：请联网后重拍"),
        "not_persistent": _(
            "本浏览器不能在手机上保存记录（可能开着无痕模式）：断网时的扫码只存在本页，请勿关闭本页，联网后会自动上传"
        ),
        "queued_ok": _("离线已记录：{address}，联网后自动上传"),
        "queued_contactless": _("离线已记录：{address} 无接触放门口，联网后自动上传"),
        "already_local": _("已交付，无需重复扫码：{address}"),
        "server_error": _("服务器未能处理：{detail}"),
        "camera_failed": _("无法打开摄像头：请允许使用摄像头，或手动输入交接码"),
        "camera_hint": _("将标签二维码对准取景框"),
        "no_qr_in_photo": _("照片中没有识别到二维码，请重拍或手动输入"),
        "photo_saved": _("门口照片已上传"),
        "photo_kept": _("门口照片已存在手机上，联网后自动上传"),
        "photos_queued": _("待上传照片 {n} 张"),
        "photo_refused": _("一张门口照片未被接收：{detail}"),
        "delivered": _("已交付"),
        "pending_row": _("待同步"),
        "undelivered_reason": _("请填写未送达原因"),
        "undelivered_queued": _("离线已记录无法送达：{address}，联网后自动上传"),
        "undelivered_pending_row": _("未送达，待同步"),
        "undelivered_row": str(PackageStatus.UNDELIVERED.label),
        "undelivered_not_kept": _("手机存储已满，无法送达未能记录：请联网后再点登记"),
        "rejected_row": _("被服务器拒收，请核对"),
    }


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    _require(user, DELIVERY_ROLES)
    packages = list(
        _my_packages(user)
        .filter(Q(run__finished_at__isnull=True) | Q(status=PackageStatus.UNDELIVERED))
        .order_by("run_id", "building_id", "unit_id", "household__room")
    )
    runs: dict[int, dict[str, Any]] = {}
    for p in packages:
        entry = runs.setdefault(p.run_id, {"run": p.run, "packages": []})  # type: ignore[arg-type]
        entry["packages"].append(p)
    drop_off_names = dict(
        DropOffPoint.objects.filter(pk__in={p.run.drop_off_id for p in packages if p.run}).values_list("pk", "name")
    )
    for entry in runs.values():
        run = entry["run"]
        # A volunteer may carry in several compounds, each with its door deliveries (and its 东门投放点).
        entry["drop_off"] = f"{run.compound.name} {drop_off_names.get(run.drop_off_id, _('送货上门'))}"
        entry["done"] = sum(1 for p in entry["packages"] if p.status in DELIVERED_STATES)
    config = {
        "user": user.pk,
        "packages": {
            p.handover_code: {
                "id": p.pk,
                "address": p.household.address,
                "contactless": p.contactless,
                "delivered": p.status in DELIVERED_STATES,
                # Still to deliver or mark 无法送达: a bag marked undelivered never goes back out.
                "on_the_way": p.status in delivery.ON_THE_WAY,
            }
            for p in packages
        },
        "urls": {
            "handover": "/api/v1/supplies/handover",
            "photo": "/api/v1/supplies/handover/photo",
            "sync": "/api/v1/supplies/handovers/sync",
            "undelivered": "/api/v1/supplies/packages/{id}/undelivered",
            "service_worker": reverse("supplies:delivery_sw"),
        },
        "strings": _page_strings(),
        # A refusal kept on the phone is worded by its code, in the language the page is read in now.
        "refusals": {
            **{code: str(delivery.HANDOVER_TEXTS[code]) for code in delivery.REFUSAL_CODES},
            "not_on_the_way": str(delivery.NOT_ON_THE_WAY),
        },
    }
    context = {"runs": list(runs.values()), "config": config}
    return render(request, "supplies/delivery/mine.html", context)


@require_GET
@never_cache
def service_worker(request: HttpRequest) -> HttpResponse:
    """The hand-over page's service worker, served under /supplies/delivery/ so its scope covers it."""
    return offline_worker(
        request,
        name="delivery",
        scope=reverse("supplies:delivery_index"),
        shell_files=SHELL_FILES,
        kept="^" + re.escape(reverse("supplies:delivery_mine")) + "$",
        offline_text=_("网络已断开，且本机还没有保存配送页面：请联网后打开一次。"),
    )


urlpatterns: list[URLPattern] = [
    path("delivery/", index, name="delivery_index"),
    path("delivery/drop-offs/", drop_offs, name="drop_offs"),
    path("delivery/drop-offs/<int:pk>/", drop_off_edit, name="drop_off_edit"),
    path("delivery/drop-offs/<int:pk>/sign.pdf", drop_off_sign, name="drop_off_sign"),
    path("delivery/windows/<int:pk>/", window_delivery, name="delivery_window"),
    path("delivery/packages/<int:pk>/resolve/", package_resolve, name="package_resolve"),
    path("delivery/packages/<int:pk>/undelivered/", package_undelivered, name="package_undelivered"),
    path("delivery/mine/", mine, name="delivery_mine"),
    path("delivery/sw.js", service_worker, name="delivery_sw"),
]
