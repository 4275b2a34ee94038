"""The issue's fever story on phones (H1–H3): a worker registers a returnee from a medium-risk area, the
resident logs in with an SMS code and reports 37.8 ℃, the worker works the escalation to its end.

Two browser contexts, two phones: the worker's (the harness's ``page``) and the resident's. Everything
is done through the pages; the database of the live server shows what reached it.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from linli.browser_tests.conftest import PHONE, TIMEOUT_MS, fits_phone_width, resident_login, save_screenshot
from linli.gate.models import HouseholdHold
from linli.health.choices import Category, EscalationStatus, EscalationStep, OrderStatus
from linli.health.models import EscalationStepRecord, FeverEscalation, Monitoring, QuarantineOrder, RiskArea
from linli.lib.testing import build_personas
from linli.registry.models import Person

pytestmark = pytest.mark.browser

ORIGIN = "某省某市某区"


def test_returnee_registered_reports_a_fever_and_the_escalation_is_worked_to_its_end(
    page: Page, browser: Browser, live_server: Any, login_as: Callable[[str], None]
) -> None:
    # given: a medium-risk area in the returnee's county; the householder of 1号楼1单元101 came back today
    personas = build_personas()
    RiskArea.objects.create(
        street=personas.tree.street,
        county=ORIGIN,
        name="近期中风险区",
        level="medium",
        starts_on=timezone.localdate() - datetime.timedelta(days=20),
    )
    returnee = Person.objects.get(household=personas.resident_household, relation="householder")

    # when: the community worker registers them from the health pages, found by the phone's last four digits
    login_as(personas.community_worker.username)
    page.goto("/health/")
    expect(page.get_by_role("heading", name="健康监测与隔离管理")).to_be_visible()
    page.get_by_role("link", name="登记重点人员").first.click()
    page.get_by_label("查找人员（姓名、手机号后四位或房号）").fill(returnee.phone[-4:])
    pick = page.locator("label.pick", has_text="1号楼1单元101")
    expect(pick).to_have_count(1)
    pick.locator("input[type=radio]").check()
    expect(page.get_by_label("人员类别")).to_have_value("")  # 自动判定（按风险地区）
    page.get_by_label("来自（区县）").fill(ORIGIN)
    page.get_by_label("到达日期").fill(timezone.localdate().isoformat())
    assert fits_phone_width(page)
    page.get_by_role("button", name="登记并执行管控措施").click()

    # then: the rule applied — 14 days at home, two tests, the household's pass held
    expect(page.locator(".messages")).to_contain_text("中风险地区返乡人员")
    expect(page.locator(".messages")).to_contain_text("本户通行证已暂停")
    expect(page.locator("#order-facts")).to_contain_text("居家隔离")
    expect(page.locator("#tests tr")).to_have_count(3)  # the header and two tests
    save_screenshot(page, "health_order_registered")
    order = QuarantineOrder.objects.get(person=returnee)
    assert (order.category, order.days, order.status) == (Category.MEDIUM_RISK_RETURNEE, 14, OrderStatus.ACTIVE)
    assert HouseholdHold.objects.filter(household=personas.resident_household, released_at__isnull=True).exists()

    # Reports are due from the day after registration: move the monitoring's first day to today, as
    # if this were the next morning (the pages have no clock to wind on).
    assert Monitoring.objects.filter(order=order).update(starts_on=timezone.localdate()) == 1

    # when: the resident logs in on their own phone and reports 37.8 ℃
    resident_context = browser.new_context(base_url=live_server.url, **PHONE)
    resident_context.set_default_timeout(TIMEOUT_MS)
    phone = resident_context.new_page()
    try:
        resident_login(phone, personas.resident.phone)
        phone.get_by_role("link", name="体温上报").click()
        expect(phone.get_by_role("heading", name="每日体温上报")).to_be_visible()
        member = phone.locator(f"#member-{returnee.pk}")
        member.get_by_label(f"{returnee.name}的体温（℃）").fill("abc")
        member.get_by_role("button", name=f"上报{returnee.name}的体温").click()
        expect(phone.locator(f"#member-{returnee.pk} .errorlist")).to_contain_text("请填写体温，如 36.5")
        phone.locator(f"#member-{returnee.pk}").get_by_label(f"{returnee.name}的体温（℃）").fill("37.8")
        phone.locator(f"#member-{returnee.pk}").get_by_role("button", name=f"上报{returnee.name}的体温").click()

        # then: a clear answer, and the escalation is open
        expect(phone.locator(".messages")).to_contain_text("37.8 ℃")
        expect(phone.locator(".messages")).to_contain_text("已通知社区启动发热处置流程")
        expect(phone.locator(f"#member-{returnee.pk} .slot.fever")).to_have_count(1)
        assert fits_phone_width(phone)
        save_screenshot(phone, "health_me_fever")
    finally:
        resident_context.close()
    escalation = FeverEscalation.objects.get(person=returnee)
    assert escalation.status == EscalationStatus.OPEN and str(escalation.temperature) == "37.8"

    # when: the worker opens the escalation from the health pages and completes every step in order
    page.goto("/health/escalations/")
    page.locator("#escalation-rows a", has_text=returnee.name).click()
    expect(page.get_by_role("heading", name=f"发热处置：{returnee.name}")).to_be_visible()
    for position, step in enumerate(EscalationStep, start=1):
        card = page.locator(f"#step-{step.value}")
        card.get_by_role("textbox").fill(f"第{position}步已办")
        card.get_by_role("button", name="完成").click()
        expect(page.locator(".messages")).to_contain_text(f"已完成“{step.label}”")
        expect(page.locator(f"#step-{step.value}")).to_contain_text(f"第{position}步已办")

    # then: closed, every step with its time and the worker's name
    expect(page.locator(".messages")).to_contain_text("六个环节均已完成，本次发热处置结束。")
    expect(page.locator("#steps .tag.ok").first).to_have_text("已完成")
    expect(page.locator("#steps button", has_text="完成")).to_have_count(0)
    assert fits_phone_width(page)
    save_screenshot(page, "health_escalation_closed")
    escalation.refresh_from_db()
    assert escalation.status == EscalationStatus.CLOSED
    steps = EscalationStepRecord.objects.filter(escalation=escalation).order_by("position")
    assert [s.step for s in steps] == list(EscalationStep.values)
    assert all(s.done_at is not None and s.done_by_id == personas.community_worker.pk for s in steps)
