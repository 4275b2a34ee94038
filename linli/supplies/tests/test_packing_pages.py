"""Packing pages and API (S4/S5): aggregate now, purchase order list and detail, shortfall form, downloads —
and the refusals: wrong role 403, another community or supplier 404, bad input 422."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from pypdf import PdfReader
from python_calamine import CalamineWorkbook

from linli.accounts.choices import Role
from linli.audit.models import AuditEvent
from linli.lib.testing import make_user
from linli.supplies.models import (
    Order,
    OrderLine,
    OrderWindow,
    Package,
    PurchaseLine,
    PurchaseOrder,
    Supplier,
    SupplyNotice,
)
from linli.supplies.picklist import pick_list
from linli.supplies.services.aggregation import aggregate
from linli.supplies.tests.test_aggregation import Scene, b, place, scene

__all__ = ["scene"]

pytestmark = pytest.mark.django_db
API = "/api/v1/supplies"


def _orders(scene: Scene) -> None:
    place(scene.window, b(scene, "b1", "101"), {scene.veg: 2, scene.eggs: 1})
    place(scene.window, b(scene, "b2", "101"), {scene.veg: 3})


def _past_cutoff(scene: Scene) -> None:
    """Move the window's cut-off into the past (the pages use the real clock)."""
    OrderWindow.objects.filter(pk=scene.window.pk).update(
        opens_at=scene.window.opens_at.replace(year=2025), cutoff_at=scene.window.cutoff_at.replace(year=2025)
    )


def _future_cutoff(scene: Scene) -> None:
    OrderWindow.objects.filter(pk=scene.window.pk).update(cutoff_at=scene.window.cutoff_at.replace(year=2099))


def _aggregated(scene: Scene) -> PurchaseOrder:
    _orders(scene)
    return aggregate(scene.window, actor=scene.personas.community_worker, now=scene.after)


def other_supplier(scene: Scene) -> Any:
    shop = Supplier.objects.create(street=scene.personas.tree.street, name="另一家超市")
    return make_user("other-shop", Role.SUPPLIER, None, supplier=shop, supplier_name=shop.name)


# ----------------------------------------------------------------------------------------------
# Pages


def test_worker_aggregates_a_window_past_cutoff_from_the_list(scene: Scene, client_for: Any) -> None:
    _orders(scene)
    _past_cutoff(scene)
    client = client_for(scene.personas.community_worker)
    page = client.get(reverse("supplies:purchase_list"))
    assert page.status_code == 200 and "立即汇总" in page.content.decode()
    answer = client.post(reverse("supplies:window_aggregate", args=[scene.window.pk]))
    purchase = PurchaseOrder.objects.get(window=scene.window)
    assert answer.status_code == 302 and answer["Location"] == reverse("supplies:purchase_detail", args=[purchase.pk])
    assert Package.objects.count() == 2
    again = client.post(reverse("supplies:window_aggregate", args=[scene.window.pk]))  # idempotent
    assert again.status_code == 302 and PurchaseOrder.objects.count() == 1


def test_aggregating_says_the_total_in_yuan_and_fen(scene: Scene, client_for: Any) -> None:
    # given: two orders in a window past its cut-off
    _orders(scene)
    _past_cutoff(scene)
    total = sum(order.total for order in Order.objects.filter(window=scene.window))

    # when: the community worker taps 立即汇总
    client = client_for(scene.personas.community_worker)
    answer = client.post(reverse("supplies:window_aggregate", args=[scene.window.pk]), follow=True)

    # then: the message gives the amount as money (on SQLite it said "64.0000000000000 元")
    assert f"已汇总：2 个订单，{total:.2f} 元。" in answer.content.decode()
    assert AuditEvent.objects.filter(changes__total=f"{total:.2f}").exists()


def test_aggregate_before_cutoff_shows_the_refusal(scene: Scene, client_for: Any) -> None:
    _orders(scene)
    _future_cutoff(scene)
    client = client_for(scene.personas.community_worker)
    answer = client.post(reverse("supplies:window_aggregate", args=[scene.window.pk]), follow=True)
    assert "截单时间" in answer.content.decode() and not PurchaseOrder.objects.exists()


def test_aggregate_refusals(scene: Scene, client_for: Any) -> None:
    _orders(scene)
    _past_cutoff(scene)
    url = reverse("supplies:window_aggregate", args=[scene.window.pk])
    assert client_for(scene.personas.grid_worker).post(url).status_code == 403
    assert client_for(scene.personas.supplier).post(url).status_code == 403  # suppliers do not aggregate
    assert client_for(scene.personas.outsider).post(url).status_code == 404  # C2's worker
    assert client_for(scene.personas.community_worker).get(url).status_code == 405
    assert not PurchaseOrder.objects.exists()


