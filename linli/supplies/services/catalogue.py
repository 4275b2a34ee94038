"""Suppliers, catalogues, order windows and their offers (SPEC S1, S2).

An offer's sellable quantity is laid out in :class:`~linli.supplies.models.OfferBucket` rows when the
offer is added: ``reserved`` units (for sealed and isolated households, S4) and the rest, each split
evenly over ``buckets`` rows. Ordering only ever decrements a bucket with a conditional UPDATE.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.choices import Role
from linli.audit.models import AuditAction
from linli.audit.services import audit_record, diff, snapshot
from linli.lib.scope import user_level
from linli.lib.wording import listed
from linli.registry.models import Community, Street
from linli.supplies.choices import WindowStatus
from linli.supplies.models import BundlePart, Item, Offer, OfferBucket, OrderWindow, Supplier, WindowSchedule


def split(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` near-equal non-negative parts, the larger ones first."""
    base, extra = divmod(total, parts)
    return [base + (1 if n < extra else 0) for n in range(parts)]


def bucket_rows(offer: Offer) -> list[OfferBucket]:
    """The bucket rows of a new offer: its reserved and its general quantity, each over ``buckets`` rows."""
    rows = []
    general = offer.quantity - offer.reserved
    for reserved, amount in ((True, offer.reserved), (False, general)):
        if reserved and amount == 0:
            continue
        for n, remaining in enumerate(split(amount, offer.buckets)):
            rows.append(OfferBucket(offer=offer, n=n, reserved=reserved, remaining=remaining))
    return rows


@transaction.atomic
def window_create(
    *,
    supplier: Supplier,
    community: Community,
    opens_at: datetime.datetime,
    cutoff_at: datetime.datetime,
    delivery_on: datetime.date,
    title: str = "",
    actor: Any = None,
    now: datetime.datetime | None = None,
) -> OrderWindow:
    """A draft window of ``supplier`` for ``community``; its cut-off must be later than ``now``."""
    _window_times(opens_at, cutoff_at, delivery_on, now=now)
    return OrderWindow.objects.create(
        supplier=supplier,
        street_id=community.street_id,
        community=community,
        opens_at=opens_at,
        cutoff_at=cutoff_at,
        delivery_on=delivery_on,
        title=title,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )


def _window_times(
    opens_at: datetime.datetime,
    cutoff_at: datetime.datetime,
    delivery_on: datetime.date,
    *,
    now: datetime.datetime | None = None,
) -> None:
    """Refuse a window's times that make it a dead draft: a cut-off already past could never be published."""
    if cutoff_at <= opens_at:
        raise ValidationError({"cutoff_at": _("截单时间必须晚于开放时间")})
    if cutoff_at <= (now or timezone.now()):
        local = timezone.localtime(cutoff_at)
        raise ValidationError(
            {
                "cutoff_at": ValidationError(
                    _("截单时间（%(cutoff)s）已过，窗口将无法发布：请把截单时间设在现在之后")
                    % {"cutoff": f"{local:%Y-%m-%d %H:%M}"},
                    code="past_cutoff",
                )
            }
        )
    if delivery_on < timezone.localdate(cutoff_at):
        raise ValidationError({"delivery_on": _("配送日期不能早于截单日期")})


@transaction.atomic
def offer_add(
    window: OrderWindow,
    item: Item,
    quantity: int,
    *,
    price: Decimal | None = None,
    per_household_limit: int | None = None,
    reserved: int = 0,
    buckets: int = 1,
) -> Offer:
    """Offer ``quantity`` of ``item`` in ``window`` (``reserved`` of it for sealed/isolated households)."""
    if window.status not in (WindowStatus.DRAFT, WindowStatus.PUBLISHED):
        raise ValidationError(_("该窗口已截单，不能再上架商品"))
    if item.supplier_id != window.supplier_id:
        raise ValidationError({"item": _("只能上架本商超的商品")})
    if quantity < 0 or reserved < 0 or reserved > quantity:
        raise ValidationError({"reserved": _("预留数量不能超过可售数量")})
    if buckets < 1:
        raise ValidationError({"buckets": _("分桶数至少为 1")})
    offer = Offer.objects.create(
        window=window,
        item=item,
        name=item.name,
        category=item.category,
        unit=item.unit,
        price=item.price if price is None else price,
        per_household_limit=item.per_household_limit if per_household_limit is None else per_household_limit,
        quantity=quantity,
        reserved=reserved,
        buckets=buckets,
    )
    OfferBucket.objects.bulk_create(bucket_rows(offer))
    return offer


