"""The pass API (A2): a household's pass, issue, revoke, holds, bulk issue and the resident's own pass."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from linli.accounts.services import api_token_create
from linli.gate import keys, passes, services
from linli.gate.choices import HoldReason
from linli.gate.models import HouseholdPass
from linli.gate.tests.conftest import Gate
from linli.registry.models import Household

pytestmark = pytest.mark.django_db
API = "/api/v1/gate"


class Api:
    """A bearer-token client for one account."""

    def __init__(self, user: Any) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {api_token_create(user=user, name='test')[1]}"}

    def get(self, path: str) -> Any:
        return self.client.get(API + path, headers=self.headers)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.client.post(API + path, body or {}, content_type="application/json", headers=self.headers)


def test_get_a_households_pass(gate: Gate) -> None:
    response = Api(gate.personas.grid_worker).get(f"/households/{gate.household.pk}/pass")

    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "valid" and data["hold"] is None
    assert data["current"]["number"] == gate.household_pass.number
    assert data["current"]["number_display"] == passes.format_number(gate.household_pass.number)
    assert data["current"]["token"] == gate.household_pass.token
    assert data["current"]["members"] == [{"id": gate.members[0].pk, "name": gate.members[0].name}]
    assert [item["issue_no"] for item in data["history"]] == [1]


def test_issue_defaults_to_the_householder_and_reissue_revokes(gate: Gate) -> None:
    api = Api(gate.personas.community_worker)

    both = api.post(f"/households/{gate.household.pk}/pass", {"members": [m.pk for m in gate.members]})
    default = api.post(f"/households/{gate.household.pk}/pass")

    assert both.status_code == default.status_code == 200
    data = default.json()
    assert data["current"]["issue_no"] == 3
    assert [m["name"] for m in data["current"]["members"]] == ["户主101"]
    assert [(item["issue_no"], item["is_active"]) for item in data["history"]] == [(3, True), (2, False), (1, False)]
    assert passes.verify(data["current"]["token"], keys.public_keys()).members == (gate.members[0].pk,)


def test_issue_refusals_are_400_in_chinese(gate: Gate) -> None:
    api = Api(gate.personas.community_worker)
    stranger = Household.objects.exclude(pk=gate.household.pk).first()
    assert stranger is not None
    other_member = stranger.members.first()
    assert other_member is not None

    foreign = api.post(f"/households/{gate.household.pk}/pass", {"members": [other_member.pk]})
    services.hold_set(household=gate.household, reason=HoldReason.SEALED)
    held = api.post(f"/households/{gate.household.pk}/pass")
    too_many = api.post(f"/households/{gate.household.pk}/pass", {"members": list(range(1, 10))})

    assert foreign.status_code == 400 and foreign.json()["detail"] == "指定外出人员必须是本户成员"
    assert held.status_code == 400 and held.json()["detail"] == "本户处于封控中，解除前不能发放通行证"
    assert too_many.status_code == 422
    assert HouseholdPass.objects.filter(household=gate.household).count() == 1


def test_revoke_then_nothing_left_to_revoke(gate: Gate) -> None:
    api = Api(gate.personas.community_worker)

    done = api.post(f"/households/{gate.household.pk}/pass/revoke", {"reason": "卡片遗失"})
    again = api.post(f"/households/{gate.household.pk}/pass/revoke", {"reason": "卡片遗失"})

    assert done.status_code == 200
    assert done.json()["status"] == "none" and done.json()["history"][0]["revoked_reason"] == "卡片遗失"
    assert again.status_code == 400 and again.json()["detail"] == "本户没有有效的通行证，无需作废"


def test_holds_set_and_release(gate: Gate) -> None:
    api = Api(gate.personas.community_worker)
    url = f"/households/{gate.household.pk}/holds"

    sealed = api.post(url, {"reason": "sealed", "note": "单元封控"})
    observed = api.post(url, {"reason": "home_observation"})
    unknown = api.post(url, {"reason": "party"})
    one = api.post(f"{url}/release", {"reason": "sealed"})
    rest = api.post(f"{url}/release")
    none = api.post(f"{url}/release")

    assert sealed.status_code == 200 and sealed.json()["status"] == "held" and sealed.json()["hold"] == "sealed"
    assert observed.json()["hold"] == "sealed"  # sealed outranks home observation
    assert unknown.status_code == 422
    assert one.json() == {"released": 1, "hold": "home_observation"}
    assert rest.json() == {"released": 1, "hold": None}
    assert none.json() == {"released": 0, "hold": None}
    assert api.get(f"/households/{gate.household.pk}/pass").json()["status"] == "valid"


def test_bulk_issue_and_compound_list(gate: Gate) -> None:
    tree = gate.personas.tree
    api = Api(gate.personas.street_command)
    services.hold_set(household=tree.households[f"{tree.b2.code}/1单元/201"], reason=HoldReason.OTHER)

    outcome = api.post(f"/compounds/{tree.p1.pk}/passes/issue-missing")
    rows = api.get(f"/compounds/{tree.p1.pk}/passes").json()

    assert outcome.status_code == 200
    assert outcome.json() == {"issued": 7, "renewed": 0, "already": 1, "held": 1, "no_members": 0}
    assert len(rows) == 9
    assert sorted(row["status"] for row in rows) == ["held"] + ["valid"] * 8
    assert {row["room"]: row["hold"] for row in rows}["2号楼1单元201"] == "other"


def test_staff_endpoints_refuse_other_roles_and_other_communities(gate: Gate) -> None:
    personas = gate.personas
    household = f"/households/{gate.household.pk}"
    compound = f"/compounds/{personas.tree.p1.pk}"
    calls = [
        ("get", f"{household}/pass", None),
        ("post", f"{household}/pass", {}),
        ("post", f"{household}/pass/revoke", {"reason": "x"}),
        ("post", f"{household}/holds", {"reason": "sealed"}),
        ("post", f"{household}/holds/release", {}),
        ("get", f"{compound}/passes", None),
        ("post", f"{compound}/passes/issue-missing", {}),
    ]
    for user, status in (
        (personas.outsider, 404),
        (personas.gate_guard, 403),
        (personas.medic, 403),
        (personas.supplier, 403),
        (personas.resident, 403),
    ):
        api = Api(user)
        for method, path, body in calls:
            response = api.get(path) if method == "get" else api.post(path, body)
            assert response.status_code == status, (user, method, path, response.status_code)
    gate.household_pass.refresh_from_db()
    assert gate.household_pass.is_active and services.active_hold(gate.household.pk) is None


def test_resident_gets_their_own_pass_or_the_reason_there_is_none(gate: Gate) -> None:
    api = Api(gate.personas.resident)

    shown = api.get("/my-pass").json()
    services.hold_set(household=gate.household, reason=HoldReason.SEALED, source="health")
    held = api.get("/my-pass").json()

    assert shown["token"] == gate.household_pass.token and shown["number"] == gate.household_pass.number
    assert shown["status"] == "valid" and shown["members"] == [gate.members[0].name]
    assert held["status"] == "held" and held["hold"] == "sealed"
    assert held["token"] == "" and held["number"] == ""
    assert "封控" in held["hold_explanation"]
    assert Api(gate.personas.community_worker).get("/my-pass").status_code == 403
