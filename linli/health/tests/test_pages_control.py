"""The control pages (H5–H8): cases with close contacts and epidemic points, the community status, the
contact graph, seals and property emergency levels — in Chinese, for their roles, in their scope."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from linli.gate import services as gate_services
from linli.gate.models import HouseholdHold
from linli.health import services
from linli.health.choices import Category, CommunityStatus, OrderStatus, Place, SealLevel
from linli.health.models import (
    Case,
    CloseContact,
    EpidemicPoint,
    PropertyEmergency,
    QuarantineOrder,
    Seal,
    StatusRecord,
    TestTask,
)
from linli.health.tests.conftest import Gate, Health
from linli.lib.testing import Personas
from linli.registry.models import Person

pytestmark = pytest.mark.django_db

PAGES = ("health:cases", "health:status", "health:graph", "health:seals", "health:emergencies")


def client_as(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text_of(response: Any) -> str:
    return response.content.decode()


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []


def today() -> datetime.date:
    return timezone.localdate()


def ago(days: int) -> datetime.date:
    return today() - datetime.timedelta(days=days)


def record_case(health: Health, *, person: Person | None = None, name: str = "", **fields: Any) -> Case:
    values: dict[str, Any] = {"kind": "confirmed", "confirmed_on": today(), "source": "known", **fields}
    return services.case_record(
        community=health.personas.tree.c1,
        person=person if person is not None else health.person,
        name=name,
        actor=health.personas.community_worker,
        **values,
    )


def seal_household(health: Health) -> Seal:
    return services.seal_create(
        level=SealLevel.HOUSEHOLD, target=health.household, actor=health.personas.community_worker
    )


def sealed_hold(health: Health) -> bool:
    return HouseholdHold.objects.filter(household=health.household, reason="sealed", released_at__isnull=True).exists()


def case_post(health: Health, **overrides: Any) -> dict[str, Any]:
    return {
        "community": health.personas.tree.c1.pk,
        "person": health.person.pk,
        "name": "",
        "kind": "confirmed",
        "onset_date": ago(3).isoformat(),
        "confirmed_on": ago(1).isoformat(),
        "isolated_on": ago(1).isoformat(),
        "source": "unknown",
        "source_note": "尚在调查",
        "cluster": "某某公司",
        "address": "",
        "note": "",
        **overrides,
    }


def scan_out(gate: Gate, hour: int) -> gate_services.ScanResult:
    """The household's pass scanned out today at ``hour`` (local time, inside the compound's outing hours)."""
    moment = datetime.datetime.combine(today(), datetime.time(hour), tzinfo=timezone.get_current_timezone())
    data = gate_services.ScanInput(
        uuid=uuid.uuid4(), credential=gate.household_pass.token, direction="out", device_time=moment
    )
    return gate_services.scan_record(gate.checkpoint, gate.personas.gate_guard, data, now=moment)


# --- pages for their roles, in Chinese ---


@pytest.mark.parametrize("role", ["street_command", "community_worker", "grid_worker", "building_lead", "medic"])
def test_every_control_page_renders_in_chinese_for_health_staff(health: Health, role: str) -> None:
    record_case(health)
    client = client_as(getattr(health.personas, role))
    headings = {
        "health:cases": "病例与密切接触者",
        "health:status": "社区疫情分级",
        "health:graph": "传播关系图",
        "health:seals": "封控建议",
        "health:emergencies": "物业应急等级",
    }
    for name in PAGES:
        response = client.get(reverse(name))
        assert response.status_code == 200, name
        text = text_of(response)
        assert '<html lang="zh-hans">' in text, name
        assert headings[name] in text, name


@pytest.mark.parametrize("role", ["supplier", "gate_guard", "resident"])
def test_roles_outside_health_get_403_on_every_control_page(personas: Personas, role: str) -> None:
    client = client_as(getattr(personas, role))
    for name in (*PAGES, "health:case_create", "health:seal_create"):
        assert client.get(reverse(name)).status_code == 403, name
    assert client.post(reverse("health:seal_confirm"), {}).status_code == 403


def test_the_anonymous_visitor_is_sent_to_the_login_page(personas: Personas) -> None:
    response = Client().get(reverse("health:cases"))

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- cases, contacts, points ---


def test_a_case_recorded_on_the_form_is_saved_and_the_status_explains_it(health: Health) -> None:
    client = client_as(health.personas.community_worker)
    assert "登记病例" in text_of(client.get(reverse("health:case_create")))

    response = client.post(reverse("health:case_create"), case_post(health))

    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("health:case", kwargs={"pk": case.pk})
    assert (case.person, case.household, case.name) == (health.person, health.household, health.person.name)
    assert (case.source, case.cluster, case.onset_date) == ("unknown", "某某公司", ago(3))
    page = client.get(response["Location"])
    assert any("出现病例" in m and "内防扩散、外防输出" in m for m in messages_of(page))
    status = text_of(client.get(reverse("health:status_community", kwargs={"pk": case.community_id})))
    assert "出现病例" in status and "出现确诊病例，尚无续发" in status and health.person.name in status
    assert "8. 消毒" in status and "（当前分级不要求）" in status  # measures 9 and 10 are not required
    record = StatusRecord.objects.get()
    assert (record.status, record.case_ids) == (CommunityStatus.CASE, [case.pk])


def test_onset_after_confirmation_is_refused_in_chinese(health: Health) -> None:
    client = client_as(health.personas.community_worker)

    response = client.post(
        reverse("health:case_create"), case_post(health, onset_date=ago(0).isoformat(), confirmed_on=ago(2).isoformat())
    )

    assert response.status_code == 400
    assert "发病日期不能晚于确诊日期" in text_of(response)
    assert not Case.objects.exists()


def test_a_case_needs_a_name_or_a_person_and_a_community_in_scope(health: Health) -> None:
    client = client_as(health.personas.community_worker)

    no_name = client.post(reverse("health:case_create"), case_post(health, person=""))
    other = client.post(reverse("health:case_create"), case_post(health, community=health.personas.tree.c2.pk))

    assert no_name.status_code == 400 and "请填写姓名，或从台账中选择人员" in text_of(no_name)
    assert other.status_code == 400 and "所选社区不存在或不在您的管辖范围内" in text_of(other)
    assert not Case.objects.exists()


def test_the_person_search_lists_only_people_in_scope(health: Health) -> None:
    client = client_as(health.personas.community_worker)
    url = reverse("health:case_create")

    found = client.get(url, {"q": "户主101"}, headers={"HX-Request": "true"})

    assert found.status_code == 200
    people = {p.pk for p in found.context["results"]}
    assert health.person.pk in people
    assert all(Person.objects.get(pk=pk).household.community_id == health.personas.tree.c1.pk for pk in people)


def test_a_close_contact_is_registered_as_a_key_person_with_an_order_in_one_step(health: Health) -> None:
    case = record_case(health)
    contact_person = health.others[0]
    client = client_as(health.personas.medic)
    url = reverse("health:case", kwargs={"pk": case.pk})
    assert "登记密切接触者" in text_of(client.get(url))

    response = client.post(
        url,
        {
            "action": "contact",
            "contact-person": contact_person.pk,
            "contact-kind": "home",
            "contact-last_contact_on": ago(1).isoformat(),
        },
    )

    assert response.status_code == 302
    contact = CloseContact.objects.get()
    assert (contact.case, contact.person, contact.kind) == (case, contact_person, "home")
    assert contact.key_person is not None and contact.key_person.category == Category.CLOSE_CONTACT
    order = QuarantineOrder.objects.get(key_person=contact.key_person)
    assert (order.status, order.place) == (OrderStatus.ACTIVE, Place.CENTRALIZED)
    page = client.get(url)
    assert any("已登记为重点人员并开始集中隔离" in m for m in messages_of(page))
    assert reverse("health:order", kwargs={"pk": order.pk}) in text_of(page)

    again = client.post(url, {"action": "contact", "contact-person": contact_person.pk, "contact-kind": "home"})
    assert again.status_code == 400 and "已是该病例的密切接触者" in text_of(again)


def test_an_epidemic_point_outside_the_window_is_refused_with_the_dates(health: Health) -> None:
    case = record_case(health, onset_date=ago(5), isolated_on=ago(1), confirmed_on=ago(1))
    client = client_as(health.personas.community_worker)
    url = reverse("health:case", kwargs={"pk": case.pk})
    point = {"action": "point", "point-kind": "office", "point-place": "某某公司三楼", "point-hours": "3"}

    early = client.post(url, {**point, "point-visited_on": ago(9).isoformat()})
    assert early.status_code == 400
    assert f"到访日期须在 {ago(8).isoformat()} 至 {ago(1).isoformat()} 之间" in text_of(early)

    short = client.post(url, {**point, "point-visited_on": ago(6).isoformat(), "point-hours": "0.5"})
    assert short.status_code == 400 and "停留超过 1 小时的场所才列为疫点" in text_of(short)

    not_a_number = client.post(url, {**point, "point-visited_on": ago(6).isoformat(), "point-hours": "半天"})
    assert not_a_number.status_code == 400 and "请填写停留小时数" in text_of(not_a_number)
    assert not EpidemicPoint.objects.exists()

    saved = client.post(url, {**point, "point-visited_on": ago(8).isoformat()})
    assert saved.status_code == 302
    assert EpidemicPoint.objects.get().place == "某某公司三楼"
    assert "某某公司三楼" in text_of(client.get(url))


def test_a_case_isolated_before_its_point_window_shows_and_refuses_no_points(health: Health) -> None:
    # given: a contact in quarantine for ten days who then fell ill
    case = record_case(health, onset_date=ago(2), isolated_on=ago(10), confirmed_on=ago(1))
    client = client_as(health.personas.community_worker)
    url = reverse("health:case", kwargs={"pk": case.pk})

    page = client.get(url)
    refused = client.post(
        url,
        {
            "action": "point",
            "point-kind": "office",
            "point-place": "某某公司三楼",
            "point-hours": "3",
            "point-visited_on": ago(5).isoformat(),
        },
    )

    assert "该病例在疫点追溯起点（发病前 3 天）之前已隔离，没有需要追溯的疫点。" in text_of(page)
    assert "疫点范围" not in text_of(page) and "未填写发病日期" not in text_of(page)
    assert refused.status_code == 400
    assert f"该病例 {ago(10).isoformat()} 已隔离，早于疫点追溯起点 {ago(5).isoformat()}" in text_of(refused)
    assert "之间" not in text_of(refused)
    assert not EpidemicPoint.objects.exists()


def test_a_grid_worker_sees_his_communitys_cases_read_only(health: Health) -> None:
    case = record_case(health)
    client = client_as(health.personas.grid_worker)
    url = reverse("health:case", kwargs={"pk": case.pk})

    assert case.name in text_of(client.get(reverse("health:cases")))
    page = text_of(client.get(url))
    assert case.name in page and 'id="contact-form"' not in page and 'id="point-form"' not in page
    assert client.get(reverse("health:case_create")).status_code == 403
    refused = client.post(url, {"action": "contact", "contact-person": health.others[0].pk, "contact-kind": "home"})
    assert refused.status_code == 403
    assert not CloseContact.objects.exists()


def test_the_other_communitys_worker_gets_404_on_c1s_records(health: Health) -> None:
    case = record_case(health)
    seal = services.seal_create(
        level=SealLevel.HOUSEHOLD, target=health.household, actor=health.personas.community_worker
    )
    emergency = services.emergency_set(
        community=health.personas.tree.c1, company="阳光物业", level=3, actor=health.personas.community_worker
    )
    client = client_as(health.personas.outsider)

    for url in (
        reverse("health:case", kwargs={"pk": case.pk}),
        reverse("health:seal", kwargs={"pk": seal.pk}),
        reverse("health:status_community", kwargs={"pk": case.community_id}),
        reverse("health:emergency", kwargs={"pk": emergency.pk}),
        f"{reverse('health:graph')}?case={case.pk}",
        f"{reverse('health:graph')}?community={case.community_id}",
        f"{reverse('health:cases')}?community={case.community_id}",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("health:case", kwargs={"pk": case.pk}), {"action": "point"}).status_code == 404
    unseal = {"action": "unseal", "cond_tested": "on", "cond_no_new_case": "on", "cond_disinfected": "on"}
    assert client.post(reverse("health:seal", kwargs={"pk": seal.pk}), unseal).status_code == 404
    confirm = {"community": case.community_id, "level": "unit", "target": health.household.unit_id}
    assert client.post(reverse("health:seal_confirm"), confirm).status_code == 404
    assert case.name not in text_of(client.get(reverse("health:cases")))
    assert "阳光物业" not in text_of(client.get(reverse("health:emergencies")))


# --- status ---


def test_the_street_sees_every_communitys_status_in_one_table_with_colours(health: Health) -> None:
    first = record_case(health)
    record_case(health, person=health.others[0])  # the same household: an outbreak

    page = client_as(health.personas.street_command).get(reverse("health:status"))

    text = text_of(page)
    rows = {row["community"].name: row for row in page.context["rows"]}
    assert set(rows) == {"幸福社区", "团结社区"}
    assert rows["幸福社区"]["finding"].status == CommunityStatus.OUTBREAK and rows["幸福社区"]["css"] == "high"
    assert rows["团结社区"]["finding"].status == CommunityStatus.NO_CASE and rows["团结社区"]["css"] == "ok"
    assert "st st-high" in text and "暴发疫情" in text and "未发现病例" in text
    history = text_of(
        client_as(health.personas.community_worker).get(
            reverse("health:status_community", kwargs={"pk": first.community_id})
        )
    )
    assert history.count('class="row-') == 2  # 出现病例, then 暴发疫情
    assert "同一家庭、场所或单元" in history


# --- graph ---


def test_the_contact_graph_embeds_the_escaped_svg_with_a_legend(health: Health) -> None:
    case = record_case(health, name="<script>alert(1)</script>", person=None)
    services.contact_add(case, person=health.others[0], kind="home", actor=health.personas.community_worker)
    client = client_as(health.personas.community_worker)

    for query in ({"case": case.pk}, {"community": case.community_id}, {}):
        text = text_of(client.get(reverse("health:graph"), query))
        assert "<svg" in text and 'class="contact-graph"' in text
        assert "<script>alert(1)</script>" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
        assert health.others[0].name in text and "同住" in text
        assert 'id="graph-legend"' in text and "密接后确诊为病例" in text
    assert client.get(reverse("health:graph"), {"case": "x"}).status_code == 404


# --- seals ---


def test_confirming_a_suggested_seal_makes_the_gate_refuse_the_household(health: Health, gate: Gate) -> None:
    assert scan_out(gate, 9).scan.verdict == "allowed"
    case = record_case(health)
    client = client_as(health.personas.community_worker)
    page = client.get(reverse("health:seals"))
    [row] = page.context["suggestions"]
    assert row["suggestion"].unit == health.household.unit and row["can_confirm"]
    assert "确认封控" in text_of(page)

    response = client.post(
        reverse("health:seal_confirm"),
        {"community": case.community_id, "level": "unit", "target": health.household.unit_id},
    )

    seal = Seal.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("health:seal", kwargs={"pk": seal.pk})
    assert (seal.level, seal.unit, seal.case, seal.sealed_by) == (
        SealLevel.UNIT,
        health.household.unit,
        case,
        health.personas.community_worker,
    )
    refused = scan_out(gate, 11)
    assert (refused.scan.verdict, refused.scan.reason) == ("refused", "sealed")
    detail = text_of(client.get(response["Location"]))
    assert "封控中" in detail and "每日消杀不少于 2 次" in detail and health.household.address in detail
    assert health.person.masked_phone in detail and health.person.phone not in detail
    assert "今日未报体温" in detail
    # the suggestion is gone, and a second confirmation is refused
    assert client.get(reverse("health:seals")).context["suggestions"] == []
    again = client.post(
        reverse("health:seal_confirm"),
        {"community": case.community_id, "level": "unit", "target": health.household.unit_id},
        follow=True,
    )
    assert any("该封控建议已处理或已失效" in m for m in messages_of(again))
    assert Seal.objects.count() == 1


def test_a_grid_worker_sees_suggestions_but_cannot_confirm_them(health: Health) -> None:
    case = record_case(health)
    client = client_as(health.personas.grid_worker)

    page = client.get(reverse("health:seals"))

    assert [row["can_confirm"] for row in page.context["suggestions"]] == [False]
    confirm = {"community": case.community_id, "level": "unit", "target": health.household.unit_id}
    assert client.post(reverse("health:seal_confirm"), confirm).status_code == 403
    assert client.get(reverse("health:seal_confirm")).status_code == 405
    assert not Seal.objects.exists()


def test_unseal_is_refused_until_the_tests_are_negative_and_the_conditions_ticked(health: Health, gate: Gate) -> None:
    client = client_as(health.personas.community_worker)
    seal = services.seal_create(
        level=SealLevel.HOUSEHOLD, target=health.household, actor=health.personas.community_worker
    )
    url = reverse("health:seal", kwargs={"pk": seal.pk})
    every = {"action": "unseal", "cond_tested": "on", "cond_no_new_case": "on", "cond_disinfected": "on"}
    members = health.household.members.count()
    assert "暂不能解封" in text_of(client.get(url))

    pending = client.post(url, every)
    assert pending.status_code == 400 and f"还有 {members} 人的核酸检测没有结果" in text_of(pending)

    for task in TestTask.objects.filter(seal=seal):
        response = client.post(url, {"action": "test_result", "task": task.pk, "result": "negative"})
        assert response.status_code == 302
    assert set(TestTask.objects.filter(seal=seal).values_list("result", flat=True)) == {"negative"}

    unticked = client.post(url, {"action": "unseal", "cond_tested": "on"})
    assert unticked.status_code == 400
    assert "未确认：封控期间无新增病例、已完成终末消毒" in text_of(unticked)
    seal.refresh_from_db()
    assert seal.is_active
    assert sealed_hold(health)

    done = client.post(url, {**every, "note": "14 天无新增"})
    assert done.status_code == 302
    seal.refresh_from_db()
    assert not seal.is_active and seal.unseal_conditions == {"tested": True, "no_new_case": True, "disinfected": True}
    assert not HouseholdHold.objects.filter(
        household=health.household, reason="sealed", released_at__isnull=True
    ).exists()
    assert "已解封" in text_of(client.get(url))


def test_a_positive_test_blocks_the_unseal(health: Health) -> None:
    client = client_as(health.personas.medic)
    seal = services.seal_create(
        level=SealLevel.HOUSEHOLD, target=health.household, actor=health.personas.community_worker
    )
    url = reverse("health:seal", kwargs={"pk": seal.pk})
    first, *rest = TestTask.objects.filter(seal=seal).order_by("pk")

    assert client.post(url, {"action": "test_result", "task": first.pk, "result": "positive"}).status_code == 302
    for task in rest:
        client.post(url, {"action": "test_result", "task": task.pk, "result": "negative"})

    assert "封控范围内有核酸阳性人员" in text_of(client.get(url))
    every = {"action": "unseal", "cond_tested": "on", "cond_no_new_case": "on", "cond_disinfected": "on"}
    assert client.post(url, every).status_code == 403  # a medic records results but does not unseal


def test_a_household_is_sealed_by_hand_through_the_cascade(health: Health) -> None:
    tree = health.personas.tree
    client = client_as(health.personas.community_worker)
    url = reverse("health:seal_create")
    household = health.household

    step = client.get(url, {"compound": tree.p1.pk, "building": tree.b1.pk, "unit": household.unit_id})
    assert step.status_code == 200
    assert household.address in text_of(step) and tree.p3.name not in text_of(step)

    missing = client.post(url, {"level": "household", "compound": tree.p1.pk, "building": tree.b1.pk})
    assert missing.status_code == 400 and "请选择单元" in text_of(missing)
    c2_building = client.post(url, {"level": "building", "compound": tree.p3.pk, "building": tree.b4.pk})
    assert c2_building.status_code == 400 and "所选小区不存在或不在您的管辖范围内" in text_of(c2_building)

    response = client.post(
        url,
        {
            "level": "household",
            "compound": tree.p1.pk,
            "building": tree.b1.pk,
            "unit": household.unit_id,
            "household": household.pk,
            "reason": "密接居家",
        },
    )

    seal = Seal.objects.get()
    assert response.status_code == 302
    assert (seal.level, seal.household, seal.reason) == (SealLevel.HOUSEHOLD, household, "密接居家")
    twice = client.post(
        url,
        {
            "level": "household",
            "compound": tree.p1.pk,
            "building": tree.b1.pk,
            "unit": household.unit_id,
            "household": household.pk,
        },
    )
    assert twice.status_code == 400 and "该范围已在封控中" in text_of(twice)


# --- property emergency levels ---


def test_a_property_emergency_level_is_set_and_its_checklist_ticked(health: Health) -> None:
    tree = health.personas.tree
    client = client_as(health.personas.community_worker)
    page = client.get(reverse("health:emergencies"))
    assert "阳光物业" in text_of(page) and "阳光小区" in text_of(page)

    response = client.post(
        reverse("health:emergencies"), {"community": tree.c1.pk, "company": "阳光物业", "level": "3"}
    )

    emergency = PropertyEmergency.objects.get()
    url = reverse("health:emergency", kwargs={"pk": emergency.pk})
    assert response.status_code == 302 and response["Location"] == url
    detail = text_of(client.get(url))
    assert "三级（预警）" in detail and "物业总经理召开专项会议" in detail and "已完成 0 / 12 项" in detail

    assert client.post(url, {"item": "l3_meeting", "done": "on"}).status_code == 302
    assert "已完成 1 / 12 项" in text_of(client.get(url))
    assert client.post(url, {"item": "l1_closed", "done": "on"}).status_code == 400  # not an item of level 3
    assert client.post(url, {"item": "l3_meeting"}).status_code == 302  # untick
    emergency.refresh_from_db()
    assert emergency.done_items == []

    typed = client.post(reverse("health:emergencies"), {"community": tree.c1.pk, "company": "和谐物业", "level": "1"})
    assert typed.status_code == 302
    empty = client.post(reverse("health:emergencies"), {"community": tree.c1.pk, "company": " ", "level": "2"})
    assert empty.status_code == 400 and "请填写物业公司" in text_of(empty)
    other = client.post(reverse("health:emergencies"), {"community": tree.c2.pk, "company": "阳光物业", "level": "2"})
    assert other.status_code == 404
    assert PropertyEmergency.objects.count() == 2

    viewer = client_as(health.personas.grid_worker)
    assert "三级（预警）" in text_of(viewer.get(url))
    assert viewer.post(url, {"item": "l3_meeting", "done": "on"}).status_code == 403
