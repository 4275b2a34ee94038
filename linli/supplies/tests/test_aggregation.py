"""Aggregation at cut-off (S4): one purchase order per window, one package per live order, lines by offer ×
drop-off point; sealed households to the door; refused before cut-off; a second call answers the first."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from linli.audit.models import AuditEvent
from linli.health.choices import SealLevel
from linli.health.services.seals import seal_create
from linli.lib.testing import Personas
from linli.registry.models import Household
from linli.supplies.choices import OrderStatus, PackageStatus, Priority, WindowStatus
from linli.supplies.models import (
    DropOffPoint,
    Offer,
    Order,
    OrderLine,
    OrderWindow,
    Package,
    PurchaseLine,
    PurchaseOrder,
    Supplier,
)
from linli.supplies.services.aggregation import (
    aggregate,
    handover_codes,
    handover_reference,
    parse_handover_reference,
    shortfall_allocate,
)
from linli.supplies.services.ordering import place_order
from linli.supplies.testing import open_window

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(datetime.datetime(2026, 11, 23, 9, 0))


def place(
    window: OrderWindow, household: Household, lines: dict[Offer, int], *, priority: int = Priority.NORMAL
) -> Order:
    """An order placed through ordering's ``place_order`` (by proxy, while the window is open)."""
    return place_order(
        window=window,
        household=household,
        lines=[(offer.pk, quantity) for offer, quantity in lines.items()],
        actor=None,
        now=NOW,
        priority=Priority(priority),
    )


@dataclass
class Scene:
    personas: Personas
    window: OrderWindow
    veg: Offer
    eggs: Offer
    b1_point: DropOffPoint
    gate_point: DropOffPoint
    after: datetime.datetime

    def household(self, key: str) -> Household:
        return self.personas.tree.households[key]


@pytest.fixture
def scene(personas: Personas) -> Scene:
    """C1's window with two offers; P1 has a point for building 1 and a catch-all point; P2 has none."""
    tree = personas.tree
    shop = Supplier.objects.get(name="平价超市")
    window = open_window(shop, tree.c1, items={"标准蔬菜包": 100, "鸡蛋": 100}, now=NOW)
    veg = window.offers.get(name="标准蔬菜包")
    eggs = window.offers.get(name="鸡蛋")
    b1_point = DropOffPoint.objects.create(
        street_id=tree.street.pk, community=tree.c1, grid=tree.g1, compound=tree.p1, name="1号楼投放点"
    )
    b1_point.buildings.add(tree.b1)
    gate_point = DropOffPoint.objects.create(
        street_id=tree.street.pk, community=tree.c1, grid=tree.g1, compound=tree.p1, name="北门投放点"
    )
    return Scene(personas, window, veg, eggs, b1_point, gate_point, window.cutoff_at + datetime.timedelta(minutes=1))


def b(scene: Scene, building: str, room: str, unit: str = "1单元") -> Household:
    tree = scene.personas.tree
    code = {"b1": tree.b1.code, "b2": tree.b2.code, "b3": tree.b3.code}[building]
    return scene.household(f"{code}/{unit}/{room}")


def test_aggregate_makes_one_package_per_live_order_and_lines_by_offer_and_drop_off(scene: Scene) -> None:
    # given: two orders in building 1, one in building 2, one in P2 (no point), a sealed one, a cancelled one
    w, veg, eggs = scene.window, scene.veg, scene.eggs
    o1 = place(w, b(scene, "b1", "101"), {veg: 2, eggs: 1})
    o2 = place(w, b(scene, "b1", "102", "2单元"), {veg: 1})
    o3 = place(w, b(scene, "b2", "101"), {eggs: 3})
    o4 = place(w, b(scene, "b3", "201"), {veg: 1, eggs: 1})
    sealed = place(w, b(scene, "b1", "201"), {veg: 1}, priority=Priority.SEALED)
    gone = place(w, b(scene, "b2", "102"), {veg: 5})
    Order.objects.filter(pk=gone.pk).update(status=OrderStatus.CANCELLED)

    # when
    purchase = aggregate(w, actor=scene.personas.community_worker, now=scene.after)

    # then
    assert purchase.orders == 5
    assert purchase.total == o1.total + o2.total + o3.total + o4.total + sealed.total
    packages = {p.order_id: p for p in Package.objects.filter(window=w)}
    assert set(packages) == {o1.pk, o2.pk, o3.pk, o4.pk, sealed.pk}
    assert packages[o1.pk].drop_off_id == scene.b1_point.pk
    assert packages[o2.pk].drop_off_id == scene.b1_point.pk
    assert packages[o3.pk].drop_off_id == scene.gate_point.pk
    assert packages[o4.pk].drop_off_id is None
    assert packages[sealed.pk].drop_off_id is None and packages[sealed.pk].contactless
    assert not packages[o1.pk].contactless
    for order in (o1, o2, o3, o4, sealed):
        package = packages[order.pk]
        assert package.amount == order.total
        assert package.status == PackageStatus.PACKED
        assert package.household_id == order.household_id and package.unit_id == order.unit_id
        assert package.supplier_id == w.supplier_id
        assert parse_handover_reference(handover_reference(package.handover_code)) == package.handover_code
    assert len({p.handover_code for p in packages.values()}) == 5
    lines = {
        (line.offer_id, line.drop_off_id): (line.quantity, line.amount, line.short) for line in purchase.lines.all()
    }
    assert lines == {
        (veg.pk, scene.b1_point.pk): (3, veg.price * 3, 0),
        (eggs.pk, scene.b1_point.pk): (1, eggs.price, 0),
        (eggs.pk, scene.gate_point.pk): (3, eggs.price * 3, 0),
        (veg.pk, None): (2, veg.price * 2, 0),  # P2's household and the sealed one: to the door
        (eggs.pk, None): (1, eggs.price, 0),
    }
    w.refresh_from_db()
    assert w.status == WindowStatus.AGGREGATED and w.aggregated_at == scene.after
    assert AuditEvent.objects.filter(model="supplies.PurchaseOrder", object_pk=str(purchase.pk)).exists()


