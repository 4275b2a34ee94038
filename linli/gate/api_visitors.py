"""API of the gate desk under /api/v1/gate/: exempt passes (A4), visitors (A5), vehicles (A6), parcels (A7).

Same rules as the pages (``views_visitors``): a checkpoint or record outside the caller's scope is
404 (like missing), a role that may not do something is 403, bad input is 422 with a Chinese
``detail`` and the messages per field, and nothing is half-saved. A refusal at the gate (a feverish
visitor, an outside vehicle) is not an error: it is recorded and answered 201 with its verdict.
"""

from __future__ import annotations

import datetime
import uuid as uuid_module
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from linli.audit.services import audit_reveal
from linli.gate import visitors
from linli.gate.api_checkpoint import checkpoint_for
from linli.gate.models import Checkpoint, ExemptPass, Parcel, VehicleEntry, VehiclePass, Visit
from linli.lib import scope
from linli.lib.apiutil import ErrorOut
from linli.lib.wording import sentences
from linli.registry.models import Compound, Household, Person

router = Router(tags=["gate"])


@contextmanager
def refusals() -> Iterator[None]:
    """The access helpers of ``visitors`` speak Django (PermissionDenied, Http404): answer 403/404."""
    try:
        yield
    except PermissionDenied as exc:
        raise HttpError(403, str(exc) or _("无权操作")) from exc
    except Http404 as exc:
        raise HttpError(404, _("未找到该记录，或不在您的负责范围内")) from exc


def _invalid(exc: ValidationError) -> Status[dict[str, Any]]:
    errors = (
        {field: [str(m) for m in messages] for field, messages in exc.message_dict.items()}
        if hasattr(exc, "error_dict")
        else {"__all__": [str(m) for m in exc.messages]}
    )
    return Status(422, {"detail": sentences(m for ms in errors.values() for m in ms), "errors": errors})


def _get(qs: Any, user: Any, pk: int, *, edit: bool = False) -> Any:
    with refusals():
        return (scope.get_editable_or_404 if edit else scope.get_visible_or_404)(qs, user, pk=pk)


def _desk(request: HttpRequest, checkpoint_id: int) -> Checkpoint:
    return checkpoint_for(request, checkpoint_id, scanning=True)


def _staff(request: HttpRequest) -> Any:
    with refusals():
        visitors.require_staff(request.user)
    return request.user


# ----------------------------------------------------------------------------------------------
# Exempt passes (A4)


class ExemptOut(Schema):
    id: int
    kind: str
    kind_label: str
    name: str
    organisation: str
    proof: str
    number: str = Field(description="通行证号，卡口可手输（仅办理权限可见，其他人为空）")
    compound_id: int
    compound: str
    person_id: int | None
    valid_from: datetime.date
    valid_until: datetime.date
    is_active: bool
    status: str


class ExemptDetailOut(ExemptOut):
    token: str = Field(description="二维码内容（仅办理权限可见）")


def _exempt_out(exempt: ExemptPass, *, token: bool = False, number: bool = True) -> dict[str, Any]:
    """The pass as the API shows it; ``number=False`` withholds its number (typed at the gate, it is
    as good as the QR): as for household passes, only those who issue passes see either."""
    data = {
        "id": exempt.pk,
        "kind": exempt.kind,
        "kind_label": str(exempt.get_kind_display()),
        "name": exempt.name,
        "organisation": exempt.organisation,
        "proof": exempt.proof,
        "number": exempt.number if number else "",
        "compound_id": exempt.compound_id,
        "compound": exempt.compound.name,
        "person_id": exempt.person_id,
        "valid_from": exempt.valid_from,
        "valid_until": exempt.valid_until,
        "is_active": exempt.is_active,
        "status": visitors.exempt_status(exempt),
    }
    if token:
        data["token"] = exempt.token
    return data


