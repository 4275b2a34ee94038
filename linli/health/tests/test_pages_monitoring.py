"""The monitoring pages (H1–H4, H9): health home, key persons and orders, temperatures, chase list,
summary, fever escalations and the street's tables — in Chinese, for their roles, in their scope."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from linli.audit.models import AuditEvent
from linli.gate.models import HouseholdHold
from linli.health import rules, services
from linli.health.choices import Category, EscalationStatus, EscalationStep, OrderStatus
from linli.health.models import (
    FeverEscalation,
    HealthSettings,
    IsolationSite,
    KeyPerson,
    MeasureRule,
    QuarantineOrder,
    RiskArea,
    TemperatureReport,
    TestTask,
)
from linli.health.tests.conftest import Health
from linli.lib.testing import Personas
from linli.registry.models import Person

pytestmark = pytest.mark.django_db

ORIGIN = "某省某市某区"


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


@pytest.fixture
def area(health: Health) -> RiskArea:
    """A medium-risk area in the returnee's county, in force for the last month (whatever today is)."""
    return RiskArea.objects.create(
        street=health.personas.tree.street,
        county=ORIGIN,
        name="近期中风险区",
        level="medium",
        starts_on=today() - datetime.timedelta(days=30),
    )


def start_order(health: Health, *, days_ago: int = 1, category: str | None = None) -> QuarantineOrder:
    """The returnee registered ``days_ago`` days ago: reports are due from the day after (today, for 1)."""
    registered_at = timezone.now() - datetime.timedelta(days=days_ago)
    registration = services.key_person_register(
        health.person,
        category=category,
        origin=ORIGIN,
        arrived_on=timezone.localdate(registered_at),
        actor=health.personas.community_worker,
        now=registered_at,
    )
    assert registration.order is not None
    return registration.order


def order_url(order: QuarantineOrder) -> str:
    return reverse("health:order", kwargs={"pk": order.pk})


# --- the health home and the nav link ---


def test_health_home_shows_todays_numbers_in_chinese_for_staff(health: Health, area: RiskArea) -> None:
    start_order(health)
    response = client_as(health.personas.community_worker).get(reverse("health:index"))

    assert response.status_code == 200
    text = text_of(response)
    assert 'lang="zh-hans"' in text
    assert "健康监测与隔离管理" in text
    assert response.context["active_orders"] == 1
    assert response.context["due"] == 1
    assert response.context["missing"] == 1
    assert reverse("health:chase") in text and reverse("health:register") in text
    assert f'href="{reverse("health:index")}">健康</a>' in text  # the nav link


@pytest.mark.parametrize("persona", ["gate_guard", "supplier", "resident"])
def test_health_home_is_refused_to_roles_outside_health(personas: Personas, persona: str) -> None:
    response = client_as(getattr(personas, persona)).get(reverse("health:index"))
    assert response.status_code == 403


def test_health_nav_link_is_only_for_health_staff(personas: Personas) -> None:
    link = f'href="{reverse("health:index")}"'
    assert link in text_of(client_as(personas.medic).get(reverse("home")))
    assert link not in text_of(client_as(personas.gate_guard).get(reverse("gate:index")))


# --- registering a key person ---


def test_worker_registers_a_returnee_auto_classified_and_the_household_is_held(health: Health, area: RiskArea) -> None:
    # given
    client = client_as(health.personas.community_worker)
    found = client.get(reverse("health:register"), {"q": health.person.name}, headers={"HX-Request": "true"})
    assert found.status_code == 200
    assert f'value="{health.person.pk}"' in text_of(found)
    assert health.person.phone not in text_of(found)  # masked in the pick list

    # when
    response = client.post(
        reverse("health:register"),
        {"person": health.person.pk, "category": "", "origin": ORIGIN, "arrived_on": today().isoformat()},
        follow=True,
    )

    # then
    order = QuarantineOrder.objects.get(person=health.person)
    assert response.redirect_chain[-1][0] == order_url(order)
    assert order.category == Category.MEDIUM_RISK_RETURNEE and order.days == 14
    shown = " ".join(messages_of(response))
    assert "中风险地区返乡人员" in shown and "本户通行证已暂停" in shown
    assert HouseholdHold.objects.filter(household=health.household, released_at__isnull=True).exists()
    assert "隔离期未满" in text_of(response)


