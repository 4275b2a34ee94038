"""Drop-off points, delivery runs and hand-overs (SPEC S6).

A compound has drop-off points, each serving some of its buildings (none listed: all the others). After
aggregation every live order has a package (``linli.supplies.services.aggregation``); a delivery run
gives a point's packages to a volunteer (a building lead or grid worker whose scope covers the point),
who carries them the last 100 metres and scans each label's QR (``LLP:<handover_code>``) at the door.

* A hand-over is idempotent: a package already delivered answers "already delivered" and nothing is
  written again. Offline scans are synced in batches with a client uuid each; a uuid is answered once
  and the same answer is given again (:class:`~linli.supplies.models.IdempotencyKey`, key ``handover:<uuid>``).
* A sealed household's package (``contactless``) is left at the door (photo optional) and the resident
  confirms receipt (:func:`package_confirm`); it can never be marked as handed over in person.
* Who may hand a package over: the volunteer of its run, or delivery staff (``DELIVERY_ADMIN_ROLES``)
  who may change the package (``linli.lib.scope.editable``). Anyone else gets "not found" for a package
  outside their scope, and "not on your run" for one they can see.
* Undelivered packages carry a reason and stay open until resolved: redelivered (a delivered state) or
  returned to the supplier. When no package of an aggregated window is still on its way, the window is
  delivered.
"""

from __future__ import annotations

import datetime
import uuid as uuid_module
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.audit.models import AuditAction
from linli.audit.services import audit_record
from linli.lib import scope
from linli.lib.wording import sentences, worded
from linli.registry.models import Building, Compound, Household
from linli.supplies.choices import DELIVERED_STATES, OrderStatus, PackageStatus, WindowStatus
from linli.supplies.models import DeliveryRun, DropOffPoint, IdempotencyKey, Order, OrderWindow, Package
from linli.supplies.permissions import DELIVERY_ADMIN_ROLES, DELIVERY_ROLES, has_role
from linli.supplies.services.ordering import raise_priorities

HANDOVER_PREFIX = "LLP:"
# States of a package still on its way: a run may take it, an undelivered report may be made.
ON_THE_WAY = frozenset({PackageStatus.PACKED, PackageStatus.OUT})
# States that still need someone's attention (the window is not delivered while any remains).
OPEN_STATES = ON_THE_WAY | {PackageStatus.UNDELIVERED}
MAX_PHOTO_BYTES = 8 * 1024 * 1024
MAX_SYNC_BATCH = 500

# What a hand-over answers, by code: rendered in the caller's language when answered, so an answer
# given again (an offline sync replayed) is in the language of the one asking now, not of the first.
HANDOVER_TEXTS = {
    # refusals
    "invalid": gettext_lazy("请扫描包裹标签上的二维码，或输入交接码"),
    "not_found": gettext_lazy("未找到该交接码的包裹，或不属于您负责的范围"),
    "other_run": gettext_lazy("该包裹不在您的配送任务中，请交给负责的志愿者"),
    "returned": gettext_lazy("该包裹已退回商超，不能再交付"),
    "contactless": gettext_lazy("封控户的包裹只能无接触放门口"),
    # answers
    "already": gettext_lazy("已交付（%(time)s），无需重复扫码"),
    "left_at_door": gettext_lazy("已无接触放门口：%(address)s"),
    "handed_over": gettext_lazy("交付成功：%(address)s"),
}


# The refusals among them, and 无法送达's own (a bag no longer on its way): the hand-over page words a
# refusal kept on the phone by its code, in the language the page is read in.
REFUSAL_CODES = ("invalid", "not_found", "other_run", "returned", "contactless")
NOT_ON_THE_WAY = gettext_lazy("只有待配送或配送中的包裹可以登记未送达")


def handover_text(code: str, params: dict[str, Any] | None = None, fallback: str = "") -> str:
    """The text of a hand-over answer's ``code`` in the active language (``fallback`` for another code)."""
    return worded(HANDOVER_TEXTS, code, params, fallback)


def _refuse(code: str) -> ValidationError:
    return ValidationError(handover_text(code), code=code)


