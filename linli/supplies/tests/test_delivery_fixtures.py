"""Set-up shared by the delivery and money tests (no tests here): an aggregated window of C1, one package per order."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils import timezone

from linli.lib.testing import Personas
from linli.registry.models import Household
from linli.supplies.models import DropOffPoint, Order, OrderWindow, Package, Supplier
from linli.supplies.services.aggregation import aggregate
from linli.supplies.services.delivery import drop_off_create, run_create
from linli.supplies.services.ordering import place_order
from linli.supplies.testing import open_window

T0 = timezone.make_aware(datetime.datetime(2026, 11, 23, 9, 0))


@dataclass
class Delivered:
    window: OrderWindow
    point: DropOffPoint
    orders: dict[str, Order]  # household key → order
    packages: dict[str, Package]


def households_of(personas: Personas, *keys: str) -> dict[str, Household]:
    b1 = personas.tree.b1.code
    b2 = personas.tree.b2.code
    names = {
        "101": f"{b1}/1单元/101",
        "102": f"{b1}/1单元/102",
        "201": f"{b1}/1单元/201",
        "2-101": f"{b1}/2单元/101",
        "B2-101": f"{b2}/1单元/101",
    }
    return {key: personas.tree.households[names[key]] for key in keys}


def aggregated(personas: Personas, keys: tuple[str, ...] = ("101", "102", "201", "B2-101"), now=T0) -> Delivered:  # type: ignore[no-untyped-def]
    """P1's drop-off point (all buildings), a window with one order per household, aggregated."""
    point = drop_off_create(
        compound=personas.tree.p1, name="东门投放点", location="东门岗亭旁", actor=personas.community_worker
    )
    supplier = Supplier.objects.get(name="平价超市")
    window = open_window(supplier, personas.tree.c1, now=now)
    offers = list(window.offers.order_by("pk"))
    orders = {}
    for key, household in households_of(personas, *keys).items():
        orders[key] = place_order(
            window=window,
            household=household,
            lines=[(offers[0].pk, 2), (offers[1].pk, 1)],
            actor=personas.community_worker,
            now=now,
        )
    aggregate(window, actor=personas.community_worker, now=window.cutoff_at + datetime.timedelta(hours=1))
    window.refresh_from_db()
    packages = {key: Package.objects.get(order=order) for key, order in orders.items()}
    return Delivered(window, point, orders, packages)


def out_with_building_lead(personas: Personas, keys: tuple[str, ...]) -> Delivered:
    """:func:`aggregated`, and the drop-off point's packages given to the building lead as a run."""
    d = aggregated(personas, keys=keys)
    run_create(window=d.window, drop_off=d.point, volunteer=personas.building_lead, actor=personas.grid_worker)
    return d
