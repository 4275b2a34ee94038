"""A community worker on a phone: the window's reconciliation chart, collecting a payment on delivery (S7)."""

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
from linli.supplies.models import Payment
from linli.supplies.services.delivery import handover
from linli.supplies.tests.test_delivery_fixtures import out_with_building_lead

pytestmark = pytest.mark.browser


def test_worker_collects_on_delivery_and_the_window_balances(
    page: Page,  # noqa: F811
    login_as: Callable[[str], None],  # noqa: F811
) -> None:
    # given: two packages delivered, nothing paid yet
    personas = build_personas()
    d = out_with_building_lead(personas, keys=("101", "102"))
    for key in ("101", "102"):
        handover(d.packages[key].handover_code, actor=personas.building_lead)
    login_as(personas.community_worker.username)
    page.goto(f"/supplies/money/windows/{d.window.pk}/")
    expect(page.locator("#reconciliation")).to_contain_text("账目平衡")
    expect(page.locator('.chart-row[data-key="outstanding"]')).to_contain_text("65.00")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    # when: the worker records the first household's payment
    page.locator("#owing form").first.get_by_role("button", name="收款").click()

    # then: it is recorded, and one household is left owing
    expect(page.locator(".messages")).to_contain_text("已登记收款")
    assert Payment.objects.count() == 1
    expect(page.locator('.chart-row[data-key="outstanding"]')).to_contain_text("32.50")
    save_screenshot(page, "money_window")