def _actor(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def _now(now: datetime.datetime | None) -> datetime.datetime:
    return now or timezone.now()


# ----------------------------------------------------------------------------------------------
# Drop-off points


def _clean_point(compound: Compound, name: str, buildings: Iterable[Building]) -> tuple[str, list[Building]]:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("请填写投放点名称")})
    chosen = list(buildings)
    if any(b.compound_id != compound.pk for b in chosen):
        raise ValidationError({"buildings": _("服务楼栋必须属于本小区")})
    return name, chosen


@transaction.atomic
def drop_off_create(
    *, compound: Compound, name: str, actor: Any, location: str = "", buildings: Iterable[Building] = ()
) -> DropOffPoint:
    """A drop-off point of ``compound`` serving ``buildings`` (none: the compound's other buildings)."""
    name, chosen = _clean_point(compound, name, buildings)
    if DropOffPoint.objects.filter(compound=compound, name=name).exists():
        raise ValidationError({"name": _("本小区已有同名投放点")})
    point = DropOffPoint.objects.create(
        street_id=compound.street_id,
        community_id=compound.community_id,
        grid_id=compound.grid_id,
        compound=compound,
        name=name,
        location=(location or "").strip(),
    )
    point.buildings.set(chosen)
    audit_record(
        actor=actor, action=AuditAction.CREATE, obj=point, changes={"name": name, "buildings": [b.pk for b in chosen]}
    )
    return point


@transaction.atomic
def drop_off_update(
    point: DropOffPoint,
    *,
    actor: Any,
    name: str,
    location: str = "",
    buildings: Iterable[Building] = (),
    is_active: bool = True,
) -> DropOffPoint:
    compound = Compound.objects.get(pk=point.compound_id)
    name, chosen = _clean_point(compound, name, buildings)
    if DropOffPoint.objects.filter(compound=compound, name=name).exclude(pk=point.pk).exists():
        raise ValidationError({"name": _("本小区已有同名投放点")})
    point.name, point.location, point.is_active = name, (location or "").strip(), is_active
    point.save(update_fields=["name", "location", "is_active"])
    point.buildings.set(chosen)
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=point,
        changes={"name": name, "is_active": is_active, "buildings": [b.pk for b in chosen]},
    )
    return point


def drop_off_for(household: Household, points: Sequence[DropOffPoint] | None = None) -> DropOffPoint | None:
    """The active drop-off point serving ``household``, as aggregation assigns it: the lowest-numbered
    point of its compound that lists its building, else the lowest-numbered one that lists none.

    ``points`` (with ``buildings`` prefetched) saves the queries when called for many households."""
    if points is None:
        points = list(
            DropOffPoint.objects.filter(compound_id=household.compound_id, is_active=True).prefetch_related("buildings")
        )
    listing: list[DropOffPoint] = []
    open_points: list[DropOffPoint] = []
    for point in points:
        if point.compound_id != household.compound_id or not point.is_active:
            continue
        served = {b.pk for b in point.buildings.all()}
        if household.building_id in served:
            listing.append(point)
        elif not served:
            open_points.append(point)
    found = listing or open_points
    return min(found, key=lambda p: p.pk) if found else None


# ----------------------------------------------------------------------------------------------
# Runs


def households_sealed(household_ids: Iterable[int]) -> int:
    """Serve these newly sealed households as sealed in the windows already ordered (H7): their live
    orders take the sealed priority (first in a shortfall entered later) and their bags not yet
    delivered are left at the door, contactless — the volunteer carrying a bag for the drop-off point
    takes it to the door instead. Aggregation does the same for households sealed before it. The
    number of bags changed."""
    ids = list(household_ids)
    raise_priorities(Order.objects.filter(household_id__in=ids, status=OrderStatus.PLACED))
    return Package.objects.filter(
        household_id__in=ids,
        status__in=(PackageStatus.PACKED, PackageStatus.OUT, PackageStatus.UNDELIVERED),
        contactless=False,
    ).update(contactless=True)


def volunteers_for(point: DropOffPoint) -> QuerySet[Any]:
    """Accounts that may carry ``point``'s packages: active delivery roles whose scope covers the point."""
    from linli.accounts.models import User

    compound = Compound.objects.get(pk=point.compound_id)
    return (
        User.objects.filter(is_active=True, role__in=DELIVERY_ROLES)
        .filter(
            Q(compound_id=compound.pk)
            | Q(grid_id=compound.grid_id, compound_id__isnull=True)
            | Q(community_id=compound.community_id, grid_id__isnull=True)
        )
        .order_by("role", "display_name", "username")
    )


