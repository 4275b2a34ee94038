"""Test helpers for supplies: a published window with offers for the personas' community C1."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from linli.supplies.choices import Category
from linli.supplies.models import Item, OrderWindow, Supplier
from linli.supplies.services.catalogue import offer_add, window_create, window_publish


def make_item(
    supplier: Supplier, name: str, *, price: str = "10.00", category: str = Category.VEGETABLES, **kw: Any
) -> Item:
    return Item.objects.create(supplier=supplier, name=name, category=category, price=Decimal(price), **kw)


def open_window(
    supplier: Supplier,
    community: Any,
    *,
    items: dict[str, int] | None = None,
    now: datetime.datetime | None = None,
    reserved: int = 0,
    buckets: int = 1,
    limit: int | None = None,
) -> OrderWindow:
    """A window of ``supplier`` for ``community``, open now for 12 hours, delivering tomorrow, with one
    offer per ``items`` entry (name → quantity), published."""
    now = now or timezone.now()
    window = window_create(
        supplier=supplier,
        community=community,
        opens_at=now - datetime.timedelta(hours=1),
        cutoff_at=now + datetime.timedelta(hours=12),
        delivery_on=timezone.localdate(now + datetime.timedelta(days=1)),
        title="测试窗口",
        now=now,
    )
    for n, (name, quantity) in enumerate((items or {"标准蔬菜包": 100, "鸡蛋": 100}).items()):
        item = Item.objects.filter(supplier=supplier, name=name).first() or make_item(
            supplier, name, price=f"{10 + n}.50"
        )
        offer_add(window, item, quantity, reserved=reserved, buckets=buckets, per_household_limit=limit)
    return window_publish(window, now=now - datetime.timedelta(hours=1))


def out_for_delivery(personas: Any, *, point: Any, key: str) -> OrderWindow:
    """A window of 平价超市 for C1 whose resident ordered one 标准蔬菜包 and whose cut-off has passed:
    aggregated, and its drop-off ``point``'s bags assigned to the building lead (the volunteer)."""
    from linli.supplies.services import aggregation, delivery, ordering  # they import this module's models

    window = open_window(Supplier.objects.get(name="平价超市"), personas.tree.c1, items={"标准蔬菜包": 50})
    body = {
        "window": window.pk,
        "household": personas.resident_household.pk,
        "lines": [{"offer": window.offers.get().pk, "quantity": 1}],
    }
    status, _answer = ordering.submit_order(actor=personas.resident, key=key, body=body)
    assert status == 201, _answer
    OrderWindow.objects.filter(pk=window.pk).update(cutoff_at=timezone.now() - datetime.timedelta(minutes=1))
    window.refresh_from_db()
    aggregation.aggregate(window, actor=personas.community_worker)
    delivery.run_create(
        window=window, drop_off=point, volunteer=personas.building_lead, actor=personas.community_worker
    )
    return window