class ExemptIn(Schema):
    kind: Literal["worker", "epidemic_worker", "emergency_vehicle"] = "worker"
    name: str = Field(max_length=50, description="姓名；应急车辆填车牌号")
    organisation: str = Field(default="", max_length=100)
    proof: str = Field(default="", max_length=100, description="复工证明、工作证或派车单编号")
    valid_from: datetime.date | None = Field(default=None, description="留空为今天")
    valid_until: datetime.date
    person_id: int | None = Field(default=None, description="持证人是本小区居民时，其人员编号")


@router.get("/exempt-passes", response=list[ExemptOut], summary="免检通行证列表")
def exempt_list(request: HttpRequest, active: bool | None = None) -> Any:
    user = _staff(request)
    qs = scope.visible(ExemptPass.objects.select_related("compound"), user).order_by("-created_at", "-id")
    if active is not None:
        qs = qs.filter(is_active=active)
    items = list(qs[:500])
    issued_here: set[int] = set()
    if visitors.can_manage_passes(user):
        ids = [item.pk for item in items]
        issued_here = set(scope.editable(ExemptPass.objects.filter(pk__in=ids), user).values_list("pk", flat=True))
    return [_exempt_out(item, number=item.pk in issued_here) for item in items]


@router.post(
    "/compounds/{compound_id}/exempt-passes",
    response={201: ExemptDetailOut, 422: ErrorOut},
    summary="办理免检通行证（复工、防疫工作人员、应急车辆）",
)
def exempt_create(request: HttpRequest, compound_id: int, payload: ExemptIn) -> Any:
    user: Any = request.user
    with refusals():
        visitors.require_pass_manager(user)
    compound = _get(Compound.objects.all(), user, compound_id, edit=True)
    person = None
    if payload.person_id is not None:
        person = (
            scope.visible(Person.objects.select_related("household"), user)
            .filter(pk=payload.person_id, household__compound_id=compound.pk)
            .first()
        )
        if person is None:
            return _invalid(ValidationError({"person_id": [_("关联人员必须是本小区居民")]}))
    try:
        exempt = visitors.exempt_create(
            compound=compound,
            actor=user,
            kind=payload.kind,
            name=payload.name,
            organisation=payload.organisation,
            proof=payload.proof,
            valid_from=payload.valid_from,
            valid_until=payload.valid_until,
            person=person,
        )
    except ValidationError as exc:
        return _invalid(exc)
    return Status(201, _exempt_out(exempt, token=True))


@router.get("/exempt-passes/{exempt_id}", response=ExemptDetailOut, summary="免检通行证详情")
def exempt_detail(request: HttpRequest, exempt_id: int) -> Any:
    user = _staff(request)
    exempt = _get(ExemptPass.objects.select_related("compound"), user, exempt_id)
    issuer = visitors.can_manage_passes(user) and scope.can_edit(exempt, user)
    return {**_exempt_out(exempt, number=issuer), "token": exempt.token if issuer else ""}


@router.post("/exempt-passes/{exempt_id}/revoke", response=ExemptOut, summary="作废免检通行证")
def exempt_revoke(request: HttpRequest, exempt_id: int) -> Any:
    user: Any = request.user
    with refusals():
        visitors.require_pass_manager(user)
    exempt = _get(ExemptPass.objects.select_related("compound"), user, exempt_id, edit=True)
    return _exempt_out(visitors.exempt_revoke(exempt=exempt, actor=user))


