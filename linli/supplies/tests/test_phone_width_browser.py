"""Supplies pages read in English on a phone (390 px): nothing wider than the screen."""

from __future__ import annotations

import datetime
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
from linli.supplies.choices import Priority
from linli.supplies.models import Order, Package, Supplier
from linli.supplies.services.aggregation import aggregate
from linli.supplies.services.delivery import handover, run_create
from linli.supplies.services.ordering import place_order
from linli.supplies.testing import open_window
from linli.supplies.tests.test_delivery_fixtures import T0

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


def test_proxy_orders_list_fits_a_grid_worker_phone_in_english(
    page: Page,  # noqa: F811
    login_as: Callable[[str], None],  # noqa: F811
) -> None:
    # given: the grid worker ordered for a sealed household of their grid, and its bag was left at the door
    personas = build_personas()
    window = open_window(Supplier.objects.get(name="平价超市"), personas.tree.c1, now=T0)
    household = personas.tree.households[f"{personas.tree.b1.code}/1单元/101"]
    offer = window.offers.order_by("pk").first()
    assert offer is not None
    order = place_order(window=window, household=household, lines=[(offer.pk, 1)], actor=personas.grid_worker, now=T0)
    Order.objects.filter(pk=order.pk).update(priority=Priority.SEALED)
    aggregate(window, actor=personas.community_worker, now=window.cutoff_at + datetime.timedelta(hours=1))
    run_create(
        window=window,
        drop_off=None,
        compound=personas.tree.p1,
        volunteer=personas.grid_worker,
        actor=personas.grid_worker,
    )
    handover(Package.objects.get(order=order).handover_code, actor=personas.grid_worker)
    login_as(personas.grid_worker.username)

    # when: the proxy page is read in English on a phone
    _in_english(page, "/supplies/proxy/")
    expect(page.locator("table.placed")).to_contain_text("contactless")

    # then: the list of the orders they placed fits the screen
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
