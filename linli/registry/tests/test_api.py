"""The registry API: scoped reads, role-checked writes and reveals, Chinese errors as {"detail": …}."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from django.test import Client

from linli.accounts.models import ApiToken, User
from linli.audit.models import AuditAction, AuditEvent
from linli.lib.testing import Personas, make_id_number
from linli.registry.models import Household, Person

BASE = "/api/v1/registry"
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


class Api:
    """A test client that sends a bearer token, as a programmatic client would."""

    def __init__(self, user: User) -> None:
        key = secrets.token_urlsafe(32)
        ApiToken.objects.create(user=user, name="t", prefix=key[:8], key_hash=ApiToken.hash(key))
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(BASE + path, params)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.client.post(BASE + path, body or {}, content_type="application/json")

    def patch(self, path: str, body: dict[str, Any]) -> Any:
        return self.client.patch(BASE + path, body, content_type="application/json")


@pytest.fixture
def api_for(personas: Personas) -> Any:
    return Api


def household(personas: Personas, building: Any, room: str = "101") -> Household:
    return personas.tree.households[f"{building.code}/1单元/{room}"]


def householder(h: Household) -> Person:
    return h.members.get(relation="householder")


# --- reads ---


def test_nodes_by_level_and_parent(personas: Personas, api_for: Any) -> None:
    tree = personas.tree
    api = api_for(personas.community_worker)
    response = api.get("/nodes", level="grid")
    assert response.status_code == 200
    assert {row["id"] for row in response.json()} == {tree.g1.pk, tree.g2.pk}
    compounds = api.get("/nodes", level="compound", parent=tree.g2.pk).json()
    assert [(row["name"], row["parent_id"]) for row in compounds] == [("和谐家园", tree.g2.pk)]


def test_nodes_with_an_unknown_level_is_422_in_chinese(personas: Personas, api_for: Any) -> None:
    response = api_for(personas.community_worker).get("/nodes", level="planet")
    assert response.status_code == 422
    assert "层级无效" in response.json()["detail"]


def test_households_list_is_paginated_scoped_and_filtered(personas: Personas, api_for: Any) -> None:
    tree = personas.tree
    api = api_for(personas.grid_worker)
    body = api.get("/households").json()
    assert body["count"] == 9
    assert {row["building"] for row in body["items"]} == {"1号楼", "2号楼"}
    by_building = api.get("/households", building=tree.b2.pk).json()
    assert by_building["count"] == 3
    unit_id = household(personas, tree.b1).unit_id
    rows = api.get("/households", unit=unit_id).json()["items"]
    assert [row["room"] for row in rows] == ["101", "102", "201"]
    assert rows[0]["member_count"] == 2 and rows[0]["address"] == "阳光小区 1号楼1单元101"
    assert api.get("/households", building=tree.b4.pk).json()["count"] == 0  # C2, out of scope


def test_household_detail_has_masked_members(personas: Personas, api_for: Any) -> None:
    h = household(personas, personas.tree.b1)
    person = householder(h)
    body = api_for(personas.grid_worker).get(f"/households/{h.pk}").json()
    assert body["member_count"] == 2
    member = next(m for m in body["members"] if m["id"] == person.pk)
    assert member["id_number_masked"] == person.masked_id_number
    assert member["phone_masked"] == person.masked_phone
    assert str(person.id_number) not in str(body) and person.phone not in str(body)


def test_people_search_and_detail(personas: Personas, api_for: Any) -> None:
    person = householder(household(personas, personas.tree.b1, "201"))
    api = api_for(personas.grid_worker)
    found = api.get("/people", q=person.phone[-4:]).json()
    assert [row["id"] for row in found] == [person.pk]
    assert found[0]["address"] == "阳光小区 1号楼1单元201"
    detail = api.get(f"/people/{person.pk}").json()
    assert detail["name"] == "户主201" and detail["relation_label"] == "户主"
    assert "id_number" not in detail and str(person.id_number) not in str(detail)


def test_people_search_too_short_is_422(personas: Personas, api_for: Any) -> None:
    response = api_for(personas.grid_worker).get("/people", q="1")
    assert response.status_code == 422
    assert "至少" in response.json()["detail"]


def test_resident_reads_only_its_own_household(personas: Personas, api_for: Any) -> None:
    api = api_for(personas.resident)
    own = personas.resident_household
    assert api.get(f"/households/{own.pk}").status_code == 200
    neighbour = household(personas, personas.tree.b1, "102")
    assert api.get(f"/households/{neighbour.pk}").status_code == 404
    assert api.get(f"/people/{householder(neighbour).pk}").status_code == 404


def test_unauthenticated_is_401(personas: Personas) -> None:
    response = Client().get(f"{BASE}/households")
    assert response.status_code == 401
    assert response.json()["detail"] == "请先登录或提供有效的令牌"


# --- writes ---


def test_create_person_normalises_and_audits(personas: Personas, api_for: Any) -> None:
    h = household(personas, personas.tree.b1)
    while not (number := make_id_number("19850505")).endswith("X"):
        pass
    response = api_for(personas.grid_worker).post(
        f"/households/{h.pk}/people",
        {"name": "孙七", "id_number": number.translate(FULL_WIDTH).lower(), "relation": "spouse", "infant": False},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id_number_masked"].endswith(number[-4:]) and body["relation"] == "spouse"
    person = Person.objects.get(pk=body["id"])
    assert person.id_number == number and person.household == h
    assert AuditEvent.objects.filter(action=AuditAction.CREATE, object_pk=str(person.pk)).exists()


def test_create_person_with_duplicate_id_is_422_and_saves_nothing(personas: Personas, api_for: Any) -> None:
    h = household(personas, personas.tree.b1)
    existing = householder(household(personas, personas.tree.b2))
    count = Person.objects.count()
    response = api_for(personas.grid_worker).post(
        f"/households/{h.pk}/people", {"name": "重复", "id_number": existing.id_number}
    )
    assert response.status_code == 422
    assert response.json()["detail"] == "该身份证号已登记在其他户"
    assert response.json()["errors"]["id_number"] == ["该身份证号已登记在其他户"]
    assert Person.objects.count() == count


def test_create_person_with_bad_choice_is_422(personas: Personas, api_for: Any) -> None:
    h = household(personas, personas.tree.b1)
    response = api_for(personas.grid_worker).post(f"/households/{h.pk}/people", {"name": "某", "relation": "cousin"})
    assert response.status_code == 422
    assert "无效的选项" in response.json()["detail"]


def test_patch_person_changes_only_what_is_sent(personas: Personas, api_for: Any) -> None:
    person = householder(household(personas, personas.tree.b1))
    number = person.id_number
    response = api_for(personas.community_worker).patch(
        f"/people/{person.pk}", {"health_code": "red", "no_smartphone": True}
    )
    assert response.status_code == 200
    person.refresh_from_db()
    assert (person.health_code, person.no_smartphone, person.id_number) == ("red", True, number)
    event = AuditEvent.objects.get(action=AuditAction.UPDATE, object_pk=str(person.pk))
    assert set(event.changes) == {"health_code", "no_smartphone"}


def test_patch_with_bad_phone_is_422_in_chinese(personas: Personas, api_for: Any) -> None:
    person = householder(household(personas, personas.tree.b1))
    response = api_for(personas.grid_worker).patch(f"/people/{person.pk}", {"phone": "12345"})
    assert response.status_code == 422
    assert response.json()["detail"] == "手机号应为以1开头的11位数字"


@pytest.mark.parametrize("field", ["id_number", "phone"])
def test_reveal_returns_full_value_and_is_audited(personas: Personas, api_for: Any, field: str) -> None:
    person = householder(household(personas, personas.tree.b1))
    response = api_for(personas.medic).post(f"/people/{person.pk}/reveal/{field}")
    assert response.status_code == 200
    assert response.json() == {"person_id": person.pk, "field": field, "value": getattr(person, field)}
    assert AuditEvent.objects.filter(
        action=AuditAction.REVEAL, object_pk=str(person.pk), actor=personas.medic, changes={"field": field}
    ).exists()


def test_session_writes_need_csrf(personas: Personas) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas.grid_worker)
    person = householder(household(personas, personas.tree.b1))
    response = client.post(f"{BASE}/people/{person.pk}/reveal/phone")
    assert response.status_code in (401, 403)
    assert not AuditEvent.objects.filter(action=AuditAction.REVEAL).exists()


# --- refusals: every endpoint, every out-of-scope persona ---


def endpoints(personas: Personas) -> list[tuple[str, str, dict[str, Any] | None]]:
    """(method, path, body) of every endpoint, aimed at the resident's neighbour in C1."""
    h = household(personas, personas.tree.b1, "102")
    person = householder(h)
    return [
        ("get", f"/households/{h.pk}", None),
        ("get", f"/people/{person.pk}", None),
        ("post", f"/households/{h.pk}/people", {"name": "闯入者"}),
        ("patch", f"/people/{person.pk}", {"name": "闯入者"}),
        ("post", f"/people/{person.pk}/reveal/id_number", None),
    ]