@router.get(
    "/exempt-passes/{exempt_id}/card",
    response={200: None},
    summary="免检通行证卡片（PDF，可打印）",
    openapi_extra={"responses": {200: {"content": {"application/pdf": {}}}}},
)
def exempt_card(request: HttpRequest, exempt_id: int) -> HttpResponse:
    user: Any = request.user
    with refusals():
        visitors.require_pass_manager(user)
    exempt = _get(ExemptPass.objects.select_related("compound"), user, exempt_id, edit=True)
    response = HttpResponse(visitors.exempt_card_pdf(exempt), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="exempt-{exempt.number}.pdf"'
    return response


# ----------------------------------------------------------------------------------------------
# Visitors (A5)


class HostMemberOut(Schema):
    id: int
    name: str
    relation: str


class HostOut(Schema):
    id: int
    room: str
    members: list[HostMemberOut]


class GateVisitIn(Schema):
    name: str = Field(max_length=50)
    id_number: str = Field(max_length=40)
    phone: str = Field(default="", max_length=20)
    temperature: Decimal = Field(description="体温（℃），34.0–43.0")
    health_code: Literal["green", "yellow", "red", "unknown"] = "green"
    coming_from: str = Field(max_length=100, description="14天内到过的城市、区县")
    from_key_area: bool = False
    itinerary_checked: bool = False
    purpose: str = Field(max_length=200)
    host_household_id: int | None = Field(default=None, description="被访户（放行时必填）")
    host_person_id: int | None = Field(default=None, description="接访住户，被访户成员（放行时必填）")
    uuid: uuid_module.UUID | None = Field(default=None, description="由手机生成；同一 uuid 重发只记录一次")


class GateVisitOut(Schema):
    id: int
    checkpoint_id: int
    name: str
    id_number_masked: str
    phone_masked: str
    temperature: Decimal
    health_code: str
    coming_from: str
    from_key_area: bool
    itinerary_checked: bool
    purpose: str
    host_household_id: int | None
    host_room: str
    host_person_id: int | None
    host_person: str
    verdict: str
    refusal: str
    arrived_at: datetime.datetime
    left_at: datetime.datetime | None


def _visit_out(visit: Visit) -> dict[str, Any]:
    return {
        "id": visit.pk,
        "checkpoint_id": visit.checkpoint_id,
        "name": visit.name,
        "id_number_masked": visit.masked_id_number,
        "phone_masked": visit.masked_phone,
        "temperature": visit.temperature,
        "health_code": visit.health_code,
        "coming_from": visit.coming_from,
        "from_key_area": visit.from_key_area,
        "itinerary_checked": visit.itinerary_checked,
        "purpose": visit.purpose,
        "host_household_id": visit.host_household_id,
        "host_room": visit.host_household.address if visit.host_household else "",
        "host_person_id": visit.host_person_id,
        "host_person": visitors.mask_name(visit.host_person.name) if visit.host_person else "",
        "verdict": visit.verdict,
        "refusal": visit.refusal,
        "arrived_at": visit.arrived_at,
        "left_at": visit.left_at,
    }


@router.get("/checkpoints/{checkpoint_id}/hosts", response=list[HostOut], summary="按房号查找被访户及其成员")
def visit_hosts(request: HttpRequest, checkpoint_id: int, room: str = "") -> Any:
    checkpoint = _desk(request, checkpoint_id)
    return visitors.hosts_by_room(checkpoint.compound_id, room)


@router.get("/checkpoints/{checkpoint_id}/visits", response=list[GateVisitOut], summary="访客登记（在访或24小时内）")
def visit_list(request: HttpRequest, checkpoint_id: int, open: bool = False) -> Any:
    checkpoint = _desk(request, checkpoint_id)
    qs = visitors.visits_open(checkpoint) if open else visitors.visits_recent(checkpoint)
    return [_visit_out(visit) for visit in qs[:500]]


@router.post(
    "/checkpoints/{checkpoint_id}/visits",
    response={201: GateVisitOut, 422: ErrorOut},
    summary="登记访客（不符合条件的记为拒绝并说明原因）",
)
def visit_create(request: HttpRequest, checkpoint_id: int, payload: GateVisitIn) -> Any:
    checkpoint = _desk(request, checkpoint_id)
    try:
        visit = visitors.visit_register(
            checkpoint=checkpoint,
            actor=request.user,
            data=visitors.VisitInput(**payload.model_dump(exclude={"uuid"}), client_uuid=payload.uuid),
        )
    except ValidationError as exc:
        return _invalid(exc)
    return Status(201, _visit_out(visit))


@router.post("/visits/{visit_id}/checkout", response={200: GateVisitOut, 422: ErrorOut}, summary="访客离开销号")
def visit_checkout(request: HttpRequest, visit_id: int) -> Any:
    with refusals():
        visit = visitors.desk_record(
            request.user, Visit.objects.select_related("host_household__building", "host_household__unit"), visit_id
        )
    try:
        visit = visitors.visit_checkout(visit=visit, actor=request.user)
    except ValidationError as exc:
        return _invalid(exc)
    return _visit_out(visit)


class VisitorRevealOut(Schema):
    visit_id: int
    field: str
    value: str


@router.post("/visits/{visit_id}/reveal", response=VisitorRevealOut, summary="查看访客完整身份证号（留审计记录）")
def visit_reveal(request: HttpRequest, visit_id: int) -> Any:
    user: Any = request.user
    if not getattr(user, "can_reveal", False):
        raise HttpError(403, _("您的角色无权查看完整身份证号"))
    visit = _get(Visit.objects.all(), user, visit_id)
    audit_reveal(actor=user, obj=visit, field="id_number", request=request)
    return {"visit_id": visit.pk, "field": "id_number", "value": visit.id_number}


# ----------------------------------------------------------------------------------------------
# Vehicles (A6)


class VehiclePassOut(Schema):
    id: int
    plate: str
    household_id: int
    room: str
    compound: str
    is_active: bool


def _vehicle_pass_out(item: VehiclePass) -> dict[str, Any]:
    return {
        "id": item.pk,
        "plate": item.plate,
        "household_id": item.household_id,
        "room": item.household.address,
        "compound": item.compound.name,
        "is_active": item.is_active,
    }


class VehiclePassIn(Schema):
    plate: str = Field(max_length=20, description="车牌号，如 沪A12345")


@router.get("/vehicle-passes", response=list[VehiclePassOut], summary="车辆通行证列表")
def vehicle_pass_list(request: HttpRequest, active: bool | None = None) -> Any:
    user: Any = request.user
    if not getattr(user, "is_resident", False):  # a resident sees their household's own
        _staff(request)
    qs = scope.visible(
        VehiclePass.objects.select_related("household__building", "household__unit", "compound"), user
    ).order_by("compound_id", "plate")
    if active is not None:
        qs = qs.filter(is_active=active)
    return [_vehicle_pass_out(item) for item in qs[:1000]]


@router.post(
    "/households/{household_id}/vehicle-passes",
    response={201: VehiclePassOut, 422: ErrorOut},
    summary="办理住户车辆通行证",
)
def vehicle_pass_create(request: HttpRequest, household_id: int, payload: VehiclePassIn) -> Any:
    user: Any = request.user
    with refusals():
        visitors.require_pass_manager(user)
    household = _get(Household.objects.select_related("compound", "building", "unit"), user, household_id, edit=True)
    try:
        item = visitors.vehicle_pass_create(household=household, actor=user, plate=payload.plate)
    except ValidationError as exc:
        return _invalid(exc)
    return Status(201, _vehicle_pass_out(item))


@router.post("/vehicle-passes/{vehicle_pass_id}/revoke", response=VehiclePassOut, summary="注销车辆通行证")
def vehicle_pass_revoke(request: HttpRequest, vehicle_pass_id: int) -> Any:
    user: Any = request.user
    with refusals():
        visitors.require_pass_manager(user)
    qs = VehiclePass.objects.select_related("household__building", "household__unit", "compound")
    item = _get(qs, user, vehicle_pass_id, edit=True)
    return _vehicle_pass_out(visitors.vehicle_pass_revoke(vehicle_pass=item, actor=user))


class VehicleEntryIn(Schema):
    plate: str = Field(max_length=20)
    direction: Literal["out", "in"] = "in"
    emergency: bool = Field(default=False, description="应急车辆（警车、救护车、消防、抢修），免检放行")
    occupants: str = Field(default="", max_length=200, description="随车人员")
    max_temperature: Decimal | None = Field(default=None, description="随车人员最高体温（℃）")
    uuid: uuid_module.UUID | None = Field(default=None, description="由手机生成；同一 uuid 重发只记录一次")
    device_time: datetime.datetime | None = None


class VehicleEntryOut(Schema):
    id: int
    checkpoint_id: int
    plate: str
    kind: str
    direction: str
    verdict: str
    message: str
    occupants: str
    max_temperature: Decimal | None
    household_id: int | None
    scan_uuid: uuid_module.UUID | None
    at: datetime.datetime


def _entry_out(entry: VehicleEntry) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "checkpoint_id": entry.checkpoint_id,
        "plate": entry.plate,
        "kind": entry.kind,
        "direction": entry.direction,
        "verdict": entry.verdict,
        "message": entry.message,
        "occupants": entry.occupants,
        "max_temperature": entry.max_temperature,
        "household_id": entry.vehicle_pass.household_id if entry.vehicle_pass else None,
        "scan_uuid": entry.scan.uuid if entry.scan else None,
        "at": entry.at,
    }


