"""The health API (/api/v1/health/) with bearer tokens: the issue's story, refusals in Chinese, roles
(403) and scope (404), the resident limited to their own household, and the OpenAPI schema."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from linli.accounts.services import api_token_create
from linli.audit.models import AuditEvent
from linli.gate import services as gate_services
from linli.health import selectors
from linli.health.models import TestTask
from linli.lib.testing import Personas
from linli.registry.models import Household, Person

pytestmark = pytest.mark.django_db

API = "/api/v1/health"
ALL_TICKED = {"tested": True, "no_new_case": True, "disinfected": True}


class Api:
    """A bearer-token client of the health API that speaks JSON."""

    def __init__(self, user: Any) -> None:
        _token, key = api_token_create(user=user, name="health")
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    def get(self, path: str, **query: Any) -> Any:
        return self.client.get(f"{API}{path}", query)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.client.post(f"{API}{path}", body or {}, content_type="application/json")

    def patch(self, path: str, body: dict[str, Any]) -> Any:
        return self.client.patch(f"{API}{path}", body, content_type="application/json")


def today() -> datetime.date:
    return timezone.localdate()


def members(household: Household) -> list[Person]:
    return list(household.members.order_by("pk"))


def other_household(personas: Personas) -> Household:
    return personas.tree.households[f"{personas.tree.b1.code}/1单元/102"]


def c2_household(personas: Personas) -> Household:
    return personas.tree.households[f"{personas.tree.b4.code}/1单元/101"]


def test_returnee_is_registered_held_reports_a_fever_and_is_released_by_two_signatures(personas: Personas) -> None:
    # given: the street lists a medium-risk area; a returnee from its county arrived 14 days ago
    street, worker, medic = Api(personas.street_command), Api(personas.community_worker), Api(personas.medic)
    resident = Api(personas.resident)
    household = personas.resident_household
    person = members(household)[0]
    area = street.post(
        "/risk-areas",
        {
            "county": "某省某市某区",
            "name": "幸福街道",
            "level": "medium",
            "starts_on": str(today() - datetime.timedelta(30)),
        },
    )
    assert area.status_code == 201, area.content
    arrived = today() - datetime.timedelta(days=14)

    # when: registered with the category left to the risk areas
    registered = worker.post(
        f"/people/{person.pk}/key-person", {"category": "auto", "origin": "某省某市某区", "arrived_on": str(arrived)}
    )

    # then: a medium-risk returnee, 14 days at home from the arrival day, tested on days 1 and 14
    assert registered.status_code == 201, registered.content
    data = registered.json()
    assert data["key_person"]["category"] == "medium_risk_returnee"
    assert "中风险" in data["finding"]["reason"]
    order = data["order"]
    assert (order["place"], order["days"], order["starts_on"], order["planned_end"]) == (
        "home",
        14,
        str(arrived),
        str(arrived + datetime.timedelta(days=14)),
    )
    assert [t["due_on"] for t in order["tests"]] == [str(arrived), str(arrived + datetime.timedelta(days=13))]
    assert order["holds_pass"] and order["person"]["phone_masked"] != person.phone
    assert "*" in order["person"]["phone_masked"]
    assert gate_services.active_hold(household.pk) == "home_observation"

    # the resident reports a fever for their own member: the escalation opens with six timed steps
    fever = resident.post(f"/people/{person.pk}/temperatures", {"temperature": 37.8})
    assert fever.status_code == 201, fever.content
    assert fever.json()["report"]["fever"] and not fever.json()["report"]["by_proxy"]
    escalation_id = fever.json()["escalation_id"]
    escalation = worker.get(f"/escalations/{escalation_id}").json()
    assert [s["step"] for s in escalation["steps"]][:2] == ["community_notified", "street_informed"]
    assert not escalation["overdue"] and [s["ready"] for s in escalation["steps"]] == [True] + [False] * 5
    early = medic.post(f"/escalations/{escalation_id}/steps", {"step": "ambulance_sent"})
    assert early.status_code == 422 and "请先完成" in early.json()["detail"]
    for step in ("community_notified", "street_informed", "centre_informed", "ambulance_sent", "at_fever_clinic"):
        assert worker.post(f"/escalations/{escalation_id}/steps", {"step": step}).status_code == 200
    closed = medic.post(f"/escalations/{escalation_id}/steps", {"step": "cdc_informed", "note": "已报区疾控"})
    assert closed.json()["status"] == "closed"
    assert closed.json()["steps"][-1]["done_by"] == "医生"

    # release is refused with every reason until the tests are negative and the fever is corrected
    refused = worker.post(f"/orders/{order['id']}/sign")
    assert refused.status_code == 422
    assert "没有核酸检测结果" in refused.json()["detail"] and "发热或症状" in refused.json()["detail"]
    for test in order["tests"]:
        recorded = medic.post(f"/tests/{test['id']}/result", {"result": "negative"})
        assert recorded.status_code == 200 and recorded.json()["result_label"] == "阴性"
    corrected = worker.post(
        f"/people/{person.pk}/temperatures", {"temperature": "36.5", "slot": fever.json()["report"]["slot"]}
    )
    assert corrected.status_code == 200 and corrected.json()["updated"] and corrected.json()["report"]["by_proxy"]
    assert worker.get(f"/orders/{order['id']}").json()["blockers"] == []

    # the cadre signs, cannot sign twice; the medic's signature releases the order and the pass
    first = worker.post(f"/orders/{order['id']}/sign")
    assert first.status_code == 200, first.content
    assert not first.json()["released"] and first.json()["order"]["signatures_missing"] == ["medic"]
    again = worker.post(f"/orders/{order['id']}/sign")
    assert again.status_code == 422 and "您已签字" in again.json()["detail"]
    second = medic.post(f"/orders/{order['id']}/sign")
    assert second.status_code == 200 and second.json()["released"]
    assert second.json()["order"]["status"] == "released"
    assert [s["role"] for s in second.json()["order"]["signatures"]] == ["cadre", "medic"]
    assert gate_services.active_hold(household.pk) is None


def test_case_status_contacts_points_seal_and_emergency_through_the_api(personas: Personas) -> None:
    # given
    worker, medic = Api(personas.community_worker), Api(personas.medic)
    c1 = personas.tree.c1
    home = personas.resident_household
    patient, contact = members(home)
    neighbour = members(other_household(personas))[0]

    # when: two confirmed cases in one unit, of known source
    first = medic.post(
        f"/communities/{c1.pk}/cases",
        {"person_id": patient.pk, "source": "known", "onset_date": str(today() - datetime.timedelta(days=2))},
    )
    assert first.status_code == 201, first.content
    status = worker.get(f"/communities/{c1.pk}/status").json()
    assert (status["status"], status["strategy"], len(status["measures"])) == ("case", "内防扩散、外防输出", 8)
    medic.post(f"/communities/{c1.pk}/cases", {"person_id": neighbour.pk, "source": "known"})

    # then: an outbreak in a small range, explained with both cases, and recorded in the history
    status = worker.get(f"/communities/{c1.pk}/status").json()
    assert status["status"] == "outbreak" and status["status_label"] == "暴发疫情"
    assert len(status["case_ids"]) == 2 and status["outbreaks"] == [status["case_ids"]]
    assert "小范围" in status["explanation"] and [h["status"] for h in status["history"]] == ["outbreak", "case"]
    case_id = first.json()["id"]

    # a close contact is registered and put under 14 days of centralized observation
    linked = worker.post(f"/cases/{case_id}/contacts/{contact.pk}", {"kind": "home"})
    assert linked.status_code == 201, linked.content
    order = worker.get(f"/orders/{linked.json()['order_id']}").json()
    assert (order["category"], order["place"], order["days"]) == ("close_contact", "centralized", 14)
    point = worker.post(
        f"/cases/{case_id}/points", {"place": "幸福菜场", "visited_on": str(today()), "hours": 2, "kind": "other"}
    )
    assert point.status_code == 201, point.content
    detail = worker.get(f"/cases/{case_id}").json()
    assert [c["person_id"] for c in detail["contacts"]] == [contact.pk] and detail["points"][0]["place"] == "幸福菜场"

    # the unit is suggested and sealed: passes held, supplies contactless, members tested and chased
    suggestions = worker.get(f"/communities/{c1.pk}/seal-suggestions").json()
    assert [(s["level"], s["unit_id"]) for s in suggestions] == [("unit", home.unit_id)]
    sealed = worker.post(f"/units/{home.unit_id}/seal", {"case_id": case_id, "reason": "单元内出现确诊病例"})
    assert sealed.status_code == 201, sealed.content
    seal = sealed.json()
    assert seal["households"] == 3 and seal["target"] == "1号楼1单元" and seal["blockers"]
    assert gate_services.active_hold(neighbour.household_id) == "sealed"
    assert selectors.contactless_households().filter(household=home).exists()
    # everyone in the unit reports once a day but the two cases (in hospital: neither tested nor chased)
    chase = worker.get("/chase", slot=1).json()
    assert {row["household_id"] for row in chase["rows"]} == {h.pk for h in Household.objects.filter(unit=home.unit)}
    assert {row["person_id"] for row in chase["rows"]}.isdisjoint({patient.pk, neighbour.pk})
    assert chase["due"] == 6 - 2 and all("*" in row["phone_masked"] for row in chase["rows"] if row["phone_masked"])
    assert TestTask.objects.filter(seal_id=seal["id"]).count() == 6 - 2
    summary = worker.get("/summary").json()
    assert summary["rows"][0]["monitored"] == 4 and summary["totals"]["missing_morning"] == 4

    # unsealing needs every test negative and every condition ticked
    refused = worker.post(f"/seals/{seal['id']}/release", {"conditions": ALL_TICKED})
    assert refused.status_code == 422 and "没有结果" in refused.json()["detail"]
    for task in TestTask.objects.filter(seal_id=seal["id"]):
        assert medic.post(f"/tests/{task.pk}/result", {"result": "negative"}).status_code == 200
    unticked = worker.post(f"/seals/{seal['id']}/release", {"conditions": {"tested": True}})
    assert unticked.status_code == 422 and "未确认" in unticked.json()["detail"]
    released = worker.post(f"/seals/{seal['id']}/release", {"conditions": ALL_TICKED, "note": "解封"})
    assert released.status_code == 200 and not released.json()["active"]
    assert gate_services.active_hold(neighbour.household_id) is None

    # the property company's emergency level and its checklist
    level = worker.post(f"/communities/{c1.pk}/emergencies", {"company": "阳光物业", "level": 1})
    assert level.status_code == 201 and level.json()["level_label"] == "一级（紧急）"
    item = level.json()["checklist"][1]["code"]
    ticked = worker.post(f"/emergencies/{level.json()['id']}/tick", {"item": item})
    assert ticked.json()["done"] == 1 and ticked.json()["checklist"][1]["done"]
    wrong = worker.post(f"/emergencies/{level.json()['id']}/tick", {"item": "l3_meeting"})
    assert wrong.status_code == 422 and wrong.json()["detail"] == "该等级没有这一事项"


def test_street_command_edits_the_rule_table_and_the_clock(personas: Personas) -> None:
    street, worker = Api(personas.street_command), Api(personas.community_worker)
    table = worker.get("/rules").json()
    assert len(table) == 8
    high = next(rule for rule in table if rule["category"] == "high_risk_returnee")
    assert (high["days"], high["place"], high["test_days"]) == (14, "centralized", [1, 7, 14])
    assert high["spec_default"]["test_days"] == [1, 7, 14]
    changed = street.patch(f"/rules/{high['id']}", {"days": 21, "test_days": [1, 7, 14, 21]})
    assert changed.status_code == 200 and changed.json()["tests"] == 4
    assert changed.json()["spec_default"]["days"] == 14
    clock = street.patch("/settings", {"fever_threshold": "37.5", "due_community_notified": 5})
    assert clock.status_code == 200 and clock.json()["fever_threshold"] == "37.5"
    assert worker.get("/settings").json()["due_community_notified"] == 5
    area = street.post("/risk-areas", {"county": "某县", "name": "某镇", "level": "high"}).json()
    ended = street.post(f"/risk-areas/{area['id']}/end", {})
    assert ended.status_code == 200 and ended.json()["ends_on"] == str(today())


def test_bad_input_is_answered_422_with_a_chinese_detail(personas: Personas) -> None:
    street, worker = Api(personas.street_command), Api(personas.community_worker)
    person = members(personas.resident_household)[0]
    rule = next(r for r in worker.get("/rules").json() if r["category"] == "medium_risk_returnee")

    cases: list[tuple[Any, str, str]] = [
        (
            worker.post(f"/people/{person.pk}/temperatures", {"temperature": "abc"}),
            "temperature",
            "请填写体温，如 36.5",
        ),
        (worker.post(f"/people/{person.pk}/temperatures", {"temperature": 45}), "temperature", "体温须在 34.0"),
        (worker.post(f"/people/{person.pk}/key-person", {"category": "tourist"}), "category", "未知的人员类别"),
        (worker.post(f"/people/{person.pk}/key-person", {}), "origin", "自动判定需要填写出发地"),
        (street.patch(f"/rules/{rule['id']}", {"test_days": [1, 20]}), "test_days", "检测日须在第 1 天到第 14 天之间"),
        (street.patch(f"/rules/{rule['id']}", {"days": None}), "days", "不能为空值"),
        (street.patch("/settings", {"afternoon_slot": "08:00"}), "afternoon_slot", "下午测温时间须晚于上午测温时间"),
        (
            worker.post(f"/communities/{personas.tree.c1.pk}/cases", {"source": "maybe"}),
            "source",
            "请选择感染来源是否明确",
        ),
    ]
    for response, field, message in cases:
        assert response.status_code == 422, response.content
        assert message in response.json()["detail"], response.json()
        assert any(message in m for m in response.json()["errors"][field])

    order = worker.post(f"/people/{person.pk}/key-person", {"category": "medium_risk_returnee"}).json()["order"]
    no_reason = worker.post(f"/orders/{order['id']}/extend", {"days": 3, "reason": " "})
    assert no_reason.status_code == 422 and no_reason.json()["errors"] == {"reason": ["请填写延期原因"]}
    extended = worker.post(f"/orders/{order['id']}/extend", {"days": 3, "reason": "复检阳性"})
    assert extended.json()["days"] == 17 and extended.json()["extensions"][0]["reason"] == "复检阳性"
    released_by_end = worker.post(f"/orders/{order['id']}/end", {"status": "released", "note": "期满"})
    assert released_by_end.json()["detail"] == "只能转运或撤销"
    malformed = worker.post(f"/orders/{order['id']}/extend", {"days": "many"})
    assert malformed.status_code == 422 and malformed.json()["detail"] == "天数：应为整数；原因：必填"
    future = worker.get("/chase", date=str(today() + datetime.timedelta(days=1)))
    assert future.status_code == 422 and future.json()["detail"] == "不能查看未来的日期"


def test_roles_outside_the_permission_sets_are_refused_with_403(personas: Personas) -> None:
    person = members(personas.resident_household)[0]
    order = Api(personas.community_worker).post(f"/people/{person.pk}/key-person", {"category": "close_contact"})
    order_id = order.json()["order"]["id"]
    rule_id = Api(personas.street_command).get("/rules").json()[0]["id"]
    c1 = personas.tree.c1.pk
    refusals = [
        (personas.gate_guard, "get", "/orders", None),
        (personas.supplier, "get", "/key-persons", None),
        (personas.resident, "get", "/chase", None),
        (personas.resident, "get", f"/orders/{order_id}", None),
        (personas.grid_worker, "patch", f"/rules/{rule_id}", {"days": 7}),
        (personas.community_worker, "patch", "/settings", {"fever_threshold": "38.0"}),
        (personas.building_lead, "post", f"/orders/{order_id}/sign", None),
        (personas.building_lead, "post", f"/people/{person.pk}/key-person", {"category": "close_contact"}),
        (personas.grid_worker, "post", f"/communities/{c1}/cases", {"source": "known"}),
        (personas.medic, "post", f"/units/{personas.resident_household.unit_id}/seal", {}),
        (personas.gate_guard, "post", f"/people/{person.pk}/temperatures", {"temperature": "36.5"}),
    ]
    for user, method, path, body in refusals:
        client = Api(user)
        response = client.get(path) if method == "get" else getattr(client, method)(path, body or {})
        assert response.status_code == 403, (user.username, method, path, response.content)
        assert response.json()["detail"] == "您的角色不能使用该功能"


def test_records_of_another_community_are_not_found(personas: Personas) -> None:
    # given: an order, a case, a seal and an emergency level in C1
    worker, outsider = Api(personas.community_worker), Api(personas.outsider)
    person = members(personas.resident_household)[0]
    order_id = worker.post(f"/people/{person.pk}/key-person", {"category": "close_contact"}).json()["order"]["id"]
    case_id = worker.post(f"/communities/{personas.tree.c1.pk}/cases", {"source": "known", "name": "甲"}).json()["id"]
    seal_id = worker.post(f"/units/{personas.resident_household.unit_id}/seal", {}).json()["id"]
    level_id = worker.post(f"/communities/{personas.tree.c1.pk}/emergencies", {"company": "阳光物业", "level": 3})
    test_id = TestTask.objects.filter(order_id=order_id).first().pk  # type: ignore[union-attr]

    # when / then: C2's worker finds none of them, cannot write to them, and its lists leave them out
    for method, path, body in [
        ("get", f"/orders/{order_id}", None),
        ("post", f"/orders/{order_id}/sign", None),
        ("post", f"/orders/{order_id}/extend", {"days": 1, "reason": "篡改"}),
        ("post", f"/tests/{test_id}/result", {"result": "positive"}),
        ("get", f"/cases/{case_id}", None),
        ("post", f"/cases/{case_id}/points", {"place": "篡改", "visited_on": str(today()), "hours": 2}),
        ("post", f"/seals/{seal_id}/release", {"conditions": ALL_TICKED}),
        ("post", f"/emergencies/{level_id.json()['id']}/tick", {"item": "l3_meeting"}),
        ("get", f"/communities/{personas.tree.c1.pk}/status", None),
        ("post", f"/people/{person.pk}/key-person", {"category": "close_contact"}),
        ("post", f"/people/{person.pk}/temperatures", {"temperature": "36.5"}),
        ("post", f"/households/{personas.resident_household.pk}/seal", {}),
    ]:
        response = outsider.get(path) if method == "get" else outsider.post(path, body)
        assert response.status_code == 404, (path, response.content)
        assert response.json()["detail"] == "未找到该记录，或不在您的负责范围内"
    assert outsider.get("/orders").json()["count"] == 0
    assert outsider.get("/cases", community=personas.tree.c1.pk).json()["items"] == []
    assert TestTask.objects.get(pk=test_id).result == "pending"
    # C1's worker cannot link a C2 person as a contact of a C1 case either
    stranger = members(c2_household(personas))[0]
    assert worker.post(f"/cases/{case_id}/contacts/{stranger.pk}", {}).status_code == 404


def test_resident_reports_and_reads_only_their_own_household(personas: Personas) -> None:
    resident = Api(personas.resident)
    own = members(personas.resident_household)[1]
    neighbour = members(other_household(personas))[0]

    reported = resident.post(f"/people/{own.pk}/temperatures", {"temperature": 36.4, "symptoms": ["cough"]})
    assert reported.status_code == 201, reported.content
    assert reported.json()["report"]["symptom_labels"] == ["咳嗽"] and reported.json()["escalation_id"] is None
    history = resident.get(f"/people/{own.pk}/temperatures").json()
    assert [(r["temperature"], r["by_proxy"]) for r in history] == [("36.4", False)]
    assert resident.post(f"/people/{neighbour.pk}/temperatures", {"temperature": 36.4}).status_code == 404
    assert resident.get(f"/people/{neighbour.pk}/temperatures").status_code == 404
    backdated = resident.post(
        f"/people/{own.pk}/temperatures", {"temperature": 36.4, "date": str(today() - datetime.timedelta(days=1))}
    )
    assert backdated.status_code == 422 and backdated.json()["detail"] == "居民只能上报当天的体温"
    # the building lead reports on the neighbour's behalf (代报)
    proxy = Api(personas.building_lead).post(f"/people/{neighbour.pk}/temperatures", {"temperature": "36.6"})
    assert proxy.status_code == 201 and proxy.json()["report"]["by_proxy"]


def test_openapi_schema_lists_the_health_paths(client: Client, personas: Personas) -> None:
    client.force_login(personas.admin)
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    health = {path for path in paths if path.startswith(f"{API}/")}
    for expected in (
        "/rules",
        "/rules/{rule_id}",
        "/risk-areas",
        "/risk-areas/{area_id}/end",
        "/settings",
        "/key-persons",
        "/people/{person_id}/key-person",
        "/orders",
        "/orders/{order_id}",
        "/orders/{order_id}/sign",
        "/orders/{order_id}/extend",
        "/orders/{order_id}/end",
        "/tests/{test_id}/result",
        "/people/{person_id}/temperatures",
        "/chase",
        "/summary",
        "/escalations",
        "/escalations/{escalation_id}",
        "/escalations/{escalation_id}/steps",
        "/cases",
        "/communities/{community_id}/cases",
        "/cases/{case_id}",
        "/cases/{case_id}/contacts/{person_id}",
        "/cases/{case_id}/points",
        "/communities/{community_id}/status",
        "/communities/{community_id}/seal-suggestions",
        "/seals",
        "/seals/{seal_id}",
        "/seals/{seal_id}/release",
        "/households/{household_id}/seal",
        "/units/{unit_id}/seal",
        "/buildings/{building_id}/seal",
        "/emergencies",
        "/communities/{community_id}/emergencies",
        "/emergencies/{emergency_id}",
        "/emergencies/{emergency_id}/tick",
    ):
        assert f"{API}{expected}" in health, expected
    assert paths[f"{API}/orders/{{order_id}}/sign"]["post"]["tags"] == ["health"]


def test_the_settings_api_edits_the_seal_report_counts_and_checks_the_threshold(personas: Personas) -> None:
    street = Api(personas.street_command)
    assert (
        street.get("/settings").json()["unit_seal_reports_per_day"],
        street.get("/settings").json()["building_seal_reports_per_day"],
    ) == (1, 2)

    changed = street.patch("/settings", {"unit_seal_reports_per_day": 2, "building_seal_reports_per_day": 1})
    too_many = street.patch("/settings", {"building_seal_reports_per_day": 3})
    too_hot = street.patch("/settings", {"fever_threshold": "45.0"})

    assert changed.status_code == 200
    assert (changed.json()["unit_seal_reports_per_day"], changed.json()["building_seal_reports_per_day"]) == (2, 1)
    assert too_many.status_code == 422 and "building_seal_reports_per_day" in too_many.json()["errors"]
    assert too_hot.status_code == 422
    assert too_hot.json()["errors"] == {"fever_threshold": ["发热阈值须在 36.0 到 39.0 ℃ 之间"]}
    sealed = Api(personas.community_worker).post(f"/units/{personas.resident_household.unit_id}/seal", {"reason": "x"})
    assert sealed.status_code == 201 and sealed.json()["reports_per_day"] == 2


def test_lifting_a_risk_area_through_the_api_is_audited_with_the_street(personas: Personas) -> None:
    street = Api(personas.street_command)
    area = street.post("/risk-areas", {"county": "某县", "name": "某镇", "level": "high"}).json()

    ended = street.post(f"/risk-areas/{area['id']}/end", {"ends_on": str(today() - datetime.timedelta(days=1))})

    assert ended.status_code == 422 and ended.json()["detail"] == "解除日期不能早于起始日期"
    assert street.post(f"/risk-areas/{area['id']}/end", {}).status_code == 200
    event = AuditEvent.objects.get(model="health.RiskArea", action="update")
    assert event.street_id == personas.tree.street.pk and event.changes == {"ends_on": [None, str(today())]}