@pytest.mark.parametrize("persona", ["outsider", "supplier", "resident"])
def test_every_object_endpoint_is_refused_out_of_scope(personas: Personas, api_for: Any, persona: str) -> None:
    api = api_for(getattr(personas, persona))
    person = householder(household(personas, personas.tree.b1, "102"))
    for method, path, body in endpoints(personas):
        response = api.get(path) if method == "get" else getattr(api, method)(path, body)
        assert response.status_code in (403, 404), (method, path, response.status_code)
        assert isinstance(response.json()["detail"], str)
        assert person.name not in response.content.decode()
    person.refresh_from_db()
    assert person.name == "户主102"
    assert not Person.objects.filter(name="闯入者").exists()
    assert not AuditEvent.objects.filter(actor=getattr(personas, persona)).exists()


@pytest.mark.parametrize("persona", ["outsider", "supplier", "resident"])
def test_list_endpoints_show_nothing_of_c1(personas: Personas, api_for: Any, persona: str) -> None:
    api = api_for(getattr(personas, persona))
    tree = personas.tree
    for path, params in [
        ("/nodes", {"level": "compound"}),
        ("/households", {}),
        ("/people", {"q": "户主102"}),
    ]:
        response = api.get(path, **params)
        if persona == "outsider":
            assert response.status_code == 200
            assert "阳光小区" not in response.content.decode() and "和谐家园" not in response.content.decode()
        else:
            assert response.status_code == 403
            assert "您的账号无权查看台账" == response.json()["detail"]
    if persona == "outsider":
        assert api.get("/nodes", level="community").json()[0]["id"] == tree.c2.pk


@pytest.mark.parametrize(("persona", "status"), [("building_lead", 403), ("gate_guard", 403), ("street_command", 403)])
def test_reveal_is_refused_to_roles_without_it(personas: Personas, api_for: Any, persona: str, status: int) -> None:
    person = householder(household(personas, personas.tree.b1))
    response = api_for(getattr(personas, persona)).post(f"/people/{person.pk}/reveal/phone")
    assert response.status_code == status
    assert response.json()["detail"] == "您的角色无权查看完整信息"
    assert not AuditEvent.objects.filter(action=AuditAction.REVEAL).exists()


@pytest.mark.parametrize("persona", ["building_lead", "medic", "gate_guard"])
def test_writes_are_refused_to_roles_without_registry_edit(personas: Personas, api_for: Any, persona: str) -> None:
    h = household(personas, personas.tree.b1)
    api = api_for(getattr(personas, persona))
    response = api.post(f"/households/{h.pk}/people", {"name": "某"})
    assert response.status_code == 403 and response.json()["detail"] == "您的角色无权修改台账"
    assert api.patch(f"/people/{householder(h).pk}", {"name": "某"}).status_code == 403