def test_registering_the_same_person_twice_is_refused_with_the_services_message(health: Health, area: RiskArea) -> None:
    client = client_as(health.personas.community_worker)
    data = {"person": health.person.pk, "category": "", "origin": ORIGIN, "arrived_on": today().isoformat()}
    assert client.post(reverse("health:register"), data).status_code == 302

    response = client.post(reverse("health:register"), data)

    assert response.status_code == 400
    assert f"{health.person.name} 已登记为该类重点人员" in text_of(response)
    assert KeyPerson.objects.filter(person=health.person).count() == 1


def test_register_form_errors_are_in_chinese(health: Health) -> None:
    client = client_as(health.personas.community_worker)

    no_person = client.post(reverse("health:register"), {"category": ""})
    no_origin = client.post(reverse("health:register"), {"person": health.person.pk, "category": ""})
    future = client.post(
        reverse("health:register"),
        {
            "person": health.person.pk,
            "category": Category.OTHER_PROVINCE,
            "arrived_on": (today() + datetime.timedelta(days=2)).isoformat(),
        },
    )

    assert no_person.status_code == 400 and "请先查找并选择人员" in text_of(no_person)
    assert "自动判定需要填写出发地（区县）或行程记录" in text_of(no_origin)
    assert "到达日期不能晚于今天" in text_of(future)
    assert not KeyPerson.objects.exists()


def test_register_is_refused_outside_the_roles_and_the_scope(health: Health) -> None:
    personas = health.personas
    data = {"person": health.person.pk, "category": Category.CLOSE_CONTACT}
    assert client_as(personas.supplier).get(reverse("health:register")).status_code == 403
    assert client_as(personas.building_lead).post(reverse("health:register"), data).status_code == 403
    # C2's worker cannot find, nor register, a person of C1.
    outsider = client_as(personas.outsider)
    found = outsider.get(reverse("health:register"), {"q": health.person.name}, headers={"HX-Request": "true"})
    assert f'value="{health.person.pk}"' not in text_of(found)
    assert outsider.post(reverse("health:register"), data).status_code == 404
    assert not KeyPerson.objects.exists()


def test_key_person_list_filters_and_stays_in_scope(health: Health, area: RiskArea) -> None:
    order = start_order(health)
    services.key_person_register(
        health.others[0], category=Category.LOW_RISK_RETURNEE, actor=health.personas.community_worker
    )
    client = client_as(health.personas.grid_worker)
    url = reverse("health:key_persons")

    everyone = client.get(url)
    held = client.get(url, {"status": "active"})
    low = client.get(url, {"category": Category.LOW_RISK_RETURNEE})
    by_name = client.get(url, {"q": health.others[0].name})

    assert everyone.status_code == 200 and "重点人员与隔离医学观察" in text_of(everyone)
    assert [row["key_person"].person_id for row in held.context["rows"]] == [health.person.pk]
    assert held.context["rows"][0]["order"] == order
    assert [row["key_person"].person_id for row in low.context["rows"]] == [health.others[0].pk]
    assert [row["key_person"].person_id for row in by_name.context["rows"]] == [health.others[0].pk]
    assert client_as(health.personas.outsider).get(url).context["rows"] == []


# --- the order page ---