def window_publish(window: OrderWindow, *, actor: Any = None, now: datetime.datetime | None = None) -> OrderWindow:
    """Publish a draft window to its community's residents."""
    if window.status != WindowStatus.DRAFT:
        raise ValidationError(_("只有草稿状态的窗口可以发布"))
    if not window.offers.exists():
        raise ValidationError(_("窗口还没有上架任何商品"))
    now = now or timezone.now()
    if window.cutoff_at <= now:
        # Published, it could never be ordered in: nobody would see it, and it would go straight to aggregation.
        local = timezone.localtime(window.cutoff_at)
        raise ValidationError(
            _("截单时间（%(cutoff)s）已过，不能发布：请先把截单时间改到以后") % {"cutoff": f"{local:%Y-%m-%d %H:%M}"},
            code="past_cutoff",
        )
    window.status = WindowStatus.PUBLISHED
    window.published_at = now
    window.save(update_fields=["status", "published_at"])
    audit_record(actor=actor, action=AuditAction.UPDATE, obj=window, changes={"status": ["draft", "published"]})
    return window


# ----------------------------------------------------------------------------------------------
# Helpers


def _actor(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def _audit(actor: Any, action: str, obj: Any, changes: dict[str, Any], street_id: int | None) -> None:
    audit_record(actor=actor, action=action, obj=obj, changes=changes, street_id=street_id)


def _check(obj: Any, exclude: list[str] | None = None) -> None:
    """Run the model's field validation (lengths, choices, validators), as a ValidationError per field."""
    obj.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)


# ----------------------------------------------------------------------------------------------
# Suppliers (S1)

SUPPLIER_FIELDS = ("name", "contact_name", "contact_phone", "address", "payment_code", "is_active")


def _served(street: Street, communities: Any) -> list[Community]:
    found = list(communities or [])
    if any(c.street_id != street.pk for c in found):
        raise ValidationError({"communities": _("服务社区必须属于本街道")})
    return found


@transaction.atomic
def supplier_create(*, street: Street, name: str, communities: Any = (), actor: Any = None, **fields: Any) -> Supplier:
    """Designate a supplier of ``street`` serving ``communities`` (of that street)."""
    unknown = sorted(set(fields) - set(SUPPLIER_FIELDS))
    if unknown:
        raise ValidationError(_("不能设置：%(fields)s") % {"fields": listed(unknown)})
    served = _served(street, communities)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("请填写商超名称")})
    if Supplier.objects.filter(street=street, name=name).exists():
        raise ValidationError({"name": _("本街道已有同名商超")})
    supplier = Supplier(street=street, name=name, **fields)
    _check(supplier, exclude=["street"])
    supplier.save()
    supplier.communities.set(served)
    _audit(actor, AuditAction.CREATE, supplier, diff({}, snapshot(supplier)), street.pk)
    return supplier


@transaction.atomic
def supplier_update(supplier: Supplier, *, actor: Any = None, communities: Any = None, **fields: Any) -> Supplier:
    """Change a supplier's details (and, when given, the communities it serves)."""
    unknown = sorted(set(fields) - set(SUPPLIER_FIELDS))
    if unknown:
        raise ValidationError(_("不能修改：%(fields)s") % {"fields": listed(unknown)})
    supplier = Supplier.objects.select_for_update().get(pk=supplier.pk)
    before = snapshot(supplier)
    if "name" in fields:
        fields["name"] = (fields["name"] or "").strip()
        if Supplier.objects.filter(street_id=supplier.street_id, name=fields["name"]).exclude(pk=supplier.pk).exists():
            raise ValidationError({"name": _("本街道已有同名商超")})
    for key, value in fields.items():
        setattr(supplier, key, value)
    _check(supplier, exclude=["street"])
    supplier.save()
    if communities is not None:
        supplier.communities.set(_served(supplier.street, communities))
    _audit(actor, AuditAction.UPDATE, supplier, diff(before, snapshot(supplier)), supplier.street_id)
    return supplier


