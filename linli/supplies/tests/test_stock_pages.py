"""The stock dashboard, daily stock and price forms, staff checks and the supplies settings (S8–S10)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from linli.lib.testing import Personas
from linli.supplies.models import Item, PriceReport, StaffCheck, StockReport, Supplier, SupplySettings
from linli.supplies.services import catalogue, stock
from linli.supplies.testing import make_item

pytestmark = pytest.mark.django_db


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def shop() -> Supplier:
    return Supplier.objects.get(name="平价超市")


def test_supplier_staff_report_stock_and_prices_for_their_own_supplier(personas: Personas) -> None:
    eggs = make_item(shop(), "鸡蛋", price="12")
    pork = make_item(shop(), "猪肉", price="20", category="pork")
    client = login(personas.supplier)
    url = f"/supplies/stock/{shop().pk}/report/"
    assert client.post(url, {f"item_{eggs.pk}": "80"}).status_code == 302
    assert StockReport.objects.get(item=eggs).quantity == 80 and Item.objects.get(pk=eggs.pk).stock == 80
    nothing = client.post(url, {})
    assert nothing.status_code == 400 and "请至少填写一项" in nothing.content.decode()
    negative = client.post(url, {f"item_{eggs.pk}": "-3"})
    assert negative.status_code == 400 and "库存不能为负数" in negative.content.decode()
    prices = f"/supplies/stock/{shop().pk}/prices/"
    PriceReport.objects.create(
        supplier=shop(), item=pork, date=stock.timezone.localdate() - stock.datetime.timedelta(days=1), price=20
    )
    response = client.post(prices, {f"item_{pork.pk}": "30", f"item_{eggs.pk}": "12"}, follow=True)
    body = response.content.decode()
    assert "价格涨幅超过阈值" in body and "猪肉" in body
    assert PriceReport.objects.get(item=pork, date=stock.timezone.localdate()).is_abnormal
    # Another supplier's forms are not found; a community worker reads but may not report.
    other = catalogue.supplier_create(street=personas.tree.street, name="别家")
    assert client.get(f"/supplies/stock/{other.pk}/report/").status_code == 404
    worker = login(personas.community_worker)
    assert worker.get(url).status_code == 200
    assert worker.post(url, {f"item_{eggs.pk}": "1"}).status_code == 403
    assert login(personas.resident).get(url).status_code == 403
    assert login(personas.grid_worker).get(url).status_code == 403


def test_dashboard_shows_days_of_cover_bars_and_flags(personas: Personas) -> None:
    make_item(shop(), "大米", price="50", category="rice", stock=10)
    PriceReport.objects.create(
        supplier=shop(),
        item=Item.objects.get(name="大米"),
        date=stock.timezone.localdate(),
        price=Decimal("60"),
        is_abnormal=True,
    )
    page = login(personas.street_command).get("/supplies/stock/")
    body = page.content.decode()
    assert page.status_code == 200
    assert "平价超市" in body and "大米" in body and "无需求" in body and "1 项价格异常" in body
    assert 'class="track"' in body
    assert login(personas.supplier).get("/supplies/stock/").status_code == 200
    assert login(personas.grid_worker).get("/supplies/stock/").status_code == 403


def test_an_item_with_no_stock_shows_an_empty_bar_even_with_no_demand(personas: Personas) -> None:
    import re

    make_item(shop(), "大米", price="50", category="rice", stock=10)
    make_item(shop(), "土豆", price="3", category="vegetables", stock=0)
    body = login(personas.street_command).get("/supplies/stock/").content.decode()
    widths = {
        name: int(width)
        for name, width in re.findall(r'<td class="lead">(\S+) .*?style="width: (\d+)%"', body, re.DOTALL)
    }
    # neither is ordered: the rice that is there covers it; the potatoes that are not, do not
    assert widths == {"大米": 100, "土豆": 0}


def test_staff_checks_page_logs_and_flags_a_fever(personas: Personas) -> None:
    client = login(personas.supplier)
    url = f"/supplies/stock/{shop().pk}/checks/"
    response = client.post(url, {"kind": "temperature", "staff_name": "张三", "temperature": "37.5"}, follow=True)
    assert "异常" in response.content.decode()
    assert StaffCheck.objects.get().is_abnormal
    bad = client.post(url, {"kind": "temperature", "staff_name": "张三", "temperature": ""})
    assert bad.status_code == 400 and "请填写体温" in bad.content.decode()
    client.post(url, {"kind": "test", "staff_name": "张三", "result": "negative"})
    page = client.get(url).content.decode()
    assert "阴性" in page and "已超时" in page  # no disinfection logged yet
    assert login(personas.community_worker).post(url, {"kind": "disinfection", "staff_name": "仓库"}).status_code == 403
    assert login(personas.outsider).get(url).status_code == 200  # the street's suppliers are read by every community


def test_only_the_street_command_changes_the_settings(personas: Personas) -> None:
    street = login(personas.street_command)
    data = {
        "min_cover_days": "10",
        "demand_days": "7",
        "price_report_by": "15:00",
        "price_rise_percent": "8",
        "staff_check_hours": "2",
        "sealed_reserve_percent": "10",
    }
    assert street.post("/supplies/settings/", data).status_code == 302
    assert SupplySettings.objects.get().min_cover_days == 10
    bad = street.post("/supplies/settings/", {**data, "staff_check_hours": "0"})
    assert bad.status_code == 400
    worker = login(personas.community_worker)
    assert worker.get("/supplies/settings/").status_code == 200
    assert worker.post("/supplies/settings/", data).status_code == 403