def test_order_page_shows_rule_tests_and_release_panel_and_is_scoped(health: Health, area: RiskArea) -> None:
    order = start_order(health)
    personas = health.personas

    response = client_as(personas.medic).get(order_url(order))

    assert response.status_code == 200
    text = text_of(response)
    assert "中风险地区返乡人员" in text and "居家隔离" in text and "14 天" in text
    assert "隔离期未满" in text and "签字解除" in text and "阴性" in text
    assert client_as(personas.outsider).get(order_url(order)).status_code == 404
    assert client_as(personas.gate_guard).get(order_url(order)).status_code == 403
    assert client_as(personas.supplier).get(order_url(order)).status_code == 403
    # A building lead may read (and report for) but neither sign nor record results.
    lead = client_as(personas.building_lead).get(order_url(order))
    assert lead.status_code == 200 and "签字解除" not in text_of(lead) and 'value="test_result"' not in text_of(lead)


def test_order_notice_is_a_pdf(health: Health, area: RiskArea) -> None:
    order = start_order(health)
    response = client_as(health.personas.community_worker).get(reverse("health:order_notice", kwargs={"pk": order.pk}))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert (
        client_as(health.personas.outsider).get(reverse("health:order_notice", kwargs={"pk": order.pk})).status_code
        == 404
    )


def test_proxy_report_on_the_order_page_validates_in_chinese_and_saves(health: Health, area: RiskArea) -> None:
    order = start_order(health)
    client = client_as(health.personas.building_lead)

    typo = client.post(order_url(order), {"action": "report", "temperature": "abc"})
    too_hot = client.post(order_url(order), {"action": "report", "temperature": "50.0"})
    saved = client.post(order_url(order), {"action": "report", "temperature": "36,5", "slot": "1"}, follow=True)

    assert typo.status_code == 400 and "请填写体温，如 36.5" in text_of(typo)
    assert too_hot.status_code == 400 and "体温须在 34.0 到 43.0 ℃ 之间，请核对" in text_of(too_hot)
    report = TemperatureReport.objects.get(person=health.person)
    assert (report.temperature, report.slot, report.by_proxy) == (Decimal("36.5"), 1, True)
    assert any("已上报" in m for m in messages_of(saved))


def test_extension_needs_a_reason_and_moves_the_end(health: Health, area: RiskArea) -> None:
    order = start_order(health)
    client = client_as(health.personas.community_worker)

    missing = client.post(order_url(order), {"action": "extend", "days": "7", "reason": ""})
    too_long = client.post(order_url(order), {"action": "extend", "days": "99", "reason": "复阳"})
    done = client.post(order_url(order), {"action": "extend", "days": "7", "reason": "同住人员出现症状"}, follow=True)

    assert missing.status_code == 400 and "请填写延期原因" in text_of(missing)
    assert "延长天数须在 1 到 60 之间" in text_of(too_long)
    assert any("已延长 7 天" in m for m in messages_of(done))
    order.refresh_from_db()
    assert order.days == 21 and "同住人员出现症状" in text_of(done)


def test_end_by_transfer_needs_a_note_and_ends_the_order(health: Health, area: RiskArea) -> None:
    order = start_order(health)
    client = client_as(health.personas.community_worker)

    missing = client.post(order_url(order), {"action": "end", "status": "transferred", "note": ""})
    done = client.post(order_url(order), {"action": "end", "status": "transferred", "note": "转送集中隔离点"})

    assert missing.status_code == 400 and "请填写说明" in text_of(missing)
    assert done.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.TRANSFERRED
    assert not HouseholdHold.objects.filter(household=health.household, released_at__isnull=True).exists()