def test_purchase_detail_shows_totals_and_the_supplier_enters_a_shortfall(scene: Scene, client_for: Any) -> None:
    purchase = _aggregated(scene)
    client = client_for(scene.personas.supplier)
    url = reverse("supplies:purchase_detail", args=[purchase.pk])
    page = client.get(url)
    body = page.content.decode()
    assert page.status_code == 200
    for expected in ("标准蔬菜包", "1号楼投放点", "北门投放点", "缺货分配", "打印包裹标签"):
        assert expected in body
    answer = client.post(
        reverse("supplies:purchase_shortfall", args=[purchase.pk]),
        {f"offer_{scene.veg.pk}": 3, f"offer_{scene.eggs.pk}": 1},
    )
    assert answer.status_code == 302
    # 2 + 3 ordered, 3 available: the level is 1 each and the odd unit goes to the earlier order, so the
    # first household gets its 2 and the second 1 of 3 — only the second is told
    assert sum(OrderLine.objects.values_list("short", flat=True)) == 2
    assert SupplyNotice.objects.count() == 1


def test_after_a_shortfall_the_purchase_shows_per_point_what_is_packed_and_charged(
    scene: Scene, client_for: Any
) -> None:
    """The supplier packs and charges from this page: each point's line says what is to be delivered
    (as the pick list and the labels do), with what was ordered struck through beside it."""
    # given: 2 + 3 vegetable boxes (10.50 each) at two points and one box of eggs (11.50); 3 boxes available
    purchase = _aggregated(scene)
    client = client_for(scene.personas.supplier)
    answer = client.post(
        reverse("supplies:purchase_shortfall", args=[purchase.pk]),
        {f"offer_{scene.veg.pk}": 3, f"offer_{scene.eggs.pk}": 1},
    )
    assert answer.status_code == 302
    short = PurchaseLine.objects.select_related("drop_off").get(purchase=purchase, short__gt=0)
    assert (short.offer_id, short.quantity, short.short, short.amount) == (scene.veg.pk, 3, 2, Decimal("31.50"))
    # when
    body = client.get(reverse("supplies:purchase_detail", args=[purchase.pk])).content.decode()
    listing = client.get(reverse("supplies:purchase_list")).content.decode()
    api = client.get(f"{API}/purchases/{purchase.pk}").json()
    # then: the short point's line is 1 box, 10.50 (31.50 struck through); the others as ordered
    table = re.sub(r"\s+", " ", body.split('id="purchase-lines"')[1].split("</table>")[0])
    rows = [[re.sub(r"<[^>]+>", "", cell).strip() for cell in row.split("</td>")[:-1]] for row in table.split("<tr>")]
    point = short.drop_off.name  # type: ignore[union-attr]
    assert ["标准蔬菜包 /份", point, "3", "2", "1", "10.50 原订 31.50"] in rows
    assert "<s>31.50</s>" in table
    assert sum("原订" in cell for row in rows for cell in row) == 1  # lines not short read as ordered
    # the purchase's amount: 64.00 ordered, 43.00 to deliver and be paid — on the page and the list
    assert re.search(r"应配 43\.00 <span class=\"muted\">原订 <s>64\.00</s>", body)
    assert re.search(r"43\.00 <span class=\"muted\">原订 <s>64\.00</s>", listing)
    # the API says the same, and all agree with the pick list
    assert (api["total"], api["packed_total"]) == ("64.00", "43.00")
    line = next(x for x in api["lines"] if x["short"])
    assert (line["quantity"], line["packed"], line["amount"], line["packed_amount"]) == (3, 1, "31.50", "10.50")
    picked = {s.drop_off_id: s.amount for s in pick_list(purchase).sections}
    assert picked[short.drop_off_id] == Decimal("10.50")
    assert (
        sum(picked.values())
        == Decimal("43.00")
        == sum(Package.objects.filter(window=scene.window).values_list("amount", flat=True), Decimal("0"))
    )


def test_shortfall_form_rejects_more_than_ordered(scene: Scene, client_for: Any) -> None:
    purchase = _aggregated(scene)
    answer = client_for(scene.personas.community_worker).post(
        reverse("supplies:purchase_shortfall", args=[purchase.pk]), {f"offer_{scene.veg.pk}": 99}
    )
    assert answer.status_code == 422
    assert not OrderLine.objects.filter(short__gt=0).exists()


def test_purchase_pages_are_out_of_scope_for_others(scene: Scene, client_for: Any) -> None:
    purchase = _aggregated(scene)
    detail = reverse("supplies:purchase_detail", args=[purchase.pk])
    shortfall = reverse("supplies:purchase_shortfall", args=[purchase.pk])
    assert client_for(scene.personas.outsider).get(detail).status_code == 404
    assert client_for(other_supplier(scene)).get(detail).status_code == 404
    assert client_for(scene.personas.resident).get(detail).status_code == 403
    assert client_for(scene.personas.grid_worker).get(detail).status_code == 403
    assert client_for(scene.personas.outsider).post(shortfall, {f"offer_{scene.veg.pk}": 0}).status_code == 404
    listing = client_for(scene.personas.outsider).get(reverse("supplies:purchase_list"))
    assert listing.status_code == 200 and str(purchase) not in listing.content.decode()
    assert not OrderLine.objects.filter(short__gt=0).exists()


