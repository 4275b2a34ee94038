"""Supplies API: drop-off points, delivery runs, hand-overs (online and offline sync), undelivered
packages and the resident's confirmation (SPEC S6; docs/supplies.md).

Roles: ``DELIVERY_ADMIN_ROLES`` set up points and runs and resolve problems; ``DELIVERY_ROLES`` (with
building leads, the volunteers) hand over; a household's own account confirms receipt. Records out of
the caller's scope are 404; a service's refusal is 422 with a Chinese ``detail``.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any, Literal
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, Form, Router, Schema, Status
from ninja.errors import HttpError
from ninja.files import UploadedFile
from pydantic import Field

from linli.accounts.models import User
from linli.health.api_common import ErrorOut, invalid, not_found
from linli.lib import scope
from linli.registry.models import Building, Compound
from linli.supplies.choices import PackageStatus
from linli.supplies.models import DeliveryRun, DropOffPoint, OrderWindow, Package
from linli.supplies.permissions import DELIVERY_ADMIN_ROLES, DELIVERY_ROLES, has_role
from linli.supplies.services import delivery
from linli.supplies.sign import served_text, sign_pdf

router = Router(tags=["supplies-delivery"])


def require(request: HttpRequest, roles: frozenset[str]) -> Any:
    user: Any = request.user
    if not has_role(user, roles):
        raise HttpError(403, _("您的角色不能使用该功能"))
    return user


def _one(qs: Any, user: Any, pk: int, *, edit: bool = False) -> Any:
    found = (scope.editable if edit else scope.visible)(qs, user).filter(pk=pk).first()
    if found is None:
        raise not_found()
    return found


# ----------------------------------------------------------------------------------------------
# Drop-off points


class DeliveryDropOffOut(Schema):
    id: int
    compound_id: int
    compound: str
    name: str
    location: str
    building_ids: list[int]
    serves: str
    is_active: bool


class DeliveryDropOffIn(Schema):
    compound_id: int
    name: str = Field(max_length=100)
    location: str = Field(default="", max_length=200)
    building_ids: list[int] = []


def _point_out(point: DropOffPoint, compounds: dict[int, str]) -> dict[str, Any]:
    return {
        "id": point.pk,
        "compound_id": point.compound_id,
        "compound": compounds.get(point.compound_id, ""),
        "name": point.name,
        "location": point.location,
        "building_ids": sorted(b.pk for b in point.buildings.all()),
        "serves": served_text(point),
        "is_active": point.is_active,
    }


@router.get("/drop-offs", response=list[DeliveryDropOffOut], summary="物资投放点列表")
def drop_off_list(request: HttpRequest, compound_id: int | None = None) -> Any:
    user = require(request, DELIVERY_ROLES)
    points = scope.visible(DropOffPoint.objects.prefetch_related("buildings"), user)
    if compound_id is not None:
        points = points.filter(compound_id=compound_id)
    points_list = list(points.order_by("compound_id", "name"))
    compounds = dict(Compound.objects.filter(pk__in={p.compound_id for p in points_list}).values_list("pk", "name"))
    return [_point_out(p, compounds) for p in points_list]


@router.post("/drop-offs", response={201: DeliveryDropOffOut, 422: ErrorOut}, summary="新建物资投放点")
def drop_off_create(request: HttpRequest, payload: DeliveryDropOffIn) -> Any:
    user = require(request, DELIVERY_ADMIN_ROLES)
    compound = _one(Compound.objects.all(), user, payload.compound_id, edit=True)
    buildings = list(Building.objects.filter(pk__in=payload.building_ids))
    if len(buildings) != len(set(payload.building_ids)):
        return invalid(ValidationError({"building_ids": _("楼栋不存在")}))
    try:
        point = delivery.drop_off_create(
            compound=compound, name=payload.name, location=payload.location, buildings=buildings, actor=user
        )
    except ValidationError as exc:
        return invalid(exc)
    return Status(201, _point_out(point, {compound.pk: compound.name}))


@router.get("/drop-offs/{point_id}/sign.pdf", summary="投放点标识牌（PDF）")
def drop_off_sign(request: HttpRequest, point_id: int) -> HttpResponse:
    user = require(request, DELIVERY_ROLES)
    point = _one(DropOffPoint.objects.all(), user, point_id)
    response = HttpResponse(sign_pdf(point), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="drop-off-{point.pk}.pdf"'
    return response


# ----------------------------------------------------------------------------------------------
# Runs


class DeliveryPackageOut(Schema):
    id: int
    household_id: int
    address: str
    handover_code: str
    contactless: bool
    amount: str
    status: str
    status_label: str
    handed_over_at: datetime.datetime | None
    problem: str
    resolution: str
    run_id: int | None
    drop_off_id: int | None


def package_out(p: Package) -> dict[str, Any]:
    return {
        "id": p.pk,
        "household_id": p.household_id,
        "address": p.household.address,
        "handover_code": p.handover_code,
        "contactless": p.contactless,
        "amount": str(p.amount),
        "status": p.status,
        "status_label": str(p.get_status_display()),
        "handed_over_at": p.handed_over_at,
        "problem": p.problem,
        "resolution": p.resolution,
        "run_id": p.run_id,
        "drop_off_id": p.drop_off_id,
    }


class DeliveryRunOut(Schema):
    id: int
    window_id: int
    drop_off_id: int | None
    drop_off: str
    volunteer_id: int
    volunteer: str
    created_at: datetime.datetime
    finished_at: datetime.datetime | None
    packages: int
    delivered: int


class DeliveryRunDetailOut(DeliveryRunOut):
    items: list[DeliveryPackageOut]


class DeliveryRunIn(Schema):
    window_id: int
    drop_off_id: int | None = None
    compound_id: int | None = Field(default=None, description="不指定投放点时：送货上门的小区")
    volunteer_id: int
    package_ids: list[int] | None = None


DELIVERED = Q(packages__status__in=[PackageStatus.HANDED_OVER, PackageStatus.LEFT_AT_DOOR, PackageStatus.CONFIRMED])


def runs_for(user: Any) -> Any:
    """The runs a caller sees: in scope; a volunteer without delivery-admin role only their own."""
    runs = scope.visible(DeliveryRun.objects.select_related("drop_off", "volunteer"), user)
    if not has_role(user, DELIVERY_ADMIN_ROLES):
        runs = runs.filter(volunteer_id=user.pk)
    return runs.annotate(n_packages=Count("packages"), n_delivered=Count("packages", filter=DELIVERED))


def run_out(run: Any) -> dict[str, Any]:
    return {
        "id": run.pk,
        "window_id": run.window_id,
        "drop_off_id": run.drop_off_id,
        "drop_off": run.drop_off.name if run.drop_off else _("送货上门"),
        "volunteer_id": run.volunteer_id,
        "volunteer": str(run.volunteer),
        "created_at": run.created_at,
        "finished_at": run.finished_at,
        "packages": getattr(run, "n_packages", 0),
        "delivered": getattr(run, "n_delivered", 0),
    }


@router.get("/runs", response=list[DeliveryRunOut], summary="配送任务列表（志愿者只看到自己的）")
def run_list(request: HttpRequest, window_id: int | None = None, mine: bool = False) -> Any:
    user = require(request, DELIVERY_ROLES)
    runs = runs_for(user)
    if window_id is not None:
        runs = runs.filter(window_id=window_id)
    if mine:
        runs = runs.filter(volunteer_id=user.pk)
    return [run_out(r) for r in runs.order_by("-created_at")[:200]]


@router.post("/runs", response={201: DeliveryRunOut, 422: ErrorOut}, summary="派送：把投放点的包裹分给志愿者")
def run_create(request: HttpRequest, payload: DeliveryRunIn) -> Any:
    user = require(request, DELIVERY_ADMIN_ROLES)
    window = _one(OrderWindow.objects.all(), user, payload.window_id)
    point = _one(DropOffPoint.objects.all(), user, payload.drop_off_id, edit=True) if payload.drop_off_id else None
    compound = _one(Compound.objects.all(), user, payload.compound_id, edit=True) if payload.compound_id else None
    volunteer = User.objects.filter(pk=payload.volunteer_id).first()
    if volunteer is None or not scope.can_see(volunteer, user):
        return invalid(ValidationError({"volunteer_id": _("志愿者不存在或不在您的负责范围内")}))
    packages = None
    if payload.package_ids is not None:
        packages = list(scope.editable(Package.objects.filter(pk__in=payload.package_ids), user))
        if len(packages) != len(set(payload.package_ids)):
            return invalid(ValidationError({"package_ids": _("包裹不存在或不在您的负责范围内")}))
    try:
        run = delivery.run_create(
            window=window, drop_off=point, volunteer=volunteer, actor=user, packages=packages, compound=compound
        )
    except ValidationError as exc:
        return invalid(exc)
    return Status(201, run_out(runs_for(user).get(pk=run.pk)))


@router.get("/runs/{run_id}", response=DeliveryRunDetailOut, summary="配送任务详情（包裹清单）")
def run_detail(request: HttpRequest, run_id: int) -> Any:
    user = require(request, DELIVERY_ROLES)
    run = runs_for(user).filter(pk=run_id).first()
    if run is None:
        raise not_found()
    # The volunteer carries every package of their run, whichever building it is in.
    packages = run.packages.select_related("household__building", "household__unit").order_by(
        "building_id", "unit_id", "household__room"
    )
    return {**run_out(run), "items": [package_out(p) for p in packages]}


# ----------------------------------------------------------------------------------------------
# Hand-over


class HandoverIn(Schema):
    code: str = Field(max_length=100, description="标签二维码内容 LLP:<交接码>，或手输交接码")
    contactless: bool | None = None


class HandoverOut(Schema):
    status: Literal["stored", "already"]
    message: str
    package: DeliveryPackageOut


def _handover_answer(result: delivery.HandoverResult) -> dict[str, Any]:
    package = Package.objects.select_related("household__building", "household__unit").get(pk=result.package.pk)
    return {
        "status": "already" if result.duplicate else "stored",
        "message": result.message,
        "package": package_out(package),
    }


@router.post(
    "/handover", response={200: HandoverOut, 422: ErrorOut}, summary="扫码交付（已交付的再次扫码只提示，不重复记录）"
)
def handover(request: HttpRequest, payload: HandoverIn) -> Any:
    user = require(request, DELIVERY_ROLES)
    try:
        result = delivery.handover_scan(payload.code, actor=user, contactless=payload.contactless)
    except ValidationError as exc:
        return invalid(exc)
    return _handover_answer(result)


@router.post(
    "/handover/photo",
    response={200: HandoverOut, 422: ErrorOut},
    summary="无接触交付并上传门口照片（multipart）",
)
def handover_photo(
    request: HttpRequest, code: Form[str], photo: File[UploadedFile], contactless: Form[bool] = True
) -> Any:
    user = require(request, DELIVERY_ROLES)
    try:
        result = delivery.handover_scan(code, actor=user, contactless=contactless, photo=photo)
    except ValidationError as exc:
        return invalid(exc)
    return _handover_answer(result)


class HandoverSyncItemIn(Schema):
    uuid: uuid.UUID
    code: str = Field(max_length=100)
    device_time: datetime.datetime
    contactless: bool | None = None


class HandoverSyncIn(Schema):
    handovers: list[HandoverSyncItemIn] = Field(max_length=delivery.MAX_SYNC_BATCH)


class HandoverSyncResultOut(Schema):
    uuid: uuid.UUID
    status: Literal["stored", "already", "refused"]
    code: str = Field(
        description="already / handed_over / left_at_door；拒收：invalid / not_found / other_run / returned / "
        "contactless（其他原因为空，见 detail）"
    )
    detail: str
    package_id: int | None
    duplicate: bool


class HandoverSyncOut(Schema):
    results: list[HandoverSyncResultOut]


@router.post(
    "/handovers/sync", response={200: HandoverSyncOut, 422: ErrorOut}, summary="同步离线扫码交付（按 uuid 幂等）"
)
def handovers_sync(request: HttpRequest, payload: HandoverSyncIn) -> Any:
    user = require(request, DELIVERY_ROLES)
    items = [
        delivery.SyncItem(
            item.uuid,
            item.code,
            item.device_time if timezone.is_aware(item.device_time) else timezone.make_aware(item.device_time),
            item.contactless,
        )
        for item in payload.handovers
    ]
    try:
        return {"results": delivery.handovers_sync(items, actor=user)}
    except ValidationError as exc:
        return invalid(exc)


# ----------------------------------------------------------------------------------------------
# Problems and confirmation


class PackageUndeliveredIn(Schema):
    reason: str = Field(max_length=200)
    uuid: UUID | None = Field(
        default=None, description="客户端生成的 uuid：同一 uuid 重发只登记一次，返回包裹当前状态（离线补发）"
    )


class PackageResolveIn(Schema):
    resolution: Literal["redelivered", "returned"]
    note: str = Field(default="", max_length=150)


def _package_for(user: Any, package_id: int, *, edit: bool) -> Package:
    """A package the caller may act on: on their own run, or in their scope (to change: editable)."""
    packages = Package.objects.select_related("household__building", "household__unit", "run")
    found = packages.filter(pk=package_id, run__volunteer_id=user.pk).first()
    if found is None:
        found = _one(packages, user, package_id, edit=edit)
    return found


@router.post(
    "/packages/{package_id}/undelivered", response={200: DeliveryPackageOut, 422: ErrorOut}, summary="登记未送达"
)
def package_undelivered(request: HttpRequest, package_id: int, payload: PackageUndeliveredIn) -> Any:
    user = require(request, DELIVERY_ROLES)
    package = _package_for(user, package_id, edit=True)
    try:
        if payload.uuid is None:
            package = delivery.package_undelivered(package, reason=payload.reason, actor=user)
        else:
            package = delivery.package_undelivered_once(
                package, reason=payload.reason, actor=user, client_uuid=payload.uuid
            )
    except ValidationError as exc:
        refused = invalid(exc)
        if not hasattr(exc, "error_dict") and exc.error_list[0].code == "not_on_the_way":
            refused.value["code"] = "not_on_the_way"  # the hand-over page words it in its own language
        return refused
    return package_out(_package_for(user, package.pk, edit=False))


@router.post(
    "/packages/{package_id}/resolve",
    response={200: DeliveryPackageOut, 422: ErrorOut},
    summary="处理未送达：再次配送或退回",
)
def package_resolve(request: HttpRequest, package_id: int, payload: PackageResolveIn) -> Any:
    user = require(request, DELIVERY_ADMIN_ROLES)
    package = _one(Package.objects.all(), user, package_id, edit=True)
    try:
        package = delivery.package_resolve(package, resolution=payload.resolution, note=payload.note, actor=user)
    except ValidationError as exc:
        return invalid(exc)
    return package_out(_package_for(user, package.pk, edit=False))


@router.get("/windows/{window_id}/problems", response=list[DeliveryPackageOut], summary="窗口内未送达、待处理的包裹")
def window_problems(request: HttpRequest, window_id: int) -> Any:
    user = require(request, DELIVERY_ROLES)
    window = _one(OrderWindow.objects.all(), user, window_id)
    return [package_out(p) for p in scope.visible(delivery.open_problems(window), user)]


@router.post(
    "/packages/{package_id}/confirm",
    response={200: DeliveryPackageOut, 422: ErrorOut},
    summary="居民确认收货（无接触配送）",
)
def package_confirm(request: HttpRequest, package_id: int) -> Any:
    user: Any = request.user
    package = _one(Package.objects.select_related("household__building", "household__unit"), user, package_id)
    try:
        package = delivery.package_confirm(package, actor=user)
    except ValidationError as exc:
        return invalid(exc)
    return package_out(Package.objects.select_related("household__building", "household__unit").get(pk=package.pk))