def test_release_is_refused_then_signed_by_the_cadre_and_the_medic(health: Health, area: RiskArea) -> None:
    # given: 14 days at home are complete today, but no test result yet
    order = start_order(health, days_ago=14, category=Category.MEDIUM_RISK_RETURNEE)
    assert order.planned_end == today()
    worker, medic = client_as(health.personas.community_worker), client_as(health.personas.medic)

    # when / then: refused with the reasons
    refused = worker.post(order_url(order), {"action": "sign"})
    assert refused.status_code == 400
    shown = " ".join(messages_of(refused))
    assert "没有核酸检测结果，解除前须检测阴性" in shown and "还有 2 次到期的核酸检测没有结果" in shown

    # the medic records both results negative from the page
    for task in TestTask.objects.filter(order=order):
        assert (
            medic.post(order_url(order), {"action": "test_result", "task": task.pk, "result": "negative"}).status_code
            == 302
        )
    assert not TestTask.objects.filter(order=order, result="pending").exists()

    # the cadre signs, cannot sign again, the medic's signature releases
    first = worker.post(order_url(order), {"action": "sign"}, follow=True)
    assert any("还需要另一方签字" in m for m in messages_of(first))
    again = worker.post(order_url(order), {"action": "sign"})
    assert again.status_code == 400 and any("您已签字" in m for m in messages_of(again))
    second = medic.post(order_url(order), {"action": "sign"}, follow=True)
    assert any("已解除隔离" in m for m in messages_of(second))
    order.refresh_from_db()
    assert order.status == OrderStatus.RELEASED
    assert sorted(order.signatures.values_list("role", flat=True)) == ["cadre", "medic"]


def test_sign_and_results_are_refused_to_other_roles(health: Health, area: RiskArea) -> None:
    order = start_order(health, days_ago=14, category=Category.MEDIUM_RISK_RETURNEE)
    task = TestTask.objects.filter(order=order).first()
    assert task is not None
    lead, grid = client_as(health.personas.building_lead), client_as(health.personas.grid_worker)
    assert lead.post(order_url(order), {"action": "sign"}).status_code == 403
    assert (
        grid.post(order_url(order), {"action": "test_result", "task": task.pk, "result": "negative"}).status_code == 403
    )
    assert client_as(health.personas.outsider).post(order_url(order), {"action": "sign"}).status_code == 404
    assert not order.signatures.exists()


# --- the resident's own page ---


def test_resident_reports_for_a_monitored_member_of_their_household(health: Health, area: RiskArea) -> None:
    start_order(health)
    client = client_as(health.personas.resident)
    url = reverse("health:me")

    page = client.get(url)
    typo = client.post(url, {"person": health.person.pk, f"p{health.person.pk}-temperature": "abc"})
    too_hot = client.post(url, {"person": health.person.pk, f"p{health.person.pk}-temperature": "50.0"})
    saved = client.post(
        url,
        {
            "person": health.person.pk,
            f"p{health.person.pk}-temperature": "36.6",
            f"p{health.person.pk}-symptoms": ["cough"],
        },
        follow=True,
    )

    assert page.status_code == 200
    assert "每日体温上报" in text_of(page) and health.person.name in text_of(page)
    assert typo.status_code == 400 and "请填写体温，如 36.5" in text_of(typo)
    assert too_hot.status_code == 400 and "体温须在 34.0 到 43.0 ℃ 之间，请核对" in text_of(too_hot)
    report = TemperatureReport.objects.get(person=health.person)
    assert report.temperature == Decimal("36.6") and report.symptoms == ["cough"] and not report.by_proxy
    assert any("已上报" in m for m in messages_of(saved))
    assert "36.6 ℃" in text_of(saved)


def test_resident_fever_opens_the_escalation_and_says_so(health: Health, area: RiskArea) -> None:
    start_order(health)
    response = client_as(health.personas.resident).post(
        reverse("health:me"), {"person": health.person.pk, f"p{health.person.pk}-temperature": "37.8"}, follow=True
    )
    assert any("已通知社区启动发热处置流程" in m for m in messages_of(response))
    assert FeverEscalation.objects.filter(person=health.person, status=EscalationStatus.OPEN).count() == 1