@router.get("/checkpoints/{checkpoint_id}/vehicles", response=list[VehicleEntryOut], summary="最近车辆出入")
def vehicle_entries(request: HttpRequest, checkpoint_id: int) -> Any:
    checkpoint = _desk(request, checkpoint_id)
    return [
        _entry_out(entry) for entry in visitors.vehicle_entries_recent(checkpoint, limit=200).select_related("scan")
    ]


@router.post(
    "/checkpoints/{checkpoint_id}/vehicles",
    response={201: VehicleEntryOut, 422: ErrorOut},
    summary="车辆出入登记（住户车辆计入本户外出次数）",
)
def vehicle_entry_create(request: HttpRequest, checkpoint_id: int, payload: VehicleEntryIn) -> Any:
    checkpoint = _desk(request, checkpoint_id)
    try:
        entry = visitors.vehicle_entry_record(
            checkpoint=checkpoint,
            actor=request.user,
            plate=payload.plate,
            direction=payload.direction,
            emergency=payload.emergency,
            occupants=payload.occupants,
            max_temperature=payload.max_temperature,
            uuid=payload.uuid,
            device_time=payload.device_time,
        )
    except ValidationError as exc:
        return _invalid(exc)
    return Status(201, _entry_out(entry))


# ----------------------------------------------------------------------------------------------
# Parcels (A7)