@transaction.atomic
def run_create(
    *,
    window: OrderWindow,
    drop_off: DropOffPoint | None,
    volunteer: Any,
    actor: Any,
    packages: Iterable[Package] | None = None,
    compound: Compound | None = None,
) -> DeliveryRun:
    """Give ``volunteer`` a run: the window's packages at ``drop_off`` not yet on a run, or ``packages``.

    Without a drop-off point the run carries the packages delivered to the door (sealed households) of
    ``compound``."""
    if window.status not in (WindowStatus.AGGREGATED, WindowStatus.DELIVERED):
        raise ValidationError(_("窗口汇总之后才能派送"))
    if drop_off is not None and drop_off.community_id != window.community_id:
        raise ValidationError({"drop_off": _("投放点不属于该窗口的社区")})
    if not getattr(volunteer, "is_active", False) or not has_role(volunteer, DELIVERY_ROLES) or volunteer.is_superuser:
        raise ValidationError({"volunteer": _("该账号不能担任配送志愿者")})
    base = Package.objects.filter(window=window)
    if packages is None:
        chosen = base.filter(drop_off=drop_off, run__isnull=True, status__in=ON_THE_WAY)
        if drop_off is None:
            if compound is None:
                raise ValidationError({"drop_off": _("请选择投放点，或送货上门的小区")})
            chosen = chosen.filter(compound_id=compound.pk)
    else:
        ids = [p.pk for p in packages]
        chosen = base.filter(pk__in=ids)
        if chosen.count() != len(set(ids)):
            raise ValidationError({"packages": _("所选包裹不属于该窗口")})
        if chosen.exclude(status__in=OPEN_STATES).exists():
            raise ValidationError({"packages": _("所选包裹中有已送达或已退回的")})
    rows = list(chosen.select_for_update().order_by("pk"))
    if not rows:
        raise ValidationError(_("没有待派送的包裹"))
    compound_ids = {p.compound_id for p in rows}
    if drop_off is not None:
        compound_ids.add(drop_off.compound_id)
    if len(compound_ids) != 1:
        raise ValidationError({"packages": _("一次配送任务只能在同一个小区内")})
    compound = Compound.objects.get(pk=compound_ids.pop())
    if not scope.visible(Compound.objects.filter(pk=compound.pk), volunteer).exists():
        raise ValidationError({"volunteer": _("该志愿者不负责这个小区")})
    run = DeliveryRun.objects.create(
        street_id=compound.street_id,
        community_id=compound.community_id,
        grid_id=compound.grid_id,
        compound_id=compound.pk,
        window=window,
        drop_off=drop_off,
        volunteer=volunteer,
        created_by=_actor(actor),
    )
    Package.objects.filter(pk__in=[p.pk for p in rows]).update(run=run, status=PackageStatus.OUT)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=run,
        changes={"volunteer": volunteer.pk, "packages": len(rows)},
        street_id=compound.street_id,
        community_id=compound.community_id,
    )
    return run


def _after_change(run_id: int | None, window_id: int, now: datetime.datetime) -> None:
    """A run with nothing left on the way is finished; a window with nothing open is delivered."""
    if run_id is not None and not Package.objects.filter(run_id=run_id, status__in=ON_THE_WAY).exists():
        DeliveryRun.objects.filter(pk=run_id, finished_at__isnull=True).update(finished_at=now)
    if not Package.objects.filter(window_id=window_id, status__in=OPEN_STATES).exists():
        OrderWindow.objects.filter(pk=window_id, status=WindowStatus.AGGREGATED).update(status=WindowStatus.DELIVERED)


# ----------------------------------------------------------------------------------------------
# Hand-over


def parse_code(text: str) -> str:
    """The hand-over code in a scanned ``LLP:<code>`` or a typed code (case and spaces ignored)."""
    text = (text or "").strip().upper().replace(" ", "")
    if text.startswith(HANDOVER_PREFIX):
        text = text[len(HANDOVER_PREFIX) :]
    return text