@transaction.atomic
def supplier_staff_link(supplier: Supplier, user: Any, *, actor: Any = None) -> Any:
    """Make ``user`` (a supplier-role account without a place in the tree) staff of ``supplier``."""
    if getattr(user, "role", None) != Role.SUPPLIER:
        raise ValidationError({"user": _("只能关联“保供商超”角色的账号")})
    if user_level(user) is not None:
        raise ValidationError({"user": _("该账号属于社区网格，不能作为商超员工")})
    if user.supplier_id and user.supplier_id != supplier.pk:
        current = Supplier.objects.filter(pk=user.supplier_id).values_list("street_id", flat=True).first()
        if current is not None and current != supplier.street_id:
            raise ValidationError({"user": _("该账号已是其他街道商超的员工")})
    before = {"supplier": user.supplier_id}
    user.supplier = supplier
    user.supplier_name = supplier.name
    user.save(update_fields=["supplier", "supplier_name"])
    _audit(actor, AuditAction.UPDATE, user, diff(before, {"supplier": supplier.pk}), supplier.street_id)
    return user


@transaction.atomic
def supplier_staff_unlink(supplier: Supplier, user: Any, *, actor: Any = None) -> Any:
    """The account no longer works for ``supplier``: it sees no supplier's records."""
    if user.supplier_id != supplier.pk:
        raise ValidationError({"user": _("该账号不是本商超的员工")})
    user.supplier = None
    user.save(update_fields=["supplier"])
    _audit(actor, AuditAction.UPDATE, user, {"supplier": [supplier.pk, None]}, supplier.street_id)
    return user


# ----------------------------------------------------------------------------------------------
# Catalogue items and bundles (S1)

ITEM_FIELDS = (
    "name",
    "category",
    "unit",
    "price",
    "stock",
    "per_household_limit",
    "is_bundle",
    "description",
    "is_active",
)


