"""Exempt passage (A4), visitors (A5), vehicles (A6) and parcels (A7): the writes and the lists.

Pages (``views_visitors``) and the API (``api_visitors``) stay thin: they find the checkpoint or
record through :func:`desk_checkpoint` / the scoped getters here, collect input, and call one
function below. Bad input raises ``ValidationError`` with a Chinese message per field and writes
nothing; a refusal at the gate (a feverish visitor, an outside vehicle) is not an error — it is
recorded with its verdict and reason, as the gate log must show it.
"""

from __future__ import annotations

import datetime
import io
import logging
import re
import secrets
import unicodedata
import uuid as uuid_module
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.choices import REGISTRY_EDIT_ROLES, Role
from linli.audit.models import AuditAction
from linli.audit.services import audit_record
from linli.gate import keys, passes, quota, services
from linli.gate.choices import AlertKind, Direction, ExemptKind, HoldReason, VehicleKind, Verdict
from linli.gate.models import (
    Checkpoint,
    ExemptPass,
    GateAlert,
    HouseholdHold,
    HouseholdPass,
    Parcel,
    VehicleEntry,
    VehiclePass,
    Visit,
    place_kwargs,
)
from linli.lib import scope
from linli.lib.idnumbers import clean_id_number, normalise_phone, phone_error
from linli.lib.qr import make_qr, qr_png
from linli.lib.wording import labelled, sentences
from linli.registry.choices import HealthCode, Relation
from linli.registry.models import Compound, Household, Person

logger = logging.getLogger("linli.gate")

# Who works the gate desk (visitors, vehicles, parcels) and who issues exempt and vehicle passes.
DESK_ROLES = frozenset({Role.GATE_GUARD, Role.COMMUNITY_WORKER, Role.GRID_WORKER, Role.STREET_COMMAND})
PASS_ROLES = REGISTRY_EDIT_ROLES

MIN_TEMPERATURE = Decimal("34.0")
MAX_TEMPERATURE = Decimal("43.0")
MAX_EXEMPT_DAYS = 366
PICKUP_CODE_DIGITS = 6

# 沪A12345, 粤B·D12345 (new energy: 6 characters after the letter), 京A1234警 / 学 / 挂 / 港 / 澳.
PLATE_RE = re.compile(
    r"^[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领]"
    r"[A-HJ-NP-Z]"
    r"(?:[A-HJ-NP-Z0-9]{5}|[A-HJ-NP-Z0-9]{6}|[A-HJ-NP-Z0-9]{4}[挂学警港澳])$"
)
_PLATE_SEPARATORS = re.compile(r"[\s\-_.·•]")
_ROOM_TAIL = re.compile(r"[0-9A-Za-z\-]+$")


# ----------------------------------------------------------------------------------------------
# Who may do what


def can_work_desk(user: Any) -> bool:
    return scope.is_unrestricted(user) or getattr(user, "role", None) in DESK_ROLES


def can_manage_passes(user: Any) -> bool:
    return scope.is_unrestricted(user) or getattr(user, "role", None) in PASS_ROLES


def require_desk(user: Any) -> None:
    if not can_work_desk(user):
        raise PermissionDenied(_("只有值守人员和社区工作人员可以在卡口登记"))


def require_pass_manager(user: Any) -> None:
    if not can_manage_passes(user):
        raise PermissionDenied(_("只有社区干部、网格员和街道指挥部可以办理通行证"))


def require_staff(user: Any) -> None:
    """Lists of exempt passes and vehicles are staff tools: residents and suppliers are refused."""
    if scope.is_unrestricted(user):
        return
    if getattr(user, "is_resident", True) or scope.user_level(user) is None:
        raise PermissionDenied(_("您的账号无权查看门岗登记"))


def desk_checkpoint(user: Any, pk: int) -> Checkpoint:
    """The checkpoint a desk user works at: in scope (404 otherwise) and, for a bound guard, their own."""
    require_desk(user)
    checkpoint = scope.get_editable_or_404(Checkpoint.objects.select_related("compound"), user, pk=pk)
    bound = getattr(user, "checkpoint_id", None)
    if bound and bound != checkpoint.pk and not scope.is_unrestricted(user):
        raise Http404
    return checkpoint


def desk_checkpoints(user: Any) -> QuerySet[Checkpoint]:
    """The active checkpoints a desk user may work at."""
    if not can_work_desk(user):
        return Checkpoint.objects.none()
    qs = scope.editable(Checkpoint.objects.filter(is_active=True).select_related("compound"), user)
    bound = getattr(user, "checkpoint_id", None)
    if bound and not scope.is_unrestricted(user):
        qs = qs.filter(pk=bound)
    return qs