def test_aggregate_is_idempotent(scene: Scene) -> None:
    place(scene.window, b(scene, "b1", "101"), {scene.veg: 2})
    first = aggregate(scene.window, actor=scene.personas.community_worker, now=scene.after)
    again = aggregate(OrderWindow.objects.get(pk=scene.window.pk), actor=scene.personas.street_command)
    assert again.pk == first.pk
    assert PurchaseOrder.objects.count() == 1
    assert Package.objects.count() == 1 and PurchaseLine.objects.count() == 1


def test_aggregate_before_cutoff_is_refused_in_chinese(scene: Scene) -> None:
    place(scene.window, b(scene, "b1", "101"), {scene.veg: 2})
    with pytest.raises(ValidationError) as caught:
        aggregate(
            scene.window, actor=scene.personas.community_worker, now=scene.window.cutoff_at - datetime.timedelta(1)
        )
    assert "截单时间" in caught.value.messages[0]
    assert not PurchaseOrder.objects.exists() and not Package.objects.exists()
    scene.window.refresh_from_db()
    assert scene.window.status == WindowStatus.PUBLISHED


def test_aggregate_of_a_draft_window_is_refused(scene: Scene) -> None:
    OrderWindow.objects.filter(pk=scene.window.pk).update(status=WindowStatus.DRAFT)
    scene.window.refresh_from_db()
    with pytest.raises(ValidationError):
        aggregate(scene.window, actor=scene.personas.community_worker, now=scene.after)
    assert not PurchaseOrder.objects.exists()


def test_aggregate_of_an_empty_window_makes_an_empty_purchase_order(scene: Scene) -> None:
    purchase = aggregate(scene.window, actor=scene.personas.community_worker, now=scene.after)
    assert purchase.orders == 0 and purchase.total == 0 and not purchase.lines.exists()


def test_an_inactive_drop_off_point_is_skipped(scene: Scene) -> None:
    DropOffPoint.objects.filter(pk=scene.b1_point.pk).update(is_active=False)
    order = place(scene.window, b(scene, "b1", "101"), {scene.veg: 1})
    aggregate(scene.window, actor=scene.personas.community_worker, now=scene.after)
    assert Package.objects.get(order=order).drop_off_id == scene.gate_point.pk


def test_a_household_sealed_after_it_ordered_gets_its_bag_at_the_door_and_is_served_first(scene: Scene) -> None:
    # given: two households of building 1 order eggs as everyone does; before the cut-off one of them is
    # sealed (a close contact found in the evening)
    first = place(scene.window, b(scene, "b1", "101"), {scene.eggs: 2})
    later_sealed = place(scene.window, b(scene, "b1", "102"), {scene.eggs: 2})
    seal_create(
        level=SealLevel.HOUSEHOLD,
        target=b(scene, "b1", "102"),
        actor=scene.personas.community_worker,
        now=scene.after - datetime.timedelta(hours=2),
    )

    # when: the window is aggregated after the cut-off, and the supplier has only 2 boxes of eggs
    purchase = aggregate(scene.window, actor=scene.personas.community_worker, now=scene.after)
    shortfall_allocate(purchase, {scene.eggs.pk: 2}, actor=scene.personas.supplier, now=scene.after)

    # then: the sealed household's bag goes to its door, contactless, not to the building's point
    package = Package.objects.get(order=later_sealed)
    assert package.contactless and package.drop_off_id is None
    assert Package.objects.get(order=first).drop_off_id == scene.b1_point.pk
    # and, as a sealed household, it is served in full before the others
    assert OrderLine.objects.get(order=later_sealed).short == 0
    assert OrderLine.objects.get(order=first).short == 2


def test_handover_codes_are_distinct_and_from_the_alphabet() -> None:
    codes = handover_codes(5000)
    assert len(set(codes)) == 5000
    assert all(parse_handover_reference(code) == code for code in codes)
    assert parse_handover_reference("LLQ:12") is None and parse_handover_reference("LLP:ABC") is None
