"""The demo street's supplies (``make run``): suppliers and a catalogue, a past round delivered in part,
a round open now with proxy orders and a sealed household's contactless order — all through the services."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from linli.accounts.choices import Role
from linli.accounts.models import User
from linli.health.models import SealedHousehold
from linli.lib import scope
from linli.lib.testing import shared_rows
from linli.registry.demo import SeedResult, seed_demo
from linli.supplies import selectors
from linli.supplies.choices import DELIVERED_STATES, Category, PackageStatus, Priority, WindowStatus
from linli.supplies.models import (
    BundlePart,
    DeliveryRun,
    Item,
    Order,
    OrderWindow,
    Package,
    Payment,
    PriceReport,
    PurchaseOrder,
    StockReport,
    Supplier,
    SupplyNotice,
)

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(datetime.datetime(2026, 11, 20, 16, 30))
TODAY = NOW.date()


@pytest.fixture(scope="class")
def seeded(django_db_setup: None, django_db_blocker: Any) -> Iterator[SeedResult]:
    """The demo street, seeded once for the class, rolled back after it (each test's own writes sooner)."""
    yield from shared_rows(django_db_blocker, lambda: seed_demo(households=120, seed=7, now=NOW))


def account(role: str) -> User:
    return User.objects.get(role=role, is_superuser=False)


class TestTheSeededStreet:
    """One demo street, seeded once for these read-only tests (see the seeded fixture)."""

    def test_suppliers_serve_the_street_and_the_demo_supplier_works_for_one(self, seeded: SeedResult) -> None:
        main = Supplier.objects.get(name="和平平价超市")
        assert Supplier.objects.filter(street=seeded.street).count() == 2
        assert main.communities.count() == 2  # every community of the demo street
        supplier_account = account(Role.SUPPLIER)
        assert supplier_account.supplier_id == main.pk
        # Their account sees their own supermarket's windows and nothing of the other's.
        assert scope.visible(OrderWindow.objects.all(), supplier_account).count() == 2
        assert not scope.visible(Item.objects.exclude(supplier=main), supplier_account).exists()

    def test_the_catalogue_holds_every_kind_of_goods_and_a_vegetable_box(self, seeded: SeedResult) -> None:
        main = Supplier.objects.get(name="和平平价超市")
        categories = set(Item.objects.filter(supplier=main).values_list("category", flat=True))
        wanted = {Category.VEGETABLES, Category.EGGS, Category.PORK, Category.RICE, Category.FLOUR, Category.OIL}
        assert wanted | {Category.SALT, Category.MEDICINE} <= categories
        box = Item.objects.get(supplier=main, name="标准蔬菜包")
        assert box.is_bundle and BundlePart.objects.filter(bundle=box).count() == 3
        assert StockReport.objects.filter(date=TODAY, supplier=main).count() == 8
        assert PriceReport.objects.filter(date=TODAY, supplier=main).count() == 8
        abnormal = PriceReport.objects.filter(date=TODAY, is_abnormal=True).select_related("item")
        assert [report.item.name for report in abnormal] == ["猪肉（前腿）"]

    def test_one_window_is_open_now_with_proxy_orders_and_a_sealed_households_order(self, seeded: SeedResult) -> None:
        resident = seeded.resident
        assert resident is not None and resident.household is not None
        open_now = list(selectors.open_windows(resident.household, now=NOW))
        assert len(open_now) == 1
        window = open_now[0]
        orders = Order.objects.filter(window=window)
        assert orders.count() >= 3
        workers = {account(Role.GRID_WORKER).pk, account(Role.COMMUNITY_WORKER).pk}
        assert all(order.is_proxy and order.placed_by_id in workers for order in orders)
        assert orders.filter(placed_by=account(Role.GRID_WORKER)).exists()
        sealed_ids = set(SealedHousehold.objects.filter(active=True).values_list("household_id", flat=True))
        sealed_orders = [order for order in orders if order.household_id in sealed_ids]
        assert sealed_orders and all(order.priority == Priority.SEALED for order in sealed_orders)
        # The demo resident is free to try ordering.
        assert not orders.filter(household=resident.household).exists()
        eggs = window.offers.get(name="鸡蛋")
        assert eggs.quantity == 40 and eggs.reserved > 0

    def test_last_round_is_aggregated_short_of_pork_and_partly_delivered(self, seeded: SeedResult) -> None:
        window = OrderWindow.objects.get(status=WindowStatus.AGGREGATED)
        assert window.delivery_on == TODAY - datetime.timedelta(days=1)
        purchase = PurchaseOrder.objects.get(window=window)
        packages = Package.objects.filter(window=window)
        assert packages.count() == purchase.orders == Order.objects.filter(window=window).count()
        statuses = list(packages.values_list("status", flat=True))
        assert any(status in DELIVERED_STATES for status in statuses)
        assert PackageStatus.OUT in statuses  # partly delivered
        door = packages.filter(status=PackageStatus.LEFT_AT_DOOR)
        assert door.exists() and all(package.contactless for package in door)
        assert SupplyNotice.objects.filter(order__window=window).exists()  # the pork shortfall was told
        assert Order.objects.filter(window=window, lines__short__gt=0).exists()
        assert Payment.objects.filter(order__window=window).exists()

    def test_last_round_reads_in_order_ordered_aggregated_short_paid_delivered(self, seeded: SeedResult) -> None:
        """PO-1's page showed 汇总时间 today (the wall clock) under 商超确认 two days ago: the shortfall
        came before the aggregation that made it. Every step of the round now follows the one before."""
        window = OrderWindow.objects.get(status=WindowStatus.AGGREGATED)
        purchase = PurchaseOrder.objects.get(window=window)
        orders = Order.objects.filter(window=window)
        assert all(window.opens_at <= order.created_at < window.cutoff_at for order in orders)
        assert window.cutoff_at < purchase.created_at == window.aggregated_at
        assert purchase.confirmed_at is not None and purchase.created_at < purchase.confirmed_at
        notices = SupplyNotice.objects.filter(order__window=window)
        assert {notice.created_at for notice in notices} == {purchase.confirmed_at}
        packages = Package.objects.filter(window=window)
        first_handover = min(p.handed_over_at for p in packages if p.handed_over_at is not None)
        runs = DeliveryRun.objects.filter(window=window)
        assert all(purchase.confirmed_at < run.created_at < first_handover for run in runs)
        payments = Payment.objects.filter(order__window=window)
        assert all(purchase.confirmed_at < payment.collected_at < NOW for payment in payments)
        assert first_handover < NOW

    def test_the_demo_resident_has_a_delivered_order_from_last_round(self, seeded: SeedResult) -> None:
        resident = seeded.resident
        assert resident is not None
        assert resident.household is not None
        order = Order.objects.get(household=resident.household)
        assert not order.is_proxy and order.placed_by_id == resident.pk
        assert Package.objects.get(order=order).status == PackageStatus.HANDED_OVER


def test_without_health_there_is_no_supplies_demo(db: None) -> None:
    seed_demo(households=30, seed=7, now=NOW, health=False)
    assert not Supplier.objects.exists()


def test_the_demo_accounts_pages_work_on_the_demo_data(db: None, client: Client) -> None:
    seeded = seed_demo(households=120, seed=7)  # now: the pages read the real clock
    resident = seeded.resident
    assert resident is not None
    client.force_login(resident)
    page = client.get(reverse("supplies:me")).content.decode()
    assert "本期订购" in page and "提交订单" in page  # the open round, free to order
    assert "已当面交付" in page  # last round's bag
    sealed = SealedHousehold.objects.filter(active=True).order_by("pk").first()
    assert sealed is not None
    worker = account(Role.COMMUNITY_WORKER)
    client.force_login(worker)
    page = client.get(reverse("supplies:proxy_household", args=[sealed.household_id])).content.decode()
    assert "封控户：送货上门" in page
    client.force_login(account(Role.GRID_WORKER))
    assert "我代下的订单" in client.get(reverse("supplies:proxy")).content.decode()