@transaction.atomic
def item_create(
    *,
    supplier: Supplier,
    name: str,
    category: str,
    price: Decimal | str | int,
    actor: Any = None,
    unit: str = "份",
    stock: int = 0,
    per_household_limit: int | None = None,
    is_bundle: bool = False,
    description: str = "",
    is_active: bool = True,
) -> Item:
    """A catalogue item of ``supplier``: a single product or a bundle (its parts set by :func:`bundle_set_parts`)."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("请填写品名")})
    if Item.objects.filter(supplier=supplier, name=name).exists():
        raise ValidationError({"name": _("本商超已有同名商品")})
    item = Item(
        supplier=supplier,
        name=name,
        category=category,
        unit=(unit or "").strip() or "份",
        price=_price(price),
        stock=stock,
        per_household_limit=per_household_limit or None,
        is_bundle=is_bundle,
        description=description,
        is_active=is_active,
    )
    _check(item, exclude=["supplier"])
    item.save()
    _audit(actor, AuditAction.CREATE, item, diff({}, snapshot(item)), supplier.street_id)
    return item


def _price(value: Any) -> Decimal:
    try:
        price = Decimal(str(value).strip())
    except (ArithmeticError, ValueError) as exc:
        raise ValidationError({"price": _("请填写正确的价格，如 12.50")}) from exc
    if not price.is_finite() or price < 0:
        raise ValidationError({"price": _("请填写正确的价格，如 12.50")})
    return price.quantize(Decimal("0.01"))


@transaction.atomic
def item_update(item: Item, *, actor: Any = None, **fields: Any) -> Item:
    """Change a catalogue item. Windows already offering it keep their own price and limit."""
    unknown = sorted(set(fields) - set(ITEM_FIELDS))
    if unknown:
        raise ValidationError(_("不能修改：%(fields)s") % {"fields": listed(unknown)})
    item = Item.objects.select_for_update().select_related("supplier").get(pk=item.pk)
    before = snapshot(item)
    if "name" in fields:
        fields["name"] = (fields["name"] or "").strip()
        if Item.objects.filter(supplier_id=item.supplier_id, name=fields["name"]).exclude(pk=item.pk).exists():
            raise ValidationError({"name": _("本商超已有同名商品")})
    if "price" in fields:
        fields["price"] = _price(fields["price"])
    if "per_household_limit" in fields:
        fields["per_household_limit"] = fields["per_household_limit"] or None
    if fields.get("is_bundle") is False and item.parts.exists():
        raise ValidationError({"is_bundle": _("请先清空套餐内容，再改为单品")})
    for key, value in fields.items():
        setattr(item, key, value)
    _check(item, exclude=["supplier"])
    item.save()
    _audit(actor, AuditAction.UPDATE, item, diff(before, snapshot(item)), item.supplier.street_id)
    return item


@transaction.atomic
def bundle_set_parts(
    bundle: Item, parts: Sequence[tuple[Item, Decimal | str | int]], *, actor: Any = None
) -> list[BundlePart]:
    """Replace what a bundle holds (the standard vegetable box: 2 斤 cabbage, 1 斤 carrots, …)."""
    if not bundle.is_bundle:
        raise ValidationError({"parts": _("只有套餐可以设置内含商品")})
    rows: list[BundlePart] = []
    seen: set[int] = set()
    for part, quantity in parts:
        if part.supplier_id != bundle.supplier_id:
            raise ValidationError({"parts": _("套餐只能包含本商超的商品")})
        if part.pk == bundle.pk or part.is_bundle:
            raise ValidationError({"parts": _("套餐不能包含套餐本身或其他套餐")})
        if part.pk in seen:
            raise ValidationError({"parts": _("同一商品在套餐中只能出现一次")})
        try:
            amount = Decimal(str(quantity).strip())
        except (ArithmeticError, ValueError) as exc:
            raise ValidationError({"parts": _("请填写正确的数量")}) from exc
        if not amount.is_finite() or amount <= 0 or amount >= Decimal("1000000"):
            raise ValidationError({"parts": _("内含数量必须大于 0")})
        seen.add(part.pk)
        rows.append(BundlePart(bundle=bundle, part=part, quantity=amount.quantize(Decimal("0.01"))))
    before = {str(p.part_id): str(p.quantity) for p in bundle.parts.all()}
    bundle.parts.all().delete()
    BundlePart.objects.bulk_create(rows)
    after = {str(p.part_id): str(p.quantity) for p in rows}
    _audit(
        actor,
        AuditAction.UPDATE,
        bundle,
        {"parts": [before, after]} if before != after else {},
        bundle.supplier.street_id,
    )
    return rows


# ----------------------------------------------------------------------------------------------
# Windows (S2): one community, or every community the supplier serves


def windows_create_for_street(
    *,
    supplier: Supplier,
    opens_at: datetime.datetime,
    cutoff_at: datetime.datetime,
    delivery_on: datetime.date,
    title: str = "",
    communities: Any = None,
    actor: Any = None,
    now: datetime.datetime | None = None,
) -> list[OrderWindow]:
    """One draft window per community: ``communities`` (each served by the supplier), else every one it serves."""
    served = {c.pk: c for c in supplier.communities.all()}
    if communities is None:
        chosen = sorted(served.values(), key=lambda c: c.pk)
        if not chosen:
            raise ValidationError({"communities": _("该商超还没有服务社区")})
    else:
        chosen = list(communities)
        if not chosen:
            raise ValidationError({"communities": _("请选择社区")})
        if any(c.pk not in served for c in chosen):
            raise ValidationError({"communities": _("该商超不服务所选社区")})
    if not supplier.is_active:
        raise ValidationError({"supplier": _("该商超已停用")})
    with transaction.atomic():
        windows = [
            window_create(
                supplier=supplier,
                community=community,
                opens_at=opens_at,
                cutoff_at=cutoff_at,
                delivery_on=delivery_on,
                title=title,
                actor=actor,
                now=now,
            )
            for community in chosen
        ]
        for window in windows:
            _audit(actor, AuditAction.CREATE, window, diff({}, snapshot(window)), None)
    return windows


def offers_copy(source: OrderWindow, target: OrderWindow) -> list[Offer]:
    """Offer in ``target`` what ``source`` offered, at the items' current prices (active items only)."""
    made = []
    existing = set(target.offers.values_list("item_id", flat=True))
    for offer in source.offers.select_related("item").order_by("pk"):
        if offer.item_id in existing or not offer.item.is_active:
            continue
        made.append(
            offer_add(
                target,
                offer.item,
                offer.quantity,
                per_household_limit=offer.per_household_limit,
                reserved=offer.reserved,
                buckets=offer.buckets,
            )
        )
    return made