def _may_carry(package: Package, actor: Any) -> bool:
    """The actor may hand ``package`` over: its run's volunteer, or delivery staff who may change it."""
    if scope.is_unrestricted(actor):
        return True
    if package.run_id is not None and package.run is not None and package.run.volunteer_id == actor.pk:
        return True
    return has_role(actor, DELIVERY_ADMIN_ROLES) and scope.can_edit(package, actor)


def find_for_handover(code: str, actor: Any, *, lock: bool = False) -> Package:
    """The package with ``code`` that ``actor`` may hand over; a refusal says why without leaking others."""
    code = parse_code(code)
    if not code:
        raise _refuse("invalid")
    packages = Package.objects.select_related("run", "household__building", "household__unit")
    if lock:
        packages = packages.select_for_update(of=("self",))
    package = packages.filter(handover_code=code).first()
    if package is None:
        raise _refuse("not_found")
    if _may_carry(package, actor):
        return package
    on_my_run = package.run_id is not None and package.run is not None and package.run.volunteer_id == actor.pk
    if not on_my_run and not scope.can_see(package, actor):
        runs = DeliveryRun.objects.filter(volunteer_id=actor.pk, window_id=package.window_id)
        if not runs.exists():
            raise _refuse("not_found")
    raise _refuse("other_run")


@dataclass(frozen=True)
class HandoverResult:
    package: Package
    duplicate: bool  # already delivered before this scan: nothing was written

    @property
    def code(self) -> str:
        """``already``, ``left_at_door`` or ``handed_over``: the key of :attr:`message` in ``HANDOVER_TEXTS``."""
        if self.duplicate:
            return "already"
        return "left_at_door" if self.package.status == PackageStatus.LEFT_AT_DOOR else "handed_over"

    @property
    def params(self) -> dict[str, str]:
        if self.duplicate:
            at = self.package.handed_over_at
            return {"time": timezone.localtime(at).strftime("%m-%d %H:%M") if at else ""}
        return {"address": self.package.household.address}

    @property
    def message(self) -> str:
        return handover_text(self.code, self.params)


def _check_photo(photo: UploadedFile | None) -> None:
    if photo is None:
        return
    if photo.size and photo.size > MAX_PHOTO_BYTES:
        raise ValidationError({"photo": _("照片不能超过 8 MB")})
    content_type = getattr(photo, "content_type", "") or ""
    if content_type and not content_type.startswith("image/"):
        raise ValidationError({"photo": _("请上传图片")})


def handover_scan(
    code: str,
    *,
    actor: Any,
    contactless: bool | None = None,
    photo: UploadedFile | None = None,
    now: datetime.datetime | None = None,
    at: datetime.datetime | None = None,
) -> HandoverResult:
    """Hand a package over (``contactless``: left at the door; None: as the package says).

    ``at`` is when it happened on the phone (an offline scan); it is never later than now."""
    now = _now(now)
    moment = min(at, now) if at is not None else now
    _check_photo(photo)
    with transaction.atomic():
        package = find_for_handover(code, actor, lock=True)
        if package.status in DELIVERED_STATES:
            if photo is not None and not package.photo and package.status == PackageStatus.LEFT_AT_DOOR:
                package.photo.save(f"{package.handover_code}.jpg", photo, save=False)
                package.save(update_fields=["photo"])
            return HandoverResult(package, True)
        if package.status == PackageStatus.RETURNED:
            raise _refuse("returned")
        if package.contactless and contactless is False:
            raise _refuse("contactless")
        left = package.contactless if contactless is None else contactless
        previous = package.status
        package.status = PackageStatus.LEFT_AT_DOOR if left else PackageStatus.HANDED_OVER
        package.handed_over_at = moment
        package.handed_over_by = _actor(actor)
        fields = ["status", "handed_over_at", "handed_over_by"]
        if previous == PackageStatus.UNDELIVERED:
            package.resolved_at = now
            package.resolution = _("再次配送，已送达")
            fields += ["resolved_at", "resolution"]
        if photo is not None:
            package.photo.save(f"{package.handover_code}.jpg", photo, save=False)
            fields.append("photo")
        package.save(update_fields=fields)
        audit_record(
            actor=actor, action=AuditAction.UPDATE, obj=package, changes={"status": [previous, package.status]}
        )
        _after_change(package.run_id, package.window_id, now)
    return HandoverResult(package, False)