def test_resident_cannot_report_for_someone_outside_the_monitored_household(
    health: Health, area: RiskArea, personas: Personas
) -> None:
    start_order(health)
    stranger = Person.objects.filter(household__community=personas.tree.c2).first()
    assert stranger is not None
    client = client_as(personas.resident)

    other = client.post(reverse("health:me"), {"person": stranger.pk, f"p{stranger.pk}-temperature": "36.5"})
    unmonitored = client.post(
        reverse("health:me"), {"person": health.others[0].pk, f"p{health.others[0].pk}-temperature": "36.5"}
    )

    assert other.status_code == 404 and unmonitored.status_code == 404
    assert not TemperatureReport.objects.exists()


def test_me_page_is_for_residents_only(personas: Personas) -> None:
    assert client_as(personas.community_worker).get(reverse("health:me")).status_code == 403
    page = client_as(personas.resident).get(reverse("health:me"))
    assert page.status_code == 200 and "本户目前没有需要每日上报体温的人员" in text_of(page)


# --- chase list and summary ---


def test_chase_list_shows_who_has_not_reported_with_a_masked_phone(health: Health, area: RiskArea) -> None:
    start_order(health)
    url = reverse("health:chase")
    query = {"date": today().isoformat(), "slot": "1"}

    worker = client_as(health.personas.community_worker).get(url, query)
    street = client_as(health.personas.street_command).get(url, query)

    assert worker.status_code == 200 and "未报体温名单" in text_of(worker)
    assert [m.person_id for m in worker.context["rows"]] == [health.person.pk]
    text = text_of(worker)
    assert health.person.masked_phone in text and health.person.phone not in text
    assert reverse("registry:person_reveal", kwargs={"pk": health.person.pk, "field": "phone"}) in text
    # The street command may not reveal phones: no button.
    assert "显示并拨打" not in text_of(street)
    assert client_as(health.personas.outsider).get(url, query).context["rows"] == []

    services.temperature_report(health.person, temperature="36.5", slot=1, actor=health.personas.resident)
    after = client_as(health.personas.community_worker).get(url, query)
    assert after.context["rows"] == [] and "该时段应报人员已全部上报" in text_of(after)


def test_chase_and_summary_are_refused_to_gate_guard_and_supplier(personas: Personas) -> None:
    for name in ("health:chase", "health:summary", "health:escalations", "health:key_persons", "health:tables"):
        for persona in (personas.gate_guard, personas.supplier, personas.resident):
            assert client_as(persona).get(reverse(name)).status_code == 403, (name, persona)


def test_proxy_report_from_the_chase_list_returns_to_it(health: Health, area: RiskArea) -> None:
    start_order(health)
    chase = f"{reverse('health:chase')}?slot=1"
    url = reverse("health:person_report", kwargs={"pk": health.person.pk})
    client = client_as(health.personas.grid_worker)

    page = client.get(url, {"next": chase})
    response = client.post(url, {"temperature": "36.4", "slot": "1", "next": chase})

    assert page.status_code == 200 and "代报体温" in text_of(page)
    assert response.status_code == 302 and response["Location"] == chase
    assert TemperatureReport.objects.get(person=health.person).by_proxy
    assert client_as(health.personas.outsider).get(url).status_code == 404
    assert client_as(health.personas.gate_guard).get(url).status_code == 403


def test_daily_summary_per_community_with_the_due_time(health: Health, area: RiskArea) -> None:
    start_order(health)
    services.temperature_report(health.person, temperature="37.9", slot=1, actor=health.personas.resident)

    response = client_as(health.personas.street_command).get(reverse("health:summary"))

    assert response.status_code == 200
    text = text_of(response)
    assert "体温监测每日汇总" in text and "17:00" in text and "幸福社区" in text
    row = response.context["rows"][0]["row"]
    assert (row.monitored, row.reported_morning, row.fever, row.open_escalations) == (1, 1, 1, 1)
    assert 'style="width:100%"' in text  # the morning bar is full
    # The other community has nobody to monitor: it still appears, as a zero report (O1).
    zero = [item for item in response.context["rows"] if item.get("zero")]
    assert [item["row"].community_name for item in zero] == ["团结社区"]
    assert "零报告" in text


# --- fever escalations ---


