"""A gate guard on a phone: scan passes, see the verdict; lose the network, keep scanning, catch up (A3).

The page is driven as a guard drives it: a photo of the QR (decoded in the browser by the vendored
jsQR), the QR's text as a hand scanner types it, or the 10-digit pass number. Going offline is the
browser context's own switch, so the page sees what a phone at a gate sees (navigator.onLine, failing
requests); the database of the live server shows what reached it.
"""

from __future__ import annotations

import base64
import datetime
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

import pytest
import segno
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from linli.browser_tests.conftest import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    FULL_STORAGE,
    NO_INDEXED_DB,
    save_screenshot,
)
from linli.gate import passes, services
from linli.gate.choices import HoldReason, Reason, RiskLevel, Verdict
from linli.gate.models import Checkpoint, GateRules, GateScan, HouseholdPass, QuotaViolation
from linli.gate.tests.conftest import worker_pass
from linli.lib.testing import PASSWORD, Personas, build_personas, make_id_number, make_phone
from linli.registry import services as registry
from linli.registry.models import Person

pytestmark = pytest.mark.browser

# The phone's camera: Chromium's fake capture device plays this video, a still of the pass's QR that the
# camera test writes before it taps 扫码 (Chromium opens the file when the page asks for the camera).
CAMERA_VIDEO = ARTIFACTS / "gate-camera.y4m"


