"""Shortfalls (S4): what the supplier can deliver is shared fairly — sealed, then isolated households first,
max-min fair inside a class — and every household whose bag changed is told (notice + SMS)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linli.accounts.models import SmsMessage
from linli.registry.models import Person
from linli.supplies.choices import PackageStatus, Priority
from linli.supplies.models import Order, OrderLine, Package, PurchaseLine, PurchaseOrder, SupplyNotice
from linli.supplies.services.aggregation import aggregate, allocate, fair_shares, shortfall_allocate
from linli.supplies.tests.test_aggregation import Scene, b, place, scene

__all__ = ["scene"]

# ----------------------------------------------------------------------------------------------
# The allocation itself: properties over any demands


demand_lists = st.lists(st.tuples(st.sampled_from([0, 1, 2]), st.integers(min_value=1, max_value=12)), max_size=25)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # two busy cores: no timing checks
@given(units=st.integers(min_value=0, max_value=150), demands=demand_lists)
def test_allocate_properties(units: int, demands: list[tuple[int, int]]) -> None:
    keyed = [(n, priority, quantity) for n, (priority, quantity) in enumerate(demands)]
    shares = allocate(units, keyed)
    total = sum(q for _p, q in demands)
    # nobody gets more than they ordered, and the total is exactly what is available (or all that was asked)
    assert all(0 <= shares[n] <= q for n, _p, q in keyed)
    assert sum(shares.values()) == min(units, total)
    # a class gets nothing until every household of the classes before it is served in full
    for n, priority, _quantity in keyed:
        if shares[n] > 0:
            assert all(shares[m] == q for m, p, q in keyed if p < priority)
    # inside a class, two households that did not get all they asked differ by at most one unit,
    # and nobody short gets less than someone else of the class minus one
    for priority in (0, 1, 2):
        members = [(n, q) for n, p, q in keyed if p == priority]
        for n, q in members:
            if shares[n] < q:
                assert all(shares[m] <= shares[n] + 1 for m, _q in members)


def test_fair_shares_gives_odd_units_to_the_earliest_orders() -> None:
    assert fair_shares(7, [("a", 5), ("b", 5), ("c", 5)]) == {"a": 3, "b": 2, "c": 2}
    assert fair_shares(7, [("a", 1), ("b", 5), ("c", 5)]) == {"a": 1, "b": 3, "c": 3}
    assert fair_shares(0, [("a", 2)]) == {"a": 0}
    assert fair_shares(10, [("a", 2), ("b", 3)]) == {"a": 2, "b": 3}


def test_sealed_then_isolated_households_come_first() -> None:
    shares = allocate(5, [("normal", Priority.NORMAL, 4), ("isolated", Priority.ISOLATED, 2), ("sealed", 0, 2)])
    assert shares == {"sealed": 2, "isolated": 2, "normal": 1}


# ----------------------------------------------------------------------------------------------
# The service: order lines, purchase lines, package amounts, notices and texts


def _aggregated(scene: Scene) -> tuple[PurchaseOrder, dict[str, Order]]:
    w, veg, eggs = scene.window, scene.veg, scene.eggs
    orders = {
        "sealed": place(w, b(scene, "b1", "201"), {veg: 2}, priority=Priority.SEALED),
        "isolated": place(w, b(scene, "b1", "102"), {veg: 2, eggs: 1}, priority=Priority.ISOLATED),
        "a": place(w, b(scene, "b1", "101"), {veg: 3, eggs: 2}),
        "b": place(w, b(scene, "b2", "101"), {veg: 3}),
        "c": place(w, b(scene, "b3", "101"), {veg: 1}),
    }
    return aggregate(w, actor=scene.personas.community_worker, now=scene.after), orders


def test_shortfall_is_allocated_by_priority_then_evenly_and_everyone_affected_is_told(
    scene: Scene, django_capture_on_commit_callbacks: object
) -> None:
    # given: 11 vegetable packs ordered (2 sealed, 2 isolated, 3 + 3 + 1), only 6 available
    purchase, orders = _aggregated(scene)
    veg = scene.veg

    # when
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        affected = shortfall_allocate(purchase, {veg.pk: 6}, actor=scene.personas.community_worker)

    # then: sealed 2 and isolated 2 in full; the 2 left over a, b, c (3, 3, 1): the level is 0 and the two
    # odd units go to the earliest orders, a and b
    short = {key: OrderLine.objects.get(order=order, offer=veg).short for key, order in orders.items()}
    assert short == {"sealed": 0, "isolated": 0, "a": 2, "b": 2, "c": 1}
    assert sum(short.values()) == 11 - 6
    assert {o.pk for o in affected} == {orders["a"].pk, orders["b"].pk, orders["c"].pk}
    # purchase lines carry the short per drop-off point
    by_point = {
        (line.offer_id, line.drop_off_id): line.short for line in PurchaseLine.objects.filter(purchase=purchase)
    }
    assert by_point[(veg.pk, scene.b1_point.pk)] == 2  # a (isolated in building 1 got all)
    assert by_point[(veg.pk, scene.gate_point.pk)] == 2  # b
    assert by_point[(veg.pk, None)] == 1  # c (P2, no point) — the sealed household got all
    # package amounts reduced by what is missing
    for key in ("a", "b", "c"):
        order = orders[key]
        package = Package.objects.get(order=order)
        assert package.amount == order.total - veg.price * short[key]
    assert Package.objects.get(order=orders["sealed"]).amount == orders["sealed"].total
    # every affected household is told: a notice on its page and an SMS to the householder
    notices = SupplyNotice.objects.filter(order__in=affected)
    assert notices.count() == 3 and all("缺" in n.text and veg.name in n.text for n in notices)
    assert not SupplyNotice.objects.filter(order=orders["sealed"]).exists()
    phones = {Person.objects.get(household_id=o.household_id, relation="householder").phone for o in affected}
    assert set(SmsMessage.objects.values_list("phone", flat=True)) == phones
    purchase.refresh_from_db()
    assert purchase.confirmed_at is not None


def test_allocating_again_recomputes_from_the_order_and_tells_who_changed(
    scene: Scene, django_capture_on_commit_callbacks: object
) -> None:
    purchase, orders = _aggregated(scene)
    veg = scene.veg
    shortfall_allocate(purchase, {veg.pk: 6}, actor=scene.personas.community_worker)
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        affected = shortfall_allocate(purchase, {veg.pk: 11}, actor=scene.personas.community_worker)
    assert not OrderLine.objects.filter(short__gt=0).exists()
    assert {o.pk for o in affected} == {orders["a"].pk, orders["b"].pk, orders["c"].pk}
    assert all("恢复" in n.text for n in SupplyNotice.objects.filter(order__in=affected).order_by("-pk")[:3])
    assert all(p.amount == p.order.total for p in Package.objects.select_related("order"))
    assert not PurchaseLine.objects.filter(short__gt=0).exists()


def test_more_than_ordered_or_an_unknown_offer_is_refused(scene: Scene) -> None:
    purchase, _orders = _aggregated(scene)
    with pytest.raises(ValidationError) as caught:
        shortfall_allocate(purchase, {scene.veg.pk: 12}, actor=scene.personas.community_worker)
    assert "0 到 11" in caught.value.messages[0]
    with pytest.raises(ValidationError):
        shortfall_allocate(purchase, {scene.veg.pk: -1}, actor=scene.personas.community_worker)
    with pytest.raises(ValidationError):
        shortfall_allocate(purchase, {999999: 1}, actor=scene.personas.community_worker)
    assert not OrderLine.objects.filter(short__gt=0).exists()


def test_no_reallocation_once_delivery_started(scene: Scene) -> None:
    purchase, orders = _aggregated(scene)
    Package.objects.filter(order=orders["a"]).update(status=PackageStatus.OUT)
    with pytest.raises(ValidationError) as caught:
        shortfall_allocate(purchase, {scene.veg.pk: 6}, actor=scene.personas.community_worker)
    assert "配送" in caught.value.messages[0]
    assert Package.objects.get(order=orders["b"]).amount == orders["b"].total
    assert sum(p.amount for p in Package.objects.all()) == purchase.total
    assert Decimal(purchase.total) > 0


def test_after_a_shortfall_the_residents_order_says_what_they_pay(scene: Scene, client: Any) -> None:
    # given: household a (the resident's, 1号楼1单元101) is 2 vegetable packs short
    purchase, orders = _aggregated(scene)
    shortfall_allocate(purchase, {scene.veg.pk: 6}, actor=scene.personas.community_worker)
    order, package = orders["a"], Package.objects.get(order=orders["a"])
    assert order.household_id == scene.personas.resident_household.pk
    assert package.amount < order.total

    # when: the resident opens their orders
    client.force_login(scene.personas.resident)
    card = client.get(reverse("supplies:me")).content.decode().split(f'id="order-{order.pk}"')[1].split("</div>")[0]

    # then: the amount to pay is the bag's, as its notice and label say, not the ordered total
    assert f"应付 {package.amount} 元" in card
    assert f"<s>{order.total} 元</s>" in card
