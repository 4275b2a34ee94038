"""A volunteer on a phone: hand packages over online, lose the network, keep scanning, catch up (S6).

Driven in headless Chromium like the gate's checkpoint page (``linli/browser_tests``): the browser
context's offline switch is what a phone in a stairwell sees; the live server's database shows what
reached it.
"""

from __future__ import annotations

import datetime
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from linli.audit.models import AuditEvent
from linli.browser_tests.conftest import (  # noqa: F401  (fixtures)
    FULL_STORAGE,
    NO_INDEXED_DB,
    _async_unsafe_allowed,
    _fast_password_hasher,
    browser,
    login_as,
    losing_the_first_answer,
    page,
    save_screenshot,
)
from linli.lib.testing import Personas, build_personas
from linli.supplies.choices import PackageStatus
from linli.supplies.models import IdempotencyKey, Package
from linli.supplies.services.delivery import package_resolve, run_create
from linli.supplies.tests.test_delivery_fixtures import aggregated, out_with_building_lead

pytestmark = pytest.mark.browser


def _door_jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 90, 60)).save(out, "JPEG")
    return out.getvalue()


DOOR_JPEG = _door_jpeg()


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    """Door photos go to a temporary folder."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


def scan(phone: Page, code: str) -> None:
    phone.locator("#code").fill(code)
    phone.locator("#submit-code").click()


def test_volunteer_hands_over_online_then_offline_and_the_queue_drains(
    page: Page,  # noqa: F811
    login_as: Callable[[str], None],  # noqa: F811
) -> None:
    # given: the building lead has a run of three packages, one of a sealed household
    personas = build_personas()
    d = aggregated(personas, keys=("101", "102", "201"))
    Package.objects.filter(pk=d.packages["201"].pk).update(contactless=True)
    run_create(window=d.window, drop_off=d.point, volunteer=personas.building_lead, actor=personas.grid_worker)
    login_as(personas.building_lead.username)
    page.goto("/supplies/delivery/mine/")
    expect(page.locator("#handover")).to_have_attribute("data-ready", "yes")
    expect(page.locator("#net")).to_have_text("在线")
    expect(page.locator("#queue")).to_have_text("已全部同步")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    # when: online, the volunteer scans the label of 101 (its QR text, as a scanner types it)
    scan(page, f"LLP:{d.packages['101'].handover_code}")

    # then: the server records it, and a second scan only says it is done
    expect(page.locator("#verdict-word")).to_contain_text("交付成功：1号楼1单元101")
    assert Package.objects.get(pk=d.packages["101"].pk).status == PackageStatus.HANDED_OVER
    scan(page, d.packages["101"].handover_code)
    expect(page.locator("#verdict")).to_have_attribute("data-kind", "already")

    # when: the network drops and two more packages are scanned
    page.wait_for_function("!!navigator.serviceWorker.controller")
    page.context.set_offline(True)
    expect(page.locator("#net")).to_have_text("离线")
    scan(page, d.packages["102"].handover_code)
    expect(page.locator("#verdict-word")).to_contain_text("离线已记录：1号楼1单元102")
    scan(page, d.packages["201"].handover_code)
    expect(page.locator("#verdict-word")).to_contain_text("无接触放门口")
    expect(page.locator("#queue")).to_have_text("待同步 2 条")
    # and photographs the sealed household's door, still offline: the photo is kept on the phone
    expect(page.locator("#door-photo")).to_be_visible()
    page.locator("#door-photo-input").set_input_files(
        {"name": "door.jpg", "mimeType": "image/jpeg", "buffer": DOOR_JPEG}
    )
    expect(page.locator("#verdict-word")).to_contain_text("门口照片已存在手机上，联网后自动上传")
    expect(page.locator("#queue")).to_have_text("待同步 2 条 · 待上传照片 1 张")
    save_screenshot(page, "delivery_offline_queue")
    assert Package.objects.get(pk=d.packages["102"].pk).status == PackageStatus.OUT

    # and the phone reloads the page without network: it opens from the phone, the queue kept
    page.reload()
    expect(page.locator("#handover")).to_have_attribute("data-ready", "yes")
    expect(page.locator("#queue")).to_have_text("待同步 2 条 · 待上传照片 1 张")

    # when: the network returns
    page.context.set_offline(False)

    # then: the queue drains and the server has both, the sealed household's left at the door
    expect(page.locator("#queue")).to_have_text("已全部同步", timeout=30_000)
    assert Package.objects.get(pk=d.packages["102"].pk).status == PackageStatus.HANDED_OVER
    left = Package.objects.get(pk=d.packages["201"].pk)
    assert left.status == PackageStatus.LEFT_AT_DOOR
    # … with the door photo taken offline, uploaded after its hand-over was recorded
    assert left.photo.name and left.photo.read() == DOOR_JPEG
    assert re.search(r"已送达", page.content())


def test_volunteer_whose_phone_storage_is_full_is_told_the_offline_hand_over_was_not_recorded(
    page: Page,  # noqa: F811
    login_as: Callable[[str], None],  # noqa: F811
) -> None:
    # given: the building lead's run, offline, on a phone whose storage has filled up
    personas = build_personas()
    d = out_with_building_lead(personas, keys=("101", "102"))
    page.add_init_script(FULL_STORAGE)
    login_as(personas.building_lead.username)
    page.goto("/supplies/delivery/mine/")
    expect(page.locator("#handover")).to_have_attribute("data-ready", "yes")
    page.context.set_offline(True)
    expect(page.locator("#net")).to_have_text("离线")
    page.evaluate("window.__storageFull = true")
    code = d.packages["102"].handover_code

    # when: a package is scanned
    scan(page, code)

    # then: the volunteer is told it was not recorded, and the package is still theirs to hand over
    expect(page.locator("#verdict")).to_have_attribute("data-kind", "refused")
    expect(page.locator("#verdict-word")).to_have_text("手机存储已满，本次交付未能记录：请联网后重扫，或手工登记")
    expect(page.locator("#queue")).to_have_text("已全部同步")
    expect(page.locator(f'li.package[data-code="{code}"]')).to_have_attribute("data-status", "out")

    # and with room again, the same scan is kept on the phone for the sync
    page.evaluate("window.__storageFull = false")
    scan(page, code)
    expect(page.locator("#verdict-word")).to_contain_text("离线已记录：1号楼1单元102")
    expect(page.locator("#queue")).to_have_text("待同步 1 条")
    assert Package.objects.get(pk=d.packages["102"].pk).status == PackageStatus.OUT


def test_volunteer_whose_browser_keeps_nothing_is_warned_and_offline_hand_overs_still_sync(
    page: Page,  # noqa: F811
    login_as: Callable[[str], None],  # noqa: F811
) -> None:
    # given: the building lead's browser cannot keep anything on the phone (a private mode)
    personas = build_personas()
    d = out_with_building_lead(personas, ("101", "102"))
    page.add_init_script(NO_INDEXED_DB)
    login_as(personas.building_lead.username)
    page.goto("/supplies/delivery/mine/")

    # then: the page still gets ready, and warns that closing it loses what waits for the network
    expect(page.locator("#handover")).to_have_attribute("data-ready", "yes")
    expect(page.locator("#notice")).to_contain_text("本浏览器不能在手机上保存记录（可能开着无痕模式）")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    # when: offline, a package is handed over; then the network returns
    page.context.set_offline(True)
    expect(page.locator("#net")).to_have_text("离线")
    scan(page, d.packages["102"].handover_code)
    expect(page.locator("#verdict-word")).to_contain_text("离线已记录：1号楼1单元102")
    expect(page.locator("#queue")).to_have_text("待同步 1 条")
    page.context.set_offline(False)

    # then: the hand-over kept in the page reaches the server
    expect(page.locator("#queue")).to_have_text("已全部同步", timeout=30_000)
    assert Package.objects.get(pk=d.packages["102"].pk).status == PackageStatus.HANDED_OVER


def test_delivery_and_money_tables_fit_a_phone_in_english(
    page: Page,  # noqa: F811
    login_as: Callable[[str], None],  # noqa: F811
) -> None:
    # given: a window out for delivery, and the grid worker reading the pages in English on a phone
    personas = build_personas()
    d = out_with_building_lead(personas, ("101", "102"))
    login_as(personas.grid_worker.username)
    page.goto("/supplies/delivery/")
    page.get_by_role("button", name="English").click()

    # then: each table becomes one card per row (as on the other supplies pages), nothing wider than the phone
    for url in (
        "/supplies/delivery/",
        f"/supplies/delivery/windows/{d.window.pk}/",
        "/supplies/delivery/drop-offs/",
        "/supplies/money/",
        f"/supplies/money/windows/{d.window.pk}/",
    ):
        page.goto(url)
        expect(page.locator("html")).to_have_attribute("lang", "en")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (url, width)


def test_after_an_offline_reload_the_page_still_knows_what_was_handed_over(
    page: Page,  # noqa: F811
    login_as: Callable[[str], None],  # noqa: F811
) -> None:
    # given: the building lead hands 101 over online, loses the network and hands 102 over offline
    d = run_open(page, login_as, ("101", "102", "201"))
    scan(page, d.packages["101"].handover_code)
    expect(page.locator("#verdict-word")).to_contain_text("交付成功：1号楼1单元101")
    page.context.set_offline(True)
    scan(page, d.packages["102"].handover_code)
    expect(page.locator("#verdict-word")).to_contain_text("离线已记录：1号楼1单元102")

    # when: the page is reloaded without network (the phone's kept copy)
    page.reload()
    expect(page.locator("#handover")).to_have_attribute("data-ready", "yes")

    # then: 102 still shows as waiting to sync, and neither bag is taken for one still to hand over
    row = page.locator(f'li.package[data-code="{d.packages["102"].handover_code}"]')
    expect(row).to_have_attribute("data-status", "queued")
    expect(row.locator(".package-status")).to_have_text("待同步")
    scan(page, d.packages["102"].handover_code)
    expect(page.locator("#verdict")).to_have_attribute("data-kind", "already")
    scan(page, d.packages["101"].handover_code)
    expect(page.locator("#verdict")).to_have_attribute("data-kind", "already")
    expect(page.locator("#queue")).to_have_text("待同步 1 条")

    # and back online the one hand-over is sent once
    page.context.set_offline(False)
    expect(page.locator("#queue")).to_have_text("已全部同步", timeout=30_000)
    assert Package.objects.get(pk=d.packages["102"].pk).status == PackageStatus.HANDED_OVER
    assert IdempotencyKey.objects.filter(key__startswith="handover:").count() == 1


def run_open(
    phone: Page, log_in: Callable[[str], None], rooms: tuple[str, ...], personas: Personas | None = None
) -> Any:
    """The building lead's run of ``rooms`` (``out_with_building_lead``; ``personas`` built unless
    given), its page open online with the service worker in control (so that it is kept on the phone)."""
    personas = personas or build_personas()
    d = out_with_building_lead(personas, rooms)
    log_in(personas.building_lead.username)
    phone.goto("/supplies/delivery/mine/")
    expect(phone.locator("#handover")).to_have_attribute("data-ready", "yes")
    phone.wait_for_function("!!navigator.serviceWorker.controller")
    return d


def run_open_offline(phone: Page, log_in: Callable[[str], None], rooms: tuple[str, ...]) -> Any:
    """:func:`run_open`, and then the network gone."""
    d = run_open(phone, log_in, rooms)
    phone.context.set_offline(True)
    expect(phone.locator("#net")).to_have_text("离线")
    return d


def mark_undelivered(phone: Page, code: str, reason: str) -> None:
    row = phone.locator(f'li.package[data-code="{code}"]')
    row.locator("summary").click()
    row.locator("input[name=reason]").fill(reason)
    row.get_by_role("button", name="登记").click()


def test_a_bag_marked_undelivered_without_network_is_kept_through_a_reload_and_sent_once(
    page: Page,  # noqa: F811
    login_as: Callable[[str], None],  # noqa: F811
) -> None:
    # given: the building lead's run, the page open, and the network gone
    d = run_open_offline(page, login_as, ("101", "102", "201"))
    code = d.packages["102"].handover_code
    row = page.locator(f'li.package[data-code="{code}"]')

    # when: nobody is home at 102 and the volunteer marks it 无法送达; then hands 101 over
    mark_undelivered(page, code, "家中无人")

    # then: the page keeps it on the phone and shows it waiting, like a hand-over
    expect(page.locator("#verdict-word")).to_have_text("离线已记录无法送达：1号楼1单元102，联网后自动上传")
    expect(row).to_have_attribute("data-status", "undelivered-queued")
    expect(row.locator(".package-status")).to_have_text("未送达，待同步")
    scan(page, d.packages["101"].handover_code)
    expect(page.locator("#queue")).to_have_text("待同步 2 条")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    # when: the page is reloaded without network (the phone's kept copy)
    page.reload()
    expect(page.locator("#handover")).to_have_attribute("data-ready", "yes")

    # then: nothing is lost, 102 still shows waiting
    expect(page.locator("#queue")).to_have_text("待同步 2 条")
    expect(row).to_have_attribute("data-status", "undelivered-queued")
    assert Package.objects.get(pk=d.packages["102"].pk).status == PackageStatus.OUT

    # when: the network returns, and the first answer for 102 is lost on its way back
    calls: list[str] = []
    page.route("**/api/v1/supplies/packages/*/undelivered", losing_the_first_answer(calls))
    page.context.set_offline(False)

    # then: the phone sends it again, and the server has it once, with its reason; 101 handed over
    expect(page.locator("#queue")).to_have_text("已全部同步", timeout=40_000)
    assert len(calls) == 2
    expect(row).to_have_attribute("data-status", "undelivered")
    expect(row.locator(".package-status")).to_have_text("未送达")
    expect(page.locator("#notice")).to_be_hidden()
    package = Package.objects.get(pk=d.packages["102"].pk)
    assert package.status == PackageStatus.UNDELIVERED and package.problem == "家中无人"
    assert AuditEvent.objects.filter(model__icontains="package", object_pk=str(package.pk)).count() == 1
    assert IdempotencyKey.objects.filter(key__startswith="undelivered:").count() == 1
    assert Package.objects.get(pk=d.packages["101"].pk).status == PackageStatus.HANDED_OVER

    # and online, 无法送达 is recorded at once, in place
    other = page.locator(f'li.package[data-code="{d.packages["201"].handover_code}"]')
    mark_undelivered(page, d.packages["201"].handover_code, "电话不通")
    expect(other).to_have_attribute("data-status", "undelivered")
    expect(page.locator("#queue")).to_have_text("已全部同步")
    assert Package.objects.get(pk=d.packages["201"].pk).problem == "电话不通"


def test_a_bag_the_server_recorded_undelivered_stays_undelivered_after_an_offline_reload(
    page: Page,  # noqa: F811
    login_as: Callable[[str], None],  # noqa: F811
) -> None:
    # given: the building lead's run, its page kept on the phone while every bag was still out
    personas = build_personas()
    d = run_open(page, login_as, ("101", "102", "201"), personas)
    rows = {key: page.locator(f'li.package[data-code="{d.packages[key].handover_code}"]') for key in d.packages}

    # when: online, nobody is home at 102 and the volunteer marks it 无法送达
    mark_undelivered(page, d.packages["102"].handover_code, "家中无人")
    expect(rows["102"]).to_have_attribute("data-status", "undelivered")
    # … and 201 is marked without network, then sent when the network returns
    page.context.set_offline(True)
    expect(page.locator("#net")).to_have_text("离线")
    mark_undelivered(page, d.packages["201"].handover_code, "电话不通")
    expect(rows["201"]).to_have_attribute("data-status", "undelivered-queued")
    page.context.set_offline(False)
    expect(page.locator("#queue")).to_have_text("已全部同步", timeout=30_000)
    expect(rows["201"]).to_have_attribute("data-status", "undelivered")

    # when: the network is gone again and the page is reloaded (the phone's copy, from before both marks)
    page.context.set_offline(True)
    page.reload()
    expect(page.locator("#handover")).to_have_attribute("data-ready", "yes")

    # then: both bags still show 未送达, without 无法送达 offered again; 101 is still out
    for key in ("102", "201"):
        expect(rows[key]).to_have_attribute("data-status", "undelivered")
        expect(rows[key].locator(".package-status")).to_have_text("未送达")
        expect(rows[key].locator(".undelivered")).to_have_count(0)
    expect(rows["101"]).to_have_attribute("data-status", "out")
    expect(page.locator("#queue")).to_have_text("已全部同步")

    # when: back online, someone opens the door at 201 after all and it is handed over
    page.context.set_offline(False)
    expect(page.locator("#net")).to_have_text("在线")
    scan(page, d.packages["201"].handover_code)
    expect(page.locator("#verdict-word")).to_contain_text("交付成功：1号楼1单元201")

    # then: reloaded without network, the same old copy shows 201 handed over, no longer 未送达
    page.context.set_offline(True)
    page.reload()
    expect(page.locator("#handover")).to_have_attribute("data-ready", "yes")
    expect(rows["201"]).to_have_attribute("data-status", "synced")
    expect(rows["201"].locator(".package-status")).to_have_text("已交付")
    expect(rows["102"]).to_have_attribute("data-status", "undelivered")

    # when: the coordinator sends 102 back to the supermarket, and the page is loaded again with network
    package_resolve(d.packages["102"], resolution="returned", actor=personas.grid_worker)
    page.context.set_offline(False)
    page.reload()
    expect(page.locator("#handover")).to_have_attribute("data-ready", "yes")
    expect(rows["102"]).to_have_attribute("data-status", "returned")

    # then: offline, the page's newer copy is shown as it is, not the older 未送达
    page.context.set_offline(True)
    page.reload()
    expect(page.locator("#handover")).to_have_attribute("data-ready", "yes")
    expect(rows["102"]).to_have_attribute("data-status", "returned")
    expect(rows["102"].locator(".package-status")).to_have_text("已退回")


def test_a_code_put_in_while_the_last_scan_is_being_kept_is_not_wiped(
    page: Page,  # noqa: F811
    login_as: Callable[[str], None],  # noqa: F811
) -> None:
    # given: the building lead's run, the page open, and the network gone
    d = run_open_offline(page, login_as, ("101", "102"))
    first, second = (d.packages[key].handover_code for key in ("101", "102"))

    # when: 101's label is scanned and, while the phone is still keeping it, the scanner types 102's code
    page.evaluate(
        """([first, second]) => {
            const code = document.getElementById("code");
            code.value = first;
            document.getElementById("scan-form").requestSubmit();
            code.value = second;
        }""",
        [first, second],
    )

    # then: 101 is kept, and 102's code is still in the box, sent with the next press
    expect(page.locator("#queue")).to_have_text("待同步 1 条")
    expect(page.locator("#code")).to_have_value(second)
    page.locator("#submit-code").click()
    expect(page.locator("#queue")).to_have_text("待同步 2 条")
    expect(page.locator("#code")).to_have_value("")


def test_each_bag_the_server_refused_is_listed_with_its_reason_in_the_page_language(
    page: Page,  # noqa: F811
    login_as: Callable[[str], None],  # noqa: F811
) -> None:
    # given: the building lead's run, and offline: 101 handed over, 102 handed over, a mistyped code,
    # and 201 marked 无法送达
    d = run_open_offline(page, login_as, ("101", "102", "201"))
    codes = {key: d.packages[key].handover_code for key in ("101", "102", "201")}
    scan(page, codes["101"])
    scan(page, codes["102"])
    scan(page, "ZZZZ999999")
    mark_undelivered(page, codes["201"], "家中无人")
    expect(page.locator("#queue")).to_have_text("待同步 4 条")
    # … while the supermarket took 102 back, and someone else handed 201 over
    Package.objects.filter(pk=d.packages["102"].pk).update(status=PackageStatus.RETURNED)
    Package.objects.filter(pk=d.packages["201"].pk).update(status=PackageStatus.HANDED_OVER)

    # when: the network returns and the queue is sent
    page.context.set_offline(False)
    expect(page.locator("#queue")).to_have_text("已全部同步", timeout=30_000)

    # then: each refused bag is listed with its own reason, not only the last one
    expect(page.locator("#rejected-title")).to_have_text("3 条被服务器拒收，请核对这些包裹：")
    expect(page.locator("#rejected-list li")).to_have_text(
        [
            f"1号楼1单元102 · {codes['102']}：该包裹已退回商超，不能再交付",
            "ZZZZ999999：未找到该交接码的包裹，或不属于您负责的范围",
            f"1号楼1单元201 · {codes['201']} · 无法送达：只有待配送或配送中的包裹可以登记未送达",
        ]
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert Package.objects.get(pk=d.packages["101"].pk).status == PackageStatus.HANDED_OVER

    # when: the volunteer switches the page to English
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#handover")).to_have_attribute("data-ready", "yes")

    # then: the same bags, their reasons in English
    expect(page.locator("#rejected-title")).to_have_text("3 refused by the server; please check these bags:")
    expect(page.locator("#rejected-list li")).to_have_text(
        [
            f"1号楼1单元102 · {codes['102']}: "
            "This package has been returned to the supermarket and can no longer be handed over",
            "ZZZZ999999: No package found with this handover code, or it is outside your area of responsibility",
            f"1号楼1单元201 · {codes['201']} · Cannot deliver: "
            "Only packages awaiting delivery or out for delivery can be marked not delivered",
        ]
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    # and once checked, the list can be cleared
    page.get_by_role("button", name="Checked, clear").click()
    expect(page.locator("#rejected")).to_be_hidden()
    page.reload()
    expect(page.locator("#handover")).to_have_attribute("data-ready", "yes")
    expect(page.locator("#rejected")).to_be_hidden()


def test_while_the_server_is_down_the_queue_backs_off_and_retry_sends_at_once(
    page: Page,  # noqa: F811
    login_as: Callable[[str], None],  # noqa: F811
) -> None:
    # given: the building lead's page on a phone whose timers the test moves (the clock is the page's)
    personas = build_personas()
    d = out_with_building_lead(personas, ("101", "102"))
    login_as(personas.building_lead.username)
    start = datetime.datetime(2022, 4, 10, 9, 0, tzinfo=datetime.UTC)
    page.clock.install(time=start)
    page.goto("/supplies/delivery/mine/")
    expect(page.locator("#handover")).to_have_attribute("data-ready", "yes")
    page.wait_for_function("!!navigator.serviceWorker.controller")
    expect(page.locator("#retry")).to_be_hidden()

    # and a hand-over kept offline, while the server is down (every sync answered 503)
    page.context.set_offline(True)
    scan(page, d.packages["102"].handover_code)
    expect(page.locator("#queue")).to_have_text("待同步 1 条")
    calls: list[str] = []

    def server_down(route: Route) -> None:
        calls.append(route.request.url)
        route.fulfill(status=503, body="")

    page.route("**/api/v1/supplies/handovers/sync", server_down)
    page.clock.pause_at(start + datetime.timedelta(minutes=10))

    def tries_after(ms: int) -> int:
        """Move the page's clock on by ``ms`` and give what it started time to reach the server."""
        page.clock.run_for(ms)
        page.wait_for_timeout(600)
        return len(calls)

    # when: the network returns
    page.context.set_offline(False)

    # then: it is tried at once, then after 15 s, 30 s, 1 min, 2 min, and 2 min again — not every 15 s
    assert tries_after(0) == 1
    assert (tries_after(14_000), tries_after(1_000)) == (1, 2)
    assert (tries_after(29_000), tries_after(1_000)) == (2, 3)
    assert (tries_after(59_000), tries_after(1_000)) == (3, 4)
    assert (tries_after(119_000), tries_after(1_000)) == (4, 5)
    assert (tries_after(119_000), tries_after(1_000)) == (5, 6)

    # when: the volunteer taps 重试
    expect(page.locator("#retry")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_role("button", name="重试").click()

    # then: it is sent at once, and the wait starts again at 15 s
    page.wait_for_timeout(600)
    assert len(calls) == 7
    expect(page.locator("#handover")).to_have_attribute("data-retry", "15000")
    assert tries_after(15_000) == 8

    # and when the browser reports it is online again, likewise
    page.context.set_offline(True)
    page.context.set_offline(False)
    page.wait_for_timeout(600)
    assert len(calls) == 9
    expect(page.locator("#handover")).to_have_attribute("data-retry", "15000")

    # when: the server is back, the next try sends the queue, and nothing more is tried
    page.unroute("**/api/v1/supplies/handovers/sync")
    page.clock.run_for(15_000)
    expect(page.locator("#queue")).to_have_text("已全部同步")
    expect(page.locator("#retry")).to_be_hidden()
    expect(page.locator("#handover")).not_to_have_attribute("data-retry", re.compile(".*"))
    assert Package.objects.get(pk=d.packages["102"].pk).status == PackageStatus.HANDED_OVER