class ParcelOut(Schema):
    id: int
    checkpoint_id: int
    household_id: int
    room: str
    carrier: str
    tracking: str
    contactless: bool
    pickup_code: str = Field(description="取件码：只给收件户本人看，工作人员看到空串")
    logged_at: datetime.datetime
    picked_up_at: datetime.datetime | None


def _parcel_out(parcel: Parcel, *, code: bool = False) -> dict[str, Any]:
    return {
        "id": parcel.pk,
        "checkpoint_id": parcel.checkpoint_id,
        "household_id": parcel.household_id,
        "room": parcel.household.address,
        "carrier": parcel.carrier,
        "tracking": parcel.tracking,
        "contactless": parcel.contactless,
        "pickup_code": parcel.pickup_code if code else "",
        "logged_at": parcel.logged_at,
        "picked_up_at": parcel.picked_up_at,
    }


class ParcelIn(Schema):
    checkpoint_id: int | None = Field(default=None, description="存放的卡口；留空为本人值守的卡口或本小区第一个卡口")
    carrier: str = Field(default="", max_length=50)
    tracking: str = Field(default="", max_length=50)
    uuid: uuid_module.UUID | None = Field(default=None, description="由手机生成；同一 uuid 重发只登记一次")


class ParcelLoggedOut(ParcelOut):
    notified: bool = Field(description="是否已短信通知收件户")


class PickupIn(Schema):
    code: str = Field(max_length=400, description="6位取件码，或本户通行证二维码内容/10位通行证号")


