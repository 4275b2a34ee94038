"""Supplies pages read in English on a phone (390 px): nothing wider than the screen."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from linli.browser_tests.conftest import (  # noqa: F401  (fixtures)
    _async_unsafe_allowed,
    _fast_password_hasher,
    browser,
    login_as,
    page,
    save_screenshot,
)
from linli.lib.testing import build_personas

pytestmark = pytest.mark.browser


def _in_english(phone: Page, url: str) -> None:
    phone.goto(url)
    phone.get_by_role("button", name="English").click()
    phone.goto(url)
    expect(phone.locator("html")).to_have_attribute("lang", "en")


def test_supplies_settings_fit_a_community_worker_phone_in_english(
    page: Page,  # noqa: F811
    login_as: Callable[[str], None],  # noqa: F811
) -> None:
    # given: a community worker, who reads the street's thresholds but may not change them
    personas = build_personas()
    login_as(personas.community_worker.username)

    # when: the settings are read in English on a phone
    _in_english(page, "/supplies/settings/")
    expect(page.locator("#settings-table")).to_contain_text("Minimum days of stock cover")

    # then: the long labels wrap instead of pushing the page sideways
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