def desk_record(user: Any, qs: QuerySet[Any], pk: int) -> Any:
    """A record of a checkpoint (visit, parcel) for a desk user; a bound guard only sees their compound's."""
    require_desk(user)
    return scope.get_editable_or_404(qs, user, pk=pk)


def _actor(user: Any) -> Any:
    return user if getattr(user, "is_authenticated", False) else None


def _invalid(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})


def _raise_errors(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationError(errors)


def _replayed(model: Any, client_uuid: uuid_module.UUID | None) -> Any:
    """The record a phone already sent with this uuid (a retry), or None."""
    if client_uuid is None:
        return None
    return model.objects.filter(client_uuid=client_uuid).first()


def mask_name(name: str) -> str:
    return services.mask_name(name)


# ----------------------------------------------------------------------------------------------
# Exempt passes (A4)


def exempt_create(
    *,
    compound: Compound,
    actor: Any,
    kind: str,
    name: str,
    valid_until: datetime.date | None,
    organisation: str = "",
    proof: str = "",
    valid_from: datetime.date | None = None,
    person: Person | None = None,
    today: datetime.date | None = None,
) -> ExemptPass:
    """A work certificate, epidemic-worker ID or emergency-vehicle pass, signed for offline checking."""
    today = today or timezone.localdate()
    valid_from = valid_from or today
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if kind not in ExemptKind.values:
        errors["kind"] = [_("请选择通行证类型")]
    if kind == ExemptKind.EMERGENCY_VEHICLE:
        plate = normalise_plate(name)
        error = plate_error(plate)
        if error:
            errors["name"] = [error]
        name = plate
    elif not name:
        errors["name"] = [_("请填写姓名")]
    elif len(name) > 50:
        errors["name"] = [_("姓名最多50个字")]
    if kind in (ExemptKind.WORKER, ExemptKind.EPIDEMIC_WORKER) and not (organisation or "").strip():
        errors["organisation"] = [_("请填写工作单位")]
    if kind in (ExemptKind.WORKER, ExemptKind.EPIDEMIC_WORKER) and not (proof or "").strip():
        errors["proof"] = [_("请填写复工证明或工作证编号")]
    if len((organisation or "").strip()) > 100:
        errors["organisation"] = [_("单位最多100个字")]
    if len((proof or "").strip()) > 100:
        errors["proof"] = [_("证明编号最多100个字")]
    if valid_until is None:
        errors["valid_until"] = [_("请填写有效期")]
    elif valid_until < valid_from:
        errors["valid_until"] = [_("有效期不能早于生效日期")]
    elif valid_until < today:
        errors["valid_until"] = [_("有效期已过")]
    elif (valid_until - valid_from).days >= MAX_EXEMPT_DAYS:
        errors["valid_until"] = [_("有效期最长一年")]
    if valid_from < passes.EPOCH or (valid_until and valid_until > passes.EPOCH + datetime.timedelta(days=0xFFFF)):
        errors["valid_from"] = [_("日期超出范围")]
    if person is not None and person.household.compound_id != compound.pk:
        errors["person"] = [_("关联人员必须是本小区居民")]
    _raise_errors(errors)
    assert valid_until is not None
    with transaction.atomic():
        exempt = ExemptPass.objects.create(
            kind=kind,
            person=person,
            name=name,
            organisation=(organisation or "").strip(),
            proof=(proof or "").strip(),
            number=services.unique_pass_number(),
            valid_from=valid_from,
            valid_until=valid_until,
            created_by=_actor(actor),
            **place_kwargs(compound),
        )
        kid, private_key = keys.signing_key()
        payload = passes.Payload(
            kind=passes.Kind.EXEMPT,
            kid=kid,
            subject=exempt.pk,
            issue_no=0,
            valid_from=valid_from,
            valid_until=valid_until,
        )
        exempt.kid = kid
        exempt.token = passes.sign(payload, private_key)
        exempt.save(update_fields=["kid", "token"])
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=exempt,
            changes={"kind": kind, "valid_from": str(valid_from), "valid_until": str(valid_until)},
        )
    return exempt


def exempt_revoke(*, exempt: ExemptPass, actor: Any) -> ExemptPass:
    """作废: the gate refuses it from now on (offline gates with their next bundle). Idempotent."""
    with transaction.atomic():
        if ExemptPass.objects.filter(pk=exempt.pk, is_active=True).update(is_active=False):
            audit_record(actor=actor, action=AuditAction.UPDATE, obj=exempt, changes={"is_active": [True, False]})
    exempt.is_active = False
    return exempt


