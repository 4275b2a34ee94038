"""A compound's rules and checkpoints, set by the community (A1, A2, A10): pages, API, audit, scope."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from linli.audit.models import AuditEvent
from linli.gate import rules, services
from linli.gate.choices import RiskLevel
from linli.gate.models import Checkpoint, GateRules, Shift
from linli.lib.testing import Personas

pytestmark = pytest.mark.django_db


def rules_form(**overrides: Any) -> dict[str, Any]:
    data = {
        "risk_level": "medium",
        "log_when_open": "on",
        "mode": "quota",
        "outings_per_period": "1",
        "period_days": "2",
        "max_hours_out": "3",
        "out_from": "06:00",
        "out_until": "20:00",
        "period_anchor": "2020-01-01",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_defaults_are_one_outing_per_two_days_and_three_hours(personas: Personas) -> None:
    gate_rules = services.rules_for(personas.tree.p1)

    assert (gate_rules.risk_level, gate_rules.mode) == (RiskLevel.LOW, "quota")
    assert (gate_rules.outings_per_period, gate_rules.period_days, gate_rules.max_hours_out) == (1, 2, 3)


def test_community_worker_sets_rules_and_the_risk_change_is_audited(personas: Personas, client_for: Any) -> None:
    # given
    client = client_for(personas.community_worker)
    url = reverse("gate:rules", kwargs={"pk": personas.tree.p1.pk})

    # when
    response = client.post(url, rules_form(outings_per_period="2", period_days="3", max_hours_out="2.5"))

    # then
    assert response.status_code == 302
    gate_rules = GateRules.objects.get(compound=personas.tree.p1)
    assert (gate_rules.risk_level, gate_rules.outings_per_period, gate_rules.period_days) == ("medium", 2, 3)
    assert str(gate_rules.max_hours_out) == "2.5"
    event = AuditEvent.objects.filter(model="gate.GateRules").latest("pk")
    assert event.changes["risk_level"] == ["low", "medium"]
    assert event.community_id == personas.tree.c1.pk
    assert event.actor == personas.community_worker


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("period_days", "0", "周期天数至少为1天"),
        ("period_days", "31", "周期天数不能超过30天"),
        ("outings_per_period", "0", "每周期外出次数至少为1次"),
        ("max_hours_out", "0", "每次外出最长小时数必须大于0"),
        ("max_hours_out", "-1", "每次外出最长小时数必须大于0"),
        ("max_hours_out", "25", "每次外出最长不能超过24小时"),
        ("max_hours_out", "1e5", "每次外出最长不能超过24小时"),
        ("max_hours_out", "2.25", "最多保留一位小数"),
        ("max_hours_out", "abc", "应为数字"),
        ("out_until", "06:00", "允许外出的开始和结束时间不能相同"),
        ("period_anchor", "", "请填写周期起算日"),
    ],
)
def test_bad_rules_are_refused_in_chinese_and_nothing_is_saved(
    personas: Personas, client_for: Any, field: str, value: str, message: str
) -> None:
    client = client_for(personas.community_worker)
    url = reverse("gate:rules", kwargs={"pk": personas.tree.p1.pk})

    response = client.post(url, rules_form(**{field: value}))

    assert response.status_code == 400
    assert response.content.decode().count(message) == 1  # said once, beside the field
    gate_rules = services.rules_for(personas.tree.p1)
    assert gate_rules.risk_level == RiskLevel.LOW  # the valid fields of the same form were not saved either


def test_service_refuses_the_whole_change_when_one_value_is_bad(personas: Personas) -> None:
    gate_rules = services.rules_for(personas.tree.p1)

    with pytest.raises(ValidationError) as error:
        rules.rules_update(rules=gate_rules, actor=personas.community_worker, risk_level="high", period_days=0)

    assert error.value.message_dict == {"period_days": ["周期天数至少为1天"]}
    assert GateRules.objects.get(pk=gate_rules.pk).risk_level == RiskLevel.LOW
    assert not AuditEvent.objects.filter(model="gate.GateRules").exists()


def test_closed_compound_shows_the_six_ones_checklist_with_progress_and_a_warning(
    personas: Personas, client_for: Any
) -> None:
    # given: medium risk, two of six ticked
    gate_rules = services.rules_for(personas.tree.p1)
    rules.rules_update(
        rules=gate_rules, actor=personas.community_worker, risk_level="medium", six_entrance=True, six_team=True
    )
    client = client_for(personas.community_worker)
    url = reverse("gate:rules", kwargs={"pk": personas.tree.p1.pk})

    # when
    page = client.get(url).content.decode()
    client.post(url, rules_form(**{name: "on" for name in GateRules.SIX_FIELDS}))
    complete = client.get(url).content.decode()

    # then
    assert 'id="six-progress">2/6<' in page
    assert "“六个一”尚未全部落实" in page
    assert 'id="six-progress">6/6<' in complete
    assert "尚未全部落实" not in complete


def test_low_risk_shows_open_entrances_without_the_warning(personas: Personas, client_for: Any) -> None:
    page = client_for(personas.community_worker).get(reverse("gate:rules", kwargs={"pk": personas.tree.p1.pk}))

    assert "出入不受限制" in page.content.decode()
    assert "尚未全部落实" not in page.content.decode()


def test_grid_worker_and_guard_see_the_rules_but_cannot_change_them(personas: Personas, client_for: Any) -> None:
    url = reverse("gate:rules", kwargs={"pk": personas.tree.p1.pk})
    for user in (personas.grid_worker, personas.gate_guard):
        client = client_for(user)
        assert client.get(url).status_code == 200
        assert client.post(url, rules_form()).status_code == 403
    assert services.rules_for(personas.tree.p1).risk_level == RiskLevel.LOW


def test_rules_of_another_community_are_not_found_and_residents_are_refused(
    personas: Personas, client_for: Any
) -> None:
    url = reverse("gate:rules", kwargs={"pk": personas.tree.p3.pk})
    assert client_for(personas.community_worker).get(url).status_code == 404
    assert client_for(personas.community_worker).post(url, rules_form()).status_code == 404
    assert client_for(personas.resident).get(reverse("gate:rules_index")).status_code == 403
    assert client_for(personas.supplier).get(reverse("gate:rules_index")).status_code == 403


def test_rules_index_lists_only_compounds_in_scope_and_writes_nothing(personas: Personas, client_for: Any) -> None:
    page = client_for(personas.community_worker).get(reverse("gate:rules_index")).content.decode()

    assert "阳光小区" in page and "和谐家园" in page
    assert "团结新村" not in page
    assert not GateRules.objects.exists()


def test_checkpoint_create_rename_deactivate(personas: Personas, client_for: Any) -> None:
    # given
    client = client_for(personas.community_worker)
    url = reverse("gate:checkpoint_admin", kwargs={"pk": personas.tree.p1.pk})

    # when: created, with the default shifts
    assert client.post(url, {"action": "create", "new-name": "东门", "new-note": "主出入口"}).status_code == 302
    checkpoint = Checkpoint.objects.get(compound=personas.tree.p1, name="东门")
    assert Shift.objects.filter(checkpoint=checkpoint).count() == 3

    # a second one of the same name is refused
    response = client.post(url, {"action": "create", "new-name": "东门"})
    assert response.status_code == 400
    assert "本小区已有同名卡口" in response.content.decode()

    # renamed, then deactivated
    assert client.post(url, {"action": "rename", "checkpoint": checkpoint.pk, "name": "南门"}).status_code == 302
    assert client.post(url, {"action": "deactivate", "checkpoint": checkpoint.pk}).status_code == 302

    # then
    checkpoint.refresh_from_db()
    assert (checkpoint.name, checkpoint.is_active) == ("南门", False)
    assert AuditEvent.objects.filter(model="gate.Checkpoint", object_pk=str(checkpoint.pk)).count() == 3


def test_checkpoints_of_another_community_cannot_be_touched(personas: Personas, client_for: Any) -> None:
    theirs = services.checkpoint_create(compound=personas.tree.p3, name="北门", actor=personas.outsider)
    client = client_for(personas.community_worker)
    url = reverse("gate:checkpoint_admin", kwargs={"pk": personas.tree.p3.pk})
    own = reverse("gate:checkpoint_admin", kwargs={"pk": personas.tree.p1.pk})

    assert client.get(url).status_code == 404
    assert client.post(url, {"action": "deactivate", "checkpoint": theirs.pk}).status_code == 404
    # posting another community's checkpoint to one's own compound's page: not found either
    assert client.post(own, {"action": "deactivate", "checkpoint": theirs.pk}).status_code == 404
    assert client_for(personas.grid_worker).post(own, {"action": "create", "new-name": "西门"}).status_code == 403
    theirs.refresh_from_db()
    assert theirs.is_active


# --- API -----------------------------------------------------------------------------------------------


def api(client: Any, method: str, url: str, body: Any = None) -> Any:
    return client.generic(method, f"/api/v1/gate{url}", json.dumps(body or {}), content_type="application/json")


def test_api_reads_and_patches_rules(personas: Personas, client_for: Any) -> None:
    client = client_for(personas.community_worker)
    url = f"/compounds/{personas.tree.p1.pk}/rules"

    got = api(client, "GET", url).json()
    patched = api(client, "PATCH", url, {"risk_level": "high", "six": {"six_entrance": True}, "period_days": 1})

    assert got["outings_per_period"] == 1 and got["period_days"] == 2 and got["closed"] is False
    assert patched.status_code == 200
    assert patched.json()["closed"] is True
    assert (patched.json()["six_done"], patched.json()["six_complete"]) == (1, False)
    assert patched.json()["period_days"] == 1


@pytest.mark.parametrize("field", ["period_days", "outings_per_period"])
def test_api_refuses_true_for_a_number_of_the_rules(personas: Personas, client_for: Any, field: str) -> None:
    # given: a compound at 1 outing per 2 days
    client = client_for(personas.community_worker)
    url = f"/compounds/{personas.tree.p1.pk}/rules"

    # when: a client sends a boolean where a number belongs
    response = api(client, "PATCH", url, {field: True})

    # then: it is refused, and the rule is not quietly set to 1
    assert response.status_code == 422
    assert (
        response.json()["detail"]
        == {"period_days": "周期天数", "outings_per_period": "每周期外出次数"}[field] + "：应为整数"
    )
    assert (api(client, "GET", url).json()["outings_per_period"], api(client, "GET", url).json()["period_days"]) == (
        1,
        2,
    )


def test_api_refuses_bad_rules_with_the_field_and_a_chinese_message(personas: Personas, client_for: Any) -> None:
    client = client_for(personas.community_worker)
    url = f"/compounds/{personas.tree.p1.pk}/rules"

    response = api(client, "PATCH", url, {"period_days": 0, "outings_per_period": 0, "max_hours_out": "0"})
    unknown = api(client, "PATCH", url, {"six": {"six_party": True}})

    assert response.status_code == 400
    assert response.json()["errors"]["period_days"] == ["周期天数至少为1天"]
    assert response.json()["errors"]["outings_per_period"] == ["每周期外出次数至少为1次"]
    assert response.json()["errors"]["max_hours_out"] == ["每次外出最长小时数必须大于0"]
    assert unknown.status_code == 400


def test_api_rules_and_checkpoints_are_scoped_and_role_limited(personas: Personas, client_for: Any) -> None:
    theirs = f"/compounds/{personas.tree.p3.pk}"
    ours = f"/compounds/{personas.tree.p1.pk}"
    worker = client_for(personas.community_worker)
    assert api(worker, "GET", f"{theirs}/rules").status_code == 404
    assert api(worker, "PATCH", f"{theirs}/rules", {"risk_level": "high"}).status_code == 404
    assert api(worker, "POST", f"{theirs}/checkpoints", {"name": "北门"}).status_code == 404
    grid = client_for(personas.grid_worker)
    assert api(grid, "PATCH", f"{ours}/rules", {"risk_level": "high"}).status_code == 403
    assert api(grid, "POST", f"{ours}/checkpoints", {"name": "西门"}).status_code == 403
    assert not Checkpoint.objects.exists()


def test_api_creates_renames_and_deactivates_checkpoints(personas: Personas, client_for: Any) -> None:
    client = client_for(personas.community_worker)
    ours = f"/compounds/{personas.tree.p1.pk}"

    created = api(client, "POST", f"{ours}/checkpoints", {"name": "东门"})
    duplicate = api(client, "POST", f"{ours}/checkpoints", {"name": "东门"})
    checkpoint_id = created.json()["id"]
    renamed = api(client, "PATCH", f"/checkpoints/{checkpoint_id}", {"name": "南门", "is_active": False})
    listed = api(client, "GET", f"{ours}/checkpoints").json()

    assert created.status_code == 201
    assert duplicate.status_code == 400 and "同名" in duplicate.json()["detail"]
    assert renamed.status_code == 200
    assert listed == [
        {
            "id": checkpoint_id,
            "code": created.json()["code"],
            "name": "南门",
            "note": "",
            "is_active": False,
            "compound_id": personas.tree.p1.pk,
        }
    ]
