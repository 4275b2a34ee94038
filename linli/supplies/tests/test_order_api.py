"""The orders API (/api/v1/supplies/orders…): idempotent submission, scoped reads, cancel, windows."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from linli.accounts.services import api_token_create
from linli.lib.testing import Personas
from linli.registry.models import Household
from linli.supplies.models import Order, OrderWindow, Supplier
from linli.supplies.testing import open_window

API = "/api/v1/supplies"


class Api:
    def __init__(self, user: Any) -> None:
        _token, key = api_token_create(user=user, name="test")
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    def get(self, path: str, **query: Any) -> Any:
        return self.client.get(f"{API}{path}", query)

    def post(self, path: str, body: dict[str, Any] | None = None, key: str | None = None, language: str = "") -> Any:
        headers = {"Idempotency-Key": key} if key is not None else {}
        if language:
            headers["Accept-Language"] = language
        return self.client.post(f"{API}{path}", body or {}, content_type="application/json", headers=headers)


@pytest.fixture
def window(personas: Personas) -> OrderWindow:
    shop = Supplier.objects.get(name="平价超市")
    return open_window(shop, personas.tree.c1, items={"标准蔬菜包": 10, "鸡蛋": 4}, limit=3, reserved=1)


def household(personas: Personas, room: str = "101", building: Any = None) -> Household:
    return personas.tree.households[f"{(building or personas.tree.b1).code}/1单元/{room}"]


def body(window: OrderWindow, household_id: int, *lines: tuple[int, int]) -> dict[str, Any]:
    return {"window": window.pk, "household": household_id, "lines": [{"offer": o, "quantity": q} for o, q in lines]}


def test_resident_submits_and_replays(personas: Personas, window: OrderWindow) -> None:
    veg, eggs = window.offers.order_by("pk")
    api = Api(personas.resident)
    payload = body(window, personas.resident_household.pk, (veg.pk, 2), (eggs.pk, 1))
    first = api.post("/orders", payload, key="phone-1")
    assert first.status_code == 201, first.content
    order = first.json()
    assert order["is_proxy"] is False and [line["quantity"] for line in order["lines"]] == [2, 1]
    again = api.post("/orders", payload, key="phone-1")
    assert again.status_code == 200 and again.json() == order
    other = api.post("/orders", body(window, personas.resident_household.pk, (veg.pk, 1)), key="phone-1")
    assert other.status_code == 422 and "幂等键" in other.json()["detail"]
    dup = api.post("/orders", payload, key="phone-2")
    assert dup.status_code == 409 and dup.json()["code"] == "duplicate"
    assert Order.objects.count() == 1
    # No key: refused before anything is written.
    assert api.post("/orders", payload).status_code == 422


def test_submit_refusals(personas: Personas, window: OrderWindow) -> None:
    veg, eggs = window.offers.order_by("pk")
    resident = Api(personas.resident)
    assert (
        resident.post("/orders", body(window, household(personas, "102").pk, (veg.pk, 1)), key="a").status_code == 403
    )
    limit = resident.post("/orders", body(window, personas.resident_household.pk, (veg.pk, 3), (eggs.pk, 4)), key="b")
    assert limit.status_code == 422 and "限购" in limit.json()["detail"]
    bad = resident.post("/orders", {"window": window.pk, "household": "x", "lines": []}, key="c")
    assert bad.status_code == 422
    assert (
        Api(personas.gate_guard).post("/orders", body(window, household(personas).pk, (veg.pk, 1)), key="d").status_code
        == 403
    )
    assert (
        Api(personas.outsider).post("/orders", body(window, household(personas).pk, (veg.pk, 1)), key="e").status_code
        == 404
    )
    grid = Api(personas.grid_worker)
    c2 = household(personas, building=personas.tree.b4)
    assert grid.post("/orders", body(window, c2.pk, (veg.pk, 1)), key="f").status_code == 404
    # Normal households may not take the reserved unit: 3 general eggs, then sold out.
    assert grid.post("/orders", body(window, household(personas, "102").pk, (eggs.pk, 3)), key="g").status_code == 201
    sold = grid.post("/orders", body(window, household(personas, "201").pk, (eggs.pk, 1)), key="h")
    assert sold.status_code == 409 and sold.json()["code"] == "sold_out" and "鸡蛋" in sold.json()["detail"]
    assert Order.objects.count() == 1 and Order.objects.get().is_proxy
    assert (
        Client()
        .post(f"{API}/orders", body(window, household(personas).pk, (veg.pk, 1)), content_type="application/json")
        .status_code
        == 401
    )


def test_a_refusal_replayed_after_switching_to_english_is_in_english(personas: Personas, window: OrderWindow) -> None:
    """The same key and body sent again by a phone now read in English: the first refusal (its status,
    code and offer), worded in English; the one asking in Chinese still gets it in Chinese."""
    veg, eggs = window.offers.order_by("pk")
    api = Api(personas.resident)
    payload = body(window, personas.resident_household.pk, (veg.pk, 1), (eggs.pk, 4))
    first = api.post("/orders", payload, key="limit", language="zh-hans")
    assert first.status_code == 422 and first.json()["detail"] == "「鸡蛋」每户限购 3份"
    again = api.post("/orders", payload, key="limit", language="en")
    assert again.status_code == 422
    assert again.json() == {**first.json(), "detail": "“鸡蛋” is limited to 3 份 per household"}
    assert api.post("/orders", payload, key="limit", language="zh-hans").json() == first.json()
    assert not Order.objects.exists()


def test_list_detail_and_cancel(personas: Personas, window: OrderWindow) -> None:
    veg, _eggs = window.offers.order_by("pk")
    grid = Api(personas.grid_worker)
    for n, room in enumerate(("101", "102")):
        assert (
            grid.post("/orders", body(window, household(personas, room).pk, (veg.pk, 1)), key=f"k{n}").status_code
            == 201
        )
    mine = Order.objects.get(household=personas.resident_household)
    resident = Api(personas.resident)
    listed = resident.get("/orders").json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == mine.pk and listed["results"][0]["lines"][0]["name"]
    assert grid.get("/orders", window=window.pk).json()["count"] == 2
    assert Api(personas.supplier).get("/orders").json()["count"] == 2
    assert Api(personas.outsider).get("/orders").json()["count"] == 0
    assert Api(personas.gate_guard).get("/orders").status_code == 403
    other = Order.objects.exclude(pk=mine.pk).get()
    assert resident.get(f"/orders/{other.pk}").status_code == 404
    assert Api(personas.outsider).get(f"/orders/{mine.pk}").status_code == 404
    assert resident.get(f"/orders/{mine.pk}").json()["is_proxy"] is True
    assert Api(personas.supplier).post(f"/orders/{mine.pk}/cancel").status_code == 403
    assert resident.post(f"/orders/{other.pk}/cancel").status_code == 404
    cancelled = resident.post(f"/orders/{mine.pk}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert resident.post(f"/orders/{mine.pk}/cancel").status_code == 422
    assert grid.get("/orders", status="placed").json()["count"] == 1


def test_household_windows(personas: Personas, window: OrderWindow) -> None:
    veg, eggs = window.offers.order_by("pk")
    resident = Api(personas.resident)
    answer = resident.get(f"/households/{personas.resident_household.pk}/windows")
    assert answer.status_code == 200
    data = answer.json()
    assert data["priority"] == 2 and [w["id"] for w in data["windows"]] == [window.pk]
    remaining = {offer["id"]: offer["remaining"] for offer in data["windows"][0]["offers"]}
    assert remaining == {veg.pk: 9, eggs.pk: 3}  # the reserved unit is not this household's
    assert data["windows"][0]["live_order"] is None
    resident.post("/orders", body(window, personas.resident_household.pk, (veg.pk, 2)), key="w")
    data = resident.get(f"/households/{personas.resident_household.pk}/windows").json()
    assert data["windows"][0]["live_order"] == Order.objects.get().pk
    assert {o["id"]: o["remaining"] for o in data["windows"][0]["offers"]}[veg.pk] == 7
    assert resident.get(f"/households/{household(personas, '102').pk}/windows").status_code == 404
    assert Api(personas.grid_worker).get(f"/households/{household(personas, '102').pk}/windows").status_code == 200
    assert Api(personas.medic).get(f"/households/{household(personas, '102').pk}/windows").status_code == 403
    assert Api(personas.outsider).get(f"/households/{household(personas, '102').pk}/windows").status_code == 404


def test_submit_checks_the_token_itself(personas: Personas, window: OrderWindow, client_for: Any) -> None:
    """The order endpoint checks its bearer token in its own query: revoked or inactive → 401; a browser
    session works as everywhere else; last_used_at is kept."""
    from linli.accounts.models import ApiToken
    from linli.accounts.services import api_token_revoke

    veg, _eggs = window.offers.order_by("pk")
    token, key = api_token_create(user=personas.resident, name="phone")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    payload = body(window, personas.resident_household.pk, (veg.pk, 1))

    def post(c: Client, k: str) -> Any:
        return c.post(f"{API}/orders", payload, content_type="application/json", headers={"Idempotency-Key": k})

    assert post(Client(HTTP_AUTHORIZATION="Bearer nonsense"), "t0").status_code == 401
    personas.resident.is_active = False
    personas.resident.save(update_fields=["is_active"])
    assert post(client, "t1").status_code == 401
    personas.resident.is_active = True
    personas.resident.save(update_fields=["is_active"])
    api_token_revoke(token=token)
    assert post(client, "t2").status_code == 401
    assert not Order.objects.exists()
    _token, key = api_token_create(user=personas.resident, name="phone2")
    placed = post(Client(HTTP_AUTHORIZATION=f"Bearer {key}"), "t3")
    assert placed.status_code == 201
    assert ApiToken.objects.get(name="phone2").last_used_at is not None
    # Keys are per account, not per credential: the same account's browser session replays it.
    replay = post(client_for(personas.resident), "t3")
    assert replay.status_code == 200 and replay.json() == placed.json()


def test_a_due_token_is_marked_used_with_the_order_and_with_a_refusal(personas: Personas, window: OrderWindow) -> None:
    """last_used_at, when due (older than a minute), is written with the order in its transaction,
    and also when the answer is a refusal; a token used a moment ago is not written again."""
    import datetime

    from django.utils import timezone

    from linli.accounts.models import ApiToken

    veg, _eggs = window.offers.order_by("pk")
    token, key = api_token_create(user=personas.resident, name="phone")
    long_ago = timezone.now() - datetime.timedelta(hours=2)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=long_ago)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    payload = body(window, personas.resident_household.pk, (veg.pk, 1))

    def post(k: str) -> Any:
        return client.post(f"{API}/orders", payload, content_type="application/json", headers={"Idempotency-Key": k})

    placed = post("u1")
    assert placed.status_code == 201
    order = Order.objects.get(pk=placed.json()["id"])
    token.refresh_from_db()
    assert token.last_used_at is not None and abs(token.last_used_at - order.created_at) < datetime.timedelta(seconds=5)
    # A moment later: not due, so not written.
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=order.created_at - datetime.timedelta(seconds=30))
    assert post("u2").status_code == 409  # the household has a live order in this window
    token.refresh_from_db()
    assert token.last_used_at == order.created_at - datetime.timedelta(seconds=30)
    # Due again: a refusal writes it too.
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=long_ago)
    assert post("u3").status_code == 409
    token.refresh_from_db()
    assert token.last_used_at > long_ago + datetime.timedelta(hours=1)


def test_a_resident_cannot_put_their_own_order_on_community_credit(personas: Personas, window: OrderWindow) -> None:
    # given: community credit (the community pays, settled after the closure) is for households staff
    # choose, such as the elderly; the resident's page offers only on delivery or to the grid worker
    veg, _eggs = window.offers.order_by("pk")
    payload = {**body(window, personas.resident_household.pk, (veg.pk, 1)), "payment_mode": "credit"}

    # when: a resident asks for it through the API anyway
    answer = Api(personas.resident).post("/orders", payload, key="credit-1")

    # then: refused in Chinese, nothing written
    assert answer.status_code == 422, answer.content
    assert "社区记账" in answer.json()["detail"]
    assert not Order.objects.exists()
    # while the grid worker may place the same order on credit for the household
    by_proxy = Api(personas.grid_worker).post("/orders", payload, key="credit-2")
    assert by_proxy.status_code == 201, by_proxy.content
    assert by_proxy.json()["payment_mode"] == "credit"