def exempt_is_valid(exempt: ExemptPass, today: datetime.date | None = None) -> bool:
    today = today or timezone.localdate()
    return exempt.is_active and exempt.valid_from <= today <= exempt.valid_until


def exempt_status(exempt: ExemptPass, today: datetime.date | None = None) -> str:
    today = today or timezone.localdate()
    if not exempt.is_active:
        return str(_("已作废"))
    if today < exempt.valid_from:
        return str(_("未生效"))
    if today > exempt.valid_until:
        return str(_("已过期"))
    return str(_("有效"))


def qr_svg(text: str, scale: int = 4) -> str:
    """The QR of a pass as inline SVG (no file, no network)."""
    buffer = io.BytesIO()
    make_qr(text).save(buffer, kind="svg", scale=scale, border=2, xmldecl=False, svgns=True)
    return buffer.getvalue().decode("utf-8")


def exempt_card_pdf(exempt: ExemptPass) -> bytes:
    """A printable card (A6) with the signed QR, the number to type and the validity."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A6
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    from linli.organisation.notice import FONT

    buffer = io.BytesIO()
    width, height = A6
    pdf = canvas.Canvas(buffer, pagesize=A6)
    pdf.setTitle(_("免检通行证") + f" {passes.format_number(exempt.number)}")
    red = colors.HexColor("#c8102e")
    pdf.setFillColor(red)
    pdf.setFont(FONT, 18)
    pdf.drawCentredString(width / 2, height - 16 * mm, _("免检通行证"))
    pdf.setFillColor(colors.black)
    pdf.setFont(FONT, 10)
    pdf.drawCentredString(width / 2, height - 23 * mm, exempt.compound.name)

    qr_size = 56 * mm
    from reportlab.lib.utils import ImageReader

    pdf.drawImage(
        ImageReader(qr_png(exempt.token, border=2)), (width - qr_size) / 2, height - 26 * mm - qr_size, qr_size, qr_size
    )

    lines = [
        (_("类型"), exempt.get_kind_display()),
        (_("车牌") if exempt.kind == ExemptKind.EMERGENCY_VEHICLE else _("姓名"), exempt.name),
        (_("单位"), exempt.organisation or "-"),
        (_("证明编号"), exempt.proof or "-"),
        (_("有效期"), f"{exempt.valid_from:%Y-%m-%d} {_('至')} {exempt.valid_until:%Y-%m-%d}"),
        (_("通行证号"), passes.format_number(exempt.number)),
    ]
    y = height - 30 * mm - qr_size
    pdf.setFont(FONT, 10)
    for label, value in lines:
        pdf.drawString(10 * mm, y, labelled(label, value)[:40])
        y -= 5.5 * mm
    if not exempt.is_active:
        pdf.saveState()
        pdf.setFillColor(red)
        pdf.setFont(FONT, 40)
        pdf.translate(width / 2, height / 2)
        pdf.rotate(30)
        pdf.drawCentredString(0, 0, _("已作废"))
        pdf.restoreState()
    pdf.setFont(FONT, 7)
    pdf.setFillColor(colors.HexColor("#555555"))
    pdf.drawCentredString(width / 2, 6 * mm, _("出入请主动出示，配合测温；本证不得转借"))
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


# ----------------------------------------------------------------------------------------------
# Visitors (A5)


@dataclass
class VisitInput:
    name: str
    id_number: str
    temperature: Decimal | str | float | None
    health_code: str
    coming_from: str
    purpose: str
    phone: str = ""
    from_key_area: bool = False
    itinerary_checked: bool = False
    host_household_id: int | None = None
    host_person_id: int | None = None
    client_uuid: uuid_module.UUID | None = None


def parse_temperature(value: Any, field: str = "temperature", *, required: bool = True) -> Decimal | None:
    """A body temperature in ℃ with one decimal, 34.0–43.0; ValidationError otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _invalid(field, _("请填写体温"))
        return None
    try:
        number = Decimal(str(value).strip()).quantize(Decimal("0.1"))
    except (InvalidOperation, ValueError) as exc:
        raise _invalid(field, _("体温应为数字，如 36.5")) from exc
    if not number.is_finite():  # "NaN" is a Decimal too, and comparing it raises InvalidOperation
        raise _invalid(field, _("体温应为数字，如 36.5"))
    if not MIN_TEMPERATURE <= number <= MAX_TEMPERATURE:
        raise _invalid(field, _("体温应在34.0到43.0℃之间"))
    return number


