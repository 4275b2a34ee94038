"""Suppliers, catalogues, order windows and their offers (SPEC S1, S2).

An offer's sellable quantity is laid out in :class:`~linli.supplies.models.OfferBucket` rows when the
offer is added: ``reserved`` units (for sealed and isolated households, S4) and the rest, each split
evenly over ``buckets`` rows. Ordering only ever decrements a bucket with a conditional UPDATE.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.registry.models import Community
from linli.supplies.choices import WindowStatus
from linli.supplies.models import Item, Offer, OfferBucket, OrderWindow, Supplier


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
) -> OrderWindow:
    if cutoff_at <= opens_at:
        raise ValidationError({"cutoff_at": _("截单时间必须晚于开放时间")})
    if delivery_on < timezone.localdate(cutoff_at):
        raise ValidationError({"delivery_on": _("配送日期不能早于截单日期")})
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
    window.status = WindowStatus.PUBLISHED
    window.published_at = now or timezone.now()
    window.save(update_fields=["status", "published_at"])
    return window
