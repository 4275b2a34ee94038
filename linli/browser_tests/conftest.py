"""Harness for browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

Every test here gets ``page``: a fresh phone-sized browser context (390×844, touch, zh-CN) whose base URL
is the live server, so ``page.goto("/accounts/login/")`` works. The browser is started once per test
module and stopped after it: while Playwright's sync API runs, an asyncio loop is running in the test
thread, and keeping that window short keeps Django's async-safety check on for every other test.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from linli.lib.testing import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
}
ARTIFACTS = Path(settings.BASE_DIR) / "var" / "test-artifacts"
# Generous enough for a loaded 2-core CI machine, short enough that a missing element fails fast.
TIMEOUT_MS = 15_000
expect.set_options(timeout=TIMEOUT_MS)


# A phone whose storage is full: after ``window.__storageFull = true`` IndexedDB refuses every write,
# as a browser does when the quota is used up (``add_init_script`` it before the page opens).
FULL_STORAGE = """
(() => {
  window.__storageFull = false;
  const put = IDBObjectStore.prototype.put;
  IDBObjectStore.prototype.put = function (...args) {
    if (window.__storageFull) throw new DOMException("The quota has been exceeded.", "QuotaExceededError");
    return put.apply(this, args);
  };
})();
"""

# A browser that refuses IndexedDB, as some private modes do ("A mutation operation was attempted
# on a database that did not allow mutations").
NO_INDEXED_DB = """
IDBFactory.prototype.open = function () {
  throw new DOMException("A mutation operation was attempted on a database that did not allow mutations.",
                         "InvalidStateError");
};
"""


@pytest.fixture(scope="module")
def _async_unsafe_allowed() -> Iterator[None]:
    """Let the test thread use the ORM while Playwright's event loop runs in it (restored afterwards)."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings: Any) -> None:
    """A cheap hasher: building the personas hashes eleven passwords, seconds each test with the real one.

    Logging in still goes through the real form and authentication backend.
    """
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="module")
def browser(_async_unsafe_allowed: None) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) to run browser tests."
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(request: pytest.FixtureRequest, browser: Browser, transactional_db: None, live_server: Any) -> Generator[Page]:
    """A new phone-sized page on the live server; a failing test leaves a screenshot in var/test-artifacts."""
    # transactional_db is named before live_server so that the test database exists (and an in-memory
    # SQLite one is shared with the server thread) before the session's live server starts.
    context = browser.new_context(base_url=live_server.url, **PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        save_screenshot(page, f"FAILED-{request.node.name}")
    context.close()
    wait_for_live_server_requests()


def wait_for_live_server_requests(timeout: float = 10.0) -> None:
    """Wait until the live server has finished every request it was handling.

    Closing the browser can leave a request (a service worker's fetch, say) running in one of the
    server's request threads; with SQLite in memory that thread shares the test's database, and the
    database flush after the test then fails with "database table is locked".
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any("process_request_thread" in thread.name for thread in threading.enumerate()):
            return
        time.sleep(0.02)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def save_screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot under var/test-artifacts/ and return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def login_as(page: Page) -> Callable[[str], None]:
    """Log in through the real staff login form: ``login_as("grid")``."""

    def login(username: str) -> None:
        page.goto("/accounts/login/")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录", exact=True).click()
        page.wait_for_url(lambda url: "/accounts/login/" not in url)

    return login


def losing_the_first_answer(calls: list[str]) -> Callable[[Route], None]:
    """A route handler: the first request reaches the server and its answer is lost on the way back
    (the connection drops); the later ones go through. ``calls`` collects the requests' URLs."""

    def handle(route: Route) -> None:
        calls.append(route.request.url)
        if len(calls) == 1:
            route.fetch()
            route.abort()
        else:
            route.continue_()

    return handle


def fits_phone_width(page: Page) -> bool:
    # clientWidth, not innerWidth: on a mobile viewport innerWidth grows with a page that is too wide.
    return bool(page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"))


def resident_login(page: Page, phone: str, *, on_page: Callable[[Page], None] | None = None) -> None:
    """The resident's two steps: the phone number, then the code the SMS carried (read from the outbox);
    ``on_page`` is called on each of the two pages (to audit them, say)."""
    from linli.accounts.models import SmsMessage  # after Django is set up

    page.goto("/accounts/login/resident/")
    if on_page:
        on_page(page)
    page.get_by_label("手机号").fill(phone)
    page.get_by_role("button", name="获取验证码").click()
    expect(page.get_by_label("验证码")).to_be_visible()
    if on_page:
        on_page(page)
    sms = SmsMessage.objects.filter(phone=phone).order_by("-pk").first()
    assert sms is not None
    code = re.search(r"\d{6}", sms.body)
    assert code is not None, sms.body
    page.get_by_label("验证码").fill(code.group(0))
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(lambda url: "/accounts/login" not in url)