def handover(
    code: str,
    *,
    actor: Any,
    contactless: bool | None = None,
    photo: UploadedFile | None = None,
    now: datetime.datetime | None = None,
) -> Package:
    """The contract's hand-over: the package, delivered (see :func:`handover_scan` for the duplicate flag)."""
    return handover_scan(code, actor=actor, contactless=contactless, photo=photo, now=now).package


@dataclass(frozen=True)
class SyncItem:
    uuid: uuid_module.UUID
    code: str
    device_time: datetime.datetime
    contactless: bool | None = None


def _refusal_code(exc: ValidationError) -> str:
    """The code of a refusal made of one known hand-over text, else "" (its text is kept as it is)."""
    errors = [] if hasattr(exc, "error_dict") else exc.error_list
    if len(errors) == 1 and errors[0].code in HANDOVER_TEXTS:
        return str(errors[0].code)
    return ""


def _sync_answer(answer: dict[str, Any], *, duplicate: bool) -> dict[str, Any]:
    """A stored sync answer as given now: its text rendered from its code in the active language (an
    answer stored before codes were kept, or with a text of no known code, keeps its text)."""
    code = answer.get("code") or ""
    return {
        "uuid": answer["uuid"],
        "status": answer["status"],
        "code": code,
        "detail": handover_text(code, answer.get("params"), fallback=answer.get("detail", "")),
        "package_id": answer.get("package_id"),
        "duplicate": duplicate,
    }


def handovers_sync(
    items: Sequence[SyncItem], *, actor: Any, now: datetime.datetime | None = None
) -> list[dict[str, Any]]:
    """Offline hand-overs, in order. Each answer is ``{"uuid", "status", "code", "detail", "package_id"}``
    with status ``stored`` (delivered now), ``already`` (delivered before), ``refused`` (with the reason,
    ``code`` one of ``HANDOVER_TEXTS``' refusals or "" for another), and a uuid answered before gets its
    first answer again (``duplicate`` true): one write per uuid. What is kept is the code and its values,
    not the text: a replay is answered in the language of the one asking now."""
    if len(items) > MAX_SYNC_BATCH:
        raise ValidationError(_("一次最多同步 %(n)d 条") % {"n": MAX_SYNC_BATCH})
    now = _now(now)
    answers: list[dict[str, Any]] = []
    for item in items:
        key = f"handover:{item.uuid}"
        earlier = IdempotencyKey.objects.filter(user_id=actor.pk, key=key).first()
        if earlier is not None:
            answers.append(_sync_answer(earlier.response, duplicate=True))
            continue
        try:
            result = handover_scan(item.code, actor=actor, contactless=item.contactless, now=now, at=item.device_time)
            answer: dict[str, Any] = {
                "uuid": str(item.uuid),
                "status": "already" if result.duplicate else "stored",
                "code": result.code,
                "params": result.params,
                "detail": result.message,
                "package_id": result.package.pk,
            }
        except ValidationError as exc:
            answer = {
                "uuid": str(item.uuid),
                "status": "refused",
                "code": _refusal_code(exc),
                "detail": sentences(exc.messages),
                "package_id": None,
            }
        try:
            with transaction.atomic():
                IdempotencyKey.objects.create(
                    user_id=actor.pk, key=key, request_hash=item.code[:64], status_code=200, response=answer
                )
        except IntegrityError:
            pass  # the same uuid synced twice at once: the first answer stands
        answers.append(_sync_answer(answer, duplicate=False))
    return answers


# ----------------------------------------------------------------------------------------------
# Problems and confirmation


