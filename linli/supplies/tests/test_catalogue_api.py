"""The catalogue and stock API (/api/v1/supplies/): roles (403), scope (404), refusals (422)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from linli.accounts.services import api_token_create
from linli.lib.testing import Personas
from linli.supplies.models import Item, OrderWindow, StaffCheck, Supplier
from linli.supplies.services import catalogue
from linli.supplies.testing import make_item, open_window

pytestmark = pytest.mark.django_db

API = "/api/v1/supplies"


class Api:
    def __init__(self, user: Any) -> None:
        _token, key = api_token_create(user=user, name="supplies")
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    def get(self, path: str, **query: Any) -> Any:
        return self.client.get(f"{API}{path}", query)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.client.post(f"{API}{path}", body or {}, content_type="application/json")

    def patch(self, path: str, body: dict[str, Any]) -> Any:
        return self.client.patch(f"{API}{path}", body, content_type="application/json")

    def put(self, path: str, body: dict[str, Any]) -> Any:
        return self.client.put(f"{API}{path}", body, content_type="application/json")


def shop() -> Supplier:
    return Supplier.objects.get(name="平价超市")


def later(hours: int) -> str:
    return (timezone.now() + datetime.timedelta(hours=hours)).isoformat()


def test_street_designates_a_supplier_the_supplier_builds_its_catalogue(personas: Personas) -> None:
    street = Api(personas.street_command)
    response = street.post(
        "/suppliers", {"name": "惠民菜场", "community_ids": [personas.tree.c1.pk, personas.tree.c2.pk]}
    )
    assert response.status_code == 201, response.content
    new_id = response.json()["id"]
    assert street.post("/suppliers", {"name": "惠民菜场"}).json()["detail"] == "本街道已有同名商超"
    assert Api(personas.community_worker).post("/suppliers", {"name": "某店"}).status_code == 403
    assert Api(personas.community_worker).patch(f"/suppliers/{new_id}", {"address": "x"}).status_code == 403

    supplier = Api(personas.supplier)
    assert [s["name"] for s in supplier.get("/suppliers").json()] == ["平价超市"]
    assert supplier.get(f"/suppliers/{new_id}").status_code == 404  # another supplier's
    cabbage = supplier.post(
        "/items", {"supplier_id": shop().pk, "name": "白菜", "category": "vegetables", "price": "3.50", "unit": "斤"}
    )
    assert cabbage.status_code == 201, cabbage.content
    box = supplier.post(
        "/items",
        {"supplier_id": shop().pk, "name": "蔬菜箱", "category": "vegetables", "price": "30", "is_bundle": True},
    ).json()
    parts = supplier.put(f"/items/{box['id']}/parts", {"parts": [{"part_id": cabbage.json()["id"], "quantity": "2"}]})
    assert parts.status_code == 200 and parts.json()["parts"][0]["name"] == "白菜"
    assert (
        supplier.post("/items", {"supplier_id": new_id, "name": "x", "category": "eggs", "price": 1}).status_code == 404
    )
    bad = supplier.post("/items", {"supplier_id": shop().pk, "name": "坏", "category": "nonsense", "price": 1})
    assert bad.status_code == 422 and bad.json()["detail"]
    assert supplier.patch(f"/items/{box['id']}", {"per_household_limit": 2}).json()["per_household_limit"] == 2
    assert Api(personas.community_worker).patch(f"/items/{box['id']}", {"price": "1"}).status_code == 403
    assert Api(personas.resident).get("/items").status_code == 403


def test_community_worker_runs_windows_of_their_community_only(personas: Personas) -> None:
    eggs = make_item(shop(), "鸡蛋", price="12")
    worker = Api(personas.community_worker)
    made = worker.post(
        "/windows",
        {"supplier_id": shop().pk, "opens_at": later(1), "cutoff_at": later(10), "delivery_on": "2099-01-01"},
    )
    assert made.status_code == 201, made.content
    window_id = made.json()[0]["id"]
    assert [w["community_id"] for w in made.json()] == [personas.tree.c1.pk]
    assert worker.post(f"/windows/{window_id}/publish").status_code == 422  # nothing offered yet
    offered = worker.post(f"/windows/{window_id}/offers", {"item_id": eggs.pk, "quantity": 100})
    assert offered.status_code == 201, offered.content
    offer = offered.json()["offers"][0]
    assert (offer["reserved"], offer["buckets"], offer["remaining"], offer["remaining_reserved"]) == (10, 2, 90, 10)
    raised = worker.patch(f"/offers/{offer['id']}", {"quantity": 150})
    assert raised.json()["offers"][0]["remaining"] == 140
    assert worker.post(f"/windows/{window_id}/publish").json()["status"] == "published"
    assert worker.patch(f"/offers/{offer['id']}", {"price": "1"}).status_code == 422
    assert Api(personas.supplier).get(f"/windows/{window_id}").status_code == 200  # the supplier sees it
    assert Api(personas.supplier).post(f"/windows/{window_id}/publish").status_code == 403
    # C2: another community's worker neither sees nor changes the window.
    outsider = Api(personas.outsider)
    assert outsider.get(f"/windows/{window_id}").status_code == 404
    assert outsider.patch(f"/offers/{offer['id']}", {"quantity": 1}).status_code == 404
    assert window_id not in [w["id"] for w in outsider.get("/windows").json()]
    refused = outsider.post(
        "/windows",
        {"supplier_id": shop().pk, "opens_at": later(1), "cutoff_at": later(10), "delivery_on": "2099-01-01"},
    )
    assert refused.status_code == 422  # the shop does not serve C2


def test_c1_staff_do_not_see_a_c2_window(personas: Personas) -> None:
    other = catalogue.supplier_create(street=personas.tree.street, name="团结超市", communities=[personas.tree.c2])
    window = open_window(other, personas.tree.c2, items={"大米": 10})
    assert Api(personas.community_worker).get(f"/windows/{window.pk}").status_code == 404
    assert Api(personas.grid_worker).get(f"/windows/{window.pk}").status_code == 403
    assert Api(personas.outsider).get(f"/windows/{window.pk}").status_code == 200
    assert Api(personas.street_command).get(f"/windows/{window.pk}").status_code == 200


def test_schedules_generate_windows_once(personas: Personas) -> None:
    worker = Api(personas.community_worker)
    made = worker.post(
        "/schedules", {"supplier_id": shop().pk, "community_id": personas.tree.c1.pk, "order_weekdays": [1, 5]}
    )
    assert made.status_code == 201, made.content
    first = worker.post(f"/schedules/{made.json()['id']}/generate", {"days": 14})
    assert first.status_code == 200 and 3 <= len(first.json()) <= 4
    assert worker.post(f"/schedules/{made.json()['id']}/generate", {"days": 14}).json() == []
    assert OrderWindow.objects.filter(schedule_id=made.json()["id"]).count() == len(first.json())
    assert Api(personas.outsider).post(f"/schedules/{made.json()['id']}/generate", {}).status_code == 404
    assert (
        worker.post(
            "/schedules", {"supplier_id": shop().pk, "community_id": personas.tree.c2.pk, "order_weekdays": [1]}
        ).status_code
        == 404
    )


def test_stock_price_and_staff_checks_through_the_api(personas: Personas) -> None:
    item = make_item(shop(), "猪肉", price="20")
    supplier = Api(personas.supplier)
    assert supplier.post("/stock-reports", {"item_id": item.pk, "quantity": 30}).status_code == 201
    assert Item.objects.get(pk=item.pk).stock == 30
    assert supplier.get("/stock-reports").json()[0]["quantity"] == 30
    cover = supplier.get("/cover").json()
    assert cover[0]["item_id"] == item.pk and cover[0]["days"] is None and not cover[0]["flagged"]
    assert supplier.post("/price-reports", {"item_id": item.pk, "price": "21"}).status_code == 201
    check = supplier.post(
        "/staff-checks", {"supplier_id": shop().pk, "kind": "temperature", "staff_name": "张三", "temperature": "38.0"}
    )
    assert check.status_code == 201 and check.json()["is_abnormal"]
    bad = supplier.post("/staff-checks", {"supplier_id": shop().pk, "kind": "test", "staff_name": "张三"})
    assert bad.status_code == 422 and "检测结果" in bad.json()["detail"]
    today = supplier.get(f"/suppliers/{shop().pk}/checklist").json()
    assert today["disinfection_overdue"] and not today["all_done"] and len(today["abnormal"]) == 1
    # Another supplier's staff, a community worker (read-only), a resident.
    other = catalogue.supplier_create(street=personas.tree.street, name="别家")
    assert (
        supplier.post(
            "/staff-checks", {"supplier_id": other.pk, "kind": "disinfection", "staff_name": "库"}
        ).status_code
        == 404
    )
    worker = Api(personas.community_worker)
    assert worker.get("/cover").status_code == 200
    assert worker.post("/stock-reports", {"item_id": item.pk, "quantity": 1}).status_code == 403
    assert Api(personas.resident).get("/cover").status_code == 403
    assert StaffCheck.objects.count() == 1
    assert supplier.get("/settings").json()["min_cover_days"] == 7
    assert supplier.patch("/settings", {"min_cover_days": 10}).status_code == 403
    street = Api(personas.street_command)
    assert street.patch("/settings", {"min_cover_days": 10}).json()["min_cover_days"] == 10
    assert street.patch("/settings", {"min_cover_days": 0}).status_code == 422


def test_a_window_whose_cut_off_has_passed_is_refused_422(personas: Personas) -> None:
    worker = Api(personas.community_worker)
    refused = worker.post(
        "/windows",
        {"supplier_id": shop().pk, "opens_at": later(-30), "cutoff_at": later(-20), "delivery_on": "2099-01-01"},
    )
    assert refused.status_code == 422
    assert "已过，窗口将无法发布" in refused.json()["detail"]
    assert list(refused.json()["errors"]) == ["cutoff_at"]
    assert not OrderWindow.objects.exists()