# ----------------------------------------------------------------------------------------------
# Recurring windows (S2): orders Mon/Fri 08:00–20:00, delivery the next day

GENERATE_DAYS = 14  # how far ahead a schedule's windows are made


def _weekdays(value: Any) -> list[int]:
    try:
        days = sorted({int(d) for d in value})
    except (TypeError, ValueError) as exc:
        raise ValidationError({"order_weekdays": _("请选择下单日（周一至周日）")}) from exc
    if not days or any(d < 1 or d > 7 for d in days):
        raise ValidationError({"order_weekdays": _("请选择下单日（周一至周日）")})
    return days


@transaction.atomic
def schedule_create(
    *,
    supplier: Supplier,
    community: Community,
    order_weekdays: Any,
    opens_time: datetime.time = datetime.time(8, 0),
    cutoff_time: datetime.time = datetime.time(20, 0),
    delivery_after_days: int = 1,
    actor: Any = None,
) -> WindowSchedule:
    """A recurring window of ``supplier`` for ``community`` (which it must serve)."""
    if not supplier.communities.filter(pk=community.pk).exists():
        raise ValidationError({"community": _("该商超不服务所选社区")})
    schedule = WindowSchedule(
        supplier=supplier,
        street_id=community.street_id,
        community=community,
        order_weekdays=_weekdays(order_weekdays),
        opens_time=opens_time,
        cutoff_time=cutoff_time,
        delivery_after_days=delivery_after_days,
        created_by=_actor(actor),
    )
    _schedule_check(schedule)
    schedule.save()
    _audit(actor, AuditAction.CREATE, schedule, diff({}, snapshot(schedule)), None)
    return schedule


def _schedule_check(schedule: WindowSchedule) -> None:
    if schedule.cutoff_time <= schedule.opens_time:
        raise ValidationError({"cutoff_time": _("截单时间必须晚于开放时间")})
    if not 0 <= schedule.delivery_after_days <= 7:
        raise ValidationError({"delivery_after_days": _("配送日须在下单当天至 7 天之内")})


@transaction.atomic
def schedule_update(schedule: WindowSchedule, *, actor: Any = None, **fields: Any) -> WindowSchedule:
    """Change a schedule; windows already made keep their times."""
    allowed = {"order_weekdays", "opens_time", "cutoff_time", "delivery_after_days", "is_active"}
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise ValidationError(_("不能修改：%(fields)s") % {"fields": listed(unknown)})
    before = snapshot(schedule)
    if "order_weekdays" in fields:
        fields["order_weekdays"] = _weekdays(fields["order_weekdays"])
    for key, value in fields.items():
        setattr(schedule, key, value)
    _schedule_check(schedule)
    schedule.save()
    _audit(actor, AuditAction.UPDATE, schedule, diff(before, snapshot(schedule)), None)
    return schedule


def _at(day: datetime.date, time: datetime.time) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, time))