def write_camera_video(path: Path, image: Image.Image | None = None) -> None:
    """A one-frame YUV4MPEG2 video (640×480, grey) showing ``image`` centred on white."""
    frame = Image.new("L", (640, 480), 255)
    if image is not None:
        still = image.convert("L")
        still.thumbnail((440, 440))
        frame.paste(still, ((640 - still.width) // 2, (480 - still.height) // 2))
    chroma = bytes([128]) * (320 * 240)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\nFRAME\n" + frame.tobytes() + chroma + chroma)


@pytest.fixture(scope="module")
def browser(_async_unsafe_allowed: None) -> Iterator[Browser]:
    """The harness's browser, with a fake camera (the conftest's ``page`` uses this one in this module)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing")
    write_camera_video(CAMERA_VIDEO)
    camera = [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={CAMERA_VIDEO}",
    ]
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=[*CHROMIUM_ARGS, *camera]
        )
        yield launched
        launched.close()


@dataclass
class Gate:
    personas: Personas
    checkpoint: Checkpoint
    rules: GateRules
    passes: dict[str, HouseholdPass]


def open_gate() -> Gate:
    """东门 of 阳光小区 in closed management, allowed hours around now; passes for four households."""
    personas = build_personas()
    tree = personas.tree
    checkpoint = services.checkpoint_create(compound=tree.p1, name="东门")
    rules = services.rules_for(tree.p1)
    rules.risk_level = RiskLevel.MEDIUM
    now = timezone.localtime()
    rules.out_from = (now - datetime.timedelta(hours=3)).time().replace(second=0, microsecond=0)
    rules.out_until = (now + datetime.timedelta(hours=3)).time().replace(second=0, microsecond=0)
    rules.save()
    issued = {}
    for room in ("101", "102", "201"):
        household = tree.households[f"{tree.b1.code}/1单元/{room}"]
        householder = Person.objects.get(household=household, relation="householder")
        issued[room] = services.pass_issue(household=household, members=[householder])
    services.hold_set(household=issued["102"].household, reason=HoldReason.SEALED, source="health")
    personas.gate_guard.checkpoint = checkpoint
    personas.gate_guard.save()
    return Gate(personas, checkpoint, rules, issued)


def qr_png(token: str, tmp_path: Path) -> Path:
    path = tmp_path / "pass.png"
    segno.make(token, error="m").save(str(path), scale=8, border=4)
    return path


# Every value the page's queue count has shown, in order (attribute changes keep their old value).
RECORD_QUEUE_COUNTS = """
const queueCounts = [];
new MutationObserver((records) => {
  for (const r of records) if (r.target.id === "queue") queueCounts.push(r.oldValue);
}).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-count"], attributeOldValue: true });
window.queueCountsShown = () => [...queueCounts, document.getElementById("queue").dataset.count];
"""


class Guard:
    """What a guard does on the checkpoint page."""

    def __init__(self, page: Page) -> None:
        self.page = page

    def open(self) -> None:
        self.page.goto("/gate/")
        expect(self.page.locator("#gate")).to_have_attribute("data-ready", "yes")

    def go_offline(self) -> None:
        """The network drops (the browser context's own switch), and the page says so."""
        self.page.context.set_offline(True)
        expect(self.page.locator("#net")).to_have_text("离线")

    def prepare(self, direction: str, temperature: str) -> None:
        self.page.locator(".seg-direction label", has_text=direction).click()
        self.page.get_by_label("体温（℃）").fill(temperature)

    def type_credential(self, text: str) -> None:
        self.page.get_by_label("通行证号（扫不出二维码时手动输入）").fill(text)
        self.page.get_by_role("button", name="核验", exact=True).click()

    def scan(self, direction: str, temperature: str, credential: str) -> str:
        """Take the temperature, enter the credential, and read the verdict shown."""
        self.prepare(direction, temperature)
        self.type_credential(credential)
        return self.verdict()

    def photo(self, path: Path) -> None:
        self.page.locator("#photo").set_input_files(str(path))

    def verdict(self) -> str:
        verdict = self.page.locator("#verdict")
        expect(verdict).to_be_visible()
        return verdict.get_attribute("data-verdict") or ""

    def next(self) -> None:
        self.page.get_by_role("button", name="继续扫码").click()
        expect(self.page.locator("#verdict")).to_be_hidden()

    def expect_queue(self, count: int) -> None:
        expect(self.page.locator("#queue")).to_have_attribute("data-count", str(count))
        expect(self.page.locator("#queue")).to_have_text(f"待同步 {count} 条" if count else "已全部同步")


def on_duty(page: Page, login_as: Callable[[str], None]) -> tuple[Gate, Guard]:
    """东门 opened as in :func:`open_gate`, its guard logged in on the phone with the checkpoint page ready."""
    gate = open_gate()
    guard = Guard(page)
    login_as(gate.personas.gate_guard.username)
    guard.open()
    return gate, guard


def fits_phone_width(page: Page) -> bool:
    # clientWidth, not innerWidth: on a mobile viewport innerWidth grows with a page that is too wide.
    return bool(page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"))


def test_guard_scans_online_then_offline_and_the_queue_drains(
    page: Page, login_as: Callable[[str], None], tmp_path: Path
) -> None:
    # given: the guard of 东门 logs in on a phone and opens the gate
    gate, guard = on_duty(page, login_as)
    expect(page).to_have_url(re.compile(rf"/gate/checkpoints/{gate.checkpoint.pk}/$"))
    expect(page.locator("#net")).to_have_text("在线")
    guard.expect_queue(0)
    assert fits_phone_width(page)

    # when: a resident shows the QR of household 101 and the guard takes a photo of it
    guard.prepare("外出", "36.5")
    guard.photo(qr_png(gate.passes["101"].token, tmp_path))

    # then: green, decided by the server, with the room and the designated member (masked)
    assert guard.verdict() == "allowed"
    expect(page.locator("#verdict-word")).to_have_text("可以外出")
    expect(page.locator("#verdict-reason")).to_contain_text("前返回")
    expect(page.locator("#verdict-room")).to_have_text("1号楼1单元101")
    expect(page.locator("#verdict-members")).to_have_text("户***1")
    expect(page.locator("#verdict-source")).to_have_text("服务器判定")
    save_screenshot(page, "gate_checkpoint_allowed")
    scan = GateScan.objects.get()
    assert (scan.verdict, scan.offline, scan.temperature, scan.mask, scan.health_code) == (
        Verdict.ALLOWED,
        False,
        Decimal("36.5"),
        True,
        "green",
    )
    assert scan.guard == gate.personas.gate_guard and scan.household == gate.passes["101"].household
    guard.next()

    # when: someone of the sealed household 102 shows their pass (the QR text, as a hand scanner types it)
    guard.prepare("外出", "36.6")
    guard.type_credential(gate.passes["102"].token)

    # then: red, with the reason in Chinese
    assert guard.verdict() == "refused"
    expect(page.locator("#verdict-word")).to_have_text("不予通行")
    expect(page.locator("#verdict-reason")).to_have_text("本户处于封控中")
    save_screenshot(page, "gate_checkpoint_sealed")
    assert GateScan.objects.filter(reason=Reason.SEALED).count() == 1
    guard.next()

    # when: the network drops, and the guard scans twice: household 201 by its typed pass number, and
    # household 101 coming back
    guard.go_offline()
    guard.prepare("外出", "36.4")
    guard.type_credential(gate.passes["201"].number)

    # then: verdicts shown from the cached bundle, and the queue counts them
    assert guard.verdict() == "allowed"
    expect(page.locator("#verdict-source")).to_have_text("离线判定，联网后自动上传")
    expect(page.locator("#verdict-room")).to_have_text("1号楼1单元201")
    guard.next()
    guard.expect_queue(1)
    assert guard.scan("返回", "36.7", gate.passes["101"].token) == "allowed"
    expect(page.locator("#verdict-word")).to_have_text("欢迎回家")
    guard.next()
    guard.expect_queue(2)
    save_screenshot(page, "gate_checkpoint_offline_queue")
    assert GateScan.objects.count() == 2  # nothing reached the server

    # when: the network comes back
    page.context.set_offline(False)

    # then: the queue drains, and the server has both scans as the gate decided them
    guard.expect_queue(0)
    expect(page.locator("#net")).to_have_text("在线")
    offline = list(GateScan.objects.filter(offline=True).order_by("device_time"))
    assert [(s.household_id, s.direction, s.verdict) for s in offline] == [
        (gate.passes["201"].household_id, "out", Verdict.ALLOWED),
        (gate.passes["101"].household_id, "in", Verdict.ALLOWED),
    ]
    assert all(s.guard == gate.personas.gate_guard and s.checkpoint == gate.checkpoint for s in offline)
    assert str(offline[0].temperature) == "36.4"
    assert GateScan.objects.count() == 4


def test_second_outing_offline_is_refused_by_the_quota_on_the_phone(
    page: Page, login_as: Callable[[str], None]
) -> None:
    # given: household 101 went out once today, online; then the network drops
    gate, guard = on_duty(page, login_as)
    assert guard.scan("外出", "36.5", gate.passes["101"].token) == "allowed"
    guard.next()
    guard.go_offline()

    # when: the same household comes to go out again, offline
    guard.prepare("外出", "36.5")
    guard.type_credential(gate.passes["101"].number)

    # then: refused on the phone, with the next allowed time of the fixed two-day window
    next_out = services.quota.next_period(services.quota_rules(gate.rules), timezone.now())
    assert guard.verdict() == "refused"
    expect(page.locator("#verdict-reason")).to_have_text(f"本户两天内已外出一次，下次可外出时间 {next_out:%m-%d %H:%M}")
    expect(page.locator("#verdict-source")).to_have_text("离线判定，联网后自动上传")
    guard.next()

    # and a household that has not been out goes once, but not twice, while offline
    assert guard.scan("外出", "36.5", gate.passes["201"].token) == "allowed"
    guard.next()
    assert guard.scan("外出", "36.5", gate.passes["201"].token) == "refused"
    expect(page.locator("#verdict-reason")).to_contain_text("本户两天内已外出一次")
    guard.next()

    # and a fever is refused too, offline
    assert guard.scan("返回", "37.3", gate.passes["201"].token) == "refused"
    expect(page.locator("#verdict-reason")).to_have_text("体温 37.3℃，禁止通行，联网后通知社区")
    guard.next()
    guard.expect_queue(4)

    # when: back online, the server gets the four scans as shown: no outing over the quota was let through
    page.context.set_offline(False)
    guard.expect_queue(0)
    offline = GateScan.objects.filter(offline=True)
    assert sorted(offline.values_list("reason", flat=True)) == sorted(
        [Reason.QUOTA, Reason.OK, Reason.QUOTA, Reason.FEVER]
    )
    assert not QuotaViolation.objects.exists()
    assert GateScan.objects.filter(verdict=Verdict.ALLOWED, direction="out").count() == 2


# A phone whose browser has no Ed25519 in WebCrypto (before Chromium 137): the page falls back to
# the vendored @noble/ed25519.
NO_WEBCRYPTO_ED25519 = """
(() => {
  const original = crypto.subtle.importKey.bind(crypto.subtle);
  window.__ed25519Refused = 0;
  crypto.subtle.importKey = (format, key, algorithm, ...rest) => {
    const name = typeof algorithm === "string" ? algorithm : algorithm && algorithm.name;
    if (name === "Ed25519") {
      window.__ed25519Refused += 1;
      return Promise.reject(new DOMException("Unrecognized name", "NotSupportedError"));
    }
    return original(format, key, algorithm, ...rest);
  };
})();
"""


def forge(token: str) -> str:
    """The same pass with one bit of its signature flipped (still well-formed, so only the signature fails)."""
    encoded = token[len(passes.PREFIX) :]
    raw = bytearray(base64.b32decode(encoded + "=" * (-len(encoded) % 8)))
    raw[-10] ^= 0x01
    return passes.PREFIX + base64.b32encode(bytes(raw)).decode("ascii").rstrip("=")


@pytest.mark.parametrize("engine", ["webcrypto", "noble"])
def test_offline_verification_accepts_genuine_passes_and_refuses_forged_ones(
    page: Page, login_as: Callable[[str], None], engine: str
) -> None:
    # given: a guard's phone with or without WebCrypto Ed25519, offline after loading the bundle
    if engine == "noble":
        page.add_init_script(NO_WEBCRYPTO_ED25519)
    gate, guard = on_duty(page, login_as)
    guard.go_offline()

    # when / then: a genuine pass is green, a tampered one red
    assert guard.scan("外出", "36.5", gate.passes["201"].token) == "allowed"
    guard.next()
    assert guard.scan("外出", "36.5", forge(gate.passes["101"].token)) == "refused"
    expect(page.locator("#verdict-reason")).to_have_text("通行证无效或伪造")
    guard.next()
    if engine == "noble":
        assert page.evaluate("window.__ed25519Refused") >= 1  # WebCrypto was asked, and refused
    # and a typed number with a wrong check digit is caught on the phone before anything is recorded
    number = gate.passes["201"].number
    guard.prepare("外出", "36.5")
    guard.type_credential(number[:-1] + str((int(number[-1]) + 1) % 10))
    expect(page.locator("#form-error")).to_have_text("通行证号校验位不对，请核对后重新输入")
    guard.expect_queue(2)


# A browser without service workers (some in-app browsers), or one whose worker has not yet taken the
# page over: nothing but the page itself can fetch a file once the network drops.
NO_SERVICE_WORKER = "delete Navigator.prototype.serviceWorker;"


def test_phone_without_webcrypto_ed25519_verifies_offline_right_after_opening(
    page: Page, login_as: Callable[[str], None]
) -> None:
    # given: an old phone (no WebCrypto Ed25519) with no service worker; the network drops as soon as
    # the page is ready, before any pass was scanned
    page.add_init_script(NO_WEBCRYPTO_ED25519)
    page.add_init_script(NO_SERVICE_WORKER)
    gate, guard = on_duty(page, login_as)
    guard.go_offline()

    # when: the first pass of the day is scanned
    guard.prepare("外出", "36.5")
    guard.type_credential(gate.passes["201"].token)

    # then: the signature was checked on the phone with the module loaded while online
    assert guard.verdict() == "allowed"
    expect(page.locator("#verdict-source")).to_have_text("离线判定，联网后自动上传")
    guard.next()
    guard.expect_queue(1)


def test_phone_that_cannot_check_signatures_says_so_offline_and_asks_the_server_online(
    page: Page, login_as: Callable[[str], None]
) -> None:
    # given: an old phone (no WebCrypto Ed25519) that could not load the vendored module either
    page.add_init_script(NO_WEBCRYPTO_ED25519)
    page.add_init_script(NO_SERVICE_WORKER)
    page.route("**/*noble-ed25519*", lambda route: route.abort())
    gate, guard = on_duty(page, login_as)

    # when: a pass is scanned online, the server decides it
    assert guard.scan("外出", "36.5", gate.passes["201"].token) == "allowed"
    expect(page.locator("#verdict-source")).to_have_text("服务器判定")
    guard.next()

    # and offline, the guard is told why there is no verdict, rather than shown a genuine pass as forged
    page.context.set_offline(True)
    guard.prepare("返回", "36.5")
    guard.type_credential(gate.passes["201"].token)
    expect(page.locator("#form-error")).to_have_text("本机无法离线核验通行证：请联网后刷新本页")
    expect(page.locator("#verdict")).to_be_hidden()
    guard.expect_queue(0)
    assert GateScan.objects.count() == 1


def test_phone_with_full_storage_still_decides_offline_and_says_the_scan_was_not_kept(
    page: Page, login_as: Callable[[str], None]
) -> None:
    # given: the guard is offline and the phone's storage fills up
    page.add_init_script(FULL_STORAGE)
    gate, guard = on_duty(page, login_as)
    guard.go_offline()
    page.evaluate("window.__storageFull = true")

    # when / then: the pass is still decided on the phone, and the guard is told to write it down
    assert guard.scan("外出", "36.5", gate.passes["201"].token) == "allowed"
    expect(page.locator("#verdict-source")).to_have_text("离线判定，但手机存储已满，本条未能保存：请手工登记")
    expect(page.locator("#verdict-source")).to_have_attribute("data-warn", "yes")  # shown as a warning
    guard.next()
    guard.expect_queue(0)

    # and once there is room again, the next scan is kept and reaches the server when the network returns
    page.evaluate("window.__storageFull = false")
    assert guard.scan("返回", "36.5", gate.passes["201"].token) == "allowed"
    expect(page.locator("#verdict-source")).to_have_text("离线判定，联网后自动上传")
    expect(page.locator("#verdict-source")).to_have_attribute("data-warn", "no")
    guard.next()
    guard.expect_queue(1)
    page.context.set_offline(False)
    guard.expect_queue(0)
    assert list(GateScan.objects.filter(offline=True).values_list("direction", flat=True)) == ["in"]


def test_browser_without_indexeddb_warns_and_still_queues_offline_scans_while_the_page_is_open(
    page: Page, login_as: Callable[[str], None]
) -> None:
    # given: the guard's browser cannot keep anything on the phone (a private mode)
    page.add_init_script(NO_INDEXED_DB)
    gate, guard = on_duty(page, login_as)

    # then: the page still gets ready, and says that closing it loses what waits for the network
    notice = page.locator("#notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("本浏览器不能在手机上保存记录（可能开着无痕模式）")
    expect(notice).to_contain_text("请勿关闭本页")
    assert fits_phone_width(page)
    save_screenshot(page, "gate_no_indexeddb")

    # when: the network drops, the pass is decided on the phone and the scan waits in the page
    guard.go_offline()
    assert guard.scan("外出", "36.5", gate.passes["201"].token) == "allowed"
    expect(page.locator("#verdict-source")).to_have_text("离线判定，联网后自动上传")
    guard.next()
    guard.expect_queue(1)

    # and when the network returns, the scan reaches the server once
    page.context.set_offline(False)
    guard.expect_queue(0)
    assert GateScan.objects.filter(offline=True, household=gate.passes["201"].household).count() == 1


def test_reload_without_network_opens_the_kept_page_and_keeps_scanning(
    page: Page, login_as: Callable[[str], None]
) -> None:
    # given: the page was opened once online, and its service worker has taken over
    gate, guard = on_duty(page, login_as)
    page.wait_for_function("!!navigator.serviceWorker.controller")

    # when: the network drops and the guard reloads the page (or the phone restarted the browser)
    page.context.set_offline(True)
    page.reload()

    # then: the page opens from the phone, with its bundle, and a scan is decided and queued
    expect(page.locator("#gate")).to_have_attribute("data-ready", "yes")
    expect(page.locator("#net")).to_have_text("离线")
    expect(page.locator("#bundle-age")).to_contain_text("离线名单更新于")
    assert guard.scan("外出", "36.5", gate.passes["201"].number) == "allowed"
    guard.next()
    guard.expect_queue(1)

    # and opened once more, the page never says "all synced" before it has read its queue (a guard
    # would think the scan had gone; a test waiting for the queue to empty would pass too early)
    page.add_init_script(RECORD_QUEUE_COUNTS)
    page.reload()
    expect(page.locator("#gate")).to_have_attribute("data-ready", "yes")
    guard.expect_queue(1)
    assert "0" not in page.evaluate("window.queueCountsShown()")

    # and when the network returns, the scan reaches the server
    page.context.set_offline(False)
    guard.expect_queue(0)
    assert GateScan.objects.filter(offline=True, household=gate.passes["201"].household).count() == 1


def test_reload_while_the_server_fails_opens_the_kept_page_and_keeps_scanning(
    page: Page, login_as: Callable[[str], None]
) -> None:
    # given: the page was opened once online, and its service worker has taken over
    gate, guard = on_duty(page, login_as)
    page.wait_for_function("!!navigator.serviceWorker.controller")

    # when: the phone keeps its network but the server fails (the proxy answers 502 to everything,
    # the service worker's requests included) and the guard reloads the page
    def bad_gateway(route: Route) -> None:
        route.fulfill(status=502, content_type="text/html", body="<h1>502 Bad Gateway</h1>")

    page.context.route(re.compile(r"/(gate/checkpoints/\d+/|api/v1/.*)$"), bad_gateway)
    page.reload()

    # then: the kept page opens rather than the proxy's error, and a scan is decided and queued
    expect(page.locator("#gate")).to_have_attribute("data-ready", "yes")
    assert guard.scan("外出", "36.5", gate.passes["201"].number) == "allowed"
    expect(page.locator("#verdict-source")).to_have_text("离线判定，联网后自动上传")
    guard.next()
    guard.expect_queue(1)
    assert not GateScan.objects.exists()

    # and when the server is back, the page opens from it and the scan reaches it once
    page.context.unroute_all()
    page.reload()
    guard.expect_queue(0)
    assert GateScan.objects.filter(offline=True, household=gate.passes["201"].household).count() == 1


def test_a_guard_whose_sign_in_expired_offline_logs_in_again_from_the_page_and_the_queue_drains(
    page: Page, login_as: Callable[[str], None]
) -> None:
    # given: a scan queued offline, and the guard's sign-in expired meanwhile (the session is gone)
    gate, guard = on_duty(page, login_as)
    guard.go_offline()
    assert guard.scan("外出", "36.5", gate.passes["201"].number) == "allowed"
    guard.next()
    guard.expect_queue(1)
    page.context.clear_cookies()

    # when: the network returns
    page.context.set_offline(False)

    # then: the page says so and keeps the scan; the installed app has no address bar, so the way to
    # the login page is on the page itself, and it leads back here
    expect(page.locator("#notice")).to_contain_text("登录已失效")
    guard.expect_queue(1)
    page.get_by_role("link", name="重新登录").click()
    page.get_by_label("用户名").fill(gate.personas.gate_guard.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/gate/checkpoints/{gate.checkpoint.pk}/$"))
    guard.expect_queue(0)
    expect(page.locator("#relogin")).to_be_hidden()
    assert GateScan.objects.filter(offline=True, household=gate.passes["201"].household).count() == 1


def test_start_page_without_network_opens_the_last_checkpoint_page(page: Page, login_as: Callable[[str], None]) -> None:
    # given: the checkpoint page was opened once online (the guard's phone starts at /gate/, which
    # redirects to it), and its service worker has taken over
    gate, guard = on_duty(page, login_as)
    page.wait_for_function("!!navigator.serviceWorker.controller")
    checkpoint_path = urlparse(page.url).path

    # when: the network drops and the phone opens the start page (the installed app's start_url)
    page.context.set_offline(True)
    page.goto(page.url.replace(checkpoint_path, reverse("gate:index")))

    # then: the last checkpoint page opens from the phone and decides a scan
    expect(page.locator("#gate")).to_have_attribute("data-ready", "yes")
    expect(page.locator("#net")).to_have_text("离线")
    assert guard.scan("外出", "36.5", gate.passes["201"].number) == "allowed"


def test_camera_scan_reads_the_qr_and_shows_the_verdict(page: Page, login_as: Callable[[str], None]) -> None:
    # given: the phone's camera sees the QR on the resident's phone
    gate = open_gate()
    qr = segno.make(gate.passes["101"].token, error="m")
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=6, border=4)
    write_camera_video(CAMERA_VIDEO, Image.open(io.BytesIO(buffer.getvalue())))
    guard = Guard(page)
    login_as(gate.personas.gate_guard.username)
    guard.open()

    # when: the guard taps 扫码 before taking the temperature, then after
    page.get_by_role("button", name="扫码", exact=True).click()
    expect(page.locator("#form-error")).to_have_text("请先测量并填写体温")
    guard.prepare("外出", "36.5")
    page.get_by_role("button", name="扫码", exact=True).click()

    # then: the frame is decoded in the browser and the server's verdict is shown; the camera is off
    assert guard.verdict() == "allowed"
    expect(page.locator("#verdict-room")).to_have_text("1号楼1单元101")
    expect(page.locator("#camera")).to_be_hidden()
    assert page.evaluate("document.getElementById('camera-video').srcObject === null")  # the camera is released
    assert GateScan.objects.get().household == gate.passes["101"].household


def test_refusal_without_a_household_does_not_show_the_previous_household(
    page: Page, login_as: Callable[[str], None]
) -> None:
    # given: the guard has just let household 101 out, its room and member shown on the verdict
    gate, guard = on_duty(page, login_as)
    assert guard.scan("外出", "36.5", gate.passes["101"].token) == "allowed"
    expect(page.locator("#verdict-household")).to_be_visible()
    guard.next()

    # when: the next person shows a pass that names no household of this compound (a forged QR)
    assert guard.scan("外出", "36.5", forge(gate.passes["201"].token)) == "refused"
    expect(page.locator("#verdict-reason")).to_have_text("通行证无效或伪造")

    # then: no room and no member are shown, least of all the last household's
    expect(page.locator("#verdict-household")).to_be_hidden()
    expect(page.get_by_text("1号楼1单元101")).to_be_hidden()


def test_what_the_guard_types_for_the_next_person_while_a_scan_is_answered_is_kept(
    page: Page, login_as: Callable[[str], None]
) -> None:
    # given: the guard has taken 101's temperature
    gate, guard = on_duty(page, login_as)
    guard.prepare("外出", "36.5")

    # when: the guard presses 核验 on 101's pass and, before the server answers, takes the next
    # person's temperature
    page.evaluate(
        """(token) => {
            document.getElementById("credential").value = token;
            document.getElementById("scan-form").requestSubmit();
            document.getElementById("temperature").value = "36.8";
        }""",
        gate.passes["101"].token,
    )

    # then: 101 is let out, and the next person's temperature is still in the form; 101's pass is not
    assert guard.verdict() == "allowed"
    expect(page.locator("#temperature")).to_have_value("36.8")
    expect(page.locator("#credential")).to_have_value("")
    assert GateScan.objects.get().temperature == Decimal("36.5")


def test_offline_an_exempt_pass_does_not_let_a_resident_out_of_a_sealed_household(
    page: Page, login_as: Callable[[str], None]
) -> None:
    # given: the householder of the sealed 102 holds a worker's exempt pass; the guard is offline
    gate = open_gate()
    person = Person.objects.get(household=gate.passes["102"].household, relation="householder")
    exempt = worker_pass(gate.checkpoint.compound, person=person, days=7)
    guard = Guard(page)
    login_as(gate.personas.gate_guard.username)
    guard.open()
    guard.go_offline()

    # when / then: going out on the exempt pass is refused on the phone, as online; coming home is not
    assert guard.scan("外出", "36.5", exempt.token) == "refused"
    expect(page.locator("#verdict-reason")).to_have_text("本户处于封控中")
    expect(page.locator("#verdict-source")).to_have_text("离线判定，联网后自动上传")
    guard.next()
    assert guard.scan("返回", "36.5", exempt.number) == "allowed"


@pytest.mark.parametrize("desk", ["gate:visit_create", "gate:parcel_create"])
def test_the_room_search_button_stays_on_one_line_on_a_phone(
    page: Page, login_as: Callable[[str], None], desk: str
) -> None:
    # given: the guard opens the visitor or parcel form on a 390 px phone
    gate, _guard = on_duty(page, login_as)
    page.goto(reverse(desk, kwargs={"pk": gate.checkpoint.pk}))
    room = page.get_by_label("房号", exact=True)
    search = page.get_by_role("button", name="查找")

    # then: 查找 sits beside the room box, one line high, not squeezed into a column of characters
    room_box, search_box = room.bounding_box(), search.bounding_box()
    assert room_box is not None and search_box is not None
    assert search_box["height"] <= room_box["height"] + 8
    assert fits_phone_width(page)


def test_a_pass_before_its_first_day_is_not_yet_valid_offline_and_online(
    page: Page, login_as: Callable[[str], None]
) -> None:
    # given: 201's pass was reissued to start tomorrow (a household leaving observation, say)
    gate = open_gate()
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    household = gate.passes["201"].household
    householder = Person.objects.get(household=household, relation="householder")
    early = services.pass_issue(household=household, members=[householder], today=tomorrow)
    guard = Guard(page)
    login_as(gate.personas.gate_guard.username)
    guard.open()
    expected = f"通行证尚未生效，{tomorrow:%m-%d} 起可用"

    # when / then: the guard reads when it starts, not 通行证已过期, online and offline alike
    assert guard.scan("外出", "36.5", early.number) == "refused"
    expect(page.locator("#verdict-reason")).to_have_text(expected)
    expect(page.locator("#verdict-source")).to_have_text("服务器判定")
    guard.next()
    guard.go_offline()
    assert guard.scan("外出", "36.5", early.token) == "refused"
    expect(page.locator("#verdict-reason")).to_have_text(expected)
    expect(page.locator("#verdict-source")).to_have_text("离线判定，联网后自动上传")


# One scan as the guard makes it (direction, temperature, pass, 核验; then 继续扫码), done in the page so
# that a shift of a hundred and more scans takes seconds; answers the verdict shown and how long the
# page took to show it.
SCAN_IN_PAGE = """
async ([direction, temperature, credential]) => {
  const started = performance.now();
  document.querySelector(`input[name="direction"][value="${direction}"]`).click();
  document.getElementById("temperature").value = temperature;
  document.getElementById("credential").value = credential;
  document.getElementById("check").click();
  const verdict = document.getElementById("verdict");
  const error = document.getElementById("form-error");
  while (verdict.hidden && !error.textContent) await new Promise((resolve) => setTimeout(resolve, 2));
  const shown = {
    verdict: verdict.hidden ? "" : verdict.dataset.verdict,
    reason: verdict.hidden ? error.textContent : verdict.dataset.reason,
    source: verdict.dataset.source,
    ms: performance.now() - started,
  };
  document.getElementById("verdict-close").click();
  return shown;
}
"""


def more_households(gate: Gate, count: int) -> list[HouseholdPass]:
    """``count`` more households of 1号楼1单元 (rooms 300, 301, …), each with its householder's pass."""
    unit = gate.personas.tree.units[f"{gate.personas.tree.b1.code}/1单元"]
    issued = []
    for i in range(count):
        household = registry.household_create(unit=unit, room=str(300 + i))
        person = registry.person_create(
            household=household, name=f"住户{i}", id_number=make_id_number(), phone=make_phone(), relation="householder"
        )
        issued.append(services.pass_issue(household=household, members=[person]))
    return issued


def test_a_long_offline_shift_with_a_reload_loses_nothing_and_stores_each_scan_once(
    page: Page, login_as: Callable[[str], None]
) -> None:
    # given: 东门 with 30 more households, one of whose passes was revoked; the guard's page is ready,
    # its service worker in control, and the network drops for the shift
    gate, guard = on_duty(page, login_as)
    households = more_households(gate, 30)
    revoked = households.pop()
    services.pass_revoke(household_pass=revoked)
    guard.open()  # the offline list with the new households
    page.wait_for_function("!!navigator.serviceWorker.controller")
    guard.go_offline()
    shift = (
        [("out", "36.5", p.token) for p in households]  # each goes out once…
        + [("out", "36.6", p.number) for p in households[:10]]  # …not twice in the quota's two days
        + [("in", "37.6", p.token) for p in households[:5]]  # a fever at the gate
        + [("in", "36.4", p.number) for p in households]  # everyone comes home
        + [("out", "36.5", revoked.token), ("out", "36.5", gate.passes["102"].token)]  # revoked, sealed
        + [("in", "36.5", p.token) for p in households[:20]]  # and is let back in after the errand
    )
    expected = (
        ([("allowed", "ok")] * 29 + [("refused", "quota")] * 10 + [("refused", "fever")] * 5 + [("allowed", "ok")] * 29)
        + [("refused", "revoked"), ("refused", "sealed")]
        + [("allowed", "ok")] * 20
    )

    # when: the guard works the shift, and halfway the phone kills the tab and it is opened again
    shown = []
    for i, scan in enumerate(shift):
        if i == 60:
            page.reload()
            expect(page.locator("#gate")).to_have_attribute("data-ready", "yes")
            expect(page.locator("#net")).to_have_text("离线")
            guard.expect_queue(60)
        shown.append(page.evaluate(SCAN_IN_PAGE, list(scan)))

    # then: every scan was decided on the phone, as the rules say, and every one waits to be sent
    assert [(s["verdict"], s["reason"]) for s in shown] == expected
    assert {s["source"] for s in shown} == {"local"}
    guard.expect_queue(len(shift))
    assert not GateScan.objects.exists()
    # the page does not slow down as the queue grows (a few ms a scan here; a generous bound for CI)
    late = sorted(s["ms"] for s in shown[-20:])
    assert late[len(late) // 2] < 1000

    # when: the network returns, but the connection drops after the server stored the batch and before
    # the page heard its answer
    dropped = []

    def drop_the_answer(route: Route) -> None:
        body = route.request.post_data_json
        dropped.append(len(body["scans"]) if body else 0)
        route.fetch()  # the server stores the scans…
        route.abort("connectionreset")  # …and the answer is lost

    page.route("**/sync", drop_the_answer, times=1)
    # (the page asks for a fresh offline list once that sync has failed)
    with page.expect_request(lambda request: request.url.endswith("/bundle")):
        page.context.set_offline(False)
    assert dropped == [len(shift)]
    assert GateScan.objects.count() == len(shift)
    guard.expect_queue(len(shift))  # nothing acknowledged, nothing dropped from the queue

    # and the network flaps, the page sends the queue again
    page.context.set_offline(True)
    page.context.set_offline(False)

    # then: the queue drains, and the database has every scan exactly once, as the phone decided it
    guard.expect_queue(0)
    offline = GateScan.objects.filter(offline=True, checkpoint=gate.checkpoint, guard=gate.personas.gate_guard)
    assert offline.count() == GateScan.objects.count() == len(shift)
    assert sorted(offline.values_list("verdict", "reason")) == sorted(expected)
    assert offline.filter(direction="out", verdict=Verdict.ALLOWED).count() == 29
    assert not QuotaViolation.objects.exists()


def move_guard(gate: Gate, compound_name: str, checkpoint_name: str) -> Checkpoint:
    """The community moves the guard of 东门 to another checkpoint (made here), of ``compound_name``."""
    tree = gate.personas.tree
    compound = {"阳光小区": tree.p1, "和谐家园": tree.p2}[compound_name]
    other = services.checkpoint_create(compound=compound, name=checkpoint_name)
    guard = gate.personas.gate_guard
    guard.set_scope(compound)
    guard.checkpoint = other
    guard.save()
    return other


def shift_offline_then_moved(page: Page, login_as: Callable[[str], None]) -> tuple[Gate, Page]:
    """The guard of 东门 scans 201 out and 101 in offline; the page is then left (the phone closes the
    app) before the network returns. Answers the gate and the phone's tab, blank (same IndexedDB and sign-in)."""
    gate, guard = on_duty(page, login_as)
    guard.go_offline()
    assert guard.scan("外出", "36.5", gate.passes["201"].number) == "allowed"
    guard.next()
    assert guard.scan("返回", "36.6", gate.passes["101"].token) == "allowed"
    guard.next()
    guard.expect_queue(2)
    # The app is closed: it sends nothing more (leaving the page while the browser emulates no network
    # lets Chromium flip navigator.onLine for a moment, and the page would sync on its way out).
    page.evaluate("() => { window.fetch = () => Promise.reject(new TypeError('closed')); }")
    page.goto("about:blank")
    return gate, page


def test_scans_queued_at_one_gate_reach_it_after_the_guard_is_moved_to_another(
    page: Page, login_as: Callable[[str], None]
) -> None:
    # given: two scans queued offline at 东门; before the phone is online again, the guard is moved to 西门
    gate, tab = shift_offline_then_moved(page, login_as)
    west = move_guard(gate, "阳光小区", "西门")

    # when: back online, the guard opens the gate app, which is 西门's page now
    tab.context.set_offline(False)
    guard = Guard(tab)
    guard.open()
    expect(tab).to_have_url(re.compile(rf"/gate/checkpoints/{west.pk}/$"))

    # then: the scans taken at 东门 reach the server as 东门's, the guard's own, and the queue is empty
    guard.expect_queue(0)
    scans = GateScan.objects.filter(offline=True)
    assert sorted((s.household_id, s.direction) for s in scans) == sorted(
        [(gate.passes["201"].household_id, "out"), (gate.passes["101"].household_id, "in")]
    )
    assert {(s.checkpoint_id, s.guard_id) for s in scans} == {(gate.checkpoint.pk, gate.personas.gate_guard.pk)}
    expect(tab.locator("#notice")).to_be_hidden()
    assert fits_phone_width(tab)


def test_offline_an_outing_queued_at_one_gate_counts_at_the_other_gate_on_the_same_phone(
    page: Page, login_as: Callable[[str], None]
) -> None:
    # given: 阳光小区 has 东门 and 西门; its guard (bound to neither) opened both pages once online
    gate = open_gate()
    west = services.checkpoint_create(compound=gate.personas.tree.p1, name="西门")
    account = gate.personas.gate_guard
    account.checkpoint = None
    account.save()
    guard = Guard(page)
    login_as(account.username)
    pages = {cp.pk: reverse("gate:checkpoint", kwargs={"pk": cp.pk}) for cp in (gate.checkpoint, west)}
    for path in pages.values():
        page.goto(path)
        expect(page.locator("#gate")).to_have_attribute("data-ready", "yes")
        page.wait_for_function("!!navigator.serviceWorker.controller")

    # when: without network, 201 goes out at 东门 (its one outing of the period), and then tries
    # again at 西门, the guard walking over with the phone
    page.context.set_offline(True)
    page.goto(pages[gate.checkpoint.pk])
    expect(page.locator("#gate")).to_have_attribute("data-ready", "yes")
    assert guard.scan("外出", "36.5", gate.passes["201"].token) == "allowed"
    guard.next()
    page.goto(pages[west.pk])
    expect(page.locator("#gate")).to_have_attribute("data-ready", "yes")
    expect(page.locator("#net")).to_have_text("离线")

    # then: 西门's page counts the outing queued at 东门 and refuses the second one
    assert guard.scan("外出", "36.5", gate.passes["201"].token) == "refused"
    expect(page.locator("#verdict-reason")).to_contain_text("本户两天内已外出一次")
    guard.next()
    guard.expect_queue(2)

    # and back online, both reach the server, each at its own gate, and no violation is recorded
    page.context.set_offline(False)
    guard.expect_queue(0)
    scans = GateScan.objects.filter(offline=True, household=gate.passes["201"].household)
    assert sorted((s.checkpoint_id, s.verdict) for s in scans) == sorted(
        [(gate.checkpoint.pk, Verdict.ALLOWED), (west.pk, Verdict.REFUSED)]
    )
    assert not QuotaViolation.objects.exists()


def test_scans_a_gate_will_not_take_from_the_guard_stay_on_the_phone_and_the_guard_is_told(
    page: Page, login_as: Callable[[str], None]
) -> None:
    # given: two scans queued offline at 东门 of 阳光小区; the guard is then moved to 和谐家园, whose
    # account may not write into 阳光小区 any more
    gate, tab = shift_offline_then_moved(page, login_as)
    move_guard(gate, "和谐家园", "南门")

    # when: back online, the guard opens the gate app (和谐家园 · 南门)
    tab.context.set_offline(False)
    guard = Guard(tab)
    guard.open()

    # then: the page says which gate's scans could not be sent, how many and why, and keeps them
    notice = tab.locator("#notice")
    expect(notice).to_contain_text("阳光小区 · 东门：2 条扫码未能上传（本账号已不能在该卡口登记，或该卡口已不存在）")
    expect(notice).to_contain_text("仍保存在本机，请联系社区")
    guard.expect_queue(2)
    assert not GateScan.objects.exists()
    assert fits_phone_width(tab)
    save_screenshot(tab, "gate_checkpoint_sync_refused")

    # and when the community gives the account 阳光小区 back, the kept scans go to 东门 on the next visit
    guard_account = gate.personas.gate_guard
    guard_account.set_scope(gate.personas.tree.p1)
    guard_account.checkpoint = gate.checkpoint
    guard_account.save()
    guard.open()
    guard.expect_queue(0)
    expect(notice).to_be_hidden()
    assert GateScan.objects.filter(offline=True, checkpoint=gate.checkpoint).count() == 2


def test_a_server_that_fails_is_not_shown_as_online_and_the_scan_is_kept(
    page: Page, login_as: Callable[[str], None]
) -> None:
    # given: the guard's page is ready, online
    gate, guard = on_duty(page, login_as)
    expect(page.locator("#net")).to_have_text("在线")

    # when: the phone has its network but the server fails: the proxy answers the scan 502
    def bad_gateway(route: Route) -> None:
        route.fulfill(status=502, content_type="text/html", body="<h1>502 Bad Gateway</h1>")

    page.route("**/scan", bad_gateway)
    verdict = guard.scan("外出", "36.5", gate.passes["201"].number)

    # then: decided on the phone and queued, and the status line says the server is not reached
    assert verdict == "allowed"
    expect(page.locator("#verdict-source")).to_have_text("离线判定，联网后自动上传")
    expect(page.locator("#net")).to_have_text("服务器暂不可用，扫码已暂存")
    expect(page.locator("#net")).to_have_attribute("data-online", "no")
    guard.next()
    guard.expect_queue(1)
    assert fits_phone_width(page)

    # and a 500 to the sync says the same and keeps the scan
    page.unroute("**/scan")
    page.route("**/sync", lambda route: route.fulfill(status=500, content_type="text/html", body="<h1>500</h1>"))
    with page.expect_response("**/sync"):
        page.context.set_offline(True)
        page.context.set_offline(False)
    expect(page.locator("#net")).to_have_text("服务器暂不可用，扫码已暂存")
    guard.expect_queue(1)
    assert not GateScan.objects.exists()

    # when the server answers again, the scan reaches it once and the page is online
    page.unroute("**/sync")
    page.context.set_offline(True)
    page.context.set_offline(False)
    guard.expect_queue(0)
    expect(page.locator("#net")).to_have_text("在线")
    assert GateScan.objects.filter(offline=True, household=gate.passes["201"].household).count() == 1


def test_the_quota_refusal_reads_right_in_english_offline_and_online(
    page: Page, login_as: Callable[[str], None]
) -> None:
    # given: the guard's phone asks for English; the page is ready
    gate = open_gate()
    login_as(gate.personas.gate_guard.username)
    origin = re.match(r"https?://[^/]+", page.url)
    assert origin is not None
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": origin.group(0)}])
    page.goto("/gate/")
    expect(page.locator("#gate")).to_have_attribute("data-ready", "yes")
    expect(page.locator("#net")).to_have_text("Online")
    next_out = services.quota.next_period(services.quota_rules(gate.rules), timezone.now())
    expected = f"Outings used in this 2-day period: 1; next outing allowed from {next_out:%m-%d %H:%M}"

    # when / then: 201 goes out once and is refused the second time, by the server in English words…
    first, second = (page.evaluate(SCAN_IN_PAGE, ["out", "36.5", gate.passes["201"].number]) for _ in range(2))
    assert (first["verdict"], second["verdict"], second["source"]) == ("allowed", "refused", "server")
    expect(page.locator("#verdict-reason")).to_have_text(expected)

    # …and by the phone, offline, in the same words
    page.context.set_offline(True)
    expect(page.locator("#net")).to_have_text("Offline")
    third = page.evaluate(SCAN_IN_PAGE, ["out", "36.5", gate.passes["201"].token])
    assert (third["verdict"], third["source"]) == ("refused", "local")
    expect(page.locator("#verdict-reason")).to_have_text(expected)
    assert fits_phone_width(page)
