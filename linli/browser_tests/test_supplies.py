"""The issue's supplies story on phones (S3–S6): a resident orders from their phone, a grid worker orders
by proxy for a neighbour without a smartphone, and after cut-off a volunteer (the building lead) hands the
resident's bag over by its hand-over code.

Two browser contexts, two phones: the staff phone (the harness's ``page``) and the resident's. The steps
between — cut-off, aggregation, the delivery run — are the community's back office and run through the
services; the database of the live server shows what reached it.
"""

from __future__ import annotations

import datetime
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from linli.browser_tests.conftest import PHONE, TIMEOUT_MS, fits_phone_width, resident_login, save_screenshot
from linli.lib.testing import build_personas
from linli.supplies.choices import PackageStatus, PaymentMode
from linli.supplies.labels import labels_pdf
from linli.supplies.models import Order, OrderWindow, Package, Supplier
from linli.supplies.services import aggregation, delivery
from linli.supplies.testing import open_window, out_for_delivery

pytestmark = pytest.mark.browser


def hand_over(page: Page, code: str) -> None:
    """Type the bag's hand-over code on the volunteer's delivery page (the camera is for real phones)."""
    page.goto(reverse("supplies:delivery_mine"))
    expect(page.get_by_role("heading", name="我的配送")).to_be_visible()
    expect(page.locator(f'li.package[data-code="{code}"]')).to_have_count(1)
    page.get_by_label(re.compile("交接码")).fill(code)
    page.get_by_role("button", name="交付", exact=True).click()
    expect(page.locator("#verdict")).to_contain_text("交付成功")


def test_resident_orders_grid_worker_orders_by_proxy_and_a_volunteer_hands_over(
    page: Page, browser: Browser, live_server: Any, login_as: Callable[[str], None]
) -> None:
    # given: 平价超市's window for 幸福社区, open now: vegetable boxes and eggs, two per household at most
    personas = build_personas()
    shop = Supplier.objects.get(name="平价超市")
    window = open_window(shop, personas.tree.c1, items={"标准蔬菜包": 50, "鸡蛋": 30}, limit=2)
    box = window.offers.get(name="标准蔬菜包")
    point = delivery.drop_off_create(compound=personas.tree.p1, name="东门投放点", actor=personas.community_worker)

    # when: the resident opens ordering from their household page, taps ＋ three times (the limit stops at 2)
    resident_context = browser.new_context(base_url=live_server.url, **PHONE)
    resident_context.set_default_timeout(TIMEOUT_MS)
    phone = resident_context.new_page()
    try:
        resident_login(phone, personas.resident.phone)
        phone.get_by_role("link", name="买菜 / 订购物资").click()
        expect(phone.get_by_role("heading", name="买菜 · 订购物资")).to_be_visible()
        card = phone.locator(f"#window-{window.pk}")
        expect(card).to_contain_text("每户限购 2 份")
        for _tap in range(3):
            card.get_by_role("button", name="标准蔬菜包加一").click()
        expect(card.get_by_label("标准蔬菜包数量")).to_have_value("2")
        expect(card.locator(".sum")).to_have_text(f"{box.price * 2:.2f}")
        # a slip of the finger beyond the limit: no absurd total, the box marked; back to 2, the sum again
        card.get_by_label("标准蔬菜包数量").fill("100000000000000000000")
        expect(card.locator(".sum")).to_have_text("—")
        expect(card.get_by_label("标准蔬菜包数量")).to_have_attribute("aria-invalid", "true")
        card.get_by_label("标准蔬菜包数量").fill("2")
        expect(card.locator(".sum")).to_have_text(f"{box.price * 2:.2f}")
        assert fits_phone_width(phone)
        save_screenshot(phone, "supplies_me_form")
        card.get_by_role("button", name="提交订单").click()

        # then: a plain answer — ordered, the number, the total and the day it comes
        answer = phone.locator("#answer")
        expect(answer).to_contain_text("订购成功")
        mine = Order.objects.get(household=personas.resident_household)
        expect(answer).to_contain_text(f"订单号：{mine.pk}")
        expect(answer).to_contain_text(f"合计：{mine.total} 元")
        expect(answer).to_contain_text(window.delivery_on.strftime("%-m月%-d日"))
        assert fits_phone_width(phone)
        save_screenshot(phone, "supplies_me_ordered")
        assert not mine.is_proxy and mine.total == box.price * 2

        # when: the grid worker phones 户主102 next door, finds the household and orders eggs on the community's credit
        login_as(personas.grid_worker.username)
        page.goto("/supplies/proxy/")
        expect(page.get_by_role("heading", name="代居民下单")).to_be_visible()
        page.get_by_label(re.compile("查找住户")).fill("户主102")
        page.get_by_role("button", name="查找").click()
        page.locator("a.pick-household", has_text="1号楼1单元102").click()
        expect(page.get_by_role("heading", name=re.compile("为 阳光小区 1号楼1单元102 下单"))).to_be_visible()
        proxy_card = page.locator(f"#window-{window.pk}")
        proxy_card.get_by_role("button", name="鸡蛋加一").click()
        proxy_card.get_by_label("社区记账").check()
        assert fits_phone_width(page)
        proxy_card.get_by_role("button", name="代此户下单").click()
        expect(page.locator("#answer")).to_contain_text("订购成功")
        expect(page.locator("#answer")).to_contain_text("已为 阳光小区 1号楼1单元102 代下单")
        page.get_by_role("link", name="为下一户下单").click()
        expect(page.locator("table.placed")).to_contain_text("1号楼1单元102")
        save_screenshot(page, "supplies_proxy_placed")
        proxy = Order.objects.get(household=personas.tree.households[f"{personas.tree.b1.code}/1单元/102"])
        assert proxy.is_proxy and proxy.placed_by_id == personas.grid_worker.pk
        assert proxy.payment_mode == PaymentMode.CREDIT

        # given: cut-off has passed; the community aggregates and gives the building lead the drop-off point's bags
        OrderWindow.objects.filter(pk=window.pk).update(cutoff_at=timezone.now() - datetime.timedelta(minutes=1))
        window.refresh_from_db()
        aggregation.aggregate(window, actor=personas.community_worker)
        delivery.run_create(
            window=window, drop_off=point, volunteer=personas.building_lead, actor=personas.community_worker
        )
        package = Package.objects.get(order=mine)

        # when: the building lead types the hand-over code from the bag's label at the resident's door
        login_as(personas.building_lead.username)
        hand_over(page, package.handover_code)
        assert fits_phone_width(page)
        save_screenshot(page, "supplies_handover")
        package.refresh_from_db()
        assert package.status == PackageStatus.HANDED_OVER
        assert package.handed_over_by_id == personas.building_lead.pk

        # then: the resident's page shows the bag delivered
        phone.goto("/supplies/me/")
        expect(phone.locator(f"#order-{mine.pk}")).to_contain_text("已当面交付")
        assert fits_phone_width(phone)
        save_screenshot(phone, "supplies_me_delivered")
    finally:
        resident_context.close()
    assert Order.objects.count() == 2


