"""Scope of supplies records: whose windows, orders and packages each account sees and may order for.

The site-wide scope sweep (linli/tests/test_scope_sweep.py) proves that nothing of community C2 reaches
an account of C1. These tests look from the other side, with positive controls: the supplier's staff
see their own supplier's records (and not the street's other supplier's), a resident only their own
household's orders, and a grid worker orders by proxy only for the households of their own grid.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import models
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from linli.accounts.services import api_token_create
from linli.lib import scope
from linli.lib.testing import Personas
from linli.registry.models import Household
from linli.supplies.models import (
    Item,
    Offer,
    Order,
    OrderLine,
    OrderWindow,
    Package,
    PurchaseOrder,
    Supplier,
)
from linli.supplies.services import aggregation, catalogue, ordering
from linli.supplies.testing import make_item, open_window

API = "/api/v1/supplies"
NEIGHBOUR_NOTE = "邻居的订单备注"
OWN_NOTE = "本户的订单备注"
C2_NOTE = "团结社区的订单备注"


class Api:
    def __init__(self, user: Any) -> None:
        _token, key = api_token_create(user=user, name="test")
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    def get(self, path: str, **query: Any) -> Any:
        return self.client.get(f"{API}{path}", query)

    def order(self, window: OrderWindow, household: Household) -> Any:
        offer = window.offers.order_by("pk").first()
        assert offer is not None
        body = {"window": window.pk, "household": household.pk, "lines": [{"offer": offer.pk, "quantity": 1}]}
        return self.client.post(
            f"{API}/orders", body, content_type="application/json", headers={"Idempotency-Key": uuid.uuid4().hex}
        )


def household(personas: Personas, building: Any, room: str) -> Household:
    return personas.tree.households[f"{building.code}/1单元/{room}"]


def aggregated_window(supplier: Supplier, community: Any, orders: list[tuple[Household, Any, str]]) -> OrderWindow:
    """A window of ``supplier`` for ``community`` whose cut-off has passed, with ``orders`` (household, actor,
    note) placed while it was open, aggregated into packages."""
    now = timezone.now()
    opened = now - datetime.timedelta(days=2)
    window = catalogue.window_create(
        supplier=supplier,
        community=community,
        opens_at=opened,
        cutoff_at=now - datetime.timedelta(days=1),
        delivery_on=timezone.localdate(now),
        title=f"{supplier.name}的窗口",
        now=opened,
    )
    item = Item.objects.filter(supplier=supplier).first() or make_item(supplier, f"{supplier.name}蔬菜包")
    offer = catalogue.offer_add(window, item, 100)
    catalogue.window_publish(window, now=opened)
    for placed_for, actor, note in orders:
        ordering.place_order(
            window=window,
            household=placed_for,
            lines=[(offer.pk, 1)],
            actor=actor,
            note=note,
            now=opened + datetime.timedelta(hours=1),
        )
    aggregation.aggregate(window, actor=None, now=now)
    return window


@dataclass
class Street:
    shop: Supplier  # 平价超市, serving C1: the supplier persona's
    other: Supplier  # 团结超市, serving C2 only
    c1_window: OrderWindow
    c2_window: OrderWindow
    own: Order  # the resident's household's
    neighbour: Order  # another C1 household's (the next room), placed by proxy
    c2_order: Order


@pytest.fixture
def street(personas: Personas) -> Street:
    tree = personas.tree
    shop = Supplier.objects.get(name="平价超市")
    other = catalogue.supplier_create(street=tree.street, name="团结超市", communities=[tree.c2])
    c1_window = aggregated_window(
        shop,
        tree.c1,
        [
            (personas.resident_household, personas.resident, OWN_NOTE),
            (household(personas, tree.b1, "102"), personas.grid_worker, NEIGHBOUR_NOTE),
        ],
    )
    c2_window = aggregated_window(other, tree.c2, [(household(personas, tree.b4, "101"), personas.outsider, C2_NOTE)])
    orders = {order.note: order for order in Order.objects.all()}
    return Street(shop, other, c1_window, c2_window, orders[OWN_NOTE], orders[NEIGHBOUR_NOTE], orders[C2_NOTE])


def ids(qs: models.QuerySet[Any]) -> set[int]:
    return set(qs.values_list("pk", flat=True))


# --- the supplier's staff ---------------------------------------------------------------------------


def test_the_supplier_sees_its_own_suppliers_records_and_none_of_the_other_suppliers(
    personas: Personas, street: Street
) -> None:
    # given
    supplier = personas.supplier
    by_supplier = {
        Supplier: "pk",
        Item: "supplier_id",
        OrderWindow: "supplier_id",
        Offer: "window__supplier_id",
        Order: "supplier_id",
        OrderLine: "order__supplier_id",
        Package: "supplier_id",
        PurchaseOrder: "window__supplier_id",
    }

    for model, lookup in by_supplier.items():
        # when
        seen = ids(scope.visible(model._default_manager.all(), supplier))
        changeable = ids(scope.editable(model._default_manager.all(), supplier))

        # then
        own = ids(model._default_manager.filter(**{lookup: street.shop.pk}))
        theirs = ids(model._default_manager.filter(**{lookup: street.other.pk}))
        assert own and theirs, model  # both suppliers have records of this kind: the check can fail
        assert seen == own, model
        assert changeable == own, model


def test_the_supplier_lists_its_own_windows_orders_but_not_the_other_suppliers(
    personas: Personas, street: Street
) -> None:
    # given
    api = Api(personas.supplier)

    # when
    listed = api.get("/orders")
    own_window = api.get("/orders", window=street.c1_window.pk)
    other_window = api.get("/orders", window=street.c2_window.pk)
    other_order = api.get(f"/orders/{street.c2_order.pk}")
    own_order = api.get(f"/orders/{street.own.pk}")

    # then
    assert listed.status_code == 200, listed.content
    assert {row["id"] for row in listed.json()["results"]} == {street.own.pk, street.neighbour.pk}
    assert {row["id"] for row in own_window.json()["results"]} == {street.own.pk, street.neighbour.pk}
    assert other_window.json()["results"] == []
    assert C2_NOTE not in other_window.content.decode()
    assert other_order.status_code == 404
    assert own_order.status_code == 200 and own_order.json()["note"] == OWN_NOTE


def test_the_supplier_cannot_order_for_anyone(personas: Personas, street: Street) -> None:
    # given
    window = open_window(street.shop, personas.tree.c1)

    # when
    response = Api(personas.supplier).order(window, personas.resident_household)

    # then
    assert response.status_code == 403
    assert not Order.objects.filter(window=window).exists()


# --- the resident -----------------------------------------------------------------------------------


def test_a_resident_sees_only_their_households_orders(personas: Personas, street: Street, client: Client) -> None:
    # given
    api = Api(personas.resident)
    client.force_login(personas.resident)

    # when
    listed = api.get("/orders")
    neighbour = api.get(f"/orders/{street.neighbour.pk}")
    c2_order = api.get(f"/orders/{street.c2_order.pk}")
    own = api.get(f"/orders/{street.own.pk}")
    page = client.get(reverse("supplies:me"))

    # then
    assert listed.status_code == 200, listed.content
    assert [row["id"] for row in listed.json()["results"]] == [street.own.pk]
    assert neighbour.status_code == 404 and c2_order.status_code == 404
    assert own.status_code == 200 and own.json()["note"] == OWN_NOTE
    text = page.content.decode()
    assert page.status_code == 200
    assert f'id="order-{street.own.pk}"' in text
    assert f'id="order-{street.neighbour.pk}"' not in text and f'id="order-{street.c2_order.pk}"' not in text


def test_a_resident_cannot_order_for_another_household(personas: Personas, street: Street) -> None:
    # given
    window = open_window(street.shop, personas.tree.c1)
    api = Api(personas.resident)

    # when
    neighbour = api.order(window, household(personas, personas.tree.b1, "102"))
    own = api.order(window, personas.resident_household)

    # then
    assert neighbour.status_code == 403
    assert own.status_code == 201, own.content
    assert list(Order.objects.filter(window=window).values_list("household_id", flat=True)) == [
        personas.resident_household.pk
    ]


def test_a_residents_package_cannot_be_confirmed_by_another_resident(
    personas: Personas, street: Street, client: Client
) -> None:
    # given: C2's package, left at the door
    package = Package.objects.get(order=street.c2_order)
    Package.objects.filter(pk=package.pk).update(status="left_at_door", contactless=True)
    client.force_login(personas.resident)

    # when
    response = client.post(reverse("supplies:package_confirm", args=[package.pk]))

    # then
    assert response.status_code == 404
    package.refresh_from_db()
    assert package.status == "left_at_door" and package.confirmed_at is None


# --- proxy orders -----------------------------------------------------------------------------------


def test_a_grid_worker_orders_by_proxy_only_for_their_grids_households(personas: Personas, street: Street) -> None:
    # given: an open window in each community
    tree = personas.tree
    c1_window = open_window(street.shop, tree.c1)
    c2_window = open_window(street.other, tree.c2)
    api = Api(personas.grid_worker)
    g1_household = household(personas, tree.b1, "201")
    g2_household = household(personas, tree.b3, "101")  # C1, but grid G2
    c2_household = household(personas, tree.b4, "102")
    assert g1_household.grid_id == tree.g1.pk and g2_household.grid_id == tree.g2.pk

    # when
    own_grid = api.order(c1_window, g1_household)
    other_grid = api.order(c1_window, g2_household)
    other_community = api.order(c2_window, c2_household)
    wrong_window = api.order(c2_window, g1_household)

    # then
    assert own_grid.status_code == 201, own_grid.content
    assert own_grid.json()["is_proxy"] is True
    assert other_grid.status_code == 404, other_grid.content
    assert other_community.status_code == 404, other_community.content
    assert wrong_window.status_code in (404, 422), wrong_window.content
    placed = Order.objects.filter(window__in=[c1_window, c2_window])
    assert list(placed.values_list("household_id", flat=True)) == [g1_household.pk]


def test_the_proxy_page_opens_only_for_the_grid_workers_households(
    personas: Personas, street: Street, client: Client
) -> None:
    # given
    tree = personas.tree
    client.force_login(personas.grid_worker)

    # when
    own = client.get(reverse("supplies:proxy_household", args=[household(personas, tree.b1, "201").pk]))
    other_grid = client.get(reverse("supplies:proxy_household", args=[household(personas, tree.b3, "101").pk]))
    other_community = client.get(reverse("supplies:proxy_household", args=[household(personas, tree.b4, "101").pk]))

    # then
    assert own.status_code == 200
    assert other_grid.status_code == 404 and other_community.status_code == 404
