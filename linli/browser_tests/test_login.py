"""The staff login page in a real phone-sized browser: Chinese by default, errors in Chinese, English on request."""

import re

import pytest
from playwright.sync_api import Page, expect

from linli.browser_tests.conftest import save_screenshot
from linli.lib.testing import build_personas

pytestmark = pytest.mark.browser


def test_login_page_is_chinese_and_fits_a_phone_screen(page: Page) -> None:
    page.goto("/accounts/login/")

    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", name="工作人员登录")).to_be_visible()
    expect(page.get_by_label("用户名")).to_be_focused()
    expect(page.get_by_label("密码")).to_have_attribute("type", "password")
    # Nothing may push the page sideways on a 390-pixel-wide phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    save_screenshot(page, "login_page_phone")


def test_wrong_password_shows_a_chinese_error_and_stays_logged_out(page: Page) -> None:
    build_personas()
    page.goto("/accounts/login/")

    page.get_by_label("用户名").fill("grid")
    page.get_by_label("密码").fill("not-the-password")
    page.get_by_role("button", name="登录", exact=True).click()

    expect(page.get_by_text("用户名或密码不正确。")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(page.get_by_role("button", name="退出")).to_have_count(0)


def test_language_switch_on_login_page_turns_the_page_english(page: Page) -> None:
    page.goto("/accounts/login/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")

    page.get_by_role("button", name="English").click()

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    # The switch offers the way back.
    expect(page.get_by_role("button", name="中文")).to_be_visible()
