"""A volunteer's whole delivery run with the network off (S6, H7): forty bags scanned in a stairwell,
sealed households' bags left at the door with a photo, a bag scanned twice, the page reloaded midway;
then the network returns, the first sync's answer is lost on the way back, and the phone tries again.
Every hand-over is stored exactly once, the door photos arrive, and the window's money adds up once
residents confirm and pay on delivery."""

from __future__ import annotations

import datetime
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from linli.audit.models import AuditEvent
from linli.browser_tests.conftest import losing_the_first_answer
from linli.lib.testing import build_personas
from linli.registry import services as registry
from linli.supplies.choices import DELIVERED_STATES, PackageStatus, PaymentMode
from linli.supplies.models import IdempotencyKey, Package, Supplier
from linli.supplies.services import aggregation, delivery, money, ordering
from linli.supplies.testing import open_window

pytestmark = pytest.mark.browser
BAGS = 40


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


def door_jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 90, 60)).save(out, "JPEG")
    return out.getvalue()


def scan(page: Page, code: str, kind: str) -> None:
    page.evaluate("document.getElementById('verdict').removeAttribute('data-kind')")
    page.locator("#code").fill(code)
    page.locator("#submit-code").click()
    expect(page.locator("#verdict")).to_have_attribute("data-kind", kind)


def test_an_offline_run_reloaded_midway_is_stored_exactly_once(page: Page, login_as: Callable[[str], None]) -> None:
    # given: forty households of 阳光小区 ordered; after aggregation the building lead carries them all,
    # four of them sealed (their bags go to the door)
    personas = build_personas()
    tree = personas.tree
    units = [
        tree.units[f"{tree.b1.code}/1单元"],
        tree.units[f"{tree.b1.code}/2单元"],
        tree.units[f"{tree.b2.code}/1单元"],
    ]
    households = [
        registry.household_create(unit=units[i % 3], room=f"{3 + i // 9}{i % 9 + 1:02d}") for i in range(BAGS)
    ]
    point = delivery.drop_off_create(compound=tree.p1, name="东门投放点", actor=personas.community_worker)
    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=2)
    window = open_window(Supplier.objects.get(name="平价超市"), tree.c1, items={"标准蔬菜包": 100}, now=now)
    offer = window.offers.get()
    orders = [
        ordering.place_order(
            window=window, household=h, lines=[(offer.pk, 1)], actor=personas.community_worker, now=now
        )
        for h in households
    ]
    aggregation.aggregate(window, actor=personas.community_worker, now=window.cutoff_at + datetime.timedelta(minutes=1))
    delivery.run_create(window=window, drop_off=point, volunteer=personas.building_lead, actor=personas.grid_worker)
    bags = [Package.objects.get(order=o) for o in orders]
    sealed = bags[-4:]
    Package.objects.filter(pk__in=[p.pk for p in sealed]).update(contactless=True)
    login_as(personas.building_lead.username)
    page.goto("/supplies/delivery/mine/")
    expect(page.locator("#handover")).to_have_attribute("data-ready", "yes")
    page.wait_for_function("!!navigator.serviceWorker.controller")

    # when: without network, the first half is handed over, one bag scanned twice
    page.context.set_offline(True)
    for bag in bags[:18]:
        scan(page, bag.handover_code, "queued")
    scan(page, bags[0].handover_code, "already")
    expect(page.locator("#queue")).to_have_text("待同步 18 条")

    # and the page is reloaded, still offline: the queue is there, the bag handed over still is
    page.reload()
    expect(page.locator("#handover")).to_have_attribute("data-ready", "yes")
    expect(page.locator("#queue")).to_have_text("待同步 18 条")
    scan(page, bags[5].handover_code, "already")

    # and the rest: in person, then the sealed households' bags at their doors, two with a photo
    for bag in bags[18:-4]:
        scan(page, bag.handover_code, "queued")
    for n, bag in enumerate(sealed):
        scan(page, bag.handover_code, "queued")
        expect(page.locator("#verdict-word")).to_contain_text("无接触放门口")
        if n < 2:
            page.locator("#door-photo-input").set_input_files(
                {"name": "door.jpg", "mimeType": "image/jpeg", "buffer": door_jpeg()}
            )
            expect(page.locator("#verdict-word")).to_contain_text("门口照片已存在手机上")
    expect(page.locator("#queue")).to_have_text(f"待同步 {BAGS} 条 · 待上传照片 2 张")
    assert not Package.objects.filter(pk__in=[b.pk for b in bags], status__in=DELIVERED_STATES).exists()

    # when: the network returns, and the first sync reaches the server but its answer is lost
    calls: list[str] = []
    page.route("**/api/v1/supplies/handovers/sync", losing_the_first_answer(calls))
    page.context.set_offline(False)

    # then: the phone tries again and drains; each bag is handed over once, at the door for the sealed
    expect(page.locator("#queue")).to_have_text("已全部同步", timeout=40_000)
    assert len(calls) == 2
    expect(page.locator("#notice")).to_be_hidden()
    states = dict(Package.objects.filter(pk__in=[b.pk for b in bags]).values_list("pk", "status"))
    assert sorted(states[b.pk] for b in sealed) == [PackageStatus.LEFT_AT_DOOR] * 4
    assert all(states[b.pk] == PackageStatus.HANDED_OVER for b in bags[:-4])
    assert IdempotencyKey.objects.filter(key__startswith="handover:").count() == BAGS
    for bag in bags:
        assert AuditEvent.objects.filter(model__icontains="package", object_pk=str(bag.pk)).count() == 1, bag
    photos = [bool(Package.objects.get(pk=b.pk).photo) for b in sealed]
    assert photos == [True, True, False, False]

    # and once the sealed households confirm and everyone pays on delivery, the window adds up
    resident = personas.resident
    for bag in sealed:
        resident.household_id = bag.household_id  # the household's own account
        delivery.package_confirm(Package.objects.get(pk=bag.pk), actor=resident)
    assert Package.objects.filter(pk__in=[b.pk for b in sealed], status=PackageStatus.CONFIRMED).count() == 4
    for order in orders:
        order.refresh_from_db()
        money.payment_collect(order, mode=PaymentMode.ON_DELIVERY, amount=order.total, actor=personas.grid_worker)
    window.refresh_from_db()
    result = money.reconciliation(window)
    assert result.balanced and result.totals.closed, result.totals
    assert result.totals.delivered == result.totals.paid == sum(o.total for o in orders)