def lives_in(compound_id: int, id_number: str) -> bool:
    """Whether a person with this ID number is registered in a household of the compound."""
    return Person.objects.filter(id_number=id_number, household__compound_id=compound_id).exists()


def hosts_by_room(compound_id: int, room: str) -> list[dict[str, Any]]:
    """Households of the compound whose room (or building+unit+room) matches, with masked members."""
    room = unicodedata.normalize("NFKC", room or "").strip()
    if not room or "\x00" in room:  # no room has it, and PostgreSQL refuses it in a lookup
        return []
    qs = Household.objects.filter(compound_id=compound_id).select_related("building", "unit")
    rows = list(qs.filter(room=room)[:60])
    if not rows:  # "1号楼1单元101" typed in full: the room is its tail, the rest must match the address
        tail = _ROOM_TAIL.search(room)
        if tail and tail.group(0) != room:
            rows = [h for h in qs.filter(room=tail.group(0))[:500] if h.address.endswith(room)][:60]
    members: dict[int, list[dict[str, Any]]] = {h.pk: [] for h in rows}
    for person in Person.objects.filter(household_id__in=list(members)).order_by("household_id", "id"):
        members[person.household_id].append(
            {"id": person.pk, "name": mask_name(person.name), "relation": str(person.get_relation_display())}
        )
    return [{"id": h.pk, "room": h.address, "members": members[h.pk]} for h in rows]


def visit_register(
    *, checkpoint: Checkpoint, actor: Any, data: VisitInput, now: datetime.datetime | None = None
) -> Visit:
    """Record a visitor at the gate: allowed, or refused with the reasons (A5). Bad input writes nothing.

    ``data.client_uuid`` (made by the phone) makes a resent form harmless: the first visit is returned.
    """
    replayed = _replayed(Visit, data.client_uuid)
    if replayed is not None:
        return replayed
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}
    name = (data.name or "").strip()
    if not name:
        errors["name"] = [_("请填写访客姓名")]
    elif len(name) > 50:
        errors["name"] = [_("姓名最多50个字")]
    id_number = ""
    try:
        id_number = clean_id_number(data.id_number or "")
    except ValidationError as exc:
        errors["id_number"] = list(exc.messages) if (data.id_number or "").strip() else [_("请填写身份证号")]
    phone = normalise_phone(data.phone or "")
    if phone and phone_error(phone):
        errors["phone"] = [phone_error(phone) or ""]
    temperature: Decimal | None = None
    try:
        temperature = parse_temperature(data.temperature)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if data.health_code not in HealthCode.values:
        errors["health_code"] = [_("请选择健康码颜色")]
    coming_from = (data.coming_from or "").strip()
    if not coming_from:
        errors["coming_from"] = [_("请填写14天内到过的城市、区县")]
    elif len(coming_from) > 100:
        errors["coming_from"] = [_("最多100个字")]
    purpose = (data.purpose or "").strip()
    if not purpose:
        errors["purpose"] = [_("请填写来访事由")]
    elif len(purpose) > 200:
        errors["purpose"] = [_("最多200个字")]
    host: Household | None = None
    if data.host_household_id is not None:
        host = Household.objects.filter(pk=data.host_household_id, compound_id=checkpoint.compound_id).first()
        if host is None:
            errors["host_household"] = [_("被访户不在本小区")]
    escort: Person | None = None
    if data.host_person_id is not None:
        escort = Person.objects.filter(pk=data.host_person_id).first()
        if escort is None or host is None or escort.household_id != host.pk:
            errors["host_person"] = [_("接访人必须是被访户的成员")]
    _raise_errors(errors)
    assert temperature is not None

    refusals: list[str] = []
    if quota.is_fever(temperature):
        refusals.append(_("体温 %(t)s℃，达到37.3℃") % {"t": temperature})
    if data.health_code != HealthCode.GREEN:
        refusals.append(_("健康码为%(code)s") % {"code": HealthCode(data.health_code).label})
    if not data.itinerary_checked:
        refusals.append(_("行程卡未核验"))
    if data.from_key_area and not lives_in(checkpoint.compound_id, id_number):
        refusals.append(_("14天内到过重点疫区且非本小区居民"))
    host_hold = services.active_hold(host.pk) if host is not None else None
    if host_hold is not None:  # sealed or under observation: nobody comes to the gate to bring a visitor in (H7)
        refusals.append(_("被访户暂停通行（%(reason)s），不接待访客") % {"reason": HoldReason(host_hold).label})
    if not refusals:  # an allowed visitor is brought in by the resident they visit
        if host is None:
            errors["host_household"] = [_("请选择被访户")]
        if escort is None:
            errors["host_person"] = [_("请选择接访的住户")]
        _raise_errors(errors)

    with transaction.atomic():
        Checkpoint.objects.select_for_update().filter(pk=checkpoint.pk).exists()
        if (
            not refusals
            and Visit.objects.filter(
                compound_id=checkpoint.compound_id,
                id_number=id_number,
                verdict=Verdict.ALLOWED,
                left_at__isnull=True,
            ).exists()
        ):
            raise _invalid("id_number", _("该访客已在小区内，尚未销号"))
        visit = Visit.objects.create(
            client_uuid=data.client_uuid,
            checkpoint=checkpoint,
            name=name,
            id_number=id_number,
            phone=phone,
            temperature=temperature,
            health_code=data.health_code,
            coming_from=coming_from,
            from_key_area=data.from_key_area,
            itinerary_checked=data.itinerary_checked,
            purpose=purpose,
            host_household=host,
            host_person=escort,
            verdict=Verdict.REFUSED if refusals else Verdict.ALLOWED,
            refusal=sentences(refusals)[:200],
            arrived_at=now,
            guard=_actor(actor),
            **place_kwargs(checkpoint.compound),
        )
        if quota.is_fever(temperature):
            GateAlert.objects.create(
                kind=AlertKind.FEVER,
                checkpoint=checkpoint,
                household=host,
                person_name=name,
                detail=_("访客卡口测温 %(t)s℃，已拒绝进入") % {"t": temperature},
                **place_kwargs(checkpoint.compound),
            )
    return visit


