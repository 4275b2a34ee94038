"""The catalogue, window and schedule pages (S1, S2): what each role sees and may do, scope, refusals."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from linli.accounts.choices import Role
from linli.lib.testing import Personas, make_user
from linli.supplies.choices import WindowStatus
from linli.supplies.models import BundlePart, Item, Offer, OrderWindow, Supplier, WindowSchedule
from linli.supplies.services import catalogue
from linli.supplies.testing import make_item, open_window

pytestmark = pytest.mark.django_db


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def shop() -> Supplier:
    return Supplier.objects.get(name="平价超市")


def local(hours: int) -> str:
    return timezone.localtime(timezone.now() + datetime.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")


def test_the_nav_and_index_show_supplies_to_staff_roles_only(personas: Personas) -> None:
    page = login(personas.community_worker).get("/")
    assert "/supplies/" in page.content.decode()
    index = login(personas.community_worker).get("/supplies/")
    assert index.status_code == 200
    body = index.content.decode()
    assert "/supplies/windows/" in body and "/supplies/stock/" in body
    assert login(personas.gate_guard).get("/supplies/").status_code == 403
    assert login(personas.resident).get("/supplies/").status_code == 403
    grid = login(personas.grid_worker).get("/supplies/").content.decode()
    assert "/supplies/stock/" not in grid  # a grid worker does not run stock
    # Supplier staff land on their supplier's page: today's reports.
    supplier = login(personas.supplier)
    assert supplier.get("/")["Location"] == "/supplies/"
    body = supplier.get("/supplies/").content.decode()
    assert f"/supplies/stock/{shop().pk}/report/" in body and "/supplies/schedules/" in body
    # … and their menu offers no registry page (which would refuse them anyway).
    nav = body.split("<nav>")[1].split("</nav>")[0]
    assert "/supplies/" in nav and "/registry/" not in nav and "/survey/" not in nav and "/org/" not in nav


def test_street_designates_a_supplier_and_links_its_staff(personas: Personas) -> None:
    street = login(personas.street_command)
    response = street.post(
        "/supplies/suppliers/new/",
        {"name": "惠民菜场", "communities": [personas.tree.c2.pk], "contact_phone": "13900000002", "is_active": "on"},
    )
    supplier = Supplier.objects.get(name="惠民菜场")
    assert response.status_code == 302 and response["Location"] == f"/supplies/suppliers/{supplier.pk}/"
    assert list(supplier.communities.all()) == [personas.tree.c2]
    duplicate = street.post("/supplies/suppliers/new/", {"name": "惠民菜场", "is_active": "on"})
    assert duplicate.status_code == 400 and "本街道已有同名商超" in duplicate.content.decode()
    clerk = make_user("clerk", Role.SUPPLIER, None)
    linked = street.post(f"/supplies/suppliers/{supplier.pk}/edit/", {"action": "link", "staff-username": "clerk"})
    assert linked.status_code == 302
    clerk.refresh_from_db()
    assert clerk.supplier_id == supplier.pk
    refused = street.post(f"/supplies/suppliers/{supplier.pk}/edit/", {"action": "link", "staff-username": "grid"})
    assert refused.status_code == 400 and "保供商超" in refused.content.decode()
    # A community worker reads suppliers but neither designates nor changes them.
    worker = login(personas.community_worker)
    assert worker.get(f"/supplies/suppliers/{supplier.pk}/").status_code == 200
    assert worker.get("/supplies/suppliers/new/").status_code == 403
    assert worker.post(f"/supplies/suppliers/{supplier.pk}/edit/", {"s-name": "x"}).status_code == 403
    # The supplier persona sees only its own supplier.
    assert login(personas.supplier).get(f"/supplies/suppliers/{supplier.pk}/").status_code == 404
    listed = login(personas.supplier).get("/supplies/suppliers/").content.decode()
    assert "平价超市" in listed and "惠民菜场" not in listed


def test_supplier_staff_manage_their_catalogue_and_bundles(personas: Personas) -> None:
    client = login(personas.supplier)
    made = client.post(
        f"/supplies/suppliers/{shop().pk}/items/new/",
        {"name": "白菜", "category": "vegetables", "unit": "斤", "price": "3.50", "is_active": "on"},
    )
    assert made.status_code == 302
    cabbage = Item.objects.get(name="白菜")
    bad = client.post(f"/supplies/suppliers/{shop().pk}/items/new/", {"name": "坏", "category": "eggs", "price": "-1"})
    assert bad.status_code == 400 and "金额不能为负数" in bad.content.decode()
    box = client.post(
        f"/supplies/suppliers/{shop().pk}/items/new/",
        {"name": "蔬菜箱", "category": "vegetables", "unit": "箱", "price": "30", "is_bundle": "on", "is_active": "on"},
    )
    bundle = Item.objects.get(name="蔬菜箱")
    assert box["Location"] == f"/supplies/items/{bundle.pk}/"
    parts = client.post(f"/supplies/items/{bundle.pk}/", {"action": "parts", f"part_{cabbage.pk}": "2"})
    assert parts.status_code == 302
    assert BundlePart.objects.get(bundle=bundle).part == cabbage
    detail = client.get(f"/supplies/suppliers/{shop().pk}/").content.decode()
    assert "蔬菜箱" in detail and "白菜 2斤" in detail
    # A community worker reads the item but cannot change it.
    worker = login(personas.community_worker)
    assert worker.get(f"/supplies/items/{bundle.pk}/").status_code == 200
    assert worker.post(f"/supplies/items/{bundle.pk}/", {"action": "item", "name": "x"}).status_code == 403
    other = catalogue.supplier_create(street=personas.tree.street, name="别家")
    foreign = make_item(other, "外家货")
    assert client.get(f"/supplies/items/{foreign.pk}/").status_code == 404
    assert client.post(f"/supplies/suppliers/{other.pk}/items/new/", {"name": "x"}).status_code == 404


def test_the_item_and_supplier_pages_open_filled_in(personas: Personas) -> None:
    """Opening an item or a supplier shows its current values, not an empty form full of "required"."""
    eggs = make_item(shop(), "鸡蛋", price="12.50")
    page = login(personas.supplier).get(f"/supplies/items/{eggs.pk}/")
    body = page.content.decode()
    assert page.status_code == 200
    assert 'value="鸡蛋"' in body and 'value="12.50"' in body and "请填写品名" not in body
    assert 'name="is_active" id="id_is_active" checked' in body
    # A community worker reads the same values in words (no form to edit; no "vegetables" or "True").
    facts = login(personas.community_worker).get(f"/supplies/items/{eggs.pk}/").content.decode()
    assert "<td>鸡蛋</td>" in facts and "<td>12.50</td>" in facts and "<td>蔬菜</td>" in facts
    assert "<td>不限购</td>" in facts and "<td>是</td>" in facts and "True" not in facts and "False" not in facts
    edit = login(personas.street_command).get(f"/supplies/suppliers/{shop().pk}/edit/")
    body = edit.content.decode()
    assert edit.status_code == 200
    assert 'value="平价超市"' in body and "请填写商超名称" not in body
    assert 'name="s-is_active" id="id_s-is_active" checked' in body


def test_community_worker_creates_offers_and_publishes_a_window(personas: Personas) -> None:
    eggs = make_item(shop(), "鸡蛋", price="12")
    worker = login(personas.community_worker)
    response = worker.post(
        "/supplies/windows/new/",
        {
            "supplier": shop().pk,
            "community": "all",
            "opens_at": local(1),
            "cutoff_at": local(10),
            "delivery_on": "2099-01-01",
        },
    )
    window = OrderWindow.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/supplies/windows/{window.pk}/"
    assert window.community == personas.tree.c1 and window.status == WindowStatus.DRAFT
    backwards = worker.post(
        "/supplies/windows/new/",
        {
            "supplier": shop().pk,
            "community": "all",
            "opens_at": local(10),
            "cutoff_at": local(1),
            "delivery_on": "2099-01-01",
        },
    )
    assert backwards.status_code == 400 and "截单时间必须晚于开放时间" in backwards.content.decode()
    url = f"/supplies/windows/{window.pk}/"
    empty = worker.post(url, {"action": "publish"})
    assert empty.status_code == 400 and "还没有上架" in empty.content.decode()
    assert worker.post(url, {"action": "offer", "item": eggs.pk, "quantity": "200"}).status_code == 302
    offer = Offer.objects.get(window=window)
    assert (offer.reserved, offer.buckets) == (20, 4)
    changed = worker.post(
        url, {"action": "quantity", "offer": offer.pk, f"o{offer.pk}-quantity": "250", f"o{offer.pk}-price": "11"}
    )
    assert changed.status_code == 302
    offer.refresh_from_db()
    assert (offer.quantity, str(offer.price)) == (250, "11.00")
    assert worker.post(url, {"action": "publish"}).status_code == 302
    window.refresh_from_db()
    assert window.status == WindowStatus.PUBLISHED
    page = worker.get(url).content.decode()
    assert "230" in page and "鸡蛋" in page  # 250 less the 20 reserved left to sell
    # The supplier reads it; a grid worker may not open window pages; C2's worker does not find it.
    assert login(personas.supplier).get(url).status_code == 200
    assert login(personas.supplier).post(url, {"action": "publish"}).status_code == 403
    assert login(personas.grid_worker).get(url).status_code == 403
    assert login(personas.outsider).get(url).status_code == 404
    assert login(personas.outsider).post(url, {"action": "offer", "item": eggs.pk, "quantity": "1"}).status_code == 404


def test_c1_staff_do_not_see_c2_windows_in_the_list(personas: Personas) -> None:
    other = catalogue.supplier_create(street=personas.tree.street, name="团结超市", communities=[personas.tree.c2])
    c2_window = open_window(other, personas.tree.c2, items={"大米": 10})
    c1_window = open_window(shop(), personas.tree.c1, items={"鸡蛋": 10})
    body = login(personas.community_worker).get("/supplies/windows/").content.decode()
    assert f"/supplies/windows/{c1_window.pk}/" in body and f"/supplies/windows/{c2_window.pk}/" not in body
    assert login(personas.community_worker).get(f"/supplies/windows/{c2_window.pk}/").status_code == 404


def test_schedules_page_creates_and_generates_windows_once(personas: Personas) -> None:
    worker = login(personas.community_worker)
    response = worker.post(
        "/supplies/schedules/",
        {
            "action": "create",
            "supplier": shop().pk,
            "community": personas.tree.c1.pk,
            "order_weekdays": ["1", "5"],
            "opens_time": "08:00",
            "cutoff_time": "20:00",
            "delivery_after_days": "1",
        },
    )
    assert response.status_code == 302
    schedule = WindowSchedule.objects.get()
    assert schedule.order_weekdays == [1, 5]
    assert worker.post("/supplies/schedules/", {"action": "generate", "schedule": schedule.pk}).status_code == 302
    made = OrderWindow.objects.filter(schedule=schedule).count()
    assert made >= 3
    worker.post("/supplies/schedules/", {"action": "generate", "schedule": schedule.pk})
    assert OrderWindow.objects.filter(schedule=schedule).count() == made
    assert "周一、周五" in worker.get("/supplies/schedules/").content.decode()
    outsider = login(personas.outsider)
    assert outsider.post("/supplies/schedules/", {"action": "generate", "schedule": schedule.pk}).status_code == 404
    bad = worker.post(
        "/supplies/schedules/",
        {"action": "create", "supplier": shop().pk, "community": personas.tree.c1.pk, "delivery_after_days": "1"},
    )
    assert bad.status_code == 400 and "请选择下单日" in bad.content.decode()


def test_the_back_office_lists_supplies_records_in_scope_and_read_only(personas: Personas) -> None:
    other = catalogue.supplier_create(street=personas.tree.street, name="团结超市", communities=[personas.tree.c2])
    c2_window = open_window(other, personas.tree.c2, items={"大米": 10})
    OrderWindow.objects.filter(pk=c2_window.pk).update(title="团结社区窗口")
    c1_window = open_window(shop(), personas.tree.c1, items={"鸡蛋": 10})
    OrderWindow.objects.filter(pk=c1_window.pk).update(title="幸福社区窗口")
    worker = login(personas.community_worker)
    listed = worker.get("/admin/supplies/orderwindow/")
    assert listed.status_code == 200
    assert "幸福社区窗口" in listed.content.decode() and "团结社区窗口" not in listed.content.decode()
    assert worker.get(f"/admin/supplies/orderwindow/{c2_window.pk}/change/").status_code in (302, 403, 404)
    assert worker.post(f"/admin/supplies/orderwindow/{c1_window.pk}/change/", {"title": "改"}).status_code == 403
    assert login(personas.supplier).get("/admin/supplies/orderwindow/").status_code in (302, 403)
    street = login(personas.street_command)
    assert street.get(f"/admin/supplies/supplier/{other.pk}/change/").status_code == 200


def test_a_window_whose_cut_off_has_passed_is_refused_with_the_reason(personas: Personas) -> None:
    """Typed yesterday's date: the form answers under 截单时间 why, and no dead draft is left behind."""
    worker = login(personas.community_worker)
    # given / when: opening and cut-off both already past
    refused = worker.post(
        "/supplies/windows/new/",
        {
            "supplier": shop().pk,
            "community": "all",
            "opens_at": local(-30),
            "cutoff_at": local(-20),
            "delivery_on": timezone.localdate().isoformat(),
        },
    )
    # then
    body = refused.content.decode()
    assert refused.status_code == 400
    assert "截单时间（" in body and "）已过，窗口将无法发布：请把截单时间设在现在之后" in body
    assert not OrderWindow.objects.exists()


def test_a_per_household_limit_past_its_column_is_refused_with_a_message(personas: Personas) -> None:
    # given supplier staff on the new item form
    client = login(personas.supplier)
    fields = {"name": "大米", "category": "rice", "unit": "袋", "price": "30", "is_active": "on"}
    # when the limit is past what the column holds (a smallint; the model refused it with Django's generic text)
    refused = client.post(f"/supplies/suppliers/{shop().pk}/items/new/", {**fields, "per_household_limit": "40000"})
    # then the form says so and nothing is stored; at the column's largest value it is stored
    assert refused.status_code == 400 and "数量过大" in refused.content.decode()
    assert not Item.objects.filter(name="大米").exists()
    made = client.post(f"/supplies/suppliers/{shop().pk}/items/new/", {**fields, "per_household_limit": "32767"})
    assert made.status_code == 302 and Item.objects.get(name="大米").per_household_limit == 32767