def test_downloads(scene: Scene, client_for: Any) -> None:
    purchase = _aggregated(scene)
    client = client_for(scene.personas.supplier)
    pdf = client.get(reverse("supplies:purchase_picklist_pdf", args=[purchase.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    one = client.get(reverse("supplies:purchase_picklist_pdf", args=[purchase.pk]) + f"?drop_off={scene.b1_point.pk}")
    assert len(PdfReader(io.BytesIO(one.content)).pages) == 1
    xlsx = client.get(reverse("supplies:purchase_picklist_xlsx", args=[purchase.pk]))
    assert CalamineWorkbook.from_filelike(io.BytesIO(xlsx.content)).sheet_names[0] == "汇总"
    labels = client.get(reverse("supplies:purchase_labels", args=[purchase.pk]) + "?size=100x150")
    assert labels.status_code == 200 and len(PdfReader(io.BytesIO(labels.content)).pages) == 2
    door = client.get(reverse("supplies:purchase_labels", args=[purchase.pk]) + "?door=1")
    assert door.status_code == 200
    assert client.get(reverse("supplies:purchase_labels", args=[purchase.pk]) + "?size=a5").status_code == 404
    assert client.get(reverse("supplies:purchase_labels", args=[purchase.pk]) + "?drop_off=999999").status_code == 404
    for not_an_id in ("²", "9" * 25):  # a digit to str.isdigit(), a number past a 64-bit id
        assert (
            client.get(reverse("supplies:purchase_labels", args=[purchase.pk]), {"drop_off": not_an_id}).status_code
            == 404
        )
    outsider = client_for(scene.personas.outsider)
    assert outsider.get(reverse("supplies:purchase_labels", args=[purchase.pk])).status_code == 404


# ----------------------------------------------------------------------------------------------
# API


def test_api_aggregate_detail_shortfall_and_downloads(scene: Scene, client_for: Any) -> None:
    _orders(scene)
    _past_cutoff(scene)
    worker = client_for(scene.personas.community_worker)
    first = worker.post(f"{API}/windows/{scene.window.pk}/aggregate")
    assert first.status_code == 201, first.content
    purchase_id = first.json()["id"]
    assert first.json()["orders"] == 2
    assert worker.post(f"{API}/windows/{scene.window.pk}/aggregate").status_code == 200
    supplier = client_for(scene.personas.supplier)
    detail = supplier.get(f"{API}/purchases/{purchase_id}").json()
    assert {i["name"]: i["quantity"] for i in detail["items"]} == {"标准蔬菜包": 5, "鸡蛋": 1}
    assert sum(detail["packages_by_drop_off"].values()) == 2
    assert [p["id"] for p in supplier.get(f"{API}/purchases").json()] == [purchase_id]
    answer = supplier.post(
        f"{API}/purchases/{purchase_id}/shortfall",
        {"available": [{"offer_id": scene.veg.pk, "units": 4}]},
        content_type="application/json",
    )
    assert answer.status_code == 200 and answer.json()["orders_changed"] == 1
    too_many = supplier.post(
        f"{API}/purchases/{purchase_id}/shortfall",
        {"available": [{"offer_id": scene.veg.pk, "units": 6}]},
        content_type="application/json",
    )
    assert too_many.status_code == 422 and "0 到 5" in too_many.json()["detail"]
    assert supplier.get(f"{API}/purchases/{purchase_id}/picklist.xlsx").status_code == 200
    assert supplier.get(f"{API}/purchases/{purchase_id}/picklist.pdf").status_code == 200
    assert supplier.get(f"{API}/purchases/{purchase_id}/labels.pdf?size=a4-3x7").status_code == 200
    assert supplier.get(f"{API}/purchases/{purchase_id}/labels.pdf?size=a5").status_code == 422


def test_api_refusals(scene: Scene, client_for: Any) -> None:
    _orders(scene)
    _future_cutoff(scene)
    before = client_for(scene.personas.community_worker).post(f"{API}/windows/{scene.window.pk}/aggregate")
    assert before.status_code == 422 and "截单时间" in before.json()["detail"]
    _past_cutoff(scene)
    assert client_for(scene.personas.outsider).post(f"{API}/windows/{scene.window.pk}/aggregate").status_code == 404
    assert client_for(scene.personas.grid_worker).post(f"{API}/windows/{scene.window.pk}/aggregate").status_code == 403
    purchase = aggregate(scene.window, actor=scene.personas.community_worker, now=scene.after)
    assert client_for(scene.personas.outsider).get(f"{API}/purchases/{purchase.pk}").status_code == 404
    assert client_for(other_supplier(scene)).get(f"{API}/purchases/{purchase.pk}").status_code == 404
    assert client_for(scene.personas.resident).get(f"{API}/purchases/{purchase.pk}").status_code == 403
    assert client_for(scene.personas.outsider).get(f"{API}/purchases").json() == []
    shortfall = client_for(scene.personas.outsider).post(
        f"{API}/purchases/{purchase.pk}/shortfall",
        {"available": [{"offer_id": scene.veg.pk, "units": 0}]},
        content_type="application/json",
    )
    assert shortfall.status_code == 404
    labels = client_for(scene.personas.outsider).get(f"{API}/purchases/{purchase.pk}/labels.pdf")
    assert labels.status_code == 404
    assert not OrderLine.objects.filter(short__gt=0).exists()