def visit_checkout(*, visit: Visit, actor: Any, now: datetime.datetime | None = None) -> Visit:
    """销号: the visitor has left. Idempotent; a refused visitor never came in."""
    if visit.verdict != Verdict.ALLOWED:
        raise _invalid("visit", _("该访客未获准进入，无需销号"))
    now = now or timezone.now()
    Visit.objects.filter(pk=visit.pk, left_at__isnull=True).update(left_at=now)
    visit.refresh_from_db(fields=["left_at"])
    return visit


def visits_open(checkpoint_or_compound: Checkpoint | Compound) -> QuerySet[Visit]:
    """Visitors let in and not yet checked out, anywhere in the compound."""
    compound_id = (
        checkpoint_or_compound.compound_id
        if isinstance(checkpoint_or_compound, Checkpoint)
        else checkpoint_or_compound.pk
    )
    return (
        Visit.objects.filter(compound_id=compound_id, verdict=Verdict.ALLOWED, left_at__isnull=True)
        .select_related("host_household__building", "host_household__unit", "host_person", "checkpoint")
        .order_by("arrived_at")
    )


def visits_recent(checkpoint: Checkpoint, days: int = 1) -> QuerySet[Visit]:
    since = timezone.now() - datetime.timedelta(days=days)
    return (
        Visit.objects.filter(compound_id=checkpoint.compound_id, arrived_at__gte=since)
        .select_related("host_household__building", "host_household__unit", "host_person", "checkpoint")
        .order_by("-arrived_at")
    )


# ----------------------------------------------------------------------------------------------
# Vehicles (A6)


def normalise_plate(value: str) -> str:
    """沪a·12345 → 沪A12345: full-width to half-width, separators dropped, letters upper-cased."""
    value = unicodedata.normalize("NFKC", str(value or ""))
    return _PLATE_SEPARATORS.sub("", value).upper()


def plate_error(plate: str) -> str | None:
    if not plate:
        return str(_("请填写车牌号"))
    if not PLATE_RE.match(plate):
        return str(_("车牌号格式不正确，如 沪A12345 或 沪AD12345"))
    return None


def vehicle_pass_create(*, household: Household, actor: Any, plate: str) -> VehiclePass:
    """A resident vehicle's pass; its outings count against the household's quota."""
    plate = normalise_plate(plate)
    error = plate_error(plate)
    if error:
        raise _invalid("plate", error)
    with transaction.atomic():
        existing = VehiclePass.objects.select_for_update().filter(plate=plate).first()
        if existing is not None and existing.is_active:
            raise _invalid("plate", _("该车牌已登记通行证"))
        if existing is not None:  # a revoked pass of the plate is given to this household
            existing.household = household
            existing.is_active = True
            for key, value in place_kwargs(household.compound).items():
                setattr(existing, key, value)
            existing.save()
            vehicle_pass = existing
        else:
            vehicle_pass = VehiclePass.objects.create(
                household=household, plate=plate, **place_kwargs(household.compound)
            )
        audit_record(actor=actor, action=AuditAction.CREATE, obj=vehicle_pass, changes={"plate": plate})
    return vehicle_pass