def test_escalation_steps_are_done_in_order_and_close_it(health: Health, area: RiskArea) -> None:
    start_order(health)
    outcome = services.temperature_report(health.person, temperature="37.8", actor=health.personas.resident)
    escalation = outcome.escalation
    assert escalation is not None
    url = reverse("health:escalation", kwargs={"pk": escalation.pk})
    client = client_as(health.personas.grid_worker)

    listed = client.get(reverse("health:escalations"))
    early = client.post(url, {"step": "ambulance_sent"})
    assert listed.status_code == 200 and health.person.name in text_of(listed)
    assert early.status_code == 400 and any("请先完成“报告社区卫生服务中心”" in m for m in messages_of(early))

    for step in EscalationStep.values:
        response = client.post(url, {"step": step, "note": f"{step} 已办"}, follow=True)
        assert response.status_code == 200, step
    escalation.refresh_from_db()
    assert escalation.status == EscalationStatus.CLOSED
    page = client.get(url)
    assert "已完成" in text_of(page) and "完成于" in text_of(page) and "网格员" in text_of(page)


def test_escalation_pages_are_scoped_and_role_limited(health: Health, area: RiskArea) -> None:
    start_order(health)
    outcome = services.temperature_report(health.person, temperature="38.2", actor=health.personas.resident)
    assert outcome.escalation is not None
    url = reverse("health:escalation", kwargs={"pk": outcome.escalation.pk})
    personas = health.personas

    assert client_as(personas.outsider).get(url).status_code == 404
    assert client_as(personas.gate_guard).get(url).status_code == 403
    assert client_as(personas.building_lead).get(url).status_code == 200
    assert client_as(personas.building_lead).post(url, {"step": "community_notified"}).status_code == 403
    assert client_as(personas.outsider).post(url, {"step": "community_notified"}).status_code == 404
    assert health.person.name not in text_of(client_as(personas.outsider).get(reverse("health:escalations")))
    assert not outcome.escalation.steps.filter(done_at__isnull=False).exists()


def test_overdue_steps_are_flagged_in_the_list(health: Health, area: RiskArea) -> None:
    start_order(health)
    services.temperature_report(
        health.person,
        temperature="38.0",
        actor=health.personas.resident,
        now=timezone.now() - datetime.timedelta(minutes=40),
    )
    response = client_as(health.personas.community_worker).get(reverse("health:escalations"))
    row = response.context["rows"][0]
    assert [s.step for s in row["overdue"]] == ["community_notified", "street_informed", "centre_informed"]
    assert "社区接报超时" in text_of(response)
    assert client_as(health.personas.community_worker).get(reverse("health:index")).context["overdue_escalations"] == 1


# --- the street's tables ---


def test_street_command_edits_a_rule_with_test_days_as_text(personas: Personas) -> None:
    rule = rules.rule_for(personas.tree.street, Category.MEDIUM_RISK_RETURNEE)
    url = reverse("health:rule_edit", kwargs={"pk": rule.pk})
    client = client_as(personas.street_command)
    form = {"days": "14", "place": "home", "test_days": "1, 7，14", "reports_per_day": "2", "note": "调整"}

    outside = client.post(url, {**form, "test_days": "1,99"})
    letters = client.post(url, {**form, "test_days": "一,七"})
    saved = client.post(url, form, follow=True)

    assert outside.status_code == 400 and "检测日须在第 1 天到第 14 天之间" in text_of(outside)
    assert letters.status_code == 400 and "检测日须为用逗号分隔的数字" in text_of(letters)
    rule.refresh_from_db()
    assert rule.test_days == [1, 7, 14] and rule.note == "调整"
    assert any("已更新" in m for m in messages_of(saved))
    assert "第1、7、14天" in text_of(saved)