def schedule_generate(
    schedule: WindowSchedule, *, now: datetime.datetime | None = None, days: int = GENERATE_DAYS, actor: Any = None
) -> list[OrderWindow]:
    """Make the schedule's windows for the coming ``days`` that do not exist yet (idempotent).

    A new window is a draft; it offers what the schedule's latest earlier window offered (at today's
    catalogue prices), so that staff check the quantities and publish. Windows whose cut-off has
    passed are not made.
    """
    now = now or timezone.now()
    if not schedule.is_active:
        raise ValidationError(_("该订购周期已停用"))
    if not Supplier.objects.filter(pk=schedule.supplier_id, is_active=True, communities=schedule.community_id).exists():
        raise ValidationError(_("该商超已停用或不再服务这个社区"))
    today = timezone.localdate(now)
    made: list[OrderWindow] = []
    with transaction.atomic():
        # One generator at a time per schedule (PostgreSQL; SQLite's IMMEDIATE transactions serialise anyway).
        locked = WindowSchedule.objects.select_for_update().select_related("supplier", "community").get(pk=schedule.pk)
        existing = set(locked.windows.values_list("opens_at", flat=True))
        for offset in range(days):
            day = today + datetime.timedelta(days=offset)
            if day.isoweekday() not in locked.order_weekdays:
                continue
            opens_at, cutoff_at = _at(day, locked.opens_time), _at(day, locked.cutoff_time)
            if cutoff_at <= now or opens_at in existing:
                continue
            window = window_create(
                supplier=locked.supplier,
                community=locked.community,
                opens_at=opens_at,
                cutoff_at=cutoff_at,
                delivery_on=day + datetime.timedelta(days=locked.delivery_after_days),
                # The pages show the supplier beside the title already (和平平价超市 · 11-27 订购).
                title=_("%(day)s 订购") % {"day": f"{day:%m-%d}"},
                actor=actor,
                now=now,
            )
            window.schedule = locked
            window.save(update_fields=["schedule"])
            source = locked.windows.filter(opens_at__lt=opens_at).exclude(pk=window.pk).order_by("-opens_at").first()
            if source is not None:
                offers_copy(source, window)
            existing.add(opens_at)
            made.append(window)
    return made


# ----------------------------------------------------------------------------------------------
# Offers (S2, S3): remaining stock lives in bucket rows


def remaining_by_offer(offers: Any) -> dict[int, tuple[int, int]]:
    """Offer id -> (general units left, reserved units left), summed over its bucket rows."""
    left: dict[int, tuple[int, int]] = {}
    rows = (
        OfferBucket.objects.filter(offer__in=offers)
        .values("offer_id", "reserved")
        .annotate(n=Sum("remaining"))
        .order_by()
    )
    for row in rows:
        general, reserved = left.get(row["offer_id"], (0, 0))
        if row["reserved"]:
            reserved = row["n"] or 0
        else:
            general = row["n"] or 0
        left[row["offer_id"]] = (general, reserved)
    return left


def default_reserved(window: OrderWindow, quantity: int) -> int:
    """The share of an offer kept for sealed and isolated households, by the street's setting (S4)."""
    from linli.supplies.services.stock import settings_for

    return quantity * settings_for(window.street_id).sealed_reserve_percent // 100