def vehicle_pass_revoke(*, vehicle_pass: VehiclePass, actor: Any) -> VehiclePass:
    with transaction.atomic():
        if VehiclePass.objects.filter(pk=vehicle_pass.pk, is_active=True).update(is_active=False):
            audit_record(actor=actor, action=AuditAction.UPDATE, obj=vehicle_pass, changes={"is_active": [True, False]})
    vehicle_pass.is_active = False
    return vehicle_pass


def emergency_pass_for(compound_id: int, plate: str, day: datetime.date) -> ExemptPass | None:
    return ExemptPass.objects.filter(
        compound_id=compound_id,
        kind=ExemptKind.EMERGENCY_VEHICLE,
        name=plate,
        is_active=True,
        valid_from__lte=day,
        valid_until__gte=day,
    ).first()


def vehicle_entry_record(
    *,
    checkpoint: Checkpoint,
    actor: Any,
    plate: str,
    direction: str,
    emergency: bool = False,
    occupants: str = "",
    max_temperature: Any = None,
    uuid: uuid_module.UUID | None = None,
    device_time: datetime.datetime | None = None,
) -> VehicleEntry:
    """A vehicle at the gate (A6): resident → the household's outing quota; emergency → logged; else refused.

    ``uuid`` makes a retry from the phone harmless: the same uuid returns the first entry.
    """
    errors: dict[str, list[str]] = {}
    plate = normalise_plate(plate)
    error = plate_error(plate)
    if error:
        errors["plate"] = [error]
    if direction not in Direction.values:
        errors["direction"] = [_("方向只能是外出或返回")]
    occupants = (occupants or "").strip()
    if len(occupants) > 200:
        errors["occupants"] = [_("随车人员最多200个字")]
    temperature: Decimal | None = None
    try:
        temperature = parse_temperature(max_temperature, "max_temperature", required=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    _raise_errors(errors)
    now = timezone.now()
    device_time = device_time or now
    uuid = uuid or uuid_module.uuid4()
    existing = VehicleEntry.objects.filter(Q(scan__uuid=uuid) | Q(client_uuid=uuid)).first()
    if existing is not None:
        return existing
    compound = checkpoint.compound
    entry = VehicleEntry(
        client_uuid=uuid,
        checkpoint=checkpoint,
        plate=plate,
        direction=direction,
        occupants=occupants,
        max_temperature=temperature,
        at=device_time,
        guard=_actor(actor),
        **place_kwargs(compound),
    )
    exempt = emergency_pass_for(compound.pk, plate, quota.local(device_time).date())
    vehicle_pass = VehiclePass.objects.filter(plate=plate, is_active=True).select_related("household").first()
    with transaction.atomic():
        if emergency or exempt is not None:
            entry.kind = VehicleKind.EMERGENCY
            entry.verdict = Verdict.ALLOWED
            entry.message = (
                _("应急车辆（%(org)s），免检放行") % {"org": exempt.organisation or exempt.get_kind_display()}
                if exempt is not None
                else _("应急车辆，免检放行")
            )
        elif vehicle_pass is not None and vehicle_pass.compound_id == compound.pk:
            entry.kind = VehicleKind.RESIDENT
            entry.vehicle_pass = vehicle_pass
            result = services.scan_record(
                checkpoint,
                actor,
                services.ScanInput(
                    uuid=uuid,
                    credential="",
                    direction=direction,
                    device_time=device_time,
                    temperature=temperature,
                ),
                household=vehicle_pass.household,
                now=now,
            )
            if result.duplicate:
                stored = VehicleEntry.objects.filter(scan=result.scan).first()
                if stored is not None:
                    return stored
            entry.scan = result.scan
            entry.verdict = result.verdict
            entry.message = _("住户车辆（%(room)s）：%(message)s") % {
                "room": vehicle_pass.household.address,
                "message": result.message,
            }
        else:
            entry.kind = VehicleKind.OUTSIDE
            entry.verdict = Verdict.REFUSED
            entry.message = _("非本小区车辆，禁止入内") if vehicle_pass is not None else _("外来车辆，禁止入内")
            if quota.is_fever(temperature):
                GateAlert.objects.create(
                    kind=AlertKind.FEVER,
                    checkpoint=checkpoint,
                    person_name=plate,
                    detail=_("外来车辆 %(plate)s 随车人员测温 %(t)s℃") % {"plate": plate, "t": temperature},
                    **place_kwargs(compound),
                )
        entry.message = entry.message[:200]
        entry.save()
    return entry


def vehicle_entries_recent(checkpoint: Checkpoint, limit: int = 50) -> QuerySet[VehicleEntry]:
    return (
        VehicleEntry.objects.filter(compound_id=checkpoint.compound_id)
        .select_related("checkpoint", "vehicle_pass__household__building", "vehicle_pass__household__unit")
        .order_by("-at", "-id")[:limit]
    )


# ----------------------------------------------------------------------------------------------
# Parcels (A7)


def _new_pickup_code(compound_id: int) -> str:
    """Six digits, unique among the compound's parcels waiting to be picked up."""
    for _attempt in range(50):
        code = f"{secrets.randbelow(10**PICKUP_CODE_DIGITS):0{PICKUP_CODE_DIGITS}d}"
        if not Parcel.objects.filter(compound_id=compound_id, pickup_code=code, picked_up_at__isnull=True).exists():
            return code
    raise ValidationError(_("待取快递过多，无法生成取件码，请先处理已取件的快递"))


def notify_person(household: Household) -> Person | None:
    """Who is told about a parcel: the householder with a phone, else any member with one."""
    people = Person.objects.filter(household=household).exclude(phone="").select_related("household")
    return people.filter(relation=Relation.HOUSEHOLDER).first() or people.order_by("id").first()


@dataclass
class ParcelLogged:
    parcel: Parcel
    notified: Person | None


def parcel_log(
    *,
    checkpoint: Checkpoint,
    actor: Any,
    household: Household,
    carrier: str = "",
    tracking: str = "",
    client_uuid: uuid_module.UUID | None = None,
) -> ParcelLogged:
    """A parcel left at the gate: a pickup code by SMS, or contactless delivery to the door of a household
    on hold — sealed, under home observation or otherwise kept in (A7, H7).

    ``client_uuid`` (made by the phone) makes a resent form harmless: one parcel, one SMS.
    """
    from linli.accounts.services import sms_send

    replayed = _replayed(Parcel, client_uuid)
    if replayed is not None:
        return ParcelLogged(replayed, notify_person(replayed.household))

    errors: dict[str, list[str]] = {}
    carrier = (carrier or "").strip()
    tracking = (tracking or "").strip()
    if household.compound_id != checkpoint.compound_id:
        errors["household"] = [_("收件户不在本小区")]
    if len(carrier) > 50:
        errors["carrier"] = [_("最多50个字")]
    if len(tracking) > 50:
        errors["tracking"] = [_("最多50个字")]
    _raise_errors(errors)
    hold = services.active_hold(household.pk)
    with transaction.atomic():
        # One new code per compound at a time (every checkpoint of it draws from the same codes).
        Compound.objects.select_for_update().filter(pk=checkpoint.compound_id).exists()
        parcel = Parcel.objects.create(
            client_uuid=client_uuid,
            checkpoint=checkpoint,
            household=household,
            carrier=carrier,
            tracking=tracking,
            pickup_code=_new_pickup_code(checkpoint.compound_id),
            contactless=hold is not None,
            logged_by=_actor(actor),
            **place_kwargs(checkpoint.compound),
        )
    person = notify_person(household)
    if person is None:
        return ParcelLogged(parcel, None)
    what = carrier or _("快递")
    if parcel.contactless:
        body = _(
            "【邻里】您有一件%(what)s已送到%(compound)s卡口。本户暂停通行（%(reason)s），"
            "将由志愿者无接触送到门口，请留意。"
        ) % {
            "what": what,
            "compound": checkpoint.compound.name,
            "reason": HoldReason(hold or HoldReason.OTHER).label,
        }
        secret = ""
    else:
        body = _(
            "【邻里】您有一件%(what)s存放在%(compound)s%(checkpoint)s，取件码 %(code)s，"
            "请凭取件码或本户通行证到卡口领取。"
        ) % {
            "what": what,
            "compound": checkpoint.compound.name,
            "checkpoint": checkpoint.name,
            "code": parcel.pickup_code,
        }
        secret = parcel.pickup_code
    try:
        sms_send(phone=person.phone, body=body, person=person, secret=secret)
    except Exception:
        logger.exception("parcel %s: SMS to household %s failed", parcel.pk, household.pk)
        return ParcelLogged(parcel, None)
    return ParcelLogged(parcel, person)


def _household_from_pass(text: str) -> int:
    """The household of a genuine, current household pass (QR text or typed number)."""
    text = (text or "").strip()
    if text.upper().startswith(passes.PREFIX):
        try:
            payload, _body, _sig = passes.parse(text)
            payload = passes.verify(text, keys.public_keys(payload.kid))
        except passes.PassError as exc:
            raise _invalid("code", _("通行证无效或伪造")) from exc
        if payload.kind != passes.Kind.HOUSEHOLD:
            raise _invalid("code", _("请出示本户通行证"))
        current = HouseholdPass.objects.filter(household_id=payload.subject, is_active=True).first()
        if current is None or current.issue_no != payload.issue_no:
            raise _invalid("code", _("通行证已作废"))
        return payload.subject
    number = passes.clean_number(text)
    household_pass = HouseholdPass.objects.filter(number=number).first() if number else None
    if household_pass is None:
        raise _invalid("code", _("请输入6位取件码，或扫描本户通行证"))
    if not household_pass.is_active:
        raise _invalid("code", _("通行证已作废"))
    return household_pass.household_id


def _is_pickup_code(text: str) -> bool:
    return len(text) == PICKUP_CODE_DIGITS and text.isascii() and text.isdigit()


def parcels_waiting(compound_id: int) -> QuerySet[Parcel]:
    return (
        Parcel.objects.filter(compound_id=compound_id, picked_up_at__isnull=True)
        .select_related("household__building", "household__unit", "checkpoint")
        .order_by("logged_at", "id")
    )


def parcels_for_code(checkpoint: Checkpoint, code: str) -> list[Parcel]:
    """The waiting gate parcels a pickup code or a household pass names at this checkpoint's compound."""
    code = unicodedata.normalize("NFKC", code or "").strip()
    # A contactless parcel goes to the door while its household is on hold; once the hold is over,
    # the household may collect it at the gate like any other.
    held = HouseholdHold.objects.filter(released_at__isnull=True).values("household_id")
    waiting = parcels_waiting(checkpoint.compound_id).exclude(contactless=True, household_id__in=held)
    if not code:
        raise _invalid("code", _("请输入6位取件码，或扫描本户通行证"))
    if _is_pickup_code(code):
        found = list(waiting.filter(pickup_code=code))
        if not found:
            raise _invalid("code", _("取件码不正确，或快递已被取走"))
        return found
    household_id = _household_from_pass(code)
    found = list(waiting.filter(household_id=household_id))
    if not found:
        if not Household.objects.filter(pk=household_id, compound_id=checkpoint.compound_id).exists():
            raise _invalid("code", _("非本小区通行证"))
        raise _invalid("code", _("本户没有待取的快递"))
    return found


def _mark_picked_up(parcels: list[Parcel], actor: Any, now: datetime.datetime) -> list[Parcel]:
    done = []
    for parcel in parcels:
        # Conditional: two guards confirming the same parcel at once hand it over once.
        if Parcel.objects.filter(pk=parcel.pk, picked_up_at__isnull=True).update(
            picked_up_at=now, picked_up_by=_actor(actor)
        ):
            parcel.picked_up_at = now
            parcel.picked_up_by = _actor(actor)
            done.append(parcel)
    return done


def parcels_pick_up(
    *, checkpoint: Checkpoint, actor: Any, code: str, now: datetime.datetime | None = None
) -> list[Parcel]:
    """Hand over the parcels a pickup code or a household pass names; the ones handed over now."""
    with transaction.atomic():
        done = _mark_picked_up(parcels_for_code(checkpoint, code), actor, now or timezone.now())
    if not done:
        raise _invalid("code", _("快递已被取走"))
    return done


def parcel_hand_over(*, parcel: Parcel, actor: Any, code: str = "", now: datetime.datetime | None = None) -> Parcel:
    """One parcel handed over: at the gate against its code or the household's pass, or delivered
    contactless to a sealed home (no code: the volunteer leaves it at the door).

    Idempotent: confirming a parcel already handed over (a phone retrying) returns it unchanged.
    """
    if not parcel.contactless:
        code = unicodedata.normalize("NFKC", code or "").strip()
        if not code:
            raise _invalid("code", _("请输入6位取件码，或扫描本户通行证"))
        if _is_pickup_code(code):
            if not secrets.compare_digest(code, parcel.pickup_code):
                raise _invalid("code", _("取件码不正确"))
        elif _household_from_pass(code) != parcel.household_id:
            raise _invalid("code", _("不是收件户的通行证"))
    with transaction.atomic():
        _mark_picked_up([parcel], actor, now or timezone.now())
    parcel.refresh_from_db(fields=["picked_up_at", "picked_up_by"])
    return parcel