def test_a_volunteer_photographs_the_printed_label_and_the_bag_is_handed_over(
    page: Page, login_as: Callable[[str], None], tmp_path: Path
) -> None:
    # given: the resident's bag is packed, its label printed (a 100 × 100 mm label, as the shop prints
    # it), and the building lead carries the drop-off point's bags
    personas = build_personas()
    point = delivery.drop_off_create(compound=personas.tree.p1, name="东门投放点", actor=personas.community_worker)
    out_for_delivery(personas, point=point, key="label-photo")
    package = Package.objects.get(order__household=personas.resident_household)
    pdf = tmp_path / "label.pdf"
    pdf.write_bytes(labels_pdf(Package.objects.filter(pk=package.pk), size="100x100"))
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(pdf), str(tmp_path / "photo")], check=True)

    # when: on the delivery page the building lead takes a photo of the label (拍照识别)
    login_as(personas.building_lead.username)
    page.goto(reverse("supplies:delivery_mine"))
    expect(page.locator(f'li.package[data-code="{package.handover_code}"]')).to_have_count(1)
    page.locator("#scan-photo").set_input_files(str(tmp_path / "photo.png"))

    # then: the page's scanner (jsQR) reads the label's hand-over QR, and the bag is handed over
    expect(page.locator("#verdict")).to_contain_text("交付成功")
    package.refresh_from_db()
    assert package.status == PackageStatus.HANDED_OVER

    # when: a code that is none of theirs is typed; then: the server's reason, not a server fault
    page.get_by_label(re.compile("交接码")).fill("ABCDEFGHJK")
    page.get_by_role("button", name="交付", exact=True).click()
    expect(page.locator("#verdict")).to_contain_text("未找到该交接码的包裹，或不属于您负责的范围")
    expect(page.locator("#verdict")).not_to_contain_text("服务器未能处理")