def _parcel_qs() -> Any:
    return Parcel.objects.select_related("household__building", "household__unit")


@router.get("/parcels", response=list[ParcelOut], summary="快递列表（住户看到本户的取件码）")
def parcel_list(request: HttpRequest, waiting: bool = True) -> Any:
    user: Any = request.user
    resident = getattr(user, "is_resident", False)
    if not resident:
        _staff(request)
    qs = scope.visible(_parcel_qs(), user).order_by("-logged_at", "-id")
    if waiting:
        qs = qs.filter(picked_up_at__isnull=True)
    return [_parcel_out(parcel, code=resident) for parcel in qs[:500]]


@router.get(
    "/checkpoints/{checkpoint_id}/parcels", response=list[ParcelOut], summary="卡口待取快递（可按取件码或通行证查找）"
)
def parcels_waiting(request: HttpRequest, checkpoint_id: int, code: str = "") -> Any:
    checkpoint = _desk(request, checkpoint_id)
    if code:
        try:
            found = visitors.parcels_for_code(checkpoint, code)
        except ValidationError as exc:
            raise HttpError(404, sentences(exc.messages)) from exc
    else:
        found = list(visitors.parcels_waiting(checkpoint.compound_id)[:500])
    return [_parcel_out(parcel) for parcel in found]


@router.post(
    "/households/{household_id}/parcels",
    response={201: ParcelLoggedOut, 422: ErrorOut},
    summary="登记快递并短信通知取件码（封控户标记无接触配送）",
)
def parcel_create(request: HttpRequest, household_id: int, payload: ParcelIn) -> Any:
    user: Any = request.user
    with refusals():
        visitors.require_desk(user)
    household = _get(Household.objects.select_related("compound", "building", "unit"), user, household_id, edit=True)
    checkpoint: Checkpoint | None
    if payload.checkpoint_id is not None:
        checkpoint = _desk(request, payload.checkpoint_id)
    else:
        checkpoint = visitors.desk_checkpoints(user).filter(compound_id=household.compound_id).order_by("code").first()
    if checkpoint is None:
        return _invalid(ValidationError({"checkpoint_id": [_("本小区没有您可以值守的卡口")]}))
    try:
        logged = visitors.parcel_log(
            checkpoint=checkpoint,
            actor=user,
            household=household,
            carrier=payload.carrier,
            tracking=payload.tracking,
            client_uuid=payload.uuid,
        )
    except ValidationError as exc:
        return _invalid(exc)
    return Status(201, {**_parcel_out(logged.parcel), "notified": logged.notified is not None})


@router.post(
    "/checkpoints/{checkpoint_id}/parcels/pickup",
    response={200: list[ParcelOut], 422: ErrorOut},
    summary="凭取件码或本户通行证取件",
)
def parcels_pick_up(request: HttpRequest, checkpoint_id: int, payload: PickupIn) -> Any:
    checkpoint = _desk(request, checkpoint_id)
    try:
        done = visitors.parcels_pick_up(checkpoint=checkpoint, actor=request.user, code=payload.code)
    except ValidationError as exc:
        return _invalid(exc)
    return [_parcel_out(parcel) for parcel in done]


class HandOverIn(Schema):
    code: str = Field(default="", max_length=400, description="取件码或本户通行证；暂停通行户无接触送达时留空")


@router.post(
    "/parcels/{parcel_id}/pickup",
    response={200: ParcelOut, 422: ErrorOut},
    summary="确认一件快递已取走（封控户：已无接触送到门口）",
)
def parcel_pick_up(request: HttpRequest, parcel_id: int, payload: HandOverIn) -> Any:
    with refusals():
        parcel = visitors.desk_record(request.user, _parcel_qs(), parcel_id)
    try:
        parcel = visitors.parcel_hand_over(parcel=parcel, actor=request.user, code=payload.code)
    except ValidationError as exc:
        return _invalid(exc)
    return _parcel_out(parcel)