@transaction.atomic
def package_undelivered(package: Package, *, reason: str, actor: Any, now: datetime.datetime | None = None) -> Package:
    """The package could not be delivered (nobody home, wrong address…): it stays open until resolved."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("请填写未送达原因")})
    package = Package.objects.select_for_update().get(pk=package.pk)
    if package.status not in ON_THE_WAY:
        raise ValidationError(str(NOT_ON_THE_WAY), code="not_on_the_way")
    previous = package.status
    package.status = PackageStatus.UNDELIVERED
    package.problem = reason[:200]
    package.resolved_at = None
    package.resolution = ""
    package.save(update_fields=["status", "problem", "resolved_at", "resolution"])
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=package,
        changes={"status": [previous, package.status], "problem": package.problem},
    )
    _after_change(package.run_id, package.window_id, _now(now))
    return package


def package_undelivered_once(
    package: Package, *, reason: str, actor: Any, client_uuid: uuid_module.UUID, now: datetime.datetime | None = None
) -> Package:
    """:func:`package_undelivered` recorded once per client uuid (the page's offline queue sends it
    again when an answer was lost): a uuid recorded before writes nothing and answers the package as it
    is now. A refusal is not kept: it wrote nothing, and asking again asks again (in today's language)."""
    key = f"undelivered:{client_uuid}"

    def recorded() -> Package | None:
        if not IdempotencyKey.objects.filter(user_id=actor.pk, key=key).exists():
            return None
        return Package.objects.get(pk=package.pk)

    earlier = recorded()
    if earlier is not None:
        return earlier
    try:
        with transaction.atomic():
            done = package_undelivered(package, reason=reason, actor=actor, now=now)
            IdempotencyKey.objects.create(
                user_id=actor.pk,
                key=key,
                request_hash=str(package.pk),
                status_code=200,
                response={"package_id": package.pk},
            )
        return done
    except (ValidationError, IntegrityError):
        # The same uuid sent twice at once: the one that recorded it first answers for both.
        earlier = recorded()
        if earlier is not None:
            return earlier
        raise


RESOLUTIONS = ("redelivered", "returned")


@transaction.atomic
def package_resolve(
    package: Package, *, resolution: str, actor: Any, note: str = "", now: datetime.datetime | None = None
) -> Package:
    """Close an undelivered package: ``redelivered`` (delivered after all) or ``returned`` to the supplier."""
    if resolution not in RESOLUTIONS:
        raise ValidationError({"resolution": _("处理结果只能是再次配送或退回")})
    now = _now(now)
    package = Package.objects.select_for_update().get(pk=package.pk)
    if package.status != PackageStatus.UNDELIVERED:
        raise ValidationError(_("该包裹没有待处理的未送达问题"))
    previous = package.status
    note = (note or "").strip()
    if resolution == "redelivered":
        package.status = PackageStatus.LEFT_AT_DOOR if package.contactless else PackageStatus.HANDED_OVER
        package.handed_over_at = now
        package.handed_over_by = _actor(actor)
        label = _("再次配送，已送达")
    else:
        package.status = PackageStatus.RETURNED
        label = _("已退回商超")
    package.resolution = f"{label}：{note}"[:200] if note else label
    package.resolved_at = now
    package.save(update_fields=["status", "handed_over_at", "handed_over_by", "resolution", "resolved_at"])
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=package,
        changes={"status": [previous, package.status], "resolution": package.resolution},
    )
    _after_change(package.run_id, package.window_id, now)
    return package


@transaction.atomic
def package_confirm(package: Package, *, actor: Any, now: datetime.datetime | None = None) -> Package:
    """The household confirms it received a package left at its door (idempotent)."""
    if not scope.is_unrestricted(actor) and getattr(actor, "household_id", None) != package.household_id:
        raise ValidationError(_("只能确认本户的包裹"))
    package = Package.objects.select_for_update().get(pk=package.pk)
    if package.status == PackageStatus.CONFIRMED:
        return package
    if package.status == PackageStatus.HANDED_OVER:
        raise ValidationError(_("该包裹已当面交付，无需确认"))
    if package.status != PackageStatus.LEFT_AT_DOOR:
        raise ValidationError(_("包裹还没有送到门口，不能确认收货"))
    package.status = PackageStatus.CONFIRMED
    package.confirmed_at = _now(now)
    package.save(update_fields=["status", "confirmed_at"])
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=package,
        changes={"status": [PackageStatus.LEFT_AT_DOOR, PackageStatus.CONFIRMED]},
    )
    return package


def open_problems(window: OrderWindow) -> QuerySet[Package]:
    """The window's undelivered packages not yet resolved (scope them before showing)."""
    return (
        Package.objects.filter(window=window, status=PackageStatus.UNDELIVERED)
        .select_related("household__compound", "household__building", "household__unit", "run__volunteer", "drop_off")
        .order_by("building_id", "unit_id", "household_id")
    )