def test_staff_read_the_tables_but_only_the_street_command_edits(personas: Personas) -> None:
    rule = rules.rule_for(personas.tree.street, Category.CLOSE_CONTACT)
    worker = client_as(personas.community_worker)

    page = worker.get(reverse("health:tables"))
    assert page.status_code == 200 and "管控措施规则表" in text_of(page) and "密切接触者" in text_of(page)
    assert reverse("health:rule_edit", kwargs={"pk": rule.pk}) not in text_of(page)
    assert worker.get(reverse("health:rule_edit", kwargs={"pk": rule.pk})).status_code == 403
    assert worker.post(reverse("health:risk_areas"), {"action": "add", "county": "某区"}).status_code == 403
    assert worker.post(reverse("health:settings"), {"fever_threshold": "36.0"}).status_code == 403
    assert worker.post(reverse("health:sites"), {"name": "篡改"}).status_code == 403
    assert worker.get(reverse("health:settings")).status_code == 200
    assert not IsolationSite.objects.exists()
    assert MeasureRule.objects.get(pk=rule.pk).days == 14


def test_risk_areas_are_added_and_lifted(personas: Personas) -> None:
    client = client_as(personas.street_command)
    url = reverse("health:risk_areas")

    missing = client.post(url, {"action": "add", "level": "high", "starts_on": today().isoformat()})
    added = client.post(
        url,
        {
            "action": "add",
            "county": "某省某市某县",
            "name": "某小区",
            "level": "high",
            "starts_on": today().isoformat(),
        },
        follow=True,
    )
    area = RiskArea.objects.get()
    early = client.post(
        url, {"action": "end", "area": area.pk, "ends_on": (today() - datetime.timedelta(days=3)).isoformat()}
    )
    lifted = client.post(url, {"action": "end", "area": area.pk, "ends_on": today().isoformat()}, follow=True)

    assert missing.status_code == 400 and "请填写区县" in text_of(missing)
    assert any("已添加风险地区" in m for m in messages_of(added)) and "某省某市某县" in text_of(added)
    assert early.status_code == 400 and any("解除日期不能早于起始日期" in m for m in messages_of(early))
    assert any("已解除风险地区" in m for m in messages_of(lifted))
    area.refresh_from_db()
    assert area.ends_on == today()


def test_settings_are_saved_and_checked(personas: Personas) -> None:
    client = client_as(personas.street_command)
    url = reverse("health:settings")
    current = client.get(url).context["form"].initial
    data = {key: value for key, value in current.items() if key not in ("id", "street")}
    data = {key: value.strftime("%H:%M") if isinstance(value, datetime.time) else value for key, value in data.items()}

    bad = client.post(url, {**data, "fever_threshold": "50.0", "afternoon_slot": "08:00"})
    saved = client.post(url, {**data, "summary_due": "17:30", "due_community_notified": "5"}, follow=True)

    assert bad.status_code == 400
    assert "下午测温时间须晚于上午测温时间" in text_of(bad)
    clock = HealthSettings.objects.get(street=personas.tree.street)
    assert clock.summary_due == datetime.time(17, 30) and clock.due_community_notified == 5
    assert any("已保存" in m for m in messages_of(saved))


def test_isolation_sites_are_added_and_edited(personas: Personas) -> None:
    client = client_as(personas.street_command)
    empty = client.post(reverse("health:sites"), {"name": "", "rooms": "10"})
    client.post(reverse("health:sites"), {"name": "区隔离酒店", "address": "某路1号", "rooms": "40", "phone": ""})
    site = IsolationSite.objects.get()
    edited = client.post(
        reverse("health:site_edit", kwargs={"pk": site.pk}),
        {"name": "区隔离酒店A座", "address": "某路1号", "rooms": "50", "phone": ""},
        follow=True,
    )

    assert empty.status_code == 400 and "请填写隔离点名称" in text_of(empty)
    site.refresh_from_db()
    assert (site.name, site.rooms) == ("区隔离酒店A座", 50)
    assert "区隔离酒店A座" in text_of(edited)
    assert client_as(personas.medic).get(reverse("health:site_edit", kwargs={"pk": site.pk})).status_code == 403