def default_buckets(quantity: int) -> int:
    """More bucket rows for bigger offers: a rush on a hot item spreads over rows (PERFORMANCE.md)."""
    return max(1, min(16, quantity // 50))


def _editable_window(window: OrderWindow) -> None:
    if window.status not in (WindowStatus.DRAFT, WindowStatus.PUBLISHED):
        raise ValidationError(_("该窗口已截单，不能再修改上架商品"))


@transaction.atomic
def offer_update(
    offer: Offer,
    *,
    quantity: int | None = None,
    price: Decimal | str | None = None,
    per_household_limit: int | str | None = "",
    actor: Any = None,
) -> Offer:
    """Change an offer: more units go into a general bucket; fewer come out of the unsold general units.

    Lowering never reads-then-writes a bucket: each bucket gives up units by a conditional UPDATE
    (``remaining >= n``), so units sold meanwhile are never taken back; if the unsold general units
    cannot cover the cut, nothing changes. The price and limit may change only before publishing
    (a resident who saw ¥10 must not pay ¥12). The offer row is locked: two staff setting the
    quantity at once apply one after the other, each to the quantity the other left.
    """
    offer = Offer.objects.select_for_update().select_related("window").get(pk=offer.pk)
    window = offer.window
    _editable_window(window)
    before = snapshot(offer)
    changed: list[str] = []
    if price is not None or per_household_limit != "":
        if window.status != WindowStatus.DRAFT:
            raise ValidationError(_("窗口已发布，不能再改价格或限购"))
        if price is not None:
            offer.price = _price(price)
            changed.append("price")
        if per_household_limit != "":
            offer.per_household_limit = int(per_household_limit) if per_household_limit else None
            changed.append("per_household_limit")
    if quantity is not None:
        quantity = int(quantity)
        if quantity < offer.reserved:
            raise ValidationError({"quantity": _("可售数量不能少于封控/隔离户预留数量")})
        delta = quantity - offer.quantity
        if delta > 0:
            bucket = OfferBucket.objects.filter(offer=offer, reserved=False).order_by("n").first()
            if bucket is None:
                OfferBucket.objects.create(offer=offer, n=0, reserved=False, remaining=delta)
            else:
                OfferBucket.objects.filter(pk=bucket.pk).update(remaining=F("remaining") + delta)
        elif delta < 0:
            _take_back(offer, -delta)
        if delta:
            Offer.objects.filter(pk=offer.pk).update(quantity=F("quantity") + delta)
            offer.quantity = quantity
    if changed:
        offer.save(update_fields=changed)
    offer.refresh_from_db()
    _audit(actor, AuditAction.UPDATE, offer, diff(before, snapshot(offer)), window.street_id)
    return offer


def _take_back(offer: Offer, units: int) -> None:
    """Take ``units`` unsold general units out of ``offer``'s buckets, or raise (the caller's atomic undoes)."""
    left = units
    for bucket in OfferBucket.objects.filter(offer=offer, reserved=False).order_by("-remaining", "n"):
        take = min(bucket.remaining, left)
        if take <= 0:
            continue
        if OfferBucket.objects.filter(pk=bucket.pk, remaining__gte=take).update(remaining=F("remaining") - take):
            left -= take
        if left == 0:
            return
    raise ValidationError({"quantity": _("已售出或已被预订的数量不能收回：最多还能减少 %(n)s") % {"n": units - left}})


@transaction.atomic
def offer_remove(offer: Offer, *, actor: Any = None) -> None:
    """Take an offer off a draft window (nothing has been ordered from a draft)."""
    if offer.window.status != WindowStatus.DRAFT:
        raise ValidationError(_("只能从草稿窗口下架商品"))
    _audit(actor, AuditAction.DELETE, offer, diff(snapshot(offer), {}), offer.window.street_id)
    offer.delete()


@transaction.atomic
def window_update(
    window: OrderWindow, *, actor: Any = None, now: datetime.datetime | None = None, **fields: Any
) -> OrderWindow:
    """Change a draft window's title and times (a cut-off already past is refused, as at creation)."""
    allowed = {"title", "opens_at", "cutoff_at", "delivery_on"}
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise ValidationError(_("不能修改：%(fields)s") % {"fields": listed(unknown)})
    if window.status != WindowStatus.DRAFT and set(fields) - {"title"}:
        raise ValidationError(_("窗口已发布，不能再改时间"))
    before = snapshot(window)
    for key, value in fields.items():
        setattr(window, key, value)
    if set(fields) - {"title"}:
        _window_times(window.opens_at, window.cutoff_at, window.delivery_on, now=now)
    window.save()
    _audit(actor, AuditAction.UPDATE, window, diff(before, snapshot(window)), None)
    return window
