"""Stock and days of cover (S8), price reports (S9), staff checks (S10) and the street's settings."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from linli.lib.testing import Personas
from linli.supplies.choices import OrderStatus, StaffCheckKind
from linli.supplies.models import (
    BundlePart,
    Item,
    Offer,
    Order,
    OrderLine,
    StockReport,
    Supplier,
    household_kwargs,
)
from linli.supplies.services import stock
from linli.supplies.testing import open_window

pytestmark = pytest.mark.django_db


def at(day: int, hour: int = 9, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime(2026, 11, day, hour, minute))


def shop(personas: Personas) -> Supplier:
    return Supplier.objects.get(name="平价超市")


def order(
    personas: Personas, offer: Offer, quantity: int, *, status: str = OrderStatus.PLACED, room: str = "101"
) -> Any:
    household = personas.tree.households[f"{personas.tree.b1.code}/1单元/{room}"]
    placed = Order.objects.create(
        window=offer.window,
        supplier_id=offer.window.supplier_id,
        total=offer.price * quantity,
        status=status,
        **household_kwargs(household),
    )
    OrderLine.objects.create(order=placed, offer=offer, quantity=quantity, price=offer.price, amount=placed.total)
    return placed


def test_stock_is_reported_once_a_day_and_the_item_follows_the_latest_day(personas: Personas) -> None:
    item = Item.objects.create(supplier=shop(personas), name="鸡蛋", category="eggs", price=Decimal("12"))
    stock.stock_report(item=item, quantity=100, actor=personas.supplier, now=at(5))
    stock.stock_report(item=item, quantity=90, actor=personas.supplier, now=at(5, 18))  # a correction
    assert StockReport.objects.filter(item=item).count() == 1
    item.refresh_from_db()
    assert item.stock == 90
    stock.stock_report(item=item, quantity=70, now=at(6))
    stock.stock_report(item=item, quantity=95, date=datetime.date(2026, 11, 5), now=at(6))  # back-dated fix
    item.refresh_from_db()
    assert item.stock == 70
    with pytest.raises(ValidationError, match="整数"):
        stock.stock_report(item=item, quantity=-1, now=at(6))
    with pytest.raises(ValidationError, match="未来"):
        stock.stock_report(item=item, quantity=1, date=datetime.date(2026, 11, 9), now=at(6))


def test_days_of_cover_come_from_recent_live_orders_and_flag_under_seven_days(personas: Personas) -> None:
    now = timezone.now()
    window = open_window(shop(personas), personas.tree.c1, items={"鸡蛋": 500, "大米": 500}, now=now)
    eggs = Offer.objects.get(window=window, name="鸡蛋")
    rice = Offer.objects.get(window=window, name="大米")
    order(personas, eggs, 21)
    order(personas, eggs, 7, room="102")
    order(personas, eggs, 50, status=OrderStatus.CANCELLED, room="201")  # cancelled: no demand
    Item.objects.filter(pk=eggs.item_id).update(stock=20)
    Item.objects.filter(pk=rice.item_id).update(stock=5)
    now = timezone.now()  # after the orders
    covers = {c.item.name: c for c in stock.days_of_cover(shop(personas), now=now)}
    egg = covers["鸡蛋"]
    # 28 units over the 7 demand days: 4 a day; 20 on hand cover 5 days.
    assert (egg.demand, egg.daily, egg.days, egg.flagged, egg.forecast) == (
        28,
        Decimal("4.00"),
        Decimal("5.0"),
        True,
        28,
    )
    assert egg.runs_out_on == timezone.localdate(now) + datetime.timedelta(days=5)
    assert covers["大米"].days is None and not covers["大米"].flagged  # no demand: nothing runs out
    Item.objects.filter(pk=eggs.item_id).update(stock=40)
    egg = {c.item.name: c for c in stock.days_of_cover(shop(personas), now=now)}["鸡蛋"]
    assert egg.days == Decimal("10.0") and not egg.flagged
    stock.settings_update(personas.tree.street, min_cover_days=14, actor=personas.street_command)
    egg = {c.item.name: c for c in stock.days_of_cover(shop(personas), now=now)}["鸡蛋"]
    assert egg.flagged and egg.forecast == 56
    assert stock.street_flags([shop(personas)], now=now)[shop(personas).pk]["low"] == 1


def test_a_bundle_sold_counts_as_demand_for_its_parts(personas: Personas) -> None:
    # given: a vegetable box holding 2 斤 of cabbage and 0.5 斤 of carrots; cabbage also sold alone
    now = timezone.now()
    window = open_window(shop(personas), personas.tree.c1, items={"标准蔬菜包": 500, "大白菜": 500}, now=now)
    box, cabbage_offer = (
        Offer.objects.get(window=window, name="标准蔬菜包"),
        Offer.objects.get(window=window, name="大白菜"),
    )
    cabbage = cabbage_offer.item
    carrot = Item.objects.create(supplier=shop(personas), name="胡萝卜", category="vegetables", price=Decimal("3"))
    BundlePart.objects.create(bundle=box.item, part=cabbage, quantity=Decimal("2"))
    BundlePart.objects.create(bundle=box.item, part=carrot, quantity=Decimal("0.5"))

    # when: 3 boxes and 4 斤 of cabbage are ordered
    order(personas, box, 3)
    order(personas, cabbage_offer, 4, room="102")
    demand = {c.item.name: c.demand for c in stock.days_of_cover(shop(personas), now=timezone.now())}

    # then: cabbage 4 + 3 × 2, carrots 3 × 0.5 rounded up; the box itself 3
    assert (demand["大白菜"], demand["胡萝卜"], demand["标准蔬菜包"]) == (10, 2, 3)


def test_price_reports_are_late_after_three_and_rises_beyond_the_threshold_are_flagged(personas: Personas) -> None:
    item = Item.objects.create(supplier=shop(personas), name="猪肉", category="pork", price=Decimal("20"))
    first = stock.price_report(item=item, price="20", actor=personas.supplier, now=at(5, 14, 59))
    assert not first.is_late and not first.is_abnormal and first.previous_price is None
    rise = stock.price_report(item=item, price="22.00", now=at(6, 15, 30))
    assert rise.is_late and not rise.is_abnormal and rise.previous_price == Decimal("20.00")  # +10% is the limit
    jump = stock.price_report(item=item, price="25", now=at(7, 10))
    assert jump.is_abnormal and not jump.is_late
    corrected = stock.price_report(item=item, price="24.10", now=at(7, 16))  # same day: compared with the 6th
    assert not corrected.is_abnormal and not corrected.is_late
    item.refresh_from_db()
    assert item.price == Decimal("24.10")
    status = stock.price_status(shop(personas), now=at(8, 16))
    assert status["overdue"] and [i.name for i in status["missing"]] == ["猪肉"]
    with pytest.raises(ValidationError, match="价格"):
        stock.price_report(item=item, price="abc", now=at(8))


def test_staff_checks_flag_fever_and_positives_and_the_checklist_shows_overdue(personas: Personas) -> None:
    supplier = shop(personas)
    hot = stock.staff_check_record(
        supplier=supplier, kind=StaffCheckKind.TEMPERATURE, staff_name="张三", temperature="37.3", now=at(5, 9)
    )
    assert hot.is_abnormal
    cool = stock.staff_check_record(
        supplier=supplier, kind=StaffCheckKind.TEMPERATURE, staff_name="李四", temperature="36.5", now=at(5, 10)
    )
    assert not cool.is_abnormal
    stock.staff_check_record(
        supplier=supplier, kind=StaffCheckKind.TEST, staff_name="李四", result="negative", now=at(5, 8)
    )
    stock.staff_check_record(supplier=supplier, kind=StaffCheckKind.DISINFECTION, staff_name="仓库", now=at(5, 9))
    with pytest.raises(ValidationError, match="34"):
        stock.staff_check_record(
            supplier=supplier, kind=StaffCheckKind.TEMPERATURE, staff_name="王五", temperature="50", now=at(5)
        )
    with pytest.raises(ValidationError, match="检测结果"):
        stock.staff_check_record(supplier=supplier, kind=StaffCheckKind.TEST, staff_name="王五", result="", now=at(5))
    checklist = stock.staff_checklist(supplier, now=at(5, 11, 30))
    rows = {row.name: row for row in checklist.staff}
    assert not rows["李四"].temperature_overdue and rows["李四"].test_today is not None
    assert rows["张三"].temperature_overdue and rows["张三"].test_today is None and rows["张三"].abnormal
    assert "商超" in rows  # the supplier's own account is on the list, with nothing logged yet
    assert checklist.disinfection_overdue and not checklist.all_done
    assert stock.staff_checklist(supplier, now=at(5, 10, 30)).disinfection_overdue is False


def test_settings_are_created_with_defaults_and_checked_on_change(personas: Personas) -> None:
    found = stock.settings_for(personas.tree.street)
    assert (found.min_cover_days, found.price_report_by, found.staff_check_hours) == (7, datetime.time(15), 2)
    with pytest.raises(ValidationError):
        stock.settings_update(personas.tree.street, staff_check_hours=0)
    with pytest.raises(ValidationError, match="不能修改"):
        stock.settings_update(personas.tree.street, updated_at=None)
    stock.settings_update(personas.tree.street, price_rise_percent=Decimal("5"))
    assert stock.settings_for(personas.tree.street).price_rise_percent == Decimal("5.0")