def test_the_street_tables_pages_keep_no_writes_of_their_own() -> None:
    # The writes are rules.py's and services.py's, shared with the API (docs/health.md).
    from linli.health.views_monitoring import street_tables

    copies = {"risk_area_add", "risk_area_end", "_site_save", "audit_record", "transaction"}
    assert not copies & set(vars(street_tables))


def settings_data(client: Client) -> dict[str, Any]:
    current = client.get(reverse("health:settings")).context["form"].initial
    data = {key: value for key, value in current.items() if key not in ("id", "street")}
    return {key: value.strftime("%H:%M") if isinstance(value, datetime.time) else value for key, value in data.items()}


def test_the_settings_page_refuses_what_the_api_refuses(personas: Personas) -> None:
    # given
    client = client_as(personas.street_command)
    data = settings_data(client)

    # when: the summary before the report deadline; a report deadline equal to the afternoon slot
    early = client.post(reverse("health:settings"), {**data, "summary_due": "15:30"})
    equal = client.post(reverse("health:settings"), {**data, "report_deadline": data["afternoon_slot"]})

    # then
    assert early.status_code == 400 and "社区汇总时间不能早于上报截止时间" in text_of(early)
    assert equal.status_code == 400 and "上报截止时间须晚于下午测温时间" in text_of(equal)
    clock = HealthSettings.objects.get(street=personas.tree.street)
    assert (clock.summary_due, clock.report_deadline) == (datetime.time(17, 0), datetime.time(16, 0))


def test_the_settings_page_shows_and_saves_the_seal_report_counts(personas: Personas) -> None:
    client = client_as(personas.street_command)
    page = client.get(reverse("health:settings"))
    assert "封控单元（户）每日测温次数" in text_of(page) and "封控楼栋每日测温次数" in text_of(page)
    assert "封控单元（户）每日测温 1 次，封控楼栋每日测温 2 次" in text_of(client.get(reverse("health:tables")))

    bad = client.post(reverse("health:settings"), {**settings_data(client), "building_seal_reports_per_day": "3"})
    saved = client.post(reverse("health:settings"), {**settings_data(client), "unit_seal_reports_per_day": "2"})

    assert bad.status_code == 400
    assert saved.status_code == 302
    clock = HealthSettings.objects.get(street=personas.tree.street)
    assert (clock.unit_seal_reports_per_day, clock.building_seal_reports_per_day) == (2, 2)
    event = AuditEvent.objects.filter(model="health.HealthSettings").get()
    assert event.changes == {"unit_seal_reports_per_day": [1, 2]} and event.street_id == personas.tree.street.pk


def test_an_edited_isolation_site_is_saved_by_the_service_with_what_changed(personas: Personas) -> None:
    # given
    street = personas.tree.street
    site = services.isolation_site_add(street=street, name="区隔离酒店", address="某路1号", rooms=40, actor=None)

    # when
    client_as(personas.street_command).post(
        reverse("health:site_edit", kwargs={"pk": site.pk}),
        {"name": " 区隔离酒店A座 ", "address": "某路1号", "rooms": "50", "phone": ""},
    )

    # then
    site.refresh_from_db()
    assert (site.name, site.rooms) == ("区隔离酒店A座", 50)
    event = AuditEvent.objects.filter(model="health.IsolationSite", action="update").get()
    assert event.changes == {"name": ["区隔离酒店", "区隔离酒店A座"], "rooms": [40, 50]}
    assert (event.street_id, event.actor) == (street.pk, personas.street_command)
    with pytest.raises(ValidationError):
        services.isolation_site_update(site, name=" ", actor=None)
    with pytest.raises(ValidationError, match="不能修改"):
        services.isolation_site_update(site, street_id=99, actor=None)
    site.refresh_from_db()
    assert (site.name, site.street_id) == ("区隔离酒店A座", street.pk)
